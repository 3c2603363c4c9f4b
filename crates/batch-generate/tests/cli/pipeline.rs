//! The whole nightly chain in one sandbox (issue #13 "Done when": generate → 4 × validate →
//! merge → aggregate → PR text): `preflight --shards 2` → both `--shard K/2` runs with
//! `--validation-out` → `merge` → `validate` for the four job platforms into one directory →
//! `aggregate` → `queue maintain`, then a rerun of `aggregate` and the next `preflight`. The
//! second test drops one platform's results. Every expected number below is derived from the fake generator's rules
//! (`testdata/fake-tsuku`) and the spec's rules (§7.3.2 verdicts, §7.3.3 constraints, §7.3.5
//! PR text, §1.5 metrics), not copied from a run.
//!
//! The batch: eight queue entries over npm, crates.io and pypi.
//!
//! | entry | fake rule | expected |
//! |---|---|---|
//! | alpha (npm) | ok | included, no constraint |
//! | bravo (npm) | fails on `darwin-*` | `supported_os = ["linux"]` |
//! | charlie (npm) | fails on alpine | `supported_libc = ["glibc"]` |
//! | delta (crates.io) | fails on every validation platform | excluded, entry `failed`, 11 failure lines |
//! | echo (crates.io) | recipe with `action = "run_command"` | excluded by the gate, entry `excluded` |
//! | foxtrot (crates.io) | ok | included |
//! | golf (pypi) | generation fails (exit 6) | not in the batch's recipes, entry `failed` |
//! | hotel (pypi) | ok | included |

use serde_json::Value;

use crate::pipeline_chain::{GENERATED, JOBS, RULES, generate, recipe_files};
use crate::util::{read_lines, run_cmd, snapshot_except};

/// Which (recipe, row platform) pairs the rules make fail.
fn fails(recipe: &str, platform: &str) -> bool {
    match recipe {
        "delta" => true,
        "bravo" => platform.starts_with("darwin-"),
        "charlie" => platform.contains("-alpine-"),
        _ => false,
    }
}

/// `(tested, passed, failed)` of a job platform, from the rules: every generated recipe but the
/// gated one (the security gate keeps it from every install) gets one row per row platform of
/// the job.
fn expected_counts(job: &str) -> (u64, u64, u64) {
    let (_, platforms) = JOBS.iter().find(|(j, _)| *j == job).unwrap();
    let mut c = (0, 0, 0);
    for r in GENERATED.iter().filter(|r| **r != "echo") {
        for p in *platforms {
            c.0 += 1;
            if fails(r, p) {
                c.2 += 1;
            } else {
                c.1 += 1;
            }
        }
    }
    c
}

#[test]
fn preflight_shards_merge_validate_aggregate_make_the_pr() {
    let chain = generate(&RULES);
    for (job, _) in JOBS {
        let out = chain.validate(job);
        out.ok();
        let (t, p, f) = expected_counts(job);
        assert!(
            out.stdout
                .contains(&format!("Total: {t}  Passed: {p}  Failed: {f}  Skipped: 0")),
            "{job}: {}",
            out.ctx()
        );
        // The security gate runs before any install: echo's run_command never runs.
        assert!(
            out.stdout.contains("e/echo.toml") && out.stdout.contains("security gate"),
            "{job}: {}",
            out.ctx()
        );
    }
    assert!(
        !chain.log_has_install_of("echo"),
        "echo's recipe was installed by a validation job"
    );
    // By hand: linux-x86_64 6×5 = 30 rows (echo is gated), charlie@alpine + 5 × delta fail.
    assert_eq!(expected_counts("linux-x86_64"), (30, 24, 6));
    assert_eq!(expected_counts("linux-arm64"), (24, 19, 5));
    assert_eq!(expected_counts("darwin-arm64"), (6, 4, 2));

    let out = chain.aggregate();
    out.ok();
    let doc = out.json();
    assert_eq!(
        (
            doc["included"].as_u64(),
            doc["excluded"].as_u64(),
            doc["constrained"].as_u64()
        ),
        (Some(5), Some(2), Some(2)),
        "{}",
        out.ctx()
    );

    // Recipes: constraint line exactly once, excluded ones deleted, others untouched.
    let plain = |n: &str| format!("[metadata]\nname = \"{n}\"\n");
    for n in ["alpha", "foxtrot", "hotel"] {
        assert_eq!(chain.recipe(n).unwrap(), plain(n), "{n}");
    }
    assert_eq!(
        chain.recipe("bravo").unwrap(),
        "[metadata]\nname = \"bravo\"\nsupported_os = [\"linux\"]\n"
    );
    assert_eq!(
        chain.recipe("charlie").unwrap(),
        "[metadata]\nname = \"charlie\"\nsupported_libc = [\"glibc\"]\n"
    );
    assert!(chain.recipe("delta").is_none(), "delta kept");
    assert!(chain.recipe("echo").is_none(), "echo kept");
    assert_eq!(
        recipe_files(&chain.sb.output),
        ["alpha", "bravo", "charlie", "foxtrot", "hotel"]
    );

    // Queue: the gate's entry is excluded, the one that failed everywhere failed (first
    // failure: no retry time, spec §4.7), the rest as merge left them.
    assert_eq!(chain.status("echo"), "excluded");
    let delta = chain.entry("delta");
    assert_eq!(
        (
            delta["status"].as_str(),
            delta["failure_count"].as_i64(),
            delta["next_retry_at"].is_null()
        ),
        (Some("failed"), Some(1), true)
    );
    for n in ["alpha", "bravo", "charlie", "foxtrot", "hotel"] {
        assert_eq!(chain.status(n), "success", "{n}");
    }
    assert_eq!(chain.status("golf"), "failed");

    // Failure records: one line per (recipe, failed platform): 11 for delta, 2 each for the
    // constrained recipes, none for the gate.
    let lines = read_lines(
        &chain
            .sb
            .failures
            .join(format!("batch-{}.jsonl", chain.stamp())),
    );
    let mut got: Vec<(String, String, String, i64)> = lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["recipe"].as_str().unwrap().to_owned(),
                v["platform"].as_str().unwrap().to_owned(),
                v["package_id"].as_str().unwrap().to_owned(),
                v["exit_code"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut want = Vec::new();
    for (name, source, code) in [
        ("bravo", "npm:bravo", 1),
        ("charlie", "npm:charlie", 6),
        ("delta", "crates.io:delta", 6),
    ] {
        for (_, platforms) in JOBS {
            for p in platforms {
                if fails(name, p) {
                    want.push((name.into(), (*p).into(), source.into(), code));
                }
            }
        }
    }
    want.sort();
    assert_eq!(got.len(), 15);
    assert_eq!(got, want);

    // Metrics: one line, per-platform counts from the rules.
    let metrics = read_lines(
        &chain
            .sb
            .root
            .join(format!("metrics/batch-runs-{}.jsonl", chain.stamp())),
    );
    assert_eq!(metrics.len(), 1);
    let m: Value = serde_json::from_str(&metrics[0]).unwrap();
    for (job, _) in JOBS {
        let (t, p, f) = expected_counts(job);
        let c = &m["platforms"][job];
        assert_eq!(
            (
                c["tested"].as_u64(),
                c["passed"].as_u64(),
                c["failed"].as_u64()
            ),
            (Some(t), Some(p), Some(f)),
            "{job}: {m}"
        );
    }
    assert_eq!(
        (
            m["batch_id"].as_str(),
            m["total"].as_u64(),
            m["generated"].as_u64(),
            m["merged"].as_u64(),
            m["excluded"].as_u64(),
            m["constrained"].as_u64()
        ),
        (
            Some(chain.batch_id.as_str()),
            Some(7),
            Some(7),
            Some(5),
            Some(2),
            Some(2)
        )
    );
    assert_eq!(
        m["ecosystems"],
        serde_json::json!({"crates.io": 3, "npm": 3, "pypi": 1})
    );

    // PR text (spec §7.3.5).
    assert_eq!(
        chain.pr("pr-title.txt").trim_end(),
        "feat(recipes): add batch recipes (5 recipes)"
    );
    let id = &chain.batch_id;
    assert_eq!(
        chain.pr("commit-message.txt"),
        format!(
            "feat(recipes): add batch {id} recipes\n\n\
             Batch generation of 7 packages (3 crates.io, 3 npm, 1 pypi).\n\
             - 5 passed validation across platform environments\n\
             - 2 with platform constraints\n\
             - 2 excluded (recorded to data/failures/)\n\n\
             batch_id: {id}\nbatch_size: 7\nsuccess_rate: 0.71\n"
        )
    );
    let (body, reasons) = split_reasons(&chain.pr("pr-body.md"));
    // Issue #22: each constrained or excluded recipe lists its failing platforms' reasons
    // (`<platforms>: exit <code>...`); which platforms, not the fake's wording, is checked.
    let reason_platforms = |recipe: &str| {
        let mut p: Vec<&str> = reasons
            .iter()
            .filter(|(r, _)| r == recipe)
            .flat_map(|(_, l)| {
                let (platforms, rest) = l.split_once(": exit ").unwrap_or_else(|| panic!("{l}"));
                assert!(
                    rest.starts_with(|c: char| c.is_ascii_digit() || c == '-'),
                    "{l}"
                );
                platforms.split(", ")
            })
            .collect();
        p.sort_unstable();
        p
    };
    assert_eq!(reason_platforms("bravo"), ["darwin-arm64", "darwin-x86_64"]);
    assert_eq!(
        reason_platforms("charlie"),
        ["linux-alpine-musl-arm64", "linux-alpine-musl-x86_64"]
    );
    let mut all11: Vec<&str> = JOBS.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    all11.sort_unstable();
    assert_eq!(reason_platforms("delta"), all11);
    assert!(
        reason_platforms("echo").is_empty(),
        "a gate exclusion lists none"
    );
    let (head, delta_line, tail) = split_delta_line(&body);
    assert_eq!(
        head,
        "Batch recipe generation (3 crates.io, 3 npm, 1 pypi): 5 recipes included, 2 excluded.\n\n\
         Validated across 11 platform environments (5 Linux x86_64 families, 4 Linux arm64 families, 2 macOS).\n\n\
         ## Platform Constraints\n\n\
         2 recipe(s) have partial platform coverage. Constraints were derived automatically:\n\n\
         - **bravo**: `supported_os = [\"linux\"]`\n\
         - **charlie**: `supported_libc = [\"glibc\"]`\n\n\
         ## Excluded Recipes\n\n"
    );
    // delta's reason lists its 11 failed platforms (order not specified).
    let listed = delta_line
        .strip_prefix("- **delta**: failed on all platforms (")
        .and_then(|s| s.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("{delta_line}"));
    let mut listed: Vec<&str> = listed.split(", ").collect();
    listed.sort_unstable();
    let mut all: Vec<&str> = JOBS.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    all.sort_unstable();
    assert_eq!(listed, all);
    assert_eq!(
        tail,
        "- **echo**: contains run_command action at steps[0].action (security gate)\n\n\
         ---\n\n\
         ## Validation Summary\n\n\
         | Platform | Status |\n|---|---|\n\
         | linux-x86_64 | 24 passed, 6 failed |\n\
         | linux-arm64 | 19 passed, 5 failed |\n\
         | darwin-arm64 | 4 passed, 2 failed |\n\
         | darwin-x86_64 | 4 passed, 2 failed |\n"
    );

    assert_eq!(
        std::fs::read_to_string(chain.gh_output()).unwrap(),
        "included=5\nexcluded=2\nconstrained=2\nall_platforms_reported=true\nauto_merge=false\n"
    );

    // queue maintain (spec §4.9) reads aggregate's per-recipe lines back. delta is failed
    // with no retry time (the first failure has no backoff), so it is due → pending; its 11
    // lines are one run of one recipe, so one failure, which does not exceed its
    // failure_count of 1 → it stays pending, count 1 (one bad night is one failure, not 11 and
    // the capped 168 h backoff). golf's one record (from the merge) does not exceed its count
    // of 1 → pending. Success and excluded entries stay.
    let mut cmd = chain.sb.bare_cmd();
    cmd.args(["queue", "maintain", "--queue"])
        .arg(&chain.sb.queue)
        .arg("--failures-dir")
        .arg(&chain.sb.failures);
    run_cmd(&mut cmd).ok();
    let delta = chain.entry("delta");
    assert_eq!(
        (
            delta["status"].as_str(),
            delta["failure_count"].as_i64(),
            &delta["next_retry_at"]
        ),
        (Some("pending"), Some(1), &Value::Null),
        "{delta}"
    );
    assert_eq!(chain.status("golf"), "pending");
    assert_eq!(chain.status("echo"), "excluded");
    for n in ["alpha", "bravo", "charlie", "foxtrot", "hotel"] {
        assert_eq!(chain.status(n), "success", "{n}");
    }

    // A rerun of the merge job's aggregate after maintain changes no file but the PR text,
    // and that keeps its title, commit message, counts and validation table. (The rerun can
    // no longer tell its own constraints from existing ones, nor give the first run's
    // exclusion reasons: it reports them as existing / excluded by an earlier aggregate.)
    let (title, commit, body) = (
        chain.pr("pr-title.txt"),
        chain.pr("commit-message.txt"),
        chain.pr("pr-body.md"),
    );
    let before = snapshot_except(
        &chain.sb.root,
        &["pr", "cwd", "queue.json.lock", "github-output"],
    );
    let out = chain.aggregate();
    out.ok();
    assert_eq!(chain.pr("pr-title.txt"), title);
    assert_eq!(chain.pr("commit-message.txt"), commit);
    let again = chain.pr("pr-body.md");
    let first_line = |b: &str| b.lines().take(3).collect::<Vec<_>>().join("\n");
    let table = |b: &str| b[b.find("## Validation Summary").unwrap()..].to_owned();
    assert_eq!(first_line(&again), first_line(&body));
    assert_eq!(table(&again), table(&body));
    let after = snapshot_except(
        &chain.sb.root,
        &["pr", "cwd", "queue.json.lock", "github-output"],
    );
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "changed: {changed:?}\n{}", out.ctx());
    let once =
        "included=5\nexcluded=2\nconstrained=2\nall_platforms_reported=true\nauto_merge=false\n";
    assert_eq!(
        std::fs::read_to_string(chain.gh_output()).unwrap(),
        once.repeat(2),
        "$GITHUB_OUTPUT is appended to"
    );

    // The next night's preflight (same day) finds this batch in the results and metrics
    // and does not reuse its ID; golf and delta, pending again (a first failure has no
    // backoff, spec §4.7), are its two candidates.
    let mut cmd = chain.sb.preflight_cmd();
    cmd.args(["--shards", "2", "--tier", "3", "--dry-run", "--json"]);
    let out = run_cmd(&mut cmd);
    out.ok();
    let next = out.json();
    assert_eq!(next["candidates"], 2, "{}", out.ctx());
    let next_id = next["batch_id"].as_str().unwrap();
    if next_id[..10] == chain.batch_id[..10] {
        assert_eq!(next_id, format!("{}-002", chain.batch_id));
    }
}

/// The body without its nested reason lines (`  - ...`, issue #22), and those lines as
/// (recipe of the line above, text).
fn split_reasons(body: &str) -> (String, Vec<(String, String)>) {
    let mut kept = String::new();
    let mut reasons = Vec::new();
    let mut recipe = String::new();
    for line in body.split_inclusive('\n') {
        if let Some(r) = line.strip_prefix("  - ") {
            reasons.push((recipe.clone(), r.trim_end().to_owned()));
            continue;
        }
        if let Some(rest) = line.strip_prefix("- **") {
            recipe = rest.split("**").next().unwrap_or_default().to_owned();
        }
        kept.push_str(line);
    }
    (kept, reasons)
}

/// Splits the body around delta's line in "Excluded Recipes".
fn split_delta_line(body: &str) -> (&str, &str, &str) {
    let start = body
        .find("- **delta**: ")
        .unwrap_or_else(|| panic!("{body}"));
    let end = start + body[start..].find('\n').unwrap() + 1;
    (&body[..start], &body[start..end], &body[end..])
}

/// One validation job failed (no results file for darwin-x86_64) in a batch where every
/// install passes: the PR says "No results" for it, the environments are the 10 that
/// reported, nothing is excluded or constrained, and auto-merge is off only because of the
/// missing platform.
#[test]
fn a_platform_job_without_results_withholds_auto_merge() {
    let chain = generate(&[("golf", "gen:6"), ("*", "ok")]);
    for (job, _) in &JOBS[..3] {
        chain.validate(job).ok();
    }
    let out = chain.aggregate();
    out.ok();
    let body = chain.pr("pr-body.md");
    assert!(
        body.starts_with(
            "Batch recipe generation (3 crates.io, 3 npm, 1 pypi): 7 recipes included, 0 excluded.\n\n\
             Validated across 10 platform environments (5 Linux x86_64 families, 4 Linux arm64 families, 1 macOS).\n"
        ),
        "{body}"
    );
    assert!(
        body.ends_with(
            "| linux-x86_64 | 35 passed, 0 failed |\n\
             | linux-arm64 | 28 passed, 0 failed |\n\
             | darwin-arm64 | 7 passed, 0 failed |\n\
             | darwin-x86_64 | No results (the job failed, was cancelled or reported nothing) |\n"
        ),
        "{body}"
    );
    assert_eq!(
        std::fs::read_to_string(chain.gh_output()).unwrap(),
        "included=7\nexcluded=0\nconstrained=0\nall_platforms_reported=false\nauto_merge=false\n"
    );
    for n in GENERATED {
        let text = chain.recipe(n).unwrap_or_else(|| panic!("{n} deleted"));
        assert_eq!(text, format!("[metadata]\nname = \"{n}\"\n"), "{n}");
    }
    let m = &read_lines(
        &chain
            .sb
            .root
            .join(format!("metrics/batch-runs-{}.jsonl", chain.stamp())),
    )[0];
    let m: Value = serde_json::from_str(m).unwrap();
    assert_eq!(
        m["platforms"]["darwin-x86_64"],
        serde_json::json!({"tested": 0, "passed": 0, "failed": 0})
    );
    assert!(
        !chain
            .sb
            .failures
            .join(format!("batch-{}.jsonl", chain.stamp()))
            .exists()
    );
}
