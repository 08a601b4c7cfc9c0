//! The client side's cost on its own, per core: CSV parsing, and parsing plus binary encoding,
//! on rows shaped like the bench's `events` table (../shared/bench).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use barge::bench::{events_columns, Chunk, CsvReader, Record, RowEncoder, WireFormat};
use barge::CsvOptions;

const ROWS: usize = 50_000;

fn events_csv() -> Vec<u8> {
    let mut s = String::from("id,user_id,amount,score,active,name,created_at,day,tag,payload\n");
    for i in 0..ROWS {
        let name = match i % 5 {
            0 => "\"Doe, Jane \"\"JD\"\"\"".to_string(),
            1 => "Noah Østergaard".to_string(),
            2 => String::new(),
            3 => "\"two\nlines\"".to_string(),
            _ => format!("user {i}"),
        };
        s.push_str(&format!(
            "{i},{},{}.{:02},{},{},{name},2025-06-11T22:23:41.{:03}+10:00,2025-06-11,84efedb1-be28-4a24-ac63-ad78d1b0{:04x},\"{{\"\"source\"\":\"\"pos\"\",\"\"items\"\":{}}}\"\n",
            i * 7 % 1_000_000,
            i % 50_000,
            i % 100,
            (i as f64) * 1.37,
            i % 2 == 0,
            i % 1000,
            i % 65536,
            i % 20
        ));
    }
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let data = events_csv();
    let mut g = c.benchmark_group("events");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.sample_size(20);
    g.bench_function("parse_csv", |b| {
        b.iter(|| {
            let mut r = CsvReader::new(&data[..], "bench", CsvOptions::default());
            let mut rec = Record::default();
            let mut n = 0;
            while r.read_record(&mut rec).unwrap_or(false) {
                n += rec.len();
            }
            n
        })
    });
    let encoder = RowEncoder::new(
        "bench",
        events_columns(),
        WireFormat::Binary,
        barge::NullTexts::default(),
        true,
    );
    g.bench_function("parse_and_encode_binary", |b| {
        b.iter(|| {
            let mut r = CsvReader::new(&data[..], "bench", CsvOptions::default());
            let mut rec = Record::default();
            let mut chunk = Chunk::new(0, 16 << 20);
            let _ = r.read_header(&mut rec);
            while r.read_record(&mut rec).unwrap_or(false) {
                if encoder.encode(&rec, &mut chunk).is_err() {
                    break;
                }
            }
            chunk.data.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
