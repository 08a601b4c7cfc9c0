//! One load shared by several processes (`--split K/N`): three processes load one file
//! (whose quoted fields hold line breaks, so that a byte offset is no record start), one is
//! killed mid-load and run again, and the table equals the server's own COPY of the file, on
//! PostgreSQL (with the indexes the shares left out built again) and on Citus. Shares run again, with the same or another N, load nothing twice.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

use crate::support::citus::Citus;
use crate::support::fixtures::{events_csv, EVENTS_DDL};
use crate::support::{barge, fresh_db, Dir};

use crate::support::pg::{query_text as query, server_copy_csv, table_md5 as checksum};

async fn count(url: &str, table: &str) -> u64 {
    query(url, &format!("SELECT count(*)::text FROM {table}"))
        .await
        .parse()
        .unwrap_or(0)
}

fn share(path: &str, url: &str, k: u32) -> Child {
    Command::new(env!("CARGO_BIN_EXE_barge"))
        .args([
            "load",
            path,
            "--into",
            url,
            "--table",
            "shared",
            "--split",
            &format!("{k}/3"),
            "--chunk-rows",
            "500",
            "--quiet",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn barge")
}

/// Three shares at once, the second killed mid-load and run again; then the same and other
/// splits run again. `url` holds `shared` (empty) and `oracle` (the file, by COPY).
async fn three_processes_one_killed(url: &str, path: &str) {
    let want = checksum(url, "oracle").await;
    let mut children: Vec<Child> = (1..=3).map(|k| share(path, url, k)).collect();
    // Kill share 2 once it has committed a chunk of its own (chunks are checkpointed by the
    // byte their first record starts at).
    let size = std::fs::metadata(path).expect("size").len();
    let mine = format!(
        "SELECT count(*)::text FROM barge_checkpoint WHERE first_byte >= {} AND first_byte < {}",
        size / 3,
        size * 2 / 3
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done: u64 = match tokio::time::timeout(Duration::from_secs(5), async {
            let (client, conn) = tokio_postgres::connect(url, NoTls).await.ok()?;
            tokio::spawn(conn);
            let row = client.query_one(&mine, &[]).await.ok()?;
            row.get::<_, Option<String>>(0)?.parse().ok()
        })
        .await
        {
            Ok(Some(n)) => n,
            _ => 0,
        };
        if done > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "share 2 committed nothing");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        children[1].try_wait().expect("wait").is_none(),
        "share 2 ended before it could be killed: make the file bigger"
    );
    children[1].kill().expect("kill -9 share 2");
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().expect("wait");
        if i != 1 {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert!(
        count(url, "shared").await < 150_000,
        "nothing was left for the rerun"
    );
    let rerun = barge(&[
        "load",
        path,
        "--into",
        url,
        "--table",
        "shared",
        "--split",
        "2/3",
        "--chunk-rows",
        "500",
        "--json",
    ]);
    rerun.assert_ok();
    assert!(
        !rerun.stdout.contains("\"skipped_rows\":0,"),
        "the rerun resumed nothing: {}",
        rerun.stdout
    );
    assert_eq!(checksum(url, "shared").await, want);

    // Every share is done, so the load is: any share, the whole file, another N.
    for again in [
        vec!["--split", "1/3"],
        vec!["--split", "2/3"],
        vec![],
        vec!["--split", "1/2"],
    ] {
        let mut args = vec!["load", path, "--into", url, "--table", "shared"];
        args.extend(again.iter().copied());
        let run = barge(&args);
        run.assert_ok();
        assert!(
            run.stdout.contains("already loaded"),
            "{again:?}: {}",
            run.all()
        );
    }
    assert_eq!(checksum(url, "shared").await, want);
}

fn big_file(dir: &Dir) -> String {
    let path = dir.path().join("events.csv");
    std::fs::write(&path, events_csv(150_000)).expect("write");
    path.to_str().expect("utf-8 path").to_string()
}

async fn copy_oracle(url: &str, path: &str) {
    server_copy_csv(url, "oracle", &std::fs::read(path).expect("read")).await;
}

#[tokio::test]
async fn three_processes_share_one_file_exactly_once_on_postgres() {
    let db = fresh_db("split").await;
    let dir = Dir::new();
    let path = big_file(&dir);
    for t in ["shared", "oracle"] {
        query(&db.url, &format!("CREATE TABLE {t} ({EVENTS_DDL})")).await;
    }
    // Indexes no row can fail: left out by whichever share finds the table empty, recorded
    // for all of them, and built once (by the first share to end, or the rerun after a kill).
    let indexes = "CREATE INDEX shared_user ON shared (user_id); \
                   CREATE INDEX shared_when ON shared USING brin (created_at)";
    query(&db.url, indexes).await;
    let definitions = "SELECT string_agg(pg_get_indexdef(indexrelid), '; ' ORDER BY pg_get_indexdef(indexrelid)) \
                       FROM pg_index WHERE indrelid = 'shared'::regclass AND indisvalid";
    let before = query(&db.url, definitions).await;
    copy_oracle(&db.url, &path).await;
    three_processes_one_killed(&db.url, &path).await;
    assert_eq!(query(&db.url, definitions).await, before);
    let pending = "SELECT count(*)::text FROM barge_checkpoint_indexes";
    assert_eq!(query(&db.url, pending).await, "0");
}

#[tokio::test]
async fn three_processes_share_one_file_exactly_once_on_citus() {
    let c = Citus::start().await;
    let dir = Dir::new();
    let path = big_file(&dir);
    for t in ["shared", "oracle"] {
        c.exec(&format!("CREATE TABLE {t} ({EVENTS_DDL})")).await;
        c.exec(&format!("SELECT create_distributed_table('{t}', 'id')"))
            .await;
    }
    copy_oracle(&c.url(), &path).await;
    three_processes_one_killed(&c.url(), &path).await;
}

#[tokio::test]
async fn several_files_are_shared_whole_and_upserts_refuse_to_split() {
    let db = fresh_db("splitfiles").await;
    query(&db.url, &format!("CREATE TABLE shared ({EVENTS_DDL})")).await;
    let dir = Dir::new();
    let all = events_csv(3_000);
    let header_end = all.find('\n').expect("header") + 1;
    let mut files = Vec::new();
    for (i, (from, to)) in [(1, 1001), (1001, 2001), (2001, 3001)].iter().enumerate() {
        let start = all.find(&format!("\n{from},")).expect("record") + 1;
        let end = if *to > 3000 {
            all.len()
        } else {
            all.find(&format!("\n{to},")).expect("record") + 1
        };
        let p = dir.path().join(format!("part{i}.csv"));
        std::fs::write(&p, format!("{}{}", &all[..header_end], &all[start..end])).expect("w");
        files.push(p.to_str().unwrap().to_string());
    }
    for k in 1..=2 {
        let split = format!("{k}/2");
        let mut args = vec![
            "load", "--into", &db.url, "--table", "shared", "--split", &split,
        ];
        args.extend(files.iter().map(String::as_str));
        args.push("--json");
        let run = barge(&args);
        run.assert_ok();
        let files_loaded = if k == 1 { 2 } else { 1 };
        assert!(
            run.stdout.contains(&format!("\"files\":{files_loaded}")),
            "{}",
            run.stdout
        );
    }
    assert_eq!(
        query(
            &db.url,
            "SELECT count(*) || ' ' || count(DISTINCT id) FROM shared"
        )
        .await,
        "3000 3000"
    );
    let run = barge(&[
        "load",
        &files[0],
        "--into",
        &db.url,
        "--table",
        "shared",
        "--split",
        "1/2",
        "--on-conflict",
        "update",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("upsert in one process"),
        "{}",
        run.stderr
    );
    // SQLite takes one writer at a time: refused before a table is made.
    let db = dir.path().join("shared.db");
    let into = format!("sqlite://{}", db.display());
    let run = barge(&["load", &files[0], "--into", &into, "--split", "1/2"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(
        run.stderr,
        "error: --split 1/2 into SQLite: SQLite takes one writer at a time, so the processes \
         would only take turns (and one kept waiting over 30 s fails with \"database is \
         locked\"); load the input with one process, which is as fast\n"
    );
    assert!(!db.exists() || std::fs::metadata(&db).unwrap().len() == 0);
}

/// Processes started together each create the bookkeeping table when it is not there yet;
/// the one that loses the race uses the winner's table. An event trigger holds the first
/// process' CREATE TABLE open for a while, so that the second one's always meets it half
/// made: PostgreSQL then says "type ... already exists" (42710), which stopped that process
/// before it loaded its share (seen in CI, with the README's two-process example).
#[tokio::test]
async fn processes_creating_the_bookkeeping_table_at_once_all_load() {
    let db = fresh_db("checkpoint_race").await;
    db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v text); \
         CREATE FUNCTION slow_ddl() RETURNS event_trigger LANGUAGE plpgsql AS \
           $$ BEGIN PERFORM pg_sleep(1.5); END $$; \
         CREATE EVENT TRIGGER slow_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE') \
           EXECUTE FUNCTION slow_ddl();",
    )
    .await;
    let mut csv = String::from("id,v\n");
    for id in 1..=100 {
        csv.push_str(&format!("{id},v{id}\n"));
    }
    let dir = Dir::new();
    let f = dir.write("t.csv", &csv);
    let start = |k: u32| {
        Command::new(env!("CARGO_BIN_EXE_barge"))
            .args([
                "load",
                f.to_str().unwrap(),
                "--into",
                &db.url,
                "--table",
                "t",
            ])
            .args(["--split", &format!("{k}/2")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start barge")
    };
    let first = start(1);
    std::thread::sleep(Duration::from_millis(500));
    let second = start(2);
    for run in [first, second] {
        let out = run.wait_with_output().expect("wait for barge");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        db.rows_text("SELECT count(*), sum(id) FROM t").await,
        vec!["(100,5050)"]
    );
}
