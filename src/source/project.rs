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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::read_all;
    use crate::source::csv::{CsvOptions, CsvReader};

    #[test]
    fn reordered_puts_fields_in_the_first_inputs_order() {
        let csv = CsvReader::new(
            &b"\"c,1\",a,\"\"\nz,y,x\nonly,two\n"[..],
            "t.csv",
            CsvOptions {
                header: false,
                ..CsvOptions::default()
            },
        );
        let mut src = Reordered::new(Box::new(csv), vec![1, 2, 0]);
        let text = |rows: Vec<Vec<(String, bool)>>| -> Vec<String> {
            rows.into_iter()
                .map(|r| {
                    r.into_iter()
                        .map(|(v, q)| if q { format!("\"{v}\"") } else { v })
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect()
        };
        // Quoting travels with its field; a record of another width is left as it is.
        assert_eq!(
            text(read_all(&mut src)),
            ["a|\"\"|\"c,1\"", "y|x|z", "only|two"]
        );
    }

    /// What the reader is told about json columns is by its own fields.
    #[test]
    fn reordered_tells_json_fields_in_the_readers_order() {
        struct Told(std::sync::Arc<std::sync::Mutex<Vec<bool>>>);
        impl RecordSource for Told {
            fn read_record(&mut self, _: &mut Record) -> Result<bool> {
                Ok(false)
            }
            fn line(&self) -> u64 {
                1
            }
            fn bytes_read(&self) -> u64 {
                0
            }
            fn set_json_fields(&mut self, json: &[bool]) {
                if let Ok(mut told) = self.0.lock() {
                    *told = json.to_vec();
                }
            }
        }
        let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut src = Reordered::new(Box::new(Told(told.clone())), vec![2, 0, 1]);
        // The first input's second column is json: it is this reader's first.
        src.set_json_fields(&[false, true, false]);
        let got = told.lock().map(|t| t.clone()).unwrap_or_default();
        assert_eq!(got, [true, false, false]);
    }
}
