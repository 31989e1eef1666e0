//! The dispatcher against the sandbox's fakes of every channel: each fake checks the signature
//! and limits as its service does, so a message that arrives was sent the way the real service
//! accepts it. Each error class leads to its action; bursts become digests without breaking a
//! limit; quiet hours hold and then digest; the buyer hears through the Ozon chat, and a store
//! without the plan stops being tried; feed outages and the daily summary are told once.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{FeedOutcome, LeaseOwner, NewMessage, OutboxFilter, SqlDatabase};
use ozontrack_domain::notify::{
    AlertNotice, ChannelKind, DestinationState, DisableCause, MessageState, Notice, QuietHours,
    Routing, Topic,
};
use ozontrack_domain::{
    Clock, DestinationId, ManualClock, PostingId, PostingNumber, StoreId, SystemClock,
};
use ozontrack_engine::RulesBook;
use ozontrack_engine::notify::{self as use_case, AddDestination, DispatchSettings, Dispatcher};
use ozontrack_notify::Setup;
use ozontrack_sandbox::fakes::channels::{Scripted, Service};
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use serde_json::json;

struct Fixture {
    db: support::Db,
    sandbox: Sandbox,
    _dir: tempfile::TempDir,
    ca_file: String,
}

async fn fixture() -> Fixture {
    let world = World::generate(WorldConfig {
        parcels: 20,
        ..WorldConfig::default()
    });
    let clock = support::TestClock::new(world.config.start);
    let serve = ServeConfig {
        push_every: None,
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world, clock, &serve).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ozontrack_sandbox::fakes::smtp::CA_PEM).unwrap();
    Fixture {
        db: support::sqlite().await,
        sandbox,
        ca_file: ca_file.display().to_string(),
        _dir: dir,
    }
}

impl Fixture {
    fn store(&self) -> &SqlDatabase {
        &self.db.store
    }

    fn dispatcher(&self, wall: Arc<dyn Clock>) -> Dispatcher<SqlDatabase> {
        Dispatcher::new(
            self.store().clone(),
            Arc::new(SystemClock),
            wall,
            RulesBook::default(),
            DispatchSettings {
                timeout: std::time::Duration::from_secs(3),
                ..DispatchSettings::default()
            },
            LeaseOwner::new("test"),
        )
        .unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.urls.channels)
    }

    async fn add(&self, name: &str, kind: ChannelKind, setup: Setup) -> DestinationId {
        self.add_routed(name, kind, setup, Routing::default()).await
    }

    async fn add_routed(
        &self,
        name: &str,
        kind: ChannelKind,
        setup: Setup,
        routing: Routing,
    ) -> DestinationId {
        use_case::add_destination(
            self.store(),
            AddDestination {
                name: name.into(),
                kind,
                setup,
                store: None,
                language: None,
                time_zone: None,
                routing,
            },
            &ozontrack_engine::Actor::console("test").unwrap(),
            SystemClock.now(),
        )
        .await
        .unwrap()
        .id
    }

    /// Enqueues notices, due at `at` (the dispatcher's wall clock).
    async fn send(
        &self,
        destination: DestinationId,
        notices: impl IntoIterator<Item = Notice>,
        at: DateTime<Utc>,
    ) {
        let messages: Vec<NewMessage> = notices
            .into_iter()
            .map(|n| NewMessage::new(destination, n))
            .collect();
        self.store().enqueue(&messages, at).await.unwrap();
    }

    async fn messages(&self, destination: DestinationId) -> Vec<ozontrack_db::OutboxMessage> {
        self.store()
            .outbox(&OutboxFilter {
                destination: Some(destination),
                limit: 1000,
                ..OutboxFilter::default()
            })
            .await
            .unwrap()
    }

    fn received(&self, service: Service) -> Vec<ozontrack_sandbox::fakes::channels::Received> {
        self.sandbox
            .channels
            .received()
            .into_iter()
            .filter(|r| r.service == service)
            .collect()
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn stale(alert: i64) -> Notice {
    Notice::AlertOpened(AlertNotice {
        alert,
        store: StoreId(1),
        posting: PostingId(alert),
        posting_number: PostingNumber::parse(&format!("01321122{alert:02}-0101-1")).unwrap(),
        leg: Some("RR123456785CN".into()),
        ..ozontrack_engine::notify::example_alert(at("2026-11-30T10:00:00Z"))
    })
}

fn robot(url: String) -> Setup {
    Setup {
        url: Some(url),
        ..Setup::default()
    }
}

#[tokio::test]
async fn every_channel_delivers_through_a_fake_that_checks_it_like_the_service() {
    let f = fixture().await;
    let fakes = &f.sandbox.channels;
    fakes.add_webhook("erp", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    fakes.add_wecom("wk1");
    fakes.add_dingtalk("dt1", Some("SECdingtalk0secret"));
    fakes.add_feishu("fs1", Some("feishu-secret"));
    fakes.add_telegram_chat("123:abc", "-1001", true);
    f.sandbox.mailboxes.add("bot@shop.cn", "auth-code");
    let ids = [
        f.add(
            "erp",
            ChannelKind::Webhook,
            Setup {
                signing_secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
                ..robot(f.url("/hooks/erp"))
            },
        )
        .await,
        f.add(
            "wecom",
            ChannelKind::Wecom,
            robot(f.url("/cgi-bin/webhook/send?key=wk1")),
        )
        .await,
        f.add(
            "dingtalk",
            ChannelKind::Dingtalk,
            Setup {
                signing_secret: Some("SECdingtalk0secret".into()),
                ..robot(f.url("/robot/send?access_token=dt1"))
            },
        )
        .await,
        f.add(
            "feishu",
            ChannelKind::Feishu,
            Setup {
                signing_secret: Some("feishu-secret".into()),
                ..robot(f.url("/open-apis/bot/v2/hook/fs1"))
            },
        )
        .await,
        f.add(
            "telegram",
            ChannelKind::Telegram,
            Setup {
                token: Some("123:abc".into()),
                chat_id: Some("-1001".into()),
                ..robot(f.sandbox.urls.channels.clone())
            },
        )
        .await,
        f.add(
            "mail-starttls",
            ChannelKind::Email,
            Setup {
                token: Some("auth-code".into()),
                to: Some("ops@shop.cn".into()),
                ca_file: Some(f.ca_file.clone()),
                ..robot(format!(
                    "smtp://bot%40shop.cn@{}",
                    f.sandbox.urls.smtp_starttls
                ))
            },
        )
        .await,
        f.add(
            "mail-tls",
            ChannelKind::Email,
            Setup {
                token: Some("auth-code".into()),
                to: Some("boss@shop.cn".into()),
                ca_file: Some(f.ca_file.clone()),
                ..robot(format!("smtps://bot%40shop.cn@{}", f.sandbox.urls.smtp_tls))
            },
        )
        .await,
    ];
    for id in ids {
        f.send(id, [stale(1)], SystemClock.now()).await;
    }
    let report = f
        .dispatcher(Arc::new(SystemClock))
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.sent, 7, "{report:?}");
    for id in ids {
        let m = &f.messages(id).await[0];
        assert_eq!(m.state, MessageState::Sent, "{m:?}");
    }
    let webhook = &f.received(Service::Webhook)[0];
    assert_eq!(
        webhook.id.as_deref(),
        Some("d1_0132112201-0101-1_stale_opened_a1"),
        "the outbox key is the webhook-id"
    );
    let body: serde_json::Value = serde_json::from_str(&webhook.text).unwrap();
    assert_eq!(body["type"], "alert.opened");
    assert_eq!(body["data"]["rule"], "stale");
    let wecom = &f.received(Service::Wecom)[0];
    assert!(
        wecom.markup && wecom.text.starts_with("**【警告】"),
        "{}",
        wecom.text
    );
    assert!(f.received(Service::Dingtalk)[0].text.starts_with("#### "));
    assert!(f.received(Service::Feishu)[0].markup);
    let telegram = &f.received(Service::Telegram)[0];
    assert!(telegram.markup && telegram.text.starts_with("【警告】"));
    let mails = f.received(Service::Email);
    assert_eq!(mails.len(), 2);
    for mail in &mails {
        assert!(
            mail.id
                .as_deref()
                .is_some_and(|id| id.contains("_stale_opened_a1@shop.cn")),
            "a stable Message-ID: {:?}",
            mail.id
        );
    }
    assert_eq!(f.sandbox.channels.total_violations(), 0);
}

#[tokio::test]
async fn a_burst_to_a_throttled_robot_goes_as_digests_and_never_breaks_its_limit() {
    let f = fixture().await;
    f.sandbox.channels.add_wecom("busy");
    let id = f
        .add(
            "busy",
            ChannelKind::Wecom,
            robot(f.url("/cgi-bin/webhook/send?key=busy")),
        )
        .await;
    let dispatcher = f.dispatcher(Arc::new(SystemClock));
    // 15 one by one: each goes alone.
    for n in 1..=15 {
        f.send(id, [stale(n)], SystemClock.now()).await;
        dispatcher.run_once().await.unwrap();
    }
    // A burst of 60 where 5 slots are left this minute: one digest.
    f.send(id, (100..160).map(stale), SystemClock.now()).await;
    let report = dispatcher.run_once().await.unwrap();
    assert_eq!((report.digests, report.coalesced), (1, 60), "{report:?}");
    let received = f.received(Service::Wecom);
    assert_eq!(received.len(), 16);
    let digest = &received[15].text;
    assert!(digest.starts_with("**60 条通知**"), "{digest}");
    assert_eq!(digest.lines().count(), 61);
    // Another burst with 4 slots left: another digest, still within 20 a minute.
    f.send(id, (200..230).map(stale), SystemClock.now()).await;
    dispatcher.run_once().await.unwrap();
    assert_eq!(f.received(Service::Wecom).len(), 17);
    assert_eq!(f.sandbox.channels.total_violations(), 0);
    let states: Vec<MessageState> = f.messages(id).await.iter().map(|m| m.state).collect();
    assert!(
        states
            .iter()
            .all(|s| matches!(s, MessageState::Sent | MessageState::Coalesced)),
        "{states:?}"
    );
}

#[tokio::test]
async fn dingtalks_lockout_holds_every_message_for_ten_minutes() {
    let f = fixture().await;
    f.sandbox.channels.add_dingtalk("locked", None);
    let id = f
        .add(
            "locked",
            ChannelKind::Dingtalk,
            robot(f.url("/robot/send?access_token=locked")),
        )
        .await;
    f.sandbox.channels.script(
        "locked",
        [Scripted::Answer(
            200,
            json!({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
        )],
    );
    let wall = Arc::new(ManualClock::new(SystemClock.now()));
    f.send(id, [stale(1), stale(2)], wall.now()).await;
    let dispatcher = f.dispatcher(wall.clone());
    dispatcher.run_once().await.unwrap();
    let record = f.store().destination(id).await.unwrap().unwrap();
    let blocked = record.blocked_until.unwrap() - wall.now();
    assert!(blocked >= Duration::minutes(9), "{blocked}");
    assert_eq!(f.received(Service::Dingtalk).len(), 0);
    // Nothing goes before the lockout ends, then both go.
    wall.advance(Duration::minutes(5));
    dispatcher.run_once().await.unwrap();
    assert_eq!(f.received(Service::Dingtalk).len(), 0);
    wall.advance(Duration::minutes(6));
    dispatcher.run_once().await.unwrap();
    assert_eq!(f.received(Service::Dingtalk).len(), 2);
}

#[tokio::test]
async fn each_error_class_leads_to_its_action() {
    let f = fixture().await;
    let fakes = &f.sandbox.channels;
    fakes.add_wecom("plain");
    fakes.add_telegram_chat("9:tg", "-1002", true);
    fakes.add_telegram_chat("9:tg", "-1003", false);
    fakes.add_dingtalk("big", None);
    fakes.add_webhook("gone", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    fakes.add_wecom("witness");
    let wall = Arc::new(ManualClock::new(SystemClock.now()));
    let dispatcher = f.dispatcher(wall.clone());
    let telegram = |chat: &str| Setup {
        token: Some("9:tg".into()),
        chat_id: Some(chat.into()),
        ..robot(f.sandbox.urls.channels.clone())
    };
    let witness = f
        .add(
            "witness",
            ChannelKind::Wecom,
            robot(f.url("/cgi-bin/webhook/send?key=witness")),
        )
        .await;

    // Markup refused: sent again once as plain text.
    let plain = f
        .add(
            "plain",
            ChannelKind::Wecom,
            robot(f.url("/cgi-bin/webhook/send?key=plain")),
        )
        .await;
    fakes.script(
        "plain",
        [Scripted::Answer(
            200,
            json!({"errcode": 40008, "errmsg": "invalid message type"}),
        )],
    );
    f.send(plain, [stale(1)], wall.now()).await;
    dispatcher.run_once().await.unwrap();
    let m = &f.messages(plain).await[0];
    assert_eq!(m.state, MessageState::Sent);
    assert!(m.plain);
    let got = f.received(Service::Wecom);
    assert!(!got.last().unwrap().markup);

    // Telegram says wait: the message and its destination wait as long as it says.
    let slow = f
        .add("slow", ChannelKind::Telegram, telegram("-1003"))
        .await;
    fakes.script(
        "-1003",
        [Scripted::Answer(
            429,
            json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 30", "parameters": {"retry_after": 30}}),
        )],
    );
    f.send(slow, [stale(2)], wall.now()).await;
    dispatcher.run_once().await.unwrap();
    let m = &f.messages(slow).await[0];
    assert_eq!(m.state, MessageState::Pending);
    assert_eq!(m.next_attempt_at - wall.now(), Duration::seconds(30));

    // The group became a supergroup: the destination follows it and the message arrives.
    let moved = f
        .add("moved", ChannelKind::Telegram, telegram("-1002"))
        .await;
    fakes.migrate_telegram_chat("9:tg", "-1002", "-1009");
    f.send(moved, [stale(3)], wall.now()).await;
    dispatcher.run_once().await.unwrap();
    // The resend waits for the destination's next second, as Telegram asks.
    wall.advance(Duration::seconds(3));
    dispatcher.run_once().await.unwrap();
    assert_eq!(f.messages(moved).await[0].state, MessageState::Sent);
    let address = f.store().destination(moved).await.unwrap().unwrap().address;
    assert!(address.contains("-1009"), "{address}");
    assert_eq!(
        f.received(Service::Telegram).last().unwrap().target,
        "-1009"
    );

    // Refused for good: given up, visible, and sent by hand once the cause is gone.
    let big = f
        .add(
            "big",
            ChannelKind::Dingtalk,
            robot(f.url("/robot/send?access_token=big")),
        )
        .await;
    fakes.script(
        "big",
        [Scripted::Answer(
            200,
            json!({"errcode": 460101, "errmsg": "description: body 大小不合法"}),
        )],
    );
    f.send(big, [stale(4)], wall.now()).await;
    dispatcher.run_once().await.unwrap();
    let dead = f.messages(big).await[0].clone();
    assert_eq!(dead.state, MessageState::Dead);
    assert_eq!(dead.last_code.as_deref(), Some("errcode 460101"));
    use_case::retry(
        f.store(),
        dead.id,
        &ozontrack_engine::Actor::console("test").unwrap(),
        wall.now(),
    )
    .await
    .unwrap();
    dispatcher.run_once().await.unwrap();
    assert_eq!(f.messages(big).await[0].state, MessageState::Sent);

    // The receiver is gone: the destination is disabled and the seller told elsewhere.
    let gone = f
        .add(
            "gone",
            ChannelKind::Webhook,
            Setup {
                signing_secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
                ..robot(f.url("/hooks/gone"))
            },
        )
        .await;
    fakes.retire_webhook("gone");
    f.send(gone, [stale(5)], wall.now()).await;
    dispatcher.run_once().await.unwrap();
    let record = f.store().destination(gone).await.unwrap().unwrap();
    assert_eq!(record.destination.state, DestinationState::Disabled);
    assert_eq!(record.destination.disabled, Some(DisableCause::Gone));
    assert_eq!(f.messages(gone).await[0].state, MessageState::Pending);
    dispatcher.run_once().await.unwrap();
    let told = f.messages(witness).await;
    assert!(
        told.iter().any(
            |m| m.notice.topic() == Topic::DestinationDisabled && m.state == MessageState::Sent
        ),
        "{told:?}"
    );
    let last = f.received(Service::Wecom).last().unwrap().text.clone();
    assert!(last.contains("gone") && last.contains("HTTP 410"), "{last}");

    // A blocked bot disables its destination.
    let blocked = f
        .add("blocked", ChannelKind::Telegram, telegram("-1009"))
        .await;
    fakes.block_telegram_chat("9:tg", "-1009");
    f.send(blocked, [stale(6)], wall.now()).await;
    dispatcher.run_once().await.unwrap();
    let record = f.store().destination(blocked).await.unwrap().unwrap();
    assert_eq!(record.destination.disabled, Some(DisableCause::Blocked));
    assert_eq!(f.sandbox.channels.total_violations(), 0);
}

#[tokio::test]
async fn a_refused_mail_login_disables_the_destination_and_a_bad_signature_too() {
    let f = fixture().await;
    f.sandbox.mailboxes.add("bot@shop.cn", "right");
    f.sandbox.channels.add_feishu("fs", Some("the-secret"));
    let mail = f
        .add(
            "mail",
            ChannelKind::Email,
            Setup {
                token: Some("wrong".into()),
                to: Some("ops@shop.cn".into()),
                ca_file: Some(f.ca_file.clone()),
                ..robot(format!("smtps://bot%40shop.cn@{}", f.sandbox.urls.smtp_tls))
            },
        )
        .await;
    let feishu = f
        .add(
            "feishu",
            ChannelKind::Feishu,
            Setup {
                signing_secret: Some("not-the-secret".into()),
                ..robot(f.url("/open-apis/bot/v2/hook/fs"))
            },
        )
        .await;
    f.send(mail, [stale(1)], SystemClock.now()).await;
    f.send(feishu, [stale(1)], SystemClock.now()).await;
    f.dispatcher(Arc::new(SystemClock))
        .run_once()
        .await
        .unwrap();
    for (id, cause) in [
        (mail, DisableCause::LoginRefused),
        (feishu, DisableCause::BadSignature),
    ] {
        let d = f
            .store()
            .destination(id)
            .await
            .unwrap()
            .unwrap()
            .destination;
        assert_eq!(d.disabled, Some(cause));
    }
}

#[tokio::test]
async fn quiet_hours_hold_messages_and_send_them_as_one_digest_in_the_morning() {
    let f = fixture().await;
    f.sandbox.channels.add_wecom("night");
    let id = f
        .add_routed(
            "night",
            ChannelKind::Wecom,
            robot(f.url("/cgi-bin/webhook/send?key=night")),
            Routing {
                quiet: Some(QuietHours {
                    from: chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
                    until: chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
                }),
                ..Routing::default()
            },
        )
        .await;
    // 23:30 in Shanghai.
    let night = chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 11, 30, 23, 30, 0)
        .unwrap()
        .with_timezone(&Utc);
    let wall = Arc::new(ManualClock::new(night));
    let dispatcher = f.dispatcher(wall.clone());
    f.send(id, [stale(1), stale(2), stale(3)], wall.now()).await;
    let report = dispatcher.run_once().await.unwrap();
    assert_eq!(report.held, 3);
    assert!(f.received(Service::Wecom).is_empty());
    wall.set(night + Duration::hours(9));
    dispatcher.run_once().await.unwrap();
    let received = f.received(Service::Wecom);
    assert_eq!(received.len(), 1);
    assert!(
        received[0].text.starts_with("**静默时段内的 3 条通知**"),
        "{}",
        received[0].text
    );
}

#[tokio::test]
async fn feed_outages_and_their_recovery_are_told_once() {
    let f = fixture().await;
    f.sandbox.channels.add_wecom("ops");
    let id = f
        .add(
            "ops",
            ChannelKind::Wecom,
            robot(f.url("/cgi-bin/webhook/send?key=ops")),
        )
        .await;
    let dispatcher = f.dispatcher(Arc::new(SystemClock));
    let t0 = at("2026-11-30T10:00:00Z");
    let failed = FeedOutcome {
        feed: "cdek",
        error: Some("HTTP 503"),
        backoff_until: None,
        calls: 1,
    };
    for i in 0..2 {
        f.store()
            .record_feed(&failed, t0 + Duration::minutes(i))
            .await
            .unwrap();
    }
    dispatcher.run_once().await.unwrap();
    assert!(
        f.received(Service::Wecom).is_empty(),
        "two failures are not an outage"
    );
    for i in 2..5 {
        f.store()
            .record_feed(&failed, t0 + Duration::minutes(i))
            .await
            .unwrap();
        dispatcher.run_once().await.unwrap();
    }
    let received = f.received(Service::Wecom);
    assert_eq!(received.len(), 1, "told once");
    assert!(received[0].text.contains("CDEK"), "{}", received[0].text);
    let ok = FeedOutcome {
        error: None,
        ..failed
    };
    f.store()
        .record_feed(&ok, t0 + Duration::hours(1))
        .await
        .unwrap();
    dispatcher.run_once().await.unwrap();
    dispatcher.run_once().await.unwrap();
    let topics: Vec<Topic> = f
        .messages(id)
        .await
        .iter()
        .map(|m| m.notice.topic())
        .collect();
    assert_eq!(topics, [Topic::FeedRecovered, Topic::FeedDown]);
}

#[tokio::test]
async fn the_daily_summary_goes_once_a_day_at_its_local_time() {
    let f = fixture().await;
    f.sandbox.channels.add_wecom("daily");
    let id = f
        .add_routed(
            "daily",
            ChannelKind::Wecom,
            robot(f.url("/cgi-bin/webhook/send?key=daily")),
            Routing {
                daily_at: Some(chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap()),
                ..Routing::default()
            },
        )
        .await;
    let morning = chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 12, 1, 8, 59, 0)
        .unwrap()
        .with_timezone(&Utc);
    let wall = Arc::new(ManualClock::new(morning));
    let dispatcher = f.dispatcher(wall.clone());
    dispatcher.run_once().await.unwrap();
    assert!(f.messages(id).await.is_empty());
    wall.advance(Duration::minutes(2));
    dispatcher.run_once().await.unwrap();
    dispatcher.run_once().await.unwrap();
    // A second dispatcher (another process) does not send it again.
    f.dispatcher(wall.clone()).run_once().await.unwrap();
    let received = f.received(Service::Wecom);
    assert_eq!(received.len(), 1);
    assert!(
        received[0].text.contains("2026-12-01"),
        "{}",
        received[0].text
    );
}

#[tokio::test]
async fn a_buyer_hears_through_the_ozon_chat_and_a_store_without_the_plan_stops_being_tried() {
    let w = support::world(
        300,
        10,
        ozontrack_sandbox::fakes::ozon::OzonConfig::default(),
        ozontrack_sandbox::faults::FaultPlan::default(),
    )
    .await;
    let db = support::sqlite().await;
    let record = support::add_store(&db.store, &w).await;
    let syncer = support::syncer(&db.store, &w, support::settings(1000), "sync");
    syncer
        .sync_store(&record, true, Arc::default())
        .await
        .unwrap();
    // A posting Ozon lets the seller open a chat for, and one it does not.
    let mut open = None;
    let mut closed = None;
    for parcel in w.sandbox.state.window().parcels() {
        let number = PostingNumber::parse(&parcel.posting_number).unwrap();
        if let Some(p) = db.store.posting(record.id, &number).await.unwrap() {
            if p.posting.chat_allowed {
                open.get_or_insert(p);
            } else {
                closed.get_or_insert(p);
            }
        }
    }
    let (open, closed) = (open.unwrap(), closed.unwrap());
    let id = use_case::add_destination(
        &db.store,
        AddDestination {
            name: "buyers".into(),
            kind: ChannelKind::OzonChat,
            setup: Setup::default(),
            store: Some(record.id),
            language: None,
            time_zone: None,
            routing: Routing::default(),
        },
        &ozontrack_engine::Actor::console("test").unwrap(),
        SystemClock.now(),
    )
    .await
    .unwrap()
    .id;
    let notice = |p: &ozontrack_db::PostingRecord, alert| {
        let Notice::AlertOpened(a) = stale(alert) else {
            unreachable!()
        };
        Notice::AlertOpened(AlertNotice {
            store: record.id,
            posting: p.id,
            posting_number: p.posting.number.clone(),
            ..a
        })
    };
    let messages = [
        NewMessage::new(id, notice(&open, 1)),
        NewMessage::new(id, notice(&closed, 2)),
    ];
    db.store
        .enqueue(&messages, SystemClock.now())
        .await
        .unwrap();
    let dispatcher = Dispatcher::new(
        db.store.clone(),
        w.clock.clone(),
        Arc::new(SystemClock),
        RulesBook::default(),
        DispatchSettings {
            public_url: Some("https://track.example.com".into()),
            ..DispatchSettings::default()
        },
        LeaseOwner::new("test"),
    )
    .unwrap()
    .with_ozon(Arc::new(syncer));
    dispatcher.run_once().await.unwrap();
    let sent = w.sandbox.state.buyer_messages.lock().unwrap().clone();
    assert_eq!(
        sent.len(),
        1,
        "only the posting with can_create_chat: {sent:?}"
    );
    assert_eq!(sent[0].posting_number, open.posting.number.as_str());
    assert!(sent[0].text.starts_with("Заказ"), "{}", sent[0].text);
    assert!(
        sent[0].text.contains("https://track.example.com/t/"),
        "{}",
        sent[0].text
    );
    assert!(!sent[0].text.contains("RR123456785CN"), "no seller data");
    let states: Vec<MessageState> = db
        .store
        .outbox(&OutboxFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|m| m.state)
        .collect();
    assert_eq!(states, [MessageState::Skipped, MessageState::Sent]);

    // The store's plan lapses: the first refusal disables the buyer chat.
    let store_index = w
        .sandbox
        .state
        .window()
        .parcels()
        .iter()
        .find(|p| p.posting_number == open.posting.number.as_str())
        .unwrap()
        .store;
    w.sandbox
        .state
        .chat_refused
        .lock()
        .unwrap()
        .insert(store_index);
    db.store
        .enqueue(&[NewMessage::new(id, notice(&open, 3))], SystemClock.now())
        .await
        .unwrap();
    dispatcher.run_once().await.unwrap();
    let d = db.store.destination(id).await.unwrap().unwrap().destination;
    assert_eq!(d.disabled, Some(DisableCause::Plan));
    assert_eq!(w.sandbox.state.buyer_messages.lock().unwrap().len(), 1);
}
