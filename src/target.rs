//! Where rows go: a connection string, parsed, and shown without its secrets.

use std::fmt;

use crate::error::{Error, Result};
#[cfg(feature = "mysql")]
use crate::sink::mysql::conninfo::{self as my_conninfo, MyTarget};
#[cfg(feature = "postgres")]
use crate::sink::postgres::conninfo::{self, PgTarget};
#[cfg(feature = "sqlite")]
pub use crate::sink::sqlite::SqliteTarget;

/// A parsed `--into` value.
#[derive(Clone)]
pub enum Target {
    /// A PostgreSQL (or PostgreSQL-protocol) server.
    #[cfg(feature = "postgres")]
    Postgres(Box<PgTarget>),
    /// A MySQL or MariaDB server.
    #[cfg(feature = "mysql")]
    Mysql(Box<MyTarget>),
    /// A SQLite database file.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteTarget),
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
            #[cfg(feature = "sqlite")]
            Target::Sqlite(_) => crate::ident::Dialect::Sqlite,
            #[cfg(feature = "mysql")]
            Target::Mysql(_) => crate::ident::Dialect::Mysql,
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
            #[cfg(feature = "sqlite")]
            return SqliteTarget::parse(&s.trim_start()["sqlite:".len()..]).map(Target::Sqlite);
            #[cfg(not(feature = "sqlite"))]
            return Err(Error::config(
                "this barge was built without SQLite: build it with the cargo feature \"sqlite\"",
            ));
        }
        if lower.starts_with("mysql://") || lower.starts_with("mariadb://") {
            #[cfg(feature = "mysql")]
            return Ok(Target::Mysql(Box::new(my_conninfo::parse(s)?)));
            #[cfg(not(feature = "mysql"))]
            return Err(Error::config(
                "this barge was built without MySQL: build it with the cargo feature \"mysql\"",
            ));
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
                "unsupported target scheme {scheme:?}: use postgres://..., mysql://... or sqlite://file.db"
            ),
            None => "the target is not a URL: use postgres://user@host:port/database, mysql://user@host:port/database or sqlite://file.db".into(),
        }))
    }
}

impl fmt::Display for Target {
    /// The target as a URL with the password left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "postgres")]
            Target::Postgres(t) => fmt::Display::fmt(t, f),
            #[cfg(feature = "sqlite")]
            Target::Sqlite(t) => fmt::Display::fmt(t, f),
            #[cfg(feature = "mysql")]
            Target::Mysql(t) => fmt::Display::fmt(t, f),
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
        let e = Target::parse("oracle://u:s3cret@h/d").unwrap_err();
        assert!(e.is_config());
        assert!(!e.to_string().contains("s3cret"));
        let e = Target::parse("mysql://u:s3cret@h:notaport/d").unwrap_err();
        assert!(e.is_config());
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let e = Target::parse("postgres://u:s3cret@h:notaport/d").unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
