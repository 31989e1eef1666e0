//! The per-Client-Id rate limiter: at most N requests in any one second *as Ozon counts them*.
//!
//! Ozon counts a request when it arrives, which is some time after we send it. A limiter that
//! paces sends (GCRA, as in `governor`) lets network jitter squeeze N+1 arrivals into one
//! second and earns a 429. Here a request holds its slot from before it is sent until one
//! second after its answer came back, which bounds the arrivals in every window of the
//! server's clock; the cost is one round-trip time per second of throughput.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Slots {
    in_flight: usize,
    /// When recently finished requests came back, oldest first.
    finished: VecDeque<Instant>,
}

/// At most `per_second` requests in any second, shared by every call for one Client-Id.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: usize,
    slots: Mutex<Slots>,
    freed: Notify,
}

impl RateLimiter {
    pub fn new(per_second: usize) -> Self {
        Self {
            per_second: per_second.max(1),
            slots: Mutex::new(Slots::default()),
            freed: Notify::new(),
        }
    }

    pub fn per_second(&self) -> usize {
        self.per_second
    }

    /// Waits for a slot; the slot is held until the returned permit is dropped plus a second.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let wait = {
                let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                while slots
                    .finished
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= WINDOW)
                {
                    slots.finished.pop_front();
                }
                if slots.in_flight + slots.finished.len() < self.per_second {
                    slots.in_flight += 1;
                    return Permit {
                        limiter: Arc::clone(self),
                    };
                }
                // Full: the oldest finished slot frees at a known time; in-flight ones free
                // some time after they finish, and say so through `freed`.
                slots
                    .finished
                    .front()
                    .map(|t| (*t + WINDOW).saturating_duration_since(now))
            };
            match wait {
                Some(wait) => {
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = self.freed.notified() => {}
                    }
                }
                None => self.freed.notified().await,
            }
        }
    }
}

/// A request's hold on a slot.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<RateLimiter>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut slots = self
            .limiter
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        slots.in_flight -= 1;
        slots.finished.push_back(Instant::now());
        drop(slots);
        self.limiter.freed.notify_waiters();
    }
}

/// One limiter per Client-Id for the whole process, so that every client of one seller account
/// shares its budget.
#[derive(Debug, Default, Clone)]
pub struct Limiters {
    by_client: Arc<Mutex<HashMap<u64, Arc<RateLimiter>>>>,
}

impl Limiters {
    /// The limiter of `client_id`, created at `per_second` on first use.
    pub fn for_client(&self, client_id: u64, per_second: usize) -> Arc<RateLimiter> {
        let mut map = self
            .by_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            map.entry(client_id)
                .or_insert_with(|| Arc::new(RateLimiter::new(per_second))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_limit_run_within_a_second_of_each_others_answers() {
        let limiter = Arc::new(RateLimiter::new(5));
        let start = Instant::now();
        let mut granted = Vec::new();
        for _ in 0..12 {
            let permit = limiter.acquire().await;
            granted.push(start.elapsed());
            drop(permit);
        }
        // Five at once, five a second later, two a second after that (time is paused, so
        // answers come back instantly).
        let secs: Vec<u64> = granted.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_held_by_a_request_in_flight_is_not_given_away() {
        let limiter = Arc::new(RateLimiter::new(1));
        let first = limiter.acquire().await;
        let waiter = {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                let _p = limiter.acquire().await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!waiter.is_finished(), "still held after 5 s in flight");
        let released = Instant::now();
        drop(first);
        let got = waiter.await.unwrap();
        assert_eq!(got.duration_since(released), WINDOW);
    }

    #[test]
    fn one_client_id_shares_one_limiter() {
        let limiters = Limiters::default();
        let a = limiters.for_client(1, 50);
        assert!(Arc::ptr_eq(&a, &limiters.for_client(1, 10)));
        assert!(!Arc::ptr_eq(&a, &limiters.for_client(2, 50)));
    }
}
