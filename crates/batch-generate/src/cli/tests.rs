//! Parsing tests: defaults, Go spellings, environment variables, value parsers.

use super::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use super::goflags;
use super::parse::parse_grace;
use batch_store::Store;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    let mut v = vec!["batch-generate"];
    v.extend_from_slice(args);
    Cli::try_parse_from(goflags::rewrite(v.into_iter().map(Into::into)))
}

#[test]
fn defaults_match_the_issue() {
    let c = parse(&[]).unwrap().run.to_config();
    assert_eq!(c.queue, PathBuf::from("data/queues/priority-queue.json"));
    assert_eq!(c.results, PathBuf::from("data/queues/batch-results.json"));
    assert_eq!(c.summary, PathBuf::from("data/batch-summary.md"));
    assert_eq!(c.control_file, PathBuf::from("batch-control.json"));
    assert_eq!(c.output_dir, PathBuf::from("recipes"));
    assert_eq!(c.failures_dir, PathBuf::from("data/failures"));
    assert_eq!((c.select.batch_size, c.select.tier, c.jobs), (25, 2, 4));
    assert_eq!(c.timeout, Duration::from_secs(900));
    assert_eq!(c.generator, PathBuf::from("tsuku"));
    assert!(c.select.ecosystems.is_empty());
    assert_eq!(c.missing_queue, batch::queue::MissingQueue::Error);
}

#[test]
fn init_queue_flag_and_tier_range() {
    use batch::queue::MissingQueue;
    for args in [&["--init-queue"][..], &["--init-queue", "true"]] {
        let c = parse(args).unwrap().run.to_config();
        assert_eq!(c.missing_queue, MissingQueue::Empty, "{args:?}");
    }
    let c = parse(&["--init-queue=false"]).unwrap().run.to_config();
    assert_eq!(c.missing_queue, MissingQueue::Error);
    for tier in ["1", "2", "3"] {
        assert!(parse(&["--tier", tier]).is_ok(), "{tier}");
    }
    for tier in ["0", "4", "5", "99"] {
        let err = parse(&["--tier", tier]).unwrap_err();
        assert_eq!(
            err.kind(),
            clap::error::ErrorKind::ValueValidation,
            "{tier}: {err}"
        );
        assert_eq!(err.exit_code(), 2);
    }
}

#[test]
fn go_workflow_line_parses() {
    let c = parse(&[
        "-batch-size",
        "10",
        "-tier",
        "3",
        "-filter-ecosystem",
        "homebrew",
    ])
    .unwrap()
    .run
    .to_config();
    assert_eq!((c.select.batch_size, c.select.tier), (10, 3));
    assert_eq!(c.select.ecosystems, BTreeSet::from(["homebrew".to_owned()]));
}

#[test]
fn ecosystems_repeat_and_split_and_empty_means_all() {
    let c = parse(&["--ecosystem", "npm,pypi", "--ecosystem", "crates.io"])
        .unwrap()
        .run
        .to_config();
    assert_eq!(c.select.ecosystems.len(), 3);
    let c = parse(&["-filter-ecosystem", ""]).unwrap().run.to_config();
    assert!(c.select.ecosystems.is_empty());
    let c = parse(&["--filter-ecosystem=github"])
        .unwrap()
        .run
        .to_config();
    assert!(c.select.ecosystems.contains("github"));
}

#[test]
fn rate_limits_and_durations() {
    let c = parse(&[
        "--rate-limit",
        "rubygems=10s",
        "--rate-limit",
        "npm=500ms,github=1m",
        "--timeout",
        "90s",
    ])
    .unwrap()
    .run
    .to_config();
    assert_eq!(c.rate_limit.period("rubygems"), Duration::from_secs(10));
    assert_eq!(c.rate_limit.period("npm"), Duration::from_millis(500));
    assert_eq!(c.rate_limit.period("github"), Duration::from_secs(60));
    assert_eq!(c.rate_limit.period("homebrew"), Duration::from_secs(1));
    assert_eq!(c.timeout, Duration::from_secs(90));
}

#[test]
fn usage_errors() {
    for bad in [
        &["--batch-size", "-1"][..],
        &["-batch-size", "x"],
        &["--jobs", "0"],
        &["--rate-limit", "rubygems"],
        &["--rate-limit", "=1s"],
        &["--rate-limit", "npm=fast"],
        &["--timeout", "10"],
        &["--timeout", "-5s"],
        &["--no-such-flag"],
    ] {
        assert!(parse(bad).is_err(), "{bad:?} must be a usage error");
    }
}

#[test]
fn booleans() {
    let cli = parse(&["--dry-run", "--json"]).unwrap();
    assert!(cli.run.output.dry_run && cli.run.output.report.json);
    let cli = parse(&["--dry-run=false"]).unwrap();
    assert!(!cli.run.output.dry_run);
}

#[test]
fn clap_definition_is_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}

#[test]
fn grace_accepts_days_and_plain_durations() {
    assert_eq!(parse_grace("90d").unwrap(), Duration::from_secs(90 * 86400));
    assert_eq!(
        parse_grace("1d 12h").unwrap(),
        Duration::from_secs(36 * 3600)
    );
    assert_eq!(parse_grace("30s").unwrap(), Duration::from_secs(30));
    assert!(parse_grace("1mo").is_err(), "months have no fixed length");
    assert!(parse_grace("-1d").is_err());
    assert!(parse_grace("soon").is_err());
}

#[test]
fn flags_override_the_environment_and_secrets_stay_hidden() {
    let args = StoreArgs {
        store: "s3://bkt/pre".into(),
        endpoint: Some("http://127.0.0.1:9".into()),
        region: None,
        access_key_id: None,
        request_timeout: None,
        connect_timeout: Duration::from_secs(5),
    };
    let env = |k: &str| match k {
        "AWS_ENDPOINT_URL" => Some("https://example.invalid".to_owned()),
        "AWS_ACCESS_KEY_ID" => Some("AKIAENV".to_owned()),
        "AWS_SECRET_ACCESS_KEY" => Some("super-secret-value".to_owned()),
        "AWS_DEFAULT_REGION" => Some("auto".to_owned()),
        _ => None,
    };
    let c = args.to_config(env, Duration::from_secs(7)).unwrap();
    assert_eq!(c.s3.endpoint.as_deref(), Some("http://127.0.0.1:9"));
    assert_eq!(c.s3.region.as_deref(), Some("auto"));
    assert_eq!(c.s3.access_key_id.as_deref(), Some("AKIAENV"));
    assert_eq!(c.timeouts.request, Duration::from_secs(7));
    assert!(!format!("{c:?}").contains("super-secret-value"));
    let store = Store::open(&c).unwrap();
    assert!(!format!("{store:?}").contains("super-secret-value"));
    assert!(!store.url().contains("super-secret-value"));
}

#[test]
fn max_in_flight_pairs() {
    let c = parse(&[
        "--max-in-flight",
        "npm=2,pypi=1",
        "--max-in-flight",
        "github=3",
    ])
    .unwrap()
    .run
    .to_config();
    assert_eq!(
        c.max_in_flight.into_iter().collect::<Vec<_>>(),
        [
            ("github".to_owned(), 3),
            ("npm".to_owned(), 2),
            ("pypi".to_owned(), 1)
        ]
    );
    for bad in ["npm", "npm=0", "=2", "npm=x"] {
        assert!(parse(&["--max-in-flight", bad]).is_err(), "{bad}");
    }
    assert!(parse(&[]).unwrap().run.to_config().max_in_flight.is_empty());
}
