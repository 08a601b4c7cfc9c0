//! Turning text fields into what the database receives. Pure functions, no I/O: every encoder
//! here is unit-tested on its own and benchmarked in `benches/encode.rs`.

pub mod datetime;
pub mod interval;
pub mod json;
pub mod jsonb_order;
pub mod mysql;
pub mod network;
pub mod number_format;
pub mod numeric;
pub mod pg_array;
pub mod pg_binary;
pub mod pg_range;
pub mod pg_text;
pub mod row;
pub mod sqlite;

/// What an encoder did with one value.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Written to the output buffer.
    Done,
    /// Not a form the client reads (`1e5` for numeric, `epoch` for a date, a time zone name):
    /// nothing was written, and the server must resolve it. PostgreSQL is the oracle for what
    /// its types accept, so barge never rejects a value only because it does not parse it.
    Defer,
    /// The value cannot be of this type in any form PostgreSQL accepts; the text says why.
    Reject(String),
}

/// ASCII whitespace trimmed from both ends, as PostgreSQL's input functions do.
pub(crate) fn trim_ascii(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

/// Why `raw` is not UTF-8, and what it reads as in Windows-1252: the text the user meant,
/// most often (what Excel writes on Western Windows; Latin-1's printable characters are its
/// own), which the error's advice turns into `--encoding`.
pub(crate) fn not_utf8(raw: &[u8]) -> String {
    let at = std::str::from_utf8(raw)
        .err()
        .map_or(0, |e| e.valid_up_to())
        + 1;
    let read = encoding_rs::WINDOWS_1252.decode_without_bom_handling(raw).0;
    let cut: String = read.chars().take(80).collect();
    format!("not UTF-8 (byte {at} of the value); read as windows-1252 it is \"{cut}\"")
}
