//! `batch-generate demo --dir DIR` (README): exits 0 and writes only inside DIR.

use crate::util::{run_cmd, sandbox, snapshot_tree};

#[test]
fn demo_writes_only_inside_its_dir() {
    let h = sandbox();
    let tmpdir = h.root().join("tmpdir");
    std::fs::create_dir_all(&tmpdir).unwrap();
    let dir = h.root().join("d");
    let mut cmd = h.bare_cmd();
    cmd.env("TMPDIR", &tmpdir)
        .env_remove("FAKE_TSUKU_LOG")
        .env_remove("FAKE_TSUKU_STATE");
    cmd.arg("demo").arg("--dir").arg(&dir);
    let out = run_cmd(&mut cmd);
    out.ok();

    let all = snapshot_tree(&h.root());
    for path in all.keys() {
        assert!(
            path == "d"
                || path.starts_with("d/")
                || path == "cwd"
                || path == "state"
                || path == "tmpdir",
            "demo wrote outside its dir: {path}\n{}",
            out.ctx()
        );
    }
    assert!(
        snapshot_tree(&h.cwd).is_empty(),
        "the working directory was touched"
    );
    assert!(snapshot_tree(&tmpdir).is_empty(), "TMPDIR was touched");
    assert!(snapshot_tree(&h.state).is_empty());

    let results = crate::util::read_json(&dir.join("data/queues/batch-results.json"));
    assert!(results["total"].as_u64().unwrap() > 0, "{results:#}");
    assert!(dir.join("data/batch-summary.md").is_file());
    assert!(dir.join("data/queues/priority-queue.json").is_file());
    // The demo queue's `../escape` entry is never run.
    assert!(!h.root().join("escape.toml").exists() && !dir.join("escape.toml").exists());
    assert!(
        all.keys().all(|p| !p.contains("escape")),
        "{:?}",
        all.keys().collect::<Vec<_>>()
    );
}

#[test]
fn demo_refuses_a_non_empty_dir() {
    let h = sandbox();
    let dir = h.root().join("d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), "mine").unwrap();
    let before = snapshot_tree(&h.root());
    let mut cmd = h.bare_cmd();
    cmd.arg("demo").arg("--dir").arg(&dir);
    let out = run_cmd(&mut cmd);
    assert_ne!(out.code, batch_generate::exit::SUCCESS, "{}", out.ctx());
    crate::util::assert_unchanged(&before, &snapshot_tree(&h.root()), &out);
}
