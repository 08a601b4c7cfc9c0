//! Connecting the way psql does: a `postgres://` URL or a libpq `key=value` string, the
//! `PG*` environment variables for what it leaves out, the password file, and libpq's
//! `sslmode`s (carried out in [`super::tls`]).
//!
//! tokio-postgres parses the connection string itself but knows only `sslmode=disable|prefer|
//! require` and no certificate options, so the TLS options are taken out here first (written by
//! hand: no crate parses libpq strings with their TLS options) and the rest is handed on.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls::tls_connector;
use crate::error::{Error, Result};

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// libpq tries cleartext first; barge treats it as `prefer`.
    Allow,
    /// TLS when the server offers it, cleartext when it refuses (the default).
    Prefer,
    /// TLS, without checking the certificate.
    Require,
    /// TLS with a certificate signed by a trusted CA.
    VerifyCa,
    /// TLS with a trusted certificate made out to the host connected to.
    VerifyFull,
}

impl SslMode {
    /// The name libpq gives the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl FromStr for SslMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<SslMode> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(Error::config(format!(
                    "invalid sslmode {s:?}: use disable, prefer, require, verify-ca or verify-full"
                )))
            }
        })
    }
}

/// A parsed PostgreSQL target: the driver's configuration and the TLS connector.
#[derive(Clone)]
pub struct PgTarget {
    /// Everything but TLS, with the environment's and the password file's parts filled in.
    pub config: tokio_postgres::Config,
    /// The `sslmode`.
    pub ssl_mode: SslMode,
    /// The TLS connector for that mode.
    pub tls: MakeRustlsConnect,
}

/// The options taken out of the string before tokio-postgres parses it.
#[derive(Default, Debug)]
struct Extracted {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    sslcert: Option<String>,
    sslkey: Option<String>,
    passfile: Option<String>,
}

impl Extracted {
    fn take(&mut self, key: &str, value: String) -> bool {
        let slot = match key {
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            "sslcert" => &mut self.sslcert,
            "sslkey" => &mut self.sslkey,
            "passfile" => &mut self.passfile,
            _ => return false,
        };
        *slot = Some(value);
        true
    }
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits the TLS and password-file options out of a URL's query string.
fn split_url(s: &str, ex: &mut Extracted) -> String {
    let Some((base, query)) = s.split_once('?') else {
        return s.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            !ex.take(&percent_decode(k), percent_decode(v))
        })
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// Splits them out of a `key=value` string (values may be 'quoted', with \ escapes).
fn split_keyvalue(s: &str, ex: &mut Extracted) -> String {
    let mut kept = Vec::new();
    let mut chars = s.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        chars.next_if(|(_, c)| *c == '=');
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        let end = chars.peek().map_or(s.len(), |&(i, _)| i);
        if !ex.take(&key, value) {
            kept.push(s[start..end].trim().to_string());
        }
    }
    kept.join(" ")
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn home() -> Option<PathBuf> {
    env("HOME").map(PathBuf::from)
}

/// Parses a connection string the way libpq does, filling in from the environment.
///
/// # Errors
/// A configuration error that names the problem but never repeats the string.
pub fn parse(s: &str) -> Result<PgTarget> {
    let mut ex = Extracted::default();
    let lower = s.trim_start().to_ascii_lowercase();
    let rest = if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        split_url(s.trim(), &mut ex)
    } else {
        split_keyvalue(s, &mut ex)
    };
    let mut config = tokio_postgres::Config::from_str(&rest)
        .map_err(|e| Error::config(format!("invalid PostgreSQL connection string: {e}")))?;
    fill_from_env(&mut config);
    let mode: SslMode = match ex.sslmode.or_else(|| env("PGSSLMODE")) {
        Some(m) => m.parse()?,
        None => SslMode::Prefer,
    };
    let root = ex.sslrootcert.or_else(|| env("PGSSLROOTCERT"));
    let cert = ex.sslcert.or_else(|| env("PGSSLCERT"));
    let key = ex.sslkey.or_else(|| env("PGSSLKEY"));
    config.ssl_mode(match mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Allow | SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
    });
    if config.get_password().is_none() {
        let file = ex
            .passfile
            .or_else(|| env("PGPASSFILE"))
            .map(PathBuf::from)
            .or_else(|| home().map(|h| h.join(".pgpass")));
        if let Some(file) = file {
            if let Some(pw) = pgpass(&file, &config) {
                config.password(pw);
            }
        }
    }
    let tls = tls_connector(mode, root.as_deref(), cert.as_deref(), key.as_deref())?;
    Ok(PgTarget {
        config,
        ssl_mode: mode,
        tls,
    })
}

/// What the string left out, from `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`,
/// `PGAPPNAME` (then `localhost`, the login user, and `barge`).
fn fill_from_env(config: &mut tokio_postgres::Config) {
    if config.get_hosts().is_empty() {
        let hosts = env("PGHOST").unwrap_or_else(|| "localhost".into());
        for h in hosts.split(',') {
            if h.starts_with('/') {
                config.host_path(h);
            } else {
                config.host(h);
            }
        }
    }
    if config.get_ports().is_empty() {
        if let Some(p) = env("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(p);
        }
    }
    if config.get_user().is_none() {
        if let Some(u) = env("PGUSER").or_else(|| env("USER")) {
            config.user(u);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(d) = env("PGDATABASE") {
            config.dbname(d);
        }
    }
    if config.get_password().is_none() {
        if let Some(p) = env("PGPASSWORD") {
            config.password(p);
        }
    }
    if config.get_application_name().is_none() {
        config.application_name(env("PGAPPNAME").unwrap_or_else(|| "barge".into()));
    }
}

/// The password for this connection from a `.pgpass` file, as libpq finds it: the first line
/// `host:port:database:user:password` whose fields match (`*` matches anything; `\:` and `\\`
/// are escapes). Ignored, with a warning, when others may read the file.
fn pgpass(path: &Path, config: &tokio_postgres::Config) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "{} is readable by group or others: ignored (chmod 0600 it)",
                path.display()
            );
            return None;
        }
    }
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // libpq matches socket connections against "localhost".
        Some(Host::Unix(_)) | None => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default().to_string();
    let db = config
        .get_dbname()
        .map_or_else(|| user.clone(), str::to_string);
    let want = [host.as_str(), port.as_str(), db.as_str(), user.as_str()];
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass_line(line);
        if fields.len() < 5 {
            continue;
        }
        if fields[..4]
            .iter()
            .zip(want)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

fn split_pgpass_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(last)) = (chars.next(), fields.last_mut()) {
                    last.push(n);
                }
            }
            // The password is the rest of the line, colons and all.
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

impl std::fmt::Display for PgTarget {
    /// The target as a URL with the password left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        f.write_str("postgresql://")?;
        if let Some(user) = c.get_user() {
            write!(f, "{user}@")?;
        }
        let ports = c.get_ports();
        for (i, host) in c.get_hosts().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match host {
                Host::Tcp(h) if h.contains(':') => write!(f, "[{h}]")?,
                Host::Tcp(h) => f.write_str(h)?,
                Host::Unix(p) => write!(f, "{}", p.display().to_string().replace('/', "%2F"))?,
            }
            if let Some(port) = ports.get(i).or(ports.first()) {
                write!(f, ":{port}")?;
            }
        }
        if let Some(db) = c.get_dbname() {
            write!(f, "/{db}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_are_taken_out_of_urls_and_keyvalue_strings() {
        let mut ex = Extracted::default();
        let rest = split_url(
            "postgres://u:p%40ss@h:5/db?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.pem",
            &mut ex,
        );
        assert_eq!(rest, "postgres://u:p%40ss@h:5/db?application_name=x");
        assert_eq!(ex.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(ex.sslrootcert.as_deref(), Some("/tmp/ca.pem"));
        let mut ex = Extracted::default();
        let rest = split_keyvalue(
            "host=h sslmode = require password='it\\'s x' sslcert=/c.pem dbname=d",
            &mut ex,
        );
        assert_eq!(rest, "host=h password='it\\'s x' dbname=d");
        assert_eq!(ex.sslmode.as_deref(), Some("require"));
        assert_eq!(ex.sslcert.as_deref(), Some("/c.pem"));
    }

    #[test]
    fn urls_with_ipv6_several_hosts_sockets_and_encoded_passwords() {
        let t = parse("postgres://u%3Ax:p%40ss%2Fw@[::1]:6000,h2:6001/db?sslmode=disable").unwrap();
        assert_eq!(t.config.get_user(), Some("u:x"));
        assert_eq!(t.config.get_password(), Some(&b"p@ss/w"[..]));
        assert_eq!(
            t.config.get_hosts(),
            [Host::Tcp("::1".into()), Host::Tcp("h2".into())]
        );
        assert_eq!(t.config.get_ports(), [6000, 6001]);
        assert_eq!(t.ssl_mode, SslMode::Disable);
        let t = parse("postgresql://%2Fvar%2Frun%2Fpostgresql/db").unwrap();
        assert_eq!(
            t.config.get_hosts(),
            [Host::Unix("/var/run/postgresql".into())]
        );
        let t = parse("host=/tmp dbname=d user=u sslmode=verify-ca sslrootcert=system");
        // Either the system has roots, or the error says it has none.
        match t {
            Ok(t) => {
                assert_eq!(t.config.get_hosts(), [Host::Unix("/tmp".into())]);
                assert_eq!(t.ssl_mode, SslMode::VerifyCa);
            }
            Err(e) => assert!(e.to_string().contains("no root certificates"), "{e}"),
        }
        assert!(parse("host=h sslmode=sometimes").is_err());
    }

    #[test]
    fn pgpass_lines_match_like_libpq() {
        assert_eq!(
            split_pgpass_line("h:5432:*:bob:pa\\:ss:word"),
            ["h", "5432", "*", "bob", "pa:ss:word"]
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pgpass");
        std::fs::write(
            &p,
            "# comment\nother:*:*:*:no\nh:6543:*:bob:yes\n*:*:*:*:fallback\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let c = tokio_postgres::Config::from_str("host=h port=6543 user=bob").unwrap();
        assert_eq!(pgpass(&p, &c).as_deref(), Some("yes"));
        let c = tokio_postgres::Config::from_str("host=h port=1 user=bob").unwrap();
        assert_eq!(pgpass(&p, &c).as_deref(), Some("fallback"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(pgpass(&p, &c), None);
        }
    }
}
