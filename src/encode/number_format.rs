//! How a file writes its numbers, when not as databases read them: with a decimal comma
//! (`1234,5`, `1.234,50`: `--decimal-comma`, what spreadsheets in much of Europe export,
//! separated by `;`), or with a character between groups of three digits (`1,234.50`:
//! `--thousands ,`, what a spreadsheet exports from a cell formatted as an amount; `1 234,50`
//! with both). No database's input reads them, so a number column's field is rewritten as
//! the server reads numbers before its type reads it; text columns keep the field as it is.
//! Only on request: in a file written with decimal points, `1.500` is one and a half, and with
//! `--decimal-comma` it is fifteen hundred; `1,234` is 1234 with `--thousands ,`, 1.234 with
//! `--decimal-comma`, and nothing a number column reads otherwise.

use std::fmt;

use crate::schema::ColumnType;

/// Longest number rewritten (sign, digits, point, exponent); a longer field is refused.
const MAX: usize = 128;

/// How numbers are written: the decimal mark, and what groups the integer part's digits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NumberFormat {
    decimal_comma: bool,
    thousands: Option<char>,
}

/// A number's text as the server reads it (decimal point, no grouping), made from one
/// written in a [`NumberFormat`].
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

/// What a field of a number column is, read in a [`NumberFormat`].
pub enum Read {
    /// Nothing to rewrite (`12`, `-3`, `1e5`, `NaN`): read as it is.
    Same,
    /// Its text as the server reads it.
    Point(Point),
    /// A mark or separator where the format puts none (`1.5` with a decimal comma, `1,2,3`
    /// with thousands commas): [`NumberFormat`]'s `Display` says how numbers are written.
    Bad,
}

/// Whether a column of type `ty` holds numbers, whose fields are read in the format.
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

impl NumberFormat {
    /// Numbers as databases read them: nothing rewritten.
    pub const PLAIN: NumberFormat = NumberFormat {
        decimal_comma: false,
        thousands: None,
    };

    /// `--thousands ,`: `1,234.56`.
    pub const THOUSANDS_COMMA: NumberFormat = NumberFormat {
        decimal_comma: false,
        thousands: Some(','),
    };

    /// `--decimal-comma`: `1.234,56`.
    pub const DECIMAL_COMMA: NumberFormat = NumberFormat {
        decimal_comma: true,
        thousands: None,
    };

    /// The format of `--decimal-comma` (dots group thousands unless `thousands` names
    /// another character) and `--thousands`.
    ///
    /// # Errors
    /// A separator that is also the decimal mark, or a character numbers hold (a digit, a
    /// sign, an exponent's `e`), which no reading could tell apart.
    pub fn new(decimal_comma: bool, thousands: Option<char>) -> Result<Self, String> {
        let mark = if decimal_comma { ',' } else { '.' };
        match thousands {
            Some(c) if c == mark && decimal_comma => Err(format!(
                "--thousands {c} with --decimal-comma: the comma is the decimal mark there (dots \
                 group thousands with --decimal-comma unless --thousands names another \
                 character, such as a space)"
            )),
            Some('.') => Err(
                "--thousands . : the dot is the decimal mark; for numbers written \
                              1.234,5 pass --decimal-comma (dots then group thousands)"
                    .into(),
            ),
            Some(c)
                if c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '"') || c.is_control() =>
            {
                Err(format!(
                    "--thousands {c:?}: the separator cannot be a digit, a letter, a sign, a \
                     quote or a control character"
                ))
            }
            _ => Ok(NumberFormat {
                decimal_comma,
                thousands,
            }),
        }
    }

    /// Whether numbers are read as they stand (no option given).
    pub fn is_plain(&self) -> bool {
        *self == Self::PLAIN
    }

    /// What groups the integer part's digits: `--thousands`, else the dot with a decimal
    /// comma.
    fn group(&self) -> Option<char> {
        self.thousands.or(self.decimal_comma.then_some('.'))
    }

    /// Reads `raw`, a number written in this format: with a decimal comma `-1.234.567,89` is
    /// `-1234567.89`, `12,5` is `12.5`, `,5` is `.5` and `1.500` is `1500`; with thousands
    /// commas `1,234.5` is `1234.5` (spaces around it are kept out, an exponent kept).
    pub fn read(&self, raw: &[u8]) -> Read {
        let text = super::trim_ascii(raw);
        let mark = if self.decimal_comma { b',' } else { b'.' };
        let mut sep_buf = [0u8; 4];
        let sep: &[u8] = match self.group() {
            Some(c) => c.encode_utf8(&mut sep_buf).as_bytes(),
            None => &[],
        };
        // Nothing to rewrite: no comma (with a decimal comma, any dot is a separator, and
        // is found as one) and no separator.
        let has_sep = !sep.is_empty() && memchr::memmem::find(text, sep).is_some();
        if !(has_sep || self.decimal_comma && text.contains(&b',')) {
            // A dot with a decimal comma but another separator (`1.5` with `--thousands ' '`)
            // is no number of this format.
            return match self.decimal_comma && text.contains(&b'.') {
                true => Read::Bad,
                false => Read::Same,
            };
        }
        if text.len() > MAX {
            return Read::Bad;
        }
        let (sign, body) = match text.first() {
            Some(&s @ (b'-' | b'+')) => (Some(s), &text[1..]),
            _ => (None, text),
        };
        // An exponent (`1.234,5e3`, `1,234.5E-2`) is kept as it is, after the mantissa.
        let (mantissa, exponent) = match body.iter().rposition(|&b| b == b'e' || b == b'E') {
            Some(e) if is_exponent(&body[e + 1..]) => (&body[..e], &body[e..]),
            _ => (body, &body[body.len()..]),
        };
        let (int, frac) = match mantissa.iter().position(|&b| b == mark) {
            Some(c) => (&mantissa[..c], Some(&mantissa[c + 1..])),
            None => (mantissa, None),
        };
        let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
        // The integer part: plain digits, or groups of three after a first of one to three.
        let int_ok = match !sep.is_empty() && memchr::memmem::find(int, sep).is_some() {
            true => {
                let mut groups = Groups { rest: int, sep };
                let first = groups.next().unwrap_or_default();
                digits(first) && first.len() <= 3 && groups.all(|g| g.len() == 3 && digits(g))
            }
            false => (int.is_empty() && frac.is_some()) || digits(int),
        };
        if !int_ok || frac.is_some_and(|f| !digits(f)) {
            return Read::Bad;
        }
        let mut p = Point {
            buf: [0; MAX],
            len: 0,
        };
        let mut push = |bytes: &[u8]| {
            p.buf[p.len..p.len + bytes.len()].copy_from_slice(bytes);
            p.len += bytes.len();
        };
        if let Some(s) = sign {
            push(&[s]);
        }
        Groups { rest: int, sep }.for_each(&mut push);
        if let Some(f) = frac {
            push(b".");
            push(f);
        }
        push(exponent);
        Read::Point(p)
    }
}

/// `e`'s tail in an exponent: a sign or none, then digits.
fn is_exponent(tail: &[u8]) -> bool {
    let digits = match tail.first() {
        Some(b'+' | b'-') => &tail[1..],
        _ => tail,
    };
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// The parts of `rest` between separators (all of it when `sep` is empty).
struct Groups<'a> {
    rest: &'a [u8],
    sep: &'a [u8],
}

impl<'a> Iterator for Groups<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() && self.sep.is_empty() {
            return None;
        }
        let found = match self.sep.is_empty() {
            true => None,
            false => memchr::memmem::find(self.rest, self.sep),
        };
        match found {
            Some(i) => {
                let group = &self.rest[..i];
                self.rest = &self.rest[i + self.sep.len()..];
                Some(group)
            }
            None => {
                let group = self.rest;
                self.rest = &[];
                self.sep = &[];
                Some(group)
            }
        }
    }
}

/// How numbers are written in this format, for a refused value's reason.
impl fmt::Display for NumberFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = match self.group() {
            Some(' ') => "spaces".to_string(),
            Some(c) => format!("{c:?}s"),
            None => String::new(),
        };
        match (self.decimal_comma, self.thousands) {
            (true, None) => f.write_str(
                "with --decimal-comma a number is written 1234,5 or 1.234,5 (a comma before the \
                 fraction, dots only between groups of three digits)",
            ),
            (true, Some(c)) => write!(
                f,
                "with --decimal-comma --thousands {c:?} a number is written 1234,5 or \
                 1{c}234,5 (a comma before the fraction, {sep} only between groups of three \
                 digits)"
            ),
            (false, Some(c)) => write!(
                f,
                "with --thousands {c:?} a number is written 1234.5 or 1{c}234.5 (a point before \
                 the fraction, {sep} only between groups of three digits)"
            ),
            (false, None) => f.write_str("a number is written 1234.5"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(format: NumberFormat, s: &str) -> Option<String> {
        match format.read(s.as_bytes()) {
            Read::Point(p) => Some(String::from_utf8_lossy(p.as_bytes()).into_owned()),
            Read::Same => Some(s.to_string()),
            Read::Bad => None,
        }
    }

    fn format(decimal_comma: bool, thousands: Option<char>) -> NumberFormat {
        match NumberFormat::new(decimal_comma, thousands) {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn commas_become_points_and_thousands_dots_go() {
        let f = format(true, None);
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
            ("1,5e3", "1.5e3"),
            ("1.234,5E-2", "1234.5E-2"),
            ("NaN", "NaN"),
        ] {
            assert_eq!(point(f, given).as_deref(), Some(read), "{given}");
        }
    }

    #[test]
    fn other_commas_and_dots_are_bad() {
        let f = format(true, None);
        for given in [
            "1.5",
            "1,2,3",
            "1.23,4",
            "1234.567,8",
            ".5",
            "1,",
            ",",
            "1.234.5",
            "1,5e",
            "12.345.",
            "a,b",
        ] {
            assert_eq!(point(f, given), None, "{given}");
        }
        assert!(matches!(
            f.read("9".repeat(200).replace('9', "9,").as_bytes()),
            Read::Bad
        ));
    }

    #[test]
    fn thousands_separators_go() {
        let commas = format(false, Some(','));
        for (given, read) in [
            ("1,234.56", "1234.56"),
            ("-1,234,567", "-1234567"),
            ("1234.5", "1234.5"),
            ("999", "999"),
            (".5", ".5"),
            ("1,234.5e3", "1234.5e3"),
            (" 12,345 ", "12345"),
        ] {
            assert_eq!(point(commas, given).as_deref(), Some(read), "{given}");
        }
        for given in ["1,23", "1,2345", "12345,678", ",123", "1,234,", "1,234.5,6"] {
            assert_eq!(point(commas, given), None, "{given}");
        }
        let french = format(true, Some('\u{a0}'));
        assert_eq!(point(french, "1\u{a0}234,5").as_deref(), Some("1234.5"));
        assert_eq!(point(french, "1.5"), None, "a dot is no separator here");
        let spaces = format(false, Some(' '));
        assert_eq!(point(spaces, "1 234 567.5").as_deref(), Some("1234567.5"));
        let swiss = format(false, Some('\''));
        assert_eq!(point(swiss, "1'234.5").as_deref(), Some("1234.5"));
    }

    #[test]
    fn separators_that_cannot_be_told_apart_are_refused() {
        for (decimal_comma, c) in [
            (true, ','),
            (false, '.'),
            (false, '5'),
            (false, 'e'),
            (true, '-'),
        ] {
            assert!(NumberFormat::new(decimal_comma, Some(c)).is_err(), "{c}");
        }
        assert!(NumberFormat::new(false, Some(',')).is_ok());
        assert!(NumberFormat::new(true, Some(' ')).is_ok());
    }
}
