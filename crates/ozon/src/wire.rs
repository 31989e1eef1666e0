//! Ozon's JSON as it arrives, read field by field under the decoding policy
//! ([`ozontrack_http::lenient`]): ids as numbers or numeric strings, `null` where a string or list
//! is expected, empty strings and placeholders for unset times, prices as `"1290.0000"` or
//! `{amount, currency}`, and enum values kept as text so that a value Ozon adds tomorrow is
//! carried through rather than rejected. A posting without its `posting_number` is left out of
//! its page (and noted); nothing else refuses a page.

use chrono::{DateTime, Utc};
use ozontrack_http::lenient::{Obj, Refused};

/// A response (or a part of one) read from its JSON object.
pub trait Readable: Sized {
    /// Reads the object; `Err` refuses it (an item without its identifier).
    fn read(o: &Obj<'_>) -> Result<Self, Refused>;
}

/// The items of the list under `key`: the readable ones, and the refusals (noted in the body's
/// notes as well).
fn items<T: Readable>(o: &Obj<'_>, key: &str) -> (Vec<T>, Vec<Refused>) {
    let mut refused = Vec::new();
    let items = o
        .list(key)
        .iter()
        .filter_map(|item| match T::read(item) {
            Ok(v) => Some(v),
            Err(r) => {
                o.note_refused(r.clone());
                refused.push(r);
                None
            }
        })
        .collect();
    (items, refused)
}

/// A price: `"1290.0000"` (v3, with `currency_code` beside it) or
/// `{"amount": "1290", "currency": "RUB"}` (v4); (amount text, currency).
fn price(o: &Obj<'_>, key: &str) -> (String, Option<String>) {
    if let Some(p) = o
        .raw(key)
        .filter(|v| v.is_object())
        .and_then(|_| o.obj(key))
    {
        return (
            p.opt_text("amount").unwrap_or_default(),
            p.opt_text("currency"),
        );
    }
    (o.opt_text(key).unwrap_or_default(), None)
}

/// A per-item `error`: documented as a string, sent as `[]` by the status methods.
fn error_text(o: &Obj<'_>, key: &str) -> String {
    match o.raw(key) {
        Some(serde_json::Value::Array(_)) => o.texts(key).join("; "),
        Some(serde_json::Value::Object(_)) => {
            o.raw(key).map(ToString::to_string).unwrap_or_default()
        }
        _ => o.text(key),
    }
}

/// A posting's delivery method as postings carry it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryMethodRef {
    pub id: Option<i64>,
    pub name: String,
    pub warehouse_id: Option<i64>,
    pub warehouse: String,
    pub tpl_provider_id: Option<i64>,
    pub tpl_provider: String,
}

impl Readable for DeliveryMethodRef {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            id: o.id("id"),
            name: o.text("name"),
            warehouse_id: o.id("warehouse_id"),
            warehouse: o.text("warehouse"),
            tpl_provider_id: o.id("tpl_provider_id"),
            tpl_provider: o.text("tpl_provider"),
        })
    }
}

/// One product line of a posting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Product {
    pub sku: Option<i64>,
    pub offer_id: String,
    pub name: String,
    pub quantity: i64,
    /// (amount text, currency from a v4 price object).
    pub price: (String, Option<String>),
    pub currency_code: String,
}

impl Readable for Product {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            sku: o.id("sku"),
            offer_id: o.text("offer_id"),
            name: o.text("name"),
            quantity: o.int("quantity").unwrap_or(0),
            price: price(o, "price"),
            currency_code: o.text("currency_code"),
        })
    }
}

/// A buyer's address (rFBS only).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Address {
    pub city: String,
    pub region: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl Readable for Address {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            city: o.text("city"),
            region: o.text("region"),
            latitude: o.float("latitude"),
            longitude: o.float("longitude"),
        })
    }
}

/// The buyer block of an rFBS posting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Customer {
    pub address: Option<Address>,
}

impl Readable for Customer {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            address: one(o, "address"),
        })
    }
}

/// The object under `key`, read; `None` when absent.
fn one<T: Readable>(o: &Obj<'_>, key: &str) -> Option<T> {
    o.obj(key).and_then(|x| T::read(&x).ok())
}

/// `analytics_data`, present when asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analytics {
    pub city: String,
    pub region: String,
    pub delivery_type: String,
    pub warehouse_id: Option<i64>,
    pub delivery_date_begin: Option<DateTime<Utc>>,
    pub delivery_date_end: Option<DateTime<Utc>>,
}

impl Readable for Analytics {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            city: o.text("city"),
            region: o.text("region"),
            delivery_type: o.text("delivery_type"),
            warehouse_id: o.id("warehouse_id"),
            delivery_date_begin: o.time("delivery_date_begin"),
            delivery_date_end: o.time("delivery_date_end"),
        })
    }
}

/// An FBS or rFBS posting, as `/v4/posting/fbs/list`, `/v4/posting/fbs/unfulfilled/list` and
/// `/v3/posting/fbs/get` send it (the fields ozontrack reads; the rest is ignored).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FbsPosting {
    pub posting_number: String,
    pub order_id: Option<i64>,
    pub order_number: String,
    pub status: String,
    pub substatus: String,
    /// Only in `get`.
    pub previous_substatus: String,
    /// The carrier's own status text Ozon relays; only in `get`.
    pub provider_status: String,
    pub tracking_number: String,
    /// `ozon`, `3pl_tracking`, `non_integrated`, `aggregator`, `hybryd` (sic) or `hybrid`.
    pub tpl_integration_type: String,
    pub delivery_schema: String,
    pub delivery_method: Option<DeliveryMethodRef>,
    pub in_process_at: Option<DateTime<Utc>>,
    pub shipment_date: Option<DateTime<Utc>>,
    pub delivering_date: Option<DateTime<Utc>>,
    pub fact_delivery_date: Option<DateTime<Utc>>,
    pub customer: Option<Customer>,
    pub products: Vec<Product>,
    pub analytics_data: Option<Analytics>,
    pub available_actions: Vec<String>,
}

impl Readable for FbsPosting {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            posting_number: o.required("posting_number")?,
            order_id: o.id("order_id"),
            order_number: o.text("order_number"),
            status: o.text("status"),
            substatus: o.text("substatus"),
            previous_substatus: o.text("previous_substatus"),
            provider_status: o.text("provider_status"),
            tracking_number: o.text("tracking_number"),
            tpl_integration_type: o.text("tpl_integration_type"),
            delivery_schema: o.text("delivery_schema"),
            delivery_method: one(o, "delivery_method"),
            in_process_at: o.time("in_process_at"),
            shipment_date: o.time("shipment_date"),
            delivering_date: o.time("delivering_date"),
            fact_delivery_date: o.time("fact_delivery_date"),
            customer: one(o, "customer"),
            products: items(o, "products").0,
            analytics_data: one(o, "analytics_data"),
            available_actions: o.texts("available_actions"),
        })
    }
}

/// FBO `analytics_data`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FboAnalytics {
    pub city: String,
    pub region: String,
    pub warehouse_id: Option<i64>,
    pub warehouse_name: String,
}

impl Readable for FboAnalytics {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            city: o.text("city"),
            region: o.text("region"),
            warehouse_id: o.id("warehouse_id"),
            warehouse_name: o.text("warehouse_name"),
        })
    }
}

/// An FBO posting, as `/v3/posting/fbo/list` and `/v2/posting/fbo/get` send it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FboPosting {
    pub posting_number: String,
    pub order_id: Option<i64>,
    pub order_number: String,
    pub status: String,
    pub substatus: String,
    pub created_at: Option<DateTime<Utc>>,
    pub in_process_at: Option<DateTime<Utc>>,
    /// Only in `get`.
    pub fact_delivery_date: Option<DateTime<Utc>>,
    pub products: Vec<Product>,
    pub analytics_data: Option<FboAnalytics>,
}

impl Readable for FboPosting {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            posting_number: o.required("posting_number")?,
            order_id: o.id("order_id"),
            order_number: o.text("order_number"),
            status: o.text("status"),
            substatus: o.text("substatus"),
            created_at: o.time("created_at"),
            in_process_at: o.time("in_process_at"),
            fact_delivery_date: o.time("fact_delivery_date"),
            products: items(o, "products").0,
            analytics_data: one(o, "analytics_data"),
        })
    }
}

/// A page of a cursor-paged list (`/v4/posting/fbs/list`, `/v3/posting/fbo/list`): the
/// envelope sits at the root, not under `result` (the deprecated lists put it there; read too).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub postings: Vec<T>,
    /// Postings left out of this page, with where and why.
    pub refused: Vec<Refused>,
    pub cursor: String,
    pub has_next: bool,
}

impl<T: Readable> Readable for Page<T> {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        let (postings, refused) = match o.raw("postings") {
            Some(_) => items(o, "postings"),
            None => match o.obj("result") {
                Some(r) if r.raw("postings").is_some() => items(&r, "postings"),
                _ if o.raw("result").is_some_and(serde_json::Value::is_array) => items(o, "result"),
                _ => (Vec::new(), Vec::new()),
            },
        };
        Ok(Self {
            postings,
            refused,
            cursor: o.text("cursor"),
            has_next: o.flag("has_next"),
        })
    }
}

/// The `{"result": …}` envelope of the v2/v3 methods; `None` when the result is absent or
/// refused (a posting without its number).
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<T> {
    pub result: Option<T>,
}

impl<T: Readable> Readable for Envelope<T> {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        let result = o.obj("result").and_then(|r| match T::read(&r) {
            Ok(v) => Some(v),
            Err(refused) => {
                o.note_refused(refused);
                None
            }
        });
        Ok(Self { result })
    }
}

/// The `{"result": [ItemResult…]}` answer of the bulk write methods.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResults(pub Vec<ItemResult>);

impl Readable for ItemResults {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self(items(o, "result").0))
    }
}

/// A delivery method from `/v2/delivery-method/list`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryMethodInfo {
    pub id: Option<i64>,
    pub name: String,
    pub provider_id: Option<i64>,
    pub warehouse_id: Option<i64>,
    pub status: String,
    /// `hybrid` here, `hybryd` on postings.
    pub tpl_integration_type: String,
}

impl Readable for DeliveryMethodInfo {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            id: o.id("id"),
            name: o.text("name"),
            provider_id: o.id("provider_id"),
            warehouse_id: o.id("warehouse_id"),
            status: o.text("status"),
            tpl_integration_type: o.text("tpl_integration_type"),
        })
    }
}

impl Listed for DeliveryMethodInfo {
    const KEY: &'static str = "delivery_methods";
}

/// A page of a cursor-paged settings list (`/v2/delivery-method/list`, `/v2/warehouse/list`):
/// its items under `T::KEY`, the next cursor and whether there is more.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorPage<T> {
    pub items: Vec<T>,
    pub cursor: String,
    pub has_next: bool,
}

/// An item of a [`CursorPage`], with the key its list stands under.
pub trait Listed: Readable {
    const KEY: &'static str;
}

impl<T: Listed> Readable for CursorPage<T> {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            items: items(o, T::KEY).0,
            cursor: o.text("cursor"),
            has_next: o.flag("has_next"),
        })
    }
}

/// A warehouse from `/v2/warehouse/list`.
#[derive(Debug, Clone, PartialEq)]
pub struct Warehouse {
    pub warehouse_id: Option<i64>,
    pub name: String,
    pub status: String,
    pub is_rfbs: bool,
}

impl Readable for Warehouse {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            warehouse_id: o.id("warehouse_id"),
            name: o.text("name"),
            status: o.text("status"),
            is_rfbs: o.flag("is_rfbs"),
        })
    }
}

impl Listed for Warehouse {
    const KEY: &'static str = "warehouses";
}

/// One item of a bulk action's result (tracking numbers, rFBS status moves).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult {
    pub posting_number: String,
    pub result: bool,
    pub error: String,
}

impl Readable for ItemResult {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            posting_number: o.text("posting_number"),
            result: o.flag("result"),
            error: error_text(o, "error"),
        })
    }
}

/// `/v1/report/postings/create` result.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportCode {
    pub code: String,
}

impl Readable for ReportCode {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            code: o.required("code")?,
        })
    }
}

/// `/v1/report/info` result. `status`: `waiting`, `processing`, `success` or `failed`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInfo {
    pub code: String,
    pub status: String,
    pub error: String,
    pub file: String,
    pub report_type: String,
}

impl Readable for ReportInfo {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            code: o.text("code"),
            status: o.text("status"),
            error: o.text("error"),
            file: o.text("file"),
            report_type: o.text("report_type"),
        })
    }
}

/// `/v1/chat/start` result.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatStarted {
    pub chat_id: String,
}

impl Readable for ChatStarted {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            chat_id: o.required("chat_id")?,
        })
    }
}

/// An answer whose content we do not read (a chat message sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ignored;

impl Readable for Ignored {
    fn read(_: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self)
    }
}

/// Ozon's error body: `{"code", "message", "details"}` with a gRPC code.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorBody {
    pub code: i64,
    pub message: String,
}

impl Readable for ErrorBody {
    fn read(o: &Obj<'_>) -> Result<Self, Refused> {
        Ok(Self {
            code: o.int("code").unwrap_or(0),
            message: o.text("message"),
        })
    }
}

/// Reads a whole body as `T` under the decoding policy; `Err` only when it is not JSON at all
/// or the answer itself is refused.
pub fn decode<T: Readable>(
    body: &[u8],
) -> Result<ozontrack_http::lenient::Decoded<T>, DecodeError> {
    let decoded =
        ozontrack_http::lenient::decode(body, |o| T::read(o)).map_err(DecodeError::Json)?;
    match decoded.value {
        Ok(value) => Ok(ozontrack_http::lenient::Decoded {
            value,
            notes: decoded.notes,
        }),
        Err(refused) => Err(DecodeError::Refused(refused)),
    }
}

/// Why a body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Json(#[from] ozontrack_http::lenient::Unreadable),
    #[error("{0}")]
    Refused(Refused),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: Readable>(json: &str) -> T {
        decode::<T>(json.as_bytes()).unwrap().value
    }

    #[test]
    fn ids_arrive_as_numbers_or_numeric_strings() {
        let a: DeliveryMethodRef =
            read(r#"{"id": 1020000123456000, "warehouse_id": "22001234560000"}"#);
        assert_eq!(a.id, Some(1_020_000_123_456_000));
        assert_eq!(a.warehouse_id, Some(22_001_234_560_000));
    }

    #[test]
    fn item_errors_arrive_as_strings_or_empty_lists() {
        let a: ItemResult = read(r#"{"posting_number":"1-1-1","result":true,"error":[]}"#);
        assert_eq!(a.error, "");
        let b: ItemResult =
            read(r#"{"posting_number":"1-1-1","result":false,"error":"POSTING_NOT_FOUND"}"#);
        assert_eq!(b.error, "POSTING_NOT_FOUND");
    }

    #[test]
    fn unset_times_arrive_as_null_or_empty_and_far_future_sentinels_parse() {
        let p: FbsPosting = read(
            r#"{"posting_number":"1-1-1","in_process_at":"","delivering_date":null,
                "shipment_date":"9999-12-31T23:59:59.999999900Z"}"#,
        );
        assert_eq!(p.in_process_at, None);
        assert_eq!(p.delivering_date, None);
        assert!(p.shipment_date.is_some());
    }

    #[test]
    fn prices_arrive_as_text_or_amount_objects() {
        let v3: Product = read(r#"{"price":"1290.0000","currency_code":"RUB"}"#);
        assert_eq!(v3.price, ("1290.0000".into(), None));
        let v4: Product = read(r#"{"price":{"amount":"1290","currency":"CNY"}}"#);
        assert_eq!(v4.price, ("1290".into(), Some("CNY".into())));
    }

    #[test]
    fn a_placeholder_in_an_optional_date_leaves_only_that_date_out() {
        let d = decode::<Envelope<FboPosting>>(
            br#"{"result": {"posting_number": "50520644-0012-7", "status": "delivered",
                 "created_at": "2021-09-01T00:34:56.563Z", "fact_delivery_date": "string",
                 "in_process_at": "yesterday"}}"#,
        )
        .unwrap();
        let p = d.value.result.unwrap();
        assert_eq!(p.status, "delivered");
        assert!(p.created_at.is_some());
        assert_eq!(p.fact_delivery_date, None);
        assert_eq!(p.in_process_at, None);
        let fields: Vec<&str> = d.notes.degraded.iter().map(|n| n.field.as_str()).collect();
        assert_eq!(
            fields,
            ["result.in_process_at"],
            "a placeholder is absence, not damage"
        );
    }

    #[test]
    fn a_posting_without_its_number_is_left_out_of_its_page_and_noted() {
        let d = decode::<Page<FbsPosting>>(
            br#"{"postings": [{"posting_number": "1-1-1"}, {"status": "delivered"},
                 {"posting_number": 5}], "cursor": "c", "has_next": "true"}"#,
        )
        .unwrap();
        let numbers: Vec<&str> = d
            .value
            .postings
            .iter()
            .map(|p| p.posting_number.as_str())
            .collect();
        assert_eq!(numbers, ["1-1-1", "5"]);
        assert_eq!(d.value.refused.len(), 1);
        assert_eq!(d.value.refused[0].item, "postings[1]");
        assert!(d.value.has_next);
    }

    #[test]
    fn the_deprecated_fbo_list_with_its_result_array_is_read_too() {
        let page: Page<FboPosting> =
            read(r#"{"result": [{"posting_number": "16965409-0014-1", "status": "delivered"}]}"#);
        assert_eq!(page.postings.len(), 1);
    }
}
