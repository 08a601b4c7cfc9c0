//! Loads a stream of Rust structs, without writing a file first: `N` generated events (default
//! 10,000) into table `events` (created here for SQLite; for PostgreSQL it must exist, as in
//! `examples/events.sql`).
//!
//! ```sh
//! cargo run --example load_structs                    # into ./barge.db (SQLite)
//! DATABASE_URL=postgres://... cargo run --release --example load_structs 1000000
//! ```

use serde::Serialize;

#[derive(Serialize)]
struct Event {
    id: i64,
    user_id: Option<i32>,
    /// A decimal as text keeps every digit (as `rust_decimal` serializes).
    amount: String,
    score: Option<f64>,
    active: bool,
    name: Option<String>,
    created_at: String,
    day: String,
    tag: String,
    payload: serde_json::Value,
}

fn event(i: i64) -> Event {
    Event {
        id: i,
        user_id: (i % 10 != 3).then(|| (i * 7919 % 1_000_000) as i32),
        amount: format!("{}.{:02}", i % 100_000, i % 100),
        score: (i % 10 != 5).then_some(i as f64 * 0.37),
        active: i % 2 == 0,
        name: (i % 7 != 0).then(|| format!("user {i}")),
        created_at: format!(
            "2024-{:02}-{:02}T{:02}:00:00Z",
            i % 12 + 1,
            i % 28 + 1,
            i % 24
        ),
        day: format!("2024-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
        tag: format!("{:08x}-0000-4000-8000-{:012x}", i, i * 31),
        payload: serde_json::json!({"n": i, "ok": i % 3 == 0}),
    }
}

#[tokio::main]
async fn main() -> barge::Result<()> {
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let into = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://barge.db".into());
    if into.starts_with("sqlite:") {
        // SQLite tables are not created from a stream: make it here.
        barge::Load::into(&into)?
            .table("events")
            .again(true)
            .load_path("examples/events.csv")
            .await?;
    }
    let rows = futures_util::stream::iter((1..=n).map(event));
    let report = barge::Load::into(&into)?
        .table("events")
        .workers(2)
        .load_rows(rows)
        .await?;
    println!(
        "{} rows into {} at {} in {:.2} s ({:.0} rows/s)",
        report.rows,
        report.table,
        report.target,
        report.elapsed.as_secs_f64(),
        report.rows_per_sec()
    );
    Ok(())
}
