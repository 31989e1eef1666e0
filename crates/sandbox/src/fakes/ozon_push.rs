//! Ozon's push notifications, sent by the fake to a configured URL as the simulated world
//! changes: `TYPE_NEW_POSTING`, `TYPE_STATE_CHANGED`, `TYPE_POSTING_CANCELLED`,
//! `TYPE_DELIVERY_DATE_CHANGED` and their FBO variants, plus `TYPE_PING`
//! (`ozon-seller-api.md` §8).
//!
//! Delivery follows Ozon's documented behaviour: a push counts as delivered only on HTTP 200
//! with `{"result": true}`; otherwise it is retried at growing intervals up to ten minutes,
//! then five more times ten minutes apart, then dropped.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{SimState, time};
use crate::world::{FailureKind, Mode, Parcel};

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct OzonPushConfig {
    pub url: String,
    /// The first retry interval; later ones grow from it (Ozon: a few seconds).
    pub retry_base: Duration,
}

#[derive(Debug)]
struct Pending {
    body: String,
    attempts: u32,
    due: Instant,
}

#[derive(Debug, Default)]
struct PushState {
    /// Simulated time up to which changes have been turned into messages.
    scanned_to: Option<DateTime<Utc>>,
    queue: Vec<Pending>,
}

/// What one round of pushing did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushReport {
    pub delivered: usize,
    pub failed: usize,
    pub dropped: usize,
}

/// The pusher; `push_once` is driven by a loop (or by a test, step by step).
#[derive(Debug)]
pub struct OzonPush {
    sim: Arc<SimState>,
    config: OzonPushConfig,
    state: Mutex<PushState>,
}

/// After this many failed attempts a message is dropped: 6 growing, then 5 at the cap.
const MAX_ATTEMPTS: u32 = 11;

impl OzonPush {
    pub fn new(sim: Arc<SimState>, config: OzonPushConfig) -> Arc<Self> {
        Arc::new(Self {
            sim,
            config,
            state: Mutex::new(PushState::default()),
        })
    }

    /// Sends `TYPE_PING` as Ozon does when a URL is registered, and checks the answer has the
    /// required `version`, `name` and `time`.
    pub async fn ping(&self, client: &reqwest::Client) -> Result<Value, String> {
        let body = json!({"message_type": "TYPE_PING", "time": time(self.sim.now())});
        let response = client
            .post(&self.config.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!("STATUS_CODE_NOT_OK: {}", response.status()));
        }
        let answer: Value = response
            .json()
            .await
            .map_err(|_| "INVALID_JSON".to_owned())?;
        for field in ["version", "name", "time"] {
            if !answer[field].is_string() {
                return Err(format!("WRONG_RESULT_FIELD: {field} missing"));
            }
        }
        if answer["time"]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
            .is_none()
        {
            return Err("WRONG_RESULT_TIME_FIELD".to_owned());
        }
        Ok(answer)
    }

    /// Turns what changed since the last round into messages, then sends every message that
    /// is due. The first round only sets the starting point: Ozon pushes news, not history.
    /// Due messages leave the queue while they are sent, so concurrent rounds never send the
    /// same message twice.
    pub async fn push_once(&self, client: &reqwest::Client) -> PushReport {
        let now = self.sim.now();
        let due: Vec<Pending> = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let instant = Instant::now();
            match state.scanned_to {
                Some(from) if from < now => {
                    let fresh = messages(&self.sim, from, now);
                    state.queue.extend(fresh.into_iter().map(|body| Pending {
                        body,
                        attempts: 0,
                        due: instant,
                    }));
                    state.scanned_to = Some(now);
                }
                Some(_) => {}
                None => state.scanned_to = Some(now),
            }
            let (due, later) = std::mem::take(&mut state.queue)
                .into_iter()
                .partition(|p| p.due <= instant);
            state.queue = later;
            due
        };
        let mut report = PushReport::default();
        let mut retry = Vec::new();
        for mut pending in due {
            if self.deliver(client, pending.body.clone()).await {
                report.delivered += 1;
                continue;
            }
            pending.attempts += 1;
            if pending.attempts >= MAX_ATTEMPTS {
                report.dropped += 1;
            } else {
                report.failed += 1;
                pending.due = Instant::now() + self.retry_after(pending.attempts);
                retry.push(pending);
            }
        }
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .queue
            .extend(retry);
        report
    }

    /// Messages waiting for delivery or a retry.
    pub fn pending(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .queue
            .len()
    }

    /// 1, 3, 9, 27, 81 × base, capped at 120 × base (ten minutes for a 5 s base).
    fn retry_after(&self, attempts: u32) -> Duration {
        let factor = 3u32.saturating_pow(attempts.saturating_sub(1)).min(120);
        self.config.retry_base.saturating_mul(factor)
    }

    async fn deliver(&self, client: &reqwest::Client, body: String) -> bool {
        let sent = client
            .post(&self.config.url)
            .header("content-type", "application/json")
            .timeout(Duration::from_secs(5))
            .body(body)
            .send()
            .await;
        let Ok(response) = sent else { return false };
        if response.status() != reqwest::StatusCode::OK {
            return false;
        }
        response
            .json::<Value>()
            .await
            .is_ok_and(|answer| answer["result"] == true)
    }
}

/// Every message for changes in `(from, to]`, in time order.
fn messages(sim: &SimState, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let mut timed: Vec<(DateTime<Utc>, Value)> = Vec::new();
    let window = sim.window();
    for p in window.parcels() {
        let seller_id = sim.world.stores[p.store].client_id;
        let warehouse_id = sim.world.warehouses[p.warehouse].id;
        let within = |t: DateTime<Utc>| from < t && t <= to;
        if within(p.appears_at) {
            timed.push((p.appears_at, new_posting(sim, p, seller_id, warehouse_id)));
        }
        for (i, step) in p.ozon.iter().enumerate().skip(1) {
            // A change before the posting appeared is part of what the new-posting push says.
            let at = step.at.max(p.appears_at);
            if !within(at) || (at == p.appears_at && step.at < p.appears_at) {
                continue;
            }
            let previous = p.ozon[i - 1].substatus;
            let message = match (p.mode, step.status) {
                (Mode::Fbo, "cancelled") => {
                    json!({"message_type": "TYPE_FBO_POSTING_CANCELLED", "posting_number": p.posting_number,
                    "order_number": p.order_number(), "uuid": uuid(p), "products": products(p, false), "old_state": previous,
                    "new_state": step.substatus, "cancel_date": time(at), "reason": {"id": 352, "message": "Покупатель отказался от заказа"},
                    "warehouse_id": warehouse_id, "seller_id": seller_id})
                }
                (Mode::Fbo, _) => {
                    json!({"message_type": "TYPE_FBO_POSTING_STATE_CHANGED", "posting_number": p.posting_number,
                    "order_number": p.order_number(), "uuid": uuid(p), "new_state": step.substatus, "changed_state_date": time(at),
                    "warehouse_id": warehouse_id, "seller_id": seller_id})
                }
                (_, "cancelled") => {
                    json!({"message_type": "TYPE_POSTING_CANCELLED", "posting_number": p.posting_number,
                    "products": products(p, false), "old_state": previous, "new_state": "posting_canceled",
                    "changed_state_date": time(at), "reason": {"id": 352, "message": "Покупатель отказался от заказа"},
                    "warehouse_id": warehouse_id, "seller_id": seller_id})
                }
                _ => {
                    json!({"message_type": "TYPE_STATE_CHANGED", "posting_number": p.posting_number,
                    "new_state": step.substatus, "changed_state_date": time(at), "warehouse_id": warehouse_id, "seller_id": seller_id})
                }
            };
            timed.push((at, message));
        }
        // Ozon moves the promised date when a parcel is held up for two days.
        for failure in p
            .failures
            .iter()
            .filter(|f| matches!(f.kind, FailureKind::Stall | FailureKind::CustomsHold))
        {
            let at = failure.started_at + super::ozon::PROMISE_MOVED_AFTER;
            if within(at) && at >= p.appears_at {
                let (begin, end) = super::ozon::promised_window(p);
                let shift = super::ozon::PROMISE_MOVED_BY;
                timed.push((at, json!({"message_type": "TYPE_DELIVERY_DATE_CHANGED", "posting_number": p.posting_number,
                    "new_delivery_date_begin": time(begin + shift), "new_delivery_date_end": time(end + shift),
                    "old_delivery_date_begin": time(begin), "old_delivery_date_end": time(end),
                    "warehouse_id": warehouse_id, "seller_id": seller_id})));
            }
        }
    }
    timed.sort_by_key(|(at, _)| *at);
    timed
        .into_iter()
        .map(|(_, message)| message.to_string())
        .collect()
}

fn new_posting(sim: &SimState, p: &Parcel, seller_id: u64, warehouse_id: i64) -> Value {
    if p.mode == Mode::Fbo {
        return json!({"message_type": "TYPE_FBO_POSTING_NEW", "posting_number": p.posting_number, "order_number": p.order_number(),
            "uuid": uuid(p), "products": products(p, false), "creation_date": time(p.ordered_at),
            "warehouse_id": warehouse_id, "seller_id": seller_id});
    }
    let method = &sim.world.delivery_methods[p.delivery_method];
    let (begin, end) = super::ozon::promised_window(p);
    json!({"message_type": "TYPE_NEW_POSTING", "posting_number": p.posting_number, "products": products(p, true),
        "in_process_at": time(p.ordered_at), "warehouse_id": warehouse_id, "shipment_date": time(p.ship_by),
        "tpl_integration_type": method.integration, "is_express": false, "tracking_number": p.tracking_number_at(p.appears_at),
        "delivery_date_begin": time(begin), "delivery_date_end": time(end), "seller_id": seller_id})
}

fn products(p: &Parcel, with_offer: bool) -> Vec<Value> {
    p.products
        .iter()
        .map(|pr| {
            if with_offer {
                json!({"sku": pr.sku, "offer_id": pr.offer_id, "quantity": pr.quantity})
            } else {
                json!({"sku": pr.sku, "quantity": pr.quantity})
            }
        })
        .collect()
}

fn uuid(p: &Parcel) -> String {
    format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        p.index, p.store, p.order_id
    )
}
