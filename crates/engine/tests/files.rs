//! Files in and out against the sandbox and both databases: the fake Ozon's postings report
//! imported end to end (again changing nothing, a later sync taking over without duplicates),
//! a report with problems writing nothing, an export holding every posting once, and a backup
//! taken during a sync restoring to the counts of its manifest.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use ozontrack_db::prelude::*;
use ozontrack_db::{PostingQuery, SqlDatabase, StoreRecord};
use ozontrack_domain::{Clock, Language, PostingNumber};
use ozontrack_engine::export::{ExportSpec, Exporter, FileSpec, export_to_file};
use ozontrack_reports::{Column, FileFormat, Profile, ReadOptions, ReportError};
use ozontrack_sandbox::fakes::ozon::OzonConfig;
use ozontrack_sandbox::faults::FaultPlan;
use serde_json::{Value, json};

mod support;

use support::{Db, World1, add_store, postgres, settings, sqlite, syncer, world};

/// The fake Ozon's FBS postings report of the whole world so far, as the seller office gives it.
async fn office_report(w: &World1) -> Vec<u8> {
    let store = &w.sandbox.state.world.stores[0];
    let http = reqwest::Client::new();
    let call = |path: &str, body: Value| {
        http.post(format!("{}{path}", w.sandbox.urls.ozon))
            .header("Client-Id", store.client_id.to_string())
            .header("Api-Key", store.api_key.clone())
            .json(&body)
            .send()
    };
    let created: Value = call(
        "/v1/report/postings/create",
        json!({"filter": {"processed_at_from": "2020-01-01T00:00:00Z", "processed_at_to": "2030-01-01T00:00:00Z", "delivery_schema": ["fbs"]}, "language": "RU"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let code = created["result"]["code"].as_str().unwrap().to_owned();
    let mut file = String::new();
    while file.is_empty() {
        let info: Value = call("/v1/report/info", json!({"code": code}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        file = info["result"]["file"].as_str().unwrap().to_owned();
    }
    http.get(file)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

async fn numbers(db: &SqlDatabase, record: &StoreRecord) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    let mut query = PostingQuery {
        stores: vec![record.id],
        limit: 200,
        ..PostingQuery::default()
    };
    loop {
        let page = db.postings_page(&query).await.unwrap();
        let Some(last) = page.last() else { break };
        query.before = Some(last.record.id);
        all.extend(
            page.iter()
                .map(|s| s.record.posting.number.as_str().to_owned()),
        );
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_report_imports_end_to_end_and_a_later_sync_takes_over_without_duplicates() {
    let w = world(300, 20, OzonConfig::default(), FaultPlan::default()).await;
    let db = sqlite().await;
    let record = add_store(&db.store, &w).await;
    let report = office_report(&w).await;
    let now = w.clock.now();
    let sim = &w.sandbox.state;
    let fbs: Vec<_> = sim
        .window()
        .parcels()
        .iter()
        .filter(|p| p.appears_at <= now && p.mode != ozontrack_sandbox::world::Mode::Fbo)
        .cloned()
        .collect();
    let products: usize = fbs.iter().map(|p| p.products.len()).sum();

    let dry = ozontrack_engine::import::import_postings(
        &db.store,
        &record,
        "report.csv",
        report.clone(),
        ReadOptions::default(),
        true,
        &ozontrack_engine::Actor::console("test").unwrap(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(dry.postings as usize, fbs.len());
    assert_eq!(dry.new as usize, fbs.len());
    assert_eq!(
        db.store.count_postings(record.id).await.unwrap(),
        0,
        "a dry run writes nothing"
    );

    let first = ozontrack_engine::import::import_postings(
        &db.store,
        &record,
        "report.csv",
        report.clone(),
        ReadOptions::default(),
        false,
        &ozontrack_engine::Actor::console("test").unwrap(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (first.new as usize, first.products as usize),
        (fbs.len(), products)
    );
    assert_eq!(
        db.store.count_postings(record.id).await.unwrap() as usize,
        fbs.len()
    );
    // Every posting with its status and its product lines.
    for p in &fbs {
        let number = PostingNumber::parse(&p.posting_number).unwrap();
        let stored = db.store.posting(record.id, &number).await.unwrap().unwrap();
        assert_eq!(
            stored.posting.status.as_str(),
            sim.ozon_at(p, now).status,
            "{}",
            p.posting_number
        );
        let lines = db.store.products(stored.id).await.unwrap();
        assert_eq!(lines.len(), p.products.len());
        assert_eq!(lines[0].offer_id, p.products[0].offer_id);
    }

    let again = ozontrack_engine::import::import_postings(
        &db.store,
        &record,
        "report.csv",
        report,
        ReadOptions::default(),
        false,
        &ozontrack_engine::Actor::console("test").unwrap(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (again.new, again.updated),
        (0, 0),
        "the same file changes nothing"
    );
    assert_eq!(again.unchanged as usize, fbs.len());

    // The API sync takes over the same postings by number, adding only the FBO ones.
    let sync = syncer(&db.store, &w, settings(50), "worker-a");
    sync.sync_store(&record, false, Arc::default())
        .await
        .unwrap();
    let visible = sim
        .window()
        .parcels()
        .iter()
        .filter(|p| p.appears_at <= now)
        .count();
    assert_eq!(
        db.store.count_postings(record.id).await.unwrap() as usize,
        visible,
        "no posting twice"
    );
    support::assert_matches_truth(&db.store, &record, &w).await;
}

#[tokio::test]
async fn a_report_with_problems_writes_nothing_and_names_every_problem() {
    let db = sqlite().await;
    let w = world(10, 5, OzonConfig::default(), FaultPlan::default()).await;
    let record = add_store(&db.store, &w).await;
    let mut bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../reports/tests/reports/fbs-office.csv"
    ))
    .unwrap();
    // A good file with one bad row appended.
    bytes.extend_from_slice(
        "\"0105861246-0050\";\"bad number\";\"2025-09-27 21:10:51\"\n".as_bytes(),
    );
    let err = ozontrack_engine::import::import_postings(
        &db.store,
        &record,
        "office.csv",
        bytes,
        ReadOptions::default(),
        false,
        &ozontrack_engine::Actor::console("test").unwrap(),
        w.clock.now(),
    )
    .await
    .unwrap_err();
    let ozontrack_engine::Error::Report(ReportError::Problems(problems)) = err else {
        panic!("{err}");
    };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].line, 6);
    assert_eq!(problems[0].column.as_deref(), Some("Номер отправления"));
    assert_eq!(problems[1].column.as_deref(), Some("Статус"));
    assert_eq!(db.store.count_postings(record.id).await.unwrap(), 0);
}

async fn exports_every_posting_once(db: Db) {
    let w = world(400, 25, OzonConfig::default(), FaultPlan::default()).await;
    let record = add_store(&db.store, &w).await;
    let sync = syncer(&db.store, &w, settings(50), "worker-a");
    sync.sync_store(&record, false, Arc::default())
        .await
        .unwrap();
    let stored = numbers(&db.store, &record).await;
    assert!(stored.len() > 200);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.csv");
    let spec = ExportSpec {
        query: PostingQuery {
            stores: vec![record.id],
            ..PostingQuery::default()
        },
        columns: vec![
            Column::PostingNumber,
            Column::Status,
            Column::TrackingNumbers,
        ],
        language: Language::En,
        public_url: None,
    };
    // An export of finished postings only never waits for the arrival model: it shows none.
    let book = Arc::new(ozontrack_engine::estimate::EstimateBook::default());
    let delivered = ExportSpec {
        query: PostingQuery {
            status: Some("delivered".into()),
            ..spec.query.clone()
        },
        ..spec.clone()
    };
    // Filtered by more than its stores, an export reads pages of lines: 64 postings each here,
    // many pages.
    let mut finished = Exporter::new(
        db.store.clone(),
        std::slice::from_ref(&record),
        &delivered,
        Some(Arc::clone(&book)),
    )
    .batch(64);
    let (mut rows, mut batch) = (0, ozontrack_reports::Batch::default());
    while finished
        .next_batch(w.clock.now(), &mut batch)
        .await
        .unwrap()
    {
        assert!(batch.lines().iter().all(|l| l.estimate.is_none()));
        rows += batch.len();
    }
    assert!(rows > 0, "the world has delivered postings");
    assert!(!book.learned());

    // The first page with a posting under way makes a book that has not learned learn, and is
    // read again once it has: its postings under way show their windows too.
    let fresh = Arc::new(ozontrack_engine::estimate::EstimateBook::default());
    let mut first = Exporter::new(
        db.store.clone(),
        std::slice::from_ref(&record),
        &spec,
        Some(Arc::clone(&fresh)),
    )
    .batch(64);
    let mut batch = ozontrack_reports::Batch::default();
    assert!(first.next_batch(w.clock.now(), &mut batch).await.unwrap());
    assert!(fresh.learned());
    // By its stores alone, an export reads pages of blocks, four buckets of 512 ids: these few
    // hundred postings are one page, whatever `batch` says.
    let ids: BTreeSet<i64> = batch.lines().iter().map(|l| l.id).collect();
    assert_eq!(
        (ids.len(), batch.len()),
        (stored.len(), stored.len()),
        "each posting once"
    );
    let under_way: Vec<_> = batch
        .lines()
        .iter()
        .filter(|l| ozontrack_engine::estimate::under_way(&l.status, l.in_process_at).is_some())
        .collect();
    assert!(!under_way.is_empty(), "the newest postings are under way");
    assert!(under_way.iter().all(|l| l.estimate.is_some()));

    // Every posting, the pages read while the one before is completed. Postings under way make
    // the book learn.
    let exporter = Exporter::new(
        db.store.clone(),
        std::slice::from_ref(&record),
        &spec,
        Some(Arc::clone(&book)),
    )
    .batch(64);
    let mut seen = Vec::new();
    let file = FileSpec {
        format: FileFormat::Csv,
        profile: Profile::En,
        split: None,
    };
    let exported = export_to_file(exporter, &spec, &file, &path, w.clock.now(), |rows| {
        seen.push(rows);
    })
    .await
    .unwrap();
    assert_eq!(exported.rows as usize, stored.len());
    assert!(book.learned());
    assert_eq!(
        seen.last().copied(),
        Some(exported.rows),
        "progress ends at the total"
    );
    let bytes = std::fs::read(&path).unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[3..]);
    let exported: Vec<String> = reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
    let unique: BTreeSet<String> = exported.iter().cloned().collect();
    assert_eq!(unique.len(), exported.len(), "every posting once");
    assert_eq!(unique, stored);
    let listed = db
        .store
        .postings_page(&PostingQuery {
            stores: vec![record.id],
            limit: 1000,
            ..PostingQuery::default()
        })
        .await
        .unwrap();
    let newest_first: Vec<&str> = listed
        .iter()
        .map(|s| s.record.posting.number.as_str())
        .collect();
    assert_eq!(
        exported, newest_first,
        "newest first, as the list shows them"
    );

    // Every column, read the long way (no export line made yet), from some lines, then from
    // every line as the worker keeps them: the same file to the byte.
    let every = ExportSpec {
        columns: Column::ALL.to_vec(),
        ..spec
    };
    let now = w.clock.now();
    let all = |name: &'static str| {
        let (db, record, every, book, file, path) = (
            db.store.clone(),
            record.clone(),
            every.clone(),
            Arc::clone(&book),
            file.clone(),
            dir.path().join(name),
        );
        async move {
            let exporter =
                Exporter::new(db, std::slice::from_ref(&record), &every, Some(book)).batch(64);
            let exported = export_to_file(exporter, &every, &file, &path, now, |_| {})
                .await
                .unwrap();
            std::fs::read(exported.path).unwrap()
        }
    };
    assert!(db.store.export_changes_waiting().await.unwrap() > 0);
    let long_way = all("long-way.csv").await;
    db.store.refresh_export_lines(150).await.unwrap();
    assert!(db.store.export_changes_waiting().await.unwrap() > 0);
    assert!(all("some-lines.csv").await == long_way, "some lines");
    let worker = ozontrack_engine::export::LineWorker::new(
        db.store.clone(),
        ozontrack_db::LeaseOwner::new("worker-a"),
        w.clock.clone(),
    );
    while worker.run_once().await.unwrap() > 0 {}
    assert_eq!(db.store.export_changes_waiting().await.unwrap(), 0);
    assert!(all("lines.csv").await == long_way, "every line");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_every_posting_once_on_sqlite() {
    exports_every_posting_once(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_every_posting_once_on_postgres() {
    let Some(db) = postgres().await else { return };
    exports_every_posting_once(db).await;
}

/// A backup taken while a sync writes, verified, then restored into an empty database whose
/// rows equal the manifest's; restoring over a database with data is refused.
async fn backup_during_a_sync_restores_to_its_manifest(db: Db, target: &ozontrack_db::DatabaseUrl) {
    let w = world(1500, 30, OzonConfig::default(), FaultPlan::default()).await;
    let record = add_store(&db.store, &w).await;
    let sync = syncer(&db.store, &w, settings(50), "worker-a");
    let syncing = {
        let record = record.clone();
        tokio::spawn(async move { sync.sync_store(&record, false, Arc::default()).await })
    };
    // Let the sync write some pages first.
    while db.store.count_postings(record.id).await.unwrap() < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let backup =
        ozontrack_engine::backup::take(&db.store, dir.path(), ozontrack_domain::SystemClock.now())
            .await
            .unwrap();
    syncing.await.unwrap().unwrap();
    let after = ozontrack_db::backup::snapshot_at(&db.url).await.unwrap();
    assert!(
        after.tables["postings"] >= backup.manifest.tables["postings"],
        "the backup is one moment of the sync"
    );
    assert!(backup.manifest.tables["postings"] >= 100);
    let verified = ozontrack_engine::backup::verify(&backup.path)
        .await
        .unwrap();
    assert_eq!(verified, backup.manifest);

    let actor = ozontrack_engine::Actor::console("anna").unwrap();
    // Whole seconds: both engines keep the time exactly.
    let now = chrono::DateTime::from_timestamp(ozontrack_domain::SystemClock.now().timestamp(), 0)
        .unwrap();
    let restored = ozontrack_engine::backup::restore(target, &backup.path, false, &actor, now)
        .await
        .unwrap();
    assert_eq!(restored.tables, backup.manifest.tables);
    // The restored trail ends with the restore: who, which backup, when.
    let after = ozontrack_db::backup::snapshot_at(target).await.unwrap();
    assert_eq!(
        after.tables["audit_log"],
        backup.manifest.tables["audit_log"] + 1
    );
    let opened = SqlDatabase::connect(target, support::cipher(), &Default::default())
        .await
        .unwrap();
    let trail = opened
        .audit_entries(&ozontrack_db::AuditFilter {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let last = &trail[0].entry;
    assert_eq!(
        (last.action, last.actor.as_str(), last.subject.as_deref()),
        (
            ozontrack_domain::AuditAction::BackupRestored,
            "cli:anna",
            Some(backup.manifest.file.as_str())
        )
    );
    assert_eq!(last.at, now);
    opened.close().await;
    let err = ozontrack_engine::backup::restore(&db.url, &backup.path, false, &actor, now)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("holds stores or postings"),
        "{err}"
    );

    // A changed byte is found.
    let mut bytes = std::fs::read(&backup.path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&backup.path, bytes).unwrap();
    let err = ozontrack_engine::backup::verify(&backup.path)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not the one the manifest describes"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_taken_during_a_sync_restores_to_the_counts_of_its_manifest() {
    let target_dir = tempfile::tempdir().unwrap();
    let target = ozontrack_db::DatabaseUrl::Sqlite(target_dir.path().join("restored.db"));
    backup_during_a_sync_restores_to_its_manifest(sqlite().await, &target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_backup_taken_during_a_sync_restores_to_the_counts_of_its_manifest() {
    let Some(db) = postgres().await else { return };
    // A database of its own, never migrated: what a restore starts from.
    let Some(target) = ozontrack_testkit::postgres().await else {
        return;
    };
    let url = ozontrack_db::DatabaseUrl::parse(&target.url).unwrap();
    backup_during_a_sync_restores_to_its_manifest(db, &url).await;
}

#[tokio::test]
async fn scheduled_backups_are_taken_by_one_process_and_the_oldest_pruned() {
    use ozontrack_engine::backup::{BackupSchedule, BackupWorker};
    let db = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let schedule = BackupSchedule {
        dir: dir.path().to_owned(),
        every: chrono::Duration::days(7),
        keep: 2,
    };
    let clock: Arc<dyn Clock> = Arc::new(ozontrack_domain::SystemClock);
    let worker = |owner: &str| {
        BackupWorker::new(
            db.store.clone(),
            schedule.clone(),
            ozontrack_db::LeaseOwner::new(owner),
            Arc::clone(&clock),
        )
    };
    let (a, b) = (worker("a"), worker("b"));
    let start = ozontrack_domain::SystemClock.now();
    let (one, two) = tokio::join!(a.run_once(start), b.run_once(start));
    let taken = [one.unwrap(), two.unwrap()];
    assert_eq!(
        taken.iter().flatten().count(),
        1,
        "one of two processes takes it"
    );
    assert!(
        a.run_once(start + chrono::Duration::days(1))
            .await
            .unwrap()
            .is_none(),
        "not due for a week"
    );
    for week in 1..=3 {
        let at = start + chrono::Duration::days(7 * week) + chrono::Duration::seconds(1);
        assert!(b.run_once(at).await.unwrap().is_some(), "week {week}");
    }
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left.len(), 4, "two backups and their manifests: {left:?}");
}

#[tokio::test]
async fn two_backups_taken_within_one_second_are_both_kept() {
    use chrono::TimeZone as _;
    let db = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let at = chrono::Utc.with_ymd_and_hms(2026, 12, 3, 6, 0, 0).unwrap();
    let first = ozontrack_engine::backup::take(&db.store, dir.path(), at)
        .await
        .unwrap();
    let second = ozontrack_engine::backup::take(
        &db.store,
        dir.path(),
        at + chrono::Duration::milliseconds(250),
    )
    .await
    .unwrap();
    assert_ne!(first.path, second.path);
    let mut names = [first.manifest.file, second.manifest.file];
    assert_eq!(names[0], "ozontrack-20261203T060000.000Z.sqlite");
    names.sort();
    assert_eq!(
        names[1], "ozontrack-20261203T060000.250Z.sqlite",
        "the newer sorts last"
    );
    let removed = ozontrack_engine::backup::prune(dir.path(), 1).unwrap();
    assert_eq!(removed, vec![first.path]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_api_access_is_filled_by_its_report_and_synced_once_connected() {
    let w = world(200, 20, OzonConfig::default(), FaultPlan::default()).await;
    let db = sqlite().await;
    let now = w.clock.now();
    let offline = db
        .store
        .add_offline_store(
            ozontrack_domain::StoreName::parse("no-api").unwrap(),
            ozontrack_domain::StoreSettings::default(),
            now,
        )
        .await
        .unwrap();
    assert_eq!(offline.client_id, None);
    assert!(matches!(
        db.store.store_credentials(offline.id).await,
        Err(ozontrack_db::DbError::NoApiAccess(_))
    ));
    // Never due for a sync while it has no key.
    let due = db
        .store
        .claim::<ozontrack_domain::StoreId>(
            &ozontrack_db::LeaseOwner::new("w"),
            10,
            now + chrono::Duration::days(365),
            now + chrono::Duration::days(366),
        )
        .await
        .unwrap();
    assert!(due.is_empty());
    let report = office_report(&w).await;
    let imported = ozontrack_engine::import::import_postings(
        &db.store,
        &offline,
        "report.csv",
        report,
        ReadOptions::default(),
        false,
        &ozontrack_engine::Actor::console("test").unwrap(),
        now,
    )
    .await
    .unwrap();
    assert!(imported.new > 0);
    assert_eq!(imported.new, imported.postings);
    // The key comes: the same store, synced, no posting twice.
    let sim = &w.sandbox.state.world.stores[0];
    db.store
        .set_store_connection(
            offline.id,
            ozontrack_domain::ClientId::parse(&sim.client_id.to_string()).unwrap(),
            secrecy::SecretString::from(sim.api_key.clone()),
            &w.sandbox.urls.ozon,
            now,
        )
        .await
        .unwrap();
    let connected = db.store.store(offline.id).await.unwrap().unwrap();
    assert_eq!(
        connected.next_sync_at,
        Some(now),
        "its first sync is due at once"
    );
    let sync = syncer(&db.store, &w, settings(50), "worker-a");
    sync.sync_store(&connected, false, Arc::default())
        .await
        .unwrap();
    support::assert_matches_truth(&db.store, &connected, &w).await;
}
