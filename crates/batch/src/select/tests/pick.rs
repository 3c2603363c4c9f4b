//! `--name` and `--retry-failed` (issue #12).

use super::*;

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
