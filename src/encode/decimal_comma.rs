//! `--decimal-comma`: numbers as much of Europe writes them, `1234,5` and `1.234,50` (the
//! comma before the fraction, dots grouping thousands), which is what a spreadsheet there
//! exports, separated by `;`. No database's input reads them, so a number column's field is
//! rewritten with a decimal point before its type reads it; text columns keep the field as it
//! is. Only on request: in a file written with decimal points, `1.500` is one and a half, and
//! here it is fifteen hundred.

use crate::schema::ColumnType;

/// Longest number rewritten (sign, digits, point); a longer field is read as it is.
const MAX: usize = 64;

/// A number's text with a decimal point, made from one with a decimal comma.
pub struct Point {
    buf: [u8; MAX],
    len: usize,
}

impl Point {
    /// The text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// What a field of a number column is, read with a decimal comma.
pub enum Read {
    /// No comma and no dot (`12`, `-3`, `1e5`, `NaN`): read as it is.
    Same,
    /// Its text with a decimal point.
    Point(Point),
    /// A comma or dot elsewhere than a decimal comma and thousands dots put them (`1.5`,
    /// `1,2,3`): the reason.
    Bad(&'static str),
}

/// Whether a column of type `ty` holds numbers, whose fields are read with a decimal comma.
pub fn is_number(ty: &ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::Int2
            | ColumnType::Int4
            | ColumnType::Int8
            | ColumnType::Float4
            | ColumnType::Float8
            | ColumnType::Numeric(_)
    )
}

/// Reads `raw`, a number written with a decimal comma: `-1.234.567,89` is `-1234567.89`,
/// `12,5` is `12.5`, `,5` is `.5` and `1.500` is `1500` (spaces around it are kept out).
pub fn read(raw: &[u8]) -> Read {
    let text = super::trim_ascii(raw);
    if !text.iter().any(|&b| b == b',' || b == b'.') {
        return Read::Same;
    }
    const WHY: &str = "with --decimal-comma a number is written 1234,5 or 1.234,5 (a comma \
                       before the fraction, dots only between groups of three digits)";
    if text.len() > MAX {
        return Read::Bad(WHY);
    }
    let (sign, body) = match text.first() {
        Some(&s @ (b'-' | b'+')) => (Some(s), &text[1..]),
        _ => (None, text),
    };
    let (int, frac) = match body.iter().position(|&b| b == b',') {
        Some(c) => (&body[..c], Some(&body[c + 1..])),
        None => (body, None),
    };
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    // The integer part: plain digits, or groups of three after a first of one to three.
    let mut groups = int.split(|&b| b == b'.');
    let int_ok = match groups.next() {
        Some(first) if int.contains(&b'.') => {
            digits(first) && first.len() <= 3 && groups.all(|g| g.len() == 3 && digits(g))
        }
        Some(first) => (first.is_empty() && frac.is_some()) || digits(first),
        None => false,
    };
    if !int_ok || frac.is_some_and(|f| !digits(f)) {
        return Read::Bad(WHY);
    }
    let mut p = Point {
        buf: [0; MAX],
        len: 0,
    };
    let mut push = |b: u8| {
        p.buf[p.len] = b;
        p.len += 1;
    };
    if let Some(s) = sign {
        push(s);
    }
    int.iter().filter(|&&b| b != b'.').for_each(|&b| push(b));
    if let Some(f) = frac {
        push(b'.');
        f.iter().for_each(|&b| push(b));
    }
    Read::Point(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(s: &str) -> Option<String> {
        match read(s.as_bytes()) {
            Read::Point(p) => Some(String::from_utf8_lossy(p.as_bytes()).into_owned()),
            Read::Same => Some(s.to_string()),
            Read::Bad(_) => None,
        }
    }

    #[test]
    fn commas_become_points_and_thousands_dots_go() {
        for (given, read) in [
            ("12,5", "12.5"),
            ("-0,25", "-0.25"),
            ("+3,0", "+3.0"),
            ("1.234,50", "1234.50"),
            ("-1.234.567,89", "-1234567.89"),
            ("1.500", "1500"),
            (",5", ".5"),
            (" 7,25 ", "7.25"),
            ("12", "12"),
            ("1e5", "1e5"),
            ("NaN", "NaN"),
        ] {
            assert_eq!(point(given).as_deref(), Some(read), "{given}");
        }
    }

    #[test]
    fn other_commas_and_dots_are_bad() {
        for given in [
            "1.5",
            "1,2,3",
            "1.23,4",
            "1234.567,8",
            ".5",
            "1,",
            ",",
            "1.234.5",
            "1,5e3",
            "12.345.",
            "a,b",
        ] {
            assert_eq!(point(given), None, "{given}");
        }
        assert!(matches!(
            read("9".repeat(70).replace('9', "9,").as_bytes()),
            Read::Bad(_)
        ));
    }
}
