//! The CSV writer, row by row with flat memory, as Excel opens it (UTF-8 with a BOM, CRLF, every
//! cell quoted, the profile's separator), and the formats an export is written in (the XLSX
//! writer is `xlsx`).

use std::io::Write;

use crate::ReportError;
use crate::cell::{Cell, Profile};

/// The UTF-8 byte order mark: without it Excel reads a CSV in the PC's code page.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The file formats an export is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    Csv,
    Xlsx,
}

impl FileFormat {
    pub const ALL: [FileFormat; 2] = [FileFormat::Csv, FileFormat::Xlsx];

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

/// A CSV being written to `W`, header first. Written here rather than through the `csv` crate's
/// writer: every cell is quoted, so a cell is its text between quotes with its own quotes doubled,
/// and the crate's byte-by-byte state machine took twice as long as the rest of a row.
#[derive(Debug)]
pub struct CsvSheet<W: Write> {
    out: W,
    profile: Profile,
    rows: u64,
    /// Rows not yet handed to `out`, which gets them [`FLUSH_AT`] bytes at a time: the sheet is
    /// its own buffer, so a row is spelled once into it rather than into a line and copied.
    pending: Vec<u8>,
}

/// How many bytes of rows a sheet gathers before writing them out.
const FLUSH_AT: usize = 1 << 16;

impl<W: Write> CsvSheet<W> {
    /// Starts the file: the BOM, then the header row.
    pub fn new(out: W, profile: Profile, header: &[String]) -> Result<Self, ReportError> {
        let mut sheet = CsvSheet::over(out, profile);
        sheet.pending.extend_from_slice(BOM);
        let header: Vec<Cell> = header.iter().map(|h| Cell::text(h.as_str())).collect();
        sheet.put(&header)?;
        Ok(sheet)
    }

    fn over(out: W, profile: Profile) -> Self {
        CsvSheet {
            out,
            profile,
            rows: 0,
            pending: Vec::with_capacity(FLUSH_AT + 4096),
        }
    }

    pub fn write_row(&mut self, cells: &[Cell<'_>]) -> Result<(), ReportError> {
        self.put(cells)?;
        self.rows += 1;
        Ok(())
    }

    fn put(&mut self, cells: &[Cell<'_>]) -> Result<(), ReportError> {
        let delimiter = self.profile.delimiter();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.pending.push(delimiter);
            }
            cell.write_csv(self.profile, &mut self.pending);
        }
        self.pending.extend_from_slice(b"\r\n");
        if self.pending.len() >= FLUSH_AT {
            self.out.write_all(&self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Data rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the rows still gathered and gives back the destination (a buffered one still to
    /// be flushed).
    pub fn finish(mut self) -> Result<W, ReportError> {
        self.out.write_all(&self.pending)?;
        Ok(self.out)
    }
}

impl CsvSheet<Vec<u8>> {
    /// More rows of a CSV already started elsewhere (no BOM, no header): a streamed response
    /// writes each batch through one and sends its bytes.
    pub fn continuation(profile: Profile) -> Self {
        CsvSheet::over(Vec::new(), profile)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_csv_reader_reads_each_cell_back_as_written(
            cells in proptest::collection::vec(".*", 1..6),
            ru in any::<bool>(),
        ) {
            let profile = if ru { Profile::Ru } else { Profile::En };
            let mut sheet = CsvSheet::continuation(profile);
            let row: Vec<Cell> = cells.iter().map(|c| Cell::Text(c.clone().into())).collect();
            sheet.write_row(&row).unwrap_or_else(|e| panic!("{e}"));
            let bytes = sheet.finish().unwrap_or_else(|e| panic!("{e}"));
            prop_assert!(bytes.ends_with(b"\r\n"));
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .delimiter(profile.delimiter())
                .from_reader(bytes.as_slice());
            let records: Vec<csv::StringRecord> =
                reader.records().collect::<Result<_, _>>().unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(records.len(), 1);
            let expected: Vec<String> = row.iter().map(|c| c.csv(profile)).collect();
            prop_assert_eq!(records[0].iter().collect::<Vec<_>>(), expected);
        }
    }
}
