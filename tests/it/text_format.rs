//! PostgreSQL's text format (`--format text`), as `psql \copy ... to` writes it: the server's
//! own export of awkward values loads back to the same values, where read as TSV it would
//! store `\N` and escapes as text; a load of it resumes and sets bad lines aside as they were.

use futures_util::TryStreamExt;

use crate::support::backend::TestTarget;
use crate::support::{assert_same_as_server_copy, barge, fresh_db, kill_midway, Dir, TestDb};

const DDL: &str = "id bigint, s text, n numeric(12,2), at timestamptz, doc jsonb, ok boolean";

/// Rows with every escape the format has: tabs, newlines, carriage returns, backslashes, a
/// string that reads `\N`, empty strings and NULLs, non-ASCII text.
fn fill(table: &str, rows: i64) -> String {
    format!(
        "CREATE TABLE {table} ({DDL}); INSERT INTO {table} SELECT k, \
         CASE k % 6 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN E'tab\\there\\nnew\\rline' \
         WHEN 3 THEN E'back\\\\slash \\\\N' WHEN 4 THEN '\\N' ELSE 'Zoë ' || k END, \
         CASE WHEN k % 7 = 0 THEN NULL ELSE k * 1.25 END, \
         timestamptz '2024-01-01 00:00:00+00' + k * interval '1 minute', \
         jsonb_build_object('k', k, 's', E'a\\tb'), k % 2 = 0 \
         FROM generate_series(1, {rows}) k"
    )
}

/// What `COPY (...) TO STDOUT` writes for `sql`: the text format, as `psql \copy ... to`.
async fn export(db: &TestDb, sql: &str) -> Vec<u8> {
    let stream = db
        .client
        .copy_out(&format!("COPY ({sql}) TO STDOUT"))
        .await
        .expect("COPY TO");
    let parts: Vec<bytes::Bytes> = stream.try_collect().await.expect("the export");
    parts.concat()
}

#[tokio::test]
async fn the_servers_text_export_loads_back_to_the_same_values() {
    let db = fresh_db("text_format").await;
    db.exec(&fill("src", 3_000)).await;
    let want = db.checksum("src").await;
    assert_eq!(want.0, 3_000);
    let dir = Dir::new();
    let f = dir.write("src.txt", export(&db, "SELECT * FROM src").await);
    let f = f.to_str().unwrap();

    db.exec(&format!("CREATE TABLE dst ({DDL})")).await;
    let args = [
        "load", f, "--into", &db.url, "--table", "dst", "--format", "text",
    ];
    // No header line, as the server writes it: the text format's default.
    barge(&[&args[..], &["--chunk-rows", "700"]].concat()).assert_ok();
    assert_eq!(db.checksum("dst").await, want);

    // The same file read as TSV: `\N` stored as those two characters, escapes as text.
    db.exec("CREATE TABLE as_tsv (id bigint, s text)").await;
    let tsv = dir.write(
        "src.tsv",
        export(&db, "SELECT id, s FROM src WHERE id IN (4, 6)").await,
    );
    barge(&[
        "load",
        tsv.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "as_tsv",
        "--no-header",
    ])
    .assert_ok();
    assert_eq!(
        db.rows_text("SELECT id, s FROM as_tsv ORDER BY id").await,
        ["(4,\"\\\\\\\\N\")", "(6,\"\\\\N\")"]
    );
    // Into a column that is not text, `\N` fails the load, and the hint names the format.
    db.exec("CREATE TABLE nums (id bigint, n numeric)").await;
    let nums = dir.write(
        "nums.tsv",
        export(&db, "SELECT id, n FROM src WHERE id = 7").await,
    );
    let run = barge(&[
        "load",
        nums.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "nums",
        "--no-header",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.ends_with(
            "hint: \\N is NULL in PostgreSQL's text format (what psql's \\copy ... to and \
             MySQL's INTO OUTFILE write), which escapes tabs and newlines with backslashes too: \
             load such a file with --format text\n"
        ),
        "{}",
        run.stderr
    );

    // With a header line, and a bad value set aside as its own line.
    let mut with_header = b"id\ts\tn\n".to_vec();
    with_header.extend_from_slice(b"1\ta\\tb\t1.5\n2\t\\N\tnot a number\n3\t\t\\N\n");
    let f = dir.write("head.txt", &with_header);
    db.exec("CREATE TABLE small (id int, s text, n numeric)")
        .await;
    let rejects = dir.path().join("rejects.txt");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "small",
        "--format",
        "text",
        "--header",
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("\nRejected 1 row: "), "{}", run.stdout);
    assert_eq!(
        db.rows_text("SELECT id, s, n FROM small ORDER BY id").await,
        ["(1,\"a\tb\",1.5)", "(3,\"\",)"]
    );
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap(),
        "id\ts\tn\n2\t\\N\tnot a number\n"
    );
}

/// Every backend stores the server's export with the same NULLs, empty strings and escapes.
#[tokio::test]
async fn a_text_export_loads_into_every_backend() {
    let pg = fresh_db("text_export").await;
    pg.exec(&fill("src", 600)).await;
    let dir = Dir::new();
    let f = dir.write("src.txt", export(&pg, "SELECT id, s, ok FROM src").await);
    for db in TestTarget::each("text_each").await {
        db.exec("CREATE TABLE t (id bigint, s text, ok boolean)")
            .await;
        barge(&[
            "load",
            f.to_str().unwrap(),
            "--into",
            &db.url(),
            "--table",
            "t",
            "--format",
            "text",
            "--columns",
            "id,s,ok",
        ])
        .assert_ok();
        assert_eq!(
            db.rows(
                "SELECT count(*), count(s), sum(CASE WHEN s = '' THEN 1 ELSE 0 END), \
                 sum(CASE WHEN length(s) = 2 AND substr(s, 2, 1) = 'N' THEN 1 ELSE 0 END) \
                 FROM t"
            )
            .await,
            ["600|500|100|100"],
            "{}",
            db.name()
        );
        let tab = db.rows("SELECT s FROM t WHERE id = 2").await.join("");
        assert_eq!(tab, "tab\there\nnew\rline", "{}", db.name());
        let backslash = db.rows("SELECT s FROM t WHERE id = 3").await.join("");
        assert_eq!(backslash, "back\\slash \\N", "{}", db.name());
    }
}

/// Killed in the middle, then run again: the rerun seeks past the committed lines, and every
/// row is there once, with the same values.
#[tokio::test]
async fn a_text_load_killed_mid_file_resumes_exactly() {
    let db = fresh_db("text_kill").await;
    db.exec(&fill("src", 60_000)).await;
    let want = db.checksum("src").await;
    let dir = Dir::new();
    let f = dir.write("src.txt", export(&db, "SELECT * FROM src").await);
    db.exec(&format!("CREATE TABLE dst ({DDL})")).await;
    let args = [
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "dst",
        "--format",
        "text",
        "--chunk-rows",
        "500",
    ];
    kill_midway(&args, &db.url, "dst", 60_000).await;
    let run = barge(&args);
    run.assert_ok();
    assert!(run.stdout.contains("Resumed: skipped "), "{}", run.stdout);
    assert_eq!(db.checksum("dst").await, want, "{}", run.stdout);
}

/// `barge schema` of a text-format file: no header line, so the names are given, and the
/// summary says the types came from the rows alone.
#[test]
fn schema_of_a_text_file_names_its_columns_and_reads_no_header() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/events.txt");
    let run = barge(&[
        "schema",
        example,
        "--format",
        "text",
        "--columns",
        "id,user_id,amount,score,active,name,created_at,day,tag,payload",
        "--dialect",
        "postgres",
    ]);
    run.assert_ok();
    assert!(
        run.stdout
            .ends_with("    \"tag\" uuid,\n    \"payload\" jsonb\n);\n-- from 12 rows\n"),
        "{}",
        run.stdout
    );
}

/// A backslash before a line's end makes the newline data, and the row goes on on the next
/// line: MySQL's `INTO OUTFILE` writes a newline in a value so, and the server's COPY reads it
/// so. barge ended the row there ("expected 2 fields, found 1"). A backslash that is itself
/// escaped (`\\`) does not, and one before `\r\n` makes the carriage return data. Stored as
/// the server's own COPY stores the same bytes, and the line of each row is where it starts.
#[tokio::test]
async fn a_backslash_before_the_newline_continues_the_row_as_the_server_reads_it() {
    let db = fresh_db("text_continued").await;
    let text = b"1\ta\\\nb\n2\tc\\\\\n3\td\\\\\\\nx\\\n\\\ny\n4\te\\\r\n5\tf\n6\t\\N\n";
    let (rows, _) = assert_same_as_server_copy(
        &db,
        "id int, v text",
        text,
        "FORMAT text",
        &["--format", "text"],
    )
    .await;
    assert_eq!(rows, 6);
    assert_eq!(
        db.rows_text("SELECT id, v FROM t_barge WHERE id IN (1, 3, 4) ORDER BY id")
            .await,
        ["(1,\"a\nb\")", "(3,\"d\\\\\nx\n\ny\")", "(4,\"e\r\")"]
    );
    // Lines and records part ways (row 4 starts on line 7): the row is named by its record.
    db.exec("CREATE TABLE t_check (id int, v text CHECK (v <> 'e\r'))")
        .await;
    let dir = Dir::new();
    let f = dir.write("c.txt", text);
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t_check",
        "--format",
        "text",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("records 1-6 of") && run.stderr.contains("at record 4: new row"),
        "{}",
        run.stderr
    );
}

/// A text export in a file whose name says no format (MySQL's `INTO OUTFILE '/tmp/x.txt'`,
/// `psql \copy ... to 'x.txt'`) was read as CSV with a sniffed tab: its first row taken for a
/// header (and lost), `\N` stored as those two characters. Now its tabs and `\N` fields say
/// what it is: no flag needed, the same values as with `--format text`; a header written
/// with `(HEADER)` is told by its names; a tab-separated file without `\N` stays CSV, and so
/// does any file whose delimiter was given.
#[tokio::test]
async fn a_text_export_named_txt_is_read_as_one_without_being_told() {
    let db = fresh_db("text_sniffed").await;
    db.exec(&fill("src", 2_000)).await;
    let want = db.checksum("src").await;
    let dir = Dir::new();
    let f = dir.write(
        "src.txt",
        export(&db, "SELECT * FROM src ORDER BY id").await,
    );
    let f = f.to_str().unwrap_or_default();
    db.exec(&format!("CREATE TABLE dst ({DDL})")).await;
    barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "dst",
        "--columns",
        "id,s,n,at,doc,ok",
    ])
    .assert_ok();
    assert_eq!(db.checksum("dst").await, want);

    // With --create: columns named as a header-less file's, every row, NULLs as NULL.
    let run = barge(&[
        "load", f, "--into", &db.url, "--table", "made", "--create", "-v",
    ]);
    run.assert_ok();
    assert!(
        run.stderr.contains(
            "src.txt: read as PostgreSQL's text format (tab-separated, \\N for NULL: what psql's \
             \\copy ... to and MySQL's INTO OUTFILE write), with no header line"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        db.rows_text("SELECT count(*), count(column_2), sum(column_1) FROM made")
            .await,
        [format!("(2000,{},{})", 2000 - 2000 / 6, 2000 * 2001 / 2)]
    );
    // So is standard input (`psql -c "COPY ... TO STDOUT" | barge load -`).
    let export_rows = std::fs::read(f).unwrap_or_default();
    crate::support::barge_with(
        &[
            "load", "-", "--into", &db.url, "--table", "piped", "--create",
        ],
        &[],
        Some(&export_rows),
    )
    .assert_ok();
    assert_eq!(
        db.rows_text("SELECT count(*), count(column_2), sum(column_1) FROM piped")
            .await,
        [format!("(2000,{},{})", 2000 - 2000 / 6, 2000 * 2001 / 2)]
    );
    let piped = crate::support::barge_with(
        &["schema", "-", "--table", "piped", "--dialect", "postgres"],
        &[],
        Some(&export_rows),
    );
    assert!(
        piped.stdout.ends_with(
            "-- from 2,000 rows, read as PostgreSQL's text format (tab-separated, \\N for NULL; \
             --format csv reads it as CSV)\n"
        ),
        "{}",
        piped.all()
    );
    let schema = barge(&["schema", f, "--dialect", "postgres"]);
    assert!(
        schema.stdout.contains(
            "-- from 2,000 rows, read as PostgreSQL's text format (tab-separated, \\N for NULL; \
             --format csv reads it as CSV)"
        ),
        "{}",
        schema.stdout
    );

    // Written with a header: its names map, its rows all load.
    let mut with_header = b"id\ts\n".to_vec();
    with_header.extend(export(&db, "SELECT id, s FROM src WHERE id <= 12 ORDER BY id").await);
    let h = dir.write("named.txt", with_header);
    db.exec("CREATE TABLE two (id bigint, s text)").await;
    barge(&[
        "load",
        h.to_str().unwrap_or_default(),
        "--into",
        &db.url,
        "--table",
        "two",
    ])
    .assert_ok();
    assert_eq!(
        db.rows_text("SELECT count(*), count(s), sum(id) FROM two")
            .await,
        ["(12,10,78)"]
    );

    // No \N: a tab-separated CSV file, its header a header. A delimiter given: CSV.
    let p = dir.write("plain.txt", "id\ts\n1\t\\N\n");
    let run = barge(&[
        "load",
        p.to_str().unwrap_or_default(),
        "--into",
        &db.url,
        "--table",
        "two",
        "--delimiter",
        "tab",
    ]);
    run.assert_ok();
    // Its `\N` is those two characters, beside the '' that row 1 of the export had.
    assert_eq!(
        db.rows_text("SELECT count(*) FILTER (WHERE s = '\\N'), count(*) FILTER (WHERE s = '') FROM two WHERE id = 1")
            .await,
        ["(1,1)"]
    );
}
