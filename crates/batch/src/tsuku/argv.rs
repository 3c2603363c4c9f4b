//! tsuku's argv, without the program name, for each [`Job`](crate::generator::Job).

use std::ffi::OsString;
use std::path::Path;

use crate::validate::Family;

/// The variable passed into the validation sandbox by name (`--env GITHUB_TOKEN`) when it is
/// set; its value never appears in argv, tsuku reads it from its own environment.
pub const TOKEN_VAR: &str = "GITHUB_TOKEN";

/// `create <name> --from <source> --output <recipe> --yes --skip-sandbox --deterministic-only`
/// (spec §4.2).
pub(crate) fn create(name: &str, source: &str, recipe: &Path) -> Vec<OsString> {
    vec![
        "create".into(),
        name.into(),
        "--from".into(),
        source.into(),
        "--output".into(),
        recipe.into(),
        "--yes".into(),
        "--skip-sandbox".into(),
        "--deterministic-only".into(),
    ]
}

/// `install --json --recipe <recipe>` (spec §4.3).
pub(crate) fn install(recipe: &Path) -> Vec<OsString> {
    vec![
        "install".into(),
        "--json".into(),
        "--recipe".into(),
        recipe.into(),
    ]
}

/// `install --json --force --recipe <recipe>`, plus on Linux `--sandbox --target-family F`
/// and, with `github_token`, `--env GITHUB_TOKEN` (spec §7.3, issue #13).
pub(crate) fn validate(recipe: &Path, family: Option<Family>, github_token: bool) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![
        "install".into(),
        "--json".into(),
        "--force".into(),
        "--recipe".into(),
        recipe.into(),
    ];
    if let Some(f) = family {
        a.extend([
            "--sandbox".into(),
            "--target-family".into(),
            f.as_str().into(),
        ]);
        if github_token {
            a.extend(["--env".into(), TOKEN_VAR.into()]);
        }
    }
    a
}
