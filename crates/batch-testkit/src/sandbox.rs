//! [`Sandbox`]: one test's temporary directory (queue, control file and every output below a
//! unique root), the `batch-generate` command line pointing into it, and running it — to its
//! end with captured output ([`Sandbox::run`]) or as a [`Running`] child that can be
//! signalled ([`Sandbox::spawn`]).
//!
//! Two layouts share the type. [`Sandbox::new`] is the CLI layout: the binary runs in an empty
//! `cwd/`, inherits the test's environment minus the variables that steer it, uses the
//! repository's fake generator and starts without a control file. [`Sandbox::isolated`] is
//! the fault-injection layout: a clean environment carrying [`MARKER_VAR`] so every process a
//! run starts can be found (and is killed when the sandbox drops), a private copy of the fake
//! generator, and an enabled control file.
//!
//! In both layouts `PATH` starts with [`runtime_stubs`] (stub `podman` and `docker` that list
//! nothing), unless the test sets its own `PATH` ([`Sandbox::env`]): `validate`'s container
//! cleanup never reaches a real container runtime.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;
use tempfile::TempDir;

use crate::fixtures::{
    DEFAULT_CONTROL, QUEUE_UPDATED_AT, control_text, ecosystem, fake_tsuku, queue_text,
    runtime_stubs,
};
use crate::out::{Out, run_cmd};
use crate::process::{MARKER_VAR, cmdline, marked_pids, signal, wait_until};
use crate::running::Running;

/// A generous upper bound for spawned runs that are expected to finish by themselves.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);
/// Timeout of a command built by [`Sandbox::cmd`] or [`Sandbox::bare_cmd`].
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);

/// Variables of the test's own environment a CLI-layout run does not inherit (prefixes end in
/// `_`).
const STEERING_ENV: [&str; 5] = ["BATCH_", "FAKE_TSUKU_", "GITHUB_", "RUST_LOG", "CI"];

/// One test's directory and the flags that point the binary at it.
pub struct Sandbox {
    dir: TempDir,
    /// The root (canonical); everything a run may touch is below it. In the isolated layout
    /// also the marker of every process the sandbox starts.
    pub root: PathBuf,
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
    /// `FAKE_TSUKU_LOG`.
    pub log: PathBuf,
    /// `FAKE_TSUKU_STATE` (and `TMPDIR` in the isolated layout).
    pub state: PathBuf,
    /// The working directory of the binary.
    pub cwd: PathBuf,
    /// `--generator`.
    pub generator: PathBuf,
    /// Where stdout/stderr of spawned runs go (not an output of the tool).
    pub logs: PathBuf,
    bin: PathBuf,
    isolated: bool,
    pass_results: bool,
    fast: bool,
    ecosystems: BTreeSet<String>,
    env: Vec<(OsString, OsString)>,
    runs: usize,
}

impl Sandbox {
    /// The CLI layout for the binary at `bin`: a fresh root with an empty `cwd/` and `state/`,
    /// no queue and no control file yet.
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        let sb = Self::with_prefix(bin.into(), "bg-cli-");
        std::fs::create_dir_all(&sb.cwd).unwrap();
        sb
    }

    /// The isolated (fault-injection) layout for the binary at `bin`; `tag` appears in the
    /// directory name. The binary runs in the root with a clean environment, a private copy of
    /// the fake generator in `bin/` and an enabled control file.
    pub fn isolated(bin: impl Into<PathBuf>, tag: &str) -> Self {
        let mut sb = Self::with_prefix(bin.into(), &format!("bg-faults-{tag}-"));
        sb.isolated = true;
        sb.cwd = sb.root.clone();
        sb.results = sb.root.join("batch-results.json");
        std::fs::create_dir_all(&sb.logs).unwrap();
        let bindir = sb.root.join("bin");
        std::fs::create_dir_all(&bindir).unwrap();
        sb.generator = bindir.join("fake-tsuku");
        std::fs::copy(fake_tsuku(), &sb.generator).expect("copy testdata/fake-tsuku");
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&sb.generator, std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        std::fs::write(&sb.control, DEFAULT_CONTROL).unwrap();
        sb
    }

    fn with_prefix(bin: PathBuf, prefix: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("tempdir");
        let root = dir.path().canonicalize().expect("tempdir path");
        let state = root.join("state");
        std::fs::create_dir_all(&state).unwrap();
        Self {
            queue: root.join("queue.json"),
            control: root.join("batch-control.json"),
            output: root.join("recipes"),
            failures: root.join("failures"),
            results: root.join("results.json"),
            summary: root.join("summary.md"),
            log: root.join("tsuku.log"),
            logs: root.join("logs"),
            generator: fake_tsuku(),
            cwd: root.join("cwd"),
            state,
            root,
            dir,
            bin,
            isolated: false,
            pass_results: true,
            fast: true,
            ecosystems: BTreeSet::new(),
            env: Vec::new(),
            runs: 0,
        }
    }

    /// The root directory (canonical).
    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("tempdir path")
    }

    /// The binary under test.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The marker value of this sandbox's processes (isolated layout).
    pub fn marker(&self) -> String {
        self.root.to_string_lossy().into_owned()
    }

    /// Moves the queue to `rel` (under the root) and stops passing `--results`, so the results
    /// go to their default place beside the queue.
    #[must_use]
    pub fn queue_at(mut self, rel: &str) -> Self {
        self.queue = self.root().join(rel);
        self.results = self.queue.parent().unwrap().join("batch-results.json");
        self.pass_results = false;
        self
    }

    /// Writes the queue file in the tool's own format (builder form of
    /// [`Sandbox::write_queue`]).
    #[must_use]
    pub fn queue(mut self, entries: &[Value]) -> Self {
        self.write_queue(entries);
        self
    }

    /// Writes raw queue text (no ecosystems are learnt from it).
    #[must_use]
    pub fn queue_raw(mut self, text: &str) -> Self {
        self.write_queue_text(text, &[]);
        self
    }

    /// Writes the queue in the tool's format and remembers its ecosystems (zero rate limits).
    pub fn write_queue(&mut self, entries: &[Value]) {
        self.write_queue_text(&queue_text(entries, QUEUE_UPDATED_AT), entries);
    }

    /// Writes `text` as the queue (creating its directory); `entries` give the ecosystems.
    pub fn write_queue_text(&mut self, text: &str, entries: &[Value]) {
        for e in entries {
            let eco = ecosystem(e["source"].as_str().unwrap_or_default());
            if !eco.is_empty() {
                self.ecosystems.insert(eco.to_owned());
            }
        }
        if let Some(p) = self.queue.parent() {
            std::fs::create_dir_all(p).unwrap();
        }
        std::fs::write(&self.queue, text).unwrap();
    }

    /// Writes the control file (pretty JSON, keys in the order given).
    #[must_use]
    pub fn control(self, doc: Value) -> Self {
        self.control_raw(&control_text(&doc))
    }

    /// Writes raw control-file text.
    #[must_use]
    pub fn control_raw(self, text: &str) -> Self {
        std::fs::write(&self.control, text).unwrap();
        self
    }

    /// Adds an environment variable for the binary (and so the fake generator).
    #[must_use]
    pub fn env(mut self, k: &str, v: impl Into<OsString>) -> Self {
        self.set_env(k, v);
        self
    }

    /// An environment variable for every run of this sandbox (replacing an earlier value).
    pub fn set_env(&mut self, k: &str, v: impl Into<OsString>) {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.into(), v.into()));
    }

    /// `FAKE_TSUKU_MODE` for every entry (default `ok`).
    #[must_use]
    pub fn mode(self, mode: &str) -> Self {
        self.env("FAKE_TSUKU_MODE", mode)
    }

    /// `FAKE_TSUKU_RULES`: `(name glob, mode)` lines (builder form of [`Sandbox::set_rules`]).
    #[must_use]
    pub fn rules(mut self, rules: &[(&str, &str)]) -> Self {
        self.set_rules(rules);
        self
    }

    /// `FAKE_TSUKU_RULES`: `(name glob, mode)` lines, written to a file in the root.
    pub fn set_rules(&mut self, rules: &[(&str, &str)]) {
        let p = self.root.join("fake-rules");
        let text: String = rules.iter().map(|(g, m)| format!("{g} {m}\n")).collect();
        std::fs::write(&p, text).unwrap();
        self.set_env("FAKE_TSUKU_RULES", p);
    }

    /// Passes `--generator PATH` instead of the fake generator.
    #[must_use]
    pub fn generator(mut self, path: impl Into<PathBuf>) -> Self {
        self.generator = path.into();
        self
    }

    /// Keeps the built-in rate limits (no `--rate-limit` overrides).
    #[must_use]
    pub fn default_rate_limits(mut self) -> Self {
        self.fast = false;
        self
    }

    /// The standard flags: every file into the sandbox, the generator, and zero rate limits
    /// for every ecosystem of the queue.
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |k: &str, v: &Path| {
            a.push(k.into());
            a.push(v.into());
        };
        push("--queue", &self.queue);
        push("--control-file", &self.control);
        push("--output-dir", &self.output);
        push("--failures-dir", &self.failures);
        if self.pass_results {
            push("--results", &self.results);
        }
        push("--summary", &self.summary);
        push("--generator", &self.generator);
        a.extend(self.rate_args().into_iter().map(OsString::from));
        a
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

    /// `program` (then `args`) in the sandbox's environment and working directory: the
    /// layout's environment, `PATH` behind [`runtime_stubs`] (unless the sandbox sets
    /// `PATH`), `FAKE_TSUKU_MODE=ok`, `FAKE_TSUKU_LOG`, `FAKE_TSUKU_STATE` and the
    /// sandbox's variables.
    fn std_command(&self, program: &Path, args: &[OsString]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args);
        if self.isolated {
            cmd.env_clear();
            cmd.env("TMPDIR", &self.state);
            cmd.env(MARKER_VAR, self.marker());
        } else {
            for (k, _) in std::env::vars_os() {
                let k = k.to_string_lossy().into_owned();
                if STEERING_ENV.iter().any(|s| {
                    if s.ends_with('_') {
                        k.starts_with(s)
                    } else {
                        k == *s
                    }
                }) {
                    cmd.env_remove(&k);
                }
            }
        }
        if !self.env.iter().any(|(k, _)| k == "PATH") {
            cmd.env("PATH", with_runtime_stubs(std::env::var_os("PATH")));
        }
        cmd.env("FAKE_TSUKU_MODE", "ok");
        cmd.env("FAKE_TSUKU_LOG", &self.log);
        cmd.env("FAKE_TSUKU_STATE", &self.state);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.current_dir(&self.cwd);
        cmd
    }

    /// The binary in the sandbox's environment and working directory, no flags
    /// ([`CMD_TIMEOUT`]).
    pub fn bare_cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_command(&self.bin, &[]));
        cmd.timeout(CMD_TIMEOUT);
        cmd
    }

    /// `merge --fragments <fragments>` over this sandbox's files: its queue, control file,
    /// recipes (`--output-dir`), failures, results and summary. The caller adds anything else
    /// (`--json`, `--allow-missing`).
    pub fn merge_cmd(&self, fragments: &Path) -> assert_cmd::Command {
        let mut cmd = self.bare_cmd();
        cmd.arg("merge")
            .arg("--queue")
            .arg(&self.queue)
            .arg("--control-file")
            .arg(&self.control)
            .arg("--output-dir")
            .arg(&self.output)
            .arg("--failures-dir")
            .arg(&self.failures)
            .arg("--results")
            .arg(&self.results)
            .arg("--summary")
            .arg(&self.summary)
            .arg("--fragments")
            .arg(fragments);
        cmd
    }

    /// `aggregate --validation <validation>` over this sandbox's files: its queue, recipes
    /// (`--output-dir`) and failures, metrics in `<root>/metrics` and the PR text in
    /// `<root>/pr`. The caller adds `--batch-id`, `--planned-at` and anything else.
    pub fn aggregate_cmd(&self, validation: &Path) -> assert_cmd::Command {
        let mut cmd = self.bare_cmd();
        cmd.arg("aggregate")
            .arg("--validation")
            .arg(validation)
            .arg("--queue")
            .arg(&self.queue)
            .arg("--output-dir")
            .arg(&self.output)
            .arg("--failures-dir")
            .arg(&self.failures)
            .arg("--metrics-dir")
            .arg(self.root.join("metrics"))
            .arg("--pr-dir")
            .arg(self.root.join("pr"));
        cmd
    }

    /// [`Sandbox::bare_cmd`] with the standard flags ([`Sandbox::args`]).
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = self.bare_cmd();
        cmd.args(self.args());
        cmd
    }

    /// `preflight` pointed at the sandbox's queue, control file, results and `metrics/` in the
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

    /// Runs the standard command plus `args` to its end, output captured.
    pub fn run(&self, args: &[&str]) -> Out {
        let mut cmd = self.cmd();
        cmd.args(args);
        run_cmd(&mut cmd)
    }

    /// The command for spawning: `prefix` (a wrapper such as `/usr/bin/time`, may be empty),
    /// the binary, the standard flags and `extra`, plus `env`, stdin closed.
    pub fn command(&self, prefix: &[OsString], extra: &[&str], env: &[(&str, &str)]) -> Command {
        let mut args: Vec<OsString> = Vec::new();
        let program = match prefix.split_first() {
            Some((p, rest)) => {
                args.extend(rest.iter().cloned());
                args.push(self.bin.clone().into());
                PathBuf::from(p)
            }
            None => self.bin.clone(),
        };
        args.extend(self.args());
        args.extend(extra.iter().map(OsString::from));
        let mut cmd = self.std_command(&program, &args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// The binary with exactly `args` (no standard flags: a subcommand such as `validate`)
    /// in the sandbox's environment and working directory, stdin closed, for
    /// [`Sandbox::spawn_cmd`].
    pub fn bare_command(&self, args: &[&str]) -> Command {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let mut cmd = self.std_command(&self.bin, &args);
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Spawns the binary with the standard flags plus `extra` and `env`.
    pub fn spawn(&mut self, label: &str, extra: &[&str], env: &[(&str, &str)]) -> Running {
        let cmd = self.command(&[], extra, env);
        self.spawn_cmd(label, cmd)
    }

    /// Spawns a prepared command, stdout and stderr going to files under [`Sandbox::logs`].
    pub fn spawn_cmd(&mut self, label: &str, mut cmd: Command) -> Running {
        self.runs += 1;
        std::fs::create_dir_all(&self.logs).unwrap();
        let out = self.logs.join(format!("{}-{label}.out", self.runs));
        let err = self.logs.join(format!("{}-{label}.err", self.runs));
        cmd.stdout(std::fs::File::create(&out).unwrap());
        cmd.stderr(std::fs::File::create(&err).unwrap());
        let started = Instant::now();
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.bin.display()));
        Running::new(child, label, out, err, started)
    }

    /// Spawns the binary with the standard flags plus `extra` and `env` and waits for its end
    /// ([`RUN_LIMIT`] at most).
    #[track_caller]
    pub fn run_child(&mut self, label: &str, extra: &[&str], env: &[(&str, &str)]) -> Out {
        self.spawn(label, extra, env).wait(RUN_LIMIT)
    }

    /// Live processes started by this sandbox (isolated layout; the binary included while it
    /// runs).
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
}

/// `PATH` with [`runtime_stubs`] first; `inherited` (or the system directories when unset)
/// after it.
fn with_runtime_stubs(inherited: Option<OsString>) -> OsString {
    let rest = inherited.unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut dirs = vec![runtime_stubs()];
    dirs.extend(std::env::split_paths(&rest));
    std::env::join_paths(dirs).unwrap_or(rest)
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Never leave a generator (or a binary) of a failed test behind.
        if self.isolated {
            self.kill_marked();
        }
    }
}
