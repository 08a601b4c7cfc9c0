//! Which shard each row of a chunk belongs to: the table's shard intervals as the coordinator
//! keeps them, and a chunk's binary COPY rows sorted into one COPY payload per shard.

use std::ops::Range;

use super::hash::HashKind;
use crate::encode::pg_binary;
use crate::sink::postgres::binary_rows::BinaryRows;

/// One shard of the table, on one node.
#[derive(Debug, Clone)]
pub struct Shard {
    /// Citus' shard id.
    pub id: i64,
    /// The hash values it holds, `min..=max`.
    pub min: i32,
    pub max: i32,
    /// Its table on the node, qualified and quoted (`shard_name()` says it: long names are
    /// shortened with a hash, so it is not always `table_id`).
    pub name: String,
    /// Index into the load's nodes.
    pub node: usize,
}

/// Where rows go: the distribution column's place among the fields written, its hash, and
/// the shards in hash order.
#[derive(Debug)]
pub struct ShardMap {
    /// The distribution column's field in each row.
    pub field: usize,
    pub kind: HashKind,
    /// Sorted by `min`, intervals disjoint.
    pub shards: Vec<Shard>,
}

impl ShardMap {
    /// The shard holding hash `h` (`None` if no interval covers it: a map that does not cover
    /// the whole hash range is not routed, see `open`).
    pub fn shard_of(&self, h: i32) -> Option<usize> {
        let i = self.shards.partition_point(|s| s.max < h);
        self.shards.get(i).filter(|s| s.min <= h).map(|_| i)
    }

    /// Whether the intervals cover every 32-bit hash without gaps or overlaps.
    pub fn covers_all_hashes(&self) -> bool {
        let mut next = i64::from(i32::MIN);
        for s in &self.shards {
            if i64::from(s.min) != next || s.max < s.min {
                return false;
            }
            next = i64::from(s.max) + 1;
        }
        next == i64::from(i32::MAX) + 1
    }

    /// The shard of a row given by the distribution column's binary field (`None` for NULL,
    /// which Citus refuses in a distribution column: such a row goes through the coordinator,
    /// which says why).
    pub fn shard_of_field(&self, field: Option<&[u8]>) -> Option<usize> {
        self.shard_of(self.kind.hash(field?)?)
    }

    /// Sorts the rows of a binary COPY payload by shard: for each shard, a payload of its rows
    /// (header, rows in input order, trailer), empty when it has none. `None` when some row
    /// cannot be routed.
    pub fn split(&self, data: &[u8]) -> Option<Vec<Vec<u8>>> {
        // First where each row goes, then each shard's payload allocated at its size: grown
        // by doubling, the copies took up to twice the chunk.
        let mut rows: Vec<(usize, Range<usize>)> = Vec::new();
        let mut sizes = vec![0usize; self.shards.len()];
        let mut walk = BinaryRows::new(data);
        loop {
            let mut key: Option<Range<usize>> = None;
            let Some(row) = walk.next_row(|i, f| {
                if i == self.field {
                    key = f.value;
                }
            })?
            else {
                break;
            };
            let key = match key {
                Some(r) => Some(data.get(r)?),
                None => None,
            };
            let shard = self.shard_of_field(key)?;
            *sizes.get_mut(shard)? += row.len();
            rows.push((shard, row));
        }
        let frame = pg_binary::HEADER.len() + pg_binary::TRAILER.len();
        let mut out: Vec<Vec<u8>> = sizes
            .iter()
            .map(|&n| {
                if n == 0 {
                    Vec::new()
                } else {
                    Vec::with_capacity(n + frame)
                }
            })
            .collect();
        for (shard, range) in rows {
            let payload = out.get_mut(shard)?;
            if payload.is_empty() {
                payload.extend_from_slice(pg_binary::HEADER);
            }
            payload.extend_from_slice(data.get(range)?);
        }
        for payload in out.iter_mut().filter(|p| !p.is_empty()) {
            payload.extend_from_slice(pg_binary::TRAILER);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(bounds: &[(i32, i32)]) -> ShardMap {
        ShardMap {
            field: 1,
            kind: HashKind::Int4,
            shards: bounds
                .iter()
                .enumerate()
                .map(|(i, &(min, max))| Shard {
                    id: i as i64,
                    min,
                    max,
                    name: format!("s{i}"),
                    node: i % 2,
                })
                .collect(),
        }
    }

    fn row(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut r = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                Some(v) => {
                    r.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    r.extend_from_slice(v);
                }
                None => r.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        r
    }

    #[test]
    fn intervals_are_searched_by_hash() {
        let m = map(&[(i32::MIN, -1), (0, 99), (100, i32::MAX)]);
        assert!(m.covers_all_hashes());
        assert_eq!(m.shard_of(i32::MIN), Some(0));
        assert_eq!(m.shard_of(-1), Some(0));
        assert_eq!(m.shard_of(0), Some(1));
        assert_eq!(m.shard_of(100), Some(2));
        assert_eq!(m.shard_of(i32::MAX), Some(2));
        assert!(!map(&[(i32::MIN, -1), (1, i32::MAX)]).covers_all_hashes());
        assert!(!map(&[(i32::MIN, 5), (1, i32::MAX)]).covers_all_hashes());
        assert!(!map(&[(i32::MIN, 5)]).covers_all_hashes());
    }

    #[test]
    fn rows_are_split_by_shard_in_input_order_and_null_keys_are_not_routed() {
        let m = map(&[(i32::MIN, -1), (0, i32::MAX)]);
        let keys: Vec<i32> = (0..50).collect();
        let mut data = pg_binary::HEADER.to_vec();
        let rows: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| row(&[Some(b"x"), Some(&k.to_be_bytes()), None]))
            .collect();
        for r in &rows {
            data.extend_from_slice(r);
        }
        data.extend_from_slice(pg_binary::TRAILER);
        let parts = m.split(&data).expect("routed");
        let mut want = vec![pg_binary::HEADER.to_vec(), pg_binary::HEADER.to_vec()];
        for (k, r) in keys.iter().zip(&rows) {
            let s = usize::from(HashKind::Int4.hash(&k.to_be_bytes()).unwrap() >= 0);
            want[s].extend_from_slice(r);
        }
        for w in &mut want {
            w.extend_from_slice(pg_binary::TRAILER);
        }
        assert_eq!(parts, want);

        let mut nulls = pg_binary::HEADER.to_vec();
        nulls.extend_from_slice(&row(&[Some(b"x"), None]));
        nulls.extend_from_slice(pg_binary::TRAILER);
        assert_eq!(m.split(&nulls), None);
        // Truncated input is not routed either (and does not panic).
        assert_eq!(m.split(&data[..data.len() - 7]), None);
    }
}
