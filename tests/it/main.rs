//! barge's integration tests: one binary, one throwaway PostgreSQL server, a fresh database
//! per test. Every test compares what is in the table with what the server's own COPY of the
//! same input stores, or checks the exact error a user sees.

mod support;

mod backends;
mod citus;
mod cli;
mod csv_input;
mod defects;
mod errors;
mod faults;
mod indexes;
mod library;
mod mysql;
mod mysql_indexes;
mod oracle;
#[cfg(feature = "parquet")]
mod parquet;
mod readme;
mod rejects;
mod sources;
mod split;
mod sqlite;
mod sqlite_indexes;
mod text_format;
mod tls;
mod types;
mod upsert;
