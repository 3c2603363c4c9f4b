//! The sandbox shapes of tsuku's `buildSandboxJSONOutput` (`cmd/tsuku/install_sandbox.go`)
//! as `printJSON` writes them (2-space indent, the struct's key order, `omitempty` outputs),
//! and the host errors that mean the machine, through the validation reader (issue #22).
//! The expected verdicts are written from tsuku's source, not from a run of this reader.

use std::path::Path;

use super::read::{MAX_VALIDATION_MESSAGE_BYTES, read};
use crate::generator::{Job, Reading};
use crate::runner::{Exit, Output};
use crate::validate::Family;

/// A `sandboxJSONOutput` as `printJSON` writes it.
struct Sbx<'a> {
    passed: bool,
    verified: bool,
    install: i32,
    verify: i32,
    install_output: &'a str,
    verify_output: &'a str,
    error: Option<&'a str>,
}

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

impl Sbx<'_> {
    fn pretty(&self) -> String {
        let mut s = format!(
            "{{\n  \"tool\": \"bat\",\n  \"passed\": {},\n  \"verified\": {},\n  \"install_exit_code\": {},\n  \"verify_exit_code\": {},\n",
            self.passed, self.verified, self.install, self.verify
        );
        if !self.install_output.is_empty() {
            s += &format!("  \"install_output\": {},\n", q(self.install_output));
        }
        if !self.verify_output.is_empty() {
            s += &format!("  \"verify_output\": {},\n", q(self.verify_output));
        }
        s += "  \"duration_ms\": 48213,\n";
        s += &format!(
            "  \"error\": {}\n}}\n",
            self.error.map_or_else(|| "null".to_owned(), q)
        );
        s
    }
}

const SBX: Sbx<'static> = Sbx {
    passed: false,
    verified: false,
    install: -1,
    verify: -1,
    install_output: "",
    verify_output: "",
    error: None,
};

fn sandbox(exit: i32, s: &Sbx<'_>, stderr: &str) -> Reading {
    let out = Output {
        exit: Exit::Code(exit),
        stdout: s.pretty().into_bytes(),
        stderr: stderr.as_bytes().to_vec(),
    };
    let job = Job::Validate {
        recipe: Path::new("/r/b/bat.toml"),
        family: Some(Family::Debian),
    };
    read(&job, &out, false)
}

#[test]
fn sandbox_shapes_read_as_tsuku_means_them() {
    // Passed, with a verify command (0) and without one (-1).
    for verify in [0, -1] {
        let r = sandbox(
            0,
            &Sbx {
                passed: true,
                verified: true,
                install: 0,
                verify,
                ..SBX
            },
            "",
        );
        assert!(r.passed() && r.code == 0, "{r:?}");
    }

    // Verify failed: install step 0, exit 6 (`emitSandboxJSON`), a failure with code 7.
    let r = sandbox(
        6,
        &Sbx {
            install: 0,
            verify: 1,
            verify_output: "bat: error while loading shared libraries: libgit2.so.1",
            error: Some("verification failed with exit code 1"),
            ..SBX
        },
        "",
    );
    let f = r.failure.as_ref().expect("a verify failure fails");
    assert_eq!(
        (r.code, r.verify_exit_code, r.transient),
        (7, Some(1), false)
    );
    assert_eq!(f.category.as_str(), "verify_failed");
    assert_eq!(
        f.message,
        "verification failed with exit code 1\nbat: error while loading shared libraries: libgit2.so.1"
    );
    assert!(r.unavailable.is_none());

    // Install step failed: its code, its output's tail.
    let r = sandbox(
        6,
        &Sbx {
            install: 6,
            install_output: "cargo build --release\nerror[E0432]: unresolved import",
            error: Some("installation failed with exit code 6"),
            ..SBX
        },
        "",
    );
    let f = r.failure.as_ref().expect("an install failure fails");
    assert_eq!(
        (r.code, f.category.as_str(), r.verify_exit_code),
        (6, "install_failed", None)
    );
    assert_eq!(
        f.message,
        "installation failed with exit code 6\ncargo build --release\nerror[E0432]: unresolved import"
    );
    // The container's own network code is retried like the host's.
    let r = sandbox(
        6,
        &Sbx {
            install: 5,
            error: Some("installation failed with exit code 5"),
            ..SBX
        },
        "",
    );
    assert!(r.transient && r.code == 5);

    // No container runtime: exit 0, install -1; the machine, not the recipe.
    let r = sandbox(
        0,
        &Sbx {
            error: Some("no container runtime available (install Podman or Docker)"),
            ..SBX
        },
        "",
    );
    assert_eq!(
        (r.failure.as_ref(), r.unavailable.as_deref(), r.passed()),
        (
            None,
            Some("no container runtime available (install Podman or Docker)"),
            false
        )
    );

    // The container could not run at all.
    let r = sandbox(
        6,
        &Sbx {
            error: Some(
                "container execution failed: exec: \"podman\": executable file not found in $PATH",
            ),
            ..SBX
        },
        "",
    );
    assert!(r.failure.is_none());
    assert!(
        r.unavailable
            .as_deref()
            .unwrap()
            .starts_with("container execution failed: exec:")
    );

    // tsuku's own container limit: a timeout of the recipe, never transient.
    for error in [
        "container execution timed out: context deadline exceeded",
        "installation failed with exit code -1",
    ] {
        let r = sandbox(
            6,
            &Sbx {
                install_output: "Compiling syn v2.0.0",
                error: Some(error),
                ..SBX
            },
            "",
        );
        let f = r.failure.as_ref().expect("a timeout fails");
        assert_eq!(
            (r.code, f.subcategory.as_str(), r.transient),
            (124, "timeout", false),
            "{error}"
        );
        assert!(
            r.unavailable.is_none() && f.message.starts_with(error),
            "{error}"
        );
    }

    // A long build log: at most 1 KiB, the error first, the log's end kept.
    let log = format!("{}\nmake: *** [all] Error 2", "x".repeat(20_000));
    let r = sandbox(
        6,
        &Sbx {
            install: 2,
            install_output: &log,
            error: Some("installation failed with exit code 2"),
            ..SBX
        },
        "",
    );
    let m = &r.failure.as_ref().unwrap().message;
    assert!(m.len() <= MAX_VALIDATION_MESSAGE_BYTES, "{}", m.len());
    assert!(
        m.starts_with("installation failed with exit code 2\n...xxx"),
        "{m}"
    );
    assert!(m.ends_with("make: *** [all] Error 2"), "{m}");

    // Compact JSON reads as the pretty one.
    let compact = br#"{"tool":"bat","passed":false,"verified":false,"install_exit_code":0,"verify_exit_code":3,"duration_ms":1,"error":"verification failed with exit code 3"}"#;
    let out = Output {
        exit: Exit::Code(6),
        stdout: compact.to_vec(),
        stderr: Vec::new(),
    };
    let job = Job::Validate {
        recipe: Path::new("/r/b/bat.toml"),
        family: Some(Family::Alpine),
    };
    let r = read(&job, &out, false);
    assert_eq!((r.code, r.verify_exit_code), (7, Some(3)));

    // `passed` alone is not enough: the process must exit 0 too.
    let r = sandbox(
        6,
        &Sbx {
            passed: true,
            verified: true,
            install: 0,
            verify: 0,
            ..SBX
        },
        "Error: boom",
    );
    assert!(!r.passed() && r.code == 6, "{r:?}");
}

#[test]
fn machine_errors_are_unavailable() {
    let job = Job::Validate {
        recipe: Path::new("/r/b/bat.toml"),
        family: Some(Family::Rhel),
    };
    let host = |message: &str| {
        format!(
            "{{\n  \"status\": \"error\",\n  \"category\": \"install_failed\",\n  \"message\": {},\n  \"missing_recipes\": [],\n  \"install_exit_code\": 6\n}}\n",
            q(message)
        )
    };
    let run = |exit: i32, stdout: String, stderr: &str| {
        read(
            &job,
            &Output {
                exit: Exit::Code(exit),
                stdout: stdout.into_bytes(),
                stderr: stderr.as_bytes().to_vec(),
            },
            false,
        )
    };
    let r = run(
        6,
        host("sandbox execution failed: failed to detect container runtime: permission denied"),
        "",
    );
    assert_eq!(
        r.unavailable.as_deref(),
        Some("sandbox execution failed: failed to detect container runtime: permission denied")
    );
    assert!(r.failure.is_none());
    // An image build installs the recipe's own packages: the recipe's failure.
    let r = run(
        6,
        host("sandbox execution failed: failed to build container image: apt-get exited 100"),
        "",
    );
    assert!(r.unavailable.is_none() && r.code == 6);
    for code in [11, 12, 14] {
        let r = run(code, String::new(), "Error: something machine-wide\n");
        let why = r.unavailable.expect("exit 11/12/14 is the machine");
        assert!(why.starts_with(&format!("tsuku exited {code} (")), "{why}");
        assert!(why.ends_with(": Error: something machine-wide"), "{why}");
        assert!(r.failure.is_none());
    }
    // Exit 13 (user declined) is not one of them.
    assert!(run(13, String::new(), "").unavailable.is_none());
}

/// Which outputs leave a container running after tsuku's own deadline
/// (`Generator::abandons_container`): only the two sandbox timeout shapes of a process that
/// ended by itself.
#[test]
fn only_tsukus_own_container_timeout_abandons_a_container() {
    use crate::generator::Generator as _;
    let tsuku = super::Tsuku::for_validation(&crate::validate::ValidateConfig::new(
        crate::validate::JobPlatform::LinuxX86_64,
        "b",
    ));
    let out = |exit: Exit, stdout: String| Output {
        exit,
        stdout: stdout.into_bytes(),
        stderr: Vec::new(),
    };
    for error in [
        "container execution timed out: context deadline exceeded",
        "installation failed with exit code -1",
    ] {
        let s = Sbx {
            install_output: "Compiling syn v2.0.0",
            error: Some(error),
            ..SBX
        };
        assert!(
            tsuku.abandons_container(&out(Exit::Code(6), s.pretty())),
            "{error}"
        );
        // Killed by our own guard: the runner's timeout, not this rule, cleans.
        assert!(!tsuku.abandons_container(&out(
            Exit::TimedOut(std::time::Duration::from_secs(1)),
            s.pretty()
        )));
    }
    let not = [
        // The container's install step itself exited 124: it ended, nothing left running.
        Sbx {
            install: 124,
            error: Some("installation failed with exit code 124"),
            ..SBX
        },
        Sbx {
            error: Some("no container runtime available (install Podman or Docker)"),
            ..SBX
        },
        Sbx {
            install: 0,
            verify: 1,
            error: Some("verification failed with exit code 1"),
            ..SBX
        },
        Sbx {
            passed: true,
            verified: true,
            install: 0,
            verify: 0,
            ..SBX
        },
    ];
    for s in &not {
        assert!(
            !tsuku.abandons_container(&out(Exit::Code(6), s.pretty())),
            "{}",
            s.pretty()
        );
    }
    // Host output and no JSON.
    let host = "{\n  \"status\": \"error\",\n  \"category\": \"install_failed\",\n  \"message\": \"timeout\",\n  \"missing_recipes\": [],\n  \"install_exit_code\": 124\n}\n";
    assert!(!tsuku.abandons_container(&out(Exit::Code(124), host.to_owned())));
    assert!(!tsuku.abandons_container(&out(Exit::Code(124), String::new())));
}
