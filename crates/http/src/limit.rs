//! Rate limits as the server counts them: at most N requests in any window (a second for Ozon
//! and 17TRACK, a minute for the chat robots), keyed by account or destination.
//!
//! A server counts a request when it arrives, which is some time after we send it. A limiter
//! that paces sends (GCRA, as in `governor`) lets network jitter squeeze N+1 arrivals into one
//! window and earns a 429 (or, at DingTalk, a ten-minute lock-out). Here a request holds its
//! slot from before it is sent until one window after its answer came back, which bounds the
//! arrivals in every window of the server's clock; the cost is one round-trip time per window
//! of throughput (`bench sync` measures 1.01× the minimum the limit allows). This is why
//! ozontrack keeps its own limiter instead of `governor`: see ARCHITECTURE.md.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// A future a [`SharedLimit`] returns.
pub type SlotFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A limit shared with other processes that call the same account (kept in the database): a
/// slot is taken before the request and held until a window after its answer, as this
/// process's own [`RateLimiter`] does, so that every process together stays within the limit.
pub trait SharedLimit: Send + Sync + std::fmt::Debug {
    /// Waits for a free slot and takes it; none when the shared limit cannot be reached (the
    /// process's own limiter still holds; the failure is the implementation's to log).
    fn take(&self) -> SlotFuture<'_, Option<i64>>;

    /// Frees `slot` a window from now.
    fn free(&self, slot: i64) -> SlotFuture<'_, ()>;
}

#[derive(Debug, Default)]
struct Slots {
    in_flight: usize,
    /// When recently finished requests came back, oldest first.
    finished: VecDeque<Instant>,
}

/// At most `limit` requests in any `window`, shared by every call for one account or
/// destination.
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    slots: Mutex<Slots>,
    freed: Notify,
}

impl RateLimiter {
    /// At most `per_second` requests in any second.
    pub fn new(per_second: usize) -> Self {
        Self::per_window(per_second, Duration::from_secs(1))
    }

    /// At most `limit` requests in any `window`.
    pub fn per_window(limit: usize, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window,
            slots: Mutex::new(Slots::default()),
            freed: Notify::new(),
        }
    }

    /// Requests allowed per window.
    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Takes a slot now if one is free, without waiting.
    pub fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        self.expire(&mut slots, Instant::now());
        (slots.in_flight + slots.finished.len() < self.limit).then(|| {
            slots.in_flight += 1;
            Permit {
                limiter: Arc::clone(self),
            }
        })
    }

    fn expire(&self, slots: &mut Slots, now: Instant) {
        while slots
            .finished
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            slots.finished.pop_front();
        }
    }

    /// Waits for a slot; the slot is held until the returned permit is dropped plus a window.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let wait = {
                let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                self.expire(&mut slots, now);
                if slots.in_flight + slots.finished.len() < self.limit {
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
                    .map(|t| (*t + self.window).saturating_duration_since(now))
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

/// One limiter per key (an Ozon Client-Id, a notification destination) for the whole process,
/// so that every client of one account shares its budget.
#[derive(Debug, Clone)]
pub struct Limiters<K = u64> {
    by_key: Arc<Mutex<HashMap<K, Arc<RateLimiter>>>>,
}

impl<K> Default for Limiters<K> {
    fn default() -> Self {
        Self {
            by_key: Arc::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq> Limiters<K> {
    /// The limiter of `key`, created at `per_second` on first use.
    pub fn for_client(&self, key: K, per_second: usize) -> Arc<RateLimiter> {
        self.for_key(key, || RateLimiter::new(per_second))
    }

    /// The limiter of `key`, made by `make` on first use.
    pub fn for_key(&self, key: K, make: impl FnOnce() -> RateLimiter) -> Arc<RateLimiter> {
        let mut map = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(key).or_insert_with(|| Arc::new(make())))
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
        assert_eq!(got.duration_since(released), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_per_minute_limit_frees_its_slots_a_minute_after_each_answer() {
        let limiter = Arc::new(RateLimiter::per_window(20, Duration::from_secs(60)));
        let start = Instant::now();
        for _ in 0..20 {
            drop(limiter.try_acquire().expect("20 slots in the first minute"));
        }
        assert!(limiter.try_acquire().is_none());
        drop(limiter.acquire().await);
        assert_eq!(start.elapsed(), Duration::from_secs(60));
    }

    #[test]
    fn one_client_id_shares_one_limiter() {
        let limiters: Limiters = Limiters::default();
        let a = limiters.for_client(1, 50);
        assert!(Arc::ptr_eq(&a, &limiters.for_client(1, 10)));
        assert!(!Arc::ptr_eq(&a, &limiters.for_client(2, 50)));
    }
}
