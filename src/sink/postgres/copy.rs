//! Sending a chunk with `COPY ... FROM STDIN`: the fastest way into PostgreSQL, one stream per
//! chunk, in the binary format barge encodes (or text, for types it leaves to the server).

use std::ops::Range;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::{Client, ToStatement};

use super::binary_rows::BinaryRows;
use crate::chunk::WireFormat;
use crate::encode::pg_binary;
use crate::ident::quote_ident;
use crate::schema::Column;

/// `COPY "schema"."table" ("a", "b") FROM STDIN (FORMAT binary)`: every identifier quoted;
/// `table` is already quoted.
pub fn copy_statement(table: &str, columns: &[Column], format: WireFormat) -> String {
    let cols: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
    format!(
        "COPY {table} ({}) FROM STDIN (FORMAT {})",
        cols.join(", "),
        format.as_str()
    )
}

/// Streams `data` (a complete COPY payload) with `statement`.
///
/// # Errors
/// The driver's error (the server's, for a row it refuses).
pub async fn send<S: ToStatement + ?Sized>(
    tx: &Client,
    statement: &S,
    data: Bytes,
) -> Result<u64, tokio_postgres::Error> {
    send_parts(tx, statement, [data]).await
}

/// Streams a COPY payload given in parts (slices of a chunk, say) with `statement`.
///
/// # Errors
/// The driver's error (the server's, for a row it refuses).
pub async fn send_parts<S: ToStatement + ?Sized>(
    tx: &Client,
    statement: &S,
    parts: impl IntoIterator<Item = Bytes>,
) -> Result<u64, tokio_postgres::Error> {
    let sink = tx.copy_in(statement).await?;
    futures_util::pin_mut!(sink);
    // The driver copies what it is given into its write buffer: in slices (which share the
    // chunk's memory), that copy stays one slice long instead of a whole chunk, or a whole
    // huge field.
    for data in parts {
        let mut at = 0;
        while at < data.len() {
            let end = (at + SLICE).min(data.len());
            sink.send(data.slice(at..end)).await?;
            at = end;
        }
    }
    sink.finish().await
}

/// Bytes handed to the driver at a time.
const SLICE: usize = 512 * 1024;

/// The row of the COPY stream the server blames (1 for the stream's first row), read from the
/// `COPY <relation>, line N` line of its error context.
///
/// An input function may add context lines of its own before that one (jsonb's
/// `JSON data, line 1: ...`), and a table, column or value may contain ", line ", so the line
/// read is the one that starts with exactly `COPY <relation>, line ` (`relation` as the
/// server prints it: the table's bare name). The number can point past the last row (an error
/// raised while COPY flushes its buffered rows at the end): callers check it against the rows
/// they sent.
pub fn copy_line(e: &tokio_postgres::Error, relation: &str) -> Option<u64> {
    let where_ = e.as_db_error()?.where_()?;
    copy_line_in(where_, relation)
}

/// [`copy_line`] on the text of an error's context.
fn copy_line_in(where_: &str, relation: &str) -> Option<u64> {
    let prefix = format!("COPY {relation}, line ");
    // The COPY's own context is the outermost, printed last.
    let rest = where_.lines().rev().find_map(|l| l.strip_prefix(&prefix))?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Where each row of a COPY payload lies in it (`None` if the payload is malformed, a bug):
/// binary rows are walked field by field, text rows end at their newline (newlines inside
/// values are escaped).
pub fn row_ranges(data: &[u8], format: WireFormat) -> Option<Vec<Range<usize>>> {
    let mut rows = Vec::new();
    match format {
        WireFormat::Binary => {
            let mut walk = BinaryRows::new(data);
            while let Some(row) = walk.next_row(|_, _| {})? {
                rows.push(row);
            }
            Some(rows)
        }
        WireFormat::Text => {
            let mut start = 0;
            for nl in memchr::memchr_iter(b'\n', data) {
                rows.push(start..nl + 1);
                start = nl + 1;
            }
            Some(rows)
        }
        WireFormat::Sqlite | WireFormat::Mysql => None,
    }
}

/// The COPY payload of the rows `rows` (indexes into `ranges`, in order) alone, each run of
/// neighbouring rows copied in one piece.
pub fn rows_payload(
    data: &[u8],
    ranges: &[Range<usize>],
    rows: &Rows,
    format: WireFormat,
) -> Bytes {
    let mut out = Vec::new();
    if format == WireFormat::Binary {
        out.extend_from_slice(pg_binary::HEADER);
    }
    for run in rows.runs() {
        if let (Some(first), Some(last)) =
            (ranges.get(run.start), ranges.get(run.end.wrapping_sub(1)))
        {
            out.extend_from_slice(data.get(first.start..last.end).unwrap_or_default());
        }
    }
    if format == WireFormat::Binary {
        out.extend_from_slice(pg_binary::TRAILER);
    }
    Bytes::from(out)
}

/// The rows of a chunk that one COPY payload holds, in order: the line COPY blames is one of
/// them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rows {
    /// A run of neighbouring rows (a whole chunk, a piece of a search).
    Range(Range<usize>),
    /// Rows with gaps (a search's try that resends the rows tried before it, without the
    /// refused ones).
    List(Vec<usize>),
}

impl Rows {
    /// The chunk's row at line `line` (from 1) of the payload, if it is one of these rows.
    pub fn at_line(&self, line: u64) -> Option<usize> {
        let i = usize::try_from(line).ok()?.checked_sub(1)?;
        match self {
            Rows::Range(r) => (i < r.len()).then(|| r.start + i),
            Rows::List(rows) => rows.get(i).copied(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        match self {
            Rows::Range(r) => r.is_empty(),
            Rows::List(rows) => rows.is_empty(),
        }
    }

    /// The rows as runs of neighbours.
    fn runs(&self) -> Vec<Range<usize>> {
        match self {
            Rows::Range(r) => vec![r.clone()],
            Rows::List(rows) => {
                let mut runs: Vec<Range<usize>> = Vec::new();
                for &i in rows {
                    match runs.last_mut() {
                        Some(run) if run.end == i => run.end = i + 1,
                        _ => runs.push(i..i + 1),
                    }
                }
                runs
            }
        }
    }
}

/// A COPY payload, in `format`, of one row per row of `ranges`: its number (from 1) as a
/// `bigint`, then its fields `fields`, byte for byte as they are in `data`. `None` when the
/// payload is malformed (a bug).
///
/// The duplicate-key path stages only keys: the rows' other fields would be parsed by the
/// server twice, once into the stage and once into the table.
pub fn numbered_fields(
    data: &[u8],
    ranges: &[Range<usize>],
    fields: &[usize],
    format: WireFormat,
) -> Option<Bytes> {
    let mut out = Vec::with_capacity(ranges.len() * (16 + 12 * fields.len()));
    let mut at: Vec<Range<usize>> = Vec::new();
    if format == WireFormat::Binary {
        out.extend_from_slice(pg_binary::HEADER);
    }
    for (n, row) in ranges.iter().enumerate() {
        let row = data.get(row.clone())?;
        row_fields(row, format, &mut at)?;
        if format == WireFormat::Binary {
            out.extend_from_slice(&(1 + fields.len() as i16).to_be_bytes());
            out.extend_from_slice(&8i32.to_be_bytes());
            out.extend_from_slice(&(n as i64 + 1).to_be_bytes());
            for &f in fields {
                out.extend_from_slice(row.get(at.get(f)?.clone())?);
            }
        } else {
            out.extend_from_slice((n + 1).to_string().as_bytes());
            for &f in fields {
                out.push(b'\t');
                out.extend_from_slice(row.get(at.get(f)?.clone())?);
            }
            out.push(b'\n');
        }
    }
    if format == WireFormat::Binary {
        out.extend_from_slice(pg_binary::TRAILER);
    }
    Some(Bytes::from(out))
}

/// Where each field of one COPY row (`row`, as [`row_ranges`] cuts it) is, into `at`: in the
/// binary format with its length prefix, so that a field's bytes are the same for the same
/// value and differ between NULL and an empty value. `None` when the row is malformed.
pub fn row_fields(row: &[u8], format: WireFormat, at: &mut Vec<Range<usize>>) -> Option<()> {
    at.clear();
    match format {
        WireFormat::Binary => {
            BinaryRows::starting_at(row, 0).next_row(|_, f| at.push(f.framed()))??;
        }
        WireFormat::Text => {
            // A tab or newline inside a value is escaped, so each one is a separator.
            let line = row.strip_suffix(b"\n")?;
            let mut start = 0;
            for tab in memchr::memchr_iter(b'\t', line).chain([line.len()]) {
                at.push(start..tab);
                start = tab + 1;
            }
        }
        WireFormat::Sqlite | WireFormat::Mysql => return None,
    }
    Some(())
}

/// Whether a field [`row_fields`] found is NULL.
pub fn is_null(field: &[u8], format: WireFormat) -> bool {
    match format {
        WireFormat::Binary => field.starts_with(&(-1i32).to_be_bytes()),
        _ => field == b"\\N",
    }
}

#[cfg(test)]
mod tests {
    use super::copy_line_in;

    #[test]
    fn the_copy_line_is_read_not_an_input_functions_line() {
        let jsonb =
            "JSON data, line 1: [\"\\ud800...\nCOPY t_jr, line 10, column doc: \"[\"\\ud800\"]\"";
        assert_eq!(copy_line_in(jsonb, "t_jr"), Some(10));
        assert_eq!(copy_line_in("COPY t, line 7", "t"), Some(7));
        // A table whose name holds the pattern, and a value that does.
        assert_eq!(
            copy_line_in(
                "COPY x, line 5, line 9, column a: \"y, line 3\"",
                "x, line 5"
            ),
            Some(9)
        );
        assert_eq!(copy_line_in("JSON data, line 1: x", "t"), None);
        assert_eq!(copy_line_in("COPY other, line 4", "t"), None);
    }

    #[test]
    fn a_payload_of_rows_with_gaps_keeps_their_order_and_names_their_lines(
    ) -> Result<(), &'static str> {
        use super::{row_ranges, rows_payload, Rows};
        use crate::chunk::WireFormat;
        let text = b"0\n1\n2\n3\n4\n";
        let ranges = row_ranges(text, WireFormat::Text).ok_or("text rows")?;
        let rows = Rows::List(vec![0, 1, 3, 4]);
        assert_eq!(
            &rows_payload(text, &ranges, &rows, WireFormat::Text)[..],
            b"0\n1\n3\n4\n"
        );
        assert_eq!(rows.at_line(3), Some(3));
        assert_eq!(rows.at_line(5), None);
        assert_eq!(rows.at_line(0), None);
        let run = Rows::Range(2..4);
        assert_eq!(
            &rows_payload(text, &ranges, &run, WireFormat::Text)[..],
            b"2\n3\n"
        );
        assert_eq!(run.at_line(2), Some(3));
        assert_eq!(run.at_line(3), None);
        let mut bin = crate::encode::pg_binary::HEADER.to_vec();
        for v in [10i16, 20, 30] {
            bin.extend_from_slice(&1i16.to_be_bytes());
            bin.extend_from_slice(&2i32.to_be_bytes());
            bin.extend_from_slice(&v.to_be_bytes());
        }
        bin.extend_from_slice(crate::encode::pg_binary::TRAILER);
        let ranges = row_ranges(&bin, WireFormat::Binary).ok_or("binary rows")?;
        let out = rows_payload(&bin, &ranges, &Rows::List(vec![0, 2]), WireFormat::Binary);
        let again = row_ranges(&out, WireFormat::Binary).ok_or("the payload's rows")?;
        assert_eq!(again.len(), 2);
        assert_eq!(&out[again[1].clone()], &bin[ranges[2].clone()]);
        Ok(())
    }

    #[test]
    fn numbered_fields_picks_fields_in_either_format() {
        use super::{numbered_fields, row_ranges};
        use crate::chunk::WireFormat;
        let text = b"1\ta\\tb\tx\n2\t\\N\ty\n";
        let ranges = row_ranges(text, WireFormat::Text).unwrap();
        let out = numbered_fields(text, &ranges, &[2, 0], WireFormat::Text).unwrap();
        assert_eq!(&out[..], b"1\tx\t1\n2\ty\t2\n");

        let mut bin = crate::encode::pg_binary::HEADER.to_vec();
        for (a, b) in [(&b"k1"[..], &b"v"[..]), (b"k2", b"")] {
            bin.extend_from_slice(&2i16.to_be_bytes());
            bin.extend_from_slice(&(a.len() as i32).to_be_bytes());
            bin.extend_from_slice(a);
            bin.extend_from_slice(&(b.len() as i32).to_be_bytes());
            bin.extend_from_slice(b);
        }
        bin.extend_from_slice(&(-1i16).to_be_bytes());
        let ranges = row_ranges(&bin, WireFormat::Binary).unwrap();
        let out = numbered_fields(&bin, &ranges, &[0], WireFormat::Binary).unwrap();
        let mut want = crate::encode::pg_binary::HEADER.to_vec();
        for (n, k) in [(1i64, &b"k1"[..]), (2, b"k2")] {
            want.extend_from_slice(&2i16.to_be_bytes());
            want.extend_from_slice(&8i32.to_be_bytes());
            want.extend_from_slice(&n.to_be_bytes());
            want.extend_from_slice(&2i32.to_be_bytes());
            want.extend_from_slice(k);
        }
        want.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(&out[..], &want[..]);
        assert!(numbered_fields(&bin[..30], &ranges, &[0], WireFormat::Binary).is_none());
    }
}
