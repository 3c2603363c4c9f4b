//! Selection scenarios of spec §8.1 #1–15 and §8.2 #83–88.

use super::*;

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
