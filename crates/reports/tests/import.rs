//! The postings report reader against the report shapes sellers have: the office's FBS export,
//! an FBO export re-saved by Russian Excel, the API's FBO report, the older column set, a
//! Windows-1251 save, an XLSX; and files with mistakes, every one located.

#![allow(clippy::unwrap_used)]

use ozontrack_domain::{Currency, Money, OzonStatus, Scheme};
use ozontrack_reports::{ReadOptions, Report, ReportError, read_report};

fn read(name: &str) -> Result<Report, ReportError> {
    let path = format!("{}/tests/reports/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap();
    read_report(name, &bytes, ReadOptions::default())
}

#[test]
fn the_office_fbs_export_folds_product_rows_into_postings() {
    let report = read("fbs-office.csv").unwrap();
    assert_eq!(report.scheme, Scheme::Fbs);
    assert_eq!(report.rows, 4);
    assert_eq!(report.postings.len(), 3);
    let first = &report.postings[0];
    assert_eq!(first.number.as_str(), "0105861246-0049-2");
    assert_eq!(first.status, OzonStatus::Delivering);
    assert_eq!(first.products.len(), 2, "two product rows, one posting");
    // The posting's amount is on every row and is never added up.
    assert_eq!(first.amount, Some(Money::from_minor(75_000, Currency::Rub)));
    // Moscow time (UTC+3) to UTC.
    assert_eq!(
        first.in_process_at.to_rfc3339(),
        "2025-09-27T18:10:51+00:00"
    );
    assert_eq!(first.products[1].offer_id, "0000010", "leading zeros kept");
    assert_eq!(first.products[1].quantity, 2);
    let delivered = &report.postings[1];
    assert_eq!(delivered.status, OzonStatus::Delivered);
    assert!(delivered.delivered_at.is_some());
    let cancelled = &report.postings[2];
    assert_eq!(cancelled.status, OzonStatus::Cancelled);
    assert!(cancelled.cancelled_at.is_some());
    assert!(
        report.ignored.iter().any(|c| c == "Кластер доставки"),
        "{:?}",
        report.ignored
    );
}

#[test]
fn an_fbo_export_resaved_by_russian_excel_reads_the_same() {
    let report = read("fbo-excel-resaved.csv").unwrap();
    assert_eq!(report.scheme, Scheme::Fbo);
    assert_eq!(report.postings.len(), 2);
    assert_eq!(
        report
            .postings
            .iter()
            .map(|p| p.products.len())
            .sum::<usize>(),
        3
    );
    let first = &report.postings[0];
    assert_eq!(first.products[0].name, "Набор для вышивания \"Листья\"");
    assert_eq!(
        first.in_process_at.to_rfc3339(),
        "2025-10-01T04:26:00+00:00",
        "01.10.2025 7:26 in Moscow"
    );
    assert_eq!(
        report.postings[1].products[0].name, "Нитки, набор; 24 цвета",
        "a separator inside quotes stays in its cell"
    );
}

#[test]
fn the_api_fbo_report_keeps_currencies_and_drops_buyer_data() {
    let report = read("fbo-api.csv").unwrap();
    assert_eq!(report.scheme, Scheme::Fbo);
    assert_eq!(report.postings.len(), 2);
    let byn = &report.postings[0];
    assert_eq!(byn.amount, Some(Money::from_minor(800, Currency::Byn)));
    assert_eq!(
        byn.products[0].price,
        Some(Money::from_minor(25_000, Currency::Rub))
    );
    assert_eq!(report.postings[1].number.as_str(), "77000002-0001-11");
    assert!(report.ignored.iter().any(|c| c == "Имя покупателя"));
    assert_eq!(byn.status, OzonStatus::AwaitingDeliver);
}

#[test]
fn the_older_column_names_and_a_windows_1251_save_read_alike() {
    let old = read("fbo-api-2024.csv").unwrap();
    let cp1251 = read("fbo-cp1251.csv").unwrap();
    assert_eq!(old.postings.len(), 1);
    assert_eq!(old.postings[0].products[0].sku, Some(123));
    assert_eq!(
        old.postings[0].products[0].price,
        Some(Money::from_minor(50_000, Currency::Rub)),
        "Итоговая стоимость товара is the seller's price"
    );
    assert_eq!(old, cp1251);
}

#[test]
fn every_mistake_of_a_file_is_located_and_nothing_is_read() {
    let Err(ReportError::Problems(problems)) = read("fbo-with-errors.csv") else {
        panic!("a file with mistakes is refused");
    };
    let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 3, "{said:#?}");
    assert!(
        said[0]
            .starts_with("fbo-with-errors.csv:2: column \"Номер отправления\": \"not-a-posting\""),
        "{said:#?}"
    );
    assert!(
        said[1].starts_with("fbo-with-errors.csv:3: column \"Принят в обработку\""),
        "{said:#?}"
    );
    assert!(
        said[2].starts_with("fbo-with-errors.csv:3: column \"Количество\": \"один\""),
        "{said:#?}"
    );
}

#[test]
fn a_file_without_the_report_columns_is_named_as_not_a_report() {
    let Err(ReportError::Problems(problems)) = read("not-a-report.csv") else {
        panic!("refused");
    };
    assert!(
        problems[0]
            .to_string()
            .contains("not an Ozon postings report")
    );
    let header_only = "Номер отправления;Статус\n".as_bytes();
    let Err(ReportError::Problems(problems)) =
        read_report("short.csv", header_only, ReadOptions::default())
    else {
        panic!("refused");
    };
    assert_eq!(
        problems[0].to_string(),
        "short.csv:1: required columns missing: Принят в обработку"
    );
}

#[test]
fn an_xlsx_report_with_real_date_cells_reads_like_its_csv() {
    // Written the way Excel saves one: the header on row 1, dates as date cells, amounts and
    // SKUs as numbers.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let header = [
        "Номер заказа",
        "Номер отправления",
        "Принят в обработку",
        "Статус",
        "Сумма отправления",
        "SKU",
        "Артикул",
        "Количество",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let when = chrono::NaiveDate::from_ymd_opt(2025, 10, 1)
        .unwrap()
        .and_hms_opt(7, 26, 0)
        .unwrap();
    let date = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy hh:mm");
    for row in 1..=2u32 {
        sheet.write_string(row, 0, "46123456-0001").unwrap();
        sheet.write_string(row, 1, "46123456-0001-1").unwrap();
        sheet
            .write_datetime_with_format(row, 2, when, &date)
            .unwrap();
        sheet.write_string(row, 3, "Доставлен").unwrap();
        sheet.write_number(row, 4, 990.5).unwrap();
        sheet
            .write_number(row, 5, 987_654_320.0 + f64::from(row))
            .unwrap();
        sheet.write_string(row, 6, "emb").unwrap();
        sheet.write_number(row, 7, 1.0).unwrap();
    }
    book.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let report = read_report("report.xlsx", &bytes, ReadOptions::default()).unwrap();
    assert_eq!(report.postings.len(), 1);
    let p = &report.postings[0];
    assert_eq!(p.products.len(), 2);
    assert_eq!(p.products[0].sku, Some(987_654_321));
    assert_eq!(p.amount, Some(Money::from_minor(99_050, Currency::Rub)));
    assert_eq!(p.in_process_at.to_rfc3339(), "2025-10-01T04:26:00+00:00");
}

#[test]
fn problems_are_facts_told_in_the_readers_language() {
    let Err(ReportError::Problems(problems)) = read("fbo-with-errors.csv") else {
        panic!("refused");
    };
    let ru = problems[0].render(&ozontrack_i18n::Tr::new(ozontrack_domain::Language::Ru));
    assert_eq!(
        ru,
        "fbo-with-errors.csv:2: столбец «Номер отправления»: «not-a-posting» — не номер отправления"
    );
    let zh = problems[2].render(&ozontrack_i18n::Tr::new(ozontrack_domain::Language::Zh));
    assert!(zh.ends_with("「один」不是商品数量"), "{zh}");
}
