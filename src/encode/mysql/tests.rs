use super::*;

fn enc(ty: &str, raw: &str) -> Result<String, String> {
    let mut out = Vec::new();
    match encode(&MyType::parse(ty), raw.as_bytes(), Some(0), &mut out) {
        Outcome::Done => Ok(String::from_utf8(out).unwrap()),
        Outcome::Reject(why) => Err(why),
        Outcome::Defer => Err("deferred".into()),
    }
}

#[test]
fn types_parse_from_the_catalog() {
    assert_eq!(
        MyType::parse("int(10) unsigned"),
        MyType::Int {
            bytes: 4,
            unsigned: true
        }
    );
    assert_eq!(
        MyType::parse("decimal(12,2)"),
        MyType::Decimal {
            precision: 12,
            scale: 2,
            unsigned: false
        }
    );
    assert_eq!(
        MyType::parse("enum('a','b''c','d,e')"),
        MyType::Enum(vec!["a".into(), "b'c".into(), "d,e".into()])
    );
    assert_eq!(
        MyType::parse("varchar(5) character set utf8mb3"),
        MyType::Chars {
            max: 5,
            charset: Charset::Utf8mb3
        }
    );
    assert_eq!(MyType::parse("datetime(3)"), MyType::Datetime(3));
    assert_eq!(MyType::parse("bit(12)"), MyType::Bit(12));
}

#[test]
fn exact_values_only() {
    assert_eq!(enc("tinyint(4)", "-128"), Ok("-128".into()));
    assert!(enc("tinyint(4)", "128").is_err());
    assert!(enc("tinyint(3) unsigned", "-1").is_err());
    assert_eq!(
        enc("bigint(20) unsigned", "18446744073709551615"),
        Ok("18446744073709551615".into())
    );
    assert!(enc("int(11)", "1.0").is_err());
    assert!(enc("int(11)", "1 2").is_err());
    assert_eq!(enc("decimal(5,2)", "123.40"), Ok("123.40".into()));
    assert!(enc("decimal(5,2)", "1.005").is_err());
    assert!(enc("decimal(5,2)", "1234.5").is_err());
    assert!(enc("decimal(5,2) unsigned", "-1").is_err());
    assert!(enc("double", "NaN").is_err());
    assert!(enc("float", "1e39").is_err());
    assert_eq!(enc("date", "2024-02-29"), Ok("2024-02-29".into()));
    assert!(enc("date", "2023-02-29").is_err());
    // Zero dates (old dumps are full of them) are refused as such, with what to do.
    let zero = "a zero date (MySQL's 0000-00-00, or a zero month or day), which a strict \
                session refuses: leave the field empty to load NULL";
    assert_eq!(enc("date", "0000-00-00"), Err(zero.into()));
    assert_eq!(enc("date", "2024-02-00"), Err(zero.into()));
    assert_eq!(enc("timestamp", "0000-00-00 00:00:00"), Err(zero.into()));
    assert_eq!(enc("datetime(6)", "2024-00-01 10:00:00"), Err(zero.into()));
    assert_eq!(
        enc("date", "2024-13-01"),
        Err("not a date (YYYY-MM-DD, year 0001 to 9999)".into())
    );
    assert_eq!(
        enc("datetime(3)", "2024-01-02T03:04:05.120"),
        Ok("2024-01-02 03:04:05.120".into())
    );
    // Digits past the column's precision go to the server, which rounds (MySQL) or cuts
    // (MariaDB) them as its own LOAD DATA and INSERT do.
    assert_eq!(
        enc("datetime", "2024-01-02 03:04:05.5"),
        Ok("2024-01-02 03:04:05.5".into())
    );
    assert_eq!(enc("time", "03:04:05.123"), Ok("03:04:05.123".into()));
    // One-digit months, days and hours, and no seconds, as the server reads them.
    assert_eq!(enc("date", "2024-1-2"), Ok("2024-01-02".into()));
    assert_eq!(
        enc("datetime", "2024-1-2 3:04"),
        Ok("2024-01-02 03:04:00".into())
    );
    assert_eq!(enc("time", "12:00"), Ok("12:00".into()));
    for bad in [
        "2024-1-",
        "24-01-02",
        "2024-001-02",
        "2024-01-02 03:4",
        "2024-01-02 03:04.5",
    ] {
        assert!(enc("datetime", bad).is_err(), "{bad}");
    }
    assert_eq!(
        enc("datetime", "2024-01-02 03:04:05+02:00"),
        Ok("2024-01-02 01:04:05".into())
    );
    assert_eq!(
        enc("datetime(3)", "2024-01-01T00:30:00.5-01:00"),
        Ok("2024-01-01 01:30:00.5".into())
    );
    assert!(enc("datetime", "2024-01-02 03:04:05+2").is_err());
    let mut out = Vec::new();
    let named = encode(
        &MyType::Datetime(0),
        b"2024-01-02 03:04:05Z",
        None,
        &mut out,
    );
    let Outcome::Reject(why) = named else {
        panic!("an offset with no fixed session offset to convert it to is refused");
    };
    assert_eq!(
        why,
        "has a UTC offset, and the session's time zone is not a fixed offset to convert it to \
         (SET time_zone = '+00:00', or drop the offset)"
    );
    assert_eq!(enc("tinyint(1)", "true"), Ok("1".into()));
    assert_eq!(enc("tinyint(1)", "N"), Ok("0".into()));
    assert!(enc("tinyint(4)", "true").is_err());
    assert!(enc("timestamp", "1970-01-01 00:00:00").is_err());
    assert!(enc("timestamp", "2038-01-19 03:14:08").is_err());
    assert_eq!(
        enc("timestamp", "2038-01-19 03:14:07"),
        Ok("2038-01-19 03:14:07".into())
    );
    assert_eq!(enc("time", "-838:59:59"), Ok("-838:59:59".into()));
    assert!(enc("time", "839:00:00").is_err());
    assert!(enc("year(4)", "1900").is_err());
    assert_eq!(enc("varchar(3)", "日本語"), Ok("日本語".into()));
    assert!(enc("varchar(3)", "日本語!").is_err());
    assert!(enc("varchar(3) character set utf8mb3", "😀").is_err());
    assert!(enc("char(3) character set latin1", "ā").is_err());
    assert!(enc("tinytext", &"x".repeat(256)).is_err());
    assert!(enc("varbinary(2)", "abc").is_err());
    assert!(enc("json", "{nope").is_err());
    assert_eq!(
        enc("json", "[1, {\"a\": null}]"),
        Ok("[1, {\"a\": null}]".into())
    );
    let mut out = Vec::new();
    assert!(matches!(
        encode(&MyType::parse("json"), b"[\"\xff\"]", Some(0), &mut out),
        Outcome::Reject(_)
    ));
    // Integers go as written only in MySQL's own form.
    assert_eq!(enc("int", "-17"), Ok("-17".into()));
    assert_eq!(enc("int", "007"), Ok("7".into()));
    assert_eq!(enc("int", "+5"), Ok("5".into()));
    assert_eq!(enc("int unsigned", "-0"), Ok("0".into()));
    assert_eq!(enc("enum('a','B')", "b"), Ok("b".into()));
    assert!(enc("enum('a','B')", "1").is_err());
    assert!(enc("enum('a','B')", "").is_err());
    assert_eq!(enc("set('a','b')", "a,b"), Ok("a,b".into()));
    assert!(enc("set('a','b')", "a,c").is_err());
    assert_eq!(enc("bit(3)", "7"), Ok("7".into()));
    assert!(enc("bit(3)", "8").is_err());
}

#[test]
fn escapes_round_trip() {
    let raw = b"a\\b\tc\nd\0e\rf";
    let mut out = Vec::new();
    escape_into(raw, &mut out);
    assert_eq!(out, b"a\\\\b\\tc\\nd\\0e\rf");
    assert_eq!(unescape(&out).unwrap(), raw);
    assert_eq!(unescape(NULL), None);
}

#[test]
fn an_offset_of_hours_alone_is_read() {
    // What PostgreSQL writes for a timestamptz (`+00`, `+05`, `-08`).
    assert_eq!(
        enc("datetime", "2024-01-02 03:04:05+00"),
        Ok("2024-01-02 03:04:05".into())
    );
    assert_eq!(
        enc("datetime(6)", "2024-01-02 03:04:05.5-08"),
        Ok("2024-01-02 11:04:05.5".into())
    );
}

#[test]
fn a_zone_after_a_space_or_named_utc_is_read() {
    // BigQuery's exports, and PostgreSQL's input: a space before the zone, `UTC` for it.
    assert_eq!(
        enc("datetime(6)", "2024-01-02 03:04:05.123456 UTC"),
        Ok("2024-01-02 03:04:05.123456".into())
    );
    assert_eq!(
        enc("datetime", "2024-01-02T03:04:05 +01:00"),
        Ok("2024-01-02 02:04:05".into())
    );
    assert_eq!(
        enc("datetime", "2024-01-02 03:04:05gmt"),
        Ok("2024-01-02 03:04:05".into())
    );
    // Nothing else after the time is a zone.
    assert!(enc("datetime", "2024-01-02 03:04:05 PST").is_err());
    assert!(enc("datetime", "2024-01-02 03:04:05 x").is_err());
    assert!(enc("datetime", "2024-01-02 03:04:05 +").is_err());
    // Spaces around the whole value are no part of it.
    assert_eq!(
        enc("datetime", " 2024-01-02 03:04:05 "),
        Ok("2024-01-02 03:04:05".into())
    );
    assert_eq!(enc("int", " 42 "), Ok("42".into()));
    assert_eq!(enc("char(4)", " 42 "), Ok(" 42 ".into()));
    // A date and time at midnight into a date is its day; another time is refused.
    assert_eq!(
        enc("date", "2024-01-02T00:00:00.000Z"),
        Ok("2024-01-02".into())
    );
    assert!(
        enc("date", "2024-01-02 00:00:01").is_err_and(|why| why.contains("keeps no time of day"))
    );
}
