//! `queue reconcile` (spec §7.6, issue #14): a dry run writes nothing, `--json` lists every
//! change (entry, from, to, reason), a second run changes nothing, a recipe that does not parse
//! is reported and skipped, and the lock is honoured.

use std::path::Path;

use batch_generate::exit;
use serde_json::Value;

use crate::util::{Sandbox, With, entry, real_data, run_cmd, sandbox};

/// Five entries without `success` and their recipes: `bat` (crates spelled `cargo:` in the
/// queue, the same package), `fd` (the recipe installs crate `fd-find`: curated), a nested
/// tap recipe, a recipe that does not parse, and one entry with no recipe. Plus a `success`
/// and an `excluded` entry with recipes (never touched) and a stray file.
fn reconciled() -> Sandbox {
    let sb = sandbox().queue(&[
        entry("bat", "cargo:bat", 1),
        entry("fd", "homebrew:fd", 1).with("status", "failed"),
        entry(
            "anomalyco/tap/opencode",
            "homebrew:anomalyco/tap/opencode",
            2,
        )
        .with("status", "blocked"),
        entry("broken", "npm:broken", 2),
        entry("none", "npm:none", 2),
        entry("done", "npm:done", 1).with("status", "success"),
        entry("gone", "npm:gone", 1).with("status", "excluded"),
    ]);
    let cargo = |c: &str| format!("[[steps]]\naction = \"cargo_install\"\ncrate = \"{c}\"\n");
    let files = [
        ("b/bat.toml", cargo("bat")),
        ("f/fd.toml", cargo("fd-find")),
        (
            "a/anomalyco/tap/opencode.toml",
            "[metadata]\nname = \"opencode\"\n[[steps]]\naction = \"homebrew\"\nformula = \"anomalyco/tap/opencode\"\n".to_owned(),
        ),
        ("b/broken.toml", "[[steps]\naction = \"npm_install\"\n".to_owned()),
        ("d/done.toml", cargo("other")),
        ("g/gone.toml", cargo("gone")),
        ("stray.toml", cargo("stray")),
    ];
    for (rel, text) in files {
        let path = sb.output.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    sb
}

fn reconcile(sb: &Sandbox, extra: &[&str]) -> crate::util::Out {
    let mut cmd = sb.bare_cmd();
    cmd.args(["queue", "reconcile", "--queue"])
        .arg(&sb.queue)
        .arg("--recipes")
        .arg(&sb.output)
        .args(extra);
    run_cmd(&mut cmd)
}

fn entries(path: &Path) -> Vec<(String, String, String)> {
    let q: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    q["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_owned();
            (s("name"), s("status"), s("confidence"))
        })
        .collect()
}

#[test]
fn dry_run_writes_nothing_and_lists_each_change() {
    let sb = reconciled();
    let before = std::fs::read(&sb.queue).unwrap();
    let out = reconcile(&sb, &["--dry-run"]);
    out.code(exit::SUCCESS);
    assert_eq!(std::fs::read(&sb.queue).unwrap(), before, "{}", out.ctx());
    assert!(!sb.queue.with_extension("json.lock").exists());
    for line in [
        "reconcile: 7 recipes found, 3 entries -> success",
        "  bat (cargo:bat): pending -> success (recipe b/bat.toml; source crates.io:bat)",
        "  fd (homebrew:fd): failed -> success (recipe f/fd.toml; source crates.io:fd-find differs: confidence curated)",
        "  anomalyco/tap/opencode (homebrew:anomalyco/tap/opencode): blocked -> success (recipe a/anomalyco/tap/opencode.toml; source homebrew:anomalyco/tap/opencode)",
        "  skipped b/broken.toml (entry broken): does not parse: TOML parse error at line 1",
        "  ignored stray.toml: not at <first letter>/<name>.toml",
        "Dry run: nothing was written.",
    ] {
        assert!(out.stdout.contains(line), "missing {line:?}\n{}", out.ctx());
    }
}

#[test]
fn json_lists_changes_and_a_second_run_changes_nothing() {
    let sb = reconciled();
    let out = reconcile(&sb, &["--json"]);
    out.code(exit::SUCCESS);
    let doc = out.json();
    assert_eq!(doc["changed"], true);
    assert_eq!(doc["recipes"], 7);
    let changes: Vec<String> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}->{} {} {}",
                c["entry"].as_str().unwrap(),
                c["from"].as_str().unwrap(),
                c["to"].as_str().unwrap(),
                c["reason"]["kind"].as_str().unwrap(),
                c["reason"]["curated"]
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            "bat pending->success recipe_on_disk false",
            "fd failed->success recipe_on_disk true",
            "anomalyco/tap/opencode blocked->success recipe_on_disk false",
        ]
    );
    assert_eq!(doc["changes"][1]["reason"]["recipe"], "f/fd.toml");
    assert_eq!(
        doc["changes"][1]["reason"]["recipe_source"],
        "crates.io:fd-find"
    );
    assert_eq!(doc["unparsable"][0]["recipe"], "b/broken.toml");
    assert_eq!(doc["unparsable"][0]["entry"], "broken");
    assert_eq!(doc["misplaced"], serde_json::json!(["stray.toml"]));
    assert_eq!(
        doc["written"].as_str().map(Path::new),
        Some(sb.queue.as_path())
    );
    let t = |n: &str, s: &str, c: &str| (n.to_owned(), s.to_owned(), c.to_owned());
    assert_eq!(
        entries(&sb.queue),
        [
            t("bat", "success", "auto"),
            t("fd", "success", "curated"),
            t("anomalyco/tap/opencode", "success", "auto"),
            t("broken", "pending", "auto"),
            t("none", "pending", "auto"),
            t("done", "success", "auto"),
            t("gone", "excluded", "auto"),
        ]
    );

    let written = std::fs::read(&sb.queue).unwrap();
    let again = reconcile(&sb, &["--json"]);
    again.code(exit::SUCCESS);
    let doc = again.json();
    assert_eq!(doc["changed"], false, "{}", again.ctx());
    assert!(doc["written"].is_null());
    assert_eq!(doc["changes"], serde_json::json!([]));
    assert_eq!(std::fs::read(&sb.queue).unwrap(), written);
}

#[test]
fn output_leaves_the_queue_alone() {
    let sb = reconciled();
    let before = std::fs::read(&sb.queue).unwrap();
    let output = sb.root().join("out.json");
    let out = reconcile(&sb, &["--output", output.to_str().unwrap()]);
    out.code(exit::SUCCESS);
    assert_eq!(std::fs::read(&sb.queue).unwrap(), before);
    assert_eq!(entries(&output)[0].1, "success");
}

#[test]
fn a_held_lock_exits_locked_and_writes_nothing() {
    let sb = reconciled();
    let before = std::fs::read(&sb.queue).unwrap();
    let _held = batch::lock::RunLock::acquire(&sb.queue).unwrap();
    let out = reconcile(&sb, &[]);
    out.code(exit::LOCKED);
    assert_eq!(std::fs::read(&sb.queue).unwrap(), before);
}

#[test]
fn a_missing_recipes_dir_is_bad_input_with_a_hint() {
    let sb = reconciled();
    let before = std::fs::read(&sb.queue).unwrap();
    let mut cmd = sb.bare_cmd();
    cmd.args(["queue", "reconcile", "--queue"])
        .arg(&sb.queue)
        .arg("--recipes")
        .arg(sb.root().join("nowhere"));
    let out = run_cmd(&mut cmd);
    out.code(exit::FAILURE);
    assert!(
        out.stderr.contains("failed to list the recipes directory"),
        "{}",
        out.ctx()
    );
    assert!(out.stderr.contains("hint: check the --recipes path"));
    assert_eq!(std::fs::read(&sb.queue).unwrap(), before);
}

#[test]
fn reconcile_dry_run_on_the_live_queue_and_sample_changes_nothing() {
    // Every live entry with a sample recipe is already `success`; a dry run takes no lock, so
    // nothing is written beside the shared data.
    let sb = sandbox();
    let mut cmd = sb.bare_cmd();
    cmd.args(["queue", "reconcile", "--dry-run", "--json", "--queue"])
        .arg(real_data("priority-queue.json"))
        .arg("--recipes")
        .arg(real_data("recipes-sample"));
    let out = run_cmd(&mut cmd);
    out.code(exit::SUCCESS);
    let d = out.json();
    assert_eq!(d["recipes"], 74);
    assert_eq!(d["changed"], false, "{}", out.ctx());
    assert_eq!(d["misplaced"], serde_json::json!([]));
}
