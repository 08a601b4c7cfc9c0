//! `barge._native`: the Python package's native half, a thin shell over the library.
//!
//! Each entry point takes the target URL, the options as JSON (by their command-line names:
//! [`barge::LoadOptions`] reads them, as the CLI does), and the input, runs the load on a
//! shared Tokio runtime with the GIL released, and returns the report as JSON. The Python half
//! (`barge/__init__.py`) turns SQLAlchemy URLs and engines, DataFrames and async iterables into
//! what these take.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use barge::{Load, LoadOptions, LoadReport, ProgressEvent};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

mod errors;
mod progress;
mod rows;
mod values;

/// The runtime every load runs on: started once, on first use.
fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("barge")
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| PyRuntimeError::new_err(format!("cannot start barge's runtime: {e}")))
}

/// A load set up from the keyword arguments.
fn prepare(
    url: &str,
    options: &str,
    on_progress: Option<Py<PyAny>>,
    progress: bool,
    py: Python<'_>,
) -> PyResult<Load> {
    let to_py = |e: barge::Error| errors::to_py(py, &e);
    let opts = LoadOptions::from_json(options).map_err(to_py)?;
    let load = opts.load(url).map_err(to_py)?;
    Ok(progress::observe(load, on_progress, progress))
}

/// Runs `work` on the runtime and waits for it (see [`wait_for`]).
fn wait<F>(py: Python<'_>, cancel: Stop, work: F) -> PyResult<barge::Result<LoadReport>>
where
    F: std::future::Future<Output = barge::Result<LoadReport>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    runtime()?.spawn(async move {
        // The receiver waits until this is sent; it is gone only if the caller is.
        let _ = tx.send(work.await);
    });
    wait_for(py, cancel, rx)
}

/// Waits for a load's result with the GIL released, checking for Ctrl-C between waits: on
/// Ctrl-C the load is asked to stop (chunks being written finish, the checkpoints stay), and
/// once it has stopped a KeyboardInterrupt is raised.
fn wait_for(
    py: Python<'_>,
    cancel: Stop,
    rx: mpsc::Receiver<barge::Result<LoadReport>>,
) -> PyResult<barge::Result<LoadReport>> {
    let mut interrupted = false;
    let mut rx = rx;
    loop {
        let (back, got) = py.detach(move || {
            let got = rx.recv_timeout(Duration::from_millis(100));
            (rx, got)
        });
        rx = back;
        match got {
            Ok(result) if interrupted => return Err(errors::interrupted(result.as_ref().err())),
            Ok(result) => return Ok(result),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if !interrupted && cancel.asked(py).is_err() {
                    cancel.now();
                    interrupted = true;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "the load's task ended without a result",
                ));
            }
        }
    }
}

/// What stops a load: Ctrl-C, or the caller's stop event (`load_async`'s task cancelled).
pub(crate) struct Stop {
    flag: Arc<AtomicBool>,
    event: Option<Py<PyAny>>,
}

impl Stop {
    pub(crate) fn new(flag: Arc<AtomicBool>, event: Option<Py<PyAny>>) -> Stop {
        Stop { flag, event }
    }

    /// An error when the load is to stop: Ctrl-C's KeyboardInterrupt, or the event's.
    pub(crate) fn asked(&self, py: Python<'_>) -> PyResult<()> {
        py.check_signals()?;
        if let Some(ev) = &self.event {
            if ev.call_method0(py, "is_set")?.is_truthy(py)? {
                return Err(pyo3::exceptions::PyKeyboardInterrupt::new_err(
                    "the load was cancelled",
                ));
            }
        }
        Ok(())
    }

    /// Tells the load to stop: reading ends, chunks being written finish.
    pub(crate) fn now(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }
}

/// A configuration error (the library's constructor is its own).
pub(crate) fn config(msg: String) -> barge::Error {
    barge::Error::from(barge::ErrorKind::Config(msg))
}

fn report_json(py: Python<'_>, result: barge::Result<LoadReport>) -> PyResult<String> {
    let report = result.map_err(|e| errors::to_py(py, &e))?;
    serde_json::to_string(&report)
        .map_err(|e| PyRuntimeError::new_err(format!("cannot write the report: {e}")))
}

/// Loads files (paths or quoted globs, expanded here as the CLI expands them).
#[pyfunction]
#[pyo3(signature = (url, files, options, on_progress=None, progress=false, stop=None))]
fn load_files(
    py: Python<'_>,
    url: &str,
    files: Vec<std::path::PathBuf>,
    options: &str,
    on_progress: Option<Py<PyAny>>,
    progress: bool,
    stop: Option<Py<PyAny>>,
) -> PyResult<String> {
    let load = prepare(url, options, on_progress, progress, py)?;
    let files = barge::expand_inputs(&files).map_err(|e| errors::to_py(py, &e))?;
    let total = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    load.progress().bytes_total.store(total, Ordering::Relaxed);
    let cancel = Stop::new(load.cancel_flag(), stop);
    let result = wait(py, cancel, async move {
        match files.as_slice() {
            [one] => load.load_path(one).await,
            many => load.load_paths(many).await,
        }
    })?;
    report_json(py, result)
}

/// Each of `values` (a pandas object column of dicts, or of lists holding them) as its JSON
/// text, as a row's dict is written. Arrow types such a column as a struct of every key any
/// row has, and writes each object with all of them: `{"a": 1}` beside `{"b": 2}` loaded as
/// `{"a": 1, "b": null}`, which is not the dict the program had.
#[pyfunction]
fn json_texts(py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<Vec<Option<String>>> {
    let kinds = values::Kinds::new(py)?;
    values
        .try_iter()?
        .map(|v| values::json_text(&v?, &kinds))
        .collect()
}

/// Loads the rows of a Python iterable (dicts, or tuples with `columns`).
#[pyfunction]
#[pyo3(signature = (url, rows, columns, options, on_progress=None, progress=false, stop=None))]
// A Python function's arguments, as the Python half passes them.
#[allow(clippy::too_many_arguments)]
fn load_rows(
    py: Python<'_>,
    url: &str,
    rows: &Bound<'_, PyAny>,
    columns: Option<Vec<String>>,
    options: &str,
    on_progress: Option<Py<PyAny>>,
    progress: bool,
    stop: Option<Py<PyAny>>,
) -> PyResult<String> {
    let load = prepare(url, options, on_progress, progress, py)?;
    let result = rows::load(py, load, rows, columns, stop)?;
    report_json(py, result)
}

/// Loads an object that exports the Arrow C stream interface (`__arrow_c_stream__`): a
/// pyarrow Table or RecordBatchReader, a polars DataFrame, ...
#[pyfunction]
#[pyo3(signature = (url, data, options, on_progress=None, progress=false, stop=None))]
fn load_arrow(
    py: Python<'_>,
    url: &str,
    data: &Bound<'_, PyAny>,
    options: &str,
    on_progress: Option<Py<PyAny>>,
    progress: bool,
    stop: Option<Py<PyAny>>,
) -> PyResult<String> {
    let load = prepare(url, options, on_progress, progress, py)?;
    let reader = arrow_stream(py, data)?;
    let cancel = Stop::new(load.cancel_flag(), stop);
    let result = wait(py, cancel, async move {
        load.load_arrow(Box::new(reader)).await
    })?;
    report_json(py, result)
}

/// The Arrow C stream `data` exports (`__arrow_c_stream__`), moved out of its capsule.
fn arrow_stream(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
) -> PyResult<arrow_array::ffi_stream::RecordBatchStreamReader> {
    let capsule = data.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>()?;
    let ptr = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
    // SAFETY: the capsule named "arrow_array_stream" holds an FFI_ArrowArrayStream (the Arrow
    // PyCapsule interface); from_raw moves the stream out and leaves a released one behind,
    // which the capsule's destructor then skips.
    unsafe {
        arrow_array::ffi_stream::RecordBatchStreamReader::from_raw(
            ptr.as_ptr()
                .cast::<arrow_array::ffi_stream::FFI_ArrowArrayStream>(),
        )
    }
    .map_err(|e| errors::to_py(py, &config(format!("the Arrow stream: {e}"))))
}

/// The table a load would make of a file (`path`) or of Arrow data (`data`), as `barge
/// schema` prints it, in `dialect` (default: the target's).
#[pyfunction]
#[pyo3(signature = (url, options, dialect=None, path=None, data=None))]
fn schema(
    py: Python<'_>,
    url: &str,
    options: &str,
    dialect: Option<&str>,
    path: Option<std::path::PathBuf>,
    data: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let to_py = |e: barge::Error| errors::to_py(py, &e);
    let load = LoadOptions::from_json(options)
        .and_then(|o| o.load(url))
        .map_err(to_py)?;
    let dialect = match dialect {
        Some(d) => d.parse::<barge::Dialect>().map_err(|e| to_py(config(e)))?,
        None => load.target().dialect(),
    };
    let script = match (path, data) {
        (Some(path), _) => {
            let name = path.display().to_string();
            py.detach(|| load.schema(barge::Input::File(path), &name, dialect))
        }
        (None, Some(data)) => {
            let reader = arrow_stream(py, data)?;
            py.detach(|| load.arrow_schema(Box::new(reader), dialect))
        }
        (None, None) => Err(config("schema() takes a file or Arrow data".to_string())),
    };
    // The notes name options as the command line does.
    let script = script.map_err(to_py)?;
    Ok(script
        .lines()
        .map(|line| match line.strip_prefix("-- ") {
            Some(note) => format!("-- {}", errors::python_spelling(note)),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

/// A progress event as a dict (the same fields as the Rust API's `ProgressEvent`).
pub(crate) fn event_json(e: &ProgressEvent) -> String {
    serde_json::to_string(e).unwrap_or_default()
}

/// A SQLAlchemy `dialect+driver://` URL as barge names the database, or `None`.
#[pyfunction]
fn sqlalchemy_url(url: &str) -> Option<String> {
    barge::target_from_sqlalchemy(url)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(load_files, m)?)?;
    m.add_function(wrap_pyfunction!(load_rows, m)?)?;
    m.add_function(wrap_pyfunction!(load_arrow, m)?)?;
    m.add_function(wrap_pyfunction!(schema, m)?)?;
    m.add_function(wrap_pyfunction!(sqlalchemy_url, m)?)?;
    m.add_function(wrap_pyfunction!(json_texts, m)?)?;
    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("ConfigError", py.get_type::<errors::ConfigError>())?;
    m.add("ConnectError", py.get_type::<errors::ConnectError>())?;
    m.add("DatabaseError", py.get_type::<errors::DatabaseError>())?;
    m.add("BadRow", py.get_type::<errors::BadRow>())?;
    m.add("Interrupted", py.get_type::<errors::Interrupted>())?;
    m.add("DEFAULT_TARGET", barge::DEFAULT_TARGET)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
