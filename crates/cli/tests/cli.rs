//! The `ozontrack` binary from the outside: each test runs the real executable in a fresh
//! directory and reads its stdout, stderr and exit code as a script would.

// In tests a panic is the failure report, so helpers unwrap freely.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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
        let mut command = Command::new(env!("CARGO_BIN_EXE_ozontrack"));
        command.args(args).current_dir(self.dir.path());
        // Tests must not see the developer's own configuration.
        for (key, _) in std::env::vars() {
            if key.starts_with("OZONTRACK__") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command
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
    let json = run.run(&["stores", "list", "--json"]);
    let stores: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(stores[0]["name"], "Moscow shop");
    assert_eq!(stores[1]["client_id"], 123_456);
    assert_eq!(stores[1]["language"], "ru");
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
    /// Starts a serving command and returns it with the first line of its stdout.
    fn spawn_first_line(&self, args: &[&str]) -> (Running, String) {
        use std::io::BufRead;
        let mut child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
}

/// A raw HTTP POST with std only; returns the status code.
fn post_status(base: &str, path: &str, headers: &[(&str, String)], body: &str) -> u16 {
    use std::io::Read;
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
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
fn demo_creates_a_demo_store_pointing_at_the_fake_ozon_in_its_own_database() {
    let run = Run::new();
    let (_demo, line) = run.spawn_first_line(&["--json", "demo", "--parcels", "100"]);
    let demo: serde_json::Value = serde_json::from_str(&line).unwrap();
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
