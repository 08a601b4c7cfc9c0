//! Connecting the way the `mysql` client does: `mysql://user:password@host:port/database`
//! (or `mariadb://`), a socket (`?socket=/run/mysqld/mysqld.sock`, or a host that is a path),
//! TLS with the client's `ssl-mode`s, and the password from the URL, else `~/.my.cnf`'s
//! `[client]` section, else `MYSQL_PWD`, in the client's order of precedence.

use std::fmt;
use std::path::PathBuf;

use mysql_async::{Opts, OptsBuilder, SslOpts};
use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};

/// The mysql client's `--ssl-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Never TLS.
    Disabled,
    /// TLS when the server offers it, the certificate not checked (the default).
    Preferred,
    /// TLS, the certificate not checked.
    Required,
    /// TLS with a certificate signed by the CA in `ssl-ca`.
    VerifyCa,
    /// That, and made out to the host connected to.
    VerifyIdentity,
}

impl SslMode {
    fn parse(s: &str) -> Result<SslMode> {
        Ok(match s.to_ascii_uppercase().replace('-', "_").as_str() {
            "DISABLED" => SslMode::Disabled,
            "PREFERRED" => SslMode::Preferred,
            "REQUIRED" => SslMode::Required,
            "VERIFY_CA" => SslMode::VerifyCa,
            "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
            _ => {
                return Err(Error::config(format!(
                    "invalid ssl-mode {s:?}: use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or \
                     VERIFY_IDENTITY"
                )))
            }
        })
    }

    /// The mode's name as the mysql client spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }
}

/// A parsed MySQL or MariaDB target.
#[derive(Clone)]
pub struct MyTarget {
    /// The driver's options, without TLS (see [`MyTarget::opts`]).
    base: OptsBuilder,
    /// TLS settings.
    pub ssl_mode: SslMode,
    ssl: SslOpts,
    /// `mysql://user@host:port/db` (or the socket), without the password.
    shown: String,
    /// The database named in the URL, if any.
    pub database: Option<String>,
}

impl fmt::Debug for MyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MyTarget({})", self.shown)
    }
}

impl fmt::Display for MyTarget {
    /// The target with the password left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl MyTarget {
    /// The driver's options, with TLS (`tls`) or without.
    pub fn opts(&self, tls: bool) -> Opts {
        let b = self.base.clone();
        Opts::from(if tls {
            b.ssl_opts(Some(self.ssl.clone()))
        } else {
            b.ssl_opts(None::<SslOpts>)
        })
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Parses a `mysql://` or `mariadb://` URL.
///
/// # Errors
/// A configuration error that never repeats the URL (it may hold a password).
pub fn parse(s: &str) -> Result<MyTarget> {
    let url = url::Url::parse(s.trim())
        .map_err(|e| Error::config(format!("the MySQL URL cannot be read: {e}")))?;
    let mut socket: Option<String> = None;
    let mut ssl_mode = SslMode::Preferred;
    let mut ssl_ca: Option<String> = None;
    let mut ssl_cert: Option<String> = None;
    let mut ssl_key: Option<String> = None;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "socket" => socket = Some(v.into_owned()),
            "ssl-mode" | "ssl_mode" | "sslmode" => ssl_mode = SslMode::parse(&v)?,
            "ssl-ca" | "ssl_ca" => ssl_ca = Some(v.into_owned()),
            "ssl-cert" | "ssl_cert" => ssl_cert = Some(v.into_owned()),
            "ssl-key" | "ssl_key" => ssl_key = Some(v.into_owned()),
            other => {
                return Err(Error::config(format!(
                    "unknown MySQL URL option {other:?}: use socket, ssl-mode, ssl-ca, ssl-cert \
                     or ssl-key"
                )))
            }
        }
    }
    let host = url.host_str().map(decode).unwrap_or_default();
    // A host that is a path (percent-encoded in the URL) is a socket.
    if host.starts_with('/') {
        socket = Some(host.clone());
    }
    let host = if host.is_empty() || host.starts_with('/') {
        std::env::var("MYSQL_HOST").unwrap_or_else(|_| "localhost".into())
    } else {
        host.trim_matches(['[', ']']).to_string()
    };
    let port = match url.port() {
        Some(p) => p,
        None => std::env::var("MYSQL_TCP_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(3306),
    };
    let user = match decode(url.username()) {
        u if u.is_empty() => std::env::var("USER").unwrap_or_else(|_| "root".into()),
        u => u,
    };
    let password = match url.password().map(decode) {
        Some(p) => Some(p),
        None => my_cnf_password().or_else(|| std::env::var("MYSQL_PWD").ok()),
    };
    let database = url
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .filter(|d| !d.is_empty())
        .map(decode);
    let mut ssl = SslOpts::default();
    match ssl_mode {
        SslMode::Disabled => {}
        SslMode::Preferred | SslMode::Required => {
            // As the mysql client: encrypted, the certificate not checked.
            ssl = ssl
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true);
        }
        SslMode::VerifyCa | SslMode::VerifyIdentity => {
            let Some(ca) = &ssl_ca else {
                return Err(Error::config(format!(
                    "ssl-mode={} needs the certificate of the CA that signed the server's: pass \
                     ssl-ca=/path/to/ca.pem",
                    ssl_mode.as_str()
                )));
            };
            ssl = ssl
                .with_root_certs(vec![PathBuf::from(ca).into()])
                .with_danger_skip_domain_validation(ssl_mode == SslMode::VerifyCa);
        }
    }
    match (ssl_cert, ssl_key) {
        (Some(cert), Some(key)) => {
            ssl = ssl.with_client_identity(Some(mysql_async::ClientIdentity::new(
                PathBuf::from(cert).into(),
                PathBuf::from(key).into(),
            )));
        }
        (None, None) => {}
        _ => {
            return Err(Error::config(
                "a client certificate needs both ssl-cert and ssl-key",
            ))
        }
    }
    let shown = format!(
        "mysql://{user}@{}{}",
        match &socket {
            Some(s) => s.replace('/', "%2F"),
            None => format!("{host}:{port}"),
        },
        database
            .as_deref()
            .map(|d| format!("/{d}"))
            .unwrap_or_default()
    );
    let base = OptsBuilder::default()
        .ip_or_hostname(host)
        .tcp_port(port)
        .socket(socket)
        .prefer_socket(false)
        .user(Some(user))
        .pass(password)
        .db_name(database.clone())
        // Statements are prepared per load, not per row: a small cache is enough.
        .stmt_cache_size(64);
    Ok(MyTarget {
        base,
        ssl_mode,
        ssl,
        shown,
        database,
    })
}

/// The `password` of the `[client]` section of `~/.my.cnf` (or `$MYSQL_HOME/my.cnf`'s), as the
/// mysql client reads it: `key=value` lines, values optionally quoted.
fn my_cnf_password() -> Option<String> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let text = std::fs::read_to_string(home.join(".my.cnf")).ok()?;
    let mut in_client = false;
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_client = line.eq_ignore_ascii_case("[client]");
            continue;
        }
        if !in_client || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.trim() == "password" {
            let v = v.trim();
            let unquoted = v
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
                .unwrap_or(v);
            found = Some(unquoted.to_string());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_show_no_password() {
        let t = parse("mysql://bob:s%40cret@db.example:3307/shop?ssl-mode=REQUIRED").unwrap();
        assert_eq!(t.to_string(), "mysql://bob@db.example:3307/shop");
        assert_eq!(t.ssl_mode, SslMode::Required);
        assert_eq!(t.database.as_deref(), Some("shop"));
        let opts = t.opts(false);
        assert_eq!(opts.pass(), Some("s@cret"));
        assert_eq!(opts.tcp_port(), 3307);
        let t = parse("mariadb://root@%2Frun%2Fmysqld%2Fmysqld.sock/db").unwrap();
        assert_eq!(t.opts(false).socket(), Some("/run/mysqld/mysqld.sock"));
        assert_eq!(
            t.to_string(),
            "mysql://root@%2Frun%2Fmysqld%2Fmysqld.sock/db"
        );
        let t = parse("mysql://u@h/db?socket=/tmp/my.sock").unwrap();
        assert_eq!(t.opts(false).socket(), Some("/tmp/my.sock"));
        assert!(parse("mysql://u@h/db?ssl-mode=VERIFY_CA").is_err());
        assert!(parse("mysql://u@h/db?ssl-mode=bogus").is_err());
        let e = parse("mysql://u:hunter2@h/db?nope=1")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
