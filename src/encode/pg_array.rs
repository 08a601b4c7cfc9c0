//! PostgreSQL arrays (`text[]`, `integer[]`, `numeric(10,2)[][]`) from either text a user
//! has for one: the server's own literal (`{a,"b c",NULL}`, as `COPY TO`, psql and pg_dump
//! write it) or a JSON array (`["a","b c",null]`, as NDJSON, Parquet and Arrow lists and
//! Python lists arrive). The server reads only the literal, so a JSON array would be refused
//! ("malformed array literal") however right its values: asyncpg users pass lists to array
//! columns every day. Neither text can be mistaken for the other: a literal starts with `{`
//! (or a `[1:3]=` bound, which is no JSON), a JSON array with `[`.
//!
//! Into binary `COPY` each element goes through its own type's encoder, so an array is
//! checked and encoded like any other value. What this reader does not take on (bounds,
//! backslashes outside quotes, empty sub-arrays, more than [`MAX_DIMS`] dimensions) is left
//! to the server whole, as PostgreSQL is the oracle for its own literals.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::{pg_binary, Outcome};
use crate::schema::ColumnType;

/// PostgreSQL's `MAXDIM`.
const MAX_DIMS: usize = 6;

/// An array read from its text: its dimensions and its elements in row-major order, each the
/// text its element type reads, `None` for NULL.
#[derive(Debug, PartialEq, Eq)]
struct Parsed<'a> {
    dims: Vec<i32>,
    elems: Vec<Option<Cow<'a, str>>>,
}

/// How the elements of a nested text are laid out so far, shared by every sub-array: each
/// level's length, and the level whose items are elements once one is met.
#[derive(Default)]
struct Shape {
    dims: Vec<i32>,
    leaf: Option<usize>,
}

impl Shape {
    /// A level at `depth` holds `n` items: the first at that depth sets its length.
    fn level(&mut self, depth: usize, n: usize) -> Option<()> {
        let n = i32::try_from(n)
            .ok()
            .filter(|&n| n > 0 && depth < MAX_DIMS)?;
        if self.dims.len() <= depth {
            // 0: not met yet (a literal's inner levels end before their outer ones).
            self.dims.resize(depth + 1, 0);
        }
        match &mut self.dims[depth] {
            len @ 0 => {
                *len = n;
                Some(())
            }
            len => (*len == n).then_some(()),
        }
    }

    /// The array of `elems`, read in this shape: an empty one has no dimensions.
    fn parsed(self, elems: Vec<Option<Cow<'_, str>>>) -> Parsed<'_> {
        Parsed {
            dims: if elems.is_empty() {
                Vec::new()
            } else {
                self.dims
            },
            elems,
        }
    }

    /// The items at `depth` are elements (`true`) or sub-arrays: the same at every depth's
    /// sub-array, or the array is not rectangular.
    fn items(&mut self, depth: usize, elements: bool) -> Option<()> {
        match (self.leaf, elements) {
            (None, true) => {
                self.leaf = Some(depth);
                Some(())
            }
            (None, false) => Some(()),
            (Some(leaf), true) => (leaf == depth).then_some(()),
            (Some(leaf), false) => (leaf > depth).then_some(()),
        }
    }
}

/// Reads `text` as a JSON array, or `None` when it is not one this reader takes (the caller
/// leaves it to the server). `json_elements`: the element type is `json`/`jsonb`, whose
/// elements are the items as they stand (a nested array is one element, not a dimension).
fn from_json(text: &str, json_elements: bool) -> Option<Parsed<'_>> {
    let mut shape = Shape::default();
    let mut elems = Vec::new();
    json_level(text, json_elements, 0, &mut shape, &mut elems)?;
    Some(shape.parsed(elems))
}

fn json_level<'a>(
    text: &'a str,
    json_elements: bool,
    depth: usize,
    shape: &mut Shape,
    out: &mut Vec<Option<Cow<'a, str>>>,
) -> Option<()> {
    // serde_json bounds its own recursion (128 levels) with an error, not a crash.
    let items: Vec<&'a RawValue> = serde_json::from_str(text).ok()?;
    if items.is_empty() {
        // `[]` is the empty array; an empty sub-array is left to the server.
        return (depth == 0).then_some(());
    }
    shape.level(depth, items.len())?;
    let nested = !json_elements && items[0].get().starts_with('[');
    shape.items(depth, !nested)?;
    for item in items {
        let t = item.get();
        if nested {
            if !t.starts_with('[') {
                return None;
            }
            json_level(t, json_elements, depth + 1, shape, out)?;
        } else if t == "null" {
            out.push(None);
        } else if json_elements {
            out.push(Some(Cow::Borrowed(t)));
        } else if t.starts_with('[') {
            return None;
        } else if t.starts_with('"') {
            out.push(Some(Cow::Owned(serde_json::from_str::<String>(t).ok()?)));
        } else {
            // Numbers keep their digits; true, false and objects their text.
            out.push(Some(Cow::Borrowed(t)));
        }
    }
    Some(())
}

/// `array_in`'s whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// Reads `text` as PostgreSQL's array literal with `,` between elements, or `None` for what
/// this reader leaves to the server (see the module's comment), malformed literals included:
/// the server's message for those is the one to show.
fn from_literal(text: &str) -> Option<Parsed<'_>> {
    let b = text.as_bytes();
    let mut i = skip_space(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut shape = Shape::default();
    let mut elems = Vec::new();
    i = literal_level(text, i + 1, 0, &mut shape, &mut elems)?;
    if skip_space(b, i) != b.len() {
        return None;
    }
    Some(shape.parsed(elems))
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while b.get(i).copied().is_some_and(is_space) {
        i += 1;
    }
    i
}

/// Reads one level's items after its `{`, up to and past its `}`; returns where it ended.
fn literal_level<'a>(
    text: &'a str,
    mut i: usize,
    depth: usize,
    shape: &mut Shape,
    out: &mut Vec<Option<Cow<'a, str>>>,
) -> Option<usize> {
    if depth >= MAX_DIMS {
        // Deeper than the server takes: bounded here so that no input nests this reader's
        // recursion past its stack.
        return None;
    }
    let b = text.as_bytes();
    i = skip_space(b, i);
    if b.get(i) == Some(&b'}') {
        // `{}` is the empty array; an empty sub-array is left to the server.
        return (depth == 0).then_some(i + 1);
    }
    let mut n = 0;
    loop {
        i = skip_space(b, i);
        let nested = b.get(i) == Some(&b'{');
        shape.items(depth, !nested)?;
        if nested {
            i = literal_level(text, i + 1, depth + 1, shape, out)?;
        } else if b.get(i) == Some(&b'"') {
            let (value, end) = quoted(text, i + 1)?;
            out.push(Some(value));
            i = end;
        } else {
            let start = i;
            while let Some(&c) = b.get(i) {
                match c {
                    b',' | b'}' => break,
                    b'{' | b'"' | b'\\' => return None,
                    _ => i += 1,
                }
            }
            let value = text
                .get(start..i)?
                .trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
            if value.is_empty() {
                return None;
            }
            out.push((!value.eq_ignore_ascii_case("NULL")).then_some(Cow::Borrowed(value)));
        }
        n += 1;
        i = skip_space(b, i);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => {
                shape.level(depth, n)?;
                return Some(i + 1);
            }
            _ => return None,
        }
    }
}

/// A quoted element from after its opening quote: its text with backslash escapes taken out,
/// and where it ended (past the closing quote).
fn quoted(text: &str, start: usize) -> Option<(Cow<'_, str>, usize)> {
    let b = text.as_bytes();
    let mut i = start;
    let mut owned: Option<String> = None;
    let mut from = start;
    loop {
        match *b.get(i)? {
            b'"' => {
                let tail = text.get(from..i)?;
                let value = match owned {
                    Some(mut s) => {
                        s.push_str(tail);
                        Cow::Owned(s)
                    }
                    None => Cow::Borrowed(tail),
                };
                return Some((value, i + 1));
            }
            b'\\' => {
                let s = owned.get_or_insert_with(String::new);
                s.push_str(text.get(from..i)?);
                // The escaped character, whole (it may take several bytes).
                let c = text.get(i + 1..)?.chars().next()?;
                s.push(c);
                i += 1 + c.len_utf8();
                from = i;
            }
            _ => i += 1,
        }
    }
}

/// What an array's text is, to this reader.
enum Read<'a> {
    /// An array whose elements can be encoded here.
    Array(Parsed<'a>),
    /// An array or what may be one, for the server to read (or refuse).
    Server,
    /// Not an array in any form.
    NotArray,
}

fn read<'a>(text: &'a str, elem: &ColumnType) -> Read<'a> {
    let json_elements = matches!(elem, ColumnType::Json | ColumnType::Jsonb);
    match text.as_bytes().get(skip_space(text.as_bytes(), 0)) {
        Some(b'{') => from_literal(text).map_or(Read::Server, Read::Array),
        Some(b'[') => from_json(text.trim_start(), json_elements).map_or(Read::Server, Read::Array),
        _ => Read::NotArray,
    }
}

const NOT_AN_ARRAY: &str = "an array is written {a,b,c} (or as a JSON array, [\"a\",\"b\",\"c\"])";

/// Appends the binary form of the array in `raw`, each element encoded as `elem` (whose OID
/// is `elem_oid`, which the binary form names).
///
/// An element the client does not read defers the whole array to the server, as its text
/// (see [`server_text`]); a bad element rejects it, naming the element.
pub fn encode(
    elem: &ColumnType,
    elem_oid: u32,
    raw: &[u8],
    session_utc: bool,
    out: &mut Vec<u8>,
) -> Outcome {
    let text = match pg_binary::check_text(raw) {
        Ok(()) => String::from_utf8_lossy(raw),
        Err(why) => return Outcome::Reject(why),
    };
    let parsed = match read(&text, elem) {
        Read::Array(p) => p,
        Read::Server => return Outcome::Defer,
        Read::NotArray => return Outcome::Reject(NOT_AN_ARRAY.into()),
    };
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let has_null = parsed.elems.iter().any(Option::is_none);
    out.extend_from_slice(&(parsed.dims.len() as i32).to_be_bytes());
    out.extend_from_slice(&i32::from(has_null).to_be_bytes());
    out.extend_from_slice(&elem_oid.to_be_bytes());
    for &len in &parsed.dims {
        out.extend_from_slice(&len.to_be_bytes());
        // Lower bound: arrays from either text start at 1.
        out.extend_from_slice(&1i32.to_be_bytes());
    }
    for (k, e) in parsed.elems.iter().enumerate() {
        let Some(value) = e else {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        };
        let part = pg_binary::encode_part(elem, value.as_bytes(), session_utc, out, start, || {
            let shown: String = value.chars().take(40).collect();
            format!("element {} ({shown:?})", k + 1)
        });
        if let Err(outcome) = part {
            return outcome;
        }
    }
    pg_binary::close_value(out, start)
}

/// The array in `raw` as text the server's array input reads: a JSON array written as a
/// literal, anything else as it is (for the server to read or refuse).
pub fn server_text<'a>(raw: &'a [u8], elem: &ColumnType) -> Cow<'a, [u8]> {
    let Ok(text) = std::str::from_utf8(raw) else {
        return Cow::Borrowed(raw);
    };
    if !text.trim_start().starts_with('[') {
        return Cow::Borrowed(raw);
    }
    let json_elements = matches!(elem, ColumnType::Json | ColumnType::Jsonb);
    let Some(parsed) = from_json(text.trim_start(), json_elements) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(raw.len() + 8);
    write_literal(&parsed, 0, &mut parsed.elems.iter(), &mut out);
    Cow::Owned(out)
}

/// Writes the level at `depth` of `p` as a literal: every element quoted (which every element
/// type reads), `NULL` unquoted.
fn write_literal<'p>(
    p: &Parsed<'_>,
    depth: usize,
    elems: &mut impl Iterator<Item = &'p Option<Cow<'p, str>>>,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    let n = p.dims.get(depth).copied().unwrap_or(0);
    for k in 0..n {
        if k > 0 {
            out.push(b',');
        }
        if depth + 1 < p.dims.len() {
            write_literal(p, depth + 1, elems, out);
            continue;
        }
        match elems.next() {
            Some(Some(v)) => {
                out.push(b'"');
                for &c in v.as_bytes() {
                    if c == b'"' || c == b'\\' {
                        out.push(b'\\');
                    }
                    out.push(c);
                }
                out.push(b'"');
            }
            _ => out.extend_from_slice(b"NULL"),
        }
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(dims: &[i32], elems: &[Option<&str>]) -> Parsed<'static> {
        Parsed {
            dims: dims.to_vec(),
            elems: elems
                .iter()
                .map(|e| e.map(|s| Cow::Owned(s.to_string())))
                .collect(),
        }
    }

    #[test]
    fn literals_read_as_the_server_reads_them() {
        type Case<'a> = (&'a str, &'a [i32], &'a [Option<&'a str>]);
        let cases: &[Case] = &[
            ("{a,b}", &[2], &[Some("a"), Some("b")]),
            (
                " { a b , \"c,}\\\"d\" , NULL,null } ",
                &[4],
                &[Some("a b"), Some("c,}\"d"), None, None],
            ),
            ("{\"NULL\",\"\"}", &[2], &[Some("NULL"), Some("")]),
            (
                "{{1,2},{3,4},{5,6}}",
                &[3, 2],
                &[
                    Some("1"),
                    Some("2"),
                    Some("3"),
                    Some("4"),
                    Some("5"),
                    Some("6"),
                ],
            ),
            ("{}", &[], &[]),
            ("{\"é\\ü\"}", &[1], &[Some("éü")]),
        ];
        for (text, dims, elems) in cases {
            assert_eq!(from_literal(text), Some(parsed(dims, elems)), "{text}");
        }
    }

    #[test]
    fn what_the_reader_leaves_to_the_server() {
        for text in [
            "[1:2]={1,2}",
            "{{1,2},{3}}",
            "{{1,2},3}",
            "{1,{2}}",
            "{{},{}}",
            "{a,,b}",
            "{a\\,b}",
            "{\"a}",
            "{a} x",
            "{{{{{{{1}}}}}}}",
        ] {
            assert_eq!(from_literal(text), None, "{text}");
        }
    }

    #[test]
    fn json_arrays_read_as_their_values() {
        assert_eq!(
            from_json(r#"["a", "b \"c\"", null, 1.50, true]"#, false),
            Some(parsed(
                &[5],
                &[Some("a"), Some("b \"c\""), None, Some("1.50"), Some("true")]
            ))
        );
        assert_eq!(
            from_json("[[1,2],[3,4]]", false),
            Some(parsed(
                &[2, 2],
                &[Some("1"), Some("2"), Some("3"), Some("4")]
            ))
        );
        assert_eq!(from_json("[]", false), Some(parsed(&[], &[])));
        // Ragged, mixed or empty sub-arrays are the server's to refuse.
        for text in ["[[1,2],[3]]", "[[1],2]", "[1,[2]]", "[[],[]]", "[1,"] {
            assert_eq!(from_json(text, false), None, "{text}");
        }
        // json elements are the items as they stand.
        assert_eq!(
            from_json(r#"[{"a":1}, "s", [1,2], null]"#, true),
            Some(parsed(
                &[4],
                &[Some(r#"{"a":1}"#), Some("\"s\""), Some("[1,2]"), None]
            ))
        );
    }

    #[test]
    fn json_arrays_become_literals_for_the_server() {
        let t = |raw: &str| {
            String::from_utf8(server_text(raw.as_bytes(), &ColumnType::Other).into_owned())
                .unwrap_or_default()
        };
        assert_eq!(t(r#"["a,b", "c\"\\", null]"#), r#"{"a,b","c\"\\",NULL}"#);
        assert_eq!(t("[[1,2],[3,4]]"), r#"{{"1","2"},{"3","4"}}"#);
        assert_eq!(t("[]"), "{}");
        assert_eq!(t("{1,2}"), "{1,2}");
        assert_eq!(t("[1:2]={1,2}"), "[1:2]={1,2}");
    }

    fn enc(elem: ColumnType, oid: u32, text: &str) -> (Outcome, Vec<u8>) {
        let mut out = vec![9];
        let o = encode(&elem, oid, text.as_bytes(), true, &mut out);
        (o, out)
    }

    #[test]
    fn binary_form_is_postgres_array_send() {
        let (o, out) = enc(ColumnType::Int4, 23, "{1,NULL}");
        assert_eq!(o, Outcome::Done);
        let mut want = vec![9, 0, 0, 0, 32];
        for w in [1i32, 1, 23, 2, 1, 4, 1, -1] {
            want.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(out, want);
        // The same array from JSON.
        assert_eq!(enc(ColumnType::Int4, 23, "[1, null]").1, want);
        // Empty: no dimensions.
        let (o, out) = enc(ColumnType::Text, 25, "{}");
        assert_eq!(o, Outcome::Done);
        assert_eq!(
            &out[1..],
            &[0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25]
        );
    }

    #[test]
    fn bad_elements_are_named_and_leave_nothing_written() {
        let (o, out) = enc(ColumnType::Int4, 23, "{1,99999999999}");
        assert!(
            matches!(&o, Outcome::Reject(why) if why.starts_with("element 2 (\"99999999999\"): ")),
            "{o:?}"
        );
        assert_eq!(out, [9]);
        let (o, _) = enc(ColumnType::Int4, 23, "1,2");
        assert_eq!(o, Outcome::Reject(NOT_AN_ARRAY.into()));
        // What the client does not read goes to the server whole.
        assert_eq!(
            enc(ColumnType::Int4, 23, "[1:1]={1}"),
            (Outcome::Defer, vec![9])
        );
        assert_eq!(
            enc(ColumnType::Date, 1082, "{epoch}"),
            (Outcome::Defer, vec![9])
        );
    }

    /// A rectangular array of strings and NULLs, as nested JSON, of 1 to 3 dimensions.
    fn nested() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let elem = prop_oneof![
            1 => Just(serde_json::Value::Null),
            4 => "[ -~é\\\\\"{},\\n]{0,6}".prop_map(serde_json::Value::String),
        ];
        (1usize..4, 1usize..4, 1usize..3, 1usize..4).prop_flat_map(move |(ndim, a, b, c)| {
            let lens = [a, b, c];
            proptest::collection::vec(elem.clone(), a * b * c).prop_map(move |flat| {
                fn build(
                    flat: &mut std::vec::IntoIter<serde_json::Value>,
                    lens: &[usize],
                ) -> serde_json::Value {
                    match lens {
                        [] => flat.next().unwrap_or(serde_json::Value::Null),
                        [n, rest @ ..] => {
                            serde_json::Value::Array((0..*n).map(|_| build(flat, rest)).collect())
                        }
                    }
                }
                build(&mut flat.into_iter(), &lens[..ndim])
            })
        })
    }

    proptest::proptest! {
        /// A JSON array written as a literal reads back as the same array: what the client
        /// encodes and what it leaves to the server are the same values.
        #[test]
        fn json_arrays_and_their_literals_are_the_same_array(v in nested()) {
            let json = v.to_string();
            let from_json = from_json(&json, false);
            proptest::prop_assert!(from_json.is_some(), "{}", json);
            let literal = server_text(json.as_bytes(), &ColumnType::Text).into_owned();
            let literal = String::from_utf8(literal).unwrap_or_default();
            proptest::prop_assert_eq!(from_literal(&literal), from_json, "{}", literal);
        }
    }
}
