//! Fakes of the outside APIs, as axum routers that render the world at the current simulated
//! time. They speak the real field names, envelopes and error bodies from `reference/`, so the
//! real clients can be pointed at them unchanged.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use ozontrack_domain::Clock;

use crate::world::World;

pub mod cdek;
pub mod channels;
pub mod ozon;
pub mod ozon_push;
pub mod russian_post;
pub mod seventeen_track;
pub mod smtp;

/// What every fake shares: the world, the simulated clock, and the changes clients made.
#[derive(Debug)]
pub struct SimState {
    pub world: World,
    pub clock: Arc<dyn Clock>,
    /// Tracking numbers uploaded through `/v2/fbs/posting/tracking-number/set`.
    pub uploaded_tracking: Mutex<HashMap<String, String>>,
    /// Status changes sellers made through the rFBS methods, on top of the scripted journey.
    pub seller_steps: Mutex<HashMap<String, Vec<crate::OzonStep>>>,
    /// Messages sellers sent to buyers through the Ozon chat, in order.
    pub buyer_messages: Mutex<Vec<BuyerMessage>>,
    /// Stores (by index) whose Ozon plan has no buyer chats: the chat methods answer 403 with
    /// code 7, as Ozon's Premium gate does.
    pub chat_refused: Mutex<std::collections::HashSet<usize>>,
    by_posting: HashMap<String, usize>,
    by_tracking: HashMap<String, Vec<(usize, LegSlot)>>,
}

/// A message a seller sent a buyer through the Ozon chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyerMessage {
    pub posting_number: String,
    pub chat_id: String,
    pub text: String,
    /// Simulated time.
    pub at: DateTime<Utc>,
}

/// Which of a parcel's legs a tracking number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegSlot {
    First,
    Last,
}

impl SimState {
    pub fn new(world: World, clock: Arc<dyn Clock>) -> Arc<Self> {
        let by_posting = world
            .parcels
            .iter()
            .enumerate()
            .map(|(i, p)| (p.posting_number.clone(), i))
            .collect();
        let mut by_tracking: HashMap<String, Vec<(usize, LegSlot)>> = HashMap::new();
        for (i, p) in world.parcels.iter().enumerate() {
            for (slot, leg) in [
                (LegSlot::First, &p.first_mile),
                (LegSlot::Last, &p.last_mile),
            ] {
                if let Some(leg) = leg {
                    by_tracking
                        .entry(leg.tracking_number.clone())
                        .or_default()
                        .push((i, slot));
                }
            }
        }
        Arc::new(Self {
            world,
            clock,
            uploaded_tracking: Mutex::new(HashMap::new()),
            seller_steps: Mutex::new(HashMap::new()),
            buyer_messages: Mutex::new(Vec::new()),
            chat_refused: Mutex::new(std::collections::HashSet::new()),
            by_posting,
            by_tracking,
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Ozon's status of `parcel` at `now`: the latest of its scripted steps and of the changes
    /// its seller made.
    pub fn ozon_at(&self, parcel: &crate::Parcel, now: DateTime<Utc>) -> crate::OzonStep {
        let scripted = parcel.ozon_at(now);
        let steps = self
            .seller_steps
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let manual = steps.get(&parcel.posting_number).and_then(|s| {
            s.iter()
                .filter(|s| s.at <= now)
                .max_by_key(|s| s.at)
                .copied()
        });
        match manual {
            Some(step) if step.at >= scripted.at => step,
            _ => scripted,
        }
    }

    /// The parcel with this posting number, if it exists by `now`.
    pub fn parcel(&self, posting_number: &str, now: DateTime<Utc>) -> Option<&crate::Parcel> {
        let parcel = &self.world.parcels[*self.by_posting.get(posting_number)?];
        (parcel.appears_at <= now).then_some(parcel)
    }
}

impl SimState {
    /// The legs carrying `tracking_number`, as (parcel, leg). Direct mail has two legs on one
    /// number: China Post, then Russian Post.
    pub fn legs_of(&self, tracking_number: &str) -> Vec<(&crate::Parcel, &crate::SimLeg)> {
        let Some(slots) = self.by_tracking.get(tracking_number) else {
            return Vec::new();
        };
        slots
            .iter()
            .filter_map(|(i, slot)| {
                let parcel = &self.world.parcels[*i];
                let leg = match slot {
                    LegSlot::First => parcel.first_mile.as_ref(),
                    LegSlot::Last => parcel.last_mile.as_ref(),
                };
                leg.map(|leg| (parcel, leg))
            })
            .collect()
    }
}

/// Ozon-style time text: RFC 3339, UTC, whole seconds, `Z`.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A sliding one-second window per key: at most `per_second` requests in any second.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: usize,
    recent: Mutex<HashMap<u64, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(per_second: usize) -> Self {
        Self {
            per_second,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Records a request for `key` and says whether it is within the limit. Rate limits run on
    /// real time, not simulated time: they protect a real server.
    pub fn allow(&self, key: u64) -> bool {
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        let window = recent.entry(key).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= self.per_second {
            return false;
        }
        window.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_allows_exactly_the_limit_within_a_second_per_key() {
        let limiter = RateLimiter::new(50);
        assert_eq!((0..60).filter(|_| limiter.allow(1)).count(), 50);
        assert!(limiter.allow(2), "another key has its own budget");
    }
}
