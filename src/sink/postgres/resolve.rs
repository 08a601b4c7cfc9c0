//! Values the client left to the server (`1e5` for numeric, `epoch`, `infinity`, a local
//! timestamp in a non-UTC session, an interval the session's `IntervalStyle` reads its own way):
//! one round trip per column per chunk turns their text into the exact binary the server's own
//! input function gives, which is then spliced into the chunk.

use std::collections::BTreeMap;
use std::ops::Range;

use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Client;

use crate::chunk::Chunk;
use crate::error::{fmt_pg_error, Error, ErrorKind, Result};
use crate::rejects::Reject;
use crate::schema::Column;

/// A value's raw binary form, whatever its type.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
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
        let failed = |e| Error::db(format!("resolving values of column \"{}\"", col.name), e);
        let sql = format!(
            "SELECT u.v::{} FROM unnest($1::text[]) WITH ORDINALITY AS u(v, n) ORDER BY u.n",
            col.type_name
        );
        match client.query(&sql, &[&texts]).await {
            Ok(rows) => {
                let mut values = Vec::new();
                for (row, &k) in rows.iter().zip(&indexes) {
                    let Raw(bytes) = row.try_get(0).map_err(failed)?;
                    resolved[k] = (buffers.len(), values.len()..values.len() + bytes.len());
                    values.extend_from_slice(bytes);
                }
                buffers.push(values);
            }
            Err(e) if e.as_db_error().is_some() => {
                // Some value is bad: ask about each (pipelined), in input order.
                let one = format!("SELECT $1::text::{}", col.type_name);
                let checks = futures_util::future::join_all(indexes.iter().map(|&k| {
                    let text = chunk.deferred_text(&chunk.deferred[k]);
                    let one = &one;
                    async move { client.query_one(one, &[&text]).await }
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
}
