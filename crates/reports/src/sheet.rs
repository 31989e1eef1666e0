//! The two spreadsheet writers, row by row with flat memory: CSV as Excel opens it (UTF-8 with a
//! BOM, CRLF, every cell quoted, the profile's separator) and XLSX with typed cells through
//! rust_xlsxwriter's constant-memory mode (each sheet streams to a temporary file).

use std::io::Write;
use std::path::Path;

use rust_xlsxwriter::{Format, Workbook, XlsxError};

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

/// An XLSX workbook being written, one constant-memory sheet after another.
pub struct XlsxSheet {
    workbook: Workbook,
    header: Vec<String>,
    widths: Vec<f64>,
    sheet: usize,
    row: u32,
    rows: u64,
    bold: Format,
    time: Format,
    decimals: [Format; 3],
    link: Format,
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
            bold: Format::new().set_bold(),
            time: Format::new().set_num_format(time),
            decimals: [
                Format::new().set_num_format("0"),
                Format::new().set_num_format("0.0"),
                Format::new().set_num_format("0.00"),
            ],
            link: Format::new().set_font_color(rust_xlsxwriter::Color::Blue),
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
            worksheet.write_string_with_format(0, col_num(col)?, title, &self.bold)?;
        }
        self.sheet = self.workbook.worksheets().len() - 1;
        self.row = 0;
        Ok(())
    }

    pub fn write_row(&mut self, cells: &[Cell]) -> Result<(), ReportError> {
        if self.row == XLSX_ROWS_PER_SHEET {
            self.add_sheet()?;
        }
        self.row += 1;
        let row = self.row;
        let worksheet = self.workbook.worksheet_from_index(self.sheet)?;
        for (col, cell) in cells.iter().enumerate() {
            let col = col_num(col)?;
            match cell {
                Cell::Empty => {}
                // ASVS covers XLSX too: a string cell is never a formula, but a copy-paste of
                // it into a formula bar is; the same prefix keeps it inert there.
                Cell::Text(text) => {
                    worksheet.write_string(row, col, neutralised(text))?;
                }
                Cell::Int(n) => {
                    // Excel's numbers are doubles; every count and id here is far below 2^53.
                    #[allow(clippy::cast_precision_loss)]
                    worksheet.write_number_with_format(row, col, *n as f64, &self.decimals[0])?;
                }
                Cell::Number(x, decimals) => {
                    let format = &self.decimals[usize::from(*decimals).min(2)];
                    worksheet.write_number_with_format(row, col, *x, format)?;
                }
                Cell::Time(t) => {
                    worksheet.write_datetime_with_format(row, col, t, &self.time)?;
                }
                // Text, not a hyperlink: a sheet holds at most 65 530 hyperlinks, and the writer
                // keeps every one in memory until the end, which a constant-memory export of
                // millions of rows cannot afford.
                Cell::Link(url) => {
                    worksheet.write_string_with_format(row, col, url.as_str(), &self.link)?;
                }
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

fn col_num(col: usize) -> Result<u16, ReportError> {
    u16::try_from(col).map_err(|_| ReportError::Xlsx(XlsxError::RowColumnLimitError))
}
