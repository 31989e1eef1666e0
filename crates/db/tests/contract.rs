//! The store contract: every behaviour of the `Store` trait, run once on SQLite and once on
//! PostgreSQL (a fresh database per test on the server at `127.0.0.1:5432`, or
//! `OZONTRACK_TEST_POSTGRES_URL`). With `CI` set, an unreachable PostgreSQL fails the tests
//! instead of skipping them.

// In tests a panic is the failure report, so helpers unwrap freely.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{
    Advice, Backend, Chore, DbError, FeedOutcome, LeaseOwner, LegCheck, NewStore, RateSlot,
};
use ozontrack_domain::CarrierSource;
use ozontrack_domain::{
    CarrierCode, ClientId, Currency, DeliveryMethod, EventSource, GeoPoint, Language, Leg, LegRole,
    Location, MainStatus, Money, NormalizedStatus, OzonStatus, OzonSubstatus, Posting,
    PostingNumber, Promise, Scheme, StoreId, StoreName, StoreSettings, SubStatus, TrackingEvent,
    TrackingNumber,
};
use ozontrack_domain::{LegId, PostingId, Role, StoreScope};
use secrecy::{ExposeSecret, SecretString};

mod support;

use support::TestDb;

/// The two migration folders are kept apart (the engines' DDL differs) and could drift; this
/// proves they make the same tables, columns (and whether each may be null) and indexes.
mod schema {
    mod postgres {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn both_migration_folders_make_the_same_tables_columns_and_indexes() {
            let Some(pg) = crate::support::postgres().await else {
                return;
            };
            let lite = crate::support::sqlite().await;
            let (pg, lite) = (pg.schema().await, lite.schema().await);
            assert!(!lite.tables.is_empty() && !lite.indexes.is_empty());
            let names = |s: &crate::support::Schema| s.tables.keys().cloned().collect::<Vec<_>>();
            assert_eq!(names(&lite), names(&pg), "the same tables");
            for (table, columns) in &lite.tables {
                assert_eq!(
                    Some(columns),
                    pg.tables.get(table),
                    "the columns of {table}"
                );
            }
            assert_eq!(lite.indexes, pg.indexes, "the same indexes");
        }
    }
}

/// Emits one test per backend for each case.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = super::support::sqlite().await;
                    super::$case(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = super::support::postgres().await else { return };
                    super::$case(&db).await;
                }
            )*
        }
    };
}

contract!(
    migrating_again_changes_nothing,
    a_server_whose_tables_are_never_analysed_is_named_in_the_advice,
    a_store_keeps_its_api_key_encrypted_and_gives_it_back,
    a_second_store_with_the_same_name_is_refused,
    a_store_can_be_pointed_at_new_credentials,
    stores_are_listed_by_name_and_found_by_name,
    a_new_store_is_due_for_its_first_sync,
    a_posting_round_trips_every_field,
    upserting_a_posting_again_updates_it_in_place,
    a_posting_is_found_by_number_in_the_first_of_several_stores_that_holds_it,
    unknown_ozon_statuses_survive_a_round_trip,
    legs_are_keyed_by_carrier_and_tracking_number,
    a_leg_for_a_missing_posting_is_refused,
    events_are_deduplicated_by_fingerprint,
    the_leg_follows_its_latest_event_whatever_the_arrival_order,
    an_exported_posting_names_each_leg_once_with_the_latest_event_of_any,
    every_write_an_export_row_shows_leaves_its_line_waiting_and_no_other_write_does,
    export_pages_hold_each_matching_posting_once_and_a_waiting_change_only_of_their_own,
    an_export_by_store_alone_reads_blocks_and_finds_what_the_lines_find,
    one_batch_with_repeats_and_thousands_of_events_is_stored_once_each,
    a_round_of_checks_stores_events_schedules_and_gives_up_the_leases,
    the_aggregator_names_only_an_unknown_carrier_and_never_undoes_a_manual_one,
    a_second_unknown_leg_of_a_named_number_does_not_break_the_round,
    a_hand_over_leg_is_linked_to_the_leg_it_continues,
    feed_health_counts_failures_in_a_row_until_a_success,
    a_page_read_earlier_never_puts_back_an_older_state,
    a_synced_postings_ozon_leg_starts_with_its_status_and_follows_each_change,
    events_keep_unknown_sub_statuses_locations_and_digests,
    appending_to_a_missing_leg_is_refused,
    claim_takes_only_due_rows_without_a_live_lease,
    claim_respects_the_limit_and_takes_the_most_overdue_first,
    an_expired_lease_can_be_claimed_by_another_owner,
    a_previous_owner_cannot_release_or_extend_a_lease_it_lost,
    a_release_without_a_next_check_is_never_due_again,
    every_lease_held_is_read_at_once_with_its_kind_holder_and_end,
    stores_are_leased_like_legs,
    times_with_and_without_fractions_compare_correctly,
    two_concurrent_claimers_never_get_the_same_row,
    an_alert_opens_once_escalates_and_resolves_with_its_history,
    a_user_acknowledges_and_resolves_alerts_and_a_missing_one_is_named,
    alerts_are_counted_by_the_inboxs_filter_past_its_limit_up_to_a_cap,
    a_whitelist_violation_enters_the_ledger_once,
    risk_candidates_are_changed_or_due_postings_and_inputs_carry_legs_and_events,
    a_risk_round_is_held_by_one_process_and_its_watermark_never_moves_back,
    a_chore_is_claimed_only_when_due_and_free,
    a_rate_slot_is_taken_while_one_is_free_and_a_busy_limit_says_when_one_frees,
    a_token_is_found_by_its_hash_until_revoked_with_its_role_and_stores,
    the_postings_page_filters_pages_and_never_leaves_its_stores,
    postings_are_counted_by_the_pages_filters_on_every_page_up_to_a_cap,
    sessions_and_login_links_end_and_a_link_is_used_once,
    a_postings_buyer_token_is_made_once_and_finds_it,
    a_stores_push_secret_is_derived_the_same_each_time_and_finds_its_store,
    overview_lanes_and_queue_depths_count_within_their_stores,
    alert_changes_write_their_messages_in_the_same_transaction_and_once,
    a_penalty_threshold_crossed_by_a_violation_is_a_message,
    destinations_keep_their_credentials_encrypted_and_one_dispatcher_holds_each,
    a_digest_gathers_pending_messages_and_a_dead_one_can_be_sent_again,
    messages_waiting_for_a_retry_go_out_now_when_asked_but_not_held_ones,
    delivered_journeys_carry_every_legs_milestones_in_journey_order,
    finished_registered_legs_are_to_stop_until_marked_stopped,
    users_have_a_role_and_stores_and_any_change_ends_their_sessions,
    a_login_link_signs_in_as_its_user_while_that_user_is_enabled,
    a_paused_store_and_its_legs_are_not_claimed_until_resumed,
    a_store_is_renamed_unless_the_name_is_taken,
    removing_a_store_leaves_no_row_of_it_and_grants_cover_less_never_more,
    the_audit_trail_reads_newest_first_within_the_stores_asked,
    a_delivery_keeps_how_it_was_handed_over_and_to_whom,
    an_attachment_is_kept_whole_once_and_goes_with_its_posting,
    a_disputed_posting_needs_a_pack_until_one_is_kept_and_again_when_it_changes,
);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
}

fn new_store(name: &str, client_id: &str) -> NewStore {
    NewStore {
        name: StoreName::parse(name).unwrap(),
        client_id: ClientId::parse(client_id).unwrap(),
        api_key: SecretString::from(format!("key-of-{name}")),
        ozon_base_url: "https://api-seller.ozon.ru".into(),
        settings: StoreSettings {
            timezone: "Asia/Shanghai".into(),
            language: Language::Zh,
        },
    }
}

async fn a_store(db: &TestDb) -> StoreId {
    store_of(db, "深圳小店", "123456").await
}

/// A second store beside [`a_store`]'s, another seller account.
async fn another_store(db: &TestDb) -> StoreId {
    store_of(db, "other", "654321").await
}

async fn store_of(db: &TestDb, name: &str, client_id: &str) -> StoreId {
    db.store
        .add_store(new_store(name, client_id), t0())
        .await
        .unwrap()
        .id
}

fn full_posting(store: StoreId, number: &str) -> Posting {
    Posting {
        store_id: store,
        number: PostingNumber::parse(number).unwrap(),
        order_id: Some(35_566_798_085),
        scheme: Scheme::Rfbs,
        status: OzonStatus::Delivering,
        substatus: OzonSubstatus::OnWayToCity,
        delivery_method: Some(DeliveryMethod {
            id: 1_020_005_003_107_121,
            name: "Почта России".into(),
            tpl_provider_id: Some(24),
            tpl_provider: Some("Почта России".into()),
            warehouse_id: Some(1_020_005_003_107_000),
            warehouse: Some("Shenzhen 1".into()),
        }),
        tracking_number: Some(TrackingNumber::parse("RB123456785GB").unwrap()),
        in_process_at: Some(t0()),
        ship_by: Some(t0() + Duration::days(2)),
        delivering_at: Some(t0() + Duration::milliseconds(86_400_123)),
        delivered_at: None,
        promised: Promise::of(
            Some(t0() + Duration::days(18)),
            Some(t0() + Duration::days(18) + Duration::hours(12)),
        ),
        buyer_city: Some("Новосибирск".into()),
        buyer_region: Some("Новосибирская область".into()),
        buyer_point: Some(GeoPoint::new(55.0302, 82.9204).unwrap()),
        total: Some(Money::from_minor(153_000, Currency::Rub)),
        chat_allowed: true,
    }
}

/// The stored posting, which must exist.
async fn read_posting(
    db: &TestDb,
    store: StoreId,
    number: &PostingNumber,
) -> ozontrack_db::PostingRecord {
    db.store
        .posting(store, number)
        .await
        .unwrap()
        .expect("the posting was stored")
}

async fn a_posting(db: &TestDb, store: StoreId, number: &str) -> PostingId {
    db.store
        .upsert_posting(&full_posting(store, number), t0())
        .await
        .unwrap()
}

fn leg(carrier: &str, number: &str, role: LegRole) -> Leg {
    Leg {
        carrier: CarrierCode::parse(carrier).unwrap(),
        tracking_number: TrackingNumber::parse(number).unwrap(),
        role,
    }
}

/// A leg of `posting` stored at `t0()`.
async fn a_leg_of(
    db: &TestDb,
    posting: PostingId,
    carrier: &str,
    number: &str,
    role: LegRole,
) -> LegId {
    db.store
        .upsert_leg(posting, &leg(carrier, number, role), t0())
        .await
        .unwrap()
}

async fn a_leg(db: &TestDb) -> LegId {
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0101-1").await;
    a_leg_of(db, posting, "yanwen", "UG123456789YP", LegRole::FirstMile).await
}

fn event(hours: i64, main: MainStatus, sub: SubStatus, code: &str) -> TrackingEvent {
    TrackingEvent::new(
        EventSource::SeventeenTrack,
        t0() + Duration::hours(hours),
        NormalizedStatus::new(main, sub),
        code,
        format!("text of {code}"),
        Location::default(),
    )
}

async fn a_server_whose_tables_are_never_analysed_is_named_in_the_advice(db: &TestDb) {
    if !db.is_postgres() {
        assert_eq!(db.store.advice().await.unwrap(), Vec::new());
        return;
    }
    let setting = db.raw_strings("SELECT current_setting('autovacuum')").await;
    let expected = if setting == [Some("on".to_owned())] {
        Vec::new()
    } else {
        vec![Advice::AutovacuumOff]
    };
    assert_eq!(db.store.advice().await.unwrap(), expected);
    // Without statistics autovacuum has nothing to go by, whatever its own setting.
    let name = db.raw_strings("SELECT current_database()::text").await;
    let name = name[0].as_deref().unwrap();
    db.pg_execute(&format!("ALTER DATABASE \"{name}\" SET track_counts = off"))
        .await;
    let fresh = db.second_connection().await;
    assert_eq!(fresh.advice().await.unwrap(), vec![Advice::AutovacuumOff]);
    fresh.close().await;
}

async fn migrating_again_changes_nothing(db: &TestDb) {
    let store = a_store(db).await;
    db.store.migrate().await.unwrap();
    assert_eq!(db.store.stores().await.unwrap()[0].id, store);
}

async fn a_store_keeps_its_api_key_encrypted_and_gives_it_back(db: &TestDb) {
    let store = a_store(db).await;
    let stored = db.raw_api_key_column(store).await;
    assert!(
        !stored.windows(6).any(|w| w == b"key-of"),
        "the key is stored in clear"
    );
    let credentials = db.store.store_credentials(store).await.unwrap();
    assert_eq!(credentials.api_key.expose_secret(), "key-of-深圳小店");
    assert_eq!(credentials.client_id.get(), 123_456);
    assert!(
        !format!("{credentials:?}").contains("key-of"),
        "Debug shows the key"
    );
}

async fn a_store_can_be_pointed_at_new_credentials(db: &TestDb) {
    let store = a_store(db).await;
    let client_id = ClientId::parse("777").unwrap();
    let key = SecretString::from("rotated-key".to_owned());
    db.store
        .set_store_connection(store, client_id, key, "http://127.0.0.1:9", t0())
        .await
        .unwrap();
    let credentials = db.store.store_credentials(store).await.unwrap();
    assert_eq!(credentials.api_key.expose_secret(), "rotated-key");
    assert_eq!(
        (credentials.client_id.get(), credentials.base_url.as_str()),
        (777, "http://127.0.0.1:9")
    );
    let missing = db
        .store
        .set_store_connection(
            StoreId(999),
            client_id,
            SecretString::from("k".to_owned()),
            "http://x",
            t0(),
        )
        .await;
    assert!(matches!(missing, Err(DbError::StoreNotFound(StoreId(999)))));
}

async fn a_second_store_with_the_same_name_is_refused(db: &TestDb) {
    a_store(db).await;
    let err = db
        .store
        .add_store(new_store("深圳小店", "999"), t0())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DbError::DuplicateStoreName(ref n) if n == "深圳小店"),
        "{err}"
    );
}

async fn stores_are_listed_by_name_and_found_by_name(db: &TestDb) {
    for name in ["b-shop", "a-shop", "c-shop"] {
        db.store
            .add_store(new_store(name, "42"), t0())
            .await
            .unwrap();
    }
    let names: Vec<String> = db
        .store
        .stores()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["a-shop", "b-shop", "c-shop"]);
    let found = db
        .store
        .store_by_name(&StoreName::parse("b-shop").unwrap())
        .await
        .unwrap();
    assert_eq!(found.unwrap().settings.timezone, "Asia/Shanghai");
    assert!(
        db.store
            .store_by_name(&StoreName::parse("zz").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_new_store_is_due_for_its_first_sync(db: &TestDb) {
    let store = a_store(db).await;
    let owner = LeaseOwner::new("w1");
    let claimed: Vec<StoreId> = claim_for_5_minutes(db, &owner, 10, t0()).await;
    assert_eq!(claimed, [store]);
}

async fn a_posting_round_trips_every_field(db: &TestDb) {
    let store = a_store(db).await;
    let posting = full_posting(store, "0132112277-0101-1");
    let id = db.store.upsert_posting(&posting, t0()).await.unwrap();
    let read = read_posting(db, store, &posting.number).await;
    assert_eq!(read.id, id);
    assert_eq!(read.posting, posting);
    assert_eq!(read.created_at, t0());
}

async fn a_posting_is_found_by_number_in_the_first_of_several_stores_that_holds_it(db: &TestDb) {
    let first = a_store(db).await;
    let second = another_store(db).await;
    let number = PostingNumber::parse("0132112277-0104-1").unwrap();
    let in_second = a_posting(db, second, number.as_str()).await;
    let found = db
        .store
        .posting_in(&[first, second], &number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, found.posting.store_id), (in_second, second));
    assert!(
        db.store
            .posting_in(&[first], &number)
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.store.posting_in(&[], &number).await.unwrap().is_none());

    // The same number in both (an import and a sync of two accounts): the first asked wins.
    let in_first = a_posting(db, first, number.as_str()).await;
    for (order, expected) in [([first, second], in_first), ([second, first], in_second)] {
        let found = db.store.posting_in(&order, &number).await.unwrap().unwrap();
        assert_eq!(found.id, expected);
    }
}

async fn upserting_a_posting_again_updates_it_in_place(db: &TestDb) {
    let store = a_store(db).await;
    let mut posting = full_posting(store, "0132112277-0101-1");
    let first = db.store.upsert_posting(&posting, t0()).await.unwrap();
    posting.status = OzonStatus::Delivered;
    posting.substatus = OzonSubstatus::Delivered;
    posting.delivered_at = Some(t0() + Duration::days(9));
    posting.buyer_point = None;
    // Ozon moved its promise to the buyer.
    posting.promised = Promise::of(
        Some(t0() + Duration::days(23)),
        Some(t0() + Duration::days(23) + Duration::hours(12)),
    );
    let later = t0() + Duration::days(9);
    let second = db.store.upsert_posting(&posting, later).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(db.store.count_postings(store).await.unwrap(), 1);
    let read = read_posting(db, store, &posting.number).await;
    assert_eq!(read.posting, posting);
    assert_eq!((read.created_at, read.updated_at), (t0(), later));

    // A report without Ozon's promise (an import) keeps the one the API gave.
    let without = Posting {
        promised: None,
        ..posting.clone()
    };
    db.store.upsert_posting(&without, later).await.unwrap();
    let read = read_posting(db, store, &posting.number).await;
    assert_eq!(read.posting.promised, posting.promised);
}

async fn unknown_ozon_statuses_survive_a_round_trip(db: &TestDb) {
    let store = a_store(db).await;
    let mut posting = full_posting(store, "1-1");
    posting.status = OzonStatus::parse("awaiting_teleport");
    posting.substatus = OzonSubstatus::parse("");
    posting.delivery_method = None;
    posting.total = None;
    db.store.upsert_posting(&posting, t0()).await.unwrap();
    let read = read_posting(db, store, &posting.number).await;
    assert_eq!(
        read.posting.status,
        OzonStatus::Unknown("awaiting_teleport".into())
    );
    assert_eq!(read.posting, posting);
}

async fn legs_are_keyed_by_carrier_and_tracking_number(db: &TestDb) {
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0101-1").await;
    let first = leg("yanwen", "UG123456789YP", LegRole::Single);
    let a = db.store.upsert_leg(posting, &first, t0()).await.unwrap();
    let again = Leg {
        role: LegRole::FirstMile,
        ..first.clone()
    };
    assert_eq!(db.store.upsert_leg(posting, &again, t0()).await.unwrap(), a);
    let b = a_leg_of(
        db,
        posting,
        "russian_post",
        "RB123456785GB",
        LegRole::LastMile,
    )
    .await;
    assert_ne!(a, b);
    let legs = db.store.legs(posting).await.unwrap();
    assert_eq!(legs.len(), 2);
    assert_eq!(legs[0].leg, again);
    assert_eq!(legs[0].status, None);
    assert_eq!(
        legs[0].next_check_at,
        Some(t0()),
        "a new leg is due at once"
    );
}

async fn a_leg_for_a_missing_posting_is_refused(db: &TestDb) {
    let err = db
        .store
        .upsert_leg(
            PostingId(999),
            &leg("cdek", "1234567890", LegRole::LastMile),
            t0(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::PostingNotFound(999)), "{err}");
}

async fn events_are_deduplicated_by_fingerprint(db: &TestDb) {
    let leg = a_leg(db).await;
    let batch = [
        event(1, MainStatus::InfoReceived, SubStatus::Registered, "A"),
        event(5, MainStatus::InTransit, SubStatus::PickedUp, "B"),
    ];
    assert_eq!(
        db.store
            .append_events(leg, &batch, t0() + Duration::hours(6))
            .await
            .unwrap(),
        2
    );
    let more = [
        batch[1].clone(),
        event(30, MainStatus::InTransit, SubStatus::DepartedOrigin, "C"),
    ];
    assert_eq!(
        db.store
            .append_events(leg, &more, t0() + Duration::hours(31))
            .await
            .unwrap(),
        1
    );
    let events = db.store.events(leg).await.unwrap();
    let codes: Vec<&str> = events.iter().map(|e| e.event.raw_code.as_str()).collect();
    assert_eq!(codes, ["A", "B", "C"]);
    assert_eq!(
        events[1].received_at,
        t0() + Duration::hours(6),
        "the first receipt is kept"
    );
}

async fn the_leg_follows_its_latest_event_whatever_the_arrival_order(db: &TestDb) {
    let leg = a_leg(db).await;
    let late = event(
        40,
        MainStatus::InTransit,
        SubStatus::ArrivedDestination,
        "ARR",
    );
    let early = event(10, MainStatus::InTransit, SubStatus::PickedUp, "PICK");
    db.store
        .append_events(leg, std::slice::from_ref(&late), t0() + Duration::hours(41))
        .await
        .unwrap();
    db.store
        .append_events(leg, &[early], t0() + Duration::hours(42))
        .await
        .unwrap();
    let record = db.store.leg(leg).await.unwrap().unwrap();
    assert_eq!(record.status, Some(late.status));
    assert_eq!(record.last_event_at, Some(late.occurred_at));
}

async fn an_exported_posting_names_each_leg_once_with_the_latest_event_of_any(db: &TestDb) {
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0101-1").await;
    let first = a_leg_of(db, posting, "yanwen", "UG123456789YP", LegRole::FirstMile).await;
    let last = a_leg_of(db, posting, "cdek", "1523498765", LegRole::LastMile).await;
    a_leg_of(db, posting, "sunyou", "SYAE0123456789", LegRole::LastMile).await;
    // The first mile reports twice at its latest time: its leg is still one leg.
    let first_events = [
        event(10, MainStatus::InfoReceived, SubStatus::Registered, "A"),
        event(30, MainStatus::InTransit, SubStatus::DepartedOrigin, "B"),
        event(
            30,
            MainStatus::InTransit,
            SubStatus::ArrivedDestination,
            "C",
        ),
    ];
    db.store
        .append_events(first, &first_events, t0() + Duration::hours(31))
        .await
        .unwrap();
    db.store
        .append_events(
            last,
            &[event(20, MainStatus::InTransit, SubStatus::PickedUp, "D")],
            t0() + Duration::hours(31),
        )
        .await
        .unwrap();
    let query = ozontrack_db::PostingQuery {
        stores: vec![store],
        limit: 10,
        ..ozontrack_db::PostingQuery::default()
    };
    let long_way = db.store.export_page(&query).await.unwrap();
    assert_eq!(long_way.read_long_way(), 1, "no line yet");
    while db.store.refresh_export_lines(1).await.unwrap() > 0 {}
    let page = db.store.export_page(&query).await.unwrap();
    assert_eq!(page.read_long_way(), 0, "the line is current");
    assert_eq!(
        page.records().unwrap(),
        long_way.records().unwrap(),
        "the line says what the tables say"
    );
    let records = page.records().unwrap();
    assert_eq!(records.len(), 1);
    let carriers: Vec<&str> = records[0].legs.iter().map(|l| l.carrier.as_str()).collect();
    assert_eq!(
        carriers,
        ["yanwen", "cdek", "sunyou"],
        "each leg once, as made"
    );
    assert!(records[0].legs[2].status.is_none(), "a leg without events");
    let latest = records[0].last_event.as_ref().expect("a last event");
    assert_eq!(latest.at, t0() + Duration::hours(30));
    assert!(
        ["text of B", "text of C"].contains(&latest.text.as_str()),
        "{}",
        latest.text
    );
}

/// The export page after a write: whether the write left a change waiting as `changed` says;
/// the page read the long way before the lines are made again, and from the lines after, the
/// same.
async fn export_after_a_write(
    db: &TestDb,
    query: &ozontrack_db::PostingQuery,
    changed: bool,
    what: &str,
) -> Vec<ozontrack_db::ExportRecord> {
    let waiting = db.store.export_changes_waiting().await.unwrap();
    assert_eq!(waiting > 0, changed, "{what}: {waiting} changes waiting");
    let long_way = db.store.export_page(query).await.unwrap();
    while db.store.refresh_export_lines(1000).await.unwrap() > 0 {}
    let lines = db.store.export_page(query).await.unwrap();
    assert_eq!(lines.read_long_way(), 0, "{what}: every line current");
    assert_eq!(
        lines.records().unwrap(),
        long_way.records().unwrap(),
        "{what}: the lines say what the tables say"
    );
    lines.records().unwrap()
}

async fn every_write_an_export_row_shows_leaves_its_line_waiting_and_no_other_write_does(
    db: &TestDb,
) {
    use ozontrack_domain::alert::{AlertChange, Resolution};
    use ozontrack_domain::finding::{RuleKind, Severity};
    let store = a_store(db).await;
    let query = ozontrack_db::PostingQuery {
        stores: vec![store],
        limit: 10,
        ..ozontrack_db::PostingQuery::default()
    };
    let mut posting = full_posting(store, "0132112277-0101-1");
    let id = db.store.upsert_posting(&posting, t0()).await.unwrap();
    a_posting(db, store, "0132112277-0102-1").await;
    let records = export_after_a_write(db, &query, true, "two new postings").await;
    assert_eq!(records.len(), 2);

    db.store
        .upsert_posting(&posting, t0() + Duration::hours(1))
        .await
        .unwrap();
    export_after_a_write(db, &query, false, "the same posting synced again").await;

    posting.status = OzonStatus::Delivered;
    posting.delivered_at = Some(t0() + Duration::days(9));
    db.store
        .upsert_posting(&posting, t0() + Duration::hours(2))
        .await
        .unwrap();
    let records = export_after_a_write(db, &query, true, "Ozon's status").await;
    assert_eq!(records[1].posting.status, OzonStatus::Delivered);

    let leg = a_leg_of(db, id, "sunyou", "SYAE0123456789", LegRole::FirstMile).await;
    let records = export_after_a_write(db, &query, true, "a new leg").await;
    assert_eq!(records[1].legs.len(), 1);

    db.store
        .append_events(
            leg,
            &[event(5, MainStatus::InTransit, SubStatus::PickedUp, "A")],
            t0() + Duration::hours(6),
        )
        .await
        .unwrap();
    let records = export_after_a_write(db, &query, true, "a new event").await;
    assert_eq!(records[1].last_event.as_ref().unwrap().text, "text of A");

    db.store.mark_stopped(&[leg], Some(t0())).await.unwrap();
    export_after_a_write(db, &query, false, "a leg no longer tracked").await;

    let violation = finding(
        RuleKind::NonWhitelisted,
        Severity::Warning,
        Some("SYAE0123456789"),
    );
    db.store
        .apply_risk(
            &[outcome(store, id, vec![AlertChange::Open(violation)])],
            t0(),
            &ozontrack_db::Enqueue::nobody(t0()),
        )
        .await
        .unwrap();
    let records = export_after_a_write(db, &query, true, "an alert and its points").await;
    assert_eq!(records[1].alerts.len(), 1);
    assert_eq!(records[1].penalty_points, 3);

    let alert = db.store.alerts(&Default::default()).await.unwrap()[0].id;
    db.store
        .apply_risk(
            &[outcome(
                store,
                id,
                vec![AlertChange::Resolve {
                    id: alert,
                    resolution: Resolution::Moved,
                }],
            )],
            t0() + Duration::hours(7),
            &ozontrack_db::Enqueue::nobody(t0() + Duration::hours(7)),
        )
        .await
        .unwrap();
    let records = export_after_a_write(db, &query, true, "a resolved alert").await;
    assert!(records[1].alerts.is_empty());
    assert_eq!(
        records[1].penalty_points, 3,
        "points stay when the alert goes"
    );
}

/// Pages of three over two stores' postings, interleaved: each page a range of ids, a change
/// waiting for the other store's posting inside it.
async fn export_pages_hold_each_matching_posting_once_and_a_waiting_change_only_of_their_own(
    db: &TestDb,
) {
    let (ours, theirs) = (a_store(db).await, another_store(db).await);
    let mut mine = Vec::new();
    for n in 0..8 {
        mine.push(a_posting(db, ours, &format!("0132112277-{:04}-1", 100 + n)).await);
        a_posting(db, theirs, &format!("0132112277-{:04}-1", 200 + n)).await;
    }
    while db.store.refresh_export_lines(1000).await.unwrap() > 0 {}
    let mut other = full_posting(theirs, "0132112277-0203-1");
    other.status = OzonStatus::Delivered;
    db.store
        .upsert_posting(&other, t0() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(db.store.export_changes_waiting().await.unwrap(), 1);
    let mut query = ozontrack_db::PostingQuery {
        stores: vec![ours],
        limit: 3,
        ..ozontrack_db::PostingQuery::default()
    };
    let mut read = Vec::new();
    loop {
        let page = db.store.export_page(&query).await.unwrap();
        assert_eq!(
            page.read_long_way(),
            0,
            "only the other store's posting changed"
        );
        let records = page.records().unwrap();
        read.extend(records.iter().map(|r| r.id));
        match records.last() {
            Some(last) if records.len() == 3 => query.before = Some(last.id),
            _ => break,
        }
    }
    mine.reverse();
    assert_eq!(read, mine, "every posting of ours once, newest first");
}

/// Every posting of an export, page after page as the exporter reads them, newest first.
async fn exported(
    db: &TestDb,
    query: &ozontrack_db::PostingQuery,
) -> Vec<ozontrack_db::ExportRecord> {
    let mut query = query.clone();
    let mut records = Vec::new();
    loop {
        let read = db.store.read_export_page(&query).await.unwrap();
        let next = read.next;
        records.extend(
            db.store
                .finish_export_page(read)
                .await
                .unwrap()
                .records()
                .unwrap(),
        );
        match next {
            Some(next) => query.before = Some(next),
            None => break,
        }
    }
    records
}

/// An export by store alone reads blocks of lines (a bucket of 512 ids each, four a page), one
/// with any other filter reads lines: over two stores' postings interleaved, more than a page of
/// blocks, both find the same postings saying the same, before the chore makes the lines again
/// (a change waiting, a new posting, another store's change, a posting whose line cannot be
/// written) and after.
async fn an_export_by_store_alone_reads_blocks_and_finds_what_the_lines_find(db: &TestDb) {
    let (ours, theirs) = (a_store(db).await, another_store(db).await);
    let number = |k: u32| format!("01{k:08}-0001-1");
    for chunk in 0..12u32 {
        let batch: Vec<ozontrack_domain::SyncedPosting> = (0..200)
            .map(|n| {
                let k = chunk * 200 + n;
                let store = if k % 3 == 0 { theirs } else { ours };
                ozontrack_domain::SyncedPosting::new(
                    full_posting(store, &number(k)),
                    String::new(),
                    t0(),
                )
            })
            .collect();
        db.store.record_page(&batch, None, t0()).await.unwrap();
    }
    while db.store.refresh_export_lines(1000).await.unwrap() > 0 {}
    let by_store = ozontrack_db::PostingQuery {
        stores: vec![ours],
        limit: 100,
        ..ozontrack_db::PostingQuery::default()
    };
    // Every posting is realFBS: a filter that keeps them all, read as lines.
    let by_lines = ozontrack_db::PostingQuery {
        scheme: Some(Scheme::Rfbs),
        ..by_store.clone()
    };
    let alike = |blocks: &[ozontrack_db::ExportRecord], lines: &[ozontrack_db::ExportRecord]| {
        assert_eq!(blocks, lines, "blocks and lines say the same");
        let ids: Vec<PostingId> = blocks.iter().map(|r| r.id).collect();
        assert!(
            ids.windows(2).all(|w| w[0] > w[1]),
            "newest first, once each"
        );
        assert!(blocks.iter().all(|r| r.posting.store_id == ours));
    };
    let first = exported(db, &by_store).await;
    assert_eq!(first.len(), 1600);
    alike(&first, &exported(db, &by_lines).await);
    // A cursor inside a bucket, not one a page gave: the postings below it, every one.
    let inside = first[700].id;
    let below = |q: &ozontrack_db::PostingQuery| ozontrack_db::PostingQuery {
        before: Some(inside),
        ..q.clone()
    };
    let after = exported(db, &below(&by_store)).await;
    assert_eq!(after, first[701..], "after a cursor inside a bucket");
    alike(&after, &exported(db, &below(&by_lines)).await);

    // One of ours delivered, and one of theirs.
    for (store, k) in [(ours, 1), (theirs, 3)] {
        let mut delivered = full_posting(store, &number(k));
        delivered.status = OzonStatus::Delivered;
        db.store
            .upsert_posting(&delivered, t0() + Duration::hours(1))
            .await
            .unwrap();
    }
    a_posting(db, ours, &number(5_000)).await;
    let mut lineless = full_posting(ours, &number(5_001));
    lineless.delivered_at = Some(Utc.with_ymd_and_hms(2300, 1, 1, 0, 0, 0).unwrap());
    db.store.upsert_posting(&lineless, t0()).await.unwrap();
    for moment in ["with changes waiting", "after the chore"] {
        let blocks = exported(db, &by_store).await;
        assert_eq!(blocks.len(), 1602, "{moment}");
        alike(&blocks, &exported(db, &by_lines).await);
        let delivered = blocks
            .iter()
            .find(|r| r.posting.number.as_str() == number(1));
        assert_eq!(
            delivered.map(|r| r.posting.status.clone()),
            Some(OzonStatus::Delivered),
            "{moment}"
        );
        while db.store.refresh_export_lines(1000).await.unwrap() > 0 {}
    }
}

async fn one_batch_with_repeats_and_thousands_of_events_is_stored_once_each(db: &TestDb) {
    let leg = a_leg(db).await;
    // More rows than one multi-row statement takes, out of order, each given twice.
    let mut batch: Vec<TrackingEvent> = (0..1500)
        .rev()
        .map(|h| {
            event(
                h,
                MainStatus::InTransit,
                SubStatus::InTransit,
                &format!("E{h}"),
            )
        })
        .collect();
    batch.extend(batch.clone());
    let new = db
        .store
        .append_events(leg, &batch, t0() + Duration::hours(2000))
        .await
        .unwrap();
    assert_eq!(new, 1500);
    assert_eq!(db.store.events(leg).await.unwrap().len(), 1500);
    let record = db.store.leg(leg).await.unwrap().unwrap();
    assert_eq!(record.last_event_at, Some(t0() + Duration::hours(1499)));
}

async fn events_keep_unknown_sub_statuses_locations_and_digests(db: &TestDb) {
    let leg = a_leg(db).await;
    let mut e = TrackingEvent::new(
        EventSource::parse("cainiao_direct"),
        t0() + Duration::microseconds(1_500_001),
        NormalizedStatus::unknown(MainStatus::InTransit, "CC_HO_OUT_SUCCESS"),
        "CC_HO_OUT_SUCCESS",
        "<script>alert(1)</script> Передан перевозчику",
        Location {
            text: Some("Москва, сортировочный центр".into()),
            city: Some("Москва".into()),
            country: Some("RU".into()),
            point: Some(GeoPoint::new(55.7558, 37.6173).unwrap()),
        },
    );
    e.payload_digest = Some("sha256:abc".into());
    e.handover = Some(ozontrack_domain::Handover::parse("drone_drop"));
    db.store
        .append_events(leg, &[e.clone()], t0())
        .await
        .unwrap();
    let stored = db.store.events(leg).await.unwrap();
    // Read back, an event also says when it was received.
    e.received_at = Some(t0());
    assert_eq!(stored[0].event, e);
    let record = db.store.leg(leg).await.unwrap().unwrap();
    assert_eq!(record.status, Some(e.status));
}

async fn appending_to_a_missing_leg_is_refused(db: &TestDb) {
    let e = event(1, MainStatus::InTransit, SubStatus::InTransit, "X");
    let err = db
        .store
        .append_events(LegId(777), &[e], t0())
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::LegNotFound(777)), "{err}");
}

/// Claims up to `limit` due legs at `at` for five minutes.
async fn claim_for_5_minutes<K: ozontrack_db::Leasable>(
    db: &TestDb,
    owner: &LeaseOwner,
    limit: u32,
    at: DateTime<Utc>,
) -> Vec<K> {
    db.store
        .claim(owner, limit, at, at + Duration::minutes(5))
        .await
        .unwrap()
}

/// Makes `count` legs on one posting, all due at `due`.
async fn legs_due_at(db: &TestDb, count: usize, due: DateTime<Utc>) -> Vec<LegId> {
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0101-1").await;
    let mut ids = Vec::new();
    for i in 0..count {
        let l = leg("cdek", &format!("{:010}", 1_000_000 + i), LegRole::LastMile);
        let id = db.store.upsert_leg(posting, &l, t0()).await.unwrap();
        db.store.schedule(id, Some(due)).await.unwrap();
        ids.push(id);
    }
    ids
}

async fn claim_takes_only_due_rows_without_a_live_lease(db: &TestDb) {
    let ids = legs_due_at(db, 3, t0()).await;
    db.store
        .schedule(ids[2], Some(t0() + Duration::hours(1)))
        .await
        .unwrap();
    let (a, b) = (LeaseOwner::new("a"), LeaseOwner::new("b"));
    let until = t0() + Duration::minutes(5);
    let first: Vec<LegId> = db.store.claim(&a, 10, t0(), until).await.unwrap();
    assert_eq!(first, ids[..2]);
    let second: Vec<LegId> = db
        .store
        .claim(&b, 10, t0() + Duration::minutes(1), until)
        .await
        .unwrap();
    assert!(
        second.is_empty(),
        "leased rows were handed out again: {second:?}"
    );
    let record = db.store.leg(ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (record.lease_owner, record.lease_until),
        (Some(a), Some(until))
    );
}

async fn claim_respects_the_limit_and_takes_the_most_overdue_first(db: &TestDb) {
    let ids = legs_due_at(db, 5, t0()).await;
    db.store
        .schedule(ids[4], Some(t0() - Duration::hours(3)))
        .await
        .unwrap();
    db.store
        .schedule(ids[3], Some(t0() - Duration::hours(2)))
        .await
        .unwrap();
    let owner = LeaseOwner::new("a");
    let claimed: Vec<LegId> = claim_for_5_minutes(db, &owner, 2, t0()).await;
    assert_eq!(claimed, [ids[3], ids[4]]);
}

async fn an_expired_lease_can_be_claimed_by_another_owner(db: &TestDb) {
    let ids = legs_due_at(db, 1, t0()).await;
    let (a, b) = (LeaseOwner::new("a"), LeaseOwner::new("b"));
    let _: Vec<LegId> = claim_for_5_minutes(db, &a, 1, t0()).await;
    let later = t0() + Duration::minutes(6);
    let taken: Vec<LegId> = claim_for_5_minutes(db, &b, 1, later).await;
    assert_eq!(taken, ids);
}

async fn a_previous_owner_cannot_release_or_extend_a_lease_it_lost(db: &TestDb) {
    let ids = legs_due_at(db, 1, t0()).await;
    let (a, b) = (LeaseOwner::new("a"), LeaseOwner::new("b"));
    let _: Vec<LegId> = claim_for_5_minutes(db, &a, 1, t0()).await;
    let later = t0() + Duration::minutes(6);
    let _: Vec<LegId> = claim_for_5_minutes(db, &b, 1, later).await;
    assert_eq!(
        db.store
            .extend(&ids, &a, later + Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    assert!(!db.store.release(ids[0], &a, Some(later)).await.unwrap());
    assert_eq!(
        db.store
            .extend(&ids, &b, later + Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    let record = db.store.leg(ids[0]).await.unwrap().unwrap();
    assert_eq!(record.lease_owner, Some(b.clone()));
    assert_eq!(record.lease_until, Some(later + Duration::hours(1)));
    assert!(
        db.store
            .release(ids[0], &b, Some(later + Duration::hours(4)))
            .await
            .unwrap()
    );
    let record = db.store.leg(ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (record.lease_owner, record.next_check_at),
        (None, Some(later + Duration::hours(4)))
    );
}

async fn a_release_without_a_next_check_is_never_due_again(db: &TestDb) {
    let ids = legs_due_at(db, 1, t0()).await;
    let owner = LeaseOwner::new("a");
    let _: Vec<LegId> = claim_for_5_minutes(db, &owner, 1, t0()).await;
    assert!(db.store.release(ids[0], &owner, None).await.unwrap());
    let far = t0() + Duration::days(3650);
    let claimed: Vec<LegId> = claim_for_5_minutes(db, &owner, 1, far).await;
    assert!(claimed.is_empty());
}

async fn every_lease_held_is_read_at_once_with_its_kind_holder_and_end(db: &TestDb) {
    let legs = legs_due_at(db, 1, t0()).await;
    let (a, b) = (LeaseOwner::new("a"), LeaseOwner::new("b"));
    let _: Vec<LegId> = claim_for_5_minutes(db, &a, 1, t0()).await;
    let until = t0() + Duration::minutes(2);
    let stores: Vec<StoreId> = db.store.claim(&b, 1, t0(), until).await.unwrap();
    assert_eq!(stores.len(), 1);
    let mut held = db.store.held_leases().await.unwrap();
    held.sort_by_key(|l| l.table);
    assert_eq!(
        held,
        [
            ozontrack_db::HeldLease {
                table: "legs",
                id: legs[0].0,
                owner: a.clone(),
                until: t0() + Duration::minutes(5),
            },
            ozontrack_db::HeldLease {
                table: "stores",
                id: stores[0].0,
                owner: b.clone(),
                until,
            },
        ]
    );
    assert!(db.store.release(legs[0], &a, None).await.unwrap());
    assert!(db.store.release(stores[0], &b, None).await.unwrap());
    assert!(db.store.held_leases().await.unwrap().is_empty());
}

async fn stores_are_leased_like_legs(db: &TestDb) {
    let store = a_store(db).await;
    let (a, b) = (LeaseOwner::new("a"), LeaseOwner::new("b"));
    let until = t0() + Duration::minutes(5);
    let first: Vec<StoreId> = db.store.claim(&a, 5, t0(), until).await.unwrap();
    let second: Vec<StoreId> = db.store.claim(&b, 5, t0(), until).await.unwrap();
    assert_eq!((first, second), (vec![store], vec![]));
    assert!(
        db.store
            .release(store, &a, Some(t0() + Duration::minutes(10)))
            .await
            .unwrap()
    );
    let record = db.store.stores().await.unwrap().remove(0);
    assert_eq!(record.next_sync_at, Some(t0() + Duration::minutes(10)));
}

async fn times_with_and_without_fractions_compare_correctly(db: &TestDb) {
    // SQLite compares times as text: 08:00:00 must sort before 08:00:00.5, and 08:00:00.5
    // before 08:00:01, whatever the number of fractional digits.
    let ids = legs_due_at(db, 2, t0()).await;
    db.store
        .schedule(ids[0], Some(t0() + Duration::milliseconds(500)))
        .await
        .unwrap();
    db.store
        .schedule(ids[1], Some(t0() + Duration::seconds(1)))
        .await
        .unwrap();
    let owner = LeaseOwner::new("a");
    let until = t0() + Duration::minutes(5);
    let none: Vec<LegId> = db.store.claim(&owner, 5, t0(), until).await.unwrap();
    assert!(none.is_empty());
    let half: Vec<LegId> = db
        .store
        .claim(&owner, 5, t0() + Duration::microseconds(500_001), until)
        .await
        .unwrap();
    assert_eq!(half, [ids[0]]);
    let whole: Vec<LegId> = db
        .store
        .claim(&owner, 5, t0() + Duration::seconds(1), until)
        .await
        .unwrap();
    assert_eq!(whole, [ids[1]]);
}

async fn two_concurrent_claimers_never_get_the_same_row(db: &TestDb) {
    let ids = legs_due_at(db, 120, t0()).await;
    let until = t0() + Duration::minutes(5);
    let claimer = |name: &'static str, store| async move {
        let owner = LeaseOwner::new(name);
        let mut mine: Vec<LegId> = Vec::new();
        // Bounded: a claim that hands out leased rows again would otherwise never run dry.
        for _ in 0..=120 {
            let batch: Vec<LegId> = support::claim_with(&store, &owner, 7, t0(), until).await;
            if batch.is_empty() {
                break;
            }
            mine.extend(batch);
            tokio::task::yield_now().await;
        }
        mine
    };
    let (a, b) = tokio::join!(
        tokio::spawn(claimer("a", db.second_connection().await)),
        tokio::spawn(claimer("b", db.second_connection().await)),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let a_set: HashSet<LegId> = a.iter().copied().collect();
    let b_set: HashSet<LegId> = b.iter().copied().collect();
    assert!(
        a_set.is_disjoint(&b_set),
        "both claimers got {:?}",
        a_set.intersection(&b_set)
    );
    assert_eq!(a.len() + b.len(), ids.len());
    assert_eq!(db.store.backend() == Backend::Postgres, db.is_postgres());
}

fn check(leg: LegId, events: Vec<TrackingEvent>, next: Option<DateTime<Utc>>) -> LegCheck {
    LegCheck {
        leg,
        events,
        next_check_at: next,
        registered: true,
        detected_carrier: None,
        fresh: true,
        // The answers of these rounds come in ten minutes after each round began.
        answered_at: t0() + Duration::minutes(10),
    }
}

async fn a_round_of_checks_stores_events_schedules_and_gives_up_the_leases(db: &TestDb) {
    let leg = a_leg(db).await;
    let owner = LeaseOwner::new("tracker");
    let now = t0() + Duration::hours(10);
    let claimed: Vec<LegId> = db
        .store
        .claim(&owner, 10, now, now + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(claimed, [leg]);
    let next = now + Duration::hours(12);
    let events = vec![
        event(1, MainStatus::InfoReceived, SubStatus::Registered, "A"),
        event(3, MainStatus::InTransit, SubStatus::PickedUp, "B"),
    ];
    let new = db
        .store
        .record_checks(&[check(leg, events.clone(), Some(next))], &owner, now)
        .await
        .unwrap();
    assert_eq!(new, 2);
    let record = db.store.leg(leg).await.unwrap().unwrap();
    assert_eq!(record.next_check_at, Some(next));
    assert_eq!(record.lease_owner, None);
    assert_eq!(record.registered_at, Some(now));
    assert_eq!(
        record.checked_at,
        Some(t0() + Duration::minutes(10)),
        "known as of the answer, not of the round's start"
    );
    assert_eq!(record.checks, 1);
    assert_eq!(record.status, Some(events[1].status.clone()));
    // The same events again are not new; a check by someone who lost the lease changes no
    // schedule.
    let later = now + Duration::hours(1);
    let stale = db
        .store
        .record_checks(
            &[check(leg, events, None)],
            &LeaseOwner::new("other"),
            later,
        )
        .await
        .unwrap();
    assert_eq!(stale, 0);
    let record = db.store.leg(leg).await.unwrap().unwrap();
    assert_eq!(record.next_check_at, Some(next));
    assert_eq!(
        record.registered_at,
        Some(now),
        "the first registration is kept"
    );
    // New events stored by a check whose lease was lost still move the leg (the next holder
    // will find them known), and an older one never moves it back.
    let newer = event(5, MainStatus::Delivered, SubStatus::Delivered, "C");
    let older = event(2, MainStatus::InTransit, SubStatus::InTransit, "D");
    let moved = db
        .store
        .record_checks(
            &[check(leg, vec![older, newer.clone()], None)],
            &LeaseOwner::new("other"),
            later,
        )
        .await
        .unwrap();
    assert_eq!(moved, 2);
    let record = db.store.leg(leg).await.unwrap().unwrap();
    assert_eq!(record.status, Some(newer.status.clone()));
    assert_eq!(record.last_event_at, Some(newer.occurred_at));
    assert_eq!((record.next_check_at, record.checks), (Some(next), 1));
}

/// A sync that read a leg as "unknown" while the tracker renamed it can write a second
/// "unknown" leg of the same number; naming it too would collide with the first and fail every
/// round that holds it.
async fn a_second_unknown_leg_of_a_named_number_does_not_break_the_round(db: &TestDb) {
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0102-1").await;
    let named = a_leg_of(db, posting, "4px", "XX123456780", LegRole::FirstMile).await;
    let unknown = a_leg_of(db, posting, "unknown", "XX123456780", LegRole::FirstMile).await;
    let owner = LeaseOwner::new("tracker");
    let now = t0() + Duration::hours(1);
    let claimed: Vec<LegId> = db
        .store
        .claim(&owner, 10, now, now + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let next = now + Duration::hours(6);
    let detect = |leg| LegCheck {
        detected_carrier: Some(CarrierCode::parse("4px").unwrap()),
        ..check(leg, Vec::new(), Some(next))
    };
    db.store
        .record_checks(&[detect(named), detect(unknown)], &owner, now)
        .await
        .unwrap();
    let second = db.store.leg(unknown).await.unwrap().unwrap();
    assert_eq!(second.leg.carrier.as_str(), "unknown");
    assert_eq!(second.carrier_source, CarrierSource::Detected);
    assert_eq!(
        (second.next_check_at, second.lease_owner),
        (Some(next), None),
        "the check is recorded all the same"
    );
}

/// A sync's page and a rename of one of its legs, interleaved on PostgreSQL (SQLite lets one
/// writer in at a time, so they cannot interleave there). The page holds its postings, reads
/// their legs' carriers, then upserts the legs under them; a rename that fell in between would
/// leave the number under its old carrier as well. The page is played here on a connection of
/// its own, one step at a time.
mod a_rename_waits_for_the_page_that_holds_its_posting {
    use super::*;

    #[derive(Clone, Copy)]
    enum Rename {
        Aggregator,
        ByHand,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_the_aggregator_names_an_unknown_carrier() {
        a_rename_during_a_page_leaves_one_leg_of_the_number(Rename::Aggregator, "4px").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_a_user_sets_the_carrier() {
        a_rename_during_a_page_leaves_one_leg_of_the_number(Rename::ByHand, "cdek").await;
    }

    async fn a_rename_during_a_page_leaves_one_leg_of_the_number(
        rename: Rename,
        named: &'static str,
    ) {
        let Some(db) = crate::support::postgres().await else {
            return;
        };
        let store = a_store(&db).await;
        let posting = a_posting(&db, store, "0132112277-0103-1").await;
        let number = "XX123456781";
        let leg = a_leg_of(&db, posting, "unknown", number, LegRole::FirstMile).await;
        let owner = LeaseOwner::new("tracker");
        let now = t0() + Duration::hours(1);
        db.store
            .claim::<LegId>(&owner, 10, now, now + Duration::minutes(5))
            .await
            .unwrap();

        // The page holds the posting (its upsert locks the row) and reads the leg's carrier.
        let mut page = db.postgres_connection().await.unwrap();
        let mut tx = sqlx::Connection::begin(&mut page).await.unwrap();
        sqlx::query("UPDATE postings SET updated_at = updated_at WHERE id = $1")
            .bind(posting.0)
            .execute(&mut *tx)
            .await
            .unwrap();
        let read: String = sqlx::query_scalar("SELECT carrier FROM legs WHERE id = $1")
            .bind(leg.0)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(read, "unknown");

        // Meanwhile the rename, until it waits for the page (or, not waiting, is done).
        let store_handle = db.store.clone();
        let renaming = tokio::spawn(async move {
            let code = CarrierCode::parse(named).unwrap();
            match rename {
                Rename::Aggregator => {
                    let checked = LegCheck {
                        detected_carrier: Some(code),
                        ..check(leg, Vec::new(), Some(now + Duration::hours(6)))
                    };
                    store_handle
                        .record_checks(&[checked], &owner, now)
                        .await
                        .map(|_| ())
                }
                Rename::ByHand => store_handle.set_leg_carrier(leg, &code, "anna", now).await,
            }
        });
        let mut watch = db.postgres_connection().await.unwrap();
        while !renaming.is_finished() {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock'",
            )
            .fetch_one(&mut watch)
            .await
            .unwrap();
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }

        // The page upserts the leg under the carrier it read, and ends.
        sqlx::query(
            "INSERT INTO legs (posting_id, carrier, tracking_number, role, created_at, \
             updated_at) SELECT posting_id, $2, tracking_number, role, $3, $3 FROM legs \
             WHERE id = $1 ON CONFLICT (posting_id, carrier, tracking_number) \
             DO UPDATE SET updated_at = excluded.updated_at",
        )
        .bind(leg.0)
        .bind(&read)
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        renaming.await.unwrap().unwrap();

        let legs = db.store.legs(posting).await.unwrap();
        let carriers: Vec<&str> = legs
            .iter()
            .filter(|l| l.leg.tracking_number.as_str() == number)
            .map(|l| l.leg.carrier.as_str())
            .collect();
        assert_eq!(carriers, [named], "one leg of the number, renamed");
    }
}

async fn the_aggregator_names_only_an_unknown_carrier_and_never_undoes_a_manual_one(db: &TestDb) {
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0101-1").await;
    let unknown = a_leg_of(db, posting, "unknown", "XX123456789", LegRole::FirstMile).await;
    let yanwen = a_leg_of(db, posting, "yanwen", "UG123456789YP", LegRole::FirstMile).await;
    let owner = LeaseOwner::new("tracker");
    let now = t0() + Duration::hours(1);
    let detect = |leg| LegCheck {
        detected_carrier: Some(CarrierCode::parse("4px").unwrap()),
        ..check(leg, Vec::new(), Some(now))
    };
    db.store
        .claim::<LegId>(&owner, 10, now, now + Duration::minutes(5))
        .await
        .unwrap();
    db.store
        .record_checks(&[detect(unknown), detect(yanwen)], &owner, now)
        .await
        .unwrap();
    let found = db.store.leg(unknown).await.unwrap().unwrap();
    assert_eq!(found.leg.carrier.as_str(), "4px");
    assert_eq!(found.carrier_source, CarrierSource::Aggregator);
    assert_eq!(
        db.store
            .leg(yanwen)
            .await
            .unwrap()
            .unwrap()
            .leg
            .carrier
            .as_str(),
        "yanwen"
    );

    let cdek = CarrierCode::parse("cdek").unwrap();
    db.store
        .set_leg_carrier(unknown, &cdek, "anna", now)
        .await
        .unwrap();
    let set = db.store.leg(unknown).await.unwrap().unwrap();
    assert_eq!(set.carrier_source, CarrierSource::Manual);
    assert_eq!(set.carrier_set_by.as_deref(), Some("anna"));
    assert_eq!(set.carrier_set_at, Some(now));
    assert_eq!(
        set.next_check_at,
        Some(now),
        "a corrected leg is checked at once"
    );
    let later = now + Duration::hours(1);
    db.store
        .claim::<LegId>(&owner, 10, later, later + Duration::minutes(5))
        .await
        .unwrap();
    db.store
        .record_checks(&[detect(unknown)], &owner, later)
        .await
        .unwrap();
    assert_eq!(
        db.store.leg(unknown).await.unwrap().unwrap().leg.carrier,
        cdek
    );
    let missing = db
        .store
        .set_leg_carrier(LegId(999), &cdek, "anna", now)
        .await;
    assert!(matches!(missing, Err(DbError::LegNotFound(999))));
}

async fn a_hand_over_leg_is_linked_to_the_leg_it_continues(db: &TestDb) {
    let first = a_leg(db).await;
    let last = leg("russian_post", "10204512345678", LegRole::LastMile);
    let (id, new) = db.store.add_hand_over(first, &last, t0()).await.unwrap();
    let (again, new_again) = db.store.add_hand_over(first, &last, t0()).await.unwrap();
    assert_eq!(id, again);
    assert!(
        new && !new_again,
        "the second report of a hand-over links nothing new"
    );
    let record = db.store.leg(id).await.unwrap().unwrap();
    assert_eq!(record.parent, Some(first));
    assert_eq!(record.next_check_at, Some(t0()));
    let by_number = db.store.legs_by_number("10204512345678").await.unwrap();
    assert_eq!(by_number.len(), 1);
    let both = db
        .store
        .legs_by_ids(&[id, first, LegId(999)])
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    let posting = db
        .store
        .posting_by_id(record.posting_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(posting.posting.number.as_str(), "0132112277-0101-1");
    let err = db
        .store
        .add_hand_over(LegId(999), &last, t0())
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::LegNotFound(999)));
}

async fn feed_health_counts_failures_in_a_row_until_a_success(db: &TestDb) {
    let fail = |until| FeedOutcome {
        feed: "cdek",
        error: Some("HTTP 503"),
        backoff_until: Some(until),
        calls: 1,
    };
    db.store
        .record_feed(&fail(t0() + Duration::minutes(1)), t0())
        .await
        .unwrap();
    let later = t0() + Duration::minutes(2);
    db.store
        .record_feed(&fail(later + Duration::minutes(2)), later)
        .await
        .unwrap();
    let health = db.store.feed_health().await.unwrap();
    assert_eq!(health.len(), 1);
    assert_eq!(health[0].failures, 2);
    assert!(health[0].is_failing());
    assert_eq!(health[0].backoff_until, Some(later + Duration::minutes(2)));
    assert_eq!(health[0].last_error.as_deref(), Some("HTTP 503"));
    let ok = FeedOutcome {
        feed: "cdek",
        error: None,
        backoff_until: None,
        calls: 5,
    };
    let end = t0() + Duration::minutes(10);
    db.store.record_feed(&ok, end).await.unwrap();
    let health = db.store.feed_health().await.unwrap();
    assert_eq!(health[0].failures, 0);
    assert_eq!(health[0].ok_at, Some(end));
    assert_eq!(health[0].failed_at, Some(later));
    assert_eq!(health[0].backoff_until, None);
    assert_eq!(health[0].calls, 7);
}

async fn a_page_read_earlier_never_puts_back_an_older_state(db: &TestDb) {
    let store = a_store(db).await;
    let number = "0132112277-0101-1";
    let seen = |status, sub, minutes| {
        let posting = Posting {
            status,
            substatus: sub,
            ..full_posting(store, number)
        };
        ozontrack_domain::SyncedPosting::new(
            posting,
            String::new(),
            t0() + Duration::minutes(minutes),
        )
    };
    let newer = seen(OzonStatus::Delivered, OzonSubstatus::Delivered, 20);
    let older = seen(OzonStatus::Delivering, OzonSubstatus::OnWayToCity, 10);
    let first = db
        .store
        .record_page(&[newer], None, t0() + Duration::minutes(21))
        .await
        .unwrap();
    assert_eq!(first.status_events, 1);
    let stale = db
        .store
        .record_page(&[older], None, t0() + Duration::minutes(22))
        .await
        .unwrap();
    assert_eq!(
        stale.status_events, 0,
        "no event for a state Ozon has already left"
    );
    let stored = read_posting(db, store, &PostingNumber::parse(number).unwrap()).await;
    assert_eq!(stored.posting.status, OzonStatus::Delivered);
}

async fn a_synced_postings_ozon_leg_starts_with_its_status_and_follows_each_change(db: &TestDb) {
    let store = a_store(db).await;
    let number = PostingNumber::parse("0132112277-0101-1").unwrap();
    let seen = |status, sub, minutes| {
        let posting = Posting {
            status,
            substatus: sub,
            ..full_posting(store, number.as_str())
        };
        ozontrack_domain::SyncedPosting::new(
            posting,
            String::new(),
            t0() + Duration::minutes(minutes),
        )
    };
    let ozon_leg = |legs: Vec<ozontrack_db::LegRecord>| {
        legs.into_iter()
            .find(|l| l.leg.carrier.as_str() == "ozon")
            .expect("the posting has Ozon's leg")
    };
    // (Ozon's status, seen at minute, the leg's status since minute)
    let pages = [
        (OzonStatus::Delivering, OzonSubstatus::OnWayToCity, 10, 10),
        (OzonStatus::Delivering, OzonSubstatus::OnWayToCity, 20, 10),
        (OzonStatus::Delivered, OzonSubstatus::Delivered, 30, 30),
    ];
    let mut events = Vec::new();
    for (status, sub, minutes, changed_at) in pages {
        let page = [seen(status.clone(), sub.clone(), minutes)];
        let outcome = db
            .store
            .record_page(&page, None, t0() + Duration::minutes(minutes + 1))
            .await
            .unwrap();
        events.push(outcome.status_events);
        let posting = read_posting(db, store, &number).await;
        let leg = ozon_leg(db.store.legs(posting.id).await.unwrap());
        assert_eq!(
            leg.status,
            Some(ozontrack_domain::crosswalk::from_ozon(&status, &sub)),
            "after the page of minute {minutes}"
        );
        assert_eq!(
            leg.last_event_at,
            Some(t0() + Duration::minutes(changed_at))
        );
    }
    assert_eq!(events, [1, 0, 1], "one event per change of status");
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM events").await, 2);
}

async fn delivered_journeys_carry_every_legs_milestones_in_journey_order(db: &TestDb) {
    use ozontrack_domain::estimate::Milestone;
    let store = a_store(db).await;
    let delivered = Posting {
        delivered_at: Some(t0() + Duration::hours(300)),
        status: OzonStatus::Delivered,
        substatus: OzonSubstatus::Delivered,
        ..full_posting(store, "0132112277-0101-1")
    };
    let posting = db.store.upsert_posting(&delivered, t0()).await.unwrap();
    db.store
        .upsert_posting(&full_posting(store, "0132112277-0102-1"), t0())
        .await
        .unwrap();
    let first = a_leg_of(db, posting, "yanwen", "UG123456789YP", LegRole::FirstMile).await;
    let last = a_leg_of(db, posting, "cdek", "1523498765", LegRole::LastMile).await;
    let first_events = [
        event(10, MainStatus::InTransit, SubStatus::PickedUp, "p"),
        event(
            100,
            MainStatus::InTransit,
            SubStatus::ArrivedDestination,
            "a",
        ),
    ];
    let last_events = [
        event(150, MainStatus::InTransit, SubStatus::Sorting, "s"),
        event(
            250,
            MainStatus::AvailableForPickup,
            SubStatus::AtPickupPoint,
            "pp",
        ),
        // A carrier's own words, spaces and separators in them, mark a milestone by the main
        // status alone.
        {
            let mut e = event(
                260,
                MainStatus::OutForDelivery,
                SubStatus::Unknown("Курьер; в пути, 'д' 2".into()),
                "o",
            );
            e.occurred_at += Duration::milliseconds(1500);
            e
        },
        event(300, MainStatus::Delivered, SubStatus::Delivered, "d"),
    ];
    // A leg with no events yet still joins the lane.
    a_leg_of(db, posting, "boxberry", "BB123", LegRole::LastMile).await;
    db.store
        .append_events(first, &first_events, t0())
        .await
        .unwrap();
    db.store
        .append_events(last, &last_events, t0())
        .await
        .unwrap();
    let journeys = db.store.delivered_journeys(t0()).await.unwrap();
    assert_eq!(journeys.len(), 1, "only the delivered posting");
    let j = &journeys[0];
    assert_eq!(j.lane, ["yanwen", "cdek", "boxberry"]);
    assert_eq!(j.buyer_city.as_deref(), Some("Новосибирск"));
    assert_eq!(j.delivered_at, Some(t0() + Duration::hours(300)));
    let hours = |h: i64| t0() + Duration::hours(h);
    assert_eq!(
        j.milestones,
        [
            (Milestone::InProcess, hours(0)),
            (Milestone::FirstMile, hours(10)),
            (Milestone::ArrivedDestination, hours(100)),
            (Milestone::LastMile, hours(150)),
            (Milestone::AtPickupPoint, hours(250)),
            (
                Milestone::OutForDelivery,
                hours(260) + Duration::milliseconds(1500)
            ),
        ],
        "to the millisecond"
    );
    let later = db
        .store
        .delivered_journeys(t0() + Duration::hours(301))
        .await
        .unwrap();
    assert!(later.is_empty(), "delivered before `since`");
}

async fn finished_registered_legs_are_to_stop_until_marked_stopped(db: &TestDb) {
    let id = a_leg(db).await;
    // Registered at the aggregator, never due again.
    let done = check(id, vec![], None);
    let owner = LeaseOwner::new("w1");
    assert!(
        db.store
            .lease(id, &owner, t0(), t0() + Duration::minutes(5))
            .await
            .unwrap()
    );
    db.store.record_checks(&[done], &owner, t0()).await.unwrap();
    let to_stop = db.store.legs_to_stop(40).await.unwrap();
    assert_eq!(to_stop.iter().map(|l| l.id).collect::<Vec<_>>(), [id]);
    db.store.mark_stopped(&[id], Some(t0())).await.unwrap();
    assert!(db.store.legs_to_stop(40).await.unwrap().is_empty());
    assert_eq!(
        db.store.leg(id).await.unwrap().unwrap().stopped_at,
        Some(t0())
    );
    db.store.mark_stopped(&[id], None).await.unwrap();
    assert_eq!(db.store.leg(id).await.unwrap().unwrap().stopped_at, None);
}

fn finding(
    rule: ozontrack_domain::finding::RuleKind,
    severity: ozontrack_domain::finding::Severity,
    leg: Option<&str>,
) -> ozontrack_domain::finding::Finding {
    use ozontrack_domain::finding::{Reason, RuleKind};
    let reason = match rule {
        RuleKind::Stale => Reason::Stale {
            quiet_hours: 50,
            threshold_hours: 48,
            allowance_hours: 0,
            learned: None,
            last: None,
        },
        RuleKind::Dispute => Reason::Dispute {
            status: OzonStatus::Arbitration,
        },
        RuleKind::NonWhitelisted => Reason::NotWhitelisted {
            carrier: ozontrack_domain::CarrierCode::parse("sunyou").unwrap(),
            points: 3,
        },
        other => panic!("no test reason for {other}"),
    };
    ozontrack_domain::finding::Finding {
        severity,
        leg: leg.map(str::to_owned),
        since: t0(),
        reason,
        actions: vec![
            ozontrack_domain::finding::Action::ContactCarrier,
            ozontrack_domain::finding::Action::NotifyBuyer,
        ],
        evidence: vec![ozontrack_domain::Fingerprint::from_stored("abc".into())],
        held: None,
    }
}

fn outcome(
    store: StoreId,
    posting: PostingId,
    changes: Vec<ozontrack_domain::alert::AlertChange>,
) -> ozontrack_db::RiskOutcome {
    ozontrack_db::RiskOutcome {
        posting,
        // The outbox tests build their own with the real number; no destination hears these.
        posting_number: PostingNumber::parse("0000000001-0001-1").unwrap(),
        store,
        changes,
        next_due: Some(t0() + Duration::hours(72)),
        penalty: ozontrack_db::PenaltyPolicy::from(
            &ozontrack_domain::rules::ComplianceRules::default(),
        ),
    }
}

async fn an_alert_opens_once_escalates_and_resolves_with_its_history(db: &TestDb) {
    use ozontrack_domain::alert::{AlertChange, AlertState, Resolution};
    use ozontrack_domain::finding::{RuleKind, Severity};
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0101-1").await;
    let warn = finding(RuleKind::Stale, Severity::Warning, Some("UG123456789YP"));
    let open = outcome(store, posting, vec![AlertChange::Open(warn.clone())]);
    let applied = db
        .store
        .apply_risk(
            std::slice::from_ref(&open),
            t0(),
            &ozontrack_db::Enqueue::nobody(t0()),
        )
        .await
        .unwrap();
    assert_eq!(applied.opened, 1);
    // A second evaluator opening the same alert changes nothing: one open per (posting, rule).
    let again = db
        .store
        .apply_risk(&[open], t0(), &ozontrack_db::Enqueue::nobody(t0()))
        .await
        .unwrap();
    assert_eq!(again.opened, 0);
    let filter = ozontrack_db::AlertFilter {
        stores: Some(vec![store]),
        open_only: true,
        ..Default::default()
    };
    let alerts = db.store.alerts(&filter).await.unwrap();
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!(
        (alert.rule, alert.severity, alert.state),
        (RuleKind::Stale, Severity::Warning, AlertState::Open)
    );
    assert_eq!(alert.posting_number.as_str(), "0132112277-0101-1");
    assert_eq!(alert.actions, warn.actions);
    assert_eq!(alert.evidence, ["abc"]);
    let views = db.store.alert_views(&[posting]).await.unwrap();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].1.id, alert.id);

    let high = finding(RuleKind::Stale, Severity::HighRisk, Some("UG123456789YP"));
    let escalate = AlertChange::Escalate {
        id: alert.id,
        finding: high,
    };
    let later = t0() + Duration::hours(24);
    let applied = db
        .store
        .apply_risk(
            &[outcome(store, posting, vec![escalate])],
            later,
            &ozontrack_db::Enqueue::nobody(later),
        )
        .await
        .unwrap();
    assert_eq!(applied.escalated, 1);
    let resolve = AlertChange::Resolve {
        id: alert.id,
        resolution: Resolution::Moved,
    };
    let end = t0() + Duration::hours(30);
    db.store
        .apply_risk(
            &[outcome(store, posting, vec![resolve.clone()])],
            end,
            &ozontrack_db::Enqueue::nobody(end),
        )
        .await
        .unwrap();
    // Resolving twice is a no-op.
    let twice = db
        .store
        .apply_risk(
            &[outcome(store, posting, vec![resolve])],
            end,
            &ozontrack_db::Enqueue::nobody(end),
        )
        .await
        .unwrap();
    assert_eq!(twice.resolved, 0);
    let all = db
        .store
        .alerts(&ozontrack_db::AlertFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].state, AlertState::Resolved);
    assert_eq!(all[0].resolution, Some(Resolution::Moved));
    assert_eq!(all[0].severity, Severity::HighRisk);
    let history: Vec<AlertState> = db
        .store
        .alert_history(alert.id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.state)
        .collect();
    assert_eq!(
        history,
        [
            AlertState::Open,
            AlertState::Escalated,
            AlertState::Resolved
        ]
    );
    assert!(db.store.alert_views(&[posting]).await.unwrap().is_empty());
    // The next due time was stored with the outcome.
    let input = db.store.postings_with_events(&[posting]).await.unwrap();
    assert_eq!(input.len(), 1);
}

async fn a_user_acknowledges_and_resolves_alerts_and_a_missing_one_is_named(db: &TestDb) {
    use ozontrack_domain::alert::{AlertChange, AlertState, Resolution};
    use ozontrack_domain::finding::{RuleKind, Severity};
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0101-1").await;
    let open = AlertChange::Open(finding(RuleKind::Dispute, Severity::HighRisk, None));
    db.store
        .apply_risk(
            &[outcome(store, posting, vec![open])],
            t0(),
            &ozontrack_db::Enqueue::nobody(t0()),
        )
        .await
        .unwrap();
    let id = db.store.alerts(&Default::default()).await.unwrap()[0].id;
    assert!(
        db.store
            .acknowledge_alert(id, "li.wei", "called the buyer", t0())
            .await
            .unwrap()
    );
    let alert = db
        .store
        .alerts(&Default::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(alert.state, AlertState::Acknowledged);
    assert_eq!(alert.ack_note.as_deref(), Some("called the buyer"));
    assert_eq!(alert.acknowledged_by.as_deref(), Some("li.wei"));
    assert!(
        db.store
            .resolve_alert(id, "li.wei", "refunded", t0())
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .acknowledge_alert(id, "li.wei", "late", t0())
            .await
            .unwrap()
    );
    let alert = db
        .store
        .alerts(&Default::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(alert.resolution, Some(Resolution::Manual));
    // A hand-resolved alert is still shown to the lifecycle, so it is not opened again.
    let views = db.store.alert_views(&[posting]).await.unwrap();
    assert_eq!(views[0].1.resolution, Some(Resolution::Manual));
    let history = db.store.alert_history(id).await.unwrap();
    assert_eq!(history[1].by.as_deref(), Some("li.wei"));
    assert!(matches!(
        db.store.acknowledge_alert(9999, "x", "y", t0()).await,
        Err(DbError::AlertNotFound(9999))
    ));
    let high = ozontrack_db::AlertFilter {
        min_severity: Some(Severity::Critical),
        ..Default::default()
    };
    assert!(db.store.alerts(&high).await.unwrap().is_empty());
}

async fn alerts_are_counted_by_the_inboxs_filter_past_its_limit_up_to_a_cap(db: &TestDb) {
    use ozontrack_domain::alert::AlertChange;
    use ozontrack_domain::finding::{RuleKind, Severity};
    let store = a_store(db).await;
    let theirs = another_store(db).await;
    let mut outcomes = Vec::new();
    for (i, severity) in [Severity::Warning, Severity::HighRisk, Severity::Critical]
        .into_iter()
        .enumerate()
    {
        let posting = a_posting(db, store, &format!("0132112277-030{i}-1")).await;
        let open = AlertChange::Open(finding(RuleKind::Stale, severity, None));
        outcomes.push(outcome(store, posting, vec![open]));
    }
    let elsewhere = a_posting(db, theirs, "0999999999-0003-1").await;
    let open = AlertChange::Open(finding(RuleKind::Stale, Severity::Critical, None));
    outcomes.push(outcome(theirs, elsewhere, vec![open]));
    db.store
        .apply_risk(&outcomes, t0(), &ozontrack_db::Enqueue::nobody(t0()))
        .await
        .unwrap();
    let warning = db
        .store
        .alerts(&ozontrack_db::AlertFilter {
            max_severity: Some(Severity::Warning),
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id;
    db.store
        .resolve_alert(warning, "ops", "delivered", t0())
        .await
        .unwrap();
    let count = |filter: ozontrack_db::AlertFilter, at_most: u64| async move {
        db.store.count_alerts(&filter, at_most).await.unwrap()
    };
    let mine = ozontrack_db::AlertFilter {
        stores: Some(vec![store]),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(count(mine.clone(), 100).await, 3, "the limit is the page's");
    assert_eq!(
        count(
            ozontrack_db::AlertFilter {
                open_only: true,
                ..mine.clone()
            },
            100
        )
        .await,
        2
    );
    assert_eq!(
        count(
            ozontrack_db::AlertFilter {
                min_severity: Some(Severity::HighRisk),
                ..mine.clone()
            },
            100
        )
        .await,
        2
    );
    assert_eq!(count(mine.clone(), 1).await, 2, "past the cap: one more");
    assert_eq!(
        count(
            ozontrack_db::AlertFilter {
                stores: None,
                ..mine.clone()
            },
            100
        )
        .await,
        4
    );
    assert_eq!(
        count(
            ozontrack_db::AlertFilter {
                stores: Some(Vec::new()),
                ..mine
            },
            100
        )
        .await,
        0
    );
}

async fn a_whitelist_violation_enters_the_ledger_once(db: &TestDb) {
    use ozontrack_domain::alert::AlertChange;
    use ozontrack_domain::finding::{RuleKind, Severity};
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0101-1").await;
    a_leg_of(db, posting, "sunyou", "SYAE0123456789", LegRole::FirstMile).await;
    let violation = finding(
        RuleKind::NonWhitelisted,
        Severity::Warning,
        Some("SYAE0123456789"),
    );
    let open = outcome(store, posting, vec![AlertChange::Open(violation)]);
    db.store
        .apply_risk(
            std::slice::from_ref(&open),
            t0(),
            &ozontrack_db::Enqueue::nobody(t0()),
        )
        .await
        .unwrap();
    let id = db.store.alerts(&Default::default()).await.unwrap()[0].id;
    db.store
        .resolve_alert(id, "ops", "carrier changed", t0())
        .await
        .unwrap();
    db.store
        .apply_risk(&[open], t0(), &ozontrack_db::Enqueue::nobody(t0()))
        .await
        .unwrap();
    let ledger = db
        .store
        .penalties(store, t0() - Duration::days(90))
        .await
        .unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (ledger[0].carrier.as_str(), ledger[0].points),
        ("sunyou", 3)
    );
    assert!(
        db.store
            .penalties(store, t0() + Duration::days(1))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn risk_candidates_are_changed_or_due_postings_and_inputs_carry_legs_and_events(db: &TestDb) {
    let store = a_store(db).await;
    let quiet = a_posting(db, store, "0132112277-0101-1").await;
    let changed = a_posting(db, store, "0132112277-0102-1").await;
    let leg_id = a_leg_of(db, changed, "yanwen", "UG123456789YP", LegRole::FirstMile).await;
    let full = db.store.risk_candidates(store, None, t0()).await.unwrap();
    assert_eq!(full, [quiet, changed]);
    let later = t0() + Duration::hours(1);
    db.store
        .append_events(
            leg_id,
            &[event(
                0,
                MainStatus::InTransit,
                SubStatus::PickedUp,
                "picked",
            )],
            later,
        )
        .await
        .unwrap();
    let since = db
        .store
        .risk_candidates(store, Some(t0()), later)
        .await
        .unwrap();
    assert_eq!(since, [changed]);
    // A posting whose threshold is due comes back without any change.
    db.store
        .apply_risk(
            &[ozontrack_db::RiskOutcome {
                next_due: Some(later),
                ..outcome(store, quiet, Vec::new())
            }],
            later,
            &ozontrack_db::Enqueue::nobody(later),
        )
        .await
        .unwrap();
    let due = db
        .store
        .risk_candidates(store, Some(later), later)
        .await
        .unwrap();
    assert_eq!(due, [quiet]);
    let inputs = db
        .store
        .postings_with_events(&[changed, quiet])
        .await
        .unwrap();
    assert_eq!(inputs.len(), 2);
    let with_leg = inputs.iter().find(|i| i.posting.id == changed).unwrap();
    assert_eq!(with_leg.legs.len(), 1);
    assert_eq!(with_leg.legs[0].1.len(), 1);
    assert_eq!(with_leg.legs[0].1[0].raw_code, "picked");
}

async fn a_risk_round_is_held_by_one_process_and_its_watermark_never_moves_back(db: &TestDb) {
    let store = a_store(db).await;
    let (a, b) = (LeaseOwner::new("a"), LeaseOwner::new("b"));
    let lease = Duration::minutes(10);
    let claimed = db
        .store
        .claim_risk_rounds(&a, 10, t0(), t0() + lease)
        .await
        .unwrap();
    assert_eq!(
        claimed,
        [ozontrack_db::RiskRoundState {
            store,
            evaluated_until: None,
            full_at: None,
        }],
        "a new store's round is due at once and has covered nothing"
    );
    assert!(
        db.store
            .claim_risk_rounds(&b, 10, t0(), t0() + lease)
            .await
            .unwrap()
            .is_empty(),
        "held by a"
    );
    let later = t0() + Duration::hours(2);
    assert!(
        db.store
            .finish_risk_round(store, &a, later, true, later)
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .finish_risk_round(store, &a, later, true, later)
            .await
            .unwrap(),
        "a round is finished once, by its holder"
    );
    // b takes the next round; a slower round of an earlier start ends after it.
    let next = db
        .store
        .claim_risk_rounds(&b, 10, later, later + lease)
        .await
        .unwrap();
    assert_eq!(next[0].evaluated_until, Some(later));
    assert_eq!(next[0].full_at, Some(later));
    assert!(
        db.store
            .finish_risk_round(store, &b, t0(), false, later)
            .await
            .unwrap()
    );
    let after = db
        .store
        .claim_risk_rounds(&a, 10, later, later + lease)
        .await
        .unwrap();
    assert_eq!(after[0].evaluated_until, Some(later), "never backwards");
    assert_eq!(after[0].full_at, Some(later));
    // A holder that dies leaves the round to the next claimer once its lease expires.
    assert!(
        db.store
            .claim_risk_rounds(
                &b,
                10,
                later + lease - Duration::seconds(1),
                later + lease * 2
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        db.store
            .claim_risk_rounds(&b, 10, later + lease, later + lease * 2)
            .await
            .unwrap()
            .len(),
        1
    );
    // A paused store's round waits.
    assert!(
        db.store
            .finish_risk_round(store, &b, later, false, later)
            .await
            .unwrap()
    );
    assert!(db.store.set_store_paused(store, true, later).await.unwrap());
    assert!(
        db.store
            .claim_risk_rounds(&a, 10, later, later + lease)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_rate_slot_is_taken_while_one_is_free_and_a_busy_limit_says_when_one_frees(db: &TestDb) {
    let key = "17track:token";
    db.store.add_rate_slots(key, 2).await.unwrap();
    let now = t0();
    let guard = now + Duration::seconds(60);
    let first = db.store.take_rate_slot(key, 2, now, guard).await.unwrap();
    let second = db.store.take_rate_slot(key, 2, now, guard).await.unwrap();
    let (RateSlot::Taken(a), RateSlot::Taken(b)) = (first, second) else {
        panic!("two free slots: {first:?}, {second:?}");
    };
    assert_ne!(a, b);
    assert_eq!(
        db.store.take_rate_slot(key, 2, now, guard).await.unwrap(),
        RateSlot::Busy(guard),
        "both held until their guard"
    );
    // One answered: its slot is held a window after the answer, then free again.
    let freed_at = now + Duration::milliseconds(1_300);
    db.store.free_rate_slot(key, a, freed_at).await.unwrap();
    assert_eq!(
        db.store.take_rate_slot(key, 2, now, guard).await.unwrap(),
        RateSlot::Busy(freed_at)
    );
    assert_eq!(
        db.store
            .take_rate_slot(key, 2, freed_at, freed_at + Duration::seconds(60))
            .await
            .unwrap(),
        RateSlot::Taken(a)
    );
}

async fn a_chore_is_claimed_only_when_due_and_free(db: &TestDb) {
    let (a, b) = (LeaseOwner::new("a"), LeaseOwner::new("b"));
    let until = t0() + Duration::minutes(5);
    assert!(
        db.store
            .claim_one(Chore::GAUGES, &a, t0(), until)
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .claim_one(Chore::GAUGES, &b, t0(), until)
            .await
            .unwrap()
    );
    assert!(
        db.store
            .claim_one(Chore::BACKUP, &b, t0(), until)
            .await
            .unwrap(),
        "another chore is another row"
    );
    let next = t0() + Duration::minutes(1);
    assert!(
        db.store
            .release(Chore::GAUGES, &a, Some(next))
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .claim_one(Chore::GAUGES, &b, t0(), until)
            .await
            .unwrap(),
        "not due yet"
    );
    assert!(
        db.store
            .claim_one(Chore::GAUGES, &b, next, until)
            .await
            .unwrap()
    );
}

async fn a_token_is_found_by_its_hash_until_revoked_with_its_role_and_stores(db: &TestDb) {
    let store = a_store(db).await;
    let new = ozontrack_db::NewToken {
        name: "erp".into(),
        hash: vec![7; 32],
        prefix: "ozt_abcd".into(),
        role: Role::Viewer,
        scope: StoreScope::Only(vec![store]),
    };
    let created = db.store.create_token(&new, t0()).await.unwrap();
    let found = db.store.token_by_hash(&[7; 32]).await.unwrap().unwrap();
    assert_eq!(found, created);
    assert_eq!(found.scope, StoreScope::Only(vec![store]));
    assert_eq!(found.role, Role::Viewer);
    let everywhere = ozontrack_db::NewToken {
        name: "ops".into(),
        hash: vec![9; 32],
        prefix: "ozt_efgh".into(),
        role: Role::Admin,
        scope: StoreScope::All,
    };
    db.store.create_token(&everywhere, t0()).await.unwrap();
    let found = db.store.token_by_hash(&[9; 32]).await.unwrap().unwrap();
    assert_eq!((found.role, found.scope), (Role::Admin, StoreScope::All));
    assert!(db.store.token_by_hash(&[8; 32]).await.unwrap().is_none());
    assert!(db.store.revoke_token(created.id, t0()).await.unwrap());
    assert!(!db.store.revoke_token(created.id, t0()).await.unwrap());
    assert!(db.store.token_by_hash(&[7; 32]).await.unwrap().is_none());
    assert!(db.store.tokens().await.unwrap()[0].revoked_at.is_some());
}

async fn the_postings_page_filters_pages_and_never_leaves_its_stores(db: &TestDb) {
    let mine = a_store(db).await;
    let theirs = another_store(db).await;
    let mut ids = Vec::new();
    for i in 1..=5 {
        ids.push(a_posting(db, mine, &format!("0132112277-010{i}-1")).await);
    }
    a_posting(db, theirs, "0999999999-0001-1").await;
    a_leg_of(db, ids[0], "cdek", "1234567890", LegRole::LastMile).await;
    let query =
        |q: ozontrack_db::PostingQuery| async move { db.store.postings_page(&q).await.unwrap() };
    let base = ozontrack_db::PostingQuery {
        stores: vec![mine],
        limit: 2,
        ..Default::default()
    };
    let first = query(base.clone()).await;
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].record.id, ids[4]);
    let next = query(ozontrack_db::PostingQuery {
        before: Some(first[1].record.id),
        ..base.clone()
    })
    .await;
    assert_eq!(next[0].record.id, ids[2]);
    let all = query(ozontrack_db::PostingQuery {
        limit: 100,
        ..base.clone()
    })
    .await;
    assert_eq!(all.len(), 5, "another store's posting never shows");
    let by_text = query(ozontrack_db::PostingQuery {
        text: Some("1234567890".into()),
        ..base.clone()
    })
    .await;
    assert_eq!(by_text.len(), 1);
    assert_eq!(by_text[0].carriers, ["cdek"]);
    let by_prefix = query(ozontrack_db::PostingQuery {
        text: Some("0132112277-0103".into()),
        ..base.clone()
    })
    .await;
    assert_eq!(by_prefix.len(), 1);
    let wildcard = query(ozontrack_db::PostingQuery {
        text: Some("%".into()),
        ..base.clone()
    })
    .await;
    assert!(wildcard.is_empty(), "LIKE wildcards are literal");
    let by_carrier = query(ozontrack_db::PostingQuery {
        carrier: Some("cdek".into()),
        limit: 100,
        ..base.clone()
    })
    .await;
    assert_eq!(by_carrier.len(), 1);
    let other = query(ozontrack_db::PostingQuery {
        text: Some("0999999999-0001-1".into()),
        ..base.clone()
    })
    .await;
    assert!(other.is_empty());
    assert!(
        query(ozontrack_db::PostingQuery {
            stores: Vec::new(),
            ..base
        })
        .await
        .is_empty()
    );
}

async fn postings_are_counted_by_the_pages_filters_on_every_page_up_to_a_cap(db: &TestDb) {
    let mine = a_store(db).await;
    let theirs = another_store(db).await;
    let mut ids = Vec::new();
    for i in 1..=5 {
        ids.push(a_posting(db, mine, &format!("0132112277-020{i}-1")).await);
    }
    a_posting(db, theirs, "0999999999-0002-1").await;
    a_leg_of(db, ids[1], "cdek", "1234567890", LegRole::LastMile).await;
    let count = |q: ozontrack_db::PostingQuery, at_most: u64| async move {
        db.store.count_matching(&q, at_most).await.unwrap()
    };
    let base = ozontrack_db::PostingQuery {
        stores: vec![mine],
        limit: 2,
        ..Default::default()
    };
    assert_eq!(count(base.clone(), 100).await, 5, "not the page's 2");
    assert_eq!(
        count(
            ozontrack_db::PostingQuery {
                before: Some(ids[2]),
                ..base.clone()
            },
            100
        )
        .await,
        5,
        "the cursor moves the page, not the total"
    );
    assert_eq!(count(base.clone(), 3).await, 4, "past the cap: one more");
    assert_eq!(count(base.clone(), 5).await, 5);
    {
        use ozontrack_domain::alert::AlertChange;
        use ozontrack_domain::finding::{RuleKind, Severity};
        let changes = [(ids[0], Severity::Warning), (ids[3], Severity::Critical)].map(
            |(posting, severity)| {
                let open = AlertChange::Open(finding(RuleKind::Stale, severity, None));
                outcome(mine, posting, vec![open])
            },
        );
        db.store
            .apply_risk(&changes, t0(), &ozontrack_db::Enqueue::nobody(t0()))
            .await
            .unwrap();
        let at_risk = |min| ozontrack_db::PostingQuery {
            min_risk: Some(min),
            ..base.clone()
        };
        assert_eq!(count(at_risk(Severity::Warning), 100).await, 2);
        assert_eq!(count(at_risk(Severity::Critical), 100).await, 1);
        assert_eq!(count(at_risk(Severity::Warning), 1).await, 2);
    }
    assert_eq!(
        count(
            ozontrack_db::PostingQuery {
                carrier: Some("cdek".into()),
                ..base.clone()
            },
            100
        )
        .await,
        1
    );
    assert_eq!(
        count(
            ozontrack_db::PostingQuery {
                stores: vec![mine, theirs],
                ..base.clone()
            },
            100
        )
        .await,
        6
    );
    assert_eq!(
        count(
            ozontrack_db::PostingQuery {
                stores: Vec::new(),
                ..base
            },
            100
        )
        .await,
        0
    );
}

async fn sessions_and_login_links_end_and_a_link_is_used_once(db: &TestDb) {
    let st = &db.store;
    a_user(db, "seller", Role::Operator, StoreScope::All).await;
    assert_eq!(
        st.dashboard_password("seller").await.unwrap().as_deref(),
        Some("$argon2id$seller")
    );
    assert!(st.dashboard_password("nobody").await.unwrap().is_none());
    let session = ozontrack_db::SessionRecord {
        user: "seller".into(),
        csrf: "csrf-token".into(),
        expires_at: t0() + chrono::Duration::hours(12),
    };
    st.create_session(&[1; 32], &session, t0()).await.unwrap();
    assert_eq!(
        st.session(&[1; 32], t0()).await.unwrap(),
        Some(session.clone())
    );
    assert!(
        st.session(&[1; 32], session.expires_at)
            .await
            .unwrap()
            .is_none(),
        "ended"
    );
    st.end_session(&[1; 32]).await.unwrap();
    assert!(st.session(&[1; 32], t0()).await.unwrap().is_none());

    let until = t0() + chrono::Duration::hours(24);
    st.create_login_link(&[2; 32], None, t0(), until)
        .await
        .unwrap();
    st.create_login_link(&[3; 32], None, t0(), until)
        .await
        .unwrap();
    assert_eq!(
        st.use_login_link(&[2; 32], t0()).await.unwrap().as_deref(),
        Some(ozontrack_db::OPERATOR)
    );
    assert!(
        st.use_login_link(&[2; 32], t0()).await.unwrap().is_none(),
        "used once"
    );
    assert!(
        st.use_login_link(&[3; 32], until).await.unwrap().is_none(),
        "expired"
    );
    assert!(
        st.use_login_link(&[4; 32], t0()).await.unwrap().is_none(),
        "never made"
    );
}

async fn a_postings_buyer_token_is_made_once_and_finds_it(db: &TestDb) {
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0101-1").await;
    let other = a_posting(db, store, "0132112277-0101-2").await;
    let token = db.store.buyer_token(posting).await.unwrap();
    assert_eq!(token.len(), 32);
    assert_eq!(db.store.buyer_token(posting).await.unwrap(), token);
    assert_ne!(db.store.buyer_token(other).await.unwrap(), token);
    assert_eq!(
        db.store.posting_by_buyer_token(&token).await.unwrap(),
        Some(posting)
    );
    assert!(
        db.store
            .posting_by_buyer_token("0123456789abcdef0123456789abcdef")
            .await
            .unwrap()
            .is_none()
    );
    // The database keeps the token's hash, never the token.
    let kept: Vec<Option<String>> = db.raw_strings("SELECT buyer_token FROM postings").await;
    assert!(
        kept.iter().flatten().all(|k| k.len() == 64 && *k != token),
        "{kept:?}"
    );
}

async fn a_stores_push_secret_is_derived_the_same_each_time_and_finds_its_store(db: &TestDb) {
    let store = a_store(db).await;
    let secret = db.store.push_secret(store).await.unwrap();
    assert_eq!(db.store.push_secret(store).await.unwrap(), secret);
    assert_eq!(
        db.store
            .store_by_push_secret(&secret)
            .await
            .unwrap()
            .map(|s| s.id),
        Some(store)
    );
    assert!(
        db.store
            .store_by_push_secret(&secret[..31])
            .await
            .unwrap()
            .is_none()
    );
}

async fn overview_lanes_and_queue_depths_count_within_their_stores(db: &TestDb) {
    let mine = a_store(db).await;
    let theirs = another_store(db).await;
    let a = a_posting(db, mine, "0132112277-0101-1").await;
    a_posting(db, mine, "0132112277-0102-1").await;
    let b = a_posting(db, theirs, "0999999999-0001-1").await;
    for posting in [a, b] {
        a_leg_of(db, posting, "cdek", "1234567890", LegRole::LastMile).await;
    }
    let overview = db.store.overview(&[mine]).await.unwrap();
    let active: u64 = overview.active.iter().map(|m| m.postings).sum();
    assert_eq!(active, 2, "{overview:?}");
    assert!(overview.at_risk.is_empty());
    assert_eq!(db.store.overview(&[]).await.unwrap(), Default::default());

    let since = t0() - chrono::Duration::days(365);
    let lanes = db.store.lane_stats(&[mine], since).await.unwrap();
    let counted: u64 = lanes.iter().map(|l| l.postings).sum();
    assert_eq!(counted, 1, "only my posting with a carrier leg: {lanes:?}");
    assert_eq!(lanes[0].carriers, ["cdek"]);
    assert!(db.store.lane_stats(&[], since).await.unwrap().is_empty());

    let depths = db
        .store
        .queue_depths(t0() + chrono::Duration::days(1))
        .await
        .unwrap();
    assert!(depths.stores_due >= 2, "{depths:?}");
    assert_eq!(depths.pushes_pending, 0);

    // Kept for every node's /metrics, the latest count replacing the one before.
    assert_eq!(db.store.kept_queue_depths().await.unwrap(), None);
    let earlier = ozontrack_db::QueueDepths {
        legs_due: 9,
        ..depths
    };
    db.store.keep_queue_depths(&earlier, t0()).await.unwrap();
    let at = t0() + chrono::Duration::seconds(15);
    db.store.keep_queue_depths(&depths, at).await.unwrap();
    assert_eq!(
        db.store.kept_queue_depths().await.unwrap(),
        Some((depths, at))
    );
}

async fn a_destination(
    db: &TestDb,
    name: &str,
    routing: ozontrack_domain::notify::Routing,
) -> ozontrack_domain::notify::Destination {
    use ozontrack_domain::notify::ChannelKind;
    let id = db
        .store
        .add_destination(
            &ozontrack_db::NewDestination {
                name: name.into(),
                kind: ChannelKind::Wecom,
                address: r#"{"kind":"wecom","endpoint":"http://127.0.0.1:9/cgi-bin/webhook/send"}"#
                    .into(),
                credentials: Some(SecretString::from(
                    r#"{"token":"robot-key-123"}"#.to_owned(),
                )),
                language: Language::Zh,
                time_zone: "Asia/Shanghai".into(),
                routing,
            },
            t0(),
        )
        .await
        .unwrap();
    db.store.destination(id).await.unwrap().unwrap().destination
}

fn numbered_outcome(
    store: StoreId,
    posting: PostingId,
    number: &str,
    changes: Vec<ozontrack_domain::alert::AlertChange>,
) -> ozontrack_db::RiskOutcome {
    ozontrack_db::RiskOutcome {
        posting_number: PostingNumber::parse(number).unwrap(),
        ..outcome(store, posting, changes)
    }
}

async fn alert_changes_write_their_messages_in_the_same_transaction_and_once(db: &TestDb) {
    use ozontrack_domain::alert::{AlertChange, Resolution};
    use ozontrack_domain::finding::{RuleKind, Severity};
    use ozontrack_domain::notify::{Routing, Topic};
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0101-1").await;
    let seller = a_destination(db, "ops", Routing::default()).await;
    let resolutions = a_destination(
        db,
        "closing",
        Routing {
            topics: vec![Topic::AlertResolved],
            ..Routing::default()
        },
    )
    .await;
    let destinations = vec![seller.clone(), resolutions.clone()];
    let wall = ozontrack_domain::Clock::now(&ozontrack_domain::SystemClock);
    let notify = ozontrack_db::Enqueue {
        destinations: &destinations,
        at: wall,
    };
    let open = numbered_outcome(
        store,
        posting,
        "0132112277-0101-1",
        vec![AlertChange::Open(finding(
            RuleKind::Stale,
            Severity::Warning,
            None,
        ))],
    );
    db.store
        .apply_risk(std::slice::from_ref(&open), t0(), &notify)
        .await
        .unwrap();
    // Applying the same change again (another evaluator) writes no second message.
    db.store.apply_risk(&[open], t0(), &notify).await.unwrap();
    let all = |d: ozontrack_domain::DestinationId| {
        let store = db.store.clone();
        async move {
            store
                .outbox(&ozontrack_db::OutboxFilter {
                    destination: Some(d),
                    ..Default::default()
                })
                .await
                .unwrap()
        }
    };
    let messages = all(seller.id).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.notice.topic(), Topic::AlertOpened);
    assert_eq!(m.key, "d1_0132112277-0101-1_stale_opened_a1");
    assert_eq!(
        m.created_at, wall,
        "messages are due by the wall clock, not the rules'"
    );
    let alert = m.notice.alert().unwrap();
    assert_eq!(alert.posting_number.as_str(), "0132112277-0101-1");
    assert!(alert.reason.is_some());
    // The destination is due when its message is.
    let due: Vec<ozontrack_domain::DestinationId> = db
        .store
        .claim(&LeaseOwner::new("d"), 10, wall, wall + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(due, [seller.id]);
    let id = alert.alert;
    let escalate = numbered_outcome(
        store,
        posting,
        "0132112277-0101-1",
        vec![AlertChange::Escalate {
            id,
            finding: finding(RuleKind::Stale, Severity::Critical, None),
        }],
    );
    db.store
        .apply_risk(&[escalate], t0(), &notify)
        .await
        .unwrap();
    let resolve = numbered_outcome(
        store,
        posting,
        "0132112277-0101-1",
        vec![AlertChange::Resolve {
            id,
            resolution: Resolution::Moved,
        }],
    );
    db.store
        .apply_risk(std::slice::from_ref(&resolve), t0(), &notify)
        .await
        .unwrap();
    db.store
        .apply_risk(&[resolve], t0(), &notify)
        .await
        .unwrap();
    let topics: Vec<Topic> = all(seller.id)
        .await
        .iter()
        .map(|m| m.notice.topic())
        .collect();
    assert_eq!(topics, [Topic::AlertEscalated, Topic::AlertOpened]);
    let closing = all(resolutions.id).await;
    assert_eq!(closing.len(), 1, "resolved once");
    assert_eq!(
        closing[0].notice.alert().unwrap().resolution,
        Some(Resolution::Moved)
    );
}

async fn a_penalty_threshold_crossed_by_a_violation_is_a_message(db: &TestDb) {
    use ozontrack_domain::alert::AlertChange;
    use ozontrack_domain::finding::{RuleKind, Severity};
    use ozontrack_domain::notify::{Notice, PenaltyLevel, Routing};
    let store = a_store(db).await;
    let ops = a_destination(db, "ops", Routing::default()).await;
    let destinations = vec![ops.clone()];
    let notify = ozontrack_db::Enqueue {
        destinations: &destinations,
        at: t0(),
    };
    let policy = ozontrack_db::PenaltyPolicy {
        points: 3,
        warn_at: 6,
        suspension_at: 9,
        window_days: 90,
    };
    for (i, number) in [
        "0132112277-0101-1",
        "0132112278-0101-1",
        "0132112279-0101-1",
    ]
    .iter()
    .enumerate()
    {
        let posting = a_posting(db, store, number).await;
        let tracking = format!("SY12345678{i}CN");
        a_leg_of(db, posting, "sunyou", &tracking, LegRole::FirstMile).await;
        let outcome = ozontrack_db::RiskOutcome {
            penalty: policy,
            ..numbered_outcome(
                store,
                posting,
                number,
                vec![AlertChange::Open(finding(
                    RuleKind::NonWhitelisted,
                    Severity::Critical,
                    Some(&tracking),
                ))],
            )
        };
        db.store
            .apply_risk(&[outcome], t0(), &notify)
            .await
            .unwrap();
    }
    let penalties: Vec<(PenaltyLevel, i64)> = db
        .store
        .outbox(&Default::default())
        .await
        .unwrap()
        .iter()
        .filter_map(|m| match &m.notice {
            Notice::Penalty(p) => Some((p.level, p.total)),
            _ => None,
        })
        .collect();
    assert_eq!(
        penalties,
        [(PenaltyLevel::Suspension, 9), (PenaltyLevel::Warning, 6)]
    );
}

async fn destinations_keep_their_credentials_encrypted_and_one_dispatcher_holds_each(db: &TestDb) {
    use ozontrack_domain::notify::Routing;
    let d = a_destination(db, "ops", Routing::default()).await;
    let raw = db.raw_destination_secret(d.id.0).await;
    assert!(
        !raw.windows(9).any(|w| w == b"robot-key"),
        "the key is stored in clear"
    );
    let secret = db
        .store
        .destination_credentials(d.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(secret.expose_secret(), r#"{"token":"robot-key-123"}"#);
    let again = db
        .store
        .add_destination(
            &ozontrack_db::NewDestination {
                name: "ops".into(),
                kind: d.kind,
                address: "{}".into(),
                credentials: None,
                language: Language::Zh,
                time_zone: "Asia/Shanghai".into(),
                routing: Routing::default(),
            },
            t0(),
        )
        .await;
    assert!(matches!(again, Err(DbError::DuplicateDestination(_))));
    let notice = ozontrack_domain::notify::Notice::Test(ozontrack_domain::notify::TestNotice {
        destination: d.id,
        nonce: "n1".into(),
        by: "test".into(),
        at: t0(),
    });
    let later = t0() + Duration::minutes(5);
    let message = ozontrack_db::NewMessage::new(d.id, notice);
    assert_eq!(
        db.store
            .enqueue(std::slice::from_ref(&message), t0())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db.store.enqueue(&[message], t0()).await.unwrap(),
        0,
        "once per key"
    );
    let (a, b) = (LeaseOwner::new("a"), LeaseOwner::new("b"));
    let first: Vec<ozontrack_domain::DestinationId> =
        db.store.claim(&a, 10, t0(), later).await.unwrap();
    let second: Vec<ozontrack_domain::DestinationId> =
        db.store.claim(&b, 10, t0(), later).await.unwrap();
    assert_eq!((first.len(), second.len()), (1, 0));
    // Released with the message still waiting: due at once again; with a block: after it.
    db.store
        .block_destination(d.id, t0() + Duration::minutes(10))
        .await
        .unwrap();
    assert!(db.store.release_destination(d.id, &a).await.unwrap());
    let due: Vec<ozontrack_domain::DestinationId> = db
        .store
        .claim(&b, 10, t0() + Duration::minutes(9), later)
        .await
        .unwrap();
    assert!(due.is_empty());
    let due: Vec<ozontrack_domain::DestinationId> = db
        .store
        .claim(&b, 10, t0() + Duration::minutes(10), later)
        .await
        .unwrap();
    assert_eq!(due, [d.id]);
}

/// Three test messages for `d`, enqueued and due at `t0`; their ids, oldest first.
async fn three_test_messages(db: &TestDb, d: &ozontrack_domain::notify::Destination) -> Vec<i64> {
    use ozontrack_domain::notify::{Notice, TestNotice};
    let messages: Vec<ozontrack_db::NewMessage> = (0..3)
        .map(|i| {
            ozontrack_db::NewMessage::new(
                d.id,
                Notice::Test(TestNotice {
                    destination: d.id,
                    nonce: format!("n{i}"),
                    by: "test".into(),
                    at: t0(),
                }),
            )
        })
        .collect();
    db.store.enqueue(&messages, t0()).await.unwrap();
    let due = db.store.due_messages(d.id, t0(), 10).await.unwrap();
    due.iter().map(|m| m.id).collect()
}

async fn a_digest_gathers_pending_messages_and_a_dead_one_can_be_sent_again(db: &TestDb) {
    use ozontrack_domain::notify::{AttemptOutcome, DigestNotice, MessageState, Notice, Routing};
    let d = a_destination(db, "ops", Routing::default()).await;
    let ids = three_test_messages(db, &d).await;
    let digest = db
        .store
        .coalesce(
            &ids[..2],
            &ozontrack_db::NewMessage {
                destination: d.id,
                notice: Notice::Digest(DigestNotice {
                    count: 2,
                    quiet: false,
                }),
                key: Some(ozontrack_domain::notify::digest_key(d.id, ids[0])),
            },
            t0(),
        )
        .await
        .unwrap();
    let members = db.store.digest_members(digest).await.unwrap();
    assert_eq!(members.len(), 2);
    assert!(members.iter().all(|m| m.state == MessageState::Coalesced));
    let due = db.store.due_messages(d.id, t0(), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|m| m.id).collect::<Vec<_>>(),
        [ids[2], digest]
    );
    // The last one is refused for good, then sent again by hand.
    let attempt = db.store.start_attempt(ids[2], d.id, 0, t0()).await.unwrap();
    db.store
        .settle(
            &ozontrack_db::Attempted {
                attempt,
                message: ids[2],
                outcome: AttemptOutcome::Permanent,
                code: Some("errcode 40058"),
                took_ms: 12,
            },
            &ozontrack_db::Settle::Dead,
            t0(),
        )
        .await
        .unwrap();
    let dead = db.store.message(ids[2]).await.unwrap().unwrap();
    assert_eq!(dead.state, MessageState::Dead);
    assert_eq!(dead.last_code.as_deref(), Some("errcode 40058"));
    let attempts = db.store.attempts(ids[2]).await.unwrap();
    assert_eq!(attempts[0].outcome, AttemptOutcome::Permanent);
    assert_eq!(
        db.store
            .recent_attempts(d.id, t0() - Duration::seconds(1))
            .await
            .unwrap(),
        [t0()]
    );
    assert!(db.store.retry_message(ids[2], t0()).await.unwrap());
    assert!(
        !db.store.retry_message(ids[2], t0()).await.unwrap(),
        "only a failed one"
    );
    let again = db.store.message(ids[2]).await.unwrap().unwrap();
    assert_eq!((again.state, again.attempts), (MessageState::Pending, 0));
}

async fn messages_waiting_for_a_retry_go_out_now_when_asked_but_not_held_ones(db: &TestDb) {
    use ozontrack_domain::notify::{AttemptOutcome, Routing};
    let d = a_destination(db, "ops", Routing::default()).await;
    let ids = three_test_messages(db, &d).await;
    // Dispatcher `a` finds the first failed (it waits an hour), holds the second for quiet
    // hours and delivers the third; the destination is next due in an hour.
    let (a, b) = (LeaseOwner::new("a"), LeaseOwner::new("b"));
    let claimed: Vec<ozontrack_domain::DestinationId> = db
        .store
        .claim(&a, 10, t0(), t0() + Duration::seconds(10))
        .await
        .unwrap();
    assert_eq!(claimed, [d.id]);
    for (id, outcome, settle) in [
        (
            ids[0],
            AttemptOutcome::Retry,
            ozontrack_db::Settle::Retry {
                at: t0() + Duration::hours(1),
                dead: false,
            },
        ),
        (
            ids[2],
            AttemptOutcome::Sent,
            ozontrack_db::Settle::Delivered {
                done: true,
                remote_id: None,
            },
        ),
    ] {
        let attempt = db.store.start_attempt(id, d.id, 0, t0()).await.unwrap();
        db.store
            .settle(
                &ozontrack_db::Attempted {
                    attempt,
                    message: id,
                    outcome,
                    code: None,
                    took_ms: 3,
                },
                &settle,
                t0(),
            )
            .await
            .unwrap();
    }
    db.store
        .hold(&ids[1..2], t0() + Duration::hours(8))
        .await
        .unwrap();
    assert!(db.store.release_destination(d.id, &a).await.unwrap());
    let now = t0() + Duration::minutes(1);
    let later = now + Duration::seconds(10);
    let claimed: Vec<ozontrack_domain::DestinationId> =
        db.store.claim(&b, 10, now, later).await.unwrap();
    assert!(claimed.is_empty(), "nothing is due before the retry");

    assert_eq!(db.store.send_waiting_now(now).await.unwrap(), 1);
    let claimed: Vec<ozontrack_domain::DestinationId> =
        db.store.claim(&b, 10, now, later).await.unwrap();
    assert_eq!(claimed, [d.id]);
    let due: Vec<i64> = db
        .store
        .due_messages(d.id, now, 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(
        due,
        [ids[0]],
        "the held message still waits for its morning"
    );
    let retried = db.store.message(ids[0]).await.unwrap().unwrap();
    assert_eq!(retried.attempts, 1, "its failures still count");
}

async fn a_user(db: &TestDb, name: &str, role: Role, scope: StoreScope) {
    db.store
        .add_user(
            &ozontrack_db::NewUser {
                name: name.into(),
                password_hash: format!("$argon2id${name}"),
                role,
                scope,
            },
            t0(),
        )
        .await
        .unwrap();
}

async fn a_session(db: &TestDb, user: &str, hash: u8) {
    let session = ozontrack_db::SessionRecord {
        user: user.into(),
        csrf: "csrf".into(),
        expires_at: t0() + Duration::hours(12),
    };
    db.store
        .create_session(&[hash; 32], &session, t0())
        .await
        .unwrap();
}

async fn users_have_a_role_and_stores_and_any_change_ends_their_sessions(db: &TestDb) {
    let st = &db.store;
    let store = a_store(db).await;
    a_user(db, "packer", Role::Viewer, StoreScope::Only(vec![store])).await;
    a_user(db, "nobody", Role::Viewer, StoreScope::Only(Vec::new())).await;
    let packer = st.user("packer").await.unwrap().unwrap();
    assert_eq!(packer.role, Role::Viewer);
    assert_eq!(packer.scope, StoreScope::Only(vec![store]));
    assert_eq!(
        st.user("nobody").await.unwrap().unwrap().scope,
        StoreScope::Only(Vec::new()),
        "an empty grant stays empty, never every store"
    );
    let again = st
        .add_user(
            &ozontrack_db::NewUser {
                name: "packer".into(),
                password_hash: "x".into(),
                role: Role::Admin,
                scope: StoreScope::All,
            },
            t0(),
        )
        .await;
    assert!(matches!(again, Err(DbError::DuplicateUser(_))), "{again:?}");

    a_session(db, "packer", 1).await;
    let changed = st
        .change_user(
            "packer",
            &ozontrack_db::UserChange {
                role: Some(Role::Operator),
                scope: Some(StoreScope::All),
                ..Default::default()
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.role, changed.scope),
        (Role::Operator, StoreScope::All)
    );
    assert!(
        st.session(&[1; 32], t0()).await.unwrap().is_none(),
        "a new role ends the old sessions"
    );

    a_session(db, "packer", 2).await;
    let disabled = st
        .change_user(
            "packer",
            &ozontrack_db::UserChange {
                disabled: Some(true),
                ..Default::default()
            },
            t0(),
        )
        .await
        .unwrap();
    assert!(disabled.disabled_at.is_some());
    assert!(st.session(&[2; 32], t0()).await.unwrap().is_none());
    assert!(
        st.dashboard_password("packer").await.unwrap().is_none(),
        "a disabled user cannot sign in"
    );
    let enabled = st
        .change_user(
            "packer",
            &ozontrack_db::UserChange {
                disabled: Some(false),
                ..Default::default()
            },
            t0(),
        )
        .await
        .unwrap();
    assert!(enabled.disabled_at.is_none());
    assert!(st.dashboard_password("packer").await.unwrap().is_some());
    let missing = st
        .change_user("ghost", &ozontrack_db::UserChange::default(), t0())
        .await;
    assert!(
        matches!(missing, Err(DbError::UserNotFound(_))),
        "{missing:?}"
    );
    let names: Vec<String> = st
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["nobody", "packer"]);
}

async fn a_login_link_signs_in_as_its_user_while_that_user_is_enabled(db: &TestDb) {
    let st = &db.store;
    a_user(db, "packer", Role::Viewer, StoreScope::All).await;
    let until = t0() + Duration::hours(24);
    st.create_login_link(&[5; 32], Some("packer"), t0(), until)
        .await
        .unwrap();
    st.create_login_link(&[6; 32], Some("packer"), t0(), until)
        .await
        .unwrap();
    assert_eq!(
        st.use_login_link(&[5; 32], t0()).await.unwrap().as_deref(),
        Some("packer")
    );
    st.change_user(
        "packer",
        &ozontrack_db::UserChange {
            disabled: Some(true),
            ..Default::default()
        },
        t0(),
    )
    .await
    .unwrap();
    assert!(
        st.use_login_link(&[6; 32], t0()).await.unwrap().is_none(),
        "a disabled user's link signs nobody in"
    );
}

async fn a_paused_store_and_its_legs_are_not_claimed_until_resumed(db: &TestDb) {
    let st = &db.store;
    let leg = a_leg(db).await;
    let store = st.stores().await.unwrap()[0].id;
    st.schedule(leg, Some(t0())).await.unwrap();
    assert!(st.set_store_paused(store, true, t0()).await.unwrap());
    assert!(
        !st.set_store_paused(store, true, t0()).await.unwrap(),
        "already paused"
    );
    assert!(st.store(store).await.unwrap().unwrap().paused_at.is_some());
    let later = t0() + Duration::hours(1);
    let owner = LeaseOwner::new("w");
    let stores: Vec<StoreId> = st.claim(&owner, 10, later, later).await.unwrap();
    let legs: Vec<LegId> = st.claim(&owner, 10, later, later).await.unwrap();
    assert!(stores.is_empty(), "a paused store is not synced");
    assert!(legs.is_empty(), "a paused store's legs are not tracked");

    assert!(st.set_store_paused(store, false, later).await.unwrap());
    let record = st.store(store).await.unwrap().unwrap();
    assert!(record.paused_at.is_none());
    assert_eq!(record.next_sync_at, Some(later), "due at once on resuming");
    let until = later + Duration::minutes(5);
    let stores: Vec<StoreId> = st.claim(&owner, 10, later, until).await.unwrap();
    let legs: Vec<LegId> = st.claim(&owner, 10, later, until).await.unwrap();
    assert_eq!((stores, legs), (vec![store], vec![leg]));
    let missing = st.set_store_paused(StoreId(9999), true, t0()).await;
    assert!(
        matches!(missing, Err(DbError::StoreNotFound(_))),
        "{missing:?}"
    );
}

async fn a_store_is_renamed_unless_the_name_is_taken(db: &TestDb) {
    let st = &db.store;
    let first = a_store(db).await;
    st.add_store(new_store("莫斯科店", "654321"), t0())
        .await
        .unwrap();
    let taken = st
        .rename_store(first, &StoreName::parse("莫斯科店").unwrap(), t0())
        .await;
    assert!(
        matches!(taken, Err(DbError::DuplicateStoreName(_))),
        "{taken:?}"
    );
    st.rename_store(first, &StoreName::parse("广州店").unwrap(), t0())
        .await
        .unwrap();
    assert_eq!(
        st.store(first).await.unwrap().unwrap().name.as_str(),
        "广州店"
    );
}

async fn removing_a_store_leaves_no_row_of_it_and_grants_cover_less_never_more(db: &TestDb) {
    use ozontrack_domain::notify::Routing;
    let st = &db.store;
    let gone = a_store(db).await;
    let kept = st
        .add_store(new_store("莫斯科店", "654321"), t0())
        .await
        .unwrap()
        .id;
    for store in [gone, kept] {
        let number = format!("0132112277-{:04}-1", store.0);
        let posting = a_posting(db, store, &number).await;
        let leg = st
            .upsert_leg(
                posting,
                &leg(
                    "yanwen",
                    &format!("UG{:09}YP", 100 + store.0),
                    LegRole::FirstMile,
                ),
                t0(),
            )
            .await
            .unwrap();
        st.schedule(leg, Some(t0())).await.unwrap();
    }
    let alone = a_destination(
        db,
        "only-gone",
        Routing {
            stores: vec![gone],
            ..Routing::default()
        },
    )
    .await;
    let shared = a_destination(
        db,
        "both",
        Routing {
            stores: vec![gone, kept],
            ..Routing::default()
        },
    )
    .await;
    a_user(db, "packer", Role::Viewer, StoreScope::Only(vec![gone])).await;
    let token = ozontrack_db::NewToken {
        name: "erp".into(),
        hash: vec![7; 32],
        prefix: "ozt_abcd".into(),
        role: Role::Viewer,
        scope: StoreScope::Only(vec![gone]),
    };
    st.create_token(&token, t0()).await.unwrap();

    let removed = st.remove_store(gone).await.unwrap();
    assert_eq!((removed.postings, removed.destinations), (1, 1));
    assert!(st.store(gone).await.unwrap().is_none());
    for table in [
        "postings WHERE store_id",
        "alerts WHERE store_id",
        "penalty_points WHERE store_id",
        "sync_scans WHERE store_id",
        "ozon_pushes WHERE store_id",
        "outbox WHERE store_id",
        "api_token_stores WHERE store_id",
        "dashboard_user_stores WHERE store_id",
    ] {
        let n = db
            .raw_count(&format!("SELECT COUNT(*) FROM {table} = {}", gone.0))
            .await;
        assert_eq!(n, 0, "{table}");
    }
    assert_eq!(
        db.raw_count("SELECT COUNT(*) FROM legs").await,
        1,
        "only the other store's leg"
    );
    assert!(st.destination(alone.id).await.unwrap().is_none());
    let shared = st.destination(shared.id).await.unwrap().unwrap();
    assert_eq!(shared.destination.routing.stores, [kept]);
    assert_eq!(
        st.user("packer").await.unwrap().unwrap().scope,
        StoreScope::Only(Vec::new()),
        "the user now sees nothing, not everything"
    );
    assert_eq!(
        st.token_by_hash(&[7; 32]).await.unwrap().unwrap().scope,
        StoreScope::Only(Vec::new())
    );
    let owner = LeaseOwner::new("w");
    let later = t0() + Duration::hours(1);
    let legs: Vec<LegId> = st.claim(&owner, 10, later, later).await.unwrap();
    assert_eq!(legs.len(), 1);
    let again = st.remove_store(gone).await;
    assert!(matches!(again, Err(DbError::StoreNotFound(_))), "{again:?}");
}

async fn the_audit_trail_reads_newest_first_within_the_stores_asked(db: &TestDb) {
    use ozontrack_db::{AuditEntry, AuditFilter};
    use ozontrack_domain::AuditAction;
    let st = &db.store;
    let store = a_store(db).await;
    let entry = |action, store: Option<StoreId>| AuditEntry {
        at: t0(),
        actor: "cli:root".into(),
        action,
        store: store.map(|s| (s, "深圳小店".to_owned())),
        posting: None,
        subject: Some("packer".into()),
        detail: Some(serde_json::json!({"role": "viewer"})),
    };
    st.record_audit(&entry(AuditAction::UserAdded, None))
        .await
        .unwrap();
    st.record_audit(&entry(AuditAction::StorePaused, Some(store)))
        .await
        .unwrap();
    let all = st
        .audit_entries(&AuditFilter {
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let actions: Vec<AuditAction> = all.iter().map(|r| r.entry.action).collect();
    assert_eq!(actions, [AuditAction::StorePaused, AuditAction::UserAdded]);
    assert_eq!(all[1].entry, entry(AuditAction::UserAdded, None));
    let mine = st
        .audit_entries(&AuditFilter {
            stores: Some(vec![store]),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 1, "entries of no store are not a store's");
    let none = st
        .audit_entries(&AuditFilter {
            stores: Some(Vec::new()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let older = st
        .audit_entries(&AuditFilter {
            before: Some(all[0].id),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
}

/// Wake-ups across processes: a NOTIFY from another pool wakes a listener of its kind within a
/// second, and only of its kind; SQLite has none (its workers poll).
mod wakeups {
    use std::sync::Arc;
    use std::time::Duration;

    use ozontrack_db::Wake;
    use ozontrack_db::prelude::*;
    use tokio::sync::Notify;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_has_no_listener_and_a_wake_is_a_no_op() {
        let db = crate::support::sqlite().await;
        assert!(
            db.store
                .listen(vec![(Wake::Pushes, Arc::default())])
                .is_none()
        );
        db.store.wake(Wake::Pushes).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_notify_from_another_process_wakes_an_idle_listener_within_a_second() {
        let Some(db) = crate::support::postgres().await else {
            return;
        };
        let pushes = Arc::new(Notify::new());
        let legs = Arc::new(Notify::new());
        let _listening = db
            .store
            .listen(vec![
                (Wake::Pushes, Arc::clone(&pushes)),
                (Wake::Legs, Arc::clone(&legs)),
            ])
            .unwrap();
        // Once listening, it wakes everyone (what was announced before is looked at).
        tokio::time::timeout(Duration::from_secs(5), pushes.notified())
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), legs.notified())
            .await
            .unwrap();
        let other = db.second_connection().await;
        other.wake(Wake::Pushes).await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), pushes.notified())
            .await
            .expect("woken within a second");
        assert!(
            tokio::time::timeout(Duration::from_millis(300), legs.notified())
                .await
                .is_err(),
            "a push woke the legs' worker"
        );
    }
}

async fn a_delivery_keeps_how_it_was_handed_over_and_to_whom(db: &TestDb) {
    let leg = a_leg(db).await;
    let delivered = event(90, MainStatus::Delivered, SubStatus::Delivered, "2.13").with_handover(
        Some(ozontrack_domain::Handover::ESignature),
        Some("Иванова Анна Сергеевна".into()),
    );
    db.store
        .append_events(leg, std::slice::from_ref(&delivered), t0())
        .await
        .unwrap();
    let stored = db.store.events(leg).await.unwrap();
    assert_eq!(stored[0].event.handover, delivered.handover);
    assert_eq!(stored[0].event.recipient, delivered.recipient);
}

fn attachment(posting: PostingId, name: &str, content: &[u8]) -> ozontrack_db::NewAttachment {
    ozontrack_db::NewAttachment {
        posting,
        file_name: name.into(),
        media_type: "video/mp4".into(),
        sha256: format!("sha256:{}", content.len()),
        taken_at: Some(t0() - Duration::days(3)),
        added_at: t0(),
        added_by: "alice".into(),
        content: content.to_vec(),
    }
}

async fn an_attachment_is_kept_whole_once_and_goes_with_its_posting(db: &TestDb) {
    let store = a_store(db).await;
    let posting = a_posting(db, store, "0132112277-0101-1").await;
    let video: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let (first, added) = db
        .store
        .add_attachment(&attachment(posting, "packing.mp4", &video))
        .await
        .unwrap();
    assert!(added);
    assert_eq!(first.size, 300_000);
    assert_eq!(first.taken_at, Some(t0() - Duration::days(3)));
    // The same content again (under another name) is the stored one.
    let (again, added) = db
        .store
        .add_attachment(&attachment(posting, "copy.mp4", &video))
        .await
        .unwrap();
    assert!(!added);
    assert_eq!(again, first);
    db.store
        .add_attachment(&attachment(posting, "receipt.jpg", b"jpeg"))
        .await
        .unwrap();
    let listed = db.store.attachments(posting).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|a| a.file_name.as_str()).collect();
    assert_eq!(names, ["packing.mp4", "receipt.jpg"]);
    assert_eq!(
        db.store.attachment_content(first.id).await.unwrap(),
        Some(video)
    );
    let missing = db
        .store
        .add_attachment(&attachment(PostingId(999_999), "x.mp4", b"x"))
        .await;
    assert!(
        matches!(missing, Err(DbError::PostingNotFound(999_999))),
        "{missing:?}"
    );
    db.store.remove_store(store).await.unwrap();
    assert_eq!(db.store.attachment_content(first.id).await.unwrap(), None);
}

async fn a_disputed_posting_needs_a_pack_until_one_is_kept_and_again_when_it_changes(db: &TestDb) {
    let store = a_store(db).await;
    let calm = a_posting(db, store, "0132112277-0101-1").await;
    let mut disputed = full_posting(store, "0132112277-0102-1");
    disputed.status = OzonStatus::ClientArbitration;
    let disputed_id = db.store.upsert_posting(&disputed, t0()).await.unwrap();
    assert_eq!(
        db.store.disputes_without_pack(10).await.unwrap(),
        [disputed_id]
    );
    let pack = |at: DateTime<Utc>| ozontrack_db::PackRecord {
        posting: disputed_id,
        built_at: at,
        file_name: "evidence.zip".into(),
        sha256: "sha256:00".into(),
        content: b"PK".to_vec(),
    };
    db.store
        .keep_pack(&pack(t0() + Duration::hours(1)))
        .await
        .unwrap();
    assert!(db.store.disputes_without_pack(10).await.unwrap().is_empty());
    assert_eq!(
        db.store.kept_pack(disputed_id).await.unwrap(),
        Some(pack(t0() + Duration::hours(1)))
    );
    assert_eq!(db.store.kept_pack(calm).await.unwrap(), None);
    // A new event on one of its legs makes the kept pack old.
    let leg = a_leg_of(
        db,
        disputed_id,
        "russian_post",
        "RA123456785RU",
        LegRole::LastMile,
    )
    .await;
    db.store
        .append_events(
            leg,
            &[event(2, MainStatus::Delivered, SubStatus::Delivered, "2.1")],
            t0() + Duration::hours(2),
        )
        .await
        .unwrap();
    assert_eq!(
        db.store.disputes_without_pack(10).await.unwrap(),
        [disputed_id]
    );
    db.store
        .keep_pack(&pack(t0() + Duration::hours(3)))
        .await
        .unwrap();
    assert!(db.store.disputes_without_pack(10).await.unwrap().is_empty());
    // So does a file the seller adds.
    let mut file = attachment(disputed_id, "packing.mp4", b"video");
    file.added_at = t0() + Duration::hours(4);
    db.store.add_attachment(&file).await.unwrap();
    assert_eq!(
        db.store.disputes_without_pack(10).await.unwrap(),
        [disputed_id]
    );
}
