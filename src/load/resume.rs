//! The resume phase: which load this is (a fingerprint of the input and mapping, or the
//! user's `--load-id`), what earlier runs of it committed (so the reader seeks or skips past
//! it), whether it is done already, and the rejects file, kept for a resumed run. When the
//! bookkeeping cannot be kept, the load becomes one transaction instead.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use super::report::{AlreadyLoaded, LoadReport};
use super::table::{json_fields, Destination};
use super::Load;
use crate::checkpoint::{self, Checkpoints, LoadKey, SkipRanges, Start};
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
        first: bool,
    ) -> Result<Begin> {
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
            match db
                .start_checkpoints(cp_table.clone(), &fp, self.again, self.split)
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
                        .start_checkpoints(cp_table, &earlier, false, self.split)
                        .await?
                    {
                        Start::Run(cp, done) => {
                            if encoding_only {
                                self.positions_hold(dest, &stopped, &done)?;
                            } else {
                                self.prefix_holds(dest, &stopped, &done)?;
                            }
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

    /// Whether the file's bytes up to where the stopped load committed still hold its rows, as
    /// far as can be told without their contents: `--continue-changed` takes them as
    /// unchanged, and a file rewritten whole (saved again by a spreadsheet, its line endings
    /// changed) would be read from the middle of a record. The lines before each committed
    /// chunk's end must be as many as when it was read, and a line must end there. Checked
    /// for a plain file read as it is (a compressed or transcoded one has other positions).
    ///
    /// # Errors
    /// When they do not.
    fn prefix_holds(
        &self,
        dest: &Destination,
        stopped: &checkpoint::Stopped,
        done: &[checkpoint::Committed],
    ) -> Result<()> {
        let (Some(p), None, Compression::None) = (&dest.path, self.encoding, dest.compression)
        else {
            return Ok(());
        };
        let mut ends: Vec<(u64, u64)> = done.iter().map(|c| (c.end_byte, c.end_line)).collect();
        ends.sort_unstable();
        match lines_before(p, &ends) {
            Ok(None) => Ok(()),
            Ok(Some((end, line, now))) => Err(Error::config(format!(
                "--continue-changed: {} is not the file that load read up to where it stopped: \
                 rows it committed ended at byte {end}, where line {line} began, and in the file \
                 now {now} (it changed before that point too: saved again by a spreadsheet, its \
                 line endings changed, a row added or taken out), so going on would load wrong \
                 rows",
                p.display()
            ))
            .with_hint(format!(
                "to load this version whole, delete the {} rows that load committed, then run \
                 the same command with --again",
                stopped.rows
            ))),
            Err(e) => Err(Error::new(ErrorKind::Io {
                input: p.display().to_string(),
                source: e,
            })),
        }
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
        // `--decimal-comma`, `--header`) are not part of the load's identity: positions stay
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

/// What is at a committed chunk's end in the file now, when it is not what was there: the
/// byte, the line that began there, and what the file has there instead.
type Moved = (u64, u64, String);

/// Reads the file at `p` up to the last of `ends` (end byte, the line that began there; in
/// byte order) and returns the first where no line begins now, or another one.
fn lines_before(p: &std::path::Path, ends: &[(u64, u64)]) -> std::io::Result<Option<Moved>> {
    use std::io::Read;
    let mut f = std::fs::File::open(p)?;
    let mut buf = vec![0u8; 256 * 1024];
    // Bytes read, lines begun (the first is line 1), and whether the last byte read ends one.
    let (mut at, mut lines, mut at_line_start) = (0u64, 1u64, true);
    for &(end, line) in ends {
        while at < end {
            let want = usize::try_from(end - at).map_or(buf.len(), |w| w.min(buf.len()));
            let n = f.read(&mut buf[..want])?;
            if n == 0 {
                return Ok(Some((end, line, "it ends before that byte".into())));
            }
            lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            at_line_start = buf[n - 1] == b'\n';
            at += n as u64;
        }
        if !at_line_start {
            return Ok(Some((end, line, "no line begins there".into())));
        }
        if lines != line {
            return Ok(Some((end, line, format!("line {lines} begins there"))));
        }
    }
    Ok(None)
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
    fn a_prefix_holds_only_with_its_lines_where_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.csv");
        let check = |text: &str, ends: &[(u64, u64)]| {
            std::fs::write(&p, text).unwrap();
            lines_before(&p, ends).unwrap()
        };
        // "id\n1\n2\n3\n": rows 1-2 end at byte 7 (line 4 begins), row 3 at byte 9 (line 5).
        let ends = [(7, 4), (9, 5)];
        assert_eq!(check("id\n1\n2\n3\n", &ends), None);
        assert_eq!(check("id\n1\n2\n3\n4\n", &ends), None);
        assert_eq!(check("id\n1\n2\n", &[]), None);
        assert_eq!(
            check("id\r\n1\r\n2\r\n3\r\n", &ends),
            Some((7, 4, "line 3 begins there".into()))
        );
        assert_eq!(
            check("id\n1\n22\n3\n", &ends),
            Some((7, 4, "no line begins there".into()))
        );
        assert_eq!(
            check("i\n\n1\n2\n", &ends),
            Some((7, 4, "line 5 begins there".into()))
        );
        assert_eq!(
            check("id\n1\n2\n", &ends),
            Some((9, 5, "it ends before that byte".into()))
        );
    }
}
