//! Tests of the record files: failure JSONL, `batch-results.json` and the summary.

use jiff::Timestamp;

use super::*;
use crate::generator::Category;

fn rec(pkg: &str, cat: Category, blocked_by: &[&str]) -> FailureRecord {
    FailureRecord {
        package_id: pkg.into(),
        category: cat,
        subcategory: String::new(),
        blocked_by: blocked_by.iter().map(|s| (*s).to_owned()).collect(),
        message: "m <&>".into(),
        timestamp: "2026-04-04T20:32:05.85238823Z".into(),
    }
}

fn now() -> Timestamp {
    "2026-04-04T20:32:43.5Z".parse().unwrap()
}

#[test]
fn failure_file_matches_go_bytes() {
    let mut r = rec("rubygems:bup", Category::NetworkError, &[]);
    r.message = "failed after 3 retries: tsuku create rubygems:bup: exit 5: Error checking package: rubygems.org returned status 503".into();
    let files = failure_files(&[r], now());
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].file_name, "rubygems-2026-04-04T20-32-43Z.jsonl");
    // The real record quoted in spec §1.3.1, shortened message.
    let want = "{\"schema_version\":1,\"ecosystem\":\"rubygems\",\"environment\":\"linux-glibc-x86_64\",\"updated_at\":\"2026-04-04T20-32-43Z\",\"failures\":[{\"package_id\":\"rubygems:bup\",\"category\":\"network_error\",\"message\":\"failed after 3 retries: tsuku create rubygems:bup: exit 5: Error checking package: rubygems.org returned status 503\",\"timestamp\":\"2026-04-04T20:32:05.85238823Z\"}]}\n";
    assert_eq!(String::from_utf8(files[0].bytes.clone()).unwrap(), want);
}

#[test]
fn grouping_order_escaping_and_optional_keys() {
    let mut sub = rec("homebrew:b", Category::InstallFailed, &[]);
    sub.subcategory = "tls_error".into();
    let files = failure_files(
        &[
            rec("homebrew:a", Category::MissingDep, &["libpng", "libjpeg"]),
            rec("noseparator", Category::InstallFailed, &[]),
            sub,
            rec("we ird/x:pkg", Category::InstallFailed, &[]),
        ],
        now(),
    );
    let names: Vec<_> = files.iter().map(|f| f.file_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "homebrew-2026-04-04T20-32-43Z.jsonl",
            "noseparator-2026-04-04T20-32-43Z.jsonl",
            "we%20ird%2Fx-2026-04-04T20-32-43Z.jsonl"
        ]
    );
    let hb = String::from_utf8(files[0].bytes.clone()).unwrap();
    assert_eq!(hb.lines().count(), 1);
    assert!(hb.contains(r#""blocked_by":["libpng","libjpeg"]"#));
    assert!(hb.contains(r#""subcategory":"tls_error""#));
    assert!(hb.contains(r#""message":"m \u003c\u0026\u003e""#));
    assert!(hb.find("homebrew:a").unwrap() < hb.find("homebrew:b").unwrap());
    let ns = String::from_utf8(files[1].bytes.clone()).unwrap();
    assert!(!ns.contains("blocked_by") && !ns.contains("subcategory"));
    assert!(ns.contains(r#""ecosystem":"noseparator""#));
}

#[test]
fn file_components() {
    assert_eq!(safe_file_component("crates.io"), "crates.io");
    assert_eq!(safe_file_component(".."), "%2E.");
    assert_eq!(safe_file_component("a/b"), "a%2Fb");
    assert_eq!(safe_file_component(""), "%");
    assert_eq!(safe_file_component("x\0y"), "x%00y");
}

#[test]
fn results_counts_and_bytes() {
    let mut r = BatchResults::new("2026-02-21T07:20:43.73955531Z".parse().unwrap());
    r.count("homebrew", OutcomeKind::Succeeded);
    r.count("homebrew", OutcomeKind::Blocked);
    r.count("rubygems", OutcomeKind::Failed);
    assert_eq!(r.total, r.succeeded + r.failed + r.blocked);
    let want = r#"{
  "batch_id": "2026-02-21",
  "ecosystems": {
    "homebrew": 2,
    "rubygems": 1
  },
  "per_ecosystem": {
    "homebrew": {
      "total": 2,
      "succeeded": 1,
      "failed": 0
    },
    "rubygems": {
      "total": 1,
      "succeeded": 0,
      "failed": 1
    }
  },
  "total": 3,
  "succeeded": 1,
  "failed": 1,
  "blocked": 1,
  "timestamp": "2026-02-21T07:20:43.73955531Z"
}
"#;
    assert_eq!(String::from_utf8(r.to_bytes()).unwrap(), want);
}

#[test]
fn summary_single_ecosystem() {
    let mut r = BatchResults::new("2026-02-21T07:20:43Z".parse().unwrap());
    r.count("homebrew", OutcomeKind::Succeeded);
    r.count("homebrew", OutcomeKind::Blocked);
    r.count("homebrew", OutcomeKind::Failed);
    let s = render_summary(
        &r,
        &["ripgrep.toml".into()],
        &[
            rec("homebrew:guile", Category::MissingDep, &["bdw-gc", "gmp"]),
            rec("homebrew:x", Category::InstallFailed, &[]),
        ],
        0,
        crate::tsuku::headline,
    );
    let want = "Batch run for **homebrew** on 2026-02-21.\n\n| Metric | Count |\n|--------|-------|\n| Succeeded | 1 |\n| Failed | 1 |\n| Blocked | 1 |\n| **Total** | **3** |\n\n### Recipes added\n\n- `ripgrep.toml`\n\n### Failures\n\n- **homebrew:guile**: blocked by [bdw-gc gmp]\n- **homebrew:x**: install_failed: `m <&>`\n";
    assert_eq!(s, want);
}

/// Issue #22: a failure line's reason is tsuku's error, not its `--yes` warning; backticks and
/// control characters cannot break the code span; long lines are cut at 200 characters; a
/// blank message adds nothing.
#[test]
fn summary_failure_reasons_are_headlines_in_code_spans() {
    let mut r = BatchResults::new("2026-02-21T07:20:43Z".parse().unwrap());
    r.count("homebrew", OutcomeKind::Failed);
    let with = |message: &str| {
        let mut f = rec("homebrew:x", Category::GenerationFailed, &[]);
        f.message = message.into();
        let s = render_summary(&r, &[], &[f], 0, crate::tsuku::headline);
        s.lines().last().unwrap().to_owned()
    };
    assert_eq!(
        with(
            "Warning: Skipping recipe review (--yes). The recipe will be installed without confirmation.\nError: 'x' resolved to `github`,\twhich requires LLM\nRemove --deterministic-only"
        ),
        "- **homebrew:x**: generation_failed: `Error: 'x' resolved to 'github', which requires LLM`"
    );
    let long = format!("E{}", "x".repeat(250));
    assert_eq!(
        with(&long),
        format!(
            "- **homebrew:x**: generation_failed: `E{}…`",
            "x".repeat(199)
        )
    );
    assert_eq!(with(" \n "), "- **homebrew:x**: generation_failed");
}

#[test]
fn summary_mixed_and_empty() {
    let mut r = BatchResults::new("2026-02-21T07:20:43Z".parse().unwrap());
    r.count("npm", OutcomeKind::Succeeded);
    r.count("github", OutcomeKind::Failed);
    let s = render_summary(&r, &[], &[], 2, crate::tsuku::headline);
    assert!(s.starts_with("Batch run for **mixed** on 2026-02-21.\n\n### Ecosystem breakdown\n\n"));
    assert!(s.find("| github | 0 | 1 | 1 |").unwrap() < s.find("| npm | 1 | 0 | 1 |").unwrap());
    assert!(s.contains("| Blocked | 0 |\n| Invalid | 2 |\n| **Total** | **2** |\n"));
    let empty = render_summary(
        &BatchResults::new("2026-02-21T07:20:43Z".parse().unwrap()),
        &[],
        &[],
        0,
        crate::tsuku::headline,
    );
    assert_eq!(
        empty,
        "Batch run for **mixed** on 2026-02-21.\n\n| Metric | Count |\n|--------|-------|\n| Succeeded | 0 |\n| Failed | 0 |\n| Blocked | 0 |\n| **Total** | **0** |\n"
    );
}

/// Entries that did not run are counted and named in `batch-results.json` (an added key, only
/// when there are any) and in the summary (issue #12).
#[test]
fn entries_not_run_are_named_in_results_and_summary() {
    let t: Timestamp = "2026-02-21T07:20:43.73955531Z".parse().unwrap();
    let mut r = BatchResults::new(t);
    r.count("npm", OutcomeKind::Succeeded);
    let complete = String::from_utf8(r.to_bytes()).unwrap();
    assert!(!complete.contains("not_run"), "Go's keys only: {complete}");

    r.not_run.push(NotRunEntry {
        name: "hub".into(),
        source: "github:github/hub".into(),
        reason: "interrupted".into(),
    });
    let text = String::from_utf8(r.to_bytes()).unwrap();
    assert!(
        text.ends_with(
            "  \"timestamp\": \"2026-02-21T07:20:43.73955531Z\",\n  \"not_run\": [\n    {\n      \"name\": \"hub\",\n      \"source\": \"github:github/hub\",\n      \"reason\": \"interrupted\"\n    }\n  ]\n}\n"
        ),
        "{text}"
    );
    let summary = render_summary(&r, &[], &[], 0, crate::tsuku::headline);
    assert!(
        summary.contains("| **Total** | **1** |\n| Not run | 1 |\n"),
        "{summary}"
    );
    assert!(
        summary.contains("\n### Not run\n\n- **github:github/hub**: interrupted\n"),
        "{summary}"
    );
}
