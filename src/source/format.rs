//! Which reader a file needs: from `--format`, else from its name (`.csv`, `.tsv`, `.ndjson`,
//! `.jsonl`, under `.gz` / `.zst`).

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
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" => Ok(Format::Tsv),
            "ndjson" | "jsonl" | "json" => Ok(Format::Ndjson),
            _ => Err(format!("unknown format {s:?}: use csv, tsv or ndjson")),
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
            _ => None,
        }
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
        assert_eq!(Format::from_path(Path::new("-")), None);
    }
}
