//! Headless Chromium driven from the command line, one process per page, no network beyond
//! the loopback server: `--dump-dom` prints the DOM once the page has settled
//! (`--virtual-time-budget` lets the page's `fetch` and timers run first), `--screenshot`
//! writes a PNG, and `--enable-logging=stderr` prints every console message as a
//! `…:CONSOLE…] "message", source: URL (line)` line, among them uncaught exceptions
//! (`"Uncaught TypeError: …"`).
//!
//! The browser is `$BATCH_CHROMIUM` or Debian's `/usr/bin/chromium`; when it is missing the
//! test prints `SKIPPED <test>: chromium not found` and returns, unless
//! `BATCH_REQUIRE_CHROMIUM=1` (set by `.ci/run` and the CI workflow), which makes it fail.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the browser binary (default `/usr/bin/chromium`).
pub const BROWSER_ENV: &str = "BATCH_CHROMIUM";
/// Environment variable that turns a missing browser into a test failure.
pub const REQUIRE_ENV: &str = "BATCH_REQUIRE_CHROMIUM";
/// Wall-clock limit of one browser process (a 2-core machine shared with compilers).
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// The browser binary, or `None` after printing the skip line.
///
/// # Panics
/// When it is missing and `BATCH_REQUIRE_CHROMIUM=1`.
pub fn browser(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os(BROWSER_ENV)
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
        panic!(
            "chromium not found at {} ({REQUIRE_ENV}=1 makes this a failure; install Debian's \
             `chromium` or set {BROWSER_ENV})",
            path.display()
        );
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: chromium not found");
    None
}

/// What one page load produced.
pub struct Load {
    /// The serialized DOM after the page settled (`--dump-dom`); empty for a screenshot.
    pub dom: String,
    /// The console messages, as Chromium logged them.
    pub console: Vec<String>,
    /// Wall-clock time of the browser process.
    pub elapsed: Duration,
}

impl Load {
    /// The console messages that are uncaught exceptions.
    pub fn uncaught(&self) -> Vec<&str> {
        self.console
            .iter()
            .map(String::as_str)
            .filter(|l| l.contains("\"Uncaught"))
            .collect()
    }
}

/// Runs the browser on `url` with `action` (`--dump-dom` or `--screenshot=FILE`), a fresh
/// profile under `scratch`, and waits at most [`PAGE_TIMEOUT`].
///
/// # Panics
/// When the browser cannot start, exits unsuccessfully, or outlives the timeout (then it is
/// killed first).
pub fn load(browser: &Path, scratch: &Path, url: &str, action: &[&str]) -> Load {
    let run = tempfile::tempdir_in(scratch).unwrap();
    let (out_path, err_path) = (run.path().join("stdout"), run.path().join("stderr"));
    let start = Instant::now();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--window-size=1280,2000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            run.path().join("profile").display()
        ))
        .args(action)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", browser.display()));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > PAGE_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium on {url} took longer than {PAGE_TIMEOUT:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = start.elapsed();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(status.success(), "chromium on {url}: {status}\n{stderr}");
    Load {
        dom: std::fs::read_to_string(&out_path).unwrap_or_default(),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect(),
        elapsed,
    }
}

/// The text a person reads in `dom`: scripts and styles removed, tags replaced by spaces, the
/// usual entities decoded, runs of white space collapsed to one space.
pub fn visible_text(dom: &str) -> String {
    let mut rest = dom;
    let mut kept = String::with_capacity(dom.len());
    // Drop <script>…</script> and <style>…</style>: their source is not shown.
    loop {
        let next = ["<script", "<style"]
            .iter()
            .filter_map(|open| rest.find(open).map(|i| (i, *open)))
            .min();
        let Some((i, open)) = next else {
            kept.push_str(rest);
            break;
        };
        kept.push_str(&rest[..i]);
        let close = format!("</{}>", &open[1..]);
        rest = rest[i..]
            .find(&close)
            .map_or("", |j| &rest[i + j + close.len()..]);
    }
    let mut text = String::with_capacity(kept.len());
    let mut in_tag = false;
    for c in kept.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
