//! Unit tests of [`super::ContainerCleanup`] with a scripted runner and a paused tokio clock.

use std::sync::Arc;

use super::*;

const SECS: fn(u64) -> Duration = Duration::from_secs;

type Script = dyn Fn(&str) -> (Exit, &'static str, &'static str, Duration) + Send + Sync;

/// Records `<program file name> <args>` of every call and answers from its script:
/// (exit, stdout, stderr, after) in tokio time.
struct Fake {
    calls: Mutex<Vec<String>>,
    script: Box<Script>,
}

impl Fake {
    fn new(
        script: impl Fn(&str) -> (Exit, &'static str, &'static str, Duration) + Send + Sync + 'static,
    ) -> Self {
        Self {
            calls: Mutex::new(Vec::new()),
            script: Box::new(script),
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Runner for Fake {
    async fn run(&self, cmd: Command) -> Result<Output, RunnerError> {
        let mut line = cmd
            .program
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for a in &cmd.args {
            line.push(' ');
            line.push_str(&a.to_string_lossy());
        }
        if line.starts_with("podman") || line.starts_with("docker") {
            assert_eq!(cmd.timeout, CLEANUP_TIMEOUT, "{line}");
        }
        self.calls.lock().unwrap().push(line.clone());
        let (exit, stdout, stderr, after) = (self.script)(&line);
        tokio::time::sleep(after).await;
        Ok(Output {
            exit,
            stdout: stdout.into(),
            stderr: stderr.into(),
        })
    }
}

fn install(recipe: &str) -> Command {
    Command {
        program: PathBuf::from("/bin/tsuku"),
        args: [
            "install",
            "--json",
            "--force",
            "--recipe",
            &format!("/r/{}/{recipe}.toml", &recipe[..1]),
            "--sandbox",
            "--target-family",
            "debian",
        ]
        .into_iter()
        .map(OsString::from)
        .collect(),
        env: Vec::new(),
        current_dir: None,
        timeout: SECS(1800),
        merge_output: false,
    }
}

fn runtimes() -> Vec<PathBuf> {
    vec![
        PathBuf::from("/usr/bin/podman"),
        PathBuf::from("/usr/bin/docker"),
    ]
}

const PS: &str = "ps -q --filter label=io.tsuku.sandbox=true";

/// Installs named `gone*` exit 6 after 3 s printing `abandoned` (what [`Abandons`] reads as
/// the generator's own container timeout), `slow*` time out after 10 s, `long*` exit 0 after 20 s, `quick*` exit 6
/// after 2 s, others exit 6 at once; podman cannot reach its service; docker lists two containers after `ps_after`.
fn script(ps_after: Duration) -> impl Fn(&str) -> (Exit, &'static str, &'static str, Duration) {
    move |line: &str| {
        if line.starts_with("podman") {
            (
                Exit::Code(125),
                "",
                "\nError: unable to connect to Podman socket\n",
                SECS(0),
            )
        } else if line == format!("docker {PS}") {
            (Exit::Code(0), "0123abcd\n\n  4567ef01 \n", "", ps_after)
        } else if line.starts_with("docker rm") {
            (Exit::Code(0), "0123abcd\n4567ef01\n", "", SECS(0))
        } else if line.contains("/gone") {
            (Exit::Code(6), "abandoned", "", SECS(3))
        } else if line.contains("/slow") {
            (Exit::TimedOut(SECS(10)), "", "", SECS(10))
        } else if line.contains("/long") {
            (Exit::Code(0), "", "", SECS(20))
        } else if line.contains("/quick") {
            (Exit::Code(6), "", "", SECS(2))
        } else {
            (Exit::Code(6), "", "", SECS(0))
        }
    }
}

fn collect() -> (Arc<Mutex<Vec<Cleanup>>>, impl Fn(&Cleanup) + Sync) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    (seen, move |c: &Cleanup| s.lock().unwrap().push(c.clone()))
}

#[tokio::test(start_paused = true)]
async fn an_install_killed_alone_has_its_containers_removed_by_each_runtime() {
    let fake = Fake::new(script(SECS(0)));
    let (seen, f) = collect();
    let runner = ContainerCleanup::new(&fake, runtimes()).on_cleanup(&f);
    // A failure that is not a timeout leaves the containers to tsuku's `--rm`.
    let out = runner.run(install("bat")).await.unwrap();
    assert_eq!(out.exit, Exit::Code(6));
    assert_eq!(fake.calls().len(), 1);
    assert!(seen.lock().unwrap().is_empty());

    let out = runner.run(install("slow")).await.unwrap();
    // The row still sees the timeout.
    assert_eq!(out.exit, Exit::TimedOut(SECS(10)));
    assert_eq!(
        fake.calls()[1..],
        [
            "tsuku install --json --force --recipe /r/s/slow.toml --sandbox --target-family debian"
                .to_owned(),
            format!("podman {PS}"),
            format!("docker {PS}"),
            "docker rm -f 0123abcd 4567ef01".to_owned(),
        ]
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            Cleanup {
                install: "slow@debian".into(),
                outcome: CleanupOutcome::Failed {
                    runtime: "/usr/bin/podman".into(),
                    step: "ps",
                    reason: "exit 125: Error: unable to connect to Podman socket".into(),
                },
            },
            Cleanup {
                install: "slow@debian".into(),
                outcome: CleanupOutcome::Removed {
                    runtime: "/usr/bin/docker".into(),
                    ids: vec!["0123abcd".into(), "4567ef01".into()],
                },
            },
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn containers_are_left_when_another_install_ran_at_the_same_time() {
    let fake = Fake::new(script(SECS(0)));
    let (seen, f) = collect();
    let runner = ContainerCleanup::new(&fake, runtimes()).on_cleanup(&f);
    // slow (0-10 s) overlaps long (0-20 s); slow2 (0-10 s) then times out while long is
    // still running, and slow3 started after long ended, alone.
    let (a, b) = tokio::join!(runner.run(install("slow")), runner.run(install("long")));
    assert_eq!(a.unwrap().exit, Exit::TimedOut(SECS(10)));
    assert_eq!(b.unwrap().exit, Exit::Code(0));
    assert!(fake.calls().iter().all(|c| c.starts_with("tsuku")));
    let shared = |i: &str| Cleanup {
        install: i.into(),
        outcome: CleanupOutcome::Shared,
    };
    assert_eq!(*seen.lock().unwrap(), [shared("slow@debian")]);

    // An install that started while another ran stays shared after the other ended.
    let (a, b) = tokio::join!(runner.run(install("quick")), runner.run(install("slow2")));
    assert_eq!(
        (a.unwrap().exit, b.unwrap().exit),
        (Exit::Code(6), Exit::TimedOut(SECS(10)))
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(seen.lock().unwrap()[1], shared("slow2@debian"));
    assert!(fake.calls().iter().all(|c| c.starts_with("tsuku")));

    runner.run(install("slow3")).await.unwrap();
    assert_eq!(
        fake.calls().last().unwrap(),
        "docker rm -f 0123abcd 4567ef01"
    );
}

#[tokio::test(start_paused = true)]
async fn a_sibling_started_during_the_listing_stops_the_removal() {
    let fake = Fake::new(script(SECS(5)));
    let (seen, f) = collect();
    let runner = ContainerCleanup::new(&fake, runtimes()).on_cleanup(&f);
    let late = async {
        // slow times out at 10 s; docker's listing runs from 10 s to 15 s.
        tokio::time::sleep(SECS(12)).await;
        runner.run(install("bat")).await
    };
    let (a, _) = tokio::join!(runner.run(install("slow")), late);
    assert_eq!(a.unwrap().exit, Exit::TimedOut(SECS(10)));
    assert!(
        !fake.calls().iter().any(|c| c.starts_with("docker rm")),
        "{:?}",
        fake.calls()
    );
    let outcomes: Vec<CleanupOutcome> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.outcome.clone())
        .collect();
    assert!(matches!(
        outcomes[0],
        CleanupOutcome::Failed { step: "ps", .. }
    ));
    assert_eq!(outcomes[1..], [CleanupOutcome::Shared]);
}

#[tokio::test(start_paused = true)]
async fn without_a_runtime_the_cleanup_says_so_and_a_failed_removal_is_reported() {
    let fake = Fake::new(script(SECS(0)));
    let (seen, f) = collect();
    ContainerCleanup::new(&fake, Vec::new())
        .on_cleanup(&f)
        .run(install("slow"))
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap()[0].outcome, CleanupOutcome::NoRuntime);
    assert_eq!(fake.calls().len(), 1);

    let stuck = Fake::new(|line: &str| {
        if line.starts_with("docker rm") {
            (Exit::TimedOut(CLEANUP_TIMEOUT), "", "", CLEANUP_TIMEOUT)
        } else {
            script(SECS(0))(line)
        }
    });
    let (seen, f) = collect();
    ContainerCleanup::new(&stuck, vec![PathBuf::from("/usr/bin/docker")])
        .on_cleanup(&f)
        .run(install("slow"))
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap()[0].outcome,
        CleanupOutcome::Failed {
            runtime: "/usr/bin/docker".into(),
            step: "rm",
            reason: "timed out after 30s".into(),
        }
    );
}

#[test]
fn only_plain_ids_are_passed_to_rm_and_installs_are_named_by_recipe_and_family() {
    assert_eq!(
        container_ids(b"abc123\n--all\n\n  DEF456  \n$(x)\nid with space\n"),
        ["abc123", "DEF456"]
    );
    assert!(container_ids(b"").is_empty());
    assert_eq!(install_name(&install("bat").args), "bat@debian");
    let mac: Vec<OsString> = ["install", "--json", "--force", "--recipe", "/r/j/jq.toml"]
        .into_iter()
        .map(OsString::from)
        .collect();
    assert_eq!(install_name(&mac), "jq");
    assert_eq!(install_name(&[]), "install");
}

/// A generator that reads stdout `abandoned` as its own container timeout.
struct Abandons;

impl Generator for Abandons {
    fn command(&self, _: &crate::generator::Job<'_>) -> Command {
        install("unused")
    }

    fn read(
        &self,
        _: &crate::generator::Job<'_>,
        _: &Output,
        _: bool,
    ) -> crate::generator::Reading {
        crate::generator::Reading {
            code: 0,
            transient: false,
            failure: None,
            unavailable: None,
            verify_exit_code: None,
            connect_failed: false,
        }
    }

    fn abandons_container(&self, output: &Output) -> bool {
        output.stdout == b"abandoned"
    }
}

#[tokio::test(start_paused = true)]
async fn an_install_the_generator_says_abandoned_its_container_is_cleaned_like_a_timeout() {
    // Without the generator, an install that exited by itself is never cleaned.
    let fake = Fake::new(script(SECS(0)));
    let (seen, f) = collect();
    let out = ContainerCleanup::new(&fake, runtimes())
        .on_cleanup(&f)
        .run(install("gone"))
        .await
        .unwrap();
    assert_eq!(out.exit, Exit::Code(6));
    assert_eq!(fake.calls().len(), 1);
    assert!(seen.lock().unwrap().is_empty());

    let fake = Fake::new(script(SECS(0)));
    let (seen, f) = collect();
    let runner = ContainerCleanup::new(&fake, runtimes())
        .with_generator(&Abandons)
        .on_cleanup(&f);
    // Another failure is not cleaned.
    runner.run(install("bat")).await.unwrap();
    assert_eq!(fake.calls().len(), 1);
    // The output is returned as it was; podman fails, docker lists and removes.
    let out = runner.run(install("gone")).await.unwrap();
    assert_eq!(
        (out.exit, &out.stdout[..]),
        (Exit::Code(6), &b"abandoned"[..])
    );
    assert_eq!(
        fake.calls()[2..],
        [
            format!("podman {PS}"),
            format!("docker {PS}"),
            "docker rm -f 0123abcd 4567ef01".to_owned(),
        ]
    );
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        &Cleanup {
            install: "gone@debian".into(),
            outcome: CleanupOutcome::Removed {
                runtime: "/usr/bin/docker".into(),
                ids: vec!["0123abcd".into(), "4567ef01".into()],
            },
        }
    );

    // The same safety rule: beside another install, nothing is removed.
    let calls = fake.calls().len();
    let (a, b) = tokio::join!(runner.run(install("gone2")), runner.run(install("long")));
    assert_eq!(
        (a.unwrap().exit, b.unwrap().exit),
        (Exit::Code(6), Exit::Code(0))
    );
    assert_eq!(fake.calls().len(), calls + 2, "{:?}", fake.calls());
    assert_eq!(
        seen.lock().unwrap().last().unwrap().outcome,
        CleanupOutcome::Shared
    );
}
