//! The ecosystems tsuku knows ([`KNOWN_ECOSYSTEMS`]) and the check that an ecosystem a run is
//! told about (filter, rate limit) exists in the queue or in tsuku (issue #12). The ecosystem
//! of one entry is `super::ecosystem_of`.

use std::collections::BTreeSet;

use super::entry::QueueEntry;

/// Every ecosystem key tsuku knows, sorted: an ecosystem the queue has no entry of is still
/// accepted in a filter or a rate limit when it is one of these.
///
/// Sources: the keys used by the live queue and control file (spec §0: `homebrew`,
/// `crates.io`, `npm`, `pypi`, `rubygems`, `github`, `go`, `cpan`, `cargo`, `nix`, `manual`),
/// the rate-limit table and the workflow's ecosystem choices (spec §2.1, §5: `cask`), and the
/// names of tsuku's recipe builders (`internal/builders`: `homebrew`, `cask`, `crates.io`,
/// `rubygems`, `npm`, `pypi`, `go`, `cpan`, `github`).
pub const KNOWN_ECOSYSTEMS: [&str; 12] = [
    "cargo",
    "cask",
    "cpan",
    "crates.io",
    "github",
    "go",
    "homebrew",
    "manual",
    "nix",
    "npm",
    "pypi",
    "rubygems",
];

/// The queue's spelling of an ecosystem name used elsewhere (recipe actions, tsuku's status
/// sync): `cargo`, `cargo_install` and `crates` → `crates.io`, `pipx`, `pip` → `pypi`, `gem`
/// → `rubygems`, `brew` → `homebrew`, `golang` → `go`; every other name unchanged. The live
/// queue spells crates `crates.io` (spec §0), and spec §9.3.5 is the defect of mapping them
/// to `cargo`. Every alias maps into [`KNOWN_ECOSYSTEMS`].
pub(crate) fn canonical(ecosystem: &str) -> &str {
    match ecosystem {
        "cargo" | "cargo_install" | "crates" => "crates.io",
        "pipx" | "pip" => "pypi",
        "gem" => "rubygems",
        "brew" => "homebrew",
        "golang" => "go",
        other => other,
    }
}

/// Whether tsuku knows `ecosystem` ([`KNOWN_ECOSYSTEMS`]; exact, case-sensitive match).
pub(crate) fn is_known(ecosystem: &str) -> bool {
    KNOWN_ECOSYSTEMS.binary_search(&ecosystem).is_ok()
}

/// The first of `wanted` (in iteration order) that is neither known to tsuku nor the
/// ecosystem of an entry of `entries`, with the queue's ecosystems (sorted) for the message.
/// `None` when every one is accepted. The entries are scanned only when some wanted
/// ecosystem is unknown to tsuku, so the usual case costs nothing on a large queue.
pub fn first_unknown<'a>(
    wanted: impl IntoIterator<Item = &'a str>,
    entries: &[QueueEntry],
) -> Option<(String, Vec<String>)> {
    let mut suspects = wanted.into_iter().filter(|e| !is_known(e)).peekable();
    suspects.peek()?;
    let present: BTreeSet<&str> = entries.iter().map(QueueEntry::ecosystem).collect();
    let unknown = suspects.find(|e| !present.contains(e))?;
    Some((
        unknown.to_owned(),
        present.into_iter().map(str::to_owned).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(source: &str) -> QueueEntry {
        serde_json::from_value(serde_json::json!({"name": "x", "source": source})).unwrap()
    }

    #[test]
    fn the_list_is_sorted_and_has_the_live_keys() {
        assert!(KNOWN_ECOSYSTEMS.is_sorted(), "binary_search needs it");
        for eco in ["homebrew", "crates.io", "cargo", "cask", "nix", "manual"] {
            assert!(is_known(eco), "{eco}");
        }
        for eco in ["hombrew", "Homebrew", "crates", "", "default"] {
            assert!(!is_known(eco), "{eco:?}");
        }
    }

    #[test]
    fn aliases_map_to_known_queue_spellings() {
        for alias in [
            "cargo",
            "cargo_install",
            "crates",
            "pipx",
            "pip",
            "gem",
            "brew",
            "golang",
        ] {
            assert!(is_known(canonical(alias)), "{alias}");
            assert_ne!(canonical(alias), alias);
        }
        assert_eq!(canonical("cargo"), "crates.io");
        assert_eq!(canonical("crates.io"), "crates.io");
        assert_eq!(canonical("custom"), "custom");
    }

    #[test]
    fn unknown_means_not_in_tsuku_and_not_in_the_queue() {
        let entries = [entry("homebrew:a"), entry("custom:b"), entry("npm:c")];
        assert_eq!(first_unknown(["homebrew", "nix", "custom"], &entries), None);
        assert_eq!(
            first_unknown(["npm", "hombrew", "other"], &entries),
            Some((
                "hombrew".to_owned(),
                vec!["custom".to_owned(), "homebrew".to_owned(), "npm".to_owned()]
            ))
        );
        assert_eq!(
            first_unknown(["x"], &[]),
            Some(("x".to_owned(), Vec::new()))
        );
        assert_eq!(first_unknown([], &[]), None);
    }
}
