//! An `--atomic` load into an empty PostgreSQL table builds the table's indexes at the end,
//! inside its transaction: the table ends with exactly the indexes and constraints it had and
//! the rows the server's own COPY stores; other sessions cannot read it mid-load; a kill
//! leaves it as it was; rows a unique index refuses are found with their lines.

use std::time::{Duration, Instant};

use crate::support::fixtures::{events_csv, EVENTS_DDL};
use crate::support::pg::{connect, fresh_db, TestDb};
use crate::support::{barge, Dir, Run};

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
    let csv = events_csv(20_000);
    let f = dir.write("events.csv", &csv);
    let run = load_atomic(&db, &f, &["--chunk-rows", "3000", "-v"]);
    run.assert_ok();
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
