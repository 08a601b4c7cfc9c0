//! The options of `barge load`, by their command-line names, as one value: what the CLI parses
//! its flags into and what the Python package reads its keyword arguments into (from JSON), so
//! that both shells turn them into a [`Load`] the same way, with the same defaults.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::{Load, Mode};
use crate::encode::number_format::NumberFormat;
use crate::error::{Error, Result};
use crate::null::NullTexts;
use crate::retry::RetryPolicy;
use crate::source::csv::CsvOptions;
use crate::source::format::Format;
use crate::upsert::OnConflict;

/// Every option of `barge load` but the input and `--into`, named as on the command line
/// (`--chunk-rows` is `chunk_rows`), with the command line's defaults.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadOptions {
    /// `--table`
    pub table: Option<String>,
    /// `--columns`
    #[serde(deserialize_with = "one_or_many")]
    pub columns: Option<Vec<String>>,
    /// `--format`
    #[serde(deserialize_with = "parsed")]
    pub format: Option<Format>,
    /// `--ignore-unknown`
    pub ignore_unknown: bool,
    /// `--delimiter`: one ASCII character, or `tab`.
    #[serde(deserialize_with = "delimiter")]
    pub delimiter: Option<u8>,
    /// `--decimal-comma`
    pub decimal_comma: bool,
    /// `--thousands`: the character between groups of three digits.
    pub thousands: Option<char>,
    /// `--no-header`
    pub no_header: bool,
    /// `--header` (for the text format, which has none unless told)
    pub header: bool,
    /// `--skip-lines`
    pub skip_lines: u64,
    /// `--null`, once or more (default: an unquoted empty field). For rows a program builds,
    /// a string equal to one of them is NULL only when it is given.
    #[serde(deserialize_with = "texts")]
    pub null: Option<Vec<String>>,
    /// `--encoding`
    pub encoding: Option<String>,
    /// `--sample-rows`
    pub sample_rows: usize,
    /// `--create`
    pub create: bool,
    /// `--distribute-by`
    pub distribute_by: Option<String>,
    /// `--split K/N`
    #[serde(deserialize_with = "parsed")]
    pub split: Option<crate::split::Split>,
    /// `--on-conflict`
    #[serde(deserialize_with = "parsed")]
    pub on_conflict: Option<OnConflict>,
    /// `--key`
    #[serde(deserialize_with = "one_or_many")]
    pub key: Option<Vec<String>>,
    /// `--update-columns`
    #[serde(deserialize_with = "one_or_many")]
    pub update_columns: Option<Vec<String>>,
    /// `--mode`
    #[serde(deserialize_with = "mode")]
    pub mode: Mode,
    /// `--rejects`
    pub rejects: Option<PathBuf>,
    /// `--max-errors`
    pub max_errors: Option<u64>,
    /// `--chunk-rows`; `None` lets barge choose (10,000, grown while commits are slow, or what
    /// the backend needs). A value given counts as chosen even when it equals the default.
    pub chunk_rows: Option<usize>,
    /// `--chunk-bytes`: a number, or a size such as `"32MiB"`; `None` lets barge choose (8 MiB,
    /// or what the backend needs).
    #[serde(deserialize_with = "size")]
    pub chunk_bytes: Option<usize>,
    /// `--workers` (default 2, or 1 with `--atomic`)
    pub workers: Option<usize>,
    /// `--checkpoint-table`
    pub checkpoint_table: String,
    /// `--no-checkpoint`
    pub no_checkpoint: bool,
    /// `--load-id`
    pub load_id: Option<String>,
    /// `--again`
    pub again: bool,
    /// `--continue-changed`
    pub continue_changed: bool,
    /// `--atomic`
    pub atomic: bool,
    /// `--replace`
    pub replace: bool,
    /// `--dry-run`
    pub dry_run: bool,
    /// `--keep-indexes`
    pub keep_indexes: bool,
    /// `--retries`
    pub retries: u32,
    /// `--retry-for`, in seconds.
    pub retry_for: u64,
    /// `--commit-every`, in seconds.
    pub commit_every: f64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            table: None,
            columns: None,
            format: None,
            ignore_unknown: false,
            delimiter: None,
            decimal_comma: false,
            thousands: None,
            no_header: false,
            header: false,
            skip_lines: 0,
            null: None,
            encoding: None,
            sample_rows: crate::infer::DEFAULT_SAMPLE_ROWS,
            create: false,
            distribute_by: None,
            split: None,
            on_conflict: None,
            key: None,
            update_columns: None,
            mode: Mode::Copy,
            rejects: None,
            max_errors: None,
            chunk_rows: None,
            chunk_bytes: None,
            workers: None,
            checkpoint_table: crate::checkpoint::DEFAULT_TABLE.to_string(),
            no_checkpoint: false,
            load_id: None,
            again: false,
            continue_changed: false,
            atomic: false,
            replace: false,
            dry_run: false,
            keep_indexes: false,
            retries: 10,
            retry_for: 300,
            commit_every: super::DEFAULT_COMMIT_EVERY.as_secs_f64(),
        }
    }
}

impl LoadOptions {
    /// A load into `target` with these options.
    ///
    /// # Errors
    /// A configuration error for a target that cannot be parsed or an unknown encoding.
    pub fn load(&self, target: &str) -> Result<Load> {
        let mut load = Load::into(target)?
            .csv(self.csv()?)
            .sample_rows(self.sample_rows)
            .default_workers(if self.atomic || self.replace || self.dry_run {
                1
            } else {
                2
            })
            .checkpoint_table((!self.no_checkpoint).then(|| self.checkpoint_table.clone()))
            .again(self.again)
            .continue_changed(self.continue_changed)
            .atomic(self.atomic)
            .replace(self.replace)
            .dry_run(self.dry_run)
            .keep_indexes(self.keep_indexes)
            .mode(self.mode)
            .ignore_unknown(self.ignore_unknown)
            .retry(RetryPolicy {
                max_retries: self.retries,
                max_elapsed: Duration::from_secs(self.retry_for),
                ..RetryPolicy::default()
            });
        if let Some(id) = &self.load_id {
            load = load.load_id(id);
        }
        let every = Duration::try_from_secs_f64(self.commit_every).map_err(|_| {
            Error::config(format!(
                "--commit-every takes seconds, 0 or more: {} is not",
                self.commit_every
            ))
        })?;
        load = load.commit_every(every);
        // Only what was given counts as chosen (the default's value given too): the backend
        // and the tuner size the rest.
        if let Some(n) = self.chunk_rows {
            load = load.chunk_rows(n);
        }
        if let Some(n) = self.chunk_bytes {
            load = load.chunk_bytes(n);
        }
        if let Some(n) = self.workers {
            load = load.workers(n);
        }
        if let Some(n) = &self.null {
            load = load.null_strings(NullTexts::new(n.iter().map(String::as_bytes)));
        }
        if let Some(t) = &self.table {
            load = load.table(t);
        }
        if let Some(c) = &self.columns {
            load = load.columns(c.clone());
        }
        if self.create {
            load = load.create(true);
        }
        if let Some(c) = &self.distribute_by {
            load = load.distribute_by(c);
        }
        if let Some(s) = self.split {
            load = load.split(s);
        }
        if let Some(f) = self.format {
            load = load.format(f);
        }
        if let Some(label) = &self.encoding {
            load = load.encoding(label)?;
        }
        if let Some(p) = &self.rejects {
            load = load.rejects(p);
        }
        if let Some(n) = self.max_errors {
            load = load.max_errors(n);
        }
        if let Some(action) = self.on_conflict {
            load = load.on_conflict(action);
        }
        if let Some(k) = &self.key {
            load = load.key(k.clone());
        }
        if let Some(u) = &self.update_columns {
            load = load.update_columns(u.clone());
        }
        Ok(load)
    }

    /// How CSV is read.
    ///
    /// # Errors
    /// A configuration error for a `--thousands` separator that numbers cannot be read with.
    pub fn csv(&self) -> Result<CsvOptions> {
        Ok(CsvOptions {
            delimiter: self.delimiter.unwrap_or(b','),
            detect_delimiter: self.delimiter.is_none(),
            numbers: NumberFormat::new(self.decimal_comma, self.thousands)
                .map_err(Error::config)?,
            header: has_header(self.format, self.header, self.no_header),
            header_given: self.header || self.no_header,
            skip_lines: self.skip_lines,
            null: NullTexts::new(self.null.iter().flatten().map(String::as_bytes)),
            ..CsvOptions::default()
        })
    }
}

/// Whether the input has a header line: `--header` or `--no-header` when given, else what
/// its format has by default.
pub fn has_header(format: Option<Format>, header: bool, no_header: bool) -> bool {
    !no_header && (header || format.is_none_or(Format::header_by_default))
}

/// `--delimiter`'s value: one ASCII character that is not a quote or line break, or `tab`.
///
/// # Errors
/// Says what is allowed.
pub fn parse_delimiter(s: &str) -> std::result::Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.as_bytes()[0].is_ascii() && !matches!(s, "\"" | "\n" | "\r") => {
            Ok(s.as_bytes()[0])
        }
        _ => Err(
            "the delimiter must be one ASCII character (not a quote or newline), or \"tab\"".into(),
        ),
    }
}

/// `--thousands`' value: one character (`space` for a space), which
/// [`NumberFormat::new`] then checks against the decimal mark.
///
/// # Errors
/// Says what is allowed.
pub fn parse_thousands(s: &str) -> std::result::Result<char, String> {
    let mut chars = s.chars();
    match (s, chars.next(), chars.next()) {
        ("space", _, _) => Ok(' '),
        (_, Some(c), None) => Ok(c),
        _ => Err("the thousands separator must be one character (\",\", \"'\", \"space\")".into()),
    }
}

/// `--mode`'s value.
///
/// # Errors
/// Says what is allowed.
pub fn parse_mode(s: &str) -> std::result::Result<Mode, String> {
    match s {
        "copy" => Ok(Mode::Copy),
        "insert" => Ok(Mode::Insert),
        _ => Err(format!("unknown mode {s:?}: use copy or insert")),
    }
}

/// `--chunk-bytes`'s value: a number of bytes, optionally with a unit: `KiB`, `MiB`, `GiB`
/// (also `K`, `M`, `G`, `KB`, `MB`, `GB`, all powers of 1024, as memory is counted).
///
/// # Errors
/// Says what is allowed.
pub fn parse_bytes(s: &str) -> std::result::Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "{s:?} is not a size: write bytes, or a number with KiB, MiB or GiB"
            ))
        }
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1usize << shift))
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            format!("{s:?} is not a size: write bytes, or a number with KiB, MiB or GiB")
        })
}

fn parsed<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    Option::<String>::deserialize(d)?
        .map(|s| s.parse().map_err(serde::de::Error::custom))
        .transpose()
}

fn delimiter<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u8>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| parse_delimiter(&s).map_err(serde::de::Error::custom))
        .transpose()
}

fn size<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<usize>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(usize),
        Text(String),
    }
    Option::<Size>::deserialize(d)?
        .map(|s| match s {
            Size::Bytes(n) => Ok(n),
            Size::Text(s) => parse_bytes(&s).map_err(serde::de::Error::custom),
        })
        .transpose()
}

fn mode<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Mode, D::Error> {
    parse_mode(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// One string, or a list of them, as a keyword argument may give either.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// A list of names, or one name (`key="id"`), or `a,b` as on the command line.
fn one_or_many<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|n| match n {
        OneOrMany::One(s) => s.split(',').map(|p| p.trim().to_string()).collect(),
        OneOrMany::Many(v) => v,
    }))
}

/// A text, or a list of them: unlike names, a text is never split at commas (`--null` may
/// be any text).
fn texts<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|t| match t {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

impl LoadOptions {
    /// Options from a JSON object of them (the Python package's keyword arguments).
    ///
    /// # Errors
    /// A configuration error naming the option that is unknown or has a bad value.
    pub fn from_json(json: &str) -> Result<LoadOptions> {
        serde_json::from_str(json).map_err(|e| Error::config(format!("bad option: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_ROWS};

    #[test]
    fn options_read_from_json_by_their_command_line_names() {
        let o = LoadOptions::from_json(
            r#"{"chunk_rows": 5, "key": "a, b", "mode": "insert", "delimiter": "tab", "on_conflict": "update"}"#,
        )
        .unwrap();
        assert_eq!(o.chunk_rows, Some(5));
        assert_eq!(o.key, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(o.mode, Mode::Insert);
        assert_eq!(o.delimiter, Some(b'\t'));
        assert_eq!(o.on_conflict, Some(OnConflict::Update));
        assert_eq!(o.chunk_bytes, None);
        let e = LoadOptions::from_json(r#"{"chunkrows": 5}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `chunkrows`"), "{e}");
        let e = LoadOptions::from_json(r#"{"mode": "fast"}"#).unwrap_err();
        assert!(e.to_string().contains("use copy or insert"), "{e}");
    }

    /// Regression: `--chunk-bytes 8MiB` (the default's value, given) counted as not given, so
    /// a backend's own sizing (Citus') replaced what the user asked for.
    #[test]
    fn a_chunk_size_given_counts_as_chosen_even_at_the_default() {
        let given = |json: &str| {
            let load = LoadOptions::from_json(json)
                .unwrap()
                .load("sqlite::memory:")
                .unwrap();
            (load.given[0], load.given[1])
        };
        assert_eq!(given("{}"), (false, false));
        assert_eq!(
            given(r#"{"chunk_rows": null, "chunk_bytes": null}"#),
            (false, false)
        );
        assert_eq!(
            given(&format!(
                r#"{{"chunk_rows": {DEFAULT_CHUNK_ROWS}, "chunk_bytes": "8MiB"}}"#
            )),
            (true, true)
        );
        assert_eq!(
            given(&format!(r#"{{"chunk_bytes": {DEFAULT_CHUNK_BYTES}}}"#)),
            (false, true)
        );
    }

    #[test]
    fn sizes_read_with_or_without_a_unit() {
        use super::parse_bytes;
        assert_eq!(parse_bytes("8388608"), Ok(8 << 20));
        assert_eq!(parse_bytes("32MiB"), Ok(32 << 20));
        assert_eq!(parse_bytes("512 k"), Ok(512 << 10));
        assert_eq!(parse_bytes("1G"), Ok(1 << 30));
        for bad in [
            "",
            "0",
            "MiB",
            "1.5MiB",
            "12 parsecs",
            "-1",
            "99999999999999999999999",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }
}
