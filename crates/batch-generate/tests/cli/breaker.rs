//! The control file: circuit breakers (spec §6, §8.1 #8, #41–#48), the kill switch,
//! `disabled_ecosystems`, and missing or invalid control files.

use std::time::Duration;

use batch_generate::exit;
use serde_json::{Value, json};

use crate::util::{FUTURE, PAST, assert_between, assert_unchanged, entry, sandbox, ts};

fn keys(v: &Value) -> Vec<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

/// Spec §8.1 #8: an open breaker skips its ecosystem; the control file stays byte-identical
/// when nothing changed for it.
#[test]
fn s08_open_breaker_skips_its_ecosystem() {
    let h = sandbox()
        .queue(&[
            entry("bat", "github:sharkdp/bat", 1),
            entry("ripgrep", "cargo:ripgrep", 1),
            entry("jq", "homebrew:jq", 1),
            entry("fzf", "homebrew:fzf", 1),
        ])
        .control(json!({
            "enabled": true,
            "circuit_breaker": {
                "homebrew": {"state": "open", "failures": 5, "last_failure": PAST, "opens_at": FUTURE},
                "cargo": {"state": "closed"},
            },
        }));
    let before = std::fs::read(&h.control).unwrap();
    h.run(&["--jobs", "1"]).ok();
    assert_eq!(h.created(), ["bat", "ripgrep"]);
    assert_eq!(
        std::fs::read(&h.control).unwrap(),
        before,
        "control file rewritten"
    );
    assert_eq!(h.entry("jq"), entry("jq", "homebrew:jq", 1));
}

fn npm_open_past() -> Value {
    json!({
        "enabled": true,
        "note": "kept",
        "disabled_ecosystems": [],
        "circuit_breaker": {
            "npm": {"state": "open", "failures": 5, "last_failure": "2000-01-01T00:00:00Z", "opens_at": PAST},
            "default": {"state": "closed", "failures": 0},
        },
        "budget": {"macos_minutes_used": 0, "linux_minutes_used": 0, "week_start": "", "sampling_active": false},
    })
}

/// Spec §8.1 #41, #47, #48: a past `opens_at` turns the breaker half-open; when no npm entry
/// runs, the rewritten file says `"state": "half-open"` and keeps every other key and value.
#[test]
fn s41_past_opens_at_is_written_half_open() {
    let doc = npm_open_past();
    let h = sandbox()
        .queue(&[entry("h", "homebrew:h", 1)])
        .control(doc.clone());
    let out = h.run(&[]);
    out.ok();
    assert!(
        out.stderr
            .contains("Circuit breaker half-open for npm (recovery timeout elapsed)"),
        "{}",
        out.ctx()
    );
    let text = std::fs::read_to_string(&h.control).unwrap();
    assert!(text.contains("\"state\": \"half-open\""), "{text}");
    let after = h.control_json();
    let mut want = doc;
    want["circuit_breaker"]["npm"]["state"] = "half-open".into();
    assert_eq!(after, want);
    assert_eq!(keys(&after), keys(&want), "top-level key order kept");
    assert_eq!(
        keys(&after["circuit_breaker"]["default"]),
        ["state", "failures"],
        "default gains no keys"
    );
}

/// Spec §8.1 #41 and §6.4: one probe only; a failing probe re-opens the breaker with
/// failures + 1 and a fresh recovery time (60 min).
#[test]
fn s41_failing_probe_reopens() {
    let doc = npm_open_past();
    let h = sandbox()
        .mode("fail6")
        .queue(&[entry("a", "npm:a", 3), entry("b", "npm:b", 1)])
        .control(doc.clone());
    let t0 = jiff::Timestamp::now();
    h.run(&[]).ok();
    let t1 = jiff::Timestamp::now();
    assert_eq!(h.created(), ["a"], "one probe, tier ignored");
    assert_eq!(h.entry("b"), entry("b", "npm:b", 1));
    let after = h.control_json();
    let npm = &after["circuit_breaker"]["npm"];
    assert_eq!(npm["state"], "open");
    assert_eq!(npm["failures"], 6);
    let last = ts(&npm["last_failure"]);
    assert_between(last, t0, t1, Duration::from_secs(1));
    assert_eq!(
        ts(&npm["opens_at"]),
        last.checked_add(jiff::SignedDuration::from_mins(60))
            .unwrap()
    );
    assert_eq!(after["note"], "kept");
    assert_eq!(after["budget"], doc["budget"]);
    assert_eq!(
        after["circuit_breaker"]["default"],
        doc["circuit_breaker"]["default"]
    );
    assert_eq!(keys(&after), keys(&doc));
}

/// Spec §6.4 success: a passing probe closes the breaker and resets failures; last_failure and
/// opens_at are kept.
#[test]
fn s41_passing_probe_closes() {
    let doc = npm_open_past();
    let h = sandbox()
        .queue(&[entry("a", "npm:a", 1), entry("b", "npm:b", 1)])
        .control(doc.clone());
    h.run(&[]).ok();
    assert_eq!(h.created(), ["a"]);
    let npm = &h.control_json()["circuit_breaker"]["npm"];
    assert_eq!(npm["state"], "closed");
    assert_eq!(npm["failures"], 0);
    assert_eq!(
        npm["last_failure"],
        doc["circuit_breaker"]["npm"]["last_failure"]
    );
    assert_eq!(npm["opens_at"], doc["circuit_breaker"]["npm"]["opens_at"]);
}

/// Spec §8.1 #42: a future `opens_at` keeps the breaker open; the file is byte-identical.
#[test]
fn s42_future_opens_at_stays_open() {
    let h = sandbox()
        .queue(&[entry("a", "npm:a", 1), entry("h", "homebrew:h", 1)])
        .control(json!({"circuit_breaker": {"npm": {"state": "open", "failures": 5, "opens_at": FUTURE}}}));
    let before = std::fs::read(&h.control).unwrap();
    h.run(&[]).ok();
    assert_eq!(h.created(), ["h"]);
    assert_eq!(std::fs::read(&h.control).unwrap(), before);
}

/// Spec §8.1 #45: an empty `opens_at` stays open, nothing of npm runs, no rewrite.
#[test]
fn s45_empty_opens_at_stays_open() {
    let h = sandbox()
        .queue(&[entry("a", "npm:a", 1), entry("h", "homebrew:h", 1)])
        .control(
            json!({"circuit_breaker": {"npm": {"state": "open", "failures": 5, "opens_at": ""}}}),
        );
    let before = std::fs::read(&h.control).unwrap();
    let out = h.run(&[]);
    out.ok();
    assert_eq!(h.created(), ["h"]);
    assert_eq!(std::fs::read(&h.control).unwrap(), before);
    assert!(
        out.stderr.contains("npm"),
        "a warning names the stuck breaker\n{}",
        out.ctx()
    );
}

/// Spec §6.4/§6.5: the fifth consecutive all-failed batch opens a closed breaker for 60 min.
#[test]
fn fifth_failed_batch_opens_the_breaker() {
    let h = sandbox()
        .mode("fail6")
        .queue(&[entry("a", "homebrew:a", 1)])
        .control(json!({"enabled": true, "circuit_breaker": {"homebrew": {"state": "closed", "failures": 4}}}));
    h.run(&[]).ok();
    let hb = &h.control_json()["circuit_breaker"]["homebrew"];
    assert_eq!(hb["state"], "open");
    assert_eq!(hb["failures"], 5);
    let last = ts(&hb["last_failure"]);
    assert_eq!(
        ts(&hb["opens_at"]),
        last.checked_add(jiff::SignedDuration::from_mins(60))
            .unwrap()
    );
}

/// Issue: a control file that exists but does not parse → exit 1 naming the file, nothing run,
/// nothing written (a deliberate change from spec §8.2 #90).
#[test]
fn s90_invalid_control_file_exits_1() {
    for text in [
        "{",
        "[1, 2]",
        "{\"enabled\": \"yes\"}",
        "{\"circuit_breaker\": {\"npm\": {\"failures\": \"x\"}}}",
    ] {
        let h = sandbox()
            .queue(&[entry("a", "homebrew:a", 1)])
            .control_raw(text);
        let before = h.snapshot();
        let out = h.run(&[]);
        out.code(exit::FAILURE);
        assert!(
            out.stderr.contains(&h.control.display().to_string()),
            "{text}: file not named\n{}",
            out.ctx()
        );
        assert!(h.log_lines().is_empty());
        assert_unchanged(&before, &h.snapshot(), &out);
    }
}

/// Issue: `enabled: false` → no entry runs, a clear message, exit 0, nothing written.
#[test]
fn kill_switch() {
    let control = json!({
        "enabled": false,
        "reason": "incident 42",
        "circuit_breaker": {"npm": {"state": "open", "failures": 5, "opens_at": PAST}},
    });
    for args in [&[][..], &["--json"], &["--dry-run"]] {
        let h = sandbox()
            .queue(&[entry("a", "homebrew:a", 1), entry("b", "npm:b", 1)])
            .control(control.clone());
        let before = h.snapshot();
        let out = h.run(args);
        out.ok();
        assert!(h.log_lines().is_empty(), "{args:?}: the generator ran");
        assert_unchanged(&before, &h.snapshot(), &out);
        assert!(
            !h.lock_file().exists(),
            "{args:?}: a refused run takes no lock"
        );
        let all = format!("{}{}", out.stdout, out.stderr).to_lowercase();
        assert!(
            all.contains("disabled") && all.contains("incident 42"),
            "{args:?}: unclear message\n{}",
            out.ctx()
        );
        if args == ["--json"] {
            let v = out.json();
            assert_eq!(v["kill_switch"], true);
            assert_eq!(v["total"], 0);
        }
    }
}

/// Issue #4: a run that starts holds `<queue>.lock`, which stays beside the queue with the
/// last holder's pid (the OS lock itself dies with the process).
#[test]
fn a_run_leaves_the_lock_file_with_its_pid() {
    let h = sandbox()
        .queue(&[entry("a", "homebrew:a", 1)])
        .control(json!({"enabled": true, "circuit_breaker": {}}));
    let out = h.run(&[]);
    out.ok();
    let text = std::fs::read_to_string(h.lock_file()).unwrap();
    let pid: u32 = text.trim().parse().unwrap();
    assert!(pid > 0 && text.ends_with('\n'), "{text:?}");
    // A second run takes the same lock without trouble.
    h.run(&[]).ok();
}

/// Issue: `disabled_ecosystems` are never selected.
#[test]
fn disabled_ecosystems_are_skipped() {
    let h = sandbox()
        .queue(&[
            entry("a", "homebrew:a", 1),
            entry("b", "npm:b", 1),
            entry("c", "pypi:c", 1),
        ])
        .control(json!({"enabled": true, "disabled_ecosystems": ["homebrew", "pypi"]}));
    let before = std::fs::read(&h.control).unwrap();
    h.run(&[]).ok();
    assert_eq!(h.created(), ["b"]);
    assert_eq!(h.entry("a"), entry("a", "homebrew:a", 1));
    assert_eq!(std::fs::read(&h.control).unwrap(), before);
}

/// Issue: a missing control file means every breaker is closed, with a warning.
#[test]
fn missing_control_file_warns_and_runs() {
    let h = sandbox().queue(&[entry("a", "homebrew:a", 1), entry("b", "npm:b", 1)]);
    assert!(!h.control.exists());
    let out = h.run(&[]);
    out.ok();
    assert_eq!(h.created().len(), 2);
    let warning = out
        .stderr
        .lines()
        .find(|l| l.contains(&h.control.display().to_string()))
        .unwrap_or_else(|| panic!("no warning names the control file\n{}", out.ctx()));
    assert!(
        warning.contains("WARN") || warning.to_lowercase().contains("warning"),
        "{warning}"
    );
}
