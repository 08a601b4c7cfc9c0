//! The library as a service uses it: the builder, progress events, several sources.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::fixtures::events_csv;
use crate::support::Dir;

#[tokio::test]
async fn progress_events_arrive_in_order_and_end_with_done() {
    let dir = Dir::new();
    let f = dir.write("events.csv", events_csv(50_000));
    let db = dir.path().join("p.db");
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let report = barge::Load::into(&format!("sqlite://{}", db.display()))
        .unwrap()
        .chunk_rows(1_000)
        .on_progress(Duration::from_millis(1), move |e| {
            seen.lock().unwrap().push(e.clone());
        })
        .load_path(&f)
        .await
        .expect("the load");
    assert_eq!(report.rows, 50_000);
    let events = events.lock().unwrap();
    let last = events.last().expect("at least the final event");
    assert!(last.done);
    assert_eq!(last.rows_committed, 50_000);
    assert_eq!(last.bytes_total, std::fs::metadata(&f).unwrap().len());
    assert_eq!(last.bytes_read, last.bytes_total);
    assert!(events.iter().filter(|e| e.done).count() == 1);
    assert!(events
        .windows(2)
        .all(|w| w[0].rows_committed <= w[1].rows_committed && w[0].bytes_read <= w[1].bytes_read));
}

#[tokio::test]
async fn a_reader_and_a_file_give_the_same_rows() {
    let dir = Dir::new();
    let csv = events_csv(3_000);
    let f = dir.write("events.csv", &csv);
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    barge::Load::into(&format!("sqlite://{}", a.display()))
        .unwrap()
        .load_path(&f)
        .await
        .expect("from the file");
    barge::Load::into(&format!("sqlite://{}", b.display()))
        .unwrap()
        .table("events")
        .load_reader(std::io::Cursor::new(csv.into_bytes()), "memory")
        .await
        .expect("from a reader");
    let rows = |p: &std::path::Path| -> Vec<String> {
        let c = rusqlite::Connection::open(p).unwrap();
        let mut s = c
            .prepare("SELECT concat_ws('|', id, user_id, amount, score, active, name, created_at, tag, payload) FROM events ORDER BY id")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let (ra, rb) = (rows(&a), rows(&b));
    assert_eq!(ra.len(), 3_000);
    assert!(ra == rb);
}

#[tokio::test]
async fn an_async_reader_loads_like_a_file_compressed_or_not() {
    let dir = Dir::new();
    let csv = events_csv(2_000);
    let gz = crate::support::gzip(csv.as_bytes());
    for (name, bytes) in [("plain", csv.as_bytes().to_vec()), ("gzip", gz)] {
        let db = dir.path().join(format!("{name}.db"));
        let report = barge::Load::into(&format!("sqlite://{}", db.display()))
            .unwrap()
            .table("events")
            .create(true)
            .load_async_reader(std::io::Cursor::new(bytes), name)
            .await
            .expect("the load");
        assert_eq!(report.rows, 2_000, "{name}");
    }
}
