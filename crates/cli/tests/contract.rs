//! A contract check nobody here wrote: schemathesis (from PyPI) runs every check on every
//! operation of a running demo's `/api/openapi.json`, with an API token. No 5xx, no answer the
//! document does not describe, no schema-valid request refused (the two operations exempted
//! from that last check, and why, are in `tools/schemathesis.toml`).
//!
//! Without schemathesis the test says so and passes, except under `CI`, where `.ci/run`
//! installs it into `target/schemathesis/` and its absence is a failure.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

mod support;

/// The schemathesis CLI: `$OZONTRACK_SCHEMATHESIS`, else the one `.ci/run` installs.
fn schemathesis() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("OZONTRACK_SCHEMATHESIS") {
        return Some(PathBuf::from(path));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    Some(target.join("schemathesis/bin/schemathesis")).filter(|p| p.exists())
}

#[test]
fn the_api_holds_to_its_openapi_document_under_schemathesis() {
    let Some(schemathesis) = schemathesis() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but schemathesis is missing (.ci/run installs it into target/schemathesis)"
        );
        eprintln!("skipped: no schemathesis (set OZONTRACK_SCHEMATHESIS or run .ci/run)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let running = support::demo(dir.path(), 300);
    let demo = &running.started;
    let server = demo["server"].as_str().unwrap();
    let token = demo["api_token"].as_str().unwrap();
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/schemathesis.toml");
    let run = std::process::Command::new(&schemathesis)
        .arg("--config-file")
        .arg(&config)
        .args(["--no-color", "run"])
        .arg(format!("{server}/api/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // One worker and a fixed seed: the same cases every run, reproducible from the log.
        .args(["--workers", "1", "--seed", "20261201"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
