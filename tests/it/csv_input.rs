//! CSV reading: quoting, NULLs, encodings, headers and column mapping, identifiers.

use crate::support::{
    assert_same_as_server_copy, barge, barge_in, barge_with, fresh_db, kill_midway, load_file, Dir,
};

#[tokio::test]
async fn quoting_newlines_nulls_and_empty_strings() {
    let db = fresh_db("quoting").await;
    let csv = "id,a,b\r
1,,\"\"\r
2,\"x,\"\"y\"\"\r
z\",\"a\"\"b\"\"c\"\r
3,\"\",\r
4,  padded  ,\"  \"\r
5,ünïcödé 日本語 Ελληνικά,last-without-newline";
    let (count, _) = assert_same_as_server_copy(
        &db,
        "id int, a text, b text",
        csv.as_bytes(),
        "FORMAT csv, HEADER true",
        &[],
    )
    .await;
    assert_eq!(count, 5);
    let nulls = db
        .rows_text(
            "SELECT count(*) FILTER (WHERE a IS NULL), count(*) FILTER (WHERE a = '') FROM t_barge",
        )
        .await;
    assert_eq!(nulls, vec!["(1,1)"]);
}

#[tokio::test]
async fn bom_is_skipped() {
    let db = fresh_db("bom").await;
    let mut csv = b"\xEF\xBB\xBF".to_vec();
    csv.extend_from_slice(b"id,name\n1,a\n2,b\n");
    db.exec("CREATE TABLE t (id int, name text)").await;
    let dir = Dir::new();
    let f = dir.write("bom.csv", &csv);
    barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
    ])
    .assert_ok();
    assert_eq!(
        db.rows_text("SELECT * FROM t ORDER BY id").await,
        vec!["(1,a)", "(2,b)"]
    );
}

#[tokio::test]
async fn custom_null_string_and_delimiter() {
    let db = fresh_db("null_delim").await;
    let csv = b"id;a;b\n1;NULL;\n2;\"NULL\";x\n3;;NULL\n";
    let (count, _) = assert_same_as_server_copy(
        &db,
        "id int, a text, b text",
        csv,
        "FORMAT csv, HEADER true, DELIMITER ';', NULL 'NULL'",
        &["--delimiter", ";", "--null", "NULL"],
    )
    .await;
    assert_eq!(count, 3);
}

#[tokio::test]
async fn tsv_with_tab_delimiter() {
    let db = fresh_db("tsv").await;
    let csv = b"id\tname\n1\ta b\n2\t\"q\tq\"\n";
    let (count, _) = assert_same_as_server_copy(
        &db,
        "id int, name text",
        csv,
        "FORMAT csv, HEADER true, DELIMITER E'\\t'",
        &["--delimiter", "tab"],
    )
    .await;
    assert_eq!(count, 2);
}

#[tokio::test]
async fn headerless_file_in_table_order_and_with_columns() {
    let db = fresh_db("headerless").await;
    db.exec("CREATE TABLE t (id int, name text, created date DEFAULT '2000-01-01')")
        .await;
    let dir = Dir::new();
    // Table order: all three columns.
    let f = dir.write("a.csv", "1,a,2024-01-01\n");
    barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--no-header",
    ])
    .assert_ok();
    // --columns: a subset in another order; the missing column gets its default.
    let f = dir.write("b.csv", "b,2\nc,3\n");
    barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--no-header",
        "--columns",
        "name,id",
    ])
    .assert_ok();
    assert_eq!(
        db.rows_text("SELECT * FROM t ORDER BY id").await,
        vec!["(1,a,2024-01-01)", "(2,b,2000-01-01)", "(3,c,2000-01-01)"]
    );
}

#[tokio::test]
async fn columns_rename_the_header_and_header_matches_case_insensitively() {
    let db = fresh_db("rename").await;
    db.exec("CREATE TABLE t (id int, name text)").await;
    let dir = Dir::new();
    let f = dir.write("a.csv", "ID,Name\n1,a\n");
    barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
    ])
    .assert_ok();
    let f = dir.write("b.csv", "user_name,user_id\nb,2\n");
    barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--columns",
        "name,id",
    ])
    .assert_ok();
    assert_eq!(
        db.rows_text("SELECT * FROM t ORDER BY id").await,
        vec!["(1,a)", "(2,b)"]
    );
}

/// A header whose names repeat but for case, or has one left empty (lines that end with a
/// delimiter): `--create` makes `name, name_2, column_3` of it, and the next file with that
/// header loads into the table it made (it failed: "the input maps two columns to column
/// name").
#[tokio::test]
async fn a_table_create_made_takes_the_next_file_with_the_same_header() {
    let db = fresh_db("same_header").await;
    let dir = Dir::new();
    let load =
        |name: &str, csv: &str| load_file(&dir.write(name, csv), &db.url, "t", &["--create"]);
    load("day1.csv", "Name,name,\na,b,\n").assert_ok();
    load("day2.csv", "Name,name,\nc,d,\n").assert_ok();
    assert_eq!(
        db.rows_text("SELECT name, name_2, column_3 FROM t ORDER BY name")
            .await,
        vec!["(a,b,)", "(c,d,)"]
    );
}

#[tokio::test]
async fn quoted_schema_table_and_column_names_cannot_inject_sql() {
    let db = fresh_db("identifiers").await;
    db.exec(
        r#"CREATE SCHEMA "My Schema";
           CREATE TABLE "My Schema"."Ev""il; DROP TABLE canary;--" ("Id" int, "na""me; DROP TABLE canary;--" text, "MiXeD" text);
           CREATE TABLE canary (x int);"#,
    )
    .await;
    let dir = Dir::new();
    let f = dir.write(
        "evil.csv",
        "Id,\"na\"\"me; DROP TABLE canary;--\",MiXeD\n1,\"); DROP TABLE canary;--\",Q\n",
    );
    barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        r#""My Schema"."Ev""il; DROP TABLE canary;--""#,
    ])
    .assert_ok();
    assert_eq!(
        db.rows_text(r#"SELECT * FROM "My Schema"."Ev""il; DROP TABLE canary;--""#)
            .await,
        vec![r#"(1,"); DROP TABLE canary;--",Q)"#]
    );
    assert_eq!(
        db.rows_text("SELECT count(*) FROM canary").await,
        vec!["(0)"]
    );
}

#[tokio::test]
async fn stdin_and_database_url() {
    let db = fresh_db("stdin").await;
    db.exec("CREATE TABLE t (id int)").await;
    let run = barge_with(
        &["load", "-", "--table", "t"],
        &[("DATABASE_URL", &db.url)],
        Some(b"id\n1\n2\n3\n"),
    );
    run.assert_ok();
    assert_eq!(db.rows_text("SELECT sum(id) FROM t").await, vec!["(6)"]);
}

#[tokio::test]
async fn many_chunks_and_workers_load_every_row_once() {
    let db = fresh_db("chunks").await;
    let mut csv = String::from("id,v,note\n");
    for i in 0..25_000 {
        csv.push_str(&format!("{i},{},\"n{}\nline\"\n", i * 7 % 1000, i % 13));
    }
    for workers in ["1", "3"] {
        db.exec("DROP TABLE IF EXISTS t_ref, t_barge").await;
        let (count, _) = assert_same_as_server_copy(
            &db,
            "id int primary key, v numeric(6,1), note text",
            csv.as_bytes(),
            "FORMAT csv, HEADER true",
            &[
                "--chunk-rows",
                "1000",
                "--chunk-bytes",
                "20000",
                "--workers",
                workers,
            ],
        )
        .await;
        assert_eq!(count, 25_000);
    }
}

/// `--ignore-unknown` leaves out the file's columns the table lacks: the rest load as the
/// server's COPY of those columns stores them, a bad row goes to the rejects file as its whole
/// line, and a load killed in the middle resumes (the reopened file is narrowed the same way).
#[tokio::test]
async fn ignore_unknown_leaves_out_the_columns_the_table_lacks() {
    let db = fresh_db("csv_ignore_unknown").await;
    db.exec("CREATE TABLE t (id bigint, v text, n int); CREATE TABLE ref (LIKE t)")
        .await;
    let rows = 300_000;
    let mut wide = String::from("extra,id,note,v,n,more\n");
    let mut narrow = String::from("id,v,n\n");
    for k in 1..=rows {
        wide.push_str(&format!("x{k},{k},\"a, b\",value {k},{},{k}.5\n", k % 1000));
        narrow.push_str(&format!("{k},value {k},{}\n", k % 1000));
    }
    db.server_copy("ref", "FORMAT csv, HEADER true", narrow.as_bytes())
        .await;
    let dir = Dir::new();
    let f = dir.write("wide.csv", &wide);
    let f = f.to_str().unwrap();
    let args = [
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "t",
        "--chunk-rows",
        "500",
    ];
    // Without it: the columns the table lacks are named, and so is the way out.
    let run = barge(&args);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.ends_with(
            "hint: rename the file's header to match the table, name the file's columns with \
             --columns, or pass --ignore-unknown to leave out the columns the table lacks\n"
        ),
        "{}",
        run.stderr
    );
    let args = [&args[..], &["--ignore-unknown"]].concat();
    kill_midway(&args, &db.url, "t", rows).await;
    let run = barge(&args);
    run.assert_ok();
    assert!(run.stdout.contains("Resumed: skipped "), "{}", run.stdout);
    assert_eq!(
        db.checksum("t").await,
        db.checksum("ref").await,
        "{}",
        run.stdout
    );

    // A bad value: its whole line, all six columns, is set aside.
    let bad = dir.write(
        "bad.csv",
        "extra,id,note,v,n,more\nx,1,\"a, b\",v,notanumber,1.5\nx,2,n,w,3,2\n",
    );
    let rejects = dir.path().join("rejects.csv");
    db.exec("TRUNCATE t").await;
    let run = barge(&[
        "load",
        bad.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--ignore-unknown",
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap(),
        "extra,id,note,v,n,more\nx,1,\"a, b\",v,notanumber,1.5\n"
    );
    assert_eq!(db.rows_text("SELECT id, v, n FROM t").await, ["(2,w,3)"]);
}

/// A zero-byte file (what an export of an empty result without a header is) loads no rows
/// into a table that exists, as the server's own `COPY ... HEADER` does, in every text format;
/// where a table would have to be made of it, the error says the input is empty, instead of
/// a table without columns (PostgreSQL) or a syntax error (SQLite).
#[tokio::test]
async fn an_empty_file_loads_no_rows_and_makes_no_table() {
    let db = fresh_db("empty_file").await;
    db.exec("CREATE TABLE t (id int, name text)").await;
    let dir = Dir::new();
    let empty = dir.write("empty.csv", "");
    for format in ["csv", "tsv", "text"] {
        let run = load_file(&empty, &db.url, "t", &["--format", format, "--again"]);
        run.assert_ok();
        assert!(
            run.stdout.starts_with("Loaded 0 rows into"),
            "{}",
            run.all()
        );
    }
    assert_eq!(db.checksum("t").await.0, 0);
    let said = "empty.csv: the input is empty (no header, no rows): no table can be made of it";
    let runs = [
        load_file(&empty, &db.url, "fresh", &["--create"]),
        barge_in(
            Some(dir.path()),
            &["load", "empty.csv", "--format", "text"],
            &[],
            None,
        ),
        barge(&["schema", empty.to_str().unwrap_or_default()]),
    ];
    for run in runs {
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.contains(said), "{}", run.stderr);
    }
    assert_eq!(
        db.rows_text("SELECT relname FROM pg_class WHERE relname = 'fresh'")
            .await,
        Vec::<String>::new()
    );
    // Nor in the default SQLite file.
    let tables = dir.path().join("barge.db").exists().then(|| {
        rusqlite::Connection::open(dir.path().join("barge.db"))
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .ok()
    });
    assert!(matches!(tables, None | Some(Some(0))), "{tables:?}");
}

/// A semicolon-separated export (what spreadsheets write where the comma is the decimal
/// separator) loads without `--delimiter`: barge reads the delimiter from the first lines,
/// quoted fields holding `;` and line breaks included, and stores what the server's own COPY
/// with `DELIMITER ';'` stores; from a file and from standard input, into an existing table and
/// into one made from the file (whose columns are the header's). `-v` says what it read.
#[tokio::test]
async fn a_semicolon_separated_file_is_read_as_such() {
    let db = fresh_db("semicolons").await;
    let csv =
        b"id;name;amount;note\n1;\"a;b\";2.50;\"two\nlines\"\n2;c;;plain\n3;\"\";-1;\"x,y\"\n";
    let (count, _) = assert_same_as_server_copy(
        &db,
        "id int, name text, amount numeric, note text",
        csv,
        "FORMAT csv, HEADER true, DELIMITER ';'",
        &[],
    )
    .await;
    assert_eq!(count, 3);
    let want = db.checksum("t_ref").await;

    let dir = Dir::new();
    let file = dir.write("eu.csv", csv);
    db.exec("CREATE TABLE from_stdin (LIKE t_ref)").await;
    let run = barge_in(
        None,
        &[
            "load",
            "-",
            "--into",
            &db.url,
            "--table",
            "from_stdin",
            "-v",
        ],
        &[],
        Some(csv),
    );
    run.assert_ok();
    assert!(
        run.stderr
            .contains("-: the fields are separated by ';' (read from its first lines"),
        "{}",
        run.stderr
    );
    assert_eq!(db.checksum("from_stdin").await, want);

    load_file(&file, &db.url, "made", &["--create"]).assert_ok();
    assert_eq!(
        db.rows_text(
            "SELECT column_name || ' ' || data_type FROM information_schema.columns \
             WHERE table_name = 'made' ORDER BY ordinal_position"
        )
        .await,
        vec![
            "(\"id bigint\")",
            "(\"name text\")",
            "(\"amount numeric\")",
            "(\"note text\")"
        ]
    );
    assert_eq!(
        db.rows_text("SELECT count(*) FROM (SELECT * FROM t_ref EXCEPT ALL SELECT * FROM made) d")
            .await,
        vec!["(0)"]
    );
    // `barge schema` says what it read, too.
    let run = barge(&["schema", file.to_str().unwrap_or_default()]);
    run.assert_ok();
    assert!(
        run.stdout.ends_with(
            "-- from the header and 3 rows\n-- fields separated by ';' (read from the file's \
             first lines; --delimiter gives another)\n"
        ),
        "{}",
        run.stdout
    );
}

/// `--decimal-comma`: a spreadsheet's `;`-separated export with numbers written `1.234,50`
/// loads into number columns as those numbers (what the server's own COPY stores of the same
/// rows written with points), while text columns keep their commas; `--create` types such
/// columns as numbers, on every backend. A number column's field with a stray dot is refused,
/// saying how the option reads numbers.
#[tokio::test]
async fn decimal_commas_load_as_numbers_when_asked() {
    let eu = "id;amount;score;qty;note\n\
              1;1.234,50;-0,25;1.500;Müller, Hans\n\
              2;12;3;7;1,5\n\
              3;,5;1.000.000,125;-2;x\n\
              4;;;;\n";
    let points = "id;amount;score;qty;note\n\
                  1;1234.50;-0.25;1500;Müller, Hans\n\
                  2;12;3;7;1,5\n\
                  3;.5;1000000.125;-2;x\n\
                  4;;;;\n";
    let db = fresh_db("decimal_comma_load").await;
    let (count, _) = assert_same_as_server_copy(
        &db,
        "id int, amount numeric(10,2), score float8, qty int, note text",
        points.as_bytes(),
        "FORMAT csv, HEADER true, DELIMITER ';'",
        &["--delimiter", ";"],
    )
    .await;
    assert_eq!(count, 4);
    let want = db.checksum("t_ref").await;
    db.exec("CREATE TABLE eu (LIKE t_ref)").await;
    let dir = Dir::new();
    let file = dir.write("eu.csv", eu);
    load_file(&file, &db.url, "eu", &["--decimal-comma"]).assert_ok();
    assert_eq!(db.checksum("eu").await, want);

    let bad = dir.write("bad.csv", "id;amount;score;qty;note\n5;1.5;0;0;x\n");
    let run = load_file(&bad, &db.url, "eu", &["--decimal-comma"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "column \"amount\": invalid value \"1.5\": with --decimal-comma a number is written \
             1234,5 or 1.234,5"
        ),
        "{}",
        run.stderr
    );

    // A table made of the file, on every backend: number columns, and the same sums.
    for t in crate::support::backend::TestTarget::each("decimal_comma_create").await {
        load_file(&file, &t.url(), "made", &["--create", "--decimal-comma"]).assert_ok();
        let got = t
            .rows(
                "SELECT CAST(sum(amount) * 100 AS INTEGER), CAST(sum(score) * 1000 AS INTEGER), \
                 sum(qty), count(note) FROM made",
            )
            .await;
        assert_eq!(got, vec!["124700|1000002875|1505|3"], "{}", t.name());
    }
}

/// Excel's `sep=;` first line (written when a file's separator is not the machine's list
/// separator, and read by Excel so): the delimiter it names, and no record. Read as the header,
/// it made a table of columns `sep` and `column_2` with the real header as a row, exit 0.
#[tokio::test]
async fn an_excel_sep_line_names_the_delimiter_and_is_no_row() {
    let dir = Dir::new();
    let file = dir.write(
        "excel.csv",
        "\u{feff}sep=;\r\nid;amount;note\r\n1;1.234,50;a, b\r\n2;-0,5;c\r\n",
    );
    let f = file.to_str().unwrap_or_default();
    let schema = barge(&["schema", f, "--dialect", "postgres", "--decimal-comma"]);
    assert!(
        schema.stdout.starts_with("CREATE TABLE \"excel\" (\n    \"id\" bigint,\n    \"amount\" numeric,\n    \"note\" text\n);\n-- from the header and 2 rows\n-- fields separated by ';'"),
        "{}",
        schema.all()
    );
    for t in crate::support::backend::TestTarget::each("excel_sep").await {
        load_file(&file, &t.url(), "excel", &["--create", "--decimal-comma"]).assert_ok();
        let got = t
            .rows("SELECT count(*), CAST(sum(amount) * 100 AS INTEGER), min(note) FROM excel")
            .await;
        assert_eq!(got, ["2|123400|a, b"], "{}", t.name());
    }
}

/// An ORM's camel-case columns (Prisma's and Sequelize's `"createdAt"`) take an export's
/// snake-case header, and a spreadsheet's `Is Active`, on every backend: names of the same
/// letters and digits match when no closer name does. Before, the load stopped with "has no
/// column \"created_at\"".
#[tokio::test]
async fn a_snake_case_header_maps_to_camel_case_columns() {
    let dir = Dir::new();
    let file = dir.write(
        "users.csv",
        "id,user_name,created_at,Is Active\n1,ann,2024-01-02,1\n2,bob,2024-03-04,0\n",
    );
    for t in crate::support::backend::TestTarget::each("camel_columns").await {
        let q = |n: &str| match t.name() {
            "mysql" => format!("`{n}`"),
            _ => format!("\"{n}\""),
        };
        t.exec(&format!(
            "CREATE TABLE users (id INTEGER, {} TEXT, {} DATE, {} INTEGER)",
            q("userName"),
            q("createdAt"),
            q("isActive")
        ))
        .await;
        load_file(&file, &t.url(), "users", &[]).assert_ok();
        let got = t
            .rows(&format!(
                "SELECT id, {}, CAST({} AS CHAR(10)), {} FROM users ORDER BY id",
                q("userName"),
                q("createdAt"),
                q("isActive")
            ))
            .await;
        assert_eq!(
            got,
            vec!["1|ann|2024-01-02|1", "2|bob|2024-03-04|0"],
            "{}",
            t.name()
        );
    }
}

/// `--thousands ,`: an export of amounts formatted with thousands commas (`"1,234.50"`, what
/// a spreadsheet writes for a cell formatted as an amount) loads as the server's own COPY
/// stores the same rows written without them; text columns keep their commas. Without the
/// option the value is refused with a hint that names it, and `barge schema` says why the
/// column is text; `--create` with it types the columns as numbers, on every backend.
#[tokio::test]
async fn thousands_separators_load_as_numbers_when_asked() {
    let us = "id,amount,score,qty,note\n\
              1,\"1,234.50\",-0.25,\"1,500\",\"Smith, John\"\n\
              2,12,3,7,\"1,5\"\n\
              3,.5,\"1,000,000.125\",-2,x\n\
              4,\"-12,345.5\",1.5e3,\"12,345,678\",\n\
              5,,,,\n";
    let plain = "id,amount,score,qty,note\n\
                 1,1234.50,-0.25,1500,\"Smith, John\"\n\
                 2,12,3,7,\"1,5\"\n\
                 3,.5,1000000.125,-2,x\n\
                 4,-12345.5,1.5e3,12345678,\n\
                 5,,,,\n";
    let db = fresh_db("thousands_load").await;
    let (count, _) = assert_same_as_server_copy(
        &db,
        "id int, amount numeric(10,2), score float8, qty int, note text",
        plain.as_bytes(),
        "FORMAT csv, HEADER true",
        &[],
    )
    .await;
    assert_eq!(count, 5);
    let want = db.checksum("t_ref").await;
    db.exec("CREATE TABLE us (LIKE t_ref)").await;
    let dir = Dir::new();
    let file = dir.write("us.csv", us);

    let run = load_file(&file, &db.url, "us", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("column \"amount\": invalid value \"1,234.50\"")
            && run.stderr.contains(
                "hint: the value groups its digits with commas, which no database reads as a \
                 number: run the same command with --thousands , to read the file's numbers so"
            ),
        "{}",
        run.stderr
    );
    load_file(&file, &db.url, "us", &["--thousands", ","]).assert_ok();
    assert_eq!(db.checksum("us").await, want);

    // Commas where they group nothing are refused, saying how the option reads numbers.
    let bad = dir.write("bad.csv", "id,amount,score,qty,note\n6,\"1,23\",0,0,x\n");
    let run = load_file(&bad, &db.url, "us", &["--thousands", ","]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "column \"amount\": invalid value \"1,23\": with --thousands ',' a number is \
             written 1234.5 or 1,234.5 (a point before the fraction, ','s only between groups \
             of three digits)"
        ),
        "{}",
        run.stderr
    );
    // The comma as the decimal mark and as the separator cannot both be.
    let run = load_file(
        &file,
        &db.url,
        "us",
        &["--thousands", ",", "--decimal-comma"],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("the comma is the decimal mark there"),
        "{}",
        run.stderr
    );

    // Read plainly, the columns are text, and barge schema says which option reads them.
    let f = file.to_str().unwrap_or_default();
    let schema = barge(&["schema", f, "--dialect", "postgres"]);
    assert_eq!(schema.code, 0, "{}", schema.all());
    assert!(
        schema.stdout.contains("\"amount\" text,")
            && schema.stdout.contains(
                "-- column \"amount\" is text because its numbers are written 1,234.56: pass \
                 --thousands , to read them as numbers (making the column numeric)"
            )
            && schema.stdout.contains(
                "-- column \"qty\" is text because its numbers are written 1,234.56: pass \
                 --thousands , to read them as numbers (making the column bigint)"
            )
            && !schema.stdout.contains("column \"note\" is text"),
        "{}",
        schema.stdout
    );
    // A load that makes the table (SQLite, unasked) says so too, and how to have numbers.
    let run = barge_in(
        Some(dir.path()),
        &["load", f, "--table", "plain"],
        &[],
        None,
    );
    run.assert_ok();
    assert!(
        run.stderr.contains(
            "column \"amount\" is text because its numbers are written 1,234.56: pass \
             --thousands , to read them as numbers (making the column NUMERIC); this load \
             creates it as text: to have the other type, drop the table and run the command \
             again with that option"
        ),
        "{}",
        run.all()
    );
    // `1,234` is 1234 or 1.234: both options are named.
    let both = dir.write("both.csv", "id,n\n1,\"1,234\"\n2,\"12,345\"\n");
    let schema = barge(&["schema", both.to_str().unwrap_or_default()]);
    assert!(
        schema.stdout.contains(
            "-- column \"n\" is text because its numbers hold commas: if they group thousands \
             (1,234 for 1234), pass --thousands ,; if the comma is the decimal mark (1,5 for \
             1.5), pass --decimal-comma"
        ),
        "{}",
        schema.stdout
    );
    let schema = barge(&["schema", f, "--dialect", "postgres", "--thousands", ","]);
    assert!(
        schema.stdout.contains("\"amount\" numeric,")
            && schema.stdout.contains("\"qty\" bigint,")
            && schema.stdout.contains("\"note\" text")
            && !schema.stdout.contains("-- column"),
        "{}",
        schema.stdout
    );

    // A table made of the file, on every backend: number columns, and the same sums.
    for t in crate::support::backend::TestTarget::each("thousands_create").await {
        load_file(&file, &t.url(), "made", &["--create", "--thousands", ","]).assert_ok();
        let got = t
            .rows(
                "SELECT CAST(sum(amount) * 100 AS INTEGER), CAST(sum(score) * 1000 AS INTEGER), \
                 sum(qty), count(note) FROM made",
            )
            .await;
        assert_eq!(got, vec!["-1109850|1001502875|12347183|3"], "{}", t.name());
    }
}

/// A report's export with a title, an unbalanced quote in it and a blank line above the
/// header: refused with a hint to skip them, then loaded with `--skip-lines 3` on every
/// backend, into a table made from the header under them; a rerun after a stop goes on after
/// the committed rows (positions stay the file's bytes). Lines that end with a delimiter the
/// header lacks say so.
#[tokio::test]
async fn lines_above_the_header_are_skipped_with_skip_lines() {
    let mut csv =
        String::from("Sales report \"Q1, 2024\nrun 2024-04-01 08:00\n\nid,region,amount\n");
    let mut cents = 0i64;
    for i in 1..=3_000i64 {
        cents += i * 7;
        csv.push_str(&format!(
            "{i},\"r{}, x\",{}.{:02}\n",
            i % 5,
            i * 7 / 100,
            i * 7 % 100
        ));
    }
    let dir = Dir::new();
    let file = dir.write("report.csv", &csv);
    for t in crate::support::backend::TestTarget::each("skip_lines").await {
        let run = load_file(&file, &t.url(), "report", &["--create"]);
        assert!(
            run.code == 1
                && run
                    .stderr
                    .contains("skip them with --skip-lines N: the header is the first line"),
            "{}: {}",
            t.name(),
            run.all()
        );
        load_file(
            &file,
            &t.url(),
            "report",
            &["--create", "--skip-lines", "3", "--chunk-rows", "500"],
        )
        .assert_ok();
        let got = t
            .rows("SELECT count(*), sum(id), CAST(sum(amount) * 100 AS INTEGER), min(region) FROM report")
            .await;
        assert_eq!(
            got,
            vec![format!("3000|4501500|{cents}|r0, x")],
            "{}",
            t.name()
        );
    }
    let db = fresh_db("skip_lines_resume").await;
    db.exec("CREATE TABLE report (id bigint PRIMARY KEY, region text, amount numeric)")
        .await;
    let args = [
        "load",
        file.to_str().unwrap(),
        "--into",
        &db.url,
        "--skip-lines",
        "3",
        "--chunk-rows",
        "100",
    ];
    let mut bad = csv.clone();
    bad = bad.replace("\n2001,", "\nx2001,");
    dir.write("report.csv", &bad);
    let run = barge(&args);
    assert_eq!(run.code, 1, "{}", run.all());
    dir.write("report.csv", &csv);
    let mut again = args.to_vec();
    again.push("--continue-changed");
    let run = barge(&again);
    run.assert_ok();
    assert!(run.all().contains("Resumed: skipped "), "{}", run.all());
    assert_eq!(
        db.rows_text("SELECT count(*), sum(id) FROM report").await,
        ["(3000,4501500)"]
    );
    // A delimiter at each line's end that the header lacks.
    let trailing = dir.write("trailing.csv", "id,name\n1,a,\n2,b,\n");
    let run = load_file(&trailing, &db.url, "t2", &["--create"]);
    assert!(
        run.stderr
            .contains("expected 2 fields, found 3, the last empty: the line ends with a delimiter")
            && run
                .stderr
                .contains("hint: the file's lines end with a delimiter that its header line lacks"),
        "{}",
        run.all()
    );
}
