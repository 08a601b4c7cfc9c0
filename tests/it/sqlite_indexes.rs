//! A resumable load into an empty SQLite table leaves out the indexes that no row can fail
//! (made by CREATE INDEX, not unique, no expression, no WHERE) and builds them at its end: the
//! table ends with the same index statements and the input's rows; a kill leaves them
//! recorded, and the next run builds them.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::support::{assert_indexes_built_at_the_end, barge, rerun_after_a_kill, Dir, Run};

/// A primary key and a unique constraint (kept), three indexes that may wait (one with a
/// quoted name, a descending column and a collation), and an expression, a partial and a
/// unique index (kept).
const TABLE: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, user_id INTEGER, tag TEXT, \
    score REAL, created_at TEXT, note TEXT, UNIQUE (user_id, id)); \
    CREATE INDEX t_user ON t (user_id); \
    CREATE INDEX \"t when\" ON t (created_at DESC, id); \
    CREATE INDEX t_tag ON t (tag COLLATE NOCASE); \
    CREATE INDEX t_lower ON t (lower(tag)); \
    CREATE INDEX t_positive ON t (score) WHERE score > 0; \
    CREATE UNIQUE INDEX t_note ON t (note, id)";

/// The indexes a resumable load leaves out of [`TABLE`], in the order they were made.
const LEFT_OUT: [&str; 3] = ["t_user", "t when", "t_tag"];

/// `rows` rows for [`TABLE`] as CSV with a header, and each row as the table gives it back
/// (`id|user_id|tag|score|created_at|note`).
fn rows(rows: usize) -> (String, Vec<String>) {
    let mut csv = String::from("id,user_id,tag,score,created_at,note\n");
    let mut want = Vec::with_capacity(rows);
    for i in 1..=rows {
        let row = [
            i.to_string(),
            ((i * 7919) % 50_000).to_string(),
            format!("Tag-{}", i % 97),
            format!("{}.25", i % 1000),
            format!(
                "2024-{:02}-{:02} 10:{:02}:00",
                i % 12 + 1,
                i % 28 + 1,
                i % 60
            ),
            format!("word{} and more", i % 31),
        ];
        csv.push_str(&row.join(","));
        csv.push('\n');
        want.push(row.join("|"));
    }
    (csv, want)
}

fn open(db: &Path) -> Connection {
    let conn = Connection::open(db).expect("open the SQLite file");
    conn.busy_timeout(Duration::from_secs(30))
        .expect("set a busy timeout");
    conn
}

fn strings(db: &Path, sql: &str) -> Vec<String> {
    let conn = open(db);
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = stmt
        .query_map([], |r| {
            Ok(match r.get::<_, rusqlite::types::Value>(0)? {
                rusqlite::types::Value::Text(t) => t,
                rusqlite::types::Value::Integer(i) => i.to_string(),
                other => format!("{other:?}"),
            })
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every index of `t` and the statement that made it, by name.
fn definitions(db: &Path) -> Vec<String> {
    strings(
        db,
        "SELECT name || ': ' || coalesce(sql, '(constraint)') FROM sqlite_schema \
         WHERE type = 'index' AND tbl_name = 't' ORDER BY name",
    )
}

fn index_names(db: &Path) -> Vec<String> {
    strings(
        db,
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 't' ORDER BY name",
    )
}

/// The indexes recorded as left out, in their order.
fn recorded(db: &Path) -> Vec<String> {
    strings(
        db,
        "SELECT index_name FROM barge_checkpoint_indexes ORDER BY position",
    )
}

/// The table's rows as [`rows`] writes them.
fn table_rows(db: &Path) -> Vec<String> {
    strings(
        db,
        "SELECT concat_ws('|', id, user_id, tag, score, created_at, note) FROM t ORDER BY id",
    )
}

/// Counts read through each index left out equal the table's, and SQLite finds nothing wrong.
fn indexes_hold_every_row(db: &Path) {
    let all = strings(db, "SELECT count(*) FROM t");
    for (index, filter) in [
        ("t_user", "user_id >= 0"),
        ("\"t when\"", "created_at > ''"),
        ("t_tag", "tag > '' COLLATE NOCASE"),
    ] {
        let through = strings(
            db,
            &format!("SELECT count(*) FROM t INDEXED BY {index} WHERE {filter}"),
        );
        assert_eq!(through, all, "{index}");
    }
    assert_eq!(strings(db, "PRAGMA integrity_check"), vec!["ok"]);
}

fn new_db(dir: &Dir) -> std::path::PathBuf {
    let db = dir.path().join("t.db");
    open(&db).execute_batch(TABLE).expect("create the table");
    db
}

/// `barge load FILE --into sqlite://DB --table t` and `extra`.
fn load(db: &Path, file: &Path, extra: &[&str]) -> Run {
    let into = format!("sqlite://{}", db.display());
    let args = [
        "load",
        file.to_str().unwrap(),
        "--into",
        &into,
        "--table",
        "t",
    ];
    barge(&[&args[..], extra].concat())
}

#[test]
fn a_resumable_load_into_an_empty_table_builds_the_indexes_no_row_can_fail_at_its_end() {
    let dir = Dir::new();
    let db = new_db(&dir);
    let before = definitions(&db);
    let (csv, want) = rows(20_000);
    let f = dir.write("rows.csv", &csv);
    let run = load(&db, &f, &["-v"]);
    run.assert_ok();
    assert_indexes_built_at_the_end(&run, 3);
    assert_eq!(definitions(&db), before);
    assert!(recorded(&db).is_empty());
    assert_eq!(table_rows(&db), want);
    indexes_hold_every_row(&db);

    // Into a table that holds rows, the indexes stay in place.
    open(&db)
        .execute_batch("DELETE FROM t WHERE id > 1")
        .expect("delete");
    let rest: String = csv
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let run = load(&db, &dir.write("rest.csv", rest), &["-v"]);
    run.assert_ok();
    assert!(!run.stderr.contains("built at the end"), "{}", run.stderr);
    assert_eq!(table_rows(&db), want);
    assert_eq!(definitions(&db), before);

    // Nor with --keep-indexes.
    open(&db).execute_batch("DELETE FROM t").expect("delete");
    let run = load(&db, &f, &["--again", "--keep-indexes", "-v"]);
    run.assert_ok();
    assert!(!run.stderr.contains("built at the end"), "{}", run.stderr);
    assert_eq!(table_rows(&db), want);
    assert_eq!(definitions(&db), before);

    // So with --no-checkpoint, which leaves nothing out (nothing would record it).
    open(&db).execute_batch("DELETE FROM t").expect("delete");
    let run = load(&db, &f, &["--no-checkpoint", "-v"]);
    run.assert_ok();
    assert!(!run.stderr.contains("built at the end"), "{}", run.stderr);
    assert_eq!(table_rows(&db), want);
    assert_eq!(definitions(&db), before);

    // A table without an index loads in chunks of 10,000 rows, as one with indexes does.
    let bare = dir.path().join("bare.db");
    open(&bare)
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, user_id INTEGER, tag TEXT, score REAL, \
             created_at TEXT, note TEXT)",
        )
        .expect("create the table");
    let run = load(&bare, &f, &[]);
    run.assert_ok();
    assert!(run.stdout.contains(", 2 chunks, "), "{}", run.stdout);
    assert_eq!(table_rows(&bare), want);
}

#[test]
fn a_kill_leaves_the_indexes_recorded_and_the_next_run_builds_them() {
    let dir = Dir::new();
    let db = new_db(&dir);
    let before = definitions(&db);
    let names = index_names(&db);
    let (csv, want) = rows(300_000);
    let f = dir.write("big.csv", &csv);
    let into = format!("sqlite://{}", db.display());
    let args = [
        "load",
        f.to_str().unwrap(),
        "--into",
        &into,
        "--table",
        "t",
        "--chunk-rows",
        "2000",
        // Commits soon after the first chunks, so that the kill comes in the middle.
        "--commit-every",
        "0.1",
        "--quiet",
    ];
    // The same command resumes and builds them at its end; with --keep-indexes it builds
    // them before it loads.
    for extra in [&[][..], &["--keep-indexes"][..]] {
        open(&db)
            .execute_batch("DELETE FROM t; DROP TABLE IF EXISTS barge_checkpoint")
            .expect("empty the table");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_barge"))
            .args(args)
            .spawn()
            .expect("spawn barge");
        let deadline = Instant::now() + Duration::from_secs(120);
        while strings(&db, "SELECT count(*) > 0 FROM t") != vec!["1"] {
            assert!(Instant::now() < deadline, "no chunk was ever committed");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("kill -9");
        let _ = child.wait();
        assert_eq!(
            strings(&db, "SELECT count(*) < 300000 FROM t"),
            vec!["1"],
            "the load ended before the kill"
        );
        // The constraints and the other indexes are in place; what is missing is recorded.
        assert_eq!(recorded(&db), LEFT_OUT);
        let kept: Vec<String> = names
            .iter()
            .filter(|n| !LEFT_OUT.contains(&n.as_str()))
            .cloned()
            .collect();
        assert_eq!(index_names(&db), kept);
        rerun_after_a_kill(&args, extra);
        assert_eq!(definitions(&db), before);
        assert!(recorded(&db).is_empty());
        assert_eq!(table_rows(&db), want);
    }
    indexes_hold_every_row(&db);
}
