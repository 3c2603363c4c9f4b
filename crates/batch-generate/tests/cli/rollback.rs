//! `rollback-plan BATCH_ID` (issue #14): the recipe files of a batch found from a real shard
//! fragment (preflight → `--shard 1/1` with the fake generator), its metrics record, the
//! per-recipe failure file its merge job wrote, and `git log` trailers in a repository made
//! here (skipped with a message when `git` is not on PATH); the commands are printed, never
//! run. An unknown batch exits 1 naming where it looked; an invalid ID exits 2.

use std::path::Path;
use std::process::Command;

use batch_generate::exit;
use serde_json::{Value, json};

use crate::util::{Out, Sandbox, entry, run_cmd, sandbox, strings};

fn git_available() -> bool {
    Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Runs preflight and the one shard of a batch over ok0, ok1 (succeed) and broken (fails);
/// returns the batch ID and the fragment directory's path.
fn sharded_batch(sb: &Sandbox) -> String {
    let mut cmd = sb.preflight_cmd();
    cmd.args(["--shards", "1", "--tier", "3", "--json"]);
    let out = run_cmd(&mut cmd);
    out.ok();
    let doc = out.json();
    let id = doc["batch_id"].as_str().unwrap().to_owned();
    let at = doc["planned_at"].as_str().unwrap().to_owned();
    let frags = sb.root().join("work/fragments");
    let out = sb.run(&[
        "--tier",
        "3",
        "--shard",
        "1/1",
        "--batch-id",
        &id,
        "--planned-at",
        &at,
        "--fragment-dir",
        frags.to_str().unwrap(),
    ]);
    out.ok();
    id
}

fn plan(sb: &Sandbox, args: &[&str]) -> Out {
    let mut cmd = sb.bare_cmd();
    cmd.current_dir(sb.root().join("work"))
        .arg("rollback-plan")
        .args(args);
    run_cmd(&mut cmd)
}

fn paths(doc: &Value) -> Vec<(String, Vec<String>)> {
    doc["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let sources = r["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["source"].as_str().unwrap().to_owned())
                .collect();
            (r["path"].as_str().unwrap().to_owned(), sources)
        })
        .collect()
}

#[test]
fn plan_from_fragment_metrics_failures_and_git_trailers() {
    let sb = sandbox()
        .queue(&[
            entry("ok0", "npm:ok0", 1),
            entry("ok1", "npm:ok1", 1),
            entry("broken", "homebrew:broken", 1),
        ])
        .control(json!({"enabled": true}))
        .rules(&[("broken", "fail6"), ("*", "ok")]);
    let id = sharded_batch(&sb);
    let work = sb.root().join("work");
    for name in ["o/ok0", "o/ok1", "j/jq", "t/tool", "z/zz"] {
        write(&work.join(format!("recipes/{name}.toml")), "[metadata]\n");
    }
    // The merge job: metrics at 12:00:10 after 10 s; its failure file at 12:00:03 names jq.
    // Another batch's failure file (an hour earlier) names zz and must not count.
    write(
        &work.join("data/metrics/batch-runs-2026-03-03T12-00-10Z.jsonl"),
        &format!(
            r#"{{"batch_id":"{id}","ecosystems":{{"npm":2}},"total":3,"generated":3,"platforms":{{}},"merged":3,"excluded":0,"constrained":1,"timestamp":"2026-03-03T12:00:10Z","duration_seconds":10}}"#
        ),
    );
    let line = |r: &str| {
        format!(
            r#"{{"schema_version":1,"recipe":"{r}","platform":"linux-alpine-musl-x86_64","exit_code":1,"category":"generation_failed","timestamp":"2026-03-03T12:00:03Z"}}"#
        )
    };
    write(
        &work.join("data/failures/batch-2026-03-03T12-00-03Z.jsonl"),
        &format!("{}\n", line("jq")),
    );
    write(
        &work.join("data/failures/batch-2026-03-03T11-00-03Z.jsonl"),
        &format!("{}\n", line("zz")),
    );

    let with_git = git_available();
    if with_git {
        git(&work, &["init", "-q"]);
        git(&work, &["add", "recipes/z/zz.toml", "recipes/j/jq.toml"]);
        git(&work, &["commit", "-q", "-m", "base"]);
        git(&work, &["add", "recipes/t/tool.toml", "recipes/o/ok0.toml"]);
        let msg = format!("feat(recipes): add batch recipes\n\nbatch_id: {id}");
        git(&work, &["commit", "-q", "-m", &msg]);
        // A later batch of the same day: its ID extends ours and must not match.
        git(&work, &["add", "recipes/o/ok1.toml"]);
        let msg = format!("feat(recipes): more\n\nbatch_id: {id}-002");
        git(&work, &["commit", "-q", "-m", &msg]);
    } else {
        eprintln!("git is not on PATH: the git trailer part of this test is skipped");
    }
    let frags = sb.root().join("work/fragments");
    let mut args = vec![
        id.as_str(),
        "--fragments",
        frags.to_str().unwrap(),
        "--json",
    ];
    if !with_git {
        args.push("--no-git");
    }
    let head = with_git.then(|| git(&work, &["rev-parse", "HEAD"]));
    let status = with_git.then(|| git(&work, &["status", "--porcelain"]));
    let out = plan(&sb, &args);
    out.code(exit::SUCCESS);
    let doc = out.json();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let mut want = vec![
        ("recipes/j/jq.toml".to_owned(), s(&["failure_record"])),
        ("recipes/o/ok0.toml".to_owned(), s(&["fragment"])),
        ("recipes/o/ok1.toml".to_owned(), s(&["fragment"])),
    ];
    if with_git {
        want[1].1.push("git_trailer".into());
        want.push(("recipes/t/tool.toml".to_owned(), s(&["git_trailer"])));
        assert_eq!(doc["git"]["commits"].as_array().unwrap().len(), 1);
    }
    assert_eq!(paths(&doc), want, "{}", out.ctx());
    let resets: Vec<(String, Value)> = doc["queue_resets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["name"].as_str().unwrap().to_owned(), q["source"].clone()))
        .collect();
    assert_eq!(resets[0], ("jq".to_owned(), Value::Null));
    assert_eq!(resets[1], ("ok0".to_owned(), json!("npm:ok0")));
    assert_eq!(resets[2], ("ok1".to_owned(), json!("npm:ok1")));
    let commands = strings(&doc["commands"]);
    assert_eq!(commands[0], format!("git switch -c rollback-batch-{id}"));
    let rm: Vec<&str> = want.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(commands[1], format!("git rm -- {}", rm.join(" ")));
    assert!(commands[2].contains(&format!("--trailer 'batch_id: {id}'")));
    // It only printed: every file is still there, and the repository did not move.
    for (p, _) in &want {
        assert!(work.join(p).is_file(), "{p} was removed");
    }
    if with_git {
        assert_eq!(Some(git(&work, &["rev-parse", "HEAD"])), head);
        assert_eq!(Some(git(&work, &["status", "--porcelain"])), status);
    }

    // The text form lists the same and says the commands are not run.
    args.retain(|a| *a != "--json");
    let out = plan(&sb, &args);
    out.code(exit::SUCCESS);
    assert!(out.stdout.contains("Commands (not run"), "{}", out.ctx());
    assert!(out.stdout.contains(&commands[1]), "{}", out.ctx());
}

#[test]
fn unknown_batch_exits_1_and_names_where_it_looked() {
    let sb = sandbox();
    let work = sb.root().join("work");
    std::fs::create_dir_all(work.join("data/metrics")).unwrap();
    std::fs::create_dir_all(work.join("frags")).unwrap();
    let out = plan(&sb, &["2026-01-01", "--fragments", "frags", "--no-git"]);
    out.code(exit::FAILURE);
    assert!(
        out.stderr.contains("batch 2026-01-01 not found")
            && out.stderr.contains("fragments in frags")
            && out.stderr.contains("metrics in data/metrics")
            && out.stderr.contains("hint:"),
        "{}",
        out.ctx()
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn invalid_batch_id_or_missing_given_dir() {
    let sb = sandbox();
    std::fs::create_dir_all(sb.root().join("work")).unwrap();
    plan(&sb, &["../etc", "--no-git"]).code(exit::USAGE);
    plan(&sb, &["--no-git"]).code(exit::USAGE);
    let out = plan(&sb, &["2026-01-01", "--metrics-dir", "nope", "--no-git"]);
    out.code(exit::FAILURE);
    assert!(out.stderr.contains("nope"), "{}", out.ctx());
}

/// A batch known only from its metrics record (no recipes: `total` 0) outside a git
/// repository: git is reported as not searched, the plan says there is nothing to roll back,
/// and the exit is 0.
#[test]
fn batch_known_from_metrics_only_outside_git() {
    let sb = sandbox();
    let work = sb.root().join("work");
    write(
        &work.join("data/metrics/batch-runs-2026-06-26T20-51-08Z.jsonl"),
        r#"{"batch_id":"2026-06-26","ecosystems":{},"total":0,"generated":0,"platforms":{},"merged":0,"excluded":0,"constrained":0,"timestamp":"2026-06-26T20:51:08Z","duration_seconds":15}"#,
    );
    // The sandbox root is a temporary directory, not inside any repository.
    let out = plan(&sb, &["2026-06-26", "--json"]);
    out.code(exit::SUCCESS);
    let doc = out.json();
    assert_eq!(doc["metrics"][0]["merged"], 0);
    assert!(doc["recipes"].as_array().unwrap().is_empty());
    assert!(doc["commands"].as_array().unwrap().is_empty());
    if git_available() {
        assert_eq!(doc["git"]["status"], "unavailable", "{}", out.ctx());
    }
    let out = plan(&sb, &["2026-06-26"]);
    out.code(exit::SUCCESS);
    assert!(out.stdout.contains("nothing to roll back"), "{}", out.ctx());
}
