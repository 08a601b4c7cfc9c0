//! The reader thread's work on a real file, without a server: parsing alone, then parsing and
//! binary encoding into the bench's `events` columns, each the best of seven runs. The
//! criterion bench (`benches/encode.rs`) measures made-up rows; this one measures the bench
//! file itself, which is what a change to the hot path is judged by.
//!
//! `cargo run --release --example encode_file -- /tmp/bench/events_1m.csv [parse]`, or
//! `... -- /tmp/narrow/narrow_1m.csv narrow` for `bench/narrow.sh`'s rows and table.

use std::error::Error;
use std::time::Instant;

use barge::bench::{
    events_columns, narrow_columns, Chunk, CsvReader, Record, RowEncoder, WireFormat,
};
use barge::CsvOptions;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: encode_file FILE [parse|narrow]")?;
    let mode = args.next();
    let parse_only = mode.as_deref() == Some("parse");
    let columns = match mode.as_deref() {
        Some("narrow") => narrow_columns(),
        _ => events_columns(),
    };
    let data = std::fs::read(&path)?;
    let encoder = RowEncoder::new(
        "bench",
        columns,
        WireFormat::Binary,
        barge::NullTexts::default(),
        true,
    );
    let (mut parse, mut both) = (f64::MAX, f64::MAX);
    let mut rec = Record::default();
    for _ in 0..7 {
        let t = Instant::now();
        let mut r = CsvReader::new(&data[..], &path, CsvOptions::default());
        let mut fields = 0;
        while r.read_record(&mut rec)? {
            fields += rec.len();
        }
        parse = parse.min(t.elapsed().as_secs_f64());
        std::hint::black_box(fields);
        if parse_only {
            continue;
        }
        let t = Instant::now();
        let mut r = CsvReader::new(&data[..], &path, CsvOptions::default());
        let mut chunk = Chunk::new(0, 8 << 20);
        r.read_header(&mut rec)?;
        while r.read_record(&mut rec)? {
            encoder.encode(&rec, &mut chunk)?;
            if chunk.data.len() > 8 << 20 {
                std::hint::black_box(&chunk.data);
                chunk.data.clear();
            }
        }
        both = both.min(t.elapsed().as_secs_f64());
    }
    print!("parse {parse:.3} s");
    if !parse_only {
        print!("   parse and encode {both:.3} s");
    }
    println!();
    Ok(())
}
