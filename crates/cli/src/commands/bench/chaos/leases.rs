//! Watching the nodes' leases from outside while they are killed: a lease is never longer than
//! its term (one a process could keep while it hangs), and a killed process's leases all end
//! within a term of its death, so its work comes back to the others. Sampled every half second
//! during the run from the lease columns of every table work is claimed on.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{Chore, Leasable, RiskRound, SqlDatabase};
use ozontrack_domain::{DestinationId, LegId, StoreId};

/// A kind of work: its table (and row, for chores that differ), how long its lease lasts in real
/// seconds, and whether the lease is counted on real time (the dispatcher's, the backup's)
/// rather than the world's clock.
#[derive(Debug)]
struct Kind {
    table: &'static str,
    row: Option<i64>,
    term_secs: f64,
    real_time: bool,
}

impl Kind {
    fn of<K: Leasable>(term_secs: f64, real_time: bool) -> Self {
        Self {
            table: K::TABLE,
            row: None,
            term_secs,
            real_time,
        }
    }

    fn chore(chore: Chore, term_secs: f64, real_time: bool) -> Self {
        Self {
            row: Some(chore.0),
            ..Self::of::<Chore>(term_secs, real_time)
        }
    }
}

/// What the watch saw.
#[derive(Debug, Default)]
pub(super) struct LeaseWatch {
    pub samples: u64,
    /// Leases seen held, counted once per sample.
    pub seen: u64,
    /// Leases that ran further ahead than their term.
    pub too_long: u64,
    /// Leases of a killed process still running a term after its death.
    pub outlived: u64,
    pub examples: Vec<String>,
    /// Killed processes: their pid and when they died, by the world's clock and by real time.
    dead: Vec<(u32, DateTime<Utc>, DateTime<Utc>)>,
    kinds: Vec<Kind>,
}

impl LeaseWatch {
    /// `setting` gives the nodes' configured lease of a kind of work, in real seconds.
    pub(super) fn new(setting: impl Fn(&str) -> Option<f64>) -> anyhow::Result<Self> {
        let setting = |name: &str| {
            setting(name).with_context(|| format!("the chaos nodes are given no {name}"))
        };
        // The queue-depth count, a round of evidence packs and one of export lines hold their
        // chores for their terms of real time in the world's clock; the backup, which copies
        // real files, on the real clock.
        let term = |d: chrono::Duration| d.num_milliseconds() as f64 / 1000.0;
        let kinds = vec![
            Kind::of::<StoreId>(setting("SYNC__LEASE_SECS")?, false),
            Kind::of::<LegId>(setting("TRACKING__LEASE_SECS")?, false),
            Kind::of::<RiskRound>(setting("RISK__LEASE_SECS")?, false),
            Kind::of::<DestinationId>(setting("NOTIFY__LEASE_SECS")?, true),
            Kind::chore(
                Chore::GAUGES,
                term(ozontrack_engine::gauges::GAUGES_TERM),
                false,
            ),
            Kind::chore(
                Chore::DISPUTES,
                term(ozontrack_engine::evidence::DISPUTES_TERM),
                false,
            ),
            Kind::chore(
                Chore::EXPORT_LINES,
                term(ozontrack_engine::export::LINES_TERM),
                false,
            ),
            Kind::chore(
                Chore::BACKUP,
                term(ozontrack_engine::backup::BACKUP_TERM),
                true,
            ),
        ];
        Ok(Self {
            kinds,
            ..Self::default()
        })
    }

    pub(super) fn died(&mut self, pid: u32, world: DateTime<Utc>, real: DateTime<Utc>) {
        self.dead.push((pid, world, real));
    }

    pub(super) fn clean(&self) -> bool {
        self.samples > 0 && self.too_long + self.outlived == 0
    }

    fn note(&mut self, example: String) {
        if self.examples.len() < 8 {
            self.examples.push(example);
        }
    }

    /// Reads every lease held now. `world` and `real` are the two clocks' readings, `speed`
    /// the world's; `slack` (real time) covers the nodes' own readings of the world's clock.
    pub(super) async fn sample(
        &mut self,
        db: &SqlDatabase,
        world: DateTime<Utc>,
        real: DateTime<Utc>,
        speed: f64,
        slack: std::time::Duration,
    ) -> anyhow::Result<()> {
        let held = db.held_leases().await?;
        self.samples += 1;
        let span = |secs: f64, real_time: bool| {
            let secs = if real_time { secs } else { secs * speed };
            Duration::milliseconds((secs * 1000.0) as i64)
        };
        for lease in held {
            let (table, owner, until) = (lease.table, lease.owner, lease.until);
            let kind = self
                .kinds
                .iter()
                .find(|k| k.table == table && k.row.is_none_or(|row| row == lease.id))
                .with_context(|| format!("no lease term is known for {table} {}", lease.id))?;
            let (term_secs, real_time) = (kind.term_secs, kind.real_time);
            let now = if real_time { real } else { world };
            let term = span(term_secs, real_time);
            let slack = span(slack.as_secs_f64(), real_time);
            self.seen += 1;
            if until > now + term + slack {
                self.too_long += 1;
                self.note(format!(
                    "{table}: {} holds a lease {} s ahead (term {term_secs} s)",
                    owner.as_str(),
                    (until - now).num_seconds()
                ));
            }
            // Owners are `host:pid:start` (a push round's add `:pushes`).
            let pid = owner
                .as_str()
                .split(':')
                .nth(1)
                .and_then(|pid| pid.parse::<u32>().ok());
            let killed = self
                .dead
                .iter()
                .filter(|(dead, ..)| pid == Some(*dead))
                .map(|(_, world, real)| if real_time { *real } else { *world })
                .max();
            if let Some(death) = killed
                && now > death + term + slack
                && until > now
            {
                self.outlived += 1;
                self.note(format!(
                    "{table}: {}, killed at {death}, still holds a lease until {until}",
                    owner.as_str()
                ));
            }
        }
        Ok(())
    }
}
