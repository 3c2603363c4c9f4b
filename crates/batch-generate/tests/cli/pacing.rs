//! Adaptive slowdown and per-ecosystem rates (issue #15), and the generation environment's
//! result rows (`--validation-out`, issue #13), through the binary and the fake generator.

use batch_generate::exit;
use serde_json::Value;

use crate::util::{entry, sandbox};

/// Runs two npm entries of fake `mode` with `--jobs 2`, npm at 10 ms, K = 2 and a cap of 4 ×;
/// the run's output and npm's `rates` row of `--json`.
fn two_npm_entries(mode: &str) -> (batch_testkit::Out, Value) {
    let h = sandbox()
        .queue(&[entry("n1", "npm:n1", 1), entry("n2", "npm:n2", 1)])
        .rules(&[("n*", mode)]);
    let mut cmd = h.cmd();
    cmd.args([
        "--json",
        "--jobs",
        "2",
        "--rate-limit",
        "npm=10ms",
        "--adaptive-threshold",
        "2",
        "--adaptive-cap",
        "4",
    ]);
    let out = crate::util::run_cmd(&mut cmd);
    out.ok();
    let doc: Value = out.json();
    let npm = doc["rates"]
        .as_array()
        .and_then(|rates| rates.iter().find(|r| r["ecosystem"] == "npm"))
        .cloned()
        .unwrap_or_else(|| panic!("{}", out.ctx()));
    (out, npm)
}

/// `busyflaky` entries' creates exit 5 twice with the registry's 503 (push-back), then pass.
/// Two at once (`--jobs 2`): at 0 s both exit 5 (K = 2: 10 → 20 ms), at 1 s both again
/// (20 → 40 ms, the cap of 4 ×), at 3 s both pass. The log names the change and its reason;
/// `--json`'s `rates` shows npm's configured period, the slower period it reached and every
/// change; the summary's `rates:` line says it was slowed.
#[test]
fn network_exits_slow_the_ecosystem_and_the_report_shows_it() {
    let (out, npm) = two_npm_entries("busyflaky");
    assert_eq!(npm["creates"], 6, "2 entries × 3 attempts: {}", out.ctx());
    assert_eq!(npm["configured_period_ms"], 10);
    assert_eq!(
        npm["slowest_period_ms"],
        40,
        "capped at 4 × 10 ms: {}",
        out.ctx()
    );
    let changes = npm["changes"].as_array().unwrap();
    assert_eq!(
        changes
            .iter()
            .map(|c| (c["from_ms"].as_u64().unwrap(), c["to_ms"].as_u64().unwrap()))
            .collect::<Vec<_>>(),
        [(10, 20), (20, 40)],
        "{}",
        out.ctx()
    );
    assert!(
        out.stderr
            .contains("npm: start period 0.01s → 0.02s (2 network exits"),
        "{}",
        out.ctx()
    );
    assert!(
        out.stderr.contains("rates: npm ") && out.stderr.contains("slowed to 0.04s at most"),
        "{}",
        out.ctx()
    );
}

/// Issue #22: exits 5 whose dial failed (`net`, the transcript's offline text) are no
/// push-back: the same run as above with `flaky` (the same exits 5 twice, offline) changes
/// no period, though the retries happen.
#[test]
fn failed_dials_do_not_slow_the_ecosystem() {
    let (out, npm) = two_npm_entries("flaky");
    assert_eq!(npm["creates"], 6, "2 entries × 3 attempts: {}", out.ctx());
    assert_eq!(npm["changes"], Value::Array(Vec::new()), "{}", out.ctx());
    assert_eq!(npm["slowest_period_ms"], 10, "{}", out.ctx());
    assert!(!out.stderr.contains("start period"), "{}", out.ctx());
}

/// `--adaptive off`: the same run changes no period.
#[test]
fn adaptive_off_changes_nothing() {
    let h = sandbox()
        .queue(&[entry("n1", "npm:n1", 1), entry("n2", "npm:n2", 1)])
        .rules(&[("n*", "busyflaky")]);
    let mut cmd = h.cmd();
    cmd.args(["--json", "--jobs", "2", "--adaptive", "off"]);
    let out = crate::util::run_cmd(&mut cmd);
    out.ok();
    let doc: Value = out.json();
    let npm = doc["rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ecosystem"] == "npm")
        .cloned()
        .unwrap();
    assert_eq!(npm["changes"], Value::Array(Vec::new()), "{}", out.ctx());
    assert_eq!(npm["slowest_period_ms"], npm["configured_period_ms"]);
    assert!(!out.stderr.contains("start period"), "{}", out.ctx());
}

/// A bad `--adaptive` value is a usage error.
#[test]
fn adaptive_takes_on_or_off() {
    let h = sandbox().queue(&[entry("a", "npm:a", 1)]);
    let mut cmd = h.cmd();
    cmd.args(["--adaptive", "sometimes"]);
    crate::util::run_cmd(&mut cmd).code(exit::USAGE);
}

/// `--validation-out`: one generation `pass` row per recipe made, with its path and the batch
/// ID; failures get no row.
#[test]
fn validation_out_lists_the_generated_recipes() {
    let h = sandbox()
        .queue(&[
            entry("bat", "homebrew:bat", 1),
            entry("broken", "homebrew:broken", 1),
            entry("jq", "homebrew:jq", 1),
        ])
        .rules(&[("broken", "val:6")]);
    let rows_path = h.root().join("out/validation-results-generation.json");
    let mut cmd = h.cmd();
    cmd.args(["--batch-id", "2026-12-01-002", "--validation-out"])
        .arg(&rows_path);
    let out = crate::util::run_cmd(&mut cmd);
    out.ok();
    let rows: Value = serde_json::from_slice(&std::fs::read(&rows_path).unwrap()).unwrap();
    let got: Vec<(String, String, String, String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (
                s("recipe"),
                s("path"),
                s("status"),
                s("environment"),
                s("batch_id"),
            )
        })
        .collect();
    let row = |n: &str, p: &str| {
        (
            n.to_owned(),
            p.to_owned(),
            "pass".to_owned(),
            "generation".to_owned(),
            "2026-12-01-002".to_owned(),
        )
    };
    assert_eq!(
        got,
        [row("bat", "b/bat.toml"), row("jq", "j/jq.toml")],
        "{}",
        out.ctx()
    );
}
