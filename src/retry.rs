//! Transient versus permanent errors, and exponential backoff with jitter.
//!
//! What is retried is decided by the error's [`ErrorClass`], which each backend gives its own
//! errors: a dropped or refused connection, a server shutting down or starting up, a full
//! connection table, a serialization failure or deadlock. Data, constraint, permission, schema
//! and TLS errors are permanent: retrying cannot fix them.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, ErrorClass};

/// How often and how long to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// No retry starts after this much time since the first failure.
    pub max_elapsed: Duration,
    /// The first backoff.
    pub base: Duration,
    /// The largest backoff.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 10,
            max_elapsed: Duration::from_secs(300),
            base: Duration::from_millis(200),
            cap: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based): `base * 2^attempt`, capped, then
    /// scaled by `jitter` in [0.5, 1.0] so that many writers do not retry in lockstep.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(30)));
        exp.min(self.cap).mul_f64(jitter.clamp(0.5, 1.0))
    }
}

/// Why `e` is worth retrying (the driver's own words), or `None` when it is permanent.
pub fn transient_reason(e: &Error) -> Option<String> {
    (e.class() == ErrorClass::Transient).then(|| e.cause())
}

/// Decides, error by error, whether to retry, and waits before the retry: one per operation
/// that is retried as a whole (a chunk, a connection).
#[derive(Debug)]
pub struct Retrier {
    policy: RetryPolicy,
    attempt: u32,
    first_failure: Option<Instant>,
}

impl Retrier {
    /// A retrier that has not failed yet.
    pub fn new(policy: RetryPolicy) -> Self {
        Retrier {
            policy,
            attempt: 0,
            first_failure: None,
        }
    }

    /// Retries made so far.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// After a failure: waits and returns `Ok` when `e` is transient and the policy allows
    /// another try; otherwise returns `e`. `on_retry` is told of the retry (its number, the
    /// reason, the wait) before the wait.
    ///
    /// # Errors
    /// `e` itself, when it is permanent or the retries are spent.
    pub async fn wait(
        &mut self,
        e: Error,
        on_retry: impl FnOnce(u32, &str, Duration),
    ) -> Result<(), Error> {
        let Some(reason) = transient_reason(&e) else {
            return Err(e);
        };
        let started = *self.first_failure.get_or_insert_with(Instant::now);
        if self.attempt >= self.policy.max_retries || started.elapsed() >= self.policy.max_elapsed {
            return Err(e);
        }
        let wait = self
            .policy
            .backoff(self.attempt, 0.5 + fastrand::f64() / 2.0);
        self.attempt += 1;
        on_retry(self.attempt, &reason, wait);
        tokio::time::sleep(wait).await;
        Ok(())
    }
}

/// Runs `op` until it succeeds, fails permanently, or the policy is spent. `on_retry` is
/// told of each retry (attempt number, reason, wait) before the wait.
///
/// # Errors
/// The last error, when it is permanent or no retry is left.
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    mut op: F,
    mut on_retry: impl FnMut(u32, &str, Duration),
) -> Result<T, Error>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut retrier = Retrier::new(*policy);
    loop {
        match op(retrier.attempt()).await {
            Ok(v) => return Ok(v),
            Err(e) => retrier.wait(e, &mut on_retry).await?,
        }
    }
}

/// Whether `e` is a database's refusal of some row's data, so that the row can be found and
/// set aside (`--rejects`); each backend's `classify` says which refusals are.
pub fn row_error(e: &Error) -> bool {
    e.is_database() && e.class() == ErrorClass::Row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0, 1.0), Duration::from_millis(200));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(1600));
        assert_eq!(p.backoff(20, 1.0), Duration::from_secs(15));
        assert_eq!(p.backoff(3, 0.5), Duration::from_millis(800));
        assert_eq!(p.backoff(3, 0.1), Duration::from_millis(800));
    }

    #[test]
    fn permanent_errors_are_not_transient() {
        assert!(transient_reason(&Error::config("x")).is_none());
    }

    /// A connection error from a real (refused) connection attempt, made on a paused clock.
    async fn refused() -> Error {
        let config: tokio_postgres::Config = "host=127.0.0.1 port=1 user=u".parse().unwrap();
        match config.connect(tokio_postgres::NoTls).await {
            Ok(_) => panic!("port 1 accepted a connection"),
            Err(source) => Error::db("connecting", source),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_with_backoff_until_spent() {
        let err = refused().await;
        assert!(transient_reason(&err).is_some(), "{err}");
        let policy = RetryPolicy {
            max_retries: 4,
            ..RetryPolicy::default()
        };
        let start = Instant::now();
        let mut waits = Vec::new();
        let mut calls = 0;
        let result: Result<(), Error> = with_retries(
            &policy,
            |_| {
                calls += 1;
                async { Err(refused().await) }
            },
            |_, _, w| waits.push(w),
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 5);
        assert_eq!(waits.len(), 4);
        // 200, 400, 800, 1600 ms, each scaled by jitter in [0.5, 1].
        let total: Duration = waits.iter().sum();
        assert!(total >= Duration::from_millis(1500) && total <= Duration::from_millis(3000));
        assert!(start.elapsed() >= total);
    }

    #[tokio::test(start_paused = true)]
    async fn succeeds_after_transient_failures_and_stops_on_permanent_ones() {
        let mut calls = 0;
        let result = with_retries(
            &RetryPolicy::default(),
            |attempt| {
                calls += 1;
                async move {
                    if attempt < 2 {
                        Err(refused().await)
                    } else {
                        Ok(attempt)
                    }
                }
            },
            |_, _, _| {},
        )
        .await;
        assert_eq!(result.unwrap(), 2);
        assert_eq!(calls, 3);

        let mut calls = 0;
        let result: Result<(), Error> = with_retries(
            &RetryPolicy::default(),
            |_| {
                calls += 1;
                async { Err(Error::config("bad")) }
            },
            |_, _, _| {},
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }
}
