//! Parquet files as input: every value as the server stores the same values written by SQL,
//! on every backend; a load killed mid-file resumes at its first uncommitted row; bad values
//! go to the rejects file as CSV lines; and what cannot work says what to do.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::support::backend::TestTarget;
use crate::support::{barge, barge_with, fresh_db, kill_after, Dir};

/// The columns of the test file, as PostgreSQL declares them; `oracle` fills a table of them
/// with the same values by SQL.
const DDL: &str = "k bigint, v text, n integer, amount numeric(12,2), at timestamptz, day date, \
                   ok boolean, doc jsonb";

/// Row `k`'s values, by SQL, for the table `table` holding rows 1 to `rows`.
fn oracle(table: &str, rows: i64) -> String {
    format!(
        "CREATE TABLE {table} ({DDL}); INSERT INTO {table} SELECT k, \
         CASE WHEN k % 7 = 0 THEN NULL WHEN k % 10 = 3 THEN 'Zoë ' || k ELSE 'value ' || k END, \
         k % 1000, k * 1.01, timestamptz '1970-01-01 00:00:00+00' + (1700000000 + k) * interval '1 second', \
         date '1970-01-01' + (19000 + k % 365)::int, k % 2 = 0, jsonb_build_object('k', k) \
         FROM generate_series(1, {rows}) k"
    )
}

/// Writes rows 1 to `rows` (see [`oracle`]) as a zstd Parquet file of row groups of
/// `group` rows, written in batches of 1,000 rows.
fn write_parquet(path: &Path, rows: i64, group: usize) {
    let batch = |from: i64, to: i64| {
        let ks: Vec<i64> = (from..=to).collect();
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("k", Arc::new(Int64Array::from(ks.clone()))),
            (
                "v",
                Arc::new(StringArray::from_iter(ks.iter().map(|k| match k {
                    k if k % 7 == 0 => None,
                    k if k % 10 == 3 => Some(format!("Zoë {k}")),
                    k => Some(format!("value {k}")),
                }))),
            ),
            (
                "n",
                Arc::new(Int32Array::from_iter_values(
                    ks.iter().map(|k| (k % 1000) as i32),
                )),
            ),
            (
                "amount",
                Arc::new(
                    Decimal128Array::from_iter_values(ks.iter().map(|k| i128::from(*k) * 101))
                        .with_precision_and_scale(12, 2)
                        .unwrap(),
                ),
            ),
            (
                "at",
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        ks.iter().map(|k| (1_700_000_000 + k) * 1_000_000),
                    )
                    .with_timezone("UTC"),
                ),
            ),
            (
                "day",
                Arc::new(Date32Array::from_iter_values(
                    ks.iter().map(|k| 19000 + (k % 365) as i32),
                )),
            ),
            (
                "ok",
                Arc::new(BooleanArray::from_iter(ks.iter().map(|k| Some(k % 2 == 0)))),
            ),
            (
                "doc",
                Arc::new(StringArray::from_iter_values(
                    ks.iter().map(|k| format!("{{\"k\": {k}}}")),
                )),
            ),
        ];
        RecordBatch::try_from_iter(columns).unwrap()
    };
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(group))
        .build();
    let first = batch(1, rows.min(1000));
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), first.schema(), Some(props)).unwrap();
    writer.write(&first).unwrap();
    for from in (1001..=rows).step_by(1000) {
        writer.write(&batch(from, (from + 999).min(rows))).unwrap();
    }
    writer.close().unwrap();
}

fn parquet_file(dir: &Dir, name: &str, rows: i64) -> PathBuf {
    let path = dir.path().join(name);
    write_parquet(&path, rows, 2500);
    path
}

/// The values a backend stores, compared as text: counts and sums, and three rows (one with
/// a non-ASCII string, one with a NULL).
async fn assert_loaded(db: &TestTarget, rows: i64) {
    let sum_n: i64 = (1..=rows).map(|k| k % 1000).sum();
    let nulls = rows / 7;
    assert_eq!(
        db.rows("SELECT count(*), sum(k), sum(n), count(v), count(DISTINCT k) FROM pq")
            .await,
        [format!(
            "{rows}|{}|{sum_n}|{}|{rows}",
            rows * (rows + 1) / 2,
            rows - nulls
        )],
        "{}",
        db.name()
    );
    assert_eq!(
        db.rows("SELECT k, v, n FROM pq WHERE k IN (7, 13, 14) ORDER BY k")
            .await,
        ["7|∅|7", "13|Zoë 13|13", "14|∅|14"],
        "{}",
        db.name()
    );
}

/// A Parquet file into a table it creates, on every backend; on PostgreSQL every value equals
/// the same value written by SQL (the file's types: decimals, UTC timestamps, dates, booleans,
/// JSON text into jsonb).
#[tokio::test]
async fn a_parquet_file_loads_its_typed_values_on_every_backend() {
    let dir = Dir::new();
    let rows = 12_345;
    let f = parquet_file(&dir, "pq.parquet", rows);
    let f = f.to_str().unwrap();
    for db in TestTarget::each("parquet_each").await {
        let url = db.url();
        let run = barge(&["load", f, "--into", &url, "--create"]);
        run.assert_ok();
        assert!(
            run.stdout.starts_with("Loaded 12,345 rows into new table "),
            "{}: {}",
            db.name(),
            run.stdout
        );
        assert_loaded(&db, rows).await;
    }

    let db = fresh_db("parquet_values").await;
    db.exec(&oracle("expected", rows)).await;
    db.exec(&format!("CREATE TABLE pq ({DDL})")).await;
    barge(&["load", f, "--into", &db.url]).assert_ok();
    assert_eq!(db.checksum("pq").await, db.checksum("expected").await);
    assert_eq!(db.checksum("pq").await.0, rows);

    // The table it would create, from the file's schema alone.
    let run = barge(&["schema", f, "--into", &db.url]);
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "CREATE TABLE \"pq\" (\n    \"k\" bigint,\n    \"v\" text,\n    \"n\" bigint,\n    \
         \"amount\" numeric,\n    \"at\" timestamptz,\n    \"day\" date,\n    \"ok\" boolean,\n    \
         \"doc\" text\n);\n-- from the Parquet schema\n"
    );
}

/// Lists, structs and maps (what Spark, pandas and DuckDB write for nested data) load: a list
/// of strings into a `text[]` column `--create` makes on PostgreSQL, and into JSON elsewhere;
/// structs and maps as JSON on every backend; each value reads back as the JSON of the Arrow
/// value (a struct's null field named, a NaN as the string PostgreSQL's `to_json` makes of it).
#[tokio::test]
async fn nested_parquet_values_load_as_json_on_every_backend() {
    use arrow_array::builder::{Int32Builder, ListBuilder, MapBuilder, StringBuilder};
    use arrow_array::{Float64Array, StructArray};
    use arrow_schema::{DataType, Field, Fields};

    let mut tags = ListBuilder::new(StringBuilder::new());
    tags.values().append_value("a");
    tags.values().append_value("b \"q\"");
    tags.append(true);
    tags.append(true);
    tags.append(false);
    let fields = Fields::from(vec![
        Field::new("x", DataType::Float64, true),
        Field::new("y", DataType::Utf8, true),
    ]);
    let st = StructArray::new(
        fields,
        vec![
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(f64::NAN)])) as ArrayRef,
            Arc::new(StringArray::from(vec![Some("q"), None, None])),
        ],
        Some(vec![true, false, true].into()),
    );
    let mut mp = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    mp.keys().append_value("k");
    mp.values().append_value(1);
    mp.append(true).expect("a map");
    mp.append(false).expect("a map");
    mp.append(true).expect("a map");
    let batch = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ("tags", Arc::new(tags.finish())),
        ("st", Arc::new(st)),
        ("mp", Arc::new(mp.finish())),
    ])
    .expect("a batch");
    let dir = Dir::new();
    let f = dir.path().join("nested.parquet");
    let mut w = ArrowWriter::try_new(File::create(&f).expect("create"), batch.schema(), None)
        .expect("a writer");
    w.write(&batch).expect("write");
    w.close().expect("close");

    let json = |s: &str| -> Option<serde_json::Value> {
        (s != "∅").then(|| serde_json::from_str(s).unwrap_or_else(|e| panic!("{s:?}: {e}")))
    };
    let want = [
        [
            Some(serde_json::json!(["a", "b \"q\""])),
            Some(serde_json::json!({"x": 1.5, "y": "q"})),
            Some(serde_json::json!({"k": 1})),
        ],
        [Some(serde_json::json!([])), None, None],
        [
            None,
            Some(serde_json::json!({"x": "NaN", "y": null})),
            Some(serde_json::json!({})),
        ],
    ];
    for db in TestTarget::each("parquet_nested").await {
        let url = db.url();
        barge(&["load", f.to_str().unwrap(), "--into", &url, "--create"]).assert_ok();
        // PostgreSQL's array as JSON, to compare with the others' JSON.
        let tags = match db.name() {
            "postgres" => "to_jsonb(tags)",
            _ => "tags",
        };
        let rows = db
            .rows(&format!("SELECT {tags}, st, mp FROM nested ORDER BY id"))
            .await;
        let got: Vec<Vec<Option<serde_json::Value>>> = rows
            .iter()
            .map(|r| r.split('|').map(json).collect())
            .collect();
        assert_eq!(
            got,
            want.clone().map(Vec::from).to_vec(),
            "{}: {rows:?}",
            db.name()
        );
    }
    // The table it creates on PostgreSQL.
    let db = fresh_db("parquet_nested_schema").await;
    let run = barge(&["schema", f.to_str().unwrap(), "--into", &db.url]);
    assert_eq!(
        run.stdout,
        "CREATE TABLE \"nested\" (\n    \"id\" bigint,\n    \"tags\" text[],\n    \"st\" jsonb,\n    \
         \"mp\" jsonb\n);\n-- from the Parquet schema\n",
        "{}",
        run.all()
    );
}

/// Killed at moments spread over the load, then run again: every row once, on every backend.
/// The rerun opens the file at the first row no chunk committed.
#[tokio::test]
async fn a_parquet_load_killed_mid_file_resumes_exactly_on_every_backend() {
    let dir = Dir::new();
    let rows = 60_000;
    let f = parquet_file(&dir, "pq.parquet", rows);
    let f = f.to_str().unwrap();
    for db in TestTarget::each("parquet_kill").await {
        let url = db.url();
        let args = [
            "load",
            f,
            "--into",
            &url,
            "--create",
            "--chunk-rows",
            "500",
            // SQLite commits each chunk, not a group of them (so that a kill leaves some).
            "--commit-every",
            "0",
            "--quiet",
        ];
        let killed = kill_after(&args, &[60, 150, 300, 450]).await;
        assert!(killed > 0, "{}: every run finished first", db.name());
        let run = barge(&args[..args.len() - 1]);
        run.assert_ok();
        assert_loaded(&db, rows).await;
        assert!(
            run.stdout.contains("Resumed: skipped ") || run.stdout.contains("already loaded"),
            "{}: {}",
            db.name(),
            run.stdout
        );
    }
}

/// A row the table refuses (a check constraint) is set aside as a CSV line under the file's
/// column names; the rest load.
#[tokio::test]
async fn refused_parquet_rows_go_to_the_rejects_file_as_csv() {
    let dir = Dir::new();
    let rows = 3000;
    let f = parquet_file(&dir, "pq.parquet", rows);
    let db = fresh_db("parquet_rejects").await;
    db.exec(&format!("CREATE TABLE pq ({DDL}, CHECK (n % 100 <> 0))"))
        .await;
    let rejects = dir.path().join("rejects.csv");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    // Exit code 3: loaded, with rows set aside.
    assert_eq!(run.code, 3, "{}", run.all());
    // Rows whose k is a multiple of 100 are refused: 30 of the 3,000.
    db.exec(&format!(
        "{}; DELETE FROM expected WHERE n % 100 = 0",
        oracle("expected", rows)
    ))
    .await;
    assert_eq!(db.checksum("pq").await, db.checksum("expected").await);
    assert_eq!(db.checksum("pq").await.0, 2970);
    let text = std::fs::read_to_string(&rejects).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("k,v,n,amount,at,day,ok,doc"));
    let firsts: Vec<&str> = lines
        .map(|l| l.split(',').take(4).collect::<Vec<_>>())
        .map(|f| f.join(","))
        .map(|l| l.leak() as &str)
        .collect();
    assert_eq!(firsts.len(), 30, "{text}");
    assert_eq!(firsts[0], "100,value 100,100,101.00", "{text}");
    assert_eq!(firsts[29], "3000,value 3000,0,3030.00", "{text}");
    // A Parquet file has rows, not lines and bytes: each reason names its row alone.
    let reasons = std::fs::read_to_string(dir.path().join("rejects.csv.errors.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(reasons.lines().next().unwrap()).unwrap();
    assert_eq!(first["record"], 100, "{reasons}");
    assert!(first["line"].is_null(), "{reasons}");
    // Without --rejects, the refusal (the server's) and a bad value (the client's) say which row.
    db.exec("DROP TABLE pq; DROP TABLE barge_checkpoint").await;
    db.exec(&format!("CREATE TABLE pq ({DDL}, CHECK (n % 100 <> 0))"))
        .await;
    let run = crate::support::load_file(&f, &db.url, "pq", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("(chunk 1, rows 1-") && run.stderr.contains("at row 100:"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("line"), "{}", run.stderr);
    db.exec("DROP TABLE pq; DROP TABLE barge_checkpoint").await;
    db.exec(&format!("CREATE TABLE pq ({DDL}, CHECK (n % 100 <> 0))"))
        .await;
    db.exec("ALTER TABLE pq ALTER v TYPE varchar(8)").await;
    let run = crate::support::load_file(&f, &db.url, "pq", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "pq.parquet: row 100, column \"v\": invalid value \"value 100\": expected character varying(8)"
        ),
        "{}",
        run.stderr
    );
}

/// What cannot work says so before loading: a Parquet stream, one Parquet file shared by
/// bytes, a file that is not Parquet; a Parquet file under another name is still read as one.
#[test]
fn parquet_that_cannot_be_read_says_what_to_do() {
    let dir = Dir::new();
    let f = parquet_file(&dir, "pq.parquet", 10);
    let bytes = std::fs::read(&f).unwrap();
    let into = format!("sqlite://{}", dir.path().join("t.db").display());

    let run = barge_with(
        &[
            "load", "-", "--format", "parquet", "--table", "pq", "--into", &into,
        ],
        &[],
        Some(&bytes),
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(
        run.stderr,
        "error: -: Parquet is read from a file (its index is at its end), not from a stream: save \
         it to a file and load that\n"
    );

    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &into,
        "--encoding",
        "latin1",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(
        run.stderr,
        format!(
            "error: {}: Parquet's strings are UTF-8 by definition: drop --encoding\n",
            f.display()
        )
    );

    let csv = dir.write("plain.csv", "a,b\n1,2\n");
    let run = barge(&[
        "load",
        csv.to_str().unwrap(),
        "--format",
        "parquet",
        "--into",
        &into,
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.starts_with(&format!(
            "error: {} cannot be read as Parquet: ",
            csv.display()
        )),
        "{}",
        run.stderr
    );

    // Named as something else, found by its magic bytes.
    let renamed = dir.write("export.dat", &bytes);
    let run = barge(&[
        "load",
        renamed.to_str().unwrap(),
        "--into",
        &into,
        "--table",
        "pq",
    ]);
    run.assert_ok();
    assert!(
        run.stdout
            .starts_with("Loaded 10 rows into new table \"main\".\"pq\""),
        "{}",
        run.stdout
    );
}

/// With `--ignore-unknown`, a Parquet file's columns the table lacks are not read at all (a
/// projection: 300k rows of 42 columns into a table of three loaded in 0.26 s instead of
/// 0.62 s, 20 MiB instead of 82). The table gets the same values, also when a kill makes the
/// rerun open the file again at its first uncommitted row; with `--rejects` every column is
/// read, so that a refused row's line is whole.
#[tokio::test]
async fn ignore_unknown_reads_only_the_tables_columns_of_a_parquet_file() {
    let dir = Dir::new();
    let rows = 60_000;
    let f = parquet_file(&dir, "wide.parquet", rows);
    let f = f.to_str().unwrap();
    let db = fresh_db("parquet_projection").await;
    db.exec(&oracle("oracle", rows)).await;
    // Columns in another order and case than the file's, one of them named as --create would.
    db.exec("CREATE TABLE few (\"N\" integer, k bigint PRIMARY KEY, day date)")
        .await;
    let want = db
        .rows_text("SELECT count(*), sum(k), sum(n), sum(day - date '2000-01-01') FROM oracle")
        .await;
    let args = [
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "few",
        "--ignore-unknown",
        "--chunk-rows",
        "500",
        "--quiet",
    ];
    crate::support::kill_midway(&args, &db.url, "few", rows).await;
    let run = barge(&args[..args.len() - 1]);
    run.assert_ok();
    assert!(run.stdout.contains("Resumed: skipped "), "{}", run.stdout);
    let got = "SELECT count(*), sum(k), sum(\"N\"), sum(day - date '2000-01-01') FROM few";
    assert_eq!(db.rows_text(got).await, want);

    // With --rejects: a row the table refuses is set aside with every column of the file.
    db.exec("TRUNCATE few; DROP TABLE barge_checkpoint; ALTER TABLE few ADD CHECK (k <> 13)")
        .await;
    let rej = dir.path().join("few.rej");
    let run = barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "few",
        "--ignore-unknown",
        "--rejects",
        rej.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    let lines = std::fs::read_to_string(&rej).unwrap_or_default();
    assert_eq!(
        lines.lines().collect::<Vec<_>>(),
        [
            "k,v,n,amount,at,day,ok,doc",
            "13,Zoë 13,13,13.13,2023-11-14 22:13:33+00:00,2022-01-21,false,\"{\"\"k\"\": 13}\"",
        ]
    );
    assert_eq!(
        db.rows_text("SELECT count(*), sum(k) FROM few").await,
        [format!("({},{})", rows - 1, rows * (rows + 1) / 2 - 13)]
    );
}

/// `--split K/N` shares one Parquet file by rows (counted in its footer; a share opens the
/// file at its first row, reading none before it): three processes at once, one killed and
/// run again, load every row exactly once; each share and the whole file are then done.
#[tokio::test]
async fn processes_share_one_parquet_file_by_rows() {
    let dir = Dir::new();
    let rows = 60_000;
    let f = parquet_file(&dir, "shared.parquet", rows);
    let f = f.to_str().unwrap();
    let db = fresh_db("parquet_split").await;
    db.exec(&format!("CREATE TABLE pq ({DDL})")).await;
    let args = |k: &'static str| {
        vec![
            "load",
            f,
            "--into",
            &db.url,
            "--table",
            "pq",
            "--split",
            k,
            "--chunk-rows",
            "500",
        ]
    };
    // Share 2 of 3 is rows 20,001 to 40,000: killed alone once some of them are in.
    fn quiet(mut a: Vec<&str>) -> Vec<&str> {
        a.push("--quiet");
        a
    }
    let two = args("2/3");
    crate::support::kill_midway(&quiet(two.clone()), &db.url, "pq", rows / 3).await;
    let others = [
        crate::support::spawn_barge(&quiet(args("1/3"))),
        crate::support::spawn_barge(&quiet(args("3/3"))),
    ];
    let run = barge(&two);
    for c in others {
        let out = c.wait_with_output().expect("wait for a share");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    run.assert_ok();
    assert!(run.stdout.contains("Resumed: skipped "), "{}", run.stdout);
    for again in [args("1/3"), args("3/3"), args("2/3")[..6].to_vec()] {
        let run = barge(&again);
        run.assert_ok();
        assert!(
            run.stdout.contains("already loaded"),
            "{again:?}: {}",
            run.all()
        );
    }
    assert_loaded(&TestTarget::Postgres(db), rows).await;
}

/// Parquet files replace a table's rows together, in one transaction (`--replace` of several
/// files): their positions are row numbers, which a small file's size in bytes need not
/// exceed, and each row still has a place of its own.
#[tokio::test]
async fn several_parquet_files_replace_the_rows_together() {
    let dir = Dir::new();
    let rows = 3_000;
    let a = parquet_file(&dir, "a.parquet", rows);
    let b = parquet_file(&dir, "b.parquet", rows);
    let db = fresh_db("parquet_replace").await;
    db.exec(&format!(
        "CREATE TABLE pq ({DDL}); INSERT INTO pq (k) VALUES (-1)"
    ))
    .await;
    let run = barge(&[
        "load",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "pq",
        "--replace",
        "--chunk-rows",
        "700",
    ]);
    run.assert_ok();
    assert_eq!(
        db.rows_text("SELECT count(*), sum(k), count(DISTINCT k), sum(n) FROM pq")
            .await,
        [format!(
            "({},{},{rows},{})",
            2 * rows,
            rows * (rows + 1),
            2 * (1..=rows).map(|k| k % 1000).sum::<i64>()
        )]
    );
}
