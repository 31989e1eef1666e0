//! Correcting a leg's carrier by hand: the posting is found within the caller's stores, the leg
//! by its tracking number (or as the posting's only carrier leg), and the choice is recorded
//! with who made it; detection never undoes it. Ozon's own logistics cannot be chosen: its leg
//! is fed by the sync, and a carrier leg marked `ozon` would never be asked again nor counted
//! as silent.

use chrono::{DateTime, Utc};
use ozontrack_db::{Database, StoreRecord};
use ozontrack_domain::{CarrierCode, carrier};

use crate::{Actor, Error, Problem};

/// What a manual carrier choice changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierSet {
    pub posting_number: String,
    pub tracking_number: String,
    pub carrier: CarrierCode,
    pub previous: CarrierCode,
    pub by: String,
}

/// Reads a carrier a person chose: one of the registry's, not Ozon's own logistics.
pub fn manual_carrier(text: &str) -> Result<CarrierCode, Error> {
    // Ozon's own logistics is read from the posting's status, never set on a carrier leg.
    CarrierCode::parse(text)
        .ok()
        .filter(|c| c.as_str() != carrier::OZON && carrier::by_code(c.as_str()).is_some())
        .ok_or_else(|| {
            Error::invalid(
                "carrier",
                Problem::not_one_of(
                    text,
                    carrier::CARRIERS
                        .iter()
                        .map(|c| c.code)
                        .filter(|c| *c != carrier::OZON),
                ),
            )
        })
}

/// Sets the carrier of one of `posting`'s carrier legs (`number`: which, by tracking number;
/// none: the only one) and makes the leg due for a check at once.
pub async fn set_carrier<D: Database>(
    db: &D,
    stores: &[StoreRecord],
    posting: &str,
    number: Option<&str>,
    carrier: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<CarrierSet, Error> {
    let code = manual_carrier(carrier)?;
    let (store, id) = crate::trail::find(db, stores, posting)
        .await?
        .ok_or(Error::NotFound("posting"))?;
    let legs: Vec<_> = db
        .legs(id)
        .await?
        .into_iter()
        .filter(|l| l.leg.carrier.as_str() != carrier::OZON)
        .collect();
    let leg = match number {
        Some(number) => legs
            .iter()
            .find(|l| {
                l.leg
                    .tracking_number
                    .as_str()
                    .eq_ignore_ascii_case(number.trim())
            })
            .ok_or(Error::NotFound("leg"))?,
        None => match legs.as_slice() {
            [only] => only,
            [] => return Err(Error::NotFound("leg")),
            many => {
                return Err(Error::invalid("number", Problem::WhichLeg(many.len())));
            }
        },
    };
    db.set_leg_carrier(leg.id, &code, actor.as_str(), now)
        .await?;
    // Due at once: the trackers of every process may take it.
    crate::wake_others(db, ozontrack_db::Wake::Legs).await;
    crate::audit::Entry::new(actor, ozontrack_domain::AuditAction::CarrierSet, now)
        .store(store)
        .posting(posting.trim())
        .detail(serde_json::json!({
            "tracking_number": leg.leg.tracking_number.as_str(),
            "carrier": code.as_str(),
            "previous": leg.leg.carrier.as_str(),
        }))
        .record(db)
        .await;
    Ok(CarrierSet {
        posting_number: posting.trim().to_owned(),
        tracking_number: leg.leg.tracking_number.as_str().to_owned(),
        previous: leg.leg.carrier.clone(),
        carrier: code,
        by: actor.as_str().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ozons_own_logistics_and_unknown_carriers_cannot_be_chosen_by_hand() {
        assert_eq!(manual_carrier("cdek").unwrap().as_str(), "cdek");
        let ozon = manual_carrier("ozon").unwrap_err().to_string();
        assert!(
            ozon.starts_with("carrier: \"ozon\" is not one of: "),
            "{ozon}"
        );
        let pigeon = manual_carrier("pigeon").unwrap_err().to_string();
        assert!(pigeon.contains("yanwen"), "{pigeon}");
        assert!(!pigeon.contains("ozon,"), "{pigeon}");
    }
}
