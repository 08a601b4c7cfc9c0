//! Citus, a distributed PostgreSQL: a throwaway coordinator and two workers. Loads into
//! hash-distributed, reference and local tables equal the coordinator's own COPY of the same
//! file; upserts equal the last occurrence of each key; refused rows (Citus wraps its workers'
//! errors) are set aside exactly; a kill -9 or a worker restarted mid-load ends in an exact
//! table.

use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

use crate::support::citus::Citus;
use crate::support::fixtures::{events_csv, EVENTS_DDL};
use crate::support::pg::{server_copy_csv, table_md5};
use crate::support::{barge, Dir};

async fn coordinator_copy(c: &Citus, table: &str, csv: &str) {
    server_copy_csv(&c.url(), table, csv.as_bytes()).await;
}

async fn checksum(c: &Citus, table: &str) -> String {
    table_md5(&c.url(), table).await
}

async fn make(c: &Citus, table: &str, how: &str) {
    c.exec(&format!("CREATE TABLE {table} ({EVENTS_DDL})"))
        .await;
    match how {
        "distributed" => {
            c.exec(&format!("SELECT create_distributed_table('{table}', 'id')"))
                .await
        }
        "reference" => {
            c.exec(&format!("SELECT create_reference_table('{table}')"))
                .await
        }
        _ => {}
    }
}

#[tokio::test]
async fn citus_tables_of_every_kind_equal_the_coordinators_copy_and_upserts_keep_the_last() {
    let c = Citus::start().await;
    let dir = Dir::new();
    let csv = events_csv(20_000);
    let path = dir.path().join("events.csv");
    std::fs::write(&path, &csv).expect("write");
    let url = c.url();
    for how in ["distributed", "reference", "local"] {
        let (ours, oracle) = (format!("{how}_t"), format!("{how}_oracle"));
        make(&c, &ours, how).await;
        make(&c, &oracle, how).await;
        // The default URL: TLS preferred, which Citus' self-signed certificate must allow.
        barge(&[
            "load",
            path.to_str().unwrap(),
            "--into",
            &url,
            "--table",
            &ours,
            "--quiet",
        ])
        .assert_ok();
        coordinator_copy(&c, &oracle, &csv).await;
        assert_eq!(
            checksum(&c, &ours).await,
            checksum(&c, &oracle).await,
            "{how}"
        );
    }

    // --create with --distribute-by: a new table, distributed by the column named, loaded.
    barge(&[
        "load",
        path.to_str().unwrap(),
        "--into",
        &url,
        "--table",
        "created",
        "--create",
        "--distribute-by",
        "id",
        "--quiet",
    ])
    .assert_ok();
    assert_eq!(
        c.one("SELECT distribution_column::text FROM citus_tables WHERE table_name = 'created'::regclass")
            .await,
        "id"
    );
    assert_eq!(c.one("SELECT count(*)::text FROM created").await, "20000");

    // An upsert into the distributed table: rows 15,001-25,000 again with new names; each
    // key ends with its last occurrence, as a row-by-row upsert leaves it.
    let full = events_csv(25_000);
    let header = &full[..=full.find('\n').expect("header")];
    let from = full.find("\n15001,").expect("record 15001") + 1;
    let renamed = format!("{header}{}", full[from..].replace("user ", "renamed "));
    let second = dir.path().join("second.csv");
    std::fs::write(&second, &renamed).expect("write");
    let run = barge(&[
        "load",
        second.to_str().unwrap(),
        "--into",
        &url,
        "--table",
        "distributed_t",
        "--on-conflict",
        "update",
        "--json",
    ]);
    run.assert_ok();
    assert!(run.stdout.contains("\"inserted\":5000"), "{}", run.stdout);
    assert!(run.stdout.contains("\"updated\":5000"), "{}", run.stdout);
    let keep = csv.find("\n15001,").expect("record 15001") + 1;
    let expected = format!("{}{}", &csv[..keep], &renamed[header.len()..]);
    make(&c, "upsert_oracle", "distributed").await;
    coordinator_copy(&c, "upsert_oracle", &expected).await;
    assert_eq!(
        checksum(&c, "distributed_t").await,
        checksum(&c, "upsert_oracle").await
    );

    // The same into a partitioned table that is also distributed (the merge that counts the
    // keys already there, which a partitioned table needs, runs through the coordinator).
    c.exec(&format!(
        "CREATE TABLE parted ({EVENTS_DDL}) PARTITION BY HASH (id); \
         CREATE TABLE parted_0 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 0); \
         CREATE TABLE parted_1 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 1); \
         SELECT create_distributed_table('parted', 'id')"
    ))
    .await;
    let into_parted = |file: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "load",
            file.to_str().unwrap(),
            "--into",
            &url,
            "--table",
            "parted",
            "--json",
        ];
        args.extend_from_slice(extra);
        barge(&args)
    };
    into_parted(&path, &[]).assert_ok();
    let run = into_parted(&second, &["--on-conflict", "update"]);
    run.assert_ok();
    assert!(run.stdout.contains("\"inserted\":5000"), "{}", run.stdout);
    assert!(run.stdout.contains("\"updated\":5000"), "{}", run.stdout);
    assert_eq!(
        checksum(&c, "parted").await,
        checksum(&c, "upsert_oracle").await
    );
}

#[tokio::test]
async fn citus_refused_rows_are_set_aside_exactly_however_citus_wraps_them() {
    let c = Citus::start().await;
    make(&c, "events", "distributed").await;
    let csv = events_csv(5_000);
    // Keys already there (every 97th), and a value the client refuses (record of id 10).
    let taken: Vec<u64> = (1..=5_000).filter(|i| i % 97 == 0).collect();
    c.exec(&format!("CREATE TABLE staging ({EVENTS_DDL})"))
        .await;
    coordinator_copy(&c, "staging", &csv).await;
    c.exec("INSERT INTO events SELECT * FROM staging WHERE id % 97 = 0")
        .await;
    let at = csv.find("\n10,").expect("record 10");
    let active = at + csv[at..].find(",true,").expect("its boolean");
    let dirty = format!("{},maybe,{}", &csv[..active], &csv[active + 6..]);
    let dir = Dir::new();
    let path = dir.path().join("events.csv");
    std::fs::write(&path, dirty).expect("write");
    let url = c.url();
    let load = |rejects: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "load",
            path.to_str().unwrap(),
            "--into",
            &url,
            "--table",
            "events",
            "--rejects",
            rejects.to_str().unwrap(),
            "--chunk-rows",
            "1000",
            "--json",
        ];
        args.extend_from_slice(extra);
        barge(&args)
    };
    // Each rejected row's record number (the header is record 1, so id = record - 1).
    let rejected = |rejects: &std::path::Path| {
        let errors = std::fs::read_to_string(format!("{}.errors.jsonl", rejects.display()))
            .expect("the rejects' reasons");
        let mut got: Vec<u64> = errors
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json");
                v["record"].as_u64().expect("record") - 1
            })
            .collect();
        got.sort_unstable();
        got
    };
    let mut want = taken.clone();
    want.push(10);
    want.sort_unstable();

    // A dry run is one distributed transaction, rolled back: it finds the same rows (the
    // workers' refusals under savepoints) and leaves every shard as it was.
    let before = checksum(&c, "events").await;
    let dry = dir.path().join("dry.csv");
    let run = load(&dry, &["--dry-run"]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("\"dry_run\":true"), "{}", run.all());
    assert_eq!(rejected(&dry), want, "{}", run.all());
    assert_eq!(checksum(&c, "events").await, before);
    assert_eq!(
        c.one("SELECT count(*)::text FROM events").await,
        taken.len().to_string()
    );

    let rejects = dir.path().join("bad.csv");
    let run = load(&rejects, &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(rejected(&rejects), want, "{}", run.all());
    assert_eq!(
        c.one("SELECT count(*)::text FROM events").await,
        (5_000 - 1).to_string()
    );
}

#[tokio::test]
async fn citus_kill9_and_a_worker_restarted_mid_load_end_in_an_exact_table() {
    let c = Citus::start().await;
    let dir = Dir::new();
    let csv = events_csv(300_000);
    let path = dir.path().join("events.csv");
    std::fs::write(&path, &csv).expect("write");
    make(&c, "oracle", "distributed").await;
    coordinator_copy(&c, "oracle", &csv).await;
    let want = checksum(&c, "oracle").await;
    let bin = env!("CARGO_BIN_EXE_barge");
    let args = |table: &str| {
        vec![
            "load".to_string(),
            path.to_str().unwrap().to_string(),
            "--into".into(),
            c.url(),
            "--table".into(),
            table.to_string(),
            "--chunk-rows".into(),
            "5000".into(),
            "--quiet".into(),
        ]
    };
    let wait_rows = |table: &'static str| c.wait_for_rows(table, Duration::from_secs(120));

    // kill -9 mid-load, then the same command again.
    make(&c, "killed", "distributed").await;
    let mut child = std::process::Command::new(bin)
        .args(args("killed"))
        .spawn()
        .expect("spawn barge");
    wait_rows("killed").await;
    child.kill().expect("kill -9");
    let _ = child.wait();
    let partial: u64 = c
        .one("SELECT count(*)::text FROM killed")
        .await
        .parse()
        .unwrap();
    assert!(partial < 300_000, "the load ended before the kill");
    let a: Vec<String> = args("killed");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    barge(&a).assert_ok();
    assert_eq!(checksum(&c, "killed").await, want);
    for w in &c.workers {
        assert_eq!(
            prepared_parts(&client_of(&w.url("postgres")).await).await,
            0
        );
    }

    // A worker stopped at once and started again while barge loads: it retries.
    make(&c, "restarted", "distributed").await;
    let child = std::process::Command::new(bin)
        .args(args("restarted"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn barge");
    wait_rows("restarted").await;
    c.workers[1].stop("immediate");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.workers[1].pg_ctl_start();
    let out = child.wait_with_output().expect("barge");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(checksum(&c, "restarted").await, want);
    for w in &c.workers {
        assert_eq!(
            prepared_parts(&client_of(&w.url("postgres")).await).await,
            0
        );
    }
}

#[tokio::test]
async fn distribute_by_on_a_server_without_citus_says_so() {
    let db = crate::support::fresh_db("nocitus").await;
    let dir = Dir::new();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "id,v\n1,a\n").expect("write");
    let run = barge(&[
        "load",
        path.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "t",
        "--create",
        "--distribute-by",
        "id",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("the target is not a Citus coordinator"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn citus_every_type_and_edge_value_as_the_coordinators_copy_takes_it() {
    let c = Citus::start().await;
    let (client, conn) = tokio_postgres::connect(&c.url(), NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    crate::oracle::every_type_as_the_server_takes_it(&client, &c.url(), 60, true).await;
}

#[tokio::test]
async fn citus_a_worker_gone_for_good_is_named_with_what_to_do() {
    let c = Citus::start().await;
    make(&c, "events", "distributed").await;
    let dir = Dir::new();
    let path = dir.path().join("events.csv");
    std::fs::write(&path, events_csv(2_000)).expect("write");
    c.workers[0].stop("immediate");
    let run = barge(&[
        "load",
        path.to_str().unwrap(),
        "--into",
        &c.url(),
        "--table",
        "events",
        "--retries",
        "2",
        "--retry-for",
        "5",
    ]);
    assert_ne!(run.code, 0, "{}", run.all());
    let port = c.workers[0].port.to_string();
    assert!(run.stderr.contains(&port), "{}", run.stderr);
    assert!(
        run.stderr.contains("a Citus worker node cannot be reached"),
        "{}",
        run.stderr
    );
}

/// Rows of each shard of `table` that Citus would look for in another shard (0 when every
/// row is where the coordinator's router finds it).
async fn misplaced(c: &Citus, table: &str, column: &str) -> u64 {
    c.one(&format!(
        "SELECT COALESCE(sum(result::bigint), 0)::text FROM run_command_on_shards('{table}', \
         $$SELECT count(*) FROM %1$s \
           WHERE get_shard_id_for_distribution_column('{table}', {column}) \
             <> substring('%1$s' from '_(\\d+)$')::bigint$$)"
    ))
    .await
    .parse()
    .expect("a count")
}

/// Connects to one server of the cluster (a worker, say) without TLS.
async fn client_of(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
}

/// barge's parts left prepared on a worker.
async fn prepared_parts(worker: &tokio_postgres::Client) -> i64 {
    worker
        .query_one(
            "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'barge\\_%'",
            &[],
        )
        .await
        .expect("pg_prepared_xacts")
        .get(0)
}

#[tokio::test]
async fn citus_rows_go_straight_to_their_shards_for_every_routed_key_type() {
    let c = Citus::start().await;
    let dir = Dir::new();
    // Keys of each routed type, with edge values: negative numbers, type bounds, empty and
    // non-ASCII text of every length a hash tail can have, uuids.
    let n = 3_000i64;
    let mut csv = String::from("id,i2,i4,i8,t,v,u,payload\n");
    for i in 0..n {
        let i2 = match i {
            0 => i16::MIN as i64,
            1 => i16::MAX as i64,
            _ => i - 1_500,
        };
        let i4 = match i {
            0 => i32::MIN as i64,
            1 => i32::MAX as i64,
            _ => (i * 7_919_993) % 2_147_483_647 - 1_000_000_000,
        };
        let i8 = match i {
            0 => i64::MIN,
            1 => i64::MAX,
            _ if i % 2 == 0 => i * 3_000_000_017,
            _ => -i,
        };
        let t = match i {
            0 => String::new(),
            _ => format!("{}é{}", "k".repeat((i % 23) as usize), i),
        };
        let u = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            i * 2_654_435_761 % (1 << 32),
            i % 65_536,
            i % 4_096,
            (i * 7) % 4_096,
            i * 1_000_003
        );
        csv.push_str(&format!(
            "{i},{i2},{i4},{i8},\"{t}\",\"v{t}\",{u},row {i}\n"
        ));
    }
    let path = dir.path().join("keys.csv");
    std::fs::write(&path, &csv).expect("write");
    let ddl = "id bigint, i2 smallint, i4 integer, i8 bigint, t text, v varchar(40), u uuid, payload text";
    for key in ["i2", "i4", "i8", "t", "v", "u"] {
        let (ours, oracle) = (format!("by_{key}"), format!("by_{key}_oracle"));
        for t in [&ours, &oracle] {
            c.exec(&format!(
                "CREATE TABLE {t} ({ddl}, UNIQUE ({key})); \
                 SELECT create_distributed_table('{t}', '{key}')"
            ))
            .await;
        }
        let run = barge(&[
            "load",
            path.to_str().unwrap(),
            "--into",
            &c.url(),
            "--table",
            &ours,
            "--chunk-rows",
            "700",
            "-v",
        ]);
        run.assert_ok();
        assert!(
            run.stderr
                .contains("rows go straight to the shards on the worker nodes"),
            "{key}: {}",
            run.stderr
        );
        coordinator_copy(&c, &oracle, &csv).await;
        assert_eq!(
            checksum(&c, &ours).await,
            checksum(&c, &oracle).await,
            "{key}"
        );
        assert_eq!(misplaced(&c, &ours, key).await, 0, "{key}");
        assert_eq!(
            c.one(&format!("SELECT count(*)::text FROM {ours}")).await,
            n.to_string()
        );
    }

    // Regression: a role or database with `idle_in_transaction_session_timeout` ended the
    // session that holds off shard moves (it waits in an open transaction for the whole load),
    // and the rest of the load left the routed path. The setting comes with the URL here, so
    // every session of the load has it; the load must outlast it for this to test anything.
    c.exec(
        "CREATE TABLE idle_guard (id bigint, i4 integer, payload text); \
         SELECT create_distributed_table('idle_guard', 'id')",
    )
    .await;
    let rows = 40_000;
    let idle_csv: String = std::iter::once("id,i4,payload\n".to_string())
        .chain((0..rows).map(|i| format!("{i},{},row {i}\n", i % 997)))
        .collect();
    let idle = dir.path().join("idle.csv");
    std::fs::write(&idle, &idle_csv).expect("write");
    let timeout_ms = 200;
    let url = format!(
        "{}?options=-c%20idle_in_transaction_session_timeout%3D{timeout_ms}",
        c.url()
    );
    let run = barge(&[
        "load",
        idle.to_str().unwrap(),
        "--into",
        &url,
        "--table",
        "idle_guard",
        "--chunk-rows",
        "500",
        "--json",
        "-v",
    ]);
    run.assert_ok();
    let summary: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("json");
    let elapsed = summary["elapsed"].as_f64().expect("elapsed");
    assert!(
        elapsed > 3.0 * f64::from(timeout_ms) / 1000.0,
        "the load ({elapsed} s) must outlast the timeout for this test to mean anything"
    );
    assert!(
        run.stderr
            .contains("rows go straight to the shards on the worker nodes"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr
            .contains("ended the session that held off shard moves"),
        "{}",
        run.stderr
    );
    assert_eq!(
        c.one("SELECT count(*)::text || ' ' || sum(id)::text FROM idle_guard")
            .await,
        format!("{rows} {}", rows * (rows - 1) / 2)
    );

    // A column left out would take its default on the worker (whose sequences are not the
    // coordinator's): such a load goes through the coordinator, and says why.
    c.exec(
        "CREATE TABLE with_default (id bigserial, i4 integer, payload text); \
         SELECT create_distributed_table('with_default', 'i4')",
    )
    .await;
    let narrow = dir.path().join("narrow.csv");
    std::fs::write(&narrow, "i4,payload\n1,a\n2,b\n").expect("write");
    let run = barge(&[
        "load",
        narrow.to_str().unwrap(),
        "--into",
        &c.url(),
        "--table",
        "with_default",
        "-v",
    ]);
    run.assert_ok();
    assert!(
        run.stderr.contains(
            "loading through the Citus coordinator: columns not written would take defaults"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        c.one("SELECT string_agg(id || ':' || payload, ',' ORDER BY id) FROM with_default")
            .await,
        "1:a,2:b"
    );
}

#[tokio::test]
async fn citus_a_part_left_prepared_by_a_killed_load_is_rolled_back_by_the_rerun() {
    let c = Citus::start().await;
    let dir = Dir::new();
    let csv = events_csv(20_000);
    let path = dir.path().join("events.csv");
    std::fs::write(&path, &csv).expect("write");
    make(&c, "oracle", "distributed").await;
    coordinator_copy(&c, "oracle", &csv).await;
    make(&c, "held", "distributed").await;
    let w0 = client_of(&c.workers[0].url("postgres")).await;
    let w1 = client_of(&c.workers[1].url("postgres")).await;
    // One shard of the second worker is locked: the first chunk's part there waits, while
    // the first worker's part is prepared.
    let shard = c
        .one(&format!(
            "SELECT shard_name(s.logicalrelid, s.shardid) FROM pg_dist_shard s \
             JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid) \
             WHERE s.logicalrelid = 'held'::regclass AND n.nodeport = {} LIMIT 1",
            c.workers[1].port
        ))
        .await;
    w1.batch_execute(&format!(
        "SET citus.enable_manual_changes_to_shards = on; BEGIN; LOCK TABLE {shard} IN ACCESS EXCLUSIVE MODE"
    ))
    .await
    .expect("lock a shard");
    let args = [
        "load",
        path.to_str().unwrap(),
        "--into",
        &c.url(),
        "--table",
        "held",
        "--chunk-rows",
        "5000",
        "--quiet",
    ];
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_barge"))
        .args(args)
        .spawn()
        .expect("spawn barge");
    let deadline = Instant::now() + Duration::from_secs(60);
    while prepared_parts(&w0).await == 0 {
        assert!(
            Instant::now() < deadline,
            "no part was prepared on the first worker"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    w1.batch_execute("ROLLBACK").await.expect("unlock");
    // The part outlives barge (and Citus' own recovery leaves barge's transactions alone).
    assert_eq!(prepared_parts(&w0).await, 1);
    assert_eq!(c.one("SELECT count(*)::text FROM held").await, "0");
    barge(&args).assert_ok();
    assert_eq!(checksum(&c, "held").await, checksum(&c, "oracle").await);
    assert_eq!(prepared_parts(&w0).await, 0);
    assert_eq!(prepared_parts(&w1).await, 0);

    // The session that holds off shard moves ended by the coordinator mid-load: the rest goes
    // through the coordinator, and the table is exact.
    let big = dir.path().join("big.csv");
    let big_csv = events_csv(200_000);
    std::fs::write(&big, &big_csv).expect("write");
    make(&c, "big_oracle", "distributed").await;
    coordinator_copy(&c, "big_oracle", &big_csv).await;
    make(&c, "guarded", "distributed").await;
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_barge"))
        .args([
            "load",
            big.to_str().unwrap(),
            "--into",
            &c.url(),
            "--table",
            "guarded",
            "--chunk-rows",
            "2000",
            "-v",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn barge");
    c.wait_for_rows("guarded", Duration::from_secs(60)).await;
    let ended = c
        .one(
            "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity \
             WHERE state = 'idle in transaction' AND query LIKE '%get_shard_id_for_distribution_column%'",
        )
        .await;
    assert_eq!(ended, "1");
    let out = child.wait_with_output().expect("barge");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the coordinator ended the session that held off shard moves"),
        "{stderr}"
    );
    assert_eq!(
        checksum(&c, "guarded").await,
        checksum(&c, "big_oracle").await
    );
}
