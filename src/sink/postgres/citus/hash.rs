//! PostgreSQL's hash functions for the types a table is commonly distributed by, computed on
//! the client so that each row can go straight to the worker that holds its shard.
//!
//! Citus places a row by the 32-bit hash the column type's default hash opclass gives its value
//! (`hashint4`, `hashint8`, `hashtext`, `uuid_hash`, ...). Those are Bob Jenkins' lookup3 mix
//! as PostgreSQL's `hashfn.c` applies it; no crate computes PostgreSQL's variant (its seed and
//! its byte order for a key's tail), so it is written here from the algorithm and held to the
//! server's own functions by a test (`tests/it/citus.rs`), and at the start of every routed
//! load to Citus's `get_shard_id_for_distribution_column` on the load's first values.

/// The types whose hash barge computes, and how their binary COPY field becomes the value
/// hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKind {
    /// `smallint`: sign-extended to 32 bits, then `hash_uint32`.
    Int2,
    /// `integer`, `date` (days as int4): `hash_uint32`.
    Int4,
    /// `bigint`: the high half folded into the low, then `hash_uint32`.
    Int8,
    /// `text`, `varchar`, `bpchar` is not here (its hash ignores trailing blanks): the bytes,
    /// with a deterministic collation.
    Bytes,
    /// `uuid`: its 16 bytes.
    Uuid,
}

impl HashKind {
    /// The hash of a column value given as its binary COPY field (`None` for a field of the
    /// wrong length, which the encoder never writes).
    pub fn hash(self, field: &[u8]) -> Option<i32> {
        let h = match self {
            HashKind::Int2 => {
                let v = i16::from_be_bytes(field.try_into().ok()?);
                hash_uint32(i32::from(v) as u32)
            }
            HashKind::Int4 => hash_uint32(u32::from_be_bytes(field.try_into().ok()?)),
            HashKind::Int8 => hash_int8(i64::from_be_bytes(field.try_into().ok()?)),
            HashKind::Bytes => hash_bytes(field),
            HashKind::Uuid => {
                if field.len() != 16 {
                    return None;
                }
                hash_bytes(field)
            }
        };
        Some(h as i32)
    }
}

/// lookup3's starting value for a key of `len` bytes, with PostgreSQL's seed.
fn init(len: u32) -> (u32, u32, u32) {
    let v = 0x9e37_79b9_u32.wrapping_add(len).wrapping_add(3_923_095);
    (v, v, v)
}

/// lookup3's `mix`: folds three more words of key into the state.
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

/// lookup3's `final`: the last avalanche; the hash is `c`.
fn finish(mut a: u32, mut b: u32, mut c: u32) -> u32 {
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(24));
    c
}

/// `hash_uint32`: one 32-bit word.
pub fn hash_uint32(k: u32) -> u32 {
    let (a, b, c) = init(4);
    finish(a.wrapping_add(k), b, c)
}

/// `hashint8`: equal to `hashint4` for values that fit in 32 bits, as cross-type hash joins
/// need.
pub fn hash_int8(v: i64) -> u32 {
    let lo = v as u32;
    let hi = (v >> 32) as u32;
    hash_uint32(if v >= 0 { lo ^ hi } else { lo ^ !hi })
}

/// `hash_any`: a byte string, read as little-endian words (the server's order on the
/// little-endian machines Citus runs on; a big-endian server would place rows differently,
/// which the routing check at the start of a load catches).
pub fn hash_bytes(key: &[u8]) -> u32 {
    let word = |w: &[u8]| u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
    let (mut a, mut b, mut c) = init(key.len() as u32);
    let mut blocks = key.chunks_exact(12);
    for k in &mut blocks {
        a = a.wrapping_add(word(&k[0..4]));
        b = b.wrapping_add(word(&k[4..8]));
        c = c.wrapping_add(word(&k[8..12]));
        mix(&mut a, &mut b, &mut c);
    }
    // The last 0-11 bytes: a takes bytes 0-3, b 4-7, c 8-10 shifted past its low byte (which
    // lookup3 keeps for the length).
    let tail = blocks.remainder();
    let mut words = [0u32; 3];
    for (i, &byte) in tail.iter().enumerate() {
        let (w, shift) = if i < 8 {
            (i / 4, (i % 4) * 8)
        } else {
            (2, (i - 8 + 1) * 8)
        };
        words[w] = words[w].wrapping_add(u32::from(byte) << shift);
    }
    a = a.wrapping_add(words[0]);
    b = b.wrapping_add(words[1]);
    c = c.wrapping_add(words[2]);
    finish(a, b, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values printed by PostgreSQL 15 (`SELECT hashint4(1)` and so on), so that the unit tests
    // pin the functions without a server; the integration test compares many more.
    #[test]
    fn matches_values_the_server_printed() {
        assert_eq!(
            HashKind::Int4.hash(&1i32.to_be_bytes()),
            Some(-1_905_060_026)
        );
        assert_eq!(
            HashKind::Int8.hash(&1i64.to_be_bytes()),
            Some(-1_905_060_026)
        );
        assert_eq!(
            HashKind::Int2.hash(&1i16.to_be_bytes()),
            Some(-1_905_060_026)
        );
        assert_eq!(HashKind::Bytes.hash(b""), Some(-1_477_818_771));
        assert_eq!(HashKind::Bytes.hash(b"hello world!x"), Some(1_217_297_672));
        assert_eq!(HashKind::Bytes.hash(b"abcdefghijk"), Some(-1_483_803_693));
        assert_eq!(
            HashKind::Int8.hash(&(-5i64).to_be_bytes()),
            Some(1_412_886_042)
        );
        assert_eq!(
            HashKind::Int8.hash(&5_000_000_000i64.to_be_bytes()),
            Some(-694_934_712)
        );
        let uuid = [
            0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
            0x0a, 0x11,
        ];
        assert_eq!(HashKind::Uuid.hash(&uuid), Some(1_154_666_245));
    }

    #[test]
    fn int8_that_fits_in_int4_hashes_as_int4() {
        for v in [0i32, -1, 7, i32::MIN, i32::MAX, -123_456] {
            assert_eq!(
                HashKind::Int8.hash(&i64::from(v).to_be_bytes()),
                HashKind::Int4.hash(&v.to_be_bytes()),
                "{v}"
            );
        }
    }

    #[test]
    fn a_field_of_the_wrong_length_has_no_hash() {
        assert_eq!(HashKind::Int4.hash(&[0, 1]), None);
        assert_eq!(HashKind::Uuid.hash(&[0; 15]), None);
    }
}
