//! Tests of sharded runs and `merge` (issue #6) with a scripted runner, paused tokio time and
//! a fixed wall clock.
//!
//! The central property: splitting a batch into N shards, running each, and merging the
//! fragments writes the same files as one unsharded run over the same candidates. With every
//! clock fixed at the same instant even the timestamps agree, so the files must be
//! byte-identical; any difference is a merge bug (order, counts, breakers, stamps).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use crate::config::Config;
use crate::queue::Queue;
use crate::queue::{QueueEntry, Status};
use crate::run::{self, RunReport};
use crate::run::{Event, apply_results, execute_plan, plan_from, save_run};
use crate::runner::fake::{Reply, ScriptedRunner};
use crate::shard::*;
use crate::shard::{Fragment, ShardPlan, ShardRun, split};
use crate::shard::{Shard, assign};
use crate::tsuku::Tsuku;
use batch_base::clock::FixedClock;

const T: &str = "2026-06-01T12:00:00.25Z";
const BATCH: &str = "2026-06-01-all";

fn t() -> Timestamp {
    T.parse().unwrap()
}

/// Outcome by name: `fail-*` generation failure (exit 6), `dep-*` missing dependency (exit 8
/// with the JSON the spec's install step prints), `gh-*` always fails, anything else
/// succeeds.
fn scripted() -> ScriptedRunner {
    ScriptedRunner::new(|c| {
        let (step, name) = (c.step(), c.name());
        let reply = match (step, name.split('-').next().unwrap_or_default()) {
            ("create", "fail" | "gh") => Reply::code(6),
            ("install", "dep") => Reply::code(8).stdout(format!(
                r#"{{"missing_recipes":["{name}-lib"],"error":"missing dependency"}}"#
            )),
            _ => Reply::code(0),
        };
        reply
            .stderr(format!("{step} {name}"))
            .after(Duration::from_millis(10))
    })
}

const CONTROL: &str = r#"{
  "enabled": true,
  "note": "kept",
  "circuit_breaker": {
    "pypi": {"state": "open", "failures": 5, "last_failure": "2026-05-01T00:00:00Z", "opens_at": "2026-05-01T01:00:00Z"},
    "github": {"state": "closed", "failures": 4, "last_failure": "2026-05-01T00:00:00Z"},
    "npm": {"state": "closed", "failures": 2, "last_failure": "2026-05-01T00:00:00Z"}
  }
}
"#;

fn entries() -> Vec<QueueEntry> {
    let mut v = Vec::new();
    for i in 0..8 {
        v.push(QueueEntry::new(format!("ok-{i}"), format!("npm:ok-{i}"), 1));
        v.push(QueueEntry::new(
            format!("tool-{i}"),
            format!("crates.io:tool-{i}"),
            2,
        ));
    }
    for i in 0..4 {
        v.push(QueueEntry::new(
            format!("fail-{i}"),
            format!("homebrew:fail-{i}"),
            1,
        ));
        v.push(QueueEntry::new(
            format!("dep-{i}"),
            format!("homebrew:dep-{i}"),
            2,
        ));
    }
    // Every github entry fails: its breaker (4 failures) opens.
    for i in 0..3 {
        v.push(QueueEntry::new(
            format!("gh-{i}"),
            format!("github:o/gh-{i}"),
            1,
        ));
    }
    // The pypi breaker is due for its half-open probe; this is the probe.
    v.push(QueueEntry::new("probe", "pypi:probe", 3));
    // Not selected (tier 3 > 2) nor the probe's: unchanged by both paths.
    v.push(QueueEntry::new("later", "npm:later", 3));
    // Invalid: reported and counted, never run.
    v.push(QueueEntry::new("../bad", "npm:bad", 1));
    v
}

/// A project directory with the queue, control file and every output path inside it.
struct Env {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: Config,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let mut config = Config::rooted(&root);
        config.jobs = 3;
        let q = Queue {
            schema_version: 1,
            updated_at: None,
            entries: entries(),
            extra: Default::default(),
        };
        q.save(&config.queue, "2026-05-31T00:00:00Z".parse().unwrap())
            .unwrap();
        std::fs::write(&config.control_file, CONTROL).unwrap();
        std::fs::create_dir_all(root.join("data")).unwrap();
        Env {
            _dir: dir,
            root,
            config,
        }
    }

    fn fragments(&self) -> PathBuf {
        self.root.join("fragments")
    }

    /// Every file the batch writes, path relative to the root → bytes (recipes excluded).
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        for p in [
            &self.config.queue,
            &self.config.results,
            &self.config.control_file,
            &self.config.summary,
        ] {
            if let Ok(b) = std::fs::read(p) {
                out.insert(rel(&self.root, p), b);
            }
        }
        if let Ok(dir) = std::fs::read_dir(&self.config.failures_dir) {
            for e in dir {
                let p = e.unwrap().path();
                out.insert(rel(&self.root, &p), std::fs::read(&p).unwrap());
            }
        }
        out
    }
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap().to_string_lossy().into_owned()
}

fn noop(_: Event<'_>) {}

/// One unsharded run with every clock at `T` and the batch ID set.
async fn unsharded(env: &mut Env) -> RunReport {
    env.config.batch_id = Some(BATCH.into());
    let clock = FixedClock::new(t());
    let mut plan = run::load_plan(&env.config, &clock).unwrap();
    let results = execute_plan(
        &plan,
        &env.config,
        &Tsuku::for_run(&env.config),
        &scripted(),
        &clock,
        &noop,
    )
    .await;
    let mut report = apply_results(&mut plan, &results, &env.config, &clock);
    save_run(&mut plan, &mut report, &env.config, &clock).unwrap();
    report
}

/// Shard `k` of `n`: plans at `T`, runs its candidates, writes its fragment (finished at `T`).
async fn shard(env: &Env, k: u32, n: u32) -> (PathBuf, ShardPlan) {
    let clock = FixedClock::new(t());
    let (queue, existed, sha) =
        Queue::load_hashed(&env.config.queue, env.config.missing_queue).unwrap();
    let mut plan = plan_from(&env.config, &clock, queue, existed, &Default::default()).unwrap();
    let sp = split(&mut plan, Shard { index: k, count: n });
    let results = execute_plan(
        &plan,
        &env.config,
        &Tsuku::for_run(&env.config),
        &scripted(),
        &clock,
        &noop,
    )
    .await;
    let f = Fragment::build(
        &plan,
        &ShardRun {
            batch_id: BATCH,
            queue_sha256: &sha,
            shard_plan: &sp,
            settings: &crate::shard::ShardSettings::of(&env.config),
            started: t(),
            finished: t(),
        },
        &results,
    );
    (f.write(&env.fragments()).unwrap(), sp)
}

async fn all_shards(env: &Env, n: u32) {
    for k in 1..=n {
        shard(env, k, n).await;
    }
}

fn merged(env: &Env) -> Result<MergeReport, MergeError> {
    let set = FragmentSet::collect(&env.fragments(), None)?;
    merge_fragments(&env.config, &set, false)
}

#[tokio::test(start_paused = true)]
async fn three_shards_merged_write_the_same_files_as_one_unsharded_run() {
    let mut whole = Env::new();
    let report = unsharded(&mut whole).await;
    // The fixture exercises every path: successes, failures, blocked, a breaker that opens,
    // a half-open probe that closes, an invalid entry.
    assert_eq!(
        (
            report.results.succeeded,
            report.results.failed,
            report.results.blocked
        ),
        (17, 7, 4),
        "{:?}",
        report.results
    );
    assert_eq!(report.invalid, 1);
    let changes: BTreeMap<_, _> = report.breaker_changes.iter().cloned().collect();
    assert!(matches!(
        changes["github"],
        crate::control::breaker::Change::Opened { .. }
    ));
    assert_eq!(changes["pypi"], crate::control::breaker::Change::Closed);

    for n in [1, 2, 3, 7] {
        let sharded = Env::new();
        all_shards(&sharded, n).await;
        let m = merged(&sharded).unwrap();
        assert_eq!(m.status, MergeStatus::Merged);
        assert!(m.missing.is_empty() && m.not_run.is_empty());
        assert_eq!(m.report.results, report.results, "{n} shards");
        assert_eq!(
            m.report.failures, report.failures,
            "{n} shards: record order"
        );
        assert_eq!(m.report.recipes, report.recipes, "{n} shards");
        assert_eq!(
            m.report.breaker_changes, report.breaker_changes,
            "{n} shards"
        );
        let (a, b) = (whole.snapshot(), sharded.snapshot());
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{n} shards: the same files"
        );
        for (path, bytes) in &a {
            assert!(
                b[path] == *bytes,
                "{n} shards: {path} differs:\n--- unsharded\n{}\n--- merged\n{}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&b[path])
            );
        }
    }
}

/// Every candidate lands in exactly one shard, in selection order, at the shard `assign`
/// gives its position; each shard gets at most ⌈N_e / N⌉ of an ecosystem (issue #15).
#[tokio::test(start_paused = true)]
async fn shards_partition_the_selection_round_robin_per_ecosystem() {
    let env = Env::new();
    let clock = FixedClock::new(t());
    let whole = run::load_plan(&env.config, &clock).unwrap();
    let names: Vec<&str> = whole
        .selection
        .candidates
        .iter()
        .map(|c| whole.queue.entries[c.index].name.as_str())
        .collect();
    let ecos: Vec<&str> = whole
        .selection
        .candidates
        .iter()
        .map(|c| whole.queue.entries[c.index].ecosystem())
        .collect();
    let expected_shard = assign(&ecos, 4);
    let mut seen = vec![false; names.len()];
    for k in 1..=4 {
        let mut plan = run::load_plan(&env.config, &clock).unwrap();
        let sp = split(&mut plan, Shard { index: k, count: 4 });
        assert!(sp.positions.windows(2).all(|w| w[0] < w[1]), "order kept");
        assert_eq!(sp.batch_ecosystems, ecos);
        let mut per_eco: BTreeMap<&str, usize> = BTreeMap::new();
        for (c, pos) in plan.selection.candidates.iter().zip(&sp.positions) {
            let name = &plan.queue.entries[c.index].name;
            assert_eq!(names[*pos], name, "positions index the whole selection");
            assert_eq!(expected_shard[*pos], k);
            assert!(!seen[*pos], "{name} in two shards");
            seen[*pos] = true;
            *per_eco.entry(ecos[*pos]).or_default() += 1;
        }
        for (eco, got) in per_eco {
            let total = ecos.iter().filter(|e| **e == eco).count();
            assert!(
                got <= total.div_ceil(4),
                "{eco}: {got} of {total} in shard {k}"
            );
        }
        let expected: Vec<u32> = (1..=4).filter(|k| expected_shard.contains(k)).collect();
        assert_eq!(sp.shards_with_candidates, expected);
    }
    assert!(seen.iter().all(|s| *s), "every candidate in some shard");
}

#[tokio::test(start_paused = true)]
async fn merging_again_changes_nothing() {
    let env = Env::new();
    all_shards(&env, 3).await;
    merged(&env).unwrap();
    let after_first = env.snapshot();
    let again = merged(&env).unwrap();
    assert_eq!(again.status, MergeStatus::AlreadyMerged);
    assert!(again.report.files_written.is_empty());
    assert_eq!(again.report.results.total, 28, "counts are still reported");
    assert_eq!(env.snapshot(), after_first);
}

#[tokio::test(start_paused = true)]
async fn a_merge_cut_before_the_queue_write_is_redone_with_the_same_bytes() {
    let env = Env::new();
    let start_queue = std::fs::read(&env.config.queue).unwrap();
    all_shards(&env, 3).await;
    merged(&env).unwrap();
    let complete = env.snapshot();
    // A crash after every other file but before the queue: the queue is the starting one.
    std::fs::write(&env.config.queue, &start_queue).unwrap();
    let redo = merged(&env).unwrap();
    assert_eq!(redo.status, MergeStatus::Merged);
    assert_eq!(
        env.snapshot(),
        complete,
        "breakers are reset to the start state before the update, not counted twice"
    );
}

#[tokio::test(start_paused = true)]
async fn fragment_order_does_not_matter() {
    let a = Env::new();
    let b = Env::new();
    for k in [1, 2, 3] {
        shard(&a, k, 3).await;
    }
    for k in [3, 1, 2] {
        shard(&b, k, 3).await;
    }
    merged(&a).unwrap();
    merged(&b).unwrap();
    assert_eq!(a.snapshot(), b.snapshot());
}

#[tokio::test(start_paused = true)]
async fn a_missing_shard_is_refused_unless_allowed() {
    let env = Env::new();
    let before = env.snapshot();
    let (_, sp) = shard(&env, 1, 3).await;
    shard(&env, 3, 3).await;
    assert_eq!(sp.shards_with_candidates, vec![1, 2, 3]);
    match merged(&env) {
        Err(MergeError::Missing { missing, count, .. }) => {
            assert_eq!((missing, count), (vec![2], 3));
        }
        other => panic!("expected Missing, got {other:?}"),
    }
    assert_eq!(env.snapshot(), before, "nothing written");

    let set = FragmentSet::collect(&env.fragments(), None).unwrap();
    let m = merge_fragments(&env.config, &set, true).unwrap();
    assert_eq!(m.missing, vec![2]);
    let queue = Queue::load(&env.config.queue).unwrap();
    let start: BTreeMap<String, Status> = entries()
        .into_iter()
        .map(|e| (e.name.clone(), e.status))
        .collect();
    let mut missing_plan = run::load_plan(&env.config, &FixedClock::new(t())).unwrap();
    split(&mut missing_plan, Shard { index: 2, count: 3 });
    let missing_names: Vec<&str> = missing_plan
        .selection
        .candidates
        .iter()
        .map(|c| missing_plan.queue.entries[c.index].name.as_str())
        .collect();
    assert!(!missing_names.is_empty());
    for e in &queue.entries {
        if missing_names.contains(&e.name.as_str()) {
            assert_eq!(e.status, start[&e.name], "{} of the missing shard", e.name);
        }
    }
    assert!(
        queue.entries.iter().any(|e| e.status != Status::Pending),
        "the other shards were applied"
    );
}

#[tokio::test(start_paused = true)]
async fn a_changed_queue_is_refused() {
    let env = Env::new();
    all_shards(&env, 2).await;
    // Someone edits the queue between the shards and the merge.
    let mut q = Queue::load(&env.config.queue).unwrap();
    q.entries.push(QueueEntry::new("new", "npm:new", 1));
    q.save(&env.config.queue, t()).unwrap();
    let before = env.snapshot();
    assert!(matches!(merged(&env), Err(MergeError::QueueChanged { .. })));
    assert_eq!(env.snapshot(), before);
}

#[tokio::test(start_paused = true)]
async fn fragments_of_another_batch_or_queue_are_refused() {
    let env = Env::new();
    let (p1, _) = shard(&env, 1, 2).await;
    let (p2, _) = shard(&env, 2, 2).await;

    // Another batch's fragment beside them: ambiguous without --batch-id, ignored with it.
    let mut other: Fragment = serde_json::from_slice(&std::fs::read(&p1).unwrap()).unwrap();
    other.batch_id = "2026-06-01-all-002".into();
    other.write(&env.fragments()).unwrap();
    assert!(matches!(
        FragmentSet::collect(&env.fragments(), None),
        Err(FragmentError::SeveralBatches { .. })
    ));
    let set = FragmentSet::collect(&env.fragments(), Some(BATCH)).unwrap();
    assert_eq!(set.fragments.len(), 2);

    // A fragment that started from another queue.
    let mut f2: Fragment = serde_json::from_slice(&std::fs::read(&p2).unwrap()).unwrap();
    f2.queue_sha256 = "0".repeat(64);
    std::fs::write(&p2, f2.to_bytes()).unwrap();
    assert!(matches!(
        FragmentSet::collect(&env.fragments(), Some(BATCH)),
        Err(FragmentError::Disagree {
            what: "the starting queue (queue_sha256)",
            ..
        })
    ));
}

#[tokio::test(start_paused = true)]
async fn two_different_fragments_for_one_shard_conflict() {
    let env = Env::new();
    let (p1, _) = shard(&env, 1, 2).await;
    let mut f: Fragment = serde_json::from_slice(&std::fs::read(&p1).unwrap()).unwrap();
    f.finished = crate::records::timestamp::Rfc3339::utc("2026-06-01T13:00:00Z".parse().unwrap());
    // `01` parses as shard 1: same batch, same shard, another file.
    let twin = env.fragments().join(format!("{BATCH}-shard-01-of-2.json"));
    std::fs::write(&twin, f.to_bytes()).unwrap();
    assert!(matches!(
        FragmentSet::collect(&env.fragments(), None),
        Err(FragmentError::Conflict { shard: 1, .. })
    ));
    // An identical copy is no conflict.
    std::fs::write(&twin, std::fs::read(&p1).unwrap()).unwrap();
    assert_eq!(
        FragmentSet::collect(&env.fragments(), None)
            .unwrap()
            .fragments
            .len(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn an_outcome_that_does_not_fit_the_queue_is_refused() {
    let env = Env::new();
    let (p1, _) = shard(&env, 1, 1).await;
    let mut f: Fragment = serde_json::from_slice(&std::fs::read(&p1).unwrap()).unwrap();
    // Point an outcome at another entry's index (the name still hashes to the shard: N = 1).
    let o = &mut f.outcomes[0];
    o.index = (o.index + 1) % entries().len();
    std::fs::write(&p1, f.to_bytes()).unwrap();
    let before = env.snapshot();
    assert!(matches!(merged(&env), Err(MergeError::Mismatch { .. })));
    assert_eq!(env.snapshot(), before);
}

/// Issue #12: merging into a queue path that does not exist is refused before the lock, so a
/// typo leaves no lock file (nor a queue) behind.
#[tokio::test(start_paused = true)]
async fn a_missing_queue_is_refused_before_the_lock() {
    let mut env = Env::new();
    all_shards(&env, 2).await;
    let set = FragmentSet::collect(&env.fragments(), None).unwrap();
    env.config.queue = env.config.queue.with_file_name("nope.json");
    let before = env.snapshot();
    match merge_under_lock(&env.config, &set, false, &crate::run::NoHooks) {
        Err(MergeError::Run(crate::run::RunError::Queue(crate::queue::QueueError::Missing {
            path,
        }))) => {
            assert_eq!(path, env.config.queue);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.snapshot(), before);
    assert!(!env.config.queue.exists());
    assert!(
        !crate::lock::path_for(&env.config.queue).exists(),
        "no lock file"
    );
}
