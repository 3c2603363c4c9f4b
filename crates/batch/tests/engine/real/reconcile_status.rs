//! `queue reconcile` over the real recipe sample and `queue status` over the live queue
//! (issue #14), each checked against numbers computed here independently from the raw JSON
//! and the file tree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use batch::Config;
use batch::control::ControlFile;
use batch::inventory::recipes::{self, canonical_source, recipe_source};
use batch::inventory::reconcile::reconcile_queue;
use batch::inventory::status::{Probe, StatusOptions, queue_status};
use batch::maintain::{FailureLog, Reason};
use batch::{Queue, Status};
use serde_json::Value;

use crate::util::{fixture, t};

fn live() -> (Queue, Value) {
    let path = fixture("priority-queue.json");
    let raw: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    (Queue::load(&path).unwrap(), raw)
}

#[test]
fn status_of_the_live_queue_matches_counts_from_the_raw_json() {
    let (q, raw) = live();
    let control = ControlFile::load(&fixture("batch-control.json")).unwrap();
    let log = FailureLog::read_dir(&fixture("failures")).unwrap();
    let now = t("2026-08-13T20:39:55Z");
    let opts = StatusOptions {
        ecosystem: None,
        select: Config::new().select,
        top: 10,
    };
    let s = queue_status(&q, &control, &log, &opts, now);

    // Independent counts: ecosystem (text before the first `:`) × status from the raw JSON.
    let entries = raw["entries"].as_array().unwrap();
    let mut want: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut retries_due = 0;
    for e in entries {
        let source = e["source"].as_str().unwrap();
        let eco = source.split_once(':').map_or("", |(e, _)| e).to_owned();
        let st = e["status"].as_str().unwrap().to_owned();
        let retry = e["next_retry_at"].as_str();
        if st == "failed" || (st == "pending" && retry.is_some()) {
            let due = retry.is_none_or(|r| r.parse::<jiff::Timestamp>().unwrap() <= now);
            retries_due += usize::from(due);
        }
        *want.entry((eco, st)).or_default() += 1;
    }
    let mut got: BTreeMap<(String, String), usize> = BTreeMap::new();
    for row in &s.ecosystems {
        assert_eq!(row.total, row.by_status.values().sum::<usize>());
        for (st, n) in &row.by_status {
            got.insert((row.ecosystem.clone(), st.clone()), *n);
        }
    }
    assert_eq!(got, want);
    assert_eq!(s.total, 5305);
    assert_eq!(s.by_status.values().sum::<usize>(), 5305);
    assert_eq!(s.retries.due_now.len(), retries_due);
    // Every breaker of the real control file but `default` is open with an `opens_at`
    // (2026-06-26T21:51:01Z) long past at this instant: each probes at the next run.
    assert_eq!(s.breakers.len(), 7);
    for b in &s.breakers {
        let want = if b.ecosystem == "default" {
            Probe::NotNeeded
        } else {
            Probe::NextRun
        };
        assert_eq!(b.probe, want, "{}", b.ecosystem);
    }
    // At most the batch size, probes included.
    assert!(s.next_batch.selected <= 25 && s.next_batch.selected > 0);
    assert!(s.blockers.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn sample_recipe_sources_agree_with_the_live_auto_entries() {
    // An `auto` success entry was generated from its own source, so the recipe's source must
    // be that source; a `curated` one may differ (tsuku's sync flagged it).
    let (q, _) = live();
    let by_name: BTreeMap<&str, &batch::QueueEntry> =
        q.entries.iter().map(|e| (e.name.as_str(), e)).collect();
    let dir = fixture("recipes-sample");
    let files = recipes::list(&dir).unwrap();
    let mut auto = 0;
    let mut differ: Vec<String> = Vec::new();
    for f in &files {
        let name = f.name.as_deref().unwrap();
        let Some(e) = by_name.get(name) else { continue };
        let text = std::fs::read_to_string(dir.join(&f.rel)).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        if e.confidence == "auto" {
            auto += 1;
            if recipe_source(&table, name).as_deref() != Some(canonical_source(&e.source).as_str())
            {
                differ.push(name.to_owned());
            }
        }
    }
    assert!(auto > 40, "{auto}");
    // The one exception: goreleaser's hand-written recipe downloads GitHub releases while its
    // entry says homebrew:goreleaser; it was already `success`, so tsuku's sync never
    // compared the two.
    assert_eq!(
        differ,
        ["goreleaser"],
        "auto entries whose recipe has another source"
    );
}

#[test]
fn reconcile_marks_every_live_entry_with_a_sample_recipe() {
    let (mut q, _) = live();
    // Pretend none of them succeeded yet and none was curated (keep `excluded`), so each
    // sampled one must change.
    for e in &mut q.entries {
        if e.status != Status::Excluded {
            e.status = Status::Pending;
        }
        e.confidence = "auto".to_owned();
    }
    let dir = fixture("recipes-sample");
    let files = recipes::list(&dir).unwrap();
    // Independently: basenames of the sample (all flat `<letter>/<name>.toml`) that are names
    // of non-excluded live entries.
    let names: BTreeSet<String> = walk(&dir);
    let want: BTreeSet<&str> = q
        .entries
        .iter()
        .filter(|e| e.status != Status::Excluded && names.contains(&e.name))
        .map(|e| e.name.as_str())
        .collect();
    let want: BTreeSet<String> = want.into_iter().map(str::to_owned).collect();
    let r = reconcile_queue(&mut q, &files, &mut |rel| {
        std::fs::read_to_string(dir.join(rel))
    });
    let got: BTreeSet<String> = r.changes.iter().map(|c| c.entry.clone()).collect();
    assert_eq!(got, want);
    assert_eq!(
        want.len(),
        68,
        "74 sample recipes, 6 of them not in the queue"
    );
    assert!(r.unparsable.is_empty() && r.misplaced.is_empty());
    let curated = |name: &str| {
        r.changes
            .iter()
            .find(|c| c.entry == name)
            .map(|c| match &c.reason {
                Reason::RecipeOnDisk { curated, .. } => *curated,
                other => panic!("{other:?}"),
            })
    };
    // aider: queue homebrew:aider, recipe pipx_install aider-chat; hadolint: queue
    // homebrew:hadolint, recipe github_file hadolint/hadolint. Both are `curated` in the live
    // queue too. diskus (crates.io) and jq (github) agree.
    assert_eq!(curated("aider"), Some(true));
    assert_eq!(curated("hadolint"), Some(true));
    assert_eq!(curated("diskus"), Some(false));
    assert_eq!(curated("jq"), Some(false));
    // A second run changes nothing.
    let again = reconcile_queue(&mut q, &files, &mut |rel| {
        std::fs::read_to_string(dir.join(rel))
    });
    assert!(!again.changed());
}

fn walk(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for letter in std::fs::read_dir(dir).unwrap() {
        for f in std::fs::read_dir(letter.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            out.insert(p.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    out
}
