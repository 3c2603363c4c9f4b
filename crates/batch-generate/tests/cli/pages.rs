//! tsuku's own pages as the client of our `dashboard.json` (issue #23): the twelve pages of
//! `website/pipeline/` (`$BATCH_TSUKU_DATA/website-pipeline/*.html`) are served with the
//! `dashboard.json` this binary writes from tsuku's real data, from a loopback server
//! ([`serve`]), at the paths the site uses (the pages fetch the absolute
//! `/pipeline/dashboard.json`), and each is loaded in headless Chromium ([`chromium`]); the
//! detail pages (`package.html`, `failure.html`, `run.html`) get an `?id=` taken from our file.
//!
//! Each page must load without an uncaught JavaScript exception, fetch `dashboard.json` with
//! a 200 and nothing else but the site-wide `/assets/style.css` (not part of the pages) and
//! `/favicon.ico` unanswered, show none of its own error states ("Unable to load dashboard",
//! "Error loading data", "Run not found", …), and show the numbers computed here from our file:
//! queue totals, runs, breakers, blockers, failures, curated overrides, disambiguations.

pub(crate) mod chromium;
mod serve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use batch_generate::exit;
use serde_json::Value;

use crate::util::{run_cmd, sandbox};

/// The pages of tsuku's `website/pipeline/`.
const PAGES: [&str; 12] = [
    "index.html",
    "blocked.html",
    "curated.html",
    "disambiguations.html",
    "failure.html",
    "failures.html",
    "package.html",
    "pending.html",
    "requires_manual.html",
    "run.html",
    "runs.html",
    "success.html",
];

/// Text the pages show when they fail; none may appear.
const ERROR_TEXTS: [&str; 8] = [
    "Unable to load dashboard",
    "Error loading data",
    "Package not found",
    "Failure not found",
    "Run not found",
    "No package selected",
    "No failure selected",
    "No run selected",
];

/// Writes our `dashboard.json` from tsuku's real data (as the dashboard test does) to `out`.
fn our_dashboard(data: &Path, out: &Path) -> Value {
    let arg = |rel: &str| data.join(rel).into_os_string().into_string().unwrap();
    let sb = sandbox();
    let mut cmd = sb.bare_cmd();
    cmd.arg("dashboard");
    for (flag, rel) in [
        ("--queue", "priority-queue.json"),
        ("--failures-dir", "failures-corpus"),
        ("--metrics-dir", "metrics-corpus"),
        ("--disambiguations-dir", "disambiguations"),
        ("--control-file", "batch-control.json"),
    ] {
        cmd.args([flag, &arg(rel)]);
    }
    cmd.arg("--output").arg(out);
    run_cmd(&mut cmd).code(exit::SUCCESS);
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

/// A JSON scalar as the pages print it (strings bare, numbers as JSON writes them).
fn s(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// Length of the JSON array at `v` (0 when absent).
fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The query each page is loaded with and the texts it must show, computed from `d` (our
/// `dashboard.json`) by the rules of the page's own script.
fn expectations(page: &str, d: &Value) -> (String, Vec<String>) {
    let q = &d["queue"];
    let pk = &q["packages"];
    let curated = d["curated"].as_array().cloned().unwrap_or_default();
    let valid = curated
        .iter()
        .filter(|c| c["validation_status"] == "valid")
        .count();
    let run0 = &d["runs"][0];
    let fail0 = &d["failure_details"][0];
    let pkg0 = &pk["pending"][0];
    match page {
        "index.html" => {
            let h = &d["health"];
            let ecos = h["ecosystems"].as_object().cloned().unwrap_or_default();
            let state = |st: &str| ecos.values().filter(|e| e["breaker_state"] == st).count();
            let (open, half) = (state("open"), state("half-open"));
            let breakers = match (open, half) {
                (0, 0) => format!("All {} breakers closed", ecos.len()),
                _ => {
                    let mut parts = Vec::new();
                    if open > 0 {
                        parts.push(format!("{open} open"));
                    }
                    if half > 0 {
                        parts.push(format!("{half} half-open"));
                    }
                    format!(
                        "{} of {} breakers unhealthy ({})",
                        open + half,
                        ecos.len(),
                        parts.join(", ")
                    )
                }
            };
            let lr = &h["last_run"];
            let b0 = &d["blockers"][0];
            let dis = &d["disambiguations"]["total"];
            (
                String::new(),
                vec![
                    format!("Queue Status ({} packages)", s(&q["total"])),
                    format!(
                        "{} of {} packages",
                        s(&q["by_status"]["success"]),
                        s(&q["total"])
                    ),
                    format!("{}/{} succeeded", s(&lr["succeeded"]), s(&lr["total"])),
                    format!("{} runs", s(&h["runs_since_last_success"])),
                    breakers,
                    format!("{} {} blocked", s(&b0["dependency"]), s(&b0["total_count"])),
                    format!("Disambiguation ({} tools)", s(dis)),
                    format!("{} Total {valid} Valid", curated.len()),
                ],
            )
        }
        "blocked.html" => {
            let n = len(&pk["blocked"]);
            (
                String::new(),
                vec![format!("All ({n})"), format!("{n} packages")],
            )
        }
        "curated.html" => (
            String::new(),
            vec![
                format!("Total {} Valid {valid}", curated.len()),
                format!("{} overrides", curated.len()),
            ],
        ),
        "disambiguations.html" => (
            String::new(),
            vec![format!(
                "{} disambiguations",
                s(&d["disambiguations"]["total"])
            )],
        ),
        "failures.html" => {
            let n = len(&d["failure_details"]);
            (
                String::new(),
                vec![format!("{n} failures"), format!("({n} total)")],
            )
        }
        "pending.html" | "success.html" => {
            let n = len(&pk[page.trim_end_matches(".html")]);
            (String::new(), vec![format!("{n} packages")])
        }
        "requires_manual.html" => match len(&pk["requires_manual"]) {
            0 => (String::new(), vec!["No packages with this status".into()]),
            n => (String::new(), vec![format!("{n} packages")]),
        },
        "runs.html" => (
            String::new(),
            vec![
                format!("{} batch runs", len(&d["runs"])),
                format!(
                    "{} {}",
                    s(&run0["batch_id"]),
                    run0["ecosystems"]
                        .as_object()
                        .map(|m| m
                            .iter()
                            .map(|(k, v)| format!("{k}: {v}"))
                            .collect::<Vec<_>>()
                            .join(", "))
                        .unwrap_or_default()
                ),
                format!("{}/{}", s(&run0["merged"]), s(&run0["total"])),
            ],
        ),
        "package.html" => (
            format!("?id={}", encode(&s(&pkg0["id"]))),
            vec![
                format!(
                    "Name {} Ecosystem {}",
                    s(&pkg0["name"]),
                    s(&pkg0["ecosystem"])
                ),
                "Queue Status pending".into(),
                format!("Failure Count {}", s(&pkg0["failure_count"])),
            ],
        ),
        "failure.html" => (
            format!("?id={}", encode(&s(&fail0["id"]))),
            vec![
                format!(
                    "Package {} Ecosystem {}",
                    s(&fail0["package"]),
                    s(&fail0["ecosystem"])
                ),
                format!("Category {}", s(&fail0["category"])),
                format!("Batch ID {}", s(&fail0["batch_id"])),
            ],
        ),
        "run.html" => (
            format!("?id={}", encode(&s(&run0["batch_id"]))),
            vec![
                format!("Batch ID {}", s(&run0["batch_id"])),
                format!("Merged {}", s(&run0["merged"])),
                format!("Total {}", s(&run0["total"])),
            ],
        ),
        other => panic!("no expectations for {other}"),
    }
}

/// What is wrong with one page load: uncaught exceptions, a `dashboard.json` not fetched or
/// not answered 200, another request unanswered (but the site-wide stylesheet and favicon),
/// an error state shown, an expected text missing. Empty when the page is right.
fn problems(load: &chromium::Load, log: &[serve::Request], expected: &[String]) -> Vec<String> {
    let mut out: Vec<String> = load
        .uncaught()
        .into_iter()
        .map(|l| format!("JavaScript error: {l}"))
        .collect();
    let dash: Vec<_> = log
        .iter()
        .filter(|r| r.path.split('?').next() == Some("/pipeline/dashboard.json"))
        .collect();
    if dash.is_empty() {
        out.push("no request for /pipeline/dashboard.json".into());
    }
    for r in log {
        let ignored = matches!(r.path.as_str(), "/assets/style.css" | "/favicon.ico");
        if r.status != 200 && !ignored {
            out.push(format!("request {} answered {}", r.path, r.status));
        }
    }
    let text = chromium::visible_text(&load.dom);
    for e in ERROR_TEXTS {
        if text.contains(e) {
            out.push(format!("the page shows an error state ({e:?})"));
        }
    }
    for e in expected {
        if !text.contains(e.as_str()) {
            out.push(format!("the page does not show {e:?}"));
        }
    }
    if !out.is_empty() {
        let head: String = text.chars().take(1500).collect();
        out.push(format!("page text: {head}"));
    }
    out
}

/// The routes of the site: every page at `/pipeline/<page>` (and `index.html` at
/// `/pipeline/` too, as the pages link to it), `dashboard.json` at `/pipeline/dashboard.json`.
fn routes(pages_dir: &Path, dashboard: Option<&Path>) -> BTreeMap<String, PathBuf> {
    let mut r: BTreeMap<String, PathBuf> = PAGES
        .iter()
        .map(|p| (format!("/pipeline/{p}"), pages_dir.join(p)))
        .collect();
    r.insert("/pipeline/".into(), pages_dir.join("index.html"));
    if let Some(d) = dashboard {
        r.insert("/pipeline/dashboard.json".into(), d.to_owned());
    }
    r
}

/// Every page renders our `dashboard.json` from the real data: no JavaScript error, no failed
/// request for it, and our numbers on the page. Saves a screenshot of `index.html` as
/// `target/tmp/pages-index.png` for a person to look at.
#[test]
fn tsukus_pages_render_our_dashboard() {
    const TEST: &str = "tsukus_pages_render_our_dashboard";
    let Some(browser) = chromium::browser(TEST) else {
        return;
    };
    let Some(data) = crate::util::tsuku_data::corpus("", TEST) else {
        return;
    };
    let start = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dash_path = tmp.path().join("dashboard.json");
    let dash = our_dashboard(&data, &dash_path);
    let server = serve::Server::start(routes(&data.join("website-pipeline"), Some(&dash_path)));
    let mut report = Vec::new();
    let mut failed = Vec::new();
    for page in PAGES {
        let (query, expected) = expectations(page, &dash);
        let url = server.url(&format!("/pipeline/{page}{query}"));
        let load = chromium::load(&browser, tmp.path(), &url, &["--dump-dom"]);
        let log = server.take_log();
        let bad = problems(&load, &log, &expected);
        report.push(format!(
            "{page}{query}: {:.1}s, {} console message(s), shows {expected:?}",
            load.elapsed.as_secs_f64(),
            load.console.len()
        ));
        if !bad.is_empty() {
            failed.push(format!("{url}:\n  {}", bad.join("\n  ")));
        }
    }
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pages-index.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    chromium::load(
        &browser,
        tmp.path(),
        &server.url("/pipeline/index.html"),
        &[&arg],
    );
    assert!(shot.is_file(), "no screenshot at {}", shot.display());
    eprintln!(
        "{TEST}: {} pages in {:.1}s; screenshot {}\n{}",
        PAGES.len(),
        start.elapsed().as_secs_f64(),
        shot.display(),
        report.join("\n")
    );
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// The checks can fail: a `dashboard.json` without its keys makes `index.html` show its error
/// state, a missing one is a 404 for it on `failure.html`, and an uncaught exception in a
/// page is seen on the console.
#[test]
fn broken_dashboard_and_script_errors_are_seen() {
    const TEST: &str = "broken_dashboard_and_script_errors_are_seen";
    let Some(browser) = chromium::browser(TEST) else {
        return;
    };
    let Some(pages) = crate::util::tsuku_data::corpus("website-pipeline", TEST) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("dashboard.json");
    std::fs::write(&broken, r#"{"generated_at":"2026-03-01T00:00:00Z"}"#).unwrap();
    let with_broken = serve::Server::start(routes(&pages, Some(&broken)));
    let load = chromium::load(
        &browser,
        tmp.path(),
        &with_broken.url("/pipeline/"),
        &["--dump-dom"],
    );
    let bad = problems(&load, &with_broken.take_log(), &[]);
    assert!(
        bad.iter().any(|p| p.contains("Unable to load dashboard")),
        "{bad:?}"
    );
    drop(with_broken);

    let throws = tmp.path().join("throws.html");
    std::fs::write(
        &throws,
        "<html><body><script>fetch('/pipeline/dashboard.json'); null.foo;</script></body></html>",
    )
    .unwrap();
    let mut r = routes(&pages, None);
    r.insert("/pipeline/throws.html".into(), throws);
    let without = serve::Server::start(r);
    let url = without.url("/pipeline/failure.html?id=x");
    let load = chromium::load(&browser, tmp.path(), &url, &["--dump-dom"]);
    let bad = problems(&load, &without.take_log(), &[]);
    assert!(
        bad.iter()
            .any(|p| p == "request /pipeline/dashboard.json answered 404"),
        "{bad:?}"
    );
    let load = chromium::load(
        &browser,
        tmp.path(),
        &without.url("/pipeline/throws.html"),
        &["--dump-dom"],
    );
    let bad = problems(&load, &without.take_log(), &[]);
    assert!(
        bad.iter()
            .any(|p| p.starts_with("JavaScript error:") && p.contains("Uncaught TypeError")),
        "{bad:?}"
    );
}
