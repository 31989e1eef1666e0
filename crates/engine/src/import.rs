//! Importing the seller office's postings report: for sellers without API access yet, or to
//! fill history the API no longer lists. The report's postings become postings of a store,
//! written like a sync's page (one transaction, Ozon's leg and status events included), so a
//! later sync takes them over by (store, posting number) without duplicates, and a posting
//! gets tracked as soon as it has a tracking number.

use chrono::{DateTime, Utc};
use ozontrack_db::{Database, StoreRecord};
use ozontrack_domain::{OzonSubstatus, Posting, Scheme, SyncedPosting};
use ozontrack_reports::{ReadOptions, ReportPosting, read_report};

use crate::Error;

/// What an import did, or (dry run) would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub scheme: Scheme,
    /// Data rows of the file (product lines).
    pub rows: u64,
    /// Distinct postings in the file.
    pub postings: u64,
    /// Product lines, once each.
    pub products: u64,
    /// Postings the store did not have.
    pub new: u64,
    /// Postings whose stored state the file changes.
    pub updated: u64,
    /// Postings the file says nothing new of.
    pub unchanged: u64,
    /// Columns of the file ozontrack does not read (buyer data among them is never kept).
    pub ignored_columns: Vec<String>,
    pub dry_run: bool,
}

/// Reads `bytes` (the file `name`, CSV or XLSX) and, unless `dry_run`, writes its postings to
/// `store` in one transaction. A file with any problem writes nothing and names every problem
/// by file, line and column.
// Each is its own input from the edge (the store, the file, how to read it, whether to write,
// who, when); a struct would only repack them at every call.
#[allow(clippy::too_many_arguments)]
pub async fn import_postings<D: Database>(
    db: &D,
    store: &StoreRecord,
    name: &str,
    bytes: Vec<u8>,
    options: ReadOptions,
    dry_run: bool,
    actor: &crate::Actor,
    now: DateTime<Utc>,
) -> Result<Imported, Error> {
    let name_owned = name.to_owned();
    // Parsing a large file is CPU work: off the async workers.
    let report = tokio::task::spawn_blocking(move || read_report(&name_owned, &bytes, options))
        .await
        .map_err(|_| Error::Unavailable("the report reader stopped"))??;
    let mut outcome = Imported {
        scheme: report.scheme,
        rows: report.rows,
        postings: report.postings.len() as u64,
        products: report
            .postings
            .iter()
            .map(|p| p.products.len() as u64)
            .sum(),
        ignored_columns: report.ignored,
        dry_run,
        new: 0,
        updated: 0,
        unchanged: 0,
    };
    let mut page = Vec::new();
    for row in report.postings {
        let known = db.posting(store.id, &row.number).await?;
        let stored_products = match &known {
            Some(record) => Some(db.products(record.id).await?),
            None => None,
        };
        let posting = merged(store, known.as_ref().map(|r| &r.posting), &row);
        let same = known.as_ref().is_some_and(|k| k.posting == posting)
            && stored_products.as_ref() == Some(&row.products);
        if same {
            outcome.unchanged += 1;
            continue;
        }
        if known.is_some() {
            outcome.updated += 1;
        } else {
            outcome.new += 1;
        }
        let mut synced = SyncedPosting::new(posting, String::new(), row.as_of());
        synced.products = Some(row.products);
        page.push(synced);
    }
    if !dry_run && !page.is_empty() {
        db.record_page(&page, None, now).await?;
        crate::audit::Entry::new(actor, ozontrack_domain::AuditAction::ReportImported, now)
            .store(store)
            .subject(name)
            .detail(serde_json::json!({"new": outcome.new, "updated": outcome.updated}))
            .record(db)
            .await;
    }
    Ok(outcome)
}

/// The posting as the report row leaves it: what the store knew, with what the report says laid
/// over it (the report has no delivery method, tracking number or coordinates, so those stay).
fn merged(store: &StoreRecord, known: Option<&Posting>, row: &ReportPosting) -> Posting {
    let mut p = known.cloned().unwrap_or_else(|| {
        Posting::new(store.id, row.number.clone(), row.scheme, row.status.clone())
    });
    if p.status != row.status {
        // The report names no substatus: one of another status would be wrong.
        p.substatus = OzonSubstatus::None;
        p.status = row.status.clone();
    }
    p.in_process_at = Some(row.in_process_at);
    p.ship_by = row.ship_by.or(p.ship_by);
    p.delivering_at = row.delivering_at.or(p.delivering_at);
    p.delivered_at = row.delivered_at.or(p.delivered_at);
    p.total = row.amount.or(p.total);
    p.buyer_city = row.city.clone().or(p.buyer_city);
    p.buyer_region = row.region.clone().or(p.buyer_region);
    p
}
