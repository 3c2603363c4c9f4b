//! Real runs against the fake generator: spec §8.1 scenarios observable through the CLI, the
//! summary, `--json`, retries, the rate limit and a missing generator.

use std::time::Duration;

use batch_generate::exit;
use serde_json::{Value, json};

use crate::util::{
    PAST, With, assert_between, assert_unchanged, entry, fake_tsuku, plus_hours, read_json,
    run_cmd, sandbox, strings, ts, utc_date,
};

/// Spec §8.1 #1: only pending/failed entries within the tier, in queue order.
#[test]
fn s01_status_and_tier_filter() {
    let h = sandbox().queue(&[
        entry("ripgrep", "homebrew:ripgrep", 1),
        entry("bat", "homebrew:bat", 2),
        entry("fd", "homebrew:fd", 1).with("status", "success"),
        entry("serde", "cargo:serde", 1),
        entry("jq", "homebrew:jq", 3),
    ]);
    let before_fd =
        crate::util::entry_text(&entry("fd", "homebrew:fd", 1).with("status", "success"));
    let out = h.run(&["--batch-size", "10", "--tier", "2", "--jobs", "1"]);
    out.ok();
    assert_eq!(h.created(), ["ripgrep", "bat", "serde"], "{}", out.ctx());
    assert_eq!(h.results_json()["total"], 3);
    assert!(h.queue_string().contains(&before_fd), "fd untouched");
    assert_eq!(h.entry("jq"), entry("jq", "homebrew:jq", 3), "jq untouched");
}

/// Spec §8.1 #2: the batch size caps the run; the rest stays pending and untouched.
#[test]
fn s02_batch_size() {
    let h = sandbox().queue(&[
        entry("a", "homebrew:a", 1),
        entry("b", "homebrew:b", 1),
        entry("c", "homebrew:c", 1),
    ]);
    h.run(&["--batch-size", "2", "--tier", "3", "--jobs", "1"])
        .ok();
    assert_eq!(h.created(), ["a", "b"]);
    assert_eq!(h.entry("c"), entry("c", "homebrew:c", 1));
    assert_eq!(h.entry("a")["status"], "success");
}

/// Spec §8.1 #3 (and #33): an empty queue runs nothing and records a zero run dated today.
#[test]
fn s03_empty_queue() {
    let h = sandbox().queue(&[]);
    let day0 = utc_date();
    let out = h.run(&[]);
    let day1 = utc_date();
    out.ok();
    assert!(h.log_lines().is_empty());
    let r = h.results_json();
    assert_eq!(r["total"], 0);
    assert_eq!(r["succeeded"], 0);
    assert_eq!(r["failed"], 0);
    assert_eq!(r["blocked"], 0);
    assert_eq!(r["ecosystems"], json!({}));
    assert_eq!(r["per_ecosystem"], json!({}));
    let id = r["batch_id"].as_str().unwrap().to_owned();
    assert!(
        id == day0 || id == day1,
        "batch_id {id} is not today's UTC date"
    );
    assert!(h.failure_dir_names().is_empty());
    assert!(
        !h.failures.exists(),
        "no failures dir without failures (spec §8.1 #66)"
    );
}

/// Spec §8.1 #4: entries still backing off are skipped; a past `next_retry_at` is eligible.
#[test]
fn s04_backoff_window() {
    let h = sandbox().queue(&[
        entry("ready", "homebrew:ready", 1)
            .with("status", "failed")
            .with("failure_count", 1),
        entry("backing-off", "homebrew:backing-off", 1)
            .with("status", "failed")
            .with("failure_count", 2)
            .with("next_retry_at", crate::util::FUTURE),
        entry("past-backoff", "homebrew:past-backoff", 1)
            .with("status", "failed")
            .with("failure_count", 2)
            .with("next_retry_at", PAST),
        entry("pending-ok", "homebrew:pending-ok", 1),
    ]);
    h.run(&["--jobs", "1"]).ok();
    assert_eq!(h.created(), ["ready", "past-backoff", "pending-ok"]);
    assert_eq!(h.entry("backing-off")["next_retry_at"], crate::util::FUTURE);
}

/// Spec §8.1 #5, #88: failed entries are retried; blocked, excluded, success and
/// requires_manual never are.
#[test]
fn s05_only_pending_and_failed_run() {
    let h = sandbox().queue(&[
        entry("pending", "cargo:pending", 1),
        entry("failed-retry", "cargo:failed-retry", 1)
            .with("status", "failed")
            .with("failure_count", 1),
        entry("blocked", "cargo:blocked", 1).with("status", "blocked"),
        entry("excluded", "cargo:excluded", 1).with("status", "excluded"),
        entry("done", "cargo:done", 1).with("status", "success"),
        entry("manual", "cargo:manual", 1).with("status", "requires_manual"),
    ]);
    h.run(&["--jobs", "1"]).ok();
    assert_eq!(h.created(), ["pending", "failed-retry"]);
}

/// Spec §8.1 #9, #10: a half-open ecosystem gets one probe, its first pending entry even
/// when a failed one comes earlier.
#[test]
fn s09_half_open_one_probe_per_ecosystem() {
    let h = sandbox()
        .queue(&[
            entry("fail1", "homebrew:fail1", 1)
                .with("status", "failed")
                .with("failure_count", 2)
                .with("next_retry_at", crate::util::FUTURE),
            entry("jq", "homebrew:jq", 1),
            entry("fzf", "homebrew:fzf", 1),
            entry("ripgrep", "cargo:ripgrep", 1),
            entry("serde", "cargo:serde", 1),
        ])
        .control(json!({"circuit_breaker": {
            "homebrew": {"state": "half-open", "failures": 5},
            "cargo": {"state": "half-open", "failures": 5},
        }}));
    h.run(&["--jobs", "1"]).ok();
    assert_eq!(h.created(), ["jq", "ripgrep"]);
}

/// Spec §8.2 #86: the main pass stops at the batch size, before a later half-open probe.
#[test]
fn s86_batch_size_stops_before_later_probe() {
    let h = sandbox()
        .queue(&[
            entry("a", "cargo:a", 1),
            entry("b", "cargo:b", 1),
            entry("p", "npm:p", 1),
        ])
        .control(json!({"circuit_breaker": {"npm": {"state": "half-open", "failures": 5}}}));
    h.run(&["--jobs", "1", "--batch-size", "2"]).ok();
    assert_eq!(h.created(), ["a", "b"]);
}

/// Spec §8.1 #16, #26, #99: exact `create` and `install` argv; `source` verbatim; the name's
/// case and nesting kept.
#[test]
fn s16_create_and_install_argv() {
    let h = sandbox().queue(&[
        entry("bat", "github:sharkdp/bat", 1),
        entry("Bat", "homebrew:bat", 1),
        entry(
            "anomalyco/tap/opencode",
            "homebrew:anomalyco/tap/opencode",
            1,
        ),
    ]);
    h.run(&["--jobs", "1"]).ok();
    let o = h.output.display().to_string();
    let creates: Vec<String> = h
        .log_lines()
        .into_iter()
        .filter(|l| l.starts_with("create "))
        .collect();
    assert_eq!(
        creates,
        [
            format!(
                "create bat --from github:sharkdp/bat --output {o}/b/bat.toml --yes --skip-sandbox --deterministic-only"
            ),
            format!(
                "create Bat --from homebrew:bat --output {o}/b/Bat.toml --yes --skip-sandbox --deterministic-only"
            ),
            format!(
                "create anomalyco/tap/opencode --from homebrew:anomalyco/tap/opencode --output {o}/a/anomalyco/tap/opencode.toml --yes --skip-sandbox --deterministic-only"
            ),
        ]
    );
    let mut installs: Vec<String> = h
        .log_lines()
        .into_iter()
        .filter(|l| l.starts_with("install "))
        .collect();
    installs.sort();
    let mut want = vec![
        format!("install --json --recipe {o}/b/bat.toml"),
        format!("install --json --recipe {o}/b/Bat.toml"),
        format!("install --json --recipe {o}/a/anomalyco/tap/opencode.toml"),
    ];
    want.sort();
    assert_eq!(installs, want);
    assert!(h.output.join("a/anomalyco/tap/opencode.toml").is_file());
    assert!(h.output.join("b/Bat.toml").is_file());
}

/// Spec §8.1 #16 (relative form): paths are used as given, relative to the working directory.
#[test]
fn s16_relative_output_dir() {
    let h = sandbox().queue(&[entry("fd", "crates.io:fd-find", 1)]);
    let mut cmd = h.bare_cmd();
    cmd.arg("--queue")
        .arg(&h.queue)
        .arg("--control-file")
        .arg(&h.control)
        .args([
            "--output-dir",
            "out/recipes",
            "--failures-dir",
            "out/failures",
            "--summary",
            "summary.md",
        ])
        .arg("--results")
        .arg(&h.results)
        .arg("--generator")
        .arg(fake_tsuku());
    run_cmd(&mut cmd).ok();
    assert_eq!(
        h.log_lines()[0],
        "create fd --from crates.io:fd-find --output out/recipes/f/fd.toml --yes --skip-sandbox --deterministic-only"
    );
    assert!(h.cwd.join("out/recipes/f/fd.toml").is_file());
    assert!(h.cwd.join("summary.md").is_file());
}

/// Spec §8.1 #18: a generation failure (FAIL6).
#[test]
fn s18_generation_failure() {
    let h = sandbox()
        .mode("fail6")
        .queue(&[entry("testpkg", "homebrew:testpkg", 1)]);
    h.run(&[]).ok();
    let r = h.results_json();
    assert_eq!(
        (
            r["total"].as_i64(),
            r["failed"].as_i64(),
            r["succeeded"].as_i64()
        ),
        (Some(1), Some(1), Some(0))
    );
    let f = h.failure_file("homebrew");
    assert_eq!(f["schema_version"], 1);
    assert_eq!(f["ecosystem"], "homebrew");
    assert_eq!(f["environment"], "linux-glibc-x86_64");
    let failures = f["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["package_id"], "homebrew:testpkg");
    assert_eq!(failures[0]["category"], "install_failed");
    // The record keeps the whole output, tsuku's `--yes` notice included (issue #22).
    assert_eq!(
        failures[0]["message"],
        "Warning: Skipping recipe review (--yes). The recipe will be installed without confirmation.\ndeterministic failed"
    );
    assert!(failures[0].get("blocked_by").is_none() && failures[0].get("subcategory").is_none());
    let e = h.entry("testpkg");
    assert_eq!(e["status"], "failed");
    assert_eq!(e["failure_count"], 1);
    assert_eq!(e["next_retry_at"], Value::Null);
    assert_eq!(h.installs(), 0, "no install after a failed create");
}

/// Spec §8.1 #19: success resets the failure count; the recipe exists; no failure file.
#[test]
fn s19_success() {
    let h = sandbox().queue(&[entry("testpkg", "homebrew:testpkg", 1).with("failure_count", 2)]);
    h.run(&[]).ok();
    let r = h.results_json();
    assert_eq!(
        (r["succeeded"].as_i64(), r["failed"].as_i64()),
        (Some(1), Some(0))
    );
    let e = h.entry("testpkg");
    assert_eq!(e["status"], "success");
    assert_eq!(e["failure_count"], 0);
    assert_eq!(e["next_retry_at"], Value::Null);
    assert!(h.output.join("t/testpkg.toml").is_file());
    assert!(h.failure_dir_names().is_empty());
}

/// Spec §8.1 #20: validation exit 8 with `missing_recipes` → blocked, recipe deleted.
#[test]
fn s20_missing_dependency_blocks_and_deletes_the_recipe() {
    let h = sandbox()
        .mode("missingdep")
        .queue(&[entry("coreutils", "homebrew:coreutils", 1)]);
    h.run(&[]).ok();
    let r = h.results_json();
    assert_eq!(
        (
            r["blocked"].as_i64(),
            r["failed"].as_i64(),
            r["succeeded"].as_i64()
        ),
        (Some(1), Some(0), Some(0))
    );
    let f = &h.failure_file("homebrew")["failures"][0];
    assert_eq!(f["category"], "missing_dep");
    assert_eq!(strings(&f["blocked_by"]), ["coreutils-dep"]);
    assert_eq!(
        f["message"],
        "Failed to generate plan: failed to install dependency coreutils-dep: recipe coreutils-dep not found in registry",
        "stderr only"
    );
    assert!(
        !h.output.join("c/coreutils.toml").exists(),
        "recipe deleted after a failed install"
    );
    let e = h.entry("coreutils");
    assert_eq!(e["status"], "blocked");
    assert_eq!(e["failure_count"], 0);
}

/// Spec §8.1 #21 / §8.2 #74: validation exit 3 → recipe_not_found, blocked even without
/// `missing_recipes`, recipe deleted.
#[test]
fn s21_validation_recipe_not_found_blocks() {
    let h = sandbox()
        .mode("val:3")
        .queue(&[entry("wget", "homebrew:wget", 1)]);
    h.run(&[]).ok();
    let f = &h.failure_file("homebrew")["failures"][0];
    assert_eq!(f["category"], "recipe_not_found");
    assert!(f.get("blocked_by").is_none());
    assert!(!h.output.join("w/wget.toml").exists());
    assert_eq!(h.entry("wget")["status"], "blocked");
    assert_eq!(h.results_json()["blocked"], 1);
}

/// Spec §8.1 #39: generation output naming a missing recipe → blocked, no install.
#[test]
fn s39_generation_blocked_by_dependency() {
    let h = sandbox()
        .mode("blocked")
        .queue(&[entry("guile", "homebrew:guile", 1)]);
    h.run(&[]).ok();
    let f = &h.failure_file("homebrew")["failures"][0];
    assert_eq!(f["category"], "missing_dep");
    assert_eq!(strings(&f["blocked_by"]), ["guile-dep"]);
    assert_eq!(h.entry("guile")["status"], "blocked");
    assert_eq!(h.entry("guile")["failure_count"], 0);
    assert_eq!(h.installs(), 0);
}

/// Spec §8.1 #27: failure_count increments across runs; the second failure backs off 24 h.
#[test]
fn s27_failure_count_increments_across_runs() {
    let h = sandbox()
        .mode("fail6")
        .queue(&[entry("pkg", "cargo:pkg", 1)]);
    h.run(&[]).ok();
    let e = h.entry("pkg");
    assert_eq!(
        (e["status"].as_str(), e["failure_count"].as_i64()),
        (Some("failed"), Some(1))
    );
    assert_eq!(e["next_retry_at"], Value::Null);

    let t0 = jiff::Timestamp::now();
    h.run(&[]).ok();
    let t1 = jiff::Timestamp::now();
    let e = h.entry("pkg");
    assert_eq!(e["failure_count"], 2);
    assert_eq!(e["status"], "failed");
    assert_between(
        ts(&e["next_retry_at"]),
        plus_hours(t0, 24),
        plus_hours(t1, 24),
        Duration::from_secs(1),
    );
    assert_eq!(h.created(), ["pkg", "pkg"]);

    // A third run skips it: the backoff has not passed.
    h.run(&[]).ok();
    assert_eq!(h.created().len(), 2);
}

/// Spec §8.1 #32: failures grouped per ecosystem in selection order; `batch-results.json`
/// beside the queue when `--results` is not given.
#[test]
fn s32_failures_grouped_per_ecosystem() {
    let h = sandbox()
        .queue_at("queues/queue.json")
        .rules(&[("jq", "gen:6"), ("serde", "gen:9"), ("fzf", "gen:6")])
        .queue(&[
            entry("jq", "homebrew:jq", 1),
            entry("serde", "cargo:serde", 1),
            entry("fzf", "homebrew:fzf", 1),
        ]);
    h.run(&["--jobs", "3"]).ok();
    let results = read_json(&h.root().join("queues/batch-results.json"));
    assert_eq!(results["total"], 3);
    assert_eq!(results["failed"], 3);
    let hb = h.failure_file("homebrew");
    let ids: Vec<&str> = hb["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["package_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["homebrew:jq", "homebrew:fzf"]);
    assert!(
        hb["failures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["category"] == "install_failed")
    );
    let cargo = h.failure_file("cargo");
    assert_eq!(cargo["failures"].as_array().unwrap().len(), 1);
    assert_eq!(cargo["failures"][0]["category"], "generation_failed");
    assert_eq!(h.failure_files().len(), 2);
}

/// Spec §8.1 #34: a missing queue file is an empty queue, created by the run — now only when
/// asked for with `--init-queue` (issue #12; without it see `bad_input::missing_queue_*`).
#[test]
fn s34_missing_queue_file_is_created() {
    let h = sandbox();
    assert!(!h.queue.exists());
    let out = h.run(&["--init-queue"]);
    out.ok();
    let q = h.queue_json();
    assert_eq!(q["schema_version"], 1);
    assert_eq!(q["entries"], json!([]));
    assert!(q["updated_at"].as_str().is_some_and(|s| s.ends_with('Z')));
    assert_eq!(h.results_json()["total"], 0);
    assert!(
        out.stderr.contains(&h.queue.display().to_string()),
        "a warning names the queue\n{}",
        out.ctx()
    );
}

/// Spec §8.1 #31: per-ecosystem accounting in `batch-results.json`.
#[test]
fn s31_per_ecosystem_accounting() {
    let h = sandbox().queue(&[
        entry("jq", "homebrew:jq", 1),
        entry("ripgrep", "cargo:ripgrep", 1),
        entry("bat", "github:sharkdp/bat", 1),
        entry("fzf", "homebrew:fzf", 1),
    ]);
    h.run(&[]).ok();
    let r = h.results_json();
    assert_eq!(r["total"], 4);
    assert_eq!(r["succeeded"], 4);
    assert_eq!(
        r["ecosystems"],
        json!({"cargo": 1, "github": 1, "homebrew": 2})
    );
    assert_eq!(
        r["per_ecosystem"]["homebrew"],
        json!({"total": 2, "succeeded": 2, "failed": 0})
    );
    let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "batch_id",
            "ecosystems",
            "per_ecosystem",
            "total",
            "succeeded",
            "failed",
            "blocked",
            "timestamp"
        ]
    );
}

/// Spec §8.2 #68: exit 5 is retried (1 s, then 2 s); the third create succeeds.
#[test]
fn s68_network_retry_then_success() {
    let h = sandbox()
        .mode("flaky")
        .queue(&[entry("yq", "homebrew:yq", 1)]);
    let out = h.run(&[]);
    out.ok();
    assert_eq!(h.created(), ["yq", "yq", "yq"]);
    assert_eq!(h.installs(), 1);
    assert_eq!(h.entry("yq")["status"], "success");
    assert!(h.failure_dir_names().is_empty());
    assert!(
        out.elapsed >= Duration::from_millis(2900),
        "backoff 1 s + 2 s, took {:?}",
        out.elapsed
    );
}

/// Spec §5 / issue: the default spacing is 1 s per ecosystem (a generous lower bound only).
#[test]
fn default_rate_limit_spaces_starts_of_one_ecosystem() {
    let h = sandbox()
        .default_rate_limits()
        .queue(&[entry("a", "homebrew:a", 1), entry("b", "homebrew:b", 1)]);
    let out = h.run(&[]);
    out.ok();
    assert_eq!(h.created().len(), 2);
    assert!(
        out.elapsed >= Duration::from_millis(950),
        "took {:?}",
        out.elapsed
    );
}

/// Issue: a generator that cannot be found is bad input: exit 1 with a hint, nothing written.
#[test]
fn missing_generator_exits_1_and_writes_nothing() {
    let h = sandbox()
        .generator("/nonexistent/tsuku")
        .queue(&[entry("a", "homebrew:a", 1)])
        .control(
            json!({"circuit_breaker": {"npm": {"state": "open", "failures": 5, "opens_at": PAST}}}),
        );
    let before = h.snapshot();
    let out = h.run(&[]);
    out.code(exit::FAILURE);
    assert!(out.stderr.contains("/nonexistent/tsuku"), "{}", out.ctx());
    assert!(out.stderr.to_lowercase().contains("hint"), "{}", out.ctx());
    assert_unchanged(&before, &h.snapshot(), &out);
}
