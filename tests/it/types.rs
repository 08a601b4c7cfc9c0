//! Every supported type, its edge values, and the forms only the server reads: barge must
//! store exactly what the server's own CSV COPY stores.

use crate::support::{assert_same_as_server_copy, fresh_db, Dir, TestDb};

/// Loads `csv` into table `t_barge` with barge and into `t_ref` with the server's own CSV
/// COPY (both made by the caller): the same rows, `rows` of them, sent in `format` (`binary`,
/// or `text` COPY).
async fn assert_loads_as_server_copy(db: &TestDb, dir: &Dir, csv: &str, rows: i64, format: &str) {
    let file = dir.write("in.csv", csv);
    crate::support::pg::server_copy_csv(&db.url, "t_ref", csv.as_bytes()).await;
    let v = crate::support::load_report(&file, &db.url, "t_barge", &[]);
    assert_eq!(v["format"], format, "{v}");
    let want = db.checksum("t_ref").await;
    assert_eq!(want.0, rows);
    assert_eq!(db.checksum("t_barge").await, want);
}

/// Loads `csv` into `t_barge`: the load fails (exit 1), saying `reason`.
fn assert_refused(db: &TestDb, dir: &Dir, csv: &str, reason: &str) {
    let bad = dir.write("bad.csv", csv);
    let run = crate::support::load_file(&bad, &db.url, "t_barge", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains(reason), "{}", run.stderr);
}

const ALL_TYPES: &str =
    "b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, \
    n numeric, n2 numeric(10,3), t text, v varchar(5), c char(4), d date, tm time, \
    ts timestamp, tz timestamptz, u uuid, j json, jb jsonb, by bytea";

#[tokio::test]
async fn every_type_and_edge_value_matches_server_copy() {
    let db = fresh_db("every_type").await;
    let csv = "b,i2,i4,i8,f4,f8,n,n2,t,v,c,d,tm,ts,tz,u,j,jb,by
true,-32768,-2147483648,-9223372036854775808,-3.4028235e38,-1.7976931348623157e308,-123456789012345678901234567890.123456789,-9999999.999,plain,abcde,abcd,0001-01-01,00:00:00,1970-01-01 00:00:00,1970-01-01T00:00:00Z,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,{},{},\\x
false,32767,2147483647,9223372036854775807,3.4028235e38,1.7976931348623157e308,0.000000000000000000001,9999999.999,\"with, comma\",é€😀ab,ab,9999-12-31,23:59:59.999999,2038-01-19 03:14:07.999999,2038-01-19T03:14:07.5+14:00,A0EEBC999C0B4EF8BB6D6BB9BD380A11,\"[1,2.50,\"\"x\"\"]\",\"{\"\"b\"\":1,\"\"a\"\":[true,null]}\",\\xDEADBEEF
t,0,0,0,NaN,NaN,NaN,1.0005,\"\",\"\",\"\",2024-02-29,24:00:00,2024-02-29T12:00:00.123-05:30,2024-02-29 12:00:00+0530,00000000-0000-0000-0000-000000000000,\"\"\"str\"\"\",\"{\"\"k\"\": \"\"ü\\\\u00e9\"\"}\",raw bytes
yes,+1,  42  ,007,Infinity,-Infinity,1e5,-1.0005,\"tab\there\",ab   ,\"a  \",epoch,12:30,infinity,-infinity,{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11},null,123.4500,\\\\001\\\\\\\\x
off,-0,-00042,-1,1e-45,4.9e-324,-0.00,0.0005,\"multi
line\",x,x,2000-01-01,00:00,2000-01-01,2000-01-01,a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11,1E+2,-0.0,\\x00ff
1,1,1,1,0.1,0.1,.5,5.,\"\\N\",a,\" \",1999-12-31,01:02:03.5,1999-12-31T23:59:59.999999,1999-12-31T23:59:59.999999-00:00,A0EEBC99-9c0b-4ef8-bb6d-6bb9bd380a11,\"\"\"\\\\u0000\"\"\",\"\"\"\\\\ud83d\\\\ude00\"\"\",\\x0A0b
,,,,,,,,,,,,,,,,,,
";
    let (count, _) = assert_same_as_server_copy(
        &db,
        ALL_TYPES,
        csv.as_bytes(),
        "FORMAT csv, HEADER true",
        &[],
    )
    .await;
    assert_eq!(count, 7);
}

#[tokio::test]
async fn local_timestamps_use_the_session_time_zone() {
    let db = fresh_db("session_tz").await;
    let csv = b"ts,tz,d
2024-03-10 01:30:00,2024-03-10 01:30:00,2024-03-10
2024-03-10 02:30:00,2024-03-10 02:30:00,2024-03-10
2024-11-03 01:30:00,2024-11-03 01:30:00,2024-11-03
2024-07-01T12:00:00+02:00,2024-07-01T12:00:00+02:00,2024-07-01
";
    // Both loads run in New York time: the server's COPY through this client, barge through
    // the URL's options.
    db.exec("SET TimeZone = 'America/New_York'").await;
    let url_opts = "-c TimeZone=America/New_York";
    db.exec("CREATE TABLE t_ref (ts timestamp, tz timestamptz, d date); CREATE TABLE t_barge (ts timestamp, tz timestamptz, d date);")
        .await;
    db.server_copy("t_ref", "FORMAT csv, HEADER true", csv)
        .await;
    let dir = crate::support::Dir::new();
    let file = dir.write("tz.csv", csv);
    let url = format!(
        "{}?options={}",
        db.url,
        url_opts.replace(' ', "%20").replace('=', "%3D")
    );
    crate::support::barge(&[
        "load",
        file.to_str().unwrap(),
        "--into",
        &url,
        "--table",
        "t_barge",
    ])
    .assert_ok();
    assert_eq!(db.checksum("t_ref").await, db.checksum("t_barge").await);
    let got = db
        .rows_text("SELECT tz FROM t_barge ORDER BY tz LIMIT 1")
        .await;
    assert_eq!(got, vec!["(\"2024-03-10 01:30:00-05\")".to_string()]);
}

/// Types barge does not encode (geometric types, money, bit strings, text search vectors, XML,
/// `"char"`, arrays of them) make the load text COPY, which the server parses: the rows are
/// those of its own CSV COPY, with ranges, MAC addresses and a domain over `inet` beside them, JSON
/// arrays written as literals. A value the server refuses is named with its line, and set
/// aside with `--rejects`.
///
/// (Having the server put only such columns' values in binary form, one query per chunk, was
/// measured to cost more than it saved on the bench rows with a range and a `macaddr`.)
#[tokio::test]
async fn types_the_server_parses_fall_back_to_text_copy() {
    let db = fresh_db("text_fallback_types").await;
    db.exec("CREATE DOMAIN ipv4 AS inet CHECK (pg_catalog.family(VALUE) = 4)")
        .await;
    let cols = "id int, addr inet, r int4range, tr tstzrange, mac macaddr, m money, p point, \
                bits varbit, tv tsvector, x xml, ch \"char\", d4 ipv4, rs int4range[], \
                macs macaddr[], n numeric(6,2)";
    db.exec(&format!(
        "CREATE TABLE t_ref ({cols}); CREATE TABLE t_barge ({cols});"
    ))
    .await;
    let csv = r#"id,addr,r,tr,mac,m,p,bits,tv,x,ch,d4,rs,macs,n
1,192.168.0.1/24,"[1,5)","[2024-01-01 00:00+00,2024-02-01 00:00+00)",08:00:2b:01:02:03,$1.50,"(1,2)",1011,'a':1 'fat':2,<a>x</a>,q,10.1.2.3,"{""[1,2)"",empty}","{08:00:2b:01:02:03}",12.345
2,::ffff:1.2.3.4,empty,empty,0800.2b01.0203,"-1,000.00","(0,0)","",a b,"",\,10.0.0.0/8,{},{},-1
3,,,,,,,,,,,,"[""[3,4]"",null]","[""0800.2b01.0204""]",0
4,,,,"a\""b",,,,,,,,,,
"#;
    // The server reads no JSON array, and refuses row 4's address: the reference has the
    // arrays' literals and not row 4.
    let reference = csv.replace(
        r#""[""[3,4]"",null]","[""0800.2b01.0204""]""#,
        r#""{""[3,4]"",NULL}","{0800.2b01.0204}""#,
    );
    let reference: String = reference
        .lines()
        .filter(|l| !l.starts_with("4,"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(reference.contains("{0800.2b01.0204}"), "{reference}");
    db.server_copy("t_ref", "FORMAT csv, HEADER true", reference.as_bytes())
        .await;
    let dir = crate::support::Dir::new();
    let file = dir.write("in.csv", csv);
    let run = crate::support::load_file(&file, &db.url, "t_barge", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("in.csv), at record 5 (line 5): ")
            && run
                .stderr
                .contains("invalid input syntax for type macaddr: \"a\\\"b\""),
        "{}",
        run.stderr
    );
    assert_eq!(db.checksum("t_barge").await.0, 0);
    let rejects = dir.path().join("in.rej");
    let args = ["--json", "--rejects", rejects.to_str().unwrap_or_default()];
    let run = crate::support::load_file(&file, &db.url, "t_barge", &args);
    assert_eq!(run.code, 3, "{}", run.all());
    let v: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("one JSON object");
    assert_eq!(v["format"], "text", "{v}");
    assert_eq!(v["rows"], 3, "{v}");
    assert_eq!(db.checksum("t_barge").await, db.checksum("t_ref").await);
    let set_aside = std::fs::read_to_string(&rejects).expect("the rejects file");
    assert!(set_aside.contains("\n4,,,,\"a\\\"\"b\","), "{set_aside}");
}

/// `inet`, `cidr` and `interval` values are read on the client in the forms PostgreSQL writes,
/// and every other form is left to the server: the rows are those of the server's own CSV
/// COPY, under both `IntervalStyle`s that read an interval's text differently.
#[tokio::test]
async fn addresses_and_intervals_match_server_copy() {
    let db = fresh_db("inet_interval").await;
    let inet = [
        "192.168.0.1",
        "192.168.0.1/24",
        "0.0.0.0/0",
        "::1",
        "::ffff:1.2.3.4/120",
        "2001:DB8::1/64",
        "10.0.0.1/32",
        "fe80::1",
        "255.255.255.255/0",
    ];
    let cidr = [
        "10.0.0.0/8",
        "192.168/16",
        "10.0.0.0",
        "::/0",
        "2001:db8::/32",
        "192.168.1.0/24",
        "1.2.3.4/32",
        "128.0.0.0/1",
        "10",
    ];
    let interval = [
        "1 year 2 mons 3 days 04:05:06.5",
        "-1 days +02:00:00",
        "-1 days 02:00:00",
        "25 hours",
        "2 weeks 1 day",
        "90 Minutes",
        "-00:00:00.000001",
        "100:30",
        "P1Y2M3DT4H5M6.5S",
        "PT-1.5S",
        "P-1DT2H",
        "1.5 days",
        "1 day ago",
        "@ 3 hours",
        "1:2:3",
        "00:00:00.1234567",
        "-1 2:03:04",
        "P1W",
        " 3 days ",
        "0",
        "1 mon -1 days",
        "-2 years -3 mons",
        "178956970 years",
        "12:34.5",
    ];
    let arrays = [
        "{1 day,P1W,NULL}",
        "{}",
        "{{1 hour},{\"-1 days +02:00:00\"}}",
        "{-1 days 02:00:00}",
    ];
    let quote = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
    let mut csv = String::from("a,c,i,ia\n");
    for k in 0..interval.len() {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            quote(inet[k % inet.len()]),
            quote(cidr[k % cidr.len()]),
            quote(interval[k]),
            quote(arrays[k % arrays.len()])
        ));
    }
    csv.push_str(",,,\n");
    let dir = crate::support::Dir::new();
    let file = dir.write("in.csv", &csv);
    db.exec("CREATE TABLE t_ref (a inet, c cidr, i interval, ia interval[]); CREATE TABLE t_barge (LIKE t_ref)")
        .await;
    for style in ["postgres", "sql_standard"] {
        db.exec(&format!(
            "TRUNCATE t_ref, t_barge; DROP TABLE IF EXISTS barge_checkpoint; \
             ALTER DATABASE \"{}\" SET IntervalStyle = {style}",
            db.name
        ))
        .await;
        // New sessions, which take the database's setting.
        crate::support::pg::server_copy_csv(&db.url, "t_ref", csv.as_bytes()).await;
        let v = crate::support::load_report(&file, &db.url, "t_barge", &[]);
        assert_eq!(v["format"], "binary", "{v}");
        let (count, _) = db.checksum("t_barge").await;
        assert_eq!(count, interval.len() as i64 + 1);
        if db.checksum("t_barge").await != db.checksum("t_ref").await {
            let diff = db
                .rows_text("SELECT * FROM t_ref EXCEPT ALL SELECT * FROM t_barge")
                .await;
            panic!("{style}: barge stored other rows than COPY; COPY's not in barge's: {diff:#?}");
        }
    }
}

/// `macaddr` and `macaddr8` values are read on the client in the forms exports hold (two-digit
/// groups by `:` or `-`, bare hex; a 6-byte address into `macaddr8` in its EUI-64 form), the
/// server's other forms are left to it: the rows are those of its own CSV COPY, and the load
/// stays binary. A bad address is refused with the server's reason.
#[tokio::test]
async fn mac_addresses_match_server_copy() {
    let db = fresh_db("macaddr").await;
    let csv = "m,m8,ma\n\
               08:00:2b:01:02:03,08:00:2b:01:02:03:04:05,\"{08:00:2b:01:02:03,NULL}\"\n\
               08-00-2B-01-02-0A,08:00:2b:01:02:03,{}\n\
               08002b01020a,08002b0102030405,{0800.2b01.0203}\n\
               0800.2b01.0203,0800.2b01.0203.0405,\n\
               8:0:2b:1:2:3,08002b:010203,\n\
               08002b-010203, 08:00:2b:01:02:03 ,\n\
               ,,\n";
    db.exec("CREATE TABLE t_ref (m macaddr, m8 macaddr8, ma macaddr[]); CREATE TABLE t_barge (LIKE t_ref)")
        .await;
    let dir = Dir::new();
    assert_loads_as_server_copy(&db, &dir, csv, 7, "binary").await;
    assert_refused(
        &db,
        &dir,
        "m,m8,ma\n08:00:2b:01:02,,\n",
        "invalid input syntax for type macaddr: \"08:00:2b:01:02\"",
    );
}

/// PostGIS' `geometry` and `geography` (in Debian: `postgresql-15-postgis-3`) load in binary
/// COPY: hex EWKB, what PostGIS itself writes, goes as its bytes; WKT and EWKT are resolved by
/// the server. The rows are those of its own CSV COPY, and a geometry its column's type
/// modifier refuses is refused with the server's reason.
#[tokio::test]
async fn postgis_geometries_load_in_binary_copy() {
    let db = fresh_db("postgis").await;
    if let Err(e) = db.client.batch_execute("CREATE EXTENSION postgis").await {
        panic!(
            "CREATE EXTENSION postgis failed ({e}): the PostGIS tests need it installed \
             (Debian: apt-get install postgresql-15-postgis-3)"
        );
    }
    db.exec(
        "CREATE TABLE t_ref (id int, g geometry, p geometry(Point, 4326), gg geography, \
         gs geometry[]); CREATE TABLE t_barge (LIKE t_ref)",
    )
    .await;
    // Hex EWKB as PostGIS writes it, from the server itself.
    let row = db
        .client
        .query_one(
            "SELECT ST_GeomFromEWKT('SRID=4326;POINT(1.5 -2)')::text, \
             ST_GeomFromEWKT('LINESTRING(0 0,1 1,2 0)')::text, \
             ST_GeomFromEWKT('SRID=3857;POLYGON((0 0,4 0,4 4,0 4,0 0))')::text",
            &[],
        )
        .await
        .expect("PostGIS' hex EWKB");
    let (point, line, poly): (String, String, String) = (row.get(0), row.get(1), row.get(2));
    // A geometry array's elements are separated by ':' (the type's delimiter).
    let csv = format!(
        "id,g,p,gg,gs\n\
         1,{line},{point},{point},\"{{{line}:{poly}}}\"\n\
         2,POINT(3 4),SRID=4326;POINT(5 6),POINT(7 8),\n\
         3,{poly},0101000020E6100000000000000000F03F0000000000000040,,\n\
         4,,,,\n"
    );
    let dir = Dir::new();
    assert_loads_as_server_copy(&db, &dir, &csv, 4, "binary").await;
    // A line into a column of points: the server's reason, from the binary input too.
    assert_refused(
        &db,
        &dir,
        &format!("id,g,p,gg,gs\n5,,{line},,\n"),
        "Geometry type (LineString) does not match column type (Point)",
    );
}

/// Multiranges are encoded on the client as their ranges are (the server sorts, merges and
/// puts discrete ones in canonical form on receipt): the rows are those of its own CSV COPY,
/// spaces, `empty`, overlapping and unordered ranges and quoted bounds (the server's) included.
/// A range whose bounds are out of order is refused with the server's reason.
#[tokio::test]
async fn multiranges_match_server_copy() {
    let db = fresh_db("multiranges").await;
    db.exec(
        "CREATE TABLE t_ref (i int4multirange, n nummultirange, d datemultirange, \
         tz tstzmultirange); CREATE TABLE t_barge (LIKE t_ref)",
    )
    .await;
    let csv = r#"i,n,d,tz
"{[1,3), [5,7)}","{[1.5,2.5]}","{[2024-01-01,2024-02-01)}","{[2024-01-01 00:00+02,2024-01-02 00:00Z)}"
"{ [5,7) ,[1,3] , empty }","{(,0), [0,1)}","{}",{}
"{[1,10), [2,3)}","{[""1"",2)}","{(2024-01-01,2024-01-31]}","{[2024-01-01T00:00:00.5Z,)}"
{},{empty},"{[2024-01-01,infinity)}",
,,,
"#;
    let dir = Dir::new();
    assert_loads_as_server_copy(&db, &dir, csv, 5, "binary").await;
    assert_refused(
        &db,
        &dir,
        "i,n,d,tz\n\"{[1,3), [9,2)}\",,,\n",
        "range lower bound must be less than or equal to range upper bound",
    );
}

/// `timetz` values with an offset are read on the client; one without (the session zone's
/// offset on the current date), a zone name or an offset in seconds are the server's: the rows
/// are those of its own CSV COPY, in a session whose zone is not UTC.
#[tokio::test]
async fn times_with_zones_match_server_copy() {
    let db = fresh_db("timetz").await;
    db.exec(&format!(
        "ALTER DATABASE \"{}\" SET TimeZone = 'America/New_York'; \
         CREATE TABLE t_ref (t timetz, ta timetz[]); CREATE TABLE t_barge (LIKE t_ref)",
        db.name
    ))
    .await;
    let csv = "t,ta\n\
               04:05:06+02,\"{04:05:06Z,NULL}\"\n\
               04:05:06.789-08:00,{}\n\
               04:05:06Z,\n\
               04:05 +0530,\n\
               24:00:00+00,\n\
               00:00:00.000001-15:59,\n\
               12:00,\n\
               04:05:06 PST,\n\
               04:05:06+02:30:15,\n\
               allballs,\n\
               ,\n";
    let dir = Dir::new();
    assert_loads_as_server_copy(&db, &dir, csv, 11, "binary").await;
    assert_refused(
        &db,
        &dir,
        "t,ta\n25:00+02,\n",
        "date/time field value out of range",
    );
}

/// `bit(n)` keeps the text COPY: the server's cast to `bit(n)` pads or cuts a bit string, where
/// `COPY` refuses one of the wrong length, as barge must too.
#[tokio::test]
async fn fixed_length_bit_strings_fall_back_to_text_copy() {
    let db = fresh_db("text_fallback").await;
    db.exec(
        "CREATE TABLE t_ref (id int, b bit(3), tags text[]); CREATE TABLE t_barge (LIKE t_ref)",
    )
    .await;
    let good = "id,b,tags\n1,101,\"{a,b}\"\n2,,\"[\"\"c\"\"]\"\n";
    db.server_copy(
        "t_ref",
        "FORMAT csv, HEADER true",
        b"id,b,tags\n1,101,\"{a,b}\"\n2,,{c}\n",
    )
    .await;
    let dir = Dir::new();
    let file = dir.write("in.csv", good);
    let v = crate::support::load_report(&file, &db.url, "t_barge", &[]);
    assert_eq!(v["format"], "text", "{v}");
    assert_eq!(db.checksum("t_barge").await, db.checksum("t_ref").await);
    assert_refused(
        &db,
        &dir,
        "id,b,tags\n3,10,{}\n",
        "bit string length 2 does not match type bit(3)",
    );
}

#[tokio::test]
async fn domains_and_enums_are_encoded_by_their_base_type() {
    let db = fresh_db("domains").await;
    db.exec(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); \
         CREATE DOMAIN posint AS integer CHECK (VALUE > 0); \
         CREATE DOMAIN money2 AS numeric(8,2);",
    )
    .await;
    let csv = b"m,p,x\nhappy,1,1.005\nsad,2147483647,-999999.994\n,,\n";
    let (count, _) = assert_same_as_server_copy(
        &db,
        "m mood, p posint, x money2",
        csv,
        "FORMAT csv, HEADER true",
        &[],
    )
    .await;
    assert_eq!(count, 3);
}

/// The built-in ranges are encoded on the client (bounds by their element's encoder, infinite
/// and inclusive flags), and the server still puts discrete ones in canonical form: the rows
/// are those of its own CSV COPY, forms it alone reads (quoted bounds, `infinity`) included.
/// A range whose bounds are out of order is refused with the server's reason.
#[tokio::test]
async fn ranges_match_server_copy() {
    let db = fresh_db("ranges").await;
    let csv = r#"i4,i8,n,ts,tz,d,rs
"[1,5)","[-9223372036854775808,9223372036854775807)","[1.5,2.25]","[2024-01-01 00:00,2024-01-02 00:00)","[2024-01-01 00:00+02,2024-01-02 00:00Z)","[2024-01-01,2024-02-01)","{""[1,2)"",empty}"
"[1,5]","(,0]","(,)","(,2024-01-01 00:00]","[2024-01-01T00:00:00.5Z,)","(2024-01-01,2024-01-31]",{}
empty,EMPTY,empty,empty,empty,empty,"{""(,)"",NULL}"
" [ 3 , 4 ] ","(5,6)","[1e2,1e3)","[""2024-01-01 00:00"",infinity)","[-infinity,infinity]","[epoch,2000-01-01]","{""[\""1\"",2]""}"
"[7,7)","[8,8]","[0,0]","[2024-01-01 00:00,2024-01-01 00:00)","[2024-01-01 00:00+00,2024-01-01 00:00+00]","[2024-02-29,2024-03-01)",
,,,,,,
"#;
    let (count, _) = assert_same_as_server_copy(
        &db,
        "i4 int4range, i8 int8range, n numrange, ts tsrange, tz tstzrange, d daterange, \
         rs int4range[]",
        csv.as_bytes(),
        "FORMAT csv, HEADER true",
        &[],
    )
    .await;
    assert_eq!(count, 6);
    let dir = crate::support::Dir::new();
    let bad = dir.write("bad.csv", "i4\n\"[5,1)\"\n");
    let run = crate::support::load_file(&bad, &db.url, "t_barge", &["--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("at record 2 (line 2)")
            && run
                .stderr
                .contains("range lower bound must be less than or equal to range upper bound"),
        "{}",
        run.stderr
    );
    let ok = dir.write("ok.csv", "i4\n\"[5,10)\"\n");
    let v = crate::support::load_report(&ok, &db.url, "t_barge", &[]);
    assert_eq!(v["format"], "binary", "{v}");
}

/// `citext` (an extension type, so with an OID of its own in each database) takes text's
/// binary form: the load stays binary COPY and stores what the server's own COPY stores, in a
/// column, an array and a domain over it.
#[tokio::test]
async fn citext_columns_load_in_binary_copy() {
    let db = fresh_db("citext").await;
    db.exec("CREATE EXTENSION citext; CREATE DOMAIN email AS citext CHECK (VALUE LIKE '%@%')")
        .await;
    db.exec("CREATE TABLE t_ref (id int, c citext, cs citext[], e email); CREATE TABLE t_barge (LIKE t_ref)")
        .await;
    let csv =
        "id,c,cs,e\n1,Hello,\"{A,b}\",Ann@Example.com\n2,,{},\n3,\"\",\"{\"\"x y\"\",NULL}\",b@c\n";
    db.server_copy("t_ref", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    let dir = crate::support::Dir::new();
    let file = dir.write("in.csv", csv);
    let v = crate::support::load_report(&file, &db.url, "t_barge", &[]);
    assert_eq!(v["format"], "binary", "{v}");
    assert_eq!(db.checksum("t_barge").await, db.checksum("t_ref").await);
    let found = db
        .rows_text("SELECT id FROM t_barge WHERE c = 'HELLO' AND e = 'ann@example.COM'")
        .await;
    assert_eq!(found, ["(1)"]);
    // The domain's check still holds.
    let bad = dir.write("bad.csv", "id,c,cs,e\n4,,,nobody\n");
    let run = crate::support::load_file(&bad, &db.url, "t_barge", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("violates check constraint \"email_check\""),
        "{}",
        run.stderr
    );
}

/// Array columns, as the server's own CSV COPY reads their literals: quoting, escapes, NULLs,
/// several dimensions, bounds, whitespace, and element types of every kind (an enum's, a
/// length-limited one's, one barge leaves to the server). Encoded in binary on the client,
/// except what only the server reads (`[0:1]=`, `epoch`).
#[tokio::test]
async fn arrays_match_server_copy() {
    let db = fresh_db("arrays").await;
    db.exec("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        .await;
    let csv = r#"t,i,n,m,v,tz,u,jb,b,d,ip
"{a,""b c"",""\""q\"""",NULL,""NULL"","""",  sp  ace ,é€}","{1,-2,NULL}","{{1.5,2},{3,NaN}}","{sad,happy}","{ab,""ab "",xyz}","{""2024-01-02 03:04:05+02"",2024-06-01T00:00:00Z}","{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}","{""{\""b\"":1,\""a\"":2}"",""[1]"",NULL}","{t,f,NULL}","{2024-02-29,epoch}","{10.0.0.1,::1}"
{},{},{},{},{},{},{},{},{},{},{}
,,,,,,,,,,
"{{a,b},{c,d}}","[0:1]={7,8}","{{{1}},{{2}}}","{ok}",{x},"{}","{NULL}","{}","{1,0}","{{2024-01-01}}","{}"
"#
    .as_bytes();
    let (count, _) = assert_same_as_server_copy(
        &db,
        "t text[], i int[], n numeric(6,2)[], m mood[], v varchar(3)[], tz timestamptz[], \
         u uuid[], jb jsonb[], b boolean[], d date[], ip inet[]",
        csv,
        "FORMAT csv, HEADER true",
        &[],
    )
    .await;
    assert_eq!(count, 4);
}

/// A JSON array (NDJSON, and so Python lists and Arrow lists) loads into an array column as
/// the same array's literal would; the server alone reads only the literal ("malformed array
/// literal").
#[tokio::test]
async fn json_arrays_load_into_array_columns() {
    let db = fresh_db("json_arrays").await;
    let cols = "id int, t text[], i bigint[], n numeric[], jb jsonb[], ip bit(2)[]";
    db.exec(&format!(
        "CREATE TABLE t_ref ({cols}); CREATE TABLE t_barge ({cols});"
    ))
    .await;
    db.server_copy(
        "t_ref",
        "FORMAT csv, HEADER true",
        br#"id,t,i,n,jb,ip
1,"{a,""b,\""c\"""",NULL,""""}","{1,NULL,-3}","{{1.50,2},{3,4}}","{""{\""k\"": [1, 2]}"",""\""s\"""",NULL}","{01}"
2,{},{},{},{},{}
3,"{x}",,,,
"#,
    )
    .await;
    let dir = crate::support::Dir::new();
    let file = dir.write(
        "rows.ndjson",
        r#"{"id":1,"t":["a","b,\"c\"",null,""],"i":[1,null,-3],"n":[[1.50,2],[3,4]],"jb":[{"k":[1,2]},"s",null],"ip":["01"]}
{"id":2,"t":[],"i":[],"n":[],"jb":[],"ip":[]}
{"id":3,"t":"{x}","i":null}
"#,
    );
    let run = crate::support::load_file(&file, &db.url, "t_barge", &[]);
    run.assert_ok();
    assert_eq!(db.checksum("t_barge").await, db.checksum("t_ref").await);
    // `ip bit(2)[]` is read by the server, so this load went as text COPY; without it, binary.
    assert!(run.all().contains("text COPY"), "{}", run.all());
    db.exec("ALTER TABLE t_barge DROP COLUMN ip; ALTER TABLE t_ref DROP COLUMN ip; TRUNCATE t_barge; DROP TABLE barge_checkpoint")
        .await;
    let run = crate::support::load_file(&file, &db.url, "t_barge", &["--ignore-unknown"]);
    run.assert_ok();
    assert!(run.all().contains("binary COPY"), "{}", run.all());
    assert_eq!(db.checksum("t_barge").await, db.checksum("t_ref").await);
    // INSERT statements (views, engines without COPY) carry arrays as binary parameters.
    db.exec("TRUNCATE t_barge; DROP TABLE barge_checkpoint")
        .await;
    crate::support::load_file(
        &file,
        &db.url,
        "t_barge",
        &["--ignore-unknown", "--mode", "insert"],
    )
    .assert_ok();
    assert_eq!(db.checksum("t_barge").await, db.checksum("t_ref").await);
}

/// A bad array is named down to its element, and set aside like any bad value.
#[tokio::test]
async fn bad_arrays_say_which_element_and_how_to_write_one() {
    let db = fresh_db("bad_arrays").await;
    db.exec("CREATE TABLE t (id int, i int[], t text[])").await;
    let dir = crate::support::Dir::new();
    let file = dir.write(
        "bad.csv",
        "id,i,t\n1,\"{1,2}\",\"{a}\"\n2,\"{1,99999999999}\",\"{a}\"\n3,\"{1}\",\"a,b\"\n4,\"[1,\"\"x\"\"]\",\"{b}\"\n",
    );
    let run = crate::support::load_file(&file, &db.url, "t", &[]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("line 3")
            && run.stderr.contains(
                "column \"i\": invalid value \"{1,99999999999}\": expected integer[]: element 2 (\"99999999999\"): out of range"
            ),
        "{}",
        run.stderr
    );
    let rejects = dir.path().join("rejects.csv");
    let run = crate::support::load_file(
        &file,
        &db.url,
        "t",
        &["--rejects", rejects.to_str().unwrap()],
    );
    // Exit code 3: loaded, with rows set aside.
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(db.checksum("t").await.0, 1);
    let reasons = std::fs::read_to_string(dir.path().join("rejects.csv.errors.jsonl")).unwrap();
    let lines: Vec<&str> = reasons.lines().collect();
    assert_eq!(lines.len(), 3, "{reasons}");
    assert!(lines[0].contains("element 2"), "{reasons}");
    assert!(
        lines[1].contains("an array is written {a,b,c} (or as a JSON array"),
        "{reasons}"
    );
    // The server's own reason for an element only it reads.
    assert!(
        lines[2].contains("invalid input syntax for type integer: \\\"x\\\""),
        "{reasons}"
    );
}
