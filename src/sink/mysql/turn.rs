//! Asking InnoDB whether another session waits on a lock a chunk's transaction holds, for a
//! chunk that waits for its turn ([`Turnstile::wait_or_let_go`]).
//!
//! PostgreSQL tells any role who blocks whom; InnoDB tells it only to a user with PROCESS, in
//! `information_schema.INNODB_LOCK_WAITS` (MariaDB, MySQL 5.7) or
//! `performance_schema.data_lock_waits` (MySQL 8). A writer that may ask lets go as soon as
//! anyone waits on it; one that may not waits four times its own send time and then lets go
//! ([`turn_wait`]).

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::error::Result;
use crate::turnstile::{AskBlocking, Asked, Turnstile, ORDER_WAIT};

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
    /// (whose transaction holds them); `false` when it must let go instead.
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
        let mut asker = Asker {
            waiters: self,
            conn,
        };
        turnstile
            .wait_or_let_go(ordinal, turn_wait(sent), &mut asker)
            .await
    }

    /// Whether another session waits on a lock `conn`'s transaction holds;
    /// [`Asked::Untold`] when the server does not tell (no PROCESS privilege, no such table),
    /// which is then remembered for every writer of the load. A refused query leaves the
    /// transaction as it was.
    async fn wait_on(&self, conn: &mut Conn) -> Asked {
        loop {
            let way = self.way.load(Ordering::Relaxed);
            let Some(sql) = ASK.get(usize::from(way)) else {
                return Asked::Untold;
            };
            match conn.query_first::<i64, _>(*sql).await {
                Ok(Some(1)) => return Asked::Blocks,
                Ok(_) => return Asked::Clear,
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

/// Asks InnoDB, on the chunk's connection, whether another session waits on it.
struct Asker<'a> {
    waiters: &'a Waiters,
    conn: &'a mut Conn,
}

impl AskBlocking for Asker<'_> {
    async fn ask(&mut self) -> Asked {
        self.waiters.wait_on(self.conn).await
    }
}
