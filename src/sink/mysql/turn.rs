//! A chunk sent out of turn waits for its turn to commit, and lets go of its locks when
//! another session waits on one of them.
//!
//! With `--rejects` or an upsert, chunks are sent side by side and commit in file order. A
//! chunk that holds a key an earlier chunk still inserts (a duplicate a few rows apart,
//! across the boundary) makes that chunk wait on it while it waits for its turn: someone must
//! let go. PostgreSQL tells any role who blocks whom (`pg_blocking_pids`); InnoDB tells it
//! only to a user with PROCESS, in `information_schema.INNODB_LOCK_WAITS` (MariaDB, MySQL 5.7)
//! or `performance_schema.data_lock_waits` (MySQL 8). A writer that may ask lets go as soon
//! as anyone waits on it, and otherwise waits for its turn up to a second; one that may not
//! waits four times its own send time and then lets go ([`turn_wait`]).

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::error::Result;
use crate::turnstile::Turnstile;

/// How long a chunk that has sent its rows waits for its turn to commit before it lets go of
/// its locks (an earlier chunk may be waiting on one of them), at most.
const ORDER_WAIT: Duration = Duration::from_secs(1);

/// How often a chunk waiting for its turn asks whether another session waits on it.
const BLOCKING_EVERY: Duration = Duration::from_millis(20);

/// How long a chunk whose rows took `sent` to send waits for its turn where the server does
/// not say who waits on whom: four times that, between 100 ms and [`ORDER_WAIT`].
///
/// The earlier chunks were sent alongside it, so they are done in about the same time unless
/// one of them waits on a lock this one holds. Without being told, the wait is what tells:
/// with a fixed second, 0.05% duplicates 500 rows apart made a load 4-5x slower. Letting go
/// when the earlier chunk was merely slow costs this chunk's rows sent again, in its turn.
fn turn_wait(sent: Duration) -> Duration {
    (sent * 4).clamp(Duration::from_millis(100), ORDER_WAIT)
}

/// The ways to ask, tried in this order; past the last, the server is not asked again.
const ASK: [&str; 2] = [
    // MariaDB, MySQL 5.7.
    "SELECT EXISTS (SELECT 1 FROM information_schema.INNODB_LOCK_WAITS w \
     JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id \
     WHERE b.trx_mysql_thread_id = CONNECTION_ID())",
    // MySQL 8.
    "SELECT EXISTS (SELECT 1 FROM performance_schema.data_lock_waits w \
     JOIN information_schema.INNODB_TRX b ON b.trx_id = w.BLOCKING_ENGINE_TRANSACTION_ID \
     WHERE b.trx_mysql_thread_id = CONNECTION_ID())",
];

/// Which way of asking this server answers, shared by a load's writers.
#[derive(Debug, Default)]
pub struct Waiters {
    /// An index into [`ASK`]; [`ASK`]'s length once none answered.
    way: AtomicU8,
}

impl Waiters {
    /// Waits for chunk `ordinal`'s turn at `turnstile`, its rows sent in `sent` on `conn`
    /// (whose transaction holds them); `false` when it must let go instead: another session
    /// waits on a lock it holds (asked every [`BLOCKING_EVERY`] where the server tells), or
    /// its turn did not come in time ([`ORDER_WAIT`] where the server tells, else
    /// [`turn_wait`]).
    ///
    /// # Errors
    /// The turnstile's: an earlier chunk failed.
    pub async fn wait_turn(
        &self,
        conn: &mut Conn,
        turnstile: &Turnstile,
        ordinal: u64,
        sent: Duration,
    ) -> Result<bool> {
        let started = Instant::now();
        let turn = turnstile.wait(ordinal);
        tokio::pin!(turn);
        loop {
            let asking = self.may_ask();
            let wait = if asking { ORDER_WAIT } else { turn_wait(sent) };
            let left = wait.saturating_sub(started.elapsed());
            let poll = if asking {
                left.min(BLOCKING_EVERY)
            } else {
                left
            };
            match tokio::time::timeout(poll, &mut turn).await {
                Ok(r) => return r.map(|()| true),
                Err(_) if started.elapsed() >= wait => return Ok(false),
                Err(_) => {}
            }
            if self.wait_on(conn).await {
                tracing::debug!(
                    chunk = ordinal,
                    "another session waits on a key this chunk holds: it lets go and goes again in its turn"
                );
                return Ok(false);
            }
        }
    }

    /// Whether the server may still tell (no way of asking has been refused yet).
    fn may_ask(&self) -> bool {
        usize::from(self.way.load(Ordering::Relaxed)) < ASK.len()
    }

    /// Whether another session waits on a lock `conn`'s transaction holds; `false` when the
    /// server does not tell (no PROCESS privilege, no such table), which is then remembered
    /// for every writer of the load. A refused query leaves the transaction as it was.
    async fn wait_on(&self, conn: &mut Conn) -> bool {
        loop {
            let way = self.way.load(Ordering::Relaxed);
            let Some(sql) = ASK.get(usize::from(way)) else {
                return false;
            };
            match conn.query_first::<i64, _>(*sql).await {
                Ok(answer) => return answer == Some(1),
                Err(e) => {
                    tracing::debug!(
                        "asking which sessions wait on this writer: {e}; {}",
                        if usize::from(way) + 1 < ASK.len() {
                            "asking another way"
                        } else {
                            "a chunk waits for its turn a while, then lets go"
                        }
                    );
                    let _ = self.way.compare_exchange(
                        way,
                        way + 1,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
            }
        }
    }
}
