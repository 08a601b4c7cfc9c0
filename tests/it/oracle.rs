//! Property test against PostgreSQL's own input functions: for every type barge encodes,
//! random strings (shaped like values of the type, and not) are loaded with `--rejects`, and
//! each must end up exactly as `'...'::type` would make it, or be rejected exactly when that
//! cast fails.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use crate::support::{barge, fresh_db, Dir};

/// (type, a regex for strings shaped like its values)
const TYPES: &[(&str, &str)] = &[
    ("boolean", "[ ]?(t|f|tr|true|yes|no|on|off|of|1|0|y|n|TRUE|Off|x|)[ ]?"),
    ("smallint", "[ ]?[-+]?[0-9]{0,6}[ ]?"),
    ("integer", "[ ]?[-+]?[0-9]{0,11}[ x]?"),
    ("bigint", "[-+]?[0-9]{0,20}"),
    ("real", "[-+]?[0-9]{0,10}(\\.[0-9]{0,10})?([eE][-+]?[0-9]{1,3})?|NaN|-?Infinity|inf"),
    ("double precision", "[-+]?[0-9]{0,20}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{1,3})?|nan"),
    ("numeric", "[ ]?[-+]?[0-9]{0,25}(\\.[0-9]{0,25})?([eE][-+]?[0-9]{1,2})?|NaN"),
    ("numeric(6,2)", "[-+]?[0-9]{0,5}(\\.[0-9]{0,4})?"),
    ("varchar(5)", "[a-zé ]{0,8}"),
    ("char(3)", "[ab ]{0,5}"),
    ("date", "[0-9]{4}-[0-1][0-9]-[0-3][0-9]|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}|epoch|x"),
    ("time", "[0-2][0-9]:[0-6][0-9](:[0-6][0-9](\\.[0-9]{1,9})?)?"),
    (
        "timestamp",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]([ T][0-2][0-9]:[0-5][0-9](:[0-6][0-9](\\.[0-9]{1,9})?)?)?",
    ),
    (
        "timestamptz",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-5][0-9](:[0-5][0-9](\\.9{3,9}|\\.[0-9]{7,9})?)?( ?(Z|UTC|gmt|Ut)|[-+][01][0-9](:[0-5][0-9])?)?",
    ),
    ("uuid", "[0-9a-fA-F]{8}-?[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-fg]{12}|\\{[0-9a-f]{32}\\}"),
    ("json", "\\{\"[a-z]{0,3}\": ?[0-9tfn\\[\\]{}\"]{0,6}\\}|\\[[0-9, ]{0,6}\\]|[a-z0-9\"]{0,4}"),
    (
        "jsonb",
        "\\{\"[a-z]{0,3}\": ?[0-9tfn\\[\\]{}\"]{0,6}\\}|\"\\\\u0000\"|[0-9.e-]{0,4}|\\{\"[a-z]{1,3}\": ?(true|null|[1-9][0-9]{0,3}|\"[a-z]{0,3}\")\\}",
    ),
    ("bytea", "\\\\x[0-9a-fA-F]{0,6}|[a-z]{0,4}|\\\\\\\\[0-7]{0,3}"),
    (
        "timetz",
        "[0-2][0-9]:[0-6][0-9](:[0-6][0-9](\\.[0-9]{1,9})?)?( ?([-+][01][0-9](:?[0-5][0-9])?|Z|UTC|Gmt))?",
    ),
    (
        "interval",
        "[-+]?[0-9]{0,3}(\\.[0-9])? ?(years?|mons?|months?|weeks?|days?|hours?|minutes?|mins?|secs?|x)?( [-+]?[0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2}(\\.[0-9]{1,7})?)?)?( ago)?|-?P([0-9]{1,2}[YMWD]){0,3}(T([0-9]{1,2}(\\.[0-9])?[HMS]){0,3})?|[-+]?[0-9]{1,3}:[0-9]{2}(:[0-9]{2})?",
    ),
    (
        "inet",
        "([0-9]{1,3}\\.){1,3}[0-9]{1,3}(/[0-9]{1,2})?|[0-9a-f]{0,4}(:[0-9a-f]{0,4}){1,7}(/[0-9]{1,3})?|::ffff:1\\.2\\.3\\.4",
    ),
    (
        "cidr",
        "([0-9]{1,3}\\.){1,3}[0-9]{1,3}(/[0-9]{1,2})?|[0-9a-f]{0,4}(:[0-9a-f]{0,4}){1,7}(/[0-9]{1,3})?",
    ),
    (
        "macaddr",
        "[0-9a-fA-F]{2}([:.-]?[0-9a-fA-F]{2}){5}|[0-9a-f]{4}\\.[0-9a-f]{4}\\.[0-9a-f]{4}|[0-9a-f]{6}[:-][0-9a-f]{6}|[0-9a-g]{11,13}",
    ),
    ("macaddr8", "[0-9a-fA-F]{2}([:.-]?[0-9a-fA-F]{2}){4,8}"),
    (
        "int4range",
        "[\\[(] ?[-+]?[0-9]{0,3} ?, ?[-+]?[0-9]{0,3} ?[\\])]|empty|EMPTY|x",
    ),
    (
        "numrange",
        "[\\[(]-?[0-9]{0,2}(\\.[0-9]{0,2})?,[0-9]{0,2}(\\.[0-9])?[\\])]|empty",
    ),
    (
        "daterange",
        "[\\[(](2024-0[1-9]-[0-3][0-9]|-infinity)?,(2024-0[1-9]-[0-3][0-9]|infinity)?[\\])]",
    ),
    (
        "tstzrange",
        "[\\[(](\"2024-0[1-9]-[0-3][0-9]( 1[0-9]:00(\\+0[0-9])?)?\")?,(\"?2024-0[1-9]-[0-3][0-9]\"?)?[\\])]",
    ),
    (
        "int4multirange",
        "\\{ ?([\\[(][0-9]{0,2},[0-9]{0,2}[\\])](, ?[\\[(][0-9]{0,2},[0-9]{0,2}[\\])]|,empty){0,2})?\\}",
    ),
    (
        "integer[]",
        "\\{(-?[0-9]{0,3}(, ?-?[0-9x]{0,3}|,NULL){0,3})?\\}|\\[1:2\\]=\\{1,2\\}|\\{\\{1,2\\},\\{[0-9],?[0-9]?\\}\\}",
    ),
    (
        "text[]",
        "\\{(\"[a-z,\\\\\"]{0,4}\"|[a-z ]{0,3}|NULL)(,(\"[a-z,{]{0,3}\"|[a-z{]{0,3}|NULL)){0,3}\\}",
    ),
];

const CASES: usize = 150;

/// `line` loaded by the server's own CSV COPY into the one-column `table`: the value's text, or
/// `None` when COPY refuses it.
async fn server_copy_one(
    client: &tokio_postgres::Client,
    table: &str,
    line: &str,
) -> Option<Option<String>> {
    use futures_util::SinkExt;
    let sink = client
        .copy_in(&format!("COPY {table} FROM STDIN (FORMAT csv)"))
        .await
        .expect("start COPY");
    futures_util::pin_mut!(sink);
    let data = bytes::Bytes::from(format!("{line}\n"));
    let ok = sink.send(data).await.is_ok() && sink.finish().await.is_ok();
    if !ok {
        return None;
    }
    let row = client
        .query_one(&format!("DELETE FROM {table} RETURNING v::text"), &[])
        .await
        .expect("read the value back");
    Some(row.get(0))
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[tokio::test]
async fn every_type_stores_what_postgres_input_functions_make() {
    let db = fresh_db("oracle").await;
    every_type_as_the_server_takes_it(&db.client, &db.url, CASES, false).await;
}

/// For every type: random strings shaped like its values (and not) loaded by barge with
/// `--rejects` end up exactly as the server's own COPY of each makes them, or rejected exactly
/// when that COPY fails. With `distribute`, the tables are Citus-distributed.
pub async fn every_type_as_the_server_takes_it(
    client: &tokio_postgres::Client,
    url: &str,
    cases: usize,
    distribute: bool,
) {
    let dir = Dir::new();
    let exec = |sql: String| async move {
        client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    };
    for (ty, pattern) in TYPES {
        // Each type's strings its own: a change to one type's pattern leaves the others'.
        let mut runner = TestRunner::deterministic();
        let strategy = proptest::string::string_regex(pattern).expect("a valid regex");
        let mut values = Vec::with_capacity(cases);
        while values.len() < cases {
            let v = strategy.new_tree(&mut runner).expect("a value").current();
            values.push(v);
        }
        // What the server's own CSV COPY makes of each string, one at a time: its text
        // output, or an error.
        let table = format!(
            "o_{}",
            ty.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        exec(format!("CREATE TABLE s_{table} (n int, v {ty})")).await;
        exec(format!("ALTER TABLE s_{table} DROP COLUMN n")).await;
        exec(format!("CREATE TABLE {table} (n int, v {ty})")).await;
        if distribute {
            // The oracle's one-value table stays a plain table on the coordinator: its own
            // input functions, which are also what routes rows to the shards.
            exec(format!("SELECT create_distributed_table('{table}', 'n')")).await;
        }
        let mut want = Vec::with_capacity(cases);
        for v in &values {
            want.push(server_copy_one(client, &format!("s_{table}"), &quote(v)).await);
        }
        let mut csv = String::from("n,v\n");
        for (n, v) in values.iter().enumerate() {
            csv.push_str(&format!("{n},{}\n", quote(v)));
        }
        let f = dir.write(&format!("{table}.csv"), &csv);
        let rej = dir.path().join(format!("{table}.rej"));
        let run = barge(&[
            "load",
            f.to_str().unwrap(),
            "--into",
            url,
            "--table",
            &table,
            "--rejects",
            rej.to_str().unwrap(),
            "--chunk-rows",
            "40",
        ]);
        assert!(run.code == 0 || run.code == 3, "{ty}: {}", run.all());
        let got = client
            .query(&format!("SELECT n, v::text FROM {table} ORDER BY n"), &[])
            .await
            .expect("read back");
        let mut got_by_n: Vec<Option<Option<String>>> = vec![None; cases];
        for row in got {
            got_by_n[row.get::<_, i32>(0) as usize] = Some(row.get(1));
        }
        // Each type's strings hold both values the server takes and values it refuses (a
        // shorter run may draw only good ones for a type).
        let taken = want.iter().filter(|w| w.is_some()).count();
        let fewest = if cases < CASES { 1 } else { cases / 10 };
        assert!(
            taken >= fewest && (taken < cases || cases < CASES),
            "{ty}: {taken} of {cases} taken: the strategy must produce both"
        );
        for (n, v) in values.iter().enumerate() {
            assert_eq!(
                got_by_n[n], want[n],
                "{ty}: {v:?}: barge stored (left), the server's input gives (right); None = refused"
            );
        }
    }
}
