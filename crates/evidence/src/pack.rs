//! The zip: the files, their manifest, and checking a pack received back against it.

use std::io::{Cursor, Read as _, Write as _};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::document::Document;
use crate::{EvidenceError, Input, sha256};

/// The schema of `manifest.json`.
pub const MANIFEST_SCHEMA: &str = "ozontrack.evidence-manifest/1";

const MANIFEST: &str = "manifest.json";
const JSON: &str = "evidence.json";
#[cfg(feature = "pdf")]
const PDF: &str = "evidence.pdf";

/// `manifest.json`: a hash for every file of the pack and every payload its events came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    pub posting: String,
    pub generated_at: DateTime<Utc>,
    pub files: Vec<ManifestFile>,
    /// The SHA-256 of every carrier and Ozon answer an event was read from, as received.
    pub payloads: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// A built pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pack {
    /// `evidence-<posting>-<YYYYMMDDTHHMMSSZ>.zip`.
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub manifest: Manifest,
}

/// Builds the pack. CPU-bound (the PDF): callers on an async runtime run it on a blocking
/// thread.
pub fn build(input: &Input<'_>) -> Result<Pack, EvidenceError> {
    let doc = Document::of(input);
    let mut files: Vec<(String, Vec<u8>, CompressionMethod)> = Vec::new();
    #[cfg(feature = "pdf")]
    {
        let view = crate::view::View::of(input, &doc, input.languages);
        files.push((
            PDF.to_owned(),
            crate::pdf::render(&view)?,
            CompressionMethod::Deflated,
        ));
    }
    let mut json = serde_json::to_vec_pretty(&doc)?;
    json.push(b'\n');
    files.push((JSON.to_owned(), json, CompressionMethod::Deflated));
    for (i, a) in input.attachments.iter().enumerate() {
        // Videos and photos are compressed already.
        files.push((a.path(i), a.content.clone(), CompressionMethod::Stored));
    }
    let manifest = Manifest {
        schema: MANIFEST_SCHEMA.to_owned(),
        posting: doc.posting.number.clone(),
        generated_at: doc.generated_at,
        files: files
            .iter()
            .map(|(path, bytes, _)| ManifestFile {
                path: path.clone(),
                size: bytes.len() as u64,
                sha256: sha256(bytes),
            })
            .collect(),
        payloads: doc
            .payload_digests()
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    let mut manifest_json = serde_json::to_vec_pretty(&manifest)?;
    manifest_json.push(b'\n');

    // Every entry carries the generation time, so the same input gives the same bytes.
    let t = doc.generated_at;
    let time = zip::DateTime::try_from(t.naive_utc()).unwrap_or_default();
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let entries = files
        .iter()
        .map(|(p, b, m)| (p.as_str(), b.as_slice(), *m))
        .chain([(
            MANIFEST,
            manifest_json.as_slice(),
            CompressionMethod::Deflated,
        )]);
    for (path, bytes, method) in entries {
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(time)
            .unix_permissions(0o644)
            .large_file(bytes.len() >= u32::MAX as usize);
        zip.start_file(path, options)?;
        zip.write_all(bytes)?;
    }
    let bytes = zip.finish()?.into_inner();
    Ok(Pack {
        file_name: format!(
            "evidence-{}-{}.zip",
            doc.posting.number,
            t.format("%Y%m%dT%H%M%SZ")
        ),
        sha256: sha256(&bytes),
        bytes,
        manifest,
    })
}

/// One file's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    pub path: String,
    pub ok: bool,
}

/// What checking a pack found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub manifest: Manifest,
    pub files: Vec<FileCheck>,
    /// Everything that does not match, each a sentence naming the file; empty: intact.
    pub problems: Vec<String>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a pack against its manifest: every listed file present with its hash, nothing
/// unlisted, and the JSON's payloads and attachments the ones the manifest names.
pub fn verify(bytes: &[u8]) -> Result<Verification, EvidenceError> {
    let mut zip = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| EvidenceError::NotAPack(format!("not a readable zip ({e})")))?;
    let mut read = |name: &str| -> Result<Option<Vec<u8>>, EvidenceError> {
        let mut file = match zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        file.read_to_end(&mut out)?;
        Ok(Some(out))
    };
    let manifest_bytes =
        read(MANIFEST)?.ok_or_else(|| EvidenceError::NotAPack(format!("it has no {MANIFEST}")))?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| EvidenceError::NotAPack(format!("{MANIFEST} does not read ({e})")))?;
    let mut problems = Vec::new();
    let mut files = Vec::new();
    let mut json = None;
    for f in &manifest.files {
        let ok = match read(&f.path) {
            Err(e) => {
                // zip's own checksum caught a changed byte before the manifest could.
                problems.push(format!("{} is damaged: {e}", f.path));
                false
            }
            Ok(None) => {
                problems.push(format!("{} is listed in the manifest but missing", f.path));
                false
            }
            Ok(Some(content)) => {
                let digest = sha256(&content);
                if f.path == JSON {
                    json = Some(content.clone());
                }
                if digest == f.sha256 && content.len() as u64 == f.size {
                    true
                } else {
                    problems.push(format!(
                        "{} has changed: the manifest says {}, the file is {digest}",
                        f.path, f.sha256
                    ));
                    false
                }
            }
        };
        files.push(FileCheck {
            path: f.path.clone(),
            ok,
        });
    }
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(String::from)
        .collect();
    for name in names {
        if name != MANIFEST && !manifest.files.iter().any(|f| f.path == name) {
            problems.push(format!("{name} is in the pack but not in the manifest"));
        }
    }
    match json.map(|j| serde_json::from_slice::<Document>(&j)) {
        None => problems.push(format!("{JSON} is missing")),
        Some(Err(e)) => problems.push(format!("{JSON} does not read ({e})")),
        Some(Ok(doc)) => {
            for digest in doc.payload_digests() {
                if !manifest.payloads.iter().any(|p| p == digest) {
                    problems.push(format!("payload {digest} of {JSON} is not in the manifest"));
                }
            }
            for a in &doc.attachments {
                let listed = manifest.files.iter().find(|f| f.path == a.path);
                if listed.is_none_or(|f| f.sha256 != a.sha256) {
                    problems.push(format!(
                        "attachment {} does not have the SHA-256 it was added with ({})",
                        a.path, a.sha256
                    ));
                }
            }
        }
    }
    Ok(Verification {
        manifest,
        files,
        problems,
    })
}
