//! The page's promises: no script, no URL but the SVG namespace, one heading per chart, one
//! mark per batch per ecosystem in the success-rate chart.

use std::collections::BTreeMap;

use batch::history::{MetricsRecord, PlatformCounts, Shape, build};

use super::{CHARTS, Extras, page};

fn record(i: u64, ecosystems: &[&str], merged: u64, excluded: u64) -> MetricsRecord {
    let timestamp = format!("2026-03-{:02}T00:00:00Z", i + 1);
    MetricsRecord {
        batch_id: format!("b{i}"),
        at: timestamp.parse().unwrap(),
        timestamp,
        shape: Shape::New,
        ecosystems: ecosystems.iter().map(|e| (*e).to_owned()).collect(),
        candidates: None,
        total: merged + excluded,
        generated: merged + excluded,
        merged,
        excluded,
        constrained: 1,
        duration_seconds: 60 * i,
        platforms: BTreeMap::from([(
            "linux-x86_64".to_owned(),
            PlatformCounts {
                tested: 4,
                passed: 3,
                failed: 1,
            },
        )]),
        file: "batch-runs-x.jsonl".to_owned(),
    }
}

fn extras() -> Extras<'static> {
    Extras {
        failures: Err("no failures <here>".to_owned()),
        queue: Err("no queue".to_owned()),
    }
}

fn sample() -> String {
    let records = [
        record(0, &["cargo"], 3, 1),
        record(1, &["cargo", "npm"], 2, 2),
        record(2, &["pypi"], 0, 0), // no recipes: no rate, no mark
        record(3, &["<npm>"], 5, 0),
    ];
    let refs: Vec<&MetricsRecord> = records.iter().collect();
    page(&build(&refs, None), &refs, &extras(), "scope <&>").unwrap()
}

/// The text of the section `id`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<section id=\"{id}\">")).unwrap();
    let end = start + html[start..].find("</section>").unwrap();
    &html[start..end]
}

#[test]
fn no_script_and_no_url_but_the_svg_namespace() {
    let html = sample();
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    let urls: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 30).min(html.len())])
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .filter(|u| !u.starts_with("http://www.w3.org/2000/svg"))
        .collect();
    assert!(urls.is_empty(), "{urls:?}");
    assert!(html.contains("scope &lt;&amp;&gt;"));
    assert!(html.contains("no failures &lt;here&gt;"));
}

#[test]
fn one_heading_and_one_svg_per_chart() {
    let html = sample();
    for (id, title) in CHARTS {
        let s = section(&html, id);
        assert!(s.contains(&format!("<h2>{title}</h2>")), "{id}");
        let svgs = usize::from(!matches!(id, "failures" | "queue"));
        assert_eq!(s.matches("<svg").count(), svgs, "{id}");
    }
}

#[test]
fn one_mark_per_batch_per_ecosystem_with_a_rate() {
    let html = sample();
    let s = section(&html, "success-rate");
    // batch 0: cargo; batch 1: cargo + npm; batch 2: no recipes; batch 3: <npm>.
    assert_eq!(s.matches("class=\"mark\"").count(), 4);
    assert_eq!(s.matches("<circle").count(), 4);
    for (batch, eco) in [(0, "cargo"), (1, "cargo"), (1, "npm"), (3, "&lt;npm&gt;")] {
        let attr = format!("data-batch=\"{batch}\" data-ecosystem=\"{eco}\"");
        assert!(s.contains(&attr), "{attr}");
    }
    assert!(!s.contains("data-batch=\"2\""));
    assert_eq!(
        html.matches("class=\"mark\"").count(),
        4,
        "marks only in chart 1"
    );
}

#[test]
fn an_empty_history_still_draws_every_chart() {
    let html = page(&build(&[], None), &[], &extras(), "none").unwrap();
    for (id, _) in &CHARTS[..4] {
        assert!(section(&html, id).contains("<svg"), "{id}");
    }
    assert!(!html.contains("class=\"mark\""));
}
