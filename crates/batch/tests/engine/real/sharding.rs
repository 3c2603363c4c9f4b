//! Issue #6 on the real queue: 400 candidates of tsuku's live queue, with two real breakers
//! due for their half-open probe, run once unsharded and once as five shards merged. With
//! every clock fixed at one instant the two must write byte-identical files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use batch::run::{self, Event};
use batch::runner::fake::{Reply, ScriptedRunner};
use batch::shard::merge::{MergeStatus, merge_fragments};
use batch::shard::{Fragment, FragmentSet, ShardRun, split};
use batch::shard::{Shard, ShardSettings, shard_of};
use batch::tsuku::Tsuku;
use batch::{Config, Queue, RateLimit};
use batch_base::clock::FixedClock;

use crate::util::{fixture, t};

const NOW: &str = "2026-11-24T10:00:00.125Z";
const BATCH: &str = "2026-11-24-all";

/// Outcome from the name's hash (shard_of with 7 buckets): create fails (exit 6), install
/// reports a missing dependency (exit 8), or both succeed; each call takes up to 49 ms.
fn by_hash() -> ScriptedRunner {
    ScriptedRunner::new(|c| {
        let name = c.name();
        let reply = match (c.step() == "create", shard_of(&name, 7)) {
            (true, 1) => Reply::code(6),
            (false, 2) => Reply::code(8).stdout(r#"{"missing_recipes":["libfoo"]}"#),
            _ => Reply::code(0),
        };
        reply.after(Duration::from_millis(u64::from(shard_of(&name, 50))))
    })
}

struct Env {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: Config,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let mut config = Config::new();
    config.queue = root.join("priority-queue.json");
    config.results = root.join("batch-results.json");
    config.control_file = root.join("batch-control.json");
    config.output_dir = root.join("recipes");
    config.failures_dir = root.join("failures");
    config.summary = root.join("batch-summary.md");
    config.generator = PathBuf::from("/fake/tsuku");
    config.select.batch_size = 400;
    config.select.tier = 3;
    config.jobs = 8;
    config.rate_limit = RateLimit {
        default_period: Duration::ZERO,
        per_ecosystem: BTreeMap::new(),
    };
    std::fs::copy(fixture("priority-queue.json"), &config.queue).unwrap();
    // The real control file with every breaker closed except rubygems and pypi, which stay
    // open with their real (past) opens_at, so they are due for a probe.
    let mut control: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("batch-control.json")).unwrap()).unwrap();
    for (eco, b) in control["circuit_breaker"].as_object_mut().unwrap() {
        if eco != "rubygems" && eco != "pypi" {
            b["state"] = "closed".into();
        }
    }
    std::fs::write(
        &config.control_file,
        serde_json::to_vec_pretty(&control).unwrap(),
    )
    .unwrap();
    Env {
        _dir: dir,
        root,
        config,
    }
}

fn files(e: &Env) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![e.root.clone()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            let rel = p
                .strip_prefix(&e.root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel.starts_with("recipes") || rel.starts_with("fragments") {
                continue;
            }
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn noop(_: Event<'_>) {}

#[tokio::test(start_paused = true)]
async fn five_shards_merged_equal_one_unsharded_run_on_the_real_queue() {
    let clock = FixedClock::new(t(NOW));

    let mut whole = env();
    whole.config.batch_id = Some(BATCH.into());
    let mut plan = run::load_plan(&whole.config, &clock).unwrap();
    assert_eq!(plan.selection.candidates.len(), 400);
    let probes: BTreeSet<&str> = plan
        .selection
        .candidates
        .iter()
        .filter(|c| c.reason != batch::select::Reason::Normal)
        .map(|c| plan.queue.entries[c.index].ecosystem())
        .collect();
    // The batch fills before the queue reaches a pypi entry, so rubygems alone is probed.
    assert_eq!(probes, BTreeSet::from(["rubygems"]));
    let results = run::execute_plan(
        &plan,
        &whole.config,
        &Tsuku::for_run(&whole.config),
        &by_hash(),
        &clock,
        &noop,
    )
    .await;
    let mut report = run::apply_results(&mut plan, &results, &whole.config, &clock);
    run::save_run(&mut plan, &mut report, &whole.config, &clock).unwrap();
    let r = &report.results;
    assert!(r.succeeded > 0 && r.failed > 0 && r.blocked > 0, "{r:?}");

    let sharded = env();
    let fragments = sharded.root.join("fragments");
    for k in [4, 2, 5, 1, 3] {
        let (queue, existed, sha) =
            Queue::load_hashed(&sharded.config.queue, sharded.config.missing_queue).unwrap();
        let mut plan =
            run::plan_from(&sharded.config, &clock, queue, existed, &BTreeSet::new()).unwrap();
        let sp = split(&mut plan, Shard { index: k, count: 5 });
        let results = run::execute_plan(
            &plan,
            &sharded.config,
            &Tsuku::for_run(&sharded.config),
            &by_hash(),
            &clock,
            &noop,
        )
        .await;
        let run = ShardRun {
            batch_id: BATCH,
            queue_sha256: &sha,
            shard_plan: &sp,
            settings: &ShardSettings::of(&sharded.config),
            started: t(NOW),
            finished: t(NOW),
        };
        Fragment::build(&plan, &run, &results)
            .write(&fragments)
            .unwrap();
    }
    let set = FragmentSet::collect(&fragments, Some(BATCH)).unwrap();
    assert_eq!(set.fragments.len(), 5);
    let m = merge_fragments(&sharded.config, &set, false).unwrap();
    assert_eq!(m.status, MergeStatus::Merged);

    let (a, b) = (files(&whole), files(&sharded));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(
            b[name] == *bytes,
            "{name} differs between unsharded and merged"
        );
    }
}

/// Issue #15 on the real queue: the first 200 candidates at tier 3 with the default rate
/// limits. Dealt round-robin per ecosystem, no shard gets more than ⌈N_e / N⌉ of an ecosystem
/// for N = 2..8, so the slowest shard's rate-limit bound (every limit N times slower) never
/// exceeds the unsharded bound. The name-hash partition this replaces reached 1.06 ×, 1.15 ×
/// and 1.25 × for N = 3, 4 and 8 (issue #15).
#[test]
fn balanced_shards_never_exceed_the_unsharded_bound_on_the_real_queue() {
    let mut e = env();
    e.config.select.batch_size = 200;
    e.config.rate_limit = RateLimit::default();
    let clock = FixedClock::new(t(NOW));
    let whole = run::load_plan(&e.config, &clock).unwrap();
    let ecos: Vec<&str> = whole
        .selection
        .candidates
        .iter()
        .map(|c| whole.queue.entries[c.index].ecosystem())
        .collect();
    assert_eq!(ecos.len(), 200);
    fn count<'a>(list: &[&'a str]) -> BTreeMap<&'a str, usize> {
        let mut m: BTreeMap<&str, usize> = BTreeMap::new();
        for eco in list {
            *m.entry(*eco).or_default() += 1;
        }
        m
    }
    let totals = count(&ecos);
    let unsharded = e.config.rate_limit.lower_bound(totals.clone());
    assert!(unsharded > Duration::ZERO);
    for n in 2..=8u32 {
        let shards = batch::shard::assign(&ecos, n);
        let scaled = e.config.rate_limit.scaled(n);
        let mut slowest = Duration::ZERO;
        for k in 1..=n {
            let mine: Vec<&str> = ecos
                .iter()
                .zip(&shards)
                .filter(|(_, s)| **s == k)
                .map(|(eco, _)| *eco)
                .collect();
            for (eco, got) in count(&mine) {
                let cap = totals[eco].div_ceil(n as usize);
                assert!(
                    got <= cap,
                    "N={n}: shard {k} has {got} {eco} of {}",
                    totals[eco]
                );
            }
            slowest = slowest.max(scaled.lower_bound(count(&mine)));
        }
        assert!(
            slowest <= unsharded,
            "N={n}: slowest shard {slowest:?} > unsharded {unsharded:?}"
        );
        eprintln!(
            "N={n}: slowest shard bound {:.1}s, unsharded {:.1}s ({:.3} ×)",
            slowest.as_secs_f64(),
            unsharded.as_secs_f64(),
            slowest.as_secs_f64() / unsharded.as_secs_f64()
        );
    }
}
