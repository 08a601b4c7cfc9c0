//! Property tests on arbitrary input (proptest, since cargo-fuzz needs a nightly toolchain):
//! the CSV reader and every encoder take any bytes without panicking, the reader's records
//! cover the input exactly, and they hold what a byte-by-byte reading of PostgreSQL's CSV
//! rules gives, however the input is cut into reads.

use proptest::prelude::*;

use crate::encode::{pg_binary, sqlite, Outcome};
use crate::record::Record;
use crate::schema::ColumnType;
use crate::source::csv::{CsvOptions, CsvReader};

/// Bytes that are mostly what CSV parsing turns on: quotes, delimiters, newlines, digits.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            4 => prop::sample::select(b"\",\n\r;\t \\0123456789abc-.:eE+TZ".to_vec()),
            1 => any::<u8>(),
        ],
        0..400,
    )
}

fn all_types() -> Vec<ColumnType> {
    vec![
        ColumnType::Bool,
        ColumnType::Int2,
        ColumnType::Int4,
        ColumnType::Int8,
        ColumnType::Float4,
        ColumnType::Float8,
        ColumnType::Numeric(None),
        ColumnType::Numeric(Some((6, 2))),
        ColumnType::Numeric(Some((3, -2))),
        ColumnType::Text,
        ColumnType::Varchar(Some(3)),
        ColumnType::Bpchar(Some(2)),
        ColumnType::Date,
        ColumnType::Time,
        ColumnType::Timetz,
        ColumnType::Timestamp,
        ColumnType::Timestamptz,
        ColumnType::Uuid,
        ColumnType::Json,
        ColumnType::Jsonb,
        ColumnType::Bytea,
        ColumnType::Other,
        ColumnType::Inet,
        ColumnType::Cidr,
        ColumnType::Macaddr,
        ColumnType::Macaddr8,
        ColumnType::Geo,
        ColumnType::Interval,
        ColumnType::Range(Box::new(ColumnType::Int4)),
        ColumnType::Range(Box::new(ColumnType::Timestamptz)),
        ColumnType::Multirange(Box::new(ColumnType::Int4)),
        ColumnType::Multirange(Box::new(ColumnType::Date)),
        ColumnType::pg_array(1186, -1, ""),
        ColumnType::pg_array(23, -1, ""),
        ColumnType::pg_array(1700, ((6 << 16) | 2) + 4, ""),
        ColumnType::pg_array(25, -1, ""),
        ColumnType::pg_array(3802, -1, ""),
        ColumnType::pg_array(869, -1, ""),
    ]
}

/// Bytes that are mostly what array texts turn on: braces, brackets, quotes, backslashes.
fn arrayish() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            6 => prop::sample::select(b"{}[]\",\\ NULLnul1-.:a\t".to_vec()),
            1 => any::<u8>(),
        ],
        0..200,
    )
}

/// A record as the reference reading gives it: its first line, and each field's bytes and
/// whether any part of it was quoted.
type Fields = (u64, Vec<(Vec<u8>, bool)>);

/// PostgreSQL's CSV rules, one byte at a time and nothing else: the reader's word-at-a-time
/// searches and copies must give exactly this. `Err` holds the records before a quote left
/// open at the end.
fn reference_records(input: &[u8], delim: u8) -> Result<Vec<Fields>, Vec<Fields>> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let (mut records, mut at, mut line) = (Vec::new(), 0, 1);
    while at < input.len() {
        let (first_line, mut fields, mut field) = (line, Vec::new(), Vec::new());
        let (mut quoted, mut in_quotes, mut unquoted_cr) = (false, false, false);
        loop {
            let Some(&b) = input.get(at) else {
                if in_quotes {
                    return Err(records);
                }
                fields.push((field, quoted));
                break;
            };
            at += 1;
            if in_quotes {
                if b == b'"' && input.get(at) == Some(&b'"') {
                    field.push(b'"');
                    at += 1;
                } else if b == b'"' {
                    in_quotes = false;
                } else {
                    line += u64::from(b == b'\n');
                    field.push(b);
                }
                continue;
            }
            if b == b'"' {
                (in_quotes, quoted, unquoted_cr) = (true, true, false);
            } else if b == delim {
                fields.push((std::mem::take(&mut field), quoted));
                (quoted, unquoted_cr) = (false, false);
            } else if b == b'\n' {
                if unquoted_cr {
                    field.pop();
                }
                line += 1;
                fields.push((field, quoted));
                break;
            } else {
                unquoted_cr = b == b'\r';
                field.push(b);
            }
        }
        records.push((first_line, fields));
    }
    Ok(records)
}

/// Hands out its bytes `step` at a time, as a pipe or a socket may.
struct Reads<'a>(&'a [u8], usize);

impl std::io::Read for Reads<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(self.1).min(out.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn csv_reader_reads_what_a_byte_by_byte_reading_does(
        input in csvish(),
        delim in prop::sample::select(vec![b',', b';', b'\t']),
        keep_raw in any::<bool>(),
    ) {
        let expected = reference_records(&input, delim);
        for step in [1, 2, 3, 7, 8, 9, 17, usize::MAX] {
            let opts = CsvOptions { delimiter: delim, keep_raw, header: false, ..CsvOptions::default() };
            let mut r = CsvReader::new(Reads(&input, step), "fuzz", opts);
            let mut rec = Record::default();
            let mut got = Vec::new();
            let outcome = loop {
                match r.read_record(&mut rec) {
                    Ok(true) => got.push((
                        rec.position().line,
                        (0..rec.len()).map(|i| {
                            let (b, q) = rec.field(i);
                            (b.to_vec(), q)
                        }).collect::<Vec<_>>(),
                    )),
                    Ok(false) => break Ok(got),
                    Err(_) => break Err(got),
                }
            };
            prop_assert_eq!(&outcome, &expected, "reads of {} bytes", step);
        }
    }

    /// A record whose input is let go of (`--rejects`, big rows) is rebuilt byte for byte,
    /// both as a copy (`input()`) and in place (`restore_raw()`).
    #[test]
    fn a_record_let_go_of_is_rebuilt_exactly(
        input in csvish(),
        delim in prop::sample::select(vec![b',', b';', b'\t']),
    ) {
        let opts = CsvOptions { delimiter: delim, keep_raw: true, header: false, ..CsvOptions::default() };
        let mut r = CsvReader::new(&input[..], "fuzz", opts);
        let mut rec = Record::default();
        while let Ok(true) = r.read_record(&mut rec) {
            let raw = rec.raw().to_vec();
            let mut shed = rec.clone();
            if shed.shed_raw(delim, b'"') {
                prop_assert!(shed.raw().is_empty());
                let rebuilt = shed.input().into_owned();
                prop_assert_eq!(&rebuilt[..], &raw[..]);
                shed.restore_raw();
                prop_assert_eq!(shed.raw(), &raw[..]);
            }
        }
    }

    #[test]
    fn csv_reader_never_panics_and_records_cover_the_input(
        input in csvish(),
        delim in prop::sample::select(vec![b',', b';', b'\t']),
    ) {
        let opts = CsvOptions { delimiter: delim, keep_raw: true, header: false, ..CsvOptions::default() };
        let mut r = CsvReader::new(&input[..], "fuzz", opts);
        let mut rec = Record::default();
        let mut seen = Vec::new();
        let mut last_byte = None;
        loop {
            match r.read_record(&mut rec) {
                Ok(true) => {
                    prop_assert!(last_byte.is_none_or(|b| rec.position().byte > b));
                    last_byte = Some(rec.position().byte);
                    prop_assert_eq!(rec.raw().len() as u64, rec.input_len());
                    seen.extend_from_slice(rec.raw());
                    for i in 0..rec.len() {
                        let _ = rec.field(i);
                    }
                }
                Ok(false) => break,
                Err(_) => {
                    // An unterminated quote: the rest of the input is the bad record.
                    seen.extend_from_slice(rec.raw());
                    break;
                }
            }
        }
        let body = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&input);
        prop_assert_eq!(seen, body.to_vec());
    }

    #[test]
    fn encoders_never_panic(
        raw in prop_oneof![csvish(), arrayish()],
        utc in any::<bool>(),
    ) {
        for ty in all_types() {
            let mut out = Vec::new();
            if let Outcome::Done = pg_binary::encode(&ty, &raw, utc, &mut out) {
                // A value is its 4-byte length and that many bytes.
                let len = i32::from_be_bytes([out[0], out[1], out[2], out[3]]);
                prop_assert_eq!(len as usize, out.len() - 4);
            }
            let mut out = Vec::new();
            if let Outcome::Done = sqlite::encode(&ty, &raw, &mut out) {
                let mut pos = 0;
                prop_assert!(sqlite::decode(&out, &mut pos).is_some());
                prop_assert_eq!(pos, out.len());
            }
        }
    }

    #[test]
    fn inference_and_sniffing_never_panic(input in csvish(), format in 0..5usize) {
        use crate::encode::number_format::{NumberFormat, Read};
        let numbers = [
            Ok(NumberFormat::PLAIN),
            Ok(NumberFormat::DECIMAL_COMMA),
            Ok(NumberFormat::THOUSANDS_COMMA),
            NumberFormat::new(true, Some(' ')),
            NumberFormat::new(false, Some('\u{a0}')),
        ][format].clone().map_err(TestCaseError::fail)?;
        let opts = CsvOptions { header: false, numbers, ..CsvOptions::default() };
        for whole in [false, true] {
            if let Some(d) = crate::source::csv::sniff_delimiter(&input, whole, &opts) {
                prop_assert!(matches!(d, b';' | b'\t' | b'|'));
            }
        }
        if let Read::Point(p) = numbers.read(&input) {
            prop_assert!(p.as_bytes().len() <= input.len());
        }
        let mut r = CsvReader::new(&input[..], "fuzz", opts.clone());
        if let Ok(t) = crate::infer::infer_within(&mut r, None, &opts, 0, u64::MAX) {
            for d in [crate::ident::Dialect::Postgres, crate::ident::Dialect::Sqlite, crate::ident::Dialect::Mysql] {
                let _ = t.create_sql("\"t\"", d, false);
            }
        }
    }

    #[test]
    fn json_frames_cover_the_input_and_always_end(
        input in proptest::collection::vec(
            prop::sample::select(b"[]{},\"\\ \nab1:".to_vec()),
            0..300,
        ),
        step in 1usize..9,
    ) {
        use crate::source::json_frames::{FrameError, Frames, Framing};
        for framing in [Framing::Array, Framing::Values] {
            let mut rdr = std::io::BufReader::with_capacity(step, Reads(&input, step));
            let mut frames = Frames::new(framing);
            let mut out = Vec::new();
            let mut end = 0;
            let mut ended = false;
            // Each frame takes at least a byte: no input is read forever.
            for _ in 0..=input.len() + 1 {
                match frames.next(&mut rdr, &mut out) {
                    Ok(Some(f)) => {
                        prop_assert!(f.byte >= end && f.len > 0 && !out.is_empty());
                        end = f.byte + f.len;
                        prop_assert!(out.len() as u64 <= f.len);
                    }
                    Ok(None) | Err(FrameError::Shape { .. }) => {
                        ended = true;
                        break;
                    }
                    Err(FrameError::Io(e)) => return Err(TestCaseError::fail(e.to_string())),
                }
            }
            prop_assert!(ended && frames.consumed() <= input.len() as u64);
        }
    }
}
