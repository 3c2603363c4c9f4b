//! Embeds the commit and its date for `--version`: `BATCH_GENERATE_COMMIT` (short hash) and
//! `BATCH_GENERATE_COMMIT_DATE` (`YYYY-MM-DD`, UTC). Each is `unknown` when git or the
//! repository is missing (a crate tarball, a source export); this script never fails the
//! build.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = git(&dir, &["rev-parse", "--short", "HEAD"]);
    let date = git(
        &dir,
        &["log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%d"],
    );
    println!(
        "cargo:rustc-env=BATCH_GENERATE_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
    println!(
        "cargo:rustc-env=BATCH_GENERATE_COMMIT_DATE={}",
        date.as_deref().unwrap_or("unknown")
    );
    println!("cargo:rerun-if-changed=build.rs");
    for path in watched(&dir) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The trimmed stdout of `git ARGS` run in `dir` (dates in UTC), or `None` when git is
/// missing, fails or prints nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("TZ", "UTC")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The files whose change means another commit: `HEAD` of this checkout (a worktree has its
/// own), the branch ref it points to and `packed-refs` (both in the common git directory).
/// A branch that lives only in `packed-refs` (a fresh clone) gets its loose file on the next
/// commit, so then its directory is watched: cargo reruns a script on every build while a
/// watched path is missing.
fn watched(dir: &Path) -> Vec<PathBuf> {
    let abs = |p: String| {
        let p = PathBuf::from(p);
        if p.is_absolute() { p } else { dir.join(p) }
    };
    let Some(git_dir) = git(dir, &["rev-parse", "--git-dir"]).map(abs) else {
        return Vec::new();
    };
    let common = git(dir, &["rev-parse", "--git-common-dir"])
        .map(abs)
        .unwrap_or_else(|| git_dir.clone());
    let head = git_dir.join("HEAD");
    let mut paths = vec![head.clone()];
    if let Some(target) = std::fs::read_to_string(&head)
        .ok()
        .and_then(|h| h.trim().strip_prefix("ref: ").map(str::to_owned))
    {
        let loose = common.join(target);
        let watch = loose
            .ancestors()
            .find(|p| p.exists())
            .map(Path::to_path_buf);
        paths.extend(watch);
    }
    paths.push(common.join("packed-refs"));
    paths.retain(|p| p.exists());
    paths
}
