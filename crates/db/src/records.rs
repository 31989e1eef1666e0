//! Rows as the database returns them, and their conversion into domain records. A value that
//! does not parse is reported as a corrupt row, naming table and id, never silently dropped.

use chrono::{DateTime, Utc};
use ozontrack_domain::{
    CarrierCode, CarrierSource, ClientId, Currency, DeliveryMethod, EventSource, Fingerprint,
    GeoPoint, Handover, Language, Leg, LegId, LegRole, Location, MainStatus, Money,
    NormalizedStatus, OzonStatus, OzonSubstatus, ParseError, Posting, PostingId, PostingNumber,
    Promise, Scheme, StoreId, StoreName, StoreSettings, SubStatus, TrackingEvent, TrackingNumber,
};

use crate::{DbError, EventRecord, LeaseOwner, LegRecord, PostingRecord, StoreRecord};

pub(crate) fn corrupt(table: &'static str, id: i64) -> impl Fn(ParseError) -> DbError {
    move |e| DbError::Corrupt {
        table,
        id,
        reason: e.to_string(),
    }
}

fn point(lat: Option<f64>, lon: Option<f64>) -> Result<Option<GeoPoint>, ParseError> {
    match (lat, lon) {
        (Some(lat), Some(lon)) => GeoPoint::new(lat, lon).map(Some),
        _ => Ok(None),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct StoreRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) client_id: i64,
    pub(crate) ozon_base_url: String,
    pub(crate) timezone: String,
    pub(crate) language: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) next_check_at: Option<DateTime<Utc>>,
    pub(crate) synced_until: Option<DateTime<Utc>>,
    pub(crate) api_access: bool,
    pub(crate) paused_at: Option<DateTime<Utc>>,
}

impl TryFrom<StoreRow> for StoreRecord {
    type Error = DbError;
    fn try_from(row: StoreRow) -> Result<Self, DbError> {
        let bad = corrupt("stores", row.id);
        Ok(StoreRecord {
            id: StoreId(row.id),
            name: StoreName::parse(&row.name).map_err(&bad)?,
            client_id: if row.api_access {
                Some(ClientId::parse(&row.client_id.to_string()).map_err(&bad)?)
            } else {
                None
            },
            ozon_base_url: row.ozon_base_url,
            settings: StoreSettings {
                timezone: row.timezone,
                language: Language::parse(&row.language).map_err(&bad)?,
            },
            created_at: row.created_at,
            next_sync_at: row.next_check_at,
            synced_until: row.synced_until,
            paused_at: row.paused_at,
        })
    }
}

/// The columns of `postings p` every reader of a posting needs: what an export row shows and
/// the arrival estimate reads ([`PostingCoreRow`]).
pub(crate) const POSTING_CORE_COLUMNS: &str = "p.id, p.store_id, p.posting_number, p.order_id, \
     p.scheme, p.status, p.substatus, p.in_process_at, p.delivered_at, p.buyer_city, \
     p.total_minor, p.total_currency";

/// A posting's number, mode, Ozon status, dates, buyer's city and total: an export reads only
/// these, a million postings at a time, and [`PostingRow`] adds the rest to them.
#[derive(sqlx::FromRow)]
pub(crate) struct PostingCoreRow {
    id: i64,
    store_id: i64,
    posting_number: String,
    order_id: Option<i64>,
    scheme: String,
    status: String,
    substatus: String,
    in_process_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    buyer_city: Option<String>,
    total_minor: Option<i64>,
    total_currency: Option<String>,
}

impl TryFrom<PostingCoreRow> for (PostingId, Posting) {
    type Error = DbError;
    /// The posting with the core's fields; the others start empty ([`Posting::new`]).
    fn try_from(row: PostingCoreRow) -> Result<Self, DbError> {
        let bad = corrupt("postings", row.id);
        let mut posting = Posting::new(
            StoreId(row.store_id),
            PostingNumber::parse(&row.posting_number).map_err(&bad)?,
            Scheme::parse(&row.scheme).map_err(&bad)?,
            OzonStatus::parse(&row.status),
        );
        posting.order_id = row.order_id;
        posting.substatus = OzonSubstatus::parse(&row.substatus);
        posting.in_process_at = row.in_process_at;
        posting.delivered_at = row.delivered_at;
        posting.buyer_city = row.buyer_city;
        posting.total = match (row.total_minor, row.total_currency) {
            (Some(minor), Some(code)) => Some(Money::from_minor(
                minor,
                Currency::parse(&code).map_err(&bad)?,
            )),
            _ => None,
        };
        Ok((PostingId(row.id), posting))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PostingRow {
    #[sqlx(flatten)]
    core: PostingCoreRow,
    delivery_method_id: Option<i64>,
    delivery_method_name: Option<String>,
    tpl_provider_id: Option<i64>,
    tpl_provider: Option<String>,
    warehouse_id: Option<i64>,
    warehouse_name: Option<String>,
    tracking_number: Option<String>,
    ship_by: Option<DateTime<Utc>>,
    delivering_at: Option<DateTime<Utc>>,
    promised_from: Option<DateTime<Utc>>,
    promised_to: Option<DateTime<Utc>>,
    buyer_region: Option<String>,
    buyer_lat: Option<f64>,
    buyer_lon: Option<f64>,
    chat_allowed: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<PostingRow> for PostingRecord {
    type Error = DbError;
    fn try_from(row: PostingRow) -> Result<Self, DbError> {
        let bad = corrupt("postings", row.core.id);
        let (id, mut posting) = <(PostingId, Posting)>::try_from(row.core)?;
        posting.delivery_method = row.delivery_method_id.map(|id| DeliveryMethod {
            id,
            name: row.delivery_method_name.unwrap_or_default(),
            tpl_provider_id: row.tpl_provider_id,
            tpl_provider: row.tpl_provider,
            warehouse_id: row.warehouse_id,
            warehouse: row.warehouse_name,
        });
        posting.tracking_number = row
            .tracking_number
            .as_deref()
            .map(TrackingNumber::parse)
            .transpose()
            .map_err(&bad)?;
        posting.ship_by = row.ship_by;
        posting.delivering_at = row.delivering_at;
        posting.promised = Promise::of(row.promised_from, row.promised_to);
        posting.buyer_region = row.buyer_region;
        posting.buyer_point = point(row.buyer_lat, row.buyer_lon).map_err(&bad)?;
        posting.chat_allowed = row.chat_allowed;
        Ok(PostingRecord {
            id,
            posting,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LegRow {
    id: i64,
    posting_id: i64,
    carrier: String,
    tracking_number: String,
    role: String,
    status_main: Option<String>,
    status_sub: Option<String>,
    status_raw: Option<String>,
    last_event_at: Option<DateTime<Utc>>,
    next_check_at: Option<DateTime<Utc>>,
    lease_owner: Option<String>,
    lease_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    carrier_source: String,
    carrier_set_by: Option<String>,
    carrier_set_at: Option<DateTime<Utc>>,
    registered_at: Option<DateTime<Utc>>,
    pushed_at: Option<DateTime<Utc>>,
    checks: i64,
    parent_leg_id: Option<i64>,
    checked_at: Option<DateTime<Utc>>,
    stopped_at: Option<DateTime<Utc>>,
}

pub(crate) fn status(main: &str, sub: &str, raw: &str) -> Result<NormalizedStatus, ParseError> {
    Ok(NormalizedStatus::new(
        MainStatus::parse(main)?,
        SubStatus::from_code(sub, raw)?,
    ))
}

impl TryFrom<LegRow> for LegRecord {
    type Error = DbError;
    fn try_from(row: LegRow) -> Result<Self, DbError> {
        let bad = corrupt("legs", row.id);
        let status = match (&row.status_main, &row.status_sub) {
            (Some(main), Some(sub)) => {
                Some(status(main, sub, row.status_raw.as_deref().unwrap_or("")).map_err(&bad)?)
            }
            _ => None,
        };
        Ok(LegRecord {
            id: LegId(row.id),
            posting_id: PostingId(row.posting_id),
            leg: Leg {
                carrier: CarrierCode::parse(&row.carrier).map_err(&bad)?,
                tracking_number: TrackingNumber::parse(&row.tracking_number).map_err(&bad)?,
                role: LegRole::parse(&row.role).map_err(&bad)?,
            },
            status,
            last_event_at: row.last_event_at,
            next_check_at: row.next_check_at,
            lease_owner: row.lease_owner.map(LeaseOwner::new),
            lease_until: row.lease_until,
            created_at: row.created_at,
            carrier_source: CarrierSource::parse(&row.carrier_source).map_err(&bad)?,
            carrier_set_by: row.carrier_set_by,
            carrier_set_at: row.carrier_set_at,
            registered_at: row.registered_at,
            pushed_at: row.pushed_at,
            checks: row.checks,
            parent: row.parent_leg_id.map(LegId),
            checked_at: row.checked_at,
            stopped_at: row.stopped_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: i64,
    leg_id: i64,
    occurred_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    status_main: String,
    status_sub: String,
    status_raw: Option<String>,
    raw_code: String,
    raw_text: String,
    location_text: Option<String>,
    city: Option<String>,
    country: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    source: String,
    fingerprint: String,
    payload_digest: Option<String>,
    handover: Option<String>,
    recipient: Option<String>,
}

impl TryFrom<EventRow> for EventRecord {
    type Error = DbError;
    fn try_from(row: EventRow) -> Result<Self, DbError> {
        let bad = corrupt("events", row.id);
        let event = TrackingEvent {
            occurred_at: row.occurred_at,
            status: status(
                &row.status_main,
                &row.status_sub,
                row.status_raw.as_deref().unwrap_or(""),
            )
            .map_err(&bad)?,
            location: Location {
                text: row.location_text,
                city: row.city,
                country: row.country,
                point: point(row.lat, row.lon).map_err(&bad)?,
            },
            raw_code: row.raw_code,
            raw_text: row.raw_text,
            source: EventSource::parse(&row.source),
            fingerprint: Fingerprint::from_stored(row.fingerprint),
            payload_digest: row.payload_digest,
            received_at: Some(row.received_at),
            handover: row.handover.as_deref().map(Handover::parse),
            recipient: row.recipient,
        };
        Ok(EventRecord {
            id: row.id,
            leg_id: LegId(row.leg_id),
            event,
            received_at: row.received_at,
        })
    }
}
