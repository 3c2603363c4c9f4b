//! Tests of the `queue status` model on a small fixture with a fixed clock. Every expected
//! number is derived by hand in the comments from the fixture, not from a run.

use std::path::Path;

use batch_base::clock::{Clock, FixedClock};
use serde_json::json;

use jiff::Timestamp;

use crate::Config;
use crate::Queue;
use crate::control::ControlFile;
use crate::inventory::status::*;
use crate::records::failure_log::FailureLog;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// 12 entries; see each line for what it is there for.
fn queue() -> Queue {
    let e = |name: &str, source: &str, status: &str, priority: i64, retry: Option<&str>| {
        json!({"name": name, "source": source, "priority": priority, "status": status,
               "confidence": "auto", "disambiguated_at": null,
               "failure_count": if retry.is_some() || status == "failed" { 2 } else { 0 },
               "next_retry_at": retry})
    };
    let doc = json!({"schema_version": 1, "entries": [
        e("a", "homebrew:a", "pending", 1, None),                             // selected
        e("b", "homebrew:b", "failed", 1, Some("2026-07-01T11:00:00Z")),      // due, selected
        e("c", "homebrew:c", "failed", 2, Some("2026-07-01T20:00:00Z")),      // next 24 h
        e("d", "homebrew:d", "failed", 1, Some("2026-07-03T00:00:00Z")),      // later
        e("e", "homebrew:e", "pending", 1, Some("2026-07-01T12:00:00Z")),     // due (== now)
        e("f", "npm:f", "pending", 1, None),                                  // npm open
        e("g", "npm:g", "blocked", 1, None),
        e("h", "crates.io:h", "pending", 3, None),                            // half-open probe
        e("i", "crates.io:i", "success", 1, None),
        e("openssl", "homebrew:openssl", "success", 1, None),                 // blocks 3
        e("curl", "homebrew:curl", "blocked", 2, None),                       // blocks 1
        e("x", "github:x", "failed", 1, None),                                // due, no time
    ]});
    Queue::from_slice(doc.to_string().as_bytes()).unwrap()
}

fn control(enabled: bool) -> ControlFile {
    let doc = json!({"enabled": enabled, "reason": "incident", "disabled_ecosystems": [],
        "circuit_breaker": {
            "npm": {"state": "open", "failures": 5, "opens_at": "2026-07-01T13:00:00Z"},
            "crates.io": {"state": "open", "failures": 7, "opens_at": "2026-07-01T11:00:00Z"},
            "pypi": {"state": "open", "failures": 9},
            "default": {"state": "closed", "failures": 0}}});
    ControlFile::from_slice(Path::new("c.json"), doc.to_string().as_bytes()).unwrap()
}

fn log() -> FailureLog {
    let mut log = FailureLog::default();
    let lines = concat!(
        r#"{"failures":[{"package_id":"homebrew:curl","category":"missing_dep","blocked_by":["openssl"]}]}"#,
        "\n",
        r#"{"failures":[{"package_id":"homebrew:git","category":"missing_dep","blocked_by":["openssl"]}]}"#,
        "\n",
        r#"{"recipe":"wget","category":"missing_dep","blocked_by":["curl"]}"#,
        "\n",
    );
    log.read(lines.as_bytes()).unwrap();
    log
}

fn opts(ecosystem: Option<&str>) -> StatusOptions {
    StatusOptions {
        ecosystem: ecosystem.map(str::to_owned),
        select: Config::new().select,
        top: 10,
    }
}

fn names(r: &[Retry]) -> Vec<&str> {
    r.iter().map(|r| r.entry.as_str()).collect()
}

#[test]
fn the_whole_queue_at_a_fixed_instant() {
    let clock = FixedClock::new(ts("2026-07-01T12:00:00Z"));
    let s = queue_status(&queue(), &control(true), &log(), &opts(None), clock.now());
    assert_eq!(s.now, "2026-07-01T12:00:00Z");
    assert_eq!(s.total, 12);
    assert_eq!(s.statuses, ["pending", "failed", "blocked", "success"]);
    // pending a e f h; failed b c d x; blocked g curl; success i openssl.
    let by: Vec<(&str, usize)> = s.by_status.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        by,
        [
            ("blocked", 2),
            ("failed", 4),
            ("pending", 4),
            ("success", 2)
        ]
    );
    let rows: Vec<(&str, usize)> = s
        .ecosystems
        .iter()
        .map(|r| (r.ecosystem.as_str(), r.total))
        .collect();
    assert_eq!(
        rows,
        [("crates.io", 2), ("github", 1), ("homebrew", 7), ("npm", 2)]
    );
    let brew = &s.ecosystems[2].by_status;
    assert_eq!(
        (
            brew["pending"],
            brew["failed"],
            brew["blocked"],
            brew["success"]
        ),
        (2, 3, 1, 1)
    );

    // x has no retry time (first), b passed, e is exactly now; c within 24 h; d later.
    assert_eq!(names(&s.retries.due_now), ["x", "b", "e"]);
    assert_eq!(names(&s.retries.next_24h), ["c"]);
    assert_eq!(s.retries.later, 1);

    // openssl blocks curl and git, and through curl wget: 3; curl blocks wget: 1.
    let b: Vec<(&str, u64, Vec<&str>)> = s
        .blockers
        .iter()
        .map(|b| {
            (
                b.entry.as_str(),
                b.score,
                b.blocks.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        b,
        [
            ("openssl", 3, vec!["homebrew:curl", "homebrew:git"]),
            ("curl", 1, vec!["homebrew:wget"]),
        ]
    );

    let probes: Vec<(&str, &Probe)> = s
        .breakers
        .iter()
        .map(|b| (b.ecosystem.as_str(), &b.probe))
        .collect();
    assert_eq!(
        probes,
        [
            ("crates.io", &Probe::NextRun),
            ("default", &Probe::NotNeeded),
            (
                "npm",
                &Probe::At {
                    at: "2026-07-01T13:00:00Z".into()
                }
            ),
            ("pypi", &Probe::Never),
        ]
    );
    assert!(s.kill_switch.enabled);

    // Tier 2, batch 25: a, b, e (retry not later than now), x, and h as crates.io's probe;
    // c and d wait, f's breaker is open.
    assert_eq!(s.next_batch.selected, 5);
    assert_eq!(s.next_batch.probes, 1);
    let per: Vec<(&str, usize)> = s
        .next_batch
        .per_ecosystem
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(per, [("crates.io", 1), ("github", 1), ("homebrew", 3)]);
}

#[test]
fn the_clock_moves_retries_and_probes() {
    let clock = FixedClock::new(ts("2026-07-01T12:00:00Z"));
    clock.set(ts("2026-07-02T00:00:00Z"));
    let s = queue_status(&queue(), &control(true), &log(), &opts(None), clock.now());
    // c's 20:00 passed; d (3 July, 00:00) is exactly 24 h away: the window includes it.
    assert_eq!(names(&s.retries.due_now), ["x", "b", "e", "c"]);
    assert_eq!(names(&s.retries.next_24h), ["d"]);
    assert_eq!(s.retries.later, 0);
    // npm's 13:00 passed: f is its probe; c (priority 2) is now due too.
    assert_eq!(s.breakers[2].probe, Probe::NextRun);
    assert_eq!(s.next_batch.selected, 7);
    assert_eq!(s.next_batch.probes, 2);
}

#[test]
fn one_ecosystem_and_the_kill_switch() {
    let now = ts("2026-07-01T12:00:00Z");
    let s = queue_status(
        &queue(),
        &control(true),
        &log(),
        &opts(Some("homebrew")),
        now,
    );
    assert_eq!(s.total, 7);
    assert_eq!(s.ecosystems.len(), 1);
    assert_eq!(names(&s.retries.due_now), ["b", "e"]);
    assert_eq!(s.blockers.len(), 2);
    assert!(s.breakers.is_empty(), "no homebrew breaker in the file");
    assert_eq!(s.next_batch.selected, 3);

    let s = queue_status(&queue(), &control(false), &log(), &opts(None), now);
    assert!(!s.kill_switch.enabled);
    assert_eq!(s.kill_switch.reason.as_deref(), Some("incident"));
    assert_eq!(s.next_batch.selected, 0);
}

#[test]
fn an_empty_queue_has_an_empty_status() {
    let q = Queue::from_slice(br#"{"schema_version":1,"entries":[]}"#).unwrap();
    let s = queue_status(
        &q,
        &control(true),
        &FailureLog::default(),
        &opts(None),
        ts("2026-07-01T12:00:00Z"),
    );
    assert_eq!((s.total, s.next_batch.selected), (0, 0));
    assert!(s.statuses.is_empty() && s.blockers.is_empty());
}
