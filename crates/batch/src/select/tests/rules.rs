//! Further selection rules and invalid entries.

use super::*;

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
