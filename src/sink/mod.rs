//! Where chunks go. Each writer task owns one [`Sink`] (one connection): PostgreSQL by COPY,
//! SQLite by prepared INSERTs.

use std::future::Future;

use crate::chunk::Chunk;
use crate::error::Result;

pub mod postgres;
pub mod sqlite;

/// Writes whole chunks, each in a transaction of its own (or, for an atomic load, all in one).
pub trait Sink: Send + 'static {
    /// Writes and commits one chunk; on error nothing of it is committed. Returns the rows
    /// committed: all of the chunk's, or fewer when the database refused some and they were
    /// set aside (`--rejects`).
    fn write(&mut self, chunk: Chunk) -> impl Future<Output = Result<u64>> + Send;

    /// Called once after the last chunk when the load succeeded.
    fn finish(&mut self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}
