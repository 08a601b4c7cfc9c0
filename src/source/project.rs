//! An input's columns made to fit: those the table does not have left out (`--ignore-unknown`:
//! a wide export loads into a table of some of its columns), or put in another input's order
//! (the files of one transaction, whose headers may list the same columns in other orders).
//! The record's fields are narrowed or reordered after reading, in place (their bytes stay
//! where the reader put them); its input, for a rejects file, stays the whole line.

use crate::error::Result;
use crate::record::{Record, RecordSource, Span};

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

/// A source whose records' fields are put in `order` (field `j` is the one at `order[j]`).
pub struct Reordered {
    inner: Box<dyn RecordSource>,
    order: Vec<usize>,
    scratch: Vec<Span>,
    /// The fields that go to json columns, in the order of `inner`'s own fields.
    json: Vec<bool>,
}

impl Reordered {
    /// `inner`'s records with their fields in `order`.
    pub fn new(inner: Box<dyn RecordSource>, order: Vec<usize>) -> Reordered {
        Reordered {
            inner,
            order,
            scratch: Vec::new(),
            json: Vec::new(),
        }
    }
}

impl RecordSource for Reordered {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        let more = self.inner.read_record(rec)?;
        if more {
            rec.reorder_fields(&self.order, &mut self.scratch);
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

    /// `json` is by the fields in their new order; the reader's own are by its order.
    fn set_json_fields(&mut self, json: &[bool]) {
        self.json = vec![false; self.order.len()];
        for (j, &i) in self.order.iter().enumerate() {
            if let (Some(slot), Some(&is)) = (self.json.get_mut(i), json.get(j)) {
                *slot = is;
            }
        }
        self.inner.set_json_fields(&self.json);
    }

    fn inferred(&self) -> Option<crate::infer::InferredTable> {
        self.inner.inferred()
    }
}
