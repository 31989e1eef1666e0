//! Retries with exponential backoff and jitter, through `backon`: the error decides whether a
//! retry is worth it, and a server's own hint (`Retry-After`, Telegram's `retry_after`, a
//! lock-out) replaces the computed delay when there is one.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};

/// How often and how patiently to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    /// The first wait; doubled each time up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Spread the waits randomly so that many clients do not retry in step.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 8,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            jitter: false,
        }
    }
}

/// What the retry loop needs to know of an error.
pub trait Retry {
    /// Whether trying again may succeed.
    fn retryable(&self) -> bool;
    /// The wait the server asked for, which wins over the backoff.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the policy's attempts are spent.
pub async fn retry<T, E, Fut>(policy: RetryPolicy, attempt: impl FnMut() -> Fut) -> Result<T, E>
where
    E: Retry,
    Fut: Future<Output = Result<T, E>>,
{
    let mut backoff = ExponentialBuilder::default()
        .with_min_delay(policy.backoff)
        .with_max_delay(policy.max_backoff)
        .with_max_times(policy.attempts.saturating_sub(1) as usize);
    if policy.jitter {
        backoff = backoff.with_jitter();
    }
    attempt
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(E::retryable)
        // `None` means the attempts are spent: a hint must not bring them back.
        .adjust(|e: &E, computed| computed.map(|delay| e.retry_after().unwrap_or(delay)))
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[derive(Debug, PartialEq)]
    enum Failure {
        Busy(Option<Duration>),
        Refused,
    }

    impl Retry for Failure {
        fn retryable(&self) -> bool {
            matches!(self, Failure::Busy(_))
        }
        fn retry_after(&self) -> Option<Duration> {
            match self {
                Failure::Busy(after) => *after,
                Failure::Refused => None,
            }
        }
    }

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            jitter: false,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_retryable_failure_is_tried_again_with_growing_waits_until_it_works() {
        let calls = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let got = retry(policy(5), || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..=2 => Err(Failure::Busy(None)),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(got, Ok(3));
        // 100 ms, 200 ms, 400 ms (the paused clock rounds each sleep up to a millisecond).
        let waited = start.elapsed().as_millis();
        assert!((700..710).contains(&waited), "{waited} ms");
    }

    #[tokio::test(start_paused = true)]
    async fn the_servers_hint_replaces_the_backoff() {
        let calls = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let got = retry(policy(3), || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(Failure::Busy(Some(Duration::from_secs(7)))),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(got, Ok(1));
        assert_eq!(start.elapsed(), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_not_retried_and_attempts_run_out() {
        let calls = AtomicU32::new(0);
        let refused: Result<(), _> = retry(policy(5), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Failure::Refused)
        })
        .await;
        assert_eq!(refused, Err(Failure::Refused));
        assert_eq!(calls.swap(0, Ordering::SeqCst), 1);
        let busy: Result<(), _> = retry(policy(3), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Failure::Busy(Some(Duration::from_secs(1))))
        })
        .await;
        assert_eq!(busy, Err(Failure::Busy(Some(Duration::from_secs(1)))));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
