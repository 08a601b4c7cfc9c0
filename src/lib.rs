#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
// A build with one target leaves unused what only the other uses (retries and ordering are
// PostgreSQL's, for one): that is no defect of such a build.
#![cfg_attr(
    not(all(feature = "postgres", feature = "sqlite", feature = "mysql")),
    allow(dead_code, unused_imports, unused_variables)
)]

#[cfg(not(any(feature = "postgres", feature = "sqlite", feature = "mysql")))]
compile_error!(
    "barge loads into at least one database: enable the feature \"postgres\", \"sqlite\" or \"mysql\""
);

mod budget;
mod checkpoint;
mod chunk;
mod encode;
mod error;
mod ident;
mod infer;
mod load;
mod null;
mod pipeline;
mod position;
mod progress;
mod record;
mod rejects;
mod retry;
mod schema;
mod sink;
mod source;
mod split;
mod target;
mod tuner;
mod turnstile;
mod upsert;

#[cfg(test)]
mod fuzz_tests;

pub use checkpoint::DEFAULT_TABLE as DEFAULT_CHECKPOINT_TABLE;
pub use error::{Error, ErrorClass, ErrorKind, Result};
pub use ident::Dialect;
pub use infer::{InferredTable, DEFAULT_SAMPLE_ROWS};
pub use load::{
    default_table_name, has_header, parse_bytes, parse_delimiter, parse_mode, parse_thousands,
    thousands, AlreadyLoaded, IndexesBuilt, Load, LoadOptions, LoadReport, Mode, UpsertReport,
    DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_ROWS, DEFAULT_COMMIT_EVERY,
};
pub use null::NullTexts;
pub use position::Position;
pub use progress::{Progress, ProgressEvent};
pub use retry::RetryPolicy;
pub use schema::TableName;
pub use source::batch::RowBatch;
pub use source::csv::CsvOptions;
pub use source::format::Format;
pub use source::input::{expand_inputs, infer_input, Input, InputOptions};
pub use split::Split;
pub use target::{from_sqlalchemy as target_from_sqlalchemy, Target, DEFAULT_TARGET};
pub use upsert::{OnConflict, UpsertCounts};

/// The parser and encoders, for the benchmarks in `benches/` only: not part of the API.
#[doc(hidden)]
pub mod bench {
    pub use crate::chunk::{Chunk, WireFormat};
    pub use crate::encode::row::RowEncoder;
    pub use crate::record::Record;
    pub use crate::schema::{Column, ColumnType};
    pub use crate::source::csv::CsvReader;

    /// The columns of the bench's `events` table (`../shared/bench`), as introspection gives
    /// them: what `benches/encode.rs` and `examples/encode_file.rs` encode into.
    pub fn events_columns() -> Vec<Column> {
        let col = |name: &str, ty: ColumnType, type_name: &str| Column {
            name: name.into(),
            ty,
            type_name: type_name.into(),
            not_null: false,
        };
        vec![
            col("id", ColumnType::Int8, "bigint"),
            col("user_id", ColumnType::Int4, "integer"),
            col(
                "amount",
                ColumnType::Numeric(Some((12, 2))),
                "numeric(12,2)",
            ),
            col("score", ColumnType::Float8, "double precision"),
            col("active", ColumnType::Bool, "boolean"),
            col("name", ColumnType::Text, "text"),
            col(
                "created_at",
                ColumnType::Timestamptz,
                "timestamp with time zone",
            ),
            col("day", ColumnType::Date, "date"),
            col("tag", ColumnType::Uuid, "uuid"),
            col("payload", ColumnType::Jsonb, "jsonb"),
        ]
    }

    /// The columns of `bench/narrow.sh`'s table: 19 narrow, mostly integer columns.
    pub fn narrow_columns() -> Vec<Column> {
        use ColumnType::{Float8, Int2, Int4, Int8, Numeric, Text};
        let types = [
            Int8,
            Int2,
            Int2,
            Int4,
            Int2,
            Int4,
            Int4,
            Int2,
            Int4,
            Int4,
            Int4,
            Int4,
            Int4,
            Float8,
            Int4,
            Int8,
            Int8,
            Numeric(Some((6, 2))),
            Text,
        ];
        types
            .into_iter()
            .enumerate()
            .map(|(i, ty)| Column {
                name: format!("c{i}"),
                type_name: format!("{ty:?}"),
                ty,
                not_null: false,
            })
            .collect()
    }
}
