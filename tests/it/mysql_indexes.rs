//! A resumable load into an empty MariaDB/MySQL table leaves out its plain secondary `KEY`s
//! (no constraint, no generated column, no full-text) and builds them in one `ALTER TABLE` at
//! its end: the table ends with exactly the definition it had and the rows the server's own
//! `LOAD DATA` stores; a kill leaves them recorded, and the next run builds them.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::support::mysql::{fresh_db, MyDb};
use crate::support::{
    assert_indexes_built_at_the_end, barge, rerun_after_a_kill, spawn_barge, Dir, Run,
};

/// Every kind of key: the primary key and a unique key (constraints, kept), a key on a
/// generated column (kept), a plain key, one with a quoted name, two columns and a comment, a
/// prefix key with a method, and a full-text key (kept).
const TABLE: &str = "(id bigint PRIMARY KEY, user_id int NOT NULL, tag varchar(40), \
    score double, created_at datetime(6), note text, \
    doubled bigint AS (user_id * 2) VIRTUAL, \
    UNIQUE KEY t_user_id (user_id, id), KEY t_doubled (doubled), KEY t_user (user_id), \
    KEY `t when` (created_at, id) COMMENT 'when it happened', \
    KEY t_tag (tag(5)) USING BTREE, FULLTEXT KEY t_note (note)) \
    ENGINE=InnoDB";

/// The keys a resumable load leaves out of [`TABLE`], in its order.
const LEFT_OUT: [&str; 3] = ["t_user", "t when", "t_tag"];

/// `rows` rows for [`TABLE`] as CSV with a header.
fn rows_csv(rows: usize) -> String {
    let mut csv = String::from("id,user_id,tag,score,created_at,note\n");
    for i in 1..=rows {
        csv.push_str(&format!(
            "{i},{},tag-{},{}.25,2024-{:02}-{:02} 10:{:02}:{:02}.{:06},word{} and more\n",
            (i * 7919) % 50_000,
            i % 97,
            i % 1000,
            i % 12 + 1,
            i % 28 + 1,
            i % 60,
            (i / 60) % 60,
            i % 1_000_000,
            i % 31
        ));
    }
    csv
}

async fn query<T: mysql_async::prelude::FromRow + Send + 'static>(db: &MyDb, sql: &str) -> Vec<T> {
    let mut c = db.conn().await;
    let rows = c.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = c.disconnect().await;
    rows
}

async fn definition(db: &MyDb, table: &str) -> String {
    let shown: Vec<(String, String)> = query(db, &format!("SHOW CREATE TABLE {table}")).await;
    shown.into_iter().next().map(|(_, d)| d).unwrap_or_default()
}

async fn index_names(db: &MyDb) -> Vec<String> {
    query(
        db,
        "SELECT DISTINCT index_name FROM information_schema.statistics \
         WHERE table_schema = DATABASE() AND table_name = 't' ORDER BY 1",
    )
    .await
}

/// The keys recorded as left out, in their order.
async fn recorded(db: &MyDb) -> Vec<String> {
    query(
        db,
        "SELECT index_name FROM barge_checkpoint_indexes ORDER BY position",
    )
    .await
}

/// Count and checksum of every loaded column of `table`.
async fn checksum(db: &MyDb, table: &str) -> Vec<(i64, String)> {
    query(
        db,
        &format!(
            "SELECT count(*), CAST(sum(crc32(concat_ws('|', id, user_id, tag, score, created_at, \
             note))) AS CHAR) FROM {table}"
        ),
    )
    .await
}

/// A database with `t` as [`TABLE`] and `oracle` with the same columns, no key but its primary
/// key, holding `csv` as the server's own `LOAD DATA` stores it.
async fn tables(test: &str, dir: &Dir, csv: &str) -> MyDb {
    let db = fresh_db(test).await;
    db.exec(&format!("CREATE TABLE t {TABLE}")).await;
    db.exec(
        "CREATE TABLE oracle (id bigint PRIMARY KEY, user_id int NOT NULL, tag varchar(40), \
         score double, created_at datetime(6), note text)",
    )
    .await;
    let f = dir.write("oracle.csv", csv);
    db.exec(&format!(
        "LOAD DATA INFILE '{}' INTO TABLE oracle FIELDS TERMINATED BY ',' IGNORE 1 LINES",
        f.display()
    ))
    .await;
    db
}

/// `barge load FILE --into DB --table t` and `extra`.
fn load(db: &MyDb, file: &std::path::Path, extra: &[&str]) -> Run {
    let file = file.to_str().unwrap();
    let args = ["load", file, "--into", &db.url, "--table", "t"];
    barge(&[&args[..], extra].concat())
}

/// Counts of `t` read through each key left out equal the table's (the built keys hold every
/// row), and the server finds nothing wrong with the table.
async fn keys_hold_every_row(db: &MyDb) {
    let all: Vec<i64> = query(db, "SELECT count(*) FROM t").await;
    for (key, filter) in [
        ("t_user", "user_id >= 0"),
        ("`t when`", "created_at > '1000-01-01'"),
        ("t_tag", "tag > ''"),
    ] {
        let through: Vec<i64> = query(
            db,
            &format!("SELECT count(*) FROM t FORCE INDEX ({key}) WHERE {filter}"),
        )
        .await;
        assert_eq!(through, all, "{key}");
    }
    let check: Vec<(String, String, String, String)> = query(db, "CHECK TABLE t").await;
    assert!(
        check
            .iter()
            .all(|(_, _, kind, text)| kind != "error" && text != "Corrupt"),
        "{check:?}"
    );
}

#[tokio::test]
async fn a_resumable_load_into_an_empty_table_builds_its_plain_keys_at_its_end() {
    let dir = Dir::new();
    let csv = rows_csv(20_000);
    let db = tables("my_keys_at_end", &dir, &csv).await;
    let before = definition(&db, "t").await;
    let f = dir.write("rows.csv", &csv);
    let run = load(&db, &f, &["--chunk-rows", "3000", "-v"]);
    assert_indexes_built_at_the_end(&run, 3);
    assert_eq!(definition(&db, "t").await, before);
    assert!(recorded(&db).await.is_empty());
    assert_eq!(checksum(&db, "t").await, checksum(&db, "oracle").await);
    keys_hold_every_row(&db).await;

    // Into a table that holds rows, the keys stay in place.
    db.exec("DELETE FROM t WHERE id > 1").await;
    let rest: String = csv
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let run = load(&db, &dir.write("rest.csv", rest), &["-v"]);
    run.assert_ok();
    assert!(!run.stderr.contains("built at the end"), "{}", run.stderr);
    assert_eq!(checksum(&db, "t").await, checksum(&db, "oracle").await);
    assert_eq!(definition(&db, "t").await, before);

    // Nor with --keep-indexes.
    db.exec("DELETE FROM t").await;
    let run = load(&db, &f, &["--again", "--keep-indexes", "-v"]);
    run.assert_ok();
    assert!(!run.stderr.contains("built at the end"), "{}", run.stderr);
    assert_eq!(checksum(&db, "t").await, checksum(&db, "oracle").await);
    assert_eq!(definition(&db, "t").await, before);

    // Nor for a user who may not alter the table: the keys stay, and nothing is left recorded.
    db.exec("DELETE FROM t").await;
    let into = db
        .user("noalter", "SELECT, INSERT, UPDATE, DELETE, CREATE")
        .await;
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &into,
        "--table",
        "t",
        "--again",
        "-v",
    ]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("the table keeps its indexes while it loads: leaving the indexes of")
            && run.stderr.contains("command denied"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("built at the end"), "{}", run.stderr);
    assert!(recorded(&db).await.is_empty());
    assert_eq!(checksum(&db, "t").await, checksum(&db, "oracle").await);
    assert_eq!(definition(&db, "t").await, before);

    // Nor when a key that must stay comes after them: added again, they would come after it.
    // (Dropped and added in one statement, a key keeps its place.)
    db.exec("DELETE FROM t; ALTER TABLE t DROP INDEX t_doubled; ALTER TABLE t ADD KEY t_doubled (doubled)")
        .await;
    let moved = definition(&db, "t").await;
    assert_ne!(moved, before);
    let run = load(&db, &f, &["--again", "-v"]);
    run.assert_ok();
    assert!(!run.stderr.contains("built at the end"), "{}", run.stderr);
    assert_eq!(checksum(&db, "t").await, checksum(&db, "oracle").await);
    assert_eq!(definition(&db, "t").await, moved);
    db.exec(
        "ALTER TABLE t DROP INDEX t_doubled, DROP INDEX t_user, DROP INDEX `t when`, \
         DROP INDEX t_tag; ALTER TABLE t ADD KEY t_doubled (doubled), ADD KEY t_user (user_id), \
         ADD KEY `t when` (created_at, id) COMMENT 'when it happened', \
         ADD KEY t_tag (tag(5)) USING BTREE",
    )
    .await;
    assert_eq!(definition(&db, "t").await, before);

    // Nor when a foreign key points at the table (InnoDB wants an index behind it).
    db.exec("DELETE FROM t; CREATE TABLE child (user_id int, FOREIGN KEY (user_id) REFERENCES t (user_id))")
        .await;
    let run = load(&db, &f, &["--again", "-v"]);
    run.assert_ok();
    assert!(!run.stderr.contains("built at the end"), "{}", run.stderr);
    assert_eq!(checksum(&db, "t").await, checksum(&db, "oracle").await);
    assert_eq!(definition(&db, "t").await, before);
}

/// Runs `barge` with `args` and kills it (-9) once `t` holds rows.
async fn kill_once_loading(db: &MyDb, args: &[&str]) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_barge"))
        .args(args)
        .spawn()
        .expect("spawn barge");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut c = db.conn().await;
    loop {
        let n: Option<i64> = c.query_first("SELECT count(*) FROM t").await.unwrap();
        if n.unwrap_or(0) > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no chunk was ever committed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    let _ = c.disconnect().await;
}

#[tokio::test]
async fn a_kill_leaves_the_keys_recorded_and_the_next_run_builds_them() {
    let dir = Dir::new();
    let csv = rows_csv(300_000);
    let db = tables("my_keys_kill", &dir, &csv).await;
    let before = definition(&db, "t").await;
    let names = index_names(&db).await;
    let f = dir.write("big.csv", &csv);
    let file = f.to_str().unwrap();
    let args = [
        "load",
        file,
        "--into",
        &db.url,
        "--table",
        "t",
        "--chunk-rows",
        "2000",
        "--quiet",
    ];
    // The same command resumes and builds them at its end; with --keep-indexes it builds
    // them before it loads.
    for extra in [&[][..], &["--keep-indexes"][..]] {
        db.exec("DELETE FROM t; DROP TABLE IF EXISTS barge_checkpoint")
            .await;
        kill_once_loading(&db, &args).await;
        let partial: Vec<i64> = query(&db, "SELECT count(*) < 300000 FROM t").await;
        assert_eq!(partial, vec![1], "the load ended before the kill");
        // The primary, unique, generated-column and full-text keys are in place; what is
        // missing is recorded.
        assert_eq!(recorded(&db).await, LEFT_OUT);
        let kept: Vec<String> = names
            .iter()
            .filter(|n| !LEFT_OUT.contains(&n.as_str()))
            .cloned()
            .collect();
        assert_eq!(index_names(&db).await, kept);
        rerun_after_a_kill(&args, extra);
        assert_eq!(definition(&db, "t").await, before);
        assert!(recorded(&db).await.is_empty());
        assert_eq!(checksum(&db, "t").await, checksum(&db, "oracle").await);
    }
    keys_hold_every_row(&db).await;

    // A kill between recording a key and dropping it leaves a record of a key in place: the
    // next load takes it for built, silently. A key of that name made otherwise is kept, and
    // said.
    let clause = "KEY `t_user` (`user_id`)";
    db.exec(&format!(
        "INSERT INTO barge_checkpoint_indexes \
           (table_schema, table_name, index_name, clause, position, load_id) \
         VALUES (DATABASE(), 't', 't_user', '{clause}', 0, 'another'), \
                (DATABASE(), 't', 't_tag', 'KEY `t_tag` (`tag`)', 1, 'another')"
    ))
    .await;
    db.exec("DELETE FROM t").await;
    let run = barge(&[&args[..], &["--again", "-v"]].concat());
    run.assert_ok();
    assert!(
        run.stderr
            .contains("building the indexes an earlier load left out of the table before loading"),
        "{}",
        run.stderr
    );
    let made = "an index of that name was made while the load ran: kept as it is";
    assert_eq!(run.stderr.matches(made).count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("index=t_tag"), "{}", run.stderr);
    assert!(recorded(&db).await.is_empty());
    assert_eq!(definition(&db, "t").await, before);
    assert_eq!(checksum(&db, "t").await, checksum(&db, "oracle").await);
}

/// Three processes of one load (`--split K/3`) at once: whichever finds the table empty leaves
/// the keys out for all (the named lock lets one decide at a time), and they are built once;
/// the table ends with its definition and every row once.
#[tokio::test]
async fn the_shares_of_a_split_load_leave_the_keys_out_once_and_build_them_once() {
    let dir = Dir::new();
    let csv = rows_csv(90_000);
    let db = tables("my_keys_split", &dir, &csv).await;
    let before = definition(&db, "t").await;
    let f = dir.write("rows.csv", &csv);
    let file = f.to_str().unwrap();
    let children: Vec<std::process::Child> = (1..=3)
        .map(|k| {
            spawn_barge(&[
                "load",
                file,
                "--into",
                &db.url,
                "--table",
                "t",
                "--split",
                &format!("{k}/3"),
                "--chunk-rows",
                "2000",
                "-v",
            ])
        })
        .collect();
    let mut said = String::new();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{err}");
        said.push_str(&err);
    }
    assert_eq!(
        said.matches("its indexes that no row can fail are built at the end of the load")
            .count(),
        1,
        "{said}"
    );
    assert_eq!(definition(&db, "t").await, before);
    assert!(recorded(&db).await.is_empty());
    assert_eq!(checksum(&db, "t").await, checksum(&db, "oracle").await);
    keys_hold_every_row(&db).await;
}
