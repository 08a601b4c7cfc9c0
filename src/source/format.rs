//! Which reader a file needs: from `--format`, else from its name (`.csv`, `.tsv`, `.ndjson`,
//! `.jsonl`, under `.gz` / `.zst`; `.parquet`), else from its first bytes (Parquet's magic).

use std::path::Path;
use std::str::FromStr;

/// An input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values (or another `--delimiter`).
    Csv,
    /// Tab-separated values: CSV with a tab delimiter.
    Tsv,
    /// JSON objects: one per line (NDJSON), in an array, or over several lines each
    /// ([`super::json_frames::Framing`]).
    Ndjson,
    /// Apache Parquet (a file, not a stream: its index is at its end).
    Parquet,
    /// PostgreSQL's text format (`COPY ... TO`, `psql \copy ... to`, MySQL's `INTO OUTFILE`):
    /// tab-separated, `\N` for NULL, backslash escapes, no quoting.
    Text,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" => Ok(Format::Tsv),
            "ndjson" | "jsonl" | "json" => Ok(Format::Ndjson),
            "parquet" => Ok(Format::Parquet),
            "text" => Ok(Format::Text),
            _ => Err(format!(
                "unknown format {s:?}: use csv, tsv, ndjson, parquet or text"
            )),
        }
    }
}

impl Format {
    /// The format a file name says, if it says one.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .or_else(|| name.strip_suffix(".zstd"))
            .unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            // A `.json` file is most often one object per line, or an array of them (see
            // `json_frames`); read as CSV, it loaded nothing, silently.
            "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
            "parquet" | "parq" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// Whether `head`, a file's first bytes, is PostgreSQL's text format (what `psql \copy
    /// ... to` and MySQL's `INTO OUTFILE` write, most often to a `.txt` file): every whole
    /// line splits on tabs into the same number of fields, at least two, and some field is
    /// `\N`, the NULL no CSV writer writes. Read as CSV, such a file would load `\N` as text
    /// and its first row as a header. `Some(header)`: whether its first line is a header
    /// (no `\N` in it, and every field a name: a letter or `_` first; these files have none
    /// unless their writer was asked for one).
    pub fn text_format_head(head: &[u8], whole: bool) -> Option<bool> {
        let mut lines: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
        // The part after the last line break is no whole line (nothing, at a file's end).
        if !whole || lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let fields = |l: &&[u8]| l.split(|&b| b == b'\t').count();
        let k = fields(lines.first()?);
        let null = |l: &&[u8]| l.split(|&b| b == b'\t').any(|f| f == b"\\N");
        if k < 2 || !lines.iter().all(|l| fields(l) == k) || !lines.iter().any(null) {
            return None;
        }
        let first = lines.first()?;
        let named = first.split(|&b| b == b'\t').all(|f| {
            f.first()
                .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
        });
        Some(!null(first) && named)
    }

    /// [`Format::text_format_head`] of the file at `path`'s first 64 KiB (`None` when it
    /// cannot be read: the load then says why).
    pub fn text_format_of(path: &Path) -> Option<bool> {
        use std::io::Read;
        let mut head = Vec::with_capacity(crate::source::csv::SNIFF_BYTES);
        std::fs::File::open(path)
            .ok()?
            .take(crate::source::csv::SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .ok()?;
        let whole = head.len() < crate::source::csv::SNIFF_BYTES;
        Format::text_format_head(&head, whole)
    }

    /// Whether a file of this format has a header line unless told otherwise: PostgreSQL's
    /// text format has none (neither `COPY ... TO` nor `psql \copy ... to` writes one unless
    /// asked to, nor MySQL's `INTO OUTFILE`); a CSV or TSV file has one.
    pub fn header_by_default(self) -> bool {
        self != Format::Text
    }

    /// The format of the input at `path` (if a file) when `--format` does not say it: from
    /// its name, else Parquet when it starts with Parquet's magic bytes, else CSV.
    pub fn of_input(path: Option<&Path>) -> Format {
        let Some(path) = path else {
            return Format::Csv;
        };
        Format::from_path(path).unwrap_or_else(|| {
            let mut magic = [0u8; 4];
            let parquet = std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
                .is_ok()
                && &magic == b"PAR1";
            if parquet {
                Format::Parquet
            } else {
                Format::Csv
            }
        })
    }
}

/// What an input that is no text file is, judged from its first (decompressed) bytes, with
/// what to do about it: a workbook, a database file or another compression read as CSV would
/// create a table from a garbage header and load nothing, or fail on its first line with a
/// message about fields. `None` for anything that may be text. `transcoded` is whether
/// `--encoding` was given (a UTF-16 file is then read through it).
pub fn not_text(head: &[u8], transcoded: bool) -> Option<&'static str> {
    const KINDS: &[(&[u8], &str)] = &[
        (
            b"PK\x03\x04",
            "a ZIP archive (an Excel .xlsx workbook is one): export the sheet as CSV, or unzip \
             it",
        ),
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "an Office document (an Excel .xls workbook): export the sheet as CSV",
        ),
        (b"%PDF-", "a PDF document, not a table of rows"),
        (
            b"PAR1",
            "a Parquet file read as text: pass --format parquet (or name it .parquet)",
        ),
        (
            b"SQLite format 3\0",
            "a SQLite database: load from a query's output (sqlite3 -csv -header db 'SELECT ...')",
        ),
        (
            b"BZh",
            "bzip2-compressed: decompress it first (bzip2 -dc FILE | barge load - ...); barge \
             reads gzip and zstd itself",
        ),
        (
            b"\xFD7zXZ\0",
            "xz-compressed: decompress it first (xz -dc FILE | barge load - ...); barge reads \
             gzip and zstd itself",
        ),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive: extract it first"),
        (
            b"ARROW1",
            "an Arrow IPC (Feather) file: write it as Parquet, which barge reads",
        ),
        (
            b"ORC",
            "an ORC file: write it as Parquet, which barge reads",
        ),
        (
            b"Obj\x01",
            "an Avro file: write it as Parquet, which barge reads",
        ),
    ];
    if let Some((_, what)) = KINDS.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(what);
    }
    if transcoded {
        return None;
    }
    if head.starts_with(b"\xFF\xFE") {
        return Some("UTF-16 (little-endian, from its byte-order mark): pass --encoding utf-16le");
    }
    if head.starts_with(b"\xFE\xFF") {
        return Some("UTF-16 (big-endian, from its byte-order mark): pass --encoding utf-16be");
    }
    // Text has no NUL byte: UTF-16 without a byte-order mark has one in every ASCII
    // character, other binary files most often early on.
    let line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    if line.contains(&0) {
        return Some(
            "not text: its first line holds NUL bytes (UTF-16 without a byte-order mark \
             needs --encoding utf-16le or utf-16be)",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_text_format_is_told_by_its_tabs_and_nulls() {
        let t = |s: &str, whole| Format::text_format_head(s.as_bytes(), whole);
        // MySQL's INTO OUTFILE: no header, \N for NULL.
        assert_eq!(
            t("0\t\\N\t2024-01-01\n1\tx\t2024-01-02\n", true),
            Some(false)
        );
        // psql's \copy ... to with HEADER.
        assert_eq!(t("id\t_name\n1\t\\N\n", true), Some(true));
        // A first line with \N, or a field no name starts so, is data.
        assert_eq!(t("id\t\\N\n1\tx\n", true), Some(false));
        assert_eq!(t("id\t2024\n1\t\\N\n", true), Some(false));
        // No \N: a tab-separated CSV file; field counts that differ, one field: not this.
        assert_eq!(t("id\tname\n1\tx\n", true), None);
        assert_eq!(t("a\tb\n1\t\\N\t3\n", true), None);
        assert_eq!(t("\\N\n1\n", true), None);
        assert_eq!(t("a,b\n1,\\N\n", true), None);
        assert_eq!(t("", true), None);
        // A line cut off by the end of the head does not count; one at the file's end does.
        assert_eq!(t("a\tb\n1\t\\N\n2\t", false), Some(true));
        assert_eq!(t("a\tb\n1\t\\N\n2\t3\t4", false), Some(true));
        assert_eq!(t("a\tb\n1\t\\N\n2\t3\t4", true), None);
        assert_eq!(t("a\tb\n1\t\\N", true), Some(true));
    }

    #[test]
    fn binary_files_and_utf16_are_told_from_text() {
        let says = |head: &[u8]| not_text(head, false).unwrap_or("text");
        assert!(says(b"PK\x03\x04\x14\0").contains("Excel .xlsx"));
        assert!(says(b"\xFF\xFEi\0d\0").contains("--encoding utf-16le"));
        assert!(says(b"\xFE\xFF\0i\0d").contains("--encoding utf-16be"));
        assert!(says(b"i\0d\0,\0").contains("NUL bytes"));
        assert!(says(b"BZh91AY").contains("bzip2"));
        assert!(says(b"PAR1\x15\x04").contains("--format parquet"));
        assert_eq!(says(b"id,name\n1,\xC3\xA9\n"), "text");
        assert_eq!(says(b"\xEF\xBB\xBFid,name\n"), "text");
        assert_eq!(says(b""), "text");
        // A NUL after the first line is a value's problem, reported with its line.
        assert_eq!(says(b"id\n\0\n"), "text");
        // Read through --encoding, UTF-16 is text.
        assert_eq!(not_text(b"\xFF\xFEi\0d\0", true), None);
    }

    #[test]
    fn formats_from_names() {
        assert_eq!(
            Format::from_path(Path::new("a/b.csv.gz")),
            Some(Format::Csv)
        );
        assert_eq!(Format::from_path(Path::new("b.TSV")), Some(Format::Tsv));
        assert_eq!(
            Format::from_path(Path::new("b.jsonl.zst")),
            Some(Format::Ndjson)
        );
        assert_eq!(Format::from_path(Path::new("b.txt")), None);
        assert_eq!(
            Format::from_path(Path::new("part-0.parquet")),
            Some(Format::Parquet)
        );
        assert_eq!(Format::from_path(Path::new("-")), None);
    }
}
