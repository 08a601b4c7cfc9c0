//! A table that fits a file: column names from its header and types from a sample of its
//! rows, for `barge schema` and `--create`.
//!
//! Each sampled value is classified on its own and the classes merge up a small lattice
//! (bigint + numeric -> numeric, numeric + double -> double, date + timestamp -> timestamp,
//! anything else mixed -> text). Two rules keep data intact rather than clever: a number with
//! a leading zero (`007`, zip code `02134`) is text, because a number column would drop the
//! zero; and dates are recognised only in ISO 8601 (`2024-03-01`), because `01/02/2024` means
//! different days in different places. Values with an exponent are `double`; other decimals are
//! `numeric`, which keeps every digit.

use std::fmt;

use crate::encode::number_format::NumberFormat;
use crate::encode::{datetime, Outcome};
use crate::error::Result;
use crate::ident::{column_names, Dialect};
use crate::null::NullTexts;
use crate::record::Record;
use crate::record::RecordSource;

/// Rows read to infer types unless told otherwise.
pub const DEFAULT_SAMPLE_ROWS: usize = 10_000;

/// The type inferred for a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inferred {
    /// true/false, t/f, yes/no, y/n (not 0/1: those are numbers).
    Boolean,
    /// Integers that fit 64 bits.
    Bigint,
    /// Numbers in exponent form, `NaN`, `Infinity`.
    Double,
    /// Decimals (and integers too long for 64 bits), exact.
    Numeric,
    /// `YYYY-MM-DD`.
    Date,
    /// An ISO 8601 date and time without an offset.
    Timestamp,
    /// An ISO 8601 date and time with `Z` or an offset.
    Timestamptz,
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    Uuid,
    /// A JSON object or array.
    Json,
    /// Anything else, and columns that were empty in the whole sample.
    Text,
    /// A time of day. Only a typed source (Arrow) says so: text that looks like one stays text.
    Time,
    /// Bytes. Only a typed source (Arrow) says so: a text field is never read as bytes.
    Bytes,
    /// A span of time. Only a typed source (Arrow durations and intervals: pandas' timedeltas)
    /// says so; its text is one PostgreSQL's `interval` reads, and other targets keep as text.
    Interval,
}

impl Inferred {
    /// The type a typed value says.
    pub fn of_typed(v: crate::record::Typed) -> Inferred {
        use crate::record::Typed;
        match v {
            Typed::Int(_) => Inferred::Bigint,
            Typed::Float(_) => Inferred::Double,
            Typed::Bool(_) => Inferred::Boolean,
            Typed::Date(_) => Inferred::Date,
            Typed::Time(_) => Inferred::Time,
            Typed::Timestamp {
                offset: Some(_), ..
            } => Inferred::Timestamptz,
            Typed::Timestamp { offset: None, .. } => Inferred::Timestamp,
            Typed::Uuid(_) => Inferred::Uuid,
            Typed::Bytes => Inferred::Bytes,
        }
    }

    fn merge(self, other: Inferred) -> Inferred {
        use Inferred::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Bigint, Numeric) | (Numeric, Bigint) => Numeric,
            (Bigint | Numeric, Double) | (Double, Bigint | Numeric) => Double,
            (Date, Timestamp) | (Timestamp, Date) => Timestamp,
            _ => Text,
        }
    }
}

/// A column of an inferred table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InferredColumn {
    /// The column's name: the header's, cleaned up (see [`sanitize`]).
    pub name: String,
    /// The type.
    pub ty: Inferred,
    /// Digits the column holds before / after the decimal point (for MySQL's
    /// `DECIMAL(p,s)`): a declared type's (Arrow's), or the sample's with room before the
    /// point ([`SAMPLED_INTEGER_DIGITS`]).
    pub digits: (usize, usize),
    /// Longest value seen, in bytes.
    pub max_len: usize,
    /// Each value is a list of `ty` values (only a typed source, Arrow, says so): a PostgreSQL
    /// array of `ty`, and JSON where there are no arrays.
    pub array: bool,
}

/// The fewest digits before the decimal point a sampled column is made to hold.
pub const SAMPLED_INTEGER_DIGITS: usize = 20;

/// An inferred table: what `barge schema` prints and `--create` creates.
#[derive(Clone, Debug)]
pub struct InferredTable {
    /// Columns in the file's order.
    pub columns: Vec<InferredColumn>,
    /// Rows the types were inferred from.
    pub sampled_rows: u64,
    /// Columns made text only by a missing value spelled out (`NULL`), which the user is told
    /// about: a table is not made of a guess that `NULL` means NULL.
    pub spelled_nulls: Vec<SpelledNulls>,
    /// The delimiter read from a CSV input's first lines, when it is not the comma: `barge
    /// schema` says so, as a load's `-v` does.
    pub delimiter: Option<u8>,
    /// Columns whose header field is empty, named `column_N` here: the first one is most often
    /// a DataFrame's row index, which the user is told.
    pub unnamed: Vec<usize>,
    /// Standard input read as PostgreSQL's text format, as its first lines are, with a header
    /// line or not (see [`crate::source::input::Head::read_as_text`]).
    pub read_as_text: Option<bool>,
    /// Columns made text only because their numbers are written as spreadsheets export them
    /// (`1,234.56`), which the user is told, naming the option that reads them.
    pub misread_numbers: Vec<(usize, MisreadNumbers)>,
    /// Columns made the primary key (`--key` of an upsert into a table `--create` makes), in
    /// key order; none by default.
    pub primary_key: Vec<usize>,
}

/// A column whose values are of one type but for a spelling of a missing value among them
/// (`2024-01-02`, `NULL`, `2024-01-03`): made text, as the server would store `NULL` in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpelledNulls {
    /// The column's index in [`InferredTable::columns`].
    pub column: usize,
    /// The first spelling seen ([`NULL_SPELLINGS`]).
    pub spelling: &'static str,
    /// The type the column would have without them.
    pub would_be: Inferred,
}

/// How exports write a missing value when they do not leave the field empty: SQL Server's and
/// MySQL Workbench's `NULL`, R's `NA`, Excel's `#N/A`, Python's `None`, numpy's `nan`. None of
/// them is NULL to the server unless `--null` names it, as COPY's `NULL` option does.
pub const NULL_SPELLINGS: [&str; 10] = [
    "NULL", "null", "Null", "None", "NA", "N/A", "#N/A", "nil", "NaN", "nan",
];

/// The spelling of a missing value that `value` is, if it is one.
pub fn spelled_null(value: &[u8]) -> Option<&'static str> {
    NULL_SPELLINGS
        .iter()
        .find(|s| s.as_bytes() == value)
        .copied()
}

impl InferredTable {
    /// What `barge schema` prints: the `CREATE TABLE` of `table` (quoted) in `dialect`, where
    /// its types come `from` (`the header and 12 rows`), and [`InferredTable::notes`], a
    /// comment line each.
    pub fn script(&self, table: &str, dialect: Dialect, from: &str) -> String {
        let mut out = format!(
            "{};\n-- from {from}\n",
            self.create_sql(table, dialect, false)
        );
        for note in self.notes(dialect) {
            out.push_str(&format!("-- {note}\n"));
        }
        out
    }

    /// What `barge schema` says below the table, a line each: the delimiter read from the
    /// file, and [`InferredTable::spelled_null_notes`].
    pub fn notes(&self, dialect: Dialect) -> Vec<String> {
        let delimiter = self.delimiter.map(|d| {
            format!(
                "fields separated by {} (read from the file's first lines; --delimiter gives \
                 another)",
                crate::source::csv::delimiter_arg(d)
            )
        });
        delimiter
            .into_iter()
            .chain(self.warnings())
            .chain(self.text_notes(dialect))
            .collect()
    }

    /// What a load that creates the table warns of, a line each, besides
    /// [`InferredTable::text_notes`]: columns whose header field is empty.
    pub fn warnings(&self) -> Vec<String> {
        let unnamed = self.unnamed.iter().filter_map(|&i| {
            let name = &self.columns.get(i)?.name;
            Some(match i {
                0 => format!(
                    "column \"{name}\" has no name in the header: a first column without one is \
                     most often the row index pandas' to_csv writes (index=False leaves it out)"
                ),
                _ => format!(
                    "column \"{name}\" has no name in the header (a line that ends with a \
                     delimiter, or has two in a row)"
                ),
            })
        });
        unnamed.collect()
    }

    /// Columns made text that an option would make another type, a line each: by a missing
    /// value spelled out ([`InferredTable::spelled_null_notes`]), or by numbers written as
    /// spreadsheets export them.
    pub fn text_notes(&self, dialect: Dialect) -> Vec<String> {
        let misread = self.misread_numbers.iter().filter_map(|(i, m)| {
            let c = self.columns.get(*i)?;
            m.note(&c.name, c.ty, dialect)
        });
        self.spelled_null_notes(dialect)
            .into_iter()
            .chain(misread)
            .collect()
    }

    /// What to tell about the columns made text by a spelled-out missing value (one line each),
    /// naming the types they would have in `dialect`.
    pub fn spelled_null_notes(&self, dialect: Dialect) -> Vec<String> {
        self.spelled_nulls
            .iter()
            .filter_map(|n| {
                let c = self.columns.get(n.column)?;
                let would_be = InferredColumn {
                    ty: n.would_be,
                    ..c.clone()
                };
                Some(format!(
                    "column \"{}\" is text because it holds {s}, its other values read as {}: if \
                     the file writes {s} for a missing value, pass --null '{s}' --null '' (empty \
                     fields stay NULL)",
                    c.name,
                    would_be.sql_type(dialect),
                    s = n.spelling,
                ))
            })
            .collect()
    }
}

/// What one value looks like.
fn classify(raw: &[u8]) -> (Inferred, (usize, usize)) {
    let s = raw.trim_ascii();
    if let Some(n) = number(s) {
        return n;
    }
    let lower = s.to_ascii_lowercase();
    match lower.as_slice() {
        b"true" | b"false" | b"t" | b"f" | b"yes" | b"no" | b"y" | b"n" => {
            return (Inferred::Boolean, (0, 0))
        }
        b"nan" | b"infinity" | b"-infinity" | b"+infinity" | b"inf" | b"-inf" => {
            return (Inferred::Double, (0, 0))
        }
        _ => {}
    }
    let mut scratch = Vec::new();
    if s.len() == 10 && datetime::encode_date(s, &mut scratch) == Outcome::Done {
        return (Inferred::Date, (0, 0));
    }
    if s.len() > 10 && s[4] == b'-' {
        // Its fraction's digits, for a target that holds microseconds at most (MySQL).
        let frac = s.iter().position(|&b| b == b'.').map_or(0, |at| {
            s[at + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        });
        scratch.clear();
        if datetime::encode_timestamp(s, true, false, &mut scratch) == Outcome::Done {
            return (Inferred::Timestamptz, (0, frac));
        }
        scratch.clear();
        if datetime::encode_timestamp(s, false, true, &mut scratch) == Outcome::Done {
            return (Inferred::Timestamp, (0, frac));
        }
    }
    if is_uuid(s) {
        return (Inferred::Uuid, (0, 0));
    }
    if matches!(s.first(), Some(b'{' | b'['))
        && serde_json::from_slice::<serde::de::IgnoredAny>(s).is_ok()
    {
        return (Inferred::Json, (0, 0));
    }
    (Inferred::Text, (0, 0))
}

/// `[+-]digits[.digits][e[+-]digits]`, without a leading zero on the integer part (unless it
/// is the only digit); `None` when `s` is not such a number.
fn number(s: &[u8]) -> Option<(Inferred, (usize, usize))> {
    let body = s
        .strip_prefix(b"-")
        .or_else(|| s.strip_prefix(b"+"))
        .unwrap_or(s);
    let int_len = body.iter().take_while(|b| b.is_ascii_digit()).count();
    let (int, rest) = body.split_at(int_len);
    if int.len() > 1 && int[0] == b'0' {
        return None;
    }
    let (frac, rest) = match rest.strip_prefix(b".") {
        Some(r) => {
            let n = r.iter().take_while(|b| b.is_ascii_digit()).count();
            (Some(&r[..n]), &r[n..])
        }
        None => (None, rest),
    };
    let frac_len = frac.map_or(0, <[u8]>::len);
    if int_len + frac_len == 0 {
        return None;
    }
    if rest.is_empty() {
        let digits = (int_len, frac_len);
        return Some(match frac {
            None if std::str::from_utf8(s).ok()?.parse::<i64>().is_ok() => {
                (Inferred::Bigint, digits)
            }
            _ => (Inferred::Numeric, digits),
        });
    }
    let exp = rest
        .strip_prefix(b"e")
        .or_else(|| rest.strip_prefix(b"E"))?;
    let exp = exp
        .strip_prefix(b"-")
        .or_else(|| exp.strip_prefix(b"+"))
        .unwrap_or(exp);
    (!exp.is_empty() && exp.iter().all(u8::is_ascii_digit)).then_some((Inferred::Double, (0, 0)))
}

fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// Reads up to `sample_rows` records (0: all of them) and infers a table with one column per
/// field, named after `names` (the header, or `--columns`; `column_N` when there are none).
///
/// The names decide how many columns there are (without names, the first record does), as
/// they do for an existing table: a record with more or fewer fields is a bad row, which the
/// load reports or sets aside, so it tells nothing about the columns and is left out of the
/// sample.
///
/// `null` is the unquoted text that means NULL; NULLs say nothing about a column's type. A
/// quoted empty field is an empty string, which only text holds.
///
/// # Errors
/// The CSV errors of reading the sample.
pub fn infer<S: RecordSource>(
    reader: &mut S,
    names: Option<&[String]>,
    null: &NullTexts,
    sample_rows: usize,
) -> Result<InferredTable> {
    let mut sample = Sample::new(names, null);
    sample.read(reader, sample_rows, u64::MAX)?;
    Ok(sample.table())
}

/// [`infer`] for a text input read with `csv` (its NULL text, its decimal comma), stopping
/// once the reader has read `max_bytes` (a stream's sample is kept in memory to be read
/// again).
///
/// # Errors
/// As [`infer`].
pub fn infer_within<S: RecordSource>(
    reader: &mut S,
    names: Option<&[String]>,
    csv: &crate::source::csv::CsvOptions,
    sample_rows: usize,
    max_bytes: u64,
) -> Result<InferredTable> {
    let mut sample = Sample::new(names, &csv.null);
    sample.numbers = csv.numbers;
    sample.read(reader, sample_rows, max_bytes)?;
    Ok(sample.table())
}

impl Sample<'_> {
    /// Adds `reader`'s records, up to `sample_rows` (0: all) or `max_bytes` read.
    fn read<S: RecordSource>(
        &mut self,
        reader: &mut S,
        sample_rows: usize,
        max_bytes: u64,
    ) -> Result<()> {
        let mut rec = Record::default();
        while (sample_rows == 0 || self.rows < sample_rows as u64)
            && reader.bytes_read() < max_bytes
        {
            match reader.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                // A quote left open runs to the end: the sample ends here, and the load itself
                // reports (or sets aside) the bad record.
                Err(e) if matches!(e.kind(), crate::error::ErrorKind::Csv { .. }) => break,
                Err(e) => return Err(e),
            }
            self.add(&rec);
        }
        Ok(())
    }
}

/// The types of the records seen so far, column by column.
pub struct Sample<'a> {
    names: Option<&'a [String]>,
    null: &'a NullTexts,
    width: Option<usize>,
    types: Vec<Option<Inferred>>,
    /// The types without the values that spell a missing value, and the first such spelling.
    unspelled: Vec<(Option<Inferred>, Option<&'static str>)>,
    digits: Vec<(usize, usize)>,
    max_len: Vec<usize>,
    rows: u64,
    /// How the text writes numbers (`1.234,5` is a number with `--decimal-comma`: see
    /// [`NumberFormat`]).
    pub numbers: NumberFormat,
    /// Read plainly, what each column would be in the formats a spreadsheet writes numbers in
    /// ([`MisreadNumbers::FORMATS`]).
    misread: Vec<MisreadNumbers>,
}

/// A column's values read in each of the number formats that spreadsheets export and no
/// database reads (`1,234.56`, `12,5`): the sample's type of the column if every value is a
/// number there (`None` once one is not), and whether one needed it. A column made text only
/// because its numbers are written so is told about, naming the option: the load of such a
/// file otherwise "succeeds" with amounts stored as text.
#[derive(Clone, Copy, Debug)]
pub struct MisreadNumbers {
    as_number: [Option<Inferred>; 2],
    needed: [bool; 2],
}

impl MisreadNumbers {
    /// `--thousands ,` and `--decimal-comma`, the options they are read with, and an example.
    const FORMATS: [(NumberFormat, &'static str, &'static str); 2] = [
        (NumberFormat::THOUSANDS_COMMA, "--thousands ,", "1,234.56"),
        (NumberFormat::DECIMAL_COMMA, "--decimal-comma", "1.234,56"),
    ];

    const UNSEEN: MisreadNumbers = MisreadNumbers {
        as_number: [Some(Inferred::Bigint); 2],
        needed: [false; 2],
    };

    /// Adds a text value that read plainly is `plain`.
    fn add(&mut self, raw: &[u8], plain: Inferred) {
        let plain_number = matches!(
            plain,
            Inferred::Bigint | Inferred::Numeric | Inferred::Double
        );
        let marked = raw.iter().any(|&b| b == b',' || b == b'.');
        for (k, (format, _, _)) in Self::FORMATS.iter().enumerate() {
            let Some(so_far) = self.as_number[k] else {
                continue;
            };
            let ty = match marked {
                false => plain_number.then_some(plain),
                true => match format.read(raw) {
                    crate::encode::number_format::Read::Same => plain_number.then_some(plain),
                    crate::encode::number_format::Read::Point(p) => {
                        let (ty, _) = classify(p.as_bytes());
                        self.needed[k] |= ty != plain;
                        matches!(ty, Inferred::Bigint | Inferred::Numeric | Inferred::Double)
                            .then_some(ty)
                    }
                    crate::encode::number_format::Read::Bad => None,
                },
            };
            self.as_number[k] = ty.map(|t| so_far.merge(t));
        }
    }

    /// The note for a column of type `ty` named `name`, when it is text only because of how
    /// its numbers are written.
    fn note(&self, name: &str, ty: Inferred, dialect: Dialect) -> Option<String> {
        if ty != Inferred::Text {
            return None;
        }
        let fits: Vec<usize> = (0..Self::FORMATS.len())
            .filter(|&k| self.needed[k] && self.as_number[k].is_some())
            .collect();
        let as_type = |k: usize| {
            InferredColumn {
                name: String::new(),
                ty: self.as_number[k].unwrap_or(Inferred::Numeric),
                digits: (SAMPLED_INTEGER_DIGITS, 2),
                max_len: 0,
                array: false,
            }
            .sql_type(dialect)
        };
        match fits.as_slice() {
            [k] => {
                let (_, option, example) = Self::FORMATS[*k];
                Some(format!(
                    "column \"{name}\" is text because its numbers are written {example}: pass \
                     {option} to read them as numbers (making the column {})",
                    as_type(*k)
                ))
            }
            [_, _] => Some(format!(
                "column \"{name}\" is text because its numbers hold commas: if they group \
                 thousands (1,234 for 1234), pass --thousands ,; if the comma is the decimal \
                 mark (1,5 for 1.5), pass --decimal-comma (either makes it a number column)"
            )),
            _ => None,
        }
    }
}

impl<'a> Sample<'a> {
    /// A sample of records whose columns are `names` (else as many as the first record has),
    /// in which an unquoted field equal to one of `null` is NULL.
    pub fn new(names: Option<&'a [String]>, null: &'a NullTexts) -> Sample<'a> {
        Sample {
            names,
            null,
            width: names.map(<[String]>::len),
            types: Vec::new(),
            unspelled: Vec::new(),
            digits: Vec::new(),
            max_len: Vec::new(),
            rows: 0,
            numbers: NumberFormat::PLAIN,
            misread: Vec::new(),
        }
    }

    /// Adds a record. One of another width than the first is counted and left out (the load
    /// reports it). A typed field (from a program or Arrow) says its type; a text field's is
    /// read from its text.
    pub fn add(&mut self, rec: &Record) {
        // As the load skips it (see `Record::is_blank_line`).
        if rec.is_blank_line() && self.width.is_none_or(|w| w > 1) {
            return;
        }
        self.rows += 1;
        let width = *self.width.get_or_insert(rec.len());
        if rec.len() != width {
            return;
        }
        if width > self.types.len() {
            self.types.resize(width, None);
            self.unspelled.resize(width, (None, None));
            self.digits.resize(width, (0, 0));
            self.max_len.resize(width, 0);
            self.misread.resize(width, MisreadNumbers::UNSEEN);
        }
        for i in 0..width {
            let (raw, quoted) = rec.field(i);
            let typed = rec.typed(i);
            if typed.is_none() && !quoted && self.null.matches(raw) {
                continue;
            }
            self.max_len[i] = self.max_len[i].max(raw.len());
            let (ty, d) = match typed {
                Some(v) => (Inferred::of_typed(v), (0, 0)),
                None if raw.is_empty() => (Inferred::Text, (0, 0)),
                None if !self.numbers.is_plain() => match self.numbers.read(raw) {
                    crate::encode::number_format::Read::Point(p) => classify(p.as_bytes()),
                    _ => classify(raw),
                },
                None => {
                    let (ty, d) = classify(raw);
                    if let Some(m) = self.misread.get_mut(i) {
                        if spelled_null(raw).is_none() {
                            m.add(raw, ty);
                        }
                    }
                    (ty, d)
                }
            };
            self.digits[i] = (self.digits[i].0.max(d.0), self.digits[i].1.max(d.1));
            self.types[i] = Some(self.types[i].map_or(ty, |t| t.merge(ty)));
            let (unspelled, spelling) = &mut self.unspelled[i];
            let spelled = match typed.is_none() && !quoted {
                true => spelled_null(raw),
                false => None,
            };
            match spelled {
                Some(s) => _ = spelling.get_or_insert(s),
                None => *unspelled = Some(unspelled.map_or(ty, |t| t.merge(ty))),
            }
        }
    }

    /// The table of the records added.
    pub fn table(self) -> InferredTable {
        let given: Vec<String> = self.names.map(<[String]>::to_vec).unwrap_or_default();
        let count = self.width.unwrap_or(0);
        let header: Vec<String> = (0..count)
            .map(|i| given.get(i).cloned().unwrap_or_default())
            .collect();
        let unnamed = match self.names {
            Some(given) => (0..count)
                .filter(|&i| given.get(i).is_some_and(|n| n.trim().is_empty()))
                .collect(),
            None => Vec::new(),
        };
        let names = column_names(&header);
        let columns = names
            .into_iter()
            .enumerate()
            .map(|(i, name)| InferredColumn {
                name,
                ty: self
                    .types
                    .get(i)
                    .copied()
                    .flatten()
                    .unwrap_or(Inferred::Text),
                // The integer part gets room beyond the sample's (at least 20 digits, every
                // BIGINT's): sized exactly, amounts that grow through a file (3 rows of
                // `12.50` made MySQL's DECIMAL(4,2)) failed a load at the first larger one.
                digits: self.digits.get(i).map_or((0, 0), |&(int, frac)| {
                    (int.max(SAMPLED_INTEGER_DIGITS), frac)
                }),
                max_len: self.max_len.get(i).copied().unwrap_or(0),
                array: false,
            })
            .collect::<Vec<InferredColumn>>();
        let spelled_nulls = self
            .unspelled
            .iter()
            .enumerate()
            .filter_map(|(column, u)| match (u, columns.get(column)?.ty) {
                ((Some(would_be), Some(spelling)), Inferred::Text)
                    if *would_be != Inferred::Text =>
                {
                    Some(SpelledNulls {
                        column,
                        spelling,
                        would_be: *would_be,
                    })
                }
                _ => None,
            })
            .collect();
        let misread_numbers = self
            .misread
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                columns
                    .get(*i)
                    .is_some_and(|c| m.note(&c.name, c.ty, Dialect::Postgres).is_some())
            })
            .map(|(i, m)| (i, *m))
            .collect();
        InferredTable {
            columns,
            sampled_rows: self.rows,
            spelled_nulls,
            delimiter: None,
            read_as_text: None,
            unnamed,
            misread_numbers,
            primary_key: Vec::new(),
        }
    }
}

impl InferredColumn {
    /// The column's type in `dialect` as one of a primary key of `parts` columns: MySQL keys
    /// no TEXT column (whose index needs a prefix length), so text is a VARCHAR, 255
    /// characters when the sample's longest fits, else as long as an index of `parts` such
    /// columns may be (3,072 bytes, 4 a character).
    fn key_type(&self, dialect: Dialect, parts: usize) -> String {
        match (dialect, self.ty, self.array) {
            (Dialect::Mysql, Inferred::Text, false) => match self.max_len {
                0..=255 => "VARCHAR(255)".into(),
                _ => format!("VARCHAR({})", 768 / parts.max(1)),
            },
            _ => self.sql_type(dialect),
        }
    }

    /// The column an array column's elements would make.
    fn element(&self) -> InferredColumn {
        InferredColumn {
            array: false,
            ..self.clone()
        }
    }

    /// The column's type in `dialect`.
    pub fn sql_type(&self, dialect: Dialect) -> String {
        use Inferred::*;
        if self.array {
            return match dialect {
                Dialect::Postgres => format!("{}[]", self.element().sql_type(dialect)),
                Dialect::Sqlite | Dialect::Mysql => "JSON".into(),
            };
        }
        let s = match (dialect, self.ty) {
            (Dialect::Postgres, Boolean) => "boolean",
            (Dialect::Postgres, Bigint) => "bigint",
            (Dialect::Postgres, Double) => "double precision",
            (Dialect::Postgres, Numeric) => "numeric",
            (Dialect::Postgres, Date) => "date",
            (Dialect::Postgres, Timestamp) => "timestamp",
            (Dialect::Postgres, Timestamptz) => "timestamptz",
            (Dialect::Postgres, Uuid) => "uuid",
            (Dialect::Postgres, Json) => "jsonb",
            (Dialect::Postgres, Text) => "text",
            (Dialect::Postgres, Time) => "time",
            (Dialect::Postgres, Bytes) => "bytea",
            (Dialect::Postgres, Interval) => "interval",
            // SQLite's affinities from these names: INTEGER, REAL, NUMERIC, TEXT; the others
            // (BOOLEAN, DATE, ...) tell barge, and other tools, what the column holds.
            (Dialect::Sqlite, Boolean) => "BOOLEAN",
            (Dialect::Sqlite, Bigint) => "INTEGER",
            (Dialect::Sqlite, Double) => "REAL",
            (Dialect::Sqlite, Numeric) => "NUMERIC",
            (Dialect::Sqlite, Date) => "DATE",
            (Dialect::Sqlite, Timestamp) => "TIMESTAMP",
            (Dialect::Sqlite, Timestamptz) => "TIMESTAMPTZ",
            (Dialect::Sqlite, Uuid) => "UUID",
            (Dialect::Sqlite, Json) => "JSON",
            (Dialect::Sqlite, Text) => "TEXT",
            (Dialect::Sqlite, Time) => "TIME",
            (Dialect::Sqlite, Bytes) => "BLOB",
            // Not "INTERVAL": its "INT" would give the column integer affinity.
            (Dialect::Sqlite, Interval) => "TEXT",
            (Dialect::Mysql, Boolean) => "BOOLEAN",
            (Dialect::Mysql, Bigint) => "BIGINT",
            (Dialect::Mysql, Double) => "DOUBLE",
            (Dialect::Mysql, Numeric) => {
                let (int, frac) = self.digits;
                let scale = frac.min(30);
                let precision = (int + scale).max(1);
                return if precision <= 65 {
                    format!("DECIMAL({precision},{scale})")
                } else {
                    "DOUBLE".into()
                };
            }
            (Dialect::Mysql, Date) => "DATE",
            // Finer than microseconds (pandas', Java's, Go's nanoseconds): MySQL rounds them
            // and MariaDB cuts them, so barge refuses them for a DATETIME(6) rather than pick
            // one; kept as text.
            (Dialect::Mysql, Timestamp | Timestamptz) if self.digits.1 > 6 => {
                return InferredColumn {
                    ty: Text,
                    ..self.clone()
                }
                .sql_type(dialect)
            }
            // MySQL has no timestamp with a time zone (its TIMESTAMP ends in 2038): values
            // with an offset are stored converted to UTC.
            (Dialect::Mysql, Timestamp | Timestamptz) => "DATETIME(6)",
            (Dialect::Mysql, Uuid) => "CHAR(36)",
            (Dialect::Mysql, Json) => "JSON",
            (Dialect::Mysql, Text) if self.max_len < 16_000 => "TEXT",
            (Dialect::Mysql, Text) if self.max_len < 4_000_000 => "MEDIUMTEXT",
            (Dialect::Mysql, Text) => "LONGTEXT",
            (Dialect::Mysql, Time) => "TIME(6)",
            (Dialect::Mysql, Bytes) => "LONGBLOB",
            // MySQL's TIME holds only ±838 hours.
            (Dialect::Mysql, Interval) => "VARCHAR(64)",
        };
        s.to_string()
    }
}

impl InferredTable {
    /// The table, if it has any columns; else a configuration error: an input without a
    /// header, rows or keys (a zero-byte export of an empty result) says nothing of what a
    /// table made of it would hold.
    ///
    /// # Errors
    /// As said, naming the input.
    pub fn with_columns(self, input: &str) -> crate::error::Result<InferredTable> {
        if self.columns.is_empty() {
            return Err(crate::error::Error::config(format!(
                "{input}: the input is empty (no header, no rows): no table can be made of it; \
                 create the table first, or give a file with a header"
            )));
        }
        Ok(self)
    }

    /// The same columns under the names `given` (in order, as `--columns` gives them), made
    /// into column names as a header's are.
    pub fn rename(&mut self, given: &[String]) {
        for (c, n) in self
            .columns
            .iter_mut()
            .zip(crate::ident::column_names(given))
        {
            c.name = n;
        }
    }

    /// The table of a typed source (Arrow), whose columns' types are known without a sample:
    /// `columns` as the source names and types them (a longest value unknown is `usize::MAX`,
    /// the widest text type); their names are made column names as a header's are.
    pub fn of_types(mut columns: Vec<InferredColumn>) -> InferredTable {
        let header: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        for (c, name) in columns.iter_mut().zip(column_names(&header)) {
            c.name = name;
        }
        InferredTable {
            columns,
            sampled_rows: 0,
            spelled_nulls: Vec::new(),
            delimiter: None,
            read_as_text: None,
            unnamed: Vec::new(),
            misread_numbers: Vec::new(),
            primary_key: Vec::new(),
        }
    }

    /// `CREATE TABLE [IF NOT EXISTS] <table> (...)` in `dialect`; `table` is already quoted.
    pub fn create_sql(&self, table: &str, dialect: Dialect, if_not_exists: bool) -> String {
        let quote = |n: &str| dialect.quote(n);
        let mut s = format!(
            "CREATE TABLE {}{table} (\n",
            if if_not_exists { "IF NOT EXISTS " } else { "" }
        );
        let mut lines: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| match self.primary_key.contains(&i) {
                true => format!(
                    "    {} {} NOT NULL",
                    quote(&c.name),
                    c.key_type(dialect, self.primary_key.len())
                ),
                false => format!("    {} {}", quote(&c.name), c.sql_type(dialect)),
            })
            .collect();
        if !self.primary_key.is_empty() {
            let key: Vec<String> = self
                .primary_key
                .iter()
                .filter_map(|&i| Some(quote(&self.columns.get(i)?.name)))
                .collect();
            lines.push(format!("    PRIMARY KEY ({})", key.join(", ")));
        }
        s.push_str(&lines.join(",\n"));
        s.push_str("\n)");
        s
    }
}

impl fmt::Display for Inferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::csv::{CsvOptions, CsvReader};

    fn table(csv: &str) -> InferredTable {
        let mut r = CsvReader::new(csv.as_bytes(), "t", CsvOptions::default());
        let header = r
            .read_header(&mut Record::default())
            .ok()
            .flatten()
            .unwrap_or_default();
        infer(&mut r, Some(&header), &NullTexts::default(), 0).unwrap()
    }

    /// The table of `csv` read without a header line.
    fn headerless(csv: &str) -> InferredTable {
        let opts = CsvOptions {
            header: false,
            ..CsvOptions::default()
        };
        let mut r = CsvReader::new(csv.as_bytes(), "t", opts);
        infer(&mut r, None, &NullTexts::default(), 0).unwrap()
    }

    fn types(csv: &str) -> Vec<Inferred> {
        table(csv).columns.iter().map(|c| c.ty).collect()
    }

    #[test]
    fn a_column_made_text_only_by_a_spelled_out_null_is_told() {
        let t = table(
            "id,day,n,note,x,q\n1,2024-01-02,1.5,a,NA,\"NULL\"\n2,NULL,NA,NULL,NA,5\n3,2024-01-03,2,b,NA,6\n",
        );
        assert_eq!(
            t.columns.iter().map(|c| c.ty).collect::<Vec<_>>(),
            [
                Inferred::Bigint,
                Inferred::Text,
                Inferred::Text,
                Inferred::Text,
                Inferred::Text,
                Inferred::Text
            ]
        );
        // `note` is text anyway, `x` holds nothing else, and a quoted "NULL" is text.
        assert_eq!(
            t.spelled_nulls,
            [
                SpelledNulls {
                    column: 1,
                    spelling: "NULL",
                    would_be: Inferred::Date
                },
                SpelledNulls {
                    column: 2,
                    spelling: "NA",
                    would_be: Inferred::Numeric
                },
            ]
        );
        assert_eq!(
            t.spelled_null_notes(Dialect::Postgres),
            [
                "column \"day\" is text because it holds NULL, its other values read as date: if \
                 the file writes NULL for a missing value, pass --null 'NULL' --null '' (empty \
                 fields stay NULL)",
                "column \"n\" is text because it holds NA, its other values read as numeric: if \
                 the file writes NA for a missing value, pass --null 'NA' --null '' (empty \
                 fields stay NULL)",
            ]
        );
        // Read with `--null NULL`, the column is a date; an empty field too makes it text,
        // unless `--null ''` is given as well.
        let read = |body: &str, null: NullTexts| {
            let mut r = CsvReader::new(
                body.as_bytes(),
                "t",
                CsvOptions {
                    null: null.clone(),
                    ..CsvOptions::default()
                },
            );
            let header = r.read_header(&mut Record::default()).ok().flatten();
            let t = infer(&mut r, header.as_deref(), &null, 0).unwrap();
            (t.columns[0].ty, t.spelled_nulls.len())
        };
        let null = NullTexts::new(["NULL"]);
        assert_eq!(
            read("day\n2024-01-02\nNULL\n", null.clone()),
            (Inferred::Date, 0)
        );
        assert_eq!(read("day\n2024-01-02\nNULL\n\n", null), (Inferred::Text, 0));
        assert_eq!(
            read("day\n2024-01-02\nNULL\n\n", NullTexts::new(["NULL", ""])),
            (Inferred::Date, 0)
        );
    }

    #[test]
    fn header_fields_without_a_name_are_told_the_first_as_a_row_index() {
        let t = table(",id,,name\n0,1,,a\n1,2,,b\n");
        assert_eq!(
            t.column_names_for_test(),
            ["column_1", "id", "column_3", "name"]
        );
        assert_eq!(t.unnamed, [0, 2]);
        assert_eq!(
            t.warnings(),
            [
                "column \"column_1\" has no name in the header: a first column without one is \
                 most often the row index pandas' to_csv writes (index=False leaves it out)",
                "column \"column_3\" has no name in the header (a line that ends with a \
                 delimiter, or has two in a row)",
            ]
        );
        // Without a header, no column has a name to lack.
        let t = headerless("1,2\n");
        assert!(t.unnamed.is_empty() && t.warnings().is_empty());
    }

    #[test]
    fn create_takes_its_columns_from_the_header_not_the_longest_row() {
        let t = table("a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n9\n");
        assert_eq!(t.column_names_for_test(), ["a", "b", "c"]);
        assert_eq!(
            types("a,b\n1,2\nx,y,z\n"),
            [Inferred::Bigint, Inferred::Bigint]
        );
        // Without names, the first record decides.
        let t = headerless("1,2\n3,4,5\n");
        assert_eq!(t.column_names_for_test(), ["column_1", "column_2"]);
        // One very long row does not make thousands of columns.
        let long = format!("a\n1\n{}\n", ",".repeat(10_000));
        assert_eq!(table(&long).columns.len(), 1);
    }

    impl InferredTable {
        fn column_names_for_test(&self) -> Vec<&str> {
            self.columns.iter().map(|c| c.name.as_str()).collect()
        }
    }

    #[test]
    fn tricky_columns() {
        use Inferred::*;
        let t = types(
            "a,b,c,d,e,f,g,h,i,j,k,l\n\
             1,1,007,,2024-01-02,2024-01-02 10:00,2024-01-02T10:00Z,true,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,\"{\"\"x\"\":1}\",1e3,99999999999999999999\n\
             2,2.5,12,,2024-01-03 00:00:01,01/02/2024,2024-01-02 10:00+01,F,A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11,[1],2,1\n\
             -3,-0.25,0,,2024-02-29,2024-01-02,2024-01-02 10:00:00.5-05:30,no,x,,3.5,2\n",
        );
        assert_eq!(
            t,
            [
                Bigint,
                Numeric,
                Text,
                Text,
                Timestamp,
                Text,
                Timestamptz,
                Boolean,
                Text,
                Json,
                Double,
                Numeric
            ]
        );
    }

    #[test]
    fn leading_zeros_and_odd_numbers_stay_text() {
        use Inferred::*;
        assert_eq!(types("z\n02134\n10001\n"), [Text]);
        assert_eq!(types("z\n0.5\n.5\n"), [Numeric]);
        assert_eq!(types("z\n00.5\n"), [Text]);
        assert_eq!(types("z\n1.2.3\n"), [Text]);
        assert_eq!(types("z\n1e\n"), [Text]);
        assert_eq!(types("z\n0\n1\n"), [Bigint]);
        assert_eq!(types("z\n2023-02-29\n"), [Text]);
        assert_eq!(types("z\n\"\"\n"), [Text]);
    }

    #[test]
    fn nanosecond_and_utc_timestamps_are_timestamps_but_text_for_mysql() {
        use Inferred::*;
        let t = table(
            "ns,utc,us\n\
             2024-01-02T03:04:05.123456789,2024-01-02 03:04:05 UTC,2024-01-02 03:04:05.123456\n\
             2024-01-02 03:04:05.1234567,2024-01-02 03:04:05 gmt,2024-01-02 03:04:05\n",
        );
        let types: Vec<Inferred> = t.columns.iter().map(|c| c.ty).collect();
        assert_eq!(types, [Timestamp, Timestamptz, Timestamp]);
        assert_eq!(t.columns[0].sql_type(Dialect::Postgres), "timestamp");
        assert_eq!(t.columns[0].sql_type(Dialect::Sqlite), "TIMESTAMP");
        assert_eq!(t.columns[0].sql_type(Dialect::Mysql), "TEXT");
        assert_eq!(t.columns[1].sql_type(Dialect::Mysql), "DATETIME(6)");
        assert_eq!(t.columns[2].sql_type(Dialect::Mysql), "DATETIME(6)");
    }

    #[test]
    fn digits_and_lengths_for_mysql() {
        let t = table("n,s\n123.45,abc\n-1.5,abcdefgh\n");
        assert_eq!(t.columns[0].digits, (20, 2));
        assert_eq!(t.columns[0].sql_type(Dialect::Mysql), "DECIMAL(22,2)");
        assert_eq!(t.columns[1].max_len, 8);
        assert_eq!(t.sampled_rows, 2);
    }

    #[test]
    fn create_sql_quotes_everything() {
        let t = table("Event Type,n\nclick,1\n");
        assert_eq!(
            t.create_sql("\"ev\"", Dialect::Postgres, false),
            "CREATE TABLE \"ev\" (\n    \"event_type\" text,\n    \"n\" bigint\n)"
        );
        assert!(t
            .create_sql("`ev`", Dialect::Mysql, true)
            .starts_with("CREATE TABLE IF NOT EXISTS `ev` (\n    `event_type` TEXT,"));
        // A primary key (an upsert's --key): NOT NULL, and on MySQL text a VARCHAR.
        let mut t = t;
        t.primary_key = vec![1, 0];
        assert_eq!(
            t.create_sql("`ev`", Dialect::Mysql, false),
            "CREATE TABLE `ev` (\n    `event_type` VARCHAR(255) NOT NULL,\n    `n` BIGINT NOT \
             NULL,\n    PRIMARY KEY (`n`, `event_type`)\n)"
        );
        assert!(t
            .create_sql("\"ev\"", Dialect::Postgres, false)
            .contains("\"event_type\" text NOT NULL,"));
    }

    #[test]
    fn very_long_text_is_text_and_sized_for_mysql() {
        let long = "x".repeat(200_000);
        let t = table(&format!("a,b\n{long},1\nshort,2\n"));
        assert_eq!(t.columns[0].ty, Inferred::Text);
        assert_eq!(t.columns[0].max_len, 200_000);
        assert_eq!(t.columns[0].sql_type(Dialect::Mysql), "MEDIUMTEXT");
        assert_eq!(t.columns[0].sql_type(Dialect::Postgres), "text");
        let huge = "7".repeat(5_000);
        assert_eq!(types(&format!("n\n{huge}\n")), [Inferred::Numeric]);
    }

    #[test]
    fn sample_limit_is_respected() {
        let mut r = CsvReader::new("a\n1\nx\n".as_bytes(), "t", CsvOptions::default());
        let header = r
            .read_header(&mut Record::default())
            .ok()
            .flatten()
            .unwrap_or_default();
        let t = infer(&mut r, Some(&header), &NullTexts::default(), 1).unwrap();
        assert_eq!(t.columns[0].ty, Inferred::Bigint);
        assert_eq!(t.sampled_rows, 1);
    }
}
