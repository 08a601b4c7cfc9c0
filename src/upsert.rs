//! Loading into a table that already holds some of the keys: `ON CONFLICT DO NOTHING` or
//! `DO UPDATE`, with the semantics of a row-by-row load of the file.
//!
//! Rows with the same key inside one chunk are applied in file order: with `update` the last
//! occurrence wins, with `nothing` the first (what inserting the rows one at a time would
//! leave). Chunks are applied in file order too (see [`crate::turnstile`]), so the same holds
//! across chunks and workers. PostgreSQL's "ON CONFLICT DO UPDATE command cannot affect row a
//! second time" never happens: each chunk is first staged, then merged with one duplicate-free
//! `INSERT ... SELECT`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::schema::{Column, Table};

/// What to do with a row whose key is already in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    /// Keep the row in the table; the file's row is skipped.
    Nothing,
    /// Overwrite the update columns with the file's row.
    Update,
}

impl FromStr for OnConflict {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "nothing" | "skip" | "ignore" => Ok(OnConflict::Nothing),
            "update" => Ok(OnConflict::Update),
            _ => Err(format!(
                "unknown --on-conflict {s:?}: use nothing or update"
            )),
        }
    }
}

impl fmt::Display for OnConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnConflict::Nothing => "nothing",
            OnConflict::Update => "update",
        })
    }
}

/// A unique key of the target table, as the catalog lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniqueKey {
    /// Whether it is the primary key.
    pub primary: bool,
    /// Its columns, in index order.
    pub columns: Vec<String>,
}

/// A resolved upsert: the conflict key and what to update.
#[derive(Clone, Debug)]
pub struct Upsert {
    /// What to do on conflict.
    pub on_conflict: OnConflict,
    /// The conflict key's columns (a unique key of the table, all among the loaded columns).
    pub key: Vec<Column>,
    /// The columns `update` overwrites (loaded, not in the key); empty for `nothing`.
    pub update: Vec<Column>,
}

fn list(cols: &[String]) -> String {
    format!("({})", cols.join(", "))
}

impl Upsert {
    /// Checks the user's choices against the table: `key` (default: the primary key) must be
    /// the columns of one unique key and all loaded; `update` (default: every loaded column not
    /// in the key) must be loaded and not in the key.
    ///
    /// # Errors
    /// A configuration error that names the candidates.
    pub fn resolve(
        table: &Table,
        loaded: &[Column],
        keys: &[UniqueKey],
        on_conflict: OnConflict,
        key: Option<&[String]>,
        update: Option<&[String]>,
    ) -> Result<Upsert> {
        if keys.is_empty() {
            // No --key can help: say what can.
            return Err(Error::config(format!(
                "table {table} has no primary key or unique index, which --on-conflict needs to \
                 find a row's earlier version: add one (a primary key or unique index on the \
                 columns that identify a row), or load without --on-conflict"
            )));
        }
        let candidates = || {
            format!(
                "its unique keys are: {}",
                keys.iter()
                    .map(|k| list(&k.columns))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let find = |name: &str| -> Result<Column> {
            loaded
                .iter()
                .find(|c| c.name == name)
                .or_else(|| {
                    let mut folded = loaded.iter().filter(|c| c.name.eq_ignore_ascii_case(name));
                    match (folded.next(), folded.next()) {
                        (Some(c), None) => Some(c),
                        _ => None,
                    }
                })
                .cloned()
                .ok_or_else(|| {
                    let in_table = table.columns.iter().any(|c| c.name.eq_ignore_ascii_case(name));
                    Error::config(if in_table {
                        format!("column \"{name}\" is not in the input: an upsert key and the updated columns must be loaded")
                    } else {
                        format!("table {table} has no column \"{name}\"")
                    })
                })
        };
        let key_names: Vec<String> = match key {
            Some(names) => {
                let cols = names.iter().map(|n| find(n)).collect::<Result<Vec<_>>>()?;
                let mut want: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
                want.sort_unstable();
                let fits = keys.iter().any(|k| {
                    let mut have: Vec<&str> = k.columns.iter().map(String::as_str).collect();
                    have.sort_unstable();
                    have == want
                });
                if !fits {
                    return Err(Error::config(format!(
                        "--key {} is not a unique key of table {table}: {}",
                        names.join(","),
                        candidates()
                    )));
                }
                cols.into_iter().map(|c| c.name).collect()
            }
            // The primary key; else, when the input lacks it (an id the database hands out,
            // a file keyed by email), the one unique key the input has all of.
            None => {
                let loads_all = |k: &UniqueKey| k.columns.iter().all(|n| find(n).is_ok());
                let pk = keys.iter().find(|k| k.primary);
                let loadable: Vec<&UniqueKey> = keys.iter().filter(|k| loads_all(k)).collect();
                match (pk, loadable.as_slice()) {
                    (Some(pk), _) if loads_all(pk) => pk.columns.clone(),
                    (_, [one]) => {
                        tracing::info!(
                            "conflict key {}: the only unique key of table {table} the input has",
                            list(&one.columns)
                        );
                        one.columns.clone()
                    }
                    (pk, found) => {
                        let why = match pk {
                            Some(pk) => format!(
                                "the input lacks the primary key {} of table {table}",
                                list(&pk.columns)
                            ),
                            None => format!("table {table} has no primary key"),
                        };
                        return Err(Error::config(match found {
                            [] => format!(
                                "{why}, and has none of its unique keys whole ({}): an upsert \
                                 finds a row's earlier version by one, so load its columns (or \
                                 load without --on-conflict)",
                                candidates()
                            ),
                            several => format!(
                                "{why}, and has all of several of its unique keys: {}: name the \
                                 conflict key with --key",
                                several
                                    .iter()
                                    .map(|k| list(&k.columns))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        }));
                    }
                }
            }
        };
        let key_cols = key_names
            .iter()
            .map(|n| find(n))
            .collect::<Result<Vec<_>>>()?;
        let in_key = |c: &Column| key_cols.iter().any(|k| k.name == c.name);
        let update_cols = match (on_conflict, update) {
            (OnConflict::Nothing, Some(_)) => {
                return Err(Error::config(
                    "--update-columns goes with --on-conflict update",
                ))
            }
            (OnConflict::Nothing, None) => Vec::new(),
            (OnConflict::Update, None) => loaded.iter().filter(|c| !in_key(c)).cloned().collect(),
            (OnConflict::Update, Some(names)) => {
                let cols = names.iter().map(|n| find(n)).collect::<Result<Vec<_>>>()?;
                if let Some(c) = cols.iter().find(|c| in_key(c)) {
                    return Err(Error::config(format!(
                        "column \"{}\" is part of the conflict key and cannot be updated",
                        c.name
                    )));
                }
                cols
            }
        };
        Ok(Upsert {
            // Nothing left to update (every loaded column is in the key): keep what is there.
            on_conflict: if update_cols.is_empty() {
                OnConflict::Nothing
            } else {
                on_conflict
            },
            key: key_cols,
            update: update_cols,
        })
    }
}

/// What an upsert did, counted as a row-by-row load would count it: `inserted` rows made a new
/// row; each other row either `updated` the row with its key (the file's second occurrence of
/// a key updates what its first inserted) or, with `nothing`, was `skipped`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpsertCounts {
    /// Rows that created a row.
    pub inserted: u64,
    /// Rows that overwrote an existing row (`update`).
    pub updated: u64,
    /// Rows left out because their key was there (`nothing`).
    pub skipped: u64,
}

impl UpsertCounts {
    /// The counts for a chunk of `rows` rows of which `inserted` created rows.
    pub fn of_chunk(on_conflict: OnConflict, rows: u64, inserted: u64) -> Self {
        let rest = rows.saturating_sub(inserted);
        match on_conflict {
            OnConflict::Update => UpsertCounts {
                inserted,
                updated: rest,
                skipped: 0,
            },
            OnConflict::Nothing => UpsertCounts {
                inserted,
                updated: 0,
                skipped: rest,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnType;

    fn col(n: &str) -> Column {
        Column {
            name: n.into(),
            ty: ColumnType::Text,
            type_name: "text".into(),
            not_null: false,
        }
    }

    fn table() -> Table {
        Table {
            schema: "public".into(),
            name: "t".into(),
            columns: ["id", "a", "b", "c"].iter().map(|n| col(n)).collect(),
            required: Vec::new(),
            generated: Vec::new(),
            identity_always: Vec::new(),
        }
    }

    fn keys() -> Vec<UniqueKey> {
        vec![
            UniqueKey {
                primary: true,
                columns: vec!["id".into()],
            },
            UniqueKey {
                primary: false,
                columns: vec!["a".into(), "b".into()],
            },
        ]
    }

    fn names(cols: &[Column]) -> Vec<&str> {
        cols.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn defaults_are_the_primary_key_and_every_other_loaded_column() {
        let loaded: Vec<Column> = ["id", "a", "b"].iter().map(|n| col(n)).collect();
        let u =
            Upsert::resolve(&table(), &loaded, &keys(), OnConflict::Update, None, None).unwrap();
        assert_eq!(names(&u.key), ["id"]);
        assert_eq!(names(&u.update), ["a", "b"]);
        let k = ["B".to_string(), "a".to_string()];
        let u = Upsert::resolve(
            &table(),
            &loaded,
            &keys(),
            OnConflict::Update,
            Some(&k),
            None,
        )
        .unwrap();
        assert_eq!(names(&u.key), ["b", "a"]);
        assert_eq!(names(&u.update), ["id"]);
    }

    #[test]
    fn wrong_keys_name_the_candidates() {
        let loaded: Vec<Column> = ["id", "a", "b", "c"].iter().map(|n| col(n)).collect();
        let k = ["c".to_string()];
        let e = Upsert::resolve(
            &table(),
            &loaded,
            &keys(),
            OnConflict::Update,
            Some(&k),
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--key c is not a unique key of table \"public\".\"t\": its unique keys are: (id), (a, b)"
        );
        let e =
            Upsert::resolve(&table(), &loaded, &[], OnConflict::Nothing, None, None).unwrap_err();
        assert!(e.to_string().contains("has no primary key"), "{e}");
        // Without the primary key, the one unique key the input has all of.
        let loaded: Vec<Column> = ["a", "b", "c"].iter().map(|n| col(n)).collect();
        let u =
            Upsert::resolve(&table(), &loaded, &keys(), OnConflict::Update, None, None).unwrap();
        assert_eq!(names(&u.key), ["a", "b"]);
        assert_eq!(names(&u.update), ["c"]);
        let loaded: Vec<Column> = ["a", "c"].iter().map(|n| col(n)).collect();
        let e = Upsert::resolve(&table(), &loaded, &keys(), OnConflict::Update, None, None)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the input lacks the primary key (id) of table \"public\".\"t\", and has none of \
             its unique keys whole (its unique keys are: (id), (a, b)): an upsert finds a row's \
             earlier version by one, so load its columns (or load without --on-conflict)"
        );
        let mut more = keys();
        more.push(UniqueKey {
            primary: false,
            columns: vec!["c".into()],
        });
        let loaded: Vec<Column> = ["a", "b", "c"].iter().map(|n| col(n)).collect();
        let e =
            Upsert::resolve(&table(), &loaded, &more, OnConflict::Update, None, None).unwrap_err();
        assert!(
            e.to_string().ends_with(
                "and has all of several of its unique keys: (a, b), (c): name the conflict key \
                 with --key"
            ),
            "{e}"
        );
        let loaded: Vec<Column> = ["id", "a"].iter().map(|n| col(n)).collect();
        let u = ["id".to_string()];
        let e = Upsert::resolve(
            &table(),
            &loaded,
            &keys(),
            OnConflict::Update,
            None,
            Some(&u),
        )
        .unwrap_err();
        assert!(e.to_string().contains("part of the conflict key"), "{e}");
    }

    #[test]
    fn counts_follow_row_by_row_semantics() {
        assert_eq!(
            UpsertCounts::of_chunk(OnConflict::Update, 10, 4),
            UpsertCounts {
                inserted: 4,
                updated: 6,
                skipped: 0
            }
        );
        assert_eq!(
            UpsertCounts::of_chunk(OnConflict::Nothing, 10, 4).skipped,
            6
        );
    }
}
