//! A throwaway MariaDB (or MySQL) server for the whole test binary, and a fresh database per
//! test: `mariadb-install-db` into a directory under `target/tmp`, then `mariadbd` on a free
//! port of 127.0.0.1 with LOCAL INFILE on. It dies with the test process (PR_SET_PDEATHSIG);
//! stale directories of earlier runs are removed at start.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

/// The running server.
pub struct MyServer {
    pub port: u16,
}

static SERVER: OnceLock<MyServer> = OnceLock::new();

/// The suite's server, started on first use.
pub fn server() -> &'static MyServer {
    SERVER.get_or_init(start)
}

/// The first of `names` found in the usual directories or on PATH.
fn find(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = vec!["/usr/sbin".into(), "/usr/bin".into()];
    if let Ok(path) = std::env::var("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    for name in names {
        for d in &dirs {
            let p = d.join(name);
            if p.exists() {
                return Some(p);
            }
        }
    }
    None
}

fn binaries() -> (PathBuf, PathBuf) {
    match (
        find(&["mariadb-install-db", "mysql_install_db"]),
        find(&["mariadbd", "mysqld"]),
    ) {
        (Some(install), Some(server)) => (install, server),
        _ => panic!(
            "the MySQL tests need MariaDB's server binaries (mariadb-install-db, mariadbd) and \
             found none in /usr/sbin, /usr/bin or on PATH: install them (Debian: apt-get install \
             mariadb-server)"
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
            .strip_prefix("my-")
            .and_then(|p| p.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        if unsafe { libc::kill(pid, 0) } != 0 {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn start() -> MyServer {
    let srv = MyInstance::start(&[]);
    let port = srv.port;
    // The suite's server lives as long as the test process.
    std::mem::forget(srv);
    MyServer { port }
}

/// A server of its own, for tests that stop, restart or reconfigure it; stopped and removed
/// when dropped.
pub struct MyInstance {
    pub port: u16,
    dir: PathBuf,
    args: Vec<String>,
    server: PathBuf,
    pid: Option<u32>,
}

impl MyInstance {
    /// `mariadb-install-db`, then the server, with `extra` options (`--local-infile=0`...).
    pub fn start(extra: &[&str]) -> MyInstance {
        let (install, mariadbd) = binaries();
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        remove_stale(&root);
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = root.join(format!(
            "my-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the server directory");
        let data = dir.join("data");
        // A temporary directory of its own: a starting server clears `#sql*` files from its
        // tmpdir, which would pull them from under another test's server.
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).expect("create the server's tmpdir");
        // As root, the server runs as root (`--user=root`): its files are the test's own.
        let out = Command::new(&install)
            .env("TMPDIR", &tmp)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .output()
            .expect("run mariadb-install-db");
        assert!(
            out.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut args: Vec<String> = vec![
            "--no-defaults".into(),
            format!("--datadir={}", data.display()),
            "--user=root".into(),
            format!("--port={port}"),
            "--bind-address=127.0.0.1".into(),
            format!("--socket={}", dir.join("sock").display()),
            format!("--pid-file={}", dir.join("pid").display()),
            format!("--log-error={}", dir.join("server.log").display()),
            "--skip-name-resolve".into(),
            "--local-infile=1".into(),
            "--innodb-buffer-pool-size=128M".into(),
            "--innodb-flush-log-at-trx-commit=2".into(),
            "--character-set-server=utf8mb4".into(),
            "--collation-server=utf8mb4_general_ci".into(),
            "--max-connections=200".into(),
            format!("--tmpdir={}", tmp.display()),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut srv = MyInstance {
            port,
            dir,
            args,
            server: mariadbd,
            pid: None,
        };
        srv.run();
        srv
    }

    /// The socket the server listens on.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("sock")
    }

    pub fn url(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.port)
    }

    /// Starts the server (again) and waits until it takes connections.
    pub fn run(&mut self) {
        let (tx, rx) = std::sync::mpsc::channel();
        let (server, args) = (self.server.clone(), self.args.clone());
        // Started from a thread that never ends, so that PR_SET_PDEATHSIG (which fires when
        // the spawning *thread* exits) fires only when the test process exits.
        std::thread::spawn(move || {
            let mut cmd = Command::new(server);
            cmd.args(&args).stdout(Stdio::null()).stderr(Stdio::null());
            if let Some(tmp) = args.iter().find_map(|a| a.strip_prefix("--tmpdir=")) {
                cmd.env("TMPDIR", tmp);
            }
            // SAFETY: prctl is async-signal-safe; nothing else runs in the child before exec.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            match cmd.spawn() {
                Ok(child) => {
                    tx.send(Ok(child.id())).expect("report the server start");
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => tx.send(Err(e)).expect("report the server start"),
            }
        });
        let pid = rx.recv().expect("server thread").expect("spawn mariadbd");
        self.pid = Some(pid);
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                panic!("the MariaDB test server did not start within 60 s; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the server at once (SIGKILL: a crash) and waits until its port is free.
    pub fn kill(&mut self) {
        if let Some(pid) = self.pid.take() {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            // The pid file of a killed server would stop the next start.
            let _ = std::fs::remove_file(self.dir.join("pid"));
        }
    }
}

impl Drop for MyInstance {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl MyServer {
    pub fn url(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.port)
    }
}

static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database for one test.
pub struct MyDb {
    pub url: String,
}

pub async fn connect(url: &str) -> mysql_async::Conn {
    let opts = mysql_async::Opts::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    mysql_async::Conn::new(opts)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

/// Creates a database named after the test.
pub async fn fresh_db(test: &str) -> MyDb {
    let srv = server();
    let name = format!("t{}_{test}", NEXT_DB.fetch_add(1, Ordering::SeqCst));
    let mut admin = connect(&srv.url("")).await;
    admin
        .query_drop(format!("CREATE DATABASE `{name}`"))
        .await
        .expect("create the test database");
    let _ = admin.disconnect().await;
    MyDb {
        url: srv.url(&name),
    }
}

impl MyDb {
    pub async fn conn(&self) -> mysql_async::Conn {
        connect(&self.url).await
    }

    /// Makes user `name` (without a password, from any host) with `privileges` on this
    /// database, and returns the URL that connects as it.
    pub async fn user(&self, name: &str, privileges: &str) -> String {
        let db = self.url.rsplit('/').next().unwrap_or_default();
        self.exec(&format!(
            "CREATE USER IF NOT EXISTS '{name}'@'%'; CREATE USER IF NOT EXISTS '{name}'@'localhost'; \
             GRANT {privileges} ON `{db}`.* TO '{name}'@'%'; \
             GRANT {privileges} ON `{db}`.* TO '{name}'@'localhost'"
        ))
        .await;
        self.url.replacen("root@", &format!("{name}@"), 1)
    }

    pub async fn exec(&self, sql: &str) {
        let mut c = self.conn().await;
        c.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = c.disconnect().await;
    }
}
