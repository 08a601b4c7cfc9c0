//! A JSON document sent to a jsonb column with every object's keys in jsonb's order.
//!
//! jsonb keeps an object's keys sorted (shorter first, then bytewise) and sorts them as it
//! reads a document; keys that already stand in that order cost the server one comparison
//! each instead of a sort. On the bench rows (objects of 3-7 keys in the order a program wrote
//! them) that sort was about 4% of the server's CPU for the whole load (0.12 s of ~3 s per
//! million rows; the same documents with sorted keys parse 20% faster), and the server is what
//! a load waits for. The client, which checks each document anyway, puts the keys in order on
//! the same pass: [`super::json`]'s checker tells [`KeyOrder`] where each object's members lie,
//! and the document is then copied with the members of each object that is out of order
//! rewritten in place.
//!
//! What the column stores is the same either way: keys are compared as jsonb compares them,
//! equal keys keep their order (jsonb keeps the last of them), every member is moved byte for
//! byte, and an object with an escaped key keeps its order (telling where it sorts would need
//! the escape decoded; the server sorts that one). A rewritten object keeps its length: its
//! members are joined by bare commas and the whitespace left over goes before its `}`, so the
//! positions of everything around it, and of the objects around it still to be rewritten,
//! stay as the checker saw them.

use std::cell::RefCell;
use std::cmp::Ordering;

use super::json::{check_with, Json, Listener};

/// Documents up to this size are put in order. The gain is per document (the server's sort of
/// a few keys), and the buffers this takes are kept for the next document: a huge one would
/// hold its size in them for the rest of the load, where a big field is meant to cost about
/// twice its size. Bigger documents go as written (the server sorts them).
pub const ORDER_UP_TO: usize = 64 * 1024;

/// Checks `doc` as [`super::json::check`] does and, when it is valid, appends it to `out` with
/// every object's keys in jsonb's order (nothing is appended otherwise; a document over
/// [`ORDER_UP_TO`] is appended as written).
pub fn check_sorted(doc: &[u8], out: &mut Vec<u8>) -> Json {
    thread_local! {
        /// One set of buffers per thread, for every document, rather than allocations per
        /// document.
        static ORDER: RefCell<KeyOrder> = RefCell::new(KeyOrder::default());
    }
    let as_written = |out: &mut Vec<u8>| {
        let verdict = check_with(doc, &mut ());
        if matches!(verdict, Json::Valid { .. }) {
            out.extend_from_slice(doc);
        }
        verdict
    };
    if doc.len() > ORDER_UP_TO {
        return as_written(out);
    }
    ORDER.with(|order| {
        // Not reached (nothing here calls back into itself); the document then goes as written.
        let Ok(mut order) = order.try_borrow_mut() else {
            return as_written(out);
        };
        order.clear();
        let verdict = check_with(doc, &mut *order);
        if matches!(verdict, Json::Valid { .. }) {
            order.write(doc, out);
        }
        verdict
    })
}

/// Where the members of a document's objects lie, and which objects are out of order.
#[derive(Default)]
pub struct KeyOrder {
    /// The members of the objects still open, innermost last.
    members: Vec<Member>,
    /// The objects still open, innermost last.
    open: Vec<Open>,
    /// Objects to rewrite, in the order they closed (inner ones before the ones around them).
    fixes: Vec<Fix>,
    /// The members of the objects to rewrite.
    fixed: Vec<Member>,
    /// An object's bytes while its members are written back in order.
    scratch: Vec<u8>,
}

/// A member: its key's bytes (inside the quotes), and where it starts (its key's opening
/// quote) and ends (after its value).
#[derive(Clone, Copy)]
struct Member {
    key: (usize, usize),
    start: usize,
    end: usize,
}

struct Open {
    /// Where its `{` is.
    brace: usize,
    /// Its first member in `members`.
    base: usize,
    in_order: bool,
    escaped_key: bool,
}

/// An object to rewrite: the bytes between its braces, and its members in `fixed`.
struct Fix {
    inner: (usize, usize),
    members: (usize, usize),
}

impl KeyOrder {
    fn clear(&mut self) {
        self.members.clear();
        self.open.clear();
        self.fixes.clear();
        self.fixed.clear();
    }

    /// Appends `doc` to `out`, each object that was out of order rewritten in order.
    fn write(&mut self, doc: &[u8], out: &mut Vec<u8>) {
        let at = out.len();
        out.extend_from_slice(doc);
        if self.fixes.is_empty() {
            return;
        }
        if self.rewrite(doc, &mut out[at..]).is_none() {
            // Not reached for what the checker accepted; the document then goes as written.
            out.truncate(at);
            out.extend_from_slice(doc);
        }
    }

    fn rewrite(&mut self, doc: &[u8], out: &mut [u8]) -> Option<()> {
        for fix in &self.fixes {
            let (start, end) = fix.inner;
            self.scratch.clear();
            self.scratch.extend_from_slice(out.get(start..end)?);
            let members = self.fixed.get_mut(fix.members.0..fix.members.1)?;
            // Stable: equal keys stay in the order written.
            members.sort_by(|x, y| jsonb_key_order(doc, x.key, y.key));
            let mut w = start;
            for (k, m) in members.iter().enumerate() {
                if k > 0 {
                    *out.get_mut(w)? = b',';
                    w += 1;
                }
                let piece = self.scratch.get(m.start - start..m.end - start)?;
                out.get_mut(w..w + piece.len())?.copy_from_slice(piece);
                w += piece.len();
            }
            out.get_mut(w..end)?.fill(b' ');
        }
        Some(())
    }
}

impl Listener for KeyOrder {
    fn open(&mut self, brace: usize) {
        self.open.push(Open {
            brace,
            base: self.members.len(),
            in_order: true,
            escaped_key: false,
        });
    }

    fn key(&mut self, b: &[u8], quote: usize, end: usize, escaped: bool) {
        let Some(open) = self.open.last_mut() else {
            return;
        };
        let key = (quote + 1, end.saturating_sub(1).max(quote + 1));
        if self.members.len() > open.base {
            if let Some(last) = self.members.last() {
                open.in_order &= jsonb_key_order(b, last.key, key) != Ordering::Greater;
            }
        }
        open.escaped_key |= escaped;
        self.members.push(Member {
            key,
            start: quote,
            end: quote,
        });
    }

    fn member_end(&mut self, end: usize) {
        if let Some(m) = self.members.last_mut() {
            m.end = end;
        }
    }

    fn close(&mut self, brace: usize) {
        let Some(open) = self.open.pop() else {
            return;
        };
        if !open.in_order && !open.escaped_key {
            let from = self.fixed.len();
            self.fixed
                .extend_from_slice(self.members.get(open.base..).unwrap_or_default());
            self.fixes.push(Fix {
                inner: (open.brace + 1, brace),
                members: (from, self.fixed.len()),
            });
        }
        self.members.truncate(open.base);
    }
}

/// jsonb's order of keys: shorter first, then bytewise.
fn jsonb_key_order(b: &[u8], x: (usize, usize), y: (usize, usize)) -> Ordering {
    let key = |(start, end): (usize, usize)| b.get(start..end).unwrap_or_default();
    let (x, y) = (key(x), key(y));
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

#[cfg(test)]
mod tests {
    use super::check_sorted;
    use crate::encode::json::{check, Json};

    fn sorted(doc: &str) -> String {
        let mut out = b"prefix".to_vec();
        assert!(
            matches!(check_sorted(doc.as_bytes(), &mut out), Json::Valid { .. }),
            "{doc}"
        );
        String::from_utf8(out[6..].to_vec()).unwrap()
    }

    #[test]
    fn keys_shorter_first_then_bytewise() {
        assert_eq!(
            sorted(r#"{"source":"pos","items":15,"ok":true}"#),
            r#"{"ok":true,"items":15,"source":"pos"}"#
        );
        // Nested objects, in arrays too; whitespace left over goes before the brace.
        assert_eq!(
            sorted(r#" { "b" : [ {"zz":1, "a":2} , 3 ], "a" : {} , "B":null } "#),
            r#" {"B":null,"a" : {},"b" : [ {"a":2,"zz":1 } , 3 ]     } "#
        );
        // Equal keys stay in the order written (jsonb keeps the last).
        assert_eq!(sorted(r#"{"k":1,"a":0,"k":2}"#), r#"{"a":0,"k":1,"k":2}"#);
        // An object with an escaped key keeps its order; the ones inside it are sorted.
        assert_eq!(
            sorted(r#"{"z\u0041":{"bb":1,"a":2},"a":1}"#),
            r#"{"z\u0041":{"a":2,"bb":1},"a":1}"#
        );
        // Values byte for byte, strings with quotes, braces and escapes in them too.
        assert_eq!(
            sorted(r#"{"x":"a\"}]{,","é":-1.50E+3,"":"\\"}"#),
            r#"{"":"\\","x":"a\"}]{,","é":-1.50E+3}"#
        );
        for same in [
            "1",
            "\"s\"",
            "null",
            "[]",
            "{}",
            "[1,[2,[3]]]",
            r#"{"a":1,"b":2}"#,
        ] {
            assert_eq!(sorted(same), same);
        }
    }

    #[test]
    fn a_big_document_goes_as_written() {
        let big = format!("{{\"b\":\"{}\",\"a\":1}}", "x".repeat(super::ORDER_UP_TO));
        assert_eq!(sorted(&big), big);
        let small = format!("{{\"b\":\"{}\",\"a\":1}}", "x".repeat(100));
        assert!(sorted(&small).starts_with("{\"a\":1,"));
    }

    #[test]
    fn what_is_not_one_document_is_not_written() {
        for bad in [
            "",
            "{",
            "{\"b\":1,\"a\"",
            "[1,",
            "{\"b\":1,\"a\":2} x",
            "\"open",
        ] {
            let mut out = b"kept".to_vec();
            assert_eq!(
                check_sorted(bad.as_bytes(), &mut out),
                Json::Invalid,
                "{bad}"
            );
            assert_eq!(out, b"kept");
        }
    }

    proptest::proptest! {
        /// Any document serde_json writes, compact or pretty, reads back as the same value
        /// with its keys in jsonb's order, and the checker's verdict is the same.
        #[test]
        fn same_value_keys_in_order(v in crate::encode::json::tests::documents(), pretty: bool) {
            let doc = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            let out = sorted(&doc);
            proptest::prop_assert_eq!(out.len(), doc.len());
            proptest::prop_assert_eq!(check(out.as_bytes()), check(doc.as_bytes()));
            // The same value (read back the same way: serde_json's float parsing is not exact).
            let read = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
            proptest::prop_assert_eq!(read(&out), read(&doc));
            // Nothing left to put in order.
            proptest::prop_assert_eq!(sorted(&out), out);
        }

        /// Duplicate keys keep their order among themselves (jsonb keeps the last).
        #[test]
        fn duplicates_keep_their_order(
            pairs in proptest::collection::vec(("[a-c]{0,3}", 0i32..5), 0..8),
            pretty: bool,
        ) {
            let members: Vec<String> =
                pairs.iter().map(|(k, v)| format!("\"{k}\": [{v}, {{\"{k}\": {v}, \"\": 0}}]")).collect();
            let sep = if pretty { ",\n  " } else { "," };
            let doc = format!("{{{}}}", members.join(sep));
            let out = sorted(&doc);
            let mut want = pairs.clone();
            want.sort_by(|x, y| x.0.len().cmp(&y.0.len()).then_with(|| x.0.cmp(&y.0)));
            let want: Vec<String> = want
                .iter()
                .map(|(k, v)| {
                    let inner = if k.is_empty() {
                        format!("{{\"{k}\": {v}, \"\": 0}}")
                    } else {
                        format!("{{\"\":0,\"{k}\": {v}}}")
                    };
                    format!("\"{k}\": [{v}, {}]", inner)
                })
                .collect();
            let squeezed = |s: &str| s.split_whitespace().collect::<String>();
            proptest::prop_assert_eq!(squeezed(&out), squeezed(&format!("{{{}}}", want.join(","))));
        }
    }
}
