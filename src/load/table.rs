//! The table phase: the input's head (its header or keys, and a sample when a table is to be
//! created), the table introspected or created, the input's fields mapped to its columns, the
//! wire format, and an upsert's conflict key.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use super::Load;
use crate::chunk::WireFormat;
use crate::error::{Error, ErrorKind, Result};
use crate::ident::Dialect;
use crate::null::NullTexts;
use crate::record::RecordSource;
use crate::schema::{Column, ColumnType, Table, TableName};
use crate::sink::Backend;
use crate::source::chain;
use crate::source::decompress::Compression;
use crate::source::format::Format;
use crate::source::input::{self, Head, Input, InputOptions};
use crate::source::project::Projected;
use crate::upsert::Upsert;

/// Where the rows go and how they are read, as the table phase settled it.
pub(super) struct Destination {
    /// The target table.
    pub table: Table,
    /// Rows sampled to create it, when this load created it.
    pub created: Option<u64>,
    /// The columns the input's fields go into, in field order.
    pub columns: Vec<Column>,
    /// The input's column names (header, NDJSON keys or `--columns`).
    pub names: Option<Vec<String>>,
    /// Which of the input's fields are loaded, when some are left out (`--ignore-unknown`).
    pub keep: Option<Vec<bool>>,
    /// The header line's bytes, for a rejects file.
    pub header_raw: Option<Vec<u8>>,
    /// What the input was compressed with.
    pub compression: Compression,
    /// The input's path, when it is a file.
    pub path: Option<PathBuf>,
    /// How the input is read (to reopen it when resuming).
    pub opts: InputOptions,
    /// The unquoted texts that mean NULL.
    pub null: NullTexts,
    /// How chunks are encoded, and its name in the report.
    pub format: WireFormat,
    /// The format's name in the report.
    pub report_format: &'static str,
    /// For an upsert: its key and what it updates.
    pub upsert: Option<Upsert>,
}

impl Destination {
    /// `reader` (the input opened again, to resume) with the fields this load leaves out left
    /// out, as the first reader's were.
    pub fn projected(&self, reader: Box<dyn RecordSource>) -> Box<dyn RecordSource> {
        match &self.keep {
            Some(keep) => Box::new(Projected::new(reader, keep.clone())),
            None => reader,
        }
    }

    /// Adds what to do to a load's error: a value that does not fit a column this load chose
    /// the type of from a sample; and that the table this load created is gone again
    /// (`dropped`: no row went in).
    pub fn explain(&self, e: Error, dropped: bool) -> Error {
        let Some(sampled) = self.created else {
            return e;
        };
        let e = if dropped {
            e.with_note(format!(
                "{} was created by this load and is dropped again, as no row went in: the next \
                 run creates it from what it reads then",
                self.table.quoted()
            ))
        } else {
            e
        };
        // A text column takes any value the sample could have shown: a value refused there
        // (a NUL byte) is no reason to sample more.
        let typed = |column: &str| {
            self.table
                .columns
                .iter()
                .any(|c| c.name == column && c.ty != ColumnType::Text)
        };
        match e.kind() {
            ErrorKind::Value { column, .. } if typed(column) && dropped => e.with_hint(format!(
                "this load created {} from the first {sampled} rows, and a later value does \
                 not fit the type it chose: load again with a larger --sample-rows (0 reads the \
                 whole file), or create the table yourself",
                self.table.quoted()
            )),
            ErrorKind::Value { column, .. } if typed(column) => e.with_hint(format!(
                "this load created {} from the first {sampled} rows, and a later value does \
                 not fit the type it chose: drop the table and load again with a larger \
                 --sample-rows (0 reads the whole file), or create the table yourself",
                self.table.quoted()
            )),
            _ => e,
        }
    }
}

impl Load {
    /// Reads the input's head, finds or creates the table and maps the input onto it.
    ///
    /// # Errors
    /// No such table (without `--create`), columns the table lacks, an upsert key that is no
    /// unique key, the input's own errors in its head, a database error.
    pub(super) async fn destination<B: Backend>(
        &self,
        db: &mut B,
        input: Input,
        name: &str,
        table: &str,
        then: &[PathBuf],
    ) -> Result<(Box<dyn RecordSource>, Destination)> {
        let mut table_name = TableName::parse(table)?;
        let mut existing = db.introspect(&table_name).await?;
        // `--table UserVisits` read as SQL is "uservisits"; when only "UserVisits" exists (as
        // an ORM names tables), that is the one meant.
        if let (None, Some(typed)) = (&existing, TableName::as_typed(table)) {
            if let Some(t) = db.introspect(&typed).await? {
                tracing::info!(
                    "loading into {}, the table named as --table spells it",
                    typed.quoted_in(db.dialect())
                );
                (table_name, existing) = (typed, Some(t));
            }
        }
        let create = self.create.unwrap_or(db.creates_tables());
        // Only for what the messages say: a server that cannot answer loses nothing else.
        let like = match existing {
            Some(_) => Vec::new(),
            None => db.tables_named_like(&table_name).await.unwrap_or_else(|e| {
                tracing::debug!("looking for tables of that name in another schema: {e}");
                Vec::new()
            }),
        };
        if existing.is_none() && !create {
            return Err(not_found(&table_name, db.dialect(), &like));
        }
        if !like.is_empty() {
            tracing::warn!(
                "{} does not exist, and this load creates it; {}",
                table_name.quoted_in(db.dialect()),
                meant(&like, db.dialect())
            );
        }
        if existing.is_none() && self.dry_run {
            return Err(Error::config(format!(
                "table {} does not exist, and --dry-run checks rows against an existing table: \
                 create it first (`barge schema FILE` prints the CREATE TABLE --create would run)",
                table_name.quoted_in(db.dialect())
            )));
        }

        // Header (or --columns), and a sample of rows when the table must be created.
        let path = match &input {
            Input::File(p) => Some(p.clone()),
            Input::Reader(_) | Input::Rows(_) | Input::Records(..) => None,
        };
        let sample_rows = existing.is_none().then_some(self.sample_rows);
        let mut opts = self.input_options(path.as_deref());
        if matches!(input, Input::Rows(_)) {
            // A value's None is NULL; a string is never NULL.
            opts.csv.null = NullTexts::default();
        }
        if matches!(input, Input::Records(..)) {
            // None is NULL, and so is a string equal to the null text when one is given.
            opts.csv.null = self.values_null.clone().unwrap_or_default();
        }
        let null = opts.csv.null.clone();
        opts.known_columns = existing.as_ref().map(|t| t.column_names());
        let input_name = name.to_string();
        let compressed = self.progress.compressed_bytes_read.clone();
        let head_opts = opts.clone();
        // The files read after this one in the same transaction, each with its own format.
        let then: Vec<(PathBuf, InputOptions)> = then
            .iter()
            .map(|p| {
                let mut o = self.input_options(Some(p));
                o.known_columns.clone_from(&opts.known_columns);
                (p.clone(), o)
            })
            .collect();
        let head = move || -> Result<Head> {
            let head = input::read_head(
                input,
                &input_name,
                &head_opts,
                sample_rows,
                compressed.clone(),
            )?;
            if then.is_empty() {
                return Ok(head);
            }
            chain::chained(head, &input_name, then, compressed)
        };
        let head = tokio::task::spawn_blocking(head)
            .await
            .map_err(|e| Error::internal(format!("the reader thread failed: {e}")))??;
        let Head {
            mut reader,
            names,
            inferred,
            header_raw,
            compression,
            delimiter,
            read_as_text,
        } = head;
        if let Some(header) = read_as_text {
            opts.format = Format::Text;
            opts.csv.header = header;
        }
        if opts.format == Format::Text && self.format.is_none() {
            tracing::info!(
                "{name}: read as PostgreSQL's text format (tab-separated, \\N for NULL: what \
                 psql's \\copy ... to and MySQL's INTO OUTFILE write), {} (--format csv reads it \
                 as CSV{})",
                if opts.csv.header {
                    "its first line a header"
                } else {
                    "with no header line"
                },
                if opts.csv.header {
                    "; --no-header says it has no header"
                } else {
                    "; --header says its first line is one"
                },
            );
        }
        if let Some(d) = delimiter {
            tracing::info!(
                "{name}: the fields are separated by {} (read from its first lines; --delimiter \
                 gives another)",
                crate::source::csv::delimiter_arg(d)
            );
            opts.csv.delimiter = d;
        }
        if compression != Compression::None {
            // Progress counts the compressed bytes, which the file's size measures.
            self.progress.compressed.store(true, Ordering::Relaxed);
        }
        // A header read as one field holding another likely delimiter: the file is most
        // likely not separated by the delimiter it was read with.
        let guess = match (&names, opts.format) {
            (Some(names), Format::Csv | Format::Tsv) => {
                crate::source::csv::other_delimiter(names, opts.csv.delimiter)
                    .map(|d| (names.join(""), crate::source::csv::delimiter_arg(d)))
            }
            _ => None,
        };
        let guess_hint = |(header, arg): &(String, String)| {
            format!(
                "the header was read as one column, {header:?}: if the file's fields are \
                 separated by {arg}, pass --delimiter {arg}"
            )
        };
        if let (Some(g), None) = (&guess, &existing) {
            tracing::warn!("{}", guess_hint(g));
        }
        let (table, created) = match (existing, inferred) {
            (Some(t), _) => (t, None),
            (None, Some(inferred)) => {
                let mut inferred = inferred.with_columns(name)?;
                if self.on_conflict.is_some() {
                    inferred.primary_key = self.new_table_key(&inferred)?;
                }
                let sql =
                    inferred.create_sql(&table_name.quoted_in(db.dialect()), db.dialect(), true);
                tracing::info!(rows = inferred.sampled_rows, "creating the table:\n{sql}");
                for note in inferred.warnings() {
                    tracing::warn!("{note}");
                }
                // The table is made now, of text: the option alone, on a rerun, would find
                // the table (and the file loaded).
                for note in inferred.text_notes(db.dialect()) {
                    tracing::warn!(
                        "{note}; this load creates it as text: to have the other type, drop \
                         the table and run the command again with that option"
                    );
                }
                db.create_table(&sql, &table_name).await?;
                if let Some(column) = &self.distribute_by {
                    db.distribute(&table_name, column).await?;
                }
                let t = db.introspect(&table_name).await?.ok_or_else(|| {
                    Error::from(ErrorKind::TableNotFound {
                        table: table_name.quoted(),
                    })
                })?;
                (t, Some(inferred.sampled_rows))
            }
            (None, None) => return Err(not_found(&table_name, db.dialect(), &like)),
        };
        let mut keep = None;
        let columns = match &names {
            // A table created from this file has its columns in the file's order.
            _ if created.is_some() => table.columns.clone(),
            Some(names) => {
                // With --ignore-unknown, the input's columns the table lacks are left out of
                // each record (NDJSON's keys were left out by its reader already).
                let found = table.match_columns(names);
                let kept: Vec<String> = names
                    .iter()
                    .zip(&found)
                    .filter(|(_, f)| f.is_some())
                    .map(|(n, _)| n.clone())
                    .collect();
                let names = if self.ignore_unknown && !kept.is_empty() && kept.len() < names.len() {
                    let left_out: Vec<&str> = names
                        .iter()
                        .zip(&found)
                        .filter(|(_, f)| f.is_none())
                        .map(|(n, _)| n.as_str())
                        .collect();
                    tracing::info!(
                        "leaving out the input's columns that {table} lacks: {}",
                        left_out.join(", ")
                    );
                    let mask: Vec<bool> = found.iter().map(Option::is_some).collect();
                    reader = Box::new(Projected::new(reader, mask.clone()));
                    keep = Some(mask);
                    &kept
                } else {
                    names
                };
                let mapping = table
                    .map_columns(names)
                    .map_err(|e| match (&guess, delimiter) {
                        (Some(g), _) => e.with_hint(guess_hint(g)),
                        (None, Some(d)) => e.with_hint(format!(
                            "the header was read as separated by {}, as the file's first \
                             lines are: if its delimiter is the comma, pass --delimiter ','",
                            crate::source::csv::delimiter_arg(d)
                        )),
                        (None, None) => e,
                    })?;
                mapping.iter().map(|&i| table.columns[i].clone()).collect()
            }
            None => table.columns.clone(),
        };
        // A NOT NULL column without a default that the input does not have: every row would
        // be refused, one at a time with --rejects. Said now, before any row is read.
        let missing: Vec<String> = table
            .required
            .iter()
            .filter(|r| !columns.iter().any(|c| &&c.name == r))
            .map(|r| format!("\"{r}\""))
            .collect();
        if created.is_none() && !missing.is_empty() {
            let (these, are) = match missing.len() {
                1 => ("column", "is"),
                _ => ("columns", "are"),
            };
            return Err(Error::config(format!(
                "{these} {} of table {table} {are} NOT NULL without a default, and the input \
                 does not give {}: every row would be refused",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
            ))
            .with_hint(
                "give the input those columns (or name the input's columns with --columns), or \
                 give them a default in the table",
            ));
        }
        reader.set_json_fields(&json_fields(&columns));
        let (format, report_format) = db.wire_format(&columns, self.mode);
        let upsert = match self.on_conflict {
            None => None,
            Some(action) => {
                let resolved = match db.unique_keys(&table).await {
                    Ok(keys) => Upsert::resolve(
                        &table,
                        &columns,
                        &keys,
                        action,
                        self.key.as_deref(),
                        self.update_columns.as_deref(),
                    ),
                    Err(e) => Err(e),
                };
                match resolved {
                    Ok(u) => Some(u),
                    // A table made for this load, which no row went into, goes again, as it
                    // does when the load fails later.
                    Err(e) if created.is_some() && self.split.is_none() => {
                        if let Err(why) = db.drop_if_empty(&table).await {
                            tracing::warn!("{table} was created by this load and is left ({why})");
                        }
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        Ok((
            reader,
            Destination {
                table,
                created,
                columns,
                names,
                keep,
                header_raw,
                compression,
                path,
                opts,
                null,
                format,
                report_format,
                upsert,
            },
        ))
    }

    /// The primary key of a table `--create` makes for an upsert: the columns `--key` names
    /// (an upsert finds a row's earlier version by them, so a table without them could take
    /// no upsert), as indices into `inferred`'s columns.
    ///
    /// # Errors
    /// No `--key`, or a name that is no column of the input.
    fn new_table_key(&self, inferred: &crate::infer::InferredTable) -> Result<Vec<usize>> {
        let Some(key) = &self.key else {
            return Err(Error::config(
                "--on-conflict into a table this load creates needs --key: the columns that \
                 identify a row, which the table gets as its primary key (the file's rows with \
                 the same key then load as one)",
            ));
        };
        let names: Vec<String> = inferred.columns.iter().map(|c| c.name.clone()).collect();
        key.iter()
            .zip(crate::schema::match_names(&names, key))
            .map(|(k, found)| {
                found.ok_or_else(|| {
                    Error::config(format!(
                        "--key {k} is no column of the input; its columns are: {}",
                        names.join(", ")
                    ))
                })
            })
            .collect()
    }
}

/// Which fields go into json/jsonb columns (a typed reader keeps their JSON text as it is).
pub(super) fn json_fields(columns: &[Column]) -> Vec<bool> {
    columns
        .iter()
        .map(|c| matches!(c.ty, ColumnType::Json | ColumnType::Jsonb))
        .collect()
}

/// What names the tables of another schema or case that `like` holds, and how to load into
/// one of them.
fn meant(like: &[TableName], dialect: Dialect) -> String {
    // As --table takes it: quoted only where a part is not lower case letters, digits and
    // `_`, and then for the shell too.
    let arg = |t: &TableName| {
        let plain = |s: &str| {
            s.chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        let parts = [t.schema.as_deref(), Some(t.name.as_str())];
        let parts = parts.iter().flatten();
        if parts.clone().all(|p| plain(p)) {
            parts.copied().collect::<Vec<_>>().join(".")
        } else {
            let quoted = t.quoted_in(Dialect::Postgres).replace('\'', "'\\''");
            format!("'{quoted}'")
        }
    };
    match like {
        [one] => format!(
            "there is {}: pass --table {} to load into it",
            one.quoted_in(dialect),
            arg(one)
        ),
        more => format!(
            "tables of that name: {}; pass --table with the one meant (--table {})",
            more.iter()
                .map(|t| t.quoted_in(dialect))
                .collect::<Vec<_>>()
                .join(", "),
            more.first().map(arg).unwrap_or_default()
        ),
    }
}

/// No table by that name: what to check depends on how the database names tables (the
/// default advice speaks of PostgreSQL's schemas and search_path), unless a table of that
/// name in another schema or case is most likely the one meant.
fn not_found(name: &TableName, dialect: Dialect, like: &[TableName]) -> Error {
    let e = Error::from(ErrorKind::TableNotFound {
        table: name.quoted(),
    });
    if !like.is_empty() {
        return e.with_hint(format!(
            "{}; or create the table (--create)",
            meant(like, dialect)
        ));
    }
    match dialect {
        Dialect::Postgres => e,
        Dialect::Mysql => e.with_hint(
            "create the table first (or pass --create), or check --table (table, or \
             database.table; on some servers names are case-sensitive)",
        ),
        Dialect::Sqlite => e.with_hint(
            "create the table first (or pass --create), or check --table and the database \
             file in --into",
        ),
    }
}
