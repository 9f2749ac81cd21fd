//! A throwaway PostgreSQL for the tests: ONE server per test binary run (started on first use),
//! each test in its own database.
//!
//! The server is Debian's: `initdb` and `pg_ctl` from the newest `/usr/lib/postgresql/*/bin/`,
//! in a temporary directory, on a free loopback port, with `fsync=on` (the durability the store
//! promises is the one tested). PostgreSQL refuses to run as root: as root the directory is
//! chowned to the `postgres` system user and every server command runs through
//! `runuser -u postgres --`. A watchdog process (a shell loop, as the server's user) stops the
//! server and removes its directory once this test process is gone, since a Rust static is never
//! dropped.
//!
//! `TEST_PG_OPTS` adds server options for a diagnosis (e.g. `-c shared_preload_libraries=auto_explain
//! -c auto_explain.log_min_duration=5ms -c logging_collector=on -c log_directory=/tmp/x`).
//!
//! When the binaries are missing the tests print a notice and pass; with `REQUIRE_TEST_TOOLS=1`
//! (CI sets it) they fail instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The running server.
pub struct PgServer {
    pub port: u16,
    /// Its TLS certificate (self-signed for "localhost"): the CA a TLS client trusts.
    pub ca: PathBuf,
}

static SERVER: OnceLock<Option<PgServer>> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

fn require_tools() -> bool {
    std::env::var("REQUIRE_TEST_TOOLS").is_ok_and(|v| v == "1")
}

/// The newest installed server's bin directory.
fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Runs a server binary as the user the server accepts.
fn server_cmd(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start() -> Option<PgServer> {
    let Some(bin) = pg_bin() else {
        assert!(
            !require_tools(),
            "REQUIRE_TEST_TOOLS=1 but no PostgreSQL server under /usr/lib/postgresql/*/bin"
        );
        eprintln!("notice: no PostgreSQL server installed (/usr/lib/postgresql/*/bin): skipped");
        return None;
    };
    let root = is_root();
    // Not a TempDir: the watchdog removes it after this process exits.
    let dir = tempfile::Builder::new()
        .prefix("ppgd-pg-")
        .tempdir()
        .expect("temp dir")
        .keep();
    // TLS on (ssl=on accepts plain connections too): a self-signed certificate for "localhost",
    // which the TLS tests trust as their CA ([`PgServer::ca`]).
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    std::fs::write(dir.join("server.crt"), ck.cert.pem()).expect("write server.crt");
    std::fs::write(dir.join("server.key"), ck.signing_key.serialize_pem()).expect("server.key");
    {
        use std::os::unix::fs::PermissionsExt;
        // The server refuses a key others may read.
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod server.key");
    }
    if root {
        run(
            {
                let mut c = Command::new("chown");
                c.args(["-R", "postgres:postgres"]).arg(&dir);
                c
            },
            "chown the PostgreSQL directory",
        );
    }
    let data = dir.join("data");
    run(
        {
            let mut c = server_cmd(root, &bin.join("initdb"));
            c.arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]);
            c
        },
        "initdb",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let opts = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=on -c max_connections=600 \
         -c shared_buffers=64MB -c ssl=on -c ssl_cert_file={crt} -c ssl_key_file={key} {}",
        dir.display(),
        std::env::var("TEST_PG_OPTS").unwrap_or_default(),
        crt = dir.join("server.crt").display(),
        key = dir.join("server.key").display(),
    );
    run(
        {
            let mut c = server_cmd(root, &bin.join("pg_ctl"));
            c.arg("-D")
                .arg(&data)
                .args(["-o", &opts, "-w", "-t", "60", "-l"])
                .arg(dir.join("server.log"))
                .arg("start");
            c
        },
        "pg_ctl start",
    );
    // The watchdog: polls once a second (it is not a test) for this process, then stops the
    // server at once and removes its files.
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; '{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let mut w = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "setsid", "sh", "-c", &script]);
        c
    } else {
        let mut c = Command::new("setsid");
        c.args(["sh", "-c", &script]);
        c
    };
    // Never waited for: it outlives this process by design (setsid, reaped by init).
    #[allow(clippy::zombie_processes)]
    w.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the PostgreSQL watchdog");
    Some(PgServer {
        port,
        ca: dir.join("server.crt"),
    })
}

/// The server of this test run, started on first use; None (after a notice) when PostgreSQL is
/// not installed and not required.
pub fn server() -> Option<&'static PgServer> {
    SERVER.get_or_init(start).as_ref()
}

impl PgServer {
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

/// A new, empty database on the test server: its URL. None when PostgreSQL is not available.
pub async fn fresh_db() -> Option<String> {
    let server = server()?;
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let (client, conn) = tokio_postgres::connect(&server.url("postgres"), tokio_postgres::NoTls)
        .await
        .expect("connect to the test PostgreSQL");
    let driver = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    drop(client);
    let _ = driver.await;
    Some(server.url(&name))
}

/// `fresh_db` from synchronous code inside a multi-threaded tokio test.
pub fn fresh_db_blocking() -> Option<String> {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(fresh_db()))
}
