//! The `git log` trailer lookup of `rollback-plan` (spec §7.8 `rollback-batch.sh`): recipe
//! files added by commits whose message has the line `batch_id: <id>`. Squash merges drop the
//! trailer (spec §7.3.4), so this is one source among several and never required. Runs `git`
//! read-only as a subprocess; a missing `git` or a directory outside a repository is
//! [`GitLookup::Unavailable`], not an error.

use std::path::Path;
use std::process::Command;

use serde::Serialize;

/// What the git lookup found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum GitLookup {
    /// Not asked for (`--no-git`).
    Skipped,
    /// `git` could not be run or the directory is not a repository.
    Unavailable {
        /// Why, in one line.
        reason: String,
    },
    /// The history was searched.
    Searched {
        /// Commits (full hashes) carrying the trailer, newest first.
        commits: Vec<String>,
        /// `recipes/…` files those commits added, with the commit that added each, sorted by
        /// path.
        files: Vec<(String, String)>,
    },
}

/// The extended regex matching exactly the line `batch_id: <id>` (the script's substring
/// match also found `<id>-002`; this one does not). `id` is a checked batch ID, so `.` is the
/// only metacharacter it can hold.
pub(crate) fn trailer_pattern(id: &str) -> String {
    format!("^batch_id: {}$", id.replace('.', "\\."))
}

/// Searches every ref of the repository at `repo` for commits with the `batch_id: <id>`
/// trailer and the files under `recipes/` they added (`--diff-filter=A`).
pub(crate) fn lookup(repo: &Path, id: &str) -> GitLookup {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["log", "--all", "-E", "--diff-filter=A", "--name-only"])
        .arg("--format=%x00%H")
        .arg(format!("--grep={}", trailer_pattern(id)))
        .env("GIT_TERMINAL_PROMPT", "0")
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            return GitLookup::Unavailable {
                reason: format!("cannot run git: {e}"),
            };
        }
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return GitLookup::Unavailable {
            reason: err.lines().next().unwrap_or("git log failed").to_owned(),
        };
    }
    parse_log(&String::from_utf8_lossy(&out.stdout))
}

/// Parses `git log --name-only --format=%x00%H` output: a line `\0<hash>` starts a commit, the
/// non-empty lines after it are its files; only `recipes/` files are kept.
pub(crate) fn parse_log(text: &str) -> GitLookup {
    let mut commits = Vec::new();
    let mut files: Vec<(String, String)> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(hash) = line.strip_prefix('\0') {
            commits.push(hash.to_owned());
            current = Some(hash.to_owned());
        } else if let Some(c) = &current
            && line.starts_with("recipes/")
            && !files.iter().any(|(f, _)| f == line)
        {
            files.push((line.to_owned(), c.clone()));
        }
    }
    files.sort();
    GitLookup::Searched { commits, files }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_anchored_and_escapes_dots() {
        assert_eq!(trailer_pattern("2026-03-03"), "^batch_id: 2026-03-03$");
        assert_eq!(trailer_pattern("a.b"), "^batch_id: a\\.b$");
    }

    #[test]
    fn log_output_keeps_recipe_files_with_their_commit() {
        let text = "\0aaa\n\nrecipes/b/bat.toml\ndata/x.json\n\0bbb\n\nrecipes/a/age.toml\nrecipes/b/bat.toml\n";
        let GitLookup::Searched { commits, files } = parse_log(text) else {
            panic!("not searched");
        };
        assert_eq!(commits, ["aaa", "bbb"]);
        assert_eq!(
            files,
            [
                ("recipes/a/age.toml".to_owned(), "bbb".to_owned()),
                ("recipes/b/bat.toml".to_owned(), "aaa".to_owned())
            ]
        );
    }
}
