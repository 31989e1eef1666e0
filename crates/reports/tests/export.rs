//! The postings export as a spreadsheet program reads it: every row back once with its values
//! in each profile and language, hostile text inert, XLSX cells typed, an interrupted export
//! leaving nothing that looks complete, parts cut at N rows in one zip.

#![allow(clippy::unwrap_used)]

use std::io::Read as _;

use chrono::{DateTime, TimeZone, Utc};
use ozontrack_domain::finding::{Reason, Severity, Why};
use ozontrack_domain::{Currency, Language, Money, OzonStatus, OzonSubstatus, Scheme};
use ozontrack_i18n::Tr;
use ozontrack_reports::postings::layout;
use ozontrack_reports::{
    Batch, Column, ExportFile, FileFormat, LastEvent, PostingLine, Profile, Rows,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

const HOSTILE: [&str; 6] = [
    "=HYPERLINK(\"http://evil\",\"click\")",
    "+7 495 000",
    "-2+3",
    "@SUM(A1:A2)",
    "\tTab",
    "\rCR",
];

/// The `i`-th test posting's row, kept in `batch`.
fn line(batch: &mut Batch, i: u32) -> PostingLine {
    let number = format!("{:08}-0001-1", 10_000_000 + i);
    let (first, last) = (format!("LP{i:014}"), format!("RR{i:09}CN"));
    let last_event = LastEvent {
        at: Utc.with_ymd_and_hms(2026, 11, 10, 21, 5, 0).unwrap(),
        place: Some(batch.text("Москва")),
        text: batch.text(HOSTILE[i as usize % HOSTILE.len()]),
    };
    PostingLine {
        id: i64::from(i),
        number: batch.text(&number),
        store: batch.text("msk; \"main\""),
        zone: chrono_tz::Europe::Moscow,
        scheme: Scheme::Rfbs,
        status: OzonStatus::Delivering,
        substatus: OzonSubstatus::None,
        in_process_at: Some(Utc.with_ymd_and_hms(2026, 11, 1, 9, 30, 0).unwrap()),
        delivered_at: None,
        total: Some(Money::from_minor(101_332 + i64::from(i), Currency::Rub)),
        legs: batch.legs([("cainiao", first.as_str()), ("russian_post", last.as_str())]),
        last_event: Some(last_event),
        risk: Some(Severity::HighRisk),
        alerts: batch.alerts([Why::Reason(Reason::Stale {
            quiet_hours: 80,
            threshold_hours: 72,
            allowance_hours: 0,
            learned: None,
            last: None,
        })]),
        estimate: None,
        penalty_points: i64::from(i % 3),
    }
}

/// Writes rows `0..rows` a batch of 100 at a time, as an export does.
fn write_rows(file: &mut ExportFile, cells: &mut Rows, rows: u32) {
    let mut batch = Batch::default();
    for first in (0..rows).step_by(100) {
        batch.clear();
        for i in first..rows.min(first + 100) {
            let line = line(&mut batch, i);
            batch.push(line);
        }
        for line in batch.lines() {
            file.write_row(&cells.cells(&batch, line)).unwrap();
        }
    }
}

fn export(
    path: &std::path::Path,
    format: FileFormat,
    profile: Profile,
    language: Language,
    rows: u32,
    split: Option<u64>,
) {
    let tr = Tr::new(language);
    let columns = Column::ALL;
    let mut file = ExportFile::create(
        path,
        layout(
            columns,
            &tr,
            format,
            profile,
            split.and_then(std::num::NonZeroU64::new),
        ),
        now(),
    )
    .unwrap();
    let mut cells = Rows::new(columns, tr, now(), Some("https://track.example.com"));
    write_rows(&mut file, &mut cells, rows);
    file.commit().unwrap();
}

fn read_csv(bytes: &[u8], profile: Profile) -> Vec<csv::StringRecord> {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM first, for Excel");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(
        text.split("\r\n").all(|l| !l.contains('\n')) || text.contains("\"\n"),
        "CRLF line ends"
    );
    csv::ReaderBuilder::new()
        .delimiter(profile.delimiter())
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_csv_export_reads_back_with_every_posting_once_in_each_profile_and_language() {
    let dir = tempfile::tempdir().unwrap();
    for (profile, language, ordered, total) in [
        (Profile::Ru, Language::Ru, "01.11.2026 12:30:00", "1013,32"),
        (Profile::Zh, Language::Zh, "2026-11-01 12:30:00", "1013.32"),
        (Profile::En, Language::En, "2026-11-01 12:30:00", "1013.32"),
    ] {
        let path = dir.path().join(format!("{}.csv", profile.as_str()));
        export(&path, FileFormat::Csv, profile, language, 50, None);
        let bytes = std::fs::read(&path).unwrap();
        let records = read_csv(&bytes, profile);
        let tr = Tr::new(language);
        assert_eq!(records[0].len(), Column::ALL.len());
        assert_eq!(&records[0][0], Column::PostingNumber.header(&tr));
        assert_eq!(records.len(), 51, "the header and 50 rows");
        let at = |c: Column| Column::ALL.iter().position(|x| *x == c).unwrap();
        let mut numbers: Vec<&str> = records[1..].iter().map(|r| &r[0]).collect();
        numbers.dedup();
        assert_eq!(numbers.len(), 50, "every posting once");
        let first = &records[1];
        assert_eq!(&first[at(Column::OrderedAt)], ordered, "{profile:?}");
        assert_eq!(&first[at(Column::Total)], total, "{profile:?}");
        assert_eq!(&first[at(Column::Store)], "msk; \"main\"");
        assert_eq!(
            &first[at(Column::TrackingNumbers)],
            "LP00000000000000 → RR000000000CN"
        );
        assert_eq!(
            &first[at(Column::Status)],
            tr.ozon_status(&OzonStatus::Delivering)
        );
        assert_eq!(&first[at(Column::TimeZone)], "UTC+03:00");
        assert_eq!(
            &first[at(Column::DaysInTransit)],
            if profile == Profile::Ru {
                "19,1"
            } else {
                "19.1"
            }
        );
        assert!(!first[at(Column::OpenAlerts)].is_empty());
    }
}

#[test]
fn hostile_cells_come_out_inert_in_excel_terms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.csv");
    export(&path, FileFormat::Csv, Profile::Ru, Language::Ru, 12, None);
    let bytes = std::fs::read(&path).unwrap();
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let records = read_csv(&bytes, Profile::Ru);
    let column = Column::ALL
        .iter()
        .position(|c| *c == Column::LastEventText)
        .unwrap();
    for (i, record) in records[1..].iter().enumerate() {
        let cell = &record[column];
        let hostile = HOSTILE[i % HOSTILE.len()];
        assert_eq!(cell, format!("'{hostile}"), "prefixed, never stripped");
    }
    // Every cell is quoted, so no separator or quote inside one starts another.
    for raw in text.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        assert!(raw.starts_with('"'), "{raw}");
    }
}

#[test]
fn an_xlsx_export_has_typed_cells_a_frozen_header_and_inert_text() {
    use calamine::{Data, Reader as _};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("postings.xlsx");
    export(&path, FileFormat::Xlsx, Profile::Zh, Language::Zh, 20, None);
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(range.height(), 21);
    let at = |c: Column| Column::ALL.iter().position(|x| *x == c).unwrap();
    let row = |r: usize, c: Column| range.get((r, at(c))).unwrap().clone();
    assert_eq!(row(0, Column::PostingNumber), Data::String("货件号".into()));
    assert!(
        matches!(row(1, Column::OrderedAt), Data::DateTime(_)),
        "{:?}",
        row(1, Column::OrderedAt)
    );
    assert_eq!(row(1, Column::Total), Data::Float(1013.32));
    // Later rows take their column's format without naming it.
    assert!(matches!(row(20, Column::LastEventAt), Data::DateTime(_)));
    assert_eq!(row(20, Column::Total), Data::Float(1013.51));
    assert_eq!(row(1, Column::PenaltyPoints), Data::Float(0.0));
    assert_eq!(
        row(1, Column::LastEventText),
        Data::String(format!("'{}", HOSTILE[0]))
    );
    // The frozen header is in the sheet's XML.
    let file = std::fs::File::open(&path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains("state=\"frozen\""), "frozen header");
    assert!(xml.contains("<cols>"), "column widths");
}

#[test]
fn an_export_cut_into_parts_zips_files_of_at_most_n_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("postings.zip");
    export(
        &path,
        FileFormat::Csv,
        Profile::Ru,
        Language::Ru,
        25,
        Some(10),
    );
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "postings-0001.csv",
            "postings-0002.csv",
            "postings-0003.csv"
        ]
    );
    let mut rows = 0;
    for name in &names {
        let mut bytes = Vec::new();
        let mut part = zip.by_name(name).unwrap();
        let made = part.last_modified().expect("each part has a time");
        assert_eq!(
            (
                made.year(),
                made.month(),
                made.day(),
                made.hour(),
                made.minute()
            ),
            (2026, 11, 20, 12, 0),
            "{name} is stamped with the export's time (UTC, as its file name), not 1980"
        );
        part.read_to_end(&mut bytes).unwrap();
        drop(part);
        let records = read_csv(&bytes, Profile::Ru);
        assert!(records.len() - 1 <= 10, "{name}");
        rows += records.len() - 1;
    }
    assert_eq!(rows, 25);
}

#[test]
fn an_interrupted_export_leaves_no_file_that_looks_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("postings.csv");
    {
        let tr = Tr::new(Language::En);
        let mut file = ExportFile::create(
            &path,
            layout(Column::ALL, &tr, FileFormat::Csv, Profile::En, None),
            now(),
        )
        .unwrap();
        let mut cells = Rows::new(Column::ALL, tr, now(), None);
        write_rows(&mut file, &mut cells, 1000);
        // Dropped without commit: the process stopped here.
    }
    assert!(!path.exists(), "nothing under the export's name");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(
        left.is_empty(),
        "only hidden partial files, if any: {left:?}"
    );
}

#[test]
fn an_empty_export_still_has_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.csv");
    export(&path, FileFormat::Csv, Profile::En, Language::En, 0, None);
    let records = read_csv(&std::fs::read(&path).unwrap(), Profile::En);
    assert_eq!(records.len(), 1);
}
