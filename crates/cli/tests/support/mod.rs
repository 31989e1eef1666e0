//! What the binary's test files share: the real `ozontrack` run in a directory of the test's,
//! blind to the developer's own configuration.

#![allow(dead_code)]

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// `ozontrack ARGS` in `dir`, without `OZONTRACK__*` or `RUST_LOG` from the environment.
pub(crate) fn ozontrack(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ozontrack"));
    command.args(args).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("OZONTRACK__") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
}

/// A running `ozontrack demo` in a directory of the test's, killed when dropped.
pub(crate) struct Demo {
    child: Child,
    /// Its first line: the URLs, credentials and API token as JSON.
    pub(crate) started: serde_json::Value,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ozontrack --json demo --parcels PARCELS` in `dir`, its dashboard on a free port.
pub(crate) fn demo(dir: &Path, parcels: u32) -> Demo {
    let mut child = ozontrack(
        dir,
        &[
            "--json",
            "demo",
            "--parcels",
            &parcels.to_string(),
            "--dashboard",
            "127.0.0.1:0",
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    Demo {
        started: serde_json::from_str(&line).unwrap(),
        child,
    }
}
