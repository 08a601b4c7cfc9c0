//! barge's errors as Python exceptions: one small hierarchy under `barge.Error`, each carrying
//! the message and the advice the CLI would print, and what a program needs to act on it.

use barge::{ErrorClass, ErrorKind};
use pyo3::exceptions::{PyException, PyKeyboardInterrupt};
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

pyo3::create_exception!(barge, Error, PyException, "Any error of a load.");
pyo3::create_exception!(
    barge,
    ConfigError,
    Error,
    "The load is set up wrong (options, table, columns, target): nothing was loaded."
);
pyo3::create_exception!(
    barge,
    ConnectError,
    Error,
    "The database cannot be reached or refused the login."
);
pyo3::create_exception!(
    barge,
    DatabaseError,
    Error,
    "The database refused a statement (its SQLSTATE is `.sqlstate`)."
);
pyo3::create_exception!(
    barge,
    BadRow,
    Error,
    "A row that cannot be loaded (`.row`, `.column`, `.value`, `.reason`); pass `rejects=` to set such rows aside."
);
pyo3::create_exception!(
    barge,
    Interrupted,
    Error,
    "The load was stopped; what was committed stays, and the same call resumes."
);

/// The Python exception for a barge error: its message, with the advice on a line of its own,
/// and attributes for what a program can use.
pub fn to_py(py: Python<'_>, e: &barge::Error) -> PyErr {
    let from_program = |input: &str| matches!(input, "rows" | "arrow");
    let (mut msg, advice) = match e.kind() {
        // Rows from the program have a number, not a line or byte of a file.
        ErrorKind::Value {
            input,
            position,
            column,
            value,
            reason,
        } if from_program(input) => (
            format!(
                "row {}, column \"{column}\": invalid value {value:?}: {reason}",
                position.record
            ),
            Some(BAD_ROW_ADVICE.to_string()),
        ),
        ErrorKind::Csv {
            input,
            position,
            message,
        } if from_program(input) => (
            format!("row {}: {message}", position.record),
            Some(BAD_ROW_ADVICE.to_string()),
        ),
        _ => (e.to_string(), e.advice().map(|a| python_spelling(&a))),
    };
    if let Some(note) = e.note() {
        msg.push_str("\nnote: ");
        msg.push_str(note);
    }
    if let Some(advice) = &advice {
        msg.push_str("\nhint: ");
        msg.push_str(advice);
    }
    if e.goes_on_when_run_again() {
        msg.push_str(
            "\nnote: called again so, the load skips the rows it committed and goes on from \
             where it stopped",
        );
    }
    let err = match e.kind() {
        ErrorKind::Value { .. } | ErrorKind::Csv { .. } => BadRow::new_err(msg),
        ErrorKind::Connect { .. } => ConnectError::new_err(msg),
        ErrorKind::Interrupted => Interrupted::new_err(msg),
        ErrorKind::Database { .. } | ErrorKind::Sqlite { .. } | ErrorKind::Mysql { .. } => {
            DatabaseError::new_err(msg)
        }
        _ if e.class() == ErrorClass::Config => ConfigError::new_err(msg),
        _ => Error::new_err(msg),
    };
    let value = err.value(py);
    let set = |name: &str, v: Py<PyAny>| {
        // Setting an attribute on a fresh exception object cannot fail.
        let _ = value.setattr(name, v);
    };
    set("hint", advice.into_py_any_or_none(py));
    set("rows_committed", e.committed_rows().into_py_any_or_none(py));
    set(
        "load_id",
        e.load_id().map(str::to_string).into_py_any_or_none(py),
    );
    set(
        "sqlstate",
        e.sqlstate().map(str::to_string).into_py_any_or_none(py),
    );
    match e.kind() {
        ErrorKind::Value {
            input,
            position,
            column,
            value: v,
            reason,
        } => {
            set("input", input.clone().into_py_any_or_none(py));
            set("row", Some(position.record).into_py_any_or_none(py));
            set("column", Some(column.clone()).into_py_any_or_none(py));
            set("value", Some(v.clone()).into_py_any_or_none(py));
            set("reason", Some(reason.clone()).into_py_any_or_none(py));
        }
        ErrorKind::Csv {
            input,
            position,
            message,
        } => {
            set("input", input.clone().into_py_any_or_none(py));
            set("row", Some(position.record).into_py_any_or_none(py));
            set("column", None::<String>.into_py_any_or_none(py));
            set("value", None::<String>.into_py_any_or_none(py));
            set("reason", Some(message.clone()).into_py_any_or_none(py));
        }
        _ => {}
    }
    err
}

const BAD_ROW_ADVICE: &str = "fix the value (or the column's type), or pass rejects=\"bad.csv\" to set bad rows aside and load the rest";

/// The CLI's advice, with the keyword argument's name where it names a flag.
pub(crate) fn python_spelling(advice: &str) -> String {
    let mut s = null_lists(advice)
        .replace("--into / DATABASE_URL", "the URL")
        .replace("run the same command with", "call it again with")
        .replace("--on-conflict nothing", "on_conflict=\"nothing\"")
        .replace("--on-conflict update", "on_conflict=\"update\"")
        .replace("--rejects FILE", "rejects=PATH")
        .replace("--delimiter '", "delimiter='")
        .replace("--delimiter tab", "delimiter=\"tab\"")
        .replace("--delimiter gives", "delimiter= gives")
        .replace("--format text", "format=\"text\"")
        .replace("--decimal-comma", "decimal_comma=True")
        .replace("--thousands ,", "thousands=\",\"")
        .replace("--skip-lines N", "skip_lines=N")
        .replace("--continue-changed", "continue_changed=True")
        .replace("--load-id ", "load_id=");
    // Switches are keywords set to True; the others take a value.
    for flag in [
        "--create",
        "--again",
        "--atomic",
        "--replace",
        "--dry-run",
        "--ignore-unknown",
        "--header",
        "--no-checkpoint",
    ] {
        let kw = format!("{}=True", flag.trim_start_matches("--").replace('-', "_"));
        s = s.replace(flag, &kw);
    }
    for flag in [
        "--table",
        "--columns",
        "--rejects",
        "--load-id",
        "--sample-rows",
        "--workers",
        "--mode",
        "--key",
        "--null",
        "--encoding",
    ] {
        let kw = format!("{}=", flag.trim_start_matches("--").replace('-', "_"));
        s = s.replace(flag, &kw);
    }
    s
}

/// `--null 'NULL' --null ''`, the flag given once for each text, is one keyword with a list:
/// `null=['NULL', '']`.
fn null_lists(advice: &str) -> String {
    const FLAG: &str = "--null '";
    let mut out = String::with_capacity(advice.len());
    let mut rest = advice;
    while let Some(at) = rest.find(FLAG) {
        out.push_str(&rest[..at]);
        let mut texts = Vec::new();
        let mut after = &rest[at..];
        while let Some((text, tail)) = after.strip_prefix(FLAG).and_then(|t| t.split_once('\'')) {
            texts.push(text);
            after = tail;
            match tail.strip_prefix(' ').filter(|t| t.starts_with(FLAG)) {
                Some(next) => after = next,
                None => break,
            }
        }
        match texts.as_slice() {
            [] => {
                // An unterminated quote: left as it is.
                out.push_str(after);
                return out;
            }
            [one] => out.push_str(&format!("null='{one}'")),
            many => {
                let quoted: Vec<String> = many.iter().map(|t| format!("'{t}'")).collect();
                out.push_str(&format!("null=[{}]", quoted.join(", ")));
            }
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A KeyboardInterrupt that says what became of the load.
pub fn interrupted(e: Option<&barge::Error>) -> PyErr {
    let msg = match e {
        Some(e) => e.to_string(),
        None => "the load was stopped".to_string(),
    };
    PyKeyboardInterrupt::new_err(msg)
}

trait IntoPyOrNone {
    fn into_py_any_or_none(self, py: Python<'_>) -> Py<PyAny>;
}

impl<T: for<'py> IntoPyObject<'py>> IntoPyOrNone for Option<T> {
    fn into_py_any_or_none(self, py: Python<'_>) -> Py<PyAny> {
        match self.map(|v| v.into_py_any(py)) {
            Some(Ok(v)) => v,
            _ => py.None(),
        }
    }
}

impl IntoPyOrNone for String {
    fn into_py_any_or_none(self, py: Python<'_>) -> Py<PyAny> {
        Some(self).into_py_any_or_none(py)
    }
}
