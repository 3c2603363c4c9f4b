//! Test harness: a temporary directory holding the queue, the control file and every output,
//! a builder for the `batch-generate` command line pointing at them, and readers for what a run
//! leaves behind.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use batch_generate::exit;
use serde_json::{Value, json};

#[path = "../common/queue_file.rs"]
mod queue_file;
pub use queue_file::{entry_text, queue_text};
use tempfile::TempDir;

/// A time far in the future (spec §8.0).
pub const FUTURE: &str = "2999-01-01T00:00:00Z";
/// A time far in the past (spec §8.0).
pub const PAST: &str = "2000-01-01T00:00:00Z";
/// `updated_at` written into every test queue.
pub const QUEUE_UPDATED_AT: &str = "2026-01-01T00:00:00Z";

/// Absolute path of the fake generator.
pub fn fake_tsuku() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fake-tsuku");
    p.canonicalize().unwrap_or(p)
}

/// A pending, auto-confidence entry with no history (spec §8.0 defaults).
pub fn entry(name: &str, source: &str, priority: i64) -> Value {
    json!({
        "name": name,
        "source": source,
        "priority": priority,
        "status": "pending",
        "confidence": "auto",
        "disambiguated_at": null,
        "failure_count": 0,
        "next_retry_at": null,
    })
}

/// Builder-style edits of an entry (or any JSON object).
pub trait With {
    /// Sets `key` to `value`.
    fn with(self, key: &str, value: impl Into<Value>) -> Value;
}

impl With for Value {
    fn with(mut self, key: &str, value: impl Into<Value>) -> Value {
        self.as_object_mut()
            .expect("an object")
            .insert(key.to_owned(), value.into());
        self
    }
}

/// Every file and directory under a root: relative path → bytes (`None` for a directory).
pub type Snapshot = BTreeMap<String, Option<Vec<u8>>>;

/// Takes a [`Snapshot`] of everything under `root`.
pub fn snapshot(root: &Path) -> Snapshot {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd {
        let e = e.expect("readable directory entry");
        let p = e.path();
        let rel = p
            .strip_prefix(root)
            .expect("under root")
            .to_string_lossy()
            .into_owned();
        let ft = e.file_type().expect("file type");
        if ft.is_dir() {
            out.insert(rel, None);
            walk(root, &p, out);
        } else {
            out.insert(rel, Some(std::fs::read(&p).unwrap_or_default()));
        }
    }
}

/// Paths that differ between two snapshots (added, removed or changed).
pub fn changed(before: &Snapshot, after: &Snapshot) -> BTreeSet<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect()
}

/// Asserts two snapshots are equal, listing the differing paths otherwise.
#[track_caller]
pub fn assert_unchanged(before: &Snapshot, after: &Snapshot, out: &Out) {
    let diff = changed(before, after);
    assert!(
        diff.is_empty(),
        "files were written or removed: {diff:?}\n{}",
        out.ctx()
    );
}

/// Result of one run of the binary.
#[derive(Debug)]
pub struct Out {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// Wall time of the process.
    pub elapsed: Duration,
}

impl Out {
    /// stdout and stderr, for assertion messages.
    pub fn ctx(&self) -> String {
        format!(
            "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.code, self.stdout, self.stderr
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(self.code, want, "unexpected exit code\n{}", self.ctx());
        self
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(exit::SUCCESS)
    }

    /// stdout parsed as exactly one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", self.ctx()))
    }
}

/// Runs a prepared command.
pub fn run_cmd(cmd: &mut assert_cmd::Command) -> Out {
    let start = Instant::now();
    let o = cmd.output().expect("batch-generate starts");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// A bare command: the binary with a clean environment (no inherited `BATCH_*`, `FAKE_TSUKU_*`,
/// `RUST_LOG` or `CI`) running in `cwd`.
pub fn bare_command(cwd: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("batch-generate").expect("binary built");
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("BATCH_")
            || k.starts_with("FAKE_TSUKU_")
            || k.starts_with("GITHUB_")
            || k == "RUST_LOG"
            || k == "CI"
        {
            cmd.env_remove(&k);
        }
    }
    cmd.current_dir(cwd);
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// One test's directory and the flags that point the binary at it.
pub struct Harness {
    /// The temporary root; everything a run may touch is below it.
    pub dir: TempDir,
    /// `--queue`.
    pub queue: PathBuf,
    /// `--control-file`.
    pub control: PathBuf,
    /// `--output-dir`.
    pub output: PathBuf,
    /// `--failures-dir`.
    pub failures: PathBuf,
    /// `--results` (when passed) or the default beside the queue.
    pub results: PathBuf,
    /// `--summary`.
    pub summary: PathBuf,
    /// FAKE_TSUKU_LOG.
    pub log: PathBuf,
    /// FAKE_TSUKU_STATE.
    pub state: PathBuf,
    /// The working directory of the binary (created empty).
    pub cwd: PathBuf,
    generator: PathBuf,
    pass_results: bool,
    fast: bool,
    ecosystems: BTreeSet<String>,
    env: Vec<(OsString, OsString)>,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// A fresh temporary directory with the standard layout.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("bg-cli-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().canonicalize().expect("tempdir path");
        let cwd = root.join("cwd");
        let state = root.join("state");
        std::fs::create_dir_all(&cwd).unwrap();
        std::fs::create_dir_all(&state).unwrap();
        Self {
            queue: root.join("queue.json"),
            control: root.join("batch-control.json"),
            output: root.join("recipes"),
            failures: root.join("failures"),
            results: root.join("results.json"),
            summary: root.join("summary.md"),
            log: root.join("tsuku.log"),
            state,
            cwd,
            dir,
            generator: fake_tsuku(),
            pass_results: true,
            fast: true,
            ecosystems: BTreeSet::new(),
            env: Vec::new(),
        }
    }

    /// The root directory.
    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("tempdir path")
    }

    /// Moves the queue to `rel` (under the root) and stops passing `--results`, so the results
    /// go to their default place beside the queue.
    pub fn queue_at(mut self, rel: &str) -> Self {
        self.queue = self.root().join(rel);
        self.results = self.queue.parent().unwrap().join("batch-results.json");
        self.pass_results = false;
        self
    }

    /// Writes the queue file in the tool's own format.
    pub fn queue(mut self, entries: &[Value]) -> Self {
        for e in entries {
            if let Some((eco, _)) = e["source"].as_str().and_then(|s| s.split_once(':')) {
                self.ecosystems.insert(eco.to_owned());
            }
        }
        self.queue_raw(&queue_text(entries, QUEUE_UPDATED_AT))
    }

    /// Writes raw queue text.
    pub fn queue_raw(self, text: &str) -> Self {
        if let Some(p) = self.queue.parent() {
            std::fs::create_dir_all(p).unwrap();
        }
        std::fs::write(&self.queue, text).unwrap();
        self
    }

    /// Writes the control file (pretty JSON, keys in the order given).
    pub fn control(self, doc: Value) -> Self {
        let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        self.control_raw(&text)
    }

    /// Writes raw control-file text.
    pub fn control_raw(self, text: &str) -> Self {
        std::fs::write(&self.control, text).unwrap();
        self
    }

    /// Adds an environment variable for the binary (and so the fake generator).
    pub fn env(mut self, k: &str, v: impl Into<OsString>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// FAKE_TSUKU_MODE for every entry (default `ok`).
    pub fn mode(self, mode: &str) -> Self {
        self.env("FAKE_TSUKU_MODE", mode)
    }

    /// FAKE_TSUKU_RULES: `(name glob, mode)` lines, written to a file in the root.
    pub fn rules(self, rules: &[(&str, &str)]) -> Self {
        let p = self.root().join("fake-rules");
        let text: String = rules.iter().map(|(g, m)| format!("{g} {m}\n")).collect();
        std::fs::write(&p, text).unwrap();
        self.env("FAKE_TSUKU_RULES", p)
    }

    /// Passes `--generator PATH` instead of the fake generator.
    pub fn generator(mut self, path: impl Into<PathBuf>) -> Self {
        self.generator = path.into();
        self
    }

    /// Keeps the built-in rate limits (no `--rate-limit` overrides).
    pub fn default_rate_limits(mut self) -> Self {
        self.fast = false;
        self
    }

    /// The standard command: file flags into the root, the fake generator, zero rate limits
    /// for every ecosystem of the queue, FAKE_TSUKU_LOG and FAKE_TSUKU_STATE.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = self.bare_cmd();
        cmd.arg("--queue").arg(&self.queue);
        cmd.arg("--control-file").arg(&self.control);
        cmd.arg("--output-dir").arg(&self.output);
        cmd.arg("--failures-dir").arg(&self.failures);
        if self.pass_results {
            cmd.arg("--results").arg(&self.results);
        }
        cmd.arg("--summary").arg(&self.summary);
        cmd.arg("--generator").arg(&self.generator);
        for a in self.rate_args() {
            cmd.arg(a);
        }
        cmd
    }

    /// `--rate-limit ECO=0ms` for every ecosystem of the queue (empty in default mode).
    pub fn rate_args(&self) -> Vec<String> {
        if !self.fast {
            return Vec::new();
        }
        self.ecosystems
            .iter()
            .filter(|e| !e.is_empty() && !e.contains([',', '=']))
            .flat_map(|e| ["--rate-limit".to_owned(), format!("{e}=0ms")])
            .collect()
    }

    /// The binary with a clean environment, FAKE_TSUKU_MODE=ok, FAKE_TSUKU_LOG,
    /// FAKE_TSUKU_STATE and the harness environment, running in [`Harness::cwd`]; no flags.
    pub fn bare_cmd(&self) -> assert_cmd::Command {
        let mut cmd = bare_command(&self.cwd);
        cmd.env("FAKE_TSUKU_MODE", "ok");
        cmd.env("FAKE_TSUKU_LOG", &self.log);
        cmd.env("FAKE_TSUKU_STATE", &self.state);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `preflight` pointed at the harness's queue, control file, results and `metrics/` in the
    /// root; no other flags.
    pub fn preflight_cmd(&self) -> assert_cmd::Command {
        let mut cmd = self.bare_cmd();
        cmd.arg("preflight")
            .arg("--queue")
            .arg(&self.queue)
            .arg("--control-file")
            .arg(&self.control)
            .arg("--results")
            .arg(&self.results)
            .arg("--metrics-dir")
            .arg(self.root().join("metrics"));
        cmd
    }

    /// Runs the standard command plus `args`.
    pub fn run(&self, args: &[&str]) -> Out {
        let mut cmd = self.cmd();
        cmd.args(args);
        run_cmd(&mut cmd)
    }

    /// Snapshot of the whole root. Runs refused before they start (bad input, kill switch,
    /// missing generator, dry run) must not even create the run lock `<queue>.lock`.
    pub fn snapshot(&self) -> Snapshot {
        snapshot(&self.root())
    }

    /// The run lock file beside the queue (`<queue>.lock`).
    pub fn lock_file(&self) -> PathBuf {
        let mut p = self.queue.as_os_str().to_owned();
        p.push(".lock");
        PathBuf::from(p)
    }

    /// The queue file parsed.
    pub fn queue_json(&self) -> Value {
        read_json(&self.queue)
    }

    /// The queue file text.
    pub fn queue_string(&self) -> String {
        std::fs::read_to_string(&self.queue).expect("queue file")
    }

    /// The saved entry called `name`.
    #[track_caller]
    pub fn entry(&self, name: &str) -> Value {
        let q = self.queue_json();
        q["entries"]
            .as_array()
            .expect("entries array")
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no entry {name:?} in the saved queue"))
            .clone()
    }

    /// The results file parsed.
    pub fn results_json(&self) -> Value {
        read_json(&self.results)
    }

    /// The control file parsed.
    pub fn control_json(&self) -> Value {
        read_json(&self.control)
    }

    /// The summary text.
    pub fn summary_text(&self) -> String {
        std::fs::read_to_string(&self.summary).expect("summary file")
    }

    /// Every file name in the failures directory (hidden ones included), sorted.
    pub fn failure_dir_names(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(&self.failures) else {
            return Vec::new();
        };
        let mut v: Vec<String> = rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// `*.jsonl` failure files: (file name, the single JSON line parsed). Asserts each holds
    /// exactly one line ending in a newline (spec §1.3.1).
    #[track_caller]
    pub fn failure_files(&self) -> Vec<(String, Value)> {
        self.failure_dir_names()
            .into_iter()
            .filter(|n| n.ends_with(".jsonl"))
            .map(|n| {
                let text = std::fs::read_to_string(self.failures.join(&n)).unwrap();
                assert!(
                    text.ends_with('\n') && text.lines().count() == 1,
                    "{n}: not one line: {text:?}"
                );
                let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{n}: {e}"));
                (n, v)
            })
            .collect()
    }

    /// The failure file of `eco` (its name starts with `<prefix>-`), asserting there is one.
    #[track_caller]
    pub fn failure_file(&self, prefix: &str) -> Value {
        let files: Vec<_> = self
            .failure_files()
            .into_iter()
            .filter(|(n, _)| is_failure_file_of(n, prefix))
            .collect();
        assert_eq!(
            files.len(),
            1,
            "want one {prefix}-<ts>.jsonl, got {:?}",
            self.failure_dir_names()
        );
        files.into_iter().next().unwrap().1
    }

    /// The fake generator's argv log, one call per line.
    pub fn log_lines(&self) -> Vec<String> {
        match std::fs::read_to_string(&self.log) {
            Ok(s) => s.lines().map(str::to_owned).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The names passed to `create`, in log order.
    pub fn created(&self) -> Vec<String> {
        self.log_lines()
            .iter()
            .filter_map(|l| l.strip_prefix("create "))
            .map(|rest| rest.split(" --from ").next().unwrap_or(rest).to_owned())
            .collect()
    }

    /// The names passed to `create`, as a set.
    pub fn created_set(&self) -> BTreeSet<String> {
        self.created().into_iter().collect()
    }

    /// The number of `install` calls.
    pub fn installs(&self) -> usize {
        self.log_lines()
            .iter()
            .filter(|l| l.starts_with("install "))
            .count()
    }

    /// Replaces the root path with `[TMP]` and today's UTC date(s) with `[DATE]`.
    pub fn scrub(&self, text: &str, dates: &[String]) -> String {
        let mut s = text.replace(&self.root().to_string_lossy().into_owned(), "[TMP]");
        for d in dates {
            s = s.replace(d.as_str(), "[DATE]");
        }
        s
    }
}

/// Whether `name` is `<prefix>-YYYY-MM-DDTHH-MM-SSZ[-n].jsonl`.
pub fn is_failure_file_of(name: &str, prefix: &str) -> bool {
    let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let Some(stamp) = rest.strip_suffix(".jsonl") else {
        return false;
    };
    let b = stamp.as_bytes();
    b.len() >= 20
        && b[..20].iter().enumerate().all(|(i, c)| match i {
            4 | 7 | 13 | 16 => *c == b'-',
            10 => *c == b'T',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
        && (b.len() == 20 || (b[20] == b'-' && b[21..].iter().all(u8::is_ascii_digit)))
}

/// Reads and parses a JSON file.
#[track_caller]
pub fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}\n{text}", p.display()))
}

/// Today's UTC date, `YYYY-MM-DD`.
pub fn utc_date() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

/// Parses an RFC 3339 timestamp.
#[track_caller]
pub fn ts(s: &Value) -> jiff::Timestamp {
    s.as_str()
        .unwrap_or_else(|| panic!("{s} is not a string"))
        .parse()
        .unwrap_or_else(|e| panic!("{s} is not RFC 3339: {e}"))
}

/// Asserts `t` lies in `[lo - slack, hi + slack]`.
#[track_caller]
pub fn assert_between(
    t: jiff::Timestamp,
    lo: jiff::Timestamp,
    hi: jiff::Timestamp,
    slack: Duration,
) {
    let slack = jiff::SignedDuration::try_from(slack).unwrap();
    assert!(
        t >= lo.checked_sub(slack).unwrap() && t <= hi.checked_add(slack).unwrap(),
        "{t} not within [{lo}, {hi}] ± {slack:?}"
    );
}

/// `t + hours`.
pub fn plus_hours(t: jiff::Timestamp, hours: i64) -> jiff::Timestamp {
    t.checked_add(jiff::SignedDuration::from_hours(hours))
        .unwrap()
}

/// Strings of a JSON array.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v} is not an array"))
        .iter()
        .map(|x| x.as_str().expect("string").to_owned())
        .collect()
}
