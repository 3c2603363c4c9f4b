//! Snapshots of a directory tree, to assert what a run wrote (or that it wrote nothing).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::out::Out;

/// Every file and directory under a root: relative path → bytes (`None` for a directory).
pub type Snapshot = BTreeMap<String, Option<Vec<u8>>>;

/// Takes a [`Snapshot`] of everything under `root`.
pub fn snapshot_tree(root: &Path) -> Snapshot {
    snapshot_except(root, &[])
}

/// Takes a [`Snapshot`] of everything under `root` except the top-level names in `skip`.
pub fn snapshot_except(root: &Path, skip: &[&str]) -> Snapshot {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd {
            let e = e.expect("readable directory entry");
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            if skip.contains(&rel.as_str()) {
                continue;
            }
            if e.file_type().expect("file type").is_dir() {
                out.insert(rel, None);
                stack.push(p);
            } else {
                out.insert(rel, Some(std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out
}

/// Paths that differ between two snapshots (added, removed or changed).
pub fn changed(before: &Snapshot, after: &Snapshot) -> BTreeSet<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect()
}

/// Asserts two snapshots are equal, listing the differing paths otherwise.
#[track_caller]
pub fn assert_unchanged(before: &Snapshot, after: &Snapshot, out: &Out) {
    let diff = changed(before, after);
    assert!(
        diff.is_empty(),
        "files were written or removed: {diff:?}\n{}",
        out.ctx()
    );
}
