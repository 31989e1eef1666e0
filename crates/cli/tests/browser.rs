//! The dashboard and the buyer page in a real browser: Debian's headless Chromium driven by
//! thirtyfour through chromedriver, against the real `ozontrack demo` (the sandbox world, its
//! workers and the server). A screenshot of every page goes to `target/screenshots/`.
//!
//! Without chromedriver the test says so and passes, except under `CI`, where `.ci/run`
//! installs it and its absence is a failure.

// In tests a panic is the failure report, so helpers unwrap freely.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::ozontrack;
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

mod support;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `check` passes, polling; panics with `what` after `secs`.
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The element, once the page has it (htmx swaps pages in after the click returns).
async fn el(driver: &WebDriver, by: By) -> WebElement {
    driver.query(by).first().await.unwrap()
}

async fn html_lang(driver: &WebDriver) -> String {
    driver
        .find(By::Tag("html"))
        .await
        .unwrap()
        .attr("lang")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Clicks the language link `tag` and waits for the page in that language.
async fn switch_language(driver: &WebDriver, tag: &str) {
    el(driver, By::Css(format!("a[data-lang='{tag}']")))
        .await
        .click()
        .await
        .unwrap();
    eventually(20, &format!("the page in {tag}"), move || async move {
        (html_lang(driver).await == tag).then_some(())
    })
    .await;
}

async fn wait_for_map(driver: &WebDriver) -> String {
    let map = el(driver, By::Id("map")).await;
    eventually(30, "the route drawn on the map", || {
        let map = map.clone();
        async move { map.attr("data-drawn").await.ok().flatten() }
    })
    .await
}

/// Signs in on the login page in front of the driver with the tests' password (taking a
/// screenshot of the filled form when asked) and checks who is signed in.
async fn sign_in(driver: &WebDriver, user: &str, shot: Option<&std::path::Path>) {
    el(driver, By::Name("user"))
        .await
        .send_keys(user)
        .await
        .unwrap();
    driver
        .find(By::Name("password"))
        .await
        .unwrap()
        .send_keys("a long enough password")
        .await
        .unwrap();
    if let Some(shot) = shot {
        driver.screenshot(shot).await.unwrap();
    }
    driver
        .find(By::Css("form.login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let who = el(driver, By::Css(".user")).await.text().await.unwrap();
    assert_eq!(who, user);
}

/// The demo's database, opened beside the running demo (as a second process would).
async fn demo_db(dir: &std::path::Path) -> ozontrack_db::SqlDatabase {
    let cipher = ozontrack_db::Cipher::load_key_file(&dir.join("ozontrack.key")).unwrap();
    ozontrack_db::SqlDatabase::connect(
        &ozontrack_db::DatabaseUrl::Sqlite(dir.join("ozontrack-demo.db")),
        cipher,
        &Default::default(),
    )
    .await
    .unwrap()
}

/// What a hostile carrier puts into an event's place.
const HOSTILE_PLACE: &str =
    "<b>Sorting</b><img src=\"http://127.0.0.1:9/beacon\"><a href=\"//evil.example\">here</a>";

/// Adds an event with [`HOSTILE_PLACE`] and coordinates to a carrier leg of `posting` (the
/// API's answer), straight into the demo's database as a carrier answer would put it there.
async fn hostile_place(dir: &std::path::Path, posting: &serde_json::Value) {
    use ozontrack_db::prelude::*;
    use ozontrack_domain::{
        CarrierCode, EventSource, GeoPoint, Leg, LegRole, Location, MainStatus, NormalizedStatus,
        PostingNumber, SubStatus, TrackingEvent, TrackingNumber,
    };
    let db = demo_db(dir).await;
    let store = db.stores().await.unwrap()[0].id;
    let number = PostingNumber::parse(posting["posting_number"].as_str().unwrap()).unwrap();
    let id = db.posting(store, &number).await.unwrap().unwrap().id;
    let leg = posting["legs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["carrier"] != "ozon")
        .unwrap_or(&posting["legs"][0]);
    let at: chrono::DateTime<chrono::Utc> = posting["timeline"][0]["occurred_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let leg_id = db
        .upsert_leg(
            id,
            &Leg {
                carrier: CarrierCode::parse(leg["carrier"].as_str().unwrap()).unwrap(),
                tracking_number: TrackingNumber::parse(leg["tracking_number"].as_str().unwrap())
                    .unwrap(),
                role: LegRole::parse(leg["role"].as_str().unwrap()).unwrap(),
            },
            at,
        )
        .await
        .unwrap();
    let place = Location {
        text: Some(HOSTILE_PLACE.to_owned()),
        city: Some(HOSTILE_PLACE.to_owned()),
        country: Some("RU".to_owned()),
        point: Some(GeoPoint::new(55.0, 60.0).unwrap()),
    };
    db.append_events(
        leg_id,
        &[TrackingEvent::new(
            EventSource::SeventeenTrack,
            at + chrono::Duration::seconds(1),
            NormalizedStatus::new(MainStatus::InTransit, SubStatus::Sorting),
            "InTransit_Other",
            "sorted",
            place,
        )],
        at,
    )
    .await
    .unwrap();
    db.close().await;
}

/// A second store with one posting, straight into the demo's database: what the packer, a
/// viewer of the demo's store only, must never see. Its posting number.
async fn another_stores_posting(dir: &std::path::Path) -> String {
    use ozontrack_db::prelude::*;
    use ozontrack_domain::{OzonStatus, Posting, PostingNumber, Scheme, StoreName};
    let db = demo_db(dir).await;
    let now = ozontrack_domain::Clock::now(&ozontrack_domain::SystemClock);
    let store = db
        .add_offline_store(
            StoreName::parse("另一家店").unwrap(),
            ozontrack_domain::StoreSettings::default(),
            now,
        )
        .await
        .unwrap();
    let number = "99999999-0001-1";
    db.upsert_posting(
        &Posting::new(
            store.id,
            PostingNumber::parse(number).unwrap(),
            Scheme::Fbs,
            OzonStatus::Delivering,
        ),
        now,
    )
    .await
    .unwrap();
    db.close().await;
    number.to_owned()
}

/// Words of ours a page may show in Latin letters in any language: the product, the modes,
/// the API, the aggregator and carriers' own names, the time offset, the kinds of systems a
/// token is for (ERP, BI).
const LATIN_NAMES: &[&str] = &[
    "ozontrack",
    // A user's name, quoted where a form refuses it as taken.
    "packer",
    "CSV",
    "XLSX",
    "PDF",
    "JSON",
    "SHA",
    "FBS",
    "FBO",
    "realFBS",
    "API",
    "TRACK",
    "UTC",
    "Ozon",
    "CDEK",
    "Boxberry",
    "Yanwen",
    "PX",
    "Cainiao",
    "CJ",
    "Korea",
    "Express",
    "China",
    "SunYou",
    "WeCom",
    "DingTalk",
    "Feishu",
    "Telegram",
    "Webhook",
    "HTTP",
    "SMTP",
    "Premium",
    "Plus",
    "Pro",
    "IP",
    "Bot",
    "Token",
    "key",
    "access_token",
    "ERP",
    "BI",
];

/// The page's text without what others wrote (carrier texts and places, posting and tracking
/// numbers, store, user and city names: marked `data-raw` or in `<code>`) and without text
/// quoted from a carrier inside our sentences.
const OUR_TEXT: &str = r#"
    const clone = document.body.cloneNode(true);
    clone.querySelectorAll('[data-raw], code, script, style, canvas, .leaflet-container')
        .forEach(e => e.remove());
    const walker = document.createTreeWalker(clone, NodeFilter.SHOW_TEXT);
    const parts = [];
    while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
    return parts.join(' ')
        .replace(/“[^”]*”/g, ' ')
        .replace(/«[^»]*»/g, ' ');
"#;

/// Asserts that the page, shown in a language other than English, has no English word or raw
/// code of ours: every Latin word left is one of [`LATIN_NAMES`].
/// Types each value into the field of that name in `form`.
async fn fill_in(form: &WebElement, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        form.find(By::Name(*name))
            .await
            .unwrap()
            .send_keys(*value)
            .await
            .unwrap();
    }
}

/// Clicks the element `css` finds in `within`.
async fn click(within: &WebElement, css: &str) {
    within
        .find(By::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn assert_all_ours_translated(driver: &WebDriver, page: &str) {
    let text = driver.execute(OUR_TEXT, Vec::new()).await.unwrap();
    let text: String = text.convert().unwrap();
    let foreign: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
        .filter(|w| w.len() >= 2 && !LATIN_NAMES.contains(w))
        .collect();
    assert!(
        foreign.is_empty(),
        "{page} in {} shows words that are not translated: {foreign:?}",
        html_lang(driver).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_signs_in_filters_opens_a_posting_acknowledges_an_alert_switches_language_and_a_buyer_tracks_it()
 {
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {CHROMEDRIVER} or {CHROMIUM} is missing (.ci/run installs them)"
        );
        eprintln!(
            "skipped: no {CHROMEDRIVER} / {CHROMIUM} (apt-get install chromium chromium-driver)"
        );
        return;
    }
    let shots = screenshots();
    let dir = tempfile::tempdir().unwrap();

    // The demo: the sandbox world, its workers and the server, as a seller would run it.
    let demo = support::demo(dir.path(), 400);
    let started = &demo.started;
    let base = started["server"].as_str().unwrap().to_owned();
    let link = started["dashboard"].as_str().unwrap().to_owned();
    let token = started["api_token"].as_str().unwrap().to_owned();
    let wecom_robot = started["wecom_robot_url"].as_str().unwrap().to_owned();

    // Password users, as `ozontrack users add` makes them: the owner, an admin of every
    // store, and a packer who may only look at the demo's store.
    let store = started["store"].as_str().unwrap().to_owned();
    for args in [
        &["seller", "--role", "admin", "--all-stores"][..],
        &["packer", "--role", "viewer", "--store", &store][..],
    ] {
        let mut command = vec![
            "--database-url",
            "sqlite://ozontrack-demo.db",
            "users",
            "add",
        ];
        command.extend_from_slice(args);
        let mut add = ozontrack(dir.path(), &command)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        add.stdin
            .take()
            .unwrap()
            .write_all(b"a long enough password\n")
            .unwrap();
        assert!(add.wait().unwrap().success(), "users add {args:?} failed");
    }
    let elsewhere = another_stores_posting(dir.path()).await;

    // Simulated days pass in seconds: wait for an alert on a parcel with a journey to draw,
    // of a rule that stays open while the world runs on (a stall may resolve any second).
    let http = ozontrack_http::client(Duration::from_secs(30)).unwrap();
    let get = |url: String| {
        let http = http.clone();
        let token = token.clone();
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .ok()?
                .json::<serde_json::Value>()
                .await
                .ok()
        }
    };
    let stalled: String = eventually(180, "an alert on a parcel with a journey", || async {
        let alerts = get(format!(
            "{base}/api/v1/alerts?open=true&severity=warning&limit=200"
        ))
        .await?;
        for a in alerts["items"].as_array()? {
            if a["state"] != "open"
                || !matches!(a["rule"].as_str(), Some("non_whitelisted" | "high_value"))
            {
                continue;
            }
            let number = a["posting_number"].as_str()?;
            let posting = get(format!("{base}/api/v1/postings/{number}")).await?;
            let points = posting["timeline"]
                .as_array()?
                .iter()
                .filter(|e| e["point"].is_array())
                .count();
            if points >= 2 {
                return Some(number.to_owned());
            }
        }
        None
    })
    .await;

    // A carrier writes markup into an event's place on that parcel's route.
    hostile_place(
        dir.path(),
        &get(format!("{base}/api/v1/postings/{stalled}"))
            .await
            .unwrap(),
    )
    .await;

    let port = free_port();
    let _driver_process = Killed(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM).unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        "--lang=zh-CN",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
        .unwrap();
    // Downloads land where the test reads them.
    let downloads = tempfile::tempdir().unwrap();
    caps.add_experimental_option(
        "prefs",
        serde_json::json!({
            "download.default_directory": downloads.path().display().to_string(),
            "download.prompt_for_download": false,
            "download.directory_upgrade": true,
        }),
    )
    .unwrap();
    let driver = eventually(20, "chromedriver to start", || {
        let caps = caps.clone();
        async move {
            WebDriver::new(format!("http://127.0.0.1:{port}"), caps)
                .await
                .ok()
        }
    })
    .await;

    // Headless Chromium saves downloads only where it is told to, through DevTools.
    driver
        .cdp()
        .send_raw(
            "Browser.setDownloadBehavior",
            serde_json::json!({
                "behavior": "allow",
                "downloadPath": downloads.path().display().to_string(),
            }),
        )
        .await
        .unwrap();

    // The one-time link signs in and lands on "today", in Chinese.
    driver.goto(&link).await.unwrap();
    el(&driver, By::Id("at-risk")).await;
    assert_eq!(html_lang(&driver).await, "zh-CN");
    let nav = el(&driver, By::Css("nav")).await.text().await.unwrap();
    assert!(nav.contains("货件"), "{nav}");
    assert_all_ours_translated(&driver, "today").await;
    driver.screenshot(&shots.join("today.png")).await.unwrap();
    // A link is spent once used.
    driver.goto(&link).await.unwrap();
    let body = el(&driver, By::Tag("body")).await.text().await.unwrap();
    assert!(body.contains("ozontrack login-link"), "{body}");

    // Log out, then in with the password.
    driver.goto(&format!("{base}/")).await.unwrap();
    driver
        .find(By::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    sign_in(&driver, "seller", Some(&shots.join("login.png"))).await;

    // Filter the postings to those at risk; the URL says so.
    driver
        .find(By::Css("nav a[href='/postings']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let risk = el(&driver, By::Id("risk")).await;
    SelectElement::new(&risk)
        .await
        .unwrap()
        .select_by_value("warning")
        .await
        .unwrap();
    el(&driver, By::Id("apply")).await.click().await.unwrap();
    eventually(20, "the filter in the URL", || {
        let driver = driver.clone();
        async move {
            let url = driver.current_url().await.ok()?;
            url.as_str().contains("risk=warning").then_some(())
        }
    })
    .await;
    let rows = driver
        .find_all(By::Css("#postings tbody tr"))
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in &rows {
        let risk = row.find(By::Css(".badge")).await.unwrap();
        assert!(!risk.text().await.unwrap().is_empty());
    }
    assert_all_ours_translated(&driver, "postings").await;
    driver
        .screenshot(&shots.join("postings.png"))
        .await
        .unwrap();
    // Narrow it to the stalled parcel by its number.
    let q = el(&driver, By::Id("q")).await;
    q.send_keys(&stalled).await.unwrap();
    el(&driver, By::Id("apply")).await.click().await.unwrap();
    eventually(20, "the search in the URL", || {
        let driver = driver.clone();
        let stalled = stalled.clone();
        async move {
            let url = driver.current_url().await.ok()?;
            (url.as_str().contains("risk=warning") && url.as_str().contains(&stalled)).then_some(())
        }
    })
    .await;
    let first = driver
        .query(By::Css(format!("#postings tr[data-posting='{stalled}'] a")))
        .first()
        .await
        .unwrap();
    // "Export this view": the filter's postings (this one, whose alert stays open) in a file
    // Excel opens in Chinese, and the same view as XLSX.
    el(&driver, By::Id("export")).await.click().await.unwrap();
    let downloaded = |extension: &'static str| {
        let dir = downloads.path().to_owned();
        async move {
            std::fs::read_dir(&dir).ok()?.find_map(|e| {
                let path = e.ok()?.path();
                let name = path.file_name()?.to_str()?.to_owned();
                (name.starts_with("postings-") && name.ends_with(extension)).then_some(path)
            })
        }
    };
    let file = eventually(60, "the exported CSV", || downloaded(".csv")).await;
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "货件号", "{headers:?}");
    let risk_column = headers.iter().position(|h| h == "风险").unwrap();
    let exported: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(exported.len(), 1, "the view's one posting: {exported:?}");
    assert_eq!(&exported[0][0], stalled.as_str());
    assert!(!exported[0][risk_column].is_empty(), "{:?}", exported[0]);
    el(&driver, By::Id("export-xlsx"))
        .await
        .click()
        .await
        .unwrap();
    let file = eventually(60, "the exported XLSX", || downloaded(".xlsx")).await;
    assert!(
        std::fs::read(&file).unwrap().starts_with(b"PK"),
        "an XLSX is a zip"
    );
    // The office's postings report, uploaded from the same page: checked first, then written.
    el(&driver, By::Css("#import summary"))
        .await
        .click()
        .await
        .unwrap();
    // chromedriver takes a file by its canonical path only.
    let report = std::fs::canonicalize(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../reports/tests/reports/fbs-office.csv"
    ))
    .unwrap();
    el(&driver, By::Css("#import-form input[type=file]"))
        .await
        .send_keys(report.display().to_string())
        .await
        .unwrap();
    el(&driver, By::Id("import-submit"))
        .await
        .click()
        .await
        .unwrap();
    let checked = el(&driver, By::Id("import-done"))
        .await
        .text()
        .await
        .unwrap();
    assert!(checked.contains('3'), "{checked}");
    driver
        .find(By::Css("#import-form input[name=dry_run]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    el(&driver, By::Id("import-submit"))
        .await
        .click()
        .await
        .unwrap();
    eventually(20, "the import written", || async {
        let posting = get(format!("{base}/api/v1/postings/0105861246-0049-2")).await?;
        (posting["posting_number"] == "0105861246-0049-2").then_some(())
    })
    .await;
    driver
        .screenshot(&shots.join("postings-import.png"))
        .await
        .unwrap();

    // Open a posting: header, timeline, the route on the map, an alert to acknowledge.
    first.click().await.unwrap();
    el(&driver, By::Id("timeline")).await;
    // Ozon's promise to the buyer, as the fake Ozon's posting list gives it, beside ours.
    let promised = el(&driver, By::Id("promised")).await.text().await.unwrap();
    assert!(promised.contains('-'), "a date: {promised}");
    let opened = driver.current_url().await.unwrap();
    let detail = get(format!("{base}/api/v1{}", opened.path()))
        .await
        .unwrap();
    assert!(
        detail["promised"]["from"].is_string() && detail["promised"]["to"].is_string(),
        "the API gives Ozon's promise too: {detail}"
    );
    let drawn: usize = wait_for_map(&driver).await.parse().unwrap();
    assert!(drawn >= 1, "no point of the route drawn");
    let paths = driver
        .find_all(By::Css("#map path.leaflet-interactive"))
        .await
        .unwrap();
    assert!(!paths.is_empty(), "no route markers on the map");
    // Every marker's tooltip shows the carrier's markup as text: no link, no image beacon.
    let mut seen = String::new();
    for i in 0..paths.len() {
        // A pointer over the marker, as Leaflet hears it.
        let shown = driver
            .execute(
                "var path = document.querySelectorAll('#map path.leaflet-interactive')[arguments[0]];\
                 path.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));\
                 var pane = document.querySelector('.leaflet-tooltip-pane');\
                 var shown = [pane.textContent, pane.querySelectorAll('img, a, b').length];\
                 path.dispatchEvent(new MouseEvent('mouseout', {bubbles: true}));\
                 return shown;",
                vec![serde_json::json!(i)],
            )
            .await
            .unwrap()
            .json()
            .clone();
        assert_eq!(shown[1], 0, "markup became elements: {shown}");
        seen.push_str(shown[0].as_str().unwrap_or_default());
    }
    assert!(
        seen.contains(HOSTILE_PLACE),
        "the hostile place was never shown: {seen}"
    );
    assert_all_ours_translated(&driver, "posting").await;
    driver.screenshot(&shots.join("posting.png")).await.unwrap();
    let form = el(&driver, By::Css("form.ack")).await;
    fill_in(&form, &[("note", "已联系承运商")]).await;
    click(&form, "button").await;
    let acked = driver
        .query(By::Css(".alert .acked"))
        .first()
        .await
        .unwrap();
    let acked = acked.text().await.unwrap();
    assert!(
        acked.contains("seller") && acked.contains("已联系承运商"),
        "{acked}"
    );
    driver
        .screenshot(&shots.join("posting-acknowledged.png"))
        .await
        .unwrap();
    let posting_url = driver.current_url().await.unwrap().to_string();

    // A disputed parcel: its page says a pack was built on its own; the seller adds the
    // packaging video and downloads the pack, whose manifest checks out with the video in it.
    let disputed: String = eventually(180, "a disputed posting with its pack", || async {
        let list = get(format!(
            "{base}/api/v1/postings?status=client_arbitration&limit=5"
        ))
        .await?;
        let number = list["items"].as_array()?.first()?["posting_number"]
            .as_str()?
            .to_owned();
        Some(number)
    })
    .await;
    driver
        .goto(&format!("{base}/postings/{disputed}"))
        .await
        .unwrap();
    el(&driver, By::Id("evidence")).await;
    eventually(60, "the pack built on its own", || async {
        driver.refresh().await.ok()?;
        driver.find(By::Id("evidence-kept")).await.ok().map(|_| ())
    })
    .await;
    let video_dir = tempfile::tempdir().unwrap();
    let video = video_dir.path().join("packing.mp4");
    std::fs::write(&video, b"\x00\x00\x00\x18ftypmp42 the packing, filmed").unwrap();
    el(&driver, By::Css("#attach-form input[type=file]"))
        .await
        .send_keys(std::fs::canonicalize(&video).unwrap().display().to_string())
        .await
        .unwrap();
    el(&driver, By::Id("attach-submit"))
        .await
        .click()
        .await
        .unwrap();
    let listed = el(&driver, By::Id("attachments"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("packing.mp4") && listed.contains("sha256:"),
        "{listed}"
    );
    assert_all_ours_translated(&driver, "posting-evidence").await;
    driver
        .screenshot(&shots.join("posting-evidence.png"))
        .await
        .unwrap();
    el(&driver, By::Id("evidence-download"))
        .await
        .click()
        .await
        .unwrap();
    let wanted = format!("evidence-{disputed}-");
    let pack = eventually(60, "the evidence pack", || {
        let dir = downloads.path().to_owned();
        let wanted = wanted.clone();
        async move {
            std::fs::read_dir(&dir).ok()?.find_map(|e| {
                let path = e.ok()?.path();
                let name = path.file_name()?.to_str()?.to_owned();
                (name.starts_with(&wanted) && name.ends_with(".zip")).then_some(path)
            })
        }
    })
    .await;
    let verified = ozontrack(dir.path(), &["--json", "evidence", "verify"])
        .arg(&pack)
        .output()
        .unwrap();
    assert!(verified.status.success(), "{verified:?}");
    let verified: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(verified["intact"], true);
    let files: Vec<&str> = verified["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"evidence.pdf"), "{files:?}");
    assert!(files.contains(&"attachments/01-packing.mp4"), "{files:?}");

    // The inbox and the statistics in Chinese.
    driver.goto(&format!("{base}/alerts")).await.unwrap();
    el(&driver, By::Id("alerts")).await;
    assert_all_ours_translated(&driver, "alerts").await;
    driver.goto(&format!("{base}/carriers")).await.unwrap();
    el(&driver, By::Id("lanes")).await;
    assert_all_ours_translated(&driver, "carriers").await;

    // Notifications: the demo's robot is there; add the sandbox's WeCom robot, test it, and
    // see the test arrive in the outbox.
    driver
        .find(By::Css("nav a[href='/notifications']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    el(
        &driver,
        By::Css("#destinations tr[data-destination='demo-dingtalk']"),
    )
    .await;
    assert_all_ours_translated(&driver, "notifications").await;
    let add = el(&driver, By::Id("add-destination")).await;
    if !add.is_displayed().await.unwrap() {
        el(&driver, By::Css("details.add summary"))
            .await
            .click()
            .await
            .unwrap();
    }
    fill_in(&add, &[("name", "运营群")]).await;
    SelectElement::new(&add.find(By::Name("channel")).await.unwrap())
        .await
        .unwrap()
        .select_by_value("wecom")
        .await
        .unwrap();
    fill_in(&add, &[("url", &wecom_robot)]).await;
    click(&add, "button[type='submit']").await;
    let row = el(
        &driver,
        By::Css("#destinations tr[data-destination='运营群']"),
    )
    .await;
    let address = row
        .find(By::Css("code"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !address.contains("demo-wecom-robot"),
        "the robot's key is shown: {address}"
    );
    click(&row, "button.test").await;
    eventually(30, "the test message sent", || {
        let driver = driver.clone();
        let base = base.clone();
        async move {
            driver.goto(&format!("{base}/notifications")).await.ok()?;
            let rows = driver
                .find_all(By::Css("#outbox tr[data-state='sent']"))
                .await
                .ok()?;
            for row in rows {
                let text = row.text().await.ok()?;
                if text.contains("运营群") && text.contains("测试") {
                    return Some(());
                }
            }
            None
        }
    })
    .await;
    // Its routing, changed in place: from high risk up only.
    let row = el(
        &driver,
        By::Css("#destinations tr[data-destination='运营群']"),
    )
    .await;
    click(&row, "details.route summary").await;
    let form = row.find(By::Css("details.route form")).await.unwrap();
    SelectElement::new(&form.find(By::Name("min_severity")).await.unwrap())
        .await
        .unwrap()
        .select_by_value("high_risk")
        .await
        .unwrap();
    click(&form, "button[type='submit']").await;
    eventually(20, "the new routing shown", || {
        let driver = driver.clone();
        async move {
            let row = driver
                .find(By::Css(
                    "#destinations tr[data-destination='运营群'] .muted",
                ))
                .await
                .ok()?;
            row.text().await.ok()?.contains("≥ 高风险").then_some(())
        }
    })
    .await;
    driver
        .screenshot(&shots.join("notifications.png"))
        .await
        .unwrap();
    driver.goto(&format!("{base}/carriers")).await.unwrap();
    el(&driver, By::Id("lanes")).await;
    // The admin's pages: the users with their roles and stores, and the trail of changes.
    for (page, ready) in [("users", "users"), ("audit", "audit")] {
        driver.goto(&format!("{base}/{page}")).await.unwrap();
        el(&driver, By::Id(ready)).await;
        assert_all_ours_translated(&driver, page).await;
        driver
            .screenshot(&shots.join(format!("{page}.png")))
            .await
            .unwrap();
    }
    // A form refused: a name another user has, said in the reader's language under the form.
    driver.goto(&format!("{base}/users")).await.unwrap();
    el(&driver, By::Css("details.add summary"))
        .await
        .click()
        .await
        .unwrap();
    let form = el(&driver, By::Id("add-user")).await;
    fill_in(
        &form,
        &[("name", "packer"), ("password", "another long password")],
    )
    .await;
    click(&form, "button[type='submit']").await;
    let refusal = el(&driver, By::Css("p.error")).await.text().await.unwrap();
    assert_eq!(refusal, "名称：“packer”已被使用。");
    assert_all_ours_translated(&driver, "users (refused)").await;
    driver
        .screenshot(&shots.join("users-refused.png"))
        .await
        .unwrap();

    // Russian: every page again.
    switch_language(&driver, "ru").await;
    let nav = el(&driver, By::Css("nav")).await.text().await.unwrap();
    assert!(nav.contains("Отправления"), "{nav}");
    assert_all_ours_translated(&driver, "carriers").await;
    for (page, path, ready) in [
        ("today", "/".to_owned(), "at-risk"),
        ("postings", "/postings?risk=warning".to_owned(), "postings"),
        ("alerts", "/alerts".to_owned(), "alerts"),
        ("notifications", "/notifications".to_owned(), "outbox"),
        ("users", "/users".to_owned(), "users"),
        ("audit", "/audit".to_owned(), "audit"),
    ] {
        driver.goto(&format!("{base}{path}")).await.unwrap();
        el(&driver, By::Id(ready)).await;
        assert_all_ours_translated(&driver, page).await;
    }
    driver.goto(&posting_url).await.unwrap();
    wait_for_map(&driver).await;
    assert_all_ours_translated(&driver, "posting").await;
    driver
        .screenshot(&shots.join("posting-ru.png"))
        .await
        .unwrap();
    switch_language(&driver, "en").await;
    let nav = el(&driver, By::Css("nav")).await.text().await.unwrap();
    assert!(nav.contains("Postings"), "{nav}");
    let buyer = driver
        .find(By::Id("buyer-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();

    // The alerts inbox and the statistics, with their charts.
    driver.goto(&format!("{base}/alerts")).await.unwrap();
    el(&driver, By::Id("alerts")).await;
    driver.screenshot(&shots.join("alerts.png")).await.unwrap();
    driver.goto(&format!("{base}/carriers")).await.unwrap();
    let chart = el(&driver, By::Id("transit-chart")).await;
    eventually(20, "the transit chart drawn", || {
        let chart = chart.clone();
        async move { chart.attr("data-drawn").await.ok().flatten() }
    })
    .await;
    driver
        .screenshot(&shots.join("carriers.png"))
        .await
        .unwrap();

    // The buyer's page: Russian by default, English on request, nothing of the seller's.
    driver.goto(&format!("{base}{buyer}")).await.unwrap();
    assert_eq!(html_lang(&driver).await, "ru");
    let h1 = el(&driver, By::Tag("h1")).await.text().await.unwrap();
    assert_eq!(h1, "Где моя посылка?");
    wait_for_map(&driver).await;
    let page = driver.source().await.unwrap();
    for private in ["已联系承运商", "seller", "/postings", "demo-1", "<form"] {
        assert!(!page.contains(private), "the buyer page shows {private:?}");
    }
    driver
        .screenshot(&shots.join("buyer-ru.png"))
        .await
        .unwrap();
    switch_language(&driver, "en").await;
    let h1 = el(&driver, By::Tag("h1")).await.text().await.unwrap();
    assert_eq!(h1, "Where is my parcel?");
    wait_for_map(&driver).await;
    driver
        .screenshot(&shots.join("buyer-en.png"))
        .await
        .unwrap();

    // The packer, a viewer of the demo's store: its postings, alerts and figures, nothing of
    // the other store, no action anywhere.
    driver.delete_all_cookies().await.unwrap();
    driver.goto(&format!("{base}/login")).await.unwrap();
    sign_in(&driver, "packer", None).await;
    let nav = el(&driver, By::Css("nav")).await;
    for hidden in ["/notifications", "/users", "/audit"] {
        assert!(
            nav.find(By::Css(format!("a[href='{hidden}']")))
                .await
                .is_err(),
            "a viewer's menu offers {hidden}"
        );
    }
    driver.goto(&format!("{base}/postings")).await.unwrap();
    let table = el(&driver, By::Id("postings")).await;
    let rows = table.find_all(By::Css("tr[data-posting]")).await.unwrap();
    assert!(!rows.is_empty(), "the packer sees her store's postings");
    let source = driver.source().await.unwrap();
    assert!(
        !source.contains(&elsewhere),
        "another store's posting listed"
    );
    assert!(
        !source.contains("另一家店"),
        "another store offered in the filter"
    );
    assert!(
        driver.find(By::Id("import-form")).await.is_err(),
        "a viewer is offered the import"
    );
    driver
        .screenshot(&shots.join("viewer-postings.png"))
        .await
        .unwrap();
    driver
        .goto(&format!("{base}/postings/{elsewhere}"))
        .await
        .unwrap();
    let body = el(&driver, By::Tag("body")).await.text().await.unwrap();
    assert!(!body.contains(&elsewhere), "another store's posting opened");
    driver.goto(&format!("{base}/alerts")).await.unwrap();
    el(&driver, By::Id("alerts")).await;
    assert!(
        driver.find(By::Css("form.ack")).await.is_err()
            && driver.find(By::Id("bulk-ack")).await.is_err(),
        "a viewer is offered to acknowledge"
    );
    driver
        .screenshot(&shots.join("viewer-alerts.png"))
        .await
        .unwrap();
    driver.goto(&format!("{base}/carriers")).await.unwrap();
    el(&driver, By::Id("lanes")).await;
    driver.goto(&format!("{base}/users")).await.unwrap();
    el(&driver, By::Tag("body")).await;
    assert!(
        driver.find(By::Id("users")).await.is_err(),
        "the users page opened for a viewer"
    );

    driver.quit().await.unwrap();
}
