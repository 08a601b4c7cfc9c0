//! Walking the rows and fields of a binary COPY payload, as barge encoded it: one walker for
//! every path that reads a chunk back (cutting it into rows for a retry or a search, picking
//! key fields for the duplicate-key path, turning rows into INSERT parameters, routing rows to
//! Citus shards), so that the format's framing is read in one place.
//!
//! A row is a 16-bit field count, then per field a 32-bit length (-1 for NULL) and that many
//! bytes; the payload ends with a count of -1. Every read is bounds-checked: a malformed
//! payload (a bug, since barge wrote it) ends the walk with `None`, never a panic.

use std::ops::Range;

use crate::encode::pg_binary;

/// One field of a row: where its length prefix is, and its value's bytes (`None` for NULL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's first byte (its length prefix).
    pub at: usize,
    /// The value's bytes, after the prefix; `None` for NULL.
    pub value: Option<Range<usize>>,
}

impl Field {
    /// The field with its length prefix, as it stands in the payload: the same bytes for the
    /// same value, and different for NULL and an empty value.
    pub fn framed(&self) -> Range<usize> {
        self.at..self.value.as_ref().map_or(self.at + 4, |v| v.end)
    }
}

/// A walker over the rows of a binary COPY payload.
pub struct BinaryRows<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BinaryRows<'a> {
    /// The rows of a whole payload (after its header).
    pub fn new(data: &'a [u8]) -> Self {
        BinaryRows::starting_at(data, pg_binary::HEADER.len())
    }

    /// The rows from `pos` on (a row's field count), in `data`.
    pub fn starting_at(data: &'a [u8], pos: usize) -> Self {
        BinaryRows { data, pos }
    }

    /// The next row: `field` is called with each of its fields in order, and its range is
    /// returned (`Some(None)` at the payload's end, `None` if it is malformed).
    pub fn next_row(
        &mut self,
        mut field: impl FnMut(usize, Field),
    ) -> Option<Option<Range<usize>>> {
        let data = self.data;
        let start = self.pos;
        let count = i16::from_be_bytes(data.get(start..start + 2)?.try_into().ok()?);
        if count < 0 {
            return Some(None);
        }
        let mut pos = start + 2;
        for i in 0..count as usize {
            let len = i32::from_be_bytes(data.get(pos..pos + 4)?.try_into().ok()?);
            let value = match usize::try_from(len) {
                Ok(len) => {
                    let value = pos + 4..pos + 4 + len;
                    data.get(value.clone())?;
                    Some(value)
                }
                Err(_) => None,
            };
            let next = value.as_ref().map_or(pos + 4, |v| v.end);
            field(i, Field { at: pos, value });
            pos = next;
        }
        self.pos = pos;
        Some(Some(start..pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(rows: &[&[Option<&[u8]>]]) -> Vec<u8> {
        let mut out = pg_binary::HEADER.to_vec();
        for row in rows {
            out.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for f in *row {
                match f {
                    Some(v) => {
                        out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                        out.extend_from_slice(v);
                    }
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
        }
        out.extend_from_slice(pg_binary::TRAILER);
        out
    }

    #[test]
    fn rows_and_fields_as_written() {
        let data = payload(&[&[Some(b"ab"), None, Some(b"")], &[Some(b"xyz")]]);
        let mut rows = BinaryRows::new(&data);
        let mut seen = Vec::new();
        let first = rows
            .next_row(|i, f| seen.push((i, f.value.map(|v| data[v].to_vec()))))
            .unwrap()
            .unwrap();
        assert_eq!(first, 19..35);
        assert_eq!(
            seen,
            [(0, Some(b"ab".to_vec())), (1, None), (2, Some(Vec::new()))]
        );
        let mut framed = Vec::new();
        let second = rows
            .next_row(|_, f| framed.push(data[f.framed()].to_vec()))
            .unwrap()
            .unwrap();
        assert_eq!(second, 35..44);
        assert_eq!(framed, [b"\0\0\0\x03xyz".to_vec()]);
        assert_eq!(rows.next_row(|_, _| {}), Some(None));
    }

    #[test]
    fn a_malformed_payload_ends_the_walk_without_a_panic() {
        let data = payload(&[&[Some(b"abc"), None]]);
        for cut in 0..data.len() - 2 {
            let mut rows = BinaryRows::new(&data[..cut]);
            let mut n = 0;
            while let Some(Some(_)) = rows.next_row(|_, _| {}) {
                n += 1;
            }
            assert!(n <= 1);
        }
        let mut long = data.clone();
        long[21..25].copy_from_slice(&1000i32.to_be_bytes());
        assert_eq!(BinaryRows::new(&long).next_row(|_, _| {}), None);
    }
}
