//! ozontrack's use cases and the worker loops that run them. The CLI and the server only parse
//! what comes in, call one function here and render what comes out; each worker is a small loop
//! around a `run_once` that tests drive step by step.
//!
//! Use cases:
//! - [`trail`]: read a posting's whole trail; find a posting by what a person types.
//! - [`alerts`]: acknowledge or resolve an alert.
//! - [`legs`]: correct a leg's carrier by hand.
//! - [`upload`]: check and send a CSV of tracking numbers, one result per row.
//! - [`access`]: API tokens and dashboard users with their roles and stores, one-time login
//!   links, dashboard passwords (hashed off the runtime).
//! - [`stores`]: a store's life: add, set its key, pause, resume, rename, remove.
//! - [`audit`]: the audit trail every use case that writes appends to, and reading it.
//! - [`estimate`]: arrival windows from each lane's history.
//! - [`lists`]: a page of the dashboard's postings or alerts with how many its filter matches.
//! - [`penalties`]: each store's penalty points in its rolling window and the threshold reached.
//! - [`export`]: every posting a filter matches out to CSV or XLSX, in batches, no row limit.
//! - [`import`]: the seller office's postings report in, as postings of a store.
//! - [`backup`]: a consistent copy of the database while it runs; restore; verify.
//! - [`evidence`]: a posting's dispute evidence pack; the seller's files for it; checking a
//!   pack; and the worker building the pack of every posting entering a dispute.
//!
//! Workers (and the use cases they run):
//! - [`sync`]: sync a store's postings from Ozon (plan, resumable scans, watermark).
//! - [`push`]: record Ozon pushes and turn them into re-fetches.
//! - [`track`]: follow each leg at its carrier on an adaptive schedule.
//! - [`risk`]: evaluate the rules, move alerts through their lifecycle (writing the messages
//!   they imply into the outbox), explain a posting.
//! - [`notify`]: send the outbox (rate windows, digests, quiet hours, verdicts), tell of feed
//!   outages and daily summaries; and the destinations' use cases (add, test, retry, preview).
//! - [`supervise`]: run workers on their own intervals, restart one that panics, stop them
//!   within a bound.
//!
//! Nothing here parses HTTP or command lines.

pub mod access;
pub mod alerts;
pub mod audit;
pub mod backup;
pub mod estimate;
pub mod evidence;
pub mod export;
pub mod gauges;
pub mod import;
pub mod legs;
pub mod limits;
pub mod lists;
pub mod notify;
pub mod penalties;
mod problem;
pub mod push;
pub mod risk;
pub mod stores;
pub mod supervise;
pub mod sync;
pub mod track;
pub mod trail;
pub mod upload;

pub use problem::Problem;
pub use push::{PushRound, PushWorker};
pub use risk::{Evaluator, RiskReport, RiskSettings, RulesBook};
pub use sync::{Progress, SyncError, SyncReport, SyncSettings, Syncer};
pub use track::{Feed, Feeds, TrackError, TrackReport, TrackSettings, Tracker};

use ozontrack_db::DbError;

/// Why a use case did not do what was asked, in terms every edge can answer with: the API as
/// a status and its JSON error, the dashboard as a page, the CLI as an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing of that kind the caller may see (another store's answers the same).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The request itself is wrong; `field` names what to fix.
    #[error("{field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: Problem,
    },
    /// The request is right, but what it names is not in a state that allows it (a buyer chat
    /// cannot be tested, a sent message is not sent again).
    #[error("{field}: {problem}")]
    Conflict {
        field: &'static str,
        problem: Problem,
    },
    /// A part this process does not run (no Ozon client for uploads, say).
    #[error("{0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Ozon(#[from] ozontrack_ozon::OzonError),
    /// A file could not be written, or a file read in has problems (each located).
    #[error(transparent)]
    Report(#[from] ozontrack_reports::ReportError),
}

/// An option a file was refused (`--columns`, an import's zone or mode) is a refusal of the
/// request like any other, worded by the edges from its [`Problem`].
impl From<ozontrack_reports::Refused> for Error {
    fn from(refused: ozontrack_reports::Refused) -> Self {
        Error::invalid(refused.option, refused.refusal)
    }
}

impl Error {
    /// The request's `field` is wrong.
    pub fn invalid(field: &'static str, problem: impl Into<Problem>) -> Self {
        Error::Invalid {
            field,
            problem: problem.into(),
        }
    }

    /// What the request's `field` names cannot do that now.
    pub fn conflict(field: &'static str, problem: impl Into<Problem>) -> Self {
        Error::Conflict {
            field,
            problem: problem.into(),
        }
    }
}

impl From<SyncError> for Error {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Store(db) | SyncError::NoApiAccess(db) => Error::Db(db),
            SyncError::Ozon(ozon) => Error::Ozon(ozon),
            other => Error::invalid("store", Problem::Said(other.to_string())),
        }
    }
}

/// An error with its causes on one line, each cause once (library errors often repeat their
/// source in their own message): what a log line shows, so a failing database call names the
/// real reason, not only "database error".
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut said = String::new();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self.0);
        while let Some(e) = cause {
            let text = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if !text.is_empty() && !said.contains(&text) {
                if !said.is_empty() {
                    said.push_str(": ");
                }
                said.push_str(&text);
            }
            cause = e.source();
        }
        f.write_str(&said)
    }
}

/// Who did something, as alert histories and manual carrier choices record it: a person, or
/// an API token (with the person it says it acts for, which the token's name vouches for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

/// The longest name an actor may give.
const MAX_ACTOR: usize = 64;

impl Actor {
    /// A person by name (a dashboard user, the `--by` of a command, `$USER`).
    pub fn person(name: &str) -> Result<Self, Error> {
        Ok(Self(checked_name("by", name)?.to_owned()))
    }

    /// Someone at the installation's console, by their login name (`cli:NAME`).
    pub fn console(user: &str) -> Result<Self, Error> {
        Ok(Self(format!("cli:{}", checked_name("user", user)?)))
    }

    /// An API token by its name, acting for `on_behalf` when the request says so; the token's
    /// name is always recorded, so a token cannot pass for a person.
    pub fn token(token: &str, on_behalf: Option<&str>) -> Result<Self, Error> {
        let token = checked_name("token", token)?;
        Ok(Self(match on_behalf {
            Some(person) => format!("token:{token} ({})", checked_name("by", person)?),
            None => format!("token:{token}"),
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Wakes the idle workers of other processes for `what` (LISTEN/NOTIFY on PostgreSQL). A hint:
/// the rows are already written and a poll finds them, so a failure costs latency only and is
/// logged, never returned.
pub(crate) async fn wake_others<D: ozontrack_db::Database>(db: &D, what: ozontrack_db::Wake) {
    if let Err(e) = db.wake(what).await {
        tracing::warn!(error = %Chain(&e), wake = what.channel(), "could not wake other processes");
    }
}

fn checked_name<'a>(field: &'static str, name: &'a str) -> Result<&'a str, Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid(field, Problem::Empty));
    }
    if name.chars().count() > MAX_ACTOR {
        return Err(Error::invalid(field, Problem::TooLong { max: MAX_ACTOR }));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(field, Problem::ControlCharacters));
    }
    Ok(name)
}

/// What a person wrote about what they did: trimmed, not empty, at most 2000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(String);

/// The longest note an alert's history keeps.
pub const MAX_NOTE: usize = 2000;

impl Note {
    pub fn parse(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::invalid("note", Problem::Empty));
        }
        if text.chars().count() > MAX_NOTE {
            return Err(Error::invalid("note", Problem::TooLong { max: MAX_NOTE }));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error communicating with database: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("storage failed")]
    struct Outer(#[source] Repeats);

    #[test]
    fn a_chain_says_every_cause_once() {
        let e = Outer(Repeats(std::io::Error::other("connection refused")));
        assert_eq!(
            Chain(&e).to_string(),
            "storage failed: error communicating with database: connection refused"
        );
    }

    #[test]
    fn a_token_is_always_named_beside_the_person_it_acts_for() {
        assert_eq!(Actor::token("erp", None).unwrap().as_str(), "token:erp");
        assert_eq!(
            Actor::token("erp", Some(" anna ")).unwrap().as_str(),
            "token:erp (anna)"
        );
        assert!(Actor::person("").is_err());
        assert!(Actor::person(&"x".repeat(65)).is_err());
    }

    #[test]
    fn notes_are_trimmed_bounded_and_never_empty() {
        assert_eq!(
            Note::parse("  called CDEK ").unwrap().as_str(),
            "called CDEK"
        );
        assert!(Note::parse("   ").is_err());
        assert!(Note::parse(&"я".repeat(2001)).is_err());
        assert!(Note::parse(&"я".repeat(2000)).is_ok());
    }
}
