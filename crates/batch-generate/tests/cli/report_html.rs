//! `report --html FILE` (issue #23): on the in-repo metrics, failure records and queue, the
//! page is self-contained (no script, no URL but the SVG namespace), has every chart's
//! heading, and one success-rate mark per batch per ecosystem with a rate — counted in the
//! file and in the DOM headless Chromium loads from it, without a console error; a screenshot
//! goes to `target/tmp/report-html.png` for a person. With `$BATCH_TSUKU_DATA`, the same on
//! the real metrics and failure corpora (`target/tmp/report-html-real.png`).

use std::path::{Path, PathBuf};

use batch_generate::exit;
use serde_json::Value;

use crate::pages::chromium;
use crate::util::tsuku_data::{corpus, fixture};
use crate::util::{run_cmd, sandbox};

/// The chart headings the page must carry, in order.
const HEADINGS: [&str; 6] = [
    "Success rate per ecosystem per batch",
    "Validation pass rate per platform per batch",
    "Batch size, merged, constrained and excluded per batch",
    "Merge-job duration per batch",
    "Failure categories over time",
    "Current queue by ecosystem and status",
];

/// Runs `report --json --html <out>` on the metrics, failures and queue given; returns the
/// page and the JSON report.
fn render(metrics: &Path, failures: &Path, queue: &Path, out: &Path) -> (String, Value) {
    let sb = sandbox();
    let mut cmd = sb.bare_cmd();
    cmd.arg("report")
        .arg("--metrics-dir")
        .arg(metrics)
        .arg("--failures-dir")
        .arg(failures)
        .arg("--queue")
        .arg(queue)
        .arg("--control-file")
        .arg(out.with_extension("no-control.json"))
        .arg("--json")
        .arg("--html")
        .arg(out);
    let o = run_cmd(&mut cmd);
    o.code(exit::SUCCESS);
    assert!(o.stderr.contains("wrote "), "{}", o.ctx());
    (std::fs::read_to_string(out).unwrap(), o.json())
}

/// Marks expected in the success-rate chart: one per ecosystem of each batch with a rate.
fn expected_marks(doc: &Value) -> usize {
    doc["batches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| !b["success_rate"].is_null())
        .map(|b| b["ecosystems"].as_array().unwrap().len())
        .sum()
}

/// The `<section id="success-rate">` of `html`.
fn success_section(html: &str) -> &str {
    let start = html
        .find("<section id=\"success-rate\">")
        .expect("success-rate section");
    let end = start + html[start..].find("</section>").unwrap();
    &html[start..end]
}

fn check_static(html: &str, doc: &Value) -> usize {
    assert!(!html.to_lowercase().contains("<script"));
    for (i, _) in html.match_indices("http") {
        let rest = &html[i..];
        if rest.starts_with("http://") || rest.starts_with("https://") {
            assert!(
                rest.starts_with("http://www.w3.org/2000/svg\""),
                "a URL: {}",
                &rest[..rest.len().min(60)]
            );
        }
    }
    for h in HEADINGS {
        assert!(html.contains(&format!("<h2>{h}</h2>")), "heading {h}");
    }
    let marks = expected_marks(doc);
    assert!(marks > 0);
    assert_eq!(
        success_section(html).matches("class=\"mark\"").count(),
        marks
    );
    marks
}

/// Opens `page` in Chromium: no console error, `marks` marks in the DOM, a screenshot.
fn check_in_browser(test: &str, page: &Path, marks: usize, screenshot: &str) {
    let Some(browser) = chromium::browser(test) else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
    let load = chromium::load(&browser, scratch.path(), &url, &["--dump-dom"]);
    let errors: Vec<&String> = load
        .console
        .iter()
        .filter(|l| l.contains("ERROR") || l.contains("\"Uncaught"))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        success_section(&load.dom).matches("class=\"mark\"").count(),
        marks,
        "marks in the DOM"
    );
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(screenshot);
    let _ = std::fs::remove_file(&shot);
    chromium::load(
        &browser,
        scratch.path(),
        &url,
        // The whole page: six charts (a later --window-size overrides the helper's).
        &[
            "--window-size=1280,3000",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
        "{}",
        shot.display()
    );
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn fixtures_render_a_self_contained_page_that_chromium_opens() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sub/report.html");
    let (html, doc) = render(
        &fixture("metrics"),
        &fixture("failures"),
        &fixture("priority-queue.json"),
        &out,
    );
    let marks = check_static(&html, &doc);
    // The fixtures' failure records and queue are drawn, not replaced by a note.
    assert!(!html.contains("no failure chart"), "failures note");
    assert!(!html.contains("no queue chart"), "queue note");
    assert!(html.contains("<h3>Top blockers</h3>"));
    check_in_browser(
        "report_html::fixtures_render_a_self_contained_page_that_chromium_opens",
        &out,
        marks,
        "report-html.png",
    );
}

#[test]
fn real_corpus_renders_and_chromium_opens_it() {
    let test = "report_html::real_corpus_renders_and_chromium_opens_it";
    let Some(metrics) = corpus("metrics-corpus", test) else {
        return;
    };
    let (failures, queue) = (
        metrics.with_file_name("failures-corpus"),
        metrics.with_file_name("priority-queue.json"),
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let (html, doc) = render(&metrics, &failures, &queue, &out);
    let marks = check_static(&html, &doc);
    check_in_browser(test, &out, marks, "report-html-real.png");
}
