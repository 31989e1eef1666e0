//! Fault injection for the fakes, from configuration: a share of requests fails with a 5xx,
//! is throttled with a 429, hangs and then times out, or gets a truncated body, and every response can be slowed. Which
//! request suffers is drawn from a seeded stream, so a run can be repeated exactly. A run can
//! calm every fake at once ([`Calm`]), to read the world's state without faults at its end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::rng::Rng;

/// What can go wrong with one fake. Rates are shares of requests, from 0 to 1.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Answered with 500, 502 or 503.
    pub error_rate: f64,
    /// Hang for `hang_ms`, then 504.
    pub timeout_rate: f64,
    /// Answered with 429 and `Retry-After: 1`, as a service shedding load does whatever the
    /// client's own rate.
    pub throttle_rate: f64,
    /// The real answer, cut in half (invalid JSON or XML).
    pub malformed_rate: f64,
    /// Added to every response.
    pub slow_ms: u64,
    /// How long a timed-out request hangs (clients should give up first).
    pub hang_ms: u64,
}

impl Faults {
    pub fn is_none(&self) -> bool {
        *self == Faults::default()
    }
}

/// Faults for each fake.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPlan {
    pub ozon: Faults,
    #[serde(rename = "17track")]
    pub seventeen_track: Faults,
    pub russian_post: Faults,
    pub cdek: Faults,
    /// The notification services' fakes (robots, bots, webhook receivers).
    pub channels: Faults,
    /// Seed of the stream that picks the requests that fail.
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Fine,
    Error(u16),
    Throttled,
    Timeout,
    Malformed,
}

/// A switch shared by the fakes' fault layers: once calmed, every request is answered as asked.
#[derive(Debug, Clone, Default)]
pub struct Calm(Arc<AtomicBool>);

impl Calm {
    pub fn calm(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_calm(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Shared state of one fake's fault layer.
#[derive(Debug)]
pub struct FaultState {
    faults: Faults,
    seed: u64,
    stream: u64,
    requests: AtomicU64,
    calm: Calm,
}

impl FaultState {
    /// `stream` tells fakes apart so that each has its own sequence of fates.
    pub fn new(faults: Faults, seed: u64, stream: u64) -> Arc<Self> {
        Self::calmed_by(faults, seed, stream, Calm::default())
    }

    /// Like [`FaultState::new`], quiet once `calm` is.
    pub fn calmed_by(faults: Faults, seed: u64, stream: u64, calm: Calm) -> Arc<Self> {
        Arc::new(Self {
            faults,
            seed,
            stream,
            requests: AtomicU64::new(0),
            calm,
        })
    }

    fn fate(&self) -> Fate {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let mut rng = Rng::for_item(self.seed, 100 + self.stream, n);
        let roll = rng.unit();
        let f = &self.faults;
        if roll < f.error_rate {
            Fate::Error(*rng.pick(&[500, 502, 503]))
        } else if roll < f.error_rate + f.timeout_rate {
            Fate::Timeout
        } else if roll < f.error_rate + f.timeout_rate + f.malformed_rate {
            Fate::Malformed
        } else if roll < f.error_rate + f.timeout_rate + f.malformed_rate + f.throttle_rate {
            Fate::Throttled
        } else {
            Fate::Fine
        }
    }
}

/// The middleware: apply with `axum::middleware::from_fn_with_state`.
pub async fn inject(
    State(state): State<Arc<FaultState>>,
    request: Request,
    next: Next,
) -> Response {
    if state.calm.is_calm() {
        return next.run(request).await;
    }
    if state.faults.slow_ms > 0 {
        tokio::time::sleep(Duration::from_millis(state.faults.slow_ms)).await;
    }
    match state.fate() {
        Fate::Fine => next.run(request).await,
        Fate::Error(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, "Internal error").into_response()
        }
        Fate::Throttled => (
            StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::RETRY_AFTER, "1")],
            "Too Many Requests",
        )
            .into_response(),
        Fate::Timeout => {
            tokio::time::sleep(Duration::from_millis(state.faults.hang_ms)).await;
            (StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout").into_response()
        }
        Fate::Malformed => {
            let response = next.run(request).await;
            let (parts, body) = response.into_parts();
            let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
            let cut = bytes.slice(..bytes.len() / 2);
            let mut parts = parts;
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(cut))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fates_follow_the_configured_rates_and_repeat_for_a_seed() {
        let faults = Faults {
            error_rate: 0.1,
            timeout_rate: 0.05,
            malformed_rate: 0.05,
            throttle_rate: 0.05,
            ..Faults::default()
        };
        let state = FaultState::new(faults.clone(), 9, 1);
        let fates: Vec<Fate> = (0..10_000).map(|_| state.fate()).collect();
        let share = |f: fn(&Fate) -> bool| fates.iter().filter(|x| f(x)).count() as f64 / 10_000.0;
        assert!((share(|f| matches!(f, Fate::Error(_))) - 0.1).abs() < 0.02);
        assert!((share(|f| *f == Fate::Timeout) - 0.05).abs() < 0.015);
        assert!((share(|f| *f == Fate::Malformed) - 0.05).abs() < 0.015);
        assert!((share(|f| *f == Fate::Throttled) - 0.05).abs() < 0.015);
        let again = FaultState::new(faults, 9, 1);
        assert!(fates.iter().all(|f| *f == again.fate()));
    }

    #[tokio::test]
    async fn calmed_fakes_answer_every_request_as_asked() {
        use tower::ServiceExt as _;
        let calm = Calm::default();
        let always = Faults {
            error_rate: 1.0,
            ..Faults::default()
        };
        let state = FaultState::calmed_by(always, 1, 1, calm.clone());
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "fine" }))
            .layer(axum::middleware::from_fn_with_state(state, inject));
        let ask = || {
            app.clone()
                .oneshot(Request::get("/").body(Body::empty()).unwrap())
        };
        assert!(ask().await.unwrap().status().is_server_error());
        calm.calm();
        assert_eq!(ask().await.unwrap().status(), StatusCode::OK);
    }

    #[test]
    fn no_faults_means_every_request_is_fine() {
        let state = FaultState::new(Faults::default(), 1, 1);
        assert!((0..1000).all(|_| state.fate() == Fate::Fine));
        assert!(Faults::default().is_none());
    }
}
