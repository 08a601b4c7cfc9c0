//! Values the client left to the server (`1e5` for numeric, `epoch`, `infinity`, a local
//! timestamp in a non-UTC session, every value of a [`ColumnType::ServerBinary`] column): one
//! round trip per column per chunk turns their text into the exact binary the server's own
//! input function gives, which is then spliced into the chunk.

use std::collections::BTreeMap;
use std::ops::Range;

use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Client;

use crate::chunk::Chunk;
use crate::error::{fmt_pg_error, Error, ErrorKind, Result};
use crate::rejects::Reject;
use crate::schema::{Column, ColumnType};

use super::insert::Field;

/// A value's raw binary form, whatever its type.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Resolves every deferred value of `chunk` and splices the results in.
///
/// With `rejecting` (`--rejects`), values the server refuses are returned as rejects (without
/// their rows' bytes) and nothing is spliced: the caller takes their rows out and calls again.
///
/// # Errors
/// Without `rejecting`, a value error naming the record, the column, the value and the
/// server's own reason, for the first value (in input order) the server refuses.
pub async fn resolve(
    client: &Client,
    input: &str,
    columns: &[Column],
    chunk: &mut Chunk,
    rejecting: bool,
) -> Result<Vec<Reject>> {
    if chunk.deferred.is_empty() {
        return Ok(Vec::new());
    }
    let mut refused = Vec::new();
    let mut by_column: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (k, d) in chunk.deferred.iter().enumerate() {
        by_column.entry(d.column).or_default().push(k);
    }
    // Each column's values come back in one buffer: where each value is in which.
    let mut buffers: Vec<Vec<u8>> = Vec::new();
    let mut resolved: Vec<(usize, Range<usize>)> = vec![(0, 0..0); chunk.deferred.len()];
    for (column, indexes) in by_column {
        let col = &columns[column];
        let texts: Vec<&str> = indexes
            .iter()
            .map(|&k| chunk.deferred_text(&chunk.deferred[k]))
            .collect();
        // The type name comes from the catalog's format_type(), which quotes as needed; the
        // values travel as a parameter.
        let by_input = col.ty == ColumnType::ServerBinary;
        let failed = |e| Error::db(format!("resolving values of column \"{}\"", col.name), e);
        let result = if by_input {
            // As one array literal in text format, which the server reads with the type's
            // own input function, element by element, as `COPY` reads a value (a cast from
            // `text` may read less than that: PostGIS's reads no hex EWKB, the form `geometry`
            // columns are dumped in); the values come back as one array in binary form.
            let sql = format!("SELECT $1::{}[]", col.type_name);
            let literal = array_literal(&texts);
            match client.query_one(&sql, &[&Field::text(&literal)]).await {
                Ok(row) => {
                    let Raw(array) = row.try_get(0).map_err(failed)?;
                    let ranges = array_elements(&array)
                        .filter(|e| e.len() == indexes.len())
                        .ok_or_else(|| {
                            Error::from(ErrorKind::Internal(format!(
                                "the server's values of column \"{}\" are not the array asked for",
                                col.name
                            )))
                        })?;
                    Ok((array, ranges))
                }
                Err(e) => Err(e),
            }
        } else {
            let sql = format!(
                "SELECT u.v::{} FROM unnest($1::text[]) WITH ORDINALITY AS u(v, n) ORDER BY u.n",
                col.type_name
            );
            match client.query(&sql, &[&texts]).await {
                Ok(rows) => {
                    let mut values = Vec::new();
                    let mut ranges = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let Raw(bytes) = row.try_get(0).map_err(failed)?;
                        ranges.push(values.len()..values.len() + bytes.len());
                        values.extend_from_slice(&bytes);
                    }
                    Ok((values, ranges))
                }
                Err(e) => Err(e),
            }
        };
        match result {
            Ok((values, ranges)) => {
                for (range, &k) in ranges.into_iter().zip(&indexes) {
                    resolved[k] = (buffers.len(), range);
                }
                buffers.push(values);
            }
            Err(e) if e.as_db_error().is_some() => {
                // Some value is bad: ask about each (pipelined), in input order.
                let one = match by_input {
                    true => format!("SELECT $1::{}", col.type_name),
                    false => format!("SELECT $1::text::{}", col.type_name),
                };
                let checks = futures_util::future::join_all(indexes.iter().map(|&k| {
                    let text = chunk.deferred_text(&chunk.deferred[k]);
                    let one = &one;
                    async move {
                        match by_input {
                            true => {
                                let param = Field::text(text.as_bytes());
                                client.query_one(one, &[&param]).await
                            }
                            false => client.query_one(one, &[&text]).await,
                        }
                    }
                }))
                .await;
                for (&k, check) in indexes.iter().zip(checks) {
                    let Err(e) = check else { continue };
                    let d = &chunk.deferred[k];
                    let value = crate::error::cut_value(chunk.deferred_text(d).as_bytes());
                    let reason = format!("expected {}: {}", col.type_name, PgMessage(&e));
                    if !rejecting {
                        return Err(ErrorKind::Value {
                            input: input.to_string(),
                            position: d.position,
                            column: col.name.clone(),
                            value,
                            reason,
                        }
                        .into());
                    }
                    refused.push(Reject {
                        position: d.position,
                        raw: Vec::new(),
                        column: Some(col.name.clone()),
                        value: Some(value),
                        reason,
                        sqlstate: e
                            .as_db_error()
                            .map(|db| super::error::sqlstate(db).to_string()),
                    });
                }
                if !refused.is_empty() {
                    continue;
                }
                return Err(Error::db(
                    format!("resolving values of column \"{}\"", col.name),
                    e,
                ));
            }
            Err(e) => {
                return Err(Error::db(
                    format!("resolving values of column \"{}\"", col.name),
                    e,
                ))
            }
        }
    }
    if !refused.is_empty() {
        return Ok(refused);
    }
    splice(chunk, &buffers, &resolved);
    Ok(Vec::new())
}

/// `texts` as an array literal, `{"a","b\\"c"}`: every element quoted, so that none is read
/// as `NULL` or split, with `"` and `\` escaped. (The values have no NUL: checked when they
/// were deferred.)
fn array_literal(texts: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(texts.iter().map(|t| t.len() + 3).sum::<usize>() + 2);
    out.push(b'{');
    for (i, t) in texts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        for part in t.as_bytes().split_inclusive(|&b| b == b'"' || b == b'\\') {
            match part.split_last() {
                Some((&last, head)) if last == b'"' || last == b'\\' => {
                    out.extend_from_slice(head);
                    out.extend_from_slice(&[b'\\', last]);
                }
                _ => out.extend_from_slice(part),
            }
        }
        out.push(b'"');
    }
    out.push(b'}');
    out
}

/// Where the elements of a one-dimensional array without NULLs in its binary form
/// (`array_send`'s: dimensions, NULL flag, element type, each dimension's length and lower
/// bound, then each element's length and bytes) are in it; `None` if it is not one.
fn array_elements(array: &[u8]) -> Option<Vec<Range<usize>>> {
    let int = |at: usize| -> Option<i32> {
        Some(i32::from_be_bytes(array.get(at..at + 4)?.try_into().ok()?))
    };
    let len = match int(0)? {
        0 => 0,
        1 => usize::try_from(int(12)?).ok()?,
        _ => return None,
    };
    let mut at = if len == 0 { 12 } else { 20 };
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        let n = usize::try_from(int(at)?).ok()?;
        let value = at + 4..at + 4 + n;
        array.get(value.clone())?;
        out.push(value);
        at += 4 + n;
    }
    (at == array.len()).then_some(out)
}

/// Rebuilds the chunk's payload with each resolved value (a range of one of `buffers`) in
/// place of its text.
fn splice(chunk: &mut Chunk, buffers: &[Vec<u8>], resolved: &[(usize, Range<usize>)]) {
    let value = |(buffer, range): &(usize, Range<usize>)| {
        buffers
            .get(*buffer)
            .and_then(|b| b.get(range.clone()))
            .unwrap_or_default()
    };
    let extra: usize = resolved.iter().map(|r| value(r).len()).sum();
    let mut data = Vec::with_capacity(chunk.data.len() + extra);
    let mut from = 0;
    for (d, r) in chunk.deferred.iter().zip(resolved) {
        let value = value(r);
        data.extend_from_slice(&chunk.data[from..d.offset]);
        data.extend_from_slice(&(value.len() as i32).to_be_bytes());
        data.extend_from_slice(value);
        from = d.span().end;
    }
    data.extend_from_slice(&chunk.data[from..]);
    chunk.data = data;
    chunk.deferred.clear();
}

/// Shows only the server's message (and detail), for a value error.
struct PgMessage<'a>(&'a tokio_postgres::Error);

impl std::fmt::Display for PgMessage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_db_error() {
            Some(db) => {
                f.write_str(db.message())?;
                if let Some(d) = db.detail() {
                    write!(f, " ({d})")?;
                }
                Ok(())
            }
            None => fmt_pg_error(self.0, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::Deferred;
    use crate::position::Position;

    #[test]
    fn splice_puts_values_in_place_of_their_texts() {
        let mut chunk = Chunk::new(0, 0);
        // "AA", a text "t1" standing in, "BB", an empty text standing in, "C".
        chunk.data = b"AA\0\0\0\x02t1BB\0\0\0\0C".to_vec();
        for (offset, len) in [(2, 2), (10, 0)] {
            chunk.deferred.push(Deferred {
                offset,
                len,
                column: 0,
                position: Position::default(),
            });
        }
        assert_eq!(chunk.deferred_text(&chunk.deferred[0]), "t1");
        let buffers = [b"-x-".to_vec(), b"yz".to_vec()];
        splice(&mut chunk, &buffers, &[(0, 1..2), (1, 0..2)]);
        assert_eq!(chunk.data, b"AA\0\0\0\x01xBB\0\0\0\x02yzC");
        assert!(chunk.deferred.is_empty());
    }

    #[test]
    fn array_literal_quotes_every_element() {
        assert_eq!(
            array_literal(&["a", "", "NULL", "x,y", "q\"d", "b\\s", "{}", "\"\\\""]),
            br#"{"a","","NULL","x,y","q\"d","b\\s","{}","\"\\\""}"#
        );
        assert_eq!(array_literal(&[]), b"{}");
    }

    #[test]
    fn array_elements_reads_array_send() {
        let mut a = Vec::new();
        for v in [1i32, 0, 869, 2, 1, 3] {
            a.extend_from_slice(&v.to_be_bytes());
        }
        a.extend_from_slice(b"abc");
        a.extend_from_slice(&0i32.to_be_bytes());
        assert_eq!(array_elements(&a), Some(vec![24..27, 31..31]));
        assert_eq!(array_elements(&a[..a.len() - 1]), None);
        // A NULL element (length -1) or two dimensions are not what was asked for.
        let mut null = a.clone();
        null[20..24].copy_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(array_elements(&null), None);
        assert_eq!(array_elements(&[0, 0, 0, 2]), None);
        assert_eq!(array_elements(&[0; 12]), Some(vec![]));
        assert_eq!(array_elements(&[0; 13]), None);
    }
}
