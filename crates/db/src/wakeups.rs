//! Wake-ups across processes: work written by one process (a push received by an API node, a
//! leg to check now, a message to send) wakes the idle workers of every other process through
//! PostgreSQL's LISTEN/NOTIFY, instead of waiting for their next poll. On SQLite (one machine,
//! usually one process) there is nothing to send: the in-process wake and the poll find the
//! work. A wake-up is a hint; the rows are the truth, so a lost one costs only latency.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::DbError;
use crate::sql::{Db, SqlDatabase};

/// The kinds of waiting work a NOTIFY announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wake {
    /// An Ozon push was recorded.
    Pushes,
    /// A leg is due for a check now.
    Legs,
    /// A message entered the outbox.
    Outbox,
}

impl Wake {
    /// The PostgreSQL channel.
    pub fn channel(self) -> &'static str {
        match self {
            Wake::Pushes => "ozontrack_pushes",
            Wake::Legs => "ozontrack_legs",
            Wake::Outbox => "ozontrack_outbox",
        }
    }
}

/// Sending and listening for wake-ups.
pub trait Wakeups: Clone + Send + Sync + 'static {
    /// Tells every listening process that work of this kind is waiting.
    fn wake(&self, what: Wake) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Listens for wake-ups until dropped, notifying each kind's `Notify` (as a worker's
    /// schedule waits on it); reconnects after a lost connection and then wakes everyone, as
    /// wake-ups may have been missed meanwhile. `None` on SQLite.
    fn listen(&self, wakes: Vec<(Wake, Arc<Notify>)>) -> Option<Listening>;
}

/// A running listener; stops when dropped.
#[derive(Debug)]
pub struct Listening(JoinHandle<()>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Wakeups for SqlDatabase {
    async fn wake(&self, what: Wake) -> Result<(), DbError> {
        if let Db::Postgres(pool) = &self.db {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(what.channel())
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    fn listen(&self, wakes: Vec<(Wake, Arc<Notify>)>) -> Option<Listening> {
        let Db::Postgres(pool) = &self.db else {
            return None;
        };
        let pool = pool.clone();
        Some(Listening(tokio::spawn(async move {
            let channels: Vec<&str> = wakes.iter().map(|(w, _)| w.channel()).collect();
            let wake_all = || wakes.iter().for_each(|(_, n)| n.notify_one());
            loop {
                let listener = async {
                    let mut listener = PgListener::connect_with(&pool).await?;
                    listener.listen_all(channels.iter().copied()).await?;
                    Ok::<_, sqlx::Error>(listener)
                };
                let mut listener = match listener.await {
                    Ok(listener) => listener,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for wake-ups; polling meanwhile");
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        continue;
                    }
                };
                // Whatever was announced while not listening is found now.
                wake_all();
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            for (wake, notify) in &wakes {
                                if wake.channel() == notification.channel() {
                                    notify.notify_one();
                                }
                            }
                        }
                        // The connection was lost; connect again (and wake everyone then).
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "listening for wake-ups failed");
                            break;
                        }
                    }
                }
            }
        })))
    }
}
