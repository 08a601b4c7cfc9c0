//! Every source gives the same table: CSV, TSV, NDJSON, gzip and zstd, standard input, several
//! files and globs, into PostgreSQL and SQLite; a truncated gzip stream is an error.

use crate::support::{barge, barge_with, fresh_db, gzip, kill_midway, Dir, TestDb};

const DDL: &str = "id bigint PRIMARY KEY, n numeric(12,2), ok boolean, name text, \
                   at timestamptz, doc jsonb";

/// One row's values; `None` is NULL.
struct Row {
    id: u64,
    n: Option<String>,
    ok: bool,
    name: Option<String>,
    at: String,
    doc: String,
}

fn rows(count: u64) -> Vec<Row> {
    (1..=count)
        .map(|i| Row {
            id: i,
            n: (i % 7 != 0).then(|| format!("{}.{:02}", i * 13 % 100_000, i % 100)),
            ok: i % 3 == 0,
            name: match i % 5 {
                0 => None,
                1 => Some(String::new()),
                2 => Some(format!("tab\there \"q\" {i}")),
                3 => Some(format!("two\nlines, {i}")),
                _ => Some(format!("Zoë {i}")),
            },
            at: format!(
                "2024-0{}-1{}T0{}:00:00+0{}:00",
                i % 9 + 1,
                i % 9,
                i % 9,
                i % 5
            ),
            doc: format!("{{\"k\": {i}, \"a\": [1, \"x\"], \"s\": \"v{}\"}}", i % 4),
        })
        .collect()
}

fn quote(s: &str, delim: char) -> String {
    if s.is_empty() || s.contains([delim, '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn delimited(rows: &[Row], delim: char) -> String {
    let d = delim.to_string();
    let mut s = ["id", "n", "ok", "name", "at", "doc"].join(&d);
    s.push('\n');
    for r in rows {
        let fields = [
            r.id.to_string(),
            r.n.clone().unwrap_or_default(),
            r.ok.to_string(),
            r.name.as_deref().map_or(String::new(), |n| quote(n, delim)),
            r.at.clone(),
            quote(&r.doc, delim),
        ];
        s.push_str(&fields.join(&d));
        s.push('\n');
    }
    s
}

fn ndjson(rows: &[Row]) -> String {
    let mut s = String::new();
    for r in rows {
        let mut obj = serde_json::Map::new();
        obj.insert("id".into(), serde_json::json!(r.id));
        if let Some(n) = &r.n {
            // A number in the JSON text, kept digit for digit.
            obj.insert("n".into(), serde_json::from_str(n).unwrap());
        }
        obj.insert("ok".into(), serde_json::json!(r.ok));
        obj.insert(
            "name".into(),
            r.name
                .as_ref()
                .map_or(serde_json::Value::Null, |n| n.clone().into()),
        );
        obj.insert("at".into(), r.at.clone().into());
        obj.insert("doc".into(), serde_json::from_str(&r.doc).unwrap());
        s.push_str(&serde_json::Value::Object(obj).to_string());
        s.push('\n');
    }
    s
}

async fn reference(db: &TestDb, csv: &str) -> (i64, String) {
    db.exec(&format!("CREATE TABLE ref ({DDL})")).await;
    db.server_copy("ref", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    db.checksum("ref").await
}

#[tokio::test]
async fn every_format_and_compression_gives_the_same_table() {
    let db = fresh_db("sources").await;
    let data = rows(3_000);
    let csv = delimited(&data, ',');
    let want = reference(&db, &csv).await;
    assert_eq!(want.0, 3_000);
    let dir = Dir::new();
    let files = [
        dir.write("a.csv", &csv),
        dir.write("b.tsv", delimited(&data, '\t')),
        dir.write("c.ndjson", ndjson(&data)),
        dir.write("d.csv.gz", gzip(csv.as_bytes())),
        dir.write(
            "e.jsonl.zst",
            zstd::stream::encode_all(ndjson(&data).as_bytes(), 3).unwrap(),
        ),
        // Compression is told by the bytes, not the name.
        dir.write("f.data", gzip(delimited(&data, '\t').as_bytes())),
        // Objects, one per line, in a `.json` file: read as CSV, nothing loaded (exit 0).
        dir.write("g.json", ndjson(&data)),
    ];
    for (i, f) in files.iter().enumerate() {
        let table = format!("t{i}");
        db.exec(&format!("CREATE TABLE {table} ({DDL})")).await;
        let mut args = vec![
            "load",
            f.to_str().unwrap(),
            "--into",
            &db.url,
            "--table",
            &table,
            "--chunk-rows",
            "700",
        ];
        if f.ends_with("f.data") {
            args.extend(["--format", "tsv"]);
        }
        barge(&args).assert_ok();
        assert_eq!(db.checksum(&table).await, want, "{}", f.display());
    }
    // Standard input, compressed.
    db.exec(&format!("CREATE TABLE t_stdin ({DDL})")).await;
    let gz = gzip(ndjson(&data).as_bytes());
    barge_with(
        &[
            "load", "-", "--into", &db.url, "--table", "t_stdin", "--format", "ndjson",
        ],
        &[],
        Some(&gz),
    )
    .assert_ok();
    assert_eq!(db.checksum("t_stdin").await, want);
    // Piped in with no file named: standard input, as psql and sqlite3 read it.
    db.exec(&format!("CREATE TABLE t_piped ({DDL})")).await;
    barge_with(
        &[
            "load", "--into", &db.url, "--table", "t_piped", "--format", "ndjson",
        ],
        &[],
        Some(&gz),
    )
    .assert_ok();
    assert_eq!(db.checksum("t_piped").await, want);

    // Each file into SQLite, the table created from it, holds the same values.
    let pg = db
        .client
        .query_one(
            "SELECT sum(n)::float8, count(name), count(*) FILTER (WHERE ok), \
                    sum(length(name))::bigint FROM ref",
            &[],
        )
        .await
        .unwrap();
    for (i, f) in files.iter().enumerate() {
        let sqlite = dir.path().join(format!("s{i}.db"));
        let into = format!("sqlite://{}", sqlite.display());
        let mut args = vec!["load", f.to_str().unwrap(), "--into", &into, "--table", "s"];
        if f.ends_with("f.data") {
            args.extend(["--format", "tsv"]);
        }
        barge(&args).assert_ok();
        let conn = rusqlite::Connection::open(&sqlite).unwrap();
        let (n, sum, names, oks, len): (i64, f64, i64, i64, i64) = conn
            .query_row(
                "SELECT count(*), sum(n), count(name), sum(ok), sum(length(name)) FROM s",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        let what = f.display();
        assert_eq!(n, 3_000, "{what}");
        assert!((sum - pg.get::<_, f64>(0)).abs() < 1e-6, "{what}");
        assert_eq!(names, pg.get::<_, i64>(1), "{what}");
        assert_eq!(oks, pg.get::<_, i64>(2), "{what}");
        assert_eq!(len, pg.get::<_, i64>(3), "{what}");
    }
}

#[tokio::test]
async fn several_files_and_globs_load_as_one() {
    let db = fresh_db("sources_many").await;
    let data = rows(2_000);
    let csv = delimited(&data, ',');
    let want = reference(&db, &csv).await;
    db.exec(&format!("CREATE TABLE t ({DDL})")).await;
    let dir = Dir::new();
    let header = csv.lines().next().unwrap().to_string();
    for (k, part) in data.chunks(700).enumerate() {
        let s = delimited(part, ',');
        assert!(s.starts_with(&header));
        if k == 1 {
            dir.write(&format!("part{k}.csv.gz"), gzip(s.as_bytes()));
        } else {
            dir.write(&format!("part{k}.csv"), s);
        }
    }
    let glob = format!("{}/part*", dir.path().display());
    let run = barge(&[
        "load",
        &glob,
        "--into",
        &db.url,
        "--table",
        "t",
        "--chunk-rows",
        "300",
    ]);
    run.assert_ok();
    assert!(
        run.stdout
            .starts_with("Loaded 2,000 rows from 3 files into \"public\".\"t\""),
        "{}",
        run.stdout
    );
    assert_eq!(db.checksum("t").await, want);
    let run = barge(&["load", &glob, "--into", &db.url, "--table", "t"]);
    run.assert_ok();
    assert!(
        run.stdout
            .starts_with("3 files were already loaded into \"public\".\"t\""),
        "{}",
        run.stdout
    );
    assert_eq!(db.checksum("t").await, want);
    let run = barge(&[
        "load",
        &format!("{}/nothing*", dir.path().display()),
        "--into",
        &db.url,
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no file matches"), "{}", run.stderr);
}

/// A directory named as the input is its files, as Spark, Hive and DuckDB write a data set
/// (`events.csv/part-00000...`, a `_SUCCESS` marker, `.crc` checksums and an empty partition's
/// empty file beside them): its parts load in name order into the table named after it,
/// markers, checksums and empty files left out, and a
/// rerun finds them loaded; `barge schema` reads its first part. A directory of only
/// directories (a partitioned layout) says how to name its files.
#[tokio::test]
async fn a_directory_loads_its_files_into_the_table_named_after_it() {
    let db = fresh_db("sources_dir").await;
    let data = rows(2_000);
    let csv = delimited(&data, ',');
    let want = reference(&db, &csv).await;
    db.exec(&format!("CREATE TABLE events ({DDL})")).await;
    let dir = Dir::new();
    for (k, part) in data.chunks(700).enumerate() {
        let s = delimited(part, ',');
        let name = format!("events.csv/part-{k:05}-1b2c.csv");
        match k {
            1 => dir.write(&format!("{name}.gz"), gzip(s.as_bytes())),
            _ => dir.write(&name, s),
        };
    }
    dir.write("events.csv/_SUCCESS", "");
    // An empty partition's file, first in name order: no header to make a table of.
    dir.write("events.csv/part-00000-0000.csv", "");
    dir.write("events.csv/.part-00000-1b2c.csv.crc", "\u{0}\u{1}not csv");
    let set = dir.path().join("events.csv");
    let set = set.to_str().unwrap_or_default();
    let run = barge(&["load", set, "--into", &db.url, "--chunk-rows", "300"]);
    run.assert_ok();
    assert!(
        run.stdout
            .starts_with("Loaded 2,000 rows from 3 files into \"public\".\"events\""),
        "{}",
        run.stdout
    );
    assert_eq!(db.checksum("events").await, want);
    let run = barge(&["load", set, "--into", &db.url]);
    run.assert_ok();
    assert!(
        run.stdout.starts_with(&format!(
            "The 3 files of {set} were already loaded into \"public\".\"events\""
        )),
        "{}",
        run.stdout
    );
    // Into a table the load makes (SQLite: unasked), from the first file that is not empty.
    let made = format!("sqlite://{}", dir.path().join("made.db").display());
    let run = barge(&["load", set, "--into", &made]);
    run.assert_ok();
    assert!(
        run.stdout
            .starts_with("Loaded 2,000 rows from 3 files into new table \"main\".\"events\""),
        "{}",
        run.stdout
    );
    let run = barge(&["schema", set, "--dialect", "postgres"]);
    run.assert_ok();
    assert!(
        run.stdout
            .starts_with("CREATE TABLE \"events\" (\n    \"id\" bigint,"),
        "{}",
        run.stdout
    );

    dir.write("by_year/year=2024/part-0.csv", "id\n1\n");
    let run = barge(&[
        "load",
        dir.path().join("by_year").to_str().unwrap_or_default(),
        "--into",
        &db.url,
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("by_year holds only directories: a partitioned layout (year=2024/...) is loaded by naming its files with a quoted glob"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn ndjson_keys_must_be_columns_and_truncated_gzip_fails_clearly() {
    let db = fresh_db("sources_errors").await;
    db.exec(&format!("CREATE TABLE t ({DDL})")).await;
    let dir = Dir::new();
    let f = dir.write("x.ndjson", "{\"id\": 1, \"extra\": 2}\n");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("has no column \"extra\""),
        "{}",
        run.stderr
    );
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--ignore-unknown",
    ]);
    run.assert_ok();
    assert_eq!(db.rows_text("SELECT id FROM t").await, ["(1)"]);

    let data = rows(20_000);
    let gz = gzip(delimited(&data, ',').as_bytes());
    let cut = dir.write("cut.csv.gz", &gz[..gz.len() * 2 / 3]);
    db.exec("TRUNCATE t").await;
    let run = barge(&[
        "load",
        cut.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .starts_with(&format!("error: {}: read failed: ", cut.display())),
        "{}",
        run.stderr
    );
}

#[derive(serde::Serialize)]
struct Event {
    id: u64,
    n: Option<String>,
    ok: bool,
    name: Option<String>,
    at: String,
    doc: serde_json::Value,
}

/// The rows as the structs a program would stream.
fn structs(data: &[Row]) -> Vec<Event> {
    data.iter()
        .map(|r| Event {
            id: r.id,
            n: r.n.clone(),
            ok: r.ok,
            name: r.name.clone(),
            at: r.at.clone(),
            doc: serde_json::from_str(&r.doc).unwrap(),
        })
        .collect()
}

/// The same rows as a stream of structs (the amount as a string keeps its exact digits, as a
/// `Decimal` type would serialize it), into PostgreSQL and SQLite.
#[tokio::test]
async fn a_stream_of_structs_gives_the_same_table() {
    let db = fresh_db("sources_structs").await;
    let data = rows(5_000);
    let want = reference(&db, &delimited(&data, ',')).await;
    db.exec(&format!("CREATE TABLE t ({DDL})")).await;
    let events = structs(&data);
    let report = barge::Load::into(&db.url)
        .unwrap()
        .table("t")
        .chunk_rows(700)
        .workers(2)
        .load_rows(futures_util::stream::iter(events))
        .await
        .expect("the load");
    assert_eq!(report.rows, 5_000);
    assert_eq!(db.checksum("t").await, want);

    // Into a table that does not exist, with create: its types from a sample of the first
    // 1,000 rows (typed values say theirs, strings are read as a file's fields), which are kept
    // and loaded with the rest. The same rows and values as the table made by hand.
    let report = barge::Load::into(&db.url)
        .unwrap()
        .table("made")
        .create(true)
        .sample_rows(1_000)
        .chunk_rows(700)
        .load_rows(futures_util::stream::iter(structs(&data)))
        .await
        .expect("the load");
    assert_eq!((report.rows, report.created), (5_000, true));
    assert_eq!(db.checksum("made").await, want);
    assert_eq!(
        db.rows_text(
            "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) \
             FROM information_schema.columns WHERE table_name = 'made'"
        )
        .await,
        ["(\"id bigint, n numeric, ok boolean, name text, at timestamp with time zone, doc jsonb\")"]
    );

    // A value the table refuses is set aside as its JSON, the others load.
    let dir = Dir::new();
    let rej = dir.path().join("rej.ndjson");
    let bad = vec![
        serde_json::json!({"id": 1, "n": "1.5"}),
        serde_json::json!({"id": 2, "n": "not a number"}),
        serde_json::json!({"id": 3}),
    ];
    db.exec("TRUNCATE t").await;
    let report = barge::Load::into(&db.url)
        .unwrap()
        .table("t")
        .rejects(&rej)
        .load_rows(futures_util::stream::iter(bad))
        .await
        .expect("the load");
    assert_eq!((report.rows, report.rejected), (2, 1));
    assert_eq!(
        std::fs::read_to_string(&rej).unwrap(),
        "{\"id\":2,\"n\":\"not a number\"}\n"
    );
    // A stream of something else is a clear error.
    let e = barge::Load::into(&db.url)
        .unwrap()
        .table("t")
        .load_rows(futures_util::stream::iter(vec![1, 2, 3]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("the rows are not structs"), "{e}");
}

/// A JSON array of objects (`json.dump` of a list, pandas' `to_json(orient="records")`, an
/// API's answer), pretty-printed over many lines, loads as its elements: killed midway, the
/// rerun seeks past the committed elements, and every row is there once with its values; two
/// `--split` shares cut it between elements. (Read as lines, it loaded nothing, exit 0, and
/// then was refused with a jq command to run first.)
#[tokio::test]
async fn a_json_array_loads_its_elements_and_resumes_between_them() {
    let db = fresh_db("json_array").await;
    db.exec(&format!(
        "CREATE TABLE src ({DDL}); INSERT INTO src SELECT k, \
         CASE WHEN k % 7 = 0 THEN NULL ELSE k * 1.25 END, k % 2 = 0, \
         CASE k % 4 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN E'tab\\t\"q\" \\n]}},' \
         ELSE 'Zoë ' || k END, \
         timestamptz '2024-01-01 00:00:00+00' + k * interval '1 minute', \
         jsonb_build_object('k', k, 'a', jsonb_build_array(k, '}}')) \
         FROM generate_series(1, 60000) k"
    ))
    .await;
    let want = db.checksum("src").await;
    let pretty: String = db
        .client
        .query_one(
            "SELECT jsonb_pretty(jsonb_agg(to_jsonb(src) ORDER BY id)) FROM src",
            &[],
        )
        .await
        .expect("the array")
        .get(0);
    assert!(pretty.starts_with("[\n    {\n"), "{}", &pretty[..40]);
    let dir = Dir::new();
    let f = dir.write("api.json", format!("\u{feff}{pretty}\n"));
    db.exec(&format!(
        "CREATE TABLE dst ({DDL}); CREATE TABLE half ({DDL})"
    ))
    .await;
    let args = [
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "dst",
        "--chunk-rows",
        "500",
    ];
    kill_midway(&args, &db.url, "dst", 60_000).await;
    let run = barge(&args);
    run.assert_ok();
    assert!(run.all().contains("Resumed: skipped "), "{}", run.all());
    assert_eq!(db.checksum("dst").await, want);
    for share in ["1/2", "2/2"] {
        let run = barge(&[
            "load",
            f.to_str().unwrap(),
            "--into",
            &db.url,
            "--table",
            "half",
            "--split",
            share,
        ]);
        run.assert_ok();
        assert!(!run.stdout.contains("Loaded 60,000 rows"), "{}", run.stdout);
    }
    assert_eq!(db.checksum("half").await, want);
}

/// A JSON array's bad element goes to the rejects file as one line of NDJSON; objects written
/// over several lines one after another (what `jq .` prints) load as rows; an array without
/// its closing `]` says so, with its line.
#[tokio::test]
async fn json_arrays_and_objects_over_lines_in_every_shape() {
    let db = fresh_db("json_shapes").await;
    let dir = Dir::new();
    let f = dir.write(
        "api.json",
        "[\n  {\"id\": 1, \"name\": \"a\"},\n  {\n    \"id\": \"x\",\n    \"name\": \"b c\"\n  },\n  {\"id\": 3}\n]\n",
    );
    let rej = dir.path().join("rej.json");
    db.exec("CREATE TABLE api (id bigint, name text)").await;
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--rejects",
        rej.to_str().unwrap(),
    ]);
    // 3: loaded, with rows set aside.
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(
        db.rows_text("SELECT count(*), sum(id), count(name) FROM api")
            .await,
        ["(2,4,1)"]
    );
    assert_eq!(
        std::fs::read_to_string(&rej).unwrap(),
        "{\"id\":\"x\",\"name\":\"b c\"}\n"
    );
    let jq = dir.write(
        "jq.json",
        "{\n  \"id\": 1\n}\n{\n  \"id\": 2,\n  \"name\": \"b\"\n}\n",
    );
    barge(&["load", jq.to_str().unwrap(), "--into", &db.url, "--create"]).assert_ok();
    assert_eq!(
        db.rows_text("SELECT count(*), sum(id), max(name) FROM jq")
            .await,
        ["(2,3,b)"]
    );
    let open = dir.write("open.json", "[\n  {\"id\": 1},\n  {\"id\": 2}\n");
    let run = barge(&[
        "load",
        open.to_str().unwrap(),
        "--into",
        &db.url,
        "--create",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "line 4, byte 27): the array ends without its closing ']' (read as a JSON array of \
             objects)"
        ),
        "{}",
        run.all()
    );
}
