//! Reading the start of a stream twice: once to infer a table from a sample of its rows, once
//! to load it. A file can simply be opened again; standard input cannot, so what the sample
//! read is kept and played back before the rest of the stream.

use std::io::{self, Cursor, Read};

/// How much of a stream a sample may read (and so keep): the first 16 MiB, or the sample's
/// rows if they end sooner. A file is read again instead, so its sample is not kept.
pub const SAMPLE_BYTES: u64 = 16 * 1024 * 1024;

/// A reader that keeps a copy of everything read through it (when asked to).
pub struct Recorder<R> {
    inner: R,
    seen: Vec<u8>,
    keep: bool,
}

impl<R: Read> Recorder<R> {
    /// Starts reading `inner`, keeping what is read when `keep` (a stream, which cannot be
    /// read again).
    pub fn new(inner: R, keep: bool) -> Self {
        Recorder {
            inner,
            seen: Vec::new(),
            keep,
        }
    }

    /// What was recorded, and the stream from where reading stopped.
    pub fn into_parts(self) -> (Vec<u8>, R) {
        (self.seen, self.inner)
    }

    /// A reader that yields what was recorded, then the rest of the stream: the stream as if
    /// it had not been read at all.
    pub fn replay(self) -> io::Chain<Cursor<Vec<u8>>, R> {
        Cursor::new(self.seen).chain(self.inner)
    }
}

impl<R: Read> Read for Recorder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.keep {
            self.seen.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

/// Records a program hands over (rows, batches), of which the first were read for a sample:
/// they are handed out again, then the rest. A program's rows cannot be asked for twice, so
/// the sample is kept, within [`SAMPLE_BYTES`] of field data.
pub struct KeptRecords {
    kept: std::collections::VecDeque<crate::record::Record>,
    inner: Box<dyn crate::record::RecordSource>,
}

impl KeptRecords {
    /// Reads up to `rows` records (0: no limit but the bytes) of `inner` and keeps them; the
    /// source returned hands them out first.
    ///
    /// # Errors
    /// The source's own, for a record it could not make.
    pub fn sample(
        mut inner: Box<dyn crate::record::RecordSource>,
        rows: usize,
    ) -> crate::error::Result<KeptRecords> {
        let mut kept = std::collections::VecDeque::new();
        let mut bytes = 0u64;
        while (rows == 0 || kept.len() < rows) && bytes < SAMPLE_BYTES {
            let mut rec = crate::record::Record::default();
            if !inner.read_record(&mut rec)? {
                break;
            }
            bytes += (rec.data.len() + rec.raw.len()) as u64;
            kept.push_back(rec);
        }
        Ok(KeptRecords { kept, inner })
    }

    /// The kept records, for inference, in order.
    pub fn kept(&self) -> impl Iterator<Item = &crate::record::Record> {
        self.kept.iter()
    }
}

impl crate::record::RecordSource for KeptRecords {
    fn read_record(&mut self, rec: &mut crate::record::Record) -> crate::error::Result<bool> {
        match self.kept.pop_front() {
            Some(next) => {
                *rec = next;
                Ok(true)
            }
            None => self.inner.read_record(rec),
        }
    }

    fn line(&self) -> u64 {
        match self.kept.front() {
            Some(next) => next.position.line,
            None => self.inner.line(),
        }
    }

    fn bytes_read(&self) -> u64 {
        self.inner.bytes_read()
    }

    fn can_continue(&self) -> bool {
        self.inner.can_continue()
    }

    fn set_json_fields(&mut self, json: &[bool]) {
        self.inner.set_json_fields(json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_gives_the_whole_stream() {
        let mut r = Recorder::new(&b"abcdefgh"[..], true);
        let mut head = [0u8; 3];
        r.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"abc");
        let mut all = Vec::new();
        r.replay().read_to_end(&mut all).unwrap();
        assert_eq!(all, b"abcdefgh");
    }
}
