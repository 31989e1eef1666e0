//! What the server's tests start from: an empty migrated SQLite store, or one holding a
//! seller account of a running sandbox, synced once.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
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

/// A migrated, empty SQLite database in a directory of its own (removed when dropped).
pub(crate) async fn empty_store() -> (SqlDatabase, tempfile::TempDir) {
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
    (store, dir)
}

/// A dashboard user `name` with this password hash: an admin of every store, as the owner is.
pub(crate) async fn owner(store: &SqlDatabase, name: &str, phc: &str, now: DateTime<Utc>) {
    store
        .add_user(
            &ozontrack_db::NewUser {
                name: name.into(),
                password_hash: phc.into(),
                role: ozontrack_domain::Role::Admin,
                scope: ozontrack_domain::StoreScope::All,
            },
            now,
        )
        .await
        .unwrap();
}

/// An HTTP client that, like a test of a browser's first step, does not follow redirects.
pub(crate) fn browser_client() -> reqwest::Client {
    // Installs the TLS provider reqwest needs, even for plain HTTP.
    let _ = ozontrack_sandbox::http_client();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of the cookie an answer sets, to send back.
pub(crate) fn cookie_set(headers: &reqwest::header::HeaderMap) -> String {
    let set = headers["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// The CSRF token a page's forms carry.
pub(crate) fn csrf(page: &str) -> String {
    let at = page.find(r#"name="_csrf" value=""#).unwrap() + r#"name="_csrf" value=""#.len();
    page[at..].split('"').next().unwrap().to_owned()
}

/// A store with no reachable Ozon behind it.
pub(crate) fn offline_store(name: &str, client_id: &str) -> NewStore {
    NewStore {
        name: StoreName::parse(name).unwrap(),
        client_id: ClientId::parse(client_id).unwrap(),
        api_key: secrecy::SecretString::from("k".to_owned()),
        ozon_base_url: "http://127.0.0.1:9".into(),
        settings: StoreSettings::default(),
    }
}

pub(crate) async fn synced_store(sandbox: &Sandbox, clock: Arc<dyn Clock>) -> Synced {
    let (store, dir) = empty_store().await;
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
