//! A moto S3 server for one test: started on a free 127.0.0.1 port, polled until it answers,
//! killed (its whole process group) on drop. Used by the `batch-store` S3 tests and the
//! `batch-generate` store tests.
//!
//! The server binary is `$BATCH_STORE_MOTO`, else `<workspace>/target/moto-venv/bin/moto_server`
//! (what `.ci/run` installs), else `moto_server` on `PATH`. When none exists the test prints a
//! skip message and returns, unless `BATCH_STORE_REQUIRE_S3=1` (set by `.ci/run`), which makes
//! it fail.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the `moto_server` binary.
pub const MOTO_ENV: &str = "BATCH_STORE_MOTO";
/// Environment variable that turns a missing moto into a test failure.
pub const REQUIRE_ENV: &str = "BATCH_STORE_REQUIRE_S3";
/// Credentials the tests use (moto accepts any).
pub const ACCESS_KEY: &str = "AKIAMOTOTEST";
/// Secret the tests use; a test asserts it never shows up in output.
pub const SECRET_KEY: &str = "moto-secret-do-not-print";

/// Finds the moto server binary (see the module docs).
pub fn moto_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(MOTO_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/moto-venv/bin/moto_server");
    if venv.exists() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("moto_server"))
            .find(|p| p.is_file())
    })
}

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The port.
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// Starts a moto server, or returns `None` after printing why the test is skipped.
///
/// # Panics
/// When moto is missing and `BATCH_STORE_REQUIRE_S3=1`, or when it does not become ready.
pub fn start(test: &str) -> Option<Moto> {
    let Some(bin) = moto_binary() else {
        let msg = format!(
            "moto_server not found (set {MOTO_ENV}=/path/to/moto_server, or run .ci/run, which \
             installs it into target/moto-venv)"
        );
        if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
            panic!("{msg}; {REQUIRE_ENV}=1 makes this a failure");
        }
        // Straight to the process's stderr: `eprintln!` would be captured by the test
        // harness and the skip would go unnoticed.
        let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {msg}");
        return None;
    };
    let mut last_err = String::new();
    // A free port can be taken between our probe and moto's bind; try a few.
    for _ in 0..3 {
        let port = free_port();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("moto.log");
        let out = std::fs::File::create(&log).expect("moto log");
        let err = out.try_clone().expect("moto log");
        // The shell stays as a watchdog: when the test process dies without running our
        // Drop (SIGKILL, abort), moto is killed within a second instead of leaking.
        let script = r#"bin="$1"; port="$2"; parent="$3"
"$bin" -H 127.0.0.1 -p "$port" &
m=$!
trap 'kill $m 2>/dev/null; exit 0' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$m" 2>/dev/null; do sleep 1; done
kill $m 2>/dev/null"#;
        let child = {
            use std::os::unix::process::CommandExt as _;
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg("moto-watchdog")
                .arg(&bin)
                .arg(port.to_string())
                .arg(std::process::id().to_string())
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("failed to start {}: {e}", bin.display()))
        };
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            log,
            _dir: dir,
        };
        match moto.wait_ready(Duration::from_secs(60)) {
            Ok(()) => return Some(moto),
            Err(e) => last_err = format!("{e}\n--- moto log ---\n{}", moto.log_text()),
        }
    }
    panic!("moto did not become ready: {last_err}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One raw HTTP/1.1 request without authentication (moto does not check signatures);
/// returns the status code.
pub fn http(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    http_body(port, method, path, b"")
}

/// [`http`] with a request body (a test damaging an object behind the tool's back).
pub fn http_body(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {text:.200}")))
}

impl Moto {
    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("moto exited early: {status}"));
            }
            if http(self.port, "GET", "/").is_ok_and(|code| code < 500) {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(format!("no answer on port {} within {limit:?}", self.port));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Creates `bucket` (names: 3-63 of lowercase letters, digits, `-`).
    pub fn create_bucket(&self, bucket: &str) {
        let code = http(self.port, "PUT", &format!("/{bucket}")).expect("create bucket");
        assert_eq!(code, 200, "creating bucket {bucket}");
    }

    /// The server's output so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Environment for the `batch-generate` binary to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
    }

    /// Stops the server now (the "store down" tests); drop does the same.
    pub fn stop(&mut self) {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        let pgid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits i32"));
        let _ = killpg(pgid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = self.child.wait();
        // Wait until the port no longer answers, so "store down" really is down.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}
