//! One timeline for a posting: every leg's events (Ozon's own, the first-mile carrier's, the
//! last-mile carrier's) in time order, with the same happening reported by two sources folded
//! into one entry, and each entry placed on the map when its location names a known city.

use chrono::{DateTime, Duration, Utc};

use crate::event::{EventSource, Location, TrackingEvent};
use crate::status::{MainStatus, NormalizedStatus};
use crate::store::Language;

/// One line of the merged timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub occurred_at: DateTime<Utc>,
    pub status: NormalizedStatus,
    /// The carrier of the leg the first report came from (our code).
    pub carrier: String,
    /// The first report's own text, verbatim.
    pub text: String,
    pub location: Location,
    /// Every source that reported it, first reporter first.
    pub sources: Vec<EventSource>,
}

/// Reports of the same happening from different sources are at most this far apart.
const FOLD_WINDOW_HOURS: i64 = 2;

/// Merges the events of a posting's legs, given as `(carrier, events)`.
pub fn merge<'a>(legs: impl IntoIterator<Item = (&'a str, &'a [TrackingEvent])>) -> Vec<Entry> {
    let mut all: Vec<(&str, &TrackingEvent)> = legs
        .into_iter()
        .flat_map(|(carrier, events)| events.iter().map(move |e| (carrier, e)))
        .collect();
    all.sort_by_key(|(_, e)| e.occurred_at);
    let mut out: Vec<Entry> = Vec::with_capacity(all.len());
    for (carrier, e) in all {
        let window = Duration::hours(FOLD_WINDOW_HOURS);
        let same = out
            .iter_mut()
            .rev()
            .take_while(|entry| e.occurred_at - entry.occurred_at <= window)
            .find(|entry| entry.status == e.status && !entry.sources.contains(&e.source));
        if let Some(entry) = same {
            entry.sources.push(e.source.clone());
            if entry.location.point.is_none() {
                entry.location = e.location.clone().placed();
            }
            continue;
        }
        out.push(Entry {
            occurred_at: e.occurred_at,
            status: e.status.clone(),
            carrier: carrier.to_owned(),
            text: e.raw_text.clone(),
            location: e.location.clone().placed(),
            sources: vec![e.source.clone()],
        });
    }
    out
}

/// A main status in a seller's or buyer's language.
pub fn label(status: MainStatus, language: Language) -> &'static str {
    use Language::{En, Ru, Zh};
    use MainStatus as M;
    match (status, language) {
        (M::Pending, Zh) => "待处理",
        (M::Pending, Ru) => "Ожидает",
        (M::Pending, En) => "Pending",
        (M::InfoReceived, Zh) => "已登记",
        (M::InfoReceived, Ru) => "Зарегистрировано",
        (M::InfoReceived, En) => "Info received",
        (M::InTransit, Zh) => "运输中",
        (M::InTransit, Ru) => "В пути",
        (M::InTransit, En) => "In transit",
        (M::OutForDelivery, Zh) => "派送中",
        (M::OutForDelivery, Ru) => "Передано курьеру",
        (M::OutForDelivery, En) => "Out for delivery",
        (M::AvailableForPickup, Zh) => "待取件",
        (M::AvailableForPickup, Ru) => "Ожидает в пункте выдачи",
        (M::AvailableForPickup, En) => "Available for pickup",
        (M::DeliveryFailed, Zh) => "投递失败",
        (M::DeliveryFailed, Ru) => "Неудачная попытка вручения",
        (M::DeliveryFailed, En) => "Delivery failed",
        (M::Delivered, Zh) => "已签收",
        (M::Delivered, Ru) => "Вручено",
        (M::Delivered, En) => "Delivered",
        (M::Exception, Zh) => "异常",
        (M::Exception, Ru) => "Проблема",
        (M::Exception, En) => "Exception",
        (M::Expired, Zh) => "无更新",
        (M::Expired, Ru) => "Нет обновлений",
        (M::Expired, En) => "No updates",
        (M::Cancelled, Zh) => "已取消",
        (M::Cancelled, Ru) => "Отменено",
        (M::Cancelled, En) => "Cancelled",
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::status::SubStatus;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn event(
        source: EventSource,
        h: i64,
        main: MainStatus,
        sub: SubStatus,
        place: &str,
    ) -> TrackingEvent {
        TrackingEvent::new(
            source,
            at(h),
            NormalizedStatus::new(main, sub),
            "c",
            format!("{main:?} at {place}"),
            Location {
                text: Some(place.to_owned()),
                ..Location::default()
            },
        )
    }

    #[test]
    fn legs_merge_in_time_order_and_a_delivery_reported_twice_is_one_entry() {
        let first = [
            event(
                EventSource::SeventeenTrack,
                1,
                MainStatus::InTransit,
                SubStatus::PickedUp,
                "SHENZHEN, CN",
            ),
            event(
                EventSource::SeventeenTrack,
                50,
                MainStatus::InTransit,
                SubStatus::HandedToLastMile,
                "Moscow",
            ),
        ];
        let last = [event(
            EventSource::RussianPost,
            90,
            MainStatus::Delivered,
            SubStatus::Delivered,
            "КАЗАНЬ ПОЧТАМТ",
        )];
        let ozon = [event(
            EventSource::Ozon,
            91,
            MainStatus::Delivered,
            SubStatus::Delivered,
            "",
        )];
        let merged = merge([
            ("ozon", &ozon[..]),
            ("yanwen", &first[..]),
            ("russian_post", &last[..]),
        ]);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0].carrier, "yanwen");
        assert_eq!(merged[0].location.city.as_deref(), Some("Shenzhen"));
        assert!(merged[0].location.point.is_some());
        assert_eq!(merged[2].carrier, "russian_post");
        assert_eq!(
            merged[2].sources,
            [EventSource::RussianPost, EventSource::Ozon]
        );
        assert_eq!(merged[2].location.city.as_deref(), Some("Kazan"));
    }

    #[test]
    fn every_main_status_has_a_label_in_every_language() {
        for status in MainStatus::ALL {
            for language in Language::ALL {
                assert!(!label(status, language).is_empty());
            }
        }
    }
}
