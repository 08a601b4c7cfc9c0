//! `date`, `time`, `timestamp` and `timestamptz` from ISO 8601 text.
//!
//! Only the forms nearly every file uses are parsed here (`2024-03-01`, `2024-03-01
//! 12:30:00.123+01:00`, `T` or space, `Z` or an offset); everything else PostgreSQL accepts
//! (`epoch`, `infinity`, `March 1 2024`, BC dates, time zone names) is deferred to the server,
//! which is the oracle. Values that cannot be a date in any form are rejected here.

use super::Outcome;

/// Days from 0000-03-01 to 2000-01-01 in the proleptic Gregorian calendar, as computed by
/// [`days_from_civil`].
const PG_EPOCH_DAYS: i64 = 730_425;
const USECS_PER_DAY: i64 = 86_400_000_000;

/// Days since 0000-03-01 (Howard Hinnant's `days_from_civil`, shifted).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe
}

/// The inverse of [`days_from_civil`]: (year, month, day).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let era = days.div_euclid(146_097);
    let doe = days - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Writes `YYYY-MM-DD` for a day counted from 2000-01-01 (the binary `date`), as ISO 8601 text
/// for targets without a date type (SQLite), whose date functions read this form.
pub fn write_iso_date(out: &mut Vec<u8>, days_since_2000: i64) {
    use std::io::Write;
    let (y, m, d) = civil_from_days(days_since_2000 + PG_EPOCH_DAYS);
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
}

/// Writes `HH:MM:SS` and, when there are any, `.ffffff` microseconds.
pub fn write_iso_time(out: &mut Vec<u8>, usecs: i64) {
    use std::io::Write;
    let secs = usecs / 1_000_000;
    let frac = usecs % 1_000_000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let digits = format!("{frac:06}");
        let _ = write!(out, ".{}", digits.trim_end_matches('0'));
    }
}

/// Writes `YYYY-MM-DD HH:MM:SS[.ffffff]` for microseconds since 2000-01-01 (the binary
/// `timestamp`).
pub fn write_iso_timestamp(out: &mut Vec<u8>, usecs_since_2000: i64) {
    let days = usecs_since_2000.div_euclid(USECS_PER_DAY);
    write_iso_date(out, days);
    out.push(b' ');
    write_iso_time(out, usecs_since_2000.rem_euclid(USECS_PER_DAY));
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |acc, d| acc * 10 + (d - b'0') as i64))
}

/// The result of reading a prefix: a value, "not a form we read" (defer), or "impossible".
enum Parsed<T> {
    Ok(T),
    Defer,
    Reject(String),
}

/// `YYYY-MM-DD` at the start of `s`; returns days since 2000-01-01.
fn parse_date(s: &[u8]) -> Parsed<i64> {
    if s.len() < 10 || s[4] != b'-' || s[7] != b'-' {
        return Parsed::Defer;
    }
    let (Some(y), Some(m), Some(d)) = (digits(&s[0..4]), digits(&s[5..7]), digits(&s[8..10]))
    else {
        return Parsed::Defer;
    };
    if y == 0 {
        // Year 0 does not exist in PostgreSQL's calendar.
        return Parsed::Reject("date/time field value out of range".into());
    }
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Parsed::Reject("date/time field value out of range".into());
    }
    Parsed::Ok(days_from_civil(y, m, d) - PG_EPOCH_DAYS)
}

/// `HH:MM[:SS[.fff...]]` exactly; returns microseconds since midnight.
fn parse_time(s: &[u8]) -> Parsed<i64> {
    if s.len() < 5 || s[2] != b':' {
        return Parsed::Defer;
    }
    let (Some(h), Some(mi)) = (digits(&s[0..2]), digits(&s[3..5])) else {
        return Parsed::Defer;
    };
    let mut sec = 0;
    let mut usec = 0;
    let rest = &s[5..];
    if !rest.is_empty() {
        if rest.len() < 3 || rest[0] != b':' {
            return Parsed::Defer;
        }
        let Some(ss) = digits(&rest[1..3]) else {
            return Parsed::Defer;
        };
        sec = ss;
        let frac = &rest[3..];
        if !frac.is_empty() {
            if frac[0] != b'.' {
                return Parsed::Defer;
            }
            let f = &frac[1..];
            if f.is_empty() || f.len() > 18 || !f.iter().all(u8::is_ascii_digit) {
                return Parsed::Defer;
            }
            usec = match digits(f) {
                Some(v) if f.len() <= 6 => v * 10i64.pow(6 - f.len() as u32),
                // Nanoseconds (pandas, Java's Instant, Go): rounded as the server rounds
                // them, `rint(strtod(".fff...") * 1e6)` (ParseFractionalSecond): the same
                // correctly rounded parse, the same product, ties to even. It may carry
                // into the next second.
                _ => match std::str::from_utf8(frac)
                    .ok()
                    .and_then(|t| t.parse::<f64>().ok())
                {
                    Some(x) => (x * 1_000_000.0).round_ties_even() as i64,
                    None => return Parsed::Defer,
                },
            };
        }
    }
    if sec == 60 {
        // A leap second: PostgreSQL carries it into the next minute; let it.
        return Parsed::Defer;
    }
    let total = ((h * 60 + mi) * 60 + sec) * 1_000_000 + usec;
    if h > 24 || mi > 59 || sec > 59 || total > USECS_PER_DAY {
        return Parsed::Reject("date/time field value out of range".into());
    }
    Parsed::Ok(total)
}

/// `Z`, `UTC`, `GMT`, `+HH`, `+HH:MM`, `+HHMM` (or `-`); returns seconds east of UTC.
fn parse_offset(s: &[u8]) -> Option<i64> {
    // The zone names of offset 0 that every server's abbreviation table has (in any case:
    // PostgreSQL lower-cases them).
    if [&b"Z"[..], b"UTC", b"GMT", b"UT"]
        .iter()
        .any(|z| s.eq_ignore_ascii_case(z))
    {
        return Some(0);
    }
    let sign = match s.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &s[1..];
    let (h, m) = match body.len() {
        2 => (digits(body)?, 0),
        4 => (digits(&body[..2])?, digits(&body[2..])?),
        5 if body[2] == b':' => (digits(&body[..2])?, digits(&body[3..])?),
        _ => return None,
    };
    if h > 15 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

fn write_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&4i32.to_be_bytes());
    out.extend_from_slice(&v.to_be_bytes());
}

fn write_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&8i32.to_be_bytes());
    out.extend_from_slice(&v.to_be_bytes());
}

/// `date`: days since 2000-01-01 as int4.
pub fn encode_date(raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    let s = super::trim_ascii(raw);
    if s.len() != 10 {
        return Outcome::Defer;
    }
    match parse_date(s) {
        Parsed::Ok(days) => {
            write_i32(out, days as i32);
            Outcome::Done
        }
        Parsed::Defer => Outcome::Defer,
        Parsed::Reject(r) => Outcome::Reject(r),
    }
}

/// The day of a date and time (days since 2000-01-01, its offset ignored: the date as
/// written, as PostgreSQL reads one into a `date`), and whether its time is midnight. A date
/// column on a backend with no server to read such a value takes it only at midnight (how
/// many exports, and JavaScript's `toISOString`, write a date); another time of day would be
/// lost.
pub fn day_of_timestamp(raw: &[u8]) -> Option<(i64, bool)> {
    let mut buf = Vec::with_capacity(12);
    if encode_timestamp(raw, false, true, &mut buf) != Outcome::Done {
        return None;
    }
    let usecs = i64::from_be_bytes(buf.get(4..12)?.try_into().ok()?);
    // A time rounded up to the next midnight (`23:59:59.9999999`) is not one.
    let hour_zero = super::trim_ascii(raw).get(11..13) == Some(b"00");
    Some((
        usecs.div_euclid(USECS_PER_DAY),
        hour_zero && usecs.rem_euclid(USECS_PER_DAY) == 0,
    ))
}

/// `time`: microseconds since midnight as int8.
pub fn encode_time(raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    match parse_time(super::trim_ascii(raw)) {
        Parsed::Ok(us) => {
            write_i64(out, us);
            Outcome::Done
        }
        Parsed::Defer => Outcome::Defer,
        Parsed::Reject(r) => Outcome::Reject(r),
    }
}

/// `timetz`: microseconds since midnight as int8, then the offset in seconds *west* of UTC as
/// int4 (`timetz_send`'s layout). A time without an offset takes the session zone's offset on
/// the current date, which is the server's to know.
pub fn encode_timetz(raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    let s = super::trim_ascii(raw);
    // The offset starts at the first sign, Z or space after the time's `HH:MM`.
    let Some(split) = s
        .iter()
        .enumerate()
        .skip(5)
        .find(|(_, &b)| matches!(b, b'+' | b'-' | b'Z' | b'z' | b' '))
        .map(|(i, _)| i)
    else {
        return Outcome::Defer;
    };
    let usec = match parse_time(&s[..split]) {
        Parsed::Ok(u) => u,
        Parsed::Defer => return Outcome::Defer,
        Parsed::Reject(r) => return Outcome::Reject(r),
    };
    let tail = &s[split..];
    let tail = tail.strip_prefix(b" ").unwrap_or(tail);
    let Some(east) = parse_offset(tail) else {
        return Outcome::Defer;
    };
    out.extend_from_slice(&12i32.to_be_bytes());
    out.extend_from_slice(&usec.to_be_bytes());
    out.extend_from_slice(&(-east as i32).to_be_bytes());
    Outcome::Done
}

/// `timestamp` (`with_zone = false`) or `timestamptz`: microseconds since 2000-01-01 as int8.
///
/// A `timestamp` ignores any offset, as PostgreSQL does. A `timestamptz` without an offset is
/// in the session's time zone: read here only when that zone is UTC (`session_utc`), else
/// deferred so the server applies its own zone rules.
pub fn encode_timestamp(
    raw: &[u8],
    with_zone: bool,
    session_utc: bool,
    out: &mut Vec<u8>,
) -> Outcome {
    let s = super::trim_ascii(raw);
    let days = match parse_date(s) {
        Parsed::Ok(d) => d,
        Parsed::Defer => return Outcome::Defer,
        Parsed::Reject(r) => return Outcome::Reject(r),
    };
    let rest = &s[10..];
    let (usec, offset) = if rest.is_empty() {
        (0, None)
    } else {
        if rest[0] != b'T' && rest[0] != b' ' && rest[0] != b't' {
            return Outcome::Defer;
        }
        let rest = &rest[1..];
        // The time runs up to the offset (if any): a sign or Z after position 5.
        let split = rest
            .iter()
            .enumerate()
            .skip(5)
            .find(|(_, &b)| matches!(b, b'+' | b'-' | b'Z' | b'z' | b' '))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let usec = match parse_time(&rest[..split]) {
            Parsed::Ok(u) => u,
            Parsed::Defer => return Outcome::Defer,
            Parsed::Reject(r) => return Outcome::Reject(r),
        };
        let mut tail = &rest[split..];
        if tail.first() == Some(&b' ') {
            tail = &tail[1..];
        }
        if tail.is_empty() {
            (usec, None)
        } else {
            match parse_offset(tail) {
                Some(off) => (usec, Some(off)),
                None => return Outcome::Defer,
            }
        }
    };
    let mut value = days * USECS_PER_DAY + usec;
    if with_zone {
        match offset {
            Some(off) => value -= off * 1_000_000,
            None if session_utc => {}
            None => return Outcome::Defer,
        }
    }
    write_i64(out, value);
    Outcome::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str, zone: bool) -> Option<i64> {
        let mut out = Vec::new();
        match encode_timestamp(s.as_bytes(), zone, true, &mut out) {
            Outcome::Done => Some(i64::from_be_bytes(out[4..12].try_into().unwrap())),
            _ => None,
        }
    }

    #[test]
    fn dates() {
        assert_eq!(days_from_civil(2000, 1, 1), PG_EPOCH_DAYS);
        let mut out = Vec::new();
        assert!(matches!(
            encode_date(b"1999-12-31", &mut out),
            Outcome::Done
        ));
        assert_eq!(&out[4..], &(-1i32).to_be_bytes());
        assert!(matches!(
            encode_date(b"2021-02-29", &mut out),
            Outcome::Reject(_)
        ));
        assert!(matches!(
            encode_date(b"2024-02-29", &mut out),
            Outcome::Done
        ));
        assert!(matches!(encode_date(b"epoch", &mut out), Outcome::Defer));
        assert!(matches!(
            encode_date(b"01/02/2024", &mut out),
            Outcome::Defer
        ));
    }

    #[test]
    fn iso_text_round_trips() {
        for days in [-800_000i64, -1, 0, 59, 60, 366, 9_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days + PG_EPOCH_DAYS);
            assert_eq!(days_from_civil(y, m, d) - PG_EPOCH_DAYS, days);
        }
        let mut out = Vec::new();
        write_iso_timestamp(&mut out, -1);
        assert_eq!(out, b"1999-12-31 23:59:59.999999");
        out.clear();
        write_iso_timestamp(&mut out, 24 * 3600 * 1_000_000 * 60 + 3_723_000_000);
        assert_eq!(out, b"2000-03-01 01:02:03");
        out.clear();
        let mut enc = Vec::new();
        assert_eq!(encode_date(b"2024-02-29", &mut enc), Outcome::Done);
        let days = i32::from_be_bytes(enc[4..8].try_into().unwrap());
        write_iso_date(&mut out, days as i64);
        assert_eq!(out, b"2024-02-29");
    }

    #[test]
    fn timestamps() {
        assert_eq!(ts("2000-01-01 00:00:01", false), Some(1_000_000));
        assert_eq!(ts("2000-01-01T01:00:00+01:00", true), Some(0));
        assert_eq!(ts("2000-01-01T01:00:00+01:00", false), Some(3_600_000_000));
        assert_eq!(ts("2000-01-01 00:00:00.5Z", true), Some(500_000));
        assert_eq!(ts("2000-01-01 05:30-0530", true), Some(11 * 3_600_000_000));
        assert_eq!(ts("2000-01-01", true), Some(0));
        // More than six digits, rounded as the server rounds them (ties to even, on the
        // double the fraction parses to), into the next second and day too.
        assert_eq!(ts("2000-01-01 00:00:00.1234567", true), Some(123_457));
        assert_eq!(ts("2000-01-01T00:00:00.123456789Z", true), Some(123_457));
        assert_eq!(ts("2000-01-01 00:00:00.0000005", true), Some(0));
        assert_eq!(ts("2000-01-01 00:00:00.0000015", true), Some(2));
        assert_eq!(ts("1999-12-31 23:59:59.9999999", false), Some(0));
        assert_eq!(ts("2000-01-01 00:00:00.1234567890123456789", true), None);
        // Zone names of offset 0; other names are the server's to know.
        assert_eq!(ts("2000-01-01 01:00:00 UTC", true), Some(3_600_000_000));
        assert_eq!(ts("2000-01-01 01:00:00 gmt", true), Some(3_600_000_000));
        assert_eq!(ts("2000-01-01 00:00:00 America/New_York", true), None);
        let mut out = Vec::new();
        assert!(matches!(
            encode_timestamp(b"2000-01-01 10:00", true, false, &mut out),
            Outcome::Defer
        ));
        assert!(matches!(
            encode_timestamp(b"2000-01-01 25:00", true, true, &mut out),
            Outcome::Reject(_)
        ));
    }
}
