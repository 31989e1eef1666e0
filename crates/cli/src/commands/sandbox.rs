//! `ozontrack sandbox`, `ozontrack sandbox truth` and `ozontrack demo`: the simulated world,
//! its fake APIs and its ground truth, from the terminal.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use ozontrack_db::NewStore;
use ozontrack_db::prelude::*;
use ozontrack_domain::{ClientId, Clock, ScaledClock, StoreName, StoreSettings, SystemClock};
use ozontrack_sandbox::fakes::ozon_push::OzonPushConfig;
use ozontrack_sandbox::faults::FaultPlan;
use ozontrack_sandbox::{Mode, Sandbox, ServeConfig, World, WorldConfig};
use secrecy::SecretString;
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{DemoArgs, Shape, TruthArgs, WorldArgs};
use crate::errors::InputError;
use crate::output;
use crate::settings::Settings;

/// Simulated time starts this far into the world, so there is history to look at.
fn origin(world: &World) -> DateTime<Utc> {
    world.config.start + Duration::days(14)
}

fn world(seed: u64, shape: Shape) -> World {
    World::generate(WorldConfig {
        seed,
        parcels: shape.parcels,
        order_span: Duration::days(i64::from(shape.days.max(1))),
        // Two carrier outages a month, as in the default month.
        outages: (shape.days / 15).max(2),
        endless: shape.endless,
        ..WorldConfig::default()
    })
}

fn faults(args: &WorldArgs) -> anyhow::Result<FaultPlan> {
    let Some(path) = &args.faults else {
        return Ok(FaultPlan::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::new(format!("cannot read faults file {}: {e}", path.display())))?;
    let plan: FaultPlan = toml::from_str(&text)
        .map_err(|e| InputError::new(format!("faults file {}: {e}", path.display())))?;
    Ok(plan)
}

/// Starts the world's fakes on a clock `speed` times faster than real time.
async fn start(args: &WorldArgs, demo: bool) -> anyhow::Result<Sandbox> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(InputError::new(format!(
            "--speed must be a positive number, not {}",
            args.speed
        ))
        .into());
    }
    let faults = faults(args)?;
    let world = world(args.seed, args.shape(demo));
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(origin(&world), args.speed));
    let mut serve = ServeConfig {
        listen: args.listen,
        faults,
        ..ServeConfig::default()
    };
    serve.ozon_push = args.ozon_push_url.clone().map(|url| OzonPushConfig {
        url,
        retry_base: std::time::Duration::from_secs(5),
    });
    serve
        .seventeen_track
        .webhook_url
        .clone_from(&args.seventeen_track_webhook);
    Sandbox::start(world, clock, &serve)
        .await
        .with_context(|| format!("cannot start the sandbox on {}", args.listen))
}

/// The base URLs and credentials a client needs, as one JSON object.
fn endpoints(sandbox: &Sandbox) -> serde_json::Value {
    let world = &sandbox.state.world;
    let store = &world.stores[0];
    let credentials = &world.credentials;
    json!({
        "ozon": {"base_url": sandbox.urls.ozon, "client_id": store.client_id, "api_key": store.api_key},
        "17track": {"base_url": sandbox.urls.seventeen_track, "token": credentials.seventeen_track_token},
        "russianpost": {"base_url": sandbox.urls.russian_post, "login": credentials.russian_post_login, "password": credentials.russian_post_password},
        "cdek": {"base_url": sandbox.urls.cdek, "client_id": credentials.cdek_client_id, "client_secret": credentials.cdek_client_secret},
        "channels": {"base_url": sandbox.urls.channels, "smtp_starttls": sandbox.urls.smtp_starttls, "smtp_tls": sandbox.urls.smtp_tls},
        "clock": {"url": sandbox.urls.clock, "now": sandbox.state.now(), "speed": sandbox.state.clock.speed()},
        "world": {"seed": world.config.seed, "parcels": world.config.parcels, "order_days": world.config.order_span.num_days(), "endless": world.config.endless},
    })
}

fn print_endpoints(out: &mut impl Write, sandbox: &Sandbox) -> std::io::Result<()> {
    let world = &sandbox.state.world;
    let (store, c, urls) = (&world.stores[0], &world.credentials, &sandbox.urls);
    let mut table = output::table(&["API", "base URL", "credentials"]);
    let rows = [
        (
            "Ozon Seller API",
            urls.ozon.clone(),
            format!("Client-Id {} / Api-Key {}", store.client_id, store.api_key),
        ),
        (
            "17TRACK v2.2",
            format!("{}/track/v2.2", urls.seventeen_track),
            format!("17token {}", c.seventeen_track_token),
        ),
        (
            "Russian Post (SOAP)",
            format!("{}/rtm34", urls.russian_post),
            format!(
                "login {} / password {}",
                c.russian_post_login, c.russian_post_password
            ),
        ),
        (
            "CDEK v2",
            format!("{}/v2", urls.cdek),
            format!(
                "client {} / secret {}",
                c.cdek_client_id, c.cdek_client_secret
            ),
        ),
        (
            "Notification services",
            urls.channels.clone(),
            "WeCom, DingTalk, Feishu, Telegram, webhooks; /inbox".to_owned(),
        ),
        (
            "Simulated clock",
            urls.clock.clone(),
            "--follow-clock URL runs a command (or serve) on it".to_owned(),
        ),
        (
            "SMTP (STARTTLS / TLS)",
            format!("{} / {}", urls.smtp_starttls, urls.smtp_tls),
            "trusts certs/ca.pem of the sandbox".to_owned(),
        ),
    ];
    for (api, url, credentials) in rows {
        table.add_row(vec![api.to_owned(), url, credentials]);
    }
    output::print_table(out, &table)
}

fn describe(sandbox: &Sandbox) -> String {
    let config = &sandbox.state.world.config;
    format!(
        "seed {}, {} parcels {} {} days, simulated time now {}",
        config.seed,
        config.parcels,
        if config.endless { "every" } else { "over" },
        config.order_span.num_days(),
        sandbox
            .state
            .now()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

/// `ozontrack sandbox`: serves until interrupted.
pub(crate) async fn serve(
    args: &WorldArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let sandbox = start(args, false).await?;
    if json {
        writeln!(out, "{}", endpoints(&sandbox))?;
    } else {
        writeln!(out, "sandbox running: {}", describe(&sandbox))?;
        print_endpoints(out, &sandbox)?;
        writeln!(out, "Ctrl-C stops it.")?;
    }
    out.flush()?;
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sandbox.shutdown().await;
    Ok(())
}

/// The key of the fake WeCom robot the demo leaves for the user to add.
const DEMO_WECOM_KEY: &str = "demo-wecom-robot";

/// The demo's notifications: a DingTalk robot (signed) on the sandbox's fake, and the demo
/// store's buyers through the fake Ozon chat; returns the robot destination's name.
async fn demo_destinations(
    db: &ozontrack_db::SqlDatabase,
    sandbox: &Sandbox,
    store: ozontrack_domain::StoreId,
) -> anyhow::Result<String> {
    use ozontrack_domain::notify::{ChannelKind, Routing};
    use ozontrack_engine::notify::{AddDestination, add_destination};
    let (token, secret) = ("demo-robot", "SECdemo0ozontrack0sandbox0robot0secret");
    sandbox.channels.add_dingtalk(token, Some(secret));
    // A second robot, left for the user to add in the dashboard (its URL is printed).
    sandbox.channels.add_wecom(DEMO_WECOM_KEY);
    let name = "demo-dingtalk".to_owned();
    let now = ozontrack_domain::SystemClock.now();
    add_destination(
        db,
        AddDestination {
            name: name.clone(),
            kind: ChannelKind::Dingtalk,
            setup: ozontrack_notify::Setup {
                url: Some(format!(
                    "{}/robot/send?access_token={token}",
                    sandbox.urls.channels
                )),
                signing_secret: Some(secret.to_owned()),
                ..ozontrack_notify::Setup::default()
            },
            store: None,
            language: None,
            time_zone: None,
            routing: Routing::default(),
        },
        &crate::app::console(),
        now,
    )
    .await?;
    add_destination(
        db,
        AddDestination {
            name: "demo-buyers".into(),
            kind: ChannelKind::OzonChat,
            setup: ozontrack_notify::Setup::default(),
            store: Some(store),
            language: None,
            time_zone: None,
            routing: Routing::default(),
        },
        &crate::app::console(),
        now,
    )
    .await?;
    Ok(name)
}

/// The demo's own database, made fresh on every run: simulated time restarts with each run,
/// and a demo must never mix with a real `ozontrack.db`.
pub(crate) const DEMO_DATABASE: &str = "ozontrack-demo.db";

/// `ozontrack demo`: the sandbox, plus a demo store pointing at the fake Ozon, on a fresh
/// embedded database.
pub(crate) async fn demo(
    settings: &Settings,
    demo: &DemoArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{DEMO_DATABASE}{suffix}");
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e)
                    .with_context(|| format!("cannot remove the previous demo database {path}"));
            }
            _ => {}
        }
    }
    let demo_settings = Settings::for_demo(settings, &format!("sqlite://{DEMO_DATABASE}"));
    let opened = app::open(&demo_settings, KeyMode::CreateIfMissing).await?;
    let args = &demo.world;
    // The server is bound first (the fake 17TRACK is told to push to its webhook), on a fixed
    // address by default so that a bookmark or a second terminal finds it.
    let listener = tokio::net::TcpListener::bind(demo.dashboard)
        .await
        .map_err(|e| {
            InputError::new(format!(
                "cannot listen on {} for the dashboard ({e}): is another demo running? Stop it, \
                 or choose another address with --dashboard 127.0.0.1:8081",
                demo.dashboard
            ))
        })?;
    let server_url = format!("http://{}", listener.local_addr()?);
    let mut world_args = args.clone();
    world_args
        .seventeen_track_webhook
        .get_or_insert_with(|| format!("{server_url}/webhooks/17track"));
    let sandbox = start(&world_args, true).await?;
    let world = &sandbox.state.world;
    let seller = &world.stores[0];
    let name =
        StoreName::parse(&format!("demo-{}", world.config.seed)).context("demo store name")?;
    let client_id = ClientId::parse(&seller.client_id.to_string()).context("demo Client-Id")?;
    // The store lives in simulated time, like the workers that will serve it.
    let now = sandbox.state.now();
    let record = match opened.store.store_by_name(&name).await? {
        Some(existing) => {
            // The fakes listen on new ports each run: point the store at this run's Ozon.
            let key = SecretString::from(seller.api_key.clone());
            opened
                .store
                .set_store_connection(existing.id, client_id, key, &sandbox.urls.ozon, now)
                .await?;
            existing
        }
        None => {
            let new = NewStore {
                name,
                client_id,
                api_key: SecretString::from(seller.api_key.clone()),
                ozon_base_url: sandbox.urls.ozon.clone(),
                settings: StoreSettings::default(),
            };
            opened.store.add_store(new, now).await?
        }
    };
    // The workers run on the world's clock: a simulated day of syncing passes in seconds.
    let clock = Arc::clone(&sandbox.state.clock);
    let sync_owner = app::owner(clock.as_ref());
    let tracking = crate::commands::workers::Setup {
        feeds: Arc::new(sandbox_feeds(
            &sandbox,
            ozontrack_carriers::seventeen_track::RATE_LIMIT,
        )?),
        settings: demo_settings.track_settings(),
        webhook_token: Some(SecretString::from(
            world.credentials.seventeen_track_token.clone(),
        )),
        rules: crate::commands::rules::rules_book(&demo_settings, &opened.store.stores().await?)?,
        risk: demo_settings.risk_settings(),
        web: ozontrack_server::web::WebSettings {
            demo_inbox: Some(format!("{}/inbox", sandbox.urls.channels)),
            ..demo_settings.web_settings()
        },
        dispatch: ozontrack_engine::notify::DispatchSettings {
            public_url: Some(server_url.clone()),
            ..demo_settings.dispatch_settings()
        },
        metrics: demo_settings.metrics_exposure(),
        // The demo's database is thrown away: no backups of it.
        backup: None,
        max_attachment: demo_settings.evidence.max_attachment_bytes(),
    };
    let robot = demo_destinations(&opened.store, &sandbox, record.id).await?;
    let workers = crate::commands::workers::start(
        opened.store.clone(),
        clock,
        demo_settings.sync_settings(),
        tracking,
        sync_owner,
        listener,
        crate::commands::workers::Periods::all(std::time::Duration::from_secs(1)),
        ozontrack_server::api::NodeRole::All,
    )
    .await?;
    // The fake Ozon pushes to the demo's own receiver, as Ozon would to a seller's server.
    let push_url = format!(
        "{}/ozon/push/{}",
        workers.base_url,
        opened.store.push_secret(record.id).await?
    );
    let pusher = ozontrack_sandbox::fakes::ozon_push::OzonPush::new(
        Arc::clone(&sandbox.state),
        OzonPushConfig {
            url: push_url.clone(),
            retry_base: std::time::Duration::from_secs(5),
        },
    );
    let pushing = tokio::spawn(async move {
        let client = ozontrack_sandbox::http_client();
        loop {
            pusher.push_once(&client).await;
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
    // A token for trying the API; the demo database is made afresh every run.
    let (api_token, token) = ozontrack_engine::access::mint_token(
        "demo",
        ozontrack_domain::Role::Admin,
        ozontrack_domain::StoreScope::All,
    );
    opened.store.create_token(&token, now).await?;
    let dashboard = format!(
        "{}/login/{}",
        workers.base_url,
        ozontrack_engine::access::mint_login_link(&opened.store, None, SystemClock.now()).await?
    );
    if json {
        let mut value = endpoints(&sandbox);
        value["dashboard"] = json!(dashboard);
        value["api_token"] = json!(api_token);
        value["database"] = json!(opened.url.redacted());
        value["store"] = json!(record.name.as_str());
        value["server"] = json!(workers.base_url);
        value["ozon_push_url"] = json!(push_url);
        value["inbox"] = json!(format!("{}/inbox", sandbox.urls.channels));
        value["wecom_robot_url"] = json!(format!(
            "{}/cgi-bin/webhook/send?key={DEMO_WECOM_KEY}",
            sandbox.urls.channels
        ));
        writeln!(out, "{value}")?;
    } else {
        // What a person came for, first: the dashboard and a link that signs them in.
        writeln!(out)?;
        writeln!(out, "  Dashboard: {}", workers.base_url)?;
        writeln!(
            out,
            "  Sign in:   {dashboard}\n             (one-time, valid {} h; another: ozontrack --database-url sqlite://{DEMO_DATABASE} login-link --base-url {})",
            ozontrack_engine::access::LOGIN_LINK_HOURS,
            workers.base_url
        )?;
        writeln!(out)?;
        writeln!(out, "ozontrack demo: {}", describe(&sandbox))?;
        writeln!(out, "database:   {}", opened.url)?;
        writeln!(
            out,
            "demo store: {} (Client-Id {}), pointing at the fake Ozon",
            record.name, seller.client_id
        )?;
        print_endpoints(out, &sandbox)?;
        writeln!(
            out,
            "workers:    syncing the store every {} simulated seconds; Ozon pushes to {push_url}",
            demo_settings.sync.interval_secs
        )?;
        writeln!(
            out,
            "            tracking parcels at the fake carriers; 17TRACK pushes to {}/webhooks/17track",
            workers.base_url
        )?;
        writeln!(
            out,
            "notify:     alerts go to the fake DingTalk robot \"{robot}\" and delay notices to buyers' Ozon chats;"
        )?;
        writeln!(
            out,
            "            see what the robot received at {}/inbox; add your own in the dashboard's",
            sandbox.urls.channels
        )?;
        writeln!(
            out,
            "            Notifications page, e.g. the fake WeCom robot {}/cgi-bin/webhook/send?key={DEMO_WECOM_KEY}",
            sandbox.urls.channels
        )?;
        writeln!(
            out,
            "API:        {}/api/v1/postings with Authorization: Bearer {api_token}",
            workers.base_url
        )?;
        writeln!(
            out,
            "Try: ozontrack --database-url sqlite://{DEMO_DATABASE} stores list    (Ctrl-C stops the demo)"
        )?;
        writeln!(
            out,
            "     curl -H 'Authorization: Bearer {api_token}' '{}/api/v1/postings?risk=warning&limit=5'",
            workers.base_url
        )?;
        writeln!(
            out,
            "     ozontrack --database-url sqlite://{DEMO_DATABASE} status POSTING-OR-TRACKING-NUMBER --lang en"
        )?;
        writeln!(
            out,
            "     ozontrack --database-url sqlite://{DEMO_DATABASE} --follow-clock {} rules explain POSTING-NUMBER --lang en",
            sandbox.urls.clock
        )?;
        writeln!(
            out,
            "     (--follow-clock: a command judges parcels as of the world's time, as the dashboard does)"
        )?;
    }
    out.flush()?;
    let failed = workers.failed();
    let outcome = tokio::select! {
        signal = crate::commands::serve::stop_signal() => {
            signal.context("waiting for Ctrl-C or SIGTERM")
        }
        () = failed => Err(anyhow::anyhow!(
            "a worker kept panicking and was given up (see the log); stopping"
        )),
    };
    pushing.abort();
    workers.stop().await;
    sandbox.shutdown().await;
    opened.store.close().await;
    outcome
}

/// Carrier clients pointed at the sandbox's fakes with the world's credentials; 17TRACK at
/// `seventeen_track_rate` requests per second (its real limit, or more when simulated days
/// pass in seconds and the fake allows it).
pub(crate) fn sandbox_feeds(
    sandbox: &Sandbox,
    seventeen_track_rate: usize,
) -> anyhow::Result<ozontrack_engine::Feeds> {
    use ozontrack_carriers::cdek::CdekClient;
    use ozontrack_carriers::russian_post::RussianPostClient;
    use ozontrack_carriers::seventeen_track::SeventeenTrackClient;
    let http = ozontrack_http::client(std::time::Duration::from_secs(30))
        .context("cannot build the HTTP client for carriers")?;
    let c = &sandbox.state.world.credentials;
    let urls = &sandbox.urls;
    Ok(ozontrack_engine::Feeds {
        seventeen_track: Some(SeventeenTrackClient::with_rate_limit(
            http.clone(),
            &urls.seventeen_track,
            SecretString::from(c.seventeen_track_token.clone()),
            seventeen_track_rate,
        )),
        russian_post: Some(RussianPostClient::new(
            http.clone(),
            &urls.russian_post,
            &c.russian_post_login,
            SecretString::from(c.russian_post_password.clone()),
        )),
        cdek: Some(CdekClient::new(
            http,
            &urls.cdek,
            &c.cdek_client_id,
            SecretString::from(c.cdek_client_secret.clone()),
        )),
    })
}

/// `ozontrack sandbox truth`. An endless world is generated one epoch at a time, so the truth
/// of a moment years in is printed in the memory of one epoch.
pub(crate) fn truth(args: &TruthArgs, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let shape = Shape {
        parcels: args.parcels,
        days: args.days,
        endless: args.endless,
    };
    let world = world(args.seed, shape);
    let at = match &args.at {
        Some(text) => text.parse::<DateTime<Utc>>().map_err(|e| {
            InputError::new(format!("--at: {text:?} is not an RFC 3339 time ({e})"))
        })?,
        None => origin(&world),
    };
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let modes = [
        Mode::Fbo,
        Mode::FbsCrossborder,
        Mode::Rfbs,
        Mode::DirectMail,
    ];
    // Per mode: ordered, delivered, with an active failure.
    let mut counts = [[0usize; 3]; 4];
    for epoch in 0..=world.epoch_at(at) {
        let generated;
        let parcels = if epoch == 0 {
            &world.parcels
        } else {
            generated = world.parcels_of_epoch(epoch);
            &generated
        };
        for p in parcels.iter().filter(|p| p.ordered_at <= at) {
            let state = p.truth_at(at);
            if json {
                // One JSON object per line: large worlds stream instead of building one array.
                let leg = |l: &ozontrack_sandbox::SimLeg| json!({"carrier": l.carrier.code(), "tracking_number": l.tracking_number});
                let line = json!({
                    "posting_number": p.posting_number,
                    "mode": p.mode.as_str(),
                    "ordered_at": time(p.ordered_at),
                    "first_mile": p.first_mile.as_ref().map(leg),
                    "last_mile": p.last_mile.as_ref().map(leg),
                    "status": state.status.main.as_str(),
                    "sub_status": state.status.sub.code(),
                    "last_event_at": state.last_event_at.map(time),
                    "delivered_at": p.delivered_at.filter(|d| *d <= at).map(time),
                    "failures": p.failures.iter().filter(|f| f.started_at <= at).map(|f| json!({
                        "kind": f.kind.as_str(),
                        "started_at": time(f.started_at),
                        "ended_at": f.ended_at.filter(|e| *e <= at).map(time),
                        "active": state.active_failures.contains(f),
                    })).collect::<Vec<_>>(),
                });
                writeln!(out, "{line}")?;
            } else {
                let row = &mut counts[modes.iter().position(|m| *m == p.mode).unwrap_or(0)];
                row[0] += 1;
                row[1] += usize::from(state.delivered);
                row[2] += usize::from(!state.active_failures.is_empty());
            }
        }
    }
    if json {
        return Ok(());
    }
    let ordered: usize = counts.iter().map(|c| c[0]).sum();
    writeln!(
        out,
        "ground truth of seed {} ({ordered} parcels ordered by then) at {}",
        args.seed,
        time(at)
    )?;
    let mut table = output::table(&[
        "mode",
        "ordered",
        "delivered",
        "in transit",
        "with an active failure",
    ]);
    for (mode, [ordered, delivered, failing]) in modes.iter().zip(counts) {
        table.add_row(vec![
            mode.as_str().to_owned(),
            ordered.to_string(),
            delivered.to_string(),
            (ordered - delivered).to_string(),
            failing.to_string(),
        ]);
    }
    output::print_table(out, &table)?;
    writeln!(out, "--json prints every parcel, one JSON object per line")?;
    Ok(())
}
