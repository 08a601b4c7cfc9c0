//! A throwaway Citus cluster: a coordinator and two workers, each a [`PrivateServer`] with
//! Citus preloaded, on free ports of 127.0.0.1, the workers registered with the coordinator.
//! Citus is built into the machine's PostgreSQL by `../shared/vendor/citus-build.sh` (which
//! `.ci/run` runs); without it the test fails saying so.

use tokio_postgres::NoTls;

use super::pg::PrivateServer;

pub struct Citus {
    pub coordinator: PrivateServer,
    pub workers: Vec<PrivateServer>,
}

/// Whether Citus is installed into the server the tests start.
fn installed() -> bool {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ls /usr/share/postgresql/*/extension/citus.control")
        .output();
    out.is_ok_and(|o| o.status.success())
}

const SETTINGS: &[&str] = &[
    "shared_preload_libraries=citus",
    "max_prepared_transactions=100",
    "max_connections=200",
];

impl Citus {
    pub async fn start() -> Citus {
        assert!(
            installed(),
            "the Citus tests need Citus built into PostgreSQL: run ../shared/vendor/citus-build.sh \
             (as root; .ci/run does)"
        );
        let coordinator = PrivateServer::start(SETTINGS);
        let workers: Vec<PrivateServer> = (0..2).map(|_| PrivateServer::start(SETTINGS)).collect();
        for srv in std::iter::once(&coordinator).chain(&workers) {
            exec(&srv.url("postgres"), "CREATE EXTENSION citus").await;
        }
        let mut setup = format!(
            "SELECT citus_set_coordinator_host('127.0.0.1', {});",
            coordinator.port
        );
        for w in &workers {
            setup.push_str(&format!("SELECT citus_add_node('127.0.0.1', {});", w.port));
        }
        exec(&coordinator.url("postgres"), &setup).await;
        Citus {
            coordinator,
            workers,
        }
    }

    /// The coordinator's URL (barge's target), with the default TLS mode: Citus turns TLS on
    /// with a self-signed certificate.
    pub fn url(&self) -> String {
        self.coordinator.url("postgres")
    }

    /// Runs SQL on the coordinator.
    pub async fn exec(&self, sql: &str) {
        exec(&self.url(), sql).await;
    }

    /// Waits until `table` holds rows (a load running beside the test has committed some) and
    /// returns how many; fails the test after `limit`.
    pub async fn wait_for_rows(&self, table: &str, limit: std::time::Duration) -> u64 {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let n: u64 = self
                .one(&format!("SELECT count(*)::text FROM {table}"))
                .await
                .parse()
                .unwrap_or(0);
            if n > 0 {
                return n;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no rows in {table} after {limit:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The first column of the first row of `sql`, as text.
    pub async fn one(&self, sql: &str) -> String {
        let (client, conn) = tokio_postgres::connect(&self.url(), NoTls)
            .await
            .expect("connect to the coordinator");
        tokio::spawn(conn);
        let row = client.query_one(sql, &[]).await.expect(sql);
        row.get::<_, Option<String>>(0).unwrap_or_default()
    }
}

async fn exec(url: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    tokio::spawn(conn);
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
}
