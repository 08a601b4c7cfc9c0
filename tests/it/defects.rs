//! Regression tests for defects found by trying barge as a new user would (each named after
//! the bug it pins): good rows set aside for a bad one, columns taken from the longest row, a
//! panic on a closed pipe, JSON strings read as JSON text, a role that may only write its
//! table, and exit codes and hints that pointed the wrong way.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{barge, barge_in, barge_with, fresh_db, Dir};

/// The ids of the rows in a rejects file (first field of each line after the header).
fn rejected_ids(path: &std::path::Path) -> BTreeSet<i64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect()
}

/// The issue's own file: 100 rows, id 10 holds a lone surrogate, which json accepts and jsonb
/// refuses on the server.
fn j_csv() -> String {
    let mut s = String::from("id,doc\n");
    for i in 1..=100 {
        if i == 10 {
            s.push_str("10,\"[\"\"\\ud800\"\"]\"\n");
        } else {
            s.push_str(&format!("{i},[{i}]\n"));
        }
    }
    s
}

#[tokio::test]
async fn a_value_jsonb_refuses_blames_its_own_row_not_the_json_line() {
    let db = fresh_db("jsonb_blame").await;
    db.exec("CREATE TABLE t_jr (id int, doc jsonb)").await;
    let dir = Dir::new();
    let f = dir.write("j.csv", j_csv());
    let f = f.to_str().unwrap();
    let rej = dir.path().join("jr.rej");
    let run = barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "t_jr",
        "--rejects",
        rej.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(rejected_ids(&rej), BTreeSet::from([10]), "{}", run.all());
    assert_eq!(
        db.rows_text("SELECT count(*), sum(id) FROM t_jr").await,
        ["(99,5040)"]
    );
    // Without --rejects, the error names record 11 (line 11: the header is record 1).
    db.exec("TRUNCATE t_jr").await;
    let run = barge(&["load", f, "--into", &db.url, "--table", "t_jr", "--again"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(&format!(
            "(chunk 1, records 2-101 of {f}), at record 11 (line 11):"
        )),
        "{}",
        run.stderr
    );
}

/// Values that parse as JSON but that jsonb refuses, and a trigger whose PL/pgSQL context
/// also has a "line N", spread over 300 rows: exactly the bad rows are set aside, with several
/// workers and chunk sizes.
#[tokio::test]
async fn server_refusals_with_context_of_their_own_set_aside_only_their_rows() {
    let db = fresh_db("context_blame").await;
    db.exec(
        "CREATE TABLE t (id int, doc jsonb, v int);
         CREATE FUNCTION no_negative() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.v < 0 THEN
             RAISE EXCEPTION 'negative v %', NEW.v;
           END IF;
           RETURN NEW;
         END $$;
         CREATE TRIGGER no_negative BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION no_negative();",
    )
    .await;
    let bad_docs = [
        "\"[\"\"\\ud800\"\"]\"",
        "\"{\"\"a\"\":\"\"\\u0000\"\"}\"",
        "1e1000000",
        "\"[\"\"\\udc00x\"\"]\"",
    ];
    let mut csv = String::from("id,doc,v\n");
    let mut bad = BTreeSet::new();
    for i in 1..=300i64 {
        if i % 20 == 7 {
            let k = (i / 20) as usize;
            if k % 5 == 4 {
                csv.push_str(&format!("{i},[{i}],-1\n"));
            } else {
                csv.push_str(&format!("{i},{},1\n", bad_docs[k % bad_docs.len()]));
            }
            bad.insert(i);
        } else {
            csv.push_str(&format!("{i},\"{{\"\"n\"\":{i}}}\",{i}\n"));
        }
    }
    assert_eq!(bad.len(), 15);
    let good_sum: i64 = (1..=300).filter(|i| !bad.contains(i)).sum();
    let dir = Dir::new();
    let f = dir.write("c.csv", &csv);
    for (chunk, workers) in [("1000", "1"), ("37", "2"), ("8", "3")] {
        db.exec("TRUNCATE t").await;
        let rej = dir.path().join(format!("c{chunk}.rej"));
        let run = barge(&[
            "load",
            f.to_str().unwrap(),
            "--into",
            &db.url,
            "--table",
            "t",
            "--rejects",
            rej.to_str().unwrap(),
            "--chunk-rows",
            chunk,
            "--workers",
            workers,
            "--again",
        ]);
        assert_eq!(run.code, 3, "{}", run.all());
        assert_eq!(rejected_ids(&rej), bad, "chunks of {chunk}: {}", run.all());
        assert_eq!(
            db.rows_text("SELECT count(*), sum(id) FROM t").await,
            [format!("(285,{good_sum})")],
            "chunks of {chunk}"
        );
    }
    // Without --rejects: the load fails on a bad row, and names that row (record = id + 1).
    db.exec("TRUNCATE t").await;
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--again",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    let named: i64 = run
        .stderr
        .split("record ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no record named: {}", run.stderr));
    assert!(bad.contains(&(named - 1)), "{}", run.stderr);
}

#[tokio::test]
async fn a_row_too_big_for_a_page_is_not_blamed_on_a_record_past_the_chunk() {
    let db = fresh_db("too_big").await;
    let cols: Vec<String> = (1..=1500).map(|i| format!("c{i} bigint")).collect();
    db.exec(&format!("CREATE TABLE wide ({})", cols.join(", ")))
        .await;
    let mut csv = (1..=1500)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    csv.push('\n');
    for r in 0..100 {
        let row: Vec<String> = (0..1500).map(|c| (r * 1500 + c).to_string()).collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let dir = Dir::new();
    let f = dir.write("wide.csv", &csv);
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "wide",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.contains("records 2-101"), "{first}");
    assert!(!first.contains("at record 102"), "{first}");
}

#[test]
fn create_takes_its_columns_from_the_header_not_the_longest_row() {
    let dir = Dir::new();
    let f = dir.write("t.csv", "a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n");
    let f = f.to_str().unwrap();
    let run = barge(&["schema", f, "--dialect", "postgres"]);
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "CREATE TABLE \"t\" (\n    \"a\" bigint,\n    \"b\" bigint,\n    \"c\" bigint\n);\n-- from the header and 3 rows\n"
    );
    // The default SQLite target: the good rows load, the long one is set aside.
    let rej = dir.path().join("t.rej");
    let run = barge_in(
        Some(dir.path()),
        &["load", f, "--rejects", rej.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(
        std::fs::read_to_string(&rej).unwrap(),
        "a,b,c\n4,5,6,7\n",
        "{}",
        run.all()
    );
    let out = Command::new("sqlite3")
        .arg(dir.path().join("barge.db"))
        .arg("SELECT count(*), sum(a), sum(c) FROM t; SELECT count(*) FROM pragma_table_info('t');")
        .output()
        .expect("the sqlite3 shell (Debian: apt-get install sqlite3)");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2|9|13\n3\n");
    // One 10,000-field row does not make 10,000 columns.
    let wide = format!("a\n1\n{}\n2\n", ",".repeat(9_999));
    let f = dir.write("w.csv", wide);
    let run = barge(&["schema", f.to_str().unwrap()]);
    run.assert_ok();
    assert!(
        run.stdout
            .starts_with("CREATE TABLE \"w\" (\n    \"a\" INTEGER\n);"),
        "{}",
        run.stdout
    );
}

/// Runs barge with its standard output (or error) piped to a reader that has already gone.
fn to_closed_pipe(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_barge"))
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run barge");
    // Close the read end of stdout before barge writes: `barge ... | true`.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for barge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn output_to_a_closed_pipe_does_not_panic_or_half_load() {
    let dir = Dir::new();
    let f = dir.write("p.csv", crate::support::fixtures::events_csv(3000));
    let f = f.to_str().unwrap();
    let (code, stderr) = to_closed_pipe(&["schema", f]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let db = fresh_db("closed_pipe").await;
    db.exec(&format!(
        "CREATE TABLE p ({})",
        crate::support::fixtures::EVENTS_DDL
    ))
    .await;
    let (code, stderr) = to_closed_pipe(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "p",
        "--json",
        "--chunk-rows",
        "500",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(db.rows_text("SELECT count(*) FROM p").await, ["(3000)"]);
}

#[tokio::test]
async fn ndjson_strings_into_json_columns_stay_json_strings() {
    let db = fresh_db("ndjson_json").await;
    db.exec("CREATE TABLE t (id int, doc jsonb, raw json, name text)")
        .await;
    let input = concat!(
        "{\"id\":1,\"doc\":\"42\",\"raw\":\"42\",\"name\":\"42\"}\n",
        "{\"id\":2,\"doc\":\"asd\",\"raw\":\"a\\\"b\",\"name\":\"asd\"}\n",
        "{\"id\":3,\"doc\":42,\"raw\":true,\"name\":\"x\"}\n",
        "{\"id\":4,\"doc\":{\"k\":[1,\"2\"]},\"raw\":[1, 2],\"name\":null}\n",
        "{\"id\":5,\"doc\":null,\"raw\":\"\",\"name\":\"\"}\n",
    );
    let dir = Dir::new();
    let f = dir.write("t.ndjson", input);
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
    ]);
    run.assert_ok();
    // What PostgreSQL's own jsonb_populate_record makes of the same lines.
    db.exec("CREATE TABLE want (LIKE t)").await;
    for line in input.lines() {
        db.client
            .execute(
                "INSERT INTO want SELECT * FROM json_populate_record(NULL::want, $1::text::json)",
                &[&line],
            )
            .await
            .unwrap();
    }
    let got = db
        .rows_text("SELECT id, doc, jsonb_typeof(doc), raw::text, name FROM t ORDER BY id")
        .await;
    let want = db
        .rows_text("SELECT id, doc, jsonb_typeof(doc), raw::text, name FROM want ORDER BY id")
        .await;
    assert_eq!(got, want);
    assert_eq!(got[0], "(1,\"\"\"42\"\"\",string,\"\"\"42\"\"\",42)");
}

/// A database where `writer` may only SELECT and INSERT table `t` (PostgreSQL 15 gives PUBLIC
/// no CREATE on schema public).
async fn insert_only_role(test: &str) -> (crate::support::TestDb, String) {
    let db = fresh_db(test).await;
    db.exec(&format!(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'writer') THEN
             CREATE ROLE writer LOGIN;
           END IF;
         END $$;
         REVOKE CREATE ON SCHEMA public FROM PUBLIC;
         CREATE TABLE t ({});
         GRANT SELECT, INSERT ON t TO writer;",
        crate::support::fixtures::EVENTS_DDL
    ))
    .await;
    let url = db.url.replacen("postgres@", "writer@", 1);
    (db, url)
}

#[tokio::test]
async fn a_role_that_may_only_insert_loads_in_one_transaction() {
    let (db, url) = insert_only_role("insert_only").await;
    let dir = Dir::new();
    let csv = crate::support::fixtures::events_csv(5000);
    let f = dir.write("t.csv", &csv);
    let f = f.to_str().unwrap();
    let run = barge(&[
        "load",
        f,
        "--into",
        &url,
        "--table",
        "t",
        "--json",
        "--chunk-rows",
        "700",
    ]);
    run.assert_ok();
    assert_eq!(
        run.stderr.matches("no checkpoints").count(),
        1,
        "one line says so: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("in one transaction, all or nothing")
            && run.stderr.contains("--checkpoint-table"),
        "{}",
        run.stderr
    );
    let report: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(report["atomic"], true, "{report}");
    assert!(
        report["not_resumable"]
            .as_str()
            .is_some_and(|s| s.contains("permission denied for schema public")),
        "{report}"
    );
    assert_eq!(report["rows"], 5000);
    db.exec("CREATE TABLE want (LIKE t)").await;
    db.server_copy("want", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    assert_eq!(db.checksum("t").await, db.checksum("want").await);

    // With --rejects, bad rows are set aside within the one transaction.
    db.exec("TRUNCATE t").await;
    let mut dirty = csv.clone();
    dirty.push_str(
        "1,1,1.00,1,true,dup,2024-01-01T00:00:00Z,00000000-0000-4000-8000-000000000001,{}\n",
    );
    dirty.push_str(
        "9001,1,x,1,true,bad,2024-01-01T00:00:00Z,00000000-0000-4000-8000-000000000002,{}\n",
    );
    let f2 = dir.write("dirty.csv", &dirty);
    let rej = dir.path().join("dirty.rej");
    let run = barge(&[
        "load",
        f2.to_str().unwrap(),
        "--into",
        &url,
        "--table",
        "t",
        "--rejects",
        rej.to_str().unwrap(),
        "--chunk-rows",
        "700",
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(rejected_ids(&rej), BTreeSet::from([1, 9001]));
    assert_eq!(db.checksum("t").await, db.checksum("want").await);
}

#[tokio::test]
async fn a_kill_9_of_an_insert_only_load_leaves_nothing_and_the_rerun_is_exact() {
    let (db, url) = insert_only_role("insert_only_kill").await;
    let dir = Dir::new();
    let csv = crate::support::fixtures::events_csv(200_000);
    let f = dir.write("t.csv", &csv);
    let f = f.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_barge"))
        .args([
            "load",
            f,
            "--into",
            &url,
            "--table",
            "t",
            "--chunk-rows",
            "2000",
            "--quiet",
        ])
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run barge");
    // Kill it once its transaction has sent rows.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sent: i64 = db
            .client
            .query_one(
                "SELECT coalesce(sum(tuples_processed), 0)::bigint FROM pg_stat_progress_copy",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if sent > 0 || child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "barge never started copying");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "barge finished before it could be killed mid-load"
    );
    child.kill().expect("kill -9 barge");
    child.wait().unwrap();
    {
        // The server rolls the transaction back when it sees the connection gone.
        let deadline = Instant::now() + Duration::from_secs(30);
        while db
            .rows_text("SELECT count(*) FROM pg_stat_activity WHERE usename = 'writer'")
            .await
            != ["(0)"]
        {
            assert!(
                Instant::now() < deadline,
                "the killed load's session stayed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(db.rows_text("SELECT count(*) FROM t").await, ["(0)"]);
    }
    let run = barge_with(
        &["load", f, "--into", &url, "--table", "t", "--quiet"],
        &[],
        None,
    );
    run.assert_ok();
    db.exec("CREATE TABLE want (LIKE t)").await;
    db.server_copy("want", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    assert_eq!(db.checksum("t").await, db.checksum("want").await);
}

#[tokio::test]
async fn a_missing_schema_exits_2_with_or_without_create() {
    let db = fresh_db("missing_schema").await;
    let dir = Dir::new();
    let f = dir.write("t.csv", "id\n1\n");
    let f = f.to_str().unwrap();
    for extra in [&[][..], &["--create"][..]] {
        let mut args = vec!["load", f, "--into", &db.url, "--table", "nope.t"];
        args.extend_from_slice(extra);
        let run = barge(&args);
        assert_eq!(run.code, 2, "{extra:?}: {}", run.all());
        assert!(
            run.stderr.contains("hint: create"),
            "{extra:?}: {}",
            run.stderr
        );
    }
}

#[tokio::test]
async fn a_nul_byte_after_create_gets_no_hint_to_sample_more() {
    let db = fresh_db("nul_after_create").await;
    let dir = Dir::new();
    let mut csv = String::from("id,name\n");
    for i in 1..=50 {
        csv.push_str(&format!("{i},n{i}\n"));
    }
    csv.push_str("51,a\0b\n");
    let f = dir.write("t.csv", &csv);
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--create",
        "--sample-rows",
        "10",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("NUL"), "{}", run.stderr);
    assert!(!run.stderr.contains("--sample-rows"), "{}", run.stderr);
    // A value that does not fit the sampled type still gets the hint.
    let f = dir.write("u.csv", "id,n\n1,1\n2,2\n3,x\n");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "u",
        "--create",
        "--sample-rows",
        "2",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("--sample-rows"), "{}", run.stderr);
}

/// Spreadsheets and editors end files with an empty line, and `cat` joins files with them in
/// between: each was refused as a row of one field ("expected 5 fields, found 1"), failing the
/// load. Now an empty line is no row of a table of several columns, read or sampled; in a
/// table of one column it is a NULL, as PostgreSQL's COPY reads it.
#[tokio::test]
async fn empty_lines_are_no_rows() {
    let db = fresh_db("blank_lines").await;
    db.exec("CREATE TABLE people (id int, name text, score numeric)")
        .await;
    let dir = Dir::new();
    let body =
        "id,name,score\r\n1,Ann,1.5\r\n\r\n2,Bob,2\r\n\"\",\"\",\r\n3,\"Cy\ncy\",3\r\n\r\n\r\n";
    let f = dir.write("people.csv", body);
    let f = f.to_str().unwrap();
    // A quoted empty field is a value, not an empty line: that row is refused (id "").
    let rej = dir.path().join("p.rej");
    let run = barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--rejects",
        rej.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("Rejected 1 row"), "{}", run.all());
    assert_eq!(
        std::fs::read_to_string(&rej).unwrap_or_default(),
        "id,name,score\r\n\"\",\"\",\r\n"
    );
    assert_eq!(
        db.rows_text(
            "SELECT count(*), sum(id), string_agg(name, '|' ORDER BY id), sum(score) FROM people"
        )
        .await,
        ["(3,6,\"Ann|Bob|Cy\ncy\",6.5)"]
    );
    // The embedded default creates the table from a sample with empty lines in it.
    let f = dir.write("people2.csv", body.replace("\"\",\"\",\r\n", ""));
    let run = barge_in(
        Some(dir.path()),
        &["load", f.to_str().unwrap(), "--table", "people"],
        &[],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let conn = rusqlite::Connection::open(dir.path().join("barge.db")).unwrap();
    let got: (i64, i64, f64) = conn
        .query_row(
            "SELECT count(*), sum(id), sum(score) FROM people",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(got, (3, 6, 6.5));
    // One column: an empty line is a NULL there.
    db.exec("CREATE TABLE one (v text)").await;
    let one = dir.write("one.csv", "v\na\n\nb\n");
    barge(&[
        "load",
        one.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "one",
    ])
    .assert_ok();
    assert_eq!(
        db.rows_text("SELECT count(*), count(v) FROM one").await,
        ["(3,2)"]
    );
}

/// An unknown user was told that pg_hba.conf kept it out, which sends a user to the server's
/// files for a typo in the URL.
#[tokio::test]
async fn an_unknown_user_is_told_to_check_the_user_name() {
    let db = fresh_db("unknown_user").await;
    let dir = Dir::new();
    let f = dir.write("t.csv", "a\n1\n");
    let url = db.url.replacen("postgres@", "nobody_here:s3cret@", 1);
    assert_ne!(url, db.url, "the test database's URL names its user");
    let run = barge(&["load", f.to_str().unwrap(), "--into", &url, "--table", "t"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("role \"nobody_here\" does not exist")
            && run.stderr.contains(
                "hint: there is no user \"nobody_here\" on this server: check the user name"
            ),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("s3cret"), "{}", run.all());
}

/// A row the database refused in one file of several was reported as "chunk 0, records 2-2"
/// without the file, which every file of the load has.
#[tokio::test]
async fn a_refused_row_in_one_file_of_several_names_its_file() {
    let db = fresh_db("several_named").await;
    db.exec("CREATE TABLE dk (id int PRIMARY KEY, v text)")
        .await;
    let dir = Dir::new();
    let a = dir.write("a.csv", "id,v\n1,a\n2,b\n");
    let b = dir.write("b.csv", "id,v\n3,c\n1,again\n");
    let run = barge(&[
        "load",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "dk",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.starts_with(&format!(
            "error: COPY into \"public\".\"dk\" (chunk 1, records 2-3 of {}), at record 3 (line 3): \
             duplicate key value violates unique constraint \"dk_pkey\"",
            b.display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(db.rows_text("SELECT count(*) FROM dk").await, ["(2)"]);
}

/// A view (an updatable one, or one with an INSTEAD OF trigger) takes INSERT but no COPY: a
/// load into one failed on "cannot copy to view" until `--mode insert` was given. It now
/// goes in with INSERT statements, and says so with `-v`; a view no INSERT can write into
/// fails with the server's reason, naming no row.
#[tokio::test]
async fn a_view_is_loaded_with_insert_statements() {
    let db = fresh_db("view_target").await;
    db.exec(
        "CREATE TABLE base (id int PRIMARY KEY, v text); \
         CREATE VIEW vw AS SELECT id, v FROM base; \
         CREATE VIEW grouped AS SELECT id, v FROM base GROUP BY id, v",
    )
    .await;
    let dir = Dir::new();
    let f = dir.write("vw.csv", "id,v\n1,a\n2,b\n3,c\n");
    let f = f.to_str().unwrap();
    let run = barge(&["load", f, "--into", &db.url, "--table", "vw", "-v"]);
    run.assert_ok();
    assert!(
        run.stderr.contains(
            "the target is a view, which COPY cannot write into: loading it with INSERT \
             statements (--mode insert)"
        ),
        "{}",
        run.all()
    );
    assert!(run.stdout.contains("1 chunk, INSERT)"), "{}", run.all());
    assert_eq!(
        db.rows_text("SELECT count(*), sum(id), string_agg(v, '' ORDER BY id) FROM base")
            .await,
        ["(3,6,abc)"]
    );
    let run = barge(&["load", f, "--into", &db.url, "--table", "grouped"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.starts_with(&format!(
            "error: INSERT into \"public\".\"grouped\" (chunk 1, records 2-4 of {f}): cannot \
             insert into view \"grouped\" (SQLSTATE 55000)"
        )),
        "{}",
        run.stderr
    );
}

/// A file that is no text (a workbook, a database file, bzip2) was read as CSV: barge created
/// a table from its garbage "header" and loaded nothing, successfully. A UTF-16 file (Excel's
/// "Unicode Text", a PowerShell redirect) did the same. Each now fails before anything is
/// created, saying what the file is and what to do; the UTF-16 file loads with the encoding
/// the message names.
#[test]
fn a_file_that_is_no_text_is_named_for_what_it_is() {
    let dir = Dir::new();
    let db = dir.path().join("t.db");
    let into = format!("sqlite://{}", db.display());
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "book.xlsx",
            b"PK\x03\x04\x14\x00\x06\x00",
            "is a ZIP archive (an Excel .xlsx workbook is one): export the sheet as CSV, or unzip it",
        ),
        (
            "u16.csv",
            b"\xff\xfei\x00d\x00,\x00v\x00\n\x001\x00,\x00\xe9\x00\n\x00",
            "is UTF-16 (little-endian, from its byte-order mark): pass --encoding utf-16le",
        ),
        (
            "data.csv",
            b"BZh91AY&SY",
            "is bzip2-compressed: decompress it first (bzip2 -dc FILE | barge load - ...); \
             barge reads gzip and zstd itself",
        ),
    ];
    for (name, bytes, says) in cases {
        let f = dir.write(name, bytes);
        let f = f.to_str().unwrap();
        let run = barge(&["load", f, "--into", &into]);
        assert_eq!(run.code, 2, "{name}: {}", run.all());
        assert_eq!(run.stderr, format!("error: {f} {says}\n"), "{name}");
    }
    // Nothing was created.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('book', 'u16', 'data')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0);
    let u16 = dir.path().join("u16.csv");
    let run = barge(&[
        "load",
        u16.to_str().unwrap(),
        "--into",
        &into,
        "--encoding",
        "utf-16le",
    ]);
    run.assert_ok();
    let row: (i64, String) = conn
        .query_row("SELECT id, v FROM u16", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(row, (1, "é".to_string()));
}

/// An Excel export in Windows-1252 whose first 3,000 rows are ASCII: the load read as UTF-8
/// stops at the first "Köln" with 2,000 rows committed, its error shows the value read as
/// windows-1252 and names `--encoding`. Run again with it, the load was a new one (another
/// encoding, another identity) and refused; now it goes on from where it stopped (positions of
/// ASCII bytes are the same in both), every row once. Where the rows it committed were not
/// ASCII (a UTF-8 "é" among them), the positions do not hold, and it says so.
#[tokio::test]
async fn naming_the_encoding_after_a_stop_at_its_first_byte_goes_on_exactly_once() {
    let db = fresh_db("encoding_resume").await;
    let dir = Dir::new();
    let rows = |lead: &[u8]| {
        let mut b = b"id,city\n".to_vec();
        b.extend_from_slice(lead);
        for i in 1..=3000 {
            b.extend_from_slice(format!("{i},Bonn\n").as_bytes());
        }
        b.extend_from_slice(b"3001,K\xf6ln\n");
        for i in 3002..=3100 {
            b.extend_from_slice(format!("{i},Bonn\n").as_bytes());
        }
        b
    };
    let f = dir.write("cities.csv", rows(b""));
    let load = |f: &std::path::Path, extra: &[&str]| {
        let f = f.to_str().unwrap_or_default();
        let mut args = vec![
            "load",
            f,
            "--into",
            &db.url,
            "--create",
            "--chunk-rows",
            "1000",
            "--workers",
            "1",
        ];
        args.extend_from_slice(extra);
        barge(&args)
    };
    let run = load(&f, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    for said in [
        "column \"city\": invalid value \"K\u{fffd}ln\": expected text: not UTF-8 (byte 2 of the \
         value); read as windows-1252 it is \"Köln\"\n",
        "note: 3,000 rows were committed before the error\n",
        "hint: the file is not in UTF-8: name its encoding with --encoding (windows-1252",
    ] {
        assert!(run.stderr.contains(said), "{said}\n{}", run.stderr);
    }
    let run = load(&f, &["--encoding", "windows-1252"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("Resumed: skipped 3,000 rows"),
        "{}",
        run.all()
    );
    assert_eq!(
        db.rows_text("SELECT count(*), count(DISTINCT id), sum(id), count(*) FILTER (WHERE city = 'Köln') FROM cities")
            .await,
        [format!("(3100,3100,{},1)", 3100 * 3101 / 2)]
    );
    let run = load(&f, &["--encoding", "windows-1252"]);
    assert!(run.stdout.contains("was already loaded"), "{}", run.all());

    // A UTF-8 "é" in the first committed chunk: read as windows-1252 it is two characters,
    // and every position after it one byte off.
    let g = dir.write("towns.csv", rows("0,Caf\u{e9}\n".as_bytes()));
    assert_eq!(load(&g, &[]).code, 1);
    let run = load(&g, &["--encoding", "windows-1252"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains(
            "read it as UTF-8 and stopped after 3000 rows; read as windows-1252, its positions \
             are not those that load committed (some of the rows it committed are not ASCII)"
        ) && run.stderr.contains(
            "hint: delete the rows that load committed (they were read as UTF-8), then run the \
             same command with --again"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(db.rows_text("SELECT count(*) FROM towns").await, ["(3000)"]);
}

/// Two files, the second stopped at a bad value after chunks of it committed, then fixed: the
/// hint of the day said to run the same command with the second file's `--load-id`, which
/// gave both files that id: the first read with the second's committed byte ranges (rows
/// again), the second then "already loaded" (its rest never loaded), exit 0. Now that is
/// refused, and `--continue-changed` goes on with each file's own stopped load.
#[tokio::test]
async fn a_fixed_file_among_several_goes_on_with_its_own_load() {
    let db = fresh_db("several_fixed").await;
    let dir = Dir::new();
    let part = |from: i64, to: i64, bad: Option<i64>| {
        let mut s = String::from("id,v\n");
        for i in from..to {
            match bad {
                Some(b) if b == i => s.push_str(&format!("{i},x\n")),
                _ => s.push_str(&format!("{i},{i}\n")),
            }
        }
        s
    };
    let a = dir.write("a.csv", part(0, 2000, None));
    let b = dir.write("b.csv", part(2000, 4000, Some(2500)));
    let load = |extra: &[&str]| {
        let mut args = vec![
            "load",
            a.to_str().unwrap_or_default(),
            b.to_str().unwrap_or_default(),
            "--into",
            &db.url,
            "--table",
            "ab",
            "--create",
            "--chunk-rows",
            "100",
        ];
        args.extend_from_slice(extra);
        barge(&args)
    };
    assert_eq!(load(&[]).code, 1);
    let committed = db.rows_text("SELECT count(*) >= 2500 FROM ab").await;
    assert_eq!(committed, ["(t)"]);
    std::fs::write(&b, part(2000, 4000, None)).unwrap_or_default();
    let run = load(&["--load-id", "whatever"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(load(&[]).code, 2);
    let run = load(&["--continue-changed"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        db.rows_text("SELECT count(*), count(DISTINCT id), sum(id) FROM ab")
            .await,
        [format!("(4000,4000,{})", 3999 * 4000 / 2)]
    );
    let run = load(&[]);
    assert!(
        run.stdout.contains("2 files were already loaded") && run.stdout.contains("(4,000 rows)"),
        "{}",
        run.all()
    );
    assert_eq!(db.rows_text("SELECT count(*) FROM ab").await, ["(4000)"]);
}

/// Chunks committed after the one that stopped at a bad value (another writer's, another
/// share's) start at other bytes once a fix changes the value's length: `--continue-changed`
/// finds them by their lines, and skips them, instead of loading their rows a second time.
/// (Here the second share of a `--split` load committed whole, the first stopped at a bad value
/// longer than a row: positions that moved less would still fall in their chunks.)
#[tokio::test]
async fn chunks_committed_after_the_bad_one_are_found_where_the_fix_moved_them() {
    let db = fresh_db("moved_chunks").await;
    db.exec("CREATE TABLE m (id int, v int)").await;
    let dir = Dir::new();
    let rows = |bad: bool| {
        let mut s = String::from("id,v\n");
        for i in 1..=4000 {
            match i {
                1500 if bad => s.push_str("1500,not a number at all, thirty-odd bytes\n"),
                _ => s.push_str(&format!("{i},{i}\n")),
            }
        }
        s
    };
    let f = dir.write("m.csv", rows(true));
    let f = f.to_str().unwrap_or_default();
    let load = |extra: &[&str]| {
        let mut args = vec![
            "load",
            f,
            "--into",
            &db.url,
            "--table",
            "m",
            "--chunk-rows",
            "500",
            "--workers",
            "1",
        ];
        args.extend_from_slice(extra);
        barge(&args)
    };
    load(&["--split", "2/2"]).assert_ok();
    assert_eq!(load(&["--split", "1/2"]).code, 1);
    let before = db.rows_text("SELECT count(*) FROM m").await;
    std::fs::write(f, rows(false)).unwrap_or_default();
    let run = load(&["--continue-changed"]);
    run.assert_ok();
    assert_eq!(
        db.rows_text("SELECT count(*), count(DISTINCT id), sum(v) FROM m")
            .await,
        [format!("(4000,4000,{})", 4000 * 4001 / 2)],
        "{before:?}\n{}",
        run.all()
    );
}

/// Two header names alike in their first 63 bytes (PostgreSQL's limit) failed `--create` with
/// "column ... specified more than once": the second got `_2` added after the cut, and the
/// server cut the `_2` off again. The suffix now goes inside the limit, and the file loads
/// into the table it made again.
#[tokio::test]
async fn long_header_names_alike_in_their_first_63_bytes_make_two_columns() {
    let db = fresh_db("long_names").await;
    let dir = Dir::new();
    let long = "a_really_long_column_name_that_goes_past_the_sixty_three_byte_limit_";
    let f = dir.write(
        "wide.csv",
        format!("id,{long}one,{long}two\n1,10,20\n2,30,40\n"),
    );
    let load = |extra: &[&str]| {
        let mut args = vec![
            "load",
            f.to_str().unwrap(),
            "--into",
            &db.url,
            "--table",
            "wide",
        ];
        args.extend_from_slice(extra);
        barge(&args)
    };
    load(&["--create"]).assert_ok();
    let cut = &long[..63];
    let cut_2 = format!("{}_2", &long[..61]);
    assert_eq!(
        db.rows_text(&format!(
            "SELECT count(*), sum(\"{cut}\"), sum(\"{cut_2}\") FROM wide"
        ))
        .await,
        ["(2,40,60)"]
    );
    load(&["--again"]).assert_ok();
    assert_eq!(
        db.rows_text(&format!(
            "SELECT sum(\"{cut}\"), sum(\"{cut_2}\") FROM wide"
        ))
        .await,
        ["(80,120)"]
    );
}

/// An export's ids into `GENERATED ALWAYS AS IDENTITY` and `serial` columns: COPY stored them,
/// and the INSERT mode and both upserts failed with "cannot insert a non-DEFAULT value into
/// column" (they now say OVERRIDING SYSTEM VALUE, so every mode stores the same rows). After
/// the load, the application's next insert took the sequence's 1 and failed on the primary
/// key: each column's sequence is raised past the largest value loaded (never lowered), and
/// the summary says so. A role that may not change the sequence still loads, with a warning.
#[tokio::test]
async fn loaded_ids_reach_identity_columns_in_every_mode_and_their_sequences_follow() {
    let db = fresh_db("identity_ids").await;
    let dir = Dir::new();
    let mut csv = String::from("id,name\n");
    for i in 1..=3_000 {
        csv.push_str(&format!("{},n{i}\n", i * 3));
    }
    let f = dir.write("people.csv", &csv);
    let f = f.to_str().unwrap();
    for (table, ddl, extra) in [
        (
            "copied",
            "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            vec![],
        ),
        (
            "inserted",
            "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            vec!["--mode", "insert"],
        ),
        (
            "updated",
            "id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            vec!["--on-conflict", "update"],
        ),
        (
            "kept",
            "id serial PRIMARY KEY",
            vec!["--on-conflict", "nothing"],
        ),
    ] {
        db.exec(&format!("CREATE TABLE {table} ({ddl}, name text)"))
            .await;
        let mut args = vec![
            "load",
            f,
            "--into",
            &db.url,
            "--table",
            table,
            "--chunk-rows",
            "700",
        ];
        args.extend(extra);
        let run = barge(&args);
        run.assert_ok();
        assert!(
            run.stdout.contains(&format!(
                "Raised sequence {table}_id_seq to 9000, the largest \"id\" loaded"
            )),
            "{table}: {}",
            run.all()
        );
        assert_eq!(
            db.rows_text(&format!("SELECT count(*), sum(id) FROM {table}"))
                .await,
            ["(3000,13504500)"],
            "{table}"
        );
        // The application's next row takes the next id, not one already there.
        let next = db
            .client
            .query_one(
                &format!("INSERT INTO {table} (name) VALUES ('app') RETURNING id::int8"),
                &[],
            )
            .await
            .expect("the application's insert");
        assert_eq!(next.get::<_, i64>(0), 9001, "{table}");
    }
    // A sequence past the loaded values stays where it is.
    db.exec("SELECT setval('kept_id_seq', 50000)").await;
    let run = barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "kept",
        "--on-conflict",
        "update",
        "--again",
    ]);
    run.assert_ok();
    assert!(!run.stdout.contains("Raised sequence"), "{}", run.all());
    assert_eq!(
        db.rows_text("SELECT last_value FROM kept_id_seq").await,
        ["(50000)"]
    );
    // A role that may insert but not change the sequence: the rows load, the sequence is left
    // with a warning that says how to raise it.
    db.exec(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'writer') THEN
             CREATE ROLE writer LOGIN;
           END IF;
         END $$;
         CREATE TABLE limited (id serial PRIMARY KEY, name text);
         GRANT SELECT, INSERT ON limited TO writer; GRANT ALL ON barge_checkpoint TO writer;",
    )
    .await;
    let url = db.url.replacen("postgres@", "writer@", 1);
    let run = barge(&["load", f, "--into", &url, "--table", "limited"]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("were not raised past the values loaded")
            && run.stderr.contains("SELECT setval(pg_get_serial_sequence("),
        "{}",
        run.all()
    );
    assert_eq!(
        db.rows_text("SELECT count(*) FROM limited").await,
        ["(3000)"]
    );
}

/// The table dropped (or a SQLite file's table deleted) and the file loaded again: the table
/// is created anew, and the earlier load, whose rows went with the old table, no longer
/// counts. The new table was left empty as "already loaded" (exit 0), and a load that had
/// stopped partway went on after rows that were no longer there.
#[tokio::test]
async fn a_table_dropped_since_its_load_is_loaded_again_whole() {
    let dir = Dir::new();
    let mut csv = String::from("id,v\n");
    for i in 1..=2_000 {
        let v = if i == 1_500 {
            "bad".to_string()
        } else {
            i.to_string()
        };
        csv.push_str(&format!("{i},{v}\n"));
    }
    let good = dir.write("good.csv", csv.replace("1500,bad", "1500,1500"));
    let bad = dir.write("part.csv", &csv);
    for t in crate::support::backend::TestTarget::each("dropped_since").await {
        let url = t.url();
        let load = |f: &std::path::Path, table: &str, extra: &[&str]| {
            let mut args = vec![
                "load",
                f.to_str().unwrap(),
                "--into",
                &url,
                "--table",
                table,
                "--create",
                "--sample-rows",
                "100",
                "--chunk-rows",
                "200",
                "--workers",
                "1",
            ];
            args.extend_from_slice(extra);
            barge(&args)
        };
        load(&good, "good", &[]).assert_ok();
        t.exec("DROP TABLE good").await;
        let run = load(&good, "good", &[]);
        run.assert_ok();
        assert!(
            !run.stdout.contains("already loaded"),
            "{}: {}",
            t.name(),
            run.all()
        );
        assert_eq!(
            t.rows("SELECT count(*), sum(id) FROM good").await,
            ["2000|2001000"],
            "{}",
            t.name()
        );
        // Stopped at line 1,501 after 1,400 rows; the table dropped; loaded again with the
        // bad row set aside: every good row, not the 600 after the stop.
        let run = load(&bad, "part", &[]);
        assert_eq!(run.code, 1, "{}: {}", t.name(), run.all());
        t.exec("DROP TABLE part").await;
        let rej = dir.path().join(format!("{}.rej", t.name()));
        let run = load(&bad, "part", &["--rejects", rej.to_str().unwrap()]);
        assert_eq!(run.code, 3, "{}: {}", t.name(), run.all());
        assert_eq!(
            t.rows("SELECT count(*), sum(id) FROM part").await,
            ["1999|1999500"],
            "{}",
            t.name()
        );
    }
}

/// A CSV written with a space after each comma, and dates written as a date and time at
/// midnight (how SQL Server, Excel and JavaScript's `toISOString` export a date), load on every
/// backend as PostgreSQL reads them. MySQL refused ` 20.5` in the table `--create` had just
/// made from the same rows, and MySQL and SQLite refused `2024-01-02 00:00:00` in a date
/// column. A time of day other than midnight, which a date column would lose, is refused
/// there with why (PostgreSQL drops it, as its own `COPY` does).
#[tokio::test]
async fn spaces_after_commas_and_dates_written_at_midnight_load_everywhere() {
    let dir = Dir::new();
    let spaced = dir.write(
        "spaced.csv",
        "id, name, amount, day, ok\n1, Alice, 20.5, 2024-01-02, true\n2, Bob, 3, 2024-01-03, false\n",
    );
    let dated = dir.write(
        "dated.csv",
        "id,day\n1,2024-01-02 00:00:00\n2,2024-01-03T00:00:00.000Z\n3,2024-01-04T00:00:00\n\
         4, 2024-01-05 \n5,2024-01-06 00:00:00.000000\n",
    );
    let timed = dir.write("timed.csv", "id,day\n1,2024-01-02 13:45:00\n");
    // BigQuery writes a timestamp's zone after a space, as `UTC`; MySQL refused both forms in
    // the table `--create` had made of them.
    let zoned = dir.write(
        "zoned.csv",
        "id,at\n1,2024-01-02 03:04:05.123456 UTC\n2,2024-01-02 03:04:05 +01:00\n",
    );
    for t in crate::support::backend::TestTarget::each("spaced_fields").await {
        let url = t.url();
        let load = |f: &std::path::Path, table: &str, extra: &[&str]| {
            let mut args = vec![
                "load",
                f.to_str().unwrap(),
                "--into",
                &url,
                "--table",
                table,
            ];
            args.extend_from_slice(extra);
            barge(&args)
        };
        load(&spaced, "spaced", &["--create"]).assert_ok();
        assert_eq!(
            t.rows("SELECT id, name, amount * 2, day, ok FROM spaced ORDER BY id")
                .await
                .iter()
                .map(|r| r.replace("41.0", "41").replace("6.0", "6"))
                .collect::<Vec<_>>(),
            match t.name() {
                "postgres" => ["1| Alice|41|2024-01-02|true", "2| Bob|6|2024-01-03|false"],
                _ => ["1| Alice|41|2024-01-02|1", "2| Bob|6|2024-01-03|0"],
            },
            "{}",
            t.name()
        );
        t.exec("CREATE TABLE dated (id INTEGER, day DATE)").await;
        load(&dated, "dated", &[]).assert_ok();
        assert_eq!(
            t.rows("SELECT id, day FROM dated ORDER BY id").await,
            [
                "1|2024-01-02",
                "2|2024-01-03",
                "3|2024-01-04",
                "4|2024-01-05",
                "5|2024-01-06"
            ],
            "{}",
            t.name()
        );
        load(&zoned, "zoned", &["--create"]).assert_ok();
        let (at, second) = match t.name() {
            "postgres" => (
                "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
                "2|2024-01-02 02:04:05.000000",
            ),
            "mysql" => (
                "DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f')",
                "2|2024-01-02 02:04:05.000000",
            ),
            // Stored as text, in UTC.
            _ => ("replace(at, '+00:00', '')", "2|2024-01-02 02:04:05"),
        };
        assert_eq!(
            t.rows(&format!("SELECT id, {at} FROM zoned ORDER BY id"))
                .await,
            ["1|2024-01-02 03:04:05.123456", second],
            "{}",
            t.name()
        );
        let run = load(&timed, "dated", &[]);
        if t.name() == "postgres" {
            run.assert_ok();
        } else {
            assert_eq!(run.code, 1, "{}: {}", t.name(), run.all());
            assert!(
                run.stderr.contains("\"2024-01-02 13:45:00\"")
                    && run.stderr.contains("keeps no time of day"),
                "{}: {}",
                t.name(),
                run.all()
            );
        }
    }
}

/// A `.json` file that is one object wrapping the rows (`{"count": 2, "results": [...]}`,
/// what many APIs answer) is one row: the load says so, and how to load the array's objects
/// as the rows, which then load. Before, one row went in without a word.
#[test]
fn one_json_object_wrapping_the_rows_says_how_to_load_them() {
    let dir = Dir::new();
    let f = dir.write(
        "api.json",
        "{\"count\": 2,\n \"results\": [{\"id\": 1, \"name\": \"a\"}, {\"id\": 2, \"name\": \"b\"}]}\n",
    );
    let db = dir.path().join("api.db");
    let url = format!("sqlite://{}", db.display());
    let run = barge(&["load", f.to_str().unwrap(), "--into", &url]);
    run.assert_ok();
    assert!(
        run.stderr.contains(
            "api.json is one JSON object, a row of columns count, results; its \"results\" \
             holds 2 objects: to load those as the rows, `jq -c '.results[]' "
        ) && run
            .stderr
            .contains(" | barge load - --format ndjson --table TABLE`"),
        "{}",
        run.all()
    );
    // What it says, with the array's objects as jq would print them.
    let rows = "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\"}\n";
    let run = crate::support::barge_with(
        &[
            "load", "-", "--format", "ndjson", "--table", "results", "--into", &url,
        ],
        &[],
        Some(rows.as_bytes()),
    );
    run.assert_ok();
    assert!(!run.stderr.contains("one JSON object"), "{}", run.all());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: (i64, i64) = conn
        .query_row("SELECT count(*), sum(id) FROM results", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(n, (2, 3));
}
