//! Every command in the README runs, as written, against a fresh database, and the error
//! output it shows is what barge prints.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::fresh_db;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The part of the README from heading `from` up to the next `## ` heading.
fn section<'a>(readme: &'a str, from: &str) -> &'a str {
    let start = readme
        .find(&format!("\n{from}\n"))
        .unwrap_or_else(|| panic!("README has no {from:?} section"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    &rest[..end]
}

/// The ```text block that follows the line holding `cmd`.
fn text_after<'a>(readme: &'a str, cmd: &str) -> &'a str {
    readme
        .split_once(cmd)
        .and_then(|(_, rest)| rest.split_once("```text\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .unwrap_or_else(|| panic!("no text block after {cmd:?}"))
}

/// Lines of ```sh blocks that run barge (`cargo run --release --` is barge, built) or the
/// sqlite3 shell.
fn readme_commands(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let cmd = line.split("  #").next().unwrap_or(line).trim();
        if let Some(rest) = cmd.strip_prefix("cargo run --release -- ") {
            out.push(format!("barge {rest}"));
        } else if cmd.starts_with("barge ") || cmd.starts_with("sqlite3 ") {
            out.push(cmd.to_string());
        }
    }
    out
}

/// Runs `cmd` with the built barge first on PATH, in `dir`, with `DATABASE_URL` set to `url`
/// (or unset).
fn sh_in(dir: &Path, cmd: &str, url: Option<&str>) -> (i32, String, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_barge"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("sh");
    command
        .args(["-c", cmd])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("DATABASE_URL");
    if let Some(url) = url {
        command.env("DATABASE_URL", url);
    }
    let out = command.output().expect("run sh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sh(cmd: &str, url: &str) -> (i32, String, String) {
    sh_in(&repo(), cmd, Some(url))
}

/// The quick start runs on a machine without any server: into ./barge.db, in a fresh
/// directory holding a copy of `examples/`.
#[test]
fn quick_start_needs_no_server() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let quick = section(&readme, "## Quick start");
    let commands = readme_commands(quick);
    assert_eq!(commands.len(), 2, "{commands:?}");
    let sqlite3 = Command::new("sqlite3").arg("-version").output();
    assert!(
        sqlite3.is_ok_and(|o| o.status.success()),
        "the README's quick start queries with the sqlite3 shell, which is not installed \
         (Debian: apt-get install sqlite3)"
    );
    let dir = crate::support::Dir::new();
    std::fs::create_dir(dir.path().join("examples")).expect("mkdir");
    std::fs::copy(
        repo().join("examples/events.csv"),
        dir.path().join("examples/events.csv"),
    )
    .expect("copy the example");
    let (code, stdout, stderr) = sh_in(dir.path(), &commands[0], None);
    assert_eq!(code, 0, "{}: {stdout}{stderr}", commands[0]);
    assert!(
        stdout.starts_with(
            "Loaded 12 rows into new table \"main\".\"events\" at sqlite://barge.db in "
        ),
        "{stdout}"
    );
    let (code, stdout, stderr) = sh_in(dir.path(), &commands[1], None);
    assert_eq!(code, 0, "{}: {stdout}{stderr}", commands[1]);
    let shown = text_after(quick, &commands[1]);
    assert_eq!(stdout, shown);
}

#[tokio::test]
async fn readme_commands_work_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let db = fresh_db("readme").await;
    db.exec(&std::fs::read_to_string(repo().join("examples/events.sql")).expect("events.sql"))
        .await;
    let commands = readme_commands(&readme[readme.find("\n## Loading").expect("## Loading")..]);
    assert!(commands.len() >= 5, "found {commands:?}");
    // The file the server's own COPY stores is the reference.
    db.exec("CREATE TABLE events_ref (LIKE events)").await;
    let csv = std::fs::read(repo().join("examples/events.csv")).expect("events.csv");
    db.server_copy("events_ref", "FORMAT csv, HEADER true", &csv)
        .await;
    let want = db.checksum("events_ref").await;
    assert_eq!(want.0, 12);

    for cmd in &commands {
        db.exec("TRUNCATE events; DROP TABLE IF EXISTS barge_checkpoint")
            .await;
        if cmd.contains("$MYSQL_URL") {
            let my = crate::support::mysql::fresh_db("readme").await;
            let (code, stdout, stderr) = sh(&format!("MYSQL_URL='{}'; {cmd}", my.url), &db.url);
            assert_eq!(code, 0, "{cmd}: {stdout}{stderr}");
            // The same rows as the server's own COPY into PostgreSQL, timestamps in UTC.
            let want = db
                .rows_text(
                    "SELECT count(*) || '|' || sum(amount) || '|' || count(payload) || '|' || \
                     to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') \
                     FROM events_ref",
                )
                .await;
            let target = crate::support::backend::TestTarget::Mysql(my);
            let got = target
                .rows("SELECT count(*), sum(amount), count(payload), min(created_at) FROM events")
                .await;
            assert_eq!(got.join(""), want[0].trim_matches(['(', ')', '"']), "{cmd}");
            continue;
        }
        if cmd.contains("--rejects") {
            // Writes the rejects files: run in a fresh directory with a copy of the examples.
            let dir = crate::support::Dir::new();
            std::fs::create_dir(dir.path().join("examples")).expect("mkdir");
            std::fs::copy(
                repo().join("examples/events_bad.csv"),
                dir.path().join("examples/events_bad.csv"),
            )
            .expect("copy the example");
            let (code, stdout, stderr) = sh_in(dir.path(), cmd, Some(&db.url));
            assert_eq!(code, 3, "{cmd}: {stdout}{stderr}");
            assert_eq!(db.checksum("events").await.0, 2, "{cmd}");
            let errors = std::fs::read_to_string(dir.path().join("rejected.csv.errors.jsonl"))
                .expect("the errors file");
            assert_eq!(errors, text_after(&readme, "cat rejected.csv.errors.jsonl"));
            continue;
        }
        if cmd.contains("sqlite://") {
            // Writes a file: run in a fresh directory with a copy of the examples.
            let dir = crate::support::Dir::new();
            std::fs::create_dir(dir.path().join("examples")).expect("mkdir");
            std::fs::copy(
                repo().join("examples/events.csv"),
                dir.path().join("examples/events.csv"),
            )
            .expect("copy the example");
            let (code, stdout, stderr) = sh_in(dir.path(), cmd, None);
            assert_eq!(code, 0, "{cmd}: {stdout}{stderr}");
            let db = dir.path().join("events.db");
            let n: i64 = rusqlite::Connection::open(&db)
                .and_then(|c| c.query_row("SELECT count(*) FROM events", [], |r| r.get(0)))
                .expect("count the rows");
            assert_eq!(n, 12, "{cmd}");
            continue;
        }
        let (code, stdout, stderr) = sh(cmd, &db.url);
        if cmd.contains("--dry-run") {
            assert_eq!(code, 0, "{cmd}: {stdout}{stderr}");
            assert!(
                stdout.starts_with("Dry run: 12 rows would load into \"public\".\"events\" at ")
                    && stdout.ends_with("; nothing was written\n"),
                "{cmd}: {stdout}"
            );
            assert_eq!(db.checksum("events").await.0, 0, "{cmd}");
            continue;
        }
        if cmd.starts_with("barge schema") {
            assert_eq!(code, 0, "{cmd}: {stdout}{stderr}");
            assert_eq!(stdout, text_after(&readme, cmd), "{cmd}");
            continue;
        }
        if cmd.contains("events_bad.csv") {
            assert_eq!(code, 1, "{cmd}: {stdout}{stderr}");
            // The README shows this output in the text block that follows.
            let shown = text_after(&readme, "barge load examples/events_bad.csv");
            assert_eq!(stderr, shown, "{cmd}");
            assert_eq!(db.checksum("events").await.0, 0);
        } else {
            assert_eq!(code, 0, "{cmd}: {stdout}{stderr}");
            assert_eq!(
                db.checksum("events").await,
                want,
                "{cmd}\nstdout:\n{stdout}\nstderr:\n{stderr}"
            );
        }
    }
}
