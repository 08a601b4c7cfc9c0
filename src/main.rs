//! `barge`: a thin shell over the library. Parses arguments, shows progress, prints the
//! summary or the error, and maps the outcome to an exit code:
//! 0 loaded everything, 1 failed, 2 usage or configuration error, 3 loaded every good row and
//! set bad ones aside (`--rejects`), 130 interrupted.

mod cli;

/// `println!` that does not panic when standard output is closed (`barge schema f.csv | head
/// -1`): like other Unix tools, barge stops writing and exits with the outcome of its work.
/// A load's summary is written only after the load has ended, so a closed pipe never leaves
/// a load half done.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` that does not panic when standard error is closed.
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use barge::Dialect;
use barge::Input;
use barge::ProgressEvent;
use barge::{thousands, ErrorKind, LoadOptions, LoadReport};
use cli::{Cli, Command, CsvArgs, LoadArgs, SchemaArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = match &cli.command {
        Command::Load(a) => a.quiet,
        Command::Schema(_) => false,
    };
    init_logging(cli.verbose, quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            err!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match cli.command {
        Command::Load(args) => runtime.block_on(load(args)),
        Command::Schema(args) => schema(args),
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match verbose {
        0 if quiet => "error",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// The options that say how the input is read, as `barge load` and `barge schema` take them.
fn reading(a: &CsvArgs) -> LoadOptions {
    LoadOptions {
        columns: a.columns.clone(),
        format: a.format,
        ignore_unknown: a.ignore_unknown,
        delimiter: a.delimiter,
        decimal_comma: a.decimal_comma,
        thousands: a.thousands,
        no_header: a.no_header,
        header: a.header,
        skip_lines: a.skip_lines,
        null: (!a.null.is_empty()).then(|| a.null.clone()),
        encoding: a.encoding.clone(),
        sample_rows: a.sample_rows,
        ..LoadOptions::default()
    }
}

/// `barge schema`: the table `load --create` would make, printed, nothing written.
fn schema(args: SchemaArgs) -> ExitCode {
    let dialect = match (args.dialect, args.into.as_deref()) {
        (Some(d), _) => d,
        (None, Some(url)) => match barge::Target::parse(url) {
            Ok(target) => target.dialect(),
            Err(e) => return fail(&e),
        },
        (None, None) => Dialect::Sqlite,
    };
    let name = args.file.display().to_string();
    let input = if args.file.as_os_str() == "-" {
        Input::Reader(Box::new(std::io::stdin()))
    } else {
        Input::File(args.file.clone())
    };
    let options = LoadOptions {
        table: args.table.clone(),
        ..reading(&args.csv)
    };
    // A target is parsed, not connected to: the dialect is all it says here.
    let script = options
        .load(barge::DEFAULT_TARGET)
        .and_then(|load| load.schema(input, &name, dialect));
    match script {
        Ok(script) => {
            out!("{}", script.trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

async fn load(args: LoadArgs) -> ExitCode {
    let into = args
        .into
        .clone()
        .unwrap_or_else(|| barge::DEFAULT_TARGET.to_string());
    let options = LoadOptions {
        table: args.table.clone(),
        create: args.create,
        distribute_by: args.distribute_by.clone(),
        split: args.split,
        on_conflict: args.on_conflict,
        key: args.key.clone(),
        update_columns: args.update_columns.clone(),
        mode: args.mode,
        rejects: args.rejects.clone(),
        max_errors: args.max_errors,
        chunk_rows: args.chunk_rows,
        chunk_bytes: args.chunk_bytes,
        workers: args.workers,
        checkpoint_table: args.checkpoint_table.clone(),
        no_checkpoint: args.no_checkpoint,
        load_id: args.load_id.clone(),
        again: args.again,
        continue_changed: args.continue_changed,
        atomic: args.atomic,
        replace: args.replace,
        dry_run: args.dry_run,
        keep_indexes: args.keep_indexes,
        retries: args.retries,
        retry_for: args.retry_for,
        commit_every: args.commit_every,
        ..reading(&args.csv)
    };
    let mut load = match options.load(&into) {
        Ok(l) => l,
        Err(e) => return fail(&e),
    };

    let show_bar = !args.quiet && !args.json && std::io::stderr().is_terminal();
    // No file named: rows piped in, as `psql` and `sqlite3` read them; at a terminal, the
    // user forgot the file (reading the keyboard would only seem to hang).
    let named = if args.files.is_empty() {
        if std::io::stdin().is_terminal() {
            err!(
                "error: name the file to load (barge load FILE ...), or pipe rows in: \
                 ... | barge load - --table T"
            );
            return ExitCode::from(2);
        }
        vec![std::path::PathBuf::from("-")]
    } else {
        args.files.clone()
    };
    let files = match barge::expand_inputs(&named) {
        Ok(f) => f,
        Err(e) => {
            err!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let stdin = files.len() == 1 && files[0].as_os_str() == "-";
    // Known before the bar is drawn, so that it shows a total and an ETA from the start.
    let total = files
        .iter()
        .filter(|_| !stdin)
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = show_bar.then(|| progress_bar(total));
    if let Some(bar) = &bar {
        let (bar, start) = (bar.clone(), Instant::now());
        load = load.on_progress(Duration::from_millis(200), move |e| draw(&bar, e, start));
    }
    watch_signals(load.cancel_flag(), args.quiet);
    let result = if stdin {
        if args.table.is_none() {
            match args.files.is_empty() {
                true => err!(
                    "error: no FILE named, and reading standard input needs --table: barge load \
                     FILE [--table T], or ... | barge load --table T"
                ),
                false => err!("error: reading standard input needs --table"),
            }
            return ExitCode::from(2);
        }
        load.load_reader(std::io::stdin(), "-").await
    } else if files.len() == 1 {
        load.load_path(&files[0]).await
    } else {
        load.load_paths(&files).await
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let input = match (files.as_slice(), &result) {
        // A directory: its files.
        ([one], Ok(r)) if one.is_dir() => format!("The {} files of {}", r.files, one.display()),
        ([one], _) => one.display().to_string(),
        (many, _) => format!("{} files", many.len()),
    };
    match result {
        Ok(report) => {
            if args.json {
                match serde_json::to_string(&report) {
                    Ok(s) => out!("{s}"),
                    Err(e) => err!("error: cannot write the JSON summary: {e}"),
                }
            } else if !args.quiet {
                out!("{}", summary(&report, &input));
            }
            if report.rejected > 0 {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            let code = fail(&e);
            if args.replace {
                err!("note: the table keeps its earlier rows: --replace commits the new ones only all together");
            }
            code
        }
    }
}

fn summary(r: &LoadReport, input: &str) -> String {
    if let Some(done) = &r.already_loaded {
        return format!(
            "{input} {} already loaded into {} at {} on {} ({}): nothing to do. \
             Use --again to load {} a second time.",
            if r.files > 1 { "were" } else { "was" },
            r.table,
            r.target,
            done.at,
            rows(done.rows),
            if r.files > 1 { "them" } else { "it" },
        );
    }
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    if r.dry_run {
        return dry_run_summary(r, secs);
    }
    let how = match r.format {
        "insert" => "INSERT".to_string(),
        "load data" => "LOAD DATA LOCAL INFILE".to_string(),
        f => format!("{f} COPY"),
    };
    let mut s = format!(
        "Loaded {} {}into {}{}{} at {} in {:.2} s ({} rows/s, {:.1} MB/s, {} chunk{}, {how})",
        rows(r.rows),
        if r.files > 1 {
            format!("from {} files ", r.files)
        } else {
            String::new()
        },
        if r.created { "new table " } else { "" },
        r.table,
        if r.replaced {
            " (its earlier rows replaced)"
        } else {
            ""
        },
        r.target,
        secs,
        thousands(r.rows_per_sec() as u64),
        r.bytes as f64 / 1e6 / secs,
        r.chunks,
        if r.chunks == 1 { "" } else { "s" },
    );
    if let Some(u) = &r.upsert {
        s.push_str(&upsert_line(u, ""));
    }
    if r.rejected > 0 {
        let file = r.rejects_file.as_deref().unwrap_or("the rejects file");
        s.push_str(&format!(
            "\nRejected {}: {} in {file}, with the reasons in {file}.errors.jsonl",
            rows(r.rejected),
            if r.rejected == 1 { "it is" } else { "they are" },
        ));
    }
    for q in &r.sequences_raised {
        let column = q.column.replace('"', "\"\"");
        s.push_str(&format!(
            "\nRaised sequence {} to {}, the largest \"{column}\" loaded, so that rows \
             inserted later with its default do not take a value already there",
            q.sequence, q.to,
        ));
    }
    if let Some(b) = &r.indexes_built {
        s.push_str(&format!(
            "\nBuilt {} index{} in {:.2} s at the end (left out while the empty table loaded; \
             --keep-indexes keeps them in place)",
            b.count,
            if b.count == 1 { "" } else { "es" },
            b.elapsed.as_secs_f64(),
        ));
    }
    if r.skipped_rows > 0 {
        s.push_str(&format!(
            "\nResumed: skipped {} committed by an earlier run",
            rows(r.skipped_rows)
        ));
    }
    if r.retries > 0 {
        s.push_str(&format!(
            "\nRetried {} time{} after transient faults",
            r.retries,
            if r.retries == 1 { "" } else { "s" }
        ));
    }
    s
}

/// An upsert's counts, on a line of their own (`would be ` inserted, for a dry run).
fn upsert_line(u: &barge::UpsertReport, would: &str) -> String {
    let c = &u.counts;
    let key = u.key.join(", ");
    match u.on_conflict {
        barge::OnConflict::Update => format!(
            "\nUpsert on ({key}): {} {would}inserted, {} updated",
            thousands(c.inserted),
            thousands(c.updated)
        ),
        barge::OnConflict::Nothing => format!(
            "\nUpsert on ({key}): {} {would}inserted, {} skipped (key already there)",
            thousands(c.inserted),
            thousands(c.skipped)
        ),
    }
}

/// What a `--dry-run` found: what a load would have done, with nothing written.
fn dry_run_summary(r: &LoadReport, secs: f64) -> String {
    let mut s = format!(
        "Dry run: {}{} would load into {}{} at {} ({:.2} s); nothing was written",
        rows(r.rows),
        if r.files > 1 {
            format!(" from {} files", r.files)
        } else {
            String::new()
        },
        r.table,
        if r.replaced {
            " (replacing its rows)"
        } else {
            ""
        },
        r.target,
        secs,
    );
    if let Some(u) = &r.upsert {
        s.push_str(&upsert_line(u, "would be "));
    }
    if r.rejected > 0 {
        let file = r.rejects_file.as_deref().unwrap_or("the rejects file");
        s.push_str(&format!(
            "\n{} would be rejected: {} in {file}, with the reasons in {file}.errors.jsonl",
            rows(r.rejected),
            if r.rejected == 1 { "it is" } else { "they are" },
        ));
    }
    s
}

/// First SIGINT/SIGTERM: stop reading and let the chunks in flight finish (or roll back).
/// Second: exit at once; uncommitted chunks roll back with their connections.
fn watch_signals(cancel: Arc<std::sync::atomic::AtomicBool>, quiet: bool) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::spawn(async move {
        tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
        cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        if !quiet {
            err!("stopping: finishing the chunks in flight (interrupt again to abort at once)");
        }
        tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
        err!("aborted: chunks in flight were rolled back; run the same command again to resume");
        std::process::exit(130);
    });
}

/// `n` rows, counted in words: "1 row", "2,000 rows".
fn rows(n: u64) -> String {
    format!("{} row{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// Prints the error, what to do about it, and returns the exit code.
fn fail(e: &barge::Error) -> ExitCode {
    err!("error: {e}");
    if let Some(rows) = e.committed_rows() {
        err!(
            "note: {} {} committed before the error",
            self::rows(rows),
            if rows == 1 { "was" } else { "were" }
        );
    }
    if let Some(note) = e.note() {
        err!("note: {note}");
    }
    if let Some(h) = e.advice() {
        err!("hint: {h}");
    }
    // Run again with the option it names, a load with checkpoints goes on from where it
    // stopped (reading options are no part of its identity).
    if e.goes_on_when_run_again() {
        err!("note: run again so, the load skips the rows it committed and goes on from where it stopped");
    }
    if matches!(e.kind(), ErrorKind::Interrupted) {
        err!("hint: run the same command again to resume where this load stopped");
        return ExitCode::from(130);
    }
    ExitCode::from(if e.is_config() { 2 } else { 1 })
}

/// A progress bar on stderr, drawn from the load's progress events.
fn progress_bar(total: u64) -> ProgressBar {
    let bar = if total > 0 {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    let style = if total > 0 {
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ETA {eta}",
        )
    } else {
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bytes} {msg}")
    };
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar
}

/// Moves the bar to where `e` says the load is.
fn draw(bar: &ProgressBar, e: &ProgressEvent, start: Instant) {
    if e.bytes_total > 0 && bar.length() != Some(e.bytes_total) {
        bar.set_length(e.bytes_total);
    }
    bar.set_position(e.bytes_read);
    let rate = e.rows_committed as f64 / start.elapsed().as_secs_f64().max(1e-3);
    let mut msg = format!(
        "{} rows, {} rows/s",
        thousands(e.rows_committed),
        thousands(rate as u64)
    );
    if e.rows_rejected > 0 {
        msg.push_str(&format!(", {} rejected", thousands(e.rows_rejected)));
    }
    bar.set_message(msg);
}
