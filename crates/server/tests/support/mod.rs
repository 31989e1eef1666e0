//! A fresh SQLite store holding one seller account of a running sandbox, synced once: what
//! every receiver test starts from.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use ozontrack_db::prelude::*;
use ozontrack_db::{Cipher, DatabaseUrl, LeaseOwner, NewStore, SqlDatabase, StoreRecord};
use ozontrack_domain::{ClientId, Clock, StoreName, StoreSettings};
use ozontrack_engine::{SyncSettings, Syncer};
use ozontrack_http::Limiters;
use ozontrack_sandbox::Sandbox;

pub(crate) struct Synced {
    pub(crate) store: SqlDatabase,
    pub(crate) record: StoreRecord,
    pub(crate) syncer: Syncer<SqlDatabase>,
    _dir: tempfile::TempDir,
}

pub(crate) async fn synced_store(sandbox: &Sandbox, clock: Arc<dyn Clock>) -> Synced {
    let dir = tempfile::tempdir().unwrap();
    let cipher = Cipher::from_base64("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").unwrap();
    let store = SqlDatabase::connect(
        &DatabaseUrl::Sqlite(dir.path().join("server.db")),
        cipher,
        &Default::default(),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let seller = &sandbox.state.world.stores[0];
    let record = store
        .add_store(
            NewStore {
                name: StoreName::parse("shop").unwrap(),
                client_id: ClientId::parse(&seller.client_id.to_string()).unwrap(),
                api_key: secrecy::SecretString::from(seller.api_key.clone()),
                ozon_base_url: sandbox.urls.ozon.clone(),
                settings: StoreSettings::default(),
            },
            clock.now(),
        )
        .await
        .unwrap();
    let syncer = Syncer::new(
        store.clone(),
        clock,
        Limiters::default(),
        SyncSettings::default(),
        LeaseOwner::new("test"),
    )
    .unwrap();
    syncer
        .sync_store(&record, false, Arc::default())
        .await
        .unwrap();
    Synced {
        store,
        record,
        syncer,
        _dir: dir,
    }
}
