//! The text forms barge reads for MySQL's types: plain integers, decimals without exponents,
//! ISO dates, times and date-times (with an optional UTC offset). Anything else is a bad row.

use crate::encode::datetime;

pub(super) fn int_name(bytes: u8) -> &'static str {
    match bytes {
        1 => "tinyint",
        2 => "smallint",
        3 => "mediumint",
        4 => "int",
        _ => "bigint",
    }
}

pub(super) fn in_int_range(v: i128, bytes: u8, unsigned: bool) -> bool {
    let bits = u32::from(bytes) * 8;
    if unsigned {
        (0..(1i128 << bits)).contains(&v)
    } else {
        (-(1i128 << (bits - 1))..(1i128 << (bits - 1))).contains(&v)
    }
}

/// `[+-]?[0-9]+`, as a wide integer (so that any out-of-range value still reads).
pub(super) fn integer(raw: &[u8]) -> Option<i128> {
    let digits = raw
        .strip_prefix(b"-")
        .or_else(|| raw.strip_prefix(b"+"))
        .unwrap_or(raw);
    if digits.is_empty() || digits.len() > 30 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(raw).ok()?.parse().ok()
}

/// `[+-]?digits[.digits]` that `decimal(precision, scale)` holds exactly.
pub(super) fn decimal(
    raw: &[u8],
    precision: u32,
    scale: u32,
    unsigned: bool,
) -> Result<(), String> {
    let (negative, body) = match raw.first() {
        Some(b'-') => (true, &raw[1..]),
        Some(b'+') => (false, &raw[1..]),
        _ => (false, raw),
    };
    let (int, frac) = match body.iter().position(|&b| b == b'.') {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, &body[body.len()..]),
    };
    if (int.is_empty() && frac.is_empty()) || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return Err("not a decimal number (digits, an optional point, no exponent)".into());
    }
    let int = {
        let first = int.iter().position(|&b| b != b'0').unwrap_or(int.len());
        &int[first..]
    };
    let frac = {
        let last = frac.iter().rposition(|&b| b != b'0').map_or(0, |p| p + 1);
        &frac[..last]
    };
    if frac.len() as u32 > scale {
        return Err(format!(
            "more than {scale} digits after the point: decimal({precision},{scale}) would round it"
        ));
    }
    if int.len() as u32 > precision.saturating_sub(scale) {
        return Err(format!("out of range for decimal({precision},{scale})"));
    }
    if unsigned && negative && !(int.is_empty() && frac.is_empty()) {
        return Err("negative, and the column is unsigned".into());
    }
    Ok(())
}

/// `YYYY-MM-DD` (year 1 to 9999; `2024-1-2` too, as the server reads it): days since
/// 1970-01-01.
pub(super) fn date(raw: &[u8]) -> Option<i64> {
    let mut parts = raw.split(|&b| b == b'-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 {
        return None;
    }
    let (y, m, d) = (number(y, 4)?, number(m, 2)?, number(d, 2)?);
    if y < 1 || !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    // A day past the month's end comes back as another date.
    let days = datetime::days_from_civil(y, m, d);
    (datetime::civil_from_days(days) == (y, m, d))
        .then(|| days - datetime::days_from_civil(1970, 1, 1))
}

/// The digits of `p` (one to `most` of them) as a number.
fn number(p: &[u8], most: usize) -> Option<i64> {
    if p.is_empty() || p.len() > most || !p.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(p.iter().fold(0, |n, &b| n * 10 + i64::from(b - b'0')))
}

/// `YYYY-MM-DD[( |T)HH:MM[:SS[.f]][ ][Z|UTC|±HH[:MM]]]`: days since 1970, seconds into the day, the
/// fraction's digits, and the offset from UTC in seconds when one is given. One-digit
/// months, days and hours, and a time without seconds, are read as the server reads them.
pub(super) fn datetime_parts(raw: &[u8]) -> Option<(i64, i64, &str, Option<i64>)> {
    let Some(sep) = raw.iter().position(|&b| b == b' ' || b == b'T') else {
        return Some((date(raw)?, 0, "", None));
    };
    let days = date(&raw[..sep])?;
    let t = std::str::from_utf8(&raw[sep + 1..]).ok()?;
    // The zone starts at a sign, a letter or a space: `03:04:05 UTC` (BigQuery's exports),
    // `03:04:05 +01:00`, as PostgreSQL reads them.
    let (t, offset) =
        match t.find(|c: char| c.is_ascii_alphabetic() || matches!(c, '+' | '-' | ' ')) {
            Some(p) => (&t[..p], Some(utc_offset(t[p..].trim_start_matches(' '))?)),
            None => (t, None),
        };
    let (hms, frac) = t.split_once('.').unwrap_or((t, ""));
    let parts: Vec<&str> = hms.split(':').collect();
    let two = |p: &str| (p.len() == 2).then(|| number(p.as_bytes(), 2)).flatten();
    let (h, m, s) = match parts.as_slice() {
        [h, m, s] => (number(h.as_bytes(), 2)?, two(m)?, two(s)?),
        [h, m] if !t.contains('.') => (number(h.as_bytes(), 2)?, two(m)?, 0),
        _ => return None,
    };
    if h > 23 || m > 59 || s > 59 || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if t.contains('.') && frac.is_empty() {
        return None;
    }
    Some((days, h * 3600 + m * 60 + s, frac, offset))
}

/// `Z` (or `UTC`, `GMT`, `UT`), `±HH`, `±HHMM` or `±HH:MM`, in seconds east of UTC.
pub(super) fn utc_offset(s: &str) -> Option<i64> {
    if ["z", "utc", "gmt", "ut"]
        .iter()
        .any(|z| s.eq_ignore_ascii_case(z))
    {
        return Some(0);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|&c| c != ':').collect();
    if !(digits.len() == 2 || digits.len() == 4) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    // `±HH` has no minutes: `get(2..)` is then empty, not none.
    let m: i64 = match digits.get(2..) {
        Some(m) if !m.is_empty() => m.parse().ok()?,
        _ => 0,
    };
    (h <= 15 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// Appends `YYYY-MM-DD HH:MM:SS[.frac]` for a day since 1970 and a second of it; false when
/// the year is outside 1 to 9999. Digits are written by hand: `format!` and its `String`
/// were a tenth of a MySQL load's client CPU.
pub(super) fn write_datetime(days: i64, secs: i64, frac: &str, out: &mut Vec<u8>) -> bool {
    if !write_date(days, out) {
        return false;
    }
    out.push(b' ');
    let digits = write_digits;
    digits(out, secs / 3600, 2);
    out.push(b':');
    digits(out, secs / 60 % 60, 2);
    out.push(b':');
    digits(out, secs % 60, 2);
    if !frac.is_empty() {
        out.push(b'.');
        out.extend_from_slice(frac.as_bytes());
    }
    true
}

/// `[-]H{1,3}:MM:SS[.f]` within ±838:59:59: the fraction's digits.
pub(super) fn time(raw: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(raw).ok()?;
    let body = s.strip_prefix('-').unwrap_or(s);
    let (hms, frac) = body.split_once('.').unwrap_or((body, ""));
    let parts: Vec<&str> = hms.split(':').collect();
    let two = |p: &str| (p.len() == 2).then(|| number(p.as_bytes(), 2)).flatten();
    // `HH:MM` is hours and minutes, as the server reads it (`12:00` is noon).
    let (h, m, sec) = match parts.as_slice() {
        [h, m, sec] => (number(h.as_bytes(), 3)?, two(m)?, two(sec)?),
        [h, m] if frac.is_empty() && !body.contains('.') => (number(h.as_bytes(), 3)?, two(m)?, 0),
        _ => return None,
    };
    if m > 59 || sec > 59 || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if body.contains('.') && frac.is_empty() {
        return None;
    }
    let total = h * 3600 + m * 60 + sec;
    let over = total > 838 * 3600 + 59 * 60 + 59
        || (total == 838 * 3600 + 59 * 60 + 59 && !frac.trim_end_matches('0').is_empty());
    (!over).then_some(frac)
}

/// Appends `YYYY-MM-DD` for a day since 1970; false when the year is outside 1 to 9999.
pub(super) fn write_date(days: i64, out: &mut Vec<u8>) -> bool {
    let (y, m, d) = datetime::civil_from_days(days + datetime::days_from_civil(1970, 1, 1));
    if !(1..=9999).contains(&y) {
        return false;
    }
    write_digits(out, y, 4);
    out.push(b'-');
    write_digits(out, m, 2);
    out.push(b'-');
    write_digits(out, d, 2);
    true
}

/// Appends the last `n` digits of `v`, zero-padded.
fn write_digits(out: &mut Vec<u8>, v: i64, n: u32) {
    for k in (0..n).rev() {
        out.push(b'0' + (v / 10i64.pow(k) % 10) as u8);
    }
}
