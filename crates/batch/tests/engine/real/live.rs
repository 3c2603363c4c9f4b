//! The live queue and control file (`testdata/tsuku/`): byte-for-byte round trip, the spec's
//! census, breaker recovery and selection under the real breakers.

use std::collections::BTreeMap;

use batch::control::breaker::EffectiveState;
use batch::control::{ControlFile, RecoveryNote};
use batch::select::{self, Reason, SelectOptions};
use batch::{Queue, Status};

use crate::util::{fixture, t};

#[test]
fn real_queue_round_trips_byte_for_byte() {
    let path = fixture("priority-queue.json");
    let original = std::fs::read(&path).unwrap();
    let q = Queue::load(&path).unwrap();
    assert_eq!(q.entries.len(), 5305);
    // Saving with the file's own updated_at must give back the same bytes.
    assert_eq!(q.updated_at.as_deref(), Some("2026-08-13T20:39:55Z"));
    let saved = q.to_bytes(t("2026-08-13T20:39:55Z"));
    assert!(
        saved == original,
        "re-serialised queue differs from the original"
    );
    // Any other updated_at changes exactly that line.
    let later = String::from_utf8(q.to_bytes(t("2026-11-24T10:00:00Z"))).unwrap();
    let orig = String::from_utf8(original).unwrap();
    let diff: Vec<_> = later
        .lines()
        .zip(orig.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        diff,
        [(
            "  \"updated_at\": \"2026-11-24T10:00:00Z\",",
            "  \"updated_at\": \"2026-08-13T20:39:55Z\","
        )]
    );
}

#[test]
fn real_queue_matches_the_spec_census() {
    let q = Queue::load(&fixture("priority-queue.json")).unwrap();
    let count = |s: Status| q.entries.iter().filter(|e| e.status == s).count();
    assert_eq!(count(Status::Pending), 3903);
    assert_eq!(count(Status::Success), 1374);
    assert_eq!(count(Status::Blocked), 22);
    assert_eq!(count(Status::Excluded), 6);
    assert_eq!(
        q.entries.iter().filter(|e| e.name.contains('/')).count(),
        915
    );
    let invalid: Vec<_> = q
        .entries
        .iter()
        .filter(|e| !e.problems().is_empty())
        .map(|e| &e.name)
        .collect();
    assert!(
        invalid.is_empty(),
        "the live queue has no invalid entry: {invalid:?}"
    );
}

#[test]
fn real_control_file_half_opens_all_six_and_keeps_the_rest() {
    let path = fixture("batch-control.json");
    let mut c = ControlFile::load(&path).unwrap();
    assert!(c.enabled);
    let notes = c.apply_due_recoveries(t("2026-11-24T10:00:00Z"));
    let opened: Vec<_> = notes
        .iter()
        .map(|n| match n {
            RecoveryNote::HalfOpened { ecosystem } => ecosystem.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        opened,
        ["crates.io", "github", "homebrew", "npm", "pypi", "rubygems"]
    );
    let before = std::fs::read_to_string(&path).unwrap();
    let after = String::from_utf8(c.to_bytes()).unwrap();
    assert_eq!(
        after,
        before.replace("\"state\": \"open\"", "\"state\": \"half-open\"")
    );
}

#[test]
fn real_queue_selection_under_real_breakers() {
    let q = Queue::load(&fixture("priority-queue.json")).unwrap();
    let mut c = ControlFile::load(&fixture("batch-control.json")).unwrap();
    let now = t("2026-11-24T10:00:00Z");
    let opts = SelectOptions {
        batch_size: 10,
        tier: 3,
        ..SelectOptions::default()
    };
    // Before recovery every real ecosystem is open: only the keys without a breaker run
    // (the live queue has no pending entry there), so nothing is selected.
    assert!(
        select::select_candidates(&q.entries, &c.states(), &opts, now)
            .candidates
            .is_empty()
    );
    c.apply_due_recoveries(now);
    let sel = select::select_candidates(&q.entries, &c.states(), &opts, now);
    let ecos: BTreeMap<&str, Reason> = sel
        .candidates
        .iter()
        .map(|cand| (q.entries[cand.index].ecosystem(), cand.reason))
        .collect();
    // One pending probe per half-open ecosystem that has a pending entry (spec §10.1: all six do).
    assert_eq!(sel.candidates.len(), 6);
    assert!(ecos.values().all(|r| *r == Reason::ProbePending));
    assert_eq!(
        ecos.keys().copied().collect::<Vec<_>>(),
        ["crates.io", "github", "homebrew", "npm", "pypi", "rubygems"]
    );
    // With every breaker closed, the first ten eligible entries in file order.
    let closed: BTreeMap<String, EffectiveState> = BTreeMap::new();
    let sel = select::select_candidates(&q.entries, &closed, &opts, now);
    assert_eq!(sel.candidates.len(), 10);
    assert!(sel.candidates.windows(2).all(|w| w[0].index < w[1].index));
}
