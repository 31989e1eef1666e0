//! The HTTP client plumbing every outside API shares: Ozon, the carriers and the notification
//! channels. One TLS set-up and user agent ([`client`]), rate limits as servers count them
//! ([`limit`]), retries with backoff that honour `Retry-After` and server hints ([`retry`]),
//! and the reading of what came back: a status's class ([`Class`]), `Retry-After`
//! ([`retry_after`]) and transport failures without noise ([`transport_reason`]); and
//! [`lenient`], the decoding policy every decoder of an outside body follows.
//!
//! Nothing here knows any API's body: each client decides what an answer means for itself.

pub mod lenient;
pub mod limit;
pub mod retry;

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

pub use limit::{Limiters, Permit, RateLimiter, SharedLimit, SlotFuture};
pub use retry::RetryPolicy;

/// Builds the HTTP client every outside API shares: rustls with the ring provider (the one sqlx
/// already builds), a whole-request timeout and a shorter connect timeout.
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    client_builder(timeout).build()
}

/// The same client, for a caller that sets more (the notification channels refuse redirects).
pub fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    // Installing twice fails harmlessly: the first provider stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("ozontrack/", env!("CARGO_PKG_VERSION")))
}

/// What an HTTP status says about trying again, before any body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 2xx.
    Success,
    /// 429: too many requests; the server did nothing and says when to come back (maybe).
    RateLimited,
    /// 5xx or 408: the server or the way to it failed; the request may or may not have acted.
    Transient,
    /// Any other 4xx: the server refused this request; the same request will be refused again.
    Refused,
}

impl Class {
    pub fn of(status: StatusCode) -> Self {
        if status.is_success() {
            Class::Success
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            Class::RateLimited
        } else if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            Class::Transient
        } else {
            Class::Refused
        }
    }
}

/// A `Retry-After` given in seconds, capped at two minutes.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = text.trim().parse().ok()?;
    Duration::try_from_secs_f64(seconds.min(120.0)).ok()
}

/// A transport error (no answer, or an answer cut off) without the URL, which is the same for
/// every call and clutters logs; the innermost cause says what really happened.
pub fn transport_reason(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the response broke off"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn statuses_fall_into_what_they_mean_for_a_retry() {
        assert_eq!(Class::of(StatusCode::OK), Class::Success);
        assert_eq!(Class::of(StatusCode::TOO_MANY_REQUESTS), Class::RateLimited);
        assert_eq!(Class::of(StatusCode::BAD_GATEWAY), Class::Transient);
        assert_eq!(Class::of(StatusCode::REQUEST_TIMEOUT), Class::Transient);
        assert_eq!(Class::of(StatusCode::NOT_FOUND), Class::Refused);
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1.5"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("86400"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(120)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
