//! The resume phase: which load this is (a fingerprint of the input and mapping, or the
//! user's `--load-id`), what earlier runs of it committed (so the reader seeks or skips past
//! it), whether it is done already, and the rejects file, kept for a resumed run. When the
//! bookkeeping cannot be kept, the load becomes one transaction instead.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use super::report::{AlreadyLoaded, LoadReport};
use super::table::{json_fields, Destination};
use super::Load;
use crate::checkpoint::{self, Checkpoints, Earlier, LoadKey, SkipRanges, Start};
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::Resume;
use crate::position::Position;
use crate::progress::Progress;
use crate::record::RecordSource;
use crate::rejects::Rejects;
use crate::schema::TableName;
use crate::sink::Backend;
use crate::source::decompress::Compression;
use crate::source::input;

/// How long a load waits for another run of it to end before saying it is running: a run
/// killed a moment ago holds its lock until the server notices its connection gone.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How a load begins.
pub(super) enum Begin {
    /// It completed before: nothing to do (the report says when).
    AlreadyLoaded(LoadReport),
    /// Rows are to be loaded.
    Run(Rows, Run),
}

/// The rows a load is about to send, for the phase that sends them.
pub(super) struct Rows {
    /// The reader, past what earlier runs committed when it could seek.
    pub reader: Box<dyn RecordSource>,
    /// What the reader passes over, and the first chunk's number.
    pub resume: Resume,
}

/// A load about to send rows: how it keeps its books.
pub(super) struct Run {
    /// The load's bookkeeping; `None` without checkpoints.
    pub checkpoints: Option<Checkpoints>,
    /// The rejects file (`--rejects`).
    pub rejects: Option<Rejects>,
    /// The whole load is one transaction.
    pub atomic: bool,
    /// Why checkpoints could not be kept, when they could not.
    pub not_resumable: Option<String>,
}

impl Load {
    /// Identifies the load, finds what earlier runs committed, and positions the reader.
    ///
    /// # Errors
    /// The input cannot be fingerprinted or reopened, the rejects file cannot be opened, a
    /// database error.
    pub(super) async fn resume<B: Backend>(
        &self,
        db: &mut B,
        dest: &Destination,
        mut reader: Box<dyn RecordSource>,
        name: &str,
        among: &super::Among,
    ) -> Result<Begin> {
        let first = among.first;
        // A table this load created holds none of an earlier load's rows (the table they went
        // into was dropped). Not with --split: the other processes, which found the table
        // made, would count them, and each must count what the others do.
        let earlier_load = match (self.again, dest.created.is_some() || among.created) {
            (_, true) if self.split.is_none() => Earlier::Gone,
            (true, _) => Earlier::Again,
            (false, _) => Earlier::Counts,
        };
        let mut checkpoints = None;
        let mut committed = Vec::new();
        let mut atomic = self.atomic;
        let mut not_resumable = None;
        if let (Some((fp, file)), Some(cp_table)) =
            (self.fingerprint(dest, name)?, &self.checkpoint)
        {
            let cp_name = TableName::parse(cp_table)?;
            let schema = cp_name
                .schema
                .clone()
                .unwrap_or_else(|| dest.table.schema.clone());
            let cp_table = TableName {
                schema: Some(schema),
                name: cp_name.name,
            }
            .quoted_in(db.dialect());
            // One run of a load at a time (each share of a --split load is a run of its own).
            let lock = match self.split {
                Some(share) => format!("{} {share}", fp.id),
                None => fp.id.clone(),
            };
            // A run killed a moment ago holds it until its server notices the connection
            // gone: waited for, a little.
            let deadline = std::time::Instant::now() + LOCK_WAIT;
            let mut told = false;
            while !db.lock_load(&lock).await? {
                if std::time::Instant::now() >= deadline {
                    return Err(ErrorKind::LoadRunning {
                        input: name.to_string(),
                        table: dest.table.quoted(),
                    }
                    .into());
                }
                if !std::mem::replace(&mut told, true) {
                    tracing::info!("waiting for another run of this load to end");
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            match db
                .start_checkpoints(cp_table.clone(), &fp, earlier_load, self.split)
                .await?
            {
                Start::AlreadyLoaded(cp, done) => {
                    // A table emptied since (TRUNCATE) is the one case where "already loaded"
                    // surprises: say so.
                    if done.rows > 0 && db.is_empty(&dest.table).await.unwrap_or(false) {
                        tracing::warn!(
                            "{} is empty now, though this load put {} row{} there: if it was emptied on purpose, use --again",
                            dest.table.quoted(),
                            done.rows,
                            if done.rows == 1 { "" } else { "s" }
                        );
                    }
                    return Ok(Begin::AlreadyLoaded(self.already_loaded(dest, &cp, done)));
                }
                Start::Run(cp, done) => {
                    checkpoints = Some(match &file {
                        Some(f) => cp.answering_for(f),
                        None => cp,
                    });
                    committed = done;
                }
                // Loaded as a new load, this version of the file would put the rows the
                // earlier one committed in a second time: go on with that load where that is
                // known to be right (or the user says so), else ask which is meant.
                Start::Changed(stopped) => {
                    let encoding_only = !self.continue_changed && self.as_utf8(dest, &stopped);
                    if !self.continue_changed && !encoding_only {
                        return Err(changed_error(name, dest, &stopped));
                    }
                    let earlier = LoadKey {
                        id: stopped.load_id.clone(),
                        slot: None,
                    };
                    match db
                        .start_checkpoints(cp_table, &earlier, Earlier::Counts, self.split)
                        .await?
                    {
                        Start::Run(cp, done) => {
                            let done = if encoding_only {
                                self.positions_hold(dest, &stopped, &done)?;
                                done
                            } else {
                                self.relocated(dest, &stopped, done)?
                            };
                            tracing::info!(
                                "going on with the load of {name} that stopped after {} rows ({})",
                                stopped.rows,
                                stopped.load_id
                            );
                            checkpoints = Some(cp.answering_for(&fp.id));
                            committed = done;
                        }
                        // Completed meanwhile (another process going on with it).
                        Start::AlreadyLoaded(cp, done) => {
                            return Ok(Begin::AlreadyLoaded(self.already_loaded(dest, &cp, done)))
                        }
                        _ => return Err(changed_error(name, dest, &stopped)),
                    }
                }
                // Exactly once without bookkeeping: every row or none, in one transaction.
                Start::Unavailable(why) => {
                    tracing::warn!(
                        "no checkpoints ({why}): loading {name} in one transaction, all or \
                         nothing: an interrupted load leaves nothing and starts over, and a \
                         second run after success loads the rows again; for resumable loads \
                         that know they are done, pass --checkpoint-table with a schema this \
                         role may create tables in (or have barge's table created for it)"
                    );
                    atomic = true;
                    not_resumable = Some(why);
                }
            }
        }

        // Seek past the committed run at the start of a file; skip the rest.
        let resume_firsts: HashSet<u64> = committed.iter().map(|c| c.first_byte).collect();
        let mut resume = Resume {
            skip: SkipRanges::new(committed),
            first_seq: 0,
        };
        // (A compressed or transcoded input's positions are not the file's: it is read through.)
        let seekable = dest
            .path
            .as_ref()
            .filter(|_| self.encoding.is_none() && dest.compression == Compression::None);
        if let Some(share) = self.split {
            // This process' share of the file: from its first record to the next share's.
            let p = seekable.ok_or_else(|| {
                Error::config(format!(
                    "--split {share} shares one file by bytes, which needs it uncompressed and in UTF-8: split it into several files instead"
                ))
            })?;
            let (back, found) = match input::parquet_share(p, name, &dest.opts, share)? {
                // A Parquet file's shares are rows: counted in its footer, not read.
                Some(found) => (reader, found),
                None => {
                    let size = std::fs::metadata(p)
                        .map_err(|e| Error::config(format!("cannot read {}: {e}", p.display())))?
                        .len();
                    let (back, found) = tokio::task::spawn_blocking(move || {
                        let found = crate::split::find(&mut *reader, share, size);
                        (reader, found)
                    })
                    .await
                    .map_err(|e| Error::internal(format!("the reader thread failed: {e}")))?;
                    (back, found?)
                }
            };
            let (start, end) = found;
            reader = match start {
                Some(at) => {
                    let keys = dest.names.clone().unwrap_or_default();
                    let mut r = dest.projected(input::reopen_at(p, name, &dest.opts, &keys, at)?);
                    r.set_json_fields(&json_fields(&dest.columns));
                    Box::new(crate::split::Bounded::new(r, end))
                }
                // No record starts in this share (a small file): nothing to read.
                None => Box::new(crate::split::Bounded::new(back, 0)),
            };
        } else if let (Some(prefix), Some(p)) = (resume.skip.contiguous_prefix(), seekable) {
            let start = Position {
                byte: prefix.end_byte,
                line: prefix.end_line,
                record: prefix.end_record,
            };
            let keys = dest.names.clone().unwrap_or_default();
            reader = dest.projected(input::reopen_at(p, name, &dest.opts, &keys, start)?);
            reader.set_json_fields(&json_fields(&dest.columns));
            resume.first_seq = prefix.chunk + 1;
            Progress::add(
                &self.progress.rows_skipped,
                resume.skip.rows_through(prefix.first_byte),
            );
            self.progress.bytes_read.fetch_max(
                Progress::get(&self.progress.bytes_base) + prefix.end_byte,
                Ordering::Relaxed,
            );
        }
        if resume.skip.rows() > 0 {
            tracing::info!(
                rows = resume.skip.rows(),
                "resuming: rows committed by an earlier run are skipped"
            );
        }

        // Rejects: a fresh file for a fresh load; a resumed one keeps those of committed chunks.
        let rejects = match &self.rejects {
            None => None,
            Some(path) => {
                let keep = (!resume_firsts.is_empty() || !first).then_some(&resume_firsts);
                // Each share writes its own, beside the others.
                let path = match self.split {
                    Some(s) => {
                        std::path::PathBuf::from(format!("{}.{}-of-{}", path.display(), s.k, s.n))
                    }
                    None => path.clone(),
                };
                Some(Rejects::open(
                    &path,
                    name,
                    dest.header_raw.as_deref(),
                    keep,
                )?)
            }
        };
        Ok(Begin::Run(
            Rows { reader, resume },
            Run {
                checkpoints,
                rejects,
                atomic,
                not_resumable,
            },
        ))
    }

    /// Whether the stopped load `stopped` was of this very file read as UTF-8, which this
    /// run reads with `--encoding` (the usual way there: a load failed on the first byte that
    /// is not UTF-8, and its error said to name the encoding).
    fn as_utf8(&self, dest: &Destination, stopped: &checkpoint::Stopped) -> bool {
        let (Some(_), Some(p)) = (self.encoding, &dest.path) else {
            return false;
        };
        checkpoint::fingerprint_file(p, &dest.table.quoted(), "utf-8")
            .is_ok_and(|k| k.id == stopped.load_id)
    }

    /// Whether the positions that a load of this file read as UTF-8 committed (`done`) hold
    /// in this run's encoding: they do when everything up to the last of them is ASCII, the
    /// same bytes in any ASCII-compatible encoding.
    ///
    /// # Errors
    /// When they do not: the load can neither go on nor start anew without loading those
    /// rows a second time.
    fn positions_hold(
        &self,
        dest: &Destination,
        stopped: &checkpoint::Stopped,
        done: &[checkpoint::Committed],
    ) -> Result<()> {
        let end = done.iter().map(|c| c.end_byte).max().unwrap_or(0);
        let plain = dest.compression == Compression::None
            && self.encoding.is_some_and(|e| e.is_ascii_compatible());
        if let (true, Some(p)) = (plain, &dest.path) {
            if ascii_up_to(p, end).unwrap_or(false) {
                return Ok(());
            }
        }
        Err(Error::config(format!(
            "an earlier load of this file into {} read it as UTF-8 and stopped after {} rows; \
             read as {}, its positions are not those that load committed ({}), so this load \
             can neither go on with it nor load the file as a new load without loading those \
             rows a second time",
            dest.table.quoted(),
            stopped.rows,
            self.encoding.map_or("UTF-8", |e| e.name()),
            if plain {
                "some of the rows it committed are not ASCII"
            } else {
                "the file is compressed, or this encoding is not ASCII-compatible"
            },
        ))
        .with_hint(
            "delete the rows that load committed (they were read as UTF-8), then run the same \
             command with --again",
        ))
    }

    /// The stopped load's committed chunks (`done`), found in the file as it is now by their
    /// lines: `--continue-changed` takes their rows as unchanged, but a fix may change a
    /// value's length, and chunks after it (the other writer's, committed after the bad row's
    /// chunk failed) then start at other bytes. Each chunk's end is where its next line
    /// begins now, its start as far before as it was long, and a line must begin there too; a
    /// file with fewer lines, or whose chunks' bytes changed (saved again with other line
    /// endings, by a spreadsheet), is refused rather than read from the middle of a record. A
    /// compressed or transcoded file is taken as it is (its positions are not the file's).
    ///
    /// # Errors
    /// A chunk that cannot be found so.
    fn relocated(
        &self,
        dest: &Destination,
        stopped: &checkpoint::Stopped,
        mut done: Vec<checkpoint::Committed>,
    ) -> Result<Vec<checkpoint::Committed>> {
        let (Some(p), None, Compression::None) = (&dest.path, self.encoding, dest.compression)
        else {
            return Ok(done);
        };
        done.sort_unstable_by_key(|c| c.end_byte);
        let io = |e: std::io::Error| {
            Error::new(ErrorKind::Io {
                input: p.display().to_string(),
                source: e,
            })
        };
        let ends: Vec<u64> = done.iter().map(|c| c.end_line).collect();
        let found = line_starts(p, &ends).map_err(io)?;
        let mut file = std::fs::File::open(p).map_err(io)?;
        let mut last_end = 0;
        for (c, at) in done
            .iter_mut()
            .zip(found.iter().map(Some).chain(std::iter::repeat(None)))
        {
            let start = at.and_then(|&end| end.checked_sub(c.end_byte - c.first_byte));
            let fits = match start {
                Some(start) if start >= last_end => begins_line(&mut file, start).map_err(io)?,
                _ => false,
            };
            let (Some(&end), Some(start), true) = (at, start, fits) else {
                return Err(Error::config(format!(
                    "--continue-changed: {} is not the file that load read up to where it \
                     stopped: the rows it committed up to line {} are not found in it as they \
                     were (it has fewer lines, or they changed too: saved again with other line \
                     endings, by a spreadsheet), so going on would load wrong rows",
                    p.display(),
                    c.end_line.saturating_sub(1),
                ))
                .with_hint(format!(
                    "to load this version whole, delete the {} rows that load committed, then \
                     run the same command with --again",
                    stopped.rows
                )));
            };
            if (start, end) != (c.first_byte, c.end_byte) {
                tracing::debug!(
                    "chunk {} moved from bytes {}..{} to {start}..{end}",
                    c.chunk,
                    c.first_byte,
                    c.end_byte
                );
            }
            (c.first_byte, c.end_byte, last_end) = (start, end, end);
        }
        Ok(done)
    }

    /// The load's id: the user's `--load-id`, else a fingerprint of the file, its encoding and
    /// the table; `None` for a load without checkpoints (or a stream without an id). With it,
    /// the file's own fingerprint when the id is the user's (see
    /// [`Checkpoints::answering_for`]).
    fn fingerprint(
        &self,
        dest: &Destination,
        name: &str,
    ) -> Result<Option<(LoadKey, Option<String>)>> {
        if self.atomic || self.checkpoint.is_none() {
            return Ok(None);
        }
        // Options that say how values are read (`--null`, `--delimiter`, `--columns`,
        // `--decimal-comma`, `--thousands`, `--header`) are not part of the load's identity: positions stay
        // byte offsets of the same records, so a load that stopped at a value read wrongly goes
        // on from where it stopped when run again with the option that reads it. The encoding
        // is, as positions count transcoded bytes: another one is another load, in the same
        // file-and-table slot (see `fingerprint_file`).
        let reading = self.encoding.map_or("utf-8", |e| e.name());
        let file = |p: &std::path::Path| {
            checkpoint::fingerprint_file(p, &dest.table.quoted(), reading).map_err(|e| {
                Error::new(ErrorKind::Io {
                    input: name.to_string(),
                    source: e,
                })
            })
        };
        Ok(match (&self.load_id, &dest.path) {
            // A name given by the user is the id itself: it resumes a load read from a stream,
            // or names one.
            (Some(id), path) => {
                let own = path.as_deref().map(file).transpose()?.map(|k| k.id);
                Some((
                    LoadKey {
                        id: id.clone(),
                        slot: None,
                    },
                    own,
                ))
            }
            (None, Some(p)) => Some((file(p)?, None)),
            (None, None) => {
                tracing::warn!("reading a stream without --load-id: no checkpoints, so this load cannot be resumed");
                None
            }
        })
    }

    /// The report of a load that had completed before.
    fn already_loaded(
        &self,
        dest: &Destination,
        cp: &Checkpoints,
        done: checkpoint::Completed,
    ) -> LoadReport {
        LoadReport {
            target: self.target.to_string(),
            table: dest.table.quoted(),
            rows: 0,
            chunks: 0,
            skipped_rows: 0,
            retries: Progress::get(&self.progress.retries),
            bytes: 0,
            elapsed: Default::default(),
            format: dest.report_format,
            load_id: Some(cp.load_id().to_string()),
            already_loaded: Some(AlreadyLoaded {
                at: done.at,
                rows: done.rows,
            }),
            created: false,
            upsert: None,
            rejected: 0,
            rejects_file: None,
            files: 1,
            atomic: false,
            replaced: false,
            dry_run: false,
            not_resumable: None,
            indexes_built: None,
            sequences_raised: Vec::new(),
        }
    }
}

/// The error for a file changed since a load of it stopped partway.
fn changed_error(name: &str, dest: &Destination, stopped: &checkpoint::Stopped) -> Error {
    Error::config(format!(
        "an earlier load of {name} into {} stopped after {} row{} (its last chunk committed \
         {}), and the file (or its --encoding) has changed since: loaded as a new load, those \
         rows would go in a second time",
        dest.table.quoted(),
        stopped.rows,
        if stopped.rows == 1 { "" } else { "s" },
        stopped.at,
    ))
    .with_hint(
        "if the file's rows up to where that load stopped are unchanged (a bad value fixed \
         after them, a download completed), run the same command with --continue-changed to \
         load the rest; to load the whole file anyway, pass --again",
    )
}

/// The byte at which each of `lines` (line numbers from 1, ascending) begins in the file at
/// `p`, as far as the file has them (a line begins after each `\n`).
fn line_starts(p: &std::path::Path, lines: &[u64]) -> std::io::Result<Vec<u64>> {
    use std::io::Read;
    let mut f = std::fs::File::open(p)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut found = Vec::with_capacity(lines.len());
    let mut want = lines.iter().peekable();
    while want.next_if(|&&l| l <= 1).is_some() {
        found.push(0);
    }
    let (mut at, mut line) = (0u64, 1u64);
    while want.peek().is_some() {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for i in memchr::memchr_iter(b'\n', &buf[..n]) {
            line += 1;
            while want.next_if(|&&l| l == line).is_some() {
                found.push(at + i as u64 + 1);
            }
        }
        at += n as u64;
    }
    Ok(found)
}

/// Whether a line begins at byte `at` of `file`: its first byte, or one after a `\n`.
fn begins_line(file: &mut std::fs::File, at: u64) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if at == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::Start(at - 1))?;
    let mut b = [0u8; 1];
    file.read_exact(&mut b)?;
    Ok(b[0] == b'\n')
}

/// Whether the first `end` bytes of the file at `p` are ASCII.
fn ascii_up_to(p: &std::path::Path, end: u64) -> std::io::Result<bool> {
    use std::io::Read;
    let mut f = std::fs::File::open(p)?.take(end);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match f.read(&mut buf)? {
            0 => return Ok(true),
            n if !buf[..n].is_ascii() => return Ok(false),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found_where_they_begin_now() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.csv");
        let starts = |text: &str, lines: &[u64]| {
            std::fs::write(&p, text).unwrap();
            line_starts(&p, lines).unwrap()
        };
        assert_eq!(starts("id\n1\n2\n3\n", &[1, 2, 4, 5]), [0, 3, 7, 9]);
        assert_eq!(starts("id\r\n1\r\n22\r\n3\r\n", &[4, 5]), [11, 14]);
        // A line the file does not have is not found; nor is one past its last line break.
        assert_eq!(starts("id\n1\n2", &[3, 4]), [5]);
        assert_eq!(starts("", &[2]), Vec::<u64>::new());
        std::fs::write(&p, "id\n1\n").unwrap();
        let mut f = std::fs::File::open(&p).unwrap();
        assert!(begins_line(&mut f, 0).unwrap());
        assert!(begins_line(&mut f, 3).unwrap());
        assert!(!begins_line(&mut f, 4).unwrap());
    }
}
