//! Recipes on disk for `queue reconcile` (spec §7.6, issue #14): which queue name a recipe
//! file belongs to (`name_of_path`), and the source a recipe installs from, read from its
//! parsed TOML ([`recipe_source`]).
//!
//! **Mapping a file to an entry.** A file belongs to the entry whose recipe path
//! ([`crate::queue::recipe_relative_path`], `<first letter>/<name>.toml`) it is. A nested
//! tap-style file `a/anomalyco/tap/opencode.toml` therefore belongs to the entry
//! `anomalyco/tap/opencode`, exactly where the generator writes that entry's recipe. Neither
//! the basename (tsuku's `reconcile-queue-status.sh`: two taps' `opencode` would collide and
//! claim the entry `opencode`) nor the recipe's own `[metadata] name` (hand-written recipes
//! often carry only the tool name) is used. A file that is not at the path of the name it
//! spells (`recipes/x.toml`, `b/foo.toml`, `.hidden/x.toml`) is reported as misplaced.

use std::path::{Component, Path, PathBuf};

use toml::{Table, Value};

use crate::queue::ecosystem::canonical;
use crate::queue::recipe_relative_path;

/// The queue name a recipe file at `rel` (relative to the recipes directory) belongs to:
/// `rel` without its first (letter) directory and its `.toml` extension, with `/` between
/// nested directories. `None` when `rel` is not the recipe path of that name (misplaced).
pub(crate) fn name_of_path(rel: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?),
            _ => return None,
        }
    }
    if parts.len() < 2 {
        return None;
    }
    let joined = parts[1..].join("/");
    let name = joined.strip_suffix(".toml")?;
    (recipe_relative_path(name).ok()? == rel).then(|| name.to_owned())
}

/// The source (`ecosystem:identifier`, ecosystem in the queue's spelling) a parsed recipe
/// installs from, or `None` when no rule below applies. `name` is the recipe's queue name
/// (the identifier of a `homebrew` step without a `formula`).
///
/// Rules (spec §7.6, `update-queue-status.yml`, with its defects fixed): the first `[[steps]]`
/// entry whose `action` is one of
/// - `github_archive`, `github_file` with `repo` → `github:<repo>`;
/// - `cargo_install` with `crate` → `crates.io:<crate>` (Go wrote `cargo:`, spec §9.3.5);
/// - `pipx_install` with `package` → `pypi:<package>`;
/// - `npm_install` with `package` → `npm:<package>`;
/// - `gem_install` with `gem` → `rubygems:<gem>`;
/// - `go_install` with `module` → `go:<module>` (not in Go's list; tsuku's `go` entries use
///   the module, e.g. `go:honnef.co/go/tools/cmd/staticcheck`);
/// - `homebrew`, `homebrew_bottle` → `homebrew:<formula>`, or `homebrew:<name>` with no
///   `formula`.
///
/// Otherwise `[version] source` when it names an ecosystem together with its identifier key
/// (`homebrew` + `formula`, `github` + `github_repo`, `go` + `module`). Empty strings count as
/// absent. Go maps everything else to `""`, which then differs from every entry's source and
/// marks it `curated`; here an unknown source leaves `confidence` alone.
pub fn recipe_source(recipe: &Table, name: &str) -> Option<String> {
    let text = |t: &Table, key: &str| -> Option<String> {
        t.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let steps = recipe.get("steps").and_then(Value::as_array);
    for step in steps.into_iter().flatten().filter_map(Value::as_table) {
        let Some(action) = text(step, "action") else {
            continue;
        };
        let found = match action.as_str() {
            "github_archive" | "github_file" => text(step, "repo").map(|r| ("github", r)),
            "cargo_install" => text(step, "crate").map(|c| ("cargo", c)),
            "pipx_install" => text(step, "package").map(|p| ("pypi", p)),
            "npm_install" => text(step, "package").map(|p| ("npm", p)),
            "gem_install" => text(step, "gem").map(|g| ("rubygems", g)),
            "go_install" => text(step, "module").map(|m| ("go", m)),
            "homebrew" | "homebrew_bottle" => Some((
                "homebrew",
                text(step, "formula").unwrap_or_else(|| name.to_owned()),
            )),
            _ => None,
        };
        if let Some((eco, id)) = found {
            return Some(format!("{}:{id}", canonical(eco)));
        }
    }
    let version = recipe.get("version").and_then(Value::as_table)?;
    let eco = text(version, "source")?;
    let key = match canonical(&eco) {
        "homebrew" => "formula",
        "github" => "github_repo",
        "go" => "module",
        _ => return None,
    };
    text(version, key).map(|id| format!("{}:{id}", canonical(&eco)))
}

/// The source `s` with its ecosystem in the queue's spelling (`canonical`), for comparing a
/// recipe's source with an entry's: `cargo:x` and `crates.io:x` are the same package.
pub fn canonical_source(s: &str) -> String {
    match s.split_once(':') {
        Some((eco, id)) => format!("{}:{id}", canonical(eco)),
        None => s.to_owned(),
    }
}

/// A `*.toml` file under the recipes directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeFile {
    /// Path relative to the recipes directory.
    pub rel: PathBuf,
    /// The queue name it belongs to (`name_of_path`); `None` when misplaced.
    pub name: Option<String>,
}

/// Every `*.toml` file under `dir`, recursively, sorted by relative path. Symbolic links to
/// directories are not followed (no loops); links to files are listed.
///
/// # Errors
/// The directory, or one below it, cannot be listed.
pub fn list(dir: &Path) -> std::io::Result<Vec<RecipeFile>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel_dir) = stack.pop() {
        for entry in std::fs::read_dir(dir.join(&rel_dir))? {
            let entry = entry?;
            let rel = rel_dir.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(rel);
            } else if rel.extension().is_some_and(|e| e == "toml") && dir.join(&rel).is_file() {
                let name = name_of_path(&rel);
                out.push(RecipeFile { rel, name });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PathBuf {
        batch_testkit::tsuku_data::fixture("recipes-sample")
    }

    fn source_of(rel: &str) -> Option<String> {
        let text = std::fs::read_to_string(sample().join(rel)).unwrap();
        let table: Table = toml::from_str(&text).unwrap();
        let name = name_of_path(Path::new(rel)).unwrap();
        recipe_source(&table, &name)
    }

    #[test]
    fn paths_map_to_names_by_the_queue_rule() {
        let name = |p: &str| name_of_path(Path::new(p));
        assert_eq!(name("b/bat.toml").as_deref(), Some("bat"));
        assert_eq!(
            name("a/anomalyco/tap/opencode.toml").as_deref(),
            Some("anomalyco/tap/opencode")
        );
        // The letter directory is the lowercased first character of the name.
        assert_eq!(name("b/Bat.toml").as_deref(), Some("Bat"));
        for misplaced in [
            "bat.toml",
            "a/bat.toml",
            "o/anomalyco/tap/opencode.toml",
            "b/bat.txt",
            "b/.bat.toml",
            "./b/bat.toml",
            "b/../b/bat.toml",
        ] {
            assert_eq!(name(misplaced), None, "{misplaced}");
        }
    }

    #[test]
    fn sources_of_real_sample_recipes() {
        // Each checked against the live queue's entry of that name.
        let cases = [
            ("d/diskus.toml", "crates.io:diskus"), // cargo_install, Go said cargo:
            ("j/jq.toml", "github:jqlang/jq"),     // github_file, platform `when`
            ("j/jc.toml", "github:kellyjonbrazil/jc"), // github_archive
            ("g/graphql-cli.toml", "npm:graphql-cli"),
            ("a/aider.toml", "pypi:aider-chat"), // queue says homebrew:aider: curated
            (
                "s/staticcheck.toml",
                "go:honnef.co/go/tools/cmd/staticcheck",
            ),
            ("b/bison.toml", "homebrew:bison"),
            ("i/iniparser.toml", "homebrew:iniparser"),
            // No known step: [version] source = "homebrew" with formula.
            ("l/libcurl-source.toml", "homebrew:curl"),
        ];
        for (rel, want) in cases {
            assert_eq!(source_of(rel).as_deref(), Some(want), "{rel}");
        }
        // run_command steps and `[version] source = "pypi"` without an identifier: unknown.
        assert_eq!(source_of("p/pipx.toml"), None);
    }

    #[test]
    fn homebrew_without_formula_uses_the_name_and_empty_strings_are_absent() {
        let t: Table = toml::from_str(
            "[version]\nsource = \"\"\n[[steps]]\naction = \"npm_install\"\npackage = \"\"\n\
             [[steps]]\naction = \"homebrew\"\n",
        )
        .unwrap();
        assert_eq!(
            recipe_source(&t, "owner/tap/x").as_deref(),
            Some("homebrew:owner/tap/x")
        );
        let t: Table = toml::from_str("[metadata]\nname = \"x\"\n").unwrap();
        assert_eq!(recipe_source(&t, "x"), None);
        let t: Table = toml::from_str("steps = 3\nversion = \"1\"\n").unwrap();
        assert_eq!(recipe_source(&t, "x"), None, "wrong shapes are not a panic");
    }

    #[test]
    fn canonical_sources_compare_cargo_and_crates_io_equal() {
        assert_eq!(canonical_source("cargo:bat"), "crates.io:bat");
        assert_eq!(canonical_source("crates.io:bat"), "crates.io:bat");
        assert_eq!(canonical_source("homebrew:a:b"), "homebrew:a:b");
        assert_eq!(canonical_source("nocolon"), "nocolon");
    }

    #[test]
    fn lists_the_real_sample_with_every_file_placed() {
        let files = list(&sample()).unwrap();
        assert_eq!(files.len(), 74);
        assert!(files.iter().all(|f| f.name.is_some()), "{files:?}");
        assert!(files.is_sorted_by(|a, b| a.rel <= b.rel));
    }
}
