//! What a user sees when the input or the command is wrong: the message names the file, line,
//! record, column, value and what was expected; the exit code says whose fault it is.

use crate::support::{barge, barge_in, fresh_db, Dir, Run, TestDb};

const TABLE: &str =
    "id int, small smallint, amount numeric(5,2), day date, name varchar(3) NOT NULL, doc jsonb";

async fn load_bad(db: &TestDb, name: &str, csv: &str, extra: &[&str]) -> Run {
    let dir = Dir::new();
    let f = dir.write(name, csv);
    let f = f.to_str().unwrap().to_string();
    let mut args = vec!["load", &f, "--into", &db.url, "--table", "t"];
    args.extend_from_slice(extra);
    let run = barge(&args);
    // Messages name the file by the path given; show them with the file name alone.
    Run {
        code: run.code,
        stdout: run.stdout.replace(&f, name),
        stderr: run.stderr.replace(&f, name),
    }
}

#[tokio::test]
async fn each_bad_value_is_named_with_its_position_and_reason() {
    let db = fresh_db("bad_values").await;
    db.exec(&format!("CREATE TABLE t ({TABLE})")).await;
    let header = "id,small,amount,day,name,doc\n";
    let cases: &[(&str, &str)] = &[
        (
            "1,70000,1,2024-01-01,a,{}\n",
            "error: bad.csv: record 2 (line 2, byte 29), column \"small\": invalid value \"70000\": expected smallint: out of range for type smallint (-32768 to 32767)",
        ),
        (
            "1,1,1000.00,2024-01-01,a,{}\n",
            "error: bad.csv: record 2 (line 2, byte 29), column \"amount\": invalid value \"1000.00\": expected numeric(5,2): numeric field overflow: a field with precision 5, scale 2 must round to an absolute value less than 10^3",
        ),
        (
            "1,1,1,2023-02-29,a,{}\n",
            "error: bad.csv: record 2 (line 2, byte 29), column \"day\": invalid value \"2023-02-29\": expected date: date/time field value out of range",
        ),
        (
            "1,1,1,2024-01-01,abcd,{}\n",
            "error: bad.csv: record 2 (line 2, byte 29), column \"name\": invalid value \"abcd\": expected character varying(3): value too long for type character varying(3): 4 characters",
        ),
        (
            "1,1,1,2024-01-01,,{}\n",
            "error: bad.csv: record 2 (line 2, byte 29), column \"name\": invalid value \"\": NULL in column \"name\", which is NOT NULL (quote the field, \"\", for an empty string)",
        ),
        (
            "1,1,1,2024-01-01,a\0,{}\n",
            "error: bad.csv: record 2 (line 2, byte 29), column \"name\": invalid value \"a\\0\": expected character varying(3): text cannot contain NUL (0x00) bytes",
        ),
        (
            "1,1,1,2024-01-01,a\n",
            "error: bad.csv: record 2 (line 2, byte 29): expected 6 fields, found 5",
        ),
        (
            "1,1,1,2024-01-01,a,\"{\n",
            "error: bad.csv: record 2 (line 2, byte 29): unterminated quoted field at the end of the input",
        ),
        (
            "x1,1,1,2024-01-01,a,{}\n",
            "error: bad.csv: record 2 (line 2, byte 29), column \"id\": invalid value \"x1\": expected integer: invalid input syntax for type integer: \"x1\"",
        ),
        (
            "1,1,1,2024-01-01,a,\"{\"\"a\"\":}\"\n",
            "error: bad.csv: record 2 (line 2, byte 29), column \"doc\": invalid value \"{\\\"a\\\":}\": expected jsonb: invalid input syntax for type json (Expected JSON value, but found \"}\".)",
        ),
    ];
    for (row, want) in cases {
        let run = load_bad(&db, "bad.csv", &format!("{header}{row}"), &[]).await;
        assert_eq!(run.code, 1, "{row:?}: {}", run.all());
        let first = run.stderr.lines().next().unwrap_or_default();
        assert_eq!(first, *want, "for row {row:?}");
        assert!(run.stderr.contains("hint: fix the value"), "{}", run.stderr);
    }
    assert_eq!(db.rows_text("SELECT count(*) FROM t").await, vec!["(0)"]);
}

#[tokio::test]
async fn invalid_utf8_is_caught_on_the_client() {
    let db = fresh_db("bad_utf8").await;
    db.exec("CREATE TABLE t (id int, name text)").await;
    let dir = Dir::new();
    let f = dir.write("latin1.csv", b"id,name\n1,caf\xe9\n");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("record 2 (line 2, byte 8), column \"name\": invalid value \"caf\u{fffd}\": expected text: not UTF-8 (byte 4 of the value); read as windows-1252 it is \"café\"\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: the file is not in UTF-8: name its encoding with --encoding (windows-1252 is what Excel writes on Western Windows;"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn error_after_committed_chunks_says_how_many_rows_were_committed() {
    let db = fresh_db("committed").await;
    db.exec("CREATE TABLE t (id int)").await;
    let mut csv = String::from("id\n");
    for i in 1..=250 {
        csv.push_str(&format!("{i}\n"));
    }
    csv.push_str("99999999999\n");
    let run = load_bad(&db, "big.csv", &csv, &["--chunk-rows", "100"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("record 252 (line 252, byte "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("note: 200 rows were committed before the error"),
        "{}",
        run.stderr
    );
    assert_eq!(db.rows_text("SELECT count(*) FROM t").await, vec!["(200)"]);
}

#[tokio::test]
async fn missing_table_and_unknown_columns_fail_before_any_row() {
    let db = fresh_db("config_errors").await;
    db.exec("CREATE TABLE t (id int, name text)").await;
    let dir = Dir::new();
    let f = dir.write("x.csv", "id\n1\n");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "nope",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .starts_with("error: table \"nope\" does not exist\nhint: create the table first"),
        "{}",
        run.stderr
    );

    let run = load_bad(&db, "x.csv", "id,nam,extra\n1,a,b\n", &[]).await;
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        "error: table \"public\".\"t\" has no columns \"nam\", \"extra\"; its columns are: \"id\", \"name\""
    );
    assert_eq!(db.rows_text("SELECT count(*) FROM t").await, vec!["(0)"]);

    // Lines that end with a delimiter (a common export) give the header a field with no
    // name: the message says so instead of naming a column "", and --ignore-unknown loads.
    let trailing = "id,name,\n1,a,\n2,b,\n";
    let run = load_bad(&db, "trail.csv", trailing, &[]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        "error: the input has a column with no name (a header that starts or ends with a \
         delimiter, as pandas' to_csv writes its row index unless index=False, or has two in a \
         row) and table \"public\".\"t\" has no such column; its columns are: \"id\", \"name\""
    );
    let run = load_bad(&db, "trail.csv", trailing, &["--ignore-unknown"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        db.rows_text("SELECT id, name FROM t ORDER BY id").await,
        vec!["(1,a)", "(2,b)"]
    );
    // pandas' row index, a first column with no name: the same, and the same way out.
    let indexed = ",id,name\n0,3,c\n1,4,d\n";
    let run = load_bad(&db, "pandas.csv", indexed, &[]).await;
    assert!(
        run.code == 2
            && run
                .stderr
                .contains("as pandas' to_csv writes its row index"),
        "{}",
        run.all()
    );
    let run = load_bad(&db, "pandas.csv", indexed, &["--ignore-unknown"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        db.rows_text("SELECT id, name FROM t ORDER BY id").await,
        vec!["(1,a)", "(2,b)", "(3,c)", "(4,d)"]
    );
}

/// A table outside the search path, or named in mixed case as ORMs name them (Prisma's
/// `"UserVisits"`), is found by its exact name: `--table UserVisits` loads into it when only it
/// exists (SQL would read the name as "uservisits", which does not), and a name that finds no
/// table names the tables of that name in another schema or case with the `--table` that loads
/// into them. Before, each said only "does not exist", and `--create` made a second table.
#[tokio::test]
async fn a_table_in_another_schema_or_case_is_named_or_found() {
    let db = fresh_db("table_like").await;
    db.exec(
        "CREATE SCHEMA analytics; CREATE TABLE analytics.visits (id int, day date); \
         CREATE TABLE \"UserVisits\" (id int, day date); \
         CREATE SCHEMA \"Sales\"; CREATE TABLE \"Sales\".\"Orders\" (id int, day date)",
    )
    .await;
    let dir = Dir::new();
    let f = dir.write("visits.csv", "id,day\n1,2024-01-02\n2,2024-01-03\n");
    let load = |table: &str, extra: &[&str]| {
        let mut args = vec![
            "load",
            f.to_str().unwrap(),
            "--into",
            &db.url,
            "--table",
            table,
        ];
        args.extend_from_slice(extra);
        barge(&args)
    };
    let run = load("visits", &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(
        run.stderr,
        "error: table \"visits\" does not exist\nhint: there is \"analytics\".\"visits\": pass \
         --table analytics.visits to load into it; or create the table (--create)\n"
    );
    load("analytics.visits", &[]).assert_ok();
    assert_eq!(
        db.rows_text("SELECT count(*) FROM analytics.visits").await,
        ["(2)"]
    );
    // As typed, when only that spelling exists.
    let run = load("UserVisits", &[]);
    run.assert_ok();
    assert!(
        run.stdout.contains("\"public\".\"UserVisits\""),
        "{}",
        run.all()
    );
    // In another case than typed: named, quoted for the shell, and not created anew.
    let run = load("uservisits", &["--create"]);
    run.assert_ok();
    assert!(
        run.stderr.contains(
            "\"uservisits\" does not exist, and this load creates it; there is \
             \"public\".\"UserVisits\": pass --table '\"public\".\"UserVisits\"' to load into it"
        ),
        "{}",
        run.all()
    );
    let run = load("sales.orders", &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains(
            "hint: there is \"Sales\".\"Orders\": pass --table '\"Sales\".\"Orders\"' to load \
             into it"
        ),
        "{}",
        run.all()
    );
    // What the hint says to pass loads.
    load("\"Sales\".\"Orders\"", &[]).assert_ok();
    assert_eq!(
        db.rows_text(
            "SELECT (SELECT count(*) FROM \"UserVisits\"), (SELECT count(*) FROM uservisits), \
             (SELECT count(*) FROM \"Sales\".\"Orders\")"
        )
        .await,
        ["(2,2,2)"]
    );
}

/// A semicolon- or tab-separated file read with the comma (given, or when its rows do not
/// agree on another delimiter): its header is one column, and the message says which delimiter
/// would read it (an error into an existing table, a warning before `--create` makes a
/// one-column table of it). With the delimiter given, or read from the file, it loads.
#[tokio::test]
async fn a_header_read_as_one_column_suggests_its_delimiter() {
    let db = fresh_db("delimiter_hint").await;
    db.exec("CREATE TABLE t (id int, name text)").await;
    let dir = Dir::new();
    let semi = dir.write("semi.csv", "id;name\n1;a\n");
    let tabs = dir.write("tabs.csv", "id\tname\n2\tb\n");
    // A row with a field more than the header: no delimiter is read from these lines.
    let ragged = dir.write("ragged.csv", "id;name\n3;c;x\n");
    let load = |f: &std::path::Path, table: &str, extra: &[&str]| {
        let mut args = vec![
            "load",
            f.to_str().unwrap(),
            "--into",
            &db.url,
            "--table",
            table,
        ];
        args.extend_from_slice(extra);
        barge(&args)
    };
    let run = load(&semi, "t", &["--delimiter", ","]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(
        run.stderr,
        "error: table \"public\".\"t\" has no column \"id;name\"; its columns are: \"id\", \"name\"\n\
         hint: the header was read as one column, \"id;name\": if the file's fields are separated \
         by ';', pass --delimiter ';'\n"
    );
    let run = load(&ragged, "t", &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.ends_with(
            "hint: the header was read as one column, \"id;name\": if the file's fields are \
             separated by ';', pass --delimiter ';'\n"
        ),
        "{}",
        run.stderr
    );
    let run = load(&tabs, "t", &["--delimiter", ","]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.ends_with(
            "hint: the header was read as one column, \"id\\tname\": if the file's fields are \
             separated by tab, pass --delimiter tab\n"
        ),
        "{}",
        run.stderr
    );
    let run = load(&semi, "made", &["--create", "--delimiter", ","]);
    run.assert_ok();
    assert!(
        run.stderr.contains(
            "WARN the header was read as one column, \"id;name\": if the file's fields are \
             separated by ';', pass --delimiter ';'"
        ),
        "{}",
        run.stderr
    );
    // The rare one-column file whose header holds a `;`: read as `;`-separated, and the
    // message says how to read it with the comma.
    db.exec("CREATE TABLE one (\"id;name\" text)").await;
    let run = load(&semi, "one", &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.ends_with(
            "hint: the header was read as separated by ';', as the file's first lines are: if \
             its delimiter is the comma, pass --delimiter ','\n"
        ),
        "{}",
        run.stderr
    );
    load(&semi, "one", &["--delimiter", ","]).assert_ok();
    assert_eq!(db.rows_text("SELECT * FROM one").await, vec!["(1;a)"]);
    load(&semi, "t", &["--delimiter", ";"]).assert_ok();
    load(&tabs, "t", &[]).assert_ok();
    assert_eq!(
        db.rows_text("SELECT id, name FROM t ORDER BY id").await,
        vec!["(1,a)", "(2,b)"]
    );
}

#[tokio::test]
async fn columns_an_identity_a_domain_or_a_trigger_fills_need_not_be_in_the_input() {
    let db = fresh_db("required_filled").await;
    db.exec(
        "CREATE DOMAIN seven AS int NOT NULL DEFAULT 7; \
         CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, s seven, v text); \
         CREATE TABLE u (id int, stamp text NOT NULL, v text); \
         CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN NEW.stamp := 'by trigger'; RETURN NEW; END $$; \
         CREATE TRIGGER stamp BEFORE INSERT ON u FOR EACH ROW EXECUTE FUNCTION stamp();",
    )
    .await;
    let dir = Dir::new();
    let f = dir.write("v.csv", "v\na\nb\n");
    for table in ["t", "u"] {
        barge(&[
            "load",
            f.to_str().unwrap(),
            "--into",
            &db.url,
            "--table",
            table,
        ])
        .assert_ok();
    }
    assert_eq!(
        db.rows_text("SELECT id, s, v FROM t ORDER BY id").await,
        vec!["(1,7,a)", "(2,7,b)"]
    );
    assert_eq!(
        db.rows_text("SELECT stamp, v FROM u ORDER BY v").await,
        vec!["(\"by trigger\",a)", "(\"by trigger\",b)"]
    );
    // Disabled, the trigger fills nothing: the load stops before any row.
    db.exec("ALTER TABLE u DISABLE TRIGGER stamp; TRUNCATE u")
        .await;
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "u",
        "--again",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .starts_with("error: column \"stamp\" of table \"public\".\"u\" is NOT NULL"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn server_side_errors_name_the_chunk_and_record() {
    let db = fresh_db("server_errors").await;
    db.exec("CREATE TABLE t (id int primary key, v int CHECK (v > 0))")
        .await;
    let run = load_bad(&db, "dup.csv", "id,v\n1,1\n2,1\n3,-1\n", &[]).await;
    assert_eq!(run.code, 1);
    let first = run.stderr.lines().next().unwrap();
    assert!(first.starts_with("error: COPY into \"public\".\"t\" (chunk 1, records 2-4 of dup.csv), at record 4 (line 4): new row for relation \"t\" violates check constraint \"t_v_check\" (SQLSTATE 23514)"), "{first}");
    // A chunk that passed over an empty line no longer holds every record of its range: it
    // names no record rather than the wrong one.
    let run = load_bad(&db, "gap.csv", "id,v\n1,1\n\n3,-1\n", &[]).await;
    assert_eq!(run.code, 1);
    let first = run.stderr.lines().next().unwrap();
    assert!(first.starts_with("error: COPY into \"public\".\"t\" (chunk 1, records 2-4 of gap.csv): new row for relation \"t\" violates check constraint"), "{first}");
    // A quoted newline: records and lines part ways, and the record is named alone.
    db.exec("ALTER TABLE t ADD COLUMN note text").await;
    let run = load_bad(&db, "ml.csv", "id,v,note\n1,1,\"a\nb\"\n3,-1,c\n", &[]).await;
    assert_eq!(run.code, 1);
    let first = run.stderr.lines().next().unwrap();
    assert!(first.starts_with("error: COPY into \"public\".\"t\" (chunk 1, records 2-3 of ml.csv), at record 3: new row"), "{first}");
    // A foreign key is checked once COPY has every row of the chunk, and its error names no
    // line: the row is searched for, and named (it was only "records 2-5001").
    db.exec("CREATE TABLE parent (id int primary key); INSERT INTO parent VALUES (1); DROP TABLE t; CREATE TABLE t (id int primary key, p int REFERENCES parent)").await;
    let mut csv = String::from("id,p\n");
    for i in 0..5_000 {
        csv.push_str(&format!("{i},{}\n", if i == 2_990 { 9 } else { 1 }));
    }
    let run = load_bad(&db, "fk.csv", &csv, &[]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: COPY into \"public\".\"t\" (chunk 1, records 2-5001 of fk.csv), at record 2992 (line 2992): insert or update on table \"t\" violates foreign key constraint"), "{first}");
}

#[tokio::test]
async fn connection_errors_name_the_target_without_password() {
    let dir = Dir::new();
    let f = dir.write("x.csv", "id\n1\n");
    let f = f.to_str().unwrap();
    let run = barge(&[
        "load",
        f,
        "--table",
        "t",
        "--into",
        "postgres://bob:hunter2@127.0.0.1:1/db",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("\nerror: could not connect to postgresql://bob@127.0.0.1:1/db: error connecting to server: Connection refused (os error 111)\nhint: nothing answered at that host and port"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("retrying").count(), 3, "{}", run.stderr);
    assert!(!run.all().contains("hunter2"));
    // Without --into or DATABASE_URL the load goes to the embedded default, ./barge.db.
    let run = barge_in(Some(dir.path()), &["load", f, "--table", "t"], &[], None);
    run.assert_ok();
    assert!(
        run.stdout
            .contains("into new table \"main\".\"t\" at sqlite://barge.db"),
        "{}",
        run.stdout
    );
    assert!(dir.path().join("barge.db").exists());
    let run = barge(&[
        "load",
        "/nonexistent/x.csv",
        "--into",
        "postgres://bob:hunter2@127.0.0.1:1/db",
    ]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: cannot open /nonexistent/x.csv: No such file or directory (os error 2)\n"
    );
}

/// Every input is looked at before any row is loaded: a missing second file, a directory, or
/// a database address given where a file goes (as with `psql`'s argument order) fail the
/// load at once, with nothing written, and the address is shown without its password.
#[test]
fn inputs_are_checked_before_any_row() {
    let dir = Dir::new();
    let a = dir.write("a.csv", "id\n1\n2\n");
    let a = a.to_str().unwrap();
    let missing = dir.path().join("missing.csv");
    let missing = missing.to_str().unwrap();
    let db = dir.path().join("t.db");
    let into = format!("sqlite://{}", db.display());
    let run = barge(&["load", a, missing, "--into", &into, "--table", "t"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(
        run.stderr,
        format!("error: cannot open {missing}: No such file or directory (os error 2)\n")
    );
    // Before this check, the first file's rows were committed, then the load failed.
    let tables: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 't'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0);

    let run = barge(&[
        "load",
        a,
        dir.path().to_str().unwrap(),
        "--into",
        &into,
        "--table",
        "t",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(
        run.stderr,
        format!(
            "error: {0} is a directory: name its files (a quoted glob such as '{0}/*.csv' names them \
             all), or name the directory alone to load all of its files\n",
            dir.path().display()
        )
    );

    // The URL in the second place (where psql takes it): once, the file went into ./barge.db
    // and the URL, password and all, was printed as a file that could not be opened. A `?` in
    // it made it a glob pattern that matched nothing.
    for address in [
        "postgres://bob:hunter2@127.0.0.1:1/db?sslmode=disable",
        "postgresql://bob:hunter2@127.0.0.1:1/db",
    ] {
        let run = barge_in(
            Some(dir.path()),
            &["load", a, address, "--table", "t"],
            &[],
            None,
        );
        assert_eq!(run.code, 2, "{}", run.all());
        assert_eq!(
            run.stderr,
            "error: postgresql://bob@127.0.0.1:1/db is not a file but a database address: give it \
             with --into (or as DATABASE_URL), and the files alone as arguments\n"
        );
        assert!(!dir.path().join("barge.db").exists());
    }
    // One that does not parse is named by its scheme alone.
    let run = barge_in(
        Some(dir.path()),
        &["load", "mysql://bob:hunter2@h:port/db", "--table", "t"],
        &[],
        None,
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .starts_with("error: mysql://... is not a file but a database address"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("barge.db").exists());
    // A web or object-store URL is no database address: how to stream it in, its query (a
    // presigned URL's signature) and user left out; a Parquet file is downloaded first.
    for (url, says) in [
        (
            "https://me:pw@example.com/exports/day.csv.gz?X-Amz-Signature=s3cr3t",
            "error: https://example.com/... is a remote object, and barge reads files and \
             standard input: stream it in with curl -sfL 'URL' | barge load - --table T",
        ),
        (
            "s3://bucket/events/part-0.parquet",
            "error: s3://bucket/... is a remote object, and barge reads files: download it first",
        ),
    ] {
        let run = barge_in(Some(dir.path()), &["load", url], &[], None);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.starts_with(says), "{}", run.stderr);
        assert!(
            !run.stderr.contains("s3cr3t") && !run.stderr.contains("pw"),
            "{}",
            run.stderr
        );
    }
    assert!(!dir.path().join("barge.db").exists());
}

/// A `;`-separated export with decimal commas (what spreadsheets write in much of Europe): the
/// value error says what the comma is and what to do, into numeric and double columns alike,
/// and only there.
#[tokio::test]
async fn a_decimal_comma_is_named_as_such() {
    let db = fresh_db("decimal_comma").await;
    db.exec("CREATE TABLE t (id int, amount numeric(10,2), score float8, note text)")
        .await;
    for (csv, column) in [
        ("id;amount;score;note\n1;1.234,50;2.5;x\n", "amount"),
        ("id;amount;score;note\n1;2.5;-0,25;x\n", "score"),
    ] {
        let run = load_bad(&db, "eu.csv", csv, &["--delimiter", ";"]).await;
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(
            run.stderr
                .contains(&format!("column \"{column}\": invalid value"))
                && run.stderr.contains(
                    "hint: the value has a decimal comma, which no database reads as a number: \
                     run the same command with --decimal-comma to read the file's numbers so \
                     (1.234,5 is 1234.5)"
                ),
            "{}",
            run.stderr
        );
    }
    // A comma in a value of another kind is no decimal comma.
    db.exec("CREATE TABLE d (id int, day date)").await;
    let dir = Dir::new();
    let f = dir.write("d.csv", "id;day\n1;1,5\n");
    let run = barge(&[
        "load",
        f.to_str().unwrap_or_default(),
        "--into",
        &db.url,
        "--table",
        "d",
        "--delimiter",
        ";",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("column \"day\": invalid value \"1,5\"")
            && !run.stderr.contains("decimal comma"),
        "{}",
        run.stderr
    );
}

/// The rows a failed run says it committed (`note: 1,234 rows were committed before the error`).
fn committed_before(run: &Run) -> i64 {
    let note = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("note: "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("no note of committed rows: {}", run.all()));
    note.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("{note:?}: {}", run.all()))
}

/// A file that writes `NULL` for a missing value (SQL Server's and MySQL Workbench's exports):
/// the error names the option that reads it, and the same command with it goes on from where
/// the first run stopped (reading options are no part of a load's identity; they were, and the
/// rerun loaded the committed rows a second time): every row once, as the server's COPY with
/// `NULL 'NULL'` reads the file.
#[tokio::test]
async fn a_spelled_out_null_is_named_and_the_same_command_with_null_goes_on() {
    let db = fresh_db("spelled_null").await;
    let table = "id int, day date, note text";
    db.exec(&format!(
        "CREATE TABLE t ({table}); CREATE TABLE t_ref ({table})"
    ))
    .await;
    let mut csv = String::from("id,day,note\n");
    for i in 0..250 {
        let day = match i {
            180 | 220 => "NULL".to_string(),
            _ => format!("2024-01-{:02}", i % 28 + 1),
        };
        csv.push_str(&format!("{i},{day},n{i}\n"));
    }
    let dir = Dir::new();
    let f = dir.write("nulls.csv", &csv);
    let first = crate::support::load_file(&f, &db.url, "t", &["--chunk-rows", "50"]);
    assert_eq!(first.code, 1, "{}", first.all());
    assert!(
        first.stderr.contains(
            "column \"day\": invalid value \"NULL\": expected date: invalid input syntax for \
             type date: \"NULL\""
        ) && first.stderr.contains(
            "hint: the file seems to write NULL for a missing value: run the same command with \
             --null 'NULL' --null '' to read unquoted NULL fields as NULL, and unquoted empty \
             fields as NULL as now (--null 'NULL' alone reads an empty field as an empty \
             string, as COPY's NULL option does); or pass --rejects FILE to set such rows aside \
             and load the rest\nnote: run again so, the load skips the rows it committed and \
             goes on from where it stopped"
        ),
        "{}",
        first.stderr
    );
    let committed = committed_before(&first);
    assert!(committed > 0 && committed % 50 == 0, "{}", first.all());
    assert_eq!(db.checksum("t").await.0, committed);
    let again =
        crate::support::load_file(&f, &db.url, "t", &["--chunk-rows", "50", "--null", "NULL"]);
    again.assert_ok();
    crate::support::assert_resumed_after(&again, committed);
    db.server_copy("t_ref", "FORMAT csv, HEADER, NULL 'NULL'", csv.as_bytes())
        .await;
    assert_eq!(db.checksum("t").await, db.checksum("t_ref").await);
    assert_eq!(db.checksum("t").await.0, 250);
}

/// pandas writes an integer column that has a missing value as floats (`3.0`), which an integer
/// column refuses: the hint says why and what to do.
#[tokio::test]
async fn a_whole_number_with_a_point_into_an_integer_column_is_explained() {
    let db = fresh_db("float_ints").await;
    db.exec("CREATE TABLE t (id bigint, n numeric)").await;
    let run = load_bad(&db, "pandas.csv", "id,n\n1.0,2.0\n", &[]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "column \"id\": invalid value \"1.0\": expected bigint: invalid input syntax for type \
             bigint: \"1.0\""
        ) && run.stderr.contains(
            "hint: a whole number written with a decimal point, which an integer column does \
             not read (pandas writes an integer column that has missing values as floats: 3.0)"
        ),
        "{}",
        run.stderr
    );
    // Not said of a fraction.
    let run = load_bad(&db, "frac.csv", "id,n\n1.5,2.0\n", &[]).await;
    assert!(
        run.code == 1 && !run.stderr.contains("whole number"),
        "{}",
        run.all()
    );
}

/// A glob of a comma-separated file and a `;`-separated one (each read with its own
/// delimiter), stopped at a `NULL` in the second: run again with `--null NULL`, the first is
/// already loaded, the second goes on with its own delimiter from where it stopped, and every
/// row is in once.
#[tokio::test]
async fn a_glob_of_two_delimiters_stopped_in_its_second_file_goes_on_there() {
    let db = fresh_db("glob_null").await;
    db.exec("CREATE TABLE t (id int, day date)").await;
    let dir = Dir::new();
    let mut a = String::from("id,day\n");
    let mut b = String::from("id;day\n");
    for i in 0..100 {
        a.push_str(&format!("{i},2024-01-{:02}\n", i % 28 + 1));
    }
    for i in 100..300 {
        let day = match i {
            250 => "NULL".to_string(),
            _ => format!("2024-02-{:02}", i % 28 + 1),
        };
        b.push_str(&format!("{i};{day}\n"));
    }
    dir.write("part-a.csv", &a);
    dir.write("part-b.csv", &b);
    let glob = dir.path().join("part-*.csv");
    let glob = glob.to_str().unwrap_or_default();
    let args = [
        "load",
        glob,
        "--into",
        &db.url,
        "--table",
        "t",
        "--chunk-rows",
        "50",
    ];
    let first = barge(&args);
    assert_eq!(first.code, 1, "{}", first.all());
    assert!(first.stderr.contains("part-b.csv"), "{}", first.all());
    let committed = committed_before(&first);
    assert!(committed > 100, "{}", first.all());
    let again = barge(&[&args[..], &["--null", "NULL"]].concat());
    again.assert_ok();
    crate::support::assert_resumed_after(&again, committed - 100);
    assert_eq!(
        db.rows_text("SELECT count(*), count(DISTINCT id), sum(id), count(day) FROM t")
            .await,
        vec![format!("(300,300,{},299)", (0..300).sum::<i64>())]
    );
}

/// An empty string into a column of another type (a quoted `""`, or an empty field read with
/// `--null` naming another text) is refused as the server's COPY refuses it, and the hint says
/// when an empty field is NULL.
#[tokio::test]
async fn an_empty_string_into_a_date_says_when_an_empty_field_is_null() {
    let db = fresh_db("empty_string").await;
    db.exec("CREATE TABLE t (id int, day date)").await;
    let hint = "hint: the field is an empty string, which this column's type does not read: an \
                empty field is NULL only unquoted (\"\" is an empty string), and with --null \
                only when '' is one of its texts (--null 'NULL' --null '')";
    for (csv, extra) in [
        ("id,day\n1,\"\"\n", &[][..]),
        ("id,day\n1,NULL\n2,\n", &["--null", "NULL"][..]),
    ] {
        let run = load_bad(&db, "empty.csv", csv, extra).await;
        assert!(
            run.code == 1
                && run
                    .stderr
                    .contains("column \"day\": invalid value \"\": expected date")
                && run.stderr.contains(hint),
            "{}",
            run.all()
        );
    }
    // Unquoted and without --null, it is NULL; so it is with `''` among --null's texts.
    let run = load_bad(&db, "empty.csv", "id,day\n3,\n", &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let both = ["--null", "NULL", "--null", ""];
    let run = load_bad(&db, "both.csv", "id,day\n4,NULL\n5,\n", &both).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        db.rows_text("SELECT id, day FROM t ORDER BY id").await,
        vec!["(3,)", "(4,)", "(5,)"]
    );
}

/// A stream named with `--load-id` that stops at a bad value after committing rows: its hint
/// says to run the same command, with that id, once the value is fixed (a file's says
/// `--continue-changed`, as its fingerprint changes with the fix); so run, it loads the rest.
#[tokio::test]
async fn a_named_stream_stopped_at_a_bad_value_says_to_go_on_under_its_id() {
    let db = fresh_db("named_stream").await;
    db.exec("CREATE TABLE s (id int, v int)").await;
    let rows = |bad: Option<i64>| {
        let mut s = String::from("id,v\n");
        for i in 1..=3000 {
            match bad {
                Some(b) if b == i => s.push_str(&format!("{i},x\n")),
                _ => s.push_str(&format!("{i},{i}\n")),
            }
        }
        s
    };
    let args = [
        "load",
        "-",
        "--into",
        &db.url,
        "--table",
        "s",
        "--load-id",
        "feed-7",
        "--chunk-rows",
        "1000",
        "--workers",
        "1",
    ];
    let run = crate::support::barge_with(&args, &[], Some(rows(Some(2500)).as_bytes()));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "note: 2,000 rows were committed before the error\nhint: fix the value in the input \
             (or the table's column type), then run the same command with --load-id feed-7 to \
             load the rest\n"
        ),
        "{}",
        run.stderr
    );
    let run = crate::support::barge_with(&args, &[], Some(rows(None).as_bytes()));
    run.assert_ok();
    assert_eq!(
        db.rows_text("SELECT count(*), count(DISTINCT id), sum(v) FROM s")
            .await,
        [format!("(3000,3000,{})", 3000 * 3001 / 2)]
    );
}

/// An error that names no input (a column the table lacks), in a load of several files, did not
/// say which file it came from: with a glob of hundreds, the user could not find it. A note
/// names the file, and that the files before it are loaded; the rerun the hint asks for skips
/// them.
#[tokio::test]
async fn an_error_in_one_file_of_several_names_the_file() {
    let db = fresh_db("which_file").await;
    let dir = Dir::new();
    dir.write("p1.csv", "a,b\n1,x\n");
    dir.write("p2.csv", "b,a\ny,2\n");
    let p3 = dir.write("p3.csv", "a,b,c\n3,z,extra\n");
    let glob = dir.path().join("p*.csv");
    let args = [
        "load",
        glob.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "parts",
        "--create",
    ];
    let run = barge(&args);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains(&format!(
            "note: in {}, file 3 of 3: the 2 files before it are loaded, and a run again skips \
             them\n",
            p3.display()
        )),
        "{}",
        run.all()
    );
    assert_eq!(db.rows_text("SELECT count(*) FROM parts").await, ["(2)"]);
    let again = barge(&[&args[..], &["--ignore-unknown"]].concat());
    again.assert_ok();
    assert_eq!(
        db.rows_text("SELECT string_agg(a || b, '|' ORDER BY a) FROM parts")
            .await,
        ["(1x|2y|3z)"]
    );
}

/// Files that each have a header, joined (`cat a.csv b.csv > all.csv`): the second header is
/// a row whose values are the column names, and the error says so and what to do instead of
/// "fix the value".
#[tokio::test]
async fn a_header_in_the_middle_is_named_as_such() {
    let db = fresh_db("header_twice").await;
    db.exec("CREATE TABLE t (id int, Amount numeric, note text)")
        .await;
    let csv = "id,Amount,note\n1,2.5,x\nid,Amount,note\n2,3.5,y\n";
    let run = load_bad(&db, "all.csv", csv, &[]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "all.csv: record 3 (line 3, byte 23), column \"id\": invalid value \"id\""
        ) && run.stderr.contains(
            "hint: the value is its column's own name: most likely a header line in the middle \
             of the file, as joining files that each have one leaves it (cat a.csv b.csv)"
        ),
        "{}",
        run.stderr
    );
}
