//! An `--atomic` load into an empty PostgreSQL table builds the table's indexes at the end,
//! inside its transaction: the table ends with exactly the indexes and constraints it had and
//! the rows the server's own COPY stores; other sessions cannot read it mid-load; a kill
//! leaves it as it was; rows a unique index refuses are found with their lines. A resumable
//! load into an empty table leaves out only the indexes no row can fail, records them, and
//! builds them at its end, or in the next run after a kill.

use std::time::{Duration, Instant};

use crate::support::fixtures::{events_csv, EVENTS_DDL};
use crate::support::pg::{connect, fresh_db, TestDb};
use crate::support::{assert_indexes_built_at_the_end, barge, rerun_after_a_kill, Dir, Run};

/// Indexes and constraints of every kind `pg_get_indexdef`/`pg_get_constraintdef` render:
/// a primary key, a deferrable unique constraint, an exclusion constraint, a partial, an
/// expression and a plain index, one with a name that needs quotes.
const INDEXES: &str = "\
    ALTER TABLE t ADD CONSTRAINT t_user_tag UNIQUE (user_id, tag) DEFERRABLE INITIALLY DEFERRED; \
    ALTER TABLE t ADD CONSTRAINT t_tag_excl EXCLUDE USING btree (tag WITH =); \
    CREATE INDEX t_active ON t (created_at) WHERE active; \
    CREATE INDEX \"T lower name\" ON t (lower(name)); \
    CREATE INDEX t_score ON t USING hash (score)";

async fn definitions(db: &TestDb) -> Vec<String> {
    db.rows_text(
        "SELECT pg_get_indexdef(indexrelid) || ' valid=' || indisvalid FROM pg_index \
         WHERE indrelid = 't'::regclass \
         UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 't'::regclass ORDER BY 1",
    )
    .await
}

/// `barge load FILE --into DB --table t --atomic` and `extra`.
fn load_atomic(db: &TestDb, file: &std::path::Path, extra: &[&str]) -> Run {
    let file = file.to_str().unwrap();
    let args = ["load", file, "--into", &db.url, "--table", "t", "--atomic"];
    barge(&[&args[..], extra].concat())
}

/// 20,000 bench-like rows written to `dir` and loaded into `db`'s `t` by `loader` in chunks
/// of 3,000 with `-v`, successfully: the file's text, its path and the run.
fn load_events(
    db: &TestDb,
    dir: &Dir,
    loader: fn(&TestDb, &std::path::Path, &[&str]) -> Run,
) -> (String, std::path::PathBuf, Run) {
    let csv = events_csv(20_000);
    let f = dir.write("events.csv", &csv);
    let run = loader(db, &f, &["--chunk-rows", "3000", "-v"]);
    run.assert_ok();
    (csv, f, run)
}

async fn table_with_indexes(test: &str) -> TestDb {
    let db = fresh_db(test).await;
    db.exec(&format!("CREATE TABLE t ({EVENTS_DDL}); {INDEXES}"))
        .await;
    db.exec(&format!("CREATE TABLE oracle ({EVENTS_DDL})"))
        .await;
    db
}

#[tokio::test]
async fn an_atomic_load_into_an_empty_table_builds_its_indexes_at_the_end_exactly() {
    let db = table_with_indexes("indexes_at_end").await;
    let before = definitions(&db).await;
    assert_eq!(before.len(), 9, "{before:#?}");
    let dir = Dir::new();
    let (csv, f, run) = load_events(&db, &dir, load_atomic);
    assert!(
        run.stderr
            .contains("its indexes are built at the end of the load, in its transaction")
            && run.stderr.contains("indexes=6"),
        "{}",
        run.stderr
    );
    assert_eq!(definitions(&db).await, before);
    db.server_copy("oracle", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    assert_eq!(db.checksum("t").await, db.checksum("oracle").await);
    // The rebuilt indexes hold every row: an index-only count equals the table's.
    assert_eq!(
        db.rows_text(
            "SELECT count(*) FILTER (WHERE id > 0) FROM t WHERE id = ANY (SELECT id FROM oracle)"
        )
        .await,
        vec!["(20000)"]
    );

    // Into a table that holds rows, or told to, the indexes stay in place.
    db.exec("TRUNCATE t").await;
    db.exec("INSERT INTO t SELECT * FROM oracle WHERE id = 1")
        .await;
    let rest = dir.write(
        "rest.csv",
        csv.lines()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| format!("{l}\n"))
            .collect::<String>(),
    );
    // A reader in an open transaction: a table that holds rows is loaded without waiting for
    // it (no exclusive lock is asked for; the lock timeout makes a wait fail, not hang).
    let reader = connect(&db.url).await;
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM t")
        .await
        .expect("read");
    let url = format!("{}?options=-c%20lock_timeout%3D3000", db.url);
    let rest = rest.to_str().unwrap();
    let args = [
        "load", rest, "--into", &url, "--table", "t", "--atomic", "-v",
    ];
    let run = barge(&args);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("the table keeps its indexes while it loads: it holds rows"),
        "{}",
        run.stderr
    );
    reader.batch_execute("COMMIT").await.expect("commit");
    assert_eq!(db.checksum("t").await, db.checksum("oracle").await);
    db.exec("TRUNCATE t").await;
    let run = load_atomic(&db, &f, &["--keep-indexes", "-v"]);
    run.assert_ok();
    assert!(!run.stderr.contains("built at the end"), "{}", run.stderr);
    assert_eq!(db.checksum("t").await, db.checksum("oracle").await);
    assert_eq!(definitions(&db).await, before);

    // A drop the checks did not foresee failing (here an event trigger refuses DDL): the
    // table loads with its indexes in place.
    db.exec("TRUNCATE t").await;
    db.exec(
        "CREATE FUNCTION no_ddl() RETURNS event_trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'no DDL here'; END $$; \
         CREATE EVENT TRIGGER no_ddl ON ddl_command_start \
         WHEN TAG IN ('DROP INDEX', 'ALTER TABLE') EXECUTE FUNCTION no_ddl()",
    )
    .await;
    let run = load_atomic(&db, &f, &["-v"]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("the table keeps its indexes while it loads: dropping them failed")
            && run.stderr.contains("no DDL here"),
        "{}",
        run.stderr
    );
    assert_eq!(db.checksum("t").await, db.checksum("oracle").await);
    assert_eq!(definitions(&db).await, before);
    db.exec("DROP EVENT TRIGGER no_ddl").await;

    // A partition's indexes are attached to its parent's: they stay (dropping one would fail).
    db.exec(&format!(
        "DROP TABLE t; CREATE TABLE p ({EVENTS_DDL}) PARTITION BY RANGE (id); \
         CREATE TABLE t PARTITION OF p FOR VALUES FROM (MINVALUE) TO (MAXVALUE); \
         CREATE INDEX p_user ON p (user_id)"
    ))
    .await;
    let run = load_atomic(&db, &f, &["-v"]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("keeps its indexes while it loads: it is a partition"),
        "{}",
        run.stderr
    );
    assert_eq!(db.checksum("t").await, db.checksum("oracle").await);
}

#[tokio::test]
async fn duplicate_keys_met_when_the_index_is_built_are_reported_with_their_line() {
    let db = table_with_indexes("indexes_dup").await;
    let before = definitions(&db).await;
    let dir = Dir::new();
    // Row 7 again as the last record (record 5,002, counting the header as record 1).
    let mut csv = events_csv(5_000);
    let seventh = events_csv(7).lines().last().unwrap_or_default().to_string();
    assert!(seventh.starts_with("7,"), "{seventh}");
    csv.push_str(&seventh);
    csv.push('\n');
    let f = dir.write("dup.csv", &csv);
    let run = load_atomic(&db, &f, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("Key (id)=(7) is duplicated")
            && run
                .stderr
                .contains("loading the file again with the indexes in place"),
        "{}",
        run.stderr
    );
    // The second pass finds the row, as a load with the indexes in place does.
    assert!(
        run.stderr.contains("at record 5002") && run.stderr.contains("=(7"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("note: 0 rows were committed before the error"),
        "{}",
        run.stderr
    );
    assert_eq!(db.rows_text("SELECT count(*) FROM t").await, vec!["(0)"]);
    assert_eq!(definitions(&db).await, before);
}

#[tokio::test]
async fn mid_load_the_table_is_locked_and_a_kill_leaves_it_as_it_was() {
    let db = table_with_indexes("indexes_kill").await;
    let before = definitions(&db).await;
    let dir = Dir::new();
    let csv = events_csv(300_000);
    let f = dir.write("big.csv", &csv);
    let args = [
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--atomic",
        "--chunk-rows",
        "2000",
        "--quiet",
    ];
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_barge"))
        .args(args)
        .spawn()
        .expect("spawn barge");
    // Wait until the load is past its first chunks: its COPY is running.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let copying = db
            .rows_text(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'COPY%' AND state = 'active'",
            )
            .await;
        if copying != vec!["(0)"] {
            break;
        }
        assert!(Instant::now() < deadline, "the load never started its COPY");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Another session cannot read the table (let alone see it without its constraints).
    let blocked = db
        .client
        .batch_execute("SET lock_timeout = '300ms'; SELECT count(*) FROM t")
        .await
        .expect_err("a reader must wait for the load");
    assert_eq!(
        blocked.code().map(|c| c.code()),
        Some("55P03"),
        "{blocked:?}"
    );
    db.exec("RESET lock_timeout").await;
    child.kill().expect("kill -9");
    let _ = child.wait();
    // What the killed load leaves: the table as it was, every index in place and valid.
    let deadline = Instant::now() + Duration::from_secs(30);
    while definitions(&db).await != before {
        assert!(Instant::now() < deadline, "{:#?}", definitions(&db).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(db.rows_text("SELECT count(*) FROM t").await, vec!["(0)"]);
    // The same command again completes it.
    barge(&args).assert_ok();
    db.server_copy("oracle", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    assert_eq!(db.checksum("t").await, db.checksum("oracle").await);
    assert_eq!(definitions(&db).await, before);
}

/// Beside [`INDEXES`]: indexes that no row can fail (with `t_score`, a hash index on a
/// double), which a resumable load leaves out of an empty table until its end, and one on a
/// text column, which it keeps (a long value can exceed a B-tree entry's limit).
const PLAIN: &str = "\
    CREATE INDEX t_user ON t (user_id); \
    CREATE INDEX t_when ON t USING brin (created_at); \
    CREATE INDEX t_name ON t (name)";

/// What a resumable load leaves out of [`INDEXES`] and [`PLAIN`], as `rows_text` shows names.
const LEFT_OUT: [&str; 3] = ["(public.t_score)", "(public.t_user)", "(public.t_when)"];

async fn index_names(db: &TestDb) -> Vec<String> {
    db.rows_text(
        "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 't'::regclass ORDER BY 1",
    )
    .await
}

/// Runs `barge` with `args` and kills it (-9) once `t` meets `condition` (an aggregate over
/// `t`), failing with `never` when it does not within two minutes.
async fn kill_once(db: &TestDb, args: &[&str], condition: &str, never: &str) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_barge"))
        .args(args)
        .spawn()
        .expect("spawn barge");
    let deadline = Instant::now() + Duration::from_secs(120);
    let sql = format!("SELECT {condition} FROM t");
    while db.rows_text(&sql).await != vec!["(t)"] {
        assert!(Instant::now() < deadline, "{never}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
}

/// The indexes recorded as left out, by name.
async fn recorded(db: &TestDb) -> Vec<String> {
    db.rows_text("SELECT index_name FROM barge_checkpoint_indexes ORDER BY 1")
        .await
}

async fn table_with_plain_indexes(test: &str) -> TestDb {
    let db = table_with_indexes(test).await;
    db.exec(PLAIN).await;
    db
}

/// `barge load FILE --into DB --table t` and `extra`: a resumable load.
fn load(db: &TestDb, file: &std::path::Path, extra: &[&str]) -> Run {
    let file = file.to_str().unwrap();
    let args = ["load", file, "--into", &db.url, "--table", "t"];
    barge(&[&args[..], extra].concat())
}

#[tokio::test]
async fn a_resumable_load_into_an_empty_table_builds_the_indexes_no_row_can_fail_at_its_end() {
    let db = table_with_plain_indexes("plain_at_end").await;
    let before = definitions(&db).await;
    assert_eq!(before.len(), 12, "{before:#?}");
    let dir = Dir::new();
    let (csv, f, run) = load_events(&db, &dir, load);
    assert_indexes_built_at_the_end(&run, 3);
    assert_eq!(definitions(&db).await, before);
    assert!(recorded(&db).await.is_empty());
    db.server_copy("oracle", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    assert_eq!(db.checksum("t").await, db.checksum("oracle").await);
    // The rebuilt indexes hold every row: counts through each of them equal the table's.
    db.exec("SET enable_seqscan = off; SET enable_bitmapscan = on")
        .await;
    for filter in [
        "user_id >= 0 OR user_id < 0",
        "created_at > '-infinity'",
        "score = score",
    ] {
        assert_eq!(
            db.rows_text(&format!("SELECT count(*) FROM t WHERE {filter}"))
                .await,
            db.rows_text(&format!("SELECT count(*) FROM oracle WHERE {filter}"))
                .await,
            "{filter}"
        );
    }
    db.exec("RESET enable_seqscan; RESET enable_bitmapscan")
        .await;

    // Into a table that holds rows, the indexes stay in place.
    db.exec("TRUNCATE t; INSERT INTO t SELECT * FROM oracle WHERE id = 1")
        .await;
    let rest = dir.write(
        "rest.csv",
        csv.lines()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| format!("{l}\n"))
            .collect::<String>(),
    );
    let run = load(&db, &rest, &["-v"]);
    run.assert_ok();
    assert!(!run.stderr.contains("built at the end"), "{}", run.stderr);
    assert_eq!(db.checksum("t").await, db.checksum("oracle").await);
    assert_eq!(definitions(&db).await, before);

    // Nor with --keep-indexes.
    db.exec("TRUNCATE t").await;
    let run = load(&db, &f, &["--again", "--keep-indexes", "-v"]);
    run.assert_ok();
    assert!(!run.stderr.contains("built at the end"), "{}", run.stderr);
    assert_eq!(db.checksum("t").await, db.checksum("oracle").await);
    assert_eq!(definitions(&db).await, before);
}

#[tokio::test]
async fn a_load_that_stops_on_a_bad_row_builds_the_indexes_it_left_out_before_it_exits() {
    let db = table_with_plain_indexes("plain_bad_row").await;
    let before = definitions(&db).await;
    let dir = Dir::new();
    let mut csv = events_csv(10_000);
    let bad = csv.lines().nth(9_000).unwrap().to_string();
    let broken = bad
        .replacen(",true,", ",maybe,", 1)
        .replacen(",false,", ",maybe,", 1);
    assert_ne!(bad, broken);
    csv = csv.replace(&bad, &broken);
    let f = dir.write("bad.csv", &csv);
    let run = load(&db, &f, &["--chunk-rows", "1000"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("(line 9001, byte ") && run.stderr.contains("invalid value \"maybe\""),
        "{}",
        run.stderr
    );
    // The rows before it are committed, and the table has every index again.
    let committed = db
        .rows_text("SELECT to_char(count(*), 'FM9,999') FROM t")
        .await;
    let note = format!(
        "note: {} rows were committed before the error",
        committed[0].trim_matches(['(', ')', '"'])
    );
    assert!(run.stderr.contains(&note), "{note}: {}", run.stderr);
    assert_ne!(committed, vec!["(0)"]);
    assert_eq!(definitions(&db).await, before);
    assert!(recorded(&db).await.is_empty());
}

#[tokio::test]
async fn a_kill_leaves_the_indexes_recorded_and_the_next_run_builds_them() {
    let db = table_with_plain_indexes("plain_kill").await;
    let before = definitions(&db).await;
    let names = index_names(&db).await;
    let dir = Dir::new();
    let csv = events_csv(300_000);
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
    db.server_copy("oracle", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    // The same command resumes and builds them at its end; with --keep-indexes it builds
    // them before it loads.
    for extra in [&[][..], &["--keep-indexes"][..]] {
        db.exec("TRUNCATE t; DROP TABLE IF EXISTS barge_checkpoint")
            .await;
        // Once chunks are committed: the table holds rows without the indexes left out.
        kill_once(&db, &args, "count(*) > 0", "no chunk was ever committed").await;
        let partial = db.rows_text("SELECT count(*) < 300000 FROM t").await;
        assert_eq!(partial, vec!["(t)"], "the load ended before the kill");
        // Every constraint is in place; what is missing is recorded.
        assert_eq!(recorded(&db).await, LEFT_OUT);
        let kept: Vec<String> = names
            .iter()
            .filter(|n| !LEFT_OUT.contains(&n.replace("(", "(public.").as_str()))
            .cloned()
            .collect();
        assert_eq!(index_names(&db).await, kept);
        // Other sessions read the table meanwhile (it is not locked).
        db.exec("SET lock_timeout = '300ms'; SELECT count(*) FROM t; RESET lock_timeout")
            .await;
        rerun_after_a_kill(&args, extra);
        assert_eq!(definitions(&db).await, before);
        assert!(recorded(&db).await.is_empty());
        assert_eq!(db.checksum("t").await, db.checksum("oracle").await);
    }
}

/// The files of one load (a glob) keep the indexes out from the first file's start to the last
/// file's end, recorded under the first file's load: killed in the second file, the table
/// still lacks them (and every constraint is there); the same command resumes, builds them at
/// its end and says so.
#[tokio::test]
async fn the_files_of_one_load_keep_the_indexes_out_until_the_last_ones_end() {
    let db = table_with_plain_indexes("plain_files").await;
    let before = definitions(&db).await;
    let names = index_names(&db).await;
    let dir = Dir::new();
    let csv = events_csv(90_000);
    let (header, body) = csv.split_once('\n').unwrap();
    // Every record ends with its quoted payload (some hold line breaks).
    let records: Vec<&str> = body.split_inclusive("}\"\n").collect();
    assert_eq!(records.len(), 90_000);
    for (i, part) in records.chunks(30_000).enumerate() {
        dir.write(
            &format!("part{i}.csv"),
            format!("{header}\n{}", part.concat()),
        );
    }
    db.server_copy("oracle", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    let glob = dir.path().join("part*.csv");
    let args = [
        "load",
        glob.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--chunk-rows",
        "1000",
        "--quiet",
    ];
    // Killed once the second file is under way.
    kill_once(
        &db,
        &args,
        "count(*) > 32000",
        "the second file was never loaded",
    )
    .await;
    assert_eq!(
        db.rows_text("SELECT count(*) < 60000 FROM t").await,
        vec!["(t)"],
        "the second file ended before the kill"
    );
    assert_eq!(recorded(&db).await, LEFT_OUT);
    let kept: Vec<String> = names
        .iter()
        .filter(|n| !LEFT_OUT.contains(&n.replace("(", "(public.").as_str()))
        .cloned()
        .collect();
    assert_eq!(index_names(&db).await, kept);
    let run = barge(&args[..args.len() - 1]);
    run.assert_ok();
    assert!(
        run.stdout.contains("from 3 files") && run.stdout.contains("\nBuilt 3 indexes in "),
        "{}",
        run.stdout
    );
    assert_eq!(definitions(&db).await, before);
    assert!(recorded(&db).await.is_empty());
    assert_eq!(db.checksum("t").await, db.checksum("oracle").await);
}
