//! JSON rows: one object per line (NDJSON), objects over several lines, or the elements of one
//! array ([`Framing`]), their keys mapped to columns by name.
//!
//! Each object becomes a [`Record`] in the load's column order, so that the same encoders serve
//! CSV and NDJSON: a string becomes a quoted field (so `""` stays an empty string), `null` or a
//! missing key an unquoted empty field (NULL), and anything else its JSON text as it stands in
//! the line: numbers keep every digit (for `numeric` columns), objects and arrays go whole into
//! `json`/`jsonb` columns. Into a `json`/`jsonb` column every value goes as its JSON text, so it
//! keeps its JSON type: `"42"` is stored as the JSON string "42", not the number 42 (as
//! PostgreSQL's `jsonb_populate_record` does).

use std::collections::HashMap;
use std::io::{BufReader, Read};

use serde_json::value::RawValue;

use super::json_frames::{FrameError, Frames, Framing};
use super::RecordSource;
use crate::error::{ErrorKind, Result};
use crate::position::Position;
use crate::record::Record;

/// Reads NDJSON records.
pub struct NdjsonReader<R> {
    rdr: BufReader<R>,
    input_name: String,
    keys: HashMap<String, usize>,
    width: usize,
    ignore_unknown: bool,
    keep_raw: bool,
    /// Fields that go into json/jsonb columns: their JSON text is kept as it is.
    json: Vec<bool>,
    frames: Frames,
    framing: Framing,
    record: u64,
    buf: Vec<u8>,
    /// The input is no JSON of its framing (an array not closed...): nothing more is read.
    broken: bool,
}

impl<R: Read> NdjsonReader<R> {
    /// A reader whose records hold the values of `columns` (the objects' keys), in order.
    /// Keys not among them are an error unless `ignore_unknown`. `framing` is how the objects
    /// follow one another ([`Framing::of`] the input's first bytes).
    pub fn new(
        rdr: R,
        input_name: impl Into<String>,
        columns: &[String],
        framing: Framing,
        ignore_unknown: bool,
        keep_raw: bool,
    ) -> Self {
        NdjsonReader {
            rdr: BufReader::with_capacity(256 * 1024, rdr),
            input_name: input_name.into(),
            keys: columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.clone(), i))
                .collect(),
            width: columns.len(),
            ignore_unknown,
            keep_raw,
            json: Vec::new(),
            frames: Frames::new(framing),
            framing,
            record: 0,
            buf: Vec::new(),
            broken: false,
        }
    }

    /// A reader positioned at `start` (a resumed load seeks past what is committed).
    pub fn starting_at(mut self, start: Position) -> Self {
        self.frames = Frames::starting_at(self.framing, start.byte, start.line);
        self.record = start.record;
        self
    }

    fn error(&self, position: Position, message: String) -> crate::Error {
        ErrorKind::Csv {
            input: self.input_name.clone(),
            position,
            message,
        }
        .into()
    }
}

/// The keys of the first `lines` objects of a JSON input (0: all), in order of first
/// appearance: the input's column names.
///
/// # Errors
/// An I/O error. Values that are not objects are skipped here, and an input that is no JSON
/// of its framing ends the sample; the load reports them.
pub fn sample_keys<R: Read>(rdr: R, lines: usize, framing: Framing) -> std::io::Result<Sample> {
    let mut rdr = BufReader::new(rdr);
    let mut frames = Frames::new(framing);
    let mut keys: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    let mut seen = 0;
    let mut wrapped = None;
    let mut ended = false;
    // The sample is kept to be read again: at most SAMPLE_BYTES of it.
    while (lines == 0 || seen < lines) && frames.consumed() < super::replay::SAMPLE_BYTES {
        match frames.next(&mut rdr, &mut buf) {
            Ok(Some(_)) => {}
            Ok(None) => {
                ended = true;
                break;
            }
            Err(FrameError::Shape { .. }) => break,
            Err(FrameError::Io(e)) => return Err(e),
        }
        let Ok(KeysInOrder(obj, rows)) = serde_json::from_slice::<KeysInOrder>(&buf) else {
            continue;
        };
        seen += 1;
        wrapped = rows;
        for k in obj {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    Ok(Sample {
        keys,
        wrapped: wrapped.filter(|_| ended && seen == 1),
    })
}

/// What the head of a JSON input says of its columns.
pub struct Sample {
    /// The keys of its first objects, in order of first appearance.
    pub keys: Vec<String>,
    /// When the whole input is one object holding an array of objects (what many APIs answer:
    /// `{"count": 2, "results": [{...}, {...}]}`): that key, and how many objects it holds.
    /// Such an input is one row; its rows are most likely the array's.
    pub wrapped: Option<(String, u64)>,
}

/// An object's keys as they stand in it (`serde_json::Map` sorts them, which made the
/// columns of a table created from `{"id":..,"tags":..,"meta":..}` come out as id, meta,
/// tags), and its first key whose value is an array of objects, with their count. Values are
/// skipped as they are read, never held.
struct KeysInOrder(Vec<String>, Option<(String, u64)>);

/// Whether a value is an array of objects (its first element one), and how many it holds.
struct Objects(Option<u64>);

impl<'de> serde::Deserialize<'de> for Objects {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Objects;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Objects, A::Error> {
                let Some(first) = seq.next_element::<serde_json::Value>()? else {
                    return Ok(Objects(None));
                };
                let mut n = 1;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Objects(first.is_object().then_some(n)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Objects, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Objects(None))
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<Objects, E> {
                Ok(Objects(None))
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Objects, E> {
                Ok(Objects(None))
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Objects, E> {
                Ok(Objects(None))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Objects, E> {
                Ok(Objects(None))
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<Objects, E> {
                Ok(Objects(None))
            }
            fn visit_unit<E>(self) -> std::result::Result<Objects, E> {
                Ok(Objects(None))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl<'de> serde::Deserialize<'de> for KeysInOrder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = KeysInOrder;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<KeysInOrder, A::Error> {
                let mut keys = Vec::new();
                let mut rows = None;
                while let Some(k) = map.next_key::<String>()? {
                    match map.next_value::<Objects>()? {
                        Objects(Some(n)) if rows.is_none() => rows = Some((k.clone(), n)),
                        _ => {}
                    }
                    keys.push(k);
                }
                Ok(KeysInOrder(keys, rows))
            }
        }
        d.deserialize_map(Visitor)
    }
}

impl<R: Read + Send> RecordSource for NdjsonReader<R> {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        loop {
            if self.broken {
                return Ok(false);
            }
            let frame = match self.frames.next(&mut self.rdr, &mut self.buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(false),
                Err(FrameError::Io(source)) => {
                    return Err(ErrorKind::Io {
                        input: self.input_name.clone(),
                        source,
                    }
                    .into())
                }
                Err(FrameError::Shape {
                    byte,
                    line,
                    message,
                }) => {
                    self.broken = true;
                    let position = Position {
                        byte,
                        line,
                        record: self.record + 1,
                    };
                    // A rejects file keeps what there was of a value cut short.
                    rec.begin(position);
                    rec.set_input(&self.buf, self.keep_raw);
                    let what = self.framing.describe();
                    return Err(self.error(position, format!("{message} (read as {what})")));
                }
            };
            if self.buf.trim_ascii().is_empty() {
                continue;
            }
            self.record += 1;
            let position = Position {
                byte: frame.byte,
                line: frame.line,
                record: self.record,
            };
            rec.begin(position);
            rec.set_input(&self.buf, self.keep_raw);
            // Up to where the next object begins: the separator and the whitespace after
            // an array's element are this one's bytes.
            rec.input_len = frame.len;
            let obj: HashMap<String, Box<RawValue>> = serde_json::from_slice(&self.buf)
                .map_err(|e| self.error(position, format!("not a JSON object: {e}")))?;
            let mut fields: Vec<Option<&RawValue>> = vec![None; self.width];
            for (k, v) in &obj {
                match self.keys.get(k) {
                    Some(&i) => fields[i] = Some(v),
                    None if self.ignore_unknown => {}
                    None => {
                        return Err(self.error(
                            position,
                            format!(
                                "key \"{k}\" is not a column of the table (--ignore-unknown \
                                 skips such keys)"
                            ),
                        ))
                    }
                }
            }
            for (i, f) in fields.into_iter().enumerate() {
                match f.map(RawValue::get) {
                    None | Some("null") => rec.push_field(b"", false),
                    // A JSON string into a json column is that string, quotes and all.
                    Some(raw) if self.json.get(i) == Some(&true) => {
                        rec.push_field(raw.as_bytes(), true)
                    }
                    Some(raw) if raw.starts_with('"') => {
                        let s: String = serde_json::from_str(raw)
                            .map_err(|e| self.error(position, format!("bad string: {e}")))?;
                        rec.push_field(s.as_bytes(), true);
                    }
                    Some(raw) => rec.push_field(raw.as_bytes(), false),
                }
            }
            return Ok(true);
        }
    }

    fn line(&self) -> u64 {
        self.frames.line()
    }

    fn bytes_read(&self) -> u64 {
        self.frames.consumed()
    }

    fn can_continue(&self) -> bool {
        !self.broken
    }

    fn set_json_fields(&mut self, json: &[bool]) {
        self.json = json.to_vec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_become_records_in_column_order() {
        let input = "{\"b\": \"x\", \"a\": 12.50}\n\n{\"a\": null, \"c\": {\"k\": [1]}, \"b\": \"\"}\n{\"a\":1e400}";
        let cols: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let mut r = NdjsonReader::new(input.as_bytes(), "in", &cols, Framing::Lines, false, true);
        let mut rec = Record::default();
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(rec.field(0), (&b"12.50"[..], false));
        assert_eq!(rec.field(1), (&b"x"[..], true));
        assert_eq!(rec.field(2), (&b""[..], false));
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(rec.position().line, 3);
        assert_eq!(rec.field(0), (&b""[..], false));
        assert_eq!(rec.field(1), (&b""[..], true));
        assert_eq!(rec.field(2), (&b"{\"k\": [1]}"[..], false));
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(rec.field(0), (&b"1e400"[..], false));
        assert_eq!(rec.raw(), b"{\"a\":1e400}");
        assert!(!r.read_record(&mut rec).unwrap());
        let mut r = NdjsonReader::new(
            "{\"z\":1}\n[1]\n".as_bytes(),
            "in",
            &cols,
            Framing::Lines,
            false,
            false,
        );
        let e = r.read_record(&mut rec).unwrap_err().to_string();
        assert!(e.contains("key \"z\" is not a column"), "{e}");
        let e = r.read_record(&mut rec).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("not a JSON object"),
            "{e}"
        );
        assert_eq!(
            sample_keys(
                "{\"a\":1}\n{\"b\":2,\"a\":3}\nnope\n".as_bytes(),
                0,
                Framing::Lines
            )
            .unwrap()
            .keys,
            ["a", "b"]
        );
        // As the keys stand in the line, not sorted; a key repeated counts once.
        assert_eq!(
            sample_keys(
                "{\"id\":1,\"tags\":[{\"z\":1}],\"meta\":{},\"id\":2}\n{\"c\":0,\"b\":1}\n"
                    .as_bytes(),
                0,
                Framing::Lines
            )
            .unwrap()
            .keys,
            ["id", "tags", "meta", "c", "b"]
        );
    }

    #[test]
    fn one_object_wrapping_an_array_of_objects_is_seen() {
        let sample = |text: &str, framing| sample_keys(text.as_bytes(), 0, framing).unwrap();
        // What many APIs answer: the rows in an array under a key.
        let api = "{\"count\": 2, \"results\": [{\"id\": 1}, {\"id\": 2}], \"more\": [{}]}";
        let s = sample(api, Framing::Lines);
        assert_eq!(s.keys, ["count", "results", "more"]);
        assert_eq!(s.wrapped, Some(("results".to_string(), 2)));
        let s = sample(&api.replace(", ", ",\n"), Framing::Values);
        assert_eq!(s.wrapped, Some(("results".to_string(), 2)));
        // Rows that each hold such an array, an array of numbers, an empty one: no.
        let rows = "{\"id\": 1, \"items\": [{\"n\": 1}]}\n{\"id\": 2, \"items\": []}\n";
        assert_eq!(sample(rows, Framing::Lines).wrapped, None);
        for one in ["{\"a\": [1, 2]}", "{\"a\": []}", "{\"a\": {\"b\": [{}]}}"] {
            assert_eq!(sample(one, Framing::Lines).wrapped, None, "{one}");
        }
        // A sample cut short says nothing of the input's end.
        let two = sample_keys(rows.as_bytes(), 1, Framing::Lines).unwrap();
        assert_eq!(two.wrapped, None);
    }

    #[test]
    fn a_json_string_into_a_json_column_stays_a_json_string() {
        let input =
            "{\"a\":\"42\",\"j\":\"42\"}\n{\"a\":\"x\\\"y\",\"j\":\"a\\u00e9\\\"\"}\n{\"j\":7}\n";
        let cols: Vec<String> = ["a", "j"].iter().map(|s| s.to_string()).collect();
        let mut r = NdjsonReader::new(input.as_bytes(), "in", &cols, Framing::Lines, false, false);
        r.set_json_fields(&[false, true]);
        let mut rec = Record::default();
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(rec.field(0), (&b"42"[..], true));
        assert_eq!(rec.field(1), (&b"\"42\""[..], true));
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(rec.field(0), (&b"x\"y"[..], true));
        assert_eq!(rec.field(1), (&b"\"a\\u00e9\\\"\""[..], true));
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(rec.field(0), (&b""[..], false));
        assert_eq!(rec.field(1), (&b"7"[..], true));
    }
}
