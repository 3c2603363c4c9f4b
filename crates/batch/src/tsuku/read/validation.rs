//! How a validation install (`tsuku install --json --force --recipe R [--sandbox
//! --target-family F]`, spec §7.3, issue #22) reads: pass, a failure of the recipe, or a
//! machine that cannot run installs at all.
//!
//! The verdict is a pass only when the process exits 0 and, for sandbox output, `passed` is
//! true (`cmd/tsuku/install_sandbox.go`, `emitSandboxJSON` exits 0 also when no container
//! runtime was found). The cases, by what tsuku printed:
//!
//! - exit 11, 12 or 14 (`cmd/tsuku/exitcodes.go`: index not built, not interactive,
//!   forbidden): unavailable, whatever the output;
//! - the sandbox object ([`SandboxJson`]): `passed` → pass; `no container runtime available`
//!   (exit 0) → unavailable; `container execution timed out` (`internal/validate/runtime.go`,
//!   `Run`) → a timeout, code 124; any other `error` with no install step
//!   (`container execution failed: …`) → unavailable; `installation failed with exit code -1`
//!   (Go's `exec` reports a container client killed by tsuku's own deadline as exit −1) → a
//!   timeout, code 124; `installation failed with exit code N` → failure with code N;
//!   `verification failed with exit code N` → failure `verify_failed`, code 7 (tsuku's
//!   `ExitVerifyFailed`) with `verify_exit_code` N;
//! - the host error object ([`HostJson`], `cmd/tsuku/install.go`, `handleInstallError`): a
//!   `message` `sandbox execution failed: failed to detect container runtime…` (or another of
//!   [`MACHINE_ERRORS`], `internal/sandbox/executor.go`, `Sandbox`) → unavailable; else the code
//!   is `install_exit_code` (`classifyInstallError`), `missing_recipes` the `blocked_by` on 8;
//! - no JSON: the process's code (128 + N for signal N), the message from stderr.
//!
//! Messages are at most [`MAX_VALIDATION_MESSAGE_BYTES`]: tsuku's `message`, else its `error`
//! followed by as much of the tail of `install_output` / `verify_output` as fits, else stderr
//! without tsuku's notices ([`super::is_notice`]).

use std::time::Duration;

use super::json::{self, HostJson, InstallJson, SandboxJson};
use super::{MISSING_DEP_EXIT_CODE, NETWORK_EXIT_CODE, TIMEOUT_EXIT_CODE, category, is_notice};
use crate::generator::{Category, Failure, Reading};
use crate::runner::{Exit, Output};
use crate::text::{head_bytes, tail_bytes};

/// Most bytes of a validation row's `message` (issue #22: 1 KiB).
pub(crate) const MAX_VALIDATION_MESSAGE_BYTES: usize = 1024;
/// The code of a row whose sandbox verify step failed: tsuku's `ExitVerifyFailed`
/// (`cmd/tsuku/exitcodes.go`), issue #22.
pub(crate) const VERIFY_FAILED_EXIT_CODE: i32 = 7;
/// tsuku exit codes that say the machine cannot install anything (`cmd/tsuku/exitcodes.go`:
/// `ExitIndexNotBuilt`, `ExitNotInteractive`, `ExitForbidden`), with their names.
pub(crate) const MACHINE_EXIT_CODES: [(i32, &str); 3] = [
    (11, "index not built"),
    (12, "not interactive"),
    (14, "forbidden"),
];
/// `error` of a sandbox run skipped for want of a runtime (`buildSandboxJSONOutput`).
const NO_RUNTIME: &str = "no container runtime available";
/// `error` prefix of a container that ran past tsuku's own limit (`internal/validate/runtime.go`).
const CONTAINER_TIMED_OUT: &str = "container execution timed out";
/// `error` prefixes of a container that ran: its install or verify step failed.
const STEP_FAILED: [&str; 2] = [
    "installation failed with exit code",
    "verification failed with exit code",
];
/// Host `message` prefix of every `Sandbox` error (`cmd/tsuku/install_sandbox.go`).
const SANDBOX_FAILED: &str = "sandbox execution failed: ";
/// The `Sandbox` errors (`internal/sandbox/executor.go`) that depend on the machine, not on the
/// recipe: the runtime, the image store and the workspace. Image builds (`failed to build
/// container image`, `failed to build foundation image`, `failed to derive container spec`)
/// install the recipe's own system packages and dependencies, so they stay recipe failures.
pub(crate) const MACHINE_ERRORS: [&str; 7] = [
    "failed to detect container runtime",
    "failed to check image existence",
    "failed to create workspace directory",
    "failed to create cache directory",
    "failed to create output directory",
    "failed to write plan file",
    "failed to write sandbox script",
];

/// The code of a process that reported none: 128 + N for signal N, 124 for a timeout.
fn process_code(exit: Exit) -> i32 {
    match exit {
        Exit::Code(c) => c,
        Exit::Signal(n) => 128 + n,
        Exit::TimedOut(_) => TIMEOUT_EXIT_CODE,
        Exit::Interrupted => -1,
    }
}

/// Cuts `text` (trimmed) to at most `max` bytes, keeping its head and ending in `...`.
pub(crate) fn cut_head(text: &str, max: usize) -> String {
    let t = text.trim();
    if t.len() <= max {
        return t.to_owned();
    }
    format!("{}...", head_bytes(t, max.saturating_sub(3)))
}

/// Cuts `text` (trimmed) to at most `max` bytes, keeping its tail and starting with `...`.
pub(crate) fn cut_tail(text: &str, max: usize) -> String {
    let t = text.trim();
    if t.len() <= max {
        return t.to_owned();
    }
    format!("...{}", tail_bytes(t, max.saturating_sub(3)))
}

/// stderr without tsuku's notices, cut to the row's limit; the whole stderr when nothing else
/// is left.
fn stderr_message(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let kept: Vec<&str> = text.lines().filter(|l| !is_notice(l)).collect();
    let kept = kept.join("\n");
    let pick = if kept.trim().is_empty() {
        &*text
    } else {
        &kept
    };
    cut_head(pick, MAX_VALIDATION_MESSAGE_BYTES)
}

/// `error`, then as much of the tail of `output` as fits in the row's limit.
fn error_and_tail(error: &str, output: &str) -> String {
    let head = cut_head(error, MAX_VALIDATION_MESSAGE_BYTES);
    let out = output.trim();
    if out.is_empty() {
        return head;
    }
    if head.is_empty() {
        return cut_tail(out, MAX_VALIDATION_MESSAGE_BYTES);
    }
    // Room for the newline and at least a line's worth of output.
    let room = MAX_VALIDATION_MESSAGE_BYTES.saturating_sub(head.len() + 1);
    if room < 64 {
        return head;
    }
    format!("{head}\n{}", cut_tail(out, room))
}

fn unavailable(code: i32, reason: String) -> Reading {
    Reading {
        code,
        transient: false,
        connect_failed: false,
        failure: None,
        unavailable: Some(cut_head(&reason, MAX_VALIDATION_MESSAGE_BYTES)),
        verify_exit_code: None,
    }
}

fn passed() -> Reading {
    Reading {
        code: 0,
        transient: false,
        connect_failed: false,
        failure: None,
        unavailable: None,
        verify_exit_code: None,
    }
}

fn timeout(subject: String) -> Reading {
    Reading {
        code: TIMEOUT_EXIT_CODE,
        transient: false,
        connect_failed: false,
        failure: Some(Failure {
            category: Category::InstallFailed,
            subcategory: "timeout".into(),
            blocked_by: Vec::new(),
            message: subject,
            blocked: false,
        }),
        unavailable: None,
        verify_exit_code: None,
    }
}

/// A failure with `code`: transient on 5 ([`NETWORK_EXIT_CODE`]), `network_error` once no
/// retry is left, blocked on `missing_dep` / `recipe_not_found`; `connect_failed` when
/// transient and `message` says the dial failed.
fn failed(
    code: i32,
    subcategory: String,
    blocked_by: Vec<String>,
    message: String,
    last: bool,
) -> Reading {
    let transient = code == NETWORK_EXIT_CODE;
    let exhausted = transient && last;
    let category = if exhausted {
        Category::NetworkError
    } else {
        category(code)
    };
    Reading {
        code,
        transient,
        connect_failed: transient && super::network::connect_failed(&message),
        failure: Some(Failure {
            category,
            subcategory,
            blocked_by,
            message,
            blocked: !exhausted
                && matches!(category, Category::MissingDep | Category::RecipeNotFound),
        }),
        unavailable: None,
        verify_exit_code: None,
    }
}

/// Reads a validation install (see the module docs); `last` when no retry remains.
pub(crate) fn read_validation(out: &Output, last: bool) -> Reading {
    if let Exit::TimedOut(after) = out.exit {
        let secs = Duration::as_secs_f64(&after);
        // `timed out after 1s`, then `: <stderr>` when the killed process said anything.
        let said = stderr_message(&out.stderr);
        let message = if said.is_empty() {
            format!("timed out after {secs}s")
        } else {
            format!("timed out after {secs}s: {said}")
        };
        return timeout(cut_head(&message, MAX_VALIDATION_MESSAGE_BYTES));
    }
    let code = process_code(out.exit);
    let parsed = json::parse(&out.stdout);
    if let Some((_, name)) = MACHINE_EXIT_CODES.iter().find(|(c, _)| *c == code) {
        let said = match &parsed {
            InstallJson::Host(h) if !h.message.is_empty() => h.message.clone(),
            _ => stderr_message(&out.stderr),
        };
        let reason = format!("tsuku exited {code} ({name})");
        let said = said.trim();
        return unavailable(
            code,
            if said.is_empty() {
                reason
            } else {
                format!("{reason}: {said}")
            },
        );
    }
    match parsed {
        InstallJson::Sandbox(s) => read_sandbox(out, &s, last),
        InstallJson::Host(h) => read_host(out, h, last),
        InstallJson::None => {
            if code == 0 {
                passed()
            } else {
                failed(
                    code,
                    String::new(),
                    Vec::new(),
                    stderr_message(&out.stderr),
                    last,
                )
            }
        }
    }
}

/// Whether `out` is a sandbox install that tsuku's own container deadline ended (the two
/// timeout cases of [`read_sandbox`]: `container execution timed out`, `installation failed
/// with exit code -1`): the process exited by itself and its reading is a timeout (code 124,
/// subcategory `timeout`). Its `docker|podman run` client was killed, the container may
/// still run (issue #22). False for a process killed by our own `--timeout`
/// ([`Exit::TimedOut`]), for a container step that itself exited 124 (no subcategory), for
/// host output and for no JSON.
pub(crate) fn abandons_container(out: &Output) -> bool {
    if !matches!(out.exit, Exit::Code(_))
        || !matches!(json::parse(&out.stdout), InstallJson::Sandbox(_))
    {
        return false;
    }
    let r = read_validation(out, true);
    r.code == TIMEOUT_EXIT_CODE
        && r.failure
            .is_some_and(|f| f.subcategory == "timeout" && f.category == Category::InstallFailed)
}

/// The sandbox object (`buildSandboxJSONOutput`'s table on [`SandboxJson`]).
fn read_sandbox(out: &Output, s: &SandboxJson, last: bool) -> Reading {
    let process = process_code(out.exit);
    if s.passed && process == 0 {
        return passed();
    }
    let error = s.error.as_deref().unwrap_or("").trim();
    let install = s.install_exit_code.unwrap_or(-1);
    if error.starts_with(NO_RUNTIME) {
        return unavailable(process, error.to_owned());
    }
    if error.starts_with(CONTAINER_TIMED_OUT) {
        return timeout(error_and_tail(error, &s.install_output));
    }
    if !error.is_empty() && install == -1 && !STEP_FAILED.iter().any(|p| error.starts_with(p)) {
        return unavailable(process, error.to_owned());
    }
    if install == -1 {
        // "installation failed with exit code -1": the container client was killed, which is
        // how tsuku's own container deadline ends (`exec.CommandContext`).
        return timeout(error_and_tail(error, &s.install_output));
    }
    if install != 0 {
        return failed(
            install,
            String::new(),
            Vec::new(),
            error_and_tail(error, &s.install_output),
            last,
        );
    }
    if !s.passed {
        let verify = s.verify_exit_code.unwrap_or(-1);
        return Reading {
            code: VERIFY_FAILED_EXIT_CODE,
            transient: false,
            connect_failed: false,
            failure: Some(Failure {
                category: Category::VerifyFailed,
                subcategory: String::new(),
                blocked_by: Vec::new(),
                message: error_and_tail(error, &s.verify_output),
                blocked: false,
            }),
            unavailable: None,
            verify_exit_code: Some(verify),
        };
    }
    // `passed` but a non-zero exit: not a combination tsuku writes; the process decides.
    failed(
        process,
        String::new(),
        Vec::new(),
        stderr_message(&out.stderr),
        last,
    )
}

/// The host error object (`handleInstallError`).
fn read_host(out: &Output, h: HostJson, last: bool) -> Reading {
    let process = process_code(out.exit);
    if let Some(rest) = h.message.strip_prefix(SANDBOX_FAILED)
        && MACHINE_ERRORS.iter().any(|p| rest.starts_with(p))
    {
        return unavailable(h.install_exit_code.unwrap_or(process), h.message);
    }
    let code = h.install_exit_code.filter(|c| *c != 0).unwrap_or(process);
    if code == 0 {
        return passed();
    }
    let message = if h.message.trim().is_empty() {
        stderr_message(&out.stderr)
    } else {
        cut_head(&h.message, MAX_VALIDATION_MESSAGE_BYTES)
    };
    let blocked_by = if code == MISSING_DEP_EXIT_CODE {
        h.missing_recipes
    } else {
        Vec::new()
    };
    failed(code, h.subcategory, blocked_by, message, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_keep_characters_whole_and_stay_within_the_limit() {
        assert_eq!(cut_head("  short \n", 10), "short");
        assert_eq!(cut_tail("  short \n", 10), "short");
        // "€" is 3 bytes; no cut may split it.
        let s = format!("{}€{}", "a".repeat(6), "b".repeat(6));
        for max in 3..s.len() {
            let h = cut_head(&s, max);
            let t = cut_tail(&s, max);
            assert!(h.len() <= max && h.ends_with("..."), "{max}: {h}");
            assert!(t.len() <= max && t.starts_with("..."), "{max}: {t}");
        }
        assert_eq!(cut_head(&s, 10), "aaaaaa...");
        assert_eq!(cut_tail(&s, 10), "...bbbbbb");
        assert_eq!(cut_tail(&s, 12), "...€bbbbbb");
        // Limits below the ellipsis never panic.
        assert_eq!(cut_head("abcdef", 1), "...");
        assert_eq!(cut_tail("abcdef", 0), "...");
    }

    #[test]
    fn error_then_as_much_tail_as_fits() {
        assert_eq!(error_and_tail("e", ""), "e");
        assert_eq!(error_and_tail("", "out"), "out");
        let long = format!("{}END", "x".repeat(5000));
        let m = error_and_tail("installation failed with exit code 2", &long);
        assert_eq!(m.len(), MAX_VALIDATION_MESSAGE_BYTES);
        assert!(m.starts_with("installation failed with exit code 2\n...x") && m.ends_with("xEND"));
    }
}
