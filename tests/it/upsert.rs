//! Upserts and INSERT mode, against what a row-by-row load leaves: the oracle replays the same
//! file one row at a time with PostgreSQL's own `INSERT ... ON CONFLICT` in a PL/pgSQL loop.

use rusqlite::Connection;

use crate::support::fixtures::{events_csv, EVENTS_DDL};
use crate::support::{barge, fresh_db, Dir, TestDb};

const KV_DDL: &str = "k1 integer NOT NULL, k2 text NOT NULL, v bigint, w text, \
                      note text NOT NULL DEFAULT 'orig', PRIMARY KEY (k1, k2)";

/// `rows` rows over about `rows / 4` distinct keys: every key repeats, often inside one chunk
/// and across chunks.
fn kv_csv(rows: usize) -> String {
    let mut s = String::from("k1,k2,v,w\n");
    let keys = rows / 4;
    for i in 0..rows {
        let k = (i * 7919) % keys;
        let w = if i % 11 == 0 {
            String::new()
        } else {
            format!("w{i}")
        };
        s.push_str(&format!("{},{},{i},{w}\n", k / 2, ["a", "b"][k % 2]));
    }
    s
}

/// A table holding some of the file's keys (and some others) with other values.
const PREFILL: &str = "INSERT INTO {t} (k1, k2, v, w, note) \
    SELECT g / 2, (ARRAY['a','b'])[g % 2 + 1], -g, 'old' || g, 'kept' \
    FROM generate_series(0, 3000, 3) AS g";

/// Replays `csv` into `table` one row at a time, in file order.
async fn row_by_row(db: &TestDb, table: &str, csv: &str, action: &str) {
    db.exec(
        "DROP TABLE IF EXISTS src; \
         CREATE TABLE src (k1 integer, k2 text, v bigint, w text, \
                           ord bigint GENERATED ALWAYS AS IDENTITY)",
    )
    .await;
    db.server_copy(
        "src (k1, k2, v, w)",
        "FORMAT csv, HEADER true",
        csv.as_bytes(),
    )
    .await;
    db.exec(&format!(
        "DO $$ DECLARE r record; BEGIN \
           FOR r IN SELECT * FROM src ORDER BY ord LOOP \
             INSERT INTO {table} (k1, k2, v, w) VALUES (r.k1, r.k2, r.v, r.w) \
             ON CONFLICT (k1, k2) {action}; \
           END LOOP; END $$"
    ))
    .await;
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client.query_one(sql, &[]).await.expect(sql).get(0)
}

fn json_field(stdout: &str, field: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("the --json summary");
    v["upsert"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("no upsert.{field} in {stdout}"))
}

#[tokio::test]
async fn duplicate_keys_in_and_across_chunks_end_as_row_by_row() {
    let db = fresh_db("upsert_dups").await;
    let csv = kv_csv(20_000);
    let dir = Dir::new();
    let f = dir.write("kv.csv", &csv);
    let f = f.to_str().unwrap();
    for (action, sql) in [
        ("update", "DO UPDATE SET v = EXCLUDED.v, w = EXCLUDED.w"),
        ("nothing", "DO NOTHING"),
    ] {
        // A partitioned table cannot return `xmax`, which tells an update from an insert
        // elsewhere: its merge counts differently.
        for (mode, partitioned) in [
            ("copy", false),
            ("insert", false),
            ("copy", true),
            ("insert", true),
        ] {
            let parts = if partitioned {
                " PARTITION BY HASH (k1); \
                 CREATE TABLE kv_0 PARTITION OF kv FOR VALUES WITH (MODULUS 2, REMAINDER 0); \
                 CREATE TABLE kv_1 PARTITION OF kv FOR VALUES WITH (MODULUS 2, REMAINDER 1)"
            } else {
                ""
            };
            db.exec(&format!(
                "DROP TABLE IF EXISTS kv, kv_ref, barge_checkpoint; \
                 CREATE TABLE kv ({KV_DDL}){parts}; CREATE TABLE kv_ref ({KV_DDL}); {}; {}",
                PREFILL.replace("{t}", "kv"),
                PREFILL.replace("{t}", "kv_ref")
            ))
            .await;
            let before = count(&db, "SELECT count(*) FROM kv").await;
            row_by_row(&db, "kv_ref", &csv, sql).await;
            let after = count(&db, "SELECT count(*) FROM kv_ref").await;
            let run = barge(&[
                "load",
                f,
                "--into",
                &db.url,
                "--table",
                "kv",
                "--on-conflict",
                action,
                "--chunk-rows",
                "997",
                "--workers",
                "3",
                "--mode",
                mode,
                "--json",
            ]);
            run.assert_ok();
            assert_eq!(
                db.checksum("kv").await,
                db.checksum("kv_ref").await,
                "{action} by {mode} (partitioned: {partitioned}): {}",
                run.all()
            );
            let inserted = json_field(&run.stdout, "inserted");
            assert_eq!(
                inserted as i64,
                after - before,
                "{action} by {mode} (partitioned: {partitioned})"
            );
            let other = if action == "update" {
                "updated"
            } else {
                "skipped"
            };
            assert_eq!(json_field(&run.stdout, other), 20_000 - inserted);
            // Columns the file does not have keep their values.
            assert_eq!(
                count(&db, "SELECT count(*) FROM kv WHERE note = 'kept'").await,
                before
            );
        }
    }
}

#[tokio::test]
async fn update_columns_leave_the_others_alone_and_bad_keys_are_named() {
    let db = fresh_db("upsert_cols").await;
    let csv = kv_csv(4_000);
    let dir = Dir::new();
    let f = dir.write("kv.csv", &csv);
    let f = f.to_str().unwrap();
    db.exec(&format!(
        "CREATE TABLE kv ({KV_DDL}); CREATE TABLE kv_ref ({KV_DDL}); {}; {}",
        PREFILL.replace("{t}", "kv"),
        PREFILL.replace("{t}", "kv_ref")
    ))
    .await;
    row_by_row(&db, "kv_ref", &csv, "DO UPDATE SET v = EXCLUDED.v").await;
    let run = barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "kv",
        "--on-conflict",
        "update",
        "--update-columns",
        "v",
        "--chunk-rows",
        "500",
    ]);
    run.assert_ok();
    assert!(
        run.stdout.contains("\nUpsert on (k1, k2): "),
        "{}",
        run.stdout
    );
    assert_eq!(db.checksum("kv").await, db.checksum("kv_ref").await);

    db.exec("CREATE UNIQUE INDEX kv_w ON kv (w)").await;
    let run = barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "kv",
        "--on-conflict",
        "update",
        "--key",
        "v",
        "--again",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(
        run.stderr,
        "error: --key v is not a unique key of table \"public\".\"kv\": its unique keys are: (k1, k2), (w)\n"
    );
    db.exec("CREATE TABLE nokey (k1 int, k2 text, v bigint, w text)")
        .await;
    let run = barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "nokey",
        "--on-conflict",
        "nothing",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains(
            "table \"public\".\"nokey\" has no primary key or unique index, which \
             --on-conflict needs to find a row's earlier version: add one"
        ),
        "{}",
        run.stderr
    );
    let run = barge(&["load", f, "--into", &db.url, "--table", "kv", "--key", "k1"]);
    assert_eq!(run.code, 2, "{}", run.all());
}

#[tokio::test]
async fn an_upsert_over_existing_rows_matches_the_file() {
    // 200k rows into a table already holding 100k of the same keys with other values.
    let db = fresh_db("upsert_200k").await;
    let csv = events_csv(200_000);
    db.exec(&format!(
        "CREATE TABLE events ({EVENTS_DDL}); CREATE TABLE events_ref ({EVENTS_DDL});"
    ))
    .await;
    db.server_copy("events_ref", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    db.exec(
        "INSERT INTO events SELECT id, 0, 1.00, 0, false, 'old', now(), tag, NULL \
         FROM events_ref WHERE id % 2 = 0",
    )
    .await;
    let dir = Dir::new();
    let f = dir.write("events.csv", &csv);
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--on-conflict",
        "update",
        "--json",
    ]);
    run.assert_ok();
    assert_eq!(db.checksum("events").await, db.checksum("events_ref").await);
    assert_eq!(json_field(&run.stdout, "inserted"), 100_000);
    assert_eq!(json_field(&run.stdout, "updated"), 100_000);
}

#[tokio::test]
async fn insert_mode_on_a_wide_table_gives_the_copy_table() {
    let db = fresh_db("insert_wide").await;
    let cols: Vec<String> = (0..70)
        .map(|i| match i % 5 {
            0 => format!("c{i} bigint"),
            1 => format!("c{i} text"),
            2 => format!("c{i} numeric(10,2)"),
            3 => format!("c{i} timestamptz"),
            _ => format!("c{i} inet"),
        })
        .collect();
    db.exec(&format!(
        "CREATE TABLE w_copy ({0}); CREATE TABLE w_insert ({0});",
        cols.join(", ")
    ))
    .await;
    let mut csv = (0..70)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    csv.push('\n');
    for r in 0..30_000 {
        let row: Vec<String> = (0..70)
            .map(|i| match i % 5 {
                _ if (r + i) % 13 == 0 => String::new(),
                0 => (r * i).to_string(),
                1 => format!("\"t {r},{i}\""),
                2 => format!("{}.{:02}", r % 1000, i),
                3 => format!("2024-01-{:02} 10:{:02}:00+02", r % 28 + 1, i % 60),
                _ => format!("10.0.{}.{}", r % 256, i),
            })
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let dir = Dir::new();
    let f = dir.write("wide.csv", &csv);
    let f = f.to_str().unwrap();
    barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "w_copy",
        "--chunk-rows",
        "25000",
    ])
    .assert_ok();
    // 70 columns x 25,000 rows is 1.75M parameters: barge cuts statements of 936 rows.
    let run = barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "w_insert",
        "--chunk-rows",
        "25000",
        "--chunk-bytes",
        "100000000",
        "--mode",
        "insert",
    ]);
    run.assert_ok();
    assert!(run.stdout.contains("2 chunks, INSERT)"), "{}", run.stdout);
    let want = db.checksum("w_copy").await;
    assert_eq!(want.0, 30_000);
    assert_eq!(db.checksum("w_insert").await, want);
}

/// The same file upserted into SQLite leaves what the row-by-row oracle leaves in PostgreSQL.
#[tokio::test]
async fn sqlite_upserts_end_as_postgres_row_by_row() {
    let db = fresh_db("upsert_sqlite").await;
    let csv = kv_csv(8_000);
    let dir = Dir::new();
    let f = dir.write("kv.csv", &csv);
    let f = f.to_str().unwrap();
    for (action, sql) in [
        ("update", "DO UPDATE SET v = EXCLUDED.v, w = EXCLUDED.w"),
        ("nothing", "DO NOTHING"),
    ] {
        db.exec(&format!(
            "DROP TABLE IF EXISTS kv_ref; CREATE TABLE kv_ref ({KV_DDL}); {}",
            PREFILL.replace("{t}", "kv_ref")
        ))
        .await;
        row_by_row(&db, "kv_ref", &csv, sql).await;
        let before_new = count(&db, "SELECT count(*) FROM kv_ref WHERE note = 'orig'").await;
        let want: Vec<String> = db
            .client
            .query(
                "SELECT concat_ws('|', k1, k2, v, w, note) FROM kv_ref ORDER BY k1, k2",
                &[],
            )
            .await
            .expect("read kv_ref")
            .iter()
            .map(|r| r.get(0))
            .collect();

        let path = dir.path().join(format!("{action}.db"));
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE kv (k1 INTEGER NOT NULL, k2 TEXT NOT NULL, v INTEGER, w TEXT, \
             note TEXT NOT NULL DEFAULT 'orig', PRIMARY KEY (k1, k2)); \
             WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 3 FROM g WHERE n + 3 <= 3000) \
             INSERT INTO kv SELECT n / 2, CASE n % 2 WHEN 0 THEN 'a' ELSE 'b' END, -n, 'old' || n, 'kept' FROM g;",
        )
        .unwrap();
        let into = format!("sqlite://{}", path.display());
        let run = barge(&[
            "load",
            f,
            "--into",
            &into,
            "--table",
            "kv",
            "--on-conflict",
            action,
            "--chunk-rows",
            "997",
            "--json",
        ]);
        run.assert_ok();
        assert_eq!(
            json_field(&run.stdout, "inserted") as i64,
            before_new,
            "{action}"
        );
        let got: Vec<String> = conn
            .prepare("SELECT concat_ws('|', k1, k2, v, w, note) FROM kv ORDER BY k1, k2")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got.len(), want.len(), "{action}");
        let diff: Vec<_> = got
            .iter()
            .zip(&want)
            .filter(|(g, w)| g != w)
            .take(3)
            .collect();
        assert!(
            diff.is_empty(),
            "{action}: SQLite and PostgreSQL differ: {diff:?}"
        );
    }
}

/// An upsert of a file keyed by a natural key (email) into a table whose primary key is an id
/// the database hands out, on every backend: without `--key`, the one unique key the input
/// has whole is the conflict key (before, "column \"id\" is not in the input"). Two unique
/// keys in the input are named, to choose one with `--key`.
#[tokio::test]
async fn an_upsert_without_the_id_goes_by_the_unique_key_the_input_has() {
    let dir = Dir::new();
    let first = dir.write("users.csv", "email,name,team\na@x,Ann,1\nb@x,Bob,2\n");
    let second = dir.write("users2.csv", "email,name,team\na@x,Ann B,1\nc@x,Cy,3\n");
    for t in crate::support::backend::TestTarget::each("natural_key").await {
        let id = match t.name() {
            "postgres" => "id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            "mysql" => "id bigint AUTO_INCREMENT PRIMARY KEY",
            _ => "id INTEGER PRIMARY KEY",
        };
        t.exec(&format!(
            "CREATE TABLE users ({id}, email varchar(100) NOT NULL UNIQUE, name text, team int)"
        ))
        .await;
        for f in [&first, &second] {
            let f = f.to_str().unwrap_or_default();
            let run = barge(&[
                "load",
                f,
                "--into",
                &t.url(),
                "--table",
                "users",
                "--on-conflict",
                "update",
            ]);
            run.assert_ok();
            assert!(
                run.stdout.contains("Upsert on (email)"),
                "{}: {}",
                t.name(),
                run.all()
            );
        }
        let got = t
            .rows("SELECT email, name, team FROM users ORDER BY email")
            .await;
        assert_eq!(
            got,
            ["a@x|Ann B|1", "b@x|Bob|2", "c@x|Cy|3"],
            "{}",
            t.name()
        );

        t.exec("CREATE UNIQUE INDEX users_team ON users (team)")
            .await;
        let run = barge(&[
            "load",
            first.to_str().unwrap_or_default(),
            "--into",
            &t.url(),
            "--table",
            "users",
            "--on-conflict",
            "update",
            "--again",
        ]);
        assert_eq!(run.code, 2, "{}: {}", t.name(), run.all());
        assert!(
            run.stderr
                .contains("and has all of several of its unique keys: ")
                && run.stderr.contains("name the conflict key with --key"),
            "{}: {}",
            t.name(),
            run.stderr
        );
    }
}

/// An upsert into a table `--create` makes, on every backend: `--key` becomes its primary
/// key (a text key a VARCHAR on MySQL, which keys no TEXT), so the file's rows with the same
/// key load as one, the last winning. Without `--key` the load says so before it makes
/// anything (before, it made a table without a key, then failed on it and left it there).
#[tokio::test]
async fn an_upsert_into_a_new_table_keys_it_by_key() {
    let dir = Dir::new();
    let f = dir.write(
        "people.csv",
        "email,name,visits\na@x,Ann,1\nb@x,Bob,2\na@x,Ann B,3\n",
    );
    let f = f.to_str().unwrap_or_default();
    for t in crate::support::backend::TestTarget::each("upsert_create").await {
        let url = t.url();
        let base = ["load", f, "--into", &url, "--table", "people", "--create"];
        let run = barge(&[&base[..], &["--on-conflict", "update"]].concat());
        assert_eq!(run.code, 2, "{}: {}", t.name(), run.all());
        assert!(
            run.stderr
                .contains("--on-conflict into a table this load creates needs --key"),
            "{}: {}",
            t.name(),
            run.stderr
        );
        let run = barge(&[&base[..], &["--on-conflict", "update", "--key", "Email"]].concat());
        run.assert_ok();
        assert!(
            run.stdout
                .contains("Upsert on (email): 2 inserted, 1 updated"),
            "{}: {}",
            t.name(),
            run.all()
        );
        let got = t
            .rows("SELECT email, name, visits FROM people ORDER BY email")
            .await;
        assert_eq!(got, ["a@x|Ann B|3", "b@x|Bob|2"], "{}", t.name());
        // The key is the table's: a second run's rows update by it.
        let again = dir.write("people2.csv", "email,name,visits\nb@x,Bo,5\n");
        let again = again.to_str().unwrap_or_default();
        barge(&[
            "load",
            again,
            "--into",
            &url,
            "--table",
            "people",
            "--on-conflict",
            "update",
        ])
        .assert_ok();
        let got = t
            .rows("SELECT email, name, visits FROM people ORDER BY email")
            .await;
        assert_eq!(got, ["a@x|Ann B|3", "b@x|Bo|5"], "{}", t.name());
    }
}
