//! PostgreSQL's built-in range types (`int4range`, `int8range`, `numrange`, `tsrange`,
//! `tstzrange`, `daterange`), in their binary form: a flags byte, then each finite bound as
//! its element type's binary value (`range_send`'s layout); and their multiranges
//! (`int4multirange`, ...): the count of ranges, then each range as one value
//! (`multirange_send`'s).
//!
//! The server still does what makes a range a range when it receives one (it puts a discrete
//! range in canonical form, `[1,5]` as `[1,6)`, and refuses a lower bound above the upper), so
//! the client only reads the text: `empty`, or a bracket, two bounds and a bracket, an empty
//! bound being infinite. A bound in double quotes or with a backslash is left, with the whole
//! value, to the server, as is a bound the element's encoder leaves to it.

use super::{pg_binary, Outcome};
use crate::schema::ColumnType;

/// `range_send`'s flags.
const EMPTY: u8 = 0x01;
const LB_INC: u8 = 0x02;
const UB_INC: u8 = 0x04;
const LB_INF: u8 = 0x08;
const UB_INF: u8 = 0x10;

/// Appends the range of `elem` values read from `raw`.
pub fn encode(elem: &ColumnType, raw: &[u8], session_utc: bool, out: &mut Vec<u8>) -> Outcome {
    let s = super::trim_ascii(raw);
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    if s.eq_ignore_ascii_case(b"empty") {
        out.push(EMPTY);
        return pg_binary::close_value(out, start);
    }
    let Some(parts) = parse(s) else {
        out.truncate(start);
        return Outcome::Defer;
    };
    let mut flags = 0;
    if parts.lower_inclusive {
        flags |= LB_INC;
    }
    if parts.upper_inclusive {
        flags |= UB_INC;
    }
    if parts.lower.is_empty() {
        flags |= LB_INF;
    }
    if parts.upper.is_empty() {
        flags |= UB_INF;
    }
    out.push(flags);
    for bound in [parts.lower, parts.upper] {
        if bound.is_empty() {
            continue;
        }
        let part = pg_binary::encode_part(elem, bound, session_utc, out, start, || {
            format!("bound {:?}", String::from_utf8_lossy(bound))
        });
        if let Err(outcome) = part {
            return outcome;
        }
    }
    pg_binary::close_value(out, start)
}

/// A range's text taken apart.
#[derive(Debug, PartialEq, Eq)]
struct Parts<'a> {
    lower_inclusive: bool,
    lower: &'a [u8],
    upper: &'a [u8],
    upper_inclusive: bool,
}

/// Appends the multirange of `elem` ranges read from `raw`: `{}`, or ranges (each as
/// [`encode`] reads one) between braces, separated by commas. The server sorts and merges
/// them on receipt, as it does their text. Quotes or backslashes anywhere leave the value to
/// the server.
pub fn encode_multi(
    elem: &ColumnType,
    raw: &[u8],
    session_utc: bool,
    out: &mut Vec<u8>,
) -> Outcome {
    let s = super::trim_ascii(raw);
    let Some(inner) = s.strip_prefix(b"{").and_then(|s| s.strip_suffix(b"}")) else {
        return Outcome::Defer;
    };
    if inner.iter().any(|&b| b == b'"' || b == b'\\') {
        return Outcome::Defer;
    }
    let start = out.len();
    // The value's length and the count of ranges, filled in at the end.
    out.extend_from_slice(&[0; 8]);
    let mut count = 0i32;
    let mut rest = super::trim_ascii(inner);
    while !rest.is_empty() {
        // A range runs to its closing bracket (no bound holds one unquoted); `empty` to the
        // next comma.
        let end = match rest.first() {
            Some(b'[' | b'(') => rest
                .iter()
                .position(|&b| b == b']' || b == b')')
                .map(|i| i + 1),
            _ => Some(rest.iter().position(|&b| b == b',').unwrap_or(rest.len())),
        };
        let Some(end) = end else {
            out.truncate(start);
            return Outcome::Defer;
        };
        let outcome = encode(elem, &rest[..end], session_utc, out);
        if outcome != Outcome::Done {
            out.truncate(start);
            return outcome;
        }
        count += 1;
        rest = super::trim_ascii(&rest[end..]);
        match rest.strip_prefix(b",") {
            Some(more) if !super::trim_ascii(more).is_empty() => rest = super::trim_ascii(more),
            None if rest.is_empty() => {}
            // A trailing comma, or text after a range: the server's message says which.
            _ => {
                out.truncate(start);
                return Outcome::Defer;
            }
        }
    }
    out[start + 4..start + 8].copy_from_slice(&count.to_be_bytes());
    pg_binary::close_value(out, start)
}

/// `[a,b)` and the like; `None` for anything else, or a bound with quotes or backslashes (the
/// server's to unescape).
fn parse(s: &[u8]) -> Option<Parts<'_>> {
    let (&open, rest) = s.split_first()?;
    let (&close, inner) = rest.split_last()?;
    let lower_inclusive = match open {
        b'[' => true,
        b'(' => false,
        _ => return None,
    };
    let upper_inclusive = match close {
        b']' => true,
        b')' => false,
        _ => return None,
    };
    if inner
        .iter()
        .any(|&b| matches!(b, b'"' | b'\\' | b'[' | b']' | b'(' | b')'))
    {
        return None;
    }
    let comma = inner.iter().position(|&b| b == b',')?;
    let (lower, upper) = (&inner[..comma], &inner[comma + 1..]);
    if upper.contains(&b',') {
        return None;
    }
    Some(Parts {
        lower_inclusive,
        lower,
        upper,
        upper_inclusive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(elem: ColumnType, raw: &str) -> (Outcome, Vec<u8>) {
        let mut out = Vec::new();
        let o = encode(&elem, raw.as_bytes(), true, &mut out);
        (o, out)
    }

    #[test]
    fn ranges_in_range_send_layout() {
        let mut want = vec![0, 0, 0, 17, LB_INC];
        for v in [1i32, 5] {
            want.extend_from_slice(&4i32.to_be_bytes());
            want.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(enc(ColumnType::Int4, "[1,5)"), (Outcome::Done, want));
        assert_eq!(
            enc(ColumnType::Int4, " EMPTY "),
            (Outcome::Done, vec![0, 0, 0, 1, EMPTY])
        );
        assert_eq!(
            enc(ColumnType::Int8, "(,)"),
            (Outcome::Done, vec![0, 0, 0, 1, LB_INF | UB_INF])
        );
        let (o, b) = enc(ColumnType::Date, "[2024-01-01,]");
        assert_eq!(o, Outcome::Done);
        assert_eq!(b[4], LB_INC | UB_INC | UB_INF);
        assert_eq!(b.len(), 4 + 1 + 8);
    }

    #[test]
    fn other_forms_are_the_servers_and_bad_bounds_are_named() {
        for raw in [
            "[\"1\",5)",
            "[1,5",
            "1,5",
            "[1,2,3)",
            "[1\\,2)",
            "[infinity,)",
            "",
            "[]",
        ] {
            let elem = if raw.contains("infinity") {
                ColumnType::Date
            } else {
                ColumnType::Int4
            };
            assert_eq!(enc(elem, raw), (Outcome::Defer, vec![]), "{raw}");
        }
        let (o, b) = enc(ColumnType::Int4, "[1,99999999999)");
        assert!(
            matches!(&o, Outcome::Reject(why) if why.starts_with("bound \"99999999999\": out of range")),
            "{o:?}"
        );
        assert!(b.is_empty());
    }

    #[test]
    fn multiranges_are_their_count_then_each_range() {
        let mut out = Vec::new();
        let elem = ColumnType::Int4;
        assert_eq!(
            encode_multi(&elem, b" { [1,3), empty ,(,5]} ", false, &mut out),
            Outcome::Done
        );
        let mut want = vec![0, 0, 0, 0, 0, 0, 0, 3];
        for r in [&b"[1,3)"[..], b"empty", b"(,5]"] {
            assert_eq!(encode(&elem, r, false, &mut want), Outcome::Done);
        }
        let len = (want.len() - 4) as i32;
        want[..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(out, want);
        out.clear();
        assert_eq!(encode_multi(&elem, b"{}", false, &mut out), Outcome::Done);
        assert_eq!(out, [0, 0, 0, 4, 0, 0, 0, 0]);
        for text in [
            &b"{[1,2),}"[..],
            b"{[1,2) [3,4)}",
            b"[1,2)",
            b"{[\"1\",2)}",
            b"{[1,2}",
        ] {
            out.clear();
            assert_eq!(encode_multi(&elem, text, false, &mut out), Outcome::Defer);
            assert!(out.is_empty());
        }
    }
}
