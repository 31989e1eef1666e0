//! The short chaos run, as the suite runs it: three `serve` processes on one PostgreSQL follow a
//! sandbox world's clock through two simulated days while one of them is killed every few
//! seconds and the fakes throttle, fail, hang and cut answers; `bench chaos` then scores the
//! database against the world's truth, its open alerts against an undisturbed run's and the
//! seller's channels against its outbox, and every measure must be zero.
#![allow(clippy::unwrap_used)]

mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_killed_at_random_under_faults_end_where_the_truth_is() {
    let (Some(pg), Some(reference)) = (
        ozontrack_testkit::postgres().await,
        ozontrack_testkit::postgres().await,
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = support::ozontrack(
        dir.path(),
        &[
            "bench",
            "chaos",
            "--database-url",
            &pg.url,
            "--reference-database-url",
            &reference.url,
            "--processes",
            "3",
            "--days",
            "2",
            "--speed",
            "2880",
            "--parcels",
            "300",
            "--kill-every",
            "3",
            "--seed",
            "7",
        ],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["clean"], true, "{stdout}");
    assert!(last["kills"].as_u64().unwrap() >= 5, "{stdout}");
    assert!(last["events_expected"].as_u64().unwrap() > 100, "{stdout}");
    assert!(last["open_alerts"].as_u64().unwrap() > 0, "{stdout}");
    // The seller's webhook and chat heard the alerts, each message once by its key.
    assert!(last["messages"].as_u64().unwrap() > 0, "{stdout}");
    assert_eq!(last["messages"], last["messages_reached"], "{stdout}");
    assert_eq!(last["webhooks_lost"], 0, "{stdout}");
    // The leases were watched while the nodes died.
    assert!(last["leases_seen"].as_u64().unwrap() > 0, "{stdout}");
    assert!(
        last["postings_expected"].as_u64().unwrap() > 100,
        "{stdout}"
    );
}
