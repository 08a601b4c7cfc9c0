//! gzip and zstd input, recognised by their magic bytes (not the file name) and streamed, with
//! the compressed bytes read counted for the progress bar.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What the input was compressed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (several members are read one after the other, as `zcat` does).
    Gzip,
    /// Zstandard.
    Zstd,
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Looks at the first bytes of `r` and, if they are gzip's or zstd's magic, returns a reader
/// of the decompressed stream. `compressed` counts the compressed bytes read (only when the
/// input is compressed: a plain input's progress is its records' positions).
///
/// # Errors
/// An I/O error reading the first bytes.
pub fn open(
    r: Box<dyn Read + Send>,
    compressed: Arc<AtomicU64>,
) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let mut buf = BufReader::with_capacity(256 * 1024, r);
    let head = buf.fill_buf()?;
    let kind = if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    };
    Ok(match kind {
        Compression::None => (Box::new(buf), kind),
        Compression::Gzip => {
            let counted = BufReader::new(Counting {
                inner: buf,
                count: compressed,
            });
            (
                Box::new(flate2::bufread::MultiGzDecoder::new(counted)),
                kind,
            )
        }
        Compression::Zstd => {
            let counted = BufReader::new(Counting {
                inner: buf,
                count: compressed,
            });
            (
                Box::new(zstd::stream::read::Decoder::with_buffer(counted)?),
                kind,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn roundtrip(data: &[u8]) -> (Vec<u8>, Compression) {
        let count = Arc::new(AtomicU64::new(0));
        let (mut r, kind) = open(Box::new(io::Cursor::new(data.to_vec())), count).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        (out, kind)
    }

    #[test]
    fn gzip_zstd_and_plain() {
        let text = b"id,name\n1,a\n".repeat(1000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(roundtrip(&gz), (text.clone(), Compression::Gzip));
        let zst = zstd::stream::encode_all(&text[..], 1).unwrap();
        assert_eq!(roundtrip(&zst), (text.clone(), Compression::Zstd));
        assert_eq!(roundtrip(&text), (text.clone(), Compression::None));
        assert_eq!(roundtrip(b""), (Vec::new(), Compression::None));
        // Cut short: an error, not a partial success.
        let count = Arc::new(AtomicU64::new(0));
        let (mut r, _) = open(
            Box::new(io::Cursor::new(gz[..gz.len() / 2].to_vec())),
            count,
        )
        .unwrap();
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_err());
    }
}
