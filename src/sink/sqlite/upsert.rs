//! Upserts into SQLite: rows are staged in a temporary table, the rows that will create a row
//! counted, then merged in file order with SQLite's own `ON CONFLICT`.

use super::writer::SqlitePlan;
use crate::ident::quote_ident;
use crate::schema::Column;
use crate::upsert::{OnConflict, Upsert};

/// The staging table of an upsert, in the connection's private temporary database.
pub(crate) const STAGE: &str = "temp.\"barge_stage\"";

impl SqlitePlan {
    /// `CREATE TEMP TABLE` for the staging table: the loaded columns, no constraints (the
    /// target checks them); its rowid keeps the rows' order.
    pub fn create_stage_sql(&self) -> String {
        let cols: Vec<String> = self.columns.iter().map(|c| quote_ident(&c.name)).collect();
        format!(
            "DROP TABLE IF EXISTS {STAGE}; CREATE TEMP TABLE \"barge_stage\" AS SELECT {} FROM {} WHERE false",
            cols.join(", "),
            self.table
        )
    }

    /// How many staged rows will create a row: distinct new keys, plus rows with a NULL in the
    /// key (which never conflict).
    pub(crate) fn count_new_sql(u: &Upsert, table: &str) -> String {
        let q = |c: &Column| quote_ident(&c.name);
        let key = u.key.iter().map(q).collect::<Vec<_>>().join(", ");
        let not_null = u
            .key
            .iter()
            .map(|c| format!("s.{} IS NOT NULL", q(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let same = u
            .key
            .iter()
            .map(|c| format!("t.{0} = s.{0}", q(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        format!(
            "SELECT (SELECT count(*) FROM (SELECT DISTINCT {key} FROM {STAGE} AS s \
                     WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {same}))) \
                  + (SELECT count(*) FROM {STAGE} AS s WHERE NOT ({not_null}))"
        )
    }

    /// The merge: staged rows in file order, so that SQLite's row-at-a-time upsert leaves what
    /// a row-by-row load would (`WHERE true` tells the upsert's ON from a join's).
    pub(crate) fn merge_sql(&self, u: &Upsert) -> String {
        let q = |c: &Column| quote_ident(&c.name);
        let cols = self.columns.iter().map(q).collect::<Vec<_>>().join(", ");
        let key = u.key.iter().map(q).collect::<Vec<_>>().join(", ");
        let action = match u.on_conflict {
            OnConflict::Nothing => "DO NOTHING".to_string(),
            OnConflict::Update => format!(
                "DO UPDATE SET {}",
                u.update
                    .iter()
                    .map(|c| format!("{0} = excluded.{0}", q(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!(
            "INSERT INTO {} ({cols}) SELECT {cols} FROM {STAGE} WHERE true ORDER BY rowid \
             ON CONFLICT ({key}) {action}",
            self.table
        )
    }
}
