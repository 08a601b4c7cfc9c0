//! Helpers shared by the integration tests.

pub mod backend;
pub mod citus;
pub mod fixtures;
pub mod mysql;
pub mod pg;

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub use pg::{fresh_db, TestDb};

/// What a run of the `barge` binary printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Everything the user saw.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "barge failed:\n{}", self.all());
        self
    }
}

/// Runs `barge` with `args`, without any DATABASE_URL from the environment.
pub fn barge(args: &[&str]) -> Run {
    barge_with(args, &[], None)
}

/// Runs `barge load FILE --into URL --table TABLE` and then `extra`.
pub fn load_file(file: &std::path::Path, url: &str, table: &str, extra: &[&str]) -> Run {
    let file = file.to_string_lossy();
    let mut args = vec!["load", &file, "--into", url, "--table", table];
    args.extend_from_slice(extra);
    barge(&args)
}

/// Loads `file` into `table` at `url` with `--json` and `extra`, which must succeed: the
/// report it prints.
pub fn load_report(
    file: &std::path::Path,
    url: &str,
    table: &str,
    extra: &[&str],
) -> serde_json::Value {
    let run = load_file(file, url, table, &[&["--json"], extra].concat());
    run.assert_ok();
    serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("the report is one JSON object ({e}): {}", run.stdout))
}

/// Starts `barge` without waiting for it (to kill it, or to run several at once), its output
/// piped.
pub fn spawn_barge(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_barge"))
        .args(args)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn barge")
}

/// Runs the load `args` into PostgreSQL table `table` at `url`, killing it later each time
/// until a kill leaves it midway (some of its `rows` committed, not all), however fast or busy
/// the machine is; panics when none does.
pub async fn kill_midway(args: &[&str], url: &str, table: &str, rows: i64) {
    let sql = format!("SELECT count(*)::text FROM {table}");
    let mut n = 0;
    for wait_ms in [80, 200, 400, 800, 1600, 3200] {
        kill_after(args, &[wait_ms]).await;
        n = pg::query_text(url, &sql).await.parse().expect("a count");
        if n > 0 && n < rows {
            return;
        }
    }
    panic!("no kill stopped the load midway: {n} rows");
}

/// Starts `barge` without waiting for it, its output thrown away (a run to be killed, whose
/// output nobody reads, must not block on a full pipe).
pub fn spawn_barge_silent(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_barge"))
        .args(args)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn barge")
}

/// The rerun `run` said it resumed after the `committed` rows of the run it follows.
pub fn assert_resumed_after(run: &Run, committed: i64) {
    let said = format!(
        "Resumed: skipped {} rows committed by an earlier run",
        thousands(committed)
    );
    assert!(run.stdout.contains(&said), "{}", run.stdout);
}

/// `n` as barge writes counts: `1,234,567`.
pub fn thousands(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Runs `barge` with extra environment variables and, optionally, bytes on stdin.
pub fn barge_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
    barge_in(None, args, env, stdin)
}

/// Runs `barge` in directory `cwd` (where the default target, `barge.db`, is written).
pub fn barge_in(
    cwd: Option<&std::path::Path>,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barge"));
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run the barge binary");
    if let Some(bytes) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(bytes).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for barge");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    // Every output of every CLI run in the suite: no password the tests use ever shows.
    for secret in SECRETS {
        assert!(
            !run.all().contains(secret),
            "barge printed the secret {secret:?}: {}",
            run.all()
        );
    }
    run
}

/// Asserts that `run` (with `-v`) left `count` indexes out of an empty table and built them at
/// its end, and said so in its log and its summary, as every backend says it.
pub fn assert_indexes_built_at_the_end(run: &Run, count: usize) {
    run.assert_ok();
    assert!(
        run.stderr
            .contains("its indexes that no row can fail are built at the end of the load")
            && run.stderr.contains(&format!("indexes={count}"))
            && run
                .stderr
                .contains("built the indexes left out while the table loaded"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(&format!("\nBuilt {count} indexes in "))
            && run
                .stdout
                .contains(" s at the end (left out while the empty table loaded"),
        "{}",
        run.stdout
    );
}

/// Runs `barge args` once per wait in `waits_ms`, killing it (SIGKILL) after that long;
/// returns how many of the runs were still going when killed.
pub async fn kill_after(args: &[&str], waits_ms: &[u64]) -> usize {
    let mut killed = 0;
    for &wait_ms in waits_ms {
        let mut child = spawn_barge_silent(args);
        tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
        if child.try_wait().expect("poll barge").is_none() {
            killed += 1;
        }
        child.kill().expect("kill -9 barge");
        child.wait().expect("reap barge");
    }
    killed
}

/// Runs again (with `-v`) the load `args` that a kill stopped while indexes were left out,
/// with `extra`, and asserts that it says what becomes of them: left out until its end, or with
/// `--keep-indexes` built before it loads.
pub fn rerun_after_a_kill(args: &[&str], extra: &[&str]) -> Run {
    let run = barge(&[args, extra, &["-v"]].concat());
    run.assert_ok();
    let said = if extra.is_empty() {
        "left out by an earlier run of this load are built at its end"
    } else {
        "building the indexes an earlier load left out of the table before loading"
    };
    assert!(run.stderr.contains(said), "{}", run.stderr);
    run
}

/// The passwords and key material the tests hand to barge.
pub const SECRETS: &[&str] = &["hunter2", "s3cret", "Wr0ng-pw", "PRIVATE KEY"];

/// A fresh directory for one test's files.
pub struct Dir(tempfile::TempDir);

impl Dir {
    pub fn new() -> Dir {
        Dir(tempfile::tempdir().expect("temporary directory"))
    }

    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("make the fixture's directory");
        }
        std::fs::write(&p, bytes).expect("write fixture");
        p
    }
}

/// Loads `csv` into `table` twice, once with the server's own COPY (into `table`_ref, made with
/// the same definition) and once with barge, and asserts that both hold the same rows.
pub async fn assert_same_as_server_copy(
    db: &TestDb,
    table_ddl_cols: &str,
    csv: &[u8],
    copy_options: &str,
    barge_args: &[&str],
) -> (i64, String) {
    db.exec(&format!(
        "CREATE TABLE t_ref ({table_ddl_cols}); CREATE TABLE t_barge ({table_ddl_cols});"
    ))
    .await;
    db.server_copy("t_ref", copy_options, csv).await;
    let dir = Dir::new();
    let file = dir.write("in.csv", csv);
    let file = file.to_str().expect("utf-8 path");
    let mut args = vec!["load", file, "--into", &db.url, "--table", "t_barge"];
    args.extend_from_slice(barge_args);
    barge(&args).assert_ok();
    let want = db.checksum("t_ref").await;
    let got = db.checksum("t_barge").await;
    if want != got {
        let a = db
            .rows_text("SELECT * FROM t_ref EXCEPT ALL SELECT * FROM t_barge")
            .await;
        let b = db
            .rows_text("SELECT * FROM t_barge EXCEPT ALL SELECT * FROM t_ref")
            .await;
        panic!("barge stored other rows than COPY:\nonly in COPY: {a:#?}\nonly in barge: {b:#?}");
    }
    got
}

/// `data`, gzip-compressed.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, data).expect("compress in memory");
    gz.finish().expect("compress in memory")
}
