//! Accepts the Go tool's single-dash flag spellings (spec §2.1) so tsuku's existing workflow
//! line, `batch-generate -batch-size 10 -tier 3 -filter-ecosystem homebrew`, works unchanged.

use std::ffi::OsString;

/// Go flag name → our long flag.
const GO_FLAGS: &[(&str, &str)] = &[
    ("batch-size", "--batch-size"),
    ("tier", "--tier"),
    ("filter-ecosystem", "--ecosystem"),
    ("queue", "--queue"),
    ("output-dir", "--output-dir"),
    ("failures-dir", "--failures-dir"),
    ("control-file", "--control-file"),
    // tsuku's queue-maintain (spec §2.4).
    ("output", "--output"),
    ("dry-run", "--dry-run"),
    ("json", "--json"),
    ("skip-mark-failures", "--skip-mark-failures"),
    ("skip-requeue", "--skip-requeue"),
    ("skip-reorder", "--skip-reorder"),
    ("help", "--help"),
    // tsuku's queue-analytics (issue #23; `-queue`, `-failures-dir`, `-control-file`,
    // `-output` above).
    ("metrics-dir", "--metrics-dir"),
    ("disambiguations-dir", "--disambiguations-dir"),
];

/// Rewrites `-name value` and `-name=value` for the Go flag names into `--name …`; every other
/// argument, and everything after `--`, is left alone.
pub fn rewrite(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut rest = false;
    for arg in args {
        if rest {
            out.push(arg);
            continue;
        }
        if arg == "--" {
            rest = true;
            out.push(arg);
            continue;
        }
        let rewritten = arg.to_str().and_then(|s| {
            let body = s.strip_prefix('-').filter(|b| !b.starts_with('-'))?;
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let (_, long) = GO_FLAGS.iter().find(|(go, _)| *go == name)?;
            Some(match value {
                Some(v) => OsString::from(format!("{long}={v}")),
                None => OsString::from(*long),
            })
        });
        out.push(rewritten.unwrap_or(arg));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(args: &[&str]) -> Vec<String> {
        rewrite(args.iter().map(OsString::from))
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn queue_maintain_spellings_become_long_flags() {
        assert_eq!(
            rw(&[
                "bg",
                "queue",
                "maintain",
                "-queue",
                "q.json",
                "-output=o.json",
                "-dry-run",
                "-json",
                "-skip-mark-failures",
                "-skip-requeue",
                "-skip-reorder"
            ]),
            [
                "bg",
                "queue",
                "maintain",
                "--queue",
                "q.json",
                "--output=o.json",
                "--dry-run",
                "--json",
                "--skip-mark-failures",
                "--skip-requeue",
                "--skip-reorder"
            ]
        );
    }

    /// queue-analytics' flags (issue #23).
    #[test]
    fn queue_analytics_spellings_become_long_flags() {
        assert_eq!(
            rw(&[
                "bg",
                "dashboard",
                "-metrics-dir",
                "m",
                "-disambiguations-dir=d"
            ]),
            [
                "bg",
                "dashboard",
                "--metrics-dir",
                "m",
                "--disambiguations-dir=d"
            ]
        );
    }

    #[test]
    fn go_spellings_become_long_flags() {
        assert_eq!(
            rw(&[
                "bg",
                "-batch-size",
                "10",
                "-tier",
                "3",
                "-filter-ecosystem",
                "homebrew"
            ]),
            [
                "bg",
                "--batch-size",
                "10",
                "--tier",
                "3",
                "--ecosystem",
                "homebrew"
            ]
        );
        assert_eq!(
            rw(&["bg", "-queue=q.json", "-help"]),
            ["bg", "--queue=q.json", "--help"]
        );
        assert_eq!(
            rw(&[
                "bg",
                "-output-dir",
                "o",
                "-failures-dir",
                "f",
                "-control-file",
                "c"
            ]),
            [
                "bg",
                "--output-dir",
                "o",
                "--failures-dir",
                "f",
                "--control-file",
                "c"
            ]
        );
    }

    #[test]
    fn other_arguments_are_untouched() {
        assert_eq!(
            rw(&["bg", "-v", "--tier", "2", "-x"]),
            ["bg", "-v", "--tier", "2", "-x"]
        );
        assert_eq!(rw(&["bg", "--", "-tier"]), ["bg", "--", "-tier"]);
        assert_eq!(
            rw(&["bg", "--ecosystem", "-queue"]),
            ["bg", "--ecosystem", "--queue"]
        );
    }
}
