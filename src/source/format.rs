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
    /// One JSON object per line.
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
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "parquet" | "parq" | "pq" => Some(Format::Parquet),
            _ => None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
