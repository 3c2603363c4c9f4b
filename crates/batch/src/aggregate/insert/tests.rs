//! Tests of [`crate::aggregate::insert`]: hand-made edge cases, insta snapshots on real tsuku recipes,
//! and every constraint kind over all of tsuku's 74 sample recipes (`testdata/tsuku/recipes-sample`).

use std::path::PathBuf;

use crate::aggregate::constraint::{Constraint, ConstraintKey};
use crate::aggregate::insert::{InsertError, Insertion, insert_constraint};

fn c(key: ConstraintKey, values: &[&str]) -> Constraint {
    Constraint {
        key,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn os_linux() -> Constraint {
    c(ConstraintKey::SupportedOs, &["linux"])
}

fn inserted(text: &str, constraint: &Constraint) -> String {
    match insert_constraint(text, constraint).unwrap() {
        Insertion::Inserted { text } => text,
        other => panic!("expected an insertion, got {other:?}"),
    }
}

#[test]
fn lands_after_the_last_metadata_key() {
    let text =
        "# top\n[metadata]\nname = \"x\" # keep\n\n# about steps\n[[steps]]\naction = \"a\"\n";
    assert_eq!(
        inserted(text, &os_linux()),
        "# top\n[metadata]\nname = \"x\" # keep\nsupported_os = [\"linux\"]\n\n# about steps\n[[steps]]\naction = \"a\"\n"
    );
}

#[test]
fn keeps_the_indentation_of_the_table() {
    let text = "[metadata]\n  name = \"x\"\n  tier = 0\n\n[verify]\n  command = \"x\"\n";
    assert_eq!(
        inserted(
            text,
            &c(
                ConstraintKey::UnsupportedPlatforms,
                &["linux/arm64", "darwin/amd64"]
            )
        ),
        "[metadata]\n  name = \"x\"\n  tier = 0\n  unsupported_platforms = [\"linux/arm64\", \"darwin/amd64\"]\n\n[verify]\n  command = \"x\"\n"
    );
}

#[test]
fn an_existing_key_leaves_the_text_unchanged() {
    let text = "[metadata]\nname = \"x\"\nsupported_os = [ \"darwin\" ] # why\n";
    assert_eq!(
        insert_constraint(text, &os_linux()).unwrap(),
        Insertion::Existing {
            value: "[ \"darwin\" ]".into()
        }
    );
    // Another constraint key does not count as the same key.
    let text = "[metadata]\nname = \"x\"\nsupported_libc = [\"glibc\"]\n";
    assert_eq!(
        inserted(text, &os_linux()),
        "[metadata]\nname = \"x\"\nsupported_libc = [\"glibc\"]\nsupported_os = [\"linux\"]\n"
    );
}

#[test]
fn no_trailing_newline_and_metadata_last() {
    let text = "[[steps]]\naction = \"a\"\n\n[metadata]\nname = \"x\"";
    let out = inserted(text, &os_linux());
    assert_eq!(
        out,
        "[[steps]]\naction = \"a\"\n\n[metadata]\nname = \"x\"\nsupported_os = [\"linux\"]\n"
    );
}

#[test]
fn missing_or_odd_metadata() {
    // Decision: no metadata table → a new one at the end.
    let out = inserted("[[steps]]\naction = \"a\"\n", &os_linux());
    assert_eq!(
        out,
        "[[steps]]\naction = \"a\"\n\n[metadata]\nsupported_os = [\"linux\"]\n"
    );
    let out = inserted("metadata = { name = \"x\" }\n", &os_linux());
    assert_eq!(
        out,
        "metadata = { name = \"x\", supported_os = [\"linux\"] }\n"
    );
    assert_eq!(
        insert_constraint("metadata = 1\n", &os_linux()),
        Err(InsertError::MetadataNotTable)
    );
    assert!(matches!(
        insert_constraint("[metadata\n", &os_linux()),
        Err(InsertError::Parse { .. })
    ));
}

fn samples_dir() -> PathBuf {
    batch_testkit::tsuku_data::fixture("recipes-sample")
}

fn sample(rel: &str) -> String {
    std::fs::read_to_string(samples_dir().join(rel)).unwrap()
}

fn all_samples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for letter in std::fs::read_dir(samples_dir()).unwrap() {
        let letter = letter.unwrap().path();
        if !letter.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&letter).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "toml") {
                let rel = f.strip_prefix(samples_dir()).unwrap().display().to_string();
                out.push((rel, std::fs::read_to_string(&f).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn snapshot(rel: &str, constraint: &Constraint) -> String {
    match insert_constraint(&sample(rel), constraint).unwrap() {
        Insertion::Inserted { text } => text,
        Insertion::Existing { value } => format!("(unchanged; existing value {value})"),
    }
}

#[test]
fn real_recipes_snapshots() {
    let unsupported = c(
        ConstraintKey::UnsupportedPlatforms,
        &["linux/arm64", "linux/arch/amd64"],
    );
    let glibc = c(ConstraintKey::SupportedLibc, &["glibc"]);
    // Comments between tables, inline tables in steps.
    insta::assert_snapshot!("jq_supported_os", snapshot("j/jq.toml", &os_linux()));
    // A comment right above the last metadata key.
    insta::assert_snapshot!(
        "goreleaser_unsupported",
        snapshot("g/goreleaser.toml", &unsupported)
    );
    // Indented keys, with an existing unsupported_platforms.
    insta::assert_snapshot!(
        "massdriver_supported_libc",
        snapshot("m/massdriver.toml", &glibc)
    );
    insta::assert_snapshot!(
        "massdriver_existing",
        snapshot("m/massdriver.toml", &unsupported)
    );
    // Existing supported_os (flush keys).
    insta::assert_snapshot!(
        "qrencode_existing",
        snapshot("q/qrencode.toml", &os_linux())
    );
    // Indented keys and an unindented supported_libc written by the shell's sed.
    insta::assert_snapshot!("bison_supported_os", snapshot("b/bison.toml", &os_linux()));
}

/// Every recipe either keeps its bytes (key already there) or gains exactly one line, the
/// constraint, inside `[metadata]`; the result still parses.
#[test]
fn every_sample_recipe_keeps_its_bytes_or_gains_one_line() {
    let samples = all_samples();
    assert_eq!(samples.len(), 74, "the sample holds 74 recipes");
    let kinds = [
        os_linux(),
        c(ConstraintKey::SupportedLibc, &["glibc"]),
        c(
            ConstraintKey::UnsupportedPlatforms,
            &["linux/arm64", "darwin/amd64"],
        ),
    ];
    let mut inserted_count = 0;
    for constraint in &kinds {
        let key = constraint.key.as_str();
        for (rel, text) in &samples {
            let new = match insert_constraint(text, constraint).unwrap() {
                Insertion::Existing { .. } => {
                    let doc: toml_edit::DocumentMut = text.parse().unwrap();
                    assert!(doc["metadata"].get(key).is_some(), "{rel}");
                    continue;
                }
                Insertion::Inserted { text: new } => {
                    let doc: toml_edit::DocumentMut = text.parse().unwrap();
                    assert!(doc["metadata"].get(key).is_none(), "{rel}: {key} was there");
                    new
                }
            };
            inserted_count += 1;
            let old_lines: Vec<&str> = text.lines().collect();
            let new_lines: Vec<&str> = new.lines().collect();
            assert_eq!(new_lines.len(), old_lines.len() + 1, "{rel}: {key}");
            let at = old_lines
                .iter()
                .zip(&new_lines)
                .position(|(a, b)| a != b)
                .unwrap_or(old_lines.len());
            assert_eq!(new_lines[at].trim(), constraint.to_string(), "{rel}");
            assert_eq!(&new_lines[..at], &old_lines[..at], "{rel}");
            assert_eq!(&new_lines[at + 1..], &old_lines[at..], "{rel}");
            if text.ends_with('\n') {
                assert!(new.ends_with('\n'), "{rel}");
            }
            let doc: toml_edit::DocumentMut = new.parse().unwrap();
            let got = doc["metadata"][key].as_array().unwrap();
            let got: Vec<&str> = got.iter().map(|v| v.as_str().unwrap()).collect();
            assert_eq!(got, constraint.values, "{rel}");
        }
    }
    assert!(
        inserted_count > 150,
        "most recipes gain a line: {inserted_count}"
    );
}

proptest::proptest! {
    /// No input panics the insertion, and an inserted text always parses again.
    #[test]
    fn insertion_never_panics_and_output_parses(text in "(\\[\\[?[a-z.]{0,9}\\]{0,2}\n|[a-z._]{0,8} ?= ?[\\[{\"'a-z_,0-9}\\] ]{0,20}\n|#.*\n| *\n){0,8}") {
        if let Ok(Insertion::Inserted { text }) = insert_constraint(&text, &os_linux()) {
            proptest::prop_assert!(text.parse::<toml_edit::DocumentMut>().is_ok(), "{}", text);
        }
    }
}
