//! Upserts into MySQL: the chunk is staged in a temporary table (one per connection), then
//! merged with one `INSERT ... SELECT ... ORDER BY seq ON DUPLICATE KEY UPDATE`: MySQL applies
//! the rows one by one in that order, so with `update` the last occurrence of a key wins and
//! with `nothing` the first, as a row-by-row load would. (`INSERT IGNORE` would also swallow
//! errors that are not conflicts, so it is not used.)

use crate::ident::Dialect;
use crate::schema::{Column, Table};
use crate::upsert::{OnConflict, Upsert};

/// The staging table.
pub const STAGE: &str = "`barge_stage`";
/// Its row-order column.
const SEQ: &str = "`barge.seq`";

fn q(name: &str) -> String {
    Dialect::Mysql.quote(name)
}

/// Creates the staging table: the loaded columns with their types and no constraints, plus
/// the arrival order.
pub fn create_stage_sql(table: &Table, columns: &[Column]) -> Vec<String> {
    let cols: Vec<String> = columns.iter().map(|c| q(&c.name)).collect();
    vec![
        format!("DROP TEMPORARY TABLE IF EXISTS {STAGE}"),
        format!(
            "CREATE TEMPORARY TABLE {STAGE} ENGINE = InnoDB AS SELECT {} FROM {} WHERE 1 = 0",
            cols.join(", "),
            table.quoted_in(Dialect::Mysql)
        ),
        format!("ALTER TABLE {STAGE} ADD COLUMN {SEQ} BIGINT AUTO_INCREMENT PRIMARY KEY"),
    ]
}

/// Two counts whose sum is the staged rows that will create a row: distinct keys not in the
/// table, and rows with a NULL in the key (which never conflict). Two statements, since MySQL
/// cannot open a temporary table twice in one.
pub fn count_new_sql(u: &Upsert, table: &Table) -> [String; 2] {
    let key: Vec<String> = u.key.iter().map(|c| q(&c.name)).collect();
    let not_null = u
        .key
        .iter()
        .map(|c| format!("s.{} IS NOT NULL", q(&c.name)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let same = u
        .key
        .iter()
        .map(|c| format!("t.{0} = s.{0}", q(&c.name)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let table = table.quoted_in(Dialect::Mysql);
    [
        format!(
            "SELECT count(*) FROM (SELECT DISTINCT {} FROM {STAGE} AS s WHERE {not_null} \
             AND NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {same})) AS fresh",
            key.iter()
                .map(|k| format!("s.{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("SELECT count(*) FROM {STAGE} AS s WHERE NOT ({not_null})"),
    ]
}

/// The merge, in arrival order.
pub fn merge_sql(u: &Upsert, table: &Table, columns: &[Column]) -> String {
    let cols = columns
        .iter()
        .map(|c| q(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let target = table.quoted_in(Dialect::Mysql);
    // A no-op update: the row already there stays as it is.
    let keep = || {
        let k = format!("{target}.{}", q(&u.key[0].name));
        format!("{k} = {k}")
    };
    let action = match u.on_conflict {
        OnConflict::Nothing => keep(),
        OnConflict::Update if u.update.is_empty() => keep(),
        OnConflict::Update => u
            .update
            .iter()
            .map(|c| format!("{0} = VALUES({0})", q(&c.name)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!(
        "INSERT INTO {} ({cols}) SELECT {cols} FROM {STAGE} ORDER BY {SEQ} \
         ON DUPLICATE KEY UPDATE {action}",
        table.quoted_in(Dialect::Mysql)
    )
}
