//! Bad rows set aside: every good row loads, exactly the bad ones land in the rejects file (with
//! their original bytes and reasons), the fixed rejects file completes the table, and none of
//! it doubles across a kill -9 and a re-run.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::pg::{fresh_db_at, PrivateServer};
use crate::support::{barge, fresh_db, spawn_barge_silent, Dir, Run, TestDb};

const DDL: &str = "id int PRIMARY KEY, n smallint, amount numeric(6,2), \
                   name varchar(5) NOT NULL, d date, j jsonb, v int CHECK (v >= 0)";

/// Kinds of bad rows [`bad`] makes.
const ALL_KINDS: usize = 15;
/// Those that are bad in SQLite too (it has no jsonb to refuse odd JSON).
const SQLITE_KINDS: usize = 12;

/// A good row.
fn good(id: usize) -> String {
    format!(
        "{id},{},{}.{:02},n{},2024-{:02}-{:02},\"{{\"\"k\"\":{id}}}\",{}\n",
        id % 300,
        id % 9999,
        id % 100,
        id % 1000,
        id % 12 + 1,
        id % 28 + 1,
        id % 50
    )
}

/// A bad row of kind `k` (and what makes it bad), with a unique id; `last_good` is the id of
/// a row that loads, for the duplicate.
fn bad(k: usize, id: usize, last_good: usize) -> (Vec<u8>, &'static str) {
    let row = |s: String| s.into_bytes();
    match k % ALL_KINDS {
        0 => (row(format!("{id},1,1.00,ab\n")), "expected 7 fields"),
        1 => {
            let mut r = format!("{id},1,1.00,").into_bytes();
            r.extend_from_slice(b"\xff\xfe");
            r.extend_from_slice(b",2024-01-01,{},1\n");
            (r, "not UTF-8")
        }
        2 => (row(format!("{id},1,1.00,a\0b,2024-01-01,{{}},1\n")), "NUL"),
        3 => (
            row(format!("{id},x1,1.00,ab,2024-01-01,{{}},1\n")),
            "smallint",
        ),
        4 => (
            row(format!("{id},99999,1.00,ab,2024-01-01,{{}},1\n")),
            "out of range",
        ),
        5 => (
            row(format!("{id},1,12345.678,ab,2024-01-01,{{}},1\n")),
            "overflow",
        ),
        6 => (
            row(format!("{id},1,1.00,abcdefg,2024-01-01,{{}},1\n")),
            "too long",
        ),
        7 => (row(format!("{id},1,1.00,,2024-01-01,{{}},1\n")), "NOT NULL"),
        8 => (row(format!("{id},1,1.00,ab,2023-02-29,{{}},1\n")), "date"),
        9 => (
            row(format!("{id},1,1.00,ab,2024-01-01,\"{{nope\",1\n")),
            "json",
        ),
        10 => (row(format!("{id},1,1.00,ab,2024-01-01,{{}},-1\n")), "check"),
        // JSON that parses but that jsonb refuses: found by the server, whose error context
        // has a "JSON data, line 1" before the COPY line.
        12 => (
            row(format!(
                "{id},1,1.00,ab,2024-01-01,\"[\"\"\\ud800\"\"]\",1\n"
            )),
            "Unicode",
        ),
        13 => (
            row(format!(
                "{id},1,1.00,ab,2024-01-01,\"{{\"\"a\"\":\"\"\\u0000\"\"}}\",1\n"
            )),
            "Unicode",
        ),
        14 => (
            row(format!("{id},1,1.00,ab,2024-01-01,1e1000000,1\n")),
            "numeric",
        ),
        // A key that is already in the file (the first occurrence loads).
        _ => (
            row(format!("{last_good},1,1.00,ab,2024-01-01,{{}},1\n")),
            "duplicate",
        ),
    }
}

struct Corpus {
    csv: Vec<u8>,
    good_csv: Vec<u8>,
    bad_rows: BTreeSet<Vec<u8>>,
    good_ids: usize,
}

/// `n` rows with a bad one of each kind in turn every `every` rows, some at chunk boundaries
/// (chunks of 100), and a last line that opens a quote and has no newline.
/// `kinds` of bad rows are used (the last three need jsonb, which only PostgreSQL has).
fn corpus(n: usize, every: usize, kinds: usize) -> Corpus {
    let header = b"id,n,amount,name,d,j,v\n";
    let mut csv = header.to_vec();
    let mut good_csv = header.to_vec();
    let mut bad_rows = BTreeSet::new();
    let mut k = 0;
    let mut good_ids = 0;
    let mut last_good = 0;
    for id in 1..=n {
        if id % every == 0 || id == 100 || id == 101 || id == 200 {
            let (row, _) = bad(k % kinds, id, last_good);
            k += 1;
            csv.extend_from_slice(&row);
            bad_rows.insert(row);
        } else {
            let row = good(id);
            csv.extend_from_slice(row.as_bytes());
            good_csv.extend_from_slice(row.as_bytes());
            good_ids += 1;
            last_good = id;
        }
    }
    let tail = format!("{},1,\"1.00,ab", n + 1).into_bytes();
    csv.extend_from_slice(&tail);
    let mut tail_row = tail;
    tail_row.push(b'\n');
    bad_rows.insert(tail_row);
    Corpus {
        csv,
        good_csv,
        bad_rows,
        good_ids,
    }
}

/// The rejects file's rows (after the corpus' header), as a set of raw records.
fn rejected_rows(path: &std::path::Path) -> BTreeSet<Vec<u8>> {
    rejected_rows_after(path, b"id,n,amount,name,d,j,v\n")
}

/// The rejects file's rows after `header`, as a set of raw records; each only once.
fn rejected_rows_after(path: &std::path::Path, header: &[u8]) -> BTreeSet<Vec<u8>> {
    let bytes = std::fs::read(path).expect("read the rejects file");
    let body = bytes
        .strip_prefix(header)
        .expect("the rejects file starts with the header");
    let mut rows = BTreeSet::new();
    let mut start = 0;
    for (i, &b) in body.iter().enumerate() {
        if b == b'\n' {
            let row = body[start..=i].to_vec();
            // The unterminated tail holds no newline of its own before the one barge adds.
            assert!(
                rows.insert(row.clone()),
                "written twice: {:?}",
                String::from_utf8_lossy(&row)
            );
            start = i + 1;
        }
    }
    rows
}

/// A SQLite file `name` in `dir` made by `ddl`, and its URL.
fn sqlite_file(dir: &Dir, name: &str, ddl: &str) -> (std::path::PathBuf, String) {
    let db = dir.path().join(name);
    rusqlite::Connection::open(&db)
        .and_then(|c| c.execute_batch(ddl))
        .expect("create the table");
    let into = format!("sqlite://{}", db.display());
    (db, into)
}

async fn setup(db: &TestDb, c: &Corpus) {
    db.exec(&format!(
        "CREATE TABLE t ({DDL}); CREATE TABLE t_ref ({DDL});"
    ))
    .await;
    db.server_copy("t_ref", "FORMAT csv, HEADER true", &c.good_csv)
        .await;
}

#[tokio::test]
async fn every_good_row_loads_and_exactly_the_bad_ones_are_set_aside() {
    let db = fresh_db("rejects_corpus").await;
    let c = corpus(3_000, 37, ALL_KINDS);
    setup(&db, &c).await;
    let dir = Dir::new();
    let f = dir.write("in.csv", &c.csv);
    let f = f.to_str().unwrap();
    let rej = dir.path().join("rej.csv");
    let rej_s = rej.to_str().unwrap();
    let run = barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "t",
        "--chunk-rows",
        "100",
        "--rejects",
        rej_s,
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(db.checksum("t").await, db.checksum("t_ref").await);
    assert_eq!(db.checksum("t").await.0 as usize, c.good_ids);
    assert_eq!(rejected_rows(&rej), c.bad_rows);
    assert!(
        run.stdout.contains(&format!(
            "\nRejected {} rows: they are in {rej_s}, with the reasons in {rej_s}.errors.jsonl",
            c.bad_rows.len()
        )),
        "{}",
        run.stdout
    );
    // One reason per reject, each naming its line; every kind's reason is there.
    let errors = std::fs::read_to_string(format!("{rej_s}.errors.jsonl")).unwrap();
    let entries: Vec<serde_json::Value> = errors
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(entries.len(), c.bad_rows.len());
    for (kind, why) in [
        ("expected 7 fields", "fields"),
        ("not UTF-8", "UTF-8"),
        ("NUL", "NUL"),
        ("smallint", "smallint"),
        ("out of range", "out of range"),
        ("overflow", "overflow"),
        ("too long", "too long"),
        ("NOT NULL", "NOT NULL"),
        ("date", "date"),
        ("json", "json"),
        ("check", "check constraint"),
        ("duplicate", "duplicate key"),
        ("jsonb", "unicode"),
        ("jsonb number", "numeric"),
        ("tail", "unterminated quoted field"),
    ] {
        assert!(
            entries.iter().any(|e| e["reason"]
                .as_str()
                .is_some_and(|r| r.to_lowercase().contains(&why.to_lowercase()))),
            "no reject for {kind} in {errors}"
        );
    }
    assert!(entries
        .iter()
        .all(|e| e["line"].as_u64().is_some_and(|l| l >= 2)));
    let dup = entries
        .iter()
        .find(|e| e["sqlstate"] == "23505")
        .expect("a duplicate");
    assert!(dup["reason"].as_str().unwrap().contains("already exists"));

    // Fixed (each bad row replaced by a good one with its id), the rejects file completes
    // the table with the same command.
    let mut fixed = b"id,n,amount,name,d,j,v\n".to_vec();
    for row in &c.bad_rows {
        let id: String = row
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|&b| b as char)
            .collect();
        let id: usize = id.parse().unwrap();
        fixed.extend_from_slice(good(id + 100_000).as_bytes());
    }
    std::fs::write(&rej, &fixed).unwrap();
    let run = barge(&[
        "load",
        rej_s,
        "--into",
        &db.url,
        "--table",
        "t",
        "--rejects",
        &format!("{rej_s}.2"),
    ]);
    run.assert_ok();
    assert_eq!(
        db.checksum("t").await.0 as usize,
        c.good_ids + c.bad_rows.len()
    );
}

#[tokio::test]
async fn max_errors_stops_the_load_and_a_rerun_resumes_without_doubles() {
    let db = fresh_db("rejects_max").await;
    let c = corpus(2_000, 97, ALL_KINDS);
    setup(&db, &c).await;
    let dir = Dir::new();
    let f = dir.write("in.csv", &c.csv);
    let f = f.to_str().unwrap();
    let rej = dir.path().join("rej.csv");
    let rej_s = rej.to_str().unwrap();
    let args = |max: &'static str| {
        vec![
            "load".to_string(),
            f.to_string(),
            "--into".into(),
            db.url.clone(),
            "--table".into(),
            "t".into(),
            "--chunk-rows".into(),
            "100".into(),
            "--rejects".into(),
            rej_s.into(),
            "--max-errors".into(),
            max.into(),
        ]
    };
    let a: Vec<String> = args("5");
    let run = barge(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .starts_with("error: more than 5 rows rejected (--max-errors 5): the load stopped"),
        "{}",
        run.stderr
    );
    let partial = db.checksum("t").await.0;
    assert!(partial > 0 && (partial as usize) < c.good_ids, "{partial}");
    let a: Vec<String> = args("1000");
    let run = barge(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("Resumed: skipped"), "{}", run.stdout);
    assert_eq!(db.checksum("t").await, db.checksum("t_ref").await);
    assert_eq!(rejected_rows(&rej), c.bad_rows);
}

#[tokio::test]
async fn kill_9_and_rerun_write_each_reject_once() {
    let db = fresh_db("rejects_kill").await;
    let c = corpus(60_000, 53, ALL_KINDS);
    setup(&db, &c).await;
    let dir = Dir::new();
    let f = dir.write("in.csv", &c.csv);
    let f = f.to_str().unwrap();
    let rej = dir.path().join("rej.csv");
    let rej_s = rej.to_str().unwrap();
    let args = [
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "t",
        "--chunk-rows",
        "500",
        "--rejects",
        rej_s,
        "--workers",
        "3",
    ];
    let mut killed = 0;
    for _ in 0..3 {
        // Each run is killed once it has committed a few more chunks (of 120), so that the
        // load is mid-way however fast the machine is.
        let before = committed_chunks(&db).await;
        let mut child = spawn_barge_silent(&args);
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until && child.try_wait().ok().flatten().is_none() {
            if committed_chunks(&db).await >= before + 8 {
                child.kill().expect("kill -9");
                killed += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.wait();
    }
    assert!(killed >= 1, "no run was killed mid-load");
    let run = barge(&args);
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(db.checksum("t").await, db.checksum("t_ref").await);
    assert_eq!(rejected_rows(&rej), c.bad_rows);
    let errors = std::fs::read_to_string(format!("{rej_s}.errors.jsonl")).unwrap();
    assert_eq!(errors.lines().count(), c.bad_rows.len());
}

/// Chunks the load has committed so far (0 before its checkpoint table exists).
async fn committed_chunks(db: &TestDb) -> usize {
    let exists = db
        .rows_text("SELECT relname FROM pg_class WHERE relname = 'barge_checkpoint'")
        .await;
    if exists.is_empty() {
        return 0;
    }
    db.rows_text("SELECT first_byte FROM barge_checkpoint WHERE first_byte >= 0")
        .await
        .len()
}

#[test]
fn sqlite_sets_aside_what_it_refuses() {
    let c = corpus(1_000, 41, SQLITE_KINDS);
    let dir = Dir::new();
    let f = dir.write("in.csv", &c.csv);
    let (db, into) = sqlite_file(
        &dir,
        "r.db",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n SMALLINT, amount NUMERIC(6,2), \
         name VARCHAR(5) NOT NULL, d DATE, j JSON, v INTEGER CHECK (v >= 0))",
    );
    let rej = dir.path().join("rej.csv");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &into,
        "--chunk-rows",
        "100",
        "--table",
        "t",
        "--rejects",
        rej.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    let got = rejected_rows(&rej);
    // SQLite's declared lengths and numeric scales are not limits: those rows load there.
    let lenient: BTreeSet<Vec<u8>> = c
        .bad_rows
        .iter()
        .filter(|r| {
            let s = String::from_utf8_lossy(r);
            s.contains("abcdefg") || s.contains("12345.678") || s.contains(",99999,")
        })
        .cloned()
        .collect();
    let want: BTreeSet<Vec<u8>> = c.bad_rows.difference(&lenient).cloned().collect();
    assert_eq!(got, want);
    let n: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n as usize, c.good_ids + lenient.len());
}

/// An upsert into SQLite with rows its target refuses: the merge of a chunk fails as a whole, the
/// chunk is searched under a savepoint, and the chunks before it in the same transaction stay.
#[test]
fn sqlite_upsert_sets_aside_refused_rows_and_keeps_the_chunks_before_them() {
    let dir = Dir::new();
    let mut csv = String::from("k,v\n");
    let mut want: BTreeMap<u32, i64> = BTreeMap::new();
    let mut bad = BTreeSet::new();
    for i in 0..3_000u32 {
        let k = (i * 7) % 1_000;
        // One row in 150 breaks the target's CHECK: only the merge into it can tell.
        let v = if i % 150 == 75 {
            -i64::from(i)
        } else {
            i64::from(i)
        };
        let line = format!("{k},{v}\n");
        if v < 0 {
            bad.insert(line.clone().into_bytes());
        } else {
            want.insert(k, v);
        }
        csv.push_str(&line);
    }
    let f = dir.write("kv.csv", &csv);
    let (db, into) = sqlite_file(
        &dir,
        "u.db",
        "CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER CHECK (v >= 0))",
    );
    let rej = dir.path().join("rej.csv");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &into,
        "--table",
        "kv",
        "--on-conflict",
        "update",
        "--chunk-rows",
        "100",
        "--commit-every",
        "3600",
        "--rejects",
        rej.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.all().contains(&format!("Rejected {} rows", bad.len())),
        "{}",
        run.all()
    );
    assert_eq!(rejected_rows_after(&rej, b"k,v\n"), bad);
    let conn = rusqlite::Connection::open(&db).expect("open the database");
    let mut stmt = conn
        .prepare("SELECT k, v FROM kv ORDER BY k")
        .expect("prepare");
    let rows: BTreeMap<u32, i64> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("read kv");
    assert_eq!(rows, want);
}

#[tokio::test]
async fn latin1_files_load_with_encoding_and_say_so_without() {
    let db = fresh_db("encoding").await;
    db.exec("CREATE TABLE p (id int, name text)").await;
    let dir = Dir::new();
    // "Zoë", "Łódź" is not Latin-1: "Mañana" and "Café" are.
    let f = dir.write("l1.csv", b"id,name\n1,Ma\xf1ana\n2,Caf\xe9\n");
    let f = f.to_str().unwrap();
    let run = barge(&["load", f, "--into", &db.url, "--table", "p"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("not UTF-8 (byte 3 of the value); read as windows-1252 it is \"Mañana\""),
        "{}",
        run.stderr
    );
    let run = barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "p",
        "--encoding",
        "latin1",
    ]);
    run.assert_ok();
    assert_eq!(
        db.rows_text("SELECT name FROM p ORDER BY id").await,
        ["(Mañana)", "(Café)"]
    );
    let run = barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "p",
        "--encoding",
        "klingon",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown encoding \"klingon\""),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn several_files_share_one_rejects_file_that_names_them() {
    let db = fresh_db("rejects_files").await;
    db.exec("CREATE TABLE p (id int PRIMARY KEY, v int)").await;
    let dir = Dir::new();
    let a = dir.write("a.csv", "id,v\n1,1\n2,x\n3,3\n");
    let b = dir.write("b.csv", "id,v\n4,4\n5,y\n1,6\n");
    let rej = dir.path().join("rej.csv");
    let args = [
        "load",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "p",
        "--rejects",
        rej.to_str().unwrap(),
    ];
    let run = barge(&args);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("Rejected 3 rows"), "{}", run.stdout);
    assert_eq!(db.checksum("p").await.0, 3);
    let want = "id,v\n2,x\n5,y\n1,6\n";
    assert_eq!(std::fs::read_to_string(&rej).unwrap(), want);
    let errors = std::fs::read_to_string(format!("{}.errors.jsonl", rej.display())).unwrap();
    let inputs: Vec<String> = errors
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["input"].to_string())
        .collect();
    assert_eq!(
        inputs,
        [
            format!("{:?}", a.display().to_string()),
            format!("{:?}", b.display().to_string()),
            format!("{:?}", b.display().to_string()),
        ]
    );
    // A re-run finds both files loaded and leaves the rejects as they are.
    let run = barge(&args);
    run.assert_ok();
    assert!(run.stdout.contains("were already loaded"), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&rej).unwrap(), want);
}

/// The property behind `--rejects`: for random files with random bad values of every kind
/// (found on the client and by the server, including duplicates of keys in other chunks), any
/// chunk size, worker count and mode, the rows set aside are exactly the bad ones and the
/// table holds exactly the good ones. The seed is printed; `BARGE_TEST_SEED` repeats a run.
#[tokio::test]
async fn rejects_are_exactly_the_bad_rows_of_random_files() {
    let seed: u64 = std::env::var("BARGE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("random files from BARGE_TEST_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let db = fresh_db("rejects_property").await;
    let dir = Dir::new();
    for case in 0..24 {
        let n = rng.usize(20..500);
        let bad_every = rng.usize(2..40);
        let header = b"id,n,amount,name,d,j,v\n";
        let mut csv = header.to_vec();
        let mut good_csv = header.to_vec();
        let mut bad_rows = BTreeSet::new();
        let mut good_ids: Vec<usize> = Vec::new();
        for id in 1..=n {
            if rng.usize(0..bad_every) == 0 {
                let kind = rng.usize(0..=ALL_KINDS);
                let row = match (kind, good_ids.is_empty()) {
                    // A duplicate of a random earlier good key, unique in its other fields.
                    (ALL_KINDS, false) => {
                        let dup = good_ids[rng.usize(0..good_ids.len())];
                        format!("{dup},{id},1.00,ab,2024-01-01,{{}},1\n").into_bytes()
                    }
                    _ => bad(kind % ALL_KINDS, id, 0).0,
                };
                // A duplicate of id 0 (no good row yet) is a plain good key: skip it.
                if row.starts_with(b"0,") {
                    continue;
                }
                csv.extend_from_slice(&row);
                bad_rows.insert(row);
            } else {
                let row = good(id);
                csv.extend_from_slice(row.as_bytes());
                good_csv.extend_from_slice(row.as_bytes());
                good_ids.push(id);
            }
        }
        if rng.bool() {
            // A last line that opens a quote and never closes it.
            let tail = format!("{},1,\"1.00,ab", n + 1).into_bytes();
            csv.extend_from_slice(&tail);
            let mut row = tail;
            row.push(b'\n');
            bad_rows.insert(row);
        }
        let chunk = [1, 3, 7, 50, 10_000][rng.usize(0..5)].to_string();
        let workers = rng.usize(1..4).to_string();
        let mode = ["copy", "insert"][rng.usize(0..2)];
        db.exec(&format!(
            "DROP TABLE IF EXISTS t, t_ref; CREATE TABLE t ({DDL}); CREATE TABLE t_ref ({DDL});"
        ))
        .await;
        db.server_copy("t_ref", "FORMAT csv, HEADER true", &good_csv)
            .await;
        let f = dir.write(&format!("in{case}.csv"), &csv);
        let rej = dir.path().join(format!("rej{case}.csv"));
        let run = barge(&[
            "load",
            f.to_str().unwrap(),
            "--into",
            &db.url,
            "--table",
            "t",
            "--chunk-rows",
            &chunk,
            "--workers",
            &workers,
            "--mode",
            mode,
            "--rejects",
            rej.to_str().unwrap(),
        ]);
        let what = format!(
            "case {case} (seed {seed}): {n} rows, {} bad, chunks of {chunk}, {workers} workers, {mode}",
            bad_rows.len()
        );
        let want_code = if bad_rows.is_empty() { 0 } else { 3 };
        assert_eq!(run.code, want_code, "{what}: {}", run.all());
        if !bad_rows.is_empty() {
            let got = rejected_rows(&rej);
            let good_set_aside: Vec<String> = got
                .difference(&bad_rows)
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect();
            let bad_kept: Vec<String> = bad_rows
                .difference(&got)
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect();
            assert!(
                good_set_aside.is_empty() && bad_kept.is_empty(),
                "{what}: good rows set aside {good_set_aside:?}; bad rows not set aside {bad_kept:?}"
            );
        }
        assert_eq!(db.checksum("t").await, db.checksum("t_ref").await, "{what}");
    }
}

/// Duplicate keys are found with one query per chunk (the table's one unique key, here two
/// nullable columns): the first occurrence loads, later ones in the chunk or in later chunks are
/// set aside with the key in the reason, NULL keys never conflict, and a chunk that also holds
/// another kind of refusal is searched row by row instead.
#[tokio::test]
async fn duplicate_keys_are_set_aside_with_one_query_per_chunk() {
    let db = fresh_db("rejects_dedupe").await;
    db.exec("CREATE TABLE t (a int, b int, v int CHECK (v >= 0), UNIQUE (a, b))")
        .await;
    dedupe_case(&db, |a, b, v| format!("{a},{b},{v}\n"), "a,b,v\n").await;
}

/// The same with a column type the server parses (so chunks go as text COPY), and the key's
/// columns neither first nor in the key's order.
#[tokio::test]
async fn duplicate_keys_are_set_aside_from_text_copy_chunks_too() {
    let db = fresh_db("rejects_dedupe_text").await;
    db.exec("CREATE TABLE t (n bit(4), v int CHECK (v >= 0), b int, a int, UNIQUE (a, b))")
        .await;
    dedupe_case(
        &db,
        |a, b, v| format!("{:04b},{v},{b},{a}\n", v.rem_euclid(16)),
        "n,v,b,a\n",
    )
    .await;
}

/// The same with values only the server reads (numbers with exponents): each chunk's are
/// resolved in a query and spliced in before the chunk is sent.
#[tokio::test]
async fn duplicate_keys_are_set_aside_from_chunks_with_server_resolved_values() {
    let db = fresh_db("rejects_dedupe_resolved").await;
    db.exec("CREATE TABLE t (n numeric, v int CHECK (v >= 0), b int, a int, UNIQUE (a, b))")
        .await;
    dedupe_case(&db, |a, b, v| format!("{v}e-2,{v},{b},{a}\n"), "n,v,b,a\n").await;
}

/// `csv` loaded into `db`'s table `t` with `--rejects` and `extra`, which sets rows aside
/// (exit code 3): the run, the rows set aside (each with its line break) and their reasons
/// (the `.errors.jsonl` file).
fn load_setting_aside(db: &TestDb, csv: &str, extra: &[&str]) -> (Run, BTreeSet<Vec<u8>>, String) {
    let dir = Dir::new();
    let f = dir.write("t.csv", csv);
    let rej = dir.path().join("t.rej");
    let args = [
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--rejects",
        rej.to_str().unwrap(),
    ];
    let run = barge(&[&args[..], extra].concat());
    assert_eq!(run.code, 3, "{}", run.all());
    let bytes = std::fs::read(&rej).unwrap();
    let rows = bytes
        .split_inclusive(|&b| b == b'\n')
        .skip(1)
        .map(<[u8]>::to_vec)
        .collect();
    let errors = std::fs::read_to_string(dir.path().join("t.rej.errors.jsonl")).unwrap();
    (run, rows, errors)
}

/// Loads 2,000 rows with repeated keys (within and across chunks, and one already in the
/// table), NULL keys and a check violation into `t`, which has a unique key (a, b) and
/// holds (0, 0): the rejects are exactly the repeats and the violation.
async fn dedupe_case(db: &TestDb, line: impl Fn(i64, &str, i64) -> String, header: &str) {
    let first = line(0, "0", 0);
    let values: Vec<String> = first
        .trim_end()
        .split(',')
        .map(|f| format!("'{f}'"))
        .collect();
    db.exec(&format!(
        "INSERT INTO t ({}) VALUES ({})",
        header.trim_end(),
        values.join(", ")
    ))
    .await;
    let mut csv = String::from(header);
    let mut want_bad = BTreeSet::new();
    let mut seen = BTreeSet::from([(0, 0)]);
    let mut good = 1;
    for i in 0..2000i64 {
        let (a, b) = match i % 10 {
            3 => (i / 10 % 7, 1), // repeats keys within and across chunks
            5 => (0, 0),          // the key already in the table
            _ => (i, 2),
        };
        let v = if i == 1234 { -1 } else { i };
        let key_null = i % 17 == 0;
        let row = line(
            a,
            &if key_null {
                String::new()
            } else {
                b.to_string()
            },
            v,
        );
        csv.push_str(&row);
        let bad = v < 0 || (!key_null && !seen.insert((a, b)));
        if bad {
            want_bad.insert(row.into_bytes());
        } else {
            good += 1;
        }
    }
    let (_, got, errors) = load_setting_aside(db, &csv, &["--chunk-rows", "150", "--workers", "3"]);
    assert_eq!(got, want_bad);
    assert_eq!(
        db.rows_text("SELECT count(*) FROM t").await,
        [format!("({good})")]
    );
    assert!(
        errors.contains("Key (a, b)=(0, 0) already exists.") && errors.contains("\"23505\""),
        "{errors}"
    );
}

/// Rows of 4 MiB and more are held without a third copy of their input (it is rebuilt
/// from their fields when the fields give it exactly): whichever way such a row is set aside,
/// the rejects file holds it byte for byte as it was read, and the rows that load are exact.
#[tokio::test]
async fn big_rows_set_aside_are_written_exactly_as_they_were_read() {
    let db = fresh_db("rejects_big").await;
    db.exec("CREATE TABLE big (id int PRIMARY KEY, body text, n int CHECK (n >= 0))")
        .await;
    let mb = 4 * 1024 * 1024;
    // Quoted, with doubled quotes, delimiters and line breaks inside, CRLF-terminated.
    let quoted_body: String = "a \"\"quote\"\", a comma,\nand a line\r\n".repeat(2 * mb / 32);
    let unquoted_body = "x".repeat(mb + mb / 2);
    let lines: Vec<Vec<u8>> = vec![
        // Loads.
        format!("1,\"{quoted_body}\",1\r\n").into_bytes(),
        // Refused by the server: the same key again (a big row, unquoted).
        format!("1,{unquoted_body},2\n").into_bytes(),
        // Refused by the server: the check constraint (a big quoted row).
        format!("2,\"{quoted_body}\",-1\r\n").into_bytes(),
        // Refused by the client: not an integer (a big row).
        format!("x3,{unquoted_body},3\n").into_bytes(),
        // A big row whose fields do not give its input back (a quote inside an unquoted
        // field starts a quoted part): kept as read, and loads.
        format!("4,ab\"{unquoted_body}\"cd,4\n").into_bytes(),
        // Small and good; the last line has no line break.
        b"5,small,5".to_vec(),
    ];
    let mut file = b"id,body,n\n".to_vec();
    for l in &lines {
        file.extend_from_slice(l);
    }
    let dir = Dir::new();
    let path = dir.path().join("big.csv");
    std::fs::write(&path, &file).expect("write");
    let rej = dir.path().join("rej.csv");
    let run = barge(&[
        "load",
        path.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "big",
        "--rejects",
        rej.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("Rejected 3 rows"), "{}", run.stdout);
    let mut want = b"id,body,n\n".to_vec();
    for l in [&lines[1], &lines[2], &lines[3]] {
        want.extend_from_slice(l);
    }
    let got = std::fs::read(&rej).expect("the rejects file");
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "the rejects file differs from the rows as read"
    );
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let loaded: Vec<(i32, String)> = client
        .query("SELECT id, body FROM big ORDER BY id", &[])
        .await
        .expect("the table")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let want_rows = [
        (1, quoted_body.replace("\"\"", "\"")),
        (4, format!("ab{unquoted_body}cd")),
        (5, "small".to_string()),
    ];
    assert_eq!(loaded.len(), want_rows.len());
    for ((id, body), (want_id, want_body)) in loaded.iter().zip(&want_rows) {
        assert_eq!(id, want_id);
        assert!(body == want_body, "row {id} differs");
    }
}

/// Every row of a chunk refused by the server (a trigger's error, which only the search
/// finds): each is found and set aside, and the load ends. The search used to leave each
/// refused piece's savepoint open, one inside the other, so that 12,000 refusals nested
/// 12,000 subtransactions, and the chunk's checkpoint, the first write under all of them,
/// needed a lock for each: "out of shared memory" with PostgreSQL's default lock table.
#[tokio::test]
async fn a_chunk_the_server_refuses_row_by_row_is_set_aside_whole() {
    let db = fresh_db("refused_whole").await;
    db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v int); \
         CREATE FUNCTION negative() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN IF NEW.v >= 0 THEN RAISE EXCEPTION 'v % is not negative', NEW.v; END IF; \
              RETURN NEW; END $$; \
         CREATE TRIGGER negative BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION negative();",
    )
    .await;
    let rows = 12_000;
    let mut csv = String::from("id,v\n");
    for id in 1..=rows {
        csv.push_str(&format!("{id},{id}\n"));
    }
    let dir = Dir::new();
    let f = dir.write("t.csv", &csv);
    let rejects = dir.path().join("rej.csv");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--chunk-rows",
        "20000",
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(
        std::fs::read_to_string(&rejects).expect("the rejects file"),
        csv,
        "every row set aside, as it was read"
    );
    let reasons =
        std::fs::read_to_string(dir.path().join("rej.csv.errors.jsonl")).expect("the reasons file");
    assert_eq!(reasons.lines().count(), rows);
    assert!(
        reasons
            .lines()
            .all(|l| l.contains("\"sqlstate\":\"P0001\"") && l.contains("is not negative")),
        "{}",
        reasons.lines().next().unwrap_or_default()
    );
    assert_eq!(db.rows_text("SELECT count(*) FROM t").await, vec!["(0)"]);
}

/// Rows whose parent row is missing (foreign keys of one and of two columns), and rows a check
/// refuses, are found with one query per constraint, not by the search: exactly those rows
/// are set aside, with the reason the server gives (a check's first, as the server checks it
/// first), keys with a NULL part pass as MATCH SIMPLE lets them, and every other row loads.
#[tokio::test]
async fn rows_without_their_parent_or_failing_a_check_are_set_aside_with_one_query() {
    let db = fresh_db("orphans").await;
    db.exec(
        "CREATE TABLE parent (id int PRIMARY KEY); \
         INSERT INTO parent SELECT generate_series(1, 50); \
         CREATE TABLE pair (a int, b text, PRIMARY KEY (a, b)); \
         INSERT INTO pair SELECT g, 'x' || g FROM generate_series(1, 20) g; \
         CREATE TABLE child (id int PRIMARY KEY, pid int REFERENCES parent, a int, b text, \
                             v text CHECK (v <> 'bad'), FOREIGN KEY (a, b) REFERENCES pair)",
    )
    .await;
    let mut csv = String::from("id,pid,a,b,v\n");
    let mut orphans = BTreeSet::new();
    let mut reasons = BTreeMap::new();
    let (mut good, mut good_sum) = (0, 0i64);
    for id in 1..=3000i64 {
        let (mut pid, mut a, mut b) = (
            (id % 50 + 1).to_string(),
            (id % 20 + 1).to_string(),
            format!("x{}", id % 20 + 1),
        );
        let mut reason = None;
        let mut v = format!("v{id}");
        if id % 101 == 0 {
            // Refused by the check and by the parent's foreign key both: the check's reason,
            // as the server gives it.
            v = "bad".into();
            pid = (1000 + id).to_string();
            reason = Some(
                "new row for relation \"child\" violates check constraint \"child_v_check\""
                    .to_string(),
            );
        } else if id % 97 == 0 {
            pid = (1000 + id).to_string();
            reason = Some(format!(
                "insert or update on table \"child\" violates foreign key constraint \
                 \"child_pid_fkey\": Key (pid)=({pid}) is not present in table \"parent\"."
            ));
        } else if id % 89 == 0 {
            b = "y".into();
            reason = Some(format!(
                "insert or update on table \"child\" violates foreign key constraint \
                 \"child_a_b_fkey\": Key (a, b)=({a}, y) is not present in table \"pair\"."
            ));
        } else if id % 31 == 0 {
            pid = String::new();
        } else if id % 43 == 0 {
            a = String::new();
            b = "nowhere".into();
        }
        let line = format!("{id},{pid},{a},{b},{v}\n");
        csv.push_str(&line);
        match reason {
            Some(r) => {
                orphans.insert(line.into_bytes());
                reasons.insert(id, r);
            }
            None => {
                good += 1;
                good_sum += id;
            }
        }
    }
    let dir = Dir::new();
    let f = dir.write("child.csv", &csv);
    let rejects = dir.path().join("rej.csv");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "child",
        "--chunk-rows",
        "500",
        "--rejects",
        rejects.to_str().unwrap(),
        "-vv",
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    let body = std::fs::read(&rejects).expect("the rejects file");
    let set: BTreeSet<Vec<u8>> = body
        .strip_prefix(b"id,pid,a,b,v\n".as_slice())
        .expect("the header")
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(set, orphans, "exactly the rows without their parent");
    let jsonl = std::fs::read_to_string(dir.path().join("rej.csv.errors.jsonl")).expect("reasons");
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let record = v["record"].as_i64().expect("a record number");
        // The header is record 1: record n holds id n - 1.
        assert_eq!(
            v["reason"].as_str(),
            reasons.get(&(record - 1)).map(String::as_str)
        );
        let check = v["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("new row"));
        assert_eq!(v["sqlstate"], if check { "23514" } else { "23503" });
    }
    // The reason is the server's own, word for word.
    let server = crate::support::pg::connect(&db.url).await;
    let said = server
        .execute("INSERT INTO child VALUES (97, 1097, 1, 'x1', 'v')", &[])
        .await
        .expect_err("an orphan");
    let said = said.as_db_error().expect("a server error");
    assert_eq!(
        Some(format!("{}: {}", said.message(), said.detail().unwrap_or_default()).as_str()),
        reasons.get(&97).map(String::as_str)
    );
    let said = server
        .execute("INSERT INTO child VALUES (101, 1101, 1, 'x1', 'bad')", &[])
        .await
        .expect_err("a check's refusal");
    assert_eq!(
        said.as_db_error().map(|d| d.message()),
        reasons.get(&101).map(String::as_str)
    );
    assert!(
        run.stderr.contains("found with one query per constraint")
            && !run.stderr.contains("looking for the refused rows"),
        "the set path, not the search:\n{}",
        run.stderr
    );
    assert_eq!(
        db.rows_text("SELECT count(*), sum(id) FROM child").await,
        vec![format!("({good},{good_sum})")]
    );
}

/// A transaction that holds more than 64 subtransactions (savepoints released after writing)
/// slows every session on the server until it ends. A load that is one transaction (a role
/// that may not create the checkpoint table) keeps a savepoint per chunk with `--rejects`, and
/// a search keeps one per range that went in: past
/// 60, the tries are rolled back and the rows that went in are sent again in the transaction
/// itself. Seen from the server: while a deferred trigger holds the load's commit, reading the
/// rows it wrote takes no look-ups in pg_subtrans (one per row once the transaction's cache
/// has overflowed). Exactly the rows the server refuses are set aside, every other row loads
/// once.
#[tokio::test]
async fn a_transaction_holds_no_more_subtransactions_than_the_server_caches() {
    // A server of its own: the other tests' savepoints would count in pg_subtrans too.
    let srv = PrivateServer::start(&[]);
    let db = fresh_db_at(&|d| srv.url(d), "subtransactions").await;
    db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v int); \
         CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN IF NEW.v < 0 THEN RAISE EXCEPTION 'v % is negative', NEW.v; END IF; \
              RETURN NEW; END $$; \
         CREATE TRIGGER refuse BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION refuse(); \
         CREATE FUNCTION linger() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN IF NEW.v = 1000000 THEN PERFORM pg_sleep(2); END IF; RETURN NULL; END $$; \
         CREATE CONSTRAINT TRIGGER linger AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED \
           FOR EACH ROW EXECUTE FUNCTION linger(); \
         DO $$ BEGIN \
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'writer') THEN \
             CREATE ROLE writer LOGIN; \
           END IF; \
         END $$; \
         REVOKE CREATE ON SCHEMA public FROM PUBLIC; \
         GRANT SELECT, INSERT ON t TO writer;",
    )
    .await;
    let writer = db.url.replacen("postgres@", "writer@", 1);
    // One load in one transaction: 120 chunks of 40 rows, a refused row in every third chunk;
    // then the default load, whose one chunk of 400 rows holds 100 refused ones. The last row
    // (v = 1000000) holds each load's last commit.
    let cases = [
        ("one transaction", 4_800, 120, "40", &writer),
        ("a chunk", 400, 4, "400", &db.url),
    ];
    for (case, rows, every, chunk_rows, url) in cases {
        db.exec("TRUNCATE t; DROP TABLE IF EXISTS barge_checkpoint")
            .await;
        let mut csv = String::from("id,v\n");
        let mut bad = BTreeSet::new();
        for id in 1..=rows {
            let v: i64 = match id {
                _ if id == rows => 1_000_000,
                _ if id % every == every - 1 => {
                    bad.insert(format!("{id},-{id}\n").into_bytes());
                    -(id as i64)
                }
                _ => id as i64,
            };
            csv.push_str(&format!("{id},{v}\n"));
        }
        let dir = Dir::new();
        let f = dir.write("t.csv", &csv);
        let rej = dir.path().join("rej.csv");
        let args = [
            "load",
            f.to_str().unwrap(),
            "--into",
            url,
            "--table",
            "t",
            "--chunk-rows",
            chunk_rows,
            "--rejects",
            rej.to_str().unwrap(),
        ];
        let mut child = Command::new(env!("CARGO_BIN_EXE_barge"))
            .args(args)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn barge");
        // Once the commit is held: a read of the table's rows, which the loading transaction
        // (and its subtransactions) wrote. Their ids are in the reader's snapshot when the
        // transaction has not overflowed; when it has, each row's is looked up in pg_subtrans.
        let mut looked_up = None;
        let until = Instant::now() + Duration::from_secs(120);
        while Instant::now() < until && child.try_wait().ok().flatten().is_none() {
            let held = db
                .rows_text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND application_name = 'barge' AND wait_event = 'PgSleep'",
                )
                .await;
            if held[0] != "(0)" && looked_up.is_none() {
                let before = subtrans_reads(&db).await;
                db.rows_text("SELECT count(*) FROM t").await;
                looked_up = Some(subtrans_reads(&db).await - before);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("wait for barge");
        let all = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(3), "{case}: {all}");
        // Without the limit: one look-up per row, thousands.
        let looked_up = looked_up.unwrap_or_else(|| panic!("{case}: the commit was not seen held"));
        assert!(
            looked_up < 50,
            "{case}: reading the rows looked up {looked_up} ids in pg_subtrans: the loading \
             transaction overflowed its subtransaction cache"
        );
        let rejected: BTreeSet<Vec<u8>> = std::fs::read_to_string(&rej)
            .expect("the rejects file")
            .strip_prefix("id,v\n")
            .expect("the rejects file starts with the header")
            .split_inclusive('\n')
            .map(|l| l.as_bytes().to_vec())
            .collect();
        assert_eq!(rejected, bad, "{case}");
        let expected: i64 = (1..=rows as i64)
            .map(|id| match id {
                _ if id == rows as i64 => 1_000_000,
                _ if id % every as i64 == every as i64 - 1 => 0,
                _ => id,
            })
            .sum();
        assert_eq!(
            db.rows_text("SELECT count(*), sum(v) FROM t").await,
            vec![format!("({},{expected})", rows - bad.len())],
            "{case}"
        );
    }
}

/// Pages of pg_subtrans the server has read or found in its buffers, all sessions together
/// (this session's own count flushed first).
async fn subtrans_reads(db: &TestDb) -> i64 {
    db.rows_text("SELECT pg_stat_force_next_flush()").await;
    let n = db
        .rows_text("SELECT blks_hit + blks_read FROM pg_stat_slru WHERE name = 'Subtrans'")
        .await;
    n[0].trim_matches(|c| c == '(' || c == ')')
        .parse()
        .unwrap_or_else(|e| panic!("{n:?}: {e}"))
}

/// A duplicate a few rows apart across a chunk boundary: the later chunk, sent out of turn,
/// holds the key the earlier one (still sending) inserts too, and waits for the earlier one's
/// commit while the earlier one waits on its lock. The later one lets go as soon as it sees
/// that (not after a timeout) and goes again in its turn: the second occurrence of each key is
/// set aside, every other row loads once.
#[tokio::test]
async fn a_chunk_holding_a_key_an_earlier_chunk_still_inserts_lets_go() {
    let db = fresh_db("rejects_cross").await;
    db.exec("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)")
        .await;
    let mut csv = String::from("id,v\n");
    let mut bad = BTreeSet::new();
    let (mut good, mut sum) = (0, 0i64);
    for i in 1..=10_000i64 {
        // Row 2 of each chunk of 500 repeats the key of row 498 of the chunk before.
        let row = if i > 500 && i % 500 == 2 {
            let row = format!("{},{i}\n", i - 4);
            bad.insert(row.clone().into_bytes());
            row
        } else {
            good += 1;
            sum += i;
            format!("{i},{i}\n")
        };
        csv.push_str(&row);
    }
    let (run, got, _) =
        load_setting_aside(&db, &csv, &["--chunk-rows", "500", "--workers", "2", "-vv"]);
    assert_eq!(got, bad);
    assert_eq!(
        db.rows_text("SELECT count(*), sum(v) FROM t").await,
        [format!("({good},{sum})")]
    );
    assert!(
        run.stderr
            .contains("another session waits on a key this chunk holds"),
        "no chunk let go on seeing a writer wait on it: {}",
        run.stderr
            .lines()
            .filter(|l| l.contains("barge"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
