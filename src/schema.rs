//! The target table as barge sees it: columns, their types and constraints, and how the
//! input's columns map onto them.

use std::fmt;

use crate::error::{Error, ErrorKind, Result};
use crate::ident::Dialect;

/// A column type barge knows how to validate and encode on the client.
///
/// Anything else is [`ColumnType::Other`]: the load then falls back to text `COPY` and the
/// server parses every value (barge says so once, in the log).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColumnType {
    /// `boolean`
    Bool,
    /// `smallint`
    Int2,
    /// `integer`
    Int4,
    /// `bigint`
    Int8,
    /// `real`
    Float4,
    /// `double precision`
    Float8,
    /// `numeric(precision, scale)`, or unconstrained `numeric` when `None`.
    Numeric(Option<(u16, i16)>),
    /// `text` (and enums, whose binary input is their label, and `citext`).
    Text,
    /// `varchar(n)`; `None` when unbounded.
    Varchar(Option<u32>),
    /// `char(n)`.
    Bpchar(Option<u32>),
    /// `date`
    Date,
    /// `time without time zone`
    Time,
    /// `time with time zone`
    Timetz,
    /// `timestamp without time zone`
    Timestamp,
    /// `timestamp with time zone`
    Timestamptz,
    /// `uuid`
    Uuid,
    /// `json`
    Json,
    /// `jsonb`
    Jsonb,
    /// `bytea`
    Bytea,
    /// `inet`
    Inet,
    /// `cidr`
    Cidr,
    /// `macaddr`
    Macaddr,
    /// `macaddr8`
    Macaddr8,
    /// PostGIS' `geometry` or `geography` (an extension's types, known by their receive
    /// functions): their binary form is (E)WKB.
    Geo,
    /// `interval` without a field restriction or precision (with one it is
    /// [`ColumnType::Other`]: the server applies it).
    Interval,
    /// A built-in range (`int4range`, `tstzrange`, ...) of `elem` values.
    Range(Box<ColumnType>),
    /// A built-in multirange (`int4multirange`, ...): ranges of `elem` values.
    Multirange(Box<ColumnType>),
    /// An array (`text[]`, `integer[][]`) of `elem`, whose type's OID `elem_oid` its binary
    /// form names. Of an element type barge does not encode ([`ColumnType::Other`]) it is
    /// parsed by the server, as that type is.
    Array {
        /// How each element is encoded.
        elem: Box<ColumnType>,
        /// The element type's OID.
        elem_oid: u32,
    },
    /// Any other type: parsed by the server from text.
    Other,
}

impl ColumnType {
    /// Maps a PostgreSQL type OID and type modifier to the type barge encodes; `recv` is the
    /// name of the type's binary input function, which tells extensions' types apart (their
    /// OIDs differ in each database): an enum's and `citext`'s read text, PostGIS' read WKB.
    pub fn from_pg(oid: u32, typmod: i32, recv: &str) -> ColumnType {
        let len = || (typmod >= 4).then(|| (typmod - 4) as u32);
        match oid {
            16 => ColumnType::Bool,
            21 => ColumnType::Int2,
            23 => ColumnType::Int4,
            20 => ColumnType::Int8,
            700 => ColumnType::Float4,
            701 => ColumnType::Float8,
            1700 => ColumnType::Numeric((typmod >= 4).then(|| {
                let t = typmod - 4;
                let precision = ((t >> 16) & 0xffff) as u16;
                // PostgreSQL 15 stores the scale as an 11-bit two's complement number.
                let raw = (t & 0x7ff) as i16;
                let scale = if raw & 0x400 != 0 { raw - 0x800 } else { raw };
                (precision, scale)
            })),
            25 => ColumnType::Text,
            1043 => ColumnType::Varchar(len()),
            1042 => ColumnType::Bpchar(len()),
            1082 => ColumnType::Date,
            1083 => ColumnType::Time,
            1266 => ColumnType::Timetz,
            1114 => ColumnType::Timestamp,
            1184 => ColumnType::Timestamptz,
            2950 => ColumnType::Uuid,
            114 => ColumnType::Json,
            3802 => ColumnType::Jsonb,
            17 => ColumnType::Bytea,
            869 => ColumnType::Inet,
            650 => ColumnType::Cidr,
            829 => ColumnType::Macaddr,
            774 => ColumnType::Macaddr8,
            1186 if typmod < 0 => ColumnType::Interval,
            3904 => ColumnType::Range(Box::new(ColumnType::Int4)),
            3926 => ColumnType::Range(Box::new(ColumnType::Int8)),
            3906 => ColumnType::Range(Box::new(ColumnType::Numeric(None))),
            3908 => ColumnType::Range(Box::new(ColumnType::Timestamp)),
            3910 => ColumnType::Range(Box::new(ColumnType::Timestamptz)),
            3912 => ColumnType::Range(Box::new(ColumnType::Date)),
            4451 => ColumnType::Multirange(Box::new(ColumnType::Int4)),
            4536 => ColumnType::Multirange(Box::new(ColumnType::Int8)),
            4532 => ColumnType::Multirange(Box::new(ColumnType::Numeric(None))),
            4533 => ColumnType::Multirange(Box::new(ColumnType::Timestamp)),
            4534 => ColumnType::Multirange(Box::new(ColumnType::Timestamptz)),
            4535 => ColumnType::Multirange(Box::new(ColumnType::Date)),
            _ => match recv {
                "enum_recv" | "citextrecv" => ColumnType::Text,
                "geometry_recv" | "geography_recv" => ColumnType::Geo,
                _ => ColumnType::Other,
            },
        }
    }

    /// An array of the PostgreSQL type `elem_oid`; `typmod` is the column's, which applies to
    /// each element (`numeric(10,2)[]`).
    pub fn pg_array(elem_oid: u32, typmod: i32, elem_recv: &str) -> ColumnType {
        ColumnType::Array {
            elem: Box::new(ColumnType::from_pg(elem_oid, typmod, elem_recv)),
            elem_oid,
        }
    }

    /// Whether the server parses this column's values from their text (no binary form is
    /// made for them on the client).
    pub fn server_parsed(&self) -> bool {
        match self {
            ColumnType::Other => true,
            ColumnType::Array { elem, .. } => elem.server_parsed(),
            _ => false,
        }
    }
}

impl ColumnType {
    /// Maps a MySQL column's `DATA_TYPE` to the nearest type barge knows across targets (its
    /// values are checked by the MySQL encoder, from the full declared type).
    pub fn from_mysql(data_type: &str) -> ColumnType {
        match data_type.to_ascii_lowercase().as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => ColumnType::Int8,
            "decimal" | "numeric" => ColumnType::Numeric(None),
            "float" | "double" | "real" => ColumnType::Float8,
            "date" => ColumnType::Date,
            "datetime" | "timestamp" => ColumnType::Timestamp,
            "time" => ColumnType::Time,
            "json" => ColumnType::Json,
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum"
            | "set" => ColumnType::Text,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                ColumnType::Bytea
            }
            _ => ColumnType::Other,
        }
    }
}

impl ColumnType {
    /// Maps a SQLite column's declared type to the type barge validates its values as.
    ///
    /// SQLite stores anything in any column, so the declared type is all there is to check
    /// against. The names follow SQLite's own affinity rules (a name containing `INT` is an
    /// integer, `CHAR`/`CLOB`/`TEXT` text, `REAL`/`FLOA`/`DOUB` a double), after the names
    /// other tools declare for types SQLite lacks (`BOOLEAN`, `DATE`, `DATETIME`, `TIMESTAMP`,
    /// `UUID`, `JSON`). An empty declaration takes any text, as SQLite does.
    pub fn from_sqlite(decl: &str) -> ColumnType {
        let d = decl.to_ascii_uppercase();
        let has = |w: &str| d.contains(w);
        if d.trim().is_empty() {
            ColumnType::Other
        } else if has("BOOL") {
            ColumnType::Bool
        } else if has("INT") {
            ColumnType::Int8
        } else if has("CHAR") || has("CLOB") || has("TEXT") {
            ColumnType::Text
        } else if has("BLOB") {
            ColumnType::Bytea
        } else if has("REAL") || has("FLOA") || has("DOUB") {
            ColumnType::Float8
        } else if has("TIMESTAMPTZ") || has("WITH TIME ZONE") {
            ColumnType::Timestamptz
        } else if has("DATETIME") || has("TIMESTAMP") {
            ColumnType::Timestamp
        } else if has("DATE") {
            ColumnType::Date
        } else if has("TIME") {
            ColumnType::Time
        } else if has("UUID") {
            ColumnType::Uuid
        } else if has("JSON") {
            ColumnType::Json
        } else if has("NUMERIC") || has("DECIMAL") {
            ColumnType::Numeric(None)
        } else {
            ColumnType::Other
        }
    }
}

/// One column of the target table.
#[derive(Clone, Debug)]
pub struct Column {
    /// The column's name, exactly as stored in the catalog.
    pub name: String,
    /// How barge encodes it.
    pub ty: ColumnType,
    /// The type as the database spells it (`numeric(12,2)`, `character varying(40)`), used in
    /// messages and in casts the server resolves.
    pub type_name: String,
    /// `NOT NULL` (on the column or its domain).
    pub not_null: bool,
}

/// A table that exists in the target database.
#[derive(Clone, Debug)]
pub struct Table {
    /// Its schema (namespace).
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Its columns, in table order (dropped and generated columns left out).
    pub columns: Vec<Column>,
    /// The columns every row must give a value for: NOT NULL, with no default, and nothing
    /// else (an identity, a trigger) to fill them in. An input without one of them would
    /// have every row refused, so the load fails before it starts. Empty where the backend
    /// cannot tell (views, partitioned tables).
    pub required: Vec<String>,
    /// Its generated columns, left out of `columns`: the database computes their values, so
    /// an input that has them (an export of the table does) is told so.
    pub generated: Vec<String>,
    /// PostgreSQL's `GENERATED ALWAYS AS IDENTITY` columns: `COPY` writes the input's values
    /// into them, and an `INSERT` only with `OVERRIDING SYSTEM VALUE`, which barge's inserts
    /// and merges then say, so that every mode stores what COPY stores.
    pub identity_always: Vec<String>,
}

impl Table {
    /// The words an `INSERT` of `columns` into this table needs after its column list:
    /// `OVERRIDING SYSTEM VALUE` when one of them is an always-identity column, else none.
    pub fn overriding(&self, columns: &[Column]) -> &'static str {
        match columns
            .iter()
            .any(|c| self.identity_always.contains(&c.name))
        {
            true => " OVERRIDING SYSTEM VALUE",
            false => "",
        }
    }
}

impl Table {
    /// The schema-qualified, quoted name for SQL: `"public"."events"`.
    pub fn quoted(&self) -> String {
        self.quoted_in(Dialect::Postgres)
    }

    /// The schema-qualified name quoted for `dialect`.
    pub fn quoted_in(&self, dialect: Dialect) -> String {
        format!(
            "{}.{}",
            dialect.quote(&self.schema),
            dialect.quote(&self.name)
        )
    }

    /// The names of all columns, for messages.
    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// Maps the input's column names onto this table's columns.
    ///
    /// Each name matches the column with exactly that name, or else the one column whose name
    /// matches ignoring ASCII case, or else the one named as `--create` would name it. Columns the input lacks are left out of the mapping and get
    /// their defaults.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownColumns`] names every input column the table lacks, and a
    /// configuration error is returned when two input columns map to the same table column.
    pub fn map_columns(&self, names: &[String]) -> Result<Vec<usize>> {
        let mut unknown = Vec::new();
        let mut mapping = Vec::with_capacity(names.len());
        for (name, found) in names.iter().zip(self.match_columns(names)) {
            match found {
                Some(i) => mapping.push(i),
                None => unknown.push(name.clone()),
            }
        }
        if !unknown.is_empty() {
            let generated = unknown
                .iter()
                .zip(match_names(&self.generated, &unknown))
                .filter_map(|(name, found)| found.map(|_| name.clone()))
                .collect();
            return Err(ErrorKind::UnknownColumns {
                table: self.to_string(),
                unknown,
                columns: self.column_names(),
                generated,
            }
            .into());
        }
        for (k, &i) in mapping.iter().enumerate() {
            if mapping[..k].contains(&i) {
                return Err(Error::config(format!(
                    "the input maps two columns to column \"{}\" of table {self}",
                    self.columns[i].name
                )));
            }
        }
        Ok(mapping)
    }

    /// The column each of the input's `names` matches (as [`Table::map_columns`] matches
    /// them), `None` for a name the table lacks.
    pub fn match_columns(&self, names: &[String]) -> Vec<Option<usize>> {
        match_names(&self.column_names(), names)
    }
}

/// The column of `columns` each of `names` matches: the same name, else the one column that
/// differs only in case, else the name `--create` would have given it (`Event Type` ->
/// `event_type`), so that a table barge created takes the same file again, else the one
/// column of the same letters and digits (`created_at` -> `"createdAt"`: an ORM's camel-case
/// columns, Prisma's and Sequelize's, for an export's snake case). `None` for a name that
/// matches none.
///
/// Names that match so only in part, or two of them the same column, are matched as a whole
/// when `--create` would have made exactly the table's columns of them: a header with
/// `Name,name` (or a name left empty) made `name, name_2` (or `column_3`), and takes them.
pub fn match_names(columns: &[String], names: &[String]) -> Vec<Option<usize>> {
    let each = match_each(columns, names);
    let whole = || -> Option<Vec<Option<usize>>> {
        crate::ident::column_names(names)
            .iter()
            .map(|made| columns.iter().position(|c| c == made).map(Some))
            .collect()
    };
    let repeated = each
        .iter()
        .enumerate()
        .any(|(k, i)| i.is_some() && each[..k].contains(i));
    match whole() {
        Some(whole) if repeated || each.contains(&None) => whole,
        _ => each,
    }
}

fn match_each(columns: &[String], names: &[String]) -> Vec<Option<usize>> {
    let mut mapping = Vec::with_capacity(names.len());
    for name in names {
        let exact = columns.iter().position(|c| c == name);
        let unique = |same: &dyn Fn(&str) -> bool| {
            let mut found = columns.iter().enumerate().filter(|(_, c)| same(c));
            match (found.next(), found.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        };
        let found = exact
            .or_else(|| unique(&|c| c.eq_ignore_ascii_case(name)))
            .or_else(|| {
                let clean = crate::ident::sanitize(name);
                unique(&|c| !clean.is_empty() && c == clean)
            })
            .or_else(|| unique(&|c| crate::ident::same_letters(c, name)));
        mapping.push(found);
    }
    mapping
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted())
    }
}

/// A possibly schema-qualified table name as the user wrote it, split the way PostgreSQL
/// splits it: unquoted parts are folded to lower case, quoted parts are kept as written (with
/// `""` meaning one quote).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableName {
    /// The schema, when the name was qualified.
    pub schema: Option<String>,
    /// The table.
    pub name: String,
}

impl TableName {
    /// Parses `events`, `public.events`, `"My Schema"."Events"`.
    ///
    /// # Errors
    /// A configuration error for an empty name, an unterminated quote, or more than two parts.
    pub fn parse(input: &str) -> Result<TableName> {
        TableName::parse_with(input, true)
    }

    /// The name with its unquoted parts as typed, when folding them to lower case (as
    /// PostgreSQL reads an unquoted name, and [`TableName::parse`] does) changed them: the
    /// table a user means when only it exists, as an ORM's `"UserVisits"` or a MySQL table,
    /// whose names keep their case, do.
    pub fn as_typed(input: &str) -> Option<TableName> {
        let typed = TableName::parse_with(input, false).ok()?;
        (TableName::parse(input).ok()? != typed).then_some(typed)
    }

    fn parse_with(input: &str, fold: bool) -> Result<TableName> {
        let bad = |why: &str| Error::config(format!("invalid table name {input:?}: {why}"));
        let mut parts = Vec::new();
        let mut chars = input.chars().peekable();
        loop {
            let mut part = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            part.push('"');
                        }
                        Some('"') => break,
                        Some(c) => part.push(c),
                        None => return Err(bad("unterminated quote")),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == '.' {
                        break;
                    }
                    if c == '"' {
                        return Err(bad("a quote inside an unquoted name"));
                    }
                    part.push(if fold { c.to_ascii_lowercase() } else { c });
                    chars.next();
                }
            }
            if part.is_empty() {
                return Err(bad("empty name"));
            }
            parts.push(part);
            match chars.next() {
                Some('.') => continue,
                None => break,
                Some(_) => return Err(bad("text after a quoted name")),
            }
        }
        match parts.len() {
            1 => Ok(TableName {
                schema: None,
                name: parts.remove(0),
            }),
            2 => {
                let name = parts.remove(1);
                Ok(TableName {
                    schema: Some(parts.remove(0)),
                    name,
                })
            }
            _ => Err(bad("expected table or schema.table")),
        }
    }

    /// The name quoted for SQL (and for `to_regclass`).
    pub fn quoted(&self) -> String {
        self.quoted_in(Dialect::Postgres)
    }

    /// The name quoted for SQL in `dialect`.
    pub fn quoted_in(&self, dialect: Dialect) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", dialect.quote(s), dialect.quote(&self.name)),
            None => dialect.quote(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_matches_the_table_create_made_of_it() {
        let v = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        // Names that repeat but for case, and one left empty (a trailing delimiter).
        let header = v(&["Name", "name", "First Name", ""]);
        let made = crate::ident::column_names(&header);
        assert_eq!(made, v(&["name", "name_2", "first_name", "column_4"]));
        assert_eq!(
            match_names(&made, &header),
            [Some(0), Some(1), Some(2), Some(3)]
        );
        // In another order, each name still finds its own column.
        assert_eq!(
            match_names(&v(&["first_name", "name_2", "name", "column_4"]), &header),
            [Some(2), Some(1), Some(0), Some(3)]
        );
        // A table that is not what the header makes: matched name by name, as before.
        assert_eq!(
            match_names(&v(&["name", "other"]), &header),
            [Some(0), Some(0), None, None]
        );
        assert_eq!(match_names(&v(&["ID", "x"]), &v(&["id"])), [Some(0)]);
        // Another naming style: the same letters and digits, when only one column has them.
        assert_eq!(
            match_names(
                &v(&["userId", "createdAt", "a_b", "A_B_"]),
                &v(&["user_id", "Created At", "ab"])
            ),
            [Some(0), Some(1), None]
        );
    }

    #[test]
    fn table_names_fold_like_postgres() {
        let t = TableName::parse("Public.Events").unwrap();
        assert_eq!(t.schema.as_deref(), Some("public"));
        assert_eq!(t.name, "events");
        let t = TableName::parse(r#""My ""S"".x"."a;b""#).unwrap();
        assert_eq!(t.schema.as_deref(), Some(r#"My "S".x"#));
        assert_eq!(t.name, "a;b");
        assert_eq!(t.quoted(), r#""My ""S"".x"."a;b""#);
        assert!(TableName::parse("a.b.c").is_err());
        assert!(TableName::parse("\"a").is_err());
        assert!(TableName::parse("").is_err());
        assert!(TableName::parse("a.").is_err());
    }

    #[test]
    fn numeric_typmod() {
        // numeric(12,2): ((12 << 16) | 2) + 4
        assert_eq!(
            ColumnType::from_pg(1700, ((12 << 16) | 2) + 4, ""),
            ColumnType::Numeric(Some((12, 2)))
        );
        assert_eq!(ColumnType::from_pg(1700, -1, ""), ColumnType::Numeric(None));
        assert_eq!(
            ColumnType::from_pg(1043, 44, ""),
            ColumnType::Varchar(Some(40))
        );
    }
}
