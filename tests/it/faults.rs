//! Exactly once under faults: kill -9, terminated connections, a restarted server, too few
//! connection slots, Ctrl-C; and the re-run, --again and --atomic rules.

use std::process::Child;
use std::time::{Duration, Instant};

use crate::support::fixtures::{events_csv, EVENTS_DDL};
use crate::support::pg::{fresh_db_at, PrivateServer};
use crate::support::{assert_resumed_after, barge, fresh_db, spawn_barge, Dir, TestDb};

/// Loads `csv` with the server's own COPY into `events_ref` and returns its checksum.
async fn reference(db: &TestDb, csv: &str) -> (i64, String) {
    db.exec(&format!(
        "CREATE TABLE events ({EVENTS_DDL}); CREATE TABLE events_ref ({EVENTS_DDL});"
    ))
    .await;
    db.server_copy("events_ref", "FORMAT csv, HEADER true", csv.as_bytes())
        .await;
    db.checksum("events_ref").await
}

fn finish(child: Child) -> (i32, String, String) {
    let out = child.wait_with_output().expect("wait for barge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Chunks committed so far (0 before the bookkeeping table exists).
async fn committed_chunks(db: &TestDb) -> i64 {
    db.client
        .query_one(
            "SELECT count(*) FROM barge_checkpoint WHERE first_byte >= 0",
            &[],
        )
        .await
        .map(|r| r.get::<_, i64>(0))
        .unwrap_or(0)
}

/// Waits until the load has committed at least `chunks` chunks.
async fn wait_for_chunks(db: &TestDb, chunks: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = committed_chunks(db).await;
        if n >= chunks {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the load committed no chunk within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn kill_9_at_random_moments_then_rerun_loads_every_row_exactly_once() {
    let db = fresh_db("kill9").await;
    let csv = events_csv(200_000);
    let want = reference(&db, &csv).await;
    let dir = Dir::new();
    let f = dir.write("events.csv", &csv);
    let f = f.to_str().unwrap();
    let args = [
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "events",
        "--workers",
        "4",
        "--chunk-rows",
        "2000",
        "--quiet",
    ];
    let seed = fastrand::u64(..);
    eprintln!("kill -9 moments from seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut killed = 0;
    for _ in 0..12 {
        // A moment some chunks (0, 1 or 2) into this run, then up to 100 ms on: while it
        // starts, between chunks or inside one's COPY or commit. Counted from the run's own
        // progress rather than from its start, so that the runs are still mid-load however
        // fast the machine (fixed times let a fast run finish the file: "only 7 killed").
        let before = committed_chunks(&db).await;
        let mut child = spawn_barge(&args);
        let more = rng.i64(0..3);
        if more > 0 {
            wait_for_chunks(&db, before + more).await;
        }
        std::thread::sleep(Duration::from_millis(rng.u64(20..120)));
        if child.try_wait().expect("poll barge").is_none() {
            child.kill().expect("kill -9 barge");
            killed += 1;
        }
        let _ = child.wait();
    }
    assert!(killed >= 10, "only {killed} runs were killed mid-load");
    let (code, out, err) = finish(spawn_barge(&args[..args.len() - 1]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        db.checksum("events").await,
        want,
        "the table differs from the input"
    );
    let sum = db
        .rows_text("SELECT sum(rows) FROM barge_checkpoint WHERE first_byte >= 0")
        .await;
    assert_eq!(sum, vec!["(200000)"]);
}

#[tokio::test]
async fn terminated_connections_are_retried_and_the_load_completes_exactly_once() {
    let db = fresh_db("terminate").await;
    let csv = events_csv(100_000);
    let want = reference(&db, &csv).await;
    let dir = Dir::new();
    let f = dir.write("events.csv", &csv);
    let child = spawn_barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "events",
        "--workers",
        "2",
        "--chunk-rows",
        "500",
        "--json",
    ]);
    wait_for_chunks(&db, 5).await;
    let mut terminated = 0;
    for _ in 0..3 {
        let rows = db
            .client
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = 'barge' AND datname = current_database()",
                &[],
            )
            .await
            .expect("terminate barge's connections");
        terminated += rows.len();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        terminated >= 2,
        "no barge connection was found to terminate"
    );
    let (code, out, err) = finish(child);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON summary");
    assert!(v["retries"].as_u64().unwrap_or(0) >= 1, "{v}");
    assert!(err.contains("retrying on a new connection"), "{err}");
    assert_eq!(db.checksum("events").await, want);
}

#[tokio::test]
async fn a_server_restart_mid_load_is_waited_out() {
    let srv = PrivateServer::start(&[]);
    let db = fresh_db_at(&|d| srv.url(d), "restart").await;
    let csv = events_csv(100_000);
    let want = reference(&db, &csv).await;
    let dir = Dir::new();
    let f = dir.write("events.csv", &csv);
    let child = spawn_barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "events",
        "--chunk-rows",
        "500",
        "--json",
    ]);
    wait_for_chunks(&db, 5).await;
    srv.stop("fast");
    std::thread::sleep(Duration::from_secs(2));
    srv.pg_ctl_start();
    let (code, out, err) = finish(child);
    assert_eq!(code, 0, "{out}{err}");
    // The test's own connection died with the restart: check over a new one.
    let check = crate::support::pg::connect(&db.url).await;
    let got = check
        .query_one(
            "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)::text FROM events t",
            &[],
        )
        .await
        .expect("checksum");
    assert_eq!((got.get::<_, i64>(0), got.get::<_, String>(1)), want);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON summary");
    assert!(v["retries"].as_u64().unwrap_or(0) >= 1, "{v}");
}

#[tokio::test]
async fn too_few_connection_slots_load_with_fewer_workers() {
    let srv = PrivateServer::start(&["max_connections=4", "superuser_reserved_connections=0"]);
    let db = fresh_db_at(&|d| srv.url(d), "slots").await;
    let csv = events_csv(20_000);
    let want = reference(&db, &csv).await;
    let dir = Dir::new();
    let f = dir.write("events.csv", &csv);
    let (code, out, err) = finish(spawn_barge(&[
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "events",
        "--workers",
        "8",
        "--chunk-rows",
        "1000",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("the server has no connection slots left: loading with "),
        "{err}"
    );
    assert_eq!(db.checksum("events").await, want);
}

#[tokio::test]
async fn interrupt_stops_cleanly_and_the_same_command_resumes() {
    let db = fresh_db("interrupt").await;
    let csv = events_csv(100_000);
    let want = reference(&db, &csv).await;
    let dir = Dir::new();
    let f = dir.write("events.csv", &csv);
    let args = [
        "load",
        f.to_str().unwrap(),
        "--into",
        &db.url,
        "--table",
        "events",
        "--chunk-rows",
        "500",
    ];
    let child = spawn_barge(&args);
    wait_for_chunks(&db, 3).await;
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let (code, out, err) = finish(child);
    assert_eq!(code, 130, "{out}{err}");
    assert!(
        err.contains("stopping: finishing the chunks in flight"),
        "{err}"
    );
    assert!(err.contains("error: interrupted\n"), "{err}");
    assert!(
        err.contains("hint: run the same command again to resume where this load stopped"),
        "{err}"
    );
    let committed = db.checksum("events").await.0;
    assert!(committed > 0 && committed < 100_000, "{committed} rows");
    let run = barge(&args);
    run.assert_ok();
    assert_resumed_after(&run, committed);
    assert_eq!(db.checksum("events").await, want);
}

#[tokio::test]
async fn again_loads_twice_and_atomic_loads_nothing_on_a_late_bad_row() {
    let db = fresh_db("again_atomic").await;
    db.exec("CREATE TABLE t (id int, v text)").await;
    let dir = Dir::new();
    let mut csv = String::from("id,v\n");
    for i in 0..5000 {
        csv.push_str(&format!("{i},v{i}\n"));
    }
    let good = dir.write("good.csv", &csv);
    let good = good.to_str().unwrap();
    let base = ["--into", &db.url, "--table", "t", "--chunk-rows", "100"];
    let mut args = vec!["load", good];
    args.extend_from_slice(&base);
    barge(&args).assert_ok();
    let again = barge(&[&args[..], &["--again"]].concat());
    again.assert_ok();
    assert!(
        again.stdout.starts_with("Loaded 5,000 rows"),
        "{}",
        again.stdout
    );
    let third = barge(&args);
    third.assert_ok();
    assert!(
        third.stdout.contains("was already loaded"),
        "{}",
        third.stdout
    );
    assert_eq!(
        db.rows_text("SELECT count(*), count(DISTINCT id) FROM t")
            .await,
        vec!["(10000,5000)"]
    );
    db.exec("TRUNCATE t").await;
    let run = barge(&args);
    run.assert_ok();
    assert!(
        run.stderr.contains("\"public\".\"t\" is empty now, though this load put 5000 rows there: if it was emptied on purpose, use --again"),
        "{}",
        run.stderr
    );

    db.exec("TRUNCATE t").await;
    csv.push_str("oops,bad\n");
    let bad = dir.write("bad.csv", &csv);
    let mut args = vec!["load", bad.to_str().unwrap()];
    args.extend_from_slice(&base);
    args.push("--atomic");
    let run = barge(&args);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("record 5002"), "{}", run.stderr);
    assert_eq!(db.rows_text("SELECT count(*) FROM t").await, vec!["(0)"]);
    let run = barge(&[&args[..], &["--workers", "2"]].concat());
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--atomic loads over one connection"),
        "{}",
        run.stderr
    );
    // Regression: with several files each was its own transaction, so a bad row in the
    // second left the first committed (then several files were refused). Now the files are
    // one transaction: the bad row in the second leaves nothing of the first.
    let first = dir.write("first.csv", "id,v\n900001,a\n");
    let mut two = vec!["load", first.to_str().unwrap(), bad.to_str().unwrap()];
    two.extend_from_slice(&base);
    two.push("--atomic");
    let run = barge(&two);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.starts_with(&format!(
            "error: {}: record 5002 (line 5002, byte 52785)",
            bad.display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(db.rows_text("SELECT count(*) FROM t").await, vec!["(0)"]);
}

#[tokio::test]
async fn after_a_bad_row_the_fixed_file_resumes_with_continue_changed() {
    let db = fresh_db("fix_resume").await;
    db.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    let dir = Dir::new();
    let mut csv = String::from("id\n");
    for i in 1..=300 {
        csv.push_str(&if i == 251 {
            "x251\n".to_string()
        } else {
            format!("{i}\n")
        });
    }
    let f = dir.write("ids.csv", &csv);
    let f = f.to_str().unwrap();
    let args = [
        "load",
        f,
        "--into",
        &db.url,
        "--table",
        "t",
        "--chunk-rows",
        "100",
        "--workers",
        "1",
    ];
    let run = barge(&args);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("note: 200 rows were committed before the error"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("then run the same command with --continue-changed"),
        "{}",
        run.stderr
    );
    // Fixed with a value of another length: only bytes after the committed rows move.
    dir.write("ids.csv", csv.replace("x251\n", "251\n"));
    let run = barge(&[&args[..], &["--continue-changed", "--json"]].concat());
    run.assert_ok();
    let report: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap_or_default();
    assert_eq!(report["skipped_rows"], 200, "{}", run.stdout);
    // The load it went on with: its id names it to standard input.
    let id = report["load_id"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        db.rows_text("SELECT count(*), sum(id) FROM t").await,
        vec!["(300,45150)"]
    );
    // Standard input with a name resumes too: here it is simply already loaded.
    let run = crate::support::barge_with(
        &[
            "load",
            "-",
            "--into",
            &db.url,
            "--table",
            "t",
            "--load-id",
            &id,
        ],
        &[],
        Some(csv.replace("x251\n", "251\n").as_bytes()),
    );
    run.assert_ok();
    assert!(run.stdout.contains("was already loaded"), "{}", run.stdout);
}

/// Two runs of one load at once (an overlapping schedule, a retried job): the second stops
/// before loading anything, saying the first is running, on PostgreSQL and MySQL; the first
/// finishes, and the second run again finds the load done. Before, both loaded, each the
/// chunks the other had not committed yet, until a checkpoint's key collided (and with chunks
/// sized from measurement their boundaries differ, so a row could go in twice).
#[tokio::test]
async fn a_second_run_of_a_load_that_is_running_stops_before_loading() {
    use std::io::Write;
    let mut csv = String::from("id,v\n");
    // Rows long enough that the first half is more than the 64 KiB barge reads of standard
    // input before its first row (to tell its format).
    for i in 0..2_000 {
        csv.push_str(&format!("{i},v{i}{}\n", "x".repeat(100)));
    }
    let (head, tail) = csv.split_at(csv.len() / 2);
    for t in crate::support::backend::TestTarget::each("load_lock").await {
        if t.name() == "sqlite" {
            continue; // one writer at a time: the second waits for the file's lock
        }
        t.exec("CREATE TABLE kv (id int PRIMARY KEY, v text)").await;
        let url = t.url();
        let args = [
            "load",
            "-",
            "--into",
            &url,
            "--table",
            "kv",
            "--load-id",
            "nightly",
            "--chunk-rows",
            "100",
        ];
        let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_barge"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn barge: {e}"));
        let mut input = first.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        input
            .write_all(head.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        input.flush().unwrap_or_else(|e| panic!("{e}"));
        let started = Instant::now();
        while t.rows("SELECT count(*) FROM kv").await == ["0"] {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{}: nothing committed",
                t.name()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Named by its id, the second run is the same load whatever it reads (a little: it
        // stops before reading on).
        let second = crate::support::barge_with(&args, &[], Some(&csv.as_bytes()[..64]));
        assert_eq!(second.code, 1, "{}: {}", t.name(), second.all());
        assert!(
            second
                .stderr
                .starts_with("error: another run of this load is loading - into ")
                && second
                    .stderr
                    .contains("\"kv\" now: this one stopped before loading anything"),
            "{}: {}",
            t.name(),
            second.stderr
        );
        input
            .write_all(tail.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        drop(input);
        let (code, _, stderr) = finish(first);
        assert_eq!(code, 0, "{}: {stderr}", t.name());
        assert_eq!(
            t.rows("SELECT count(*), count(DISTINCT id), sum(id) FROM kv")
                .await,
            ["2000|2000|1999000"],
            "{}",
            t.name()
        );
        let again = crate::support::barge_with(&args, &[], Some(&csv.as_bytes()[..64]));
        again.assert_ok();
        assert!(
            again.stdout.contains("already loaded"),
            "{}: {}",
            t.name(),
            again.all()
        );
    }
}
