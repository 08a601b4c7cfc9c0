//! An input's columns that the table does not have, left out (`--ignore-unknown`): a wide
//! export loads into a table of some of its columns. The record's fields are narrowed after
//! reading, in place (their bytes stay where the reader put them); its input, for a rejects
//! file, stays the whole line.

use crate::error::Result;
use crate::record::{Record, RecordSource};

/// A source whose records keep only the fields `keep` marks.
pub struct Projected {
    inner: Box<dyn RecordSource>,
    keep: Vec<bool>,
}

impl Projected {
    /// `inner`'s records, each without the fields whose `keep` is false.
    pub fn new(inner: Box<dyn RecordSource>, keep: Vec<bool>) -> Projected {
        Projected { inner, keep }
    }
}

impl RecordSource for Projected {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        let more = self.inner.read_record(rec)?;
        if more {
            rec.keep_fields(&self.keep);
        }
        Ok(more)
    }

    fn line(&self) -> u64 {
        self.inner.line()
    }

    fn bytes_read(&self) -> u64 {
        self.inner.bytes_read()
    }

    fn can_continue(&self) -> bool {
        self.inner.can_continue()
    }

    /// `json` is by the fields kept; the reader's own are by all of them.
    fn set_json_fields(&mut self, json: &[bool]) {
        let mut kept = json.iter();
        let all: Vec<bool> = self
            .keep
            .iter()
            .map(|&k| k && kept.next().copied().unwrap_or(false))
            .collect();
        self.inner.set_json_fields(&all);
    }

    fn inferred(&self) -> Option<crate::infer::InferredTable> {
        self.inner.inferred()
    }

    fn next_input(&mut self) -> Option<crate::record::InputOf> {
        self.inner.next_input()
    }

    fn locate(&self, e: crate::error::Error) -> crate::error::Error {
        self.inner.locate(e)
    }
}
