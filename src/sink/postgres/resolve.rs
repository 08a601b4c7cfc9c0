//! Values the client left to the server (`1e5` for numeric, `epoch`, `infinity`, a local
//! timestamp in a non-UTC session...): one round trip per column per chunk turns their text into
//! the exact binary the server's own input function gives, which is then spliced into the
//! chunk.

use std::collections::BTreeMap;

use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Client;

use crate::chunk::Chunk;
use crate::error::{fmt_pg_error, Error, ErrorKind, Result};
use crate::rejects::Reject;
use crate::schema::Column;

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
    let mut resolved: Vec<Vec<u8>> = vec![Vec::new(); chunk.deferred.len()];
    for (column, indexes) in by_column {
        let col = &columns[column];
        // The type name comes from the catalog's format_type(), which quotes as needed; the
        // values travel as a parameter.
        let sql = format!(
            "SELECT u.v::{} FROM unnest($1::text[]) WITH ORDINALITY AS u(v, n) ORDER BY u.n",
            col.type_name
        );
        let texts: Vec<&str> = indexes
            .iter()
            .map(|&k| chunk.deferred[k].text.as_str())
            .collect();
        match client.query(&sql, &[&texts]).await {
            Ok(rows) => {
                for (row, &k) in rows.iter().zip(&indexes) {
                    let Raw(bytes) = row.try_get(0).map_err(|e| Error::db(sql.clone(), e))?;
                    resolved[k] = bytes;
                }
            }
            Err(e) if e.as_db_error().is_some() => {
                // Some value is bad: ask about each (pipelined), in input order.
                let one = format!("SELECT $1::text::{}", col.type_name);
                let checks = futures_util::future::join_all(indexes.iter().map(|&k| {
                    let text = &chunk.deferred[k].text;
                    let one = &one;
                    async move { client.query_one(one, &[text]).await }
                }))
                .await;
                for (&k, check) in indexes.iter().zip(checks) {
                    let Err(e) = check else { continue };
                    let d = &chunk.deferred[k];
                    let value = crate::error::cut_value(d.text.as_bytes());
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
    splice(chunk, &resolved);
    Ok(Vec::new())
}

/// Rebuilds the chunk's payload with each resolved value inserted at its offset.
fn splice(chunk: &mut Chunk, resolved: &[Vec<u8>]) {
    let extra: usize = resolved.iter().map(|v| v.len() + 4).sum();
    let mut data = Vec::with_capacity(chunk.data.len() + extra);
    let mut from = 0;
    for (d, value) in chunk.deferred.iter().zip(resolved) {
        data.extend_from_slice(&chunk.data[from..d.offset]);
        data.extend_from_slice(&(value.len() as i32).to_be_bytes());
        data.extend_from_slice(value);
        from = d.offset;
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
    fn splice_inserts_at_offsets() {
        let mut chunk = Chunk::new(0, 0);
        chunk.data = b"AABB".to_vec();
        for offset in [2, 4] {
            chunk.deferred.push(Deferred {
                offset,
                column: 0,
                text: String::new(),
                position: Position::default(),
            });
        }
        splice(&mut chunk, &[b"x".to_vec(), b"yz".to_vec()]);
        assert_eq!(chunk.data, b"AA\0\0\0\x01xBB\0\0\0\x02yz");
        assert!(chunk.deferred.is_empty());
    }
}
