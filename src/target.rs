//! Where rows go: a connection string, parsed, and shown without its secrets.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};
#[cfg(feature = "postgres")]
use crate::sink::postgres::conninfo::{self, PgTarget};

/// A parsed `--into` value.
#[derive(Clone)]
pub enum Target {
    /// A PostgreSQL (or PostgreSQL-protocol) server.
    #[cfg(feature = "postgres")]
    Postgres(Box<PgTarget>),
    /// A SQLite database file.
    Sqlite(SqliteTarget),
}

/// Where a SQLite database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqliteTarget {
    /// A file, created when missing.
    File(PathBuf),
    /// `sqlite::memory:`: a database that lives only as long as the load, so every row is
    /// read, validated and inserted and nothing is kept (a dry run).
    Memory,
}

/// The target when neither `--into` nor `$DATABASE_URL` names one: `barge.db` in the current
/// directory.
pub const DEFAULT_TARGET: &str = "sqlite://barge.db";

impl Target {
    /// The SQL dialect of this target.
    pub fn dialect(&self) -> crate::ident::Dialect {
        match self {
            #[cfg(feature = "postgres")]
            Target::Postgres(_) => crate::ident::Dialect::Postgres,
            Target::Sqlite(_) => crate::ident::Dialect::Sqlite,
        }
    }

    /// Parses a `postgres://` / `postgresql://` URL, a libpq `key=value` string, or a SQLite
    /// target: `sqlite://relative/path.db`, `sqlite:///absolute/path.db`, `sqlite:path.db`,
    /// `sqlite::memory:`.
    ///
    /// # Errors
    /// A configuration error that names the problem but never repeats the string (it may hold
    /// a password).
    pub fn parse(s: &str) -> Result<Target> {
        let lower = s.trim_start().to_ascii_lowercase();
        if lower.starts_with("sqlite:") {
            let rest = &s.trim_start()["sqlite:".len()..];
            if rest == ":memory:" || rest == "//:memory:" {
                return Ok(Target::Sqlite(SqliteTarget::Memory));
            }
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(Error::config(
                    "the SQLite target names no file: use sqlite://path/to/file.db",
                ));
            }
            return Ok(Target::Sqlite(SqliteTarget::File(PathBuf::from(path))));
        }
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") || s.contains('=')
        {
            #[cfg(feature = "postgres")]
            return Ok(Target::Postgres(Box::new(conninfo::parse(s)?)));
            #[cfg(not(feature = "postgres"))]
            return Err(Error::config(
                "this barge was built without PostgreSQL: build it with the cargo feature \"postgres\"",
            ));
        }
        let scheme = s.split_once("://").map(|(scheme, _)| scheme);
        Err(Error::config(match scheme {
            Some(scheme) => format!(
                "unsupported target scheme {scheme:?}: use postgres://... or sqlite://file.db"
            ),
            None => "the target is not a URL: use postgres://user@host:port/database or sqlite://file.db".into(),
        }))
    }
}

impl fmt::Display for Target {
    /// The target as a URL with the password left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "postgres")]
            Target::Postgres(t) => {
                let c = &t.config;
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
                        tokio_postgres::config::Host::Tcp(h) if h.contains(':') => {
                            write!(f, "[{h}]")?
                        }
                        tokio_postgres::config::Host::Tcp(h) => f.write_str(h)?,
                        tokio_postgres::config::Host::Unix(p) => {
                            write!(f, "{}", p.display().to_string().replace('/', "%2F"))?
                        }
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
            Target::Sqlite(SqliteTarget::Memory) => f.write_str("sqlite::memory:"),
            Target::Sqlite(SqliteTarget::File(p)) => write!(f, "sqlite://{}", p.display()),
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_hides_the_password() {
        let t = Target::parse("postgres://alice:s3cret@db.example:6543/prod?application_name=x")
            .unwrap();
        assert_eq!(t.to_string(), "postgresql://alice@db.example:6543/prod");
        assert!(!format!("{t:?}").contains("s3cret"));
        let t = Target::parse("host=h port=5 user=u password=s3cret dbname=d").unwrap();
        assert_eq!(t.to_string(), "postgresql://u@h:5/d");
    }

    #[test]
    fn sqlite_targets() {
        let file = |s: &str| match Target::parse(s).unwrap() {
            Target::Sqlite(SqliteTarget::File(p)) => p.display().to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(file("sqlite://barge.db"), "barge.db");
        assert_eq!(file("sqlite:///tmp/x.db"), "/tmp/x.db");
        assert_eq!(file("sqlite:data/x.db"), "data/x.db");
        assert!(matches!(
            Target::parse("sqlite::memory:").unwrap(),
            Target::Sqlite(SqliteTarget::Memory)
        ));
        assert!(Target::parse("sqlite://").is_err());
        assert_eq!(
            Target::parse(DEFAULT_TARGET).unwrap().to_string(),
            "sqlite://barge.db"
        );
    }

    #[test]
    fn bad_strings_are_config_errors_without_the_secret() {
        let e = Target::parse("mysql://u:s3cret@h/d").unwrap_err();
        assert!(e.is_config());
        assert!(!e.to_string().contains("s3cret"));
        let e = Target::parse("postgres://u:s3cret@h:notaport/d").unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
