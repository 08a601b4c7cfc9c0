#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod checkpoint;
pub mod chunk;
pub mod encode;
pub mod error;
pub mod ident;
pub mod infer;
pub mod load;
pub mod pipeline;
pub mod position;
pub mod progress;
pub mod record;
pub mod rejects;
pub mod retry;
pub mod schema;
pub mod sink;
pub mod source;
pub mod target;
pub mod turnstile;
pub mod upsert;

#[cfg(test)]
mod fuzz_tests;

pub use error::{Error, ErrorKind, Result};
pub use load::{Load, LoadReport};
pub use position::Position;
pub use source::csv::CsvOptions;
