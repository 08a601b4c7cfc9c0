//! Every supported type, its edge values, and the forms only the server reads: barge must
//! store exactly what the server's own CSV COPY stores.

use crate::support::{assert_same_as_server_copy, fresh_db};

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

#[tokio::test]
async fn unsupported_types_fall_back_to_text_copy() {
    let db = fresh_db("text_fallback").await;
    let csv = b"id,addr,tags,note,r
1,192.168.0.1/24,\"{a,b}\",\"back\\slash\ttab\",\"[1,5)\"
2,::1,{},,empty
3,,,\"\",
";
    let cols = "id int, addr inet, tags text[], note text, r int4range";
    let (count, _) =
        assert_same_as_server_copy(&db, cols, csv, "FORMAT csv, HEADER true", &[]).await;
    assert_eq!(count, 3);
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
