//! From Ozon's wire postings to domain [`Posting`]s: ids, numbers, money and places become
//! types here, once. A value that cannot be read is reported as a warning and left out; only a
//! posting without a valid posting number is refused.

use ozontrack_domain::{
    Currency, DeliveryMethod, GeoPoint, Money, OzonStatus, OzonSubstatus, Posting, PostingNumber,
    Promise, Scheme, StoreId, TrackingNumber,
};

use crate::wire::{DeliveryMethodRef, FboPosting, FbsPosting, Product};

/// A posting read from Ozon, with what could not be read in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    pub posting: Posting,
    /// The carrier's status text Ozon relays (`get` only; empty otherwise).
    pub provider_status: String,
    pub warnings: Vec<String>,
}

/// Why a posting could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("posting {posting:?}: field {field}: {reason}")]
pub struct NormalizeError {
    pub posting: String,
    pub field: &'static str,
    pub reason: String,
}

fn number(text: &str) -> Result<PostingNumber, NormalizeError> {
    PostingNumber::parse(text).map_err(|e| NormalizeError {
        posting: text.to_owned(),
        field: "posting_number",
        reason: e.to_string(),
    })
}

fn non_empty(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The FBS/rFBS scheme, from what the posting says about its delivery.
fn fbs_scheme(p: &FbsPosting) -> Scheme {
    let integration = p.tpl_integration_type.to_ascii_lowercase();
    if p.delivery_schema.eq_ignore_ascii_case("crossborder") {
        Scheme::Crossborder
    } else if integration == "ozon" {
        Scheme::Fbs
    } else if p.customer.is_some()
        || matches!(
            integration.as_str(),
            "non_integrated" | "3pl_tracking" | "hybryd" | "hybrid"
        )
    {
        Scheme::Rfbs
    } else {
        Scheme::Fbs
    }
}

fn delivery_method(m: &DeliveryMethodRef) -> Option<DeliveryMethod> {
    Some(DeliveryMethod {
        id: m.id?,
        name: m.name.clone(),
        tpl_provider_id: m.tpl_provider_id,
        tpl_provider: non_empty(&m.tpl_provider),
        warehouse_id: m.warehouse_id,
        warehouse: non_empty(&m.warehouse),
    })
}

/// The sum of the product lines, in the first line's currency; `None` (with a warning) when a
/// price cannot be read or currencies differ.
fn total(products: &[Product], warnings: &mut Vec<String>) -> Option<Money> {
    let mut sum: Option<Money> = None;
    for (i, product) in products.iter().enumerate() {
        let (amount, currency) = &product.price;
        if amount.is_empty() {
            continue;
        }
        let code = currency
            .as_deref()
            .or_else(|| non_empty(&product.currency_code).map(|_| product.currency_code.as_str()))
            .unwrap_or("RUB");
        let parsed = Currency::parse(code).and_then(|c| Money::parse_decimal(amount, c));
        let price = match parsed {
            Ok(price) => price,
            Err(e) => {
                warnings.push(format!("products[{i}].price: {e}"));
                return None;
            }
        };
        let line = price.minor.checked_mul(product.quantity.max(1));
        sum = match (sum, line) {
            (None, Some(minor)) => Some(Money::from_minor(minor, price.currency)),
            (Some(s), Some(minor)) if s.currency == price.currency => {
                Some(Money::from_minor(s.minor.checked_add(minor)?, s.currency))
            }
            _ => {
                warnings.push(format!("products[{i}].price: mixed currencies or overflow"));
                return None;
            }
        };
    }
    sum
}

fn tracking_number(text: &str, warnings: &mut Vec<String>) -> Option<TrackingNumber> {
    let text = non_empty(text)?;
    match TrackingNumber::parse(&text) {
        Ok(n) => Some(n),
        Err(e) => {
            warnings.push(format!("tracking_number: {e}"));
            None
        }
    }
}

fn point(lat: Option<f64>, lon: Option<f64>, warnings: &mut Vec<String>) -> Option<GeoPoint> {
    let (lat, lon) = (lat?, lon?);
    if lat == 0.0 && lon == 0.0 {
        return None;
    }
    GeoPoint::new(lat, lon)
        .map_err(|e| warnings.push(format!("customer.address: {e}")))
        .ok()
}

/// An FBS or rFBS posting from a list or `get`.
pub fn fbs(store: StoreId, p: &FbsPosting) -> Result<Normalized, NormalizeError> {
    let mut warnings = Vec::new();
    let mut posting = Posting::new(
        store,
        number(&p.posting_number)?,
        fbs_scheme(p),
        OzonStatus::parse(&p.status),
    );
    posting.order_id = p.order_id;
    posting.substatus = OzonSubstatus::parse(&p.substatus);
    posting.delivery_method = p.delivery_method.as_ref().and_then(delivery_method);
    posting.tracking_number = tracking_number(&p.tracking_number, &mut warnings);
    posting.in_process_at = p.in_process_at;
    posting.ship_by = p.shipment_date;
    posting.delivering_at = p.delivering_date;
    let address = p.customer.as_ref().and_then(|c| c.address.as_ref());
    let analytics = p.analytics_data.as_ref();
    posting.buyer_city = address
        .and_then(|a| non_empty(&a.city))
        .or_else(|| analytics.and_then(|a| non_empty(&a.city)));
    posting.buyer_region = address
        .and_then(|a| non_empty(&a.region))
        .or_else(|| analytics.and_then(|a| non_empty(&a.region)));
    posting.buyer_point = address.and_then(|a| point(a.latitude, a.longitude, &mut warnings));
    posting.promised =
        analytics.and_then(|a| Promise::of(a.delivery_date_begin, a.delivery_date_end));
    posting.total = total(&p.products, &mut warnings);
    posting.chat_allowed = p
        .available_actions
        .iter()
        .any(|a| a == ozontrack_domain::notify::CHAT_ACTION);
    Ok(Normalized {
        posting,
        provider_status: p.provider_status.trim().to_owned(),
        warnings,
    })
}

/// An FBO posting from the list or `get`.
pub fn fbo(store: StoreId, p: &FboPosting) -> Result<Normalized, NormalizeError> {
    let mut warnings = Vec::new();
    let mut posting = Posting::new(
        store,
        number(&p.posting_number)?,
        Scheme::Fbo,
        OzonStatus::parse(&p.status),
    );
    posting.order_id = p.order_id;
    posting.substatus = OzonSubstatus::parse(&p.substatus);
    posting.in_process_at = p.in_process_at.or(p.created_at);
    posting.delivered_at = p.fact_delivery_date;
    let analytics = p.analytics_data.as_ref();
    posting.buyer_city = analytics.and_then(|a| non_empty(&a.city));
    posting.buyer_region = analytics.and_then(|a| non_empty(&a.region));
    posting.total = total(&p.products, &mut warnings);
    Ok(Normalized {
        posting,
        provider_status: String::new(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> FbsPosting {
        crate::wire::decode::<FbsPosting>(json.as_bytes())
            .unwrap()
            .value
    }

    #[test]
    fn a_posting_without_a_valid_number_is_refused_naming_the_field() {
        let err = fbs(StoreId(1), &read(r#"{"posting_number":"abc"}"#)).unwrap_err();
        assert_eq!(err.field, "posting_number");
    }

    #[test]
    fn an_unreadable_tracking_number_is_a_warning_not_a_failure() {
        let n = fbs(
            StoreId(1),
            &read(r#"{"posting_number":"1234-0001-1","tracking_number":"RR 12?"}"#),
        )
        .unwrap();
        assert_eq!(n.posting.tracking_number, None);
        assert_eq!(n.warnings.len(), 1);
    }

    #[test]
    fn unknown_statuses_and_integration_types_are_kept() {
        let n = fbs(
            StoreId(1),
            &read(
                r#"{"posting_number":"1234-0001-1","status":"teleporting","substatus":"posting_beamed",
                    "tpl_integration_type":"drone"}"#,
            ),
        )
        .unwrap();
        assert_eq!(n.posting.status.as_str(), "teleporting");
        assert_eq!(n.posting.substatus.as_str(), "posting_beamed");
    }

    #[test]
    fn the_total_sums_quantity_times_price() {
        let n = fbs(
            StoreId(1),
            &read(
                r#"{"posting_number":"1234-0001-1","products":[
                    {"price":"1290.0000","currency_code":"RUB","quantity":2},
                    {"price":{"amount":"10.5","currency":"RUB"},"quantity":1}]}"#,
            ),
        )
        .unwrap();
        assert_eq!(
            n.posting.total,
            Some(Money::from_minor(259_050, Currency::Rub))
        );
    }
}
