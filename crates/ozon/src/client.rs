//! [`OzonClient`]: one seller account's calls to the Seller API, through the account's shared
//! rate limiter, with retries for reads only. Base URL, timeouts and limits are configuration;
//! nothing here knows whether it talks to Ozon or to the sandbox.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use ozontrack_domain::{ClientId, PostingNumber, TrackingNumber};
use ozontrack_http::{Class, RateLimiter, RetryPolicy, retry_after, transport_reason};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Value, json};

use crate::wire::{
    self, ChatStarted, CursorPage, DeliveryMethodInfo, Envelope, ErrorBody, FboPosting, FbsPosting,
    Ignored, ItemResult, ItemResults, Page, Readable, ReportCode, ReportInfo, Warehouse,
};

/// How a client behaves on the wire.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Give up on one request after this long.
    pub timeout: Duration,
    /// Attempts of a read before its error is returned (1 = no retry).
    pub read_attempts: u32,
    /// First backoff after a failed read; doubled each time up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            read_attempts: 8,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// What a call to Ozon can end in.
#[derive(Debug, thiserror::Error)]
pub enum OzonError {
    /// The key is wrong, deactivated, restricted or lacks the method's role. Never retried:
    /// the seller has to act.
    #[error("Ozon refused the API key of store {store:?} (HTTP {status}): {message}")]
    Auth {
        store: String,
        status: u16,
        message: String,
    },
    /// Still rate limited after every retry.
    #[error("Ozon kept answering 429 (rate limit) to {method} for store {store:?}")]
    RateLimited { store: String, method: &'static str },
    /// Ozon (or the way to it) failed: 5xx, timeout, connection error, an unreadable body.
    #[error("{method} failed for store {store:?}: {reason}")]
    Unavailable {
        store: String,
        method: &'static str,
        reason: String,
    },
    /// Ozon refused the request itself (4xx other than auth and 429).
    #[error("Ozon refused {method} for store {store:?} (HTTP {status}, code {code}): {message}")]
    Rejected {
        store: String,
        method: &'static str,
        status: u16,
        code: i64,
        message: String,
    },
}

impl OzonError {
    /// A transient failure worth trying again later (as opposed to a refusal).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            OzonError::RateLimited { .. } | OzonError::Unavailable { .. }
        )
    }

    /// Ozon says the posting does not exist (or is not this seller's).
    pub fn is_not_found(&self) -> bool {
        matches!(self, OzonError::Rejected { status: 404, .. })
            || matches!(self, OzonError::Rejected { message, .. } if message.contains("NOT_FOUND"))
    }
}

/// Whether a call may be repeated after a failure that might have reached Ozon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Read-only (Ozon's lists are POST but change nothing): retried on 429, 5xx, timeouts and
    /// unreadable bodies.
    Read,
    /// Changes something at Ozon: retried only on 429, which Ozon answers before doing anything.
    Write,
}

/// The filter of a posting list: order time window, optionally only postings whose status
/// changed in a window, or only the named postings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListFilter {
    pub since: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub changed_from: Option<DateTime<Utc>>,
    pub changed_to: Option<DateTime<Utc>>,
    pub posting_numbers: Vec<String>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl ListFilter {
    fn to_json(&self) -> Value {
        let mut filter = json!({"since": time(self.since), "to": time(self.to)});
        if self.changed_from.is_some() || self.changed_to.is_some() {
            filter["last_changed_status_date"] = json!({
                "from": self.changed_from.map(time),
                "to": self.changed_to.map(time),
            });
        }
        if !self.posting_numbers.is_empty() {
            filter["posting_numbers"] = json!(self.posting_numbers);
        }
        filter
    }
}

/// The most postings one list page may hold (v4 FBS and v3 FBO lists).
pub const PAGE_LIMIT: u32 = 100;
/// The most tracking numbers one `/v2/fbs/posting/tracking-number/set` call takes.
pub const TRACKING_BATCH: usize = 20;

/// One seller account's Seller API client.
#[derive(Debug, Clone)]
pub struct OzonClient {
    http: reqwest::Client,
    base_url: String,
    client_id: ClientId,
    api_key: SecretString,
    store: String,
    limiter: Arc<RateLimiter>,
    settings: ClientSettings,
}

impl OzonClient {
    /// `store` names the account in errors; `limiter` is the account's shared limiter.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        client_id: ClientId,
        api_key: SecretString,
        store: &str,
        limiter: Arc<RateLimiter>,
        settings: ClientSettings,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            client_id,
            api_key,
            store: store.to_owned(),
            limiter,
            settings,
        }
    }

    /// The store this client calls for, as errors name it.
    pub fn store_name(&self) -> &str {
        &self.store
    }

    /// One page of FBS/rFBS postings (`/v4/posting/fbs/list`).
    pub async fn fbs_list(
        &self,
        filter: &ListFilter,
        cursor: &str,
    ) -> Result<Page<FbsPosting>, OzonError> {
        let body = json!({
            "cursor": cursor,
            "filter": filter.to_json(),
            "limit": PAGE_LIMIT,
            "sort_dir": "ASC",
            "translit": false,
            "with": {"analytics_data": true, "barcodes": false, "financial_data": false, "legal_info": false},
        });
        self.call("/v4/posting/fbs/list", &body, Kind::Read).await
    }

    /// One FBS/rFBS posting in full (`/v3/posting/fbs/get`); `None` when Ozon's answer holds
    /// no readable posting.
    pub async fn fbs_get(&self, number: &PostingNumber) -> Result<Option<FbsPosting>, OzonError> {
        let body = json!({
            "posting_number": number.as_str(),
            "with": {"analytics_data": true, "barcodes": false, "financial_data": false,
                     "legal_info": false, "product_exemplars": false, "related_postings": false,
                     "translit": false},
        });
        let e: Envelope<FbsPosting> = self.call("/v3/posting/fbs/get", &body, Kind::Read).await?;
        Ok(e.result)
    }

    /// One page of FBO postings (`/v3/posting/fbo/list`).
    pub async fn fbo_list(
        &self,
        filter: &ListFilter,
        cursor: &str,
    ) -> Result<Page<FboPosting>, OzonError> {
        let mut filter_json = filter.to_json();
        // The FBO list has no status-change filter; callers ask by posting number instead.
        if let Some(f) = filter_json.as_object_mut() {
            f.remove("last_changed_status_date");
        }
        let body = json!({
            "cursor": cursor,
            "filter": filter_json,
            "limit": PAGE_LIMIT,
            "sort_dir": "ASC",
            "translit": false,
            "with": {"analytics_data": true, "financial_data": false, "legal_info": false},
        });
        self.call("/v3/posting/fbo/list", &body, Kind::Read).await
    }

    /// One FBO posting (`/v2/posting/fbo/get`); `None` when Ozon's answer holds no readable
    /// posting.
    pub async fn fbo_get(&self, number: &PostingNumber) -> Result<Option<FboPosting>, OzonError> {
        let body = json!({
            "posting_number": number.as_str(),
            "translit": false,
            "with": {"analytics_data": true, "financial_data": false, "legal_info": false},
        });
        let e: Envelope<FboPosting> = self.call("/v2/posting/fbo/get", &body, Kind::Read).await?;
        Ok(e.result)
    }

    /// The account's delivery methods (`/v2/delivery-method/list`), every page.
    pub async fn delivery_methods(&self) -> Result<Vec<DeliveryMethodInfo>, OzonError> {
        let mut all = Vec::new();
        let body = |cursor: &str| json!({"cursor": cursor, "filter": {}, "limit": 50});
        self.every_page(
            "/v2/delivery-method/list",
            body,
            |page: CursorPage<DeliveryMethodInfo>| {
                all.extend(page.items);
                (page.cursor, page.has_next)
            },
        )
        .await?;
        Ok(all)
    }

    /// The account's warehouses (`/v2/warehouse/list`), every page.
    pub async fn warehouses(&self) -> Result<Vec<Warehouse>, OzonError> {
        let mut all = Vec::new();
        let body = |cursor: &str| json!({"cursor": cursor, "limit": 100});
        self.every_page("/v2/warehouse/list", body, |page: CursorPage<Warehouse>| {
            all.extend(page.items);
            (page.cursor, page.has_next)
        })
        .await?;
        Ok(all)
    }

    /// Walks a cursor-paged read method to its end; `take` keeps a page's items and returns
    /// (next cursor, has next).
    async fn every_page<P: Readable>(
        &self,
        method: &'static str,
        body: impl Fn(&str) -> Value,
        mut take: impl FnMut(P) -> (String, bool),
    ) -> Result<(), OzonError> {
        let mut cursor = String::new();
        loop {
            let page: P = self.call(method, &body(&cursor), Kind::Read).await?;
            let (next, has_next) = take(page);
            if !has_next || next.is_empty() || next == cursor {
                return Ok(());
            }
            cursor = next;
        }
    }

    /// Sets tracking numbers, at most [`TRACKING_BATCH`] per call; one result per pair.
    pub async fn set_tracking_numbers(
        &self,
        pairs: &[(PostingNumber, TrackingNumber)],
    ) -> Result<Vec<ItemResult>, OzonError> {
        let items: Vec<Value> = pairs
            .iter()
            .map(|(p, t)| json!({"posting_number": p.as_str(), "tracking_number": t.as_str()}))
            .collect();
        let body = json!({"tracking_numbers": items});
        let results: ItemResults = self
            .call("/v2/fbs/posting/tracking-number/set", &body, Kind::Write)
            .await?;
        Ok(results.0)
    }

    /// Moves rFBS postings to "delivering".
    pub async fn move_delivering(
        &self,
        numbers: &[PostingNumber],
    ) -> Result<Vec<ItemResult>, OzonError> {
        self.move_postings("/v2/fbs/posting/delivering", numbers)
            .await
    }

    /// Moves rFBS postings to "last mile" (courier on the way).
    pub async fn move_last_mile(
        &self,
        numbers: &[PostingNumber],
    ) -> Result<Vec<ItemResult>, OzonError> {
        self.move_postings("/v2/fbs/posting/last-mile", numbers)
            .await
    }

    /// Moves rFBS postings to "delivered".
    pub async fn move_delivered(
        &self,
        numbers: &[PostingNumber],
    ) -> Result<Vec<ItemResult>, OzonError> {
        self.move_postings("/v2/fbs/posting/delivered", numbers)
            .await
    }

    async fn move_postings(
        &self,
        method: &'static str,
        numbers: &[PostingNumber],
    ) -> Result<Vec<ItemResult>, OzonError> {
        let numbers: Vec<&str> = numbers.iter().map(PostingNumber::as_str).collect();
        let body = json!({"posting_number": numbers});
        let results: ItemResults = self.call(method, &body, Kind::Write).await?;
        Ok(results.0)
    }

    /// Orders a postings report (`/v1/report/postings/create`) for one delivery schema.
    pub async fn create_postings_report(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        fbo: bool,
    ) -> Result<String, OzonError> {
        let body = json!({
            "filter": {"processed_at_from": time(from), "processed_at_to": time(to),
                       "delivery_schema": [if fbo { "fbo" } else { "fbs" }]},
            "language": "DEFAULT",
        });
        let e: Envelope<ReportCode> = self
            .call("/v1/report/postings/create", &body, Kind::Write)
            .await?;
        Ok(self.required(e.result, "/v1/report/postings/create")?.code)
    }

    /// A report's state (`/v1/report/info`).
    pub async fn report_info(&self, code: &str) -> Result<ReportInfo, OzonError> {
        let e: Envelope<ReportInfo> = self
            .call("/v1/report/info", &json!({"code": code}), Kind::Read)
            .await?;
        self.required(e.result, "/v1/report/info")
    }

    /// Opens a chat with a posting's buyer (`/v1/chat/start`); returns the chat id.
    pub async fn start_chat(&self, number: &PostingNumber) -> Result<String, OzonError> {
        let body = json!({"posting_number": number.as_str()});
        let e: Envelope<ChatStarted> = self.call("/v1/chat/start", &body, Kind::Write).await?;
        Ok(self.required(e.result, "/v1/chat/start")?.chat_id)
    }

    /// Sends a plain-text message (1 to 1000 characters) to a chat.
    pub async fn send_chat_message(&self, chat_id: &str, text: &str) -> Result<(), OzonError> {
        let body = json!({"chat_id": chat_id, "text": text});
        let _: Ignored = self
            .call("/v1/chat/send/message", &body, Kind::Write)
            .await?;
        Ok(())
    }

    /// The result a method cannot do without: its absence is an unreadable answer.
    fn required<T>(&self, result: Option<T>, method: &'static str) -> Result<T, OzonError> {
        result.ok_or_else(|| OzonError::Unavailable {
            store: self.store.clone(),
            method,
            reason: "the answer holds no readable result".into(),
        })
    }

    async fn call<Req: Serialize + ?Sized, Resp: Readable>(
        &self,
        method: &'static str,
        body: &Req,
        kind: Kind,
    ) -> Result<Resp, OzonError> {
        let policy = RetryPolicy {
            attempts: match kind {
                Kind::Read => self.settings.read_attempts.max(1),
                // A write is repeated only after a 429, which Ozon answers before acting.
                Kind::Write => 4,
            },
            backoff: self.settings.backoff,
            max_backoff: self.settings.max_backoff,
            jitter: false,
        };
        ozontrack_http::retry::retry(policy, || self.attempt(method, body, kind))
            .await
            .map_err(|failed| failed.error)
    }

    async fn attempt<Req: Serialize + ?Sized, Resp: Readable>(
        &self,
        method: &'static str,
        body: &Req,
        kind: Kind,
    ) -> Result<Resp, Failed> {
        let transient = |reason: String, after: Option<Duration>| Failed {
            // A read changes nothing, so it may be repeated after any failure; a write that
            // failed in transit may have acted, so it is not.
            retryable: kind == Kind::Read,
            after,
            error: OzonError::Unavailable {
                store: self.store.clone(),
                method,
                reason,
            },
        };
        let permit = self.limiter.acquire().await;
        let sent = self
            .http
            .post(format!("{}{method}", self.base_url))
            .header("Client-Id", self.client_id.to_string())
            .header("Api-Key", self.api_key.expose_secret())
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                drop(permit);
                return Err(transient(transport_reason(&e), None));
            }
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let bytes = response.bytes().await;
        drop(permit);
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => return Err(transient(transport_reason(&e), None)),
        };
        match Class::of(status) {
            Class::Success => {
                return match wire::decode::<Resp>(&bytes) {
                    Ok(decoded) => {
                        decoded.notes.count("ozon");
                        Ok(decoded.value)
                    }
                    // A cut or garbled body is a transport failure, not Ozon's answer.
                    Err(e) => Err(transient(format!("unreadable response body: {e}"), None)),
                };
            }
            Class::RateLimited => {
                return Err(Failed {
                    retryable: true,
                    // Ozon's documentation: honour Retry-After, else back off about a second.
                    after: Some(retry_after.unwrap_or(Duration::from_secs(1))),
                    error: OzonError::RateLimited {
                        store: self.store.clone(),
                        method,
                    },
                });
            }
            Class::Transient => {
                tracing::debug!(
                    method,
                    status = status.as_u16(),
                    "Ozon answered a transient failure"
                );
                return Err(transient(format!("HTTP {}", status.as_u16()), retry_after));
            }
            Class::Refused => {}
        }
        let error: ErrorBody = wire::decode::<ErrorBody>(&bytes)
            .ok()
            .map(|d| d.value)
            .filter(|e| e.code != 0 || !e.message.is_empty())
            .unwrap_or_else(|| ErrorBody {
                code: 0,
                message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            });
        let error = if is_auth_failure(status, &error) {
            OzonError::Auth {
                store: self.store.clone(),
                status: status.as_u16(),
                message: error.message,
            }
        } else {
            OzonError::Rejected {
                store: self.store.clone(),
                method,
                status: status.as_u16(),
                code: error.code,
                message: error.message,
            }
        };
        Err(Failed {
            retryable: false,
            after: None,
            error,
        })
    }
}

/// A failed attempt: the error it ends in if it is the last, and whether to try again.
struct Failed {
    error: OzonError,
    retryable: bool,
    /// The wait Ozon asked for.
    after: Option<Duration>,
}

impl ozontrack_http::retry::Retry for Failed {
    fn retryable(&self) -> bool {
        self.retryable
    }

    fn retry_after(&self) -> Option<Duration> {
        self.after
    }
}

/// Ozon answers a bad key with 401, 403 or even 404; the gRPC code and the message tell.
fn is_auth_failure(status: StatusCode, error: &ErrorBody) -> bool {
    let message = error.message.to_ascii_lowercase();
    status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || error.code == 16
        || error.code == 7
        || message.contains("api-key")
        || message.contains("client-id")
}
