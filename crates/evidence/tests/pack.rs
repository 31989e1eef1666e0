//! The pack from a hand-made trail: what the JSON holds, that the manifest verifies and catches
//! a changed byte, that the same input gives the same bytes, and (with `pdf`) that the PDF's text
//! carries every event in Chinese and Russian and a long trail paginates.

// In tests a panic is the failure report, so helpers unwrap freely.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Read, Write};

use chrono::{DateTime, Duration, TimeZone, Utc};
use ozontrack_domain::trail::{Trail, TrailLeg, TrailStore};
use ozontrack_domain::{
    CarrierCode, CarrierSource, ClientId, Currency, EventSource, Handover, Language, Leg, LegRole,
    Location, MainStatus, Money, NormalizedStatus, OzonStatus, Posting, PostingId, PostingNumber,
    Product, Promise, Scheme, StoreId, StoreName, StoreSettings, SubStatus, TrackingEvent,
    TrackingNumber,
};
use ozontrack_evidence::{Attachment, Document, Input, build, verify};

fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 2, 0, 0).unwrap() + Duration::hours(hours)
}

fn event(
    source: EventSource,
    hours: i64,
    sub: SubStatus,
    main: MainStatus,
    code: &str,
    text: &str,
    place: &str,
) -> TrackingEvent {
    let mut e = TrackingEvent::new(
        source,
        at(hours),
        NormalizedStatus::new(main, sub),
        code,
        text,
        Location {
            text: Some(place.to_owned()),
            ..Location::default()
        },
    );
    e.received_at = Some(at(hours) + Duration::minutes(37));
    e.payload_digest = Some(format!("sha256:{hours:064x}"));
    e
}

fn leg(carrier: &str, number: &str, role: LegRole, events: Vec<TrackingEvent>) -> TrailLeg {
    TrailLeg {
        leg: Leg {
            carrier: CarrierCode::parse(carrier).unwrap(),
            tracking_number: TrackingNumber::parse(number).unwrap(),
            role,
        },
        status: events.last().map(|e| e.status.clone()),
        last_event_at: events.last().map(|e| e.occurred_at),
        next_check_at: None,
        tracked_since: at(0),
        carrier_source: CarrierSource::Detected,
        carrier_set_by: None,
        carrier_set_at: None,
        continues: None,
        events,
    }
}

/// A disputed cross-border parcel: Yanwen in China, Russian Post to the buyer, delivered with
/// a simple e-signature; `extra` more transit events on the first mile.
fn trail(extra: usize) -> Trail {
    let mut posting = Posting::new(
        StoreId(1),
        PostingNumber::parse("0132112277-0101-1").unwrap(),
        Scheme::Rfbs,
        OzonStatus::ClientArbitration,
    );
    posting.tracking_number = Some(TrackingNumber::parse("RA123456785RU").unwrap());
    posting.in_process_at = Some(at(0));
    posting.delivered_at = Some(at(300));
    posting.promised = Promise::of(Some(at(280)), Some(at(292)));
    posting.buyer_city = Some("Kazan".to_owned());
    posting.total = Some(Money::from_minor(249_900, Currency::Rub));
    let mut first = vec![event(
        EventSource::SeventeenTrack,
        6,
        SubStatus::PickedUp,
        MainStatus::InTransit,
        "PU",
        "Shipment picked up",
        "SHENZHEN, CN",
    )];
    for i in 0..extra {
        first.push(event(
            EventSource::SeventeenTrack,
            7 + i as i64 / 4,
            SubStatus::Sorting,
            MainStatus::InTransit,
            "SO",
            &format!("Sorting scan {i} at the export hub"),
            "GUANGZHOU, CN",
        ));
    }
    let mut delivered = event(
        EventSource::RussianPost,
        300,
        SubStatus::Delivered,
        MainStatus::Delivered,
        "2.13",
        "Вручение / Вручение адресату с простой электронной подписью",
        "КАЗАНЬ 420000",
    )
    .with_handover(
        Some(Handover::ESignature),
        Some("Иванова Анна Сергеевна".to_owned()),
    );
    delivered.location.city = Some("Kazan".to_owned());
    let last = vec![
        event(
            EventSource::RussianPost,
            200,
            SubStatus::CustomsReleased,
            MainStatus::InTransit,
            "14.1",
            "Таможенное оформление / Выпущено таможней",
            "МОСКВА ЦМП",
        ),
        delivered,
    ];
    let ozon = vec![event(
        EventSource::Ozon,
        302,
        SubStatus::Delivered,
        MainStatus::Delivered,
        "delivered",
        "posting_delivered",
        "",
    )];
    Trail::new(
        PostingId(7),
        posting,
        TrailStore {
            id: StoreId(1),
            name: StoreName::parse("Shenzhen Gadgets").unwrap(),
            settings: StoreSettings::default(),
        },
        at(302),
        vec![
            leg("ozon", "0132112277-0101-1", LegRole::LastMile, ozon),
            leg("yanwen", "UG123456789YP", LegRole::FirstMile, first),
            leg("russian_post", "RA123456785RU", LegRole::LastMile, last),
        ],
        Vec::new(),
        None,
    )
}

fn products() -> Vec<Product> {
    vec![Product {
        sku: Some(1_234_567),
        offer_id: "0042-BLK".to_owned(),
        name: "Беспроводные наушники 无线耳机".to_owned(),
        quantity: 1,
        price: Some(Money::from_minor(249_900, Currency::Rub)),
    }]
}

fn video() -> Attachment {
    let content = b"not really a video, but bytes all the same".to_vec();
    Attachment {
        file_name: "packing.mp4".to_owned(),
        media_type: "video/mp4".to_owned(),
        sha256: ozontrack_evidence::sha256(&content),
        taken_at: Some(at(1)),
        added_at: at(320),
        added_by: "alice".to_owned(),
        content,
    }
}

fn input<'a>(trail: &'a Trail, products: &'a [Product], files: &'a [Attachment]) -> Input<'a> {
    Input {
        trail,
        client_id: Some(ClientId::parse("1234567").unwrap()),
        products,
        attachments: files,
        generated_at: at(330),
        version: "0.1.0",
        languages: &[Language::Zh, Language::Ru],
    }
}

fn entry(zip: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut out = Vec::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn the_json_holds_every_event_with_its_source_receipt_and_the_delivery_proof() {
    let trail = trail(0);
    let products = products();
    let files = [video()];
    let pack = build(&input(&trail, &products, &files)).unwrap();
    let doc: Document = serde_json::from_slice(&entry(&pack.bytes, "evidence.json")).unwrap();
    assert_eq!(doc.schema, "ozontrack.evidence/1");
    assert_eq!(
        (doc.posting.promised_from, doc.posting.promised_to),
        (Some(at(280)), Some(at(292))),
        "Ozon's promise beside the delivery it was not kept by"
    );
    assert_eq!(doc.store.client_id.as_deref(), Some("****567"));
    assert_eq!(doc.ozon_timeline.len(), 1);
    assert_eq!(
        doc.legs.len(),
        2,
        "Ozon's own leg is its timeline, not a carrier leg"
    );
    for (leg, expected) in doc.legs.iter().zip(trail.carrier_legs()) {
        assert_eq!(leg.events.len(), expected.events.len());
        for (e, x) in leg.events.iter().zip(&expected.events) {
            assert_eq!(e.raw_code, x.raw_code);
            assert_eq!(e.source, x.source.as_str());
            assert_eq!(e.received_at, x.received_at);
            assert_eq!(e.payload_digest, x.payload_digest);
        }
    }
    let delivery = doc.delivery.unwrap();
    assert_eq!(delivery.carrier, "russian_post");
    assert_eq!(delivery.event.handover.as_deref(), Some("e_signature"));
    assert_eq!(
        delivery.event.recipient.as_deref(),
        Some("Иванова Анна Сергеевна")
    );
    // Kazan is UTC+3.
    assert_eq!(
        delivery.event.local_time.unwrap().to_rfc3339(),
        "2026-11-13T17:00:00+03:00"
    );
    // The Russian Post delivery and Ozon's are one happening two hours apart: shown, not merged.
    assert_eq!(doc.conflicts.len(), 1);
    assert_eq!(doc.conflicts[0].reports.len(), 2);
    assert_eq!(doc.deadlines.len(), 4);
    assert_eq!(doc.attachments[0].path, "attachments/01-packing.mp4");
    assert_eq!(
        entry(&pack.bytes, "attachments/01-packing.mp4"),
        files[0].content
    );
}

#[test]
fn the_manifest_verifies_and_any_changed_byte_is_caught() {
    let trail = trail(0);
    let products = products();
    let files = [video()];
    let pack = build(&input(&trail, &products, &files)).unwrap();
    let checked = verify(&pack.bytes).unwrap();
    assert!(checked.is_intact(), "{:?}", checked.problems);
    assert_eq!(checked.manifest.payloads.len(), 4);
    let listed: Vec<&str> = checked
        .manifest
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert!(listed.contains(&"evidence.json"));
    assert!(listed.contains(&"attachments/01-packing.mp4"));
    assert_eq!(
        listed.contains(&"evidence.pdf"),
        ozontrack_evidence::WITH_PDF
    );

    // The attachment is stored uncompressed: flip one byte of it inside the zip.
    let needle = b"really a video";
    let at = pack
        .bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut changed = pack.bytes.clone();
    changed[at] ^= 0x20;
    let checked = verify(&changed).unwrap();
    assert!(!checked.is_intact());
    assert!(
        checked
            .problems
            .iter()
            .any(|p| p.starts_with("attachments/01-packing.mp4")),
        "{:?}",
        checked.problems
    );

    // A file rewritten whole, with a valid zip around it, is caught by the manifest.
    let mut archive = zip::ZipArchive::new(Cursor::new(&pack.bytes[..])).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let mut content = Vec::new();
        f.read_to_end(&mut content).unwrap();
        if name == "evidence.json" {
            content = String::from_utf8(content)
                .unwrap()
                .replace("Иванова Анна Сергеевна", "Петров Пётр Петрович")
                .into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&content).unwrap();
    }
    let forged = out.finish().unwrap().into_inner();
    let checked = verify(&forged).unwrap();
    assert!(!checked.is_intact());
    assert!(
        checked.problems[0].starts_with("evidence.json has changed"),
        "{:?}",
        checked.problems
    );
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let trail = trail(3);
    let products = products();
    let files = [video()];
    let one = build(&input(&trail, &products, &files)).unwrap();
    let two = build(&input(&trail, &products, &files)).unwrap();
    assert_eq!(
        one.file_name,
        "evidence-0132112277-0101-1-20261114T200000Z.zip"
    );
    assert!(one.bytes == two.bytes, "two builds differ");
}

#[cfg(feature = "pdf")]
mod pdf {
    use std::path::PathBuf;
    use std::process::Command;

    use super::*;

    fn screenshots() -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Whether poppler-utils is here; with `CI` set it must be (`.ci/run` installs it).
    fn poppler() -> bool {
        let here = Command::new("pdftotext").arg("-v").output().is_ok();
        assert!(
            here || std::env::var_os("CI").is_none(),
            "CI is set but pdftotext (poppler-utils) is missing"
        );
        if !here {
            eprintln!("skipped: no pdftotext (apt-get install poppler-utils)");
        }
        here
    }

    /// `pdftotext` (poppler-utils) of the pack's PDF.
    fn text_of(pdf: &[u8], name: &str) -> String {
        let path = screenshots().join(name);
        std::fs::write(&path, pdf).unwrap();
        let out = Command::new("pdftotext")
            .args(["-layout", "-enc", "UTF-8"])
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils) is installed");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn the_pdf_reads_every_event_in_chinese_and_russian() {
        if !poppler() {
            return;
        }
        let trail = trail(0);
        let products = products();
        let files = [video()];
        let pack = build(&input(&trail, &products, &files)).unwrap();
        let pdf = entry(&pack.bytes, "evidence.pdf");
        let text = text_of(&pdf, "evidence-small.pdf");
        for needle in [
            "妥投证据",
            "Доказательства доставки",
            "0132112277-0101-1",
            "Иванова Анна Сергеевна",
            "простой электронной подписью",
            "Shipment picked up",
            "Выпущено таможней",
            "****567",
            "packing.mp4",
            "请驳回买家未收到货的申诉",
            "Просим отклонить претензию покупателя",
            "docs.ozon.ru",
        ] {
            assert!(
                text.contains(needle),
                "{needle:?} is not in the PDF text:\n{text}"
            );
        }
        for digest in ["000000000006", "00000000012c"] {
            assert!(text.contains(digest), "payload {digest} is not in the PDF");
        }
    }

    #[test]
    fn a_300_event_trail_paginates_and_the_pages_render() {
        if !poppler() {
            return;
        }
        let trail = trail(298);
        let products = products();
        let pack = build(&input(&trail, &products, &[])).unwrap();
        let pdf = entry(&pack.bytes, "evidence.pdf");
        let text = text_of(&pdf, "evidence-300.pdf");
        assert!(text.contains("Sorting scan 0 at the export hub"));
        assert!(text.contains("Sorting scan 297 at the export hub"));
        let out = Command::new("pdftoppm")
            .args(["-png", "-r", "60"])
            .arg(screenshots().join("evidence-300.pdf"))
            .arg(screenshots().join("evidence-300"))
            .status()
            .expect("pdftoppm (poppler-utils) is installed");
        assert!(out.success());
        let rendered = std::fs::read_dir(screenshots())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("evidence-300-"))
            .count();
        assert!(
            rendered >= 6,
            "300 events should take several pages, got {rendered}"
        );
    }
}
