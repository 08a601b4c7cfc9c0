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
        if let Some(url) = from_sqlalchemy(s) {
            return Target::parse(&url);
        }
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

/// libpq's own URL parameters: a SQLAlchemy driver's others (asyncpg's
/// `prepared_statement_cache_size`, ...) mean nothing to barge and are left out.
const LIBPQ_PARAMS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "options",
    "application_name",
    "connect_timeout",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "target_session_attrs",
    "channel_binding",
    "keepalives",
    "keepalives_idle",
];
/// The MySQL URL parameters barge reads (a driver's `charset=...` is left out).
const MYSQL_PARAMS: &[&str] = &[
    "ssl-mode",
    "ssl_mode",
    "ssl-ca",
    "ssl_ca",
    "socket",
    "unix_socket",
];

/// A SQLAlchemy `dialect+driver://` URL (`postgresql+asyncpg://`, `mysql+pymysql://`,
/// `sqlite+aiosqlite:///app.db`) as barge names the same database, or `None` for any other
/// string. Python applications keep such URLs in `DATABASE_URL`, which barge reads too; the
/// driver is theirs, the database the same. Their SQLite paths are SQLAlchemy's: three
/// slashes a relative path, four an absolute one, none at all an in-memory database.
pub fn from_sqlalchemy(s: &str) -> Option<String> {
    let (scheme, rest) = s.trim().split_once("://")?;
    let (base, _driver) = scheme.split_once('+')?;
    match base.to_ascii_lowercase().as_str() {
        "postgresql" | "postgres" | "pgsql" => {
            Some(format!("postgresql://{}", keep_params(rest, LIBPQ_PARAMS)))
        }
        "mysql" | "mariadb" => Some(format!("mysql://{}", keep_params(rest, MYSQL_PARAMS))),
        "sqlite" => {
            let path = rest.split('?').next().unwrap_or_default();
            // Two slashes and a name (not SQLAlchemy's form) is the name, as barge reads it.
            let path = path.strip_prefix('/').unwrap_or(path);
            Some(match path {
                "" => "sqlite::memory:".to_string(),
                path => format!("sqlite://{path}"),
            })
        }
        _ => None,
    }
}

/// `rest` (after `scheme://`) with only the query parameters named in `known`.
fn keep_params(rest: &str, known: &[&str]) -> String {
    let Some((place, query)) = rest.split_once('?') else {
        return rest.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| known.contains(&p.split('=').next().unwrap_or_default()))
        .collect();
    if kept.is_empty() {
        place.to_string()
    } else {
        format!("{place}?{}", kept.join("&"))
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
    fn sqlalchemy_urls_name_the_same_database() {
        for (given, want) in [
            (
                "postgresql+asyncpg://u:p@h:5/db?prepared_statement_cache_size=0&sslmode=require",
                Some("postgresql://u:p@h:5/db?sslmode=require"),
            ),
            ("postgresql+psycopg://u@h/db", Some("postgresql://u@h/db")),
            (
                "mysql+asyncmy://u:p@h:3306/db?charset=utf8mb4",
                Some("mysql://u:p@h:3306/db"),
            ),
            ("mariadb+pymysql://u@h/db", Some("mysql://u@h/db")),
            ("sqlite+pysqlite:///x.db", Some("sqlite://x.db")),
            ("sqlite+aiosqlite:////abs/x.db", Some("sqlite:///abs/x.db")),
            ("sqlite+pysqlite://", Some("sqlite::memory:")),
            ("sqlite+pysqlite://rel.db", Some("sqlite://rel.db")),
            ("postgresql://u@h/db", None),
            ("oracle+cx_oracle://u@h/db", None),
            ("host=a+b://", None),
        ] {
            assert_eq!(from_sqlalchemy(given).as_deref(), want, "{given}");
        }
        let shown = Target::parse("postgresql+asyncpg://alice:s3cret@db:6543/prod")
            .map(|t| t.to_string())
            .ok();
        assert_eq!(shown.as_deref(), Some("postgresql://alice@db:6543/prod"));
        let e = Target::parse("oracle+cx_oracle://u:s3cret@h/d").unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
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
