//! PostgreSQL's `interval`, in its binary form: microseconds, days, months (`interval_send`'s
//! layout), each kept apart as the server keeps them (`25 hours` is not `1 day 01:00:00`).
//!
//! The client reads what PostgreSQL writes in its default style (`1 year 2 mons 3 days
//! 04:05:06.5`, `-1 days +02:00:00`), the same with other whole units (`2 weeks`, `90 minutes`),
//! a bare time (`01:30:00`), and ISO 8601 durations with designators (`P1Y2M3DT4H5M6.5S`).
//! Everything else is left to the server, whose input is the oracle: fractions of units other
//! than seconds (which spill into smaller units), `ago`, `@`, one-letter units, SQL-standard
//! forms, and a leading minus with no other sign, which the session's `IntervalStyle` reads
//! two ways.

use super::Outcome;

/// An interval's three fields, as the server stores them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Interval {
    micros: i64,
    days: i32,
    months: i32,
}

const USECS_PER_SEC: i64 = 1_000_000;

/// Appends the `interval` read from `raw`.
pub fn encode(raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    let parsed = match raw.first() {
        Some(b'P') => iso8601(raw),
        _ => postgres(super::trim_ascii(raw)),
    };
    let Some(iv) = parsed else {
        return Outcome::Defer;
    };
    out.extend_from_slice(&16i32.to_be_bytes());
    out.extend_from_slice(&iv.micros.to_be_bytes());
    out.extend_from_slice(&iv.days.to_be_bytes());
    out.extend_from_slice(&iv.months.to_be_bytes());
    Outcome::Done
}

/// The fields a value sets, each at most once (the server refuses `1 day 2 days`, and `1 hour
/// 01:00:00`); weeks and days are apart.
mod field {
    pub const YEAR: u8 = 1;
    pub const MONTH: u8 = 2;
    pub const WEEK: u8 = 4;
    pub const DAY: u8 = 8;
    pub const HOUR: u8 = 16;
    pub const MINUTE: u8 = 32;
    pub const SECOND: u8 = 64;
}

/// Sums of the fields, wide enough that no sum of a few i64-parsed numbers overflows
/// unnoticed; checked against the stored widths at the end.
#[derive(Default)]
struct Sums {
    micros: i128,
    days: i64,
    months: i64,
    seen: u8,
}

impl Sums {
    /// Adds `n` of `field` (one of [`field`]); `None` if the field was given already.
    fn add(&mut self, field: u8, n: i64) -> Option<()> {
        if self.seen & field != 0 {
            return None;
        }
        self.seen |= field;
        let n128 = i128::from(n);
        match field {
            field::YEAR => self.months = self.months.checked_add(n.checked_mul(12)?)?,
            field::MONTH => self.months = self.months.checked_add(n)?,
            field::WEEK => self.days = self.days.checked_add(n.checked_mul(7)?)?,
            field::DAY => self.days = self.days.checked_add(n)?,
            field::HOUR => self.micros += n128 * 3_600 * i128::from(USECS_PER_SEC),
            field::MINUTE => self.micros += n128 * 60 * i128::from(USECS_PER_SEC),
            _ => self.micros += n128 * i128::from(USECS_PER_SEC),
        }
        Some(())
    }

    fn finish(self) -> Option<Interval> {
        (self.seen != 0).then_some(())?;
        Some(Interval {
            micros: i64::try_from(self.micros).ok()?,
            days: i32::try_from(self.days).ok()?,
            months: i32::try_from(self.months).ok()?,
        })
    }
}

/// The unit a word names, in the words PostgreSQL writes and their common spellings.
fn unit(word: &[u8]) -> Option<u8> {
    let mut lower = [0u8; 8];
    let w = lower.get_mut(..word.len())?;
    w.copy_from_slice(word);
    w.make_ascii_lowercase();
    Some(match &*w {
        b"year" | b"years" | b"yr" | b"yrs" => field::YEAR,
        b"mon" | b"mons" | b"month" | b"months" => field::MONTH,
        b"week" | b"weeks" => field::WEEK,
        b"day" | b"days" => field::DAY,
        b"hour" | b"hours" | b"hr" | b"hrs" => field::HOUR,
        b"min" | b"mins" | b"minute" | b"minutes" => field::MINUTE,
        b"sec" | b"secs" | b"second" | b"seconds" => field::SECOND,
        _ => return None,
    })
}

/// `[+-]digits` (at most 18 digits): the value, and whether a sign was written.
fn integer(s: &[u8]) -> Option<(i64, bool)> {
    let (neg, signed, digits) = match s.first()? {
        b'-' => (true, true, &s[1..]),
        b'+' => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
    Some((if neg { -v } else { v }, signed))
}

/// Up to 6 digits of a fraction of a second, as microseconds.
fn fraction(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > 6 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
    Some(v * 10i64.pow(6 - digits.len() as u32))
}

/// `[+-]H:MM[:SS[.ffffff]]`, as microseconds, and whether a sign was written.
fn time(s: &[u8]) -> Option<(i128, bool)> {
    let (neg, signed, body) = match s.first()? {
        b'-' => (true, true, &s[1..]),
        b'+' => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let mut parts = body.split(|&b| b == b':');
    let hours = parts.next()?;
    let minutes = parts.next()?;
    let seconds = parts.next();
    if parts.next().is_some() || hours.len() > 10 || minutes.len() > 2 {
        return None;
    }
    let (h, _) = integer(hours).filter(|&(_, signed)| !signed)?;
    let (m, _) = integer(minutes).filter(|&(m, signed)| !signed && m < 60)?;
    let (s, frac) = match seconds {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = match sec.iter().position(|&b| b == b'.') {
                Some(dot) => (&sec[..dot], fraction(&sec[dot + 1..])?),
                None => (sec, 0),
            };
            if whole.len() > 2 {
                return None;
            }
            let (s, _) = integer(whole).filter(|&(s, signed)| !signed && s < 60)?;
            (s, frac)
        }
    };
    let micros = (i128::from(h) * 3600 + i128::from(m) * 60 + i128::from(s))
        * i128::from(USECS_PER_SEC)
        + i128::from(frac);
    Some((if neg { -micros } else { micros }, signed))
}

/// PostgreSQL's own style: `N unit` pairs, then a time, separated by whitespace.
fn postgres(s: &[u8]) -> Option<Interval> {
    let mut sums = Sums::default();
    let mut words = s
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let mut first_negative = None;
    let mut later_signed = false;
    let mut fields = 0;
    while let Some(word) = words.next() {
        let signed = if word.contains(&b':') {
            let (micros, signed) = time(word)?;
            for f in [field::HOUR, field::MINUTE, field::SECOND] {
                sums.add(f, 0)?;
            }
            sums.micros += micros;
            signed
        } else {
            let (n, signed) = integer(word)?;
            sums.add(unit(words.next()?)?, n)?;
            signed
        };
        match first_negative {
            None => first_negative = Some(word.first() == Some(&b'-')),
            Some(_) => later_signed |= signed,
        }
        fields += 1;
    }
    // `-1 days 02:00:00` is -1 day +2 hours, except under `IntervalStyle = sql_standard`,
    // where a leading minus with no other sign negates every field.
    if first_negative == Some(true) && fields > 1 && !later_signed {
        return None;
    }
    sums.finish()
}

/// ISO 8601 with designators: `P[nY][nM][nW][nD][T[nH][nM][n[.f]S]]`, each number signed or
/// not, a fraction only on the seconds.
fn iso8601(s: &[u8]) -> Option<Interval> {
    let mut sums = Sums::default();
    let mut rest = s.strip_prefix(b"P")?;
    let mut in_time = false;
    while let Some(&c) = rest.first() {
        if c == b'T' && !in_time {
            in_time = true;
            rest = &rest[1..];
            // `P1DT` has no time after its `T`: the server's to refuse.
            rest.first()?;
            continue;
        }
        let end = rest.iter().position(u8::is_ascii_alphabetic)?;
        let (number, designator) = (&rest[..end], rest[end]);
        rest = &rest[end + 1..];
        let f = match (in_time, designator) {
            (false, b'Y') => field::YEAR,
            (false, b'M') => field::MONTH,
            (false, b'W') => field::WEEK,
            (false, b'D') => field::DAY,
            (true, b'H') => field::HOUR,
            (true, b'M') => field::MINUTE,
            (true, b'S') => field::SECOND,
            _ => return None,
        };
        match number.iter().position(|&b| b == b'.') {
            Some(dot) if f == field::SECOND => {
                let (whole, _) = integer(&number[..dot])?;
                let frac = i128::from(fraction(&number[dot + 1..])?);
                sums.add(f, whole)?;
                sums.micros += if number.first() == Some(&b'-') {
                    -frac
                } else {
                    frac
                };
            }
            Some(_) => return None,
            None => sums.add(f, integer(number)?.0)?,
        }
    }
    sums.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(micros: i64, days: i32, months: i32) -> Option<Interval> {
        Some(Interval {
            micros,
            days,
            months,
        })
    }

    const H: i64 = 3_600_000_000;

    #[test]
    fn postgres_style() {
        let read = |s: &str| postgres(s.as_bytes());
        assert_eq!(
            read("1 year 2 mons 3 days 04:05:06.5"),
            iv(4 * H + 5 * 60_000_000 + 6_500_000, 3, 14)
        );
        assert_eq!(read("-1 days +02:00:00"), iv(2 * H, -1, 0));
        assert_eq!(read("-1 days -02:00:00"), iv(-2 * H, -1, 0));
        assert_eq!(read("25 hours"), iv(25 * H, 0, 0));
        assert_eq!(read("2 weeks 1 day"), iv(0, 15, 0));
        assert_eq!(read("  90 Minutes  "), iv(90 * 60_000_000, 0, 0));
        assert_eq!(read("-00:00:00.000001"), iv(-1, 0, 0));
        assert_eq!(read("100:30"), iv(100 * H + 30 * 60_000_000, 0, 0));
        assert_eq!(read("-5 days"), iv(0, -5, 0));
        assert_eq!(read("+3 mons -1 days"), iv(0, -1, 3));
        assert_eq!(read("0 years"), iv(0, 0, 0));
    }

    #[test]
    fn postgres_style_left_to_the_server() {
        for s in [
            "",
            "1",
            "1 day ago",
            "@ 1 day",
            "1.5 days",
            "1 d",
            "1day",
            "1 day 2 days",
            "1 hour 01:00:00",
            "-1 days 02:00:00",
            "-1 2:03:04",
            "1 2:03:04",
            "00:60:00",
            "00:00:60",
            "1:2:3:4",
            "12:34.5",
            "00:00:00.1234567",
            "1 fortnight",
            "1 days +",
            "infinity",
            "2147483648 days",
            "178956971 years",
            "9223372036854775807 hours",
        ] {
            assert_eq!(postgres(s.as_bytes()), None, "{s:?}");
        }
    }

    #[test]
    fn iso8601_designators() {
        let read = |s: &str| iso8601(s.as_bytes());
        assert_eq!(
            read("P1Y2M3DT4H5M6.5S"),
            iv(4 * H + 5 * 60_000_000 + 6_500_000, 3, 14)
        );
        assert_eq!(read("P1W"), iv(0, 7, 0));
        assert_eq!(read("PT-1.5S"), iv(-1_500_000, 0, 0));
        assert_eq!(read("P-1DT2H"), iv(2 * H, -1, 0));
        assert_eq!(read("PT36H"), iv(36 * H, 0, 0));
        for s in [
            "P",
            "PT",
            "P1DT",
            "P1.5D",
            "P1H",
            "PT1D",
            "P1Y1Y",
            "P0001-02-03",
            "P1D ",
            "p1d",
        ] {
            assert_eq!(read(s), None, "{s:?}");
        }
    }

    #[test]
    fn encodes_interval_send_layout() {
        let mut out = Vec::new();
        assert_eq!(encode(b"1 mon 2 days 00:00:01", &mut out), Outcome::Done);
        let mut want = 16i32.to_be_bytes().to_vec();
        want.extend_from_slice(&1_000_000i64.to_be_bytes());
        want.extend_from_slice(&2i32.to_be_bytes());
        want.extend_from_slice(&1i32.to_be_bytes());
        assert_eq!(out, want);
        assert_eq!(encode(b"soon", &mut out), Outcome::Defer);
        assert_eq!(out, want);
    }
}
