//! How SQLite's errors are told apart: [`classify`] gives each one its [`ErrorClass`].

use crate::error::{Error, ErrorClass, ErrorKind};

impl Error {
    /// A SQLite error with the given context, classified.
    pub(crate) fn sqlite(context: impl Into<String>, source: rusqlite::Error) -> Self {
        Error::new(ErrorKind::Sqlite {
            context: context.into(),
            chunk: None,
            class: classify(&source),
            source,
        })
    }
}

/// The class of a SQLite error: a constraint, a value too big or of the wrong type is about a
/// row; a file that cannot be opened or written, or is no database, is the command's to
/// change. (A lock held by another process is waited out by `busy_timeout`, not retried.)
pub(crate) fn classify(e: &rusqlite::Error) -> ErrorClass {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::ConstraintViolation | C::TooBig | C::TypeMismatch) => ErrorClass::Row,
        Some(
            C::CannotOpen
            | C::ReadOnly
            | C::PermissionDenied
            | C::AuthorizationForStatementDenied
            | C::NotADatabase,
        ) => ErrorClass::Config,
        _ => ErrorClass::Other,
    }
}

/// A UNIQUE or PRIMARY KEY constraint refused the row (SQLite's extended result codes).
pub(crate) fn is_duplicate_key(e: &rusqlite::Error) -> bool {
    const UNIQUE: i32 = 2067;
    const PRIMARY_KEY: i32 = 1555;
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _) if f.extended_code == UNIQUE || f.extended_code == PRIMARY_KEY
    )
}
