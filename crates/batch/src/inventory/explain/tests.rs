//! Tests of the `explain` model: a hand-made queue whose expected verdicts and reasons are
//! worked out from spec §3 in the comments, and a property test that `explain` says
//! "selected" exactly for the entries the run's plan ([`crate::run::plan::plan_from`]) selects.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use batch_base::clock::FixedClock;
use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::Queue;
use crate::control::ControlFile;
use crate::inventory::failure_notes::FailureNotes;
use crate::records::failure_log::FailureLog;
use crate::select::SelectOptions;

const NOW: &str = "2026-07-01T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

/// 11 entries; the comment on each line is its expected verdict at batch size 3, tier 2.
fn queue() -> Queue {
    let e = |name: &str, source: &str, status: &str, priority: i64, retry: Option<&str>| {
        json!({"name": name, "source": source, "priority": priority, "status": status,
               "confidence": "auto", "disambiguated_at": null, "failure_count": 0,
               "next_retry_at": retry})
    };
    let doc = json!({"schema_version": 1, "entries": [
        e("a", "homebrew:a", "pending", 1, None),                        // candidate 1
        e("b", "homebrew:b", "pending", 3, None),                        // tier 3 > 2
        e("c", "homebrew:c", "failed", 1, Some("2026-07-01T20:00:00Z")), // backoff
        e("d", "npm:d", "pending", 1, None),                             // npm open
        e("e", "pypi:e", "failed", 3, None),          // half-open: f, pending, is the probe
        e("f", "pypi:f", "pending", 3, None),         // candidate 2, probe, tier bypassed
        e("g", "homebrew:g", "blocked", 1, None),     // status blocked, by a
        e("h", "homebrew:h", "pending", 1, None),     // candidate 3: the batch is full
        e("i", "homebrew:i", "pending", 1, None),     // batch full; would be candidate 4
        e("../bad", "homebrew:x", "pending", 1, None), // invalid
        e("k", "cargo:k", "pending", 1, None),        // cargo disabled
    ]});
    Queue::from_slice(doc.to_string().as_bytes()).unwrap()
}

fn control(enabled: bool) -> ControlFile {
    let doc = json!({"enabled": enabled, "reason": "incident 7", "disabled_ecosystems": ["cargo"],
        "circuit_breaker": {
            "npm": {"state": "open", "failures": 5, "opens_at": "2026-07-01T13:00:00Z"},
            // opens_at passed: the run turns it half-open.
            "pypi": {"state": "open", "failures": 6, "opens_at": "2026-07-01T11:00:00Z"},
            "default": {"state": "closed", "failures": 0}}});
    ControlFile::from_slice(Path::new("c.json"), doc.to_string().as_bytes()).unwrap()
}

const FAILURES: &str = concat!(
    r#"{"failures":[{"package_id":"homebrew:g","category":"missing_dep","blocked_by":["a"],"message":"needs a","timestamp":"2026-06-30T00:00:00Z"}]}"#,
    "\n",
    r#"{"failures":[{"package_id":"homebrew:a","category":"missing_dep","blocked_by":["zlib"],"message":"needs zlib","timestamp":"2026-06-29T00:00:00Z"}]}"#,
    "\n",
    r#"{"recipe":"g","platform":"darwin-arm64","category":"install_failed","message":"second","timestamp":"2026-06-30T01:00:00Z"}"#,
);

fn opts(batch_size: usize) -> ExplainOptions {
    ExplainOptions {
        select: SelectOptions {
            batch_size,
            tier: 2,
            ..SelectOptions::default()
        },
        failures_shown: 1,
        ..ExplainOptions::default()
    }
}

/// Explains `names` of [`queue`] with [`control`]`(enabled)`; only `out/h/h.toml` exists.
fn answer(names: &[&str], enabled: bool, o: &ExplainOptions) -> ExplainReport {
    let q = queue();
    let c = control(enabled);
    let mut log = FailureLog::default();
    log.read(FAILURES.as_bytes()).unwrap();
    let wanted: Vec<&crate::QueueEntry> = q.entries.iter().collect();
    let mut notes = FailureNotes::default();
    notes.read(FAILURES.as_bytes(), "f.jsonl", &wanted).unwrap();
    let on_disk = |p: &Path| p == Path::new("out/h/h.toml");
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    let matches = resolve(&q, &names).unwrap();
    let inputs = ExplainInputs {
        queue: &q,
        control: &c,
        log: &log,
        notes: &notes,
        output_dir: Path::new("out"),
        on_disk: &on_disk,
    };
    explain(&inputs, o, &matches, now())
}

fn one(name: &str) -> Explanation {
    answer(&[name], true, &opts(3)).entries.remove(0)
}

fn failing(x: &Explanation) -> Vec<Rule> {
    x.checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.rule)
        .collect()
}

fn outcome(x: &Explanation, rule: Rule) -> Outcome {
    x.checks
        .iter()
        .find(|c| c.rule == rule)
        .unwrap_or_else(|| panic!("no {rule:?} in {x:#?}"))
        .outcome
}

#[test]
fn selected_entries_carry_their_place_and_reason() {
    let r = answer(&["a", "pypi:f", "h"], true, &opts(3));
    assert_eq!(r.candidates, 3);
    let got: Vec<(bool, Option<usize>, Option<&str>)> = r
        .entries
        .iter()
        .map(|x| {
            (
                x.selected,
                x.position.as_ref().map(|p| p.position),
                x.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (true, Some(1), Some("normal")),
            (true, Some(2), Some("half-open probe")),
            (true, Some(3), Some("normal")),
        ]
    );
    let f = &r.entries[1];
    assert_eq!(f.name, "f", "found by its source");
    assert_eq!(outcome(f, Rule::Tier), Outcome::Bypassed);
    assert_eq!(outcome(f, Rule::Probe), Outcome::Pass);
    assert_eq!(
        (f.breaker.stored.as_deref(), f.breaker.next_run.as_str()),
        (Some("open"), "half-open")
    );
    assert!(failing(f).is_empty());
    assert_eq!(r.entries[0].summary, "selected: candidate 1 of 3 (normal)");
    // h's recipe is on disk; selection does not look (spec §3).
    assert!(r.entries[2].recipe.on_disk);
    assert_eq!(r.entries[2].recipe.path.as_deref(), Some("out/h/h.toml"));
    assert!(!r.entries[0].recipe.on_disk);
}

#[test]
fn each_rule_names_what_keeps_an_entry_out() {
    assert_eq!(failing(&one("b")), [Rule::Tier]);
    assert_eq!(failing(&one("c")), [Rule::Backoff]);
    let d = one("d");
    assert_eq!(failing(&d), [Rule::Breaker]);
    assert!(
        d.summary
            .contains("turns half-open at 2026-07-01T13:00:00Z"),
        "{}",
        d.summary
    );
    let e = one("e");
    assert_eq!(failing(&e), [Rule::Probe]);
    assert!(
        e.summary.contains("probe of half-open pypi is f"),
        "{}",
        e.summary
    );
    assert_eq!(failing(&one("g")), [Rule::Status]);
    let i = one("i");
    assert_eq!(failing(&i), [Rule::BatchSize]);
    assert_eq!(i.unlimited_position, Some(4));
    assert!(i.summary.contains("would be candidate 4"), "{}", i.summary);
    assert_eq!(failing(&one("../bad")), [Rule::Valid]);
    assert_eq!(failing(&one("k")), [Rule::Disabled]);
    for x in ["b", "c", "d", "e", "g", "i", "../bad", "k"] {
        let x = one(x);
        assert!(!x.selected && x.position.is_none(), "{x:#?}");
        assert!(x.summary.starts_with("not selected: "), "{}", x.summary);
    }
}

#[test]
fn blockers_are_followed_through_their_dependencies() {
    let g = one("g");
    let deps: Vec<(&str, Option<&str>, usize, Option<&str>)> = g
        .blocked_by
        .iter()
        .map(|d| {
            (
                d.name.as_str(),
                d.status.as_deref(),
                d.depth,
                d.via.as_deref(),
            )
        })
        .collect();
    // g is blocked by a (pending), which is blocked by zlib (no such entry).
    assert_eq!(
        deps,
        [
            ("a", Some("pending"), 1, None),
            ("zlib", None, 2, Some("a"))
        ]
    );
    let requeue = g.requeue.unwrap();
    assert!(requeue.contains("waiting on a (pending)"), "{requeue}");
    // Two records of g (batch and per-recipe); one shown, the newest.
    assert_eq!(g.failures.total, 2);
    assert_eq!(g.failures.last.len(), 1);
    assert_eq!(g.failures.last[0].message, "second");
    assert_eq!(one("a").blocks, ["homebrew:g"]);
    assert!(
        one("a").requeue.is_none(),
        "only blocked entries wait for requeue"
    );
}

#[test]
fn the_kill_switch_and_strict_select_nothing() {
    let r = answer(&["a"], false, &opts(3));
    assert_eq!(r.candidates, 0);
    assert!(!r.entries[0].selected);
    assert_eq!(failing(&r.entries[0]), [Rule::KillSwitch]);
    assert!(r.entries[0].summary.contains("incident 7"));

    let strict = ExplainOptions {
        strict: true,
        ..opts(3)
    };
    let r = answer(&["a"], true, &strict);
    assert_eq!((r.candidates, r.invalid), (0, 1));
    assert_eq!(failing(&r.entries[0]), [Rule::Strict]);
}

#[test]
fn shards_deal_the_candidates_per_ecosystem() {
    let sharded = ExplainOptions {
        shards: Some(2),
        ..opts(3)
    };
    let r = answer(&["a", "f", "h"], true, &sharded);
    // Candidates a (homebrew), f (pypi), h (homebrew): homebrew's two take deal slots 0 and
    // 1, pypi's one slot 2; slot mod 2 gives shards 1, 2 and 1.
    let slots: Vec<(u32, usize, usize)> = r
        .entries
        .iter()
        .map(|x| {
            let s = x.position.as_ref().unwrap().shard.as_ref().unwrap();
            (s.shard, s.position, s.size)
        })
        .collect();
    assert_eq!(slots, [(1, 1, 2), (1, 2, 2), (2, 1, 1)]);
}

// ---------------------------------------------------------------------------------------
// Property: explain's "selected" is the plan's selection.
// ---------------------------------------------------------------------------------------

const ECOS: [&str; 3] = ["homebrew", "npm", "pypi"];
const STATUSES: [&str; 4] = ["pending", "failed", "success", "blocked"];
const RETRIES: [Option<&str>; 3] = [
    None,
    Some("2026-06-01T00:00:00Z"),
    Some("2026-08-01T00:00:00Z"),
];
const BREAKERS: [Option<(&str, &str)>; 5] = [
    None,
    Some(("closed", "")),
    Some(("open", "2026-08-01T00:00:00Z")),
    Some(("open", "2026-06-01T00:00:00Z")),
    Some(("half-open", "")),
];

prop_compose! {
    fn arb_case()(
        raw in proptest::collection::vec((0..3usize, 0..4usize, 1i64..=3, 0..3usize, proptest::bool::weighted(0.05)), 0..16),
        breakers in proptest::collection::vec(0..5usize, 3),
        filter in proptest::collection::vec(proptest::bool::weighted(0.2), 3),
        disabled in proptest::collection::vec(proptest::bool::weighted(0.1), 3),
        enabled in proptest::bool::weighted(0.9),
        batch_size in 0usize..8,
        tier in 1i64..=3,
        retry_failed in proptest::bool::weighted(0.2),
    ) -> (serde_json::Value, serde_json::Value, SelectOptions) {
        let entries: Vec<_> = raw.iter().enumerate().map(|(i, (eco, st, prio, retry, dup))| {
            // A repeated name is an invalid entry too.
            let name = if *dup && i > 0 { "e0".to_owned() } else { format!("e{i}") };
            json!({"name": name, "source": format!("{}:p{i}", ECOS[*eco]), "priority": prio,
                   "status": STATUSES[*st], "confidence": "auto", "disambiguated_at": null,
                   "failure_count": 0, "next_retry_at": RETRIES[*retry]})
        }).collect();
        let mut cb = serde_json::Map::new();
        for (eco, b) in ECOS.iter().zip(&breakers) {
            if let Some((state, opens_at)) = BREAKERS[*b] {
                cb.insert((*eco).to_owned(), json!({"state": state, "failures": 5, "opens_at": opens_at}));
            }
        }
        let pick = |flags: &[bool]| -> BTreeSet<String> {
            ECOS.iter().zip(flags).filter(|(_, f)| **f).map(|(e, _)| (*e).to_owned()).collect()
        };
        let control = json!({"enabled": enabled, "disabled_ecosystems": pick(&disabled), "circuit_breaker": cb});
        let select = SelectOptions { batch_size, tier, ecosystems: pick(&filter), retry_failed, ..SelectOptions::default() };
        (json!({"schema_version": 1, "entries": entries}), control, select)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn explain_says_selected_exactly_for_what_the_plan_selects(case in arb_case()) {
        let (queue_doc, control_doc, select) = case;
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::Config::rooted(dir.path());
        std::fs::write(&config.control_file, control_doc.to_string()).unwrap();
        config.select = select.clone();
        let queue = Queue::from_slice(queue_doc.to_string().as_bytes()).unwrap();
        let plan = crate::run::plan::plan_from(
            &config, &FixedClock::new(now()), queue.clone(), true, &BTreeSet::new(),
        ).unwrap();
        let planned: BTreeSet<usize> = plan.selection.candidates.iter().map(|c| c.index).collect();

        let control = ControlFile::load(&config.control_file).unwrap();
        let names: Vec<String> = queue.entries.iter().map(|e| e.source.clone()).collect();
        let matches = resolve(&queue, &names).unwrap();
        let log = FailureLog::default();
        let notes = FailureNotes::default();
        let inputs = ExplainInputs {
            queue: &queue, control: &control, log: &log, notes: &notes,
            output_dir: &PathBuf::from("out"), on_disk: &|_| false,
        };
        let o = ExplainOptions { select, ..ExplainOptions::default() };
        let r = explain(&inputs, &o, &matches, now());
        let said: BTreeSet<usize> = r.entries.iter().filter(|x| x.selected).map(|x| x.index).collect();
        prop_assert_eq!(&said, &planned);
        prop_assert_eq!(r.candidates, planned.len());
        for x in &r.entries {
            // The reasons agree with the verdict: a selected entry fails no rule, any other
            // fails at least one, and the summary says which.
            let fails = x.checks.iter().filter(|c| c.outcome == Outcome::Fail).count();
            prop_assert_eq!(x.selected, fails == 0, "{:#?}", x);
            prop_assert_eq!(x.selected, x.summary.starts_with("selected"));
            prop_assert_eq!(x.selected, x.position.is_some());
        }
    }
}
