//! Every command in the README runs, as written, against a fresh database, and the error
//! output it shows is what barge prints.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::fresh_db;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Lines of ```sh blocks that run barge (`cargo run --release --` is barge, built).
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
        } else if cmd.starts_with("barge ") {
            out.push(cmd.to_string());
        }
    }
    out
}

fn sh(cmd: &str, url: &str) -> (i32, String, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_barge"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .args(["-c", cmd])
        .current_dir(repo())
        .env("PATH", path)
        .env("DATABASE_URL", url)
        .output()
        .expect("run sh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn readme_commands_work_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let db = fresh_db("readme").await;
    db.exec(&std::fs::read_to_string(repo().join("examples/events.sql")).expect("events.sql"))
        .await;
    let commands = readme_commands(&readme);
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
        let (code, stdout, stderr) = sh(cmd, &db.url);
        if cmd.contains("events_bad.csv") {
            assert_eq!(code, 1, "{cmd}: {stdout}{stderr}");
            // The README shows this output in the text block that follows.
            let shown = readme
                .split("```text\n")
                .nth(1)
                .and_then(|s| s.split("```").next())
                .expect("a text block after the bad-input example");
            assert_eq!(stderr, shown, "{cmd}");
            assert_eq!(db.checksum("events").await.0, 0);
        } else {
            assert_eq!(code, 0, "{cmd}: {stdout}{stderr}");
            assert_eq!(db.checksum("events").await, want, "{cmd}");
        }
    }
}
