//! An export's file on disk: written under a hidden `.partial` name and renamed only when
//! complete, so an interrupted export leaves nothing that looks finished; optionally cut into
//! parts of at most N rows (the seller office's 10 000) gathered in one zip.

use std::fs::File;
use std::io::{Seek, Write};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tempfile::NamedTempFile;
use zip::write::SimpleFileOptions;

use crate::ReportError;
use crate::cell::{Cell, Profile};
use crate::sheet::{CsvSheet, FileFormat};
use crate::xlsx::XlsxSheet;

/// A file that appears under its name only when [`AtomicFile::commit`] says it is complete.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// A hidden `.NAME.partial…` beside `path`, so the rename stays on one file system.
    pub fn create(path: &Path) -> Result<Self, ReportError> {
        let dir = parent(path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.partial"))
            .tempfile_in(dir)?;
        Ok(AtomicFile {
            tmp,
            path: path.to_owned(),
        })
    }

    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Flushes to disk and renames into place.
    pub fn commit(self) -> Result<PathBuf, ReportError> {
        self.tmp.as_file().sync_all()?;
        self.tmp
            .persist(&self.path)
            .map_err(|e| ReportError::Io(e.error))?;
        Ok(self.path)
    }
}

/// `at` as a zip entry's time: its wall clock in UTC, as the export's file name gives it (a zip
/// entry holds no zone; without a time, unzipping showed every part made in 1980). A moment
/// outside what the format holds (1980 to 2107) gets the format's earliest.
fn zip_time(at: DateTime<Utc>) -> zip::DateTime {
    zip::DateTime::try_from(at.naive_utc()).unwrap_or_default()
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// How an export file is laid out.
#[derive(Debug, Clone)]
pub struct Layout {
    pub format: FileFormat,
    pub profile: Profile,
    pub header: Vec<String>,
    /// Column widths in XLSX (characters).
    pub widths: Vec<f64>,
    /// The columns whose texts repeat from row to row (an XLSX shares them).
    pub repeats: Vec<bool>,
    /// At most this many rows per file, all files in one zip.
    pub split: Option<NonZeroU64>,
}

// One part exists at a time; the sizes of the writers do not matter.
#[allow(clippy::large_enum_variant)]
enum Part {
    /// The sheet gathers its rows itself.
    Csv(CsvSheet<File>),
    Xlsx(XlsxSheet<File>),
}

impl Part {
    fn rows(&self) -> u64 {
        match self {
            Part::Csv(s) => s.rows(),
            Part::Xlsx(s) => s.rows(),
        }
    }
}

/// An export being written to a file: one spreadsheet, or parts in a zip.
pub struct ExportFile {
    layout: Layout,
    out: AtomicFile,
    /// The zip, the name its parts are named after and the time they are stamped with.
    zip: Option<(zip::ZipWriter<File>, String, zip::DateTime)>,
    /// The current part and the temporary file it is written to (for a zip).
    part: Option<(Part, Option<NamedTempFile>)>,
    parts: u32,
    rows: u64,
}

impl std::fmt::Debug for ExportFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportFile")
            .field("path", &self.out.path)
            .field("parts", &self.parts)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl ExportFile {
    /// Starts `path`: a spreadsheet, or (with a split) a zip whose parts are named after it and
    /// stamped with `made_at` (see [`zip_time`]).
    pub fn create(
        path: &Path,
        layout: Layout,
        made_at: DateTime<Utc>,
    ) -> Result<Self, ReportError> {
        let out = AtomicFile::create(path)?;
        let zip = match layout.split {
            Some(_) => {
                let stem = path
                    .file_stem()
                    .map_or_else(|| "export".to_owned(), |s| s.to_string_lossy().into_owned());
                Some((
                    zip::ZipWriter::new(out.tmp.reopen()?),
                    stem,
                    zip_time(made_at),
                ))
            }
            None => None,
        };
        Ok(ExportFile {
            layout,
            out,
            zip,
            part: None,
            parts: 0,
            rows: 0,
        })
    }

    fn start_part(&mut self) -> Result<(), ReportError> {
        let (destination, tmp) = if self.zip.is_some() {
            let tmp = tempfile::Builder::new()
                .prefix(".export-part")
                .tempfile_in(parent(&self.out.path))?;
            (tmp.reopen()?, Some(tmp))
        } else {
            (self.out.file().try_clone()?, None)
        };
        let part = match self.layout.format {
            FileFormat::Csv => Part::Csv(CsvSheet::new(
                destination,
                self.layout.profile,
                &self.layout.header,
            )?),
            FileFormat::Xlsx => Part::Xlsx(XlsxSheet::new(
                destination,
                self.layout.profile,
                &self.layout.header,
                &self.layout.widths,
                &self.layout.repeats,
            )?),
        };
        self.parts += 1;
        self.part = Some((part, tmp));
        Ok(())
    }

    fn finish_part(&mut self) -> Result<(), ReportError> {
        let Some((part, tmp)) = self.part.take() else {
            return Ok(());
        };
        match part {
            Part::Csv(sheet) => sheet.finish()?.flush()?,
            Part::Xlsx(sheet) => sheet.finish()?.flush()?,
        }
        if let (Some((zip, stem, made_at)), Some(tmp)) = (&mut self.zip, tmp) {
            let name = format!(
                "{stem}-{:04}.{}",
                self.parts,
                self.layout.format.extension()
            );
            zip.start_file(
                name,
                SimpleFileOptions::default().last_modified_time(*made_at),
            )?;
            let mut file = tmp.reopen()?;
            file.rewind()?;
            std::io::copy(&mut file, zip)?;
        }
        Ok(())
    }

    pub fn write_row(&mut self, cells: &[Cell<'_>]) -> Result<(), ReportError> {
        let full = match (&self.part, self.layout.split) {
            (None, _) => true,
            (Some((part, _)), Some(max)) => part.rows() >= max.get(),
            (Some(_), None) => false,
        };
        if full {
            self.finish_part()?;
            self.start_part()?;
        }
        if let Some((part, _)) = &mut self.part {
            match part {
                Part::Csv(s) => s.write_row(cells)?,
                Part::Xlsx(s) => s.write_row(cells)?,
            }
        }
        self.rows += 1;
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Completes the last part (an empty export still gets its header) and renames the file
    /// into place; until then only the hidden partial file exists.
    pub fn commit(mut self) -> Result<PathBuf, ReportError> {
        if self.part.is_none() && self.parts == 0 {
            self.start_part()?;
        }
        self.finish_part()?;
        if let Some((zip, ..)) = self.zip.take() {
            zip.finish()?.flush()?;
        }
        self.out.commit()
    }
}
