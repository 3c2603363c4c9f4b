//! Harness of the fault-injection tests: a sandbox directory per test (queue, control file,
//! outputs, a private copy of the fake generator), spawning the real binary as a child process
//! that can be signalled, and finding the processes a run left behind.
//!
//! Every process a sandbox starts (the binary, the fake generators it spawns and whatever those
//! start) inherits the environment variable [`MARKER_VAR`] set to the sandbox's unique root
//! path, so leftovers are found through `/proc/<pid>/environ` even when their command line
//! (`sleep 3600`) says nothing about where they came from.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

#[path = "../common/queue_file.rs"]
mod queue_file;
pub use queue_file::entry_text;
use tempfile::TempDir;

/// Environment variable carrying the sandbox marker into every process of a test.
pub const MARKER_VAR: &str = "BG_FAULTS_MARKER";
/// A time far in the past: entries with this `next_retry_at` are due.
pub const PAST: &str = "2000-01-01T00:00:00Z";
/// A generous upper bound for runs that are expected to finish by themselves.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_batch-generate")
}

/// The repository's fake generator.
pub fn fake_tsuku_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fake-tsuku")
}

/// A pending entry with no history.
pub fn entry(name: &str, source: &str) -> Value {
    json!({
        "name": name,
        "source": source,
        "priority": 1,
        "status": "pending",
        "confidence": "auto",
        "disambiguated_at": null,
        "failure_count": 0,
        "next_retry_at": null,
    })
}

/// An entry with history that is due again: failed once, retry time in the past, curated.
/// Its fields differ from every default, so "unchanged" is a meaningful check.
pub fn entry_with_history(name: &str, source: &str) -> Value {
    json!({
        "name": name,
        "source": source,
        "priority": 2,
        "status": "failed",
        "confidence": "curated",
        "disambiguated_at": "2026-01-02T03:04:05Z",
        "failure_count": 1,
        "next_retry_at": PAST,
    })
}

/// A whole queue file in the tool's own format (2-space indentation, Go key order).
pub fn queue_text(entries: &[Value]) -> String {
    queue_file::queue_text(entries, "2026-01-01T00:00:00Z")
}

/// The ecosystem of a source (`homebrew:foo` → `homebrew`).
pub fn ecosystem(source: &str) -> &str {
    source.split_once(':').map_or("", |(e, _)| e)
}

/// Polls `f` every `every` until it holds or `limit` passed; returns whether it held.
pub fn wait_until(limit: Duration, every: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// Live (non-zombie) processes whose environment holds `MARKER_VAR=marker`.
pub fn marked_pids(marker: &str) -> Vec<i32> {
    let want = format!("{MARKER_VAR}={marker}");
    let mut pids = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if !env.split(|b| *b == 0).any(|v| v == want.as_bytes()) {
            continue;
        }
        if process_state(pid).is_some_and(|s| s == 'Z' || s == 'X') {
            continue;
        }
        pids.push(pid);
    }
    pids.sort_unstable();
    pids
}

/// The state letter of `/proc/<pid>/stat` (`R`, `S`, `Z`, …), `None` when gone.
pub fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ..."; comm may contain spaces and parentheses: take the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.trim_start().chars().next()
}

/// The command line of `pid`, for messages.
pub fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|_| "<gone>".into())
}

/// Sends `sig` to `pid`, ignoring "no such process".
pub fn signal(pid: i32, sig: Signal) {
    let _ = kill(Pid::from_raw(pid), sig);
}

/// How a run of the binary ended.
#[derive(Debug)]
pub struct Out {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
}

impl Out {
    /// Exit status, stdout and stderr, for assertion messages.
    pub fn ctx(&self) -> String {
        format!(
            "exit code {:?} (signal {:?}) after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.code,
            self.signal,
            self.elapsed,
            tail(&self.stdout, 4000),
            tail(&self.stderr, 6000)
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(self.code, Some(want), "unexpected exit\n{}", self.ctx());
        self
    }
}

fn tail(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut i = s.len() - n;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// A running binary; killed (SIGKILL) and reaped when dropped unfinished.
pub struct Running {
    child: Child,
    /// What the run is, for messages.
    pub label: String,
    out: PathBuf,
    err: PathBuf,
    started: Instant,
    done: bool,
}

impl Running {
    /// The process id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits i32")
    }

    /// Sends a signal to the binary.
    pub fn signal(&self, sig: Signal) {
        signal(self.pid(), sig);
    }

    /// Whether it has exited (reaps it).
    pub fn exited(&mut self) -> bool {
        if self.done {
            return true;
        }
        match self.child.try_wait() {
            Ok(Some(_)) => {
                self.done = true;
                true
            }
            Ok(None) => false,
            Err(e) => panic!("{}: try_wait: {e}", self.label),
        }
    }

    /// The stderr written so far.
    pub fn stderr_so_far(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits for the exit; past `limit` the process is killed and the test fails.
    #[track_caller]
    pub fn wait(mut self, limit: Duration) -> Out {
        self.wait_observing(limit, || {})
    }

    /// [`Running::wait`], calling `observe` every 20 ms while the process runs.
    #[track_caller]
    pub fn wait_observing(&mut self, limit: Duration, mut observe: impl FnMut()) -> Out {
        let deadline = self.started + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => panic!("{}: try_wait: {e}", self.label),
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.done = true;
                panic!(
                    "{}: still running after {limit:?}; killed it\n--- stderr ---\n{}",
                    self.label,
                    tail(&self.stderr_so_far(), 6000)
                );
            }
            observe();
            std::thread::sleep(Duration::from_millis(20));
        };
        self.done = true;
        let elapsed = self.started.elapsed();
        use std::os::unix::process::ExitStatusExt;
        Out {
            code: status.code(),
            signal: status.signal(),
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
            elapsed,
        }
    }

    /// SIGKILLs the binary and reaps it; returns whether it was still running.
    pub fn sigkill(&mut self) -> bool {
        if self.exited() {
            return false;
        }
        self.signal(Signal::SIGKILL);
        let _ = self.child.wait();
        self.done = true;
        true
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One test's directory: queue, control file and every output below a unique root, and a
/// private copy of the fake generator.
pub struct Sandbox {
    _dir: TempDir,
    /// The root (canonical); also the marker of every process this sandbox starts.
    pub root: PathBuf,
    /// `--queue`.
    pub queue: PathBuf,
    /// `--control-file`.
    pub control: PathBuf,
    /// `--output-dir`.
    pub recipes: PathBuf,
    /// `--failures-dir`.
    pub failures: PathBuf,
    /// `--results`.
    pub results: PathBuf,
    /// `--summary`.
    pub summary: PathBuf,
    /// `FAKE_TSUKU_LOG`.
    pub log: PathBuf,
    /// `--generator`: the copy of the fake generator.
    pub generator: PathBuf,
    /// Where stdout/stderr of runs go (not an output of the tool).
    pub logs: PathBuf,
    state: PathBuf,
    ecosystems: BTreeSet<String>,
    env: Vec<(String, OsString)>,
    runs: usize,
}

impl Sandbox {
    /// A fresh sandbox; `tag` appears in the directory name.
    pub fn new(tag: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("bg-faults-{tag}-"))
            .tempdir()
            .expect("tempdir");
        let root = dir.path().canonicalize().expect("tempdir path");
        let state = root.join("state");
        let logs = root.join("logs");
        let bindir = root.join("bin");
        for d in [&state, &logs, &bindir] {
            std::fs::create_dir_all(d).unwrap();
        }
        let generator = bindir.join("fake-tsuku");
        std::fs::copy(fake_tsuku_source(), &generator).expect("copy testdata/fake-tsuku");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&generator, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let control = root.join("batch-control.json");
        std::fs::write(&control, "{\"enabled\":true,\"circuit_breaker\":{}}\n").unwrap();
        Self {
            queue: root.join("queue.json"),
            control,
            recipes: root.join("recipes"),
            failures: root.join("failures"),
            results: root.join("batch-results.json"),
            summary: root.join("summary.md"),
            log: root.join("tsuku.log"),
            generator,
            logs,
            state,
            root,
            _dir: dir,
            ecosystems: BTreeSet::new(),
            env: Vec::new(),
            runs: 0,
        }
    }

    /// The marker value of this sandbox's processes.
    pub fn marker(&self) -> String {
        self.root.to_string_lossy().into_owned()
    }

    /// Writes the queue in the tool's format and remembers its ecosystems (zero rate limits).
    pub fn write_queue(&mut self, entries: &[Value]) {
        self.write_queue_text(&queue_text(entries), entries);
    }

    /// Writes `text` as the queue; `entries` give the ecosystems.
    pub fn write_queue_text(&mut self, text: &str, entries: &[Value]) {
        for e in entries {
            let eco = ecosystem(e["source"].as_str().unwrap_or_default());
            if !eco.is_empty() {
                self.ecosystems.insert(eco.to_owned());
            }
        }
        std::fs::write(&self.queue, text).unwrap();
    }

    /// `FAKE_TSUKU_RULES`: `(glob, mode)` lines.
    pub fn rules(&mut self, rules: &[(&str, &str)]) {
        let p = self.root.join("fake-rules");
        let text: String = rules.iter().map(|(g, m)| format!("{g} {m}\n")).collect();
        std::fs::write(&p, text).unwrap();
        self.set_env("FAKE_TSUKU_RULES", p);
    }

    /// An environment variable for every run of this sandbox.
    pub fn set_env(&mut self, k: &str, v: impl Into<OsString>) {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.to_owned(), v.into()));
    }

    /// The journal beside the queue.
    pub fn journal(&self) -> PathBuf {
        suffixed(&self.queue, ".journal")
    }

    /// The lock file beside the queue.
    pub fn lock(&self) -> PathBuf {
        suffixed(&self.queue, ".lock")
    }

    /// The standard flags: every file into the sandbox, the fake generator, zero rate limits.
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |k: &str, v: &Path| {
            a.push(k.into());
            a.push(v.into());
        };
        push("--queue", &self.queue);
        push("--control-file", &self.control);
        push("--output-dir", &self.recipes);
        push("--failures-dir", &self.failures);
        push("--results", &self.results);
        push("--summary", &self.summary);
        push("--generator", &self.generator);
        for eco in &self.ecosystems {
            a.push("--rate-limit".into());
            a.push(format!("{eco}=0s").into());
        }
        a
    }

    /// The command: `prefix` (a wrapper such as `/usr/bin/time`, may be empty), the binary,
    /// the standard flags and `extra`, with a clean environment plus `env`.
    pub fn command(&self, prefix: &[OsString], extra: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = match prefix.split_first() {
            Some((p, rest)) => {
                let mut c = Command::new(p);
                c.args(rest).arg(bin());
                c
            }
            None => Command::new(bin()),
        };
        cmd.args(self.args()).args(extra);
        cmd.env_clear();
        cmd.env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
        );
        cmd.env("TMPDIR", &self.state);
        cmd.env(MARKER_VAR, self.marker());
        cmd.env("FAKE_TSUKU_MODE", "ok");
        cmd.env("FAKE_TSUKU_LOG", &self.log);
        cmd.env("FAKE_TSUKU_STATE", &self.state);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.current_dir(&self.root);
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Spawns the binary with the standard flags plus `extra`.
    pub fn spawn(&mut self, label: &str, extra: &[&str], env: &[(&str, &str)]) -> Running {
        let cmd = self.command(&[], extra, env);
        self.spawn_cmd(label, cmd)
    }

    /// Spawns a prepared command, stdout and stderr going to files under [`Sandbox::logs`].
    pub fn spawn_cmd(&mut self, label: &str, mut cmd: Command) -> Running {
        self.runs += 1;
        let out = self.logs.join(format!("{}-{label}.out", self.runs));
        let err = self.logs.join(format!("{}-{label}.err", self.runs));
        cmd.stdout(std::fs::File::create(&out).unwrap());
        cmd.stderr(std::fs::File::create(&err).unwrap());
        let started = Instant::now();
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin()));
        Running {
            child,
            label: label.to_owned(),
            out,
            err,
            started,
            done: false,
        }
    }

    /// Runs the binary to its end ([`RUN_LIMIT`] at most).
    #[track_caller]
    pub fn run(&mut self, label: &str, extra: &[&str], env: &[(&str, &str)]) -> Out {
        self.spawn(label, extra, env).wait(RUN_LIMIT)
    }

    /// The queue file's bytes.
    pub fn queue_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.queue).expect("queue file")
    }

    /// The queue's entries, parsed.
    #[track_caller]
    pub fn entries(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.queue).expect("queue file");
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the queue does not parse: {e}\n{text}"));
        v["entries"].as_array().expect("entries array").clone()
    }

    /// The saved entry called `name`.
    #[track_caller]
    pub fn entry(&self, name: &str) -> Value {
        self.entries()
            .into_iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no entry {name:?} in the saved queue"))
    }

    /// Every failure record in every `*.jsonl` file of the failures directory.
    #[track_caller]
    pub fn failure_records(&self) -> Vec<Value> {
        failure_records(&self.failures)
    }

    /// The fake generator's argv log.
    pub fn log_lines(&self) -> Vec<String> {
        read_lines(&self.log)
    }

    /// Live processes started by this sandbox (the binary included while it runs).
    pub fn marked(&self) -> Vec<i32> {
        marked_pids(&self.marker())
    }

    /// SIGKILLs every live process of this sandbox.
    pub fn kill_marked(&self) {
        for _ in 0..5 {
            let pids = self.marked();
            if pids.is_empty() {
                return;
            }
            for p in pids {
                signal(p, Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `limit` for every process of this sandbox to be gone; returns the
    /// survivors with their command lines.
    pub fn survivors_after(&self, limit: Duration) -> Vec<(i32, String)> {
        let mut left = Vec::new();
        wait_until(limit, Duration::from_millis(25), || {
            left = self.marked();
            left.is_empty()
        });
        left.into_iter().map(|p| (p, cmdline(p))).collect()
    }

    /// Outcome lines of the journal (a torn last line is skipped), parsed.
    pub fn journal_outcomes(&self) -> Option<Vec<Value>> {
        let text = std::fs::read_to_string(self.journal()).ok()?;
        Some(
            text.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|v| v["kind"] == "outcome")
                .collect(),
        )
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Never leave a generator (or a binary) of a failed test behind.
        self.kill_marked();
    }
}

/// `path` with `suffix` appended to its file name.
pub fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Lines of a file (none when it is missing).
pub fn read_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .map(|s| s.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Every failure record in the `*.jsonl` files of `dir`: each line is a document with a
/// `failures` array (a line that is itself a record counts as one record).
#[track_caller]
pub fn failure_records(dir: &Path) -> Vec<Value> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for p in names {
        let text = std::fs::read_to_string(&p).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: line does not parse: {e}", p.display()));
            match v.get("failures").and_then(Value::as_array) {
                Some(a) => out.extend(a.iter().cloned()),
                None => out.push(v),
            }
        }
    }
    out
}

/// The names passed to `create` in argv-log lines.
pub fn created_names(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("create "))
        .map(|rest| rest.split(' ').next().unwrap_or(rest).to_owned())
        .collect()
}

/// Every file and directory below `root` except the top-level names in `skip`: relative
/// path → bytes (`None` for a directory).
pub fn snapshot(root: &Path, skip: &[&str]) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if skip.contains(&rel.as_str()) {
                continue;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.insert(rel, None);
                stack.push(p);
            } else {
                out.insert(rel, Some(std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out
}
