//! The command line's own behaviour: summaries, --json, --quiet, secrets, usage errors.

use crate::support::{barge, barge_with, fresh_db, Dir};

#[tokio::test]
async fn summary_json_and_quiet() {
    let db = fresh_db("summary").await;
    db.exec("CREATE TABLE events (id int, name text)").await;
    let dir = Dir::new();
    let f = dir.write("events.csv", "id,name\n1,a\n2,b\n3,c\n");
    let f = f.to_str().unwrap();

    // The table name defaults to the file's name.
    let run = barge(&["load", f, "--into", &db.url]);
    run.assert_ok();
    assert!(
        run.stdout.starts_with(&format!(
            "Loaded 3 rows into \"public\".\"events\" at postgresql://postgres@127.0.0.1:{}/{} in ",
            crate::support::pg::server().port,
            db.name
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with("1 chunk, binary COPY)\n"),
        "{}",
        run.stdout
    );

    // The same file again: already loaded, nothing to do.
    let run = barge(&["load", f, "--into", &db.url]);
    run.assert_ok();
    assert!(
        run.stdout
            .contains(" was already loaded into \"public\".\"events\" at "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .ends_with("(3 rows): nothing to do. Use --again to load it a second time.\n"),
        "{}",
        run.stdout
    );

    let run = barge(&["load", f, "--into", &db.url, "--json", "--again"]);
    run.assert_ok();
    let v: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("one JSON object");
    assert_eq!(v["rows"], 3);
    assert_eq!(v["chunks"], 1);
    assert_eq!(v["skipped_rows"], 0);
    assert_eq!(v["retries"], 0);
    assert_eq!(v["table"], "\"public\".\"events\"");
    assert_eq!(v["format"], "binary");
    assert_eq!(v["bytes"], 20);
    assert!(
        v["load_id"].as_str().is_some_and(|id| id.ends_with("/2")),
        "{v}"
    );
    assert!(v["already_loaded"].is_null());
    assert!(v["elapsed"].as_f64().is_some());

    let run = barge(&["load", f, "--into", &db.url, "--json"]);
    let v: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("one JSON object");
    assert_eq!(v["rows"], 0);
    assert_eq!(v["already_loaded"]["rows"], 3);

    let run = barge(&["load", f, "--into", &db.url, "--quiet", "--again"]);
    run.assert_ok();
    assert_eq!(run.all(), "");
    assert_eq!(
        db.rows_text("SELECT count(*) FROM events").await,
        vec!["(9)"]
    );
}

#[tokio::test]
async fn the_password_is_never_printed() {
    let db = fresh_db("secrets").await;
    db.exec("CREATE TABLE t (id int)").await;
    let dir = Dir::new();
    let good = dir.write("good.csv", "id\n1\n");
    let bad = dir.write("bad.csv", "id\nx\n");
    // Trust authentication ignores the password, so it travels in every connection.
    let secret = "Sup3r%2FSecret";
    let url = db.url.replace("postgres@", &format!("postgres:{secret}@"));
    let runs = [
        barge(&[
            "load",
            good.to_str().unwrap(),
            "--into",
            &url,
            "--table",
            "t",
        ]),
        barge(&[
            "load",
            good.to_str().unwrap(),
            "--into",
            &url,
            "--table",
            "t",
            "--json",
        ]),
        barge(&[
            "load",
            bad.to_str().unwrap(),
            "--into",
            &url,
            "--table",
            "t",
            "-vv",
        ]),
        barge(&[
            "load",
            good.to_str().unwrap(),
            "--into",
            &url,
            "--table",
            "missing",
        ]),
        barge_with(
            &["load", good.to_str().unwrap(), "--table", "t", "-vv"],
            &[("DATABASE_URL", &url)],
            None,
        ),
        barge_with(&["load", "--help"], &[("DATABASE_URL", &url)], None),
        barge(&[
            "load",
            good.to_str().unwrap(),
            "--into",
            &url.replace("127.0.0.1", "127.0.0.1:1"),
            "--table",
            "t",
        ]),
    ];
    for run in &runs {
        let all = run.all();
        assert!(!all.contains("Sup3r"), "the password was printed:\n{all}");
    }
    assert_eq!(runs[0].code, 0, "{}", runs[0].all());
    assert_eq!(runs[2].code, 1);
    assert_eq!(runs[3].code, 2);
}

#[test]
fn usage_errors_exit_2() {
    // No file, and nothing at a terminal: standard input, which needs a table's name.
    let run = barge(&["load"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("error: no FILE named, and reading standard input needs --table"),
        "{}",
        run.stderr
    );
    let run = barge(&[
        "load",
        "x.csv",
        "--delimiter",
        "ab",
        "--into",
        "postgres://h/d",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("the delimiter must be one ASCII character"),
        "{}",
        run.stderr
    );
    let run = barge(&["load", "-", "--into", "postgres://h/d"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr, "error: reading standard input needs --table\n");
    let run = barge(&["load", "x.csv", "--into", "oracle://h/d"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unsupported target scheme \"oracle\""),
        "{}",
        run.stderr
    );
    let run = barge(&["load", "x.csv", "--chunk-bytes", "12 parsecs"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("is not a size: write bytes, or a number with KiB, MiB or GiB"),
        "{}",
        run.stderr
    );
}

#[test]
fn commit_every_takes_seconds_and_says_so_otherwise() {
    let dir = Dir::new();
    let f = dir.write("s.csv", b"id,v\n1,2\n");
    let f = f.to_str().unwrap();
    let run = barge(&["load", f, "--into", "sqlite::memory:", "--commit-every=-1"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("--commit-every takes seconds, 0 or more: -1 is not"),
        "{}",
        run.stderr
    );
    let run = barge(&[
        "load",
        f,
        "--into",
        "sqlite::memory:",
        "--commit-every",
        "0.5",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("Loaded 1 row"), "{}", run.stdout);
}

#[test]
fn chunk_bytes_take_a_unit() {
    let dir = Dir::new();
    let mut csv = String::from("id,v\n");
    for i in 0..3000 {
        csv.push_str(&format!("{i},{}\n", "x".repeat(100)));
    }
    let f = dir.write("u.csv", &csv);
    let db = dir.path().join("u.db");
    let db_url = format!("sqlite://{}", db.display());
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db_url,
        "--chunk-bytes",
        "64KiB",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    // 3,000 rows of about 110 bytes are more than four 64 KiB chunks, and one 10,000-row one.
    let chunks = run.stdout.split("\"chunks\":").nth(1).and_then(|r| {
        r.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse::<u64>()
            .ok()
    });
    assert!(chunks.is_some_and(|c| c >= 4), "{}", run.stdout);
}

/// A Python application's `DATABASE_URL` is often SQLAlchemy's (`postgresql+asyncpg://...`,
/// with its driver's own parameters): the CLI loads into the same database ("unsupported target
/// scheme" before), SQLite paths read as SQLAlchemy reads them.
#[tokio::test]
async fn sqlalchemy_urls_name_their_database() {
    let db = fresh_db("sqlalchemy_url").await;
    db.exec("CREATE TABLE t (id int, name text)").await;
    let my = crate::support::mysql::fresh_db("sqlalchemy_url").await;
    my.exec("CREATE TABLE t (id int, name text)").await;
    let dir = Dir::new();
    let file = dir.write("t.csv", "id,name\n1,a\n2,b\n");
    let file = file.to_str().unwrap();
    let pg_url = db.url.replacen("postgresql://", "postgresql+asyncpg://", 1)
        + "?prepared_statement_cache_size=0";
    assert!(pg_url.starts_with("postgresql+asyncpg://"), "{pg_url}");
    let my_url = my.url.replacen("mysql://", "mysql+aiomysql://", 1) + "?charset=utf8mb4";
    for url in [&pg_url, &my_url, &"sqlite+aiosqlite:///rel.db".to_string()] {
        let run = crate::support::barge_in(
            Some(dir.path()),
            &["load", file, "--table", "t"],
            &[("DATABASE_URL", url)],
            None,
        );
        assert_eq!(run.code, 0, "{url}: {}", run.all());
        assert!(run.stdout.contains("Loaded 2 rows"), "{}", run.all());
    }
    assert_eq!(db.checksum("t").await.0, 2);
    let mut c = my.conn().await;
    let n: Option<i64> =
        mysql_async::prelude::Queryable::query_first(&mut c, "SELECT count(*) FROM t")
            .await
            .unwrap();
    assert_eq!(n, Some(2));
    // Three slashes: relative to the working directory, as SQLAlchemy reads them.
    assert!(dir.path().join("rel.db").exists());
}
