//! Ozon's JSON as it arrives, typed field by field, tolerant where Ozon is inconsistent: ids as
//! numbers or numeric strings, `null` where a string or list is expected, empty strings for
//! unset times, prices as `"1290.0000"` or `{amount, currency}`, and enum values kept as text so
//! that a value Ozon adds tomorrow is carried through rather than rejected.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Deserializers for Ozon's loose spots.
pub(crate) mod de {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, de::Error};
    use serde_json::Value;

    /// An int64 sent as a JSON number or a numeric string; `null`, `""` and `0` mean none.
    pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_i64()
                .map(|v| (v != 0).then_some(v))
                .ok_or_else(|| D::Error::custom(format!("{n} is not a 64-bit integer"))),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(|v| (v != 0).then_some(v))
                .map_err(|_| D::Error::custom(format!("{s:?} is not an integer"))),
            other => Err(D::Error::custom(format!("expected an id, got {other}"))),
        }
    }

    /// A string that may come as `null` (read as empty), or as a number.
    pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(String::new()),
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(D::Error::custom(format!("expected text, got {other}"))),
        }
    }

    /// A time; `null` and `""` mean unset.
    pub(crate) fn opt_time<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => DateTime::parse_from_rfc3339(s.trim())
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| D::Error::custom(format!("{s:?} is not an RFC 3339 time: {e}"))),
        }
    }

    /// A list that may come as `null`.
    pub(crate) fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }

    /// A per-item `error`: documented as a string, sent as `[]` by the status methods.
    pub(crate) fn error_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(String::new()),
            Value::String(s) => Ok(s),
            Value::Array(items) => Ok(items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join("; ")),
            other => Ok(other.to_string()),
        }
    }

    /// A price: `"1290.0000"` (v3, with `currency_code` beside it) or
    /// `{"amount": "1290", "currency": "RUB"}` (v4).
    pub(crate) fn price<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<(String, Option<String>), D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok((String::new(), None)),
            Value::String(s) => Ok((s, None)),
            Value::Number(n) => Ok((n.to_string(), None)),
            Value::Object(o) => {
                let amount = match o.get("amount") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => String::new(),
                };
                let currency = o.get("currency").and_then(Value::as_str).map(str::to_owned);
                Ok((amount, currency))
            }
            other => Err(D::Error::custom(format!("expected a price, got {other}"))),
        }
    }
}

/// A posting's delivery method as postings carry it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct DeliveryMethodRef {
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub warehouse_id: Option<i64>,
    #[serde(default, deserialize_with = "de::text")]
    pub warehouse: String,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub tpl_provider_id: Option<i64>,
    #[serde(default, deserialize_with = "de::text")]
    pub tpl_provider: String,
}

/// One product line of a posting.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Product {
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub sku: Option<i64>,
    #[serde(default, deserialize_with = "de::text")]
    pub offer_id: String,
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    #[serde(default)]
    pub quantity: i64,
    /// (amount text, currency from a v4 price object).
    #[serde(default, deserialize_with = "de::price")]
    pub price: (String, Option<String>),
    #[serde(default, deserialize_with = "de::text")]
    pub currency_code: String,
}

/// A buyer's address (rFBS only).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Address {
    #[serde(default, deserialize_with = "de::text")]
    pub city: String,
    #[serde(default, deserialize_with = "de::text")]
    pub region: String,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// The buyer block of an rFBS posting.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Customer {
    #[serde(default)]
    pub address: Option<Address>,
}

/// `analytics_data`, present when asked for.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Analytics {
    #[serde(default, deserialize_with = "de::text")]
    pub city: String,
    #[serde(default, deserialize_with = "de::text")]
    pub region: String,
    #[serde(default, deserialize_with = "de::text")]
    pub delivery_type: String,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub warehouse_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_time")]
    pub delivery_date_begin: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_time")]
    pub delivery_date_end: Option<DateTime<Utc>>,
}

/// An FBS or rFBS posting, as `/v4/posting/fbs/list`, `/v4/posting/fbs/unfulfilled/list` and
/// `/v3/posting/fbs/get` send it (the fields ozontrack reads; the rest is ignored).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct FbsPosting {
    pub posting_number: String,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub order_id: Option<i64>,
    #[serde(default, deserialize_with = "de::text")]
    pub order_number: String,
    #[serde(default, deserialize_with = "de::text")]
    pub status: String,
    #[serde(default, deserialize_with = "de::text")]
    pub substatus: String,
    /// Only in `get`.
    #[serde(default, deserialize_with = "de::text")]
    pub previous_substatus: String,
    /// The carrier's own status text Ozon relays; only in `get`.
    #[serde(default, deserialize_with = "de::text")]
    pub provider_status: String,
    #[serde(default, deserialize_with = "de::text")]
    pub tracking_number: String,
    /// `ozon`, `3pl_tracking`, `non_integrated`, `aggregator`, `hybryd` (sic) or `hybrid`.
    #[serde(default, deserialize_with = "de::text")]
    pub tpl_integration_type: String,
    #[serde(default, deserialize_with = "de::text")]
    pub delivery_schema: String,
    #[serde(default)]
    pub delivery_method: Option<DeliveryMethodRef>,
    #[serde(default, deserialize_with = "de::opt_time")]
    pub in_process_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_time")]
    pub shipment_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_time")]
    pub delivering_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_time")]
    pub fact_delivery_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub customer: Option<Customer>,
    #[serde(default, deserialize_with = "de::list")]
    pub products: Vec<Product>,
    #[serde(default)]
    pub analytics_data: Option<Analytics>,
    #[serde(default, deserialize_with = "de::list")]
    pub available_actions: Vec<String>,
}

/// FBO `analytics_data`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct FboAnalytics {
    #[serde(default, deserialize_with = "de::text")]
    pub city: String,
    #[serde(default, deserialize_with = "de::text")]
    pub region: String,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub warehouse_id: Option<i64>,
    #[serde(default, deserialize_with = "de::text")]
    pub warehouse_name: String,
}

/// An FBO posting, as `/v3/posting/fbo/list` and `/v2/posting/fbo/get` send it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct FboPosting {
    pub posting_number: String,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub order_id: Option<i64>,
    #[serde(default, deserialize_with = "de::text")]
    pub order_number: String,
    #[serde(default, deserialize_with = "de::text")]
    pub status: String,
    #[serde(default, deserialize_with = "de::text")]
    pub substatus: String,
    #[serde(default, deserialize_with = "de::opt_time")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_time")]
    pub in_process_at: Option<DateTime<Utc>>,
    /// Only in `get`.
    #[serde(default, deserialize_with = "de::opt_time")]
    pub fact_delivery_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::list")]
    pub products: Vec<Product>,
    #[serde(default)]
    pub analytics_data: Option<FboAnalytics>,
}

/// A page of a cursor-paged list (`/v4/posting/fbs/list`, `/v3/posting/fbo/list`): the
/// envelope sits at the root, not under `result`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    #[serde(default, deserialize_with = "de::list")]
    pub postings: Vec<T>,
    #[serde(default, deserialize_with = "de::text")]
    pub cursor: String,
    #[serde(default)]
    pub has_next: bool,
}

/// The `{"result": …}` envelope of the v2/v3 methods.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Envelope<T> {
    pub result: T,
}

/// A delivery method from `/v2/delivery-method/list`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct DeliveryMethodInfo {
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub provider_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub warehouse_id: Option<i64>,
    #[serde(default, deserialize_with = "de::text")]
    pub status: String,
    /// `hybrid` here, `hybryd` on postings.
    #[serde(default, deserialize_with = "de::text")]
    pub tpl_integration_type: String,
}

/// `/v2/delivery-method/list` response.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeliveryMethods {
    #[serde(default, deserialize_with = "de::list")]
    pub delivery_methods: Vec<DeliveryMethodInfo>,
    #[serde(default, deserialize_with = "de::text")]
    pub cursor: String,
    #[serde(default)]
    pub has_next: bool,
}

/// A warehouse from `/v2/warehouse/list`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Warehouse {
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub warehouse_id: Option<i64>,
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    #[serde(default, deserialize_with = "de::text")]
    pub status: String,
    #[serde(default)]
    pub is_rfbs: bool,
}

/// `/v2/warehouse/list` response.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Warehouses {
    #[serde(default, deserialize_with = "de::list")]
    pub warehouses: Vec<Warehouse>,
    #[serde(default, deserialize_with = "de::text")]
    pub cursor: String,
    #[serde(default)]
    pub has_next: bool,
}

/// One item of a bulk action's result (tracking numbers, rFBS status moves).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ItemResult {
    #[serde(default, deserialize_with = "de::text")]
    pub posting_number: String,
    #[serde(default)]
    pub result: bool,
    #[serde(default, deserialize_with = "de::error_text")]
    pub error: String,
}

/// `/v1/report/postings/create` result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReportCode {
    pub code: String,
}

/// `/v1/report/info` result. `status`: `waiting`, `processing`, `success` or `failed`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReportInfo {
    #[serde(default, deserialize_with = "de::text")]
    pub code: String,
    #[serde(default, deserialize_with = "de::text")]
    pub status: String,
    #[serde(default, deserialize_with = "de::text")]
    pub error: String,
    #[serde(default, deserialize_with = "de::text")]
    pub file: String,
    #[serde(default, deserialize_with = "de::text")]
    pub report_type: String,
}

/// `/v1/chat/start` result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatStarted {
    #[serde(deserialize_with = "de::text")]
    pub chat_id: String,
}

/// Ozon's error body: `{"code", "message", "details"}` with a gRPC code.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub code: i64,
    #[serde(default, deserialize_with = "de::text")]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_arrive_as_numbers_or_numeric_strings() {
        let a: DeliveryMethodRef =
            serde_json::from_str(r#"{"id": 1020000123456000, "warehouse_id": "22001234560000"}"#)
                .unwrap();
        assert_eq!(a.id, Some(1_020_000_123_456_000));
        assert_eq!(a.warehouse_id, Some(22_001_234_560_000));
    }

    #[test]
    fn item_errors_arrive_as_strings_or_empty_lists() {
        let a: ItemResult =
            serde_json::from_str(r#"{"posting_number":"1-1-1","result":true,"error":[]}"#).unwrap();
        assert_eq!(a.error, "");
        let b: ItemResult = serde_json::from_str(
            r#"{"posting_number":"1-1-1","result":false,"error":"POSTING_NOT_FOUND"}"#,
        )
        .unwrap();
        assert_eq!(b.error, "POSTING_NOT_FOUND");
    }

    #[test]
    fn unset_times_arrive_as_null_or_empty_and_far_future_sentinels_parse() {
        let p: FbsPosting = serde_json::from_str(
            r#"{"posting_number":"1-1-1","in_process_at":"","delivering_date":null,
                "shipment_date":"9999-12-31T23:59:59.999999900Z"}"#,
        )
        .unwrap();
        assert_eq!(p.in_process_at, None);
        assert_eq!(p.delivering_date, None);
        assert!(p.shipment_date.is_some());
    }

    #[test]
    fn prices_arrive_as_text_or_amount_objects() {
        let v3: Product =
            serde_json::from_str(r#"{"price":"1290.0000","currency_code":"RUB"}"#).unwrap();
        assert_eq!(v3.price, ("1290.0000".into(), None));
        let v4: Product =
            serde_json::from_str(r#"{"price":{"amount":"1290","currency":"CNY"}}"#).unwrap();
        assert_eq!(v4.price, ("1290".into(), Some("CNY".into())));
    }
}
