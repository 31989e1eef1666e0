//! The simulated world: stores, warehouses, delivery methods and parcels whose journeys are
//! scripted in full when the world is generated. What an API shows at time `t` is the part of
//! the script that happened (and became visible) by `t`; the script itself is the ground truth.
//!
//! Generation is deterministic: parcel `i` of seed `s` is drawn from its own random stream, so
//! the same seed and size give the same world, whatever else changes.
//!
//! An endless world repeats its shape: epoch `k` places `parcels` more orders over
//! `[start + k·span, start + (k+1)·span)`, parcel indices continuing where epoch `k − 1` ended,
//! with outages of its own. Epoch 0 of an endless world is the finite world of the same config,
//! and any epoch can be generated on its own, so the truth of any moment stays at hand while
//! the fakes hold only the recent epochs ([`crate::fakes::Window`]).

use chrono::{DateTime, Duration, TimeZone, Utc};
use ozontrack_domain::gazetteer::{self, City};

use crate::carriers::Carrier;
use crate::rng::Rng;

/// How an order reaches its buyer (DESIGN §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Ozon's own warehouse in Russia; tracked only through the posting status.
    Fbo,
    /// Seller ships from China through a first-mile carrier; Ozon logistics does the last mile.
    FbsCrossborder,
    /// Seller ships from China; Russian Post, CDEK or Boxberry does the last mile, with its own
    /// tracking number handed over by the first-mile carrier.
    Rfbs,
    /// China Post end to end on one S10 number, Russian Post carrying it inside Russia.
    DirectMail,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Fbo => "fbo",
            Mode::FbsCrossborder => "fbs",
            Mode::Rfbs => "rfbs",
            Mode::DirectMail => "direct_mail",
        }
    }
}

/// What happened to a parcel, in carrier-neutral terms; each fake renders it in its dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Registered,
    PickedUp,
    ArrivedHub,
    DepartedHub,
    ExportCustoms,
    DepartedOrigin,
    ArrivedDestination,
    CustomsProcessing,
    CustomsHeld,
    CustomsReleased,
    HandedToLastMile,
    ArrivedSortCenter,
    DepartedSortCenter,
    AtPickupPoint,
    OutForDelivery,
    Delivered,
    DeliveryFailed,
    Returning,
    Returned,
    Lost,
}

/// A failure the world injected into a parcel's journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// Events stop for a while, then resume.
    Stall,
    /// Events stop for good.
    Lost,
    /// Customs holds the parcel for days.
    CustomsHold,
    /// Arrived in Russia (or released by customs) and never reaches the last mile.
    HandoverBreak,
    /// Direct mail: silent after customs.
    PostalSilence,
    /// The seller uploads the tracking number after the ship-by date.
    LateTracking,
    /// The seller never uploads the tracking number.
    MissingTracking,
    /// Delivered, then the buyer opens a dispute.
    Disputed,
    /// Refused or not collected, sent back.
    Returned,
    /// An FBS parcel shipped with a carrier that is not on Ozon's whitelist.
    NonWhitelistedCarrier,
}

/// One step of a leg's journey.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CarrierEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// When the carrier's API starts showing it (carrier data lags reality).
    pub visible_at: DateTime<Utc>,
    pub kind: EventKind,
    pub city: &'static City,
}

/// One carrier's part of the journey.
#[derive(Debug, Clone, PartialEq)]
pub struct SimLeg {
    pub carrier: Carrier,
    pub tracking_number: String,
    pub events: Vec<CarrierEvent>,
}

/// One change of the posting's status in Ozon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OzonStep {
    pub at: DateTime<Utc>,
    pub status: &'static str,
    pub substatus: &'static str,
}

/// A failure and when it began (and ended, when it did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrueFailure {
    pub kind: FailureKind,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// A product line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub sku: i64,
    pub offer_id: &'static str,
    pub name: &'static str,
    pub quantity: i32,
    /// Price per item in kopecks.
    pub price_minor: i64,
}

/// A parcel: an Ozon posting and its scripted journey.
#[derive(Debug, Clone, PartialEq)]
pub struct Parcel {
    pub index: u32,
    pub store: usize,
    pub mode: Mode,
    pub posting_number: String,
    pub order_id: i64,
    /// When the order was paid and Ozon started processing it (`in_process_at`).
    pub ordered_at: DateTime<Utc>,
    /// When the posting shows up in the API. Usually `ordered_at`; for some it is hours later,
    /// so it lands behind a client's paging cursor ("rows inserted while a client pages").
    pub appears_at: DateTime<Utc>,
    /// Ship-by deadline (`shipment_date`).
    pub ship_by: DateTime<Utc>,
    pub delivery_method: usize,
    pub warehouse: usize,
    pub buyer_city: &'static City,
    pub products: Vec<Product>,
    /// First mile (or the only leg for direct mail); `None` for FBO.
    pub first_mile: Option<SimLeg>,
    /// Last mile with its own number (rFBS), or Russian Post on the same number (direct mail).
    pub last_mile: Option<SimLeg>,
    /// When the seller put the tracking number into Ozon; `None`: never.
    pub tracking_uploaded_at: Option<DateTime<Utc>>,
    pub ozon: Vec<OzonStep>,
    pub failures: Vec<TrueFailure>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Recipients' names as Russian Post and CDEK record them at a hand-over.
const RECIPIENTS: [&str; 8] = [
    "Иванова Анна Сергеевна",
    "Смирнов Дмитрий Олегович",
    "Кузнецова Мария Игоревна",
    "Попов Алексей Викторович",
    "Васильева Екатерина Андреевна",
    "Соколов Сергей Павлович",
    "Морозова Ольга Николаевна",
    "Новиков Артём Юрьевич",
];

impl Parcel {
    /// Who signs for the parcel at delivery. Derived from the index, not drawn: adding it did
    /// not move any other random value of existing worlds.
    pub fn recipient(&self) -> &'static str {
        RECIPIENTS[self.index as usize % RECIPIENTS.len()]
    }

    /// How Russian Post hands it over (`OperAttr` of the delivery): to the addressee, against
    /// a simple e-signature (ПЭП), or from a parcel locker.
    pub fn russian_post_handover(&self) -> (u32, &'static str) {
        match self.index % 3 {
            0 => (1, "Вручение адресату"),
            1 => (13, "Вручение адресату с простой электронной подписью"),
            _ => (4, "Вручение адресату через почтомат"),
        }
    }

    /// The order this posting belongs to: its number without the shipment index.
    pub fn order_number(&self) -> &str {
        self.posting_number
            .rsplit_once('-')
            .map_or("", |(order, _)| order)
    }

    pub fn total_minor(&self) -> i64 {
        self.products
            .iter()
            .map(|p| p.price_minor * i64::from(p.quantity))
            .sum()
    }

    /// Ozon's status at `t`: the last step at or before `t` (the first step otherwise).
    pub fn ozon_at(&self, t: DateTime<Utc>) -> OzonStep {
        let visible = self.ozon.iter().take_while(|s| s.at <= t).last();
        // Every parcel has at least its creation step.
        *visible.unwrap_or(&self.ozon[0])
    }

    /// The tracking number Ozon shows at `t`.
    pub fn tracking_number_at(&self, t: DateTime<Utc>) -> &str {
        match (&self.first_mile, self.tracking_uploaded_at) {
            (Some(leg), Some(at)) if at <= t => &leg.tracking_number,
            _ => "",
        }
    }

    /// When the posting last changed in Ozon, as of `t`.
    pub fn last_changed_at(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let step = self.ozon_at(t).at;
        match self.tracking_uploaded_at {
            Some(at) if at <= t && at > step => at,
            _ => step,
        }
    }

    /// Appends a change of the posting's Ozon status.
    fn step(&mut self, at: DateTime<Utc>, status: &'static str, substatus: &'static str) {
        self.ozon.push(OzonStep {
            at,
            status,
            substatus,
        });
    }

    pub fn legs(&self) -> impl Iterator<Item = &SimLeg> {
        self.first_mile.iter().chain(self.last_mile.iter())
    }
}

/// A seller account in the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimStore {
    pub name: String,
    pub client_id: u64,
    pub api_key: String,
}

/// A warehouse: the seller's in China (FBS/rFBS) or Ozon's in Russia (FBO).
#[derive(Debug, Clone, PartialEq)]
pub struct Warehouse {
    pub id: i64,
    pub name: String,
    pub city: &'static City,
    pub is_rfbs: bool,
    pub is_fbo: bool,
}

/// A delivery method: a warehouse and the carrier that takes parcels from it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryMethod {
    pub id: i64,
    pub name: String,
    pub warehouse: usize,
    pub carrier: Carrier,
    /// `tpl_integration_type` as Ozon spells it.
    pub integration: &'static str,
}

/// Credentials the carrier fakes accept, derived from the seed so scripts can rely on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierCredentials {
    /// 17TRACK `17token`.
    pub seventeen_track_token: String,
    pub russian_post_login: String,
    pub russian_post_password: String,
    pub cdek_client_id: String,
    pub cdek_client_secret: String,
}

/// A window in which a carrier's API is down while its parcels move on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    pub carrier: Carrier,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// How often each failure is injected (probability per eligible parcel).
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRates {
    pub stall: f64,
    pub lost: f64,
    pub customs_hold: f64,
    pub handover_break: f64,
    pub postal_silence: f64,
    pub late_tracking: f64,
    pub missing_tracking: f64,
    pub disputed: f64,
    pub returned: f64,
    pub non_whitelisted: f64,
}

impl Default for FailureRates {
    fn default() -> Self {
        Self {
            stall: 0.04,
            lost: 0.01,
            customs_hold: 0.02,
            handover_break: 0.015,
            postal_silence: 0.05,
            late_tracking: 0.03,
            missing_tracking: 0.01,
            disputed: 0.01,
            returned: 0.02,
            non_whitelisted: 0.02,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldConfig {
    pub seed: u64,
    pub parcels: u32,
    pub stores: u32,
    /// Orders are placed uniformly over `[start, start + order_span)`.
    pub start: DateTime<Utc>,
    pub order_span: Duration,
    /// Relative weights of FBO, FBS cross-border, rFBS and direct mail.
    pub mode_weights: [f64; 4],
    pub failures: FailureRates,
    /// Carrier outages: how many 24-hour windows, spread over the order span.
    pub outages: u32,
    /// Share of postings that appear in the API 1-24 h after their `in_process_at`.
    pub late_appearance: f64,
    /// Whether orders keep coming: `parcels` more every `order_span`, without end.
    pub endless: bool,
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            parcels: 1_000,
            stores: 1,
            // A fixed instant, not "now": the same config is the same world on any day.
            start: Utc
                .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            order_span: Duration::days(30),
            mode_weights: [0.25, 0.35, 0.3, 0.1],
            failures: FailureRates::default(),
            outages: 2,
            late_appearance: 0.03,
            endless: false,
        }
    }
}

/// What stays the same for the whole life of a world: its accounts, network and credentials.
#[derive(Debug, Clone)]
pub struct Setting {
    pub config: WorldConfig,
    pub stores: Vec<SimStore>,
    pub warehouses: Vec<Warehouse>,
    pub delivery_methods: Vec<DeliveryMethod>,
    pub credentials: CarrierCredentials,
    /// Outages of epoch 0, drawn with the rest of the setting (later epochs draw their own).
    first_outages: Vec<Outage>,
}

/// The generated world: its setting and the parcels and outages of epoch 0 (the whole world
/// unless it is endless).
#[derive(Debug, Clone)]
pub struct World {
    pub setting: Setting,
    /// Sorted by `ordered_at`, then posting number.
    pub parcels: Vec<Parcel>,
    pub outages: Vec<Outage>,
}

/// A world is read mostly for its setting: `world.stores`, `world.config`.
impl std::ops::Deref for World {
    type Target = Setting;

    fn deref(&self) -> &Setting {
        &self.setting
    }
}

const STREAM_PARCEL: u64 = 1;
const STREAM_WORLD: u64 = 2;
const STREAM_OUTAGES: u64 = 3;

const PRODUCTS: &[(&str, &str, i64)] = &[
    ("MUG-330-BLK", "Кружка керамическая 330 мл", 129_000),
    ("LAMP-LED-01", "Настольная лампа LED", 349_000),
    ("PHONE-CASE-14", "Чехол для телефона силиконовый", 49_000),
    ("EARBUDS-TWS-5", "Беспроводные наушники TWS", 219_000),
    ("SOCKS-WOOL-3P", "Носки шерстяные, 3 пары", 79_000),
    ("DRONE-MINI-4K", "Мини-дрон с камерой 4K", 899_000),
    ("WATCH-SMART-8", "Умные часы", 459_000),
    ("BACKPACK-20L", "Рюкзак городской 20 л", 189_000),
];

impl World {
    pub fn generate(config: WorldConfig) -> World {
        let mut rng = Rng::for_item(config.seed, STREAM_WORLD, 0);
        let stores = (0..config.stores.max(1))
            .map(|i| SimStore {
                name: format!("sandbox-shop-{}", i + 1),
                client_id: 100_000 + rng.range(0, 900_000),
                api_key: format!("{:08x}-sandbox-key-{}", rng.next_u64() as u32, i + 1),
            })
            .collect();
        let (warehouses, delivery_methods) = network(&mut rng);
        let outages = outages(&config, config.start, &mut rng);
        let credentials = CarrierCredentials {
            seventeen_track_token: format!("17t-{:016x}", rng.next_u64()),
            russian_post_login: format!("rp{}", rng.digits(6)),
            russian_post_password: format!("{:012x}", rng.next_u64() >> 16),
            cdek_client_id: format!("cdek-{}", rng.digits(8)),
            cdek_client_secret: format!("{:016x}", rng.next_u64()),
        };
        let setting = Setting {
            config,
            stores,
            warehouses,
            delivery_methods,
            credentials,
            first_outages: outages,
        };
        World {
            parcels: setting.parcels_of_epoch(0),
            outages: setting.outages_of_epoch(0),
            setting,
        }
    }

    /// Whether `carrier`'s API is down at `t`.
    pub fn is_down(&self, carrier: Carrier, t: DateTime<Utc>) -> bool {
        self.outage_at(carrier, t).is_some()
    }

    /// The outage of `carrier` in force at `t`, if any.
    pub fn outage_at(&self, carrier: Carrier, t: DateTime<Utc>) -> Option<&Outage> {
        outage_at(&self.outages, carrier, t)
    }
}

impl Setting {
    /// The epoch whose orders are placed at `t`: 0 before the world starts and always 0 for a
    /// world that is not endless.
    pub fn epoch_at(&self, t: DateTime<Utc>) -> u32 {
        let span = self.config.order_span.num_seconds().max(1);
        if !self.config.endless || t <= self.config.start {
            return 0;
        }
        u32::try_from((t - self.config.start).num_seconds() / span).unwrap_or(u32::MAX)
    }

    /// The parcels ordered in `epoch`, sorted by `ordered_at`, then posting number.
    pub fn parcels_of_epoch(&self, epoch: u32) -> Vec<Parcel> {
        let n = self.config.parcels;
        let first = epoch.saturating_mul(n);
        let mut parcels: Vec<Parcel> = (first..first.saturating_add(n))
            .map(|i| parcel(&self.config, &self.delivery_methods, i))
            .collect();
        parcels.sort_by(|a, b| {
            (a.ordered_at, &a.posting_number).cmp(&(b.ordered_at, &b.posting_number))
        });
        parcels
    }

    /// The carrier outages that begin in `epoch`.
    pub fn outages_of_epoch(&self, epoch: u32) -> Vec<Outage> {
        if epoch == 0 {
            return self.first_outages.clone();
        }
        let mut rng = Rng::for_item(self.config.seed, STREAM_OUTAGES, u64::from(epoch));
        let start =
            self.config.start + self.config.order_span * i32::try_from(epoch).unwrap_or(i32::MAX);
        outages(&self.config, start, &mut rng)
    }
}

/// The outage of `carrier` in force at `t` among `outages`.
pub(crate) fn outage_at(outages: &[Outage], carrier: Carrier, t: DateTime<Utc>) -> Option<&Outage> {
    outages
        .iter()
        .find(|o| o.carrier == carrier && o.from <= t && t < o.until)
}

/// A city of the gazetteer by its English name; the names used here are all in it (the
/// world tests would fail on a journey through Moscow instead).
fn city(name: &str) -> &'static City {
    gazetteer::by_name(name).unwrap_or(&gazetteer::RUSSIA[0])
}

fn network(rng: &mut Rng) -> (Vec<Warehouse>, Vec<DeliveryMethod>) {
    let mut id = || 1_020_000_000_000_000 + i64::try_from(rng.range(0, 999_999_999)).unwrap_or(0);
    let warehouses = vec![
        Warehouse {
            id: id(),
            name: "Shenzhen FBS".into(),
            city: city("Shenzhen"),
            is_rfbs: false,
            is_fbo: false,
        },
        Warehouse {
            id: id(),
            name: "Yiwu rFBS".into(),
            city: city("Yiwu"),
            is_rfbs: true,
            is_fbo: false,
        },
        Warehouse {
            id: id(),
            name: "Склад Подольск".into(),
            city: city("Podolsk"),
            is_rfbs: false,
            is_fbo: true,
        },
        Warehouse {
            id: id(),
            name: "Склад Екатеринбург".into(),
            city: city("Yekaterinburg"),
            is_rfbs: false,
            is_fbo: true,
        },
    ];
    let methods = [
        (
            0,
            Carrier::Ozon,
            "ozon",
            "Доставка Ozon, кроссбордер Шэньчжэнь",
        ),
        (1, Carrier::RussianPost, "hybryd", "Почта России, Иу"),
        (1, Carrier::Cdek, "3pl_tracking", "Курьер СДЭК, Иу"),
        (1, Carrier::Boxberry, "aggregator", "Boxberry, Иу"),
        (
            0,
            Carrier::ChinaPost,
            "non_integrated",
            "China Post / Почта России, прямая почта",
        ),
        (2, Carrier::Ozon, "ozon", "Доставка Ozon, Подольск"),
        (3, Carrier::Ozon, "ozon", "Доставка Ozon, Екатеринбург"),
    ];
    let methods = methods
        .into_iter()
        .map(|(warehouse, carrier, integration, name)| DeliveryMethod {
            id: id(),
            name: name.into(),
            warehouse,
            carrier,
            integration,
        })
        .collect();
    (warehouses, methods)
}

fn outages(config: &WorldConfig, start: DateTime<Utc>, rng: &mut Rng) -> Vec<Outage> {
    let api_carriers = [
        Carrier::RussianPost,
        Carrier::Cdek,
        Carrier::Yanwen,
        Carrier::FourPx,
    ];
    (0..config.outages)
        .map(|_| {
            let offset = rng.hours(24.0, (config.order_span.num_hours().max(48)) as f64);
            let from = start + offset;
            Outage {
                carrier: *rng.pick(&api_carriers),
                from,
                until: from + Duration::hours(24),
            }
        })
        .collect()
}

/// Builds one parcel from its own random stream.
fn parcel(config: &WorldConfig, methods: &[DeliveryMethod], index: u32) -> Parcel {
    let mut rng = Rng::for_item(config.seed, STREAM_PARCEL, u64::from(index));
    let rates = &config.failures;
    let mode = [
        Mode::Fbo,
        Mode::FbsCrossborder,
        Mode::Rfbs,
        Mode::DirectMail,
    ][rng.weighted(&config.mode_weights)];
    #[allow(clippy::cast_precision_loss)]
    let span_hours = config.order_span.num_seconds() as f64 / 3600.0;
    // Parcel indices run on across epochs: parcel i of an endless world is ordered in epoch
    // i / parcels (always 0 in a finite world).
    let epoch = index.checked_div(config.parcels).unwrap_or(0);
    let epoch_start = config.start + config.order_span * i32::try_from(epoch).unwrap_or(i32::MAX);
    let ordered_at = epoch_start + rng.hours(0.0, span_hours);
    let ship_by = ordered_at + Duration::hours(48);
    let weights: Vec<f64> = gazetteer::RUSSIA
        .iter()
        .map(|c| f64::from(c.weight))
        .collect();
    let buyer_city = &gazetteer::RUSSIA[rng.weighted(&weights)];
    // Unique by construction: the order number carries the parcel's index.
    let order = 20_000_000 + u64::from(index);
    let posting_number = format!("{order:08}-{:04}-1", rng.range(1, 200));
    let order_id = 30_000_000_000 + i64::try_from(rng.range(0, 9_999_999_999)).unwrap_or(0);
    let products = (0..rng.range(1, 3))
        .map(|_| {
            let (offer_id, name, price) = *rng.pick(PRODUCTS);
            Product {
                sku: 1_500_000_000 + i64::try_from(rng.range(0, 400_000_000)).unwrap_or(0),
                offer_id,
                name,
                quantity: i32::try_from(rng.range(1, 3)).unwrap_or(1),
                price_minor: price,
            }
        })
        .collect();
    let store = usize::try_from(u64::from(index) % u64::from(config.stores.max(1))).unwrap_or(0);
    let appears_at = if rng.chance(config.late_appearance) {
        ordered_at + rng.hours(1.0, 24.0)
    } else {
        ordered_at
    };
    let mut p = Parcel {
        index,
        store,
        mode,
        posting_number,
        order_id,
        ordered_at,
        appears_at,
        ship_by,
        delivery_method: 0,
        warehouse: 0,
        buyer_city,
        products,
        first_mile: None,
        last_mile: None,
        tracking_uploaded_at: None,
        ozon: vec![OzonStep {
            at: ordered_at,
            status: "awaiting_packaging",
            substatus: "posting_created",
        }],
        failures: Vec::new(),
        delivered_at: None,
    };
    match mode {
        Mode::Fbo => fbo_journey(&mut p, &mut rng, methods, rates),
        _ => crossborder_journey(&mut p, &mut rng, methods, rates),
    }
    p.warehouse = methods[p.delivery_method].warehouse;
    debug_assert!(p.ozon.windows(2).all(|w| w[0].at <= w[1].at));
    p
}

fn method_index(methods: &[DeliveryMethod], pick: impl Fn(&DeliveryMethod) -> bool) -> usize {
    methods.iter().position(pick).unwrap_or(0)
}

fn fbo_journey(p: &mut Parcel, rng: &mut Rng, methods: &[DeliveryMethod], rates: &FailureRates) {
    let ekb = rng.chance(0.3);
    p.delivery_method = method_index(methods, |m| {
        m.carrier == Carrier::Ozon
            && m.name.contains(if ekb {
                "Екатеринбург"
            } else {
                "Подольск"
            })
    });
    let mut t = p.ordered_at + rng.hours(2.0, 12.0);
    p.step(t, "awaiting_deliver", "posting_in_carriage");
    t += rng.hours(6.0, 24.0);
    p.step(t, "delivering", "posting_on_way_to_city");
    t += rng.hours(24.0, 96.0);
    if rng.chance(rates.lost) {
        let last_seen = p.ozon.last().map_or(t, |s| s.at);
        p.failures.push(TrueFailure {
            kind: FailureKind::Lost,
            started_at: last_seen,
            ended_at: None,
        });
        return;
    }
    p.step(t, "delivering", "posting_in_pickup_point");
    t += rng.hours(3.0, 48.0);
    p.step(t, "delivered", "posting_delivered");
    p.delivered_at = Some(t);
    dispute(p, rng, rates, t);
}

fn dispute(p: &mut Parcel, rng: &mut Rng, rates: &FailureRates, delivered: DateTime<Utc>) {
    if rng.chance(rates.disputed) {
        let at = delivered + rng.hours(24.0, 72.0);
        p.ozon.push(OzonStep {
            at,
            status: "client_arbitration",
            substatus: "posting_in_client_arbitration",
        });
        p.failures.push(TrueFailure {
            kind: FailureKind::Disputed,
            started_at: at,
            ended_at: None,
        });
    }
}

/// Appends an event at `t` to `leg`, visible after the carrier's usual lag.
fn push(leg: &mut SimLeg, rng: &mut Rng, t: DateTime<Utc>, kind: EventKind, city: &'static City) {
    // The first scan reaches the carrier's API 4-6 h after the hand-over; later ones sooner.
    let lag = if leg.events.is_empty() {
        rng.hours(4.0, 6.0)
    } else {
        rng.hours(0.25, 4.0)
    };
    leg.events.push(CarrierEvent {
        at: t,
        visible_at: t + lag,
        kind,
        city,
    });
}

#[allow(clippy::too_many_lines)]
fn crossborder_journey(
    p: &mut Parcel,
    rng: &mut Rng,
    methods: &[DeliveryMethod],
    rates: &FailureRates,
) {
    let first_carrier = match p.mode {
        Mode::DirectMail => Carrier::ChinaPost,
        _ if rng.chance(rates.non_whitelisted) => Carrier::SunYou,
        _ => *rng.pick(&[
            Carrier::Yanwen,
            Carrier::FourPx,
            Carrier::Cainiao,
            Carrier::CjPacket,
        ]),
    };
    let last_carrier = match p.mode {
        Mode::FbsCrossborder => Carrier::Ozon,
        Mode::DirectMail => Carrier::RussianPost,
        _ => *rng.pick(&[
            Carrier::RussianPost,
            Carrier::Cdek,
            Carrier::Cdek,
            Carrier::Boxberry,
        ]),
    };
    p.delivery_method = match p.mode {
        Mode::FbsCrossborder => {
            method_index(methods, |m| m.carrier == Carrier::Ozon && m.warehouse == 0)
        }
        Mode::DirectMail => method_index(methods, |m| m.carrier == Carrier::ChinaPost),
        _ => method_index(methods, |m| m.carrier == last_carrier),
    };
    if first_carrier == Carrier::SunYou {
        p.failures.push(TrueFailure {
            kind: FailureKind::NonWhitelistedCarrier,
            started_at: p.ordered_at,
            ended_at: None,
        });
    }
    let origin = *rng.pick(&[
        city("Shenzhen"),
        city("Guangzhou"),
        city("Yiwu"),
        city("Shanghai"),
    ]);
    let exchange = *rng.pick(&[
        city("Moscow"),
        city("Moscow"),
        city("Zabaykalsk"),
        city("Novosibirsk"),
    ]);
    let mut first = SimLeg {
        carrier: first_carrier,
        tracking_number: first_carrier.tracking_number(rng),
        events: Vec::new(),
    };
    let mut last = SimLeg {
        carrier: last_carrier,
        tracking_number: if p.mode == Mode::DirectMail {
            first.tracking_number.clone()
        } else {
            last_carrier.tracking_number(rng)
        },
        events: Vec::new(),
    };

    // Which failure, if any, shapes this journey (at most one transit failure per parcel).
    let transit_failure = {
        let postal = if p.mode == Mode::DirectMail {
            rates.postal_silence
        } else {
            0.0
        };
        let options = [
            (FailureKind::Stall, rates.stall),
            (FailureKind::Lost, rates.lost),
            (FailureKind::CustomsHold, rates.customs_hold),
            (FailureKind::HandoverBreak, rates.handover_break),
            (FailureKind::PostalSilence, postal),
            (FailureKind::Returned, rates.returned),
        ];
        let roll = rng.unit();
        let mut acc = 0.0;
        options
            .iter()
            .find(|(_, rate)| {
                acc += rate;
                roll < acc
            })
            .map(|(kind, _)| *kind)
    };
    // Stalls and losses strike at one of the transit steps, chosen now.
    let strike_step = rng.range(1, 9);

    // Seller packs and hands over.
    let packed = p.ordered_at + rng.hours(4.0, 30.0);
    let handover = packed + rng.hours(2.0, 12.0);
    p.step(packed, "awaiting_deliver", "posting_registered");
    p.step(
        handover,
        "awaiting_deliver",
        "posting_transferring_to_delivery",
    );
    p.tracking_uploaded_at = if rng.chance(rates.missing_tracking) {
        p.failures.push(TrueFailure {
            kind: FailureKind::MissingTracking,
            started_at: p.ship_by,
            ended_at: None,
        });
        None
    } else if rng.chance(rates.late_tracking) {
        let at = p.ship_by + rng.hours(24.0, 120.0);
        p.failures.push(TrueFailure {
            kind: FailureKind::LateTracking,
            started_at: p.ship_by,
            ended_at: Some(at),
        });
        Some(at)
    } else {
        Some(handover + rng.hours(0.5, 6.0))
    };

    let mut t = handover - rng.hours(1.0, 6.0);
    push(&mut first, rng, t, EventKind::Registered, origin);
    t = handover;
    push(&mut first, rng, t, EventKind::PickedUp, origin);

    // Transit steps of the first mile: (kind, city, min h, max h before it).
    let steps: [(EventKind, &'static City, f64, f64); 8] = [
        (EventKind::ArrivedHub, origin, 4.0, 12.0),
        (EventKind::DepartedHub, origin, 6.0, 24.0),
        (EventKind::ExportCustoms, origin, 12.0, 36.0),
        (EventKind::DepartedOrigin, origin, 12.0, 40.0),
        (EventKind::ArrivedDestination, exchange, 24.0, 64.0),
        (EventKind::CustomsProcessing, exchange, 2.0, 12.0),
        (EventKind::CustomsReleased, exchange, 12.0, 40.0),
        (EventKind::HandedToLastMile, exchange, 6.0, 24.0),
    ];
    for (i, (kind, at_city, low, high)) in steps.into_iter().enumerate() {
        let step = i as u64 + 1;
        t += rng.hours(low, high);
        match transit_failure {
            Some(FailureKind::Stall) if step == strike_step => {
                let silence = rng.hours(50.0, 240.0);
                let last_seen = first.events.last().map_or(t, |e| e.at);
                p.failures.push(TrueFailure {
                    kind: FailureKind::Stall,
                    started_at: last_seen,
                    ended_at: Some(t + silence),
                });
                t += silence;
            }
            Some(FailureKind::Lost) if step == strike_step => {
                let last_seen = first.events.last().map_or(t, |e| e.at);
                p.failures.push(TrueFailure {
                    kind: FailureKind::Lost,
                    started_at: last_seen,
                    ended_at: None,
                });
                finish_ozon_in_transit(p, first.events.first().map_or(t, |e| e.at));
                p.first_mile = Some(first);
                return;
            }
            Some(FailureKind::HandoverBreak) if kind == EventKind::HandedToLastMile => {
                let released = first.events.last().map_or(t, |e| e.at);
                p.failures.push(TrueFailure {
                    kind: FailureKind::HandoverBreak,
                    started_at: released,
                    ended_at: None,
                });
                finish_ozon_in_transit(p, handover);
                p.first_mile = Some(first);
                return;
            }
            Some(FailureKind::CustomsHold) if kind == EventKind::CustomsReleased => {
                push(&mut first, rng, t, EventKind::CustomsHeld, at_city);
                let hold = rng.hours(72.0, 240.0);
                p.failures.push(TrueFailure {
                    kind: FailureKind::CustomsHold,
                    started_at: t,
                    ended_at: Some(t + hold),
                });
                t += hold;
            }
            _ => {}
        }
        if p.mode == Mode::DirectMail && kind == EventKind::HandedToLastMile {
            // Direct mail has no hand-over: the same number moves on inside Russian Post.
            continue;
        }
        push(&mut first, rng, t, kind, at_city);
    }
    p.step(t, "delivering", "posting_on_way_to_city");

    if transit_failure == Some(FailureKind::PostalSilence) {
        let released = first.events.last().map_or(t, |e| e.at);
        p.failures.push(TrueFailure {
            kind: FailureKind::PostalSilence,
            started_at: released,
            ended_at: None,
        });
        p.first_mile = Some(first);
        return;
    }

    // Last mile inside Russia.
    let buyer = p.buyer_city;
    t += rng.hours(2.0, 12.0);
    push(&mut last, rng, t, EventKind::ArrivedSortCenter, exchange);
    t += rng.hours(6.0, 24.0);
    push(&mut last, rng, t, EventKind::DepartedSortCenter, exchange);
    // Healthy carriers scan at least every 40 h inside Russia (the line haul to the buyer's
    // city, then the hand-over to the pickup point or courier).
    t += rng.hours(12.0, 36.0);
    push(&mut last, rng, t, EventKind::ArrivedSortCenter, buyer);
    t += rng.hours(6.0, 30.0);
    let pickup = rng.chance(0.7);
    if pickup {
        push(&mut last, rng, t, EventKind::AtPickupPoint, buyer);
        p.step(t, "delivering", "posting_in_pickup_point");
    } else {
        push(&mut last, rng, t, EventKind::OutForDelivery, buyer);
        p.step(t, "delivering", "posting_in_courier_service");
    }
    if transit_failure == Some(FailureKind::Returned) {
        // A pickup point keeps a parcel for a week; a courier tries again within the day.
        t += if pickup {
            rng.hours(24.0, 168.0)
        } else {
            rng.hours(4.0, 30.0)
        };
        push(&mut last, rng, t, EventKind::DeliveryFailed, buyer);
        p.failures.push(TrueFailure {
            kind: FailureKind::Returned,
            started_at: t,
            ended_at: None,
        });
        t += rng.hours(12.0, 48.0);
        push(&mut last, rng, t, EventKind::Returning, buyer);
        p.step(t, "cancelled", "posting_canceled");
        t += rng.hours(120.0, 360.0);
        push(&mut last, rng, t, EventKind::Returned, exchange);
    } else {
        t += if pickup {
            rng.hours(6.0, 72.0)
        } else {
            rng.hours(2.0, 10.0)
        };
        push(&mut last, rng, t, EventKind::Delivered, buyer);
        let (status, sub) = if p.mode == Mode::Rfbs {
            ("delivered", "posting_conditionally_delivered")
        } else {
            ("delivered", "posting_delivered")
        };
        p.ozon.push(OzonStep {
            at: t,
            status,
            substatus: sub,
        });
        p.delivered_at = Some(t);
        dispute(p, rng, rates, t);
    }
    p.first_mile = Some(first);
    // Ozon logistics reports the last mile only through the posting status.
    if last.carrier != Carrier::Ozon {
        p.last_mile = Some(last);
    }
}

/// A parcel that never reaches the last mile stays "delivering" in Ozon once its seller shipped
/// it (rFBS, direct mail); on FBS cross-border Ozon's own last mile never received it, so the
/// posting stays awaiting delivery.
fn finish_ozon_in_transit(p: &mut Parcel, at: DateTime<Utc>) {
    if p.mode == Mode::FbsCrossborder {
        return;
    }
    let at = at.max(p.ozon.last().map_or(at, |s| s.at));
    p.ozon.push(OzonStep {
        at,
        status: "delivering",
        substatus: "posting_on_way_to_city",
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(parcels: u32) -> World {
        World::generate(WorldConfig {
            parcels,
            ..WorldConfig::default()
        })
    }

    #[test]
    fn the_same_seed_gives_the_same_world() {
        let (a, b) = (world(500), world(500));
        assert_eq!(a.parcels, b.parcels);
        assert_eq!(a.stores, b.stores);
        let c = World::generate(WorldConfig {
            seed: 2,
            parcels: 500,
            ..WorldConfig::default()
        });
        assert_ne!(a.parcels, c.parcels);
    }

    #[test]
    fn every_mode_and_failure_appears_in_a_large_enough_world() {
        let w = world(5_000);
        for mode in [
            Mode::Fbo,
            Mode::FbsCrossborder,
            Mode::Rfbs,
            Mode::DirectMail,
        ] {
            assert!(w.parcels.iter().any(|p| p.mode == mode), "{mode:?}");
        }
        let kinds = [
            FailureKind::Stall,
            FailureKind::Lost,
            FailureKind::CustomsHold,
            FailureKind::HandoverBreak,
            FailureKind::PostalSilence,
            FailureKind::LateTracking,
            FailureKind::MissingTracking,
            FailureKind::Disputed,
            FailureKind::Returned,
            FailureKind::NonWhitelistedCarrier,
        ];
        for kind in kinds {
            assert!(
                w.parcels
                    .iter()
                    .any(|p| p.failures.iter().any(|f| f.kind == kind)),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn journeys_run_forward_in_time_and_become_visible_after_they_happen() {
        for p in &world(2_000).parcels {
            for leg in p.legs() {
                assert!(
                    leg.events.windows(2).all(|w| w[0].at <= w[1].at),
                    "{}",
                    p.posting_number
                );
                assert!(leg.events.iter().all(|e| e.visible_at >= e.at));
            }
            assert!(
                p.ozon.windows(2).all(|w| w[0].at <= w[1].at),
                "{}",
                p.posting_number
            );
        }
    }

    #[test]
    fn healthy_crossborder_parcels_take_ten_to_twenty_five_days_and_fbo_three_to_seven() {
        let w = world(3_000);
        for p in w.parcels.iter().filter(|p| p.failures.is_empty()) {
            let days = (p.delivered_at.unwrap() - p.ordered_at).num_hours() as f64 / 24.0;
            match p.mode {
                Mode::Fbo => assert!((1.0..=7.5).contains(&days), "FBO took {days} days"),
                _ => assert!(
                    (7.0..=25.0).contains(&days),
                    "{:?} took {days} days",
                    p.mode
                ),
            }
        }
    }

    fn endless(parcels: u32) -> World {
        World::generate(WorldConfig {
            parcels,
            endless: true,
            ..WorldConfig::default()
        })
    }

    #[test]
    fn epoch_zero_of_an_endless_world_is_the_finite_world_of_the_same_config() {
        let (finite, endless) = (world(500), endless(500));
        assert_eq!(finite.parcels, endless.parcels);
        assert_eq!(finite.outages, endless.outages);
        assert_eq!(endless.parcels_of_epoch(0), endless.parcels);
    }

    #[test]
    fn every_epoch_of_an_endless_world_places_its_orders_in_its_own_span_with_new_numbers() {
        let w = endless(300);
        let span = w.config.order_span;
        let mut numbers = std::collections::HashSet::new();
        for epoch in [0, 1, 2, 40, 120] {
            let from = w.config.start + span * epoch;
            let parcels = w.parcels_of_epoch(epoch as u32);
            assert_eq!(parcels.len(), 300);
            assert!(
                parcels
                    .iter()
                    .all(|p| from <= p.ordered_at && p.ordered_at < from + span),
                "epoch {epoch}"
            );
            assert!(
                parcels
                    .windows(2)
                    .all(|p| p[0].ordered_at <= p[1].ordered_at)
            );
            assert!(
                parcels
                    .iter()
                    .all(|p| numbers.insert(p.posting_number.clone())),
                "a posting number of epoch {epoch} was seen before"
            );
            assert_eq!(w.epoch_at(parcels[0].ordered_at), epoch as u32);
            let outages = w.outages_of_epoch(epoch as u32);
            assert_eq!(outages.len(), w.config.outages as usize);
            assert!(
                outages
                    .iter()
                    .all(|o| from <= o.from && o.from < from + span * 2)
            );
        }
    }

    #[test]
    fn a_late_epoch_has_the_same_mix_of_modes_and_failures_as_the_first() {
        let w = endless(5_000);
        let share = |parcels: &[Parcel], pick: &dyn Fn(&Parcel) -> bool| {
            parcels.iter().filter(|p| pick(p)).count() as f64 / parcels.len() as f64
        };
        let (first, late) = (w.parcels_of_epoch(0), w.parcels_of_epoch(37));
        for mode in [
            Mode::Fbo,
            Mode::FbsCrossborder,
            Mode::Rfbs,
            Mode::DirectMail,
        ] {
            let pick = |p: &Parcel| p.mode == mode;
            let (a, b) = (share(&first, &pick), share(&late, &pick));
            assert!((a - b).abs() < 0.03, "{mode:?}: {a} then {b}");
        }
        let failing = |p: &Parcel| !p.failures.is_empty();
        let (a, b) = (share(&first, &failing), share(&late, &failing));
        assert!((a - b).abs() < 0.03, "failing: {a} then {b}");
    }

    #[test]
    fn a_finite_world_stays_in_epoch_zero_whatever_the_time() {
        let w = world(100);
        assert_eq!(w.epoch_at(w.config.start + Duration::days(3_650)), 0);
        assert_eq!(endless(100).epoch_at(w.config.start - Duration::days(1)), 0);
    }

    #[test]
    fn postings_numbers_and_tracking_numbers_parse_as_the_domain_expects() {
        for p in &world(1_000).parcels {
            ozontrack_domain::PostingNumber::parse(&p.posting_number).unwrap();
            for leg in p.legs() {
                ozontrack_domain::TrackingNumber::parse(&leg.tracking_number).unwrap();
            }
        }
    }
}
