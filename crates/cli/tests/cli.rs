//! The `ozontrack` binary from the outside: each test runs the real executable in a fresh
//! directory and reads its stdout, stderr and exit code as a script would.

// In tests a panic is the failure report, so helpers unwrap freely.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod support;

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        support::ozontrack(self.dir.path(), args)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let mut child = self
            .command(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[track_caller]
fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        stderr(output),
        stdout(output)
    );
}

/// Asserts exit code 2 and exactly one line on stderr, and returns that line.
#[track_caller]
fn assert_input_error(output: &Output) -> String {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("error: "), "{err}");
    err.trim_end().to_owned()
}

#[test]
fn help_lists_every_command() {
    let output = Run::new().run(&["--help"]);
    assert_ok(&output);
    let help = stdout(&output);
    for command in ["init", "migrate", "config", "stores"] {
        assert!(
            help.contains(&format!("  {command} ")),
            "{command} missing from:\n{help}"
        );
    }
    let stores = Run::new().run(&["stores", "--help"]);
    assert!(stdout(&stores).contains("add") && stdout(&stores).contains("list"));
}

#[test]
fn config_example_prints_the_commented_defaults() {
    let output = Run::new().run(&["config", "example"]);
    assert_ok(&output);
    let text = stdout(&output);
    assert!(
        text.contains("[database]") && text.contains("url = \"sqlite://ozontrack.db\""),
        "{text}"
    );
    assert!(text.starts_with("# ozontrack configuration"));
}

#[test]
fn init_creates_the_database_and_a_private_key_file_and_can_run_again() {
    let run = Run::new();
    let first = run.run(&["init"]);
    assert_ok(&first);
    assert!(
        stdout(&first).contains("created, mode 600"),
        "{}",
        stdout(&first)
    );
    assert!(run.path("ozontrack.db").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(run.path("ozontrack.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key = std::fs::read(run.path("ozontrack.key")).unwrap();
    let again = run.run(&["--json", "init"]);
    assert_ok(&again);
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(json["secret_key_created"], false);
    assert_eq!(json["backend"], "sqlite");
    assert_eq!(
        std::fs::read(run.path("ozontrack.key")).unwrap(),
        key,
        "init replaced the key"
    );
    assert_ok(&run.run(&["migrate"]));
}

#[test]
fn a_store_added_from_stdin_is_listed_and_its_key_never_printed() {
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    let add = run.run_with_stdin(
        &[
            "stores",
            "add",
            "--name",
            "深圳小店",
            "--client-id",
            "123456",
            "--api-key-stdin",
            "--language",
            "ru",
        ],
        "k3y-very-secret\n",
        &[("RUST_LOG", "trace")],
    );
    assert_ok(&add);
    let env_add = run.run_with_stdin(
        &[
            "stores",
            "add",
            "--name",
            "Moscow shop",
            "--client-id",
            "77",
            "--api-key-env",
            "SHOP_KEY",
            "--timezone",
            "Europe/Moscow",
        ],
        "",
        &[("SHOP_KEY", "another-secret"), ("RUST_LOG", "trace")],
    );
    assert_ok(&env_add);
    let table = run.run(&["stores", "list"]);
    assert_ok(&table);
    let text = stdout(&table);
    assert!(
        text.contains("深圳小店") && text.contains("Europe/Moscow"),
        "{text}"
    );
    // Headers and words in the language asked for; the next sync in the store's own zone.
    let ru = run.run(&["stores", "list", "--lang", "ru"]);
    assert_ok(&ru);
    assert!(
        stdout(&ru).contains("Часовой пояс") && stdout(&ru).contains("Следующая синхронизация"),
        "{}",
        stdout(&ru)
    );
    let json = run.run(&["stores", "list", "--json"]);
    let stores: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(stores[0]["name"], "Moscow shop");
    assert_eq!(stores[1]["client_id"], 123_456);
    assert_eq!(stores[1]["language"], "ru");
    // Each store's push path, the same in the table, and another for each store.
    let push = stores[0]["push_path"].as_str().unwrap();
    assert!(
        push.starts_with("/ozon/push/") && text.contains(push),
        "{text}"
    );
    assert_ne!(stores[1]["push_path"], stores[0]["push_path"]);
    for output in [&add, &env_add, &table, &json] {
        let all = format!("{}{}", stdout(output), stderr(output));
        assert!(
            !all.contains("k3y-very-secret") && !all.contains("another-secret"),
            "{all}"
        );
    }
    let db = std::fs::read(run.path("ozontrack.db")).unwrap();
    assert!(
        !db.windows(15).any(|w| w == b"k3y-very-secret"),
        "the key is in the database file in clear"
    );
}

#[test]
fn messages_waiting_for_a_retry_are_made_due_at_once_when_asked() {
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    assert_ok(&run.run(&[
        "channels",
        "add",
        "webhook",
        "erp",
        "--url",
        "http://127.0.0.1:9/hooks",
    ]));
    // Nothing listens there: the test message waits for its next attempt.
    assert!(!run.run(&["channels", "test", "erp"]).status.success());
    let due = |run: &Run| {
        let out = run.run(&["--json", "notify", "retry", "--waiting"]);
        assert_ok(&out);
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()["due_now"].clone()
    };
    assert_eq!(due(&run), 1);
    assert_eq!(due(&run), 0, "already due");
    // The trail keeps the count as a value, not as a sentence.
    let trail = run.run(&["--json", "audit", "--limit", "1"]);
    assert_ok(&trail);
    let trail: serde_json::Value = serde_json::from_slice(&trail.stdout).unwrap();
    let entry = &trail["entries"][0];
    assert_eq!(entry["action"], "message.retried", "{trail}");
    assert_eq!(entry["detail"]["waiting"], 1, "{trail}");
    let neither = run.run(&["notify", "retry"]);
    assert!(!neither.status.success());
    assert!(stderr(&neither).contains("<ID>"), "{}", stderr(&neither));
}

#[test]
fn channel_secrets_never_reach_the_output_the_json_or_the_log() {
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    // The robot's key in its URL and the signing secret, both from standard input.
    let added = run.run_with_stdin(
        &[
            "--json", "channels", "add", "dingtalk", "ops", "--url", "-", "--secret", "-",
        ],
        "http://127.0.0.1:9/robot/send?access_token=tok3n-s3cret\nSECsigning-s3cret\n",
        &[],
    );
    assert_ok(&added);
    let webhook = run.run(&[
        "channels",
        "add",
        "webhook",
        "erp",
        "--url",
        "http://127.0.0.1:9/hooks",
    ]);
    assert_ok(&webhook);
    // A webhook's secret made for it is shown once, when it is made.
    let shown = stdout(&webhook);
    let secret = shown
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .unwrap()
        .to_owned();
    let listed = run.run(&["--json", "channels", "list"]);
    assert_ok(&listed);
    // A test through the real path (nothing listens there), with every log line on.
    let tested = run
        .command(&["channels", "test", "ops"])
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!tested.status.success(), "nothing listens there");
    let log = run.run(&["--json", "notify", "log"]);
    assert_ok(&log);
    for output in [&added, &listed, &tested, &log] {
        let text = format!("{}{}", stdout(output), stderr(output));
        for leaked in ["tok3n-s3cret", "SECsigning-s3cret", secret.as_str()] {
            assert!(!text.contains(leaked), "{leaked} leaked: {text}");
        }
    }
    let listed: serde_json::Value = serde_json::from_str(&stdout(&listed)).unwrap();
    let ops = &listed["destinations"][0];
    assert_eq!(ops["name"], "ops");
    assert_eq!(ops["address"], "http://127.0.0.1:9/robot/send…");
    assert!(
        stdout(&tested).contains("connection refused"),
        "{}",
        stdout(&tested)
    );
}

#[test]
fn a_non_numeric_client_id_is_one_line_naming_the_flag() {
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    let output = run.run_with_stdin(
        &[
            "stores",
            "add",
            "--name",
            "x",
            "--client-id",
            "abc",
            "--api-key-stdin",
        ],
        "k",
        &[],
    );
    assert_eq!(
        assert_input_error(&output),
        "error: --client-id: Client-Id \"abc\" is invalid: expected a number such as 123456"
    );
}

#[test]
fn an_unknown_database_url_scheme_is_named() {
    let output = Run::new().run(&["--database-url", "mysql://root:pw@db/x", "stores", "list"]);
    let line = assert_input_error(&output);
    assert!(
        line.contains("unknown scheme \"mysql\"") && !line.contains("pw@"),
        "{line}"
    );
}

#[test]
fn an_unreadable_config_file_is_named() {
    let output = Run::new().run(&["--config", "missing.toml", "stores", "list"]);
    let line = assert_input_error(&output);
    assert!(
        line.starts_with("error: cannot read configuration file missing.toml"),
        "{line}"
    );
}

#[test]
fn a_broken_config_file_names_its_line_and_column() {
    let run = Run::new();
    std::fs::write(
        run.path("ozontrack.toml"),
        "[database]\nurl = \"sqlite://a.db\"\nmax_connections = ten\n",
    )
    .unwrap();
    let line = assert_input_error(&run.run(&["stores", "list"]));
    assert!(line.contains("ozontrack.toml, line 3, column 19"), "{line}");
}

#[test]
fn commands_before_init_say_to_run_init() {
    let line = assert_input_error(&Run::new().run(&["stores", "list"]));
    assert!(line.contains("run `ozontrack init`"), "{line}");
}

#[test]
fn a_duplicate_store_name_and_an_unknown_time_zone_are_input_errors() {
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    let add = |name: &str, tz: &str| {
        run.run_with_stdin(
            &[
                "stores",
                "add",
                "--name",
                name,
                "--client-id",
                "1",
                "--api-key-stdin",
                "--timezone",
                tz,
            ],
            "k",
            &[],
        )
    };
    assert_ok(&add("shop", "Asia/Shanghai"));
    assert!(assert_input_error(&add("shop", "Asia/Shanghai")).contains("already exists"));
    assert!(assert_input_error(&add("other", "Mars/Olympus")).contains("--timezone"));
}

#[test]
fn the_environment_overrides_the_config_file() {
    let run = Run::new();
    std::fs::write(
        run.path("ozontrack.toml"),
        "[database]\nurl = \"sqlite://from-file.db\"\n",
    )
    .unwrap();
    let output = run
        .command(&["init"])
        .env("OZONTRACK__DATABASE__URL", "sqlite://from-env.db")
        .output()
        .unwrap();
    assert_ok(&output);
    assert!(run.path("from-env.db").exists() && !run.path("from-file.db").exists());
}

#[tokio::test]
async fn the_same_commands_work_on_postgresql() {
    let Some(pg) = ozontrack_testkit::postgres().await else {
        return;
    };
    let run = Run::new();
    let url = pg.url.as_str();
    let init = run.run(&["--database-url", url, "--json", "init"]);
    assert_ok(&init);
    let json: serde_json::Value = serde_json::from_slice(&init.stdout).unwrap();
    assert_eq!(json["backend"], "postgres");
    let add = run.run_with_stdin(
        &[
            "--database-url",
            url,
            "stores",
            "add",
            "--name",
            "pg-shop",
            "--client-id",
            "5",
            "--api-key-stdin",
        ],
        "k",
        &[],
    );
    assert_ok(&add);
    let list = run.run(&["--database-url", url, "--json", "stores", "list"]);
    let stores: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(stores[0]["name"], "pg-shop");
    assert!(
        !Path::new(&run.path("ozontrack.db")).exists(),
        "a SQLite file was created"
    );
}

/// A long-running command: killed when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Run {
    /// Starts a long-running command (its log kept in `log`) and reads its first line.
    fn spawn_logged(&self, args: &[&str], log: &str) -> (Running, String) {
        use std::io::BufRead;
        let mut child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(self.path(log)).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let running = Running(child);
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        (running, line)
    }

    /// Starts a serving command and returns it with the first line of its stdout (its log kept
    /// under a name made of its arguments).
    fn spawn_first_line(&self, args: &[&str]) -> (Running, String) {
        self.spawn_logged(
            args,
            &format!("{}.log", args.join(" ").replace(['/', ':'], "_")),
        )
    }

    /// The last lines of a log [`Self::spawn_logged`] kept, for a failure's message.
    fn tail(&self, log: &str, lines: usize) -> String {
        let text = std::fs::read_to_string(self.path(log)).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// A small demo on a free dashboard port, and the JSON of its first line.
    fn spawn_demo(&self) -> (Running, serde_json::Value) {
        let (running, line) = self.spawn_first_line(&[
            "--json",
            "demo",
            "--parcels",
            "100",
            "--dashboard",
            "127.0.0.1:0",
        ]);
        (running, serde_json::from_str(&line).unwrap())
    }
}

/// A raw HTTP POST with std only; returns the status code.
fn post_status(base: &str, path: &str, headers: &[(&str, String)], body: &str) -> u16 {
    http_status("POST", base, path, headers, body)
}

/// A raw HTTP request with std only; returns the whole response.
fn http_response(method: &str, base: &str, path: &str, headers: &[(&str, String)]) -> String {
    use std::io::Read;
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Signs in with a one-time link; the session cookie it set, or the response when it did not.
fn sign_in(base: &str, link: &str) -> Result<String, String> {
    let path = link.trim_start_matches(base);
    let response = http_response("GET", base, path, &[]);
    response
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: ozt_session=")
                .then(|| {
                    l["set-cookie: ".len()..]
                        .split(';')
                        .next()
                        .unwrap()
                        .to_owned()
                })
        })
        .ok_or(response)
}

#[test]
fn the_demos_sign_in_link_works_ninety_seconds_later_and_login_link_makes_another() {
    let run = Run::new();
    let (_demo, demo) = run.spawn_demo();
    let server = demo["server"].as_str().unwrap().to_owned();
    let link = demo["dashboard"].as_str().unwrap().to_owned();
    // At 3600× a minute and a half is 90 simulated hours: links and sessions run on real time.
    std::thread::sleep(std::time::Duration::from_secs(90));
    let cookie = sign_in(&server, &link).unwrap();
    let today = http_response("GET", &server, "/", &[("Cookie", cookie)]);
    assert!(today.starts_with("HTTP/1.1 200"), "{today}");
    // Another link for the running demo, from a second terminal.
    let made = run.run(&[
        "--database-url",
        "sqlite://ozontrack-demo.db",
        "--json",
        "login-link",
        "--base-url",
        &server,
    ]);
    assert_ok(&made);
    let made: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    sign_in(&server, made["link"].as_str().unwrap()).unwrap();
}

/// The process's resident memory in MiB, from `/proc` (Linux).
fn rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

#[test]
fn a_demo_left_running_for_a_simulated_quarter_keeps_getting_orders_and_alerts_in_bounded_memory() {
    let run = Run::new();
    // A day a second: a quarter in a minute and a half.
    let (demo, line) = run.spawn_logged(
        &[
            "--json",
            "demo",
            "--speed",
            "86400",
            "--dashboard",
            "127.0.0.1:0",
        ],
        "demo.log",
    );
    let started: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(started["world"]["endless"], true, "{started}");
    let server = started["server"].as_str().unwrap().to_owned();
    let token = started["api_token"].as_str().unwrap().to_owned();
    let get = |path: &str| -> serde_json::Value {
        let response = http_response(
            "GET",
            &server,
            path,
            &[("Authorization", format!("Bearer {token}"))],
        );
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
    };
    // The newest order ozontrack has synced, and the newest alert it has raised.
    let newest = || {
        let postings = get("/api/v1/postings?limit=200");
        let ordered = postings["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["in_process_at"].as_str().map(str::to_owned))
            .max();
        let alerts = get("/api/v1/alerts?limit=200");
        let alert = alerts["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["id"].as_i64())
            .max();
        (ordered, alert)
    };
    std::thread::sleep(std::time::Duration::from_secs(20));
    let (first_order, first_alert) = newest();
    let early_rss = rss_mib(demo.0.id()).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(70));
    let (last_order, last_alert) = newest();
    let late_rss = rss_mib(demo.0.id()).unwrap();
    assert!(
        last_order > first_order,
        "no new orders: {first_order:?} then {last_order:?}; the demo's log ends:\n{}",
        run.tail("demo.log", 40)
    );
    assert!(
        last_alert > first_alert,
        "no new alerts: {first_alert:?} then {last_alert:?}; the demo's log ends:\n{}",
        run.tail("demo.log", 40)
    );
    eprintln!(
        "orders {first_order:?} → {last_order:?}, alerts {first_alert:?} → {last_alert:?}, \
         RSS {early_rss} → {late_rss} MiB"
    );
    // The fakes hold the last 180 simulated days of an endless world: what grows is the
    // database, on disk.
    assert!(
        late_rss < 800 && late_rss < early_rss * 2,
        "memory grew from {early_rss} MiB to {late_rss} MiB"
    );
}

#[test]
fn a_demo_whose_dashboard_address_is_taken_says_so_and_how_to_choose_another() {
    let run = Run::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = run.run(&["demo", "--parcels", "50", "--dashboard", &address]);
    let message = assert_input_error(&output);
    assert!(
        message.contains(&address) && message.contains("--dashboard"),
        "{message}"
    );
}

/// A raw HTTP request with std only; returns the status code.
fn http_status(
    method: &str,
    base: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> u16 {
    use std::io::Read;
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split(' ').nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_node_told_to_follow_a_sandbox_world_works_by_the_worlds_clock() {
    use chrono::{DateTime, Utc};
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    let (_sandbox, line) =
        run.spawn_first_line(&["--json", "sandbox", "--parcels", "100", "--speed", "3600"]);
    let apis: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = apis["clock"]["url"].as_str().unwrap().to_owned();
    assert_eq!(apis["clock"]["speed"], 3600.0);
    let (_node, line) = run.spawn_first_line(&[
        "--json",
        "serve",
        "--role",
        "workers",
        "--listen",
        "127.0.0.1:0",
        "--follow-clock",
        &url,
    ]);
    let node: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base = node["server"].as_str().unwrap().to_owned();
    let (sandbox_base, path) = url.split_at(url.find("/sandbox/").unwrap());
    let read = |base: &str, path: &str| -> DateTime<Utc> {
        let response = http_response("GET", base, path, &[]);
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        let body: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
        body["now"].as_str().unwrap().parse().unwrap()
    };
    // An hour of the world passes each real second: the node agrees with the world, not with
    // the wall clock, to within a few simulated minutes (tens of real milliseconds).
    let before = read(sandbox_base, path);
    let at_node = read(&base, "/healthz");
    let after = read(sandbox_base, path);
    let slack = chrono::Duration::minutes(3);
    assert!(
        before - slack <= at_node && at_node <= after + slack,
        "world {before} .. {after}, node {at_node}"
    );
    assert!(
        ozontrack_domain::Clock::now(&ozontrack_domain::SystemClock) - at_node
            > chrono::Duration::days(7),
        "{at_node}"
    );

    let no_clock = run.run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--follow-clock",
        &format!("{sandbox_base}/nowhere"),
    ]);
    assert!(!no_clock.status.success());
    assert!(
        String::from_utf8_lossy(&no_clock.stderr).contains("cannot read the clock to follow"),
        "{}",
        String::from_utf8_lossy(&no_clock.stderr)
    );
}

#[test]
fn one_shot_commands_told_to_follow_a_sandbox_world_judge_its_parcels_as_of_its_time() {
    use chrono::{DateTime, Utc};
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    let (_sandbox, line) =
        run.spawn_first_line(&["--json", "sandbox", "--parcels", "300", "--speed", "3600"]);
    let apis: serde_json::Value = serde_json::from_str(&line).unwrap();
    let clock = apis["clock"]["url"].as_str().unwrap().to_owned();
    let ozon = &apis["ozon"];
    assert_ok(&run.run_with_stdin(
        &[
            "stores",
            "add",
            "--name",
            "shop",
            "--client-id",
            &ozon["client_id"].to_string(),
            "--api-key-stdin",
            "--ozon-base-url",
            ozon["base_url"].as_str().unwrap(),
        ],
        ozon["api_key"].as_str().unwrap(),
        &[],
    ));
    assert_ok(&run.run(&["sync", "--follow-clock", &clock]));
    let csv = run.path("numbers.csv");
    assert_ok(&run.run(&[
        "export",
        "postings",
        "--columns",
        "posting_number",
        "--lang",
        "en",
        "--out",
        csv.to_str().unwrap(),
        "--follow-clock",
        &clock,
    ]));
    let text = std::fs::read_to_string(&csv).unwrap();
    let number = text
        .lines()
        .nth(1)
        .expect("a posting was synced")
        .trim()
        .trim_matches('"')
        .to_owned();

    let (clock_base, clock_path) = clock.split_at(clock.find("/sandbox/").unwrap());
    let world_now = || -> DateTime<Utc> {
        let response = http_response("GET", clock_base, clock_path, &[]);
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        let body: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
        body["now"].as_str().unwrap().parse().unwrap()
    };
    let judged_at = |args: &[&str]| -> DateTime<Utc> {
        let explained = run.run(args);
        assert_ok(&explained);
        let body: serde_json::Value = serde_json::from_slice(&explained.stdout).unwrap();
        body["at"].as_str().unwrap().parse().unwrap()
    };
    // An hour of the world passes each real second; a command's start-up takes a few.
    let before = world_now();
    let followed = judged_at(&[
        "--json",
        "rules",
        "explain",
        &number,
        "--follow-clock",
        &clock,
    ]);
    let after = world_now();
    let slack = chrono::Duration::minutes(3);
    assert!(
        before - slack <= followed && followed <= after + slack,
        "world {before} .. {after}, judged at {followed}"
    );
    // Without the flag the same command judges the posting as of today, weeks after the world.
    let today = judged_at(&["--json", "rules", "explain", &number]);
    assert!(
        today - after > chrono::Duration::days(7),
        "{today} against {after}"
    );
}

#[test]
fn sandbox_json_prints_every_api_on_its_first_line_and_the_ozon_credentials_work() {
    let run = Run::new();
    let (_sandbox, line) = run.spawn_first_line(&["--json", "sandbox", "--parcels", "100"]);
    let apis: serde_json::Value = serde_json::from_str(&line).unwrap();
    for (api, fields) in [
        ("ozon", &["base_url", "client_id", "api_key"][..]),
        ("17track", &["base_url", "token"][..]),
        ("russianpost", &["base_url", "login", "password"][..]),
        ("cdek", &["base_url", "client_id", "client_secret"][..]),
    ] {
        for field in fields {
            assert!(
                !apis[api][field].is_null(),
                "{api}.{field} missing from {line}"
            );
        }
    }
    let ozon = &apis["ozon"];
    let headers = [
        ("Client-Id", ozon["client_id"].to_string()),
        ("Api-Key", ozon["api_key"].as_str().unwrap().to_owned()),
    ];
    assert_eq!(
        post_status(
            ozon["base_url"].as_str().unwrap(),
            "/v2/warehouse/list",
            &headers,
            r#"{"limit": 5}"#
        ),
        200
    );
    let token = [(
        "17token",
        apis["17track"]["token"].as_str().unwrap().to_owned(),
    )];
    assert_eq!(
        post_status(
            apis["17track"]["base_url"].as_str().unwrap(),
            "/track/v2.2/getquota",
            &token,
            "{}"
        ),
        200
    );
}

#[test]
fn a_token_made_by_the_cli_opens_the_api_of_serve_until_revoked() {
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    let add = run.run_with_stdin(
        &[
            "stores",
            "add",
            "--name",
            "shop",
            "--client-id",
            "123",
            "--api-key-stdin",
        ],
        "key\n",
        &[],
    );
    assert_ok(&add);
    let created = run.run(&[
        "--json", "tokens", "create", "--name", "erp", "--role", "operator", "--store", "shop",
    ]);
    assert_ok(&created);
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ozt_"));
    let listed = run.run(&["tokens", "list"]);
    assert_ok(&listed);
    let text = stdout(&listed);
    assert!(text.contains("erp") && text.contains("shop"), "{text}");
    assert!(!text.contains(&token), "a token is shown only once");
    let unknown = run.run(&[
        "tokens", "create", "--name", "x", "--role", "viewer", "--store", "nope",
    ]);
    assert!(assert_input_error(&unknown).contains("--store"));

    let (_serve, line) = run.spawn_first_line(&["--json", "serve", "--listen", "127.0.0.1:0"]);
    let served: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base = served["server"].as_str().unwrap().to_owned();
    let bearer = [("Authorization", format!("Bearer {token}"))];
    assert_eq!(http_status("GET", &base, "/healthz", &[], ""), 200);
    assert_eq!(
        http_status("GET", &base, "/api/v1/stores", &bearer, ""),
        200
    );
    assert_eq!(http_status("GET", &base, "/api/v1/stores", &[], ""), 401);
    let id = created["id"].as_i64().unwrap().to_string();
    assert_ok(&run.run(&["tokens", "revoke", &id]));
    assert_eq!(
        http_status("GET", &base, "/api/v1/stores", &bearer, ""),
        401
    );
    assert!(assert_input_error(&run.run(&["tokens", "revoke", &id])).contains("no live token"));
    // The list says so, in the language asked for.
    let listed = stdout(&run.run(&["tokens", "list", "--lang", "en"]));
    assert!(
        listed.contains("revoked since") && listed.contains("Operator"),
        "{listed}"
    );
}

#[test]
fn a_worker_node_runs_the_workers_without_the_api_and_an_api_node_the_reverse() {
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    let body = |base: &str, path: &str| -> serde_json::Value {
        let response = http_response("GET", base, path, &[]);
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body.trim()).unwrap()
    };
    let (_workers, line) = run.spawn_first_line(&[
        "--json",
        "serve",
        "--role",
        "workers",
        "--listen",
        "127.0.0.1:0",
    ]);
    let started: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(started["role"], "workers");
    assert!(
        started["dashboard"].is_null(),
        "a worker node has no dashboard"
    );
    let base = started["server"].as_str().unwrap().to_owned();
    assert_eq!(http_status("GET", &base, "/healthz", &[], ""), 200);
    let health = body(&base, "/healthz");
    let names: Vec<&str> = health["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    for worker in ["sync", "pushes", "tracking", "risk", "notify", "gauges"] {
        assert!(names.contains(&worker), "{worker} not running: {health}");
    }
    assert_eq!(http_status("GET", &base, "/readyz", &[], ""), 200);
    assert_eq!(http_status("GET", &base, "/api/v1/stores", &[], ""), 404);
    assert_eq!(http_status("GET", &base, "/login", &[], ""), 404);

    let (_api, line) = run.spawn_first_line(&[
        "--json",
        "serve",
        "--role",
        "api",
        "--listen",
        "127.0.0.1:0",
    ]);
    let started: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base = started["server"].as_str().unwrap().to_owned();
    let health = body(&base, "/healthz");
    assert_eq!(
        (&health["role"], &health["workers"]),
        (&serde_json::json!("api"), &serde_json::json!([]))
    );
    assert_eq!(http_status("GET", &base, "/api/v1/stores", &[], ""), 401);
    assert_eq!(http_status("GET", &base, "/login", &[], ""), 200);
}

#[test]
fn users_and_a_stores_life_from_the_console_leave_a_trail() {
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    for name in ["shop", "other"] {
        assert_ok(&run.run(&["stores", "add", "--name", name, "--no-api"]));
    }
    let password = "a long enough password\n";
    let add = |args: &[&str]| {
        let mut all = vec!["users", "add"];
        all.extend_from_slice(args);
        run.run_with_stdin(&all, password, &[])
    };
    // A grant is said: some stores or every store, never nothing by omission.
    assert!(assert_input_error(&add(&["li", "--role", "viewer"])).contains("--all-stores"));
    assert!(assert_input_error(&add(&["li", "--role", "boss", "--all-stores"])).contains("--role"));
    assert!(
        assert_input_error(&add(&["operator", "--role", "viewer", "--all-stores"]))
            .contains("console")
    );
    assert_ok(&add(&["li", "--role", "viewer", "--store", "shop"]));
    assert!(
        assert_input_error(&add(&["li", "--role", "viewer", "--store", "shop"])).contains("exists")
    );
    assert_ok(&run.run(&["users", "set", "li", "--role", "operator"]));
    assert_ok(&run.run(&["users", "disable", "li"]));
    let listed = run.run(&["--json", "users", "list"]);
    assert_ok(&listed);
    let users: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(users["users"][0]["role"], "operator");
    assert_eq!(users["users"][0]["stores"], "shop");
    assert!(users["users"][0]["disabled_at"].is_string());
    assert!(assert_input_error(&run.run(&["login-link", "--user", "li"])).contains("--user"));

    // A store's life: pause, resume, rename, remove (which wants a confirmation).
    assert_ok(&run.run(&["stores", "pause", "shop"]));
    let listed = run.run(&["--json", "stores", "list"]);
    let stores: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let shop = stores
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "shop")
        .unwrap();
    assert!(shop["paused_at"].is_string(), "{shop}");
    assert_ok(&run.run(&["stores", "resume", "shop"]));
    assert_ok(&run.run(&["stores", "rename", "shop", "shop-2"]));
    assert!(
        assert_input_error(&run.run(&["stores", "rename", "shop-2", "other"]))
            .contains("already exists")
    );
    let refused = run.run_with_stdin(&["stores", "remove", "other"], "", &[]);
    assert!(assert_input_error(&refused).contains("--yes"));
    assert_ok(&run.run(&["stores", "remove", "other", "--yes"]));
    let listed = run.run(&["--json", "stores", "list"]);
    let stores: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(stores.as_array().unwrap().len(), 1);

    let trail = run.run(&["--json", "audit", "--limit", "20"]);
    assert_ok(&trail);
    let trail: serde_json::Value = serde_json::from_slice(&trail.stdout).unwrap();
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "store.removed",
            "store.renamed",
            "store.resumed",
            "store.paused",
            "user.disabled",
            "user.changed",
            "user.added",
            "store.added",
            "store.added",
        ]
    );
    assert!(
        trail["entries"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("cli:")
    );
    let table = run.run(&["audit", "--lang", "zh"]);
    assert!(stdout(&table).contains("删除店铺"), "{}", stdout(&table));
    assert!(
        stdout(&table).contains("操作人"),
        "headers in the language asked for"
    );
}

#[test]
fn demo_creates_a_demo_store_pointing_at_the_fake_ozon_in_its_own_database() {
    let run = Run::new();
    let (_demo, demo) = run.spawn_demo();
    assert_eq!(demo["store"], "demo-1");
    assert_eq!(demo["database"], "sqlite://ozontrack-demo.db");
    assert!(
        !run.path("ozontrack.db").exists(),
        "the demo touched the real database"
    );
    let list = run.run(&[
        "--database-url",
        "sqlite://ozontrack-demo.db",
        "--json",
        "stores",
        "list",
    ]);
    assert_ok(&list);
    let stores: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(stores[0]["ozon_base_url"], demo["ozon"]["base_url"]);
    // The demo's workers sync the store on their own: postings arrive without a command.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let list = run.run(&[
            "--database-url",
            "sqlite://ozontrack-demo.db",
            "--json",
            "stores",
            "list",
        ]);
        let stores: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
        if stores[0]["synced_until"].is_string() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the demo never synced: {stores}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        demo["server"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(
        demo["ozon_push_url"]
            .as_str()
            .unwrap()
            .contains("/ozon/push/")
    );
    // The printed token opens the demo's API.
    let bearer = [(
        "Authorization",
        format!("Bearer {}", demo["api_token"].as_str().unwrap()),
    )];
    let server = demo["server"].as_str().unwrap();
    assert_eq!(
        http_status("GET", server, "/api/v1/postings", &bearer, ""),
        200
    );
}

#[test]
fn sandbox_truth_prints_one_json_object_per_parcel() {
    let output = Run::new().run(&[
        "--json",
        "sandbox",
        "truth",
        "--parcels",
        "200",
        "--at",
        "2026-10-20T00:00:00Z",
    ]);
    assert_ok(&output);
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 50 && lines.len() <= 200, "{}", lines.len());
    for line in &lines {
        assert!(
            line["posting_number"].is_string()
                && line["status"].is_string()
                && line["failures"].is_array()
        );
    }
    let bad = Run::new().run(&["sandbox", "truth", "--at", "yesterday"]);
    assert!(assert_input_error(&bad).contains("--at"));
}

#[test]
fn the_endless_worlds_truth_three_years_in_holds_every_epochs_orders() {
    // The world starts 2026-10-01; 36 epochs of 30 days later it is 2029-09-15.
    let output = Run::new().run(&[
        "--json",
        "sandbox",
        "truth",
        "--endless",
        "--parcels",
        "40",
        "--at",
        "2029-09-20T00:00:00Z",
    ]);
    assert_ok(&output);
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        (36 * 40..=37 * 40).contains(&lines.len()),
        "{} parcels",
        lines.len()
    );
    let numbers: std::collections::HashSet<_> =
        lines.iter().map(|l| l["posting_number"].clone()).collect();
    assert_eq!(numbers.len(), lines.len(), "a posting number repeats");
    let newest = lines
        .iter()
        .filter_map(|l| l["ordered_at"].as_str())
        .max()
        .unwrap();
    assert!(newest.starts_with("2029-09"), "{newest}");
    let finite = Run::new().run(&[
        "sandbox",
        "truth",
        "--parcels",
        "40",
        "--at",
        "2029-09-20T00:00:00Z",
    ]);
    assert!(
        stdout(&finite).contains("(40 parcels ordered by then)"),
        "{}",
        stdout(&finite)
    );
}

#[test]
fn the_sandbox_pushes_ozon_notifications_to_the_url_it_is_given() {
    use std::io::{BufRead, BufReader, Read};
    // A one-shot receiver: accept a push, answer as a seller's service must, report the body.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ozon/push", listener.local_addr().unwrap());
    let received = std::thread::spawn(move || {
        // Bounded: a sandbox that never pushes fails the test instead of hanging it.
        listener.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(std::time::Instant::now() < deadline, "no push within 20 s");
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("{e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let answer = r#"{"result": true}"#;
        let mut stream = stream;
        write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}", answer.len()).unwrap();
        String::from_utf8(body).unwrap()
    });
    let run = Run::new();
    // At 36 000x a simulated hour passes every 0.1 s: the first round only sets the starting
    // point, the next finds news to push.
    let (_sandbox, _) = run.spawn_first_line(&[
        "--json",
        "sandbox",
        "--parcels",
        "500",
        "--speed",
        "36000",
        "--ozon-push-url",
        &url,
    ]);
    let body: serde_json::Value = serde_json::from_str(&received.join().unwrap()).unwrap();
    assert!(
        body["message_type"].as_str().unwrap().starts_with("TYPE_"),
        "{body}"
    );
    assert!(body["posting_number"].is_string(), "{body}");
}

// --- Ozon: sync, tracking-number upload, decode ---------------------------------------------

/// A sandbox in this process (time stands still at `days` into the world) and a directory
/// with an initialized database holding one store pointing at its fake Ozon.
struct OzonWorld {
    run: Run,
    sandbox: ozontrack_sandbox::Sandbox,
    now: chrono::DateTime<chrono::Utc>,
}

const LEASE_ENV: (&str, &str) = ("OZONTRACK__SYNC__LEASE_SECS", "2");

async fn ozon_world(parcels: u32, faults: ozontrack_sandbox::faults::FaultPlan) -> OzonWorld {
    use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
    let world = World::generate(WorldConfig {
        parcels,
        ..WorldConfig::default()
    });
    let now = world.config.start + chrono::Duration::days(20);
    let clock = std::sync::Arc::new(ozontrack_domain::ManualClock::new(now));
    let serve = ServeConfig {
        faults,
        push_every: None,
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world, clock, &serve).await.unwrap();
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    let seller = &sandbox.state.world.stores[0];
    let added = run.run_with_stdin(
        &[
            "stores",
            "add",
            "--name",
            "shop",
            "--client-id",
            &seller.client_id.to_string(),
            "--api-key-stdin",
            "--ozon-base-url",
            &sandbox.urls.ozon,
        ],
        &seller.api_key,
        &[],
    );
    assert_ok(&added);
    OzonWorld { run, sandbox, now }
}

impl OzonWorld {
    fn visible(&self) -> impl Iterator<Item = ozontrack_sandbox::Parcel> {
        let window = self.sandbox.state.window();
        let visible: Vec<_> = window
            .parcels()
            .iter()
            .filter(|p| p.appears_at <= self.now)
            .cloned()
            .collect();
        visible.into_iter()
    }

    async fn store(&self) -> ozontrack_db::SqlDatabase {
        use ozontrack_db::{Cipher, DatabaseUrl, SqlDatabase};
        let cipher = Cipher::load_key_file(&self.run.path("ozontrack.key")).unwrap();
        let url = DatabaseUrl::Sqlite(self.run.path("ozontrack.db"));
        SqlDatabase::connect(&url, cipher, &Default::default())
            .await
            .unwrap()
    }

    /// Runs the binary off the async runtime's threads.
    async fn ozontrack(&self, args: &[&str]) -> Output {
        let mut command = self.run.command(args);
        command.env(LEASE_ENV.0, LEASE_ENV.1).stdin(Stdio::null());
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_fetches_every_posting_of_the_store_and_prints_what_it_did() {
    let w = ozon_world(1_500, Default::default()).await;
    let first = w.ozontrack(&["--json", "sync"]).await;
    assert_ok(&first);
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let visible = w.visible().count() as u64;
    assert_eq!(report["synced"][0]["new_postings"], visible);
    assert_eq!(report["synced"][0]["full"], true);

    let second = w.ozontrack(&["sync", "--store", "shop"]).await;
    assert_ok(&second);
    let table = stdout(&second);
    assert!(
        table.contains("incremental") && table.contains("shop"),
        "{table}"
    );

    let unknown = w.ozontrack(&["sync", "--store", "nope"]).await;
    let line = assert_input_error(&unknown);
    assert!(line.contains("no store named \"nope\""), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_way_resumes_after_a_restart_with_nothing_lost_or_doubled() {
    use ozontrack_db::prelude::*;
    use ozontrack_sandbox::faults::{FaultPlan, Faults};
    // Slow pages, so that there is a moment to kill the process in the middle.
    let slow = FaultPlan {
        ozon: Faults {
            slow_ms: 40,
            ..Faults::default()
        },
        ..FaultPlan::default()
    };
    let w = ozon_world(3_000, slow).await;
    let store = w.store().await;
    let mut child = w.run.command(&["sync"]);
    child
        .env(LEASE_ENV.0, LEASE_ENV.1)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = child.spawn().unwrap();
    let record = loop {
        if let Some(r) = store.stores().await.unwrap().into_iter().next() {
            let scans = store.scans(r.id).await.unwrap();
            if scans.iter().map(|s| s.pages).sum::<i64>() >= 3 {
                assert!(scans.iter().any(|s| !s.done), "killed too late");
                break r;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    child.kill().unwrap(); // SIGKILL: no clean stop
    child.wait().unwrap();

    // The dead process's lease runs out, then a new process resumes from the checkpoints.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let restarted = w.ozontrack(&["--json", "sync"]).await;
    assert_ok(&restarted);
    let report: serde_json::Value = serde_json::from_slice(&restarted.stdout).unwrap();
    assert_eq!(report["synced"][0]["resumed"], true, "{report}");

    let visible = w.visible().count() as u64;
    assert_eq!(store.count_postings(record.id).await.unwrap(), visible);
    // Time stood still in the world: one status event per posting, none twice.
    let mut events = 0;
    for p in w.visible() {
        let number = ozontrack_domain::PostingNumber::parse(&p.posting_number).unwrap();
        let posting = store.posting(record.id, &number).await.unwrap().unwrap();
        assert_eq!(
            posting.posting.status.as_str(),
            w.sandbox.state.ozon_at(&p, w.now).status
        );
        for leg in store.legs(posting.id).await.unwrap() {
            events += store.events(leg.id).await.unwrap().len();
        }
    }
    assert_eq!(events as u64, visible);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_numbers_are_checked_locally_and_nothing_is_sent_for_an_invalid_file() {
    let w = ozon_world(2_500, Default::default()).await;
    assert_ok(&w.ozontrack(&["sync"]).await);
    // Postings that ship with their own carrier number and have none at Ozon yet.
    let waiting: Vec<_> = w
        .visible()
        .filter(|p| {
            p.mode != ozontrack_sandbox::Mode::Fbo && p.tracking_number_at(w.now).is_empty()
        })
        .filter(|p| w.sandbox.state.ozon_at(p, w.now).status == "awaiting_deliver")
        .filter_map(|p| {
            Some((
                p.posting_number.clone(),
                p.first_mile.as_ref()?.tracking_number.clone(),
            ))
        })
        .take(25)
        .collect();
    assert!(
        waiting.len() >= 21,
        "only {} postings waiting",
        waiting.len()
    );
    let mut csv = String::from("\u{feff}posting_number;tracking_number\n");
    for (posting, tracking) in &waiting {
        csv.push_str(&format!("{posting};{tracking}\n"));
    }
    csv.push_str("99999999-0001-1;UG123456789YP\n");
    std::fs::write(w.run.path("numbers.csv"), &csv).unwrap();
    let line = waiting.len() + 2;

    let refused = w
        .ozontrack(&["tracking-numbers", "upload", "numbers.csv"])
        .await;
    let message = assert_input_error(&refused);
    assert!(
        message.contains(&format!("line {line}, posting_number")),
        "{message}"
    );
    assert!(message.contains("nothing was sent"), "{message}");
    assert!(w.sandbox.state.uploaded_tracking.lock().unwrap().is_empty());

    let dry = w
        .ozontrack(&[
            "tracking-numbers",
            "upload",
            "numbers.csv",
            "--skip-invalid",
            "--dry-run",
        ])
        .await;
    assert_ok(&dry);
    assert!(w.sandbox.state.uploaded_tracking.lock().unwrap().is_empty());

    let sent = w
        .ozontrack(&[
            "--json",
            "tracking-numbers",
            "upload",
            "numbers.csv",
            "--skip-invalid",
        ])
        .await;
    assert_ok(&sent);
    let summary: serde_json::Value = serde_json::from_slice(&sent.stdout).unwrap();
    assert_eq!(summary["accepted"], waiting.len());
    let uploaded = w.sandbox.state.uploaded_tracking.lock().unwrap().clone();
    assert_eq!(uploaded.len(), waiting.len());
    let results = std::fs::read_to_string(w.run.path("numbers.results.csv")).unwrap();
    assert!(results.starts_with("line,posting_number,tracking_number,result,error"));
    assert_eq!(
        results.lines().filter(|l| l.contains(",ok,")).count(),
        waiting.len()
    );
    assert!(results.contains(&format!("{line},,,invalid,posting_number:")));
}

fn ozon_fixture(name: &str) -> String {
    format!(
        "{}/../ozon/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn decode_shows_the_postings_legs_and_event_a_sync_would_store() {
    let output = Run::new().run(&[
        "decode",
        "--kind",
        "ozon-fbs-get",
        &ozon_fixture("fbs-get.json"),
    ]);
    assert_ok(&output);
    let decoded: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let p = &decoded["postings"][0];
    assert_eq!(p["posting_number"], "58203117-0007-1");
    assert_eq!(p["scheme"], "rfbs");
    assert_eq!(p["delivery_method"]["carrier"], "cdek");
    assert_eq!(p["legs"][1]["carrier"], "cdek");
    assert_eq!(p["legs"][1]["role"], "last_mile");
    assert_eq!(
        p["status_event"]["raw_code"],
        "delivering/posting_in_courier_service"
    );
    assert_eq!(p["status_event"]["raw_text"], "Передано курьеру");

    let list = Run::new().run(&[
        "decode",
        "--kind",
        "ozon-fbs-list",
        &ozon_fixture("fbs-list-v4.json"),
    ]);
    assert_ok(&list);
    let push = Run::new().run(&[
        "decode",
        "--kind",
        "ozon-push",
        &ozon_fixture("push-state-changed.json"),
    ]);
    assert_ok(&push);
    let push: serde_json::Value = serde_json::from_slice(&push.stdout).unwrap();
    assert_eq!(push["action"], "refetch");
}

#[test]
fn decode_refuses_a_body_that_is_not_json_with_its_line_and_column_and_leaves_out_a_bad_posting() {
    let run = Run::new();
    std::fs::write(
        run.path("broken.json"),
        "{\"result\": {\n  \"posting_number\": \"1-1-1\" \"status\": 1}}\n",
    )
    .unwrap();
    let line = assert_input_error(&run.run(&["decode", "--kind", "ozon-fbs-get", "broken.json"]));
    assert!(line.contains("broken.json, line 2, column 29"), "{line}");
    std::fs::write(
        run.path("bad-number.json"),
        r#"{"result": {"posting_number": "nope"}}"#,
    )
    .unwrap();
    let output = run.run(&["decode", "--kind", "ozon-fbs-get", "bad-number.json"]);
    assert_ok(&output);
    let decoded: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(decoded["postings"], serde_json::json!([]));
    let warning = decoded["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("posting_number") && warning.contains("nope"),
        "{warning}"
    );
}

fn corpus(krate: &str, name: &str) -> String {
    format!(
        "{}/../{krate}/tests/corpus/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn decode_lists_every_field_it_had_to_leave_empty_as_a_warning() {
    let output = Run::new().run(&[
        "decode",
        "--kind",
        "ozon-fbo-get",
        &corpus("ozon", "fbo-get.placeholder-date.json"),
    ]);
    assert_ok(&output);
    let decoded: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(decoded["postings"][0]["posting_number"], "50520644-0012-7");
    assert_eq!(
        decoded["postings"][0]["delivered_at"],
        serde_json::Value::Null
    );
    assert_eq!(
        decoded["warnings"],
        serde_json::json!([
            "result.in_process_at: expected a time with its offset, got \"2021-09-01 00:34:56\"; left empty"
        ])
    );

    let output = Run::new().run(&[
        "decode",
        "--kind",
        "17track-push",
        &corpus("carriers", "17track-push.naive-time.json"),
    ]);
    assert_ok(&output);
    let decoded: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(decoded["events"].as_array().unwrap().len(), 1);
    let warning = decoded["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("data.track_info.tracking.providers[0].events[0]: left out: time_iso"),
        "{warning}"
    );

    let output = Run::new().run(&[
        "decode",
        "--kind",
        "17track-trackinfo",
        &corpus("carriers", "17track-trackinfo.string-coordinates.json"),
    ]);
    assert_ok(&output);
    let decoded: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(decoded["events"][1]["location"]["lat"], 34.0522);
    assert_eq!(decoded["warnings"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn track_status_and_set_carrier_work_against_the_sandbox_carriers() {
    let w = ozon_world(300, Default::default()).await;
    assert_ok(&w.ozontrack(&["sync"]).await);
    let refused = w.ozontrack(&["track"]).await;
    let line = assert_input_error(&refused);
    assert!(line.contains("no carrier credentials"), "{line}");

    let c = &w.sandbox.state.world.credentials;
    let urls = &w.sandbox.urls;
    let env = [
        (
            "OZONTRACK__CARRIERS__SEVENTEEN_TRACK_BASE_URL",
            urls.seventeen_track.clone(),
        ),
        (
            "OZONTRACK__CARRIERS__SEVENTEEN_TRACK_TOKEN",
            c.seventeen_track_token.clone(),
        ),
        (
            "OZONTRACK__CARRIERS__RUSSIAN_POST_BASE_URL",
            urls.russian_post.clone(),
        ),
        (
            "OZONTRACK__CARRIERS__RUSSIAN_POST_LOGIN",
            c.russian_post_login.clone(),
        ),
        (
            "OZONTRACK__CARRIERS__RUSSIAN_POST_PASSWORD",
            c.russian_post_password.clone(),
        ),
        ("OZONTRACK__CARRIERS__CDEK_BASE_URL", urls.cdek.clone()),
        (
            "OZONTRACK__CARRIERS__CDEK_CLIENT_ID",
            c.cdek_client_id.clone(),
        ),
        (
            "OZONTRACK__CARRIERS__CDEK_CLIENT_SECRET",
            c.cdek_client_secret.clone(),
        ),
    ];
    let with_carriers = |args: &[&str]| {
        let mut command = w.run.command(args);
        command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        command.stdin(Stdio::null());
        async move {
            tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap()
        }
    };
    let tracked = with_carriers(&["--json", "track"]).await;
    assert_ok(&tracked);
    let report: serde_json::Value = serde_json::from_slice(&tracked.stdout).unwrap();
    assert!(report["legs_checked"].as_u64().unwrap() > 0, "{report}");
    assert!(report["hand_overs"].as_u64().unwrap() > 0, "{report}");

    // A parcel whose first mile handed over to a last-mile carrier by now.
    let parcel = w
        .visible()
        .find(|p| {
            p.mode == ozontrack_sandbox::Mode::Rfbs
                && p.first_mile.as_ref().is_some_and(|f| {
                    f.events.iter().any(|e| {
                        e.kind == ozontrack_sandbox::EventKind::HandedToLastMile
                            && e.visible_at <= w.now
                    })
                })
                && p.tracking_number_at(w.now) == p.first_mile.as_ref().unwrap().tracking_number
        })
        .expect("a handed-over rFBS parcel");
    let first = parcel.first_mile.as_ref().unwrap();
    let last = parcel.last_mile.as_ref().unwrap();
    let status = with_carriers(&[
        "status",
        &parcel.posting_number,
        "--json",
        "--lang",
        "ru",
        "--tz",
        "Europe/Moscow",
    ])
    .await;
    assert_ok(&status);
    let shown: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let legs = shown["legs"].as_array().unwrap();
    let last_leg = legs
        .iter()
        .find(|l| l["tracking_number"] == last.tracking_number.as_str())
        .unwrap_or_else(|| panic!("no last-mile leg in {shown}"));
    assert_eq!(last_leg["continues"], first.tracking_number.as_str());
    assert_eq!(last_leg["carrier"], last.carrier.code());
    let timeline = shown["timeline"].as_array().unwrap();
    assert!(timeline.len() > 3, "{shown}");
    let times: Vec<&str> = timeline
        .iter()
        .map(|e| e["occurred_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|p| p[0] <= p[1]), "{times:?}");
    assert!(timeline[0]["local_time"].as_str().is_some());

    // By tracking number too, as a table.
    let by_number = with_carriers(&["status", &last.tracking_number]).await;
    assert_ok(&by_number);
    assert!(stdout(&by_number).contains(&parcel.posting_number));
    // In Chinese: our words translated, never our codes (carrier texts stay as written).
    let zh = with_carriers(&["status", &parcel.posting_number, "--lang", "zh"]).await;
    assert_ok(&zh);
    let zh = stdout(&zh);
    for word in [
        "承运商",
        "运单号",
        "运输段",
        "头程",
        "尾程",
        "预计送达",
        "Ozon 向买家承诺",
    ] {
        assert!(zh.contains(word), "{word} missing from {zh}");
    }
    for code in ["first_mile", "last_mile", "in_transit", "marketplace"] {
        assert!(!zh.contains(code), "{code} in {zh}");
    }

    let set = with_carriers(&[
        "legs",
        "set-carrier",
        &parcel.posting_number,
        "4px",
        "--number",
        &first.tracking_number,
        "--by",
        "anna",
    ])
    .await;
    assert_ok(&set);
    let after = with_carriers(&["status", &parcel.posting_number, "--json"]).await;
    let shown: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    let corrected = shown["legs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["tracking_number"] == first.tracking_number.as_str())
        .unwrap();
    assert_eq!(corrected["carrier"], "4px");
    assert_eq!(corrected["carrier_source"], "manual");
    // A sync sees the number again and keeps the person's choice.
    assert_ok(&w.ozontrack(&["sync"]).await);
    let again = with_carriers(&["status", &parcel.posting_number, "--json"]).await;
    let shown: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let legs = shown["legs"].as_array().unwrap();
    assert_eq!(
        legs.iter()
            .filter(|l| l["tracking_number"] == first.tracking_number.as_str())
            .count(),
        1,
        "{shown}"
    );
    let unknown = with_carriers(&["legs", "set-carrier", &parcel.posting_number, "pigeon"]).await;
    assert!(assert_input_error(&unknown).contains("carrier: \"pigeon\" is not one of: "));

    // Every rule's verdict on the posting, with the built-in rules.
    let explained = w
        .ozontrack(&["rules", "explain", &parcel.posting_number, "--json"])
        .await;
    assert_ok(&explained);
    let verdicts: serde_json::Value = serde_json::from_slice(&explained.stdout).unwrap();
    let rules = verdicts["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 7, "{verdicts}");
    assert!(rules.iter().any(|r| r["rule"] == "stale"));

    // The rules over every posting: alerts to list, acknowledge and resolve.
    let evaluated = with_carriers(&["--json", "alerts", "evaluate"]).await;
    assert_ok(&evaluated);
    let round: serde_json::Value = serde_json::from_slice(&evaluated.stdout).unwrap();
    assert!(round["opened"].as_u64().unwrap() > 0, "{round}");
    let listed = w
        .ozontrack(&["--json", "alerts", "--open", "--limit", "0"])
        .await;
    assert_ok(&listed);
    let alerts: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let alerts = alerts["alerts"].as_array().unwrap().clone();
    assert!(!alerts.is_empty());
    assert!(
        alerts
            .iter()
            .all(|a| a["state"] == "open" && a["actions"].is_array())
    );
    let id = alerts[0]["id"].as_i64().unwrap().to_string();
    let acked = w
        .ozontrack(&[
            "alerts",
            "ack",
            &id,
            "--note",
            "called the carrier",
            "--by",
            "anna",
        ])
        .await;
    assert_ok(&acked);
    assert!(stdout(&acked).contains("acknowledged by anna"));
    let resolved = w
        .ozontrack(&["alerts", "resolve", &id, "--note", "refunded"])
        .await;
    assert_ok(&resolved);
    let open_now = w
        .ozontrack(&["--json", "alerts", "--open", "--limit", "0"])
        .await;
    let open_now: serde_json::Value = serde_json::from_slice(&open_now.stdout).unwrap();
    assert_eq!(
        open_now["alerts"].as_array().unwrap().len(),
        alerts.len() - 1
    );
    // A second round changes nothing that was resolved by hand.
    assert_ok(&with_carriers(&["alerts", "evaluate"]).await);
    let high = w.ozontrack(&["alerts", "--severity", "high_risk"]).await;
    assert_ok(&high);
    // In Russian: names, reasons and actions in Russian, carrier text quoted as it was.
    let ru = w
        .ozontrack(&["alerts", "--lang", "ru", "--limit", "0"])
        .await;
    assert_ok(&ru);
    let ru = stdout(&ru);
    for word in ["Правило", "Почему", "Что сделать"] {
        assert!(ru.contains(word), "{word} missing from {ru}");
    }
    let outside_quotes: String = ru
        .split('«')
        .map(|part| part.split_once('»').map_or(part, |(_, after)| after))
        .collect();
    for english in [
        "no new event",
        "threshold",
        "whitelist",
        "stale",
        "high_risk",
        "contact_carrier",
    ] {
        assert!(!outside_quotes.contains(english), "{english} in {ru}");
    }
    let missing = w
        .ozontrack(&["alerts", "ack", "999999", "--note", "x"])
        .await;
    assert!(assert_input_error(&missing).contains("no alert with id 999999"));
    let bad = w.ozontrack(&["alerts", "--severity", "scary"]).await;
    assert!(assert_input_error(&bad).contains("--severity"));

    // The penalty ledger: 3 points a violation by default, none counted twice.
    let ledger = w.ozontrack(&["--json", "penalties"]).await;
    assert_ok(&ledger);
    let ledger: serde_json::Value = serde_json::from_slice(&ledger.stdout).unwrap();
    let store = &ledger["stores"][0];
    let violations = store["violations"].as_array().unwrap();
    assert_eq!(
        store["total"].as_i64().unwrap(),
        3 * i64::try_from(violations.len()).unwrap(),
        "{ledger}"
    );
    assert!(
        !violations.is_empty(),
        "the world ships some FBS parcels with SunYou: {ledger}"
    );
    assert!(
        violations.iter().all(|v| v["carrier"] == "sunyou"),
        "{ledger}"
    );
    let level = match store["total"].as_i64().unwrap() {
        15.. => serde_json::json!("suspension"),
        12..15 => serde_json::json!("warning"),
        _ => serde_json::Value::Null,
    };
    assert_eq!(store["level"], level, "{ledger}");
    let standing = match store["total"].as_i64().unwrap() {
        15.. => "advertising suspended",
        12..15 => "close to suspension at 15",
        _ => "below the warning at 12",
    };
    let text = w.ozontrack(&["penalties", "--lang", "en"]).await;
    assert_ok(&text);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(&format!("in 90 days — {standing}")), "{text}");
    assert!(text.contains("Points") && text.contains("SunYou"), "{text}");
}

#[test]
fn the_rules_example_checks_clean_and_a_bad_rules_file_names_its_line() {
    let run = Run::new();
    let example = run.run(&["rules", "example"]);
    assert_ok(&example);
    std::fs::write(run.path("rules.toml"), &example.stdout).unwrap();
    assert_ok(&run.run(&["rules", "check", "rules.toml"]));
    std::fs::write(
        run.path("bad.toml"),
        "[stale]\nwarning_hours = 48\nhigh_risk_hours = 24\n",
    )
    .unwrap();
    let line = assert_input_error(&run.run(&["rules", "check", "bad.toml"]));
    assert!(
        line.contains("bad.toml, line 3") && line.contains("stale.high_risk_hours"),
        "{line}"
    );
}

#[test]
fn decode_reads_carrier_payloads_and_tracking_numbers() {
    let run = Run::new();
    std::fs::write(
        run.path("cdek.json"),
        r#"{"entity":{"cdek_number":"1234567890","statuses":[
            {"code":"NEW_CODE","name":"Новое","date_time":"2026-11-04T10:00:00+0300","city":"Казань"},
            {"code":"CREATED","name":"Создан","date_time":"2026-11-01T10:00:00+0300","city":"Москва"}]}}"#,
    )
    .unwrap();
    let output = run.run(&["decode", "--kind", "cdek-order", "cdek.json"]);
    assert_ok(&output);
    let decoded: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(decoded["number"], "1234567890");
    assert_eq!(decoded["events"][1]["raw_code"], "NEW_CODE");
    assert_eq!(decoded["events"][1]["sub_status"], "unknown");
    assert_eq!(decoded["events"][1]["location"]["city"], "Kazan");

    std::fs::write(
        run.path("push.json"),
        r#"{"event":"TRACKING_UPDATED","data":{}}"#,
    )
    .unwrap();
    let line = assert_input_error(&run.run(&["decode", "--kind", "17track-push", "push.json"]));
    assert!(
        line.contains("push.json") && line.contains("data.number"),
        "{line}"
    );

    let number = run.run(&["decode", "--kind", "tracking-number", "rr123456785cn"]);
    assert_ok(&number);
    let detected: serde_json::Value = serde_json::from_slice(&number.stdout).unwrap();
    assert_eq!(detected["check_digit"], "valid");
    assert_eq!(detected["candidates"][0]["carrier"], "china_post");
    let wrong = run.run(&["decode", "--kind", "tracking-number", "RR123456784CN"]);
    assert_ok(&wrong);
    let detected: serde_json::Value = serde_json::from_slice(&wrong.stdout).unwrap();
    assert_eq!(detected["check_digit"], "invalid");
    // Another country's post: the same verdict, said as a warning rather than a refusal; a
    // carrier's borrowed shape with a suffix that is no country has no check digit to judge.
    for (text, verdict) in [
        ("RB123456786US", "invalid"),
        ("AA473124828GB", "invalid"),
        ("UG123456789YP", "none"),
    ] {
        let output = run.run(&["decode", "--kind", "tracking-number", text]);
        assert_ok(&output);
        let detected: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(detected["check_digit"], verdict, "{text}: {detected}");
        assert!(detected["problem"].is_null(), "{text}: {detected}");
        assert_eq!(
            detected["warning"].is_string(),
            verdict == "invalid",
            "{detected}"
        );
    }
    let line = assert_input_error(&run.run(&["decode", "--kind", "tracking-number", "x"]));
    assert!(line.contains("tracking number"), "{line}");
}

#[test]
fn a_report_imported_exports_backs_up_verifies_and_restores_through_the_commands() {
    let run = Run::new();
    assert_ok(&run.run(&["init"]));
    // A seller without API access yet: the store is filled by the office's report.
    assert_ok(&run.run(&["stores", "add", "--name", "msk", "--no-api"]));
    let listed = run.run(&["--json", "stores", "list"]);
    let stores: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(stores[0]["api_access"], false);
    assert!(stores[0]["client_id"].is_null());
    let sync = run.run(&["sync", "--store", "msk"]);
    assert!(
        stderr(&sync).contains("has no Ozon API access yet"),
        "{}",
        stderr(&sync)
    );
    let report = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../reports/tests/reports/fbs-office.csv"
    );
    // A dry run says what would change and writes nothing.
    let dry = run.run(&[
        "--json",
        "import",
        "postings",
        report,
        "--store",
        "msk",
        "--dry-run",
    ]);
    assert_ok(&dry);
    let said: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(
        (said["new"].as_u64(), said["dry_run"].as_bool()),
        (Some(3), Some(true))
    );
    let imported = run.run(&["import", "postings", report, "--store", "msk"]);
    assert_ok(&imported);
    assert!(
        stdout(&imported).contains("added 3"),
        "{}",
        stdout(&imported)
    );
    // A file with mistakes: one line, every problem located, nothing written.
    let bad = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../reports/tests/reports/fbo-with-errors.csv"
    );
    let refused = run.run(&["import", "postings", bad, "--store", "msk", "--lang", "en"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("fbo-with-errors.csv:2: column \"Номер отправления\""),
        "{}",
        stderr(&refused)
    );

    let exported = run.run(&[
        "--json", "export", "postings", "--lang", "ru", "--out", "all.csv",
    ]);
    assert_ok(&exported);
    let said: serde_json::Value = serde_json::from_slice(&exported.stdout).unwrap();
    assert_eq!(
        (said["rows"].as_u64(), said["profile"].as_str()),
        (Some(3), Some("ru"))
    );
    let csv = std::fs::read_to_string(run.path("all.csv")).unwrap();
    assert!(csv.starts_with("\u{feff}\"Номер отправления\";"), "{csv}");
    assert!(csv.contains("0105861246-0049-2"));
    let unknown = run.run(&["export", "postings", "--columns", "nope"]);
    assert!(
        assert_input_error(&unknown)
            .contains("--columns: \"nope\" is not one of: posting_number, order_number, store")
    );

    let backup = run.run(&["--json", "backup", "--out", "saved"]);
    assert_ok(&backup);
    let said: serde_json::Value = serde_json::from_slice(&backup.stdout).unwrap();
    let file = said["file"].as_str().unwrap().to_owned();
    assert_ok(&run.run(&["backup", "verify", &file]));
    // Restoring over the database that has the data is refused; into an empty one it works.
    let refused = run.run(&["restore", &file]);
    assert!(assert_input_error(&refused).contains("holds stores or postings"));
    let restored = run.run(&[
        "--json",
        "--database-url",
        "sqlite://restored.db",
        "restore",
        &file,
    ]);
    assert_ok(&restored);
    let listed = run.run(&[
        "--json",
        "--database-url",
        "sqlite://restored.db",
        "stores",
        "list",
    ]);
    assert_ok(&listed);
    assert!(stdout(&listed).contains("\"msk\""), "{}", stdout(&listed));

    // The key comes: the store keeps its postings and its first sync is due.
    let connected = run.run_with_stdin(
        &[
            "stores",
            "set-key",
            "msk",
            "--client-id",
            "77",
            "--api-key-stdin",
        ],
        "k3y\n",
        &[],
    );
    assert_ok(&connected);
    let listed = run.run(&["--json", "stores", "list"]);
    let stores: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        (
            stores[0]["api_access"].as_bool(),
            stores[0]["client_id"].as_u64()
        ),
        (Some(true), Some(77))
    );
    assert!(stores[0]["next_sync_at"].is_string(), "{stores}");
    let exported = run.run(&["--json", "export", "postings", "--out", "again.csv"]);
    let said: serde_json::Value = serde_json::from_slice(&exported.stdout).unwrap();
    assert_eq!(said["rows"], 3, "history kept");
}
