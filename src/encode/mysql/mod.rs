//! Values for MySQL and MariaDB, checked on the client and written in the text form
//! `LOAD DATA` reads: fields split by tabs, rows by newlines, `\N` for NULL, and `\\`, `\t`,
//! `\n`, `\0` for the bytes that would otherwise be read as structure. Every byte of a value
//! reaches the server as it was.
//!
//! MySQL outside strict mode truncates, rounds and zero-dates what does not fit and only
//! warns; in strict mode it still rounds a decimal's extra fraction digits with a note. barge
//! accepts a value only when the column holds it exactly, and reads only canonical forms
//! (`2024-05-01 12:00:00`, not `20240501`): anything else is a bad row with the reason, never
//! a value changed on the way in.

mod parse;

use self::parse::{
    date, datetime_parts, decimal, in_int_range, int_name, integer, time, write_date,
    write_datetime,
};
use super::Outcome;

/// A column's type as MySQL declares it (`COLUMN_TYPE` in `information_schema.columns`, with
/// ` character set X` added for text columns not in utf8mb4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MyType {
    /// `tinyint(1)`, which is what `BOOLEAN` means: also takes `true`/`false`, `t`/`f`,
    /// `yes`/`no`, `y`/`n` (as 1 and 0), so that a column `--create` made from such values
    /// loads them.
    Bool,
    /// `tinyint` (1 byte) to `bigint` (8 bytes), signed or not.
    Int {
        /// Storage size in bytes: 1, 2, 3, 4 or 8.
        bytes: u8,
        /// `unsigned`.
        unsigned: bool,
    },
    /// `decimal(p,s)`.
    Decimal {
        /// Digits in all.
        precision: u32,
        /// Digits after the point.
        scale: u32,
        /// `unsigned`: no negative values.
        unsigned: bool,
    },
    /// `float`: single precision.
    Float,
    /// `double`.
    Double,
    /// `date`.
    Date,
    /// `datetime(fsp)`.
    Datetime(u8),
    /// `timestamp(fsp)`: UTC 1970-01-01 00:00:01 to 2038-01-19 03:14:07.
    Timestamp(u8),
    /// `time(fsp)`: -838:59:59 to 838:59:59.
    Time(u8),
    /// `year`: 1901 to 2155.
    Year,
    /// `char(n)`, `varchar(n)`: at most `n` characters.
    Chars {
        /// Characters at most.
        max: u64,
        /// What the column's character set holds.
        charset: Charset,
    },
    /// `tinytext` .. `longtext`: at most so many bytes.
    Text {
        /// Bytes at most.
        max_bytes: u64,
        /// What the column's character set holds.
        charset: Charset,
    },
    /// `binary(n)`, `varbinary(n)`, `tinyblob` .. `longblob`: at most so many bytes, as given.
    Bytes {
        /// Bytes at most.
        max_bytes: u64,
    },
    /// `json` (MySQL's own; MariaDB's is `longtext` with a check).
    Json,
    /// `enum(...)`: one of the members.
    Enum(Vec<String>),
    /// `set(...)`: members separated by commas.
    Set(Vec<String>),
    /// `bit(n)`: an unsigned integer of at most `n` bits, sent through `CAST(... AS UNSIGNED)`.
    Bit(u32),
    /// Anything else (spatial types...): passed on as text for the server to read.
    Other,
}

/// The characters a text column can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// utf8mb4 (and any charset barge does not check further): all of Unicode.
    Utf8mb4,
    /// utf8mb3 (`utf8` in older versions): no character above U+FFFF.
    Utf8mb3,
    /// latin1 and ascii: no character above U+00FF (U+007F for ascii).
    Latin1 {
        /// ascii rather than latin1.
        ascii: bool,
    },
}

impl MyType {
    /// Reads a column's declared type.
    pub fn parse(column_type: &str) -> MyType {
        let lower = column_type.to_ascii_lowercase();
        let (decl, charset) = match lower.split_once(" character set ") {
            Some((d, cs)) => (d.trim().to_string(), Charset::parse(cs.trim())),
            None => (lower.trim().to_string(), Charset::Utf8mb4),
        };
        let unsigned = decl.contains("unsigned");
        let name_end = decl
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(decl.len());
        let name = &decl[..name_end];
        let args = decl[name_end..]
            .trim_start()
            .strip_prefix('(')
            .and_then(|r| r.rfind(')').map(|end| &r[..end]))
            .unwrap_or("");
        let nums: Vec<u64> = args
            .split(',')
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        let n = |i: usize, default: u64| nums.get(i).copied().unwrap_or(default);
        let fsp = || n(0, 0).min(6) as u8;
        match name {
            "tinyint" if nums.first() == Some(&1) && !unsigned => MyType::Bool,
            "bool" | "boolean" => MyType::Bool,
            "tinyint" => MyType::Int { bytes: 1, unsigned },
            "smallint" => MyType::Int { bytes: 2, unsigned },
            "mediumint" => MyType::Int { bytes: 3, unsigned },
            "int" | "integer" => MyType::Int { bytes: 4, unsigned },
            "bigint" => MyType::Int { bytes: 8, unsigned },
            "decimal" | "numeric" | "dec" | "fixed" => MyType::Decimal {
                precision: n(0, 10) as u32,
                scale: n(1, 0) as u32,
                unsigned,
            },
            "float" => MyType::Float,
            "double" | "real" => MyType::Double,
            "date" => MyType::Date,
            "datetime" => MyType::Datetime(fsp()),
            "timestamp" => MyType::Timestamp(fsp()),
            "time" => MyType::Time(fsp()),
            "year" => MyType::Year,
            "char" | "varchar" => MyType::Chars {
                max: n(0, 1),
                charset,
            },
            "tinytext" => MyType::Text {
                max_bytes: 255,
                charset,
            },
            "text" => MyType::Text {
                max_bytes: 65_535,
                charset,
            },
            "mediumtext" => MyType::Text {
                max_bytes: 16_777_215,
                charset,
            },
            "longtext" => MyType::Text {
                max_bytes: 4_294_967_295,
                charset,
            },
            "binary" | "varbinary" => MyType::Bytes { max_bytes: n(0, 1) },
            "tinyblob" => MyType::Bytes { max_bytes: 255 },
            "blob" => MyType::Bytes { max_bytes: 65_535 },
            "mediumblob" => MyType::Bytes {
                max_bytes: 16_777_215,
            },
            "longblob" => MyType::Bytes {
                max_bytes: 4_294_967_295,
            },
            "json" => MyType::Json,
            "enum" => MyType::Enum(members(column_type)),
            "set" => MyType::Set(members(column_type)),
            "bit" => MyType::Bit(n(0, 1) as u32),
            _ => MyType::Other,
        }
    }
}

impl Charset {
    fn parse(name: &str) -> Charset {
        match name {
            "utf8mb3" | "utf8" => Charset::Utf8mb3,
            "latin1" => Charset::Latin1 { ascii: false },
            "ascii" => Charset::Latin1 { ascii: true },
            _ => Charset::Utf8mb4,
        }
    }
}

/// The members of `enum('a','b''c')` as the catalog writes them (quotes doubled inside).
fn members(column_type: &str) -> Vec<String> {
    let Some(start) = column_type.find('(') else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut chars = column_type[start + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut m = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    m.push('\'');
                }
                '\'' => break,
                '\\' => {
                    if let Some(next) = chars.next() {
                        m.push(next);
                    }
                }
                c => m.push(c),
            }
        }
        out.push(m);
    }
    out
}

/// What `LOAD DATA` reads as NULL.
pub const NULL: &[u8] = b"\\N";

/// Appends `bytes` escaped for `LOAD DATA ... FIELDS TERMINATED BY '\t' ESCAPED BY '\\'
/// LINES TERMINATED BY '\n'`.
pub fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    // Most values need no escape: a check without early exit, which the compiler vectorizes,
    // then one copy.
    let special = bytes.iter().fold(false, |any, &b| {
        any | matches!(b, b'\\' | b'\t' | b'\n' | 0)
    });
    if !special {
        out.extend_from_slice(bytes);
        return;
    }
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0 => b"\\0",
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..i]);
        out.extend_from_slice(esc);
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
}

/// The inverse of [`escape_into`] for one field (`None` for `\N`): for `--mode insert`, which
/// binds each value as a parameter.
pub fn unescape(field: &[u8]) -> Option<Vec<u8>> {
    if field == NULL {
        return None;
    }
    let mut out = Vec::with_capacity(field.len());
    let mut it = field.iter();
    while let Some(&b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next() {
            Some(b't') => out.push(b'\t'),
            Some(b'n') => out.push(b'\n'),
            Some(b'0') => out.push(0),
            Some(&other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    Some(out)
}

/// Appends one non-NULL value of type `ty` read from its text `raw`, escaped; on a reject the
/// output is left as it was. `zone` is the session time zone's offset from UTC when it is a
/// fixed one (`+00:00`, or `SYSTEM` on a UTC machine): it turns a timestamp given with an
/// offset into the session's local time (as MySQL 8 does), and places a `timestamp` on the
/// UTC range it must fall in. `None` (a named zone with daylight saving) leaves values with an
/// offset as bad rows, and the range to the server.
pub fn encode(ty: &MyType, raw: &[u8], zone: Option<i64>, out: &mut Vec<u8>) -> Outcome {
    let start = out.len();
    let result = check(ty, raw, zone, out);
    if result != Outcome::Done {
        out.truncate(start);
    }
    result
}

/// `0`, or `-?[1-9][0-9]*`: an integer as MySQL prints it.
fn plain_integer(raw: &[u8]) -> bool {
    let digits = raw.strip_prefix(b"-").unwrap_or(raw);
    raw == b"0"
        || (digits.first().is_some_and(|&b| b != b'0') && digits.iter().all(u8::is_ascii_digit))
}

fn check(ty: &MyType, raw: &[u8], zone: Option<i64>, out: &mut Vec<u8>) -> Outcome {
    // Spaces around a number, date or time (`1, 20.5, 2024-01-02`: a CSV written with a space
    // after each comma) are no part of it: PostgreSQL and SQLite read it so, and MySQL does
    // too, but with a note that a load takes for a refused row. Text keeps them.
    let raw = match ty {
        MyType::Chars { .. }
        | MyType::Text { .. }
        | MyType::Bytes { .. }
        | MyType::Json
        | MyType::Enum(_)
        | MyType::Set(_)
        | MyType::Other => raw,
        _ => raw.trim_ascii(),
    };
    let text = || std::str::from_utf8(raw).map_err(|_| Outcome::Reject(super::not_utf8(raw)));
    let done = |out: &mut Vec<u8>, bytes: &[u8]| {
        escape_into(bytes, out);
        Outcome::Done
    };
    match ty {
        MyType::Bool => match raw.to_ascii_lowercase().as_slice() {
            b"true" | b"t" | b"yes" | b"y" => done(out, b"1"),
            b"false" | b"f" | b"no" | b"n" => done(out, b"0"),
            _ => match integer(raw) {
                Some(v) if in_int_range(v, 1, false) => done(out, v.to_string().as_bytes()),
                Some(_) => Outcome::Reject("out of range for tinyint".into()),
                None => Outcome::Reject("not a boolean (true/false) or an integer".into()),
            },
        },
        MyType::Int { bytes, unsigned } => match integer(raw) {
            // Sent as written unless a '+' or leading zeros make it other than MySQL's text.
            Some(v) if in_int_range(v, *bytes, *unsigned) && plain_integer(raw) => done(out, raw),
            Some(v) if in_int_range(v, *bytes, *unsigned) => done(out, v.to_string().as_bytes()),
            Some(_) => Outcome::Reject(format!(
                "out of range for {}{}",
                int_name(*bytes),
                if *unsigned { " unsigned" } else { "" }
            )),
            None => Outcome::Reject("not an integer".into()),
        },
        MyType::Decimal {
            precision,
            scale,
            unsigned,
        } => match decimal(raw, *precision, *scale, *unsigned) {
            Ok(()) => done(out, raw),
            Err(why) => Outcome::Reject(why),
        },
        MyType::Float | MyType::Double => {
            let Ok(s) = text() else {
                return Outcome::Reject("not a number".into());
            };
            let plain = !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
            match s.parse::<f64>() {
                Ok(v) if plain && v.is_finite() => {
                    if *ty == MyType::Float && v.abs() > f64::from(f32::MAX) {
                        return Outcome::Reject("out of range for float".into());
                    }
                    done(out, raw)
                }
                _ => Outcome::Reject("not a finite number (MySQL has no NaN or Infinity)".into()),
            }
        }
        MyType::Date => match date(raw).or_else(|| midnight(raw)) {
            Some(_) if raw.len() == 10 => done(out, raw),
            // `2024-1-2`, written out as `2024-01-02`.
            Some(days) if write_date(days, out) => Outcome::Done,
            Some(_) => Outcome::Reject("not a date (YYYY-MM-DD, year 0001 to 9999)".into()),
            None if datetime_parts(raw).is_some() => Outcome::Reject(
                "a date and time, and a DATE column keeps no time of day: load it into a \
                 DATETIME column, or give the day alone"
                    .into(),
            ),
            None => Outcome::Reject(
                zero_date(raw)
                    .unwrap_or_else(|| "not a date (YYYY-MM-DD, year 0001 to 9999)".into()),
            ),
        },
        MyType::Datetime(_) | MyType::Timestamp(_) => {
            let Some((mut days, mut secs, frac, offset)) = datetime_parts(raw) else {
                return Outcome::Reject(zero_date(raw).unwrap_or_else(|| {
                    "not a date and time (YYYY-MM-DD HH:MM:SS[.ffffff], optionally Z or an offset)"
                        .into()
                }));
            };
            // Fractional digits past the column's `fsp` go as they are: the server rounds them
            // (MySQL) or cuts them (MariaDB), as its own LOAD DATA and INSERT do without a
            // warning, and as PostgreSQL rounds a `timestamp(0)`. Refused, every row of an
            // export with milliseconds was a bad row for a DATETIME column, the commonest
            // kind; a decimal's digits, an amount's, are still never dropped.
            if let Some(given) = offset {
                let Some(session) = zone else {
                    return Outcome::Reject(
                        "has a UTC offset, and the session's time zone is not a fixed offset to \
                         convert it to (SET time_zone = '+00:00', or drop the offset)"
                            .into(),
                    );
                };
                let local = days * 86_400 + secs - given + session;
                days = local.div_euclid(86_400);
                secs = local.rem_euclid(86_400);
            }
            if let (MyType::Timestamp(_), Some(session)) = (ty, zone) {
                // The session's local time, as UTC seconds since 1970.
                let utc = days * 86_400 + secs - session;
                if !(1..=2_147_483_647).contains(&utc) {
                    return Outcome::Reject(
                        "outside timestamp's range (1970-01-01 00:00:01 to 2038-01-19 03:14:07 \
                         UTC in the session's time zone)"
                            .into(),
                    );
                }
            }
            // Past microseconds, which neither server keeps, digits are cut here: MariaDB
            // cuts them too but with a note, which a load takes for a refused row.
            let frac = frac.get(..6).unwrap_or(frac);
            // Digits, a dash, colons and a space: nothing to escape.
            if !write_datetime(days, secs, frac, out) {
                return Outcome::Reject("outside the years 0001 to 9999".into());
            }
            Outcome::Done
        }
        // Fractional digits past `fsp` go to the server, as a datetime's do.
        MyType::Time(_) => match time(raw) {
            // The fraction is the value's end: past microseconds it is cut, as a datetime's.
            Some(frac) => done(out, &raw[..raw.len() - frac.len().saturating_sub(6)]),
            None => Outcome::Reject("not a time ([-]HHH:MM:SS[.ffffff], at most 838:59:59)".into()),
        },
        MyType::Year => match integer(raw) {
            Some(v) if (1901..=2155).contains(&v) && raw.len() == 4 => done(out, raw),
            _ => Outcome::Reject("not a year from 1901 to 2155".into()),
        },
        MyType::Chars { max, charset } => {
            let Ok(s) = text() else {
                return Outcome::Reject(super::not_utf8(raw));
            };
            if let Err(why) = fits_charset(s, *charset) {
                return Outcome::Reject(why);
            }
            // Bytes bound characters: count only values that might be too long.
            if raw.len() as u64 > *max {
                let n = s.chars().count() as u64;
                if n > *max {
                    return Outcome::Reject(format!(
                        "{n} characters, more than the column's {max}"
                    ));
                }
            }
            done(out, raw)
        }
        MyType::Text { max_bytes, charset } => {
            let Ok(s) = text() else {
                return Outcome::Reject(super::not_utf8(raw));
            };
            if let Err(why) = fits_charset(s, *charset) {
                return Outcome::Reject(why);
            }
            if raw.len() as u64 > *max_bytes {
                return Outcome::Reject(format!(
                    "{} bytes, more than the column's {max_bytes}",
                    raw.len()
                ));
            }
            done(out, raw)
        }
        MyType::Bytes { max_bytes } => {
            if raw.len() as u64 > *max_bytes {
                return Outcome::Reject(format!(
                    "{} bytes, more than the column's {max_bytes}",
                    raw.len()
                ));
            }
            done(out, raw)
        }
        // The check reads JSON's grammar and its UTF-8.
        MyType::Json => match crate::encode::json::check(raw) {
            crate::encode::json::Json::Valid { .. } => done(out, raw),
            // serde_json says where and why.
            _ => match serde_json::from_slice::<&serde_json::value::RawValue>(raw) {
                Ok(_) => done(out, raw),
                Err(e) => Outcome::Reject(format!("not JSON: {e}")),
            },
        },
        MyType::Enum(members) => {
            let Ok(s) = text() else {
                return Outcome::Reject(super::not_utf8(raw));
            };
            match members.iter().find(|m| same_member(m, s)) {
                Some(_) => done(out, raw),
                None => Outcome::Reject(format!("not one of {}", list(members))),
            }
        }
        MyType::Set(members) => {
            let Ok(s) = text() else {
                return Outcome::Reject(super::not_utf8(raw));
            };
            if s.is_empty() {
                return done(out, raw);
            }
            match s
                .split(',')
                .find(|v| !members.iter().any(|m| same_member(m, v)))
            {
                None => done(out, raw),
                Some(v) => Outcome::Reject(format!("{v:?} is not one of {}", list(members))),
            }
        }
        MyType::Bit(bits) => match integer(raw) {
            Some(v) if v >= 0 && (*bits >= 64 || (v as u128) < (1u128 << bits)) => {
                done(out, v.to_string().as_bytes())
            }
            _ => Outcome::Reject(format!("not an unsigned integer of at most {bits} bits")),
        },
        MyType::Other => done(out, raw),
    }
}

/// The day of a date and time at midnight (`2024-01-02 00:00:00`, `2024-01-02T00:00:00.000Z`:
/// how many exports and JavaScript's `toISOString` write a date), as days since 1970: the
/// date as written, whatever its offset, as PostgreSQL reads it into a `date`. Another time
/// of day is not taken: the column would lose it.
fn midnight(raw: &[u8]) -> Option<i64> {
    let (days, secs, frac, _) = datetime_parts(raw)?;
    (secs == 0 && frac.bytes().all(|b| b == b'0')).then_some(days)
}

fn list(members: &[String]) -> String {
    let quoted: Vec<String> = members.iter().map(|m| format!("'{m}'")).collect();
    quoted.join(", ")
}

/// MySQL compares members by the column's collation, which for the usual `_ci` ones ignores
/// case and trailing spaces.
fn same_member(member: &str, value: &str) -> bool {
    let value = value.trim_end_matches(' ');
    member == value || member.to_lowercase() == value.to_lowercase()
}

/// Why a zero date (`0000-00-00`, or a zero month or day: what MySQL writes for "no date"
/// outside strict mode, and what old dumps are full of) is refused, said as such: the strict
/// session refuses it, and an empty field is the NULL it stands for.
fn zero_date(raw: &[u8]) -> Option<String> {
    let head = raw.get(..10)?;
    let digits = |r: std::ops::Range<usize>| head[r].iter().all(u8::is_ascii_digit);
    let shaped =
        head[4] == b'-' && head[7] == b'-' && digits(0..4) && digits(5..7) && digits(8..10);
    let zero = &head[..4] == b"0000" || &head[5..7] == b"00" || &head[8..10] == b"00";
    (shaped && zero).then(|| {
        "a zero date (MySQL's 0000-00-00, or a zero month or day), which a strict session \
         refuses: leave the field empty to load NULL"
            .into()
    })
}

fn fits_charset(s: &str, charset: Charset) -> Result<(), String> {
    let (limit, name) = match charset {
        Charset::Utf8mb4 => return Ok(()),
        Charset::Utf8mb3 => ('\u{FFFF}', "utf8mb3"),
        Charset::Latin1 { ascii: false } => ('\u{FF}', "latin1"),
        Charset::Latin1 { ascii: true } => ('\u{7F}', "ascii"),
    };
    match s.chars().find(|&c| c > limit) {
        None => Ok(()),
        Some(c) => Err(format!(
            "the character {c:?} (U+{:04X}) is not in the column's character set {name}",
            c as u32
        )),
    }
}

#[cfg(test)]
mod tests;
