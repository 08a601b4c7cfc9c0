//! Several files read one after another as one input, for a load that puts them all in one
//! transaction (`--atomic` or `--replace` with several files: a nightly refresh from a
//! directory of exported parts). Each file is opened with its own reader (its own format and
//! compression) and must have the first file's columns, in any order (read in the first's).
//!
//! Records' byte positions count over all the files, so that every record of the load has a
//! place of its own (a chunk finds its rows by position); messages name the file and the
//! place in it ([`RecordSource::locate`]), and chunks do not straddle files
//! ([`RecordSource::next_input`]), so that a chunk's message names one file.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::format::Format;
use super::input::{read_head, Head, Input, InputOptions};
use super::project::Projected;
use crate::error::{Error, Result};
use crate::record::{InputOf, Record, RecordSource};

/// Opens one file of the chain with its options, at its first row.
type Open = Box<dyn FnMut(&std::path::Path, InputOptions) -> Result<Head> + Send>;

/// The files of one input, in order.
pub struct Chained {
    current: Box<dyn RecordSource>,
    /// The file `current` reads.
    name: Arc<str>,
    /// Set when `current` changed and the pipeline has not yet been told.
    changed: bool,
    /// The first file's name and its columns, which every file must have.
    first: (String, Option<Vec<String>>),
    rest: std::vec::IntoIter<(PathBuf, InputOptions)>,
    open: Open,
    /// Where the files before `current` end: their records' positions are below it.
    base: u64,
    /// Past the last record `current` gave, in its own positions (a Parquet file's are row
    /// numbers, which its size in bytes need not exceed).
    end: u64,
    /// The fields that go to json columns, told again to each file's reader.
    json: Option<Vec<bool>>,
}

impl Chained {
    /// `head`, the first file's reader and names (`name`), followed by the files of `rest`,
    /// each opened by `open` when the one before it ends.
    fn new(head: Head, name: &str, rest: Vec<(PathBuf, InputOptions)>, open: Open) -> Chained {
        Chained {
            current: head.reader,
            name: Arc::from(name),
            changed: true,
            first: (name.to_string(), head.names),
            rest: rest.into_iter(),
            open,
            base: 0,
            end: 0,
            json: None,
        }
    }

    fn input(&self) -> InputOf {
        InputOf {
            name: self.name.clone(),
            base: self.base,
        }
    }

    /// Moves on to the next file; `false` after the last.
    fn advance(&mut self) -> Result<bool> {
        let Some((path, opts)) = self.rest.next() else {
            return Ok(false);
        };
        let name = path.display().to_string();
        let head = (self.open)(&path, opts)?;
        let order = same_columns(&self.first, &name, &head)?;
        self.base += self.current.bytes_read().max(self.end);
        self.end = 0;
        self.current = match order {
            Some(order) => Box::new(Projected::reordered(head.reader, order)),
            None => head.reader,
        };
        if let Some(json) = &self.json {
            self.current.set_json_fields(json);
        }
        self.name = Arc::from(name);
        self.changed = true;
        Ok(true)
    }
}

impl RecordSource for Chained {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        loop {
            if self.current.read_record(rec)? {
                self.end = rec.position.byte.saturating_add(rec.input_len.max(1));
                rec.position.byte += self.base;
                return Ok(true);
            }
            if !self.advance()? {
                return Ok(false);
            }
        }
    }

    fn line(&self) -> u64 {
        self.current.line()
    }

    fn bytes_read(&self) -> u64 {
        self.base + self.current.bytes_read()
    }

    fn can_continue(&self) -> bool {
        self.current.can_continue()
    }

    fn set_json_fields(&mut self, json: &[bool]) {
        self.current.set_json_fields(json);
        self.json = Some(json.to_vec());
    }

    fn next_input(&mut self) -> Option<InputOf> {
        std::mem::take(&mut self.changed).then(|| self.input())
    }

    fn locate(&self, e: Error) -> Error {
        self.input().locate(e)
    }
}

/// Opens a file of the chain at its first row, `compressed` counting its compressed bytes;
/// `names` are the first file's columns.
fn open_one(
    path: &std::path::Path,
    mut opts: InputOptions,
    names: &Option<Vec<String>>,
    compressed: Arc<AtomicU64>,
) -> Result<Head> {
    // NDJSON's keys come in any order: each file is read by the first one's.
    if opts.format == Format::Ndjson {
        opts.columns.clone_from(names);
    }
    let name = path.display().to_string();
    read_head(
        Input::File(path.to_path_buf()),
        &name,
        &opts,
        None,
        compressed,
    )
}

/// Refuses a file whose columns are not the first file's (`first`: its name and columns).
/// Returns `None` when they are in the same order, else where each of the first file's
/// columns is in this one (the same names in another order).
fn same_columns(
    (first, names): &(String, Option<Vec<String>>),
    name: &str,
    head: &Head,
) -> Result<Option<Vec<usize>>> {
    if head.names == *names {
        return Ok(None);
    }
    // The same names in another order, matched as a header matches a table's columns
    // (`schema::match_names`), each once: read in the first file's.
    if let (Some(want), Some(have)) = (names, &head.names) {
        let order: Option<Vec<usize>> =
            crate::schema::match_names(have, want).into_iter().collect();
        let once = |order: &Vec<usize>| {
            order.len() == have.len()
                && order
                    .iter()
                    .all(|i| order.iter().filter(|j| *j == i).count() == 1)
        };
        if let Some(order) = order.filter(once) {
            return Ok(Some(order));
        }
    }
    let list = |n: &Option<Vec<String>>| match n {
        Some(n) => n.join(", "),
        None => "none".into(),
    };
    Err(Error::config(format!(
        "{name} has other columns ({}) than {first} ({}): the files of one transaction must \
         have the same columns (in any order)",
        list(&head.names),
        list(names)
    )))
}

/// `head`, the first file's, followed by the files of `then`, each read with its options; the
/// result reads them all as one input (the first file's names, compression and header line).
/// Every file's head is read first, so that one with other columns fails the load before
/// its first row rather than after the files before it.
///
/// # Errors
/// A file cannot be opened, its head cannot be read, or its columns are not the first's.
pub fn chained(
    head: Head,
    name: &str,
    then: Vec<(PathBuf, InputOptions)>,
    compressed: Arc<AtomicU64>,
) -> Result<Head> {
    let first = (name.to_string(), head.names.clone());
    for (path, opts) in &then {
        // Its bytes read here are not progress.
        let uncounted = Arc::new(AtomicU64::new(0));
        let head = open_one(path, opts.clone(), &first.1, uncounted)?;
        same_columns(&first, &path.display().to_string(), &head)?;
    }
    let names = head.names.clone();
    let open: Open = Box::new(move |path, o| open_one(path, o, &names, compressed.clone()));
    let Head {
        reader,
        names,
        inferred,
        header_raw,
        compression,
        delimiter,
        read_as_text,
    } = head;
    let first = Head {
        reader,
        names: names.clone(),
        inferred: None,
        header_raw: None,
        compression,
        delimiter,
        read_as_text,
    };
    Ok(Head {
        reader: Box::new(Chained::new(first, name, then, open)),
        names,
        inferred,
        header_raw,
        compression,
        delimiter,
        read_as_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::decompress::Compression;

    fn head(names: &[&str]) -> Head {
        Head {
            reader: Box::new(crate::source::csv::CsvReader::new(
                &b""[..],
                "x.csv",
                crate::source::csv::CsvOptions::default(),
            )),
            names: Some(names.iter().map(|n| n.to_string()).collect()),
            inferred: None,
            header_raw: None,
            compression: Compression::None,
            delimiter: None,
            read_as_text: None,
        }
    }

    #[test]
    fn later_files_match_the_first_ones_columns_as_a_header_matches_a_table() {
        let first = (
            "a.csv".to_string(),
            Some(vec!["id".to_string(), "name".to_string()]),
        );
        let order = |names: &[&str]| same_columns(&first, "b.csv", &head(names)).ok();
        assert_eq!(order(&["id", "name"]), Some(None));
        assert_eq!(order(&["name", "id"]), Some(Some(vec![1, 0])));
        // Case, as the header's match with the table's columns allows it.
        assert_eq!(order(&["Name", "ID"]), Some(Some(vec![1, 0])));
        // Other columns, one too many, or one name twice: refused.
        assert_eq!(order(&["id", "email"]), None);
        assert_eq!(order(&["id", "name", "x"]), None);
        assert_eq!(order(&["id", "ID"]), None);
    }
}
