//! Behaviour every backend must have, each test one body run against every backend
//! (`support::backend::TestTarget::each`): upserts end as a row-by-row load would, `--rejects`
//! sets aside exactly the bad rows, and a load killed at random moments resumes to an exact
//! table that a further run knows is complete. A new backend inherits these by being added to
//! `TestTarget`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::support::backend::TestTarget;
use crate::support::{barge, gzip, kill_after, load_file, spawn_barge_silent, Dir};

const KV: &str =
    "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER CHECK (n >= 0))";

/// The rows of a rejects file, each with its newline (the header line left out).
fn set_aside(rejects: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_to_string(rejects)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A deterministic pseudo-random sequence (the tests print nothing random to reproduce).
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

fn json_u64(stdout: &str, path: &[&str]) -> u64 {
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("a JSON summary");
    let mut v = &v;
    for p in path {
        v = &v[p];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("no {path:?} in {stdout}"))
}

#[tokio::test]
async fn upserts_end_as_a_row_by_row_load_on_every_backend() {
    for action in ["update", "nothing"] {
        for db in TestTarget::each(&format!("upsert_{action}")).await {
            db.exec(KV).await;
            let mut existing = String::from("INSERT INTO kv (k, v, n) VALUES ");
            let mut model: BTreeMap<i64, (String, i64)> = BTreeMap::new();
            for k in 1..=50 {
                existing.push_str(&format!("{}({k}, 'old', 0)", if k > 1 { ", " } else { "" }));
                model.insert(k, ("old".into(), 0));
            }
            db.exec(&existing).await;
            let mut csv = String::from("k,v,n\n");
            let mut seed = 7;
            let mut inserted = 0;
            let rows = 400;
            for line in 1..=rows {
                let k = (lcg(&mut seed) % 200 + 1) as i64;
                csv.push_str(&format!("{k},r{line},{line}\n"));
                // A row-by-row load: the last occurrence wins an update, the first a nothing.
                match (model.contains_key(&k), action) {
                    (false, _) => {
                        inserted += 1;
                        model.insert(k, (format!("r{line}"), line));
                    }
                    (true, "update") => {
                        model.insert(k, (format!("r{line}"), line));
                    }
                    (true, _) => {}
                }
            }
            let dir = Dir::new();
            let f = dir.write("kv.csv", &csv);
            let run = barge(&[
                "load",
                f.to_str().unwrap(),
                "--into",
                &db.url(),
                "--table",
                "kv",
                "--on-conflict",
                action,
                "--chunk-rows",
                "7",
                "--workers",
                "2",
                "--json",
            ]);
            run.assert_ok();
            let want: Vec<String> = model
                .iter()
                .map(|(k, (v, n))| format!("{k}|{v}|{n}"))
                .collect();
            assert_eq!(
                db.rows("SELECT k, v, n FROM kv ORDER BY k").await,
                want,
                "{} --on-conflict {action}",
                db.name()
            );
            assert_eq!(
                json_u64(&run.stdout, &["upsert", "inserted"]),
                inserted,
                "{}",
                db.name()
            );
            let other = if action == "update" {
                "updated"
            } else {
                "skipped"
            };
            assert_eq!(
                json_u64(&run.stdout, &["upsert", other]),
                rows as u64 - inserted,
                "{}",
                db.name()
            );
        }
    }
}

#[tokio::test]
async fn rejects_set_aside_exactly_the_bad_rows_on_every_backend() {
    for db in TestTarget::each("rejects_each").await {
        db.exec(KV).await;
        let mut csv = String::from("k,v,n\n");
        let mut bad = BTreeSet::new();
        let mut good_sum = 0i64;
        let mut good = 0;
        for k in 1..=300i64 {
            let row = match (k % 13 == 0).then_some(k / 13 % 6) {
                Some(0) => format!("x{k},v,1\n"),
                Some(1) => format!("{k},v,-{k}\n"),
                Some(2) => format!("{k},,1\n"),
                Some(3) => format!("{k},v\n"),
                Some(4) => format!("{},dup,1\n", k - 1),
                Some(_) => format!("{k},v,99999999999999999999\n"),
                None => {
                    good += 1;
                    good_sum += k;
                    csv.push_str(&format!("{k},v{k},{k}\n"));
                    continue;
                }
            };
            csv.push_str(&row);
            bad.insert(row);
        }
        let dir = Dir::new();
        let f = dir.write("kv.csv", &csv);
        let rej = dir.path().join("kv.rej");
        let run = barge(&[
            "load",
            f.to_str().unwrap(),
            "--into",
            &db.url(),
            "--table",
            "kv",
            "--rejects",
            rej.to_str().unwrap(),
            "--chunk-rows",
            "10",
            "--workers",
            "2",
        ]);
        assert_eq!(run.code, 3, "{}: {}", db.name(), run.all());
        assert_eq!(set_aside(&rej), bad, "{}", db.name());
        assert_eq!(
            db.rows("SELECT count(*), sum(k) FROM kv").await,
            [format!("{good}|{good_sum}")],
            "{}",
            db.name()
        );
    }
}

/// Rows the database refuses (a check) in pieces of several rows, with `--rejects`, loaded
/// plainly and as an upsert: a refused statement must leave nothing of its piece behind
/// (MariaDB's LOAD DATA keeps the rows before the refused one unless a savepoint undoes
/// them), and the search ends with exactly those rows set aside and the rest in (for the
/// upsert, the keys already there updated), nothing twice.
#[tokio::test]
async fn refused_rows_amid_their_piece_are_all_that_is_set_aside_on_every_backend() {
    for db in TestTarget::each("piece_rejects_each").await {
        for (table, upsert) in [("kv", false), ("kv_up", true)] {
            db.exec(&KV.replace("kv", table)).await;
            db.exec(&format!(
                "INSERT INTO {table} VALUES (1, 'old', 0), (2, 'old', 0)"
            ))
            .await;
            let mut csv = String::from("k,v,n\n");
            let mut bad = BTreeSet::new();
            for k in 3..=120 {
                let row = format!("{k},v{k},{}\n", if k % 7 == 0 { -1 } else { k });
                if k % 7 == 0 {
                    bad.insert(row.clone());
                }
                csv.push_str(&row);
            }
            if upsert {
                csv.push_str("1,v1,1\n2,v2,2\n");
            }
            let dir = Dir::new();
            let f = dir.write("kv.csv", &csv);
            let rej = dir.path().join("kv.rej");
            let url = db.url();
            let mut args = vec![
                "load",
                f.to_str().unwrap(),
                "--into",
                &url,
                "--table",
                table,
                "--rejects",
                rej.to_str().unwrap(),
                // Pieces of 4 rows: a refused row has rows of its piece before it.
                "--chunk-rows",
                "64",
            ];
            if upsert {
                args.extend(["--on-conflict", "update"]);
            }
            let run = barge(&args);
            assert_eq!(run.code, 3, "{} {table}: {}", db.name(), run.all());
            assert_eq!(set_aside(&rej), bad, "{} {table}", db.name());
            // Keys 1 and 2 were there (updated by the upsert's last two rows); 3-120 loaded
            // but for the 17 refused.
            let loaded: Vec<i64> = (3..=120).filter(|k| k % 7 != 0).collect();
            let sum: i64 = loaded.iter().sum();
            let (fresh, n_of_old) = if upsert { (2, 3) } else { (0, 0) };
            assert_eq!(
                db.rows(&format!(
                    "SELECT count(*), sum(k), sum(n) FROM {table} WHERE v = concat('v', k)"
                ))
                .await,
                [format!(
                    "{}|{}|{}",
                    loaded.len() + fresh,
                    sum + n_of_old,
                    sum + n_of_old
                )],
                "{} {table}",
                db.name()
            );
            assert_eq!(
                db.rows(&format!("SELECT count(*) FROM {table}")).await,
                [(loaded.len() + 2).to_string()],
                "{} {table}",
                db.name()
            );
        }
    }
}

#[tokio::test]
async fn a_load_killed_at_random_moments_resumes_exactly_on_every_backend() {
    for db in TestTarget::each("kill_each").await {
        db.exec(KV).await;
        let rows = 60_000i64;
        let mut csv = String::with_capacity(rows as usize * 16);
        csv.push_str("k,v,n\n");
        for k in 1..=rows {
            csv.push_str(&format!("{k},value {k},{}\n", k % 1000));
        }
        let dir = Dir::new();
        let f = dir.write("kv.csv", &csv);
        let url = db.url();
        let args = [
            "load",
            f.to_str().unwrap(),
            "--into",
            &url,
            "--table",
            "kv",
            "--chunk-rows",
            "500",
            "--quiet",
        ];
        let killed = kill_after(&args, &[40, 120, 250, 400]).await;
        assert!(
            killed > 0,
            "{}: every run finished before its kill",
            db.name()
        );
        barge(&args).assert_ok();
        let sum_n: i64 = (1..=rows).map(|k| k % 1000).sum();
        assert_eq!(
            db.rows("SELECT count(*), sum(k), sum(n), count(DISTINCT k) FROM kv")
                .await,
            [format!("{rows}|{}|{sum_n}|{rows}", rows * (rows + 1) / 2)],
            "{} after {killed} kills",
            db.name()
        );
        // The load knows it is complete.
        let run = barge(&["load", f.to_str().unwrap(), "--into", &url, "--table", "kv"]);
        run.assert_ok();
        // When, with its time zone: an offset (PostgreSQL) or UTC.
        let at = run
            .stdout
            .split(" on ")
            .nth(1)
            .and_then(|rest| rest.split(" (").next())
            .unwrap_or_default();
        let offset = at
            .rfind(['+', '-'])
            .is_some_and(|i| i > 10 && at[i + 1..].chars().all(|c| c.is_ascii_digit() || c == ':'));
        assert!(
            run.stdout.contains("already loaded") && (at.ends_with(" UTC") || offset),
            "{}: {}",
            db.name(),
            run.stdout
        );
    }
}

/// Without `--rejects`, a row the database refuses stops the load, and the message says how
/// the load could go on without stopping: for a key that is already there, `--on-conflict` as
/// well as `--rejects`.
#[tokio::test]
async fn a_refused_row_says_how_to_load_the_rest_on_every_backend() {
    for db in TestTarget::each("refused_hint").await {
        db.exec(KV).await;
        db.exec("INSERT INTO kv (k, v, n) VALUES (2, 'there', 0)")
            .await;
        let dir = Dir::new();
        let cases = [
            (
                "dup.csv",
                "k,v,n\n1,a,1\n2,b,1\n3,c,1\n",
                "hint: a row's key is already in the table (or comes twice in the file): \
                 --on-conflict nothing keeps the row that is there, --on-conflict update \
                 overwrites it, and --rejects FILE sets such rows aside and loads the rest",
            ),
            (
                "check.csv",
                "k,v,n\n4,a,1\n5,b,-1\n",
                "hint: the database refused a row: fix it in the file and run the load again, \
                 or pass --rejects FILE to set such rows aside (with the database's reason) \
                 and load the rest",
            ),
        ];
        for (name, csv, hint) in cases {
            let f = dir.write(name, csv);
            let run = barge(&[
                "load",
                f.to_str().unwrap(),
                "--into",
                &db.url(),
                "--table",
                "kv",
            ]);
            assert_eq!(run.code, 1, "{} {name}:\n{}", db.name(), run.all());
            // The chunk is named once, with its records.
            let first = run.stderr.lines().next().unwrap_or_default();
            assert_eq!(
                first.matches("(chunk ").count(),
                1,
                "{}: {first}",
                db.name()
            );
            assert!(
                run.stderr.lines().any(|l| l == hint),
                "{} {name}: no {hint:?} in\n{}",
                db.name(),
                run.stderr
            );
        }
        // Nothing of either file went in: each was one chunk, refused whole.
        assert_eq!(
            db.rows("SELECT k, v FROM kv ORDER BY k").await,
            vec!["2|there".to_string()],
            "{}",
            db.name()
        );
    }
}

/// `run` succeeded saying its file was loaded before, and `table` still holds `rows` rows.
async fn assert_already_loaded(
    db: &TestTarget,
    run: &crate::support::Run,
    table: &str,
    rows: &str,
) {
    assert_eq!(run.code, 0, "{}:\n{}", db.name(), run.all());
    assert!(
        run.stdout.contains("was already loaded"),
        "{}: {}",
        db.name(),
        run.all()
    );
    assert_eq!(
        db.rows(&format!("SELECT count(*) FROM {table}"))
            .await
            .concat(),
        rows,
        "{}",
        db.name()
    );
}

/// A load that stopped partway (a bad value, a download cut short), then its file changed (the
/// value fixed, the download completed): the same command does not load the file as a new
/// load, which would put the committed rows in twice, but says so and how to go on; with
/// `--continue-changed` it loads exactly the rest, and the same command after that finds the
/// file loaded. A file whose earlier version loaded to its end is loaded as a new load, as
/// before.
#[tokio::test]
async fn a_file_changed_after_a_stopped_load_is_not_loaded_twice_on_every_backend() {
    for db in TestTarget::each("changed_file").await {
        db.exec("CREATE TABLE nk (k INTEGER, v TEXT NOT NULL)")
            .await;
        let dir = Dir::new();
        let rows = |bad: Option<u32>, n: u32| {
            let mut csv = String::from("k,v\n");
            for k in 1..=n {
                match bad {
                    Some(b) if b == k => csv.push_str("oops,x\n"),
                    _ => csv.push_str(&format!("{k},v{k}\n")),
                }
            }
            csv
        };
        let f = dir.write("nk.csv", rows(Some(60), 100));
        let url = db.url();
        let load = |extra: &[&str]| {
            let mut args = vec![
                "load",
                f.to_str().unwrap(),
                "--into",
                &url,
                "--table",
                "nk",
                "--chunk-rows",
                "10",
            ];
            args.extend_from_slice(extra);
            barge(&args)
        };
        let run = load(&[]);
        assert_eq!(run.code, 1, "{}:\n{}", db.name(), run.all());
        let committed = db.rows("SELECT count(*) FROM nk").await.concat();
        assert_ne!(committed, "0", "{}: {}", db.name(), run.all());
        assert!(
            run.stderr.contains(
                "hint: fix the value in the file (or the table's column type), then run the same \
                 command with --continue-changed to load the rest (it goes on from where this \
                 load stopped)"
            ),
            "{}: {}",
            db.name(),
            run.stderr
        );

        // The value fixed: the file is another version.
        std::fs::write(&f, rows(None, 100)).expect("fix the file");
        let run = load(&[]);
        assert_eq!(run.code, 2, "{}:\n{}", db.name(), run.all());
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!(
                "error: an earlier load of {} into ",
                f.to_str().unwrap()
            )) && first.contains(&format!(
                "stopped after {committed} rows (its last chunk committed "
            )) && first.ends_with(
                "and the file (or its --encoding) has changed since: loaded as a new load, \
                     those rows would go in a second time"
            ),
            "{}: {first}",
            db.name()
        );
        assert_eq!(
            db.rows("SELECT count(*) FROM nk").await.concat(),
            committed,
            "{}",
            db.name()
        );
        assert!(
            run.stderr.contains(
                "hint: if the file's rows up to where that load stopped are unchanged (a bad \
                 value fixed after them, a download completed), run the same command with \
                 --continue-changed to load the rest; to load the whole file anyway, pass --again"
            ),
            "{}: {}",
            db.name(),
            run.stderr
        );

        // Cut short before where the load stopped: its rows are not all there, refused.
        std::fs::write(&f, rows(None, 20)).expect("cut the file");
        let run = load(&["--continue-changed"]);
        assert_eq!(run.code, 2, "{}:\n{}", db.name(), run.all());
        assert!(
            run.stderr.contains("is not the file that load read up to where it stopped: the rows it committed up to line ")
                && run.stderr.contains("hint: to load this version whole, delete the "),
            "{}: {}",
            db.name(),
            run.stderr
        );
        assert_eq!(
            db.rows("SELECT count(*) FROM nk").await.concat(),
            committed,
            "{}",
            db.name()
        );

        // Saved again with other line endings, the rows before the stop are not what that
        // load read: refused too.
        std::fs::write(&f, rows(None, 100).replace('\n', "\r\n")).expect("rewrite the file");
        let run = load(&["--continue-changed"]);
        assert_eq!(run.code, 2, "{}:\n{}", db.name(), run.all());
        assert_eq!(
            db.rows("SELECT count(*) FROM nk").await.concat(),
            committed,
            "{}",
            db.name()
        );

        // Asked to, it goes on where the load stopped: every row once.
        std::fs::write(&f, rows(None, 100)).expect("fix the file");
        let run = load(&["--continue-changed"]);
        assert_eq!(run.code, 0, "{}:\n{}", db.name(), run.all());
        assert_eq!(
            db.rows("SELECT count(*), count(DISTINCT k), sum(k) FROM nk")
                .await,
            vec!["100|100|5050".to_string()],
            "{}",
            db.name()
        );
        // The same command again finds this version of the file loaded.
        assert_already_loaded(&db, &load(&[]), "nk", "100").await;

        // A later version of a file whose earlier load completed is a new load.
        std::fs::write(&f, rows(None, 120)).expect("a new version");
        let run = load(&[]);
        assert_eq!(run.code, 0, "{}:\n{}", db.name(), run.all());
        assert_eq!(
            db.rows("SELECT count(*) FROM nk").await.concat(),
            "220",
            "{}",
            db.name()
        );
    }
}

/// A file loaded to its end under a `--load-id` (as an earlier hint said to go on after a
/// fix) is loaded for the same command without it: that run loaded it a second time. One
/// `--load-id` for several files would make each file's checkpoints another's (the second
/// "already loaded", or read with the first one's byte ranges): refused. And a table a load
/// created is dropped again when the load fails before any row goes in, so that the run that
/// corrects it creates it from what it reads then.
#[tokio::test]
async fn a_named_load_marks_its_file_loaded_and_a_failed_create_leaves_no_table_on_every_backend() {
    for db in TestTarget::each("named_file").await {
        db.exec("CREATE TABLE nf (k INTEGER)").await;
        let dir = Dir::new();
        let f = dir.write("nf.csv", "k\n1\n2\n3\n");
        let g = dir.write("nf2.csv", "k\n4\n");
        let url = db.url();
        let run = load_file(&f, &url, "nf", &["--load-id", "fixed"]);
        assert_eq!(run.code, 0, "{}:\n{}", db.name(), run.all());
        assert_already_loaded(&db, &load_file(&f, &url, "nf", &[]), "nf", "3").await;

        let run = barge(&[
            "load",
            f.to_str().unwrap(),
            g.to_str().unwrap(),
            "--into",
            &url,
            "--table",
            "nf",
            "--load-id",
            "both",
        ]);
        assert_eq!(run.code, 2, "{}:\n{}", db.name(), run.all());
        assert!(
            run.stderr.starts_with(
                "error: --load-id names the load of one input, and these are 2 files, each its \
                 own load (named by its fingerprint): leave --load-id out; a file changed since \
                 its load stopped goes on with --continue-changed\n"
            ),
            "{}: {}",
            db.name(),
            run.stderr
        );
        assert_eq!(
            db.rows("SELECT count(*) FROM nf").await.concat(),
            "3",
            "{}",
            db.name()
        );

        // Created from two sampled rows, the third refused before any row went in.
        let h = dir.write("late_text.csv", "k\n1\n2\nx\n");
        let create =
            |sample: &str| load_file(&h, &url, "lt", &["--create", "--sample-rows", sample]);
        let run = create("2");
        assert_eq!(run.code, 1, "{}:\n{}", db.name(), run.all());
        for said in [
            "note: 0 rows were committed before the error\n",
            "was created by this load and is dropped again, as no row went in: the next run \
             creates it from what it reads then\n",
            "and a later value does not fit the type it chose: load again with a larger \
             --sample-rows (0 reads the whole file), or create the table yourself\n",
        ] {
            assert!(
                run.stderr.contains(said),
                "{}: {said}\n{}",
                db.name(),
                run.stderr
            );
        }
        let run = create("0");
        assert_eq!(run.code, 0, "{}:\n{}", db.name(), run.all());
        assert!(
            run.stdout.contains("into new table"),
            "{}: {}",
            db.name(),
            run.all()
        );
        assert_eq!(
            db.rows("SELECT count(*) FROM lt WHERE k = 'x'")
                .await
                .concat(),
            "1",
            "{}",
            db.name()
        );
    }
}

/// A load id named by the user, with characters that SQL's `LIKE` reads as patterns (`_`,
/// `%`) and its escape (`!`, what MySQL's lookup of an id's generations escapes with): each
/// generation `--again` starts is found again by the next run, and the next id is its own.
#[tokio::test]
async fn named_load_ids_find_their_generations_on_every_backend() {
    for db in TestTarget::each("named_ids").await {
        db.exec("CREATE TABLE ni (k INTEGER)").await;
        let dir = Dir::new();
        let f = dir.write("ni.csv", "k\n1\n2\n3\n");
        let url = db.url();
        let load = |id: &str, extra: &[&str]| {
            load_file(&f, &url, "ni", &[&["--load-id", id], extra].concat())
        };
        let count = || async { db.rows("SELECT count(*) FROM ni").await.concat() };
        for (id, extra, said, total) in [
            ("run_%!", &[][..], "loaded 3 rows", "3"),
            ("run_%!", &[], "already loaded", "3"),
            ("run_%!", &["--again"], "loaded 3 rows", "6"),
            ("run_%!", &[], "already loaded", "6"),
            ("run_%!", &["--again"], "loaded 3 rows", "9"),
            // `runA%!` is what the first id's pattern would match unescaped.
            ("runA%!", &[], "loaded 3 rows", "12"),
            ("run_%!", &[], "already loaded", "12"),
            ("runA%!", &[], "already loaded", "12"),
        ] {
            let run = load(id, extra);
            assert_eq!(run.code, 0, "{} {id} {extra:?}:\n{}", db.name(), run.all());
            assert!(
                run.all().to_lowercase().contains(said),
                "{} {id} {extra:?}: {}",
                db.name(),
                run.all()
            );
            assert_eq!(count().await, total, "{} {id} {extra:?}", db.name());
        }
    }
}

/// A load without `--rejects` that a row fails names the row by its file, record and line,
/// whether the database said which row it was (PostgreSQL's COPY) or not (a merge, SQLite's
/// multi-row INSERTs, MySQL's LOAD DATA), and what it says was committed is what the table
/// holds.
#[tokio::test]
async fn a_refused_row_is_named_by_its_line_on_every_backend() {
    for db in TestTarget::each("refused_named").await {
        db.exec(KV).await;
        let dir = Dir::new();
        // Row k is on line k + 1; chunk 2 is rows 101-200 (records 102-201).
        let rows = |bad: &dyn Fn(i64) -> Option<String>| {
            let mut csv = String::from("k,v,n\n");
            for k in 1..=300i64 {
                csv.push_str(&bad(k).unwrap_or(format!("{k},v{k},{k}\n")));
            }
            csv
        };
        let check = rows(&|k| (k == 150).then(|| format!("{k},v,-1\n")));
        let repeat = rows(&|k| (k == 160).then(|| "120,again,1\n".to_string()));
        let cases: [(&str, &str, &[&str], &str); 3] = [
            ("check.csv", &check, &[], "at record 151 (line 151): "),
            ("repeat.csv", &repeat, &[], "at record 161 (line 161): "),
            (
                "merge.csv",
                &check,
                &["--on-conflict", "update"],
                "at record 151 (line 151): ",
            ),
        ];
        for (name, csv, extra, at) in cases {
            db.exec("DELETE FROM kv").await;
            let f = dir.write(name, csv);
            let url = db.url();
            let mut args = vec![
                "load",
                f.to_str().unwrap(),
                "--into",
                &url,
                "--table",
                "kv",
                "--chunk-rows",
                "100",
            ];
            args.extend_from_slice(extra);
            let run = barge(&args);
            assert_eq!(run.code, 1, "{} {name}:\n{}", db.name(), run.all());
            let first = run.stderr.lines().next().unwrap_or_default();
            let chunk = format!("(chunk 2, records 102-201 of {}), {at}", f.display());
            assert!(
                first.contains(&chunk),
                "{} {name}: no {chunk:?} in {first}",
                db.name()
            );
            let committed: u64 = run
                .stderr
                .lines()
                .find_map(|l| l.strip_prefix("note: ")?.split(' ').next()?.parse().ok())
                .unwrap_or_else(|| panic!("{} {name}: no note in\n{}", db.name(), run.stderr));
            assert_eq!(
                db.rows("SELECT count(*) FROM kv").await,
                [committed.to_string()],
                "{} {name}",
                db.name()
            );
        }
    }
}

/// `--dry-run` tells what a load would do and changes nothing, on every backend: the rows
/// the database would refuse (a check, a key already there, a key the file repeats) are found
/// by the database itself, as well as the values barge refuses; with `--rejects` they are all
/// set aside, without it the first fails the run, named. An upsert's and a replace's dry runs
/// count what they would do. The table is as it was after each.
#[tokio::test]
async fn a_dry_run_finds_every_bad_row_and_changes_nothing_on_every_backend() {
    for db in TestTarget::each("dry_run").await {
        db.exec(KV).await;
        db.exec("INSERT INTO kv (k, v, n) VALUES (5, 'there', 0)")
            .await;
        let state = || db.rows("SELECT k, v, n FROM kv ORDER BY k");
        let before = state().await;
        let dir = Dir::new();
        let mut csv = String::from("k,v,n\n");
        let mut bad = BTreeSet::new();
        for k in 1..=40i64 {
            let row = match k {
                5 => "5,again,1\n".to_string(),
                12 => "12,v,-1\n".to_string(),
                20 => "x20,v,1\n".to_string(),
                31 => "30,twice,1\n".to_string(),
                _ => {
                    csv.push_str(&format!("{k},v{k},{k}\n"));
                    continue;
                }
            };
            csv.push_str(&row);
            bad.insert(row);
        }
        let f = dir.write("kv.csv", &csv);
        let rej = dir.path().join("kv.rej");
        let url = db.url();
        let f = f.to_str().unwrap();
        let base = ["load", f, "--into", &url, "--table", "kv", "--dry-run"];
        let with = |extra: &[&str]| {
            let mut args = base.to_vec();
            args.extend_from_slice(extra);
            barge(&args)
        };
        let run = with(&["--rejects", rej.to_str().unwrap(), "--chunk-rows", "10"]);
        assert_eq!(run.code, 3, "{}: {}", db.name(), run.all());
        assert!(
            run.stdout.starts_with("Dry run: 36 rows would load into ")
                && run
                    .stdout
                    .contains("; nothing was written\n4 rows would be rejected: they are in "),
            "{}: {}",
            db.name(),
            run.stdout
        );
        assert_eq!(set_aside(&rej), bad, "{}", db.name());
        assert_eq!(state().await, before, "{}", db.name());

        // Without --rejects the run stops at the first bad row it meets: the file is one
        // chunk, whose bad value is found before the chunk goes to the database.
        let run = with(&[]);
        assert_eq!(run.code, 1, "{}: {}", db.name(), run.all());
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.contains(": record 21 (line 21, byte 170), column \"k\": invalid value \"x20\""),
            "{}: {first}",
            db.name()
        );
        assert_eq!(state().await, before, "{}", db.name());

        let good = dir.write("good.csv", "k,v,n\n5,new,1\n6,six,6\n");
        let good = good.to_str().unwrap();
        let mut args = base.to_vec();
        args[1] = good;
        args.extend_from_slice(&["--on-conflict", "update"]);
        let run = barge(&args);
        assert_eq!(run.code, 0, "{}: {}", db.name(), run.all());
        assert!(
            run.stdout
                .contains("Upsert on (k): 1 would be inserted, 1 updated"),
            "{}: {}",
            db.name(),
            run.stdout
        );
        assert_eq!(state().await, before, "{}", db.name());
        let mut args = base.to_vec();
        args[1] = good;
        args.push("--replace");
        let run = barge(&args);
        assert_eq!(run.code, 0, "{}: {}", db.name(), run.all());
        assert!(
            run.stdout.starts_with("Dry run: 2 rows would load into ")
                && run.stdout.contains(" (replacing its rows) at "),
            "{}: {}",
            db.name(),
            run.stdout
        );
        assert_eq!(state().await, before, "{}", db.name());
        // The real load then does what the dry run said.
        let mut args = base.to_vec();
        args[1] = good;
        args[6] = "--replace";
        barge(&args).assert_ok();
        assert_eq!(state().await, ["5|new|1", "6|six|6"], "{}", db.name());
    }
}

/// An export of a table holds its generated columns, which a load cannot give values: the
/// error says they are generated (not that the table lacks them, as it said), and
/// `--ignore-unknown` loads the rest, the database computing them.
#[tokio::test]
async fn an_export_with_generated_columns_is_told_so_on_every_backend() {
    for db in TestTarget::each("generated_cols").await {
        db.exec(
            "CREATE TABLE g (k INTEGER PRIMARY KEY, n INTEGER, \
                             twice INTEGER GENERATED ALWAYS AS (n * 2) STORED)",
        )
        .await;
        let dir = Dir::new();
        let f = dir.write("g.csv", "k,n,twice,extra\n1,5,10,x\n2,7,14,y\n");
        let url = db.url();
        let args = ["load", f.to_str().unwrap(), "--into", &url, "--table", "g"];
        let run = barge(&args);
        assert_eq!(run.code, 2, "{}: {}", db.name(), run.all());
        // The table's name (MySQL's database is numbered) out of the way.
        let stderr = run.stderr.replace(
            &run.stderr[6..run.stderr.find(" computes").unwrap_or(6)],
            " T",
        );
        assert_eq!(
            stderr,
            "error: T computes column \"twice\" itself (generated): a load cannot give it \
             values; T has no column \"extra\"; its columns are: \"k\", \"n\"\nhint: pass \
             --ignore-unknown to leave out the columns the database computes (and any the \
             table lacks), or remove them from the file\n",
            "{}",
            db.name()
        );
        let mut ignoring = args.to_vec();
        ignoring.push("--ignore-unknown");
        barge(&ignoring).assert_ok();
        assert_eq!(
            db.rows("SELECT k, n, twice FROM g ORDER BY k").await,
            ["1|5|10", "2|7|14"],
            "{}",
            db.name()
        );
    }
}

/// An input without a column that every row must give (NOT NULL, no default, nothing to fill
/// it in) fails before any row is read, naming the column, instead of having every row
/// refused; a column with a default, or the rowid SQLite gives an INTEGER PRIMARY KEY, may be
/// left out.
#[tokio::test]
async fn an_input_without_a_required_column_fails_before_loading_on_every_backend() {
    for db in TestTarget::each("required_columns").await {
        db.exec(
            "CREATE TABLE req (k INTEGER PRIMARY KEY, v TEXT NOT NULL, \
             d INTEGER NOT NULL DEFAULT 7, n INTEGER)",
        )
        .await;
        let dir = Dir::new();
        let load = |name: &str, csv: &str| load_file(&dir.write(name, csv), &db.url(), "req", &[]);
        let run = load("no_v.csv", "k,n\n1,1\n2,2\n");
        assert_eq!(run.code, 2, "{}: {}", db.name(), run.all());
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: column \"v\" of table ")
                && first.ends_with(
                    "\"req\" is NOT NULL without a default, and the input does not give it: \
                     every row would be refused"
                ),
            "{}: {}",
            db.name(),
            run.stderr
        );
        assert!(
            run.stderr.contains(
                "hint: give the input those columns (or name the input's columns with \
                 --columns), or give them a default in the table"
            ),
            "{}: {}",
            db.name(),
            run.stderr
        );
        // The default fills d.
        load("kvn.csv", "k,v,n\n1,a,1\n2,b,2\n").assert_ok();
        // Without k: SQLite numbers the rows itself; elsewhere k is required.
        let run = load("vn.csv", "v,n\nc,3\n");
        match db.name() {
            "sqlite" => {
                run.assert_ok();
            }
            _ => {
                assert_eq!(run.code, 2, "{}: {}", db.name(), run.all());
                assert!(
                    run.stderr.starts_with("error: column \"k\" of table "),
                    "{}: {}",
                    db.name(),
                    run.stderr
                );
            }
        }
        let want: &[&str] = match db.name() {
            "sqlite" => &["1|a|7|1", "2|b|7|2", "3|c|7|3"],
            _ => &["1|a|7|1", "2|b|7|2"],
        };
        assert_eq!(
            db.rows("SELECT k, v, d, n FROM req ORDER BY k").await,
            want,
            "{}",
            db.name()
        );
    }
}

/// The file's `rows` kv rows (`k`, "value k", `k % 1000`), with `bad` (a key that is not a
/// number) at row `bad_at` when given.
fn kv_csv(rows: i64, bad_at: Option<i64>) -> String {
    kv_rows(1, rows, bad_at)
}

/// `--replace` swaps the table's rows for the file's in one transaction on every backend: the
/// new rows replace the old; a bad row, a kill or an empty file in the middle of it leave the
/// rows before it as they were (or, for an empty file, replace them by none).
#[tokio::test]
async fn replace_swaps_the_rows_in_one_transaction_on_every_backend() {
    let dir = Dir::new();
    let new = dir.write("new.csv", kv_csv(3_000, None));
    let bad = dir.write("bad.csv", kv_csv(3_000, Some(2_500)));
    let big = dir.write("big.csv", kv_csv(500_000, None));
    let empty = dir.write("empty.csv", "k,v,n\n");
    for db in TestTarget::each("replace").await {
        db.exec(KV).await;
        db.exec("INSERT INTO kv (k, v, n) VALUES (1, 'old', 1), (5000, 'old', 2)")
            .await;
        let url = db.url();
        let load = |file: &std::path::Path| {
            barge(&[
                "load",
                file.to_str().unwrap(),
                "--into",
                &url,
                "--table",
                "kv",
                "--replace",
                "--chunk-rows",
                "500",
            ])
        };
        let state =
            || db.rows("SELECT count(*), sum(k), count(*) - count(NULLIF(v, 'old')) FROM kv");

        let run = load(&new);
        run.assert_ok();
        assert!(
            run.stdout
                .contains("\"kv\" (its earlier rows replaced) at "),
            "{}: {}",
            db.name(),
            run.stdout
        );
        let replaced = vec![format!("3000|{}|0", 3000 * 3001 / 2)];
        assert_eq!(state().await, replaced, "{}", db.name());

        // A bad row 2,500 rows in: nothing of the new file, the old rows kept.
        let run = load(&bad);
        assert_eq!(run.code, 1, "{}: {}", db.name(), run.all());
        assert!(
            run.stderr.ends_with(
                "note: the table keeps its earlier rows: --replace commits the new ones only all together\n"
            ),
            "{}: {}",
            db.name(),
            run.stderr
        );
        assert_eq!(state().await, replaced, "{}", db.name());

        // Killed in the middle: the same. Every count read meanwhile is the old or the new.
        let mut child = spawn_barge_silent(&[
            "load",
            big.to_str().unwrap(),
            "--into",
            &url,
            "--table",
            "kv",
            "--replace",
            "--chunk-rows",
            "2000",
        ]);
        let mut seen = BTreeSet::new();
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(15)).await;
            seen.insert(db.rows("SELECT count(*) FROM kv").await.join(""));
        }
        let running = child.try_wait().expect("poll barge").is_none();
        child.kill().expect("kill -9 barge");
        child.wait().expect("reap barge");
        assert!(running, "{}: the load ended before its kill", db.name());
        assert_eq!(
            seen,
            BTreeSet::from(["3000".to_string()]),
            "{}: a reader saw other than the old rows",
            db.name()
        );
        assert_eq!(state().await, replaced, "{}", db.name());

        // A file without rows replaces them by none.
        load(&empty).assert_ok();
        assert_eq!(state().await, ["0|∅|0"], "{}", db.name());
    }
}

/// kv rows `from..=to` as CSV (`bad_at`: a key that is not a number there).
fn kv_rows(from: i64, to: i64, bad_at: Option<i64>) -> String {
    let mut csv = String::from("k,v,n\n");
    for k in from..=to {
        if Some(k) == bad_at {
            csv.push_str("x,bad,1\n");
        } else {
            csv.push_str(&format!("{k},value {k},{}\n", k % 1000));
        }
    }
    csv
}

/// `--replace` of several files (a nightly refresh from a directory of parts, here plain,
/// gzip, NDJSON and CSV with columns in other orders) is one transaction on every backend: the
/// files' rows replace the table's together; a bad row in a later file, a file with other
/// columns, or a key that a later file repeats leaves the old rows, and the message names the
/// file and the line in it.
#[tokio::test]
async fn replace_of_several_files_is_one_transaction_on_every_backend() {
    let dir = Dir::new();
    let p1 = dir.write("part-1.csv", kv_rows(1, 1_500, None));
    let p2 = dir.write(
        "part-2.csv.gz",
        gzip(kv_rows(1_501, 3_000, None).as_bytes()),
    );
    let ndjson: String = (3_001..=3_500)
        .map(|k| format!("{{\"n\":{},\"v\":\"value {k}\",\"k\":{k}}}\n", k % 1000))
        .collect();
    let p3 = dir.write("part-3.ndjson", ndjson);
    // The same columns in another order: read in the first file's.
    let reordered: String = std::iter::once("v,n,k\n".to_string())
        .chain((3_501..=3_600).map(|k| format!("value {k},{},{k}\n", k % 1000)))
        .collect();
    let p4 = dir.write("part-4.csv", reordered);
    let bad = dir.write(
        "bad-2.csv.gz",
        gzip(kv_rows(1_501, 3_000, Some(2_800)).as_bytes()),
    );
    let other = dir.write("other.csv", "k,x,v\n4000,1,x\n");
    let dup = dir.write("dup.csv", "k,v,n\n9000,a,1\n1,again,1\n");
    let paths = |files: &[&std::path::PathBuf]| -> Vec<String> {
        files
            .iter()
            .map(|p| p.to_str().unwrap().to_string())
            .collect()
    };
    for db in TestTarget::each("replace_files").await {
        db.exec(KV).await;
        db.exec("INSERT INTO kv (k, v, n) VALUES (1, 'old', 1), (5000, 'old', 2)")
            .await;
        let url = db.url();
        let load = |files: Vec<String>, extra: &[&str]| {
            let mut args: Vec<&str> = vec!["load"];
            args.extend(files.iter().map(String::as_str));
            args.extend(["--into", &url, "--table", "kv", "--chunk-rows", "400"]);
            args.extend(extra);
            barge(&args)
        };
        let state =
            || db.rows("SELECT count(*), sum(k), count(*) - count(NULLIF(v, 'old')) FROM kv");
        let old = state().await;

        let run = load(paths(&[&p1, &p2, &p3, &p4]), &["--replace"]);
        run.assert_ok();
        assert!(
            run.stdout.contains("Loaded 3,600 rows from 4 files into ")
                && run.stdout.contains("(its earlier rows replaced)"),
            "{}: {}",
            db.name(),
            run.stdout
        );
        let replaced = vec![format!("3600|{}|0", 3600 * 3601 / 2)];
        assert_eq!(state().await, replaced, "{}", db.name());
        assert_eq!(
            db.rows("SELECT v, n FROM kv WHERE k IN (3210, 3555) ORDER BY k")
                .await,
            ["value 3210|210", "value 3555|555"],
            "{}",
            db.name()
        );

        // Put the old rows back, then fail in each way: they stay.
        db.exec("DELETE FROM kv").await;
        db.exec("INSERT INTO kv (k, v, n) VALUES (1, 'old', 1), (5000, 'old', 2)")
            .await;
        let run = load(paths(&[&p1, &bad, &p3]), &["--replace"]);
        assert_eq!(run.code, 1, "{}: {}", db.name(), run.all());
        assert!(
            run.stderr.starts_with(&format!(
                "error: {}: record 1301 (line 1301, byte ",
                bad.display()
            )) && run.stderr.contains("column \"k\": invalid value \"x\""),
            "{}: {}",
            db.name(),
            run.stderr
        );
        assert_eq!(state().await, old, "{}", db.name());

        let run = load(paths(&[&p1, &p2, &other]), &["--replace"]);
        assert_eq!(run.code, 2, "{}: {}", db.name(), run.all());
        assert!(
            run.stderr.starts_with(&format!(
                "error: {} has other columns (k, x, v) than {} (k, v, n): the files of one \
                 transaction must have the same columns (in any order)",
                other.display(),
                p1.display()
            )),
            "{}: {}",
            db.name(),
            run.stderr
        );
        assert_eq!(state().await, old, "{}", db.name());

        let run = load(paths(&[&p1, &dup]), &["--replace"]);
        assert_eq!(run.code, 1, "{}: {}", db.name(), run.all());
        assert!(
            run.stderr.contains(&format!("of {})", dup.display())),
            "{}: {}",
            db.name(),
            run.stderr
        );
        assert_eq!(state().await, old, "{}", db.name());

        // --atomic of several files into an empty table: on PostgreSQL its indexes are
        // built at the end; the key the second file repeats fails that build, and the files
        // are loaded again with the key in place to name the row.
        db.exec("DELETE FROM kv").await;
        let run = load(paths(&[&p1, &dup]), &["--atomic"]);
        assert_eq!(run.code, 1, "{}: {}", db.name(), run.all());
        assert!(
            run.stderr.contains(&format!("of {})", dup.display())),
            "{}: {}",
            db.name(),
            run.stderr
        );
        assert_eq!(state().await, ["0|∅|0"], "{}", db.name());
        load(paths(&[&p1, &p2]), &["--atomic"]).assert_ok();
        assert_eq!(
            state().await,
            [format!("3000|{}|0", 3000 * 3001 / 2)],
            "{}",
            db.name()
        );
    }
}

/// A file that spells a missing value `NULL` in some fields and leaves others empty (joined
/// from two exports, or a writer that does both) could not be loaded: `--null NULL` made the
/// empty fields empty strings, refused by an integer column, and COPY takes one NULL text.
/// `--null` given once for each text reads both as NULL; the hint of the first failure says
/// so, and the rerun goes on from where the load stopped. A quoted `""` stays an empty string.
#[tokio::test]
async fn null_given_twice_reads_both_texts_as_null_on_every_backend() {
    let mut csv = String::from("id,n,s\n");
    let (mut nulls_n, mut sum_n, mut nulls_s, mut empty_s) = (0, 0, 0, 0);
    for i in 1..=300i64 {
        // `NULL` only after the first chunks, which commit before the first failure.
        let n = if i >= 120 && i % 7 == 0 {
            nulls_n += 1;
            "NULL".to_string()
        } else if i % 5 == 0 {
            nulls_n += 1;
            String::new()
        } else {
            sum_n += i;
            i.to_string()
        };
        let s = match i {
            _ if i % 11 == 0 => {
                empty_s += 1;
                "\"\"".to_string()
            }
            _ if i >= 150 && i % 3 == 0 => {
                nulls_s += 1;
                "NULL".to_string()
            }
            _ if i % 4 == 0 => {
                nulls_s += 1;
                String::new()
            }
            _ => format!("s{i}"),
        };
        csv.push_str(&format!("{i},{n},{s}\n"));
    }
    let dir = Dir::new();
    let f = dir.write("spelled.csv", &csv);
    for db in TestTarget::each("two_null_texts").await {
        db.exec("CREATE TABLE t (id INTEGER, n INTEGER, s TEXT)")
            .await;
        let load = |extra: &[&str]| {
            load_file(
                &f,
                &db.url(),
                "t",
                &[&["--chunk-rows", "50"], extra].concat(),
            )
        };
        let first = load(&[]);
        assert_eq!(first.code, 1, "{}: {}", db.name(), first.all());
        assert!(
            first.stderr.contains("invalid value \"NULL\"")
                && first
                    .stderr
                    .contains("run the same command with --null 'NULL' --null ''"),
            "{}: {}",
            db.name(),
            first.all()
        );
        let committed = db.rows("SELECT count(*) FROM t").await;
        assert_ne!(committed, ["0"], "{}: {}", db.name(), first.all());
        let again = load(&["--null", "NULL", "--null", ""]);
        again.assert_ok();
        assert!(
            again.all().contains("Resumed: skipped"),
            "{}: {}",
            db.name(),
            again.all()
        );
        assert_eq!(
            db.rows(
                "SELECT count(*), count(DISTINCT id), count(n), sum(n), count(s), \
                 sum(CASE WHEN s = '' THEN 1 ELSE 0 END) FROM t"
            )
            .await,
            [format!(
                "300|300|{}|{sum_n}|{}|{empty_s}",
                300 - nulls_n,
                300 - nulls_s
            )],
            "{}",
            db.name()
        );
    }
}
