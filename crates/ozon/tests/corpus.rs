//! The corpus of real published Ozon bodies (`tests/corpus/SOURCES.md`) decodes without refusing
//! an answer and with the right values; and every body, re-sent with its fields in the other
//! shapes the decoding policy promises to read, decodes to the same postings with only those
//! fields changed to absent.

#![allow(clippy::unwrap_used)]

use ozontrack_domain::{Currency, Money, OzonStatus, StoreId};
use ozontrack_http::lenient::mutants;
use ozontrack_ozon::normalize;
use ozontrack_ozon::wire::{self, Envelope, FboPosting, FbsPosting, Page};
use proptest::prelude::*;
use serde_json::Value;

/// A corpus body decoded as the method it answers (told by the file name). Test values only:
/// the size of a variant does not matter.
#[derive(Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
enum Answer {
    FbsList(Page<FbsPosting>),
    FboList(Page<FboPosting>),
    FbsGet(Envelope<FbsPosting>),
    FboGet(Envelope<FboPosting>),
}

impl Answer {
    fn postings(&self) -> usize {
        match self {
            Answer::FbsList(p) => p.postings.len(),
            Answer::FboList(p) => p.postings.len(),
            Answer::FbsGet(e) => usize::from(e.result.is_some()),
            Answer::FboGet(e) => usize::from(e.result.is_some()),
        }
    }
}

/// A page's refusals compared by place only: a field refused as missing or as unreadable is
/// the same refusal.
fn by_place<T>(mut page: Page<T>) -> Page<T> {
    for r in &mut page.refused {
        r.reason.clear();
    }
    page
}

fn decode(
    name: &str,
    body: &[u8],
) -> Result<(Answer, ozontrack_http::lenient::Notes), wire::DecodeError> {
    Ok(if name.starts_with("fbs-list") {
        let d = wire::decode::<Page<FbsPosting>>(body)?;
        (Answer::FbsList(by_place(d.value)), d.notes)
    } else if name.starts_with("fbo-list") {
        let d = wire::decode::<Page<FboPosting>>(body)?;
        (Answer::FboList(by_place(d.value)), d.notes)
    } else if name.starts_with("fbs-get") {
        let d = wire::decode::<Envelope<FbsPosting>>(body)?;
        (Answer::FbsGet(d.value), d.notes)
    } else {
        let d = wire::decode::<Envelope<FboPosting>>(body)?;
        (Answer::FboGet(d.value), d.notes)
    })
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    mutants::corpus(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"))
}

fn body(name: &str) -> Vec<u8> {
    corpus().into_iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn every_published_body_decodes_to_its_postings_without_refusing_the_answer() {
    let files = corpus();
    assert!(files.len() >= 7, "the corpus is in tests/corpus");
    for (name, bytes) in files {
        let (answer, notes) = decode(&name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(answer.postings() > 0, "{name}: no posting read");
        assert!(notes.refused.is_empty(), "{name}: {:?}", notes.refused);
        let normalized = match &answer {
            Answer::FbsList(p) => p
                .postings
                .iter()
                .map(|p| normalize::fbs(StoreId(1), p))
                .collect::<Vec<_>>(),
            Answer::FbsGet(e) => e
                .result
                .iter()
                .map(|p| normalize::fbs(StoreId(1), p))
                .collect(),
            Answer::FboList(p) => p
                .postings
                .iter()
                .map(|p| normalize::fbo(StoreId(1), p))
                .collect(),
            Answer::FboGet(e) => e
                .result
                .iter()
                .map(|p| normalize::fbo(StoreId(1), p))
                .collect(),
        };
        for n in normalized {
            n.unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[test]
fn the_go_sdk_answers_read_their_values() {
    let (answer, notes) = decode("fbo-get.go-sdk.json", &body("fbo-get.go-sdk.json")).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    let Answer::FboGet(e) = answer else {
        unreachable!()
    };
    let p = e.result.unwrap();
    assert_eq!(p.posting_number, "50520644-0012-7");
    assert_eq!(p.order_id, Some(354_679_434));
    assert_eq!(
        p.analytics_data.unwrap().warehouse_id,
        Some(15_431_806_189_000)
    );
    let n = normalize::fbo(
        StoreId(1),
        &wire::decode::<Envelope<FboPosting>>(&body("fbo-get.go-sdk.json"))
            .unwrap()
            .value
            .result
            .unwrap(),
    )
    .unwrap();
    assert_eq!(n.posting.status, OzonStatus::Delivered);
    assert_eq!(
        n.posting.total,
        Some(Money::from_minor(13_700, Currency::Rub))
    );

    let (answer, _) = decode("fbo-list-v2.go-sdk.json", &body("fbo-list-v2.go-sdk.json")).unwrap();
    let Answer::FboList(page) = answer else {
        unreachable!()
    };
    assert_eq!(
        page.postings[0].analytics_data.as_ref().unwrap().city,
        "Ростов-на-Дону"
    );
    assert!(
        page.postings[0].in_process_at.is_some(),
        "fractional seconds …30.12Z"
    );
}

#[test]
fn the_documented_v4_list_reads_price_objects_and_empty_places() {
    let (answer, notes) = decode(
        "fbs-list-v4.docs-zh.json",
        &body("fbs-list-v4.docs-zh.json"),
    )
    .unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    let Answer::FbsList(page) = answer else {
        unreachable!()
    };
    let p = &page.postings[0];
    assert_eq!(p.products[0].price, ("300".into(), Some("RUB".into())));
    let n = normalize::fbs(StoreId(1), p).unwrap();
    assert_eq!(n.posting.buyer_city, None, "an empty city is no city");
    assert_eq!(
        n.posting.total,
        Some(Money::from_minor(30_000, Currency::Rub))
    );
}

#[test]
fn a_placeholder_date_and_a_naive_time_leave_out_those_fields_and_the_posting_syncs() {
    let d = wire::decode::<Envelope<FboPosting>>(&body("fbo-get.placeholder-date.json")).unwrap();
    let p = d.value.result.unwrap();
    assert_eq!(p.fact_delivery_date, None);
    assert_eq!(p.in_process_at, None);
    assert!(p.created_at.is_some());
    assert_eq!(p.products[0].quantity, 1, "a quantity sent as text");
    assert_eq!(p.products[0].price.0, "137", "a price sent as a number");
    assert_eq!(
        p.analytics_data.unwrap().warehouse_id,
        Some(15_431_806_189_000)
    );
    let degraded: Vec<(&str, &str)> = d
        .notes
        .degraded
        .iter()
        .map(|n| (n.field.as_str(), n.expected))
        .collect();
    assert_eq!(
        degraded,
        [("result.in_process_at", "a time with its offset")]
    );
    assert_eq!(d.notes.degraded[0].raw, "\"2021-09-01 00:34:56\"");
}

#[test]
fn the_documentation_placeholders_read_as_absent_values() {
    let d =
        wire::decode::<Envelope<FboPosting>>(&body("fbo-get.openapi-placeholders.json")).unwrap();
    let p = d.value.result.unwrap();
    assert_eq!(p.order_id, None, "0 is no id");
    assert_eq!(p.fact_delivery_date, None);
    assert_eq!(p.status, "string", "an unknown status is kept as sent");
    assert!(d.notes.is_empty(), "{:?}", d.notes);
}

#[test]
fn every_field_of_every_body_read_in_each_other_shape_changes_only_that_field() {
    let mut checked = 0;
    for (name, bytes) in corpus() {
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        for pick in mutants::mutations(&body) {
            let (sent, expected) = mutants::apply(&body, std::slice::from_ref(&pick));
            let got = decode(&name, &sent)
                .unwrap_or_else(|e| panic!("{name} {:?} = {}: refused whole: {e}", pick.0, pick.1));
            let want = decode(&name, &expected).unwrap();
            assert_eq!(got.0, want.0, "{name}: {:?} sent as {}", pick.0, pick.1);
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} mutations");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Several fields in other shapes at once: each reads as its value or as absent, and no
    /// posting is lost unless its own number was among them.
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
        let got = decode(name, &sent);
        prop_assert!(got.is_ok(), "{name}: refused whole: {:?}", got.err());
        let want = decode(name, &expected).unwrap();
        prop_assert_eq!(got.unwrap().0, want.0);
    }
}
