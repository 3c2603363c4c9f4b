//! Finding the entries `explain` is asked about (issue #23): an argument names an entry by
//! `name` or by `source` (`eco:identifier`); one that names none is a usage error carrying the
//! closest names and sources (Jaro–Winkler similarity, the measure clap suggests flags with).

use std::collections::BTreeSet;
use std::fmt;

use crate::Queue;

/// Suggestions offered per unknown argument.
pub const SUGGESTIONS: usize = 3;

/// Lowest Jaro–Winkler similarity (0–1) of a suggestion (clap uses 0.7 for flags; names are
/// shorter and many, so a little stricter).
pub const MIN_SIMILARITY: f64 = 0.8;

/// The entries one argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The argument.
    pub query: String,
    /// Queue indices whose name or source equals it, in queue order (more than one for a
    /// repeated name or a shared source).
    pub indices: Vec<usize>,
}

/// An argument that names no entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEntry {
    /// The argument.
    pub query: String,
    /// The closest names and sources, most similar first (at most [`SUGGESTIONS`]).
    pub suggestions: Vec<String>,
}

/// Arguments that name no queue entry: a usage error (exit 2 in the binary).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UnknownEntries {
    /// Every unknown argument, in argument order.
    pub unknown: Vec<UnknownEntry>,
}

impl fmt::Display for UnknownEntries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, u) in self.unknown.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "no queue entry has the name or source `{}`", u.query)?;
            if !u.suggestions.is_empty() {
                write!(f, " (closest: {})", u.suggestions.join(", "))?;
            }
        }
        Ok(())
    }
}

/// The entries each of `queries` names, by exact `name` or `source`.
///
/// # Errors
/// [`UnknownEntries`] listing every argument that names nothing, with suggestions.
pub fn resolve(queue: &Queue, queries: &[String]) -> Result<Vec<Match>, UnknownEntries> {
    let mut matches = Vec::new();
    let mut unknown = Vec::new();
    for q in queries {
        let indices: Vec<usize> = queue
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.name == *q || e.source == *q)
            .map(|(i, _)| i)
            .collect();
        if indices.is_empty() {
            unknown.push(UnknownEntry {
                query: q.clone(),
                suggestions: closest(queue, q),
            });
        } else {
            matches.push(Match {
                query: q.clone(),
                indices,
            });
        }
    }
    if unknown.is_empty() {
        Ok(matches)
    } else {
        Err(UnknownEntries { unknown })
    }
}

/// The names and sources most similar to `query` (at least [`MIN_SIMILARITY`]), best first,
/// then in byte order.
pub fn closest(queue: &Queue, query: &str) -> Vec<String> {
    let words: BTreeSet<&str> = queue
        .entries
        .iter()
        .flat_map(|e| [e.name.as_str(), e.source.as_str()])
        .collect();
    let mut scored: Vec<(f64, &str)> = words
        .into_iter()
        .map(|w| (strsim::jaro_winkler(query, w), w))
        .filter(|(s, _)| *s >= MIN_SIMILARITY)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(_, w)| w.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QueueEntry;

    fn queue() -> Queue {
        Queue {
            schema_version: 1,
            entries: vec![
                QueueEntry::new("ripgrep", "crates.io:ripgrep", 1),
                QueueEntry::new("jq", "homebrew:jq", 1),
                QueueEntry::new("fd", "crates.io:fd-find", 2),
                QueueEntry::new("jq", "npm:jq", 2),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn names_and_sources_find_every_entry_they_name() {
        let q = queue();
        let m = resolve(&q, &["jq".into(), "crates.io:fd-find".into()]).unwrap();
        assert_eq!(m[0].indices, [1, 3], "a repeated name gives both");
        assert_eq!(m[1].indices, [2]);
    }

    #[test]
    fn an_unknown_argument_lists_the_closest_names() {
        let q = queue();
        let err = resolve(&q, &["ripgrp".into(), "jq".into(), "zzzzzz".into()]).unwrap_err();
        assert_eq!(err.unknown.len(), 2);
        assert_eq!(err.unknown[0].query, "ripgrp");
        // "ripgrep" is one deletion away; "crates.io:ripgrep" is far (different prefix).
        assert_eq!(err.unknown[0].suggestions, ["ripgrep"]);
        assert!(err.unknown[1].suggestions.is_empty());
        assert_eq!(
            err.to_string(),
            "no queue entry has the name or source `ripgrp` (closest: ripgrep); no queue entry has the name or source `zzzzzz`"
        );
    }
}
