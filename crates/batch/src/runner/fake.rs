//! The one scripted generator of the test suites (feature `test-support`; always on in this
//! crate's unit tests): a [`Runner`] that decodes tsuku's argv into a [`FakeCall`], writes the
//! recipe a real `create` writes, records every call with its tokio instant, tracks how many
//! calls are in flight, and answers with what its script returns for the call, after the
//! script's delay in tokio time (so paused-clock tests never sleep).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::exit::Exit;
use super::process::{Command, Output, Runner, RunnerError, Stop, stop_reached};

/// One call the fake received.
#[derive(Debug, Clone)]
pub struct FakeCall {
    /// When it started (tokio's clock).
    pub at: Instant,
    /// The argv after the program: `create <name> --from <source> --output <recipe> …`,
    /// `install --json --recipe <recipe> …` or `install --json --force --recipe <recipe> …`.
    pub args: Vec<String>,
    /// Earlier calls with the same argv: 0 for a first attempt, 1 for the first retry.
    pub attempt: usize,
}

impl FakeCall {
    /// `create` or `install`.
    pub fn step(&self) -> &str {
        &self.args[0]
    }

    /// The entry name: `create <name> …`, or the recipe file stem after `install`'s `--recipe`.
    pub fn name(&self) -> String {
        if self.step() == "create" {
            self.args[1].clone()
        } else {
            // `install … --recipe <recipe> …` (the main run puts it at 3, validate at 4).
            let at = self
                .args
                .iter()
                .position(|a| a == "--recipe")
                .map_or(3, |i| i + 1);
            Path::new(self.args.get(at).map_or("", String::as_str))
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        }
    }

    /// The ecosystem of a `create` call (`--from <eco>:<id>`); empty for `install`.
    pub fn ecosystem(&self) -> &str {
        if self.step() != "create" {
            return "";
        }
        self.args[3].split_once(':').map_or("", |(e, _)| e)
    }
}

/// What the fake does for one call.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Waits `after` (tokio time), then returns `output`.
    Exit {
        /// What the process "printed" and how it exited.
        output: Output,
        /// How long it "ran".
        after: Duration,
    },
    /// Never returns: a hung generator (the run is stopped or cut short around it).
    Hang,
}

impl Reply {
    /// Exit `code` at once, printing nothing.
    pub fn code(code: i32) -> Self {
        Self::output(Output {
            exit: Exit::Code(code),
            stdout: Vec::new(),
            stderr: Vec::new(),
        })
    }

    /// Returns `output` at once.
    pub fn output(output: Output) -> Self {
        Reply::Exit {
            output,
            after: Duration::ZERO,
        }
    }

    /// The same reply, after `d` of tokio time.
    #[must_use]
    pub fn after(self, d: Duration) -> Self {
        match self {
            Reply::Exit { output, .. } => Reply::Exit { output, after: d },
            Reply::Hang => Reply::Hang,
        }
    }

    /// The same reply with `stdout` (an exit only).
    #[must_use]
    pub fn stdout(self, text: impl Into<String>) -> Self {
        match self {
            Reply::Exit { mut output, after } => {
                output.stdout = text.into().into_bytes();
                Reply::Exit { output, after }
            }
            Reply::Hang => Reply::Hang,
        }
    }

    /// The same reply with `stderr` (an exit only).
    #[must_use]
    pub fn stderr(self, text: impl Into<String>) -> Self {
        match self {
            Reply::Exit { mut output, after } => {
                output.stderr = text.into().into_bytes();
                Reply::Exit { output, after }
            }
            Reply::Hang => Reply::Hang,
        }
    }
}

type Script = dyn Fn(&FakeCall) -> Reply + Send + Sync;

/// The scripted [`Runner`]; see the module docs.
pub struct ScriptedRunner {
    calls: Mutex<Vec<FakeCall>>,
    script: Box<Script>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    stop: Option<tokio::sync::watch::Receiver<Stop>>,
}

impl std::fmt::Debug for ScriptedRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedRunner")
            .field("calls", &self.calls().len())
            .finish_non_exhaustive()
    }
}

impl ScriptedRunner {
    /// A fake answering each call with `script(call)`.
    pub fn new(script: impl Fn(&FakeCall) -> Reply + Send + Sync + 'static) -> Self {
        Self {
            calls: Mutex::new(Vec::new()),
            script: Box::new(script),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            stop: None,
        }
    }

    /// The same fake, stopped as the process runner is: from [`Stop::Graceful`] on, a call
    /// still running (waiting or hung) ends at once with [`Exit::Interrupted`].
    #[must_use]
    pub fn stopped_by(mut self, stop: tokio::sync::watch::Receiver<Stop>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Every call exits 0 at once.
    pub fn ok() -> Self {
        Self::new(|_| Reply::code(0))
    }

    /// Every call takes `d` and exits 0.
    pub fn ok_after(d: Duration) -> Self {
        Self::new(move |_| Reply::code(0).after(d))
    }

    /// Every call so far, in the order they started.
    pub fn calls(&self) -> Vec<FakeCall> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The entry names of the calls of one step (`create` or `install`), in order.
    pub fn names(&self, step: &str) -> Vec<String> {
        self.calls()
            .iter()
            .filter(|c| c.step() == step)
            .map(FakeCall::name)
            .collect()
    }

    /// The most calls that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Runner for ScriptedRunner {
    async fn run(&self, cmd: Command) -> Result<Output, RunnerError> {
        let args: Vec<String> = cmd
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let call = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            let call = FakeCall {
                at: Instant::now(),
                attempt: calls.iter().filter(|c| c.args == args).count(),
                args,
            };
            calls.push(call.clone());
            call
        };
        if call.step() == "create" {
            // What the spec's OK fake does: write the recipe to `--output`.
            let p = Path::new(&call.args[5]);
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).expect("the test's output directory is writable");
            }
            std::fs::write(p, "[metadata]\n").expect("the test's output directory is writable");
        }
        let n = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(n, Ordering::SeqCst);
        let reply = (self.script)(&call);
        let interrupted = Output {
            exit: Exit::Interrupted,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        let result = match reply {
            Reply::Hang => {
                stop_reached(self.stop.as_ref(), Stop::Graceful).await;
                Ok(interrupted)
            }
            Reply::Exit { output, after } => tokio::select! {
                biased;
                () = tokio::time::sleep(after) => Ok(output),
                () = stop_reached(self.stop.as_ref(), Stop::Graceful) => Ok(interrupted),
            },
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }
}
