//! Dispute evidence: gather a posting's trail, products and the seller's files into a pack
//! (`ozontrack-evidence`), off the async runtime; add a file to a posting; check a pack; and the
//! worker that builds the pack of every posting entering a dispute before the seller asks.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ozontrack_db::{AttachmentRecord, Chore, Database, LeaseOwner, NewAttachment, PackRecord};
use ozontrack_domain::{AuditAction, Clock, Language, PostingId};
use ozontrack_evidence::{Attachment, Input, Pack, Verification};

use crate::estimate::EstimateBook;
use crate::{Actor, Chain, Error, Problem};

pub use ozontrack_evidence::WITH_PDF;

/// The PDF's languages unless asked otherwise: Chinese for the seller, Russian for Ozon.
pub const LANGUAGES: [Language; 2] = [Language::Zh, Language::Ru];

/// The PDF's languages as a person lists them (`zh,ru`), in order, each once; none given: the
/// default pair.
pub fn languages(text: Option<&str>) -> Result<Vec<Language>, Error> {
    let Some(text) = text else {
        return Ok(LANGUAGES.to_vec());
    };
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let language = Language::parse(part).map_err(|e| Error::invalid("languages", e))?;
        if !out.contains(&language) {
            out.push(language);
        }
    }
    if out.is_empty() {
        return Err(Error::invalid("languages", Problem::Empty));
    }
    Ok(out)
}

/// The PDF's languages for a person reading in `reader`'s: theirs first, then Russian, which
/// Ozon's support reads.
pub fn languages_for(reader: Language) -> Vec<Language> {
    let mut out = vec![reader];
    if reader != Language::Ru {
        out.push(Language::Ru);
    }
    out
}

/// The largest attachment taken unless configured otherwise: a few minutes of phone video.
pub const DEFAULT_MAX_ATTACHMENT: u64 = 200 * 1024 * 1024;

/// Builds the pack of a posting as it stands at `now`.
pub async fn build<D: Database>(
    db: &D,
    estimates: &Arc<EstimateBook>,
    posting: PostingId,
    languages: &[Language],
    now: DateTime<Utc>,
) -> Result<Pack, Error> {
    let trail = crate::trail::read_learned(db, estimates, posting, now)
        .await?
        .ok_or(Error::NotFound("posting"))?;
    let store = db
        .store(trail.store.id)
        .await?
        .ok_or(Error::NotFound("posting"))?;
    let products = db.products(posting).await?;
    let mut attachments = Vec::new();
    for a in db.attachments(posting).await? {
        // An attachment removed between the two reads is left out, not an error.
        if let Some(content) = db.attachment_content(a.id).await? {
            attachments.push(Attachment {
                file_name: a.file_name,
                media_type: a.media_type,
                sha256: a.sha256,
                taken_at: a.taken_at,
                added_at: a.added_at,
                added_by: a.added_by,
                content,
            });
        }
    }
    let languages = if languages.is_empty() {
        LANGUAGES.to_vec()
    } else {
        languages.to_vec()
    };
    let client_id = store.client_id;
    // Laying out a PDF is CPU work of tens of milliseconds: never on the runtime's threads.
    tokio::task::spawn_blocking(move || {
        ozontrack_evidence::build(&Input {
            trail: &trail,
            client_id,
            products: &products,
            attachments: &attachments,
            generated_at: now,
            version: env!("CARGO_PKG_VERSION"),
            languages: &languages,
        })
    })
    .await
    .map_err(|_| Error::Unavailable("the evidence builder stopped"))?
    .map_err(|e| Error::invalid("evidence", Problem::Said(e.to_string())))
}

/// A file a seller adds to a posting.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// The name it had; directories are dropped.
    pub name: String,
    pub content: Vec<u8>,
    /// When it was made, when known (its modification time).
    pub taken_at: Option<DateTime<Utc>>,
}

/// Adds a file to a posting's evidence, refused above `max_bytes`; the same file again is the
/// stored one (`false`).
pub async fn attach<D: Database>(
    db: &D,
    actor: &Actor,
    posting: PostingId,
    file: NewFile,
    max_bytes: u64,
    now: DateTime<Utc>,
) -> Result<(AttachmentRecord, bool), Error> {
    let name = file
        .name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid("file", Problem::Length { min: 1, max: 200 }));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("file", Problem::ControlCharacters));
    }
    let size = file.content.len() as u64;
    if size == 0 {
        return Err(Error::invalid("file", Problem::Empty));
    }
    if size > max_bytes {
        return Err(Error::invalid(
            "file",
            Problem::TooLarge {
                mib: size.div_ceil(1024 * 1024),
                max_mib: max_bytes / (1024 * 1024),
            },
        ));
    }
    let posting_record = db
        .posting_by_id(posting)
        .await?
        .ok_or(Error::NotFound("posting"))?;
    let store = db.store(posting_record.posting.store_id).await?;
    let new = NewAttachment {
        posting,
        media_type: media_type(&name).to_owned(),
        sha256: ozontrack_evidence::sha256(&file.content),
        file_name: name,
        taken_at: file.taken_at,
        added_at: now,
        added_by: actor.as_str().to_owned(),
        content: file.content,
    };
    let (record, added) = db.add_attachment(&new).await?;
    if added {
        let mut entry = crate::audit::Entry::new(actor, AuditAction::EvidenceAttached, now)
            .posting(posting_record.posting.number.as_str())
            .subject(format!("#{}", record.id))
            .detail(serde_json::json!({
                "file": record.file_name, "size": record.size, "sha256": record.sha256,
            }));
        if let Some(store) = &store {
            entry = entry.store(store);
        }
        entry.record(db).await;
    }
    Ok((record, added))
}

/// The media type a file's name says, for the pack's list and a download.
fn media_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "heic" => "image/heic",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// Checks a pack's bytes against its manifest.
pub fn verify(bytes: &[u8]) -> Result<Verification, Error> {
    ozontrack_evidence::verify(bytes)
        .map_err(|e| Error::invalid("file", Problem::Said(e.to_string())))
}

/// The pack kept for a disputed posting, if one was built.
pub async fn kept<D: Database>(db: &D, posting: PostingId) -> Result<Option<PackRecord>, Error> {
    Ok(db.kept_pack(posting).await?)
}

/// Builds the packs of postings entering a dispute, and again when what they show changes.
pub struct DisputeWorker<D> {
    db: D,
    estimates: Arc<EstimateBook>,
    /// The holder of the `disputes` chore while a round runs.
    owner: LeaseOwner,
    clock: Arc<dyn Clock>,
}

impl<D> std::fmt::Debug for DisputeWorker<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisputeWorker").finish_non_exhaustive()
    }
}

/// Packs built per round: a round stays short; more wait for the next.
const PACKS_PER_ROUND: u32 = 20;

/// How long a round holds the `disputes` chore (real time): a round builds a few packs in
/// seconds, and a process dying meanwhile holds the chore this long.
pub const DISPUTES_TERM: Duration = Duration::minutes(5);

impl<D: Database> DisputeWorker<D> {
    pub fn new(
        db: D,
        estimates: Arc<EstimateBook>,
        owner: LeaseOwner,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            db,
            estimates,
            owner,
            clock,
        }
    }

    /// Builds and keeps the packs due at `now` if this process holds the `disputes` chore, so
    /// that processes sharing a database do not build the same packs side by side; returns how
    /// many were built.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let until = now + self.clock.lasting(DISPUTES_TERM);
        // Due again at once: whichever process asks next does the next round.
        let built = crate::supervise::chore_round(
            &self.db,
            Chore::DISPUTES,
            &self.owner,
            (now, until, now),
            self.build_due(now),
        )
        .await?;
        Ok(built.unwrap_or(0))
    }

    async fn build_due(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let due = self.db.disputes_without_pack(PACKS_PER_ROUND).await?;
        let mut built = 0;
        for posting in due {
            let pack = match build(&self.db, &self.estimates, posting, &LANGUAGES, now).await {
                Ok(pack) => pack,
                // Removed meanwhile.
                Err(Error::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            self.db
                .keep_pack(&PackRecord {
                    posting,
                    built_at: now,
                    file_name: pack.file_name,
                    sha256: pack.sha256,
                    content: pack.bytes,
                })
                .await?;
            built += 1;
        }
        Ok(built)
    }
}

impl<D: Database> crate::supervise::Worker for DisputeWorker<D> {
    fn name(&self) -> &'static str {
        "evidence"
    }

    async fn round(&self) -> bool {
        match self.run_once(self.clock.now()).await {
            // A full round leaves more: go again at once.
            Ok(built) => built == PACKS_PER_ROUND as usize,
            Err(e) => {
                tracing::error!(error = %Chain(&e), "building dispute evidence failed");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_read_in_order_once_each_and_an_unknown_one_is_named() {
        assert_eq!(languages(None).unwrap(), LANGUAGES);
        assert_eq!(
            languages(Some("ru, zh,ru")).unwrap(),
            [Language::Ru, Language::Zh]
        );
        let wrong = languages(Some("zh,de")).unwrap_err().to_string();
        assert!(
            wrong.starts_with("languages:") && wrong.contains("de"),
            "{wrong}"
        );
        assert!(languages(Some(" , ")).is_err());
        assert_eq!(languages_for(Language::En), [Language::En, Language::Ru]);
        assert_eq!(languages_for(Language::Ru), [Language::Ru]);
    }

    #[test]
    fn a_files_type_comes_from_its_extension() {
        assert_eq!(media_type("Packing.MP4"), "video/mp4");
        assert_eq!(media_type("receipt.jpeg"), "image/jpeg");
        assert_eq!(media_type("notes"), "application/octet-stream");
    }
}
