//! An input's columns made to fit: those the table does not have left out (`--ignore-unknown`:
//! a wide export loads into a table of some of its columns), or put in another input's order
//! (the files of one transaction, whose headers may list the same columns in other orders).
//! The record's fields are narrowed or reordered after reading, in place (their bytes stay
//! where the reader put them); its input, for a rejects file, stays the whole line.

use crate::error::Result;
use crate::record::{Record, RecordSource, Span};

/// A source whose records' fields are made to fit: some left out, or put in another order.
pub struct Projected {
    inner: Box<dyn RecordSource>,
    fit: Fit,
}

/// What [`Projected`] does to each record's fields.
enum Fit {
    /// Keep the fields marked `true`.
    Keep(Vec<bool>),
    /// Field `j` becomes the one at `order[j]` (`scratch` reused from record to record).
    Order {
        order: Vec<usize>,
        scratch: Vec<Span>,
    },
}

impl Projected {
    /// `inner`'s records, each without the fields whose `keep` is false.
    pub fn new(inner: Box<dyn RecordSource>, keep: Vec<bool>) -> Projected {
        Projected {
            inner,
            fit: Fit::Keep(keep),
        }
    }

    /// `inner`'s records with their fields in `order` (field `j` is the one at `order[j]`).
    pub fn reordered(inner: Box<dyn RecordSource>, order: Vec<usize>) -> Projected {
        Projected {
            inner,
            fit: Fit::Order {
                order,
                scratch: Vec::new(),
            },
        }
    }
}

impl RecordSource for Projected {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        let more = self.inner.read_record(rec)?;
        if more {
            match &mut self.fit {
                Fit::Keep(keep) => rec.keep_fields(keep),
                Fit::Order { order, scratch } => rec.reorder_fields(order, scratch),
            }
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

    /// `json` is by the fields as they come out; the reader's own are by its fields.
    fn set_json_fields(&mut self, json: &[bool]) {
        let own: Vec<bool> = match &self.fit {
            Fit::Keep(keep) => {
                let mut kept = json.iter();
                keep.iter()
                    .map(|&k| k && kept.next().copied().unwrap_or(false))
                    .collect()
            }
            Fit::Order { order, .. } => {
                let mut own = vec![false; order.len()];
                for (j, &i) in order.iter().enumerate() {
                    if let (Some(slot), Some(&is)) = (own.get_mut(i), json.get(j)) {
                        *slot = is;
                    }
                }
                own
            }
        };
        self.inner.set_json_fields(&own);
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
        let mut src = Projected::reordered(Box::new(csv), vec![1, 2, 0]);
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
        let mut src = Projected::reordered(Box::new(Told(told.clone())), vec![2, 0, 1]);
        // The first input's second column is json: it is this reader's first.
        src.set_json_fields(&[false, true, false]);
        let got = told.lock().map(|t| t.clone()).unwrap_or_default();
        assert_eq!(got, [true, false, false]);
    }
}
