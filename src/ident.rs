//! Identifiers: cleaning a header's names into column names, and quoting a name for the SQL
//! of each dialect. Every identifier barge writes into SQL goes through here; no SQL is ever
//! built from data.

/// The SQL dialect a `CREATE TABLE` is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL and the engines that speak its protocol.
    Postgres,
    /// SQLite.
    Sqlite,
    /// MySQL and MariaDB.
    Mysql,
}

impl std::str::FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(Dialect::Postgres),
            "sqlite" | "sqlite3" => Ok(Dialect::Sqlite),
            "mysql" | "mariadb" => Ok(Dialect::Mysql),
            _ => Err(format!(
                "unknown dialect {s:?}: use postgres, sqlite or mysql"
            )),
        }
    }
}

impl Dialect {
    /// Quotes `name` for this dialect: always, so that no name (with quotes, semicolons,
    /// capitals or spaces) is ever read as SQL.
    pub fn quote(self, name: &str) -> String {
        match self {
            Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
            Dialect::Postgres | Dialect::Sqlite => quote_ident(name),
        }
    }
}

/// Quotes an SQL identifier: always, so that no name (with quotes, semicolons, capitals or
/// spaces) is ever read as SQL.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Whether two names have the same letters and digits in the same order, case, spaces and
/// punctuation aside (`created_at`, `createdAt`, `Created At`): a header and a column that
/// mean the same column in another naming style.
pub fn same_letters(a: &str, b: &str) -> bool {
    let letters = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<Vec<char>>()
    };
    let (a, b) = (letters(a), letters(b));
    !a.is_empty() && a == b
}

/// Cleans a header name into a column name that needs no quotes in any dialect: lower case,
/// runs of anything but letters, digits and `_` turned into one `_`, trimmed of `_`, cut at 63
/// bytes (PostgreSQL's limit), `col_` in front of a leading digit. Empty when nothing is left.
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.trim().chars() {
        if c.is_alphanumeric() || c == '_' {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    let mut out = out.trim_matches('_').to_string();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "col_");
    }
    cut(&mut out, LONGEST);
    out
}

/// The longest name, in bytes, that PostgreSQL keeps whole: it cuts longer ones silently, so
/// two names that differ only past it would become one column. MySQL takes 64 characters,
/// SQLite any length; 63 bytes fits them all.
const LONGEST: usize = 63;

/// Cuts `name` to at most `bytes` bytes, on a character boundary.
fn cut(name: &mut String, bytes: usize) {
    while name.len() > bytes {
        name.pop();
    }
}

/// Column names for a header: sanitized, `column_N` for empty ones, and `_2`, `_3` ... added
/// to repeats, so that every column of the file gets a distinct name.
pub fn column_names(header: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for (i, h) in header.iter().enumerate() {
        let mut base = sanitize(h);
        if base.is_empty() {
            base = format!("column_{}", i + 1);
        }
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            // The suffix goes inside the limit: cut after it, it would be cut off again by
            // the server, and the repeat would be back.
            let suffix = format!("_{n}");
            let mut stem = base.clone();
            cut(&mut stem, LONGEST - suffix.len());
            name = stem + &suffix;
            n += 1;
        }
        names.push(name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_distinct() {
        let h: Vec<String> = [
            "Event Type",
            "",
            "id",
            "ID",
            "  2020 Sales ($) ",
            "événement",
            "a\"b;c",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            column_names(&h),
            [
                "event_type",
                "column_2",
                "id",
                "id_2",
                "col_2020_sales",
                "événement",
                "a_b_c"
            ]
        );
        assert_eq!(sanitize("___"), "");
        assert_eq!(sanitize(&"x".repeat(100)).len(), 63);
    }

    #[test]
    fn repeats_of_long_names_stay_distinct_within_the_limit() {
        let long = format!("{}é", "a".repeat(61));
        let h = vec![long.clone(), long.clone() + "x", long.clone() + "y"];
        let names = column_names(&h);
        assert_eq!(names[0], long, "63 bytes: kept whole");
        assert_eq!(names[1], format!("{}_2", "a".repeat(61)));
        assert_eq!(names[2], format!("{}_3", "a".repeat(61)));
        assert!(names.iter().all(|n| n.len() <= 63));
    }

    #[test]
    fn every_dialect_quotes_every_name() {
        assert_eq!(Dialect::Postgres.quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Sqlite.quote("x; DROP"), "\"x; DROP\"");
        assert_eq!(Dialect::Mysql.quote("a`b"), "`a``b`");
    }
}
