//! The chain of `pipeline`'s tests: the batch's queue and fake rules, and each step of the
//! nightly pipeline (preflight, shards, merge, validate, aggregate) run in one sandbox.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{Out, Sandbox, entry, run_cmd, sandbox};

/// The job platforms and the row platforms each one reports (spec §7.3 matrix).
pub(crate) const JOBS: [(&str, &[&str]); 4] = [
    (
        "linux-x86_64",
        &[
            "linux-alpine-musl-x86_64",
            "linux-arch-glibc-x86_64",
            "linux-debian-glibc-x86_64",
            "linux-rhel-glibc-x86_64",
            "linux-suse-glibc-x86_64",
        ],
    ),
    (
        "linux-arm64",
        &[
            "linux-alpine-musl-arm64",
            "linux-debian-glibc-arm64",
            "linux-rhel-glibc-arm64",
            "linux-suse-glibc-arm64",
        ],
    ),
    ("darwin-arm64", &["darwin-arm64"]),
    ("darwin-x86_64", &["darwin-x86_64"]),
];

/// The recipes the generation makes (everything but golf), in name order.
pub(crate) const GENERATED: [&str; 7] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "hotel",
];

/// The fake's rules of the table in `pipeline`'s module doc. A glob with `@` is matched against
/// `<name>@<platform>`; the main run's install has no platform (`name@`), so `?*` keeps those
/// rules to validation.
pub(crate) const RULES: [(&str, &str); 6] = [
    ("echo", "runcmd"),
    ("golf", "gen:6"),
    ("delta@?*", "val:6"),
    ("bravo@darwin-*", "val:1"),
    ("charlie@alpine", "val:6"),
    ("*", "ok"),
];

/// The queue, with the fake's `rules`.
fn harness(rules: &[(&str, &str)]) -> Sandbox {
    let entries = [
        entry("alpha", "npm:alpha", 1),
        entry("bravo", "npm:bravo", 1),
        entry("charlie", "npm:charlie", 1),
        entry("delta", "crates.io:delta", 1),
        entry("echo", "crates.io:echo", 1),
        entry("foxtrot", "crates.io:foxtrot", 1),
        entry("golf", "pypi:golf", 1),
        entry("hotel", "pypi:hotel", 1),
    ];
    sandbox().queue(&entries).rules(rules)
}

/// A batch after generation and merge: its ID, plan time and the shared results directory.
pub(crate) struct Chain {
    /// The sandbox (queue, recipes, failures, metrics under its root).
    pub(crate) sb: Sandbox,
    /// preflight's batch ID.
    pub(crate) batch_id: String,
    /// preflight's plan time.
    pub(crate) planned_at: String,
    /// The directory of every `validation-results-*.json`.
    pub(crate) validation: PathBuf,
}

/// preflight → both shards (with generation rows) → merge, asserting each step; `rules` must
/// fail golf's generation and nothing else's.
pub(crate) fn generate(rules: &[(&str, &str)]) -> Chain {
    let sb = harness(rules);
    let mut cmd = sb.preflight_cmd();
    cmd.args(["--shards", "2", "--tier", "3", "--json"]);
    let out = run_cmd(&mut cmd);
    out.ok();
    let doc = out.json();
    assert_eq!(doc["skip"], false, "{}", out.ctx());
    assert_eq!(doc["candidates"], 8, "{}", out.ctx());
    let batch_id = doc["batch_id"].as_str().unwrap().to_owned();
    let planned_at = doc["planned_at"].as_str().unwrap().to_owned();
    let validation = sb.root.join("validation");
    let fragments = sb.root.join("fragments");

    for k in 1..=2 {
        let gen_out = validation.join(format!("validation-results-generation-{k}.json"));
        sb.run(&[
            "--tier",
            "3",
            "--shard",
            &format!("{k}/2"),
            "--batch-id",
            &batch_id,
            "--planned-at",
            &planned_at,
            "--fragment-dir",
            fragments.to_str().unwrap(),
            "--validation-out",
            gen_out.to_str().unwrap(),
        ])
        .ok();
    }
    // Each shard ran part of the batch and wrote its fragment; the generation rows of both
    // together name exactly the recipes generated.
    for k in 1..=2 {
        assert!(
            fragments
                .join(format!("{batch_id}-shard-{k}-of-2.json"))
                .is_file(),
            "fragment {k}"
        );
    }
    let mut gen_names = Vec::new();
    for k in 1..=2 {
        let part = rows(&validation.join(format!("validation-results-generation-{k}.json")));
        assert!(!part.is_empty(), "shard {k} generated nothing");
        for r in part {
            assert_eq!(r["environment"], "generation", "{r}");
            assert_eq!(r["batch_id"], batch_id.as_str(), "{r}");
            assert_eq!(r["status"], "pass", "{r}");
            gen_names.push(r["recipe"].as_str().unwrap().to_owned());
        }
    }
    gen_names.sort();
    assert_eq!(gen_names, GENERATED);

    let mut cmd = sb.merge_cmd(&fragments);
    cmd.args(["--batch-id", &batch_id, "--json"]);
    let out = run_cmd(&mut cmd);
    out.ok();
    assert_eq!(out.json()["status"], "merged", "{}", out.ctx());

    let chain = Chain {
        sb,
        batch_id,
        planned_at,
        validation,
    };
    assert_eq!(recipe_files(&chain.sb.output), GENERATED);
    for name in GENERATED {
        assert_eq!(chain.status(name), "success", "{name} after merge");
    }
    assert_eq!(chain.status("golf"), "failed", "golf after merge");
    chain
}

impl Chain {
    /// `validate` for one job platform into the shared directory; macOS jobs tell the fake
    /// their platform through `FAKE_TSUKU_PLATFORM`.
    pub(crate) fn validate(&self, platform: &str) -> Out {
        let mut cmd = self.sb.bare_cmd();
        if platform.starts_with("darwin") {
            cmd.env("FAKE_TSUKU_PLATFORM", platform);
        }
        cmd.arg("validate")
            .args(["--platform", platform, "--batch-id", &self.batch_id])
            .arg("--recipes")
            .arg(&self.sb.output)
            .arg("--out")
            .arg(
                self.validation
                    .join(format!("validation-results-{platform}.json")),
            )
            .arg("--generator")
            .arg(&self.sb.generator)
            .args(["--jobs", "4", "--timeout", "30s"]);
        run_cmd(&mut cmd)
    }

    /// Whether the fake generator's log has an `install` of `name`'s recipe with `--force`
    /// (validate's form; the main run's own install has no `--force`).
    pub(crate) fn log_has_install_of(&self, name: &str) -> bool {
        let file = format!("/{name}.toml");
        self.sb
            .log_lines()
            .iter()
            .any(|l| l.starts_with("install ") && l.contains("--force") && l.contains(&file))
    }

    /// `aggregate` with `$GITHUB_OUTPUT` in the root.
    pub(crate) fn aggregate(&self) -> Out {
        let mut cmd = self.sb.aggregate_cmd(&self.validation);
        cmd.env("GITHUB_OUTPUT", self.gh_output());
        cmd.args([
            "--batch-id",
            &self.batch_id,
            "--planned-at",
            &self.planned_at,
            "--json",
        ]);
        run_cmd(&mut cmd)
    }

    pub(crate) fn gh_output(&self) -> PathBuf {
        self.sb.root.join("github-output")
    }

    pub(crate) fn pr(&self, file: &str) -> String {
        std::fs::read_to_string(self.sb.root.join("pr").join(file)).unwrap()
    }

    pub(crate) fn recipe(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.sb.output.join(&name[..1]).join(format!("{name}.toml"))).ok()
    }

    pub(crate) fn entry(&self, name: &str) -> Value {
        let q: Value = serde_json::from_slice(&std::fs::read(&self.sb.queue).unwrap()).unwrap();
        q["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no entry {name}"))
            .clone()
    }

    pub(crate) fn status(&self, name: &str) -> String {
        self.entry(name)["status"].as_str().unwrap().to_owned()
    }

    /// The file-name stamp of the plan time (`2026-12-01T08-00-00Z`).
    pub(crate) fn stamp(&self) -> String {
        let t: jiff::Timestamp = self.planned_at.parse().unwrap();
        t.strftime("%Y-%m-%dT%H-%M-%SZ").to_string()
    }
}

fn rows(path: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    v.as_array().unwrap().clone()
}

/// `<letter>/<name>.toml` files under `dir`, as sorted names.
pub(crate) fn recipe_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for letter in std::fs::read_dir(dir).unwrap() {
        for f in std::fs::read_dir(letter.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            assert_eq!(p.extension().unwrap(), "toml", "{}", p.display());
            out.push(p.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}
