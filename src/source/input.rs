//! Opening an input: the file or stream, then decompression (by magic bytes), then
//! transcoding (`--encoding`), then the reader for its format; and reading its head: the
//! header or the NDJSON keys, and a sample of rows when a table is to be created.

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::csv::{CsvOptions, CsvReader, SNIFF_BYTES};
use super::decompress::{self, Compression};
use super::format::Format;
use super::json_frames::Framing;
use super::ndjson::{self, NdjsonReader};
use super::replay::{Recorder, SAMPLE_BYTES};
use super::text::TextReader;
use super::RecordSource;
use crate::error::{Error, ErrorKind, Result};
use crate::infer::{self, InferredTable};
use crate::null::NullTexts;
use crate::position::Position;
use crate::record::Record;

/// Where the rows come from.
pub enum Input {
    /// A file, which can be opened again (to sample it, or to seek when resuming).
    File(PathBuf),
    /// A stream, read once.
    Reader(Box<dyn Read + Send>),
    /// Values from a Rust program (see [`super::rows`]).
    Rows(super::rows::BoxedRows),
    /// Records a program built (see [`super::batch`]), and the names of their fields.
    Records(Box<dyn RecordSource>, Vec<String>),
}

/// How to read an input.
#[derive(Clone, Debug)]
pub struct InputOptions {
    /// The format.
    pub format: Format,
    /// CSV options (the delimiter is a tab for TSV).
    pub csv: CsvOptions,
    /// Column names given instead of a header (or NDJSON keys).
    pub columns: Option<Vec<String>>,
    /// Transcode from this encoding.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// NDJSON: skip keys that are not columns instead of failing.
    pub ignore_unknown: bool,
    /// NDJSON with `ignore_unknown`: the table's columns, so that keys found in the sample
    /// that are not among them are left out of the load.
    pub known_columns: Option<Vec<String>>,
    /// Standard input whose format nothing said: read as PostgreSQL's text format when its
    /// first lines plainly are ([`Format::text_format_head`]; a file is told so from the file
    /// itself, before it is opened).
    pub sniff_text: bool,
}

/// NDJSON lines read for their keys when no table is being created.
const KEY_SAMPLE_LINES: usize = 1000;

/// What [`read_head`] found.
pub struct Head {
    /// The reader, at the first row.
    pub reader: Box<dyn RecordSource>,
    /// The input's column names (header, NDJSON keys or `--columns`).
    pub names: Option<Vec<String>>,
    /// The table inferred from a sample, when one was asked for.
    pub inferred: Option<InferredTable>,
    /// The header line's bytes (CSV, with `keep_raw`), for a rejects file.
    pub header_raw: Option<Vec<u8>>,
    /// What the input was compressed with.
    pub compression: Compression,
    /// The delimiter read from a CSV input's first lines, when it is not the comma
    /// ([`super::csv::sniff_delimiter`]): the reader uses it, and so must any reader of the
    /// same input opened later (a resumed load's).
    pub delimiter: Option<u8>,
    /// Read as PostgreSQL's text format, as its first lines are ([`InputOptions::sniff_text`]),
    /// with a header line or not.
    pub read_as_text: Option<bool>,
}

fn io(name: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| {
        ErrorKind::Io {
            input: name.to_string(),
            source,
        }
        .into()
    }
}

/// The layers under the reader: decompression, then transcoding.
fn layers(
    raw: Box<dyn Read + Send>,
    opts: &InputOptions,
    compressed: &Arc<AtomicU64>,
    name: &str,
) -> Result<(Box<dyn Read + Send>, Compression)> {
    let (r, kind) = decompress::open(raw, compressed.clone()).map_err(io(name))?;
    // What the reader will see first, looked at for a file that is no text.
    let mut r = std::io::BufReader::with_capacity(64 * 1024, r);
    let head = std::io::BufRead::fill_buf(&mut r).map_err(io(name))?;
    if let Some(what) = super::format::not_text(head, opts.encoding.is_some()) {
        return Err(Error::config(format!("{name} is {what}")));
    }
    let r: Box<dyn Read + Send> = Box::new(r);
    let r: Box<dyn Read + Send> = match opts.encoding {
        Some(enc) => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .build(r),
        ),
        None => r,
    };
    Ok((r, kind))
}

/// Up to `n` bytes from the start of `r`, and whether they are all of it.
fn peek(r: &mut dyn Read, n: usize) -> std::io::Result<(Vec<u8>, bool)> {
    let mut head = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut head)?;
    let whole = head.len() < n;
    Ok((head, whole))
}

fn open_file(p: &Path) -> Result<Box<dyn Read + Send>> {
    let f = File::open(p).map_err(|e| cannot_open(p, &e))?;
    Ok(Box::new(f))
}

/// The size of the input file `path`, checked before a load begins, so that of several files
/// a missing one fails the load before any row of the others is committed.
///
/// # Errors
/// The file cannot be read (see [`cannot_open`]), or it is a directory.
pub fn input_size(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|e| cannot_open(path, &e))?;
    if meta.is_dir() {
        return Err(Error::config(format!(
            "{} is a directory: name its files (a quoted glob such as '{}/*.csv' names them all), \
             or name the directory alone to load all of its files",
            path.display(),
            path.display()
        )));
    }
    Ok(meta.len())
}

/// The files of a directory named as the input, in name order: what Spark, Hive, DuckDB and
/// Polars write a data set as (`events.parquet/part-00000-....parquet`). Names starting with
/// `_` or `.` are their markers and checksums (`_SUCCESS`, `.part-00000.crc`), not data, and
/// are left out, as are subdirectories and empty files.
///
/// # Errors
/// The directory cannot be read, or holds no file to load (a partitioned layout,
/// `year=2024/...`, is named with a glob).
pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut subdirs = false;
    for entry in std::fs::read_dir(dir).map_err(|e| cannot_open(dir, &e))? {
        let entry = entry.map_err(|e| cannot_open(dir, &e))?;
        let hidden = entry
            .file_name()
            .to_str()
            .is_none_or(|n| n.starts_with(['.', '_']));
        match entry
            .file_type()
            .map_err(|e| cannot_open(&entry.path(), &e))?
        {
            t if t.is_dir() => subdirs = true,
            _ if hidden => {}
            _ => files.push(entry.path()),
        }
    }
    if files.is_empty() {
        let what = match subdirs {
            true => format!(
                "only directories: a partitioned layout (year=2024/...) is loaded by naming its \
                 files with a quoted glob, such as '{}/*/*.parquet'",
                dir.display()
            ),
            false => "no file to load".to_string(),
        };
        return Err(Error::config(format!("{} holds {what}", dir.display())));
    }
    files.sort();
    // Spark writes an empty file for each empty partition: it holds no header to make a
    // table of, and no rows. Left out, unless every file is empty (a data set without rows,
    // which loads none into an existing table).
    let sized: Vec<PathBuf> = files
        .iter()
        .filter(|f| std::fs::metadata(f).map_or(true, |m| m.len() > 0))
        .cloned()
        .collect();
    Ok(match sized.is_empty() {
        true => files,
        false => sized,
    })
}

/// The error for an input that cannot be opened. A database address given where a file goes
/// (`barge load data.csv postgres://...`) is named as one, and shown as a target is: without
/// its password.
pub fn cannot_open(path: &Path, e: &std::io::Error) -> Error {
    let name = path.to_string_lossy();
    if let (Some((shown, fetch)), std::io::ErrorKind::NotFound) = (remote(&name), e.kind()) {
        let parquet = name
            .split(['?', '#'])
            .next()
            .is_some_and(|p| p.to_ascii_lowercase().ends_with(".parquet"));
        return Error::config(match parquet {
            true => format!(
                "{shown} is a remote object, and barge reads files: download it first (a \
                 Parquet file's index is at its end, so it is read from a file, not a stream)"
            ),
            false => format!(
                "{shown} is a remote object, and barge reads files and standard input: stream \
                 it in with {fetch} | barge load - --table T (--load-id NAME lets a stopped \
                 load resume), or download it first"
            ),
        });
    }
    match address_shown(&name) {
        Some(shown) if e.kind() == std::io::ErrorKind::NotFound => Error::config(format!(
            "{shown} is not a file but a database address: give it with --into (or as \
             DATABASE_URL), and the files alone as arguments"
        )),
        Some(shown) => Error::config(format!("cannot open {shown}: {e}")),
        None => Error::config(format!("cannot open {name}: {e}")),
    }
}

/// A URL of an object store or a web server (`https://`, `s3://`, `gs://`), which a user may
/// name as an input: how to show it (scheme and host: a presigned URL's query is a
/// credential) and the command that streams it.
fn remote(name: &str) -> Option<(String, &'static str)> {
    let (scheme, rest) = name.split_once("://")?;
    let fetch = match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" | "ftp" => "curl -sfL 'URL'",
        "s3" => "aws s3 cp 'URL' -",
        "gs" => "gcloud storage cat 'URL'",
        "az" | "abfs" | "abfss" | "wasb" | "wasbs" => "azcopy copy 'URL' --to-stdout",
        "hdfs" => "hdfs dfs -cat 'URL'",
        _ => return None,
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    Some((format!("{scheme}://{host}/..."), fetch))
}

/// How to show `name` when it looks like a database address rather than a file's name: as
/// its parsed target (the password left out), or by its scheme alone when it does not parse.
/// `None` for anything else.
fn address_shown(name: &str) -> Option<String> {
    let scheme = name
        .split_once("://")
        .map(|(scheme, _)| scheme)
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+'));
    // A libpq "host=... dbname=..." string.
    let conninfo = name.contains('=') && name.contains(' ');
    if scheme.is_none() && !conninfo && !name.starts_with("sqlite:") {
        return None;
    }
    Some(match (crate::target::Target::parse(name), scheme) {
        (Ok(target), _) => target.to_string(),
        (Err(_), Some(scheme)) => format!("{scheme}://..."),
        (Err(_), None) => "a connection string".into(),
    })
}

/// The text format's delimiter (a tab, unless another than CSV's comma was given), its null
/// marker (`\N`, unless `--null` gives another), and the load's NULL text, which the reader
/// turns the marker into.
fn text_options(opts: &InputOptions) -> (u8, (NullTexts, Vec<u8>)) {
    let delimiter = match opts.csv.delimiter {
        b',' => b'\t',
        d => d,
    };
    let marker = if opts.csv.null == NullTexts::default() {
        NullTexts::new([super::text::DEFAULT_NULL])
    } else {
        opts.csv.null.clone()
    };
    (delimiter, (marker, opts.csv.null.first().to_vec()))
}

/// The text format's header (or `--columns`), and the header line's bytes when kept.
fn text_header<R: Read + Send>(
    reader: &mut TextReader<R>,
    opts: &InputOptions,
) -> Result<(Names, Option<Vec<u8>>)> {
    let mut header = Vec::new();
    let mut raw = None;
    if opts.csv.header {
        let mut rec = Record::default();
        // An empty input has no header: nothing to map, no rows to load.
        header = reader.read_header(&mut rec)?.unwrap_or_default();
        raw = Some(rec.input().to_vec()).filter(|r| !r.is_empty());
    }
    Ok((
        opts.columns
            .clone()
            .or((!header.is_empty()).then_some(header)),
        raw,
    ))
}

fn csv_options(opts: &InputOptions) -> CsvOptions {
    let mut csv = opts.csv.clone();
    if opts.format == Format::Tsv {
        csv.delimiter = b'\t';
    }
    csv
}

/// An input's column names, when it has any.
type Names = Option<Vec<String>>;

/// The header (or `given`), and the header line's bytes when the reader keeps them.
fn csv_header<R: Read>(
    reader: &mut CsvReader<R>,
    given: &Option<Vec<String>>,
) -> Result<(Names, Option<Vec<u8>>)> {
    let mut header = Vec::new();
    let mut raw = None;
    if reader.options().header {
        let mut rec = Record::default();
        // An empty input has no header: nothing to map, no rows to load.
        header = reader.read_header(&mut rec)?.unwrap_or_default();
        raw = Some(rec.input().to_vec()).filter(|r| !r.is_empty());
    }
    Ok((
        given.clone().or((!header.is_empty()).then_some(header)),
        raw,
    ))
}

/// Opens `input`, reads its head, and (with `sample_rows`, 0 meaning all) infers a table from
/// a sample of its rows; the reader returned starts at the first row. `compressed` counts the
/// compressed bytes read, for progress.
///
/// # Errors
/// The input cannot be opened or read, or its header is bad.
pub fn read_head(
    input: Input,
    name: &str,
    opts: &InputOptions,
    sample_rows: Option<usize>,
    compressed: Arc<AtomicU64>,
) -> Result<Head> {
    if opts.csv.skip_lines > 0 && !matches!(opts.format, Format::Csv | Format::Tsv) {
        return Err(Error::config(format!(
            "--skip-lines is for CSV and TSV files, whose exports may have lines above their \
             header; {name} is read as {}",
            match opts.format {
                Format::Ndjson => "JSON",
                Format::Parquet => "Parquet",
                _ => "PostgreSQL's text format",
            }
        )));
    }
    if opts.format == Format::Parquet {
        return parquet_head(input, name, opts, sample_rows);
    }
    // A stream is read once: what sampling reads is kept and played back before the rest.
    let (first, again, compression): (Box<dyn Read + Send>, Option<PathBuf>, Compression) =
        match input {
            // Rows from a program: a table to create comes from a sample of them, kept and
            // handed out again (typed values say their types, strings are read as a file's
            // fields are); Arrow data says its table from its schema.
            Input::Rows(rows) => {
                let (reader, names) = super::rows::RowStream::new(
                    rows,
                    tokio::runtime::Handle::current(),
                    name,
                    opts.columns.clone(),
                    opts.csv.keep_raw,
                )?;
                return program_head(Box::new(reader), names, opts, sample_rows, false);
            }
            Input::Records(reader, names) => {
                return program_head(reader, names, opts, sample_rows, true);
            }
            // A file is opened again for the load: this first reading is for sampling only,
            // and its bytes are not progress.
            Input::File(p) => {
                let (r, c) = layers(open_file(&p)?, opts, &Arc::new(AtomicU64::new(0)), name)?;
                (r, Some(p), c)
            }
            Input::Reader(r) => {
                let (r, c) = layers(r, opts, &compressed, name)?;
                (r, None, c)
            }
        };
    let reopen = |first: Box<dyn Read + Send>| -> Result<Box<dyn Read + Send>> {
        match &again {
            Some(p) => Ok(layers(open_file(p)?, opts, &compressed, name)?.0),
            None => Ok(first),
        }
    };
    // Standard input whose format nothing said, whose first lines plainly are PostgreSQL's
    // text format: read so (`psql -c "COPY ... TO STDOUT" | barge load -`).
    let mut first = first;
    let sniffed;
    let mut read_as_text = None;
    let opts = if opts.sniff_text && opts.format == Format::Csv && again.is_none() {
        let (head, whole) = peek(&mut first, SNIFF_BYTES).map_err(io(name))?;
        read_as_text =
            Format::text_format_head(&head, whole).map(|header| match opts.csv.header_given {
                true => opts.csv.header,
                false => header,
            });
        first = Box::new(Cursor::new(head).chain(first));
        match read_as_text {
            Some(header) => {
                sniffed = InputOptions {
                    format: Format::Text,
                    csv: CsvOptions {
                        header,
                        ..opts.csv.clone()
                    },
                    ..opts.clone()
                };
                &sniffed
            }
            None => opts,
        }
    } else {
        opts
    };
    match opts.format {
        Format::Csv | Format::Tsv => {
            let mut csv = csv_options(opts);
            let mut first = first;
            let mut delimiter = None;
            if opts.format == Format::Csv && csv.detect_delimiter && csv.delimiter == b',' {
                let (head, whole) = peek(&mut first, SNIFF_BYTES).map_err(io(name))?;
                delimiter = super::csv::sniff_delimiter(&head, whole, &csv);
                first = Box::new(Cursor::new(head).chain(first));
                if let Some(d) = delimiter {
                    csv.delimiter = d;
                }
            }
            let (rdr, inferred) = match sample_rows {
                None => (reopen(first)?, None),
                Some(n) => {
                    // A file is opened again for the load: its sample need not be kept.
                    let stream = again.is_none();
                    let mut sample =
                        CsvReader::new(Recorder::new(first, stream), name, csv.clone());
                    let (names, _) = csv_header(&mut sample, &opts.columns)?;
                    let cap = if stream { SAMPLE_BYTES } else { u64::MAX };
                    let t = infer::infer_within(&mut sample, names.as_deref(), &csv, n, cap)?;
                    let rest: Box<dyn Read + Send> = Box::new(sample.into_inner().replay());
                    (reopen(rest)?, Some(t))
                }
            };
            let mut reader = CsvReader::new(rdr, name, csv);
            let (names, header_raw) = csv_header(&mut reader, &opts.columns)?;
            Ok(Head {
                reader: Box::new(reader),
                names,
                inferred,
                header_raw,
                compression,
                delimiter,
                read_as_text: None,
            })
        }
        Format::Ndjson => {
            let lines = match sample_rows {
                Some(n) => n,
                None => KEY_SAMPLE_LINES,
            };
            let mut first = first;
            let (head, _) = peek(&mut first, SNIFF_BYTES).map_err(io(name))?;
            let framing = Framing::of(&head);
            if framing != Framing::Lines {
                tracing::info!("{name}: read as {}", framing.describe());
            }
            let first: Box<dyn Read + Send> = Box::new(Cursor::new(head).chain(first));
            // Read the sample into memory once: the keys, then the types, come from it.
            let mut rec = Recorder::new(first, true);
            let sample = ndjson::sample_keys(&mut rec, lines, framing).map_err(io(name))?;
            if let Some((key, n)) = &sample.wrapped {
                let path = if crate::ident::sanitize(key) == *key {
                    format!(".{key}[]")
                } else {
                    format!(".[{}][]", serde_json::Value::from(key.clone()))
                };
                // Quoted for the shell, in the single quotes it goes in.
                let path = path.replace('\'', "'\\''");
                let plain = |c: char| c.is_ascii_alphanumeric() || "._/-".contains(c);
                let file = if name.chars().all(plain) {
                    name
                } else {
                    "FILE"
                };
                tracing::warn!(
                    "{name} is one JSON object, a row of columns {}; its {key:?} holds {n} \
                     objects: to load those as the rows, `jq -c '{path}' {file} | barge load - \
                     --format ndjson --table TABLE`",
                    sample.keys.join(", ")
                );
            }
            let mut names = opts.columns.clone().unwrap_or(sample.keys);
            if let (true, Some(known)) = (opts.ignore_unknown, &opts.known_columns) {
                names.retain(|k| {
                    let clean = crate::ident::sanitize(k);
                    known.iter().any(|c| {
                        c == k
                            || c.eq_ignore_ascii_case(k)
                            || *c == clean
                            || crate::ident::same_letters(c, k)
                    })
                });
            }
            let (seen, rest) = rec.into_parts();
            let inferred = match sample_rows {
                None => None,
                Some(_) => {
                    let mut sample = NdjsonReader::new(
                        Cursor::new(seen.clone()),
                        name,
                        &names,
                        framing,
                        true,
                        false,
                    );
                    Some(infer::infer(
                        &mut sample,
                        Some(&names),
                        &NullTexts::default(),
                        0,
                    )?)
                }
            };
            let rdr: Box<dyn Read + Send> = Box::new(Cursor::new(seen).chain(rest));
            let rdr = reopen(rdr)?;
            let reader = NdjsonReader::new(
                rdr,
                name,
                &names,
                framing,
                opts.ignore_unknown,
                opts.csv.keep_raw,
            );
            Ok(Head {
                reader: Box::new(reader),
                names: Some(names),
                inferred,
                header_raw: None,
                compression,
                delimiter: None,
                read_as_text: None,
            })
        }
        Format::Text => {
            let (delimiter, null) = text_options(opts);
            let (rdr, inferred) = match sample_rows {
                None => (reopen(first)?, None),
                Some(n) => {
                    // A file is opened again for the load: its sample need not be kept.
                    let stream = again.is_none();
                    let mut sample = TextReader::new(
                        Recorder::new(first, stream),
                        name,
                        delimiter,
                        null.clone(),
                        false,
                    );
                    let names = text_header(&mut sample, opts)?.0;
                    let cap = if stream { SAMPLE_BYTES } else { u64::MAX };
                    let t = infer::infer_within(&mut sample, names.as_deref(), &opts.csv, n, cap)?;
                    let rest: Box<dyn Read + Send> = Box::new(sample.into_recorded().replay());
                    (reopen(rest)?, Some(t))
                }
            };
            let mut reader = TextReader::new(rdr, name, delimiter, null, opts.csv.keep_raw);
            let (names, header_raw) = text_header(&mut reader, opts)?;
            Ok(Head {
                reader: Box::new(reader),
                names,
                inferred,
                header_raw,
                compression,
                delimiter: None,
                read_as_text,
            })
        }
        // Taken above, before a file is opened as text.
        Format::Parquet => parquet_head(Input::Reader(first), name, opts, sample_rows),
    }
}

/// [`read_head`] for records a program hands over (`header`: they go to a rejects file as
/// CSV lines under their names). With `sample_rows`, a table to create: the source's own
/// (Arrow's schema), else one inferred from a sample of the records, which are kept and handed
/// out again before the rest.
fn program_head(
    reader: Box<dyn RecordSource>,
    names: Vec<String>,
    opts: &InputOptions,
    sample_rows: Option<usize>,
    header: bool,
) -> Result<Head> {
    let header_raw = (header && opts.csv.keep_raw).then(|| super::batch::csv_header(&names));
    let (reader, inferred): (Box<dyn RecordSource>, _) = match sample_rows {
        None => (reader, None),
        Some(n) => match reader.inferred() {
            Some(own) => (reader, Some(own)),
            None => {
                let kept = super::replay::KeptRecords::sample(reader, n)?;
                let mut sample = infer::Sample::new(Some(&names), &opts.csv.null);
                sample.numbers = opts.csv.numbers;
                for rec in kept.kept() {
                    sample.add(rec);
                }
                let table = sample.table();
                (Box::new(kept), Some(table))
            }
        },
    };
    Ok(Head {
        reader,
        names: Some(names),
        inferred,
        header_raw,
        compression: Compression::None,
        delimiter: None,
        read_as_text: None,
    })
}

/// [`read_head`] for a Parquet file: its schema names the columns (`--columns` renames them,
/// in order) and says the table's types, without a sample.
fn parquet_head(
    input: Input,
    name: &str,
    opts: &InputOptions,
    sample_rows: Option<usize>,
) -> Result<Head> {
    let Input::File(path) = input else {
        return Err(Error::config(format!(
            "{name}: Parquet is read from a file (its index is at its end), not from a stream: \
             save it to a file and load that"
        )));
    };
    if opts.encoding.is_some() {
        return Err(Error::config(format!(
            "{name}: Parquet's strings are UTF-8 by definition: drop --encoding"
        )));
    }
    #[cfg(feature = "parquet")]
    {
        let (reader, names) =
            super::parquet::ParquetSource::open(&path, name, opts.csv.keep_raw, 0, only(opts))?;
        let mut inferred = sample_rows.and_then(|_| reader.inferred());
        let names = match &opts.columns {
            None => names,
            Some(given) if given.len() == names.len() => {
                if let Some(t) = &mut inferred {
                    t.rename(given);
                }
                given.clone()
            }
            Some(given) => {
                return Err(Error::config(format!(
                    "--columns names {} columns, and {name} has {}: {}",
                    given.len(),
                    names.len(),
                    names.join(", ")
                )))
            }
        };
        let header_raw = opts.csv.keep_raw.then(|| super::batch::csv_header(&names));
        Ok(Head {
            reader: Box::new(reader),
            names: Some(names),
            inferred,
            header_raw,
            compression: Compression::None,
            delimiter: None,
            read_as_text: None,
        })
    }
    #[cfg(not(feature = "parquet"))]
    {
        let _ = (path, sample_rows);
        Err(no_parquet())
    }
}

/// A reader of the plain (uncompressed, UTF-8) file `path` from `start` on, for a resumed load
/// that seeks past what is committed. `names` are the NDJSON keys.
///
/// # Errors
/// The file cannot be opened or positioned.
pub fn reopen_at(
    path: &Path,
    name: &str,
    opts: &InputOptions,
    names: &[String],
    start: Position,
) -> Result<Box<dyn RecordSource>> {
    let at = |start: u64| -> Result<Box<dyn Read + Send>> {
        let mut file = File::open(path).map_err(|e| cannot_open(path, &e))?;
        file.seek(SeekFrom::Start(start)).map_err(io(name))?;
        Ok(Box::new(file))
    };
    Ok(match opts.format {
        Format::Csv | Format::Tsv => Box::new(CsvReader::starting_at(
            at(start.byte)?,
            name,
            csv_options(opts),
            start,
        )),
        Format::Ndjson => {
            // How the objects follow one another is said by the file's first bytes.
            let (head, _) = peek(&mut at(0)?, SNIFF_BYTES).map_err(io(name))?;
            Box::new(
                NdjsonReader::new(
                    at(start.byte)?,
                    name,
                    names,
                    Framing::of(&head),
                    opts.ignore_unknown,
                    opts.csv.keep_raw,
                )
                .starting_at(start),
            )
        }
        Format::Parquet => reopen_parquet(path, name, opts, start)?,
        Format::Text => {
            let (delimiter, null) = text_options(opts);
            Box::new(
                TextReader::new(at(start.byte)?, name, delimiter, null, opts.csv.keep_raw)
                    .starting_at(start),
            )
        }
    })
}

/// The table's columns, when the input's others are left out (`--ignore-unknown`, the
/// input's own names): a Parquet file's columns beyond them are not read.
#[cfg(feature = "parquet")]
fn only(opts: &InputOptions) -> Option<&[String]> {
    match (opts.ignore_unknown, &opts.columns) {
        (true, None) => opts.known_columns.as_deref(),
        _ => None,
    }
}

/// Where this share of `--split` starts and the position its next share starts at, for a
/// Parquet file (whose positions are row numbers, from 1): its rows are shared evenly, and a
/// share is read from its first row on without reading the rows before it. `None` for a
/// file of another format (shared by bytes: [`crate::split::find`]).
///
/// # Errors
/// The file cannot be read as Parquet.
pub fn parquet_share(
    path: &Path,
    name: &str,
    opts: &InputOptions,
    share: crate::split::Split,
) -> Result<Option<(Option<Position>, u64)>> {
    if opts.format != Format::Parquet {
        return Ok(None);
    }
    #[cfg(feature = "parquet")]
    {
        let rows = super::parquet::rows_in(path, name)?;
        let (lo, hi) = share.bytes(rows);
        let start = (lo < hi).then_some(Position {
            byte: lo + 1,
            line: lo + 1,
            record: lo + 1,
        });
        Ok(Some((start, hi + 1)))
    }
    #[cfg(not(feature = "parquet"))]
    {
        let _ = (path, name, share);
        Err(no_parquet())
    }
}

/// Parquet input in a build without it.
#[cfg(not(feature = "parquet"))]
fn no_parquet() -> Error {
    Error::config(
        "this barge was built without Parquet: build it with the cargo feature \"parquet\"",
    )
}

/// [`reopen_at`] for a Parquet file, whose positions are row numbers: the reader starts at
/// the row `start` names, the rows before it skipped unread where whole pages allow.
fn reopen_parquet(
    path: &Path,
    name: &str,
    opts: &InputOptions,
    start: Position,
) -> Result<Box<dyn RecordSource>> {
    #[cfg(feature = "parquet")]
    {
        let skip = start.byte.saturating_sub(1);
        let (reader, _) =
            super::parquet::ParquetSource::open(path, name, opts.csv.keep_raw, skip, only(opts))?;
        Ok(Box::new(reader))
    }
    #[cfg(not(feature = "parquet"))]
    {
        let _ = (path, name, opts, start);
        Err(no_parquet())
    }
}

/// The table `--create` would make for `input`: its column names and the types of the first
/// `sample_rows` rows (0: all).
///
/// # Errors
/// As [`read_head`].
pub fn infer_input(
    input: Input,
    name: &str,
    opts: &InputOptions,
    sample_rows: usize,
) -> Result<InferredTable> {
    let head = read_head(
        input,
        name,
        opts,
        Some(sample_rows),
        Arc::new(AtomicU64::new(0)),
    )?;
    let mut table = head
        .inferred
        .ok_or_else(|| Error::internal("no sample was read"))?;
    table.delimiter = head.delimiter;
    table.read_as_text = head.read_as_text;
    table.with_columns(name)
}

/// The inputs named on a command line (or in a list), with globs that no shell expanded
/// (quoted ones) expanded here, in name order. `-` is standard input, alone.
///
/// # Errors
/// A configuration error for a bad pattern, a pattern that matches nothing, or `-` among
/// files.
pub fn expand_inputs(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        let s = a.to_string_lossy();
        if !a.exists() && (address_shown(&s).is_some() || remote(&s).is_some()) {
            // Not a pattern either: a `?` in a URL's options would make it one.
            return Err(cannot_open(a, &std::io::ErrorKind::NotFound.into()));
        }
        if a.exists() || !s.contains(['*', '?', '[']) {
            out.push(a.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = glob::glob(&s)
            .map_err(|e| Error::config(format!("bad pattern {s:?}: {e}")))?
            .filter_map(std::result::Result::ok)
            .collect();
        if found.is_empty() {
            return Err(Error::config(format!("no file matches {s:?}")));
        }
        found.sort();
        out.append(&mut found);
    }
    if out.len() > 1 && out.iter().any(|f| f.as_os_str() == "-") {
        return Err(Error::config(
            "standard input (-) cannot be loaded together with files",
        ));
    }
    Ok(out)
}
