//! Bad rows set aside: `--rejects FILE` gets every rejected row with its original bytes (and
//! the header), so it can be fixed and loaded with the same command, and `FILE.errors.jsonl`
//! says for each one where it was and why.
//!
//! Exactly once holds for rejects too. A chunk's rejects are appended before the chunk commits,
//! tagged with the chunk; when a load resumes, entries of chunks that never committed are
//! dropped from both files (they will be rejected again), and entries of committed chunks stay
//! (their chunks are skipped). So after any number of crashes and re-runs each bad row is in
//! the file once.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::position::Position;

/// One rejected row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// Where the row starts in the input.
    pub position: Position,
    /// The row's input bytes, line terminator included.
    pub raw: Vec<u8>,
    /// The column at fault, when known.
    pub column: Option<String>,
    /// The offending value (cut short), when known.
    pub value: Option<String>,
    /// Why the row was rejected.
    pub reason: String,
    /// The server's SQLSTATE, for rows the database refused.
    pub sqlstate: Option<String>,
}

impl Reject {
    /// A reject for a row the client refused: the error's own position, column, value and
    /// reason. `None` for errors that are not about one row.
    pub fn from_error(e: &Error, raw: &[u8]) -> Option<Reject> {
        let (position, column, value, reason) = match e.kind() {
            ErrorKind::Value {
                position,
                column,
                value,
                reason,
                ..
            } => (
                *position,
                Some(column.clone()),
                Some(value.clone()),
                reason.clone(),
            ),
            ErrorKind::Csv {
                position, message, ..
            } => (*position, None, None, message.clone()),
            _ => return None,
        };
        Some(Reject {
            position,
            raw: raw.to_vec(),
            column,
            value,
            reason,
            sqlstate: None,
        })
    }
}

/// One line of `FILE.errors.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    input: String,
    /// `null` for a row of an input without lines (Parquet, Arrow, a program's rows).
    line: Option<u64>,
    record: u64,
    byte: u64,
    column: Option<String>,
    value: Option<String>,
    reason: String,
    sqlstate: Option<String>,
    /// The input offset of the first row of the chunk the reject belongs to: what resume
    /// matches against the checkpoints.
    chunk_byte: u64,
    /// Where the row is in the rejects file.
    rejects_offset: u64,
    rejects_len: u64,
}

struct Files {
    rows: File,
    errors: File,
    rows_len: u64,
    /// Chunks whose rejects this process wrote: a retried chunk does not write them again.
    written: HashSet<u64>,
}

/// The rejects files of one load, shared by its reader and writers.
#[derive(Clone)]
pub struct Rejects {
    input: String,
    path: PathBuf,
    files: Arc<Mutex<Files>>,
}

impl std::fmt::Debug for Rejects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rejects({})", self.path.display())
    }
}

/// `FILE.errors.jsonl` for rejects file `FILE`.
pub fn errors_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".errors.jsonl");
    PathBuf::from(p)
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::config(format!("rejects file {}: {e}", path.display()))
}

impl Rejects {
    /// Opens the rejects files for a load of `input`. A fresh load (`keep` is `None`) starts
    /// them anew with `header` (the input's header line, if it has one); otherwise the entries
    /// of other inputs (earlier files of the same load) stay, and of this input's only those of
    /// chunks in `keep` (the committed ones).
    ///
    /// # Errors
    /// A configuration error when the files cannot be written.
    pub fn open(
        path: &Path,
        input: &str,
        header: Option<&[u8]>,
        keep: Option<&HashSet<u64>>,
    ) -> Result<Rejects> {
        let errors_path = errors_path(path);
        let io = |e| io_error(path, e);
        let (rows, errors, rows_len) = match keep {
            Some(keep) if path.exists() && errors_path.exists() => {
                Self::compact(path, &errors_path, input, keep, header)?
            }
            _ => {
                let mut rows = File::create(path).map_err(io)?;
                let errors = File::create(&errors_path).map_err(io)?;
                if let Some(h) = header {
                    rows.write_all(h).map_err(io)?;
                }
                (rows, errors, header.map_or(0, |h| h.len() as u64))
            }
        };
        Ok(Rejects {
            input: input.to_string(),
            path: path.to_path_buf(),
            files: Arc::new(Mutex::new(Files {
                rows,
                errors,
                rows_len,
                written: HashSet::new(),
            })),
        })
    }

    /// Rewrites both files with only the entries of chunks in `keep`.
    fn compact(
        path: &Path,
        errors_path: &Path,
        input: &str,
        keep: &HashSet<u64>,
        header: Option<&[u8]>,
    ) -> Result<(File, File, u64)> {
        let io = |e| io_error(path, e);
        let mut old_rows = File::open(path).map_err(io)?;
        let old_errors = BufReader::new(File::open(errors_path).map_err(io)?);
        let tmp_rows_path = path.with_extension("barge-tmp");
        let tmp_errors_path = errors_path.with_extension("barge-tmp");
        let mut rows = File::create(&tmp_rows_path).map_err(io)?;
        let mut errors = File::create(&tmp_errors_path).map_err(io)?;
        let mut len = 0u64;
        if let Some(h) = header {
            rows.write_all(h).map_err(io)?;
            len = h.len() as u64;
        }
        for line in old_errors.lines() {
            let line = line.map_err(io)?;
            let Ok(mut entry) = serde_json::from_str::<Entry>(&line) else {
                // A line cut short by a crash mid-write: its chunk did not commit.
                continue;
            };
            if entry.input == input && !keep.contains(&entry.chunk_byte) {
                continue;
            }
            let mut raw = vec![0u8; entry.rejects_len as usize];
            old_rows
                .seek(SeekFrom::Start(entry.rejects_offset))
                .and_then(|_| old_rows.read_exact(&mut raw))
                .map_err(io)?;
            rows.write_all(&raw).map_err(io)?;
            entry.rejects_offset = len;
            len += raw.len() as u64;
            let json = serde_json::to_string(&entry)
                .map_err(|e| Error::config(format!("rejects: {e}")))?;
            writeln!(errors, "{json}").map_err(io)?;
        }
        std::fs::rename(&tmp_rows_path, path).map_err(io)?;
        std::fs::rename(&tmp_errors_path, errors_path).map_err(io)?;
        Ok((rows, errors, len))
    }

    /// Appends the rejects of the chunk starting at input byte `chunk_byte`, once per chunk
    /// however often the chunk is retried, and flushes them to the OS before the chunk commits.
    ///
    /// # Errors
    /// A configuration error when the files cannot be written.
    pub fn write(&self, chunk_byte: u64, rejects: &[Reject]) -> Result<()> {
        if rejects.is_empty() {
            return Ok(());
        }
        let mut f = self
            .files
            .lock()
            .map_err(|_| Error::config("the rejects file's lock was poisoned"))?;
        if !f.written.insert(chunk_byte) {
            return Ok(());
        }
        let path = self.path.clone();
        let io = |e| io_error(&path, e);
        let mut rows_buf = Vec::new();
        let mut errors_buf = Vec::new();
        for r in rejects {
            let mut raw = r.raw.clone();
            // A last line without a newline still ends one in the rejects file.
            if !raw.is_empty() && !raw.ends_with(b"\n") {
                raw.push(b'\n');
            }
            let entry = Entry {
                input: self.input.clone(),
                line: r.position.has_lines().then_some(r.position.line),
                record: r.position.record,
                byte: r.position.byte,
                column: r.column.clone(),
                value: r.value.clone(),
                reason: r.reason.clone(),
                sqlstate: r.sqlstate.clone(),
                chunk_byte,
                rejects_offset: f.rows_len + rows_buf.len() as u64,
                rejects_len: raw.len() as u64,
            };
            rows_buf.extend_from_slice(&raw);
            serde_json::to_writer(&mut errors_buf, &entry)
                .map_err(|e| Error::config(format!("rejects: {e}")))?;
            errors_buf.push(b'\n');
        }
        f.rows.write_all(&rows_buf).map_err(io)?;
        f.rows.flush().map_err(io)?;
        f.errors.write_all(&errors_buf).map_err(io)?;
        f.errors.flush().map_err(io)?;
        f.rows_len += rows_buf.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject(byte: u64, raw: &str) -> Reject {
        Reject {
            position: Position {
                byte,
                line: byte,
                record: byte,
            },
            raw: raw.as_bytes().to_vec(),
            column: Some("c".into()),
            value: Some("v".into()),
            reason: "bad".into(),
            sqlstate: None,
        }
    }

    #[test]
    fn resume_keeps_only_committed_chunks_and_retries_write_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rej.csv");
        let r = Rejects::open(&p, "in.csv", Some(b"a,b\n"), None).unwrap();
        r.write(10, &[reject(11, "1,x\n"), reject(12, "2,\"y\nz\"\n")])
            .unwrap();
        r.write(10, &[reject(11, "1,x\n")]).unwrap();
        r.write(20, &[reject(21, "3,w")]).unwrap();
        r.write(30, &[reject(31, "4,v\n")]).unwrap();
        drop(r);
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "a,b\n1,x\n2,\"y\nz\"\n3,w\n4,v\n"
        );
        // Chunk 20 never committed.
        let keep: HashSet<u64> = [10, 30].into_iter().collect();
        let r = Rejects::open(&p, "in.csv", Some(b"a,b\n"), Some(&keep)).unwrap();
        r.write(20, &[reject(21, "3,w")]).unwrap();
        drop(r);
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "a,b\n1,x\n2,\"y\nz\"\n4,v\n3,w\n"
        );
        let errors = std::fs::read_to_string(errors_path(&p)).unwrap();
        assert_eq!(errors.lines().count(), 4);
        assert!(errors.lines().all(|l| l.contains("\"reason\":\"bad\"")));
    }
}
