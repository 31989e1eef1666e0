//! Reading a posting's trail ([`Trail`]): the one place that assembles a posting with its store,
//! legs, events (with receipt times and payload digests), merged timeline, alerts with their
//! history and arrival estimate. The API, `ozontrack status`, the dashboard, the map, the buyer
//! page, notifications and evidence all start from here; and the one place that finds a posting
//! by what a person types, within the stores they may see.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ozontrack_db::{AlertFilter, Database, DbError, LegRecord, PostingRecord, StoreRecord};
use ozontrack_domain::trail::{Trail, TrailAlert, TrailLeg, TrailStore};
use ozontrack_domain::{PostingId, PostingNumber, StoreId, TrackingEvent};

use crate::estimate::EstimateBook;

/// The trail of one posting, or none when there is no such posting.
pub async fn read<D: Database>(
    db: &D,
    estimates: &Arc<EstimateBook>,
    id: PostingId,
    now: DateTime<Utc>,
) -> Result<Option<Trail>, DbError> {
    read_with(db, estimates, id, now, false).await
}

/// [`read`] for a reader that shows one posting once (the console's `status`, a pack): a
/// posting under way gets the window the dashboard shows, learned first if nothing is learned
/// yet, rather than the mode's typical times (and no learning is left running in the
/// background of a command about to close its database).
pub async fn read_learned<D: Database>(
    db: &D,
    estimates: &Arc<EstimateBook>,
    id: PostingId,
    now: DateTime<Utc>,
) -> Result<Option<Trail>, DbError> {
    read_with(db, estimates, id, now, true).await
}

async fn read_with<D: Database>(
    db: &D,
    estimates: &Arc<EstimateBook>,
    id: PostingId,
    now: DateTime<Utc>,
    learn_first: bool,
) -> Result<Option<Trail>, DbError> {
    let Some(read) = db.postings_with_events(&[id]).await?.pop() else {
        return Ok(None);
    };
    if learn_first
        && !estimates.learned()
        && crate::estimate::UnderWay::of(&read.posting.posting).is_some()
    {
        estimates.learn_once(db, now).await?;
    }
    let Some(store) = db.store(read.posting.posting.store_id).await? else {
        return Ok(None);
    };
    Ok(Some(
        assemble(db, estimates, &store, read.posting, read.legs, now).await?,
    ))
}

/// [`read`], for a posting [`find_record`] found in one of the caller's stores: its row is not
/// read again (one query less on the API's busiest route) and its store is the caller's.
pub async fn read_found<D: Database>(
    db: &D,
    estimates: &Arc<EstimateBook>,
    store: &StoreRecord,
    posting: PostingRecord,
    now: DateTime<Utc>,
) -> Result<Trail, DbError> {
    let legs = db.legs_with_events(posting.id).await?;
    assemble(db, estimates, store, posting, legs, now).await
}

async fn assemble<D: Database>(
    db: &D,
    estimates: &Arc<EstimateBook>,
    store: &StoreRecord,
    record: PostingRecord,
    read_legs: Vec<(LegRecord, Vec<TrackingEvent>)>,
    now: DateTime<Utc>,
) -> Result<Trail, DbError> {
    let id = record.id;
    let numbers: Vec<(ozontrack_domain::LegId, ozontrack_domain::TrackingNumber)> = read_legs
        .iter()
        .map(|(l, _)| (l.id, l.leg.tracking_number.clone()))
        .collect();
    let legs: Vec<TrailLeg> = read_legs
        .into_iter()
        .map(|(l, events)| TrailLeg {
            continues: l.parent.and_then(|p| {
                numbers
                    .iter()
                    .find(|(id, _)| *id == p)
                    .map(|(_, n)| n.clone())
            }),
            leg: l.leg,
            status: l.status,
            last_event_at: l.last_event_at,
            next_check_at: l.next_check_at,
            tracked_since: l.created_at,
            carrier_source: l.carrier_source,
            carrier_set_by: l.carrier_set_by,
            carrier_set_at: l.carrier_set_at,
            events,
        })
        .collect();
    let mut alerts = Vec::new();
    let filter = AlertFilter {
        posting: Some(id),
        ..AlertFilter::default()
    };
    for alert in db.alerts(&filter).await? {
        let history = db.alert_history(alert.id).await?;
        alerts.push(TrailAlert { alert, history });
    }
    let posting = record.posting;
    let estimate = estimates.estimate(db, &posting, &legs, now);
    Ok(Trail::new(
        id,
        posting,
        TrailStore {
            id: store.id,
            name: store.name.clone(),
            settings: store.settings.clone(),
        },
        record.updated_at,
        legs,
        alerts,
        estimate,
    ))
}

/// The posting with this number in one of `stores` (with its store). Another store's posting,
/// like a malformed number, is none: a caller cannot tell them from a missing one.
pub async fn find<'s, D: Database>(
    db: &D,
    stores: &'s [StoreRecord],
    number: &str,
) -> Result<Option<(&'s StoreRecord, PostingId)>, DbError> {
    Ok(find_record(db, stores, number)
        .await?
        .map(|(store, posting)| (store, posting.id)))
}

/// [`find`], with the posting as read, for [`read_found`].
pub async fn find_record<'s, D: Database>(
    db: &D,
    stores: &'s [StoreRecord],
    number: &str,
) -> Result<Option<(&'s StoreRecord, PostingRecord)>, DbError> {
    let Ok(number) = PostingNumber::parse(number) else {
        return Ok(None);
    };
    let ids: Vec<StoreId> = stores.iter().map(|s| s.id).collect();
    Ok(db.posting_in(&ids, &number).await?.and_then(|p| {
        stores
            .iter()
            .find(|s| s.id == p.posting.store_id)
            .map(|s| (s, p))
    }))
}

/// Like [`find`], and failing that the posting one of whose legs has this tracking number.
pub async fn find_by_any_number<'s, D: Database>(
    db: &D,
    stores: &'s [StoreRecord],
    text: &str,
) -> Result<Option<(&'s StoreRecord, PostingId)>, DbError> {
    if let Some(found) = find(db, stores, text).await? {
        return Ok(Some(found));
    }
    let wanted = text.trim().to_ascii_uppercase();
    for leg in db.legs_by_number(&wanted).await? {
        if let Some(posting) = db.posting_by_id(leg.posting_id).await?
            && let Some(store) = stores.iter().find(|s| s.id == posting.posting.store_id)
        {
            return Ok(Some((store, posting.id)));
        }
    }
    Ok(None)
}
