//! A throwaway PostgreSQL server for the whole test binary, and a fresh database per test.
//!
//! The server is started from the installed binaries (initdb + postgres) in a directory under
//! `target/tmp`, on a free port of 127.0.0.1, as the `postgres` system user when the tests run
//! as root (initdb refuses root). It dies with the test process (PR_SET_PDEATHSIG); stale
//! directories of earlier runs are removed at start.

use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

/// The running server.
pub struct PgServer {
    pub port: u16,
}

static SERVER: OnceLock<PgServer> = OnceLock::new();

/// The suite's server, started on first use.
pub fn server() -> &'static PgServer {
    SERVER.get_or_init(start)
}

fn find_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.join("initdb").exists() && p.join("postgres").exists());
    versions.sort();
    if let Some(dir) = versions.pop() {
        return dir;
    }
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").exists() && dir.join("postgres").exists() {
                return dir;
            }
        }
    }
    panic!(
        "the tests need PostgreSQL's server binaries (initdb, postgres) and found none in \
         /usr/lib/postgresql/*/bin or on PATH: install them (Debian: apt-get install postgresql) \
         or set PG_BIN to their directory"
    );
}

/// uid and gid to run the server as: ourselves, or `postgres` when we are root.
fn server_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").arg(flag).arg("postgres").output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    match (id("-u"), id("-g")) {
        (Some(u), Some(g)) => Some((u, g)),
        _ => panic!(
            "the tests run as root, and initdb refuses root: create a 'postgres' system user \
             (Debian's postgresql package does) or run the tests as another user"
        ),
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
    l.local_addr().expect("local address").port()
}

fn remove_stale(root: &Path) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix("pg-")
            .and_then(|p| p.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        if !alive {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn start() -> PgServer {
    let bin = find_bin_dir();
    let user = server_user();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    remove_stale(&root);
    let dir = root.join(format!("pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the server directory");
    initdb(&bin, &dir, user);
    let data = dir.join("data");
    let port = free_port();
    let log = std::fs::File::create(dir.join("server.log")).expect("create the server log");
    if let Some((uid, gid)) = user {
        chown(dir.join("server.log"), Some(uid), Some(gid)).expect("chown the log");
    }
    let bin_postgres = bin.join("postgres");
    let data2 = data.clone();
    // Started from a thread that never ends, so that PR_SET_PDEATHSIG (which fires when the
    // spawning *thread* exits) fires only when the test process exits.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut cmd = Command::new(bin_postgres);
        cmd.arg("-D")
            .arg(&data2)
            .args(["-p", &port.to_string()])
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
            ])
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ])
            .args(["-c", "max_connections=100", "-c", "TimeZone=UTC"])
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        if let Some((uid, gid)) = user {
            cmd.uid(uid).gid(gid);
        }
        // SAFETY: prctl is async-signal-safe; nothing else runs in the child before exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
                Ok(())
            });
        }
        let child = cmd.spawn();
        let failed = child.is_err();
        tx.send(child.map(|_| ())).expect("report the server start");
        if !failed {
            loop {
                std::thread::park();
            }
        }
    });
    rx.recv()
        .expect("server thread")
        .expect("spawn the postgres server");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let ok = Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
                .stdout(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(true);
            if ok {
                break;
            }
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            panic!("the test server did not start within 60 s; its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    PgServer { port }
}

impl PgServer {
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

/// A server of one test's own, for tests that stop, restart or starve it. Started and stopped
/// with pg_ctl; stopped (immediately) and removed when dropped.
pub struct PrivateServer {
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
    user: Option<(u32, u32)>,
    settings: Vec<String>,
}

impl PrivateServer {
    /// initdb + start, with extra `-c name=value` settings.
    pub fn start(settings: &[&str]) -> PrivateServer {
        Self::start_with(settings, |_| {})
    }

    /// initdb, then `prepare` with the data directory (to add files such as certificates or a
    /// pg_hba.conf, which are then given to the server's user), then start.
    pub fn start_with(settings: &[&str], prepare: impl FnOnce(&Path)) -> PrivateServer {
        let bin = find_bin_dir();
        let user = server_user();
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = root.join(format!(
            "pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst) + 1
        ));
        let _ = std::fs::remove_dir_all(&dir);
        initdb(&bin, &dir, user);
        let data = dir.join("data");
        prepare(&data);
        if let Some((uid, gid)) = user {
            for entry in std::fs::read_dir(&data).expect("list the data directory") {
                let path = entry.expect("a directory entry").path();
                chown(&path, Some(uid), Some(gid)).expect("chown a prepared file");
            }
        }
        let srv = PrivateServer {
            port: free_port(),
            bin,
            dir,
            user,
            settings: settings.iter().map(|s| s.to_string()).collect(),
        };
        srv.pg_ctl_start();
        srv
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(self.bin.join("pg_ctl"));
        // The server's own libpq connections (Citus to its workers) look for client
        // certificates under $HOME: its own directory, not the test user's.
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .args(args)
            .env("HOME", &self.dir);
        if let Some((uid, gid)) = self.user {
            cmd.uid(uid).gid(gid);
        }
        cmd.output().expect("run pg_ctl")
    }

    pub fn pg_ctl_start(&self) {
        let mut opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c TimeZone=UTC",
            self.port
        );
        for s in &self.settings {
            opts.push_str(" -c ");
            opts.push_str(s);
        }
        let log = self.dir.join("server.log");
        let out = self.pg_ctl(&[
            "-w",
            "-t",
            "60",
            "-l",
            log.to_str().unwrap(),
            "-o",
            &opts,
            "start",
        ]);
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server (`fast`: disconnects clients, rolls back their transactions).
    pub fn stop(&self, mode: &str) {
        let out = self.pg_ctl(&["-w", "-m", mode, "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn initdb(bin: &Path, dir: &Path, user: Option<(u32, u32)>) {
    std::fs::create_dir_all(dir.join("data")).expect("create the data directory");
    if let Some((uid, gid)) = user {
        chown(dir, Some(uid), Some(gid)).expect("chown the server directory");
        chown(dir.join("data"), Some(uid), Some(gid)).expect("chown the data directory");
    }
    let mut cmd = Command::new(bin.join("initdb"));
    cmd.arg("-D")
        .arg(dir.join("data"))
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ])
        .stdout(Stdio::null());
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    let out = cmd.output().expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database for one test.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub client: Client,
}

pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Creates a database named after the test, on the suite's server.
pub async fn fresh_db(test: &str) -> TestDb {
    let srv = server();
    fresh_db_at(&|db| srv.url(db), test).await
}

/// Creates a database named after the test on the server whose URLs `url` makes.
pub async fn fresh_db_at(url: &dyn Fn(&str) -> String, test: &str) -> TestDb {
    let name = format!("t{}_{}", NEXT_DB.fetch_add(1, Ordering::SeqCst), test);
    let admin = connect(&url("postgres")).await;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create the test database");
    let url = url(&name);
    let client = connect(&url).await;
    TestDb { name, url, client }
}

impl TestDb {
    pub async fn exec(&self, sql: &str) {
        self.client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    /// Row count and a checksum of every column's text form.
    pub async fn checksum(&self, table: &str) -> (i64, String) {
        let row = self
            .client
            .query_one(
                &format!(
                    "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)::text FROM {table} t"
                ),
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("checksum of {table}: {e:?}"));
        (row.get(0), row.get(1))
    }

    /// Loads `data` into `table` with the server's own `COPY ... FROM STDIN` (what psql's
    /// \copy does), the oracle for what barge must store.
    pub async fn server_copy(&self, table: &str, options: &str, data: &[u8]) {
        use futures_util::SinkExt;
        let sql = format!("COPY {table} FROM STDIN ({options})");
        let sink = self
            .client
            .copy_in(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        futures_util::pin_mut!(sink);
        sink.send(bytes::Bytes::copy_from_slice(data))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        sink.finish()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    /// All rows of a query as text, for exact comparisons in failure messages.
    pub async fn rows_text(&self, sql: &str) -> Vec<String> {
        self.client
            .query(&format!("SELECT t::text FROM ({sql}) t"), &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect()
    }
}

/// Loads `csv` (with a header) into `table` at `url` with the server's own COPY: the oracle.
pub async fn server_copy_csv(url: &str, table: &str, csv: &[u8]) {
    use futures_util::SinkExt;
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    let sink = client
        .copy_in(&format!(
            "COPY {table} FROM STDIN (FORMAT csv, HEADER true)"
        ))
        .await
        .expect("COPY");
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::copy_from_slice(csv))
        .await
        .expect("send");
    sink.finish().await.expect("finish COPY");
}

/// The first column of the one row of `sql` at `url`, as text (run any other statement with
/// an empty result).
pub async fn query_text(url: &str, sql: &str) -> String {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    if !sql.trim_start().to_uppercase().starts_with("SELECT") {
        client.batch_execute(sql).await.expect(sql);
        return String::new();
    }
    let row = client.query_one(sql, &[]).await.expect(sql);
    row.get::<_, Option<String>>(0).unwrap_or_default()
}

/// Rows and an md5 of the whole table in `id` order.
pub async fn table_md5(url: &str, table: &str) -> String {
    query_text(
        url,
        &format!(
            "SELECT count(*) || ' ' || md5(string_agg(t::text, E'\\n' ORDER BY id)) FROM {table} t"
        ),
    )
    .await
}
