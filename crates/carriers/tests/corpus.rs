//! The corpus of real published carrier bodies (`tests/corpus/SOURCES.md`) decodes without
//! refusing an answer and with the right values; an event without a readable time is left out
//! alone; and every body, re-sent with its fields in the other shapes the decoding policy
//! promises to read, decodes to the same events with only those fields changed to absent.

#![allow(clippy::unwrap_used)]

use ozontrack_carriers::{CarrierError, Tracked, cdek, seventeen_track};
use ozontrack_domain::MainStatus;
use ozontrack_http::lenient::Notes;
use ozontrack_http::lenient::mutants;
use proptest::prelude::*;
use serde_json::Value;

/// What a body decodes to, without the payload digests (they hash the bytes, which mutation
/// changes by design).
fn decode(name: &str, body: &[u8]) -> Result<(Vec<Tracked>, Notes), CarrierError> {
    let (mut tracked, notes) = if name.starts_with("17track-trackinfo") {
        let (tracked, _, notes) = seventeen_track::parse_track_info_noted(body)?;
        (tracked, notes)
    } else if name.starts_with("17track-push") {
        let (push, notes) = seventeen_track::parse_push_noted(body)?;
        (vec![push.tracked], notes)
    } else {
        let (tracked, notes) = cdek::parse_order_noted("1106207236", body)?;
        (vec![tracked], notes)
    };
    for t in &mut tracked {
        for e in &mut t.events {
            e.payload_digest = None;
        }
    }
    Ok((tracked, notes))
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    mutants::corpus(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"))
}

fn body(name: &str) -> Vec<u8> {
    corpus().into_iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn every_published_body_decodes_without_refusing_the_answer() {
    let files = corpus();
    assert!(files.len() >= 5, "the corpus is in tests/corpus");
    for (name, bytes) in files {
        let (tracked, _) = decode(&name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(tracked.len(), 1, "{name}");
        assert!(!tracked[0].events.is_empty(), "{name}: no event read");
    }
}

#[test]
fn string_coordinates_place_the_event_and_an_empty_one_is_no_point() {
    let name = "17track-trackinfo.string-coordinates.json";
    let (tracked, notes) = decode(name, &body(name)).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    let events = &tracked[0].events;
    assert_eq!(events.len(), 2);
    let arrived = events.last().unwrap();
    let point = arrived.location.point.unwrap();
    assert!((point.lat() - 34.0522).abs() < 1e-9 && (point.lon() + 118.2437).abs() < 1e-9);
    assert_eq!(events[0].location.city.as_deref(), Some("Shenzhen"));
}

#[test]
fn the_published_17track_answers_read_their_events_oldest_first() {
    let name = "17track-trackinfo.trackage.json";
    let (tracked, notes) = decode(name, &body(name)).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    let t = &tracked[0];
    assert_eq!(t.number, "RR123456789CN");
    assert_eq!(t.events.len(), 4);
    assert_eq!(t.events[0].raw_text, "Order information received");
    assert_eq!(t.events[3].status.main, MainStatus::Delivered);
    let name = "17track-trackinfo.home-assistant.json";
    let (tracked, _) = decode(name, &body(name)).unwrap();
    assert_eq!(tracked[0].events.len(), 2);
    assert!(
        tracked[0]
            .events
            .iter()
            .all(|e| e.location.point.is_none() || e.location.city.is_some())
    );
}

#[test]
fn an_event_without_an_offset_is_left_out_alone_and_named() {
    let name = "17track-push.naive-time.json";
    let (tracked, notes) = decode(name, &body(name)).unwrap();
    assert_eq!(
        tracked[0].events.len(),
        1,
        "the event with its time is kept"
    );
    assert_eq!(tracked[0].events[0].raw_text, "Out for Delivery, USPS");
    assert_eq!(notes.refused.len(), 1);
    assert_eq!(
        notes.refused[0].item,
        "data.track_info.tracking.providers[0].events[0]"
    );
    assert!(
        notes.refused[0].reason.contains("2022-08-18T10:22:00"),
        "{}",
        notes.refused[0].reason
    );
}

#[test]
fn a_cdek_status_without_a_time_is_left_out_and_the_others_are_kept() {
    let name = "cdek-order.docs.json";
    let (tracked, notes) = decode(name, &body(name)).unwrap();
    let codes: Vec<&str> = tracked[0]
        .events
        .iter()
        .map(|e| e.raw_code.as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "CREATED",
            "RECEIVED_AT_SHIPMENT_WAREHOUSE",
            "ACCEPTED_AT_PICK_UP_POINT",
            "DELIVERED"
        ]
    );
    assert_eq!(notes.refused[0].item, "entity.statuses[2]");
    assert_eq!(tracked[0].number, "1106207236");
}

#[test]
fn every_field_of_every_body_read_in_each_other_shape_changes_only_that_field() {
    let mut checked = 0;
    for (name, bytes) in corpus() {
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        for pick in mutants::mutations(&body) {
            let (sent, expected) = mutants::apply(&body, std::slice::from_ref(&pick));
            let got = decode(&name, &sent);
            let want = decode(&name, &expected);
            match (got, want) {
                (Ok(got), Ok(want)) => {
                    assert_eq!(got.0, want.0, "{name}: {:?} sent as {}", pick.0, pick.1);
                }
                // Only the envelope's own identifiers may refuse the whole answer, and then
                // both must.
                (Err(_), Err(_)) => {}
                (got, want) => panic!(
                    "{name}: {:?} sent as {}: {:?} vs {:?}",
                    pick.0,
                    pick.1,
                    got.err(),
                    want.err()
                ),
            }
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked} mutations");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Several fields in other shapes at once: each reads as its value or as absent.
    #[test]
    fn several_fields_in_other_shapes_at_once_change_only_those_fields(
        file in any::<prop::sample::Index>(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..8),
    ) {
        let files = corpus();
        let (name, bytes) = &files[file.index(files.len())];
        let body: Value = serde_json::from_slice(bytes).unwrap();
        let all = mutants::mutations(&body);
        let chosen: Vec<_> = picks.iter().map(|i| all[i.index(all.len())].clone()).collect();
        let (sent, expected) = mutants::apply(&body, &chosen);
        let got = decode(name, &sent).map(|d| d.0).map_err(|e| e.to_string());
        let want = decode(name, &expected).map(|d| d.0).map_err(|e| e.to_string());
        prop_assert_eq!(got.is_ok(), want.is_ok());
        if let (Ok(got), Ok(want)) = (got, want) {
            prop_assert_eq!(got, want);
        }
    }
}
