//! The XLSX writer: typed cells streamed row by row into the workbook's zip as they come, in flat
//! memory. Written here rather than with rust_xlsxwriter: its constant-memory mode keeps each row
//! in a tree of cells, copies every string, spills the sheet's XML to a temporary file and
//! deflates it after the last row, which held an export at 80 000 rows a second however fast the
//! rows came (`ozontrack bench export`, "xlsx write alone"). A sheet here is the few parts Excel
//! needs (SpreadsheetML's content types, relationships, workbook, styles, worksheets and the
//! shared strings of the columns whose words repeat) and nothing else; the tests read every file
//! back with calamine, and LibreOffice opened the 2026-12-04 form (shared strings, cells without
//! their reference) with every value in place.

use std::fmt::Write as _;
use std::io::{Seek, Write};

use chrono::NaiveDateTime;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::ReportError;
use crate::cell::{Cell, Profile, neutralised};

/// Excel's last row is 1 048 576; the header takes one, so a longer export continues on a
/// new sheet with the header again.
pub const XLSX_ROWS_PER_SHEET: u32 = 1_048_575;

/// The most UTF-16 units Excel keeps in a cell; a longer text is cut there.
const MAX_CELL_UNITS: usize = 32_767;

/// How much of a row's XML is deflated before it is written: level 2 deflated a 250 000-row
/// sheet (243 MB of XML) in 0.51 s against 1.73 s at the default 6, for a file 17 % larger.
const DEFLATE_LEVEL: i64 = 2;

/// At most this many distinct texts, of at most this many bytes in all, are shared (see
/// [`SharedStrings`]); a text met after either is full is written in its cell.
const MAX_SHARED: usize = 65_536;
const MAX_SHARED_BYTES: usize = 8 << 20;

/// The cell styles of `styles.xml`'s `cellXfs`, by index.
mod style {
    pub(super) const BOLD: u8 = 1;
    pub(super) const TIME: u8 = 2;
    /// Numbers with 0, 1 and 2 decimals.
    pub(super) const DECIMALS: [u8; 3] = [3, 4, 5];
    pub(super) const LINK: u8 = 6;
}

/// An XLSX workbook being written to `W`: a sheet's rows go straight into its deflated part.
pub struct XlsxSheet<W: Write + Seek> {
    zip: ZipWriter<W>,
    profile: Profile,
    /// The header row, written bold at the top of each sheet.
    header: Vec<Cell<'static>>,
    widths: Vec<f64>,
    /// The columns whose texts repeat from row to row: written once, in the shared strings.
    repeats: Vec<bool>,
    shared: SharedStrings,
    /// Sheets started so far; the current one is the last.
    sheets: u32,
    /// Rows on the current sheet, its header included.
    row: u32,
    rows: u64,
    /// The row being put together, written in one piece.
    xml: String,
}

impl<W: Write + Seek> std::fmt::Debug for XlsxSheet<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XlsxSheet")
            .field("sheets", &self.sheets)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<W: Write + Seek> XlsxSheet<W> {
    /// A workbook written to `out`, its first sheet started with the header (bold, frozen) and
    /// the column widths (in characters); the texts of the columns `repeats` marks are shared.
    pub fn new(
        out: W,
        profile: Profile,
        header: &[String],
        widths: &[f64],
        repeats: &[bool],
    ) -> Result<Self, ReportError> {
        let mut sheet = XlsxSheet {
            zip: ZipWriter::new(out),
            profile,
            header: header.iter().map(|h| Cell::text(h.clone())).collect(),
            widths: widths.to_vec(),
            repeats: repeats.to_vec(),
            shared: SharedStrings::default(),
            sheets: 0,
            row: 0,
            rows: 0,
            xml: String::with_capacity(4096),
        };
        sheet.add_sheet()?;
        Ok(sheet)
    }

    fn options() -> SimpleFileOptions {
        SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            // No ZIP64 record: LibreOffice refuses a workbook whose sheet has one ("source file
            // could not be loaded"). A sheet stops at Excel's 1 048 575 rows, about 1 GB of XML
            // for the postings export, inside the 4 GB a plain entry holds; past it the zip
            // writer fails the export rather than write a broken file.
            .large_file(false)
    }

    fn add_sheet(&mut self) -> Result<(), ReportError> {
        if self.sheets > 0 {
            self.zip.write_all(SHEET_END.as_bytes())?;
        }
        self.sheets += 1;
        self.zip.start_file(
            format!("xl/worksheets/sheet{}.xml", self.sheets),
            Self::options(),
        )?;
        let mut head = String::from(SHEET_START);
        head.push_str("<cols>");
        for (n, width) in self.widths.iter().enumerate() {
            // Excel stores a width in characters of the default font plus its 5-pixel padding,
            // in 1/256ths: 20 characters are 20.7109375.
            let stored = ((width * 7.0 + 5.0) / 7.0 * 256.0).trunc() / 256.0;
            let _ = write!(
                head,
                r#"<col min="{n}" max="{n}" width="{stored}" customWidth="1"/>"#,
                n = n + 1
            );
        }
        head.push_str("</cols><sheetData>");
        self.zip.write_all(head.as_bytes())?;
        self.row = 0;
        // Once a sheet (a million rows): the copy costs nothing.
        let header = self.header.clone();
        self.put(&header, Some(style::BOLD))?;
        Ok(())
    }

    pub fn write_row(&mut self, cells: &[Cell<'_>]) -> Result<(), ReportError> {
        if self.row > XLSX_ROWS_PER_SHEET {
            self.add_sheet()?;
        }
        self.put(cells, None)?;
        self.rows += 1;
        Ok(())
    }

    /// Writes the next row; `text_style` styles its text cells (the header's bold).
    fn put(&mut self, cells: &[Cell<'_>], text_style: Option<u8>) -> Result<(), ReportError> {
        self.row += 1;
        // Numbers are written with itoa and zmij: `core::fmt` was a tenth of the writer's time.
        let (mut ints, mut floats, mut rows) = (
            itoa::Buffer::new(),
            zmij::Buffer::new(),
            itoa::Buffer::new(),
        );
        let row = rows.format(self.row);
        let xml = &mut self.xml;
        xml.clear();
        xml.push_str(r#"<row r=""#);
        xml.push_str(row);
        xml.push_str(r#"">"#);
        // A cell names its place only after an empty one: otherwise it is the next column (a
        // fifth of a row's XML was these references).
        let mut next = 0;
        for (col, cell) in cells.iter().enumerate() {
            let (value, style) = match cell {
                Cell::Empty => continue,
                Cell::Text(text) => (Value::Text(text), text_style),
                Cell::Link(url) => (Value::Text(url), Some(style::LINK)),
                Cell::Int(n) => (Value::Int(*n), Some(style::DECIMALS[0])),
                Cell::Number(x, decimals) => (
                    Value::Number(*x),
                    Some(style::DECIMALS[usize::from(*decimals).min(2)]),
                ),
                Cell::Time(t) => (Value::Number(serial(t)), Some(style::TIME)),
            };
            xml.push_str("<c");
            if col != next {
                xml.push_str(r#" r=""#);
                column_name(xml, col);
                xml.push_str(row);
                xml.push('"');
            }
            next = col + 1;
            if let Some(style) = style {
                xml.push_str(r#" s=""#);
                xml.push_str(ints.format(style));
                xml.push('"');
            }
            match value {
                // A number Excel cannot hold is left empty rather than written as text.
                Value::Number(x) if !x.is_finite() => xml.push_str("/>"),
                Value::Number(x) => {
                    xml.push_str("><v>");
                    xml.push_str(floats.format_finite(x));
                    xml.push_str("</v></c>");
                }
                Value::Int(n) => {
                    xml.push_str("><v>");
                    xml.push_str(ints.format(n));
                    xml.push_str("</v></c>");
                }
                // ASVS covers XLSX too: a string cell is never a formula, but a copy-paste of it
                // into a formula bar is; the same prefix as the CSV's keeps it inert there.
                Value::Text(text) => {
                    let text = neutralised(text);
                    let text = cut(&text);
                    let shared = match style {
                        None if self.repeats.get(col).copied().unwrap_or(false) => {
                            self.shared.index(text)
                        }
                        _ => None,
                    };
                    if let Some(index) = shared {
                        xml.push_str(r#" t="s"><v>"#);
                        xml.push_str(ints.format(index));
                        xml.push_str("</v></c>");
                    } else {
                        xml.push_str(r#" t="inlineStr"><is>"#);
                        text_element(xml, text);
                        xml.push_str("</is></c>");
                    }
                }
            }
        }
        xml.push_str("</row>");
        self.zip.write_all(xml.as_bytes())?;
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Completes the workbook (its last sheet, the workbook, styles and relationships) and gives
    /// back the destination.
    pub fn finish(mut self) -> Result<W, ReportError> {
        self.zip.write_all(SHEET_END.as_bytes())?;
        let options = Self::options();
        let sheets = 1..=self.sheets;
        let mut types = String::from(CONTENT_TYPES_START);
        let mut workbook = String::from(WORKBOOK_START);
        let mut rels = String::from(RELS_START);
        for n in sheets {
            let _ = write!(
                types,
                r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
            );
            let _ = write!(
                workbook,
                r#"<sheet name="Sheet{n}" sheetId="{n}" r:id="rId{n}"/>"#
            );
            let _ = write!(
                rels,
                r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#
            );
        }
        // Always there, if empty, as openpyxl writes it: one package shape for every export.
        types.push_str(r#"<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>"#);
        let _ = write!(
            rels,
            r#"<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>"#,
            self.sheets + 2
        );
        types.push_str("</Types>");
        workbook.push_str("</sheets></workbook>");
        let _ = write!(
            rels,
            r#"<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#,
            self.sheets + 1
        );
        let time = match self.profile {
            Profile::Ru => "dd.mm.yyyy hh:mm:ss",
            Profile::Zh | Profile::En => "yyyy-mm-dd hh:mm:ss",
        };
        let styles = STYLES.replace("TIME_FORMAT", time);
        for (name, text) in [
            ("[Content_Types].xml", types.as_str()),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", workbook.as_str()),
            ("xl/_rels/workbook.xml.rels", rels.as_str()),
            ("xl/styles.xml", styles.as_str()),
            ("xl/sharedStrings.xml", self.shared.xml().as_str()),
        ] {
            self.zip.start_file(name, options)?;
            self.zip.write_all(text.as_bytes())?;
        }
        Ok(self.zip.finish()?)
    }
}

/// The workbook's shared strings: each distinct text of the columns whose texts repeat (a mode,
/// a status, a carrier's words) is written once at the end and named by its number in every
/// cell, a few bytes instead of the text in its markup (a third of a row's XML). Bounded, so
/// memory stays flat whatever the export holds.
#[derive(Default)]
struct SharedStrings {
    index: std::collections::HashMap<Box<str>, u32>,
    bytes: usize,
    /// Cells that name a shared text.
    cells: u64,
}

impl SharedStrings {
    /// The number of `text`, shared now if it was not yet and there is room; `None` when full.
    fn index(&mut self, text: &str) -> Option<u32> {
        let index = match self.index.get(text) {
            Some(index) => *index,
            None => {
                if self.index.len() >= MAX_SHARED || self.bytes + text.len() > MAX_SHARED_BYTES {
                    return None;
                }
                let index = u32::try_from(self.index.len()).ok()?;
                self.index.insert(text.into(), index);
                self.bytes += text.len();
                index
            }
        };
        self.cells += 1;
        Some(index)
    }

    /// `sharedStrings.xml`: the texts in the order of their numbers.
    fn xml(&self) -> String {
        let mut texts: Vec<(&str, u32)> = self.index.iter().map(|(t, i)| (&**t, *i)).collect();
        texts.sort_unstable_by_key(|(_, i)| *i);
        let mut xml = String::with_capacity(self.bytes + 16 * texts.len() + 256);
        xml.push_str(SHARED_STRINGS_START);
        let _ = write!(
            xml,
            r#" count="{}" uniqueCount="{}">"#,
            self.cells,
            texts.len()
        );
        for (text, _) in texts {
            xml.push_str("<si>");
            text_element(&mut xml, text);
            xml.push_str("</si>");
        }
        xml.push_str("</sst>");
        xml
    }
}

/// Appends `<t>text</t>`, escaped, its leading or trailing blanks kept.
fn text_element(xml: &mut String, text: &str) {
    let space = text.starts_with([' ', '\t', '\n']) || text.ends_with([' ', '\t', '\n']);
    xml.push_str(if space {
        r#"<t xml:space="preserve">"#
    } else {
        "<t>"
    });
    escape(xml, text);
    xml.push_str("</t>");
}

enum Value<'a> {
    Number(f64),
    /// Excel keeps it as a double; every count here is far below 2^53.
    Int(i64),
    Text(&'a str),
}

/// Excel's serial number of a wall-clock time: days since 1899-12-30 (the 1900 system, right for
/// every date after February 1900), the time of day as the fraction.
fn serial(t: &NaiveDateTime) -> f64 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    // Milliseconds since 1899 stay far inside f64's exact integers.
    #[allow(clippy::cast_precision_loss)]
    let millis = (*t - epoch).num_milliseconds() as f64;
    millis / 86_400_000.0
}

/// Appends the column's letters: 0 is A, 25 Z, 26 AA.
fn column_name(out: &mut String, col: usize) {
    let mut letters = [0u8; 3];
    let mut n = col + 1;
    let mut at = letters.len();
    while n > 0 && at > 0 {
        at -= 1;
        // Always below 26, so a letter.
        letters[at] = b'A' + u8::try_from((n - 1) % 26).unwrap_or(0);
        n = (n - 1) / 26;
    }
    for letter in &letters[at..] {
        out.push(char::from(*letter));
    }
}

/// At most what Excel keeps in a cell.
fn cut(text: &str) -> &str {
    // A UTF-8 byte is at most one UTF-16 unit, so a short text needs no counting.
    if text.len() <= MAX_CELL_UNITS {
        return text;
    }
    let mut units = 0;
    for (at, c) in text.char_indices() {
        units += c.len_utf16();
        if units > MAX_CELL_UNITS {
            return &text[..at];
        }
    }
    text
}

/// Appends `text` as XML character data the way Excel reads it back: markup characters as
/// entities, control characters XML cannot hold (and a carriage return, which XML would turn
/// into a line feed) as Excel's `_xHHHH_`, and the underscore of a literal `_xHHHH_` as
/// `_x005F_` so that it is not read as one.
fn escape(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut from = 0;
    for (at, &b) in bytes.iter().enumerate() {
        let replacement: Option<&str> = match b {
            b'&' => Some("&amp;"),
            b'<' => Some("&lt;"),
            b'>' => Some("&gt;"),
            b'_' if is_excel_escape(&bytes[at..]) => Some("_x005F_"),
            b'\t' | b'\n' => None,
            0..=0x1f => {
                out.push_str(&text[from..at]);
                let _ = write!(out, "_x{b:04X}_");
                from = at + 1;
                continue;
            }
            _ => None,
        };
        if let Some(replacement) = replacement {
            out.push_str(&text[from..at]);
            out.push_str(replacement);
            from = at + 1;
        }
    }
    out.push_str(&text[from..]);
}

/// Whether `text` starts with `_xHHHH_`.
fn is_excel_escape(text: &[u8]) -> bool {
    text.len() >= 7
        && text[1] == b'x'
        && text[2..6].iter().all(u8::is_ascii_hexdigit)
        && text[6] == b'_'
}

const SHEET_START: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\r\n",
    r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
    r#"<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView></sheetViews>"#,
    r#"<sheetFormatPr defaultRowHeight="15"/>"#,
);

const SHEET_END: &str = r#"</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>"#;

const CONTENT_TYPES_START: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\r\n",
    r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#,
    r#"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#,
    r#"<Default Extension="xml" ContentType="application/xml"/>"#,
    r#"<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    r#"<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#,
);

const SHARED_STRINGS_START: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\r\n",
    r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#,
);

const ROOT_RELS: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\r\n",
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>"#,
    "</Relationships>",
);

const WORKBOOK_START: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\r\n",
    r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
    r#"<bookViews><workbookView/></bookViews><sheets>"#,
);

const RELS_START: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\r\n",
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
);

/// The styles [`style`] numbers: plain, bold, a time in the profile's `TIME_FORMAT`, numbers with
/// 0, 1 and 2 decimals, blue text for links.
const STYLES: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\r\n",
    r#"<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    r#"<numFmts count="2"><numFmt numFmtId="164" formatCode="TIME_FORMAT"/><numFmt numFmtId="165" formatCode="0.0"/></numFmts>"#,
    r#"<fonts count="3">"#,
    r#"<font><sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>"#,
    r#"<font><b/><sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>"#,
    r#"<font><sz val="11"/><color rgb="FF0000FF"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>"#,
    "</fonts>",
    r#"<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>"#,
    r#"<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"#,
    r#"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#,
    r#"<cellXfs count="7">"#,
    r#"<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>"#,
    r#"<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#,
    r#"<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#,
    r#"<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#,
    r#"<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#,
    r#"<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#,
    r#"<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#,
    "</cellXfs>",
    r#"<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#,
    "</styleSheet>",
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use calamine::{Data, Reader as _};
    use chrono::NaiveDate;

    use super::*;

    /// A workbook of these rows under the header `a`, `b`; the first column's texts shared.
    fn written(rows: &[Vec<Cell>]) -> (tempfile::TempDir, std::path::PathBuf) {
        written_sharing(rows, &[true, false])
    }

    fn written_sharing(
        rows: &[Vec<Cell>],
        repeats: &[bool],
    ) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sheet.xlsx");
        let mut sheet = XlsxSheet::new(
            std::fs::File::create(&path).unwrap(),
            Profile::Ru,
            &["a".to_owned(), "b".to_owned()],
            &[10.0, 30.0],
            repeats,
        )
        .unwrap();
        for row in rows {
            sheet.write_row(row).unwrap();
        }
        sheet.finish().unwrap().flush().unwrap();
        (dir, path)
    }

    #[test]
    fn every_cell_reads_back_with_its_type_whatever_its_column_held_before() {
        let t = NaiveDate::from_ymd_opt(2026, 11, 20)
            .and_then(|d| d.and_hms_opt(9, 30, 15))
            .unwrap();
        let (_dir, path) = written(&[
            vec![Cell::Time(t), Cell::Empty],
            vec![Cell::Int(7), Cell::Number(1.5, 1)],
            vec![Cell::text("words"), Cell::Time(t)],
            vec![
                Cell::Link("https://x.example/p/1".into()),
                Cell::Number(-2.25, 2),
            ],
            vec![Cell::Empty, Cell::Int(3)],
            vec![Cell::text("words"), Cell::text("more words")],
        ]);
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        let cell = |r: usize, c: usize| range.get((r, c)).cloned().unwrap_or(Data::Empty);
        assert_eq!(cell(0, 0), Data::String("a".into()));
        match cell(1, 0) {
            Data::DateTime(d) => assert_eq!(d.as_datetime(), Some(t)),
            other => panic!("a time, not {other:?}"),
        }
        assert_eq!(cell(2, 0), Data::Float(7.0), "a number, not a date");
        assert_eq!(cell(3, 0), Data::String("words".into()));
        assert_eq!(cell(4, 0), Data::String("https://x.example/p/1".into()));
        assert_eq!(cell(1, 1), Data::Empty);
        assert_eq!(cell(2, 1), Data::Float(1.5));
        assert!(matches!(cell(3, 1), Data::DateTime(_)), "{:?}", cell(3, 1));
        assert_eq!(cell(4, 1), Data::Float(-2.25));
        assert_eq!(cell(5, 0), Data::Empty);
        assert_eq!(
            cell(5, 1),
            Data::Float(3.0),
            "in its column after an empty one"
        );
        assert_eq!(cell(6, 0), Data::String("words".into()));
        assert_eq!(cell(6, 1), Data::String("more words".into()));
    }

    #[test]
    fn markup_control_characters_and_excel_escapes_come_back_as_written() {
        let texts = [
            "<b>&amp;</b> \"quoted\"",
            "a\u{1}b\rc\td\ne",
            "_x0041_ is not A",
            " leading and trailing ",
            "Москва → 深圳",
        ];
        let rows: Vec<Vec<Cell>> = texts.iter().map(|t| vec![Cell::text(*t)]).collect();
        // In the shared strings and in their cells.
        for repeats in [true, false] {
            let (_dir, path) = written_sharing(&rows, &[repeats]);
            let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
            let range = book.worksheet_range_at(0).unwrap().unwrap();
            for (n, text) in texts.iter().enumerate() {
                assert_eq!(
                    range.get((n + 1, 0)),
                    Some(&Data::String((*text).to_owned())),
                    "{text:?}, shared: {repeats}"
                );
            }
        }
    }

    #[test]
    fn texts_met_once_the_shared_strings_are_full_are_written_in_their_cells() {
        let rows: Vec<Vec<Cell>> = (0..MAX_SHARED + 50)
            .map(|n| vec![Cell::text(format!("text {}", n % (MAX_SHARED + 25)))])
            .collect();
        let (_dir, path) = written(&rows);
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        for (n, row) in rows.iter().enumerate() {
            let Cell::Text(text) = &row[0] else {
                unreachable!()
            };
            assert_eq!(range.get((n + 1, 0)), Some(&Data::String(text.to_string())));
        }
    }

    #[test]
    fn no_part_carries_a_zip64_record_which_libreoffice_refuses() {
        let (_dir, path) = written(&[vec![Cell::text("x"), Cell::Int(1)]]);
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        for n in 0..zip.len() {
            let part = zip.by_index(n).unwrap();
            // A ZIP64 extended information field starts with its header id, 0x0001.
            let extra = part.extra_data().unwrap_or_default();
            assert!(!extra.starts_with(&[1, 0]), "{:?}: {extra:?}", part.name());
        }
    }

    #[test]
    fn a_text_longer_than_excel_keeps_is_cut_at_its_limit() {
        let long = "я".repeat(40_000);
        assert_eq!(cut(&long).chars().count(), MAX_CELL_UNITS);
        assert_eq!(cut("short"), "short");
    }

    #[test]
    fn columns_are_named_as_excel_names_them() {
        let name = |col| {
            let mut s = String::new();
            column_name(&mut s, col);
            s
        };
        assert_eq!(name(0), "A");
        assert_eq!(name(25), "Z");
        assert_eq!(name(26), "AA");
        assert_eq!(name(701), "ZZ");
        assert_eq!(name(702), "AAA");
    }
}
