//! Loads `examples/events.csv` with the library, reporting progress its own way.
//!
//! ```sh
//! cargo run --example load_csv                      # into ./barge.db (SQLite)
//! DATABASE_URL=postgres://... cargo run --example load_csv
//! ```

use std::time::Duration;

#[tokio::main]
async fn main() -> barge::Result<()> {
    let into = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://barge.db".into());
    let report = barge::Load::into(&into)?
        .table("events")
        .create(true)
        .again(true)
        .on_progress(Duration::from_millis(100), |p| {
            eprintln!(
                "{} rows committed ({} bytes of {})",
                p.rows_committed, p.bytes_read, p.bytes_total
            );
        })
        .load_path("examples/events.csv")
        .await?;
    println!(
        "{} rows into {} at {}, {:.0} rows/s",
        report.rows,
        report.table,
        report.target,
        report.rows_per_sec()
    );
    Ok(())
}
