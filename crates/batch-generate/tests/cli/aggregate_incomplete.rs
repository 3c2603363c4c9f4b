//! `aggregate` over a platform that did not report and over failures that carry their reason
//! (issue #22): an `incomplete` results file derives nothing and turns auto-merge off, the PR
//! text, `--json`, the text report and `$GITHUB_OUTPUT` say which platform did not report and
//! why; the per-recipe failure records and the PR body keep each failing platform's reason,
//! and an exit-7 row (sandbox verify failure) is `verify_failed`.
//!
//! A child of `aggregate` (declared there) so that it shares its `Batch` fixture.

use serde_json::Value;

use super::{ALL11, Batch, plain, row};
use batch::validate::{RowStatus, ValidationRow};

const NO_RUNTIME: &str = "no container runtime available: install docker or podman\n(tsuku)";

/// linux-x86_64's results end with an `incomplete` row. alpha failed only on linux-x86_64
/// (it would be constrained), bravo fails on alpine arm64 (a sandbox verify failure) and on
/// darwin-arm64 (a host install failure with tsuku's message), charlie passes everywhere.
fn incomplete_batch() -> Batch {
    let x86: Vec<&str> = ALL11
        .iter()
        .copied()
        .filter(|p| p.starts_with("linux") && p.ends_with("x86_64"))
        .collect();
    let mut fails: Vec<(&str, &str)> = x86.iter().map(|p| ("alpha", *p)).collect();
    fails.extend([
        ("bravo", "linux-alpine-musl-arm64"),
        ("bravo", "darwin-arm64"),
    ]);
    let b = Batch::new(
        &[("alpha", plain()), ("bravo", plain()), ("charlie", plain())],
        &fails,
    );
    let with_reason = |r: ValidationRow| match (r.recipe.as_str(), r.platform.to_string()) {
        ("bravo", p) if p == "linux-alpine-musl-arm64" => ValidationRow {
            exit_code: Some(7),
            verify_exit_code: Some(127),
            message: Some("sh: jq: not found".into()),
            ..r
        },
        ("bravo", p) if p == "darwin-arm64" => ValidationRow {
            message: Some(format!(
                "failed to resolve step github_file: {}\nsecond line",
                "x".repeat(300)
            )),
            subcategory: Some("not_found".into()),
            ..r
        },
        _ => r,
    };
    for job in ["linux-arm64", "darwin-arm64"] {
        let path = b.validation.join(format!("validation-results-{job}.json"));
        let rows = batch::validate::ResultsFile::read(&path).unwrap().rows;
        b.results(job, rows.into_iter().map(with_reason).collect());
    }
    let path = b.validation.join("validation-results-linux-x86_64.json");
    let mut rows = batch::validate::ResultsFile::read(&path).unwrap().rows;
    rows.push(ValidationRow {
        status: RowStatus::Incomplete,
        exit_code: None,
        attempts: None,
        blocked_by: None,
        message: Some(NO_RUNTIME.into()),
        ..row("bravo", "linux-debian-glibc-x86_64", RowStatus::Pass)
    });
    b.results("linux-x86_64", rows);
    b
}

#[test]
fn an_incomplete_platform_derives_nothing_and_is_named() {
    let b = incomplete_batch();
    let gh = b.sb.root.join("gh-output");
    let out = b.run_env(&["--json"], &[("GITHUB_OUTPUT", gh.as_os_str())]);
    out.ok();
    let doc = out.json();

    // alpha's linux-x86_64 failures are not used: included as is. bravo is constrained on
    // its two other failures only.
    assert_eq!(
        b.recipe("alpha").unwrap(),
        super::PLAIN.replace("NAME", "alpha")
    );
    assert_eq!(
        b.recipe("bravo").unwrap(),
        "[metadata]\nname = \"bravo\"\n\
         unsupported_platforms = [\"linux/alpine/arm64\", \"darwin/arm64\"]\n\n\
         [[steps]]\naction = \"homebrew\"\n"
    );
    let fates: Vec<(&str, &str)> = doc["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["fate"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fates,
        [
            ("alpha", "included"),
            ("bravo", "constrained"),
            ("charlie", "included")
        ]
    );
    assert_eq!(
        (
            doc["all_platforms_reported"].as_bool(),
            doc["auto_merge"].as_bool()
        ),
        (Some(false), Some(false)),
        "{}",
        out.ctx()
    );
    // 3 recipes × 5 families + the incomplete row.
    assert_eq!(
        doc["not_reported"],
        serde_json::json!([{
            "platform": "linux-x86_64",
            "kind": "incomplete",
            "recipe": "bravo",
            "message": NO_RUNTIME,
            "rows_ignored": 16
        }])
    );
    assert_eq!(
        std::fs::read_to_string(&gh).unwrap(),
        "included=3\nexcluded=0\nconstrained=1\nall_platforms_reported=false\nauto_merge=false\n"
    );

    // No failure record from linux-x86_64; the two others keep their reasons (in row order:
    // the darwin-arm64 file is read before the linux-arm64 one).
    let lines =
        std::fs::read_to_string(b.sb.failures.join("batch-2026-12-01T08-00-00Z.jsonl")).unwrap();
    let recs: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 2, "{lines}");
    assert_eq!(
        (
            recs[1]["platform"].as_str(),
            recs[1]["exit_code"].as_i64(),
            recs[1]["verify_exit_code"].as_i64(),
            recs[1]["category"].as_str(),
            recs[1]["message"].as_str()
        ),
        (
            Some("linux-alpine-musl-arm64"),
            Some(7),
            Some(127),
            Some("verify_failed"),
            Some("sh: jq: not found")
        )
    );
    assert_eq!(
        (
            recs[0]["platform"].as_str(),
            recs[0]["category"].as_str(),
            recs[0]["subcategory"].as_str()
        ),
        (
            Some("darwin-arm64"),
            Some("generation_failed"),
            Some("not_found")
        )
    );
    // The record keeps the whole message (both lines).
    assert!(
        recs[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("\nsecond line")
    );

    // The metrics count linux-x86_64 as not reported.
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(
            b.sb.root
                .join("metrics/batch-runs-2026-12-01T08-00-00Z.jsonl"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        m["platforms"]["linux-x86_64"],
        serde_json::json!({"tested": 0, "passed": 0, "failed": 0})
    );
    assert_eq!(m["platforms"]["linux-arm64"]["failed"], 1);

    // The PR text names the platform and the reason, and each failing platform's first line
    // (cut at 200 characters) under bravo.
    let body = b.pr_body();
    let cut = format!("failed to resolve step github_file: {}…", "x".repeat(164));
    for want in [
        "## Platforms Not Reported\n\nNothing was derived from these platforms (no constraint, \
         exclusion or failure record) and auto-merge is off:\n\n\
         - **linux-x86_64**: incomplete results: the runner could not run installs (stopped at \
         **bravo**; 16 row(s) not used): `no container runtime available: install docker or \
         podman`\n",
        "- **bravo**: `unsupported_platforms = [\"linux/alpine/arm64\", \"darwin/arm64\"]`\n\
         \x20\x20- linux-alpine-musl-arm64: exit 7 (verify exit 127): `sh: jq: not found`\n",
        &format!("  - darwin-arm64: exit 6 (not_found): `{cut}`\n"),
        "| linux-x86_64 | Incomplete (stopped at bravo; not used, see above) |\n",
    ] {
        assert!(body.contains(want), "missing {want:?} in\n{body}");
    }
    assert!(!body.contains("**alpha**"), "{body}");
    let commit = std::fs::read_to_string(b.sb.root.join("pr/commit-message.txt")).unwrap();
    assert!(
        commit.contains(
            "- not reported: linux-x86_64 (incomplete: no container runtime available: install \
             docker or podman)\n"
        ),
        "{commit}"
    );
}

#[test]
fn the_text_report_names_the_platforms_that_did_not_report() {
    let b = incomplete_batch();
    std::fs::remove_file(b.validation.join("validation-results-darwin-x86_64.json")).unwrap();
    let out = b.run(&[]);
    out.ok();
    assert!(
        out.stdout.contains(
            "  not reported: linux-x86_64: incomplete at bravo: no container runtime available: \
             install docker or podman\n  not reported: darwin-x86_64: no results\n"
        ),
        "{}",
        out.ctx()
    );
    assert!(
        out.stdout
            .contains("all platforms reported: no; auto-merge: no"),
        "{}",
        out.ctx()
    );
    // A missing platform and an incomplete one are both listed, in matrix order.
    let body = b.pr_body();
    let start = body.find("## Platforms Not Reported").unwrap();
    let section = &body[start
        ..body[start..]
            .find("\n\n## ")
            .map_or(body.len(), |e| start + e)];
    let platforms: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("- **"))
        .map(|l| l.split("**").next().unwrap())
        .collect();
    assert_eq!(platforms, ["linux-x86_64", "darwin-x86_64"]);
}
