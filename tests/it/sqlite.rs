//! The embedded default: SQLite files, checked against what PostgreSQL's own COPY stores for
//! the same input, plus --create, resume after kill -9, --atomic and the in-memory target.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::support::fixtures::{events_csv, EVENTS_DDL};
use crate::support::{
    assert_resumed_after, barge, barge_in, fresh_db, spawn_barge, thousands, Dir, TestDb,
};

/// The events table as a SQLite user declares it.
const EVENTS_SQLITE: &str = "CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, \
    amount NUMERIC NOT NULL, score REAL, active BOOLEAN NOT NULL, name TEXT, \
    created_at TIMESTAMPTZ NOT NULL, tag UUID NOT NULL, payload JSON)";

/// One row in a form both databases can be brought to: numbers as f64, timestamps as UTC
/// text without trailing zeros, JSON parsed.
#[derive(Debug, PartialEq)]
struct Row {
    id: i64,
    user_id: Option<i64>,
    amount: f64,
    score: Option<f64>,
    active: bool,
    name: Option<String>,
    created_at: String,
    tag: String,
    payload: Option<serde_json::Value>,
}

/// `2024-01-02 03:04:05.120000` and `2024-01-02 03:04:05.12+00:00` -> `2024-01-02 03:04:05.12`.
fn norm_ts(s: &str) -> String {
    let s = s.trim_end_matches("+00:00");
    match s.split_once('.') {
        Some((a, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                a.to_string()
            } else {
                format!("{a}.{frac}")
            }
        }
        None => s.to_string(),
    }
}

async fn pg_rows(db: &TestDb, table: &str) -> Vec<Row> {
    let rows = db
        .client
        .query(
            &format!(
                "SELECT id, user_id::bigint, amount::float8, score, active, name, \
                 to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), \
                 tag::text, payload::text FROM {table} ORDER BY id"
            ),
            &[],
        )
        .await
        .expect("read the reference rows");
    rows.iter()
        .map(|r| Row {
            id: r.get(0),
            user_id: r.get(1),
            amount: r.get(2),
            score: r.get(3),
            active: r.get(4),
            name: r.get(5),
            created_at: norm_ts(r.get(6)),
            tag: r.get(7),
            payload: r
                .get::<_, Option<String>>(8)
                .map(|p| serde_json::from_str(&p).expect("json")),
        })
        .collect()
}

fn sqlite_rows(path: &Path, table: &str) -> Vec<Row> {
    let conn = Connection::open(path).expect("open the SQLite file");
    let mut stmt = conn
        .prepare(&format!(
            "SELECT id, user_id, amount, score, active, name, created_at, tag, payload \
             FROM {table} ORDER BY id"
        ))
        .expect("prepare");
    stmt.query_map([], |r| {
        Ok(Row {
            id: r.get(0)?,
            user_id: r.get(1)?,
            amount: r.get(2)?,
            score: r.get(3)?,
            active: r.get(4)?,
            name: r.get(5)?,
            created_at: norm_ts(&r.get::<_, String>(6)?),
            tag: r.get(7)?,
            payload: r
                .get::<_, Option<String>>(8)?
                .map(|p| serde_json::from_str(&p).expect("json")),
        })
    })
    .expect("query")
    .collect::<Result<Vec<_>, _>>()
    .expect("rows")
}

/// The same file loaded by PostgreSQL's own COPY: the oracle.
async fn reference(csv: &str) -> Vec<Row> {
    let db = fresh_db("sqlite_ref").await;
    db.exec(&format!("CREATE TABLE events ({EVENTS_DDL})"))
        .await;
    db.server_copy("events", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    pg_rows(&db, "events").await
}

/// `rows` events rows in a file, and a SQLite file `t.db` beside it made by `ddl`: the folder,
/// the file's path, the database's and its URL, and the rows PostgreSQL's COPY stores for them.
async fn events_file_and_db(rows: usize, ddl: &str) -> (Dir, String, PathBuf, String, Vec<Row>) {
    let csv = events_csv(rows);
    let want = reference(&csv).await;
    let dir = Dir::new();
    let f = dir.write("events.csv", &csv).to_string_lossy().into_owned();
    let db = dir.path().join("t.db");
    Connection::open(&db)
        .and_then(|c| c.execute_batch(ddl))
        .expect("create the table");
    let into = format!("sqlite://{}", db.display());
    (dir, f, db, into, want)
}

fn count(path: &Path, sql: &str) -> i64 {
    let conn = Connection::open(path).expect("open the SQLite file");
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

#[tokio::test]
async fn sqlite_holds_what_postgres_copy_holds() {
    let csv = events_csv(5_000);
    let want = reference(&csv).await;
    assert_eq!(want.len(), 5_000);
    let dir = Dir::new();
    let f = dir.write("events.csv", &csv);
    let f = f.to_str().unwrap();

    // Into a table the user declared.
    let db = dir.path().join("declared.db");
    Connection::open(&db)
        .and_then(|c| c.execute_batch(EVENTS_SQLITE))
        .expect("create the table");
    let into = format!("sqlite://{}", db.display());
    let run = barge(&["load", f, "--into", &into, "--chunk-rows", "700"]);
    run.assert_ok();
    assert!(
        run.stdout
            .starts_with("Loaded 5,000 rows into \"main\".\"events\" at sqlite://"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("8 chunks, INSERT)"), "{}", run.stdout);
    assert_eq!(sqlite_rows(&db, "events"), want);
    // Typed storage: integers and reals, not text.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM events WHERE typeof(id) = 'integer' AND typeof(active) = 'integer' \
             AND typeof(amount) IN ('integer', 'real') AND typeof(score) IN ('real', 'null')"
        ),
        5_000
    );

    // Into a table barge creates from the file (the default for SQLite).
    let created = dir.path().join("created.db");
    let into = format!("sqlite://{}", created.display());
    let run = barge(&["load", f, "--into", &into]);
    run.assert_ok();
    assert!(run.stdout.contains("into new table"), "{}", run.stdout);
    assert_eq!(sqlite_rows(&created, "events"), want);
}

#[test]
fn schema_prints_the_inferred_table_for_each_dialect() {
    let dir = Dir::new();
    let f = dir.write(
        "Odd File.csv",
        "ID,Zip Code,price,ratio,when,At,ok,,id\n\
         1,02134,1.50,1e-3,2024-01-02,2024-01-02T10:00:00Z,yes,x,\"{\"\"a\"\":1}\"\n\
         2,10001,2,2.5,2024-02-29,2024-01-03T10:00:00+01:00,no,,[]\n",
    );
    let f = f.to_str().unwrap();
    let run = barge(&["schema", f, "--dialect", "postgres"]);
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "CREATE TABLE \"odd_file\" (\n    \"id\" bigint,\n    \"zip_code\" text,\n    \
         \"price\" numeric,\n    \"ratio\" double precision,\n    \"when\" date,\n    \
         \"at\" timestamptz,\n    \"ok\" boolean,\n    \"column_8\" text,\n    \"id_2\" jsonb\n);\n\
         -- from the header and 2 rows\n\
         -- column \"column_8\" has no name in the header (a line that ends with a delimiter, \
         or has two in a row)\n"
    );
    let run = barge(&["schema", f]);
    run.assert_ok();
    assert!(
        run.stdout.starts_with(
            "CREATE TABLE \"odd_file\" (\n    \"id\" INTEGER,\n    \"zip_code\" TEXT,"
        ),
        "{}",
        run.stdout
    );
    let run = barge(&["schema", f, "--dialect", "mysql", "--table", "t"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("`price` DECIMAL(22,2)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.starts_with("CREATE TABLE `t` ("),
        "{}",
        run.stdout
    );
    let run = barge(&["schema", f, "--dialect", "oracle"]);
    assert_eq!(run.code, 2, "{}", run.all());
}

/// A column whose missing values are spelled `NULL` (SQL Server's, MySQL Workbench's exports)
/// is text, as its `NULL`s are; `barge schema` and the load that creates the table say so and
/// name `--null`, with which the column is a date and they are NULL.
#[test]
fn a_column_made_text_by_spelled_out_nulls_is_told_and_null_reads_them() {
    let dir = Dir::new();
    let f = dir.write("visits.csv", "id,day\n1,2024-01-02\n2,NULL\n3,2024-01-04\n");
    let f = f.to_str().unwrap();
    let note = "column \"day\" is text because it holds NULL, its other values read as date: if \
                the file writes NULL for a missing value, pass --null 'NULL' --null '' (empty \
                fields stay NULL)";
    let run = barge(&["schema", f, "--dialect", "postgres"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("\"day\" text") && run.stdout.ends_with(&format!("-- {note}\n")),
        "{}",
        run.stdout
    );
    let run = barge_in(Some(dir.path()), &["load", f], &[], None);
    run.assert_ok();
    assert!(
        run.stderr.contains(&note.replace("as date", "as DATE")),
        "{}",
        run.all()
    );
    let run = barge(&["schema", f, "--null", "NULL"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("\"day\" DATE") && !run.stdout.contains("--null"),
        "{}",
        run.stdout
    );
    let made = dir.path().join("made.db");
    let into = format!("sqlite://{}", made.display());
    let run = barge(&["load", f, "--into", &into, "--null", "NULL"]);
    run.assert_ok();
    assert!(!run.stderr.contains("is text because"), "{}", run.all());
    let conn = Connection::open(&made).unwrap();
    let days: Vec<Option<String>> = conn
        .prepare("SELECT day FROM visits ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        days,
        [
            Some("2024-01-02".to_string()),
            None,
            Some("2024-01-04".to_string())
        ]
    );
}

/// pandas' `to_csv` without `index=False` writes the row index as a first column with no
/// name: the table made of it has `column_1`, and the load and `barge schema` say what it
/// most likely is.
#[test]
fn a_first_column_without_a_name_is_told_as_pandas_row_index() {
    let dir = Dir::new();
    let f = dir.write("frame.csv", ",id,name\n0,10,a\n1,11,b\n");
    let f = f.to_str().unwrap();
    let note = "column \"column_1\" has no name in the header: a first column without one is \
                most often the row index pandas' to_csv writes (index=False leaves it out)";
    let run = barge(&["schema", f]);
    run.assert_ok();
    assert!(
        run.stdout.ends_with(&format!("-- {note}\n")),
        "{}",
        run.stdout
    );
    let run = barge_in(Some(dir.path()), &["load", f], &[], None);
    run.assert_ok();
    assert!(run.stderr.contains(note), "{}", run.all());
    let conn = Connection::open(dir.path().join("barge.db")).unwrap();
    let n: i64 = conn
        .query_row("SELECT sum(column_1) + sum(id) FROM frame", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 22);
}

#[test]
fn create_keeps_leading_zeros_and_loads_the_same_file_again() {
    let dir = Dir::new();
    let csv = "Zip Code,n,Note\n02134,1,a\n10001,2,\n00501,3,\"\"\n";
    let f = dir.write("zips.csv", csv);
    let f = f.to_str().unwrap();
    let run = barge_in(Some(dir.path()), &["load", f], &[], None);
    run.assert_ok();
    let db = dir.path().join("barge.db");
    let conn = Connection::open(&db).unwrap();
    let got: Vec<(String, i64, Option<String>)> = conn
        .prepare("SELECT zip_code, n, note FROM zips ORDER BY n")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        got,
        [
            ("02134".to_string(), 1, Some("a".to_string())),
            ("10001".to_string(), 2, None),
            ("00501".to_string(), 3, Some(String::new())),
        ]
    );
    // The header ("Zip Code") maps onto the created names ("zip_code") on a second load.
    let run = barge_in(Some(dir.path()), &["load", f, "--again"], &[], None);
    run.assert_ok();
    assert!(!run.stdout.contains("new table"), "{}", run.stdout);
    assert_eq!(count(&db, "SELECT count(*) FROM zips"), 6);
}

#[test]
fn a_later_value_that_does_not_fit_the_sample_says_what_to_do() {
    let dir = Dir::new();
    let f = dir.write("late.csv", "id,v\n1,10\n2,20\n3,thirty\n");
    let f = f.to_str().unwrap();
    let run = barge_in(
        Some(dir.path()),
        &["load", f, "--sample-rows", "2"],
        &[],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(
        run.stderr,
        format!(
            "error: {f}: record 4 (line 4, byte 15), column \"v\": invalid value \"thirty\": \
             expected INTEGER: not an integer\n\
             note: 0 rows were committed before the error\n\
             note: \"main\".\"late\" was created by this load and is dropped again, as no row \
             went in: the next run creates it from what it reads then\n\
             hint: this load created \"main\".\"late\" from the first 2 rows, and a later value \
             does not fit the type it chose: load again with a larger --sample-rows (0 reads \
             the whole file), or create the table yourself\n"
        )
    );
    let dir = Dir::new();
    let f = dir.write("late.csv", "id,v\n1,10\n2,20\n3,thirty\n");
    let run = barge_in(
        Some(dir.path()),
        &["load", f.to_str().unwrap(), "--sample-rows", "0"],
        &[],
        None,
    );
    run.assert_ok();
}

fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_barge"))
        .args(args)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn barge")
}

fn committed_chunks(db: &Path) -> i64 {
    Connection::open(db)
        .and_then(|c| {
            c.query_row(
                "SELECT count(*) FROM barge_checkpoint WHERE first_byte >= 0",
                [],
                |r| r.get(0),
            )
        })
        .unwrap_or(0)
}

/// Ctrl-C in the middle of a transaction that several chunks share: the chunks already written
/// commit with their checkpoints before barge exits, it says how many rows, and the same
/// command resumes after them.
#[tokio::test]
async fn interrupt_commits_the_chunks_written_and_the_same_command_resumes() {
    let (dir, f, db, into, want) = events_file_and_db(200_000, EVENTS_SQLITE).await;
    let args = [
        "load",
        &f,
        "--into",
        &into,
        "--chunk-rows",
        "1000",
        "--commit-every",
        "3600",
    ];
    let child = spawn_barge(&args);
    // The rollback journal is there while a transaction has written pages: the load's, once
    // its rows go in (the bookkeeping's own commits before it are quick).
    let journal = dir.path().join("t.db-journal");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !journal.exists() {
        assert!(Instant::now() < deadline, "no transaction began");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("wait for barge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    let committed = count(&db, "SELECT count(*) FROM events");
    assert!(committed > 0 && committed < 200_000, "{committed} rows");
    assert!(
        err.contains(&format!(
            "note: {} rows were committed before the error",
            thousands(committed)
        )),
        "{err}"
    );
    let run = barge(&args);
    run.assert_ok();
    assert_resumed_after(&run, committed);
    assert_eq!(sqlite_rows(&db, "events"), want);
}

#[tokio::test]
async fn kill_9_then_rerun_loads_every_row_exactly_once() {
    kill_9_then_rerun("0").await;
}

/// Chunks that share transactions (several per commit), killed in the middle of one: the
/// chunks of a group commit together with their checkpoints or not at all.
#[tokio::test]
async fn kill_9_in_a_transaction_of_several_chunks_then_rerun_loads_every_row_once() {
    kill_9_then_rerun("0.05").await;
}

/// Kills a load (chunks committed `--commit-every` seconds apart) at random moments after a
/// commit, then reruns it to the end: every row once.
async fn kill_9_then_rerun(commit_every: &str) {
    // No primary key, so that a doubled row would show.
    let ddl = EVENTS_SQLITE.replace(" PRIMARY KEY", "");
    let (_dir, f, db, into, want) = events_file_and_db(100_000, &ddl).await;
    let args = [
        "load",
        &f,
        "--into",
        &into,
        "--chunk-rows",
        "1000",
        "--commit-every",
        commit_every,
    ];
    let seed = fastrand::u64(..);
    eprintln!("kill -9 moments from seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut killed = 0;
    for _ in 0..6 {
        let before = committed_chunks(&db);
        let mut child = spawn(&args);
        let deadline = Instant::now() + Duration::from_secs(60);
        while committed_chunks(&db) <= before && Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.u64(0..40)));
        if child.try_wait().ok().flatten().is_none() {
            child.kill().expect("kill -9 barge");
            killed += 1;
        }
        let _ = child.wait();
    }
    assert!(killed >= 3, "only {killed} runs were killed mid-load");
    let run = barge(&args);
    run.assert_ok();
    assert_eq!(count(&db, "SELECT count(*) FROM events"), 100_000);
    assert_eq!(count(&db, "SELECT count(DISTINCT id) FROM events"), 100_000);
    assert_eq!(sqlite_rows(&db, "events"), want);
}

/// `id,v` rows 1..=50 (v = 2 id), then `last`.
fn nums_then(last: &str) -> String {
    let mut csv = String::from("id,v\n");
    for i in 1..=50 {
        csv.push_str(&format!("{i},{}\n", i * 2));
    }
    csv.push_str(last);
    csv.push('\n');
    csv
}

/// A row SQLite refuses (a CHECK) fails the load without `--rejects`: the chunks that shared
/// its transaction are rolled back with it, and what the load says was committed is what the
/// table holds, chunks sharing transactions or not.
#[test]
fn a_refused_row_fails_the_load_and_it_says_what_was_committed() {
    let dir = Dir::new();
    let f = dir.write("nums.csv", nums_then("51,-1"));
    let f = f.to_str().unwrap();
    for (every, committed) in [("3600", 0), ("0", 50)] {
        let db = dir.path().join(format!("c{every}.db"));
        Connection::open(&db)
            .and_then(|c| {
                c.execute_batch("CREATE TABLE nums (id INTEGER, v INTEGER CHECK (v >= 0))")
            })
            .expect("create the table");
        let into = format!("sqlite://{}", db.display());
        let args = ["load", f, "--into", &into, "--chunk-rows", "10"];
        let run = barge(&[&args[..], &["--commit-every", every]].concat());
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(
            run.stderr.contains("CHECK constraint failed"),
            "{}",
            run.stderr
        );
        assert_eq!(count(&db, "SELECT count(*) FROM nums"), committed);
        let said = format!("note: {committed} rows were committed before the error");
        assert!(run.stderr.contains(&said), "{}", run.stderr);
    }
}

#[test]
fn atomic_and_resume_after_a_bad_row() {
    let dir = Dir::new();
    let csv = nums_then("51,oops");
    let f = dir.write("nums.csv", &csv);
    let f = f.to_str().unwrap();
    let db = dir.path().join("a.db");
    Connection::open(&db)
        .and_then(|c| c.execute_batch("CREATE TABLE nums (id INTEGER, v INTEGER NOT NULL)"))
        .unwrap();
    let into = format!("sqlite://{}", db.display());
    let run = barge(&["load", f, "--into", &into, "--chunk-rows", "10", "--atomic"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(count(&db, "SELECT count(*) FROM nums"), 0);

    let run = barge(&["load", f, "--into", &into, "--chunk-rows", "10"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("note: 50 rows were committed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("then run the same command with --continue-changed"),
        "{}",
        run.stderr
    );
    assert_eq!(count(&db, "SELECT count(*) FROM nums"), 50);
    // Fixed, the file resumes after the committed rows.
    std::fs::write(f, csv.replace("51,oops", "51,102")).unwrap();
    let run = barge(&[
        "load",
        f,
        "--into",
        &into,
        "--chunk-rows",
        "10",
        "--continue-changed",
    ]);
    run.assert_ok();
    assert!(run.stdout.contains("skipped 50 rows"), "{}", run.stdout);
    assert_eq!(count(&db, "SELECT count(*) FROM nums"), 51);
    assert_eq!(
        count(&db, "SELECT sum(v) FROM nums"),
        (1..=51).map(|i| i * 2).sum::<i64>()
    );
    let run = barge(&["load", f, "--into", &into, "--chunk-rows", "10"]);
    run.assert_ok();
    assert!(run.stdout.contains("already loaded"), "{}", run.stdout);
}

#[test]
fn memory_target_validates_without_keeping_anything() {
    let dir = Dir::new();
    let f = dir.write("ok.csv", events_csv(300));
    let run = barge(&["load", f.to_str().unwrap(), "--into", "sqlite::memory:"]);
    run.assert_ok();
    assert!(
        run.stdout
            .starts_with("Loaded 300 rows into new table \"main\".\"ok\" at sqlite::memory:"),
        "{}",
        run.stdout
    );
    let f = dir.write("bad.csv", "d\n2024-01-31\n2024-02-30\n");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        "sqlite::memory:",
        "--sample-rows",
        "1",
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("column \"d\": invalid value \"2024-02-30\": expected DATE"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_file_that_is_not_a_database_is_a_usage_error() {
    let dir = Dir::new();
    let f = dir.write("x.csv", "a\n1\n");
    let not_db = dir.write("not.db", "this is not a database, just text long enough to look like a header...........................................");
    let into = format!("sqlite://{}", not_db.display());
    let run = barge(&["load", f.to_str().unwrap(), "--into", &into]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("file is not a database"),
        "{}",
        run.stderr
    );
}
