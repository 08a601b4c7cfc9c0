//! MySQL and MariaDB: every type and edge value against the server's own strict `LOAD DATA`,
//! connecting the way the mysql client does, INSERT mode, --create, --atomic, a server that
//! refuses LOCAL INFILE, and faults: connections killed and the server restarted mid-load.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::support::mysql::{connect, fresh_db, MyDb, MyInstance};
use crate::support::{barge, barge_with, spawn_barge, Dir};

/// Each type with values at and past its edges, and forms a reader might send.
const CASES: &[(&str, &[&str])] = &[
    (
        "tinyint",
        &[
            "-128", "127", "128", "-129", "1.5", "", " 1", "1e2", "0x10", "+7", "007",
        ],
    ),
    ("tinyint unsigned", &["0", "255", "256", "-1"]),
    ("smallint", &["-32768", "32767", "32768"]),
    ("mediumint unsigned", &["16777215", "16777216"]),
    (
        "int",
        &[
            "-2147483648",
            "2147483647",
            "2147483648",
            " 42 ",
            "42 ",
            "\t7",
        ],
    ),
    (
        "bigint",
        &[
            "-9223372036854775808",
            "9223372036854775807",
            "9223372036854775808",
        ],
    ),
    (
        "bigint unsigned",
        &["18446744073709551615", "18446744073709551616", "-0"],
    ),
    (
        "decimal(5,2)",
        &[
            "999.99", "-999.99", "1000", "1.005", "1.50", ".5", "-0", "1e2", "abc", "12.",
        ],
    ),
    ("decimal(5,2) unsigned", &["1.00", "-1.00"]),
    ("float", &["1.5", "-3.4e38", "3.5e38", "NaN", "inf"]),
    (
        "double",
        &["1e308", "-1e308", "1e309", "0.1", "-0", "5e-324"],
    ),
    (
        "date",
        &[
            "2024-02-29",
            "2023-02-29",
            "0000-00-00",
            "1000-01-01",
            "9999-12-31",
            "2024-1-2",
            "2024-01-2",
            "2024-2-30",
            "20240102",
            "2024-13-01",
            "2024-01-02 00:00:00",
            "2024-01-02T00:00:00.000",
            "2024-01-02 13:45:00",
            " 2024-01-02 ",
        ],
    ),
    (
        "datetime(3)",
        &[
            "2024-01-02 03:04:05.123",
            "2024-01-02 03:04:05.1234",
            "2024-01-02T03:04:05",
            "2024-01-02 24:00:00",
            "2024-01-02",
            "2024-01-02 03:04:05.1230",
        ],
    ),
    (
        "datetime",
        &[
            "2024-01-02 03:04:05.5",
            "2024-01-02 03:04:05.4999",
            "2024-01-02 23:59:59.9",
            "9999-12-31 23:59:59.9",
            "2024-01-02 03:04:05.123456789",
            "2024-01-02 3:04:05",
            "2024-01-02 03:04",
            "2024-1-2 03:04:05",
            "2024-01-02 03:04.5",
            "2024-01-02 24:00",
        ],
    ),
    (
        "timestamp",
        &[
            "2038-01-19 03:14:07.9",
            "1970-01-01 00:00:01",
            "1970-01-01 00:00:00",
            "2038-01-19 03:14:07",
            "2038-01-19 03:14:08",
            "2000-02-30 00:00:00",
        ],
    ),
    (
        "time",
        &[
            "838:59:59",
            "839:00:00",
            "-838:59:59",
            "12:00",
            "1:02:03",
            "12:00:00.5",
            "838:59:58.9",
            "-00:00:00.4",
            "-00:00:00.4999999",
        ],
    ),
    ("year", &["1901", "2155", "1900", "2156", "99", "0"]),
    (
        "char(3)",
        &["abc", "abcd", "日本語", "日本語x", "😀", "ab "],
    ),
    ("varchar(3) character set utf8mb3", &["abc", "😀", "é"]),
    ("varchar(5) character set latin1", &["é", "ā", "abcde"]),
    ("tinytext", &["short", "x255", "x256"]),
    ("varbinary(3)", &["ab", "abcd", "é"]),
    ("json", &["{\"a\": [1, 2]}", "{bad", "\"s\"", "12"]),
    ("enum('a','B')", &["a", "B", "b", "c", "", "1"]),
    ("set('a','b')", &["a,b", "a,c", "", "b"]),
    ("bit(4)", &["15", "16", "-1", "0"]),
];

/// A value written as `x255` stands for 255 x's.
fn expand(v: &str) -> String {
    match v.strip_prefix('x').and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => "x".repeat(n),
        None => v.to_string(),
    }
}

/// The server's own strict, server-side `LOAD DATA` of one value (what it stores, as hex),
/// or its refusal.
async fn server_load(
    conn: &mut mysql_async::Conn,
    dir: &Dir,
    table: &str,
    ty: &str,
    id: usize,
    v: &str,
) -> Option<String> {
    let mut line = format!("{id}\t").into_bytes();
    for b in v.bytes() {
        match b {
            b'\\' => line.extend_from_slice(b"\\\\"),
            b'\t' => line.extend_from_slice(b"\\t"),
            b'\n' => line.extend_from_slice(b"\\n"),
            b => line.push(b),
        }
    }
    line.push(b'\n');
    let f = dir.write(&format!("v{id}.tsv"), &line);
    let (target, set) = if ty.starts_with("bit") {
        ("@b", " SET v = CAST(@b AS UNSIGNED)")
    } else {
        ("v", "")
    };
    let sql = format!(
        "LOAD DATA INFILE '{}' INTO TABLE {table} CHARACTER SET utf8mb4 FIELDS TERMINATED BY \
         '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (id, {target}){set}",
        f.display()
    );
    conn.query_drop(sql).await.ok()?;
    let hex: Option<String> = conn
        .exec_first(format!("SELECT HEX(v) FROM {table} WHERE id = ?"), (id,))
        .await
        .unwrap_or(None);
    hex
}

#[tokio::test]
async fn every_type_and_edge_value_matches_the_servers_own_load_data() {
    let db = fresh_db("mysql_oracle").await;
    let mut conn = connect(&db.url).await;
    conn.query_drop(
        "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,\
         ERROR_FOR_DIVISION_BY_ZERO', time_zone = '+00:00'",
    )
    .await
    .unwrap();
    let dir = Dir::new();
    for (t, (ty, values)) in CASES.iter().enumerate() {
        let (r, b) = (format!("ref{t}"), format!("bar{t}"));
        for name in [&r, &b] {
            conn.query_drop(format!("CREATE TABLE {name} (id int PRIMARY KEY, v {ty})"))
                .await
                .unwrap_or_else(|e| panic!("{ty}: {e}"));
        }
        let mut server: BTreeMap<usize, Option<String>> = BTreeMap::new();
        let mut csv = String::from("id,v\n");
        for (i, v) in values.iter().enumerate() {
            let v = expand(v);
            server.insert(i, server_load(&mut conn, &dir, &r, ty, i, &v).await);
            csv.push_str(&format!("{i},\"{}\"\n", v.replace('"', "\"\"")));
        }
        let f = dir.write(&format!("{b}.csv"), &csv);
        let rej = dir.path().join(format!("{b}.rej"));
        let url = format!("{}?ssl-mode=DISABLED", db.url);
        let run = barge_with(
            &[
                "load",
                f.to_str().unwrap(),
                "--into",
                &url,
                "--table",
                &b,
                "--rejects",
                rej.to_str().unwrap(),
            ],
            &[("TZ", "UTC")],
            None,
        );
        assert!(run.code == 0 || run.code == 3, "{ty}: {}", run.all());
        let stored: Vec<(usize, Option<String>)> = conn
            .query(format!("SELECT id, HEX(v) FROM {b} ORDER BY id"))
            .await
            .unwrap();
        let stored: BTreeMap<usize, Option<String>> = stored.into_iter().collect();
        for (i, v) in values.iter().enumerate() {
            match (server.get(&i).cloned().flatten(), stored.get(&i)) {
                // The server refuses it: barge must have set it aside.
                (None, got) => assert!(
                    got.is_none(),
                    "{ty} {v:?}: the server refuses it, barge stored {got:?}"
                ),
                // barge may refuse a form the server reads; what it stores, it stores alike.
                (Some(want), Some(got)) => assert_eq!(
                    got.as_deref(),
                    Some(want.as_str()),
                    "{ty} {v:?}: barge stored another value than the server"
                ),
                (Some(_), None) => {}
            }
        }
        // The canonical forms load.
        let canonical: &[(&str, &str)] = &[
            ("tinyint", "127"),
            // Spaces around a number or a date are no part of it.
            ("int", " 42 "),
            ("int", "42 "),
            ("decimal(5,2)", " 1.50 "),
            ("date", " 2024-01-02 "),
            // A date and time at midnight is its day.
            ("date", "2024-01-02 00:00:00"),
            ("date", "2024-01-02T00:00:00.000"),
            ("decimal(5,2)", "999.99"),
            ("date", "2024-02-29"),
            ("datetime(3)", "2024-01-02 03:04:05.123"),
            // More fractional digits than the column keeps: the server rounds or cuts them.
            ("datetime(3)", "2024-01-02 03:04:05.1234"),
            ("datetime", "2024-01-02 03:04:05.5"),
            ("datetime", "2024-01-02 03:04:05.123456789"),
            ("timestamp", "2038-01-19 03:14:07.9"),
            ("time", "12:00:00.5"),
            ("time", "-00:00:00.4999999"),
            // Forms the server reads: one-digit months, days and hours, no seconds.
            ("date", "2024-1-2"),
            ("date", "2024-01-2"),
            ("datetime", "2024-01-02 3:04:05"),
            ("datetime", "2024-01-02 03:04"),
            ("datetime", "2024-1-2 03:04:05"),
            ("time", "12:00"),
            ("char(3)", "abc"),
            ("set('a','b')", "a,b"),
            ("bit(4)", "15"),
        ];
        for (must_ty, must) in canonical {
            if let (true, Some(i)) = (ty == must_ty, values.iter().position(|v| v == must)) {
                assert!(
                    stored.contains_key(&i),
                    "{ty} {must:?} was rejected: {}",
                    run.all()
                );
            }
        }
    }
}

fn load(dir: &Dir, url: &str, env: &[(&str, &str)]) -> crate::support::Run {
    let f = dir.write("kv.csv", "k,v\n1,a\n2,b\n");
    barge_with(
        &[
            "load",
            f.to_str().unwrap(),
            "--into",
            url,
            "--table",
            "kv",
            "--again",
        ],
        env,
        None,
    )
}

async fn count(db: &MyDb, sql: &str) -> i64 {
    let mut c = db.conn().await;
    let n: Option<i64> = c.query_first(sql).await.unwrap();
    n.unwrap_or(-1)
}

#[tokio::test]
async fn connects_as_the_mysql_client_does_and_never_prints_the_password() {
    let db = fresh_db("mysql_connect").await;
    db.exec("CREATE TABLE kv (k int, v text)").await;
    let name = db.url.rsplit('/').next().unwrap().to_string();
    db.exec(&format!(
        "CREATE USER IF NOT EXISTS 'alice'@'%' IDENTIFIED BY 's3cret-pw'; \
         GRANT ALL ON `{name}`.* TO 'alice'@'%'"
    ))
    .await;
    let host = db.url.trim_start_matches("mysql://root@").to_string();
    let dir = Dir::new();
    // In the URL (percent-encoded), in MYSQL_PWD, in ~/.my.cnf's [client] section.
    load(&dir, &format!("mysql://alice:s3cret%2Dpw@{host}"), &[]).assert_ok();
    load(
        &dir,
        &format!("mariadb://alice@{host}"),
        &[("MYSQL_PWD", "s3cret-pw")],
    )
    .assert_ok();
    let home = Dir::new();
    home.write(
        ".my.cnf",
        "[mysqld]\npassword=nope\n[client]\npassword = \"s3cret-pw\"\n",
    );
    let home_s = home.path().to_str().unwrap();
    load(
        &dir,
        &format!("mysql://alice@{host}"),
        &[("HOME", home_s), ("MYSQL_PWD", "Wr0ng-pw")],
    )
    .assert_ok();
    assert_eq!(count(&db, "SELECT count(*) FROM kv").await, 6);
    // A wrong password: the user named, what to check, the password never shown.
    let run = load(&dir, &format!("mysql://alice:Wr0ng-pw@{host}"), &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("Access denied for user 'alice'")
            && run
                .stderr
                .contains("hint: access denied: check the user and the password"),
        "{}",
        run.stderr
    );
    // TLS required from a server without it.
    let run = load(
        &dir,
        &format!("mysql://alice:s3cret-pw@{host}?ssl-mode=REQUIRED"),
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("does not offer TLS"), "{}", run.stderr);
    // Nothing listening.
    let run = load(&dir, "mysql://alice:s3cret-pw@127.0.0.1:1/x", &[]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("nothing answered"), "{}", run.stderr);
}

#[tokio::test]
async fn a_socket_url_and_a_server_without_local_infile_load_by_insert() {
    let srv = MyInstance::start(&["--local-infile=0"]);
    let mut admin = connect(&srv.url("")).await;
    admin
        .query_drop("CREATE DATABASE d; CREATE TABLE d.kv (k int PRIMARY KEY, v text)")
        .await
        .unwrap();
    let socket = srv.socket().display().to_string().replace('/', "%2F");
    let dir = Dir::new();
    let run = load(&dir, &format!("mysql://root@{socket}/d"), &[]);
    run.assert_ok();
    assert!(
        run.stderr.contains("refuses LOAD DATA LOCAL INFILE")
            && run.stderr.contains("SET GLOBAL local_infile = 1")
            && run.stdout.contains("INSERT"),
        "{}",
        run.all()
    );
    let n: Option<i64> = admin
        .query_first("SELECT count(*) FROM d.kv")
        .await
        .unwrap();
    assert_eq!(n, Some(2));
}

/// `rows` rows for `kv (k int PRIMARY KEY, v text, n int)`.
fn kv_csv(rows: usize) -> String {
    let mut csv = String::from("k,v,n\n");
    for k in 1..=rows {
        csv.push_str(&format!("{k},\"v{k}, \"\"q\"\"\ttab\",{}\n", k % 977));
    }
    csv
}

#[tokio::test]
async fn insert_mode_create_and_atomic_give_the_load_data_table() {
    let db = fresh_db("mysql_modes").await;
    let csv = kv_csv(3000);
    let dir = Dir::new();
    let f = dir.write("kv.csv", &csv);
    let f = f.to_str().unwrap();
    // --create from inference, then the same rows by INSERT and in one transaction.
    barge(&["load", f, "--into", &db.url, "--table", "a", "--create"]).assert_ok();
    db.exec("CREATE TABLE b LIKE a; CREATE TABLE c LIKE a")
        .await;
    barge(&[
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "b",
        "--mode",
        "insert",
        "--chunk-rows",
        "700",
    ])
    .assert_ok();
    barge(&["load", f, "--into", &db.url, "--table", "c", "--atomic"]).assert_ok();
    let sum = "SELECT count(*), sum(k), sum(n), sum(crc32(v)) FROM";
    let a = crate::support::backend::TestTarget::Mysql(MyDb {
        url: db.url.clone(),
    });
    let want = a.rows(&format!("{sum} a")).await;
    assert_eq!(want[0].split('|').next(), Some("3000"));
    assert_eq!(a.rows(&format!("{sum} b")).await, want);
    assert_eq!(a.rows(&format!("{sum} c")).await, want);
    let types = a
        .rows("SELECT column_name, column_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'a' ORDER BY ordinal_position")
        .await;
    assert_eq!(types, ["k|bigint(20)", "v|text", "n|bigint(20)"]);
    // A table name in mixed case is found as MySQL spells it.
    db.exec("CREATE TABLE MixedCase LIKE a").await;
    barge(&["load", f, "--into", &db.url, "--table", "MixedCase"]).assert_ok();
    assert_eq!(a.rows(&format!("{sum} MixedCase")).await, want);
    // --atomic with a bad row at the end loads nothing.
    let mut bad = csv.clone();
    bad.push_str("3001,x,notanumber\n");
    let f = dir.write("bad.csv", &bad);
    db.exec("CREATE TABLE d LIKE a").await;
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "d",
        "--atomic",
        "--chunk-rows",
        "500",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("record 3002"), "{}", run.stderr);
    assert_eq!(count(&db, "SELECT count(*) FROM d").await, 0);
}

/// `--create` sizes a decimal column with room beyond its sample: amounts that grow through
/// the file (the sample's largest is 9.99; a later one has nine digits before the point) load,
/// where `DECIMAL(3,2)` from the sample failed at the first larger one.
#[tokio::test]
async fn created_decimals_hold_larger_amounts_than_the_sample() {
    let db = fresh_db("mysql_decimal_room").await;
    let mut csv = String::from("id,amount\n");
    let mut cents: i64 = 0;
    for i in 1..=5_000i64 {
        let c = if i <= 100 {
            100 + i % 899
        } else {
            i * i * 4_001
        };
        cents += c;
        csv.push_str(&format!("{i},{}.{:02}\n", c / 100, c % 100));
    }
    let dir = Dir::new();
    let f = dir.write("grow.csv", &csv);
    barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--create",
        "--sample-rows",
        "100",
    ])
    .assert_ok();
    let t = crate::support::backend::TestTarget::Mysql(MyDb {
        url: db.url.clone(),
    });
    assert_eq!(
        t.rows("SELECT column_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'grow' AND column_name = 'amount'")
            .await,
        ["decimal(22,2)"]
    );
    let want = format!("5000|{}.{:02}", cents / 100, cents % 100);
    assert_eq!(
        t.rows("SELECT count(*), sum(amount) FROM grow").await,
        [want]
    );
}

/// A PostgreSQL export of `timestamptz` values (`psql \copy ... to ... csv`, which writes
/// offsets of whole hours as `+00` and `-08`) loads into MySQL's DATETIME, converted to the
/// session's time zone (UTC here). Offsets of hours alone were refused as "not a date and
/// time", every row of such an export a bad row.
#[tokio::test]
async fn a_postgres_export_of_timestamptz_loads_into_datetime() {
    let db = fresh_db("mysql_pg_offsets").await;
    let t = crate::support::backend::TestTarget::Mysql(MyDb {
        url: db.url.clone(),
    });
    t.exec("CREATE TABLE ev (id int PRIMARY KEY, at datetime(6))")
        .await;
    let dir = Dir::new();
    let f = dir.write(
        "ev.csv",
        "id,at\n1,2024-01-02 03:04:05+00\n2,2024-06-30 23:30:00.25-08\n\
         3,2024-01-02 03:04:05.123456+05:30\n",
    );
    let url = format!("{}?ssl-mode=DISABLED", db.url);
    let run = barge_with(
        &[
            "load",
            f.to_str().unwrap_or_default(),
            "--into",
            &url,
            "--table",
            "ev",
        ],
        &[("TZ", "UTC")],
        None,
    );
    run.assert_ok();
    assert_eq!(
        t.rows("SELECT id, CAST(at AS CHAR) FROM ev ORDER BY id")
            .await,
        [
            "1|2024-01-02 03:04:05.000000",
            "2|2024-07-01 07:30:00.250000",
            "3|2024-01-01 21:34:05.123456",
        ]
    );
}

/// The rows a rejects file holds (after its header), each with its line end.
fn set_aside(rejects: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_to_string(rejects)
        .unwrap_or_else(|e| panic!("{}: {e}", rejects.display()))
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `barge load FILE --into URL --table TABLE --rejects REJ -vv`, and `extra`.
fn load_setting_aside(
    url: &str,
    file: &std::path::Path,
    table: &str,
    rejects: &std::path::Path,
    extra: &[&str],
) -> crate::support::Run {
    let (file, rejects) = (file.to_string_lossy(), rejects.to_string_lossy());
    let mut args = vec![
        "load",
        &file,
        "--into",
        url,
        "--table",
        table,
        "--rejects",
        &rejects,
        "-vv",
    ];
    args.extend_from_slice(extra);
    barge(&args)
}

#[tokio::test]
async fn killed_connections_are_retried_and_the_load_is_exact() {
    let db = fresh_db("mysql_kill_conn").await;
    db.exec("CREATE TABLE kv (k int PRIMARY KEY, v text, n int)")
        .await;
    let dir = Dir::new();
    let f = dir.write("kv.csv", kv_csv(60_000));
    let name = db.url.rsplit('/').next().unwrap().to_string();
    let mut child = spawn_barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "kv",
        "--chunk-rows",
        "2000",
    ]);
    let mut admin = connect(&db.url).await;
    let mut killed = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while killed < 4 && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        let ids: Vec<u64> = admin
            .exec(
                "SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID() \
                 AND info LIKE 'LOAD DATA%'",
                (name.as_str(),),
            )
            .await
            .unwrap();
        if let Some(id) = ids.first() {
            let _ = admin.query_drop(format!("KILL {id}")).await;
            killed += 1;
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(killed > 0, "no LOAD DATA was seen to kill");
    assert!(err.contains("retrying on a new connection"), "{err}");
    let n: i64 = (1..=60_000i64).map(|k| k % 977).sum();
    let got: Option<(i64, i64, i64)> = admin
        .query_first("SELECT count(*), sum(k), sum(n) FROM kv")
        .await
        .unwrap();
    assert_eq!(got, Some((60_000, 60_000 * 60_001 / 2, n)));
}

#[tokio::test]
async fn a_server_restart_mid_load_is_waited_out() {
    let mut srv = MyInstance::start(&[]);
    let url = srv.url("d");
    {
        let mut admin = connect(&srv.url("")).await;
        admin
            .query_drop("CREATE DATABASE d; CREATE TABLE d.kv (k int PRIMARY KEY, v text, n int)")
            .await
            .unwrap();
    }
    let dir = Dir::new();
    let f = dir.write("kv.csv", kv_csv(60_000));
    let child = spawn_barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &url,
        "--table",
        "kv",
        "--chunk-rows",
        "2000",
        "--retry-for",
        "120",
    ]);
    // Crash the server once a few chunks are in, then start it again.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut c = connect(&url).await;
        let n: Option<i64> = c
            .query_first("SELECT count(*) FROM barge_checkpoint")
            .await
            .unwrap_or(Some(0));
        if n.unwrap_or(0) >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the load committed nothing in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    srv.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    srv.run();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("retrying"), "{err}");
    let mut c = connect(&url).await;
    let n: i64 = (1..=60_000i64).map(|k| k % 977).sum();
    let got: Option<(i64, i64, i64)> = c
        .query_first("SELECT count(*), sum(k), sum(n) FROM kv")
        .await
        .unwrap();
    assert_eq!(got, Some((60_000, 60_000 * 60_001 / 2, n)));
}

/// A CA, and a server certificate for `localhost` signed by it (PEM: cert, key).
fn tls_files(dir: &Dir) -> (String, String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca = |name: &str| {
        let key = KeyPair::generate().expect("a key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let pem = params.self_signed(&key).expect("a CA").pem();
        (params, key, pem)
    };
    let (ca_params, ca_key, ca_pem) = ca("barge mysql CA");
    let (_, _, other_pem) = ca("another CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("a key");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &issuer).expect("a certificate");
    let path = |name: &str, text: &str| dir.write(name, text).display().to_string();
    (
        path("ca.pem", &ca_pem),
        path("other.pem", &other_pem),
        path("server.pem", &cert.pem()),
        path("server.key", &key.serialize_pem()),
    )
}

#[tokio::test]
async fn tls_modes_as_the_mysql_client_has_them() {
    let pki = Dir::new();
    let (ca, other, cert, key) = tls_files(&pki);
    let srv = MyInstance::start(&[
        &format!("--ssl-ca={ca}"),
        &format!("--ssl-cert={cert}"),
        &format!("--ssl-key={key}"),
    ]);
    let mut admin = connect(&srv.url("")).await;
    admin
        .query_drop(
            "CREATE DATABASE d; CREATE TABLE d.kv (k int, v text); \
             CREATE USER 'tls'@'%' IDENTIFIED BY 's3cret-pw' REQUIRE SSL; \
             GRANT ALL ON d.* TO 'tls'@'%'",
        )
        .await
        .unwrap();
    let dir = Dir::new();
    let url = |host: &str, q: &str| format!("mysql://tls:s3cret-pw@{host}:{}/d?{q}", srv.port);
    // The default and REQUIRED encrypt without checking the certificate.
    load(&dir, &url("127.0.0.1", ""), &[]).assert_ok();
    load(&dir, &url("127.0.0.1", "ssl-mode=REQUIRED"), &[]).assert_ok();
    // VERIFY_CA checks the chain, VERIFY_IDENTITY the name too. (mysql_async 0.37 checks
    // the name in VERIFY_CA as well, with rustls 0.23: connect by the certificate's name.)
    load(
        &dir,
        &url("localhost", &format!("ssl-mode=VERIFY_CA&ssl-ca={ca}")),
        &[],
    )
    .assert_ok();
    load(
        &dir,
        &url(
            "localhost",
            &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
        ),
        &[],
    )
    .assert_ok();
    for q in [
        format!("ssl-mode=VERIFY_CA&ssl-ca={other}"),
        format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
    ] {
        let run = load(&dir, &url("127.0.0.1", &q), &[]);
        assert_eq!(run.code, 2, "{q}: {}", run.all());
        assert!(
            run.stderr.contains("TLS handshake failed") && !run.all().contains("retrying"),
            "{q}: {}",
            run.all()
        );
    }
    // Without TLS this user is refused.
    let run = load(&dir, &url("127.0.0.1", "ssl-mode=DISABLED"), &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    let n: Option<i64> = admin
        .query_first("SELECT count(*) FROM d.kv")
        .await
        .unwrap();
    assert_eq!(n, Some(8));
}

/// A missing table's hint speaks of MySQL's names (database.table), not of PostgreSQL's
/// search_path.
#[tokio::test]
async fn a_missing_table_says_what_to_check_in_mysql_terms() {
    let db = fresh_db("missing_table").await;
    let dir = Dir::new();
    let f = dir.write("t.csv", "id\n1\n");
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "nope",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(
        run.stderr,
        "error: table \"nope\" does not exist\nhint: create the table first (or pass --create), \
         or check --table (table, or database.table; on some servers names are case-sensitive)\n"
    );
    // A table of that name in another database is named, with the --table that loads into it.
    let other = fresh_db("missing_table_other").await;
    other.exec("CREATE TABLE `Archive` (id int)").await;
    let other_db = other.url.rsplit('/').next().unwrap_or_default().to_string();
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "archive",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(
        run.stderr,
        format!(
            "error: table \"archive\" does not exist\nhint: there is `{other_db}`.`Archive`: pass \
             --table '\"{other_db}\".\"Archive\"' to load into it; or create the table (--create)\n"
        )
    );
    let run = barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        &format!("\"{other_db}\".\"Archive\""),
    ]);
    run.assert_ok();
    assert_eq!(count(&other, "SELECT count(*) FROM `Archive`").await, 1);
}

/// Duplicate keys with `--rejects` are found with a query on the chunk's staged keys, not by
/// the search, and as the key's index compares them (its collation: `K20` repeats `k20`): a
/// key already in the table, one repeated in its chunk (byte for byte or not), one repeated
/// in a later chunk. Exactly those rows are set aside with the server's words, every other
/// row loads once; a role that may not create temporary tables gets the same by the search.
#[tokio::test]
async fn duplicate_keys_are_set_aside_with_a_query_as_the_index_compares_them() {
    let db = fresh_db("dedupe").await;
    db.exec(
        "CREATE TABLE d (k varchar(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v int NOT NULL); \
         INSERT INTO d VALUES ('pre1', 0), ('pre2', 0), ('pre3', 0)",
    )
    .await;
    let mut csv = String::from("k,v\n");
    let mut bad = BTreeSet::new();
    let mut sum = 0i64;
    let mut good = 0i64;
    for i in 1..=3000i64 {
        let row = match i {
            _ if i % 400 == 17 => format!("k{},{i}\n", i - 1),
            _ if i % 400 == 33 => format!("K{},{i}\n", i - 1),
            1500 => format!("PRE2,{i}\n"),
            2100 => "pre3,2100\n".to_string(),
            2900 => "k5,2900\n".to_string(),
            _ => {
                good += 1;
                sum += i;
                csv.push_str(&format!("k{i},{i}\n"));
                continue;
            }
        };
        csv.push_str(&row);
        bad.insert(row);
    }
    let dir = Dir::new();
    let f = dir.write("d.csv", &csv);
    // Also as a role that may not create temporary tables: the search finds the same rows.
    let notemp = db
        .user("notemp", "SELECT, INSERT, UPDATE, DELETE, CREATE")
        .await;
    for (url, probed) in [(&db.url, true), (&notemp, false)] {
        db.exec("DELETE FROM d WHERE v > 0; DROP TABLE IF EXISTS barge_checkpoint")
            .await;
        let rej = dir.path().join("d.rej");
        let run = load_setting_aside(url, &f, "d", &rej, &["--chunk-rows", "250"]);
        assert_eq!(run.code, 3, "{}", run.all());
        assert_eq!(set_aside(&rej), bad);
        let reasons = std::fs::read_to_string(dir.path().join("d.rej.errors.jsonl")).unwrap();
        assert_eq!(reasons.lines().count(), bad.len());
        assert!(
            reasons.lines().all(|l| l.contains("Duplicate entry '")
                && l.contains("for key 'PRIMARY' (error 1062)")
                && l.contains("\"sqlstate\":\"23000\"")),
            "{reasons}"
        );
        let said = match probed {
            true => {
                run.stderr
                    .contains("duplicate keys taken out before the chunk's LOAD DATA")
                    && run.stderr.contains("probe=true")
                    && !run.stderr.contains("how=Search")
            }
            false => run.stderr.contains(
                "duplicate keys are looked for by the search: making the table of a chunk's keys",
            ) && run.stderr.contains("how=Search"),
        };
        assert!(said, "{}", run.stderr);
        assert_eq!(count(&db, "SELECT count(*) FROM d WHERE v > 0").await, good);
        assert_eq!(count(&db, "SELECT sum(v) FROM d").await, sum);
    }
}

/// A duplicate a few rows apart across a chunk boundary: the later chunk, sent while the
/// earlier one still inserts, can hold the key the earlier one inserts too, which then waits on
/// its lock while the later one waits for its turn. Asked which sessions wait on it (the
/// server tells a user with PROCESS), the later one lets go at once and goes again in its turn;
/// a user without PROCESS gets the same rows after a wait. The second occurrence of each key is
/// set aside, every other row loads once.
#[tokio::test]
async fn a_chunk_holding_a_key_an_earlier_chunk_still_inserts_lets_go() {
    let db = fresh_db("cross").await;
    db.exec("CREATE TABLE c (id int PRIMARY KEY, v int NOT NULL)")
        .await;
    // Each chunk pauses before its row 497, so that the next chunk, sent meanwhile, takes the
    // key of row 498 first, however busy the machine (without it, a loaded machine could run
    // the chunks one after the other, and no chunk would ever hold another's key).
    db.exec(
        "CREATE TRIGGER c_pause BEFORE INSERT ON c FOR EACH ROW \
         IF NEW.id % 500 = 497 THEN SET @paused = SLEEP(0.1); END IF",
    )
    .await;
    let mut csv = String::from("id,v\n");
    let mut bad = BTreeSet::new();
    let (mut good, mut sum) = (0i64, 0i64);
    for i in 1..=10_000i64 {
        // Row 2 of each chunk of 500 repeats the key of row 498 of the chunk before.
        if i > 500 && i % 500 == 2 {
            let row = format!("{},{i}\n", i - 4);
            csv.push_str(&row);
            bad.insert(row);
        } else {
            good += 1;
            sum += i;
            csv.push_str(&format!("{i},{i}\n"));
        }
    }
    let dir = Dir::new();
    let f = dir.write("c.csv", &csv);
    let noprocess = db.user("noprocess", "ALL").await;
    for (url, tells) in [(&db.url, true), (&noprocess, false)] {
        db.exec("DELETE FROM c; DROP TABLE IF EXISTS barge_checkpoint")
            .await;
        let rej = dir.path().join("c.rej");
        let run = load_setting_aside(
            url,
            &f,
            "c",
            &rej,
            &["--chunk-rows", "500", "--workers", "2"],
        );
        assert_eq!(run.code, 3, "{}", run.all());
        assert_eq!(set_aside(&rej), bad);
        assert_eq!(count(&db, "SELECT count(*) FROM c").await, good);
        assert_eq!(count(&db, "SELECT sum(v) FROM c").await, sum);
        let let_go = run
            .stderr
            .contains("another session waits on a key this chunk holds");
        let not_told = run
            .stderr
            .contains("a chunk waits for its turn a while, then lets go");
        assert_eq!(
            (let_go, not_told),
            (tells, !tells),
            "{}",
            run.stderr
                .lines()
                .filter(|l| l.contains("barge") && !l.contains("DEBUG mysql_async"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// A table whose engine cannot roll back (MyISAM) keeps a chunk's rows whatever becomes of
/// its transaction: `--atomic`, `--replace` and `--dry-run`, which promise to leave nothing
/// behind, are refused before any row goes (a dry run wrote its rows for good), and a
/// resumable load says it is not exactly once there, and loads.
#[tokio::test]
async fn a_table_that_cannot_roll_back_is_refused_what_needs_a_rollback() {
    let db = fresh_db("myisam").await;
    db.exec("CREATE TABLE mi (id int PRIMARY KEY, v text) ENGINE=MyISAM")
        .await;
    let dir = Dir::new();
    let f = dir.write("mi.csv", "id,v\n1,a\n2,b\n");
    let f = f.to_str().unwrap();
    for flag in ["--dry-run", "--atomic", "--replace"] {
        let run = barge(&["load", f, "--into", &db.url, "--table", "mi", flag]);
        assert_eq!(run.code, 2, "{flag}: {}", run.all());
        assert!(
            run.stderr.starts_with(
                "error: table \"t"
            ) && run.stderr.contains(
                "\".\"mi\" uses the MyISAM engine, which cannot roll back: --atomic, --replace \
                 and --dry-run need a transactional one (ALTER TABLE `"
            ),
            "{flag}: {}",
            run.stderr
        );
        assert_eq!(count(&db, "SELECT count(*) FROM mi").await, 0, "{flag}");
    }
    let run = barge(&["load", f, "--into", &db.url, "--table", "mi"]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("uses the MyISAM engine, which cannot roll back: a chunk"),
        "{}",
        run.all()
    );
    assert_eq!(count(&db, "SELECT count(*) FROM mi").await, 2);
}
