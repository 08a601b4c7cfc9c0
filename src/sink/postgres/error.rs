//! How PostgreSQL's errors are told apart: [`classify`] gives each driver error its
//! [`ErrorClass`] (what retry, rejects and the exit code act on), and a failed connection gets
//! a hint that says what to check.

use super::conninfo::{PgTarget, SslMode};
use super::tls::is_tls_failure;
use crate::error::{Error, ErrorClass, ErrorKind, Result};

impl Error {
    /// A database error with the given context, classified.
    pub(crate) fn db(context: impl Into<String>, source: tokio_postgres::Error) -> Self {
        Error::new(ErrorKind::Database {
            context: context.into(),
            chunk: None,
            class: classify(&source),
            source,
        })
    }
}

/// A failed connection to `target` (shown without its password), classified, with a hint.
pub(crate) fn connect(target: String, source: tokio_postgres::Error, pg: &PgTarget) -> Error {
    let e = Error::new(ErrorKind::Connect {
        target,
        class: classify(&source),
        source,
    });
    match connect_hint(&e, pg) {
        Some(h) => e.with_hint(h),
        None => e,
    }
}

/// The SQLSTATE a server error stands for. Citus re-raises some of its workers' errors on the
/// coordinator as XX000 (internal error) with the worker's message (a duplicate key in COPY
/// into a distributed table, for one); the message names the error, so it is read back into
/// the code the worker raised, and such a row is a bad row like any other.
pub(crate) fn sqlstate(db: &tokio_postgres::error::DbError) -> &str {
    let code = db.code().code();
    if !matches!(code, "XX000" | "58030") {
        return code;
    }
    const WRAPPED: [(&str, &str); 18] = [
        ("duplicate key value violates unique constraint", "23505"),
        ("null value in column", "23502"),
        ("violates check constraint", "23514"),
        ("violates foreign key constraint", "23503"),
        ("value too long for type", "22001"),
        ("invalid input syntax", "22P02"),
        ("out of range for type", "22003"),
        // A worker that went away: the coordinator's connection to it failed.
        ("failure on connection marked as essential", "08006"),
        ("connection to the remote node", "08006"),
        ("server closed the connection unexpectedly", "08006"),
        ("terminating connection", "08006"),
        ("could not connect to", "08006"),
        ("failed to COPY to shard", "08006"),
        ("SSL SYSCALL error", "08006"),
        ("EOF detected", "08006"),
        ("could not receive data from", "08006"),
        ("connection not open", "08006"),
        ("no connection to the server", "08006"),
    ];
    let msg = db.message();
    WRAPPED
        .iter()
        .find(|(text, _)| msg.contains(text))
        .map_or(code, |(_, c)| c)
}

/// The class of a driver error:
/// - transient: SQLSTATE class 08 (connection), 57P01-57P03 (shutting down, crashed, starting
///   up), 53300 (too many connections), 40001 (serialization), 40P01 (deadlock); a closed
///   connection, an I/O error, a timeout;
/// - row: class 22 (data), 23 (integrity constraint), P0001 (raised by a trigger), 54000 (a
///   value too large for an index);
/// - config: class 28 (authorization), 3D000 (no such database), 3F000 (no such schema),
///   42501 (privilege), and every TLS failure (a certificate refused, a handshake that failed:
///   the same settings fail the same way, so it is never retried).
pub(crate) fn classify(e: &tokio_postgres::Error) -> ErrorClass {
    if let Some(db) = e.as_db_error() {
        let code = sqlstate(db);
        return if code.starts_with("08")
            || matches!(
                code,
                "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
            ) {
            ErrorClass::Transient
        } else if code.starts_with("22")
            || code.starts_with("23")
            || matches!(code, "P0001" | "54000")
        {
            ErrorClass::Row
        } else if code.starts_with("28") || matches!(code, "3D000" | "3F000" | "42501") {
            ErrorClass::Config
        } else {
            ErrorClass::Other
        };
    }
    if is_tls_failure(e) {
        return ErrorClass::Config;
    }
    if e.is_closed() {
        return ErrorClass::Transient;
    }
    // No SQLSTATE: an I/O error (refused, reset, broken pipe, timeout) or a protocol error
    // on a dying connection.
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return ErrorClass::Transient;
        }
        source = s.source();
    }
    let text = e.to_string();
    if text.contains("timeout")
        || text.contains("timed out")
        || text.contains("connection")
        || text.contains("unexpected EOF")
    {
        ErrorClass::Transient
    } else {
        ErrorClass::Other
    }
}

/// Whether `e` is a PostgreSQL connection or statement that failed in TLS.
pub(crate) fn is_tls(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::Connect { source, .. } | ErrorKind::Database { source, .. } => {
            is_tls_failure(source)
        }
        _ => false,
    }
}

/// What to check after a failed connection, from the server's answer or the TLS error.
fn connect_hint(e: &Error, pg: &PgTarget) -> Option<String> {
    let text = e.to_string();
    let user = pg.config.get_user().unwrap_or("?");
    let db = pg.config.get_dbname().unwrap_or(user);
    Some(match e.sqlstate() {
        Some("28P01") => format!(
            "authentication failed for user \"{user}\": check the password (in the URL, \
             PGPASSWORD or the password file ~/.pgpass)"
        ),
        Some("28000") if text.contains("no encryption") || text.contains("SSL off") => {
            "the server accepts this user only over TLS: use sslmode=require (or verify-full \
             with sslrootcert=...)"
                .to_string()
        }
        Some("28000") if text.contains("does not exist") => format!(
            "there is no user \"{user}\" on this server: check the user name in the URL (or \
             PGUSER), or create the role (CREATE ROLE ... LOGIN)"
        ),
        Some("28000") => format!(
            "the server does not let user \"{user}\" in from here (pg_hba.conf); check the user, \
             host and sslmode"
        ),
        Some("3D000") => format!("database \"{db}\" does not exist: check the database name"),
        _ if text.contains("UnsupportedCertVersion") => format!(
            "the server's certificate is an X.509 version 1 certificate, which sslmode={} cannot \
             verify (barge's TLS library, rustls, verifies only v3 certificates): reissue it as \
             v3 (openssl x509 -req ... -extfile with subjectAltName), or use sslmode=require, \
             which encrypts without checking the certificate, as libpq's require does",
            pg.ssl_mode.as_str()
        ),
        _ if text.contains("UnknownIssuer") || text.contains("unknown issuer") => {
            "the server's certificate is not signed by a CA barge trusts: pass sslrootcert=... \
             with the CA that signed it"
                .to_string()
        }
        _ if text.contains("NotValidForName") || text.contains("not valid for name") => {
            "the server's certificate is not made out to this host name: connect by the name \
             in the certificate, or use sslmode=verify-ca"
                .to_string()
        }
        _ if text.contains("server does not support TLS") => {
            "the server does not accept TLS connections: use sslmode=prefer or disable".to_string()
        }
        // Any other TLS failure: the certificate or the TLS settings, not host or password.
        _ if is_tls(e) => format!(
            "the TLS handshake failed under sslmode={}: check sslmode, sslrootcert, and the \
             server's certificate (sslmode=require encrypts without checking it)",
            pg.ssl_mode.as_str()
        ),
        _ if text.contains("Connection refused") || text.contains("timed out") => {
            "nothing answered at that host and port: check the host, the port and that the \
             server is running"
                .to_string()
        }
        _ if pg.ssl_mode == SslMode::Disable && text.contains("pg_hba") => {
            "the server may require TLS: try sslmode=require".to_string()
        }
        _ => return None,
    })
}

/// A column of a catalog or bookkeeping row. `Row::get` panics when the server sends another
/// type than expected (a PostgreSQL-compatible engine may); this is an error with context.
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    idx: usize,
    what: &str,
) -> Result<T> {
    row.try_get(idx)
        .map_err(|e| Error::db(format!("reading {what} (column {idx} of the result)"), e))
}
