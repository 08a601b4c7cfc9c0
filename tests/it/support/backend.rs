//! A test's target database, whatever the backend: the behaviour tests in `backends.rs` run
//! one body against each of these, so a new backend is tested by adding it here.

use std::path::PathBuf;
use std::time::Duration;

use mysql_async::prelude::Queryable;

use super::mysql::{self, MyDb};
use super::{fresh_db, Dir, TestDb};

/// One database of one backend, fresh for one test.
pub enum TestTarget {
    /// A database on the suite's PostgreSQL server.
    Postgres(TestDb),
    /// A SQLite file in a directory of the test's own.
    Sqlite { _dir: Dir, path: PathBuf },
    /// A database on the suite's MariaDB server.
    Mysql(MyDb),
}

impl TestTarget {
    /// A fresh database on every backend.
    pub async fn each(test: &str) -> Vec<TestTarget> {
        let dir = Dir::new();
        let path = dir.path().join(format!("{test}.db"));
        vec![
            TestTarget::Postgres(fresh_db(test).await),
            TestTarget::Sqlite { _dir: dir, path },
            TestTarget::Mysql(mysql::fresh_db(test).await),
        ]
    }

    /// The backend's name, for failure messages.
    pub fn name(&self) -> &'static str {
        match self {
            TestTarget::Postgres(_) => "postgres",
            TestTarget::Sqlite { .. } => "sqlite",
            TestTarget::Mysql(_) => "mysql",
        }
    }

    /// What `--into` takes.
    pub fn url(&self) -> String {
        match self {
            TestTarget::Postgres(db) => db.url.clone(),
            TestTarget::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            TestTarget::Mysql(db) => db.url.clone(),
        }
    }

    /// Runs statements written in the SQL both backends read.
    pub async fn exec(&self, sql: &str) {
        match self {
            TestTarget::Postgres(db) => db.exec(sql).await,
            TestTarget::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
                conn.execute_batch(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            TestTarget::Mysql(db) => db.exec(sql).await,
        }
    }

    /// The rows of a query whose columns are integers or text (or NULL), each row as its
    /// values joined by `|` (NULL as `∅`), in the query's order.
    pub async fn rows(&self, sql: &str) -> Vec<String> {
        match self {
            TestTarget::Postgres(db) => {
                // Each column as text, by position (the query's own names may repeat).
                let n = db
                    .client
                    .prepare(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .columns()
                    .len();
                let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
                let cols: Vec<String> = names.iter().map(|c| format!("q.{c}::text")).collect();
                let text = format!(
                    "SELECT array_to_string(ARRAY[{}], '|', '∅') FROM ({sql}) AS q({})",
                    cols.join(", "),
                    names.join(", ")
                );
                db.client
                    .query(&text, &[])
                    .await
                    .unwrap_or_else(|e| panic!("{text}: {e}"))
                    .iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect()
            }
            TestTarget::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
                conn.busy_timeout(Duration::from_secs(30)).ok();
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => "∅".to_string(),
                                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                                rusqlite::types::ValueRef::Real(v) => v.to_string(),
                                rusqlite::types::ValueRef::Text(t)
                                | rusqlite::types::ValueRef::Blob(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                            })
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()
                        .map(|v| v.join("|"))
                })
                .and_then(|rows| rows.collect())
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            TestTarget::Mysql(db) => {
                let mut conn = db.conn().await;
                let rows: Vec<mysql_async::Row> = conn
                    .query(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                let _ = conn.disconnect().await;
                rows.iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| match r.as_ref(i) {
                                None | Some(mysql_async::Value::NULL) => "∅".to_string(),
                                Some(mysql_async::Value::Bytes(b)) => {
                                    String::from_utf8_lossy(b).into_owned()
                                }
                                Some(v) => v.as_sql(true),
                            })
                            .collect::<Vec<_>>()
                            .join("|")
                    })
                    .collect()
            }
        }
    }
}
