//! Unit tests of `select` (spec §3, §8.1 #1–15, §8.2 #83–88).
//!
//! Expected lists are derived from the spec by hand, with the two deliberate differences of
//! this crate: fallback probes come in ecosystem-name order, and invalid entries are reported
//! in `Selection::invalid` instead of being selected.

use super::*;
use crate::records::timestamp::Rfc3339;
use proptest::prelude::*;

use EffectiveState::{Closed, HalfOpen, Open};
use Reason::{Normal, ProbeFailed, ProbePending};

const NOW: &str = "2026-06-01T12:00:00Z";
const FUTURE: &str = "2999-01-01T00:00:00Z";
const PAST: &str = "2000-01-01T00:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn ts(s: &str) -> Rfc3339 {
    s.parse().unwrap()
}

/// A pending entry (confidence auto, no history).
fn pending(name: &str, source: &str, priority: i64) -> QueueEntry {
    QueueEntry::new(name, source, priority)
}

/// An entry with the given status and optional `next_retry_at`.
fn entry(
    name: &str,
    source: &str,
    priority: i64,
    status: Status,
    retry: Option<&str>,
) -> QueueEntry {
    QueueEntry {
        status,
        next_retry_at: retry.map(ts),
        ..QueueEntry::new(name, source, priority)
    }
}

/// A failed entry with a failure count and optional `next_retry_at`.
fn failed(name: &str, source: &str, failure_count: i64, retry: Option<&str>) -> QueueEntry {
    QueueEntry {
        failure_count,
        ..entry(name, source, 1, Status::Failed, retry)
    }
}

fn opts(batch_size: usize, tier: i64) -> SelectOptions {
    SelectOptions {
        batch_size,
        tier,
        ..SelectOptions::default()
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn filtered(batch_size: usize, tier: i64, ecosystems: &[&str]) -> SelectOptions {
    SelectOptions {
        ecosystems: set(ecosystems),
        ..opts(batch_size, tier)
    }
}

fn breakers(states: &[(&str, EffectiveState)]) -> BTreeMap<String, EffectiveState> {
    states.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn run(entries: &[QueueEntry], states: &[(&str, EffectiveState)], o: &SelectOptions) -> Selection {
    select(entries, &breakers(states), o, now())
}

/// Names of the selected entries, in processing order.
fn names<'a>(entries: &'a [QueueEntry], s: &Selection) -> Vec<&'a str> {
    s.candidates
        .iter()
        .map(|c| entries[c.index].name.as_str())
        .collect()
}

/// Names and reasons of the selected entries, in processing order.
fn picked<'a>(entries: &'a [QueueEntry], s: &Selection) -> Vec<(&'a str, Reason)> {
    s.candidates
        .iter()
        .map(|c| (entries[c.index].name.as_str(), c.reason))
        .collect()
}

fn invalid_indices(s: &Selection) -> Vec<usize> {
    s.invalid.iter().map(|i| i.index).collect()
}

// ---------------------------------------------------------------------------------------
// §8.1 #1–15
// ---------------------------------------------------------------------------------------

#[test]
fn s01_status_and_tier_filter() {
    let q = [
        pending("ripgrep", "homebrew:ripgrep", 1),
        pending("bat", "homebrew:bat", 2),
        entry("fd", "homebrew:fd", 1, Status::Success, None),
        pending("serde", "cargo:serde", 1),
        pending("jq", "homebrew:jq", 3),
    ];
    let s = run(&q, &[], &opts(10, 2));
    assert_eq!(
        picked(&q, &s),
        [("ripgrep", Normal), ("bat", Normal), ("serde", Normal)]
    );
    assert!(s.invalid.is_empty());
}

#[test]
fn s02_batch_size_cap() {
    let q = [
        pending("a", "homebrew:a", 1),
        pending("b", "homebrew:b", 1),
        pending("c", "homebrew:c", 1),
    ];
    assert_eq!(names(&q, &run(&q, &[], &opts(2, 3))), ["a", "b"]);
}

#[test]
fn s03_empty_queue() {
    let s = run(&[], &[("cargo", HalfOpen)], &opts(10, 3));
    assert_eq!(s, Selection::default());
}

#[test]
fn s04_backoff_window() {
    let q = [
        failed("ready", "homebrew:ready", 1, None),
        failed("backing-off", "homebrew:backing-off", 2, Some(FUTURE)),
        failed("past-backoff", "homebrew:past-backoff", 2, Some(PAST)),
        pending("pending-ok", "homebrew:pending-ok", 1),
    ];
    assert_eq!(
        names(&q, &run(&q, &[], &opts(10, 3))),
        ["ready", "past-backoff", "pending-ok"]
    );
}

#[test]
fn s05_failed_retried_blocked_and_excluded_not() {
    let q = [
        pending("pending", "cargo:pending", 1),
        failed("failed-retry", "cargo:failed-retry", 1, None),
        entry("blocked", "cargo:blocked", 1, Status::Blocked, None),
        entry("excluded", "cargo:excluded", 1, Status::Excluded, None),
    ];
    assert_eq!(
        picked(&q, &run(&q, &[], &opts(10, 3))),
        [("pending", Normal), ("failed-retry", Normal)]
    );
}

fn three_ecosystems() -> [QueueEntry; 3] {
    [
        pending("bat", "github:sharkdp/bat", 1),
        pending("ripgrep", "cargo:ripgrep", 1),
        QueueEntry {
            confidence: "curated".into(),
            ..pending("jq", "homebrew:jq", 1)
        },
    ]
}

#[test]
fn s06_all_ecosystems_by_default() {
    let q = three_ecosystems();
    assert_eq!(
        names(&q, &run(&q, &[], &opts(10, 3))),
        ["bat", "ripgrep", "jq"]
    );
}

#[test]
fn s07_filter_ecosystem() {
    let q = three_ecosystems();
    let cases: [(&str, &[&str]); 4] = [
        ("github", &["bat"]),
        ("cargo", &["ripgrep"]),
        ("homebrew", &["jq"]),
        ("npm", &[]),
    ];
    for (eco, want) in cases {
        let s = run(&q, &[], &filtered(10, 3, &[eco]));
        assert_eq!(names(&q, &s), want, "filter {eco}");
        assert!(s.invalid.is_empty());
    }
}

#[test]
fn s08_open_breaker_skips_ecosystem() {
    let q = [
        pending("bat", "github:sharkdp/bat", 1),
        pending("ripgrep", "cargo:ripgrep", 1),
        pending("jq", "homebrew:jq", 1),
        pending("fzf", "homebrew:fzf", 1),
    ];
    let s = run(&q, &[("homebrew", Open), ("cargo", Closed)], &opts(10, 3));
    assert_eq!(picked(&q, &s), [("bat", Normal), ("ripgrep", Normal)]);
}

#[test]
fn s09_half_open_one_probe_per_ecosystem() {
    let q = [
        pending("jq", "homebrew:jq", 1),
        pending("fzf", "homebrew:fzf", 1),
        pending("wget", "homebrew:wget", 1),
        pending("ripgrep", "cargo:ripgrep", 1),
        pending("serde", "cargo:serde", 1),
    ];
    let s = run(
        &q,
        &[("homebrew", HalfOpen), ("cargo", HalfOpen)],
        &opts(10, 3),
    );
    assert_eq!(
        picked(&q, &s),
        [("jq", ProbePending), ("ripgrep", ProbePending)]
    );
}

#[test]
fn s10_half_open_prefers_pending_over_earlier_failed() {
    let q = [
        failed("fail1", "homebrew:fail1", 2, Some(FUTURE)),
        failed("fail2", "homebrew:fail2", 1, None),
        pending("fresh", "homebrew:fresh", 1),
        pending("cargo-pkg", "cargo:cargo-pkg", 1),
    ];
    let s = run(&q, &[("homebrew", HalfOpen)], &opts(10, 3));
    assert_eq!(
        picked(&q, &s),
        [("fresh", ProbePending), ("cargo-pkg", Normal)]
    );
}

#[test]
fn s11_half_open_bypasses_backoff() {
    let q = [
        entry(
            "pending-backoff",
            "npm:pending-backoff",
            1,
            Status::Pending,
            Some(FUTURE),
        ),
        failed("failed-backoff", "npm:failed-backoff", 3, Some(FUTURE)),
    ];
    let s = run(&q, &[("npm", HalfOpen)], &opts(10, 3));
    assert_eq!(picked(&q, &s), [("pending-backoff", ProbePending)]);
}

#[test]
fn s12_half_open_falls_back_to_first_failed() {
    let q = [
        failed("fail-a", "pypi:fail-a", 3, Some(FUTURE)),
        failed("fail-b", "pypi:fail-b", 2, Some(FUTURE)),
        entry("success", "pypi:success", 1, Status::Success, None),
    ];
    let s = run(&q, &[("pypi", HalfOpen)], &opts(10, 3));
    assert_eq!(picked(&q, &s), [("fail-a", ProbeFailed)]);
}

#[test]
fn s13_filter_and_half_open_prefers_pending() {
    let q = [
        failed("fail-rb", "rubygems:fail-rb", 2, Some(FUTURE)),
        pending("pending-rb", "rubygems:pending-rb", 1),
        pending("extra-rb", "rubygems:extra-rb", 1),
        pending("cargo-pkg", "cargo:cargo-pkg", 1),
    ];
    let s = run(
        &q,
        &[("rubygems", HalfOpen)],
        &filtered(10, 3, &["rubygems"]),
    );
    assert_eq!(picked(&q, &s), [("pending-rb", ProbePending)]);
}

#[test]
fn s14_filter_and_half_open_fallback() {
    let q = [
        failed("fail1", "rubygems:fail1", 3, Some(FUTURE)),
        failed("fail2", "rubygems:fail2", 2, Some(FUTURE)),
        pending("cargo-pkg", "cargo:cargo-pkg", 1),
    ];
    let s = run(
        &q,
        &[("rubygems", HalfOpen)],
        &filtered(10, 3, &["rubygems"]),
    );
    assert_eq!(picked(&q, &s), [("fail1", ProbeFailed)]);
}

#[test]
fn s15_half_open_mixed_with_closed() {
    let q = [
        failed("hb-fail", "homebrew:hb-fail", 1, Some(FUTURE)),
        pending("hb-pending", "homebrew:hb-pending", 1),
        pending("cargo-a", "cargo:cargo-a", 1),
        pending("cargo-b", "cargo:cargo-b", 1),
        pending("hb-extra", "homebrew:hb-extra", 1),
        failed("cargo-backoff", "cargo:cargo-backoff", 2, Some(FUTURE)),
    ];
    let s = run(&q, &[("homebrew", HalfOpen)], &opts(10, 3));
    assert_eq!(
        picked(&q, &s),
        [
            ("hb-pending", ProbePending),
            ("cargo-a", Normal),
            ("cargo-b", Normal)
        ]
    );
}

// ---------------------------------------------------------------------------------------
// §8.2 #83–88
// ---------------------------------------------------------------------------------------

#[test]
fn s83_tier_one_selects_only_priority_one() {
    let q = [
        pending("p1", "homebrew:p1", 1),
        pending("p2", "homebrew:p2", 2),
        pending("p3", "homebrew:p3", 3),
    ];
    assert_eq!(names(&q, &run(&q, &[], &opts(10, 1))), ["p1"]);
}

#[test]
fn tier_is_inclusive_for_each_value() {
    let q = [
        pending("p3", "homebrew:p3", 3),
        pending("p1", "homebrew:p1", 1),
        pending("p2", "homebrew:p2", 2),
    ];
    let cases: [(i64, &[&str]); 5] = [
        (0, &[]),
        (1, &["p1"]),
        (2, &["p1", "p2"]),
        (3, &["p3", "p1", "p2"]),
        (4, &["p3", "p1", "p2"]),
    ];
    for (tier, want) in cases {
        assert_eq!(
            names(&q, &run(&q, &[], &opts(10, tier))),
            want,
            "tier {tier}"
        );
    }
}

#[test]
fn s84_probe_ignores_tier() {
    let q = [pending("big", "npm:big", 3)];
    let s = run(&q, &[("npm", HalfOpen)], &opts(10, 1));
    assert_eq!(picked(&q, &s), [("big", ProbePending)]);
}

#[test]
fn s85_truncation_drops_fallback_probe() {
    // C's ecosystem is half-open with only a failed entry. Wherever C sits, the two closed
    // entries fill the batch and the fallback probe is cut.
    let a = pending("A", "cargo:a", 1);
    let b = pending("B", "cargo:b", 1);
    let c = failed("C", "pypi:c", 1, None);
    for q in [
        vec![a.clone(), b.clone(), c.clone()],
        vec![c.clone(), a.clone(), b.clone()],
        vec![a.clone(), c.clone(), b.clone()],
    ] {
        let s = run(&q, &[("pypi", HalfOpen)], &opts(2, 3));
        assert_eq!(picked(&q, &s), [("A", Normal), ("B", Normal)]);
    }
}

#[test]
fn s85_variant_loop_stops_at_b_then_truncates() {
    let q = [
        pending("A", "cargo:a", 1),
        pending("P", "npm:p", 1),
        pending("B", "cargo:b", 1),
        pending("D", "cargo:d", 1),
    ];
    let s = run(&q, &[("npm", HalfOpen)], &opts(2, 3));
    assert_eq!(picked(&q, &s), [("A", Normal), ("P", ProbePending)]);
}

#[test]
fn s86_early_break_hides_later_half_open_pending() {
    let q = [
        pending("A", "cargo:a", 1),
        pending("B", "cargo:b", 1),
        pending("P", "npm:p", 1),
    ];
    let s = run(&q, &[("npm", HalfOpen)], &opts(2, 3));
    assert_eq!(picked(&q, &s), [("A", Normal), ("B", Normal)]);
}

#[test]
fn s87_closed_backoff_applies_to_pending_entries() {
    let q = [
        entry("later", "homebrew:later", 1, Status::Pending, Some(FUTURE)),
        entry("due", "homebrew:due", 1, Status::Pending, Some(PAST)),
    ];
    assert_eq!(names(&q, &run(&q, &[], &opts(10, 3))), ["due"]);
}

#[test]
fn s88_non_candidate_statuses_never_selected() {
    let statuses = [
        Status::Blocked,
        Status::Success,
        Status::RequiresManual,
        Status::Excluded,
    ];
    for state in [Closed, HalfOpen] {
        for status in &statuses {
            let q = [entry("x", "homebrew:x", 1, status.clone(), None)];
            let s = run(&q, &[("homebrew", state)], &opts(10, 3));
            assert_eq!(s, Selection::default(), "{status} under {state:?}");
        }
        // All four together, followed by a real candidate: only the candidate is taken.
        let mut q: Vec<QueueEntry> = statuses
            .iter()
            .enumerate()
            .map(|(i, st)| entry(&format!("n{i}"), "homebrew:x", 1, st.clone(), None))
            .collect();
        q.push(pending("ok", "homebrew:ok", 1));
        let s = run(&q, &[("homebrew", state)], &opts(10, 3));
        let want = if state == HalfOpen {
            ProbePending
        } else {
            Normal
        };
        assert_eq!(picked(&q, &s), [("ok", want)], "{state:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Further rules
// ---------------------------------------------------------------------------------------

#[test]
fn batch_size_zero_selects_nothing() {
    let q = [
        pending("probe", "npm:probe", 1),
        failed("fb", "pypi:fb", 1, None),
        pending("a", "cargo:a", 1),
        pending("b", "cargo:b", 1),
    ];
    let s = run(&q, &[("npm", HalfOpen), ("pypi", HalfOpen)], &opts(0, 3));
    assert!(s.candidates.is_empty(), "{:?}", s.candidates);
    // Only probes, no closed entry to trigger the break: still nothing.
    let s = run(
        &q[..2],
        &[("npm", HalfOpen), ("pypi", HalfOpen)],
        &opts(0, 3),
    );
    assert!(s.candidates.is_empty(), "{:?}", s.candidates);
}

#[test]
fn tier_zero_still_selects_half_open_probes() {
    let q = [
        pending("closed-a", "cargo:a", 1),
        pending("probe", "npm:probe", 2),
        failed("fb", "pypi:fb", 1, Some(FUTURE)),
        pending("closed-b", "cargo:b", 1),
    ];
    let s = run(&q, &[("npm", HalfOpen), ("pypi", HalfOpen)], &opts(10, 0));
    assert_eq!(
        picked(&q, &s),
        [("probe", ProbePending), ("fb", ProbeFailed)]
    );
    // With no half-open ecosystem tier 0 selects nothing.
    assert!(run(&q, &[], &opts(10, 0)).candidates.is_empty());
}

#[test]
fn next_retry_at_boundary() {
    let cases: [(&str, bool); 6] = [
        (NOW, true),
        ("2026-06-01T14:00:00+02:00", true), // same instant, another offset
        ("2026-06-01T11:59:59.999999999Z", true),
        ("2026-06-01T12:00:00.000000001Z", false),
        ("2026-06-01T12:00:00.000000001+00:00", false),
        ("2026-06-01T12:00:01Z", false),
    ];
    for (retry, eligible) in cases {
        for status in [Status::Pending, Status::Failed] {
            let q = [entry("x", "cargo:x", 1, status.clone(), Some(retry))];
            let got = names(&q, &run(&q, &[], &opts(10, 3)));
            let want: &[&str] = if eligible { &["x"] } else { &[] };
            assert_eq!(got, want, "{status} retry {retry}");
        }
    }
}

#[test]
fn multi_ecosystem_filter() {
    let q = [
        pending("h1", "homebrew:h1", 1),
        pending("c1", "cargo:c1", 1),
        pending("p1", "pypi:p1", 1),
        pending("n1", "npm:n1", 1),
        pending("c2", "cargo:c2", 1),
        pending("g1", "github:o/g1", 1),
    ];
    let s = run(&q, &[], &filtered(10, 3, &["npm", "cargo"]));
    assert_eq!(names(&q, &s), ["c1", "n1", "c2"]);
    // A filter naming only unknown ecosystems selects nothing.
    let s = run(&q, &[], &filtered(10, 3, &["rubygems", "go"]));
    assert!(s.candidates.is_empty());
    // Filtering is exact and case-sensitive.
    let s = run(&q, &[], &filtered(10, 3, &["Cargo", "crates.io", "carg"]));
    assert!(s.candidates.is_empty());
}

#[test]
fn multi_ecosystem_filter_with_half_open_and_open() {
    let q = [
        failed("n-fail", "npm:n-fail", 1, None),
        pending("c1", "cargo:c1", 1),
        pending("h1", "homebrew:h1", 1),
        failed("p-fail", "pypi:p-fail", 1, None),
        pending("p-pend", "pypi:p-pend", 3),
        pending("c2", "cargo:c2", 1),
    ];
    let states = [("npm", HalfOpen), ("pypi", HalfOpen), ("homebrew", Open)];
    let s = run(
        &q,
        &states,
        &filtered(10, 3, &["npm", "cargo", "homebrew", "pypi"]),
    );
    assert_eq!(
        picked(&q, &s),
        [
            ("c1", Normal),
            ("p-pend", ProbePending),
            ("c2", Normal),
            ("n-fail", ProbeFailed),
        ]
    );
    let s = run(&q, &states, &filtered(10, 3, &["pypi", "homebrew"]));
    assert_eq!(picked(&q, &s), [("p-pend", ProbePending)]);
}

#[test]
fn disabled_ecosystems_behave_as_open() {
    let q = [
        pending("h1", "homebrew:h1", 1),
        pending("c1", "cargo:c1", 1),
        failed("n-fail", "npm:n-fail", 1, None),
        pending("h2", "homebrew:h2", 1),
        pending("p1", "pypi:p1", 1),
    ];
    let base = SelectOptions {
        disabled: set(&["homebrew", "npm"]),
        ..opts(10, 3)
    };
    // Closed disabled ecosystem and half-open disabled ecosystem both contribute nothing.
    let s = run(&q, &[("npm", HalfOpen)], &base);
    assert_eq!(picked(&q, &s), [("c1", Normal), ("p1", Normal)]);
    // Disabled beats the filter.
    let o = SelectOptions {
        ecosystems: set(&["homebrew", "pypi"]),
        ..base.clone()
    };
    assert_eq!(names(&q, &run(&q, &[], &o)), ["p1"]);
    let o = SelectOptions {
        ecosystems: set(&["homebrew"]),
        ..base
    };
    assert_eq!(run(&q, &[("homebrew", HalfOpen)], &o), Selection::default());
}

#[test]
fn disabled_unknown_ecosystem_changes_nothing() {
    let q = [pending("c1", "cargo:c1", 1), pending("p1", "pypi:p1", 1)];
    let o = SelectOptions {
        disabled: set(&["rubygems", "Cargo"]),
        ..opts(10, 3)
    };
    assert_eq!(names(&q, &run(&q, &[], &o)), ["c1", "p1"]);
}

#[test]
fn fallback_probes_ordered_by_ecosystem_name() {
    let q = [
        failed("py-1", "pypi:a", 1, Some(FUTURE)),
        failed("npm-1", "npm:b", 1, Some(FUTURE)),
        failed("py-2", "pypi:c", 1, None),
        failed("cargo-1", "cargo:d", 1, Some(FUTURE)),
        failed("npm-2", "npm:e", 1, None),
        failed("cargo-2", "cargo:f", 1, None),
    ];
    let states = [("pypi", HalfOpen), ("npm", HalfOpen), ("cargo", HalfOpen)];
    let s = run(&q, &states, &opts(10, 3));
    assert_eq!(
        picked(&q, &s),
        [
            ("cargo-1", ProbeFailed),
            ("npm-1", ProbeFailed),
            ("py-1", ProbeFailed),
        ]
    );
}

#[test]
fn fallback_probes_come_after_main_pass() {
    let q = [
        failed("py-fail", "pypi:a", 1, None),
        pending("hb", "homebrew:hb", 2),
        failed("cargo-fail", "cargo:b", 1, None),
        pending("npm-probe", "npm:c", 3),
        failed("npm-fail", "npm:d", 1, None),
        pending("gh", "github:o/gh", 1),
    ];
    let states = [("pypi", HalfOpen), ("npm", HalfOpen), ("cargo", HalfOpen)];
    let s = run(&q, &states, &opts(10, 2));
    assert_eq!(
        picked(&q, &s),
        [
            ("hb", Normal),
            ("npm-probe", ProbePending),
            ("gh", Normal),
            ("cargo-fail", ProbeFailed),
            ("py-fail", ProbeFailed),
        ]
    );
}

#[test]
fn truncation_drops_late_fallback_probes() {
    let q = [
        failed("py", "pypi:a", 1, None),
        failed("npm", "npm:b", 1, None),
        failed("cargo", "cargo:c", 1, None),
    ];
    let states = [("pypi", HalfOpen), ("npm", HalfOpen), ("cargo", HalfOpen)];
    let cases: [(usize, &[&str]); 5] = [
        (0, &[]),
        (1, &["cargo"]),
        (2, &["cargo", "npm"]),
        (3, &["cargo", "npm", "py"]),
        (9, &["cargo", "npm", "py"]),
    ];
    for (bs, want) in cases {
        assert_eq!(
            names(&q, &run(&q, &states, &opts(bs, 3))),
            want,
            "batch {bs}"
        );
    }
    // A closed entry and a pending probe come first and push fallbacks out.
    let mut q2 = q.to_vec();
    q2.push(pending("homebrew-ok", "homebrew:ok", 1));
    q2.push(pending("go-probe", "go:p", 1));
    let mut states2 = states.to_vec();
    states2.push(("go", HalfOpen));
    let s = run(&q2, &states2, &opts(3, 3));
    assert_eq!(
        picked(&q2, &s),
        [
            ("homebrew-ok", Normal),
            ("go-probe", ProbePending),
            ("cargo", ProbeFailed)
        ]
    );
}

#[test]
fn probes_count_against_batch_size_but_do_not_break() {
    // Probes never trigger the break; the first normal entry at or past the limit does.
    let q = [
        pending("P1", "npm:p1", 1),
        pending("P2", "pypi:p2", 1),
        pending("A", "cargo:a", 1),
        pending("B", "cargo:b", 1),
    ];
    let states = [("npm", HalfOpen), ("pypi", HalfOpen)];
    let cases: [(usize, &[&str]); 5] = [
        (1, &["P1"]),
        (2, &["P1", "P2"]),
        (3, &["P1", "P2", "A"]),
        (4, &["P1", "P2", "A", "B"]),
        (5, &["P1", "P2", "A", "B"]),
    ];
    for (bs, want) in cases {
        assert_eq!(
            names(&q, &run(&q, &states, &opts(bs, 3))),
            want,
            "batch {bs}"
        );
    }
}

#[test]
fn break_stops_before_later_entries_are_examined() {
    // After the break the homebrew pending entry is never seen, so the earlier failed entry
    // is only a fallback probe, and it is truncated away.
    let q = [
        failed("hb-fail", "homebrew:f", 1, None),
        pending("A", "cargo:a", 1),
        pending("hb-pend", "homebrew:p", 1),
    ];
    let s = run(&q, &[("homebrew", HalfOpen)], &opts(1, 3));
    assert_eq!(picked(&q, &s), [("A", Normal)]);
    let s = run(&q, &[("homebrew", HalfOpen)], &opts(2, 3));
    assert_eq!(picked(&q, &s), [("A", Normal), ("hb-pend", ProbePending)]);
}

#[test]
fn missing_or_closed_breaker_is_normal_selection() {
    let q = [pending("a", "cargo:a", 1), pending("b", "npm:b", 1)];
    for states in [
        &[][..],
        &[("cargo", Closed), ("npm", Closed)][..],
        &[("other", Open)][..],
    ] {
        let s = run(&q, states, &opts(10, 3));
        assert_eq!(picked(&q, &s), [("a", Normal), ("b", Normal)], "{states:?}");
    }
}

#[test]
fn open_breaker_contributes_nothing_even_when_filtered() {
    let q = [
        pending("a", "cargo:a", 1),
        failed("b", "cargo:b", 1, None),
        pending("c", "npm:c", 1),
    ];
    let s = run(&q, &[("cargo", Open)], &filtered(10, 3, &["cargo"]));
    assert_eq!(s, Selection::default());
}

#[test]
fn source_without_colon_has_empty_ecosystem() {
    let q = [
        pending("solo", "noseparator", 1),
        pending("c", "cargo:c", 1),
    ];
    assert_eq!(names(&q, &run(&q, &[], &opts(10, 3))), ["solo", "c"]);
    assert_eq!(names(&q, &run(&q, &[("", Open)], &opts(10, 3))), ["c"]);
    assert_eq!(
        names(&q, &run(&q, &[], &filtered(10, 3, &["cargo"]))),
        ["c"]
    );
    assert_eq!(names(&q, &run(&q, &[], &filtered(10, 3, &[""]))), ["solo"]);
    // Only the part before the first colon counts.
    let q = [pending("x", "homebrew:a:b", 1)];
    assert!(
        run(&q, &[("homebrew", Open)], &opts(10, 3))
            .candidates
            .is_empty()
    );
}

#[test]
fn duplicate_names_run_once_and_later_copies_are_invalid() {
    // Deliberate fix (issue #4): Go ran both and they wrote the same recipe file; here the
    // first entry with a name runs and later ones are reported as invalid. The first one
    // counts even when it is not a candidate itself.
    let q = [
        pending("same", "cargo:same", 1),
        pending("same", "cargo:same", 1),
        failed("same", "npm:other", 1, None),
        entry("done", "cargo:done", 1, Status::Success, None),
        pending("done", "cargo:done2", 1),
        pending("Same", "cargo:same", 1),
    ];
    let s = run(&q, &[], &opts(10, 3));
    let idx: Vec<usize> = s.candidates.iter().map(|c| c.index).collect();
    assert_eq!(
        idx,
        [0, 5],
        "names are compared exactly (recipe paths are case-sensitive)"
    );
    assert_eq!(invalid_indices(&s), [1, 2, 4]);
    assert_eq!(s.invalid[0].problems, ["duplicate name (first at entry 0)"]);
    assert_eq!(s.invalid[2].problems, ["duplicate name (first at entry 3)"]);
}

#[test]
fn candidate_indices_refer_to_queue_positions() {
    let q = [
        entry("skip", "cargo:skip", 1, Status::Success, None),
        pending("a", "cargo:a", 1),
        failed("f", "npm:f", 1, None),
        pending("b", "cargo:b", 2),
    ];
    let s = run(&q, &[("npm", HalfOpen)], &opts(10, 3));
    assert_eq!(
        s.candidates,
        [
            Candidate {
                index: 1,
                reason: Normal
            },
            Candidate {
                index: 3,
                reason: Normal
            },
            Candidate {
                index: 2,
                reason: ProbeFailed
            },
        ]
    );
}

#[test]
fn reason_labels() {
    assert_eq!(Normal.label(), "normal");
    assert_eq!(ProbePending.label(), "half-open probe");
    assert_eq!(ProbeFailed.label(), "half-open probe (failed entry)");
}

// ---------------------------------------------------------------------------------------
// Invalid entries
// ---------------------------------------------------------------------------------------

#[test]
fn invalid_entries_reported_with_index_and_not_selected() {
    let q = [
        pending("ok1", "cargo:ok1", 1),
        pending("../x", "cargo:x", 1),
        QueueEntry {
            status: Status::Failed,
            ..pending("prio0", "cargo:prio0", 0)
        },
        pending("", "cargo:empty", 1),
        pending("prio4", "cargo:prio4", 4),
        QueueEntry {
            confidence: "manual".into(),
            ..pending("conf", "cargo:conf", 1)
        },
        pending("/etc/passwd", "cargo:abs", 1),
        pending("ok2", "cargo:ok2", 1),
        pending("evil", "../../etc:exploit", 1),
    ];
    let s = run(&q, &[], &opts(10, 3));
    assert_eq!(picked(&q, &s), [("ok1", Normal), ("ok2", Normal)]);
    assert_eq!(invalid_indices(&s), [1, 2, 3, 4, 5, 6, 8]);
    let inv_names: Vec<&str> = s.invalid.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        inv_names,
        ["../x", "prio0", "", "prio4", "conf", "/etc/passwd", "evil"]
    );
    for inv in &s.invalid {
        assert!(!inv.problems.is_empty(), "{inv:?}");
        assert_eq!(inv.problems, q[inv.index].problems());
    }
    assert!(s.invalid[1].problems.iter().any(|p| p.contains("got 0")));
    assert!(s.invalid[3].problems.iter().any(|p| p.contains("got 4")));
}

#[test]
fn invalid_entries_reported_regardless_of_tier_and_backoff() {
    // Validation runs before the tier and backoff checks of closed ecosystems.
    let q = [
        pending("prio9", "cargo:a", 9),
        QueueEntry {
            failure_count: -1,
            ..entry("neg", "cargo:b", 1, Status::Failed, Some(FUTURE))
        },
        pending("ok", "cargo:c", 1),
    ];
    let s = run(&q, &[], &opts(10, 1));
    assert_eq!(names(&q, &s), ["ok"]);
    assert_eq!(invalid_indices(&s), [0, 1]);
}

#[test]
fn invalid_entries_reported_whatever_their_status_ecosystem_or_breaker() {
    let bad = |name: &str, source: &str, status: Status| QueueEntry {
        status,
        ..pending(name, source, 0)
    };
    let q = [
        bad("open", "homebrew:a", Status::Pending),
        bad("disabled", "go:b", Status::Failed),
        bad("filtered-out", "pypi:c", Status::Pending),
        bad("blocked", "cargo:d", Status::Blocked),
        bad("success", "cargo:e", Status::Success),
        bad("weird", "cargo:f", Status::Other("in_progress".into())),
        bad("reported", "cargo:g", Status::Pending),
        pending("ok", "cargo:h", 1),
    ];
    let o = SelectOptions {
        ecosystems: set(&["homebrew", "go", "cargo"]),
        disabled: set(&["go"]),
        ..opts(10, 3)
    };
    let s = run(&q, &[("homebrew", Open)], &o);
    assert_eq!(names(&q, &s), ["ok"]);
    // Bad input is reported wherever it is: open, disabled, filtered out, any status.
    assert_eq!(invalid_indices(&s), [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(s.invalid[6].name, "reported");
}

#[test]
fn invalid_entry_in_half_open_ecosystem_is_skipped_not_probed() {
    let q = [
        pending("../evil", "npm:evil", 1),
        failed("ok-fail", "npm:ok-fail", 1, None),
        pending("ok-pend", "npm:ok-pend", 1),
        QueueEntry {
            status: Status::Failed,
            ..pending("bad-fail", "pypi:bad", 7)
        },
        failed("py-fail", "pypi:ok", 1, None),
    ];
    let s = run(&q, &[("npm", HalfOpen), ("pypi", HalfOpen)], &opts(10, 3));
    assert_eq!(
        picked(&q, &s),
        [("ok-pend", ProbePending), ("py-fail", ProbeFailed)]
    );
    assert_eq!(invalid_indices(&s), [0, 3]);
}

#[test]
fn half_open_with_only_invalid_entries_selects_nothing() {
    let q = [
        pending("a/../b", "npm:a", 1),
        QueueEntry {
            status: Status::Failed,
            ..pending(".hidden", "npm:b", 1)
        },
    ];
    let s = run(&q, &[("npm", HalfOpen)], &opts(10, 3));
    assert!(s.candidates.is_empty());
    assert_eq!(invalid_indices(&s), [0, 1]);
}

#[test]
fn invalid_entries_reported_after_the_batch_is_full() {
    // A full batch stops candidate selection, not the scan for invalid entries, so the report
    // does not depend on the batch size.
    let q = [
        pending("P", "npm:p", 1),
        pending("../bad1", "cargo:bad1", 1),
        pending("A", "cargo:a", 1),
        pending("../bad2", "cargo:bad2", 1),
    ];
    let s = run(&q, &[("npm", HalfOpen)], &opts(1, 3));
    assert_eq!(picked(&q, &s), [("P", ProbePending)]);
    assert_eq!(invalid_indices(&s), [1, 3]);
    let s = run(&q, &[("npm", HalfOpen)], &opts(2, 3));
    assert_eq!(picked(&q, &s), [("P", ProbePending), ("A", Normal)]);
    assert_eq!(invalid_indices(&s), [1, 3]);
    let s = run(&q, &[("npm", HalfOpen)], &opts(3, 3));
    assert_eq!(invalid_indices(&s), [1, 3]);
}

// ---------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------

const ECOS: [&str; 4] = ["cargo", "homebrew", "npm", "pypi"];
const RETRIES: [Option<&str>; 6] = [
    None,
    Some(PAST),
    Some(FUTURE),
    Some(NOW),
    Some("2026-06-01T12:00:00.000000001Z"),
    Some("2026-06-01T11:59:59.999999999Z"),
];

fn status_of(i: usize) -> Status {
    [
        Status::Pending,
        Status::Failed,
        Status::Success,
        Status::Blocked,
        Status::RequiresManual,
        Status::Excluded,
    ][i]
        .clone()
}

fn state_of(i: usize) -> Option<EffectiveState> {
    [None, Some(Closed), Some(Open), Some(HalfOpen)][i]
}

#[derive(Debug, Clone)]
struct Case {
    entries: Vec<QueueEntry>,
    breakers: BTreeMap<String, EffectiveState>,
    opts: SelectOptions,
}

fn arb_entry() -> impl Strategy<Value = (usize, usize, i64, usize, bool)> {
    (
        0..ECOS.len(),
        0..6usize,
        0i64..=4,
        0..RETRIES.len(),
        proptest::bool::weighted(0.1),
    )
}

fn arb_case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(arb_entry(), 0..14),
        proptest::collection::vec(0..4usize, ECOS.len()),
        proptest::collection::vec(proptest::bool::weighted(0.25), ECOS.len()),
        proptest::collection::vec(proptest::bool::weighted(0.15), ECOS.len()),
        0usize..10,
        0i64..=4,
    )
        .prop_map(|(raw, states, filter, disabled, batch_size, tier)| {
            let entries = raw
                .into_iter()
                .enumerate()
                .map(|(i, (eco, st, prio, retry, bad_name))| {
                    let name = if bad_name {
                        format!("../e{i}")
                    } else {
                        format!("e{i}")
                    };
                    QueueEntry {
                        status: status_of(st),
                        next_retry_at: RETRIES[retry].map(ts),
                        ..QueueEntry::new(name, format!("{}:pkg{i}", ECOS[eco]), prio)
                    }
                })
                .collect();
            let breakers = ECOS
                .iter()
                .zip(states)
                .filter_map(|(eco, s)| state_of(s).map(|s| ((*eco).to_owned(), s)))
                .collect();
            let pick = |flags: Vec<bool>| -> BTreeSet<String> {
                ECOS.iter()
                    .zip(flags)
                    .filter(|(_, f)| *f)
                    .map(|(e, _)| (*e).to_owned())
                    .collect()
            };
            Case {
                entries,
                breakers,
                opts: SelectOptions {
                    batch_size,
                    tier,
                    ecosystems: pick(filter),
                    disabled: pick(disabled),
                    ..SelectOptions::default()
                },
            }
        })
}

fn state(c: &Case, eco: &str) -> EffectiveState {
    c.breakers.get(eco).copied().unwrap_or_default()
}

/// Whether the entry's ecosystem may contribute at all (filter, disabled, open).
fn eco_eligible(c: &Case, eco: &str) -> bool {
    (c.opts.ecosystems.is_empty() || c.opts.ecosystems.contains(eco))
        && !c.opts.disabled.contains(eco)
        && state(c, eco) != Open
}

/// Independent restatement of spec §3 with the crate's two deliberate differences.
fn reference(c: &Case) -> Selection {
    let n = now();
    let mut out = Selection::default();
    let mut main: Vec<Candidate> = Vec::new();
    let mut first_failed: BTreeMap<String, usize> = BTreeMap::new();
    let mut probed: BTreeSet<String> = BTreeSet::new();
    out.invalid = c
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.problems().is_empty())
        .map(|(index, e)| InvalidEntry {
            index,
            name: e.name.clone(),
            problems: e.problems(),
        })
        .collect();
    for (index, e) in c.entries.iter().enumerate() {
        let candidate_status = e.status == Status::Pending || e.status == Status::Failed;
        let eco = e
            .source
            .split_once(':')
            .map_or("", |(eco, _)| eco)
            .to_owned();
        if !e.problems().is_empty() || !candidate_status || !eco_eligible(c, &eco) {
            continue;
        }
        match state(c, &eco) {
            HalfOpen if e.status == Status::Pending && !probed.contains(&eco) => {
                probed.insert(eco);
                main.push(Candidate {
                    index,
                    reason: ProbePending,
                });
            }
            HalfOpen => {
                first_failed.entry(eco).or_insert(index);
            }
            _ => {
                let due = e.next_retry_at.is_none_or(|t| t.instant() <= n);
                if e.priority <= c.opts.tier && due {
                    main.push(Candidate {
                        index,
                        reason: Normal,
                    });
                    if main.len() >= c.opts.batch_size {
                        break;
                    }
                }
            }
        }
    }
    out.candidates = main;
    for (eco, index) in first_failed {
        if !probed.contains(&eco) {
            out.candidates.push(Candidate {
                index,
                reason: ProbeFailed,
            });
        }
    }
    out.candidates.truncate(c.opts.batch_size);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn prop_invariants(c in arb_case()) {
        let n = now();
        let s = select(&c.entries, &c.breakers, &c.opts, n);

        prop_assert!(s.candidates.len() <= c.opts.batch_size);

        let idx: BTreeSet<usize> = s.candidates.iter().map(|x| x.index).collect();
        prop_assert_eq!(idx.len(), s.candidates.len(), "duplicate candidates");

        let mut half_open_seen: BTreeSet<&str> = BTreeSet::new();
        for cand in &s.candidates {
            let e = &c.entries[cand.index];
            let eco = e.ecosystem();
            prop_assert!(matches!(e.status, Status::Pending | Status::Failed), "{:?}", e);
            prop_assert!(eco_eligible(&c, eco), "ineligible ecosystem {}", eco);
            prop_assert!(e.problems().is_empty(), "invalid entry selected: {:?}", e);
            match state(&c, eco) {
                HalfOpen => {
                    prop_assert!(half_open_seen.insert(eco), "two probes for {}", eco);
                    prop_assert_ne!(cand.reason, Normal);
                }
                _ => prop_assert_eq!(cand.reason, Normal),
            }
            match cand.reason {
                Normal => {
                    prop_assert!(e.priority <= c.opts.tier);
                    prop_assert!(e.next_retry_at.is_none_or(|t| t.instant() <= n));
                }
                ProbePending => prop_assert_eq!(&e.status, &Status::Pending),
                ProbeFailed => prop_assert_eq!(&e.status, &Status::Failed),
                Reason::Named | Reason::Forced | Reason::RetryFailed => {
                    prop_assert!(false, "no --name or --retry-failed here: {:?}", cand)
                }
            }
        }

        // Main-pass candidates in queue order, then fallbacks in ecosystem-name order.
        let main: Vec<usize> = s.candidates.iter()
            .take_while(|x| x.reason != ProbeFailed)
            .map(|x| x.index)
            .collect();
        prop_assert!(main.windows(2).all(|w| w[0] < w[1]), "{:?}", main);
        let rest = &s.candidates[main.len()..];
        prop_assert!(rest.iter().all(|x| x.reason == ProbeFailed), "{:?}", s.candidates);
        let fb_ecos: Vec<&str> = rest.iter().map(|x| c.entries[x.index].ecosystem()).collect();
        prop_assert!(fb_ecos.windows(2).all(|w| w[0] < w[1]), "{:?}", fb_ecos);

        // A fallback probe is the first valid failed entry of its ecosystem.
        for x in rest {
            let eco = c.entries[x.index].ecosystem();
            let first = c.entries.iter().position(|e| {
                e.ecosystem() == eco && e.status == Status::Failed && e.problems().is_empty()
            });
            prop_assert_eq!(first, Some(x.index));
        }

        // Invalid entries: never selected, in queue order, and every invalid entry of the
        // queue is reported, wherever it is.
        prop_assert!(s.invalid.windows(2).all(|w| w[0].index < w[1].index));
        for inv in &s.invalid {
            let e = &c.entries[inv.index];
            prop_assert!(!idx.contains(&inv.index));
            prop_assert_eq!(&inv.name, &e.name);
            prop_assert!(!inv.problems.is_empty());
        }
        let all_invalid = c.entries.iter().filter(|e| !e.problems().is_empty()).count();
        prop_assert_eq!(s.invalid.len(), all_invalid);
    }

    #[test]
    fn prop_matches_reference(c in arb_case()) {
        let s = select(&c.entries, &c.breakers, &c.opts, now());
        prop_assert_eq!(s, reference(&c));
    }

    #[test]
    fn prop_large_batch_takes_every_eligible_normal_entry(c in arb_case()) {
        let c = Case { opts: SelectOptions { batch_size: 1000, ..c.opts.clone() }, ..c };
        let n = now();
        let s = select(&c.entries, &c.breakers, &c.opts, n);
        let want: Vec<usize> = c.entries.iter().enumerate()
            .filter(|(_, e)| {
                matches!(e.status, Status::Pending | Status::Failed)
                    && eco_eligible(&c, e.ecosystem())
                    && state(&c, e.ecosystem()) == Closed
                    && e.problems().is_empty()
                    && e.priority <= c.opts.tier
                    && e.next_retry_at.is_none_or(|t| t.instant() <= n)
            })
            .map(|(i, _)| i)
            .collect();
        let got: Vec<usize> = s.candidates.iter().filter(|x| x.reason == Normal).map(|x| x.index).collect();
        prop_assert_eq!(got, want);
        // Every half-open ecosystem with a valid pending or failed entry gets exactly one probe.
        for eco in ECOS {
            if state(&c, eco) != HalfOpen || !eco_eligible(&c, eco) {
                continue;
            }
            let valid = |st: Status| c.entries.iter().position(|e| {
                e.ecosystem() == eco && e.status == st && e.problems().is_empty()
            });
            let want = valid(Status::Pending)
                .map(|i| Candidate { index: i, reason: ProbePending })
                .or(valid(Status::Failed).map(|i| Candidate { index: i, reason: ProbeFailed }));
            let got = s.candidates.iter().copied().find(|x| c.entries[x.index].ecosystem() == eco);
            prop_assert_eq!(got, want, "{}", eco);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --name and --retry-failed (issue #12)
// ---------------------------------------------------------------------------------------------

fn picked_at(sel: &Selection) -> Vec<(usize, Reason)> {
    sel.candidates.iter().map(|c| (c.index, c.reason)).collect()
}

/// `--name` selects exactly the named entries in queue order, whatever their priority, backoff
/// and the batch size; names that select nothing say why.
#[test]
fn named_entries_ignore_tier_backoff_and_batch_size() {
    let entries = vec![
        pending("a", "npm:a", 1),
        failed("hub", "github:github/hub", 4, Some(FUTURE)),
        entry("deep", "npm:deep", 3, Status::Pending, None),
        entry("done", "npm:done", 1, Status::Success, None),
        entry("waits", "npm:waits", 1, Status::Blocked, None),
        entry("gone", "npm:gone", 1, Status::Excluded, None),
    ];
    let o = SelectOptions {
        names: set(&["deep", "hub", "done", "waits", "nope", "gone"]),
        ..opts(1, 1)
    };
    let sel = run(&entries, &[], &o);
    assert_eq!(
        picked_at(&sel),
        [(1, Reason::Named), (2, Reason::Named), (4, Reason::Named)],
        "queue order, not name order; the batch size of 1 does not cut them"
    );
    assert_eq!(
        sel.unselected_names,
        [
            (
                "done".to_owned(),
                "its status is success (nothing to retry)".to_owned()
            ),
            (
                "gone".to_owned(),
                "its status is excluded (nothing to retry)".to_owned()
            ),
            ("nope".to_owned(), "not in the queue".to_owned()),
        ]
    );
}

/// An open breaker (or a disabled ecosystem) keeps a named entry out unless `force`; a
/// half-open one lets it run; the ecosystem filter still applies.
#[test]
fn named_entries_respect_open_breakers_unless_forced() {
    let entries = vec![
        pending("a", "npm:a", 1),
        pending("b", "pypi:b", 1),
        pending("c", "cargo:c", 1),
        pending("d", "go:d", 1),
    ];
    let states = [("npm", Open), ("pypi", HalfOpen)];
    let mut o = SelectOptions {
        names: set(&["a", "b", "c", "d"]),
        disabled: set(&["cargo"]),
        ecosystems: set(&["npm", "pypi", "cargo"]),
        ..opts(25, 2)
    };
    let sel = run(&entries, &states, &o);
    assert_eq!(picked_at(&sel), [(1, Reason::Named)]);
    let why: BTreeMap<_, _> = sel.unselected_names.iter().cloned().collect();
    assert!(
        why["a"].contains("circuit breaker of npm is open"),
        "{why:?}"
    );
    assert!(why["a"].contains("--force"), "{why:?}");
    assert!(why["c"].contains("circuit breaker of cargo"), "{why:?}");
    assert_eq!(why["d"], "its ecosystem go is not in --ecosystem");

    o.force = true;
    let sel = run(&entries, &states, &o);
    assert_eq!(
        picked_at(&sel),
        [(0, Reason::Forced), (1, Reason::Named), (2, Reason::Forced)]
    );
    assert_eq!(sel.unselected_names.len(), 1, "{:?}", sel.unselected_names);
}

/// An invalid or duplicate named entry is reported, never run.
#[test]
fn named_invalid_entries_are_not_run() {
    let entries = vec![pending("x", "npm:x", 1), pending("x", "npm:x2", 1)];
    let o = SelectOptions {
        names: set(&["x"]),
        ..opts(25, 2)
    };
    let sel = run(&entries, &[], &o);
    assert_eq!(picked_at(&sel), [(0, Reason::Named)], "the first x runs");
    assert_eq!(sel.invalid.len(), 1);

    let entries = vec![pending("../x", "npm:x", 1)];
    let o = SelectOptions {
        names: set(&["../x"]),
        ..opts(25, 2)
    };
    let sel = run(&entries, &[], &o);
    assert!(sel.candidates.is_empty());
    assert!(
        sel.unselected_names[0].1.starts_with("invalid entry 0: "),
        "{:?}",
        sel.unselected_names
    );
}

/// `--retry-failed` takes only failed entries, in backoff or not, within the tier and the
/// batch size; a half-open ecosystem still gets one probe.
#[test]
fn retry_failed_takes_failed_entries_whatever_their_backoff() {
    let entries = vec![
        pending("p", "npm:p", 1),
        failed("f1", "npm:f1", 2, Some(FUTURE)),
        failed("f2", "npm:f2", 1, Some(PAST)),
        QueueEntry {
            priority: 3,
            ..failed("deep", "npm:deep", 1, None)
        },
        failed("f3", "npm:f3", 5, Some(FUTURE)),
        failed("probe1", "pypi:probe1", 1, Some(FUTURE)),
        failed("probe2", "pypi:probe2", 1, Some(FUTURE)),
    ];
    let o = SelectOptions {
        retry_failed: true,
        ..opts(3, 2)
    };
    let sel = run(&entries, &[("pypi", HalfOpen)], &o);
    assert_eq!(
        picked_at(&sel),
        [
            (1, Reason::RetryFailed),
            (2, Reason::RetryFailed),
            (4, Reason::RetryFailed)
        ],
        "the batch fills before the probe; `deep` is above the tier"
    );
    let sel = run(
        &entries,
        &[("pypi", HalfOpen)],
        &SelectOptions {
            retry_failed: true,
            ..opts(10, 2)
        },
    );
    assert_eq!(
        picked_at(&sel),
        [
            (1, Reason::RetryFailed),
            (2, Reason::RetryFailed),
            (4, Reason::RetryFailed),
            (5, Reason::ProbeFailed)
        ]
    );
}
