//! Ozon's push notifications (`ozon-seller-api.md` §8): the payloads ozontrack acts on, the
//! key that makes a retried delivery the same message, and the exact replies Ozon requires.
//! A push is a hint that a posting changed; the API stays the truth.

use chrono::{DateTime, SecondsFormat, Utc};
use ozontrack_http::lenient::{self, Notes};
use serde_json::{Value, json};

/// What a push asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushAction {
    /// `TYPE_PING`: answer with our name, version and time.
    Ping,
    /// A posting changed: fetch it again (FBO postings through the FBO method).
    Refetch { posting_number: String, fbo: bool },
    /// A type we acknowledge and do nothing with (chats, stocks, orders, new types).
    Ignore,
}

/// One push message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    pub message_type: String,
    pub action: PushAction,
    /// The new state, for the log and the de-duplication key.
    pub new_state: String,
    /// When Ozon says the change happened, when it says.
    pub changed_at: Option<DateTime<Utc>>,
    pub uuid: String,
    pub seller_id: Option<i64>,
}

/// Why a push body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("the body is not JSON: {0}")]
    Json(String),
    #[error("message_type is missing")]
    NoType,
    #[error("{0} without posting_number")]
    NoPosting(String),
}

impl PushError {
    /// The error code Ozon's push documentation lists for this failure.
    pub fn code(&self) -> &'static str {
        match self {
            PushError::Json(_) => "ERROR_UNKNOWN",
            PushError::NoType | PushError::NoPosting(_) => "ERROR_PARAMETER_VALUE_MISSED",
        }
    }

    /// The documented error body: `{"error": {"code", "message", "details": null}}`.
    pub fn body(&self) -> Value {
        json!({"error": {"code": self.code(), "message": self.to_string(), "details": null}})
    }
}

const POSTING_TYPES: &[&str] = &[
    "TYPE_NEW_POSTING",
    "TYPE_POSTING_CANCELLED",
    "TYPE_STATE_CHANGED",
    "TYPE_CUTOFF_DATE_CHANGED",
    "TYPE_DELIVERY_DATE_CHANGED",
];

const FBO_TYPES: &[&str] = &[
    "TYPE_FBO_POSTING_NEW",
    "TYPE_FBO_POSTING_CANCELLED",
    "TYPE_FBO_POSTING_STATE_CHANGED",
    "TYPE_FBO_POSTING_DELIVERY_DATE_CHANGED",
];

/// Reads a push body (its degraded fields are counted, as every decoder's are).
pub fn parse(body: &[u8]) -> Result<PushMessage, PushError> {
    let (message, notes) = parse_noted(body)?;
    notes.count("ozon-push");
    Ok(message)
}

/// [`parse`], with what had to be tolerated in the body (for `ozontrack decode`).
pub fn parse_noted(body: &[u8]) -> Result<(PushMessage, Notes), PushError> {
    let decoded = lenient::decode(body, |o| {
        let message_type = o.text("message_type").trim().to_owned();
        if message_type.is_empty() {
            return Err(PushError::NoType);
        }
        let fbo = FBO_TYPES.contains(&message_type.as_str());
        let action = if message_type == "TYPE_PING" {
            PushAction::Ping
        } else if fbo || POSTING_TYPES.contains(&message_type.as_str()) {
            let posting_number = o
                .required("posting_number")
                .map_err(|_| PushError::NoPosting(message_type.clone()))?;
            PushAction::Refetch {
                posting_number,
                fbo,
            }
        } else {
            PushAction::Ignore
        };
        let changed_at = [
            "changed_state_date",
            "cancel_date",
            "creation_date",
            "in_process_at",
            "time",
        ]
        .iter()
        .find_map(|key| o.time(key));
        Ok(PushMessage {
            message_type,
            action,
            new_state: o.text("new_state"),
            changed_at,
            uuid: o.text("uuid"),
            seller_id: o.id("seller_id"),
        })
    })
    .map_err(|e| PushError::Json(e.to_string()))?;
    Ok((decoded.value?, decoded.notes))
}

impl PushMessage {
    /// The same message delivered again has the same key: Ozon's `uuid` where it sends one,
    /// else (type, posting, new state, change time) as the reference advises.
    pub fn dedupe_key(&self) -> String {
        if !self.uuid.is_empty() {
            return format!("uuid:{}", self.uuid);
        }
        let posting = match &self.action {
            PushAction::Refetch { posting_number, .. } => posting_number.as_str(),
            PushAction::Ping | PushAction::Ignore => "",
        };
        let changed = self
            .changed_at
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
            .unwrap_or_default();
        format!(
            "{}:{posting}:{}:{changed}",
            self.message_type, self.new_state
        )
    }
}

/// The reply to `TYPE_PING`: `{"version", "name", "time"}`, time in UTC.
pub fn ping_reply(name: &str, version: &str, now: DateTime<Utc>) -> Value {
    json!({
        "version": version,
        "name": name,
        "time": now.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

/// The reply to every other accepted message.
pub fn ack() -> Value {
    json!({"result": true})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_change_asks_for_a_refetch_of_its_posting() {
        let m = parse(
            br#"{"message_type": "TYPE_STATE_CHANGED", "posting_number": "58203117-0007-1",
                 "new_state": "posting_delivered", "changed_state_date": "2026-06-17T11:20:05.112Z",
                 "warehouse_id": 22001234560000, "seller_id": 123456}"#,
        )
        .unwrap();
        assert_eq!(
            m.action,
            PushAction::Refetch {
                posting_number: "58203117-0007-1".into(),
                fbo: false
            }
        );
        assert_eq!(m.seller_id, Some(123_456));
        assert_eq!(
            m.dedupe_key(),
            "TYPE_STATE_CHANGED:58203117-0007-1:posting_delivered:2026-06-17T11:20:05.112000Z"
        );
    }

    #[test]
    fn fbo_messages_key_on_their_uuid_and_chat_messages_are_ignored() {
        let m = parse(
            br#"{"message_type":"TYPE_FBO_POSTING_STATE_CHANGED","posting_number":"1-2-3",
                 "uuid":"abc","seller_id":"7"}"#,
        )
        .unwrap();
        assert!(matches!(m.action, PushAction::Refetch { fbo: true, .. }));
        assert_eq!(m.dedupe_key(), "uuid:abc");
        let chat = parse(br#"{"message_type":"TYPE_NEW_MESSAGE","chat_id":"x"}"#).unwrap();
        assert_eq!(chat.action, PushAction::Ignore);
    }

    #[test]
    fn a_posting_message_without_a_posting_number_is_refused_with_the_documented_code() {
        let err = parse(br#"{"message_type":"TYPE_STATE_CHANGED"}"#).unwrap_err();
        assert_eq!(err.code(), "ERROR_PARAMETER_VALUE_MISSED");
        assert_eq!(err.body()["error"]["details"], Value::Null);
    }

    #[test]
    fn the_ping_reply_has_exactly_version_name_and_time() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let reply = ping_reply("ozontrack", "0.1.0", now);
        // Compared as JSON: key order is serde_json's business (a test dependency's
        // `preserve_order` feature changes it in workspace test builds).
        let expected: Value = serde_json::from_str(
            r#"{"name":"ozontrack","time":"2026-11-26T10:00:00.000Z","version":"0.1.0"}"#,
        )
        .unwrap();
        assert_eq!(reply, expected);
        assert_eq!(reply.as_object().unwrap().len(), 3);
    }
}
