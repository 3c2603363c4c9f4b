//! Issue #22: a platform whose results are incomplete derives nothing (a child of the plan
//! tests, to share their fixture).

use super::*;

/// Issue #22: linux-x86_64's results end with an `incomplete` row. Nothing is derived from
/// that platform: alpha failed only there and is included as is, bravo is constrained on its
/// darwin-arm64 failure alone, charlie passed only there and is excluded. Its failure lines,
/// the metrics and the PR text leave the platform out, name it, and auto-merge is off.
#[test]
fn an_incomplete_platform_derives_nothing() {
    let f = Fixture::new(&[("alpha", PLAIN), ("bravo", PLAIN), ("charlie", PLAIN)]);
    let x86: Vec<&str> = ALL11
        .iter()
        .copied()
        .filter(|p| p.starts_with("linux") && p.ends_with("x86_64"))
        .collect();
    let mut fails: Vec<(&str, &str)> = Vec::new();
    fails.extend(x86.iter().map(|p| ("alpha", *p)));
    fails.extend(x86.iter().map(|p| ("bravo", *p)));
    fails.push(("bravo", "darwin-arm64"));
    fails.extend(
        ALL11
            .iter()
            .filter(|p| !x86.contains(p))
            .map(|p| ("charlie", *p)),
    );
    f.matrix(&["alpha", "bravo", "charlie"], &fails);
    // bravo's darwin-arm64 failure carries tsuku's reason.
    let darwin = f
        .options
        .validation_dir
        .join("validation-results-darwin-arm64.json");
    let mut rows = ResultsFile::read(&darwin).unwrap().rows;
    for r in rows.iter_mut().filter(|r| r.recipe == "bravo") {
        r.message = Some("Error: failed to resolve step github_file: 404\nmore".into());
        r.subcategory = Some("not_found".into());
    }
    f.results("darwin-arm64", rows);
    let linux = f
        .options
        .validation_dir
        .join("validation-results-linux-x86_64.json");
    let mut rows = ResultsFile::read(&linux).unwrap().rows;
    rows.push(ValidationRow {
        status: RowStatus::Incomplete,
        exit_code: None,
        message: Some("no container runtime available (install docker or podman)".into()),
        ..row("charlie", "linux-debian-glibc-x86_64", RowStatus::Pass)
    });
    f.results("linux-x86_64", rows);

    let p = plan_aggregate(&f.options, &FixedClock::new(now())).unwrap();
    let fates: Vec<&Fate> = p.recipes.iter().map(|r| &r.fate).collect();
    assert_eq!(fates[0], &Fate::Included);
    assert!(
        matches!(fates[1], Fate::Constrained { line, .. } if line == r#"unsupported_platforms = ["darwin/arm64"]"#),
        "{:?}",
        fates[1]
    );
    assert!(
        matches!(
            fates[2],
            Fate::Excluded {
                cause: ExcludeCause::FailedEverywhere,
                ..
            }
        ),
        "{:?}",
        fates[2]
    );
    assert!(!p.all_platforms_reported && !p.auto_merge);
    assert_eq!(
        p.not_reported,
        [crate::aggregate::NotReported::Incomplete {
            platform: crate::validate::JobPlatform::LinuxX86_64,
            recipe: "charlie".into(),
            message: "no container runtime available (install docker or podman)".into(),
            rows_ignored: 16,
        }]
    );
    // No failure line from linux-x86_64: bravo's darwin-arm64 one and charlie's six.
    let lines: Vec<(&str, &str)> = p
        .failures
        .iter()
        .map(|l| (l.recipe.as_str(), l.platform.as_str()))
        .collect();
    assert_eq!(lines.len(), 1 + 6, "{lines:?}");
    assert!(lines.iter().all(|(_, pl)| !x86.contains(pl)), "{lines:?}");
    assert_eq!(
        p.failures[0].message.as_deref(),
        Some("Error: failed to resolve step github_file: 404\nmore")
    );
    assert_eq!(p.failures[0].subcategory.as_deref(), Some("not_found"));
    let m = &p.metrics.platforms["linux-x86_64"];
    assert_eq!((m.tested, m.passed, m.failed), (0, 0, 0));
    assert_eq!(p.metrics.platforms["linux-arm64"].tested, 12);
    let body = &p.pr.body;
    assert!(
        body.contains(
            "- **linux-x86_64**: incomplete results: the runner could not run installs \
             (stopped at **charlie**; 16 row(s) not used): `no container runtime available \
             (install docker or podman)`\n"
        ),
        "{body}"
    );
    assert!(
        body.contains(
            "- **bravo**: `unsupported_platforms = [\"darwin/arm64\"]`\n  - darwin-arm64: exit 6 \
             (not_found): `Error: failed to resolve step github_file: 404`\n"
        ),
        "{body}"
    );
    assert!(
        body.contains("| linux-x86_64 | Incomplete (stopped at charlie; not used, see above) |"),
        "{body}"
    );
    assert!(
        p.pr.commit_message.contains(
            "- not reported: linux-x86_64 (incomplete: no container runtime available (install \
             docker or podman))\n"
        ),
        "{}",
        p.pr.commit_message
    );
}

/// A platform whose only row is `incomplete` (the first install showed the broken runner) is
/// not reported either, and its recipe stays in the batch.
#[test]
fn an_incomplete_first_row_leaves_the_platform_unreported() {
    let f = Fixture::new(&[("alpha", PLAIN)]);
    f.matrix(&["alpha"], &[]);
    f.results(
        "darwin-x86_64",
        vec![ValidationRow {
            status: RowStatus::Incomplete,
            exit_code: None,
            message: Some("tsuku exited 12".into()),
            ..row("alpha", "darwin-x86_64", RowStatus::Pass)
        }],
    );
    let p = plan_aggregate(&f.options, &FixedClock::new(now())).unwrap();
    assert_eq!(p.recipes[0].fate, Fate::Included);
    assert!(!p.auto_merge);
    assert_eq!(p.not_reported.len(), 1);
    assert_eq!(p.not_reported[0].kind(), "incomplete");
    assert!(p.failures.is_empty());
}
