//! The dispute evidence pack: one posting's whole trail in a zip a support agent reads in a
//! minute and a seller can prove untouched.
//!
//! `evidence-<posting>-<time>.zip` holds:
//! - `evidence.pdf` (with the `pdf` feature): cover, the delivery with how it was handed over
//!   and to whom, the ticket paragraph, the route, Ozon's timeline with when ozontrack observed
//!   each change, every carrier leg's events verbatim with their source and receipt time, the
//!   sources that disagree, alerts and what the seller did, Ozon's deadlines, the attachments and
//!   the SHA-256 of every payload; in the chosen languages (Chinese and Russian by default);
//! - `evidence.json`: the same as data ([`document::SCHEMA`]);
//! - `attachments/`: the seller's files;
//! - `manifest.json`: the SHA-256 of every file above and every payload the events came from.
//!
//! The engine gathers the posting ([`Input`]); nothing here reads a database or the network.
//! The same input gives the same bytes.

pub mod document;
mod map;
pub mod pack;
#[cfg(feature = "pdf")]
pub mod pdf;
pub mod view;

use chrono::{DateTime, Utc};
use ozontrack_domain::trail::Trail;
use ozontrack_domain::{ClientId, Language, Product};

pub use document::Document;
pub use pack::{FileCheck, MANIFEST_SCHEMA, Manifest, Pack, Verification, build, verify};

/// Whether this build writes the PDF (the `pdf` feature).
pub const WITH_PDF: bool = cfg!(feature = "pdf");

/// Everything a pack is made of, gathered by the engine.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub trail: &'a Trail,
    /// The store's Client-Id (masked in the pack).
    pub client_id: Option<ClientId>,
    pub products: &'a [Product],
    pub attachments: &'a [Attachment],
    pub generated_at: DateTime<Utc>,
    /// ozontrack's version.
    pub version: &'a str,
    /// The PDF's languages, side by side, in this order.
    pub languages: &'a [Language],
}

/// A seller's file, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub media_type: String,
    /// `sha256:` and the hex digest, as stored when it was added.
    pub sha256: String,
    pub taken_at: Option<DateTime<Utc>>,
    pub added_at: DateTime<Utc>,
    pub added_by: String,
    pub content: Vec<u8>,
}

impl Attachment {
    /// Its path in the pack: numbered, so two files with one name stay two.
    pub fn path(&self, index: usize) -> String {
        let name: String = self
            .file_name
            .chars()
            .map(|c| {
                if c == '/' || c == '\\' || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        format!("attachments/{:02}-{name}", index + 1)
    }
}

/// `sha256:` and the hex digest of `bytes`: how every hash in a pack is written.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// What can go wrong building or checking a pack.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("cannot write the PDF: {0}")]
    Pdf(String),
    #[error("cannot write the JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write or read the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("cannot read the pack: {0}")]
    Io(#[from] std::io::Error),
    #[error("this is not an evidence pack: {0}")]
    NotAPack(String),
}
