//! reader thread -> bounded channel -> N writer tasks.
//!
//! The reader parses and encodes on a thread of its own (CSV parsing is CPU work and the
//! input a blocking `Read`), and hands finished chunks to the writers through a channel with
//! room for one chunk per writer. So at most `2 x workers + 1` chunks exist at once (queued,
//! being written, being built): memory is bounded by chunk size, never by input size.
//!
//! Shutdown is by dropping: when the reader ends it drops the sender and the writers drain
//! the channel; when a writer fails it raises `stop` and exits, and once every writer is gone
//! the receiver is dropped, which ends the reader's next send.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Mutex};

use crate::checkpoint::SkipRanges;
use crate::chunk::{Chunk, RawRow};
use crate::encode::row::RowEncoder;
use crate::error::{Error, ErrorKind, Result};
use crate::progress::Progress;
use crate::record::Record;
use crate::record::RecordSource;
use crate::rejects::Reject;
use crate::sink::{Committed, Sink};

/// How rows are cut into chunks and how many writers send them.
#[derive(Clone, Debug)]
pub struct PipelineOptions {
    /// Rows per chunk (now: it may grow as the writers learn what a commit costs).
    pub chunk_rows: Arc<crate::tuner::ChunkTuner>,
    /// Bytes per chunk, at most (a chunk ends after the row that crosses it): encoded, plus
    /// the input kept for `--rejects`.
    pub chunk_bytes: usize,
    /// Bytes of chunks in flight (queued or being written) at most.
    pub in_flight_bytes: usize,
    /// Set aside bad rows instead of failing (`--rejects`); the reader then keeps each row's
    /// input bytes.
    pub rejects: bool,
    /// Fail once more rows than this were rejected.
    pub max_errors: Option<u64>,
    /// The input file, named in its chunks' messages (in a load of several files they would
    /// not say which file otherwise).
    pub input: Option<crate::record::InputOf>,
}

/// What the pipeline did.
#[derive(Debug, Default, Clone, Copy)]
pub struct PipelineStats {
    /// Rows committed.
    pub rows: u64,
    /// Chunks committed.
    pub chunks: u64,
    /// Input bytes read.
    pub bytes: u64,
}

/// Where the reader starts and what it skips, for a resumed load.
#[derive(Debug, Default)]
pub struct Resume {
    /// Committed ranges the reader passes over.
    pub skip: SkipRanges,
    /// The number of the first chunk this run cuts.
    pub first_seq: u64,
}

/// Runs a load: `reader` (already past any header) through `encoder` into `sinks`, one writer
/// task per sink. Raising `cancel` stops the reader and lets each writer finish the chunk it is
/// writing; the load then fails with [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted).
///
/// # Errors
/// The first error of the reader or of any writer; it carries the number of rows committed
/// before the load stopped.
pub async fn run<R, S>(
    reader: R,
    encoder: RowEncoder,
    sinks: Vec<S>,
    opts: PipelineOptions,
    resume: Resume,
    progress: Arc<Progress>,
    cancel: Arc<AtomicBool>,
) -> Result<PipelineStats>
where
    R: RecordSource + 'static,
    S: Sink,
{
    let (tx, rx) = mpsc::channel::<Chunk>(sinks.len().max(1));
    let rx = Arc::new(Mutex::new(rx));
    let stop = Arc::new(AtomicBool::new(false));
    let reader_failed = Arc::new(AtomicBool::new(false));

    let reader_task = {
        let stop = stop.clone();
        let cancel = cancel.clone();
        let reader_failed = reader_failed.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || {
            let flags = Flags {
                stop: &stop,
                cancel: &cancel,
            };
            let result = read_chunks(reader, &encoder, &opts, resume, &tx, flags, &progress);
            // Raised before `tx` is dropped, so that writers which see the channel close also
            // see that the input was bad, and do not commit an atomic load.
            if result.is_err() {
                reader_failed.store(true, Ordering::SeqCst);
            }
            drop(tx);
            result
        })
    };
    let mut writers = Vec::with_capacity(sinks.len());
    for sink in sinks {
        writers.push(tokio::spawn(write_chunks(
            sink,
            rx.clone(),
            [stop.clone(), cancel.clone(), reader_failed.clone()],
            progress.clone(),
        )));
    }
    drop(rx);

    let mut first_error: Option<Error> = None;
    for w in writers {
        let result = match w.await {
            Ok(r) => r,
            Err(join) => Err(Error::internal(format!("a writer task failed: {join}"))),
        };
        if let Err(e) = result {
            stop.store(true, Ordering::Relaxed);
            // Writers are awaited in order, not in the order they failed: a chunk stopped
            // because another writer failed gives way to that writer's error.
            let stopped = |e: &Error| matches!(e.kind(), ErrorKind::Stopped);
            if first_error
                .as_ref()
                .is_none_or(|first| stopped(first) && !stopped(&e))
            {
                first_error = Some(e);
            }
        }
    }
    let read_result = match reader_task.await {
        Ok(r) => r,
        Err(join) => Err(Error::internal(format!("the reader thread failed: {join}"))),
    };
    let stats = PipelineStats {
        rows: Progress::get(&progress.rows_committed),
        chunks: Progress::get(&progress.chunks_committed),
        bytes: Progress::get(&progress.bytes_read),
    };
    // A reader error is the root cause when both failed (the writers stop because of it).
    let mut error = match read_result {
        Err(e) => Some(e),
        Ok(()) => first_error,
    };
    if error.is_none() && cancel.load(Ordering::Relaxed) {
        error = Some(ErrorKind::Interrupted.into());
    }
    match error {
        Some(e) => Err(e.with_committed(stats.rows)),
        None => Ok(stats),
    }
}

/// What tells the reader to stop early.
#[derive(Clone, Copy)]
struct Flags<'a> {
    /// A writer failed.
    stop: &'a AtomicBool,
    /// The user asked to stop (Ctrl-C).
    cancel: &'a AtomicBool,
}

impl Flags<'_> {
    fn raised(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.cancel.load(Ordering::Relaxed)
    }
}

/// The reader thread's loop. Returns early, without error, when the writers have stopped or
/// the load was cancelled.
///
/// Records inside committed ranges are passed over, and a chunk never spans one: it ends at the
/// first skipped record, so that every chunk of a resumed run is one contiguous input range.
fn read_chunks<R: RecordSource>(
    mut reader: R,
    encoder: &RowEncoder,
    opts: &PipelineOptions,
    mut resume: Resume,
    tx: &mpsc::Sender<Chunk>,
    flags: Flags<'_>,
    progress: &Progress,
) -> Result<()> {
    let mut rec = Record::default();
    let mut seq = resume.first_seq;
    let mut rejected = 0u64;
    // Start each chunk with room for what the last one needed, so that a chunk's buffer grows
    // by doubling only once per load.
    let mut capacity = 64 * 1024;
    let mut chunk = Chunk::new(seq, capacity);
    chunk.input.clone_from(&opts.input);
    encoder.begin_chunk(&mut chunk);
    let sent = std::cell::Cell::new(0u64);
    let budget = crate::budget::Budget::new(opts.in_flight_bytes);
    let send = |mut chunk: Chunk| -> bool {
        encoder.finish_chunk(&mut chunk);
        // Wait for the writers to finish with enough bytes: memory follows bytes in flight.
        match budget.take(chunk.bytes(), || flags.raised() || tx.is_closed()) {
            Some(grant) => chunk.grant = Some(grant),
            None => return false,
        }
        chunk.ordinal = sent.get();
        sent.set(sent.get() + 1);
        Progress::add(&progress.rows_read, chunk.rows);
        progress
            .bytes_read
            .fetch_max(progress.position(chunk.end_byte), Ordering::Relaxed);
        tx.blocking_send(chunk).is_ok() && !flags.raised()
    };
    loop {
        match reader.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            // A record that cannot be read: set it aside. (An unterminated CSV quote has run
            // to the end of the input: that is the end.)
            Err(e) if opts.rejects && matches!(e.kind(), ErrorKind::Csv { .. }) => {
                if let Some(r) = Reject::from_error(&e, rec.raw()) {
                    if chunk.rows == 0 && chunk.rejects.is_empty() {
                        chunk.first = r.position;
                    }
                    chunk.last = r.position;
                    chunk.end_byte = r.position.byte + r.raw.len() as u64;
                    chunk.end_line = reader.line();
                    chunk.rejects.push(r);
                    count_reject(&mut rejected, opts)?;
                }
                if reader.can_continue() {
                    if !cut_if_full(&mut chunk, &mut seq, &mut capacity, opts, encoder, &send) {
                        return Ok(());
                    }
                    continue;
                }
                break;
            }
            Err(e) => return Err(e),
        }
        if flags.raised() {
            return Ok(());
        }
        if let Some(input) = reader.next_input() {
            // A chunk holds the rows of one input, which its messages name.
            if chunk.rows > 0 || !chunk.rejects.is_empty() {
                seq += 1;
                let full = std::mem::replace(&mut chunk, Chunk::new(seq, capacity));
                encoder.begin_chunk(&mut chunk);
                if !send(full) {
                    return Ok(());
                }
            }
            chunk.input = Some(input);
        }
        if let Some(done) = resume.skip.find(rec.position().byte) {
            Progress::add(&progress.rows_skipped, 1);
            if rec.position().byte == done.first_byte {
                // The committed chunk's own number: chunks after it keep their numbers.
                if chunk.rows > 0 {
                    let full = std::mem::replace(&mut chunk, Chunk::new(done.chunk + 1, capacity));
                    chunk.input.clone_from(&full.input);
                    encoder.begin_chunk(&mut chunk);
                    if !send(full) {
                        return Ok(());
                    }
                } else {
                    chunk.seq = done.chunk + 1;
                }
                seq = done.chunk + 1;
            }
            continue;
        }
        // An empty line is no row of a table of several columns (a table of one takes it
        // as a NULL, as PostgreSQL does).
        if rec.is_blank_line() && encoder.columns().len() > 1 {
            continue;
        }
        if chunk.rows == 0 && chunk.rejects.is_empty() {
            chunk.first = rec.position();
        }
        let data_start = chunk.data.len();
        match encoder.encode(&rec, &mut chunk) {
            Ok(()) => {
                chunk.rows += 1;
                if opts.rejects {
                    // A big record's input that the reader let go of, rebuilt from its fields.
                    rec.restore_raw();
                    let start = chunk.raw.len();
                    if start == 0 && rec.raw.len() >= BIG_ROW {
                        // A big row's input is moved, not copied: it is held once, not twice.
                        std::mem::swap(&mut chunk.raw, &mut rec.raw);
                    } else {
                        chunk.raw.extend_from_slice(rec.raw());
                    }
                    chunk.raw_rows.push(RawRow {
                        position: rec.position(),
                        raw: start..chunk.raw.len(),
                        data_start,
                    });
                }
            }
            Err(e) if opts.rejects => {
                let r = Reject::from_error(&e, &rec.input()).ok_or(e)?;
                chunk.rejects.push(r);
                count_reject(&mut rejected, opts)?;
            }
            Err(e) => return Err(reader.locate(e)),
        }
        chunk.last = rec.position();
        chunk.end_byte = rec.position().byte + rec.input_len();
        chunk.end_line = reader.line();
        if !cut_if_full(&mut chunk, &mut seq, &mut capacity, opts, encoder, &send) {
            return Ok(());
        }
    }
    if chunk.rows > 0 || !chunk.rejects.is_empty() {
        send(chunk);
    }
    progress
        .bytes_read
        .fetch_max(progress.position(reader.bytes_read()), Ordering::Relaxed);
    Ok(())
}

/// Input bytes from which a row's kept input is moved into its chunk rather than copied.
const BIG_ROW: usize = 1024 * 1024;

/// Counts one more reject; fails once there are more than `--max-errors`.
fn count_reject(rejected: &mut u64, opts: &PipelineOptions) -> Result<()> {
    *rejected += 1;
    match opts.max_errors {
        Some(max) if *rejected > max => Err(ErrorKind::TooManyRejects { limit: max }.into()),
        _ => Ok(()),
    }
}

/// Ends `chunk` when it holds enough records or bytes: sends it and starts the next, with room
/// for what this one needed (so that a chunk's buffer grows by doubling only once per load).
/// Returns `false` when the writers are gone or the load is stopping.
fn cut_if_full(
    chunk: &mut Chunk,
    seq: &mut u64,
    capacity: &mut usize,
    opts: &PipelineOptions,
    encoder: &RowEncoder,
    send: &impl Fn(Chunk) -> bool,
) -> bool {
    let records = chunk.rows as usize + chunk.rejects.len();
    if records < opts.chunk_rows.rows() && chunk.filled() < opts.chunk_bytes {
        return true;
    }
    // Room for what this chunk needed, so that a buffer grows by doubling once per load; but
    // never more than a chunk may hold, so that one huge row does not make every later chunk
    // as big. A chunk is cut after the row that reaches the limit, so it may hold that much
    // and a row more: room for an eighth more, else that last row doubles the buffer (a
    // 24 MiB chunk took 32 MiB and more).
    *capacity = (*capacity)
        .max(chunk.data.len() + chunk.data.len() / 8)
        .min(opts.chunk_bytes + opts.chunk_bytes / 8);
    *seq += 1;
    // The input kept for --rejects, likewise (else it grows by doubling, up to twice over).
    let raw = chunk.raw.len();
    let full = std::mem::replace(chunk, Chunk::new(*seq, *capacity));
    chunk.input.clone_from(&full.input);
    if opts.rejects {
        chunk.raw.reserve((raw + raw / 8).min(opts.chunk_bytes));
    }
    encoder.begin_chunk(chunk);
    send(full)
}

/// How long a writer waits for the next chunk before it has the sink commit what waits in an
/// open transaction. A reader that keeps up has its next chunk built when a writer is done with
/// one, held only until the chunk's bytes are given back: it comes within a millisecond or so.
const PATIENCE: std::time::Duration = std::time::Duration::from_millis(20);

/// One writer task: takes chunks until the channel is empty and closed, or a flag (`stop`
/// after a failure, `cancel` from the user) is raised; then finishes the sink if all went well.
///
/// When the next chunk is not there within [`PATIENCE`], and when it stops early without its own
/// fault, it has the sink commit whatever waits in an open transaction: a writer that lets
/// chunks share a transaction does so only while the reader keeps up, so rows do not sit
/// uncommitted while the input is slow to come.
async fn write_chunks<S: Sink>(
    mut sink: S,
    rx: Arc<Mutex<mpsc::Receiver<Chunk>>>,
    [stop, cancel, reader_failed]: [Arc<AtomicBool>; 3],
    progress: Arc<Progress>,
) -> Result<()> {
    let count = |c: Committed| {
        Progress::add(&progress.rows_committed, c.rows);
        Progress::add(&progress.chunks_committed, c.chunks);
    };
    let result = async {
        loop {
            if stop.load(Ordering::Relaxed) || cancel.load(Ordering::Relaxed) {
                count(sink.flush().await?);
                return Ok(());
            }
            let soon = tokio::time::timeout(PATIENCE, async { rx.lock().await.recv().await });
            let next = match soon.await {
                Ok(next) => next,
                Err(_) => {
                    count(sink.flush().await?);
                    rx.lock().await.recv().await
                }
            };
            let Some(chunk) = next else {
                let failed = [&stop, &cancel, &reader_failed]
                    .iter()
                    .any(|f| f.load(Ordering::SeqCst));
                count(if failed {
                    sink.flush().await?
                } else {
                    sink.finish().await?
                });
                return Ok(());
            };
            // Rows the server refuses are counted by the sink; the client's are known here.
            let client_rejects = chunk.rejects.len() as u64;
            let written = sink.write(chunk).await?;
            Progress::add(&progress.rows_rejected, client_rejects + written.refused);
            count(written.committed);
        }
    }
    .await;
    if result.is_err() {
        // The other writers stop too; the reader stops at its next chunk.
        stop.store(true, Ordering::Relaxed);
    }
    result
}
