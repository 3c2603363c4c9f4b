//! Tests of the control file: load rules, write-back of moved fields only, and the errors
//! that name the key path (issue #12).

use std::path::Path;

use jiff::Timestamp;
use serde_json::Value;

use crate::control::breaker::{BatchOutcome, BreakerPolicy, BreakerState, Change, EffectiveState};
use crate::control::file::{ControlError, ControlFile, RecoveryNote};

const DOC: &str = r#"{
  "enabled": true,
  "note": "x",
  "disabled_ecosystems": ["cpan"],
  "circuit_breaker": {
"npm": {"state": "open", "failures": 5, "last_failure": "2026-01-01T00:00:00Z", "opens_at": "2000-01-01T00:00:00Z"},
"pypi": {"state": "open", "failures": 7, "opens_at": "2999-01-01T00:00:00Z"},
"default": {"state": "closed", "failures": 0}
  },
  "budget": {"macos_minutes_used": 0}
}"#;

fn now() -> Timestamp {
    "2026-06-01T12:00:00Z".parse().unwrap()
}

fn load(s: &str) -> ControlFile {
    ControlFile::from_slice(Path::new("batch-control.json"), s.as_bytes()).unwrap()
}

#[test]
fn due_recovery_rewrites_only_that_field() {
    let mut c = load(DOC);
    assert!(c.disabled_ecosystems.contains("cpan"));
    let notes = c.apply_due_recoveries(now());
    assert_eq!(
        notes,
        vec![RecoveryNote::HalfOpened {
            ecosystem: "npm".into()
        }]
    );
    assert_eq!(c.states()["npm"], EffectiveState::HalfOpen);
    assert_eq!(c.states()["pypi"], EffectiveState::Open);
    let out: Value = serde_json::from_slice(&c.to_bytes()).unwrap();
    let mut expected: Value = serde_json::from_str(DOC).unwrap();
    expected["circuit_breaker"]["npm"]["state"] = "half-open".into();
    assert_eq!(
        out, expected,
        "unknown keys, counters and other breakers kept"
    );
    let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "enabled",
            "note",
            "disabled_ecosystems",
            "circuit_breaker",
            "budget"
        ]
    );
    assert!(c.is_dirty());
}

#[test]
fn nothing_due_means_no_write() {
    let mut c =
        load(r#"{"circuit_breaker":{"npm":{"state":"open","opens_at":"2999-01-01T00:00:00Z"}}}"#);
    assert!(c.apply_due_recoveries(now()).is_empty());
    assert!(!c.is_dirty());
}

#[test]
fn batch_update_of_missing_breaker_creates_it() {
    let mut c = load(r#"{"enabled":true}"#);
    let ch = c.record_batch(
        "npm",
        BatchOutcome::Failure,
        now(),
        &BreakerPolicy::default(),
    );
    assert_eq!(ch, Change::Counted(1));
    let out: Value = serde_json::from_slice(&c.to_bytes()).unwrap();
    assert_eq!(
        out["circuit_breaker"]["npm"],
        serde_json::json!({"state":"closed","failures":1,"last_failure":"2026-06-01T12:00:00Z"})
    );
}

#[test]
fn kill_switch_and_types() {
    assert!(!load(r#"{"enabled":false,"reason":"incident"}"#).enabled);
    for (bad, key) in [
        (r#"{"enabled":"no"}"#, "enabled"),
        (r#"{"disabled_ecosystems":[1]}"#, "disabled_ecosystems[0]"),
        (r#"{"circuit_breaker":{"npm":null}}"#, "circuit_breaker.npm"),
        (
            r#"{"circuit_breaker":{"npm":{"failures":"3"}}}"#,
            "circuit_breaker.npm.failures",
        ),
        (r#"{"circuit_breaker":[]}"#, "circuit_breaker"),
        ("[]", "$"),
    ] {
        match ControlFile::from_slice(Path::new("c.json"), bad.as_bytes()) {
            Err(ControlError::Invalid { key: k, .. }) => assert_eq!(k, key, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(matches!(
        ControlFile::from_slice(Path::new("c.json"), b"{"),
        Err(ControlError::Parse { line: 1, .. })
    ));
}

#[test]
fn unknown_breaker_state_is_an_error_naming_key_and_accepted_values() {
    for bad in ["Open", "opened", "half_open", ""] {
        let doc = format!(
            r#"{{"circuit_breaker":{{"npm":{{"state":"closed"}},"homebrew":{{"state":"{bad}","opens_at":"2999-01-01T00:00:00Z"}}}}}}"#
        );
        let err = ControlFile::from_slice(Path::new("c.json"), doc.as_bytes()).unwrap_err();
        match &err {
            ControlError::UnknownBreakerState { path, key, found } => {
                assert_eq!(path, Path::new("c.json"));
                assert_eq!(key, "circuit_breaker.homebrew.state");
                assert_eq!(found, bad);
            }
            other => panic!("{bad:?}: {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "invalid control file `c.json`: `circuit_breaker.homebrew.state` is {bad:?}; accepted values: closed, open, half-open"
            )
        );
    }
    let c = load(r#"{"circuit_breaker":{"npm":{"failures":2}}}"#);
    assert_eq!(
        c.breakers["npm"].state,
        BreakerState::Closed,
        "missing state"
    );
}

#[test]
fn a_queue_is_not_a_control_file() {
    let q = r#"{"schema_version":1,"updated_at":"2026-01-01T00:00:00Z","entries":[]}"#;
    let err = ControlFile::from_slice(Path::new("q.json"), q.as_bytes()).unwrap_err();
    assert!(matches!(&err, ControlError::QueueGiven { path } if path == Path::new("q.json")));
    assert!(err.to_string().contains("looks like a queue"), "{err}");
    // An `entries` key that is not an array is just an unknown key.
    assert!(load(r#"{"entries":"x"}"#).enabled);
}

#[test]
fn missing_file_is_all_closed() {
    let dir = tempfile::tempdir().unwrap();
    let c = ControlFile::load(&dir.path().join("none.json")).unwrap();
    assert!(!c.existed() && c.enabled && c.breakers.is_empty());
}
