//! Input files made by the tests themselves: deterministic, with the awkward parts of real
//! data (quotes, commas, newlines, non-ASCII, NULLs, offsets).

/// The table that [`events_csv`] fits.
pub const EVENTS_DDL: &str =
    "id bigint PRIMARY KEY, user_id integer, amount numeric(12,2) NOT NULL, \
    score double precision, active boolean NOT NULL, name text, created_at timestamptz NOT NULL, \
    tag uuid NOT NULL, payload jsonb";

/// `n` rows shaped like the bench's `events` file.
pub fn events_csv(n: usize) -> String {
    let mut s = String::with_capacity(n * 150);
    s.push_str("id,user_id,amount,score,active,name,created_at,tag,payload\n");
    for i in 1..=n {
        let user = if i % 10 == 3 {
            String::new()
        } else {
            (i * 7919 % 1_000_000).to_string()
        };
        let score = if i % 10 == 5 {
            String::new()
        } else {
            format!("{}", (i as f64) * 0.37)
        };
        let name = match i % 6 {
            0 => "\"Doe, Jane \"\"JD\"\"\"".to_string(),
            1 => "Zoë Łukasz 日本".to_string(),
            2 => String::new(),
            3 => "\"two\nlines\"".to_string(),
            4 => "\"\"".to_string(),
            _ => format!("user {i}"),
        };
        let offset = ["+00:00", "+05:30", "-07:00", "Z"][i % 4];
        s.push_str(&format!(
            "{i},{user},{}.{:02},{score},{},{name},2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{offset},{:08x}-0000-4000-8000-{:012x},\"{{\"\"n\"\":{i},\"\"k\"\":\"\"v{}\"\"}}\"\n",
            i % 100_000,
            i % 100,
            i % 2 == 0,
            i % 12 + 1,
            i % 28 + 1,
            i % 24,
            i % 60,
            (i * 7) % 60,
            i % 1000,
            i,
            i * 31,
            i % 7
        ));
    }
    s
}
