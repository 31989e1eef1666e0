//! The two spreadsheet writers, row by row with flat memory: CSV as Excel opens it (UTF-8 with a
//! BOM, CRLF, every cell quoted, the profile's separator) and XLSX with typed cells through
//! rust_xlsxwriter's constant-memory mode (each sheet streams to a temporary file).

use std::io::Write;
use std::path::Path;

use rust_xlsxwriter::{Format, IntoExcelData, Workbook, Worksheet, XlsxError};

use crate::ReportError;
use crate::cell::{Cell, Profile, neutralised};

/// The UTF-8 byte order mark: without it Excel reads a CSV in the PC's code page.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The file formats an export is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    Csv,
    Xlsx,
}

impl FileFormat {
    pub fn parse(text: &str) -> Option<FileFormat> {
        match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(FileFormat::Csv),
            "xlsx" => Some(FileFormat::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Csv => "text/csv; charset=utf-8",
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// A CSV being written to `W`, header first.
#[derive(Debug)]
pub struct CsvSheet<W: Write> {
    writer: csv::Writer<W>,
    profile: Profile,
    rows: u64,
}

impl<W: Write> CsvSheet<W> {
    /// Starts the file: the BOM, then the header row.
    pub fn new(mut out: W, profile: Profile, header: &[String]) -> Result<Self, ReportError> {
        out.write_all(BOM)?;
        let mut sheet = CsvSheet {
            writer: csv_writer(out, profile),
            profile,
            rows: 0,
        };
        sheet
            .writer
            .write_record(header.iter().map(|h| neutralised(h).into_owned()))?;
        Ok(sheet)
    }

    pub fn write_row(&mut self, cells: &[Cell]) -> Result<(), ReportError> {
        for cell in cells {
            self.writer.write_field(cell.csv(self.profile))?;
        }
        self.writer.write_record(None::<&[u8]>)?;
        self.rows += 1;
        Ok(())
    }

    /// Data rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and gives back the destination.
    pub fn finish(self) -> Result<W, ReportError> {
        self.writer
            .into_inner()
            .map_err(|e| ReportError::Io(e.into_error()))
    }
}

impl CsvSheet<Vec<u8>> {
    /// More rows of a CSV already started elsewhere (no BOM, no header): a streamed response
    /// writes each batch through one and sends its bytes.
    pub fn continuation(profile: Profile) -> Self {
        CsvSheet {
            writer: csv_writer(Vec::new(), profile),
            profile,
            rows: 0,
        }
    }
}

fn csv_writer<W: Write>(out: W, profile: Profile) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .delimiter(profile.delimiter())
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(out)
}

/// Excel's last row is 1 048 576; the header takes one, so a longer export continues on a
/// new sheet with the header again.
pub const XLSX_ROWS_PER_SHEET: u32 = 1_048_575;

/// How a typed cell looks in XLSX beyond its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Time,
    Decimals(u8),
    Link,
}

/// A format a cell names: a style other than its column's, or the plain one (unstyled text in a
/// styled column, which would otherwise take the column's look).
#[derive(Debug, Clone, Copy)]
enum Named {
    Style(Style),
    Plain,
}

struct Formats {
    bold: Format,
    time: Format,
    decimals: [Format; 3],
    link: Format,
    plain: Format,
}

impl Formats {
    fn of(&self, named: Named) -> &Format {
        match named {
            Named::Style(Style::Time) => &self.time,
            Named::Style(Style::Decimals(d)) => &self.decimals[usize::from(d).min(2)],
            Named::Style(Style::Link) => &self.link,
            Named::Plain => &self.plain,
        }
    }
}

/// An XLSX workbook being written, one constant-memory sheet after another.
pub struct XlsxSheet {
    workbook: Workbook,
    header: Vec<String>,
    widths: Vec<f64>,
    sheet: usize,
    row: u32,
    rows: u64,
    formats: Formats,
    /// Each column's format, set by its first styled cell on this sheet. A cell of that style is
    /// written without naming it (it takes its column's): rust_xlsxwriter finds a named
    /// format's style by hashing the whole `Format`, for each of a row's nine typed cells.
    columns: Vec<Option<Style>>,
}

impl std::fmt::Debug for XlsxSheet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XlsxSheet")
            .field("sheet", &self.sheet)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl XlsxSheet {
    /// A workbook whose sheets spill their rows into `tmp` (the output's directory keeps
    /// large exports off a small /tmp).
    pub fn new(
        profile: Profile,
        header: &[String],
        widths: &[f64],
        tmp: &Path,
    ) -> Result<Self, ReportError> {
        let mut workbook = Workbook::new();
        workbook.set_tempdir(tmp)?;
        // A sheet's XML (about 1 KB a row) is deflated in one piece when the workbook is saved,
        // after every row. On a 250 000-row sheet (243 MB of XML) the default level 6 took
        // 1.73 s, level 2 0.51 s for a file 17 % larger, level 1 0.32 s for one 60 % larger.
        workbook.set_zip_compression_level(2);
        let time = match profile {
            Profile::Ru => "dd.mm.yyyy hh:mm:ss",
            Profile::Zh | Profile::En => "yyyy-mm-dd hh:mm:ss",
        };
        let mut sheet = XlsxSheet {
            workbook,
            header: header.to_vec(),
            widths: widths.to_vec(),
            sheet: 0,
            row: 0,
            rows: 0,
            formats: Formats {
                bold: Format::new().set_bold(),
                time: Format::new().set_num_format(time),
                decimals: [
                    Format::new().set_num_format("0"),
                    Format::new().set_num_format("0.0"),
                    Format::new().set_num_format("0.00"),
                ],
                link: Format::new().set_font_color(rust_xlsxwriter::Color::Blue),
                plain: Format::new(),
            },
            columns: vec![None; header.len()],
        };
        sheet.add_sheet()?;
        Ok(sheet)
    }

    fn add_sheet(&mut self) -> Result<(), ReportError> {
        let worksheet = self.workbook.add_worksheet_with_constant_memory()?;
        worksheet.set_freeze_panes(1, 0)?;
        for (col, width) in self.widths.iter().enumerate() {
            worksheet.set_column_width(col_num(col)?, *width)?;
        }
        for (col, title) in self.header.iter().enumerate() {
            worksheet.write_string_with_format(0, col_num(col)?, title, &self.formats.bold)?;
        }
        self.sheet = self.workbook.worksheets().len() - 1;
        self.row = 0;
        self.columns.fill(None);
        Ok(())
    }

    /// The format a cell of `style` names when written in column `col`: none when it is the
    /// column's own (set here by the column's first styled cell on the sheet).
    fn named(&mut self, col: usize, style: Option<Style>) -> Result<Option<Named>, ReportError> {
        let column = self.columns.get(col).copied().flatten();
        Ok(match (column, style) {
            (None, None) => None,
            (None, Some(style)) => {
                if let Some(slot) = self.columns.get_mut(col) {
                    self.workbook
                        .worksheet_from_index(self.sheet)?
                        .set_column_format(col_num(col)?, self.formats.of(Named::Style(style)))?;
                    *slot = Some(style);
                    None
                } else {
                    Some(Named::Style(style))
                }
            }
            (Some(column), Some(style)) if column == style => None,
            (Some(_), Some(style)) => Some(Named::Style(style)),
            (Some(_), None) => Some(Named::Plain),
        })
    }

    pub fn write_row(&mut self, cells: &[Cell]) -> Result<(), ReportError> {
        if self.row == XLSX_ROWS_PER_SHEET {
            self.add_sheet()?;
        }
        self.row += 1;
        let row = self.row;
        for (col, cell) in cells.iter().enumerate() {
            let style = match cell {
                Cell::Empty => continue,
                Cell::Text(_) => None,
                Cell::Int(_) => Some(Style::Decimals(0)),
                Cell::Number(_, decimals) => Some(Style::Decimals(*decimals)),
                Cell::Time(_) => Some(Style::Time),
                Cell::Link(_) => Some(Style::Link),
            };
            let named = self.named(col, style)?;
            let format = named.map(|n| self.formats.of(n));
            let worksheet = self.workbook.worksheet_from_index(self.sheet)?;
            let col = col_num(col)?;
            match cell {
                Cell::Empty => {}
                // ASVS covers XLSX too: a string cell is never a formula, but a copy-paste of
                // it into a formula bar is; the same prefix keeps it inert there.
                Cell::Text(text) => put(worksheet, row, col, neutralised(text), format)?,
                // Excel's numbers are doubles; every count and id here is far below 2^53.
                Cell::Int(n) => put(worksheet, row, col, *n, format)?,
                Cell::Number(x, _) => put(worksheet, row, col, *x, format)?,
                Cell::Time(t) => put(worksheet, row, col, t, format)?,
                // Text, not a hyperlink: a sheet holds at most 65 530 hyperlinks, and the writer
                // keeps every one in memory until the end, which a constant-memory export of
                // millions of rows cannot afford.
                Cell::Link(url) => put(worksheet, row, col, url.as_str(), format)?,
            }
        }
        self.rows += 1;
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the workbook to `out` (the sheets' temporary files are read back and removed).
    pub fn finish(mut self, out: impl Write + std::io::Seek + Send) -> Result<(), ReportError> {
        self.workbook.save_to_writer(out)?;
        Ok(())
    }
}

/// Writes `data` in the `format` named, or (`None`) in its column's.
fn put(
    worksheet: &mut Worksheet,
    row: u32,
    col: u16,
    data: impl IntoExcelData,
    format: Option<&Format>,
) -> Result<(), XlsxError> {
    match format {
        Some(format) => worksheet.write_with_format(row, col, data, format)?,
        None => worksheet.write(row, col, data)?,
    };
    Ok(())
}

fn col_num(col: usize) -> Result<u16, ReportError> {
    u16::try_from(col).map_err(|_| ReportError::Xlsx(XlsxError::RowColumnLimitError))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use calamine::{Data, Reader as _};
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn a_cell_keeps_its_own_type_in_a_column_whose_first_cell_was_another() {
        let dir = tempfile::tempdir().unwrap();
        let t = NaiveDate::from_ymd_opt(2026, 11, 20)
            .and_then(|d| d.and_hms_opt(9, 30, 0))
            .unwrap();
        let mut sheet = XlsxSheet::new(
            Profile::Ru,
            &["a".to_owned(), "b".to_owned()],
            &[10.0, 10.0],
            dir.path(),
        )
        .unwrap();
        // Column a starts with a time, column b with nothing.
        let rows = [
            [Cell::Time(t), Cell::Empty],
            [Cell::Int(7), Cell::Number(1.5, 1)],
            [Cell::text("words"), Cell::Time(t)],
            [Cell::Time(t), Cell::Number(2.25, 2)],
        ];
        for row in &rows {
            sheet.write_row(row).unwrap();
        }
        let path = dir.path().join("mixed.xlsx");
        sheet.finish(std::fs::File::create(&path).unwrap()).unwrap();

        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        let cell = |r: usize, c: usize| range.get((r, c)).cloned().unwrap_or(Data::Empty);
        assert!(matches!(cell(1, 0), Data::DateTime(_)), "{:?}", cell(1, 0));
        assert_eq!(cell(2, 0), Data::Float(7.0), "a number, not a date");
        assert_eq!(cell(3, 0), Data::String("words".into()));
        assert!(matches!(cell(4, 0), Data::DateTime(_)), "{:?}", cell(4, 0));
        assert_eq!(cell(1, 1), Data::Empty);
        assert_eq!(cell(2, 1), Data::Float(1.5));
        assert!(matches!(cell(3, 1), Data::DateTime(_)), "{:?}", cell(3, 1));
        assert_eq!(cell(4, 1), Data::Float(2.25));
    }
}
