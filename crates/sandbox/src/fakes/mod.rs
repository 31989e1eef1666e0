//! Fakes of the outside APIs, as axum routers that render the world at the current simulated
//! time. They speak the real field names, envelopes and error bodies from `reference/`, so the
//! real clients can be pointed at them unchanged.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use ozontrack_domain::Clock;

use crate::carriers::Carrier;
use crate::world::{Outage, Parcel, Setting, World};

pub mod cdek;
pub mod channels;
pub mod ozon;
pub mod ozon_push;
pub mod russian_post;
pub mod seventeen_track;
pub mod smtp;

/// Whether the API a leg of `carrier` is read through shows events of `kind`: Russian Post and
/// CDEK have no operation for some (an electronic pre-advice, a hub scan abroad); 17TRACK,
/// which reads every other carrier, shows them all. What a test scores "every event published"
/// against.
pub fn published(carrier: Carrier, kind: crate::world::EventKind) -> bool {
    match carrier {
        Carrier::RussianPost => russian_post::operation(kind).is_some(),
        Carrier::Cdek => cdek::status(kind).is_some(),
        _ => true,
    }
}

/// What every fake shares: the world, the simulated clock, and the changes clients made.
#[derive(Debug)]
pub struct SimState {
    /// What never changes: accounts, network, credentials, the config.
    pub world: Setting,
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
    window: RwLock<Arc<Window>>,
}

/// The parcels the fakes serve now: every parcel of a finite world; of an endless one, the
/// epochs of the last [`RETAINED`] (whose parcels may still move), so that a world left running
/// for a real day holds a few epochs, not thousands.
#[derive(Debug)]
pub struct Window {
    epochs: std::ops::RangeInclusive<u32>,
    /// Sorted by `ordered_at`, then posting number (epochs follow each other in time).
    parcels: Vec<Parcel>,
    outages: Vec<Outage>,
    by_posting: HashMap<String, usize>,
    by_tracking: HashMap<String, Vec<(usize, LegSlot)>>,
}

/// How far back an endless world keeps parcels: longer than any scripted journey (a return is
/// at most about 60 days after the order), so nothing a client could still see move is dropped.
pub const RETAINED: chrono::Duration = chrono::Duration::days(180);

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

impl Window {
    fn new(
        epochs: std::ops::RangeInclusive<u32>,
        parcels: Vec<Parcel>,
        outages: Vec<Outage>,
    ) -> Self {
        let by_posting = parcels
            .iter()
            .enumerate()
            .map(|(i, p)| (p.posting_number.clone(), i))
            .collect();
        let mut by_tracking: HashMap<String, Vec<(usize, LegSlot)>> = HashMap::new();
        for (i, p) in parcels.iter().enumerate() {
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
        Self {
            epochs,
            parcels,
            outages,
            by_posting,
            by_tracking,
        }
    }

    /// The window over `epochs` of `world`, reusing the parcels `previous` already holds.
    fn over(world: &Setting, epochs: std::ops::RangeInclusive<u32>, previous: &Window) -> Self {
        let (mut parcels, mut outages) = (Vec::new(), Vec::new());
        for epoch in epochs.clone() {
            if previous.epochs.contains(&epoch) {
                parcels.extend(
                    previous
                        .parcels
                        .iter()
                        .filter(|p| p.index / world.config.parcels.max(1) == epoch)
                        .cloned(),
                );
            } else {
                parcels.extend(world.parcels_of_epoch(epoch));
            }
            outages.extend(world.outages_of_epoch(epoch));
        }
        Self::new(epochs, parcels, outages)
    }

    /// The first epoch held: fakes that keep per-posting state prune it when this moves.
    pub fn first_epoch(&self) -> u32 {
        *self.epochs.start()
    }

    /// Every parcel held, sorted by `ordered_at`, then posting number.
    pub fn parcels(&self) -> &[Parcel] {
        &self.parcels
    }

    /// Whether the window holds the posting `posting_number` (visible or not yet).
    pub fn holds(&self, posting_number: &str) -> bool {
        self.by_posting.contains_key(posting_number)
    }

    /// The parcel with this posting number, if it exists by `now`.
    pub fn parcel(&self, posting_number: &str, now: DateTime<Utc>) -> Option<&Parcel> {
        let parcel = &self.parcels[*self.by_posting.get(posting_number)?];
        (parcel.appears_at <= now).then_some(parcel)
    }

    /// Whether a parcel held has a leg on `tracking_number`.
    pub fn carries(&self, tracking_number: &str) -> bool {
        self.by_tracking.contains_key(tracking_number)
    }

    /// The legs carrying `tracking_number`, as (parcel, leg). Direct mail has two legs on one
    /// number: China Post, then Russian Post.
    pub fn legs_of(&self, tracking_number: &str) -> Vec<(&Parcel, &crate::SimLeg)> {
        let Some(slots) = self.by_tracking.get(tracking_number) else {
            return Vec::new();
        };
        slots
            .iter()
            .filter_map(|(i, slot)| {
                let parcel = &self.parcels[*i];
                let leg = match slot {
                    LegSlot::First => parcel.first_mile.as_ref(),
                    LegSlot::Last => parcel.last_mile.as_ref(),
                };
                leg.map(|leg| (parcel, leg))
            })
            .collect()
    }

    /// The carrier outages of the epochs held.
    pub fn outages(&self) -> &[Outage] {
        &self.outages
    }

    /// Whether `carrier`'s API is down at `t`.
    pub fn is_down(&self, carrier: Carrier, t: DateTime<Utc>) -> bool {
        self.outage_at(carrier, t).is_some()
    }

    /// The outage of `carrier` in force at `t`, if any.
    pub fn outage_at(&self, carrier: Carrier, t: DateTime<Utc>) -> Option<&Outage> {
        crate::world::outage_at(&self.outages, carrier, t)
    }
}

impl SimState {
    pub fn new(world: World, clock: Arc<dyn Clock>) -> Arc<Self> {
        let World {
            setting,
            parcels,
            outages,
        } = world;
        let mut window = Window::new(0..=0, parcels, outages);
        let now = clock.now();
        if setting.epoch_at(now) > 0 {
            window = Window::over(&setting, epochs_at(&setting, now), &window);
        }
        Arc::new(Self {
            world: setting,
            clock,
            uploaded_tracking: Mutex::new(HashMap::new()),
            seller_steps: Mutex::new(HashMap::new()),
            buyer_messages: Mutex::new(Vec::new()),
            chat_refused: Mutex::new(std::collections::HashSet::new()),
            window: RwLock::new(Arc::new(window)),
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The parcels as of now. An endless world moves its window on here, when the clock
    /// enters a new epoch, and forgets what clients did to the parcels it drops: so call it
    /// before taking the locks of `uploaded_tracking`, `seller_steps` or `buyer_messages`.
    pub fn window(&self) -> Arc<Window> {
        let now = self.now();
        let current = Arc::clone(&self.window.read().unwrap_or_else(PoisonError::into_inner));
        let wanted = epochs_at(&self.world, now);
        if current.epochs.end() >= wanted.end() {
            return current;
        }
        let mut slot = self.window.write().unwrap_or_else(PoisonError::into_inner);
        // Another request may have moved it on while this one waited.
        if slot.epochs.end() >= wanted.end() {
            return Arc::clone(&slot);
        }
        let next = Arc::new(Window::over(&self.world, wanted, &slot));
        *slot = Arc::clone(&next);
        drop(slot);
        let held = |number: &String| next.holds(number);
        lock(&self.uploaded_tracking).retain(|number, _| held(number));
        lock(&self.seller_steps).retain(|number, _| held(number));
        lock(&self.buyer_messages).retain(|m| held(&m.posting_number));
        next
    }

    /// Ozon's status of `parcel` at `now`: the latest of its scripted steps and of the changes
    /// its seller made.
    pub fn ozon_at(&self, parcel: &crate::Parcel, now: DateTime<Utc>) -> crate::OzonStep {
        let scripted = parcel.ozon_at(now);
        let steps = lock(&self.seller_steps);
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
}

/// The epochs a window holds at `now`: the current one and those of the last [`RETAINED`].
fn epochs_at(world: &Setting, now: DateTime<Utc>) -> std::ops::RangeInclusive<u32> {
    let last = world.epoch_at(now);
    let first = world.epoch_at(now - RETAINED);
    first..=last
}

/// Per-posting state of a fake that must follow the window: `due` says once per move of the
/// window that the state should now be pruned to what the window holds.
#[derive(Debug, Default)]
pub struct Pruning(std::sync::atomic::AtomicU32);

impl Pruning {
    pub fn due(&self, window: &Window) -> bool {
        let first = window.first_epoch();
        self.0.swap(first, std::sync::atomic::Ordering::Relaxed) != first
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// Requests refused by key: each one a client that broke the limit.
    refused: Mutex<HashMap<u64, u64>>,
    admitted: Mutex<HashMap<u64, Traffic>>,
}

/// The requests a limiter let through for one key: how many, and when the first and the last
/// came, which is how long a client took to do what it asked (a sync, say) as the server saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    pub requests: u64,
    pub first: Instant,
    pub last: Instant,
}

impl RateLimiter {
    pub fn new(per_second: usize) -> Self {
        Self {
            per_second,
            recent: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
            admitted: Mutex::new(HashMap::new()),
        }
    }

    /// How many requests were refused, by key.
    pub fn refusals(&self) -> HashMap<u64, u64> {
        lock(&self.refused).clone()
    }

    /// The requests let through, by key.
    pub fn traffic(&self) -> HashMap<u64, Traffic> {
        lock(&self.admitted).clone()
    }

    /// Records a request for `key` and says whether it is within the limit. Rate limits run on
    /// real time, not simulated time: they protect a real server.
    pub fn allow(&self, key: u64) -> bool {
        let now = Instant::now();
        let mut recent = lock(&self.recent);
        let window = recent.entry(key).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= self.per_second {
            *lock(&self.refused).entry(key).or_default() += 1;
            return false;
        }
        window.push_back(now);
        lock(&self.admitted)
            .entry(key)
            .and_modify(|t| {
                t.requests += 1;
                t.last = now;
            })
            .or_insert(Traffic {
                requests: 1,
                first: now,
                last: now,
            });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorldConfig;
    use ozontrack_domain::ManualClock;

    fn endless(parcels: u32) -> (Arc<SimState>, Arc<ManualClock>) {
        let world = World::generate(WorldConfig {
            parcels,
            endless: true,
            ..WorldConfig::default()
        });
        let clock = Arc::new(ManualClock::new(
            world.config.start + chrono::Duration::days(14),
        ));
        (SimState::new(world, clock.clone()), clock)
    }

    #[test]
    fn an_endless_world_left_running_for_ten_years_keeps_serving_new_orders_from_a_bounded_window()
    {
        let (sim, clock) = endless(200);
        let span = sim.world.config.order_span;
        // The most a window holds: the epochs of the retained stretch and the current one.
        let most = usize::try_from((RETAINED.num_days() / span.num_days() + 2) * 200).unwrap();
        let mut largest = 0;
        for _ in 0..(3_650 / 5) {
            clock.advance(chrono::Duration::days(5));
            let now = clock.now();
            let window = sim.window();
            largest = largest.max(window.parcels().len());
            let newest = window
                .parcels()
                .iter()
                .map(|p| p.ordered_at)
                .filter(|t| *t <= now)
                .max();
            assert!(
                newest.is_some_and(|t| now - t < chrono::Duration::days(2)),
                "no recent order at {now}: newest {newest:?}"
            );
            let oldest = window.parcels().first().map(|p| p.ordered_at);
            assert!(
                oldest.is_some_and(|t| now - t <= RETAINED + span),
                "{oldest:?} at {now}"
            );
        }
        assert!(
            largest <= most,
            "the window grew to {largest} parcels (at most {most})"
        );
    }

    #[test]
    fn a_moving_window_forgets_what_clients_did_to_the_parcels_it_drops() {
        let (sim, clock) = endless(50);
        let first = sim.window().parcels()[0].posting_number.clone();
        sim.uploaded_tracking
            .lock()
            .unwrap()
            .insert(first.clone(), "LP00123456789012".into());
        clock.advance(chrono::Duration::days(100));
        assert!(
            sim.window().holds(&first),
            "a parcel of 100 days ago is still held"
        );
        assert_eq!(sim.uploaded_tracking.lock().unwrap().len(), 1);
        clock.advance(RETAINED);
        let window = sim.window();
        assert!(!window.holds(&first));
        assert!(window.parcel(&first, clock.now()).is_none());
        assert!(sim.uploaded_tracking.lock().unwrap().is_empty());
    }

    #[test]
    fn a_finite_world_never_moves_its_window() {
        let world = World::generate(WorldConfig {
            parcels: 50,
            ..WorldConfig::default()
        });
        let expected = world.parcels.clone();
        let clock = Arc::new(ManualClock::new(world.config.start));
        let sim = SimState::new(world, clock.clone());
        clock.advance(chrono::Duration::days(3_000));
        assert_eq!(sim.window().parcels(), &expected[..]);
    }

    #[test]
    fn the_limiter_allows_exactly_the_limit_within_a_second_per_key() {
        let limiter = RateLimiter::new(50);
        assert_eq!((0..60).filter(|_| limiter.allow(1)).count(), 50);
        assert!(limiter.allow(2), "another key has its own budget");
        assert_eq!(limiter.refusals(), HashMap::from([(1, 10)]));
        let traffic = limiter.traffic();
        assert_eq!(traffic[&1].requests, 50, "refused requests are not traffic");
        assert_eq!(traffic[&2].requests, 1);
        assert!(traffic[&1].first <= traffic[&1].last);
    }
}
