//! Running workers under supervision: each worker runs its rounds on its own interval (sooner
//! when a round found work, at once when woken), each round in a task of its own so that a
//! panic is caught, logged with its cause and followed by a restart after a back-off; a worker
//! that keeps panicking is given up and reported, so the process can stop with an error instead
//! of limping on. Stopping cancels a round in flight after a bounded grace: every write a round
//! makes is one transaction, so dropping it at any await loses nothing but the round (its leases
//! run out and the work is claimed again).

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::Instrument as _;

/// One round of an installation-wide chore: `work` runs only if this process got the chore
/// (due at `now` and free), holding it until `until`, and the chore is due again at `next`
/// whatever `work` gave. `None` when another process holds it or it is not due.
pub async fn chore_round<D, T, E>(
    db: &D,
    chore: ozontrack_db::Chore,
    owner: &ozontrack_db::LeaseOwner,
    (now, until, next): (
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
    ),
    work: impl Future<Output = Result<T, E>>,
) -> Result<Option<T>, E>
where
    D: ozontrack_db::Leases,
    E: From<ozontrack_db::DbError>,
{
    if !db.claim_one(chore, owner, now, until).await? {
        return Ok(None);
    }
    let done = work.await;
    db.release(chore, owner, Some(next)).await?;
    done.map(Some)
}

/// One kind of background work.
pub trait Worker: Send + Sync + 'static {
    /// The worker's name in logs and health reports (`sync`, `tracking`, …).
    fn name(&self) -> &'static str;

    /// One round: whether it found work (then another round follows at once). A round logs
    /// its own failures; only a panic is the supervisor's business.
    fn round(&self) -> impl Future<Output = bool> + Send;
}

/// When a worker runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The pause after a round that found nothing to do.
    pub every: Duration,
    /// Cuts the pause short when notified (a push arrived, say).
    pub wake: Option<Arc<Notify>>,
}

impl Schedule {
    pub fn every(every: Duration) -> Self {
        Self { every, wake: None }
    }

    #[must_use]
    pub fn woken_by(mut self, wake: Arc<Notify>) -> Self {
        self.wake = Some(wake);
        self
    }
}

/// How the supervisor treats failing workers and stopping.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How long a round in flight may take to finish once asked to stop.
    pub grace: Duration,
    /// The first wait before restarting a worker that panicked; doubled per panic in a row.
    pub restart_after: Duration,
    pub max_restart_after: Duration,
    /// Panics in a row after which the worker is given up.
    pub give_up_after: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(10),
            restart_after: Duration::from_secs(1),
            max_restart_after: Duration::from_secs(60),
            give_up_after: 5,
        }
    }
}

/// What the supervisor knows of one worker, for logs, `/healthz` and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerHealth {
    pub name: &'static str,
    /// Still running rounds (false once stopped or given up).
    pub alive: bool,
    pub rounds: u64,
    pub panics: u64,
    /// Panics since the last round that finished.
    pub panics_in_a_row: u32,
    /// What the last panic said.
    pub last_panic: Option<String>,
    pub given_up: bool,
}

/// Running workers.
#[derive(Debug)]
pub struct Supervisor {
    policy: Policy,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    health: Vec<Arc<Mutex<WorkerHealth>>>,
    gave_up: Arc<Notify>,
}

impl Supervisor {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            stop: watch::channel(false).0,
            tasks: Vec::new(),
            health: Vec::new(),
            gave_up: Arc::new(Notify::new()),
        }
    }

    /// Starts `worker` on `schedule`.
    pub fn spawn<W: Worker>(&mut self, worker: W, schedule: Schedule) {
        let health = Arc::new(Mutex::new(WorkerHealth {
            name: worker.name(),
            alive: true,
            ..WorkerHealth::default()
        }));
        self.health.push(Arc::clone(&health));
        let run = Run {
            worker: Arc::new(worker),
            schedule,
            policy: self.policy,
            stop: self.stop.subscribe(),
            health,
            gave_up: Arc::clone(&self.gave_up),
        };
        self.tasks.push(tokio::spawn(run.run()));
    }

    /// Every worker's health now.
    pub fn health(&self) -> Vec<WorkerHealth> {
        self.health
            .iter()
            .map(|h| h.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }

    /// A handle that reads the workers' health from elsewhere (the HTTP server).
    pub fn health_handle(&self) -> HealthHandle {
        HealthHandle(self.health.clone())
    }

    /// Resolves when a worker has been given up after panicking again and again.
    pub fn gave_up(&self) -> impl Future<Output = ()> + Send + 'static {
        let notify = Arc::clone(&self.gave_up);
        let health = self.health_handle();
        async move {
            loop {
                let notified = notify.notified();
                if health.workers().iter().any(|w| w.given_up) {
                    return;
                }
                notified.await;
            }
        }
    }

    /// Stops every worker: a round in flight gets the policy's grace to finish, then is
    /// cancelled. Returns within about that grace.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            // A worker's loop ends within the grace; past that (and a margin) it is aborted.
            let aborter = task.abort_handle();
            if tokio::time::timeout(self.policy.grace + Duration::from_secs(1), task)
                .await
                .is_err()
            {
                aborter.abort();
            }
        }
    }
}

/// Reads the workers' health.
#[derive(Debug, Clone, Default)]
pub struct HealthHandle(Vec<Arc<Mutex<WorkerHealth>>>);

impl HealthHandle {
    pub fn workers(&self) -> Vec<WorkerHealth> {
        self.0
            .iter()
            .map(|h| h.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }
}

/// One worker's loop.
struct Run<W> {
    worker: Arc<W>,
    schedule: Schedule,
    policy: Policy,
    stop: watch::Receiver<bool>,
    health: Arc<Mutex<WorkerHealth>>,
    gave_up: Arc<Notify>,
}

impl<W: Worker> Run<W> {
    fn update(&self, change: impl FnOnce(&mut WorkerHealth)) {
        change(&mut self.health.lock().unwrap_or_else(PoisonError::into_inner));
    }

    async fn run(mut self) {
        let name = self.worker.name();
        loop {
            if *self.stop.borrow() {
                break;
            }
            let worker = Arc::clone(&self.worker);
            let span = tracing::info_span!("round", worker = name);
            let mut round = tokio::spawn(async move { worker.round().await }.instrument(span));
            let finished = tokio::select! {
                joined = &mut round => Some(joined),
                _ = self.stop.changed() => {
                    // Asked to stop mid-round: let it finish within the grace, else drop it.
                    if tokio::time::timeout(self.policy.grace, &mut round).await.is_err() {
                        round.abort();
                        tracing::warn!(worker = name, "a round was cancelled at shutdown");
                    }
                    None
                }
            };
            let Some(joined) = finished else { break };
            let pause = match joined {
                Ok(found_work) => {
                    self.update(|h| {
                        h.rounds += 1;
                        h.panics_in_a_row = 0;
                    });
                    if found_work {
                        Duration::ZERO
                    } else {
                        self.schedule.every
                    }
                }
                Err(e) if e.is_panic() => {
                    let cause = panic_message(e.into_panic());
                    let mut in_a_row = 0;
                    self.update(|h| {
                        h.panics += 1;
                        h.panics_in_a_row += 1;
                        in_a_row = h.panics_in_a_row;
                        h.last_panic = Some(cause.clone());
                    });
                    if in_a_row >= self.policy.give_up_after {
                        tracing::error!(worker = name, panics = in_a_row, cause = %cause,
                            "a worker keeps panicking and is given up");
                        self.update(|h| h.given_up = true);
                        self.gave_up.notify_waiters();
                        break;
                    }
                    let wait = self
                        .policy
                        .restart_after
                        .saturating_mul(1 << (in_a_row - 1).min(16))
                        .min(self.policy.max_restart_after);
                    tracing::error!(worker = name, cause = %cause, restart_in = ?wait,
                        "a worker panicked; restarting it");
                    wait
                }
                // Cancelled from outside (the runtime is shutting down).
                Err(_) => break,
            };
            let wake = self.schedule.wake.clone();
            let woken = async move {
                match wake {
                    Some(notify) => notify.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.stop.changed() => break,
                () = woken => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
        self.update(|h| h.alive = false);
    }
}

/// What a panic said.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(
            || "a panic without a message".to_owned(),
            |s| (*s).to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Panics in its first `panics` rounds, then counts its rounds.
    struct Flaky {
        panics: u32,
        rounds: Arc<AtomicU32>,
    }

    impl Worker for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }

        async fn round(&self) -> bool {
            let n = self.rounds.fetch_add(1, Ordering::SeqCst);
            assert!(n >= self.panics, "the feed answered nonsense in round {n}");
            false
        }
    }

    /// A round that never ends on its own.
    struct Endless;

    impl Worker for Endless {
        fn name(&self) -> &'static str {
            "endless"
        }

        async fn round(&self) -> bool {
            std::future::pending::<()>().await;
            true
        }
    }

    fn quick() -> Policy {
        Policy {
            grace: Duration::from_millis(200),
            restart_after: Duration::from_millis(10),
            max_restart_after: Duration::from_millis(50),
            give_up_after: 3,
        }
    }

    #[tokio::test]
    async fn a_panicking_worker_is_logged_with_its_cause_and_runs_again() {
        let (_guard, logs) = ozontrack_testkit::logs::capture();
        let rounds = Arc::new(AtomicU32::new(0));
        let mut supervisor = Supervisor::new(quick());
        supervisor.spawn(
            Flaky {
                panics: 2,
                rounds: Arc::clone(&rounds),
            },
            Schedule::every(Duration::from_millis(5)),
        );
        while rounds.load(Ordering::SeqCst) < 6 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let health = supervisor.health().pop().unwrap();
        assert_eq!(health.panics, 2);
        assert!(health.alive && !health.given_up);
        assert!(health.rounds >= 3, "{health:?}");
        assert!(
            health
                .last_panic
                .as_deref()
                .unwrap()
                .contains("the feed answered nonsense in round 1")
        );
        supervisor.stop().await;
        let text = logs.text();
        assert!(
            text.contains("a worker panicked; restarting it")
                && text.contains("the feed answered nonsense in round 0"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_worker_that_keeps_panicking_is_given_up_and_reported() {
        let mut supervisor = Supervisor::new(quick());
        supervisor.spawn(
            Flaky {
                panics: u32::MAX,
                rounds: Arc::default(),
            },
            Schedule::every(Duration::from_millis(5)),
        );
        tokio::time::timeout(Duration::from_secs(5), supervisor.gave_up())
            .await
            .expect("the supervisor reports a worker it gave up");
        let health = supervisor.health().pop().unwrap();
        assert!(health.given_up && !health.alive);
        assert_eq!(health.panics, 3);
        supervisor.stop().await;
    }

    #[tokio::test]
    async fn stopping_during_a_round_that_never_ends_returns_within_the_grace() {
        let mut supervisor = Supervisor::new(quick());
        supervisor.spawn(Endless, Schedule::every(Duration::from_secs(60)));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = std::time::Instant::now();
        supervisor.stop().await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "stopping took {took:?}");
    }

    #[tokio::test]
    async fn a_woken_worker_runs_at_once_instead_of_after_its_interval() {
        let rounds = Arc::new(AtomicU32::new(0));
        let wake = Arc::new(Notify::new());
        let mut supervisor = Supervisor::new(quick());
        supervisor.spawn(
            Flaky {
                panics: 0,
                rounds: Arc::clone(&rounds),
            },
            Schedule::every(Duration::from_secs(3600)).woken_by(Arc::clone(&wake)),
        );
        while rounds.load(Ordering::SeqCst) < 1 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        wake.notify_one();
        tokio::time::timeout(Duration::from_secs(2), async {
            while rounds.load(Ordering::SeqCst) < 2 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .expect("woken within two seconds, not after an hour");
        supervisor.stop().await;
    }
}
