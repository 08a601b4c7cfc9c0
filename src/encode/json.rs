//! Checking that a value is one JSON document, before it is sent to a json/jsonb column.
//!
//! Written by hand rather than through `serde_json` (`IgnoredAny`), which visits every value
//! through serde's traits: on the bench rows, whose payload is a small JSON object, that check
//! was a sixth of the client's CPU. This is one pass over the bytes with an explicit stack (no
//! recursion, so no depth can overflow it), and it also notes a `\u0000` escape, which jsonb
//! refuses, instead of searching for it again. It accepts what RFC 8259 accepts, in UTF-8: JSON
//! is ASCII outside its strings, and each other character in a string is checked where the
//! walk meets it, so that the document is not read a second time for its encoding. Unit
//! property tests hold it to `serde_json`'s verdict. For a jsonb column it also tells
//! [`KeyOrder`] where each object's members lie, on the same pass.

/// What [`check`] found.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Json {
    /// One JSON document, with whitespace around it at most.
    Valid {
        /// It holds the escape `\u0000` (which jsonb cannot store).
        nul_escape: bool,
    },
    /// Not JSON, or nested deeper than [`MAX_DEPTH`].
    Invalid,
}

/// Nesting deeper than this is left to the server (whose own limit is its stack depth).
pub const MAX_DEPTH: usize = 4096;

const OBJECT: u8 = b'{';
const ARRAY: u8 = b'[';

/// Checks that `b` is one JSON document.
pub fn check(b: &[u8]) -> Json {
    check_with(b, &mut ())
}

/// What the checker tells as it goes: where objects open and close and their members lie.
/// Plain [`check`] tells nothing (`()`); the checker is compiled once for each listener, so
/// it pays nothing for what it does not tell.
pub(super) trait Listener {
    /// An object with members opens at `brace`.
    fn open(&mut self, brace: usize);
    /// The innermost open object's next key: the string from `quote` to `end` (its closing
    /// quote included), written with an escape or not.
    fn key(&mut self, b: &[u8], quote: usize, end: usize, escaped: bool);
    /// The innermost open object's last member ends at `end`.
    fn member_end(&mut self, end: usize);
    /// The innermost open object closes at `brace`.
    fn close(&mut self, brace: usize);
}

impl Listener for () {
    fn open(&mut self, _: usize) {}
    fn key(&mut self, _: &[u8], _: usize, _: usize, _: bool) {}
    fn member_end(&mut self, _: usize) {}
    fn close(&mut self, _: usize) {}
}

/// [`check`], telling `order` where the document's objects and members lie.
pub(super) fn check_with<L: Listener>(b: &[u8], order: &mut L) -> Json {
    let mut c = Checker {
        b,
        i: 0,
        nul: false,
        escaped: false,
        order,
    };
    match c.document() {
        Some(()) => Json::Valid { nul_escape: c.nul },
        None => Json::Invalid,
    }
}

/// The open arrays and objects, innermost last: the first levels in place, deeper ones in a
/// `Vec`. A `Vec` alone was allocated and freed for every document that has an object or an
/// array (every bench row's payload).
#[derive(Default)]
struct Nesting {
    depth: usize,
    near: [u8; NEAR],
    deep: Vec<u8>,
}

const NEAR: usize = 16;

impl Nesting {
    fn push(&mut self, c: u8) {
        match self.near.get_mut(self.depth) {
            Some(slot) => *slot = c,
            None => self.deep.push(c),
        }
        self.depth += 1;
    }

    fn pop(&mut self) {
        if self.depth > NEAR {
            self.deep.pop();
        }
        self.depth = self.depth.saturating_sub(1);
    }

    fn last(&self) -> Option<u8> {
        let top = self.depth.checked_sub(1)?;
        match self.near.get(top) {
            Some(&c) => Some(c),
            None => self.deep.last().copied(),
        }
    }
}

struct Checker<'a, 'o, L> {
    b: &'a [u8],
    i: usize,
    nul: bool,
    /// The last string read held an escape.
    escaped: bool,
    order: &'o mut L,
}

impl<L: Listener> Checker<'_, '_, L> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn document(&mut self) -> Option<()> {
        let mut stack = Nesting::default();
        loop {
            // A value.
            self.ws();
            match self.peek()? {
                c @ (OBJECT | ARRAY) => {
                    let open = self.i;
                    self.i += 1;
                    self.ws();
                    let close = if c == OBJECT { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                    } else {
                        if stack.depth >= MAX_DEPTH {
                            return None;
                        }
                        stack.push(c);
                        if c == OBJECT {
                            self.order.open(open);
                            self.key()?;
                        }
                        continue;
                    }
                }
                b'"' => self.string()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => self.number()?,
            }
            // After a value: close what it ends, until a comma asks for the next value.
            loop {
                let value_end = self.i;
                self.ws();
                match stack.last() {
                    None => return (self.i == self.b.len()).then_some(()),
                    Some(c) => match self.peek()? {
                        b',' => {
                            self.i += 1;
                            if c == OBJECT {
                                self.order.member_end(value_end);
                                self.key()?;
                            }
                            break;
                        }
                        b'}' if c == OBJECT => {
                            self.order.member_end(value_end);
                            self.order.close(self.i);
                            self.i += 1;
                            stack.pop();
                        }
                        b']' if c == ARRAY => {
                            self.i += 1;
                            stack.pop();
                        }
                        _ => return None,
                    },
                }
            }
        }
    }

    /// A member's name and its colon.
    fn key(&mut self) -> Option<()> {
        self.ws();
        if self.peek()? != b'"' {
            return None;
        }
        let quote = self.i;
        self.escaped = false;
        self.string()?;
        self.order.key(self.b, quote, self.i, self.escaped);
        self.ws();
        self.eat(b':')
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// A string, from its opening quote.
    fn string(&mut self) -> Option<()> {
        self.i += 1;
        loop {
            // Byte by byte: strings in documents are mostly short, and a vectorized search
            // costs more to start than such a string takes to walk.
            let rest = self.b.get(self.i..)?;
            let at = rest
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c))?;
            self.i += at + 1;
            match rest[at] {
                b'"' => return Some(()),
                b'\\' => self.escaped = true,
                lead @ 0x80.. => {
                    self.i += utf8_char(&rest[at..], lead)? - 1;
                    continue;
                }
                // Control characters must be escaped.
                _ => return None,
            }
            match self.peek()? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                b'u' => {
                    let hex = self.b.get(self.i + 1..self.i + 5)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    self.nul |= hex == b"0000";
                    self.i += 5;
                }
                _ => return None,
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<()> {
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.').is_some() {
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.i;
        self.digits();
        (self.i > start).then_some(())
    }
}

/// The length of the UTF-8 character that starts `b` with the non-ASCII byte `lead`, when it is
/// one (not cut short, overlong, a surrogate or past U+10FFFF).
fn utf8_char(b: &[u8], lead: u8) -> Option<usize> {
    let width = match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    std::str::from_utf8(b.get(..width)?).ok().map(|_| width)
}

#[cfg(test)]
pub(super) mod tests {
    use super::{check, Json, MAX_DEPTH};

    fn serde_says(s: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()
    }

    #[test]
    fn documents_and_not() {
        for ok in [
            "{}",
            " [ ] ",
            "0",
            "-0.5e+10",
            "\"a\\u00e9\\n\"",
            "{\"a\":[1,2,{\"b\":null}],\"c\":true}",
            "[false, \"x\\\"y\", 1E5]",
        ] {
            assert!(matches!(check(ok.as_bytes()), Json::Valid { .. }), "{ok}");
            assert!(serde_says(ok), "{ok}");
        }
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\"}",
            "{\"a\":1,}",
            "01",
            "1.",
            ".5",
            "-",
            "tru",
            "nul",
            "\"a",
            "\"\u{1}\"",
            "\"\\x\"",
            "\"\\u12G4\"",
            "[1] 2",
            "{1:2}",
            "[}",
            "{]",
            "+1",
        ] {
            assert_eq!(check(bad.as_bytes()), Json::Invalid, "{bad}");
            assert!(!serde_says(bad), "{bad}");
        }
    }

    #[test]
    fn nul_escapes_are_told_from_an_escaped_backslash() {
        assert_eq!(check(br#"["\u0000"]"#), Json::Valid { nul_escape: true });
        assert_eq!(
            check(br#"{"k":"a\\u0000"}"#),
            Json::Valid { nul_escape: false }
        );
        assert_eq!(check(br#""\u00001""#), Json::Valid { nul_escape: true });
    }

    #[test]
    fn depth_is_bounded_without_recursion() {
        let deep = "[".repeat(1_000_000);
        assert_eq!(check(deep.as_bytes()), Json::Invalid);
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(matches!(check(ok.as_bytes()), Json::Valid { .. }));
        // Objects and arrays taking turns across the depth where nesting leaves its in-place
        // levels: each close must match its own open.
        let (open, close): (String, String) = (0..40)
            .map(|d| {
                if d % 2 == 0 {
                    ("{\"k\":", "}")
                } else {
                    ("[", "]")
                }
            })
            .fold((String::new(), String::new()), |(o, c), (a, b)| {
                (o + a, b.to_owned() + &c)
            });
        let doc = format!("{open}1{close}");
        assert!(matches!(check(doc.as_bytes()), Json::Valid { .. }), "{doc}");
        assert!(serde_says(&doc));
        for at in [15, 16, 17, 30] {
            let mut bad = doc.clone().into_bytes();
            let end = bad.len() - 1 - at;
            bad[end] = if bad[end] == b'}' { b']' } else { b'}' };
            assert_eq!(
                check(&bad),
                Json::Invalid,
                "{}",
                String::from_utf8_lossy(&bad)
            );
        }
    }

    proptest::proptest! {
        /// Strings made of JSON's own tokens, well formed or not, get serde_json's verdict.
        #[test]
        fn agrees_with_serde_json(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "{", "}", "[", "]", ",", ":", " ", "\"k\"", "\"\\u0041\"", "\"\\\\\"", "1",
                "-2.5e3", "0", "true", "null", "\"", "\\", "x", "\n", "01", "1.", "\"\t\"",
            ]),
            0..24,
        )) {
            let s: String = parts.concat();
            // serde_json's own nesting limit is 128; these strings stay below it.
            let ours = matches!(check(s.as_bytes()), Json::Valid { .. });
            proptest::prop_assert_eq!(ours, serde_says(&s), "{:?}", s);
        }
    }

    proptest::proptest! {
        /// Strings of characters and broken UTF-8 (cut short, overlong, surrogates, past
        /// U+10FFFF, stray continuation bytes), and such bytes outside strings: serde_json
        /// reads the document into a `Value` (which checks every string's UTF-8) exactly when
        /// it is valid here.
        #[test]
        fn checks_utf8_as_serde_json_does(
            strings in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(vec![
                        &b"a"[..], "é".as_bytes(), "€".as_bytes(), "😀".as_bytes(),
                        "\u{7FF}".as_bytes(), "\u{FFFF}".as_bytes(), "\u{10FFFF}".as_bytes(),
                        b"\xC3", b"\xE2\x82", b"\xF0\x9F\x98", b"\xC0\xAF", b"\xE0\x80\xAF",
                        b"\xED\xA0\x80", b"\xF4\x90\x80\x80", b"\xFF", b"\x80", b"\xC1\xBF",
                    ]),
                    0..6,
                ),
                1..4,
            ),
            outside in proptest::option::of(proptest::sample::select(vec![0xC3u8, 0x80, 0xFF])),
        ) {
            let mut b = b"[".to_vec();
            for (k, parts) in strings.iter().enumerate() {
                if k > 0 {
                    b.push(b',');
                }
                b.push(b'"');
                b.extend(parts.concat());
                b.push(b'"');
            }
            b.extend(outside);
            b.push(b']');
            let ours = matches!(check(&b), Json::Valid { .. });
            let serde = serde_json::from_slice::<serde_json::Value>(&b).is_ok();
            proptest::prop_assert_eq!(ours, serde, "{:?}", b);
        }
    }

    /// Any document serde_json writes, compact or pretty.
    pub(crate) fn documents() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC{0,8}".prop_map(Value::String),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,6}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn every_document_serde_json_writes_is_valid(v in documents(), pretty: bool) {
            let s = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            proptest::prop_assert!(matches!(check(s.as_bytes()), Json::Valid { .. }), "{}", s);
        }
    }
}
