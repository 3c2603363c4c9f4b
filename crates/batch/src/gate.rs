//! The `run_command` security gate (spec §7.3.2 step 2, issue #13). `validate` applies it
//! before installing a recipe on any platform (a generated shell command never runs on a
//! runner, sandboxed or not), and `aggregate` applies it again before deciding a recipe's fate.
//!
//! The shell version greps `action.*=.*"run_command"`: it misses single-quoted, escaped and
//! multi-line strings, and fires on comments. Here the recipe is parsed as TOML (`toml_edit`)
//! and every key named `action`, at any depth (top level, tables, arrays of tables, inline
//! tables, arrays of inline tables, dotted keys), is compared by its *decoded* string value. A
//! recipe that does not parse is rejected too (fail closed). Comments are never values, so a
//! comment mentioning `run_command` passes.

use std::fmt;

use toml_edit::{DocumentMut, Item, Value};

/// The action the gate refuses.
pub(crate) const FORBIDDEN_ACTION: &str = "run_command";

/// Why the gate rejected a recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateFailure {
    /// An `action` key has the value `run_command`; `at` is its dotted key path with array
    /// indices, e.g. `steps[2].action` (0-based).
    RunCommand {
        /// Where the action is.
        at: String,
    },
    /// The recipe is not valid TOML; `message` is the parser's (with line and column).
    Unparsable {
        /// The parse error.
        message: String,
    },
}

impl fmt::Display for GateFailure {
    /// The exclusion reason of the PR text and the report: `contains run_command action at
    /// steps[0].action (security gate)` or `does not parse as TOML (security gate): ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateFailure::RunCommand { at } => {
                write!(f, "contains run_command action at {at} (security gate)")
            }
            GateFailure::Unparsable { message } => {
                let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
                write!(f, "does not parse as TOML (security gate): {one_line}")
            }
        }
    }
}

/// Screens one recipe's text.
///
/// # Errors
/// [`GateFailure::RunCommand`] for the first `action = "run_command"` in document order
/// (an `action` array holding that string counts too, fail closed), [`GateFailure::Unparsable`]
/// when the text is not TOML.
pub fn check(text: &str) -> Result<(), GateFailure> {
    let doc: DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| GateFailure::Unparsable {
                message: e.to_string(),
            })?;
    match find_in_table(doc.as_table().iter(), "") {
        Some(at) => Err(GateFailure::RunCommand { at }),
        None => Ok(()),
    }
}

fn join(prefix: &str, key: &str) -> String {
    let key = if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

fn find_in_table<'a>(
    items: impl Iterator<Item = (&'a str, &'a Item)>,
    path: &str,
) -> Option<String> {
    for (key, item) in items {
        let here = join(path, key);
        let hit = match item {
            Item::None => None,
            Item::Value(v) => find_in_value(key, v, &here),
            Item::Table(t) => find_in_table(t.iter(), &here),
            Item::ArrayOfTables(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, t)| find_in_table(t.iter(), &format!("{here}[{i}]"))),
        };
        if hit.is_some() {
            return hit;
        }
    }
    None
}

fn find_in_value(key: &str, value: &Value, here: &str) -> Option<String> {
    if key == "action" && is_forbidden(value) {
        return Some(here.to_owned());
    }
    match value {
        Value::InlineTable(t) => t
            .iter()
            .find_map(|(k, v)| find_in_value(k, v, &join(here, k))),
        Value::Array(a) => a.iter().enumerate().find_map(|(i, v)| match v {
            Value::InlineTable(t) => {
                let at = format!("{here}[{i}]");
                t.iter()
                    .find_map(|(k, v)| find_in_value(k, v, &join(&at, k)))
            }
            Value::Array(_) => find_in_value("", v, &format!("{here}[{i}]")),
            _ => None,
        }),
        _ => None,
    }
}

fn is_forbidden(value: &Value) -> bool {
    match value {
        Value::String(s) => s.value() == FORBIDDEN_ACTION,
        Value::Array(a) => a.iter().any(is_forbidden),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<String> {
        match check(text) {
            Ok(()) => None,
            Err(GateFailure::RunCommand { at }) => Some(at),
            Err(e) => panic!("unexpected {e} for {text}"),
        }
    }

    #[test]
    fn every_way_of_writing_run_command_is_caught() {
        let cases: &[(&str, &str)] = &[
            ("[[steps]]\naction = \"run_command\"\n", "steps[0].action"),
            (
                "[[steps]]\naction = \"homebrew\"\n[[steps]]\naction = 'run_command'\n",
                "steps[1].action",
            ),
            (
                "[[steps]]\naction = \"run\\u005Fcommand\"\n",
                "steps[0].action",
            ),
            (
                "[[steps]]\naction = \"run\\U0000005fcommand\"\n",
                "steps[0].action",
            ),
            (
                "[[steps]]\naction = \"\"\"run_command\"\"\"\n",
                "steps[0].action",
            ),
            ("[[steps]]\naction = '''run_command'''\n", "steps[0].action"),
            (
                "[[steps]]\naction = \"\"\"\\\n  run_command\"\"\"\n",
                "steps[0].action",
            ),
            ("action = \"run_command\"\n", "action"),
            (
                "[metadata]\nname = \"x\"\n[x.y.z]\naction = \"run_command\"\n",
                "x.y.z.action",
            ),
            ("steps.action = \"run_command\"\n", "steps.action"),
            ("[a]\nb.c.action = \"run_command\"\n", "a.b.c.action"),
            ("steps = [{action = \"run_command\"}]\n", "steps[0].action"),
            (
                "steps = [{action = \"x\"}, {action = 'run_command'}]\n",
                "steps[1].action",
            ),
            (
                "step = {inner = {action = \"run_command\"}}\n",
                "step.inner.action",
            ),
            ("\"action\" = \"run_command\"\n", "action"),
            ("'action' = \"run_command\"\n", "action"),
            (
                "[[steps]]\n\"act\\u0069on\" = \"run_command\"\n",
                "steps[0].action",
            ),
            ("[[steps]]\naction = [\"run_command\"]\n", "steps[0].action"),
            (
                "[[a]]\n[[a.b]]\naction = \"run_command\"\n",
                "a[0].b[0].action",
            ),
            ("x = [[{action = \"run_command\"}]]\n", "x[0][0].action"),
        ];
        for (text, want) in cases {
            assert_eq!(at(text).as_deref(), Some(*want), "{text}");
        }
    }

    #[test]
    fn look_alikes_pass() {
        for text in [
            "# action = \"run_command\"\n[[steps]]\naction = \"homebrew\"\n",
            "[[steps]]\naction = \"homebrew\" # then action = \"run_command\"\n",
            "[[steps]]\naction = \"run_command_safe\"\n",
            "[[steps]]\naction = \"Run_Command\"\n",
            "[[steps]]\ncommand = \"run_command\"\n",
            "[verify]\ncommand = \"echo 'action = \\\"run_command\\\"'\"\n",
            "[[steps]]\nactions = \"run_command\"\n",
            "[[steps]]\naction = \"homebrew\"\nnote = \"\"\"\naction = \"run_command\"\n\"\"\"\n",
            "",
        ] {
            assert_eq!(at(text), None, "{text}");
        }
    }

    #[test]
    fn unparsable_recipes_fail_closed() {
        for text in [
            "[[steps]\naction = \"homebrew\"\n",
            "a = 1\na = 2\n",
            "action = \"run_command",
            "\u{0}",
        ] {
            let err = check(text).unwrap_err();
            assert!(
                matches!(err, GateFailure::Unparsable { .. }),
                "{text:?}: {err:?}"
            );
            let reason = err.to_string();
            assert!(reason.starts_with("does not parse as TOML (security gate): "));
            assert!(!reason.contains('\n'), "{reason}");
        }
    }

    #[test]
    fn reason_names_the_key() {
        let err = check("[[steps]]\naction = 'run_command'\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "contains run_command action at steps[0].action (security gate)"
        );
    }

    proptest::proptest! {
        /// No input panics the gate; TOML-ish fragments reach the walker.
        #[test]
        fn never_panics(text in "(\\[\\[?[a-z.]{0,6}\\]{0,2}\n|[a-z.\"']{0,8} ?= ?[\\[{\"'a-z_,}\\] ]{0,20}\n|#.*\n|.{0,10}){0,8}") {
            let _ = check(&text);
        }
    }
}
