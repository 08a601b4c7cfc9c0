//! `progress=True` (a bar on a terminal) and `on_progress=callable` (the Rust API's progress
//! events, as dicts): both are one progress callback on the load.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use barge::{Load, ProgressEvent};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pyo3::prelude::*;

/// How often the callback runs.
const EVERY: Duration = Duration::from_millis(200);

/// `load`, reporting its progress to `callback` and, when asked and stderr is a terminal, on a
/// bar.
pub fn observe(load: Load, callback: Option<Py<PyAny>>, bar: bool) -> Load {
    let bar = (bar && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b
    });
    if callback.is_none() && bar.is_none() {
        return load;
    }
    // A callback that raises is reported once, and the load goes on.
    let failed = AtomicBool::new(false);
    load.on_progress(EVERY, move |e: &ProgressEvent| {
        if let Some(b) = &bar {
            draw(b, e);
        }
        if let Some(cb) = &callback {
            Python::attach(|py| {
                let event = event_dict(py, e);
                if let Err(err) = event.and_then(|d| cb.call1(py, (d,))) {
                    if !failed.swap(true, Ordering::Relaxed) {
                        err.print(py);
                    }
                }
            });
        }
    })
}

fn event_dict<'py>(py: Python<'py>, e: &ProgressEvent) -> PyResult<Bound<'py, PyAny>> {
    let json = py.import("json")?;
    json.call_method1("loads", (crate::event_json(e),))
}

fn draw(bar: &ProgressBar, e: &ProgressEvent) {
    let mut msg = format!("{} rows loaded", e.rows_committed);
    if e.bytes_total > 0 {
        let pct = e.bytes_read as f64 * 100.0 / e.bytes_total as f64;
        msg.push_str(&format!(", {pct:.0}% read"));
    }
    if e.rows_rejected > 0 {
        msg.push_str(&format!(", {} rejected", e.rows_rejected));
    }
    bar.set_message(msg);
    bar.tick();
    if e.done {
        bar.finish_and_clear();
    }
}
