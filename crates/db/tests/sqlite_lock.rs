//! SQLite under another writer: while another process holds the file's write lock, the pool's
//! readers are not starved by waiting writers, and a write that gives up says why. Also the
//! file's permissions.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use ozontrack_db::prelude::*;
use ozontrack_db::{Cipher, DatabaseUrl, DbError, PoolSettings, SessionRecord, SqlDatabase};
use ozontrack_domain::Clock as _;
use sqlx::Connection as _;

async fn open(path: &std::path::Path) -> SqlDatabase {
    let cipher = Cipher::from_base64("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").unwrap();
    let db = SqlDatabase::connect(
        &DatabaseUrl::Sqlite(path.to_owned()),
        cipher,
        &PoolSettings {
            max_connections: 4,
            acquire_timeout: Duration::from_secs(30),
        },
    )
    .await
    .unwrap();
    db.migrate().await.unwrap();
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_on_while_another_process_holds_the_write_lock_and_writes_name_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let db = open(&path).await;
    // Another process (here another connection) takes the write lock and keeps it.
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let now = ozontrack_domain::SystemClock.now();
    // More waiting writers than the pool has connections.
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let session = SessionRecord {
                    user: format!("u{i}"),
                    csrf: "c".into(),
                    expires_at: now + chrono::Duration::hours(1),
                };
                db.create_session(format!("hash{i}").as_bytes(), &session, now)
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..20 {
        let started = Instant::now();
        db.stores().await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a read waited {:?} behind the writers",
            started.elapsed()
        );
    }
    let first = writers.into_iter().next().unwrap().await.unwrap();
    let error = first.unwrap_err();
    assert!(matches!(error, DbError::Locked(_)), "{error:?}");
    assert!(
        error.to_string().contains("locked by another writer"),
        "{error}"
    );
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private.db");
    // A file left world-readable by an older release is narrowed too.
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = open(&path).await;
    db.stores().await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
}
