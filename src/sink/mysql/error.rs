//! How MySQL's and MariaDB's errors are told apart: [`classify`] gives each its
//! [`ErrorClass`] by the server's error code, or by what the driver saw.

use crate::error::{Error, ErrorClass, ErrorKind};

impl Error {
    /// A MySQL error with the given context, classified.
    pub(crate) fn mysql(context: impl Into<String>, source: mysql_async::Error) -> Self {
        Error::new(ErrorKind::Mysql {
            context: context.into(),
            chunk: None,
            class: classify(&source),
            source,
        })
    }

    /// A refusal of some row's data that the server only warned about (LOAD DATA LOCAL turns
    /// errors into warnings): a row error whatever its code.
    pub(crate) fn mysql_row(context: impl Into<String>, source: mysql_async::Error) -> Self {
        Error::new(ErrorKind::Mysql {
            context: context.into(),
            chunk: None,
            class: ErrorClass::Row,
            source,
        })
    }

    /// The server's error code, for a MySQL error.
    pub(crate) fn mysql_code(&self) -> Option<u16> {
        match self.kind() {
            ErrorKind::Mysql {
                source: mysql_async::Error::Server(e),
                ..
            } => Some(e.code),
            _ => None,
        }
    }
}

/// Codes worth retrying: too many connections (1040), server shutting down (1053), lock wait
/// timeout (1205), deadlock (1213), query or connection killed (1317, 1927), gone away or lost
/// (2006, 2013), disconnected for inactivity (4031).
const TRANSIENT: &[u16] = &[1040, 1053, 1205, 1213, 1317, 1927, 2006, 2013, 4031];

/// Codes about one row's data: NULL into NOT NULL (1048), duplicate key (1062), a foreign key
/// (1451, 1452), too few or too many fields (1261, 1262, 1263), out of range (1264, 1690),
/// truncated or invalid values (1265, 1292, 1366, 1367, 1406, 1411), a check constraint
/// (3819; MariaDB 4025), invalid JSON (3140).
const ROW: &[u16] = &[
    1048, 1062, 1261, 1262, 1263, 1264, 1265, 1292, 1366, 1367, 1406, 1411, 1451, 1452, 1690, 3140,
    3819, 4025,
];

/// Codes the command or the server's set-up must change for: access denied (1044, 1045,
/// 1142, 1143, 1227), no such database or table (1049, 1146), bad names (1102, 1103),
/// LOCAL INFILE refused (1148, 3948), an unknown authentication plugin (1251, 2059).
const CONFIG: &[u16] = &[
    1044, 1045, 1049, 1102, 1103, 1142, 1143, 1146, 1148, 1227, 1251, 2059, 3948,
];

/// The class of a driver error.
pub(crate) fn classify(e: &mysql_async::Error) -> ErrorClass {
    use mysql_async::{DriverError, Error as E, IoError};
    match e {
        E::Server(s) if TRANSIENT.contains(&s.code) => ErrorClass::Transient,
        E::Server(s) if ROW.contains(&s.code) => ErrorClass::Row,
        E::Server(s) if CONFIG.contains(&s.code) => ErrorClass::Config,
        E::Server(_) => ErrorClass::Other,
        // A certificate refused or a handshake that failed: the same settings fail the same way.
        E::Io(IoError::Tls(_)) => ErrorClass::Config,
        E::Io(IoError::Io(io)) if is_tls(io) => ErrorClass::Config,
        E::Io(_) => ErrorClass::Transient,
        E::Driver(DriverError::ConnectionClosed | DriverError::PoolDisconnected) => {
            ErrorClass::Transient
        }
        E::Driver(
            DriverError::NoClientSslFlagFromServer
            | DriverError::UnknownAuthPlugin { .. }
            | DriverError::CleartextPluginDisabled
            | DriverError::MysqlOldPasswordDisabled,
        ) => ErrorClass::Config,
        E::Url(_) => ErrorClass::Config,
        _ => ErrorClass::Other,
    }
}

/// Whether an I/O error carries a TLS failure (rustls reports through `io::Error`).
fn is_tls(io: &std::io::Error) -> bool {
    io.get_ref().is_some_and(|inner| {
        let text = inner.to_string().to_ascii_lowercase();
        text.contains("certificate") || text.contains("tls") || text.contains("handshake")
    })
}

/// A unique key refused the row: duplicate entry (1062), or the same with the key's name
/// (1586).
pub(crate) fn is_duplicate_key(e: &Error) -> bool {
    matches!(e.mysql_code(), Some(1062 | 1586))
}
