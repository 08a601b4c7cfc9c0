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

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Mutex};

use crate::chunk::{Chunk, CopyFormat};
use crate::encode::pg_binary;
use crate::encode::row::RowEncoder;
use crate::error::{Error, Result};
use crate::sink::Sink;
use crate::source::csv::{CsvReader, Record};

/// Live counters of a load, updated by the reader and the writers and read by whoever shows
/// progress (the CLI's progress bar polls them).
#[derive(Debug, Default)]
pub struct Progress {
    /// Rows parsed and encoded.
    pub rows_read: AtomicU64,
    /// Input bytes consumed.
    pub bytes_read: AtomicU64,
    /// Total input bytes, when known (0 when not).
    pub bytes_total: AtomicU64,
    /// Rows committed to the target.
    pub rows_committed: AtomicU64,
    /// Chunks committed to the target.
    pub chunks_committed: AtomicU64,
}

impl Progress {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// How rows are cut into chunks and how many writers send them.
#[derive(Clone, Copy, Debug)]
pub struct PipelineOptions {
    /// Rows per chunk.
    pub chunk_rows: usize,
    /// Encoded bytes per chunk, at most (a chunk ends after the row that crosses it).
    pub chunk_bytes: usize,
    /// Writer tasks, each with its own connection.
    pub workers: usize,
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

/// Runs a load: `reader` (already past any header) through `encoder` into `sinks`, one writer
/// task per sink.
///
/// # Errors
/// The first error of the reader or of any writer; it carries the number of rows committed
/// before the load stopped.
pub async fn run<R, S>(
    reader: CsvReader<R>,
    encoder: RowEncoder,
    sinks: Vec<S>,
    opts: PipelineOptions,
    progress: Arc<Progress>,
) -> Result<PipelineStats>
where
    R: Read + Send + 'static,
    S: Sink,
{
    let (tx, rx) = mpsc::channel::<Chunk>(sinks.len().max(1));
    let rx = Arc::new(Mutex::new(rx));
    let stop = Arc::new(AtomicBool::new(false));

    let reader_task = {
        let stop = stop.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || {
            read_chunks(reader, &encoder, opts, &tx, &stop, &progress)
        })
    };
    let mut writers = Vec::with_capacity(sinks.len());
    for sink in sinks {
        writers.push(tokio::spawn(write_chunks(
            sink,
            rx.clone(),
            stop.clone(),
            progress.clone(),
        )));
    }
    drop(rx);

    let mut first_error: Option<Error> = None;
    for w in writers {
        let result = match w.await {
            Ok(r) => r,
            Err(join) => Err(Error::config(format!("a writer task failed: {join}"))),
        };
        if let Err(e) = result {
            stop.store(true, Ordering::Relaxed);
            first_error.get_or_insert(e);
        }
    }
    let read_result = match reader_task.await {
        Ok(r) => r,
        Err(join) => Err(Error::config(format!("the reader thread failed: {join}"))),
    };
    let stats = PipelineStats {
        rows: Progress::get(&progress.rows_committed),
        chunks: Progress::get(&progress.chunks_committed),
        bytes: Progress::get(&progress.bytes_read),
    };
    // A reader error is the root cause when both failed (the writers stop because of it).
    let error = match read_result {
        Err(e) => Some(e),
        Ok(()) => first_error,
    };
    match error {
        Some(e) => Err(e.with_committed(stats.rows)),
        None => Ok(stats),
    }
}

fn begin(chunk: &mut Chunk, format: CopyFormat) {
    if format == CopyFormat::Binary {
        chunk.data.extend_from_slice(pg_binary::HEADER);
    }
}

fn finish(chunk: &mut Chunk, format: CopyFormat) {
    if format == CopyFormat::Binary {
        chunk.data.extend_from_slice(pg_binary::TRAILER);
    }
}

/// The reader thread's loop. Returns early, without error, when the writers have stopped.
fn read_chunks<R: Read>(
    mut reader: CsvReader<R>,
    encoder: &RowEncoder,
    opts: PipelineOptions,
    tx: &mpsc::Sender<Chunk>,
    stop: &AtomicBool,
    progress: &Progress,
) -> Result<()> {
    let format = encoder.format();
    let mut rec = Record::default();
    let mut seq = 0;
    // Start each chunk with room for what the last one needed, so that a chunk's buffer grows
    // by doubling only once per load.
    let mut capacity = 64 * 1024;
    let mut chunk = Chunk::new(seq, capacity);
    begin(&mut chunk, format);
    let send = |mut chunk: Chunk| -> bool {
        finish(&mut chunk, format);
        Progress::add(&progress.rows_read, chunk.rows);
        Progress::add(
            &progress.bytes_read,
            chunk.end_byte - progress_bytes(progress),
        );
        tx.blocking_send(chunk).is_ok() && !stop.load(Ordering::Relaxed)
    };
    while reader.read_record(&mut rec)? {
        if chunk.rows == 0 {
            chunk.first = rec.position();
        }
        encoder.encode(&rec, &mut chunk)?;
        chunk.rows += 1;
        chunk.last = rec.position();
        chunk.end_byte = rec.position().byte + rec.input_len();
        if chunk.rows as usize >= opts.chunk_rows || chunk.data.len() >= opts.chunk_bytes {
            capacity = capacity.max(chunk.data.len() + chunk.data.len() / 8);
            seq += 1;
            let full = std::mem::replace(&mut chunk, Chunk::new(seq, capacity));
            begin(&mut chunk, format);
            if !send(full) {
                return Ok(());
            }
        }
    }
    if chunk.rows > 0 {
        send(chunk);
    }
    Ok(())
}

fn progress_bytes(progress: &Progress) -> u64 {
    Progress::get(&progress.bytes_read)
}

/// One writer task: takes chunks until the channel is empty and closed, or `stop` is raised.
async fn write_chunks<S: Sink>(
    mut sink: S,
    rx: Arc<Mutex<mpsc::Receiver<Chunk>>>,
    stop: Arc<AtomicBool>,
    progress: Arc<Progress>,
) -> Result<()> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let next = rx.lock().await.recv().await;
        let Some(chunk) = next else {
            return Ok(());
        };
        let rows = chunk.rows;
        if let Err(e) = sink.write(chunk).await {
            stop.store(true, Ordering::Relaxed);
            return Err(e);
        }
        Progress::add(&progress.rows_committed, rows);
        Progress::add(&progress.chunks_committed, 1);
    }
}
