//! Connecting the way psql does, against a throwaway server with `ssl=on`, a certificate made
//! for the test and hostssl-only rules for the test users: every sslmode, the right and wrong
//! roots and host names, client certificates, and passwords from the URL, PGPASSWORD and a
//! password file. (Support's `barge_in` checks every run's output for the passwords.)

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::support::pg::{connect, PrivateServer};
use crate::support::{barge_in, Dir, Run};

const PASSWORD: &str = "s3cret-pw";

struct Pki {
    dir: Dir,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let key = KeyPair::generate().expect("a key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("a CA certificate");
    (params, key, cert.pem())
}

fn leaf(issuer: &Issuer<'_, KeyPair>, names: &[&str], cn: &str) -> (String, String) {
    let key = KeyPair::generate().expect("a key");
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("leaf params");
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params
        .signed_by(&key, issuer)
        .expect("a signed certificate");
    (cert.pem(), key.serialize_pem())
}

fn private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// A server whose certificate is made out to `localhost` only, that lets `alice` in over TLS
/// with her password and `carol` with her client certificate, and `postgres` in without TLS
/// (for the harness).
async fn server() -> (PrivateServer, Pki) {
    let pki = Pki { dir: Dir::new() };
    let (ca_params, ca_key, ca_pem) = ca("barge test CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let (srv_pem, srv_key) = leaf(&issuer, &["localhost"], "localhost");
    let (carol_pem, carol_key) = leaf(&issuer, &[], "carol");
    let (_, _, other_pem) = ca("another CA");
    std::fs::write(pki.path("root.crt"), &ca_pem).unwrap();
    std::fs::write(pki.path("other.crt"), &other_pem).unwrap();
    std::fs::write(pki.path("carol.crt"), &carol_pem).unwrap();
    private(&pki.path("carol.key"), &carol_key);
    let srv = PrivateServer::start_with(
        &[
            "ssl=on",
            "ssl_cert_file=server.crt",
            "ssl_key_file=server.key",
            "ssl_ca_file=root.crt",
            "password_encryption=scram-sha-256",
        ],
        |data| {
            std::fs::write(data.join("server.crt"), &srv_pem).unwrap();
            private(&data.join("server.key"), &srv_key);
            std::fs::write(data.join("root.crt"), &ca_pem).unwrap();
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\n\
                 host all postgres 127.0.0.1/32 trust\n\
                 hostssl all carol 127.0.0.1/32 cert\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\n",
            )
            .unwrap();
        },
    );
    let admin = connect(&srv.url("postgres")).await;
    for sql in [
        format!("CREATE ROLE alice LOGIN PASSWORD '{PASSWORD}'"),
        "CREATE ROLE carol LOGIN IN ROLE alice".to_string(),
        "CREATE DATABASE tlsdb OWNER alice".to_string(),
    ] {
        admin.batch_execute(&sql).await.expect("create the roles");
    }
    let db = connect(&srv.url("tlsdb")).await;
    db.batch_execute(
        "CREATE TABLE t (id int, name text); GRANT ALL ON t TO alice, carol; \
         GRANT ALL ON SCHEMA public TO alice, carol;",
    )
    .await
    .expect("create the table");
    (srv, pki)
}

fn load(dir: &Dir, into: &str, env: &[(&str, &str)]) -> Run {
    let f = dir.write("t.csv", "id,name\n1,a\n2,b\n");
    barge_in(
        None,
        &[
            "load",
            f.to_str().unwrap(),
            "--into",
            into,
            "--table",
            "t",
            "--again",
        ],
        env,
        None,
    )
}

#[tokio::test]
async fn sslmodes_roots_host_names_and_passwords() {
    let (srv, pki) = server().await;
    let port = srv.port;
    let root = pki.path("root.crt");
    let root = root.to_str().unwrap();
    let other = pki.path("other.crt");
    let other = other.to_str().unwrap();
    let dir = Dir::new();
    let url = |user_pw: &str, host: &str, q: &str| {
        format!("postgresql://{user_pw}@{host}:{port}/tlsdb?{q}")
    };
    let alice = format!("alice:{PASSWORD}");

    // require: encrypted, certificate not checked.
    load(&dir, &url(&alice, "127.0.0.1", "sslmode=require"), &[]).assert_ok();
    // prefer (the default) takes TLS when the server offers it: this user has only hostssl.
    load(&dir, &url(&alice, "127.0.0.1", ""), &[]).assert_ok();
    // verify-full with the right root and the certificate's host name.
    let q = format!("sslmode=verify-full&sslrootcert={root}");
    load(&dir, &url(&alice, "localhost", &q), &[]).assert_ok();
    // ... and with the wrong host name, or the wrong root.
    let run = load(&dir, &url(&alice, "127.0.0.1", &q), &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("hint: the server's certificate is not made out to this host name"),
        "{}",
        run.stderr
    );
    let q_other = format!("sslmode=verify-full&sslrootcert={other}");
    let run = load(&dir, &url(&alice, "localhost", &q_other), &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("hint: the server's certificate is not signed by a CA barge trusts"),
        "{}",
        run.stderr
    );
    // verify-ca checks the chain, not the name.
    let q = format!("sslmode=verify-ca&sslrootcert={root}");
    load(&dir, &url(&alice, "127.0.0.1", &q), &[]).assert_ok();
    // disable: refused by a hostssl-only rule, and barge says what to do.
    let run = load(&dir, &url(&alice, "127.0.0.1", "sslmode=disable"), &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("no encryption")
            && run
                .stderr
                .contains("hint: the server accepts this user only over TLS"),
        "{}",
        run.stderr
    );
    // A libpq key=value string, the password from PGPASSWORD.
    let kv = format!(
        "host=localhost port={port} dbname=tlsdb user=alice sslmode=verify-full sslrootcert='{root}'"
    );
    load(&dir, &kv, &[("PGPASSWORD", PASSWORD)]).assert_ok();
    // Everything from the environment.
    let port_s = port.to_string();
    load(
        &dir,
        "postgresql://",
        &[
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", &port_s),
            ("PGDATABASE", "tlsdb"),
            ("PGUSER", "alice"),
            ("PGPASSWORD", PASSWORD),
            ("PGSSLMODE", "require"),
        ],
    )
    .assert_ok();
    // The password file, which must be private.
    let pass = pki.path("pgpass");
    private(
        &pass,
        &format!("other:*:*:*:nope\n127.0.0.1:{port}:tlsdb:alice:{PASSWORD}\n"),
    );
    let pass_s = pass.to_str().unwrap();
    let no_pw = url("alice", "127.0.0.1", "sslmode=require");
    load(&dir, &no_pw, &[("PGPASSFILE", pass_s)]).assert_ok();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let run = load(&dir, &no_pw, &[("PGPASSFILE", pass_s)]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("chmod 0600"), "{}", run.stderr);
    // A wrong password: the error names the user, never the password.
    let run = load(
        &dir,
        &url("alice:Wr0ng-pw", "127.0.0.1", "sslmode=require"),
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("password authentication failed for user \"alice\"")
            && run
                .stderr
                .contains("hint: authentication failed for user \"alice\""),
        "{}",
        run.stderr
    );
    // A client certificate.
    let cert = pki.path("carol.crt");
    let key = pki.path("carol.key");
    let q = format!(
        "sslmode=verify-full&sslrootcert={root}&sslcert={}&sslkey={}",
        cert.display(),
        key.display()
    );
    load(&dir, &url("carol", "localhost", &q), &[]).assert_ok();
    let admin = connect(&srv.url("tlsdb")).await;
    let n: i64 = admin
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2 * 8);
}

/// A key and a self-signed X.509 **v1** certificate for `localhost`, made the way Citus and
/// many hand-made set-ups make them (`openssl x509 -req -signkey`, no extensions).
fn v1_certificate(dir: &Dir, key_args: &[&str]) -> (String, String) {
    let key = dir.path().join("v1.key");
    let csr = dir.path().join("v1.csr");
    let crt = dir.path().join("v1.crt");
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("this test makes a v1 certificate with the openssl command ({e}): install it (Debian: apt-get install openssl)")
            });
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let mut genkey = vec!["genpkey", "-out", key.to_str().unwrap()];
    genkey.extend_from_slice(key_args);
    openssl(&genkey);
    openssl(&[
        "req",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-subj",
        "/CN=localhost",
        "-out",
        csr.to_str().unwrap(),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-days",
        "30",
        "-in",
        csr.to_str().unwrap(),
        "-signkey",
        key.to_str().unwrap(),
        "-out",
        crt.to_str().unwrap(),
    ]);
    let text = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in", crt.to_str().unwrap()])
        .output()
        .expect("openssl x509 -text");
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("Version: 1 (0x0)"),
        "the test certificate is not v1"
    );
    (
        std::fs::read_to_string(&crt).unwrap(),
        std::fs::read_to_string(&key).unwrap(),
    )
}

/// Regression: a server with a self-signed v1 certificate failed barge's default connection
/// (and sslmode=require) with "UnsupportedCertVersion", where psql connects; the fault was
/// retried, and the hint pointed at host, port and password.
#[tokio::test]
async fn a_self_signed_v1_certificate_connects_where_psql_does() {
    // RSA over TLS 1.3, and an EC key over TLS 1.2 (the two signature checks).
    let cases: [(&[&str], &str); 2] = [
        (
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "TLSv1.3",
        ),
        (
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "TLSv1.2",
        ),
    ];
    for (key_args, tls) in cases {
        let pki = Dir::new();
        let (crt, key) = v1_certificate(&pki, key_args);
        std::fs::write(pki.path().join("root.crt"), &crt).unwrap();
        let max = format!("ssl_max_protocol_version={tls}");
        let srv = PrivateServer::start_with(
            &[
                "ssl=on",
                "ssl_cert_file=server.crt",
                "ssl_key_file=server.key",
                &max,
            ],
            |data| {
                std::fs::write(data.join("server.crt"), &crt).unwrap();
                private(&data.join("server.key"), &key);
                std::fs::write(
                    data.join("pg_hba.conf"),
                    "local all all trust\n\
                     host all postgres 127.0.0.1/32 trust\n\
                     hostssl all all 127.0.0.1/32 trust\n",
                )
                .unwrap();
            },
        );
        let admin = connect(&srv.url("postgres")).await;
        admin
            .batch_execute(
                "CREATE ROLE alice LOGIN; CREATE TABLE t (id int, name text); \
                 GRANT ALL ON t TO alice; GRANT ALL ON SCHEMA public TO alice;",
            )
            .await
            .unwrap();
        let dir = Dir::new();
        let url = |q: &str| format!("postgresql://alice@127.0.0.1:{}/postgres{q}", srv.port);
        // The default (prefer) and require: encrypted, the certificate not checked.
        load(&dir, &url(""), &[]).assert_ok();
        load(&dir, &url("?sslmode=require"), &[]).assert_ok();
        // verify-ca cannot check a v1 certificate, says why, and does not retry.
        let root = pki.path().join("root.crt");
        let q = format!("?sslmode=verify-ca&sslrootcert={}", root.display());
        let run = load(&dir, &url(&q), &[]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(
            run.stderr.contains("X.509 version 1")
                && run.stderr.contains("sslmode=verify-ca cannot verify")
                && !run.stderr.contains("password")
                && !run.all().contains("retrying"),
            "{}",
            run.all()
        );
        let n: i64 = admin
            .query_one("SELECT count(*) FROM t", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 2 * 2, "{tls}");
    }
}
