//! The two JSON objects `tsuku install --json` prints on stdout (tsuku 7b4eba1), read field
//! by field so that one field of the wrong type loses only itself.
//!
//! - [`HostJson`]: `installError` (`cmd/tsuku/install.go`, `handleInstallError`), printed for
//!   every install error, the plan failures of `--sandbox` runs included;
//! - [`SandboxJson`]: `sandboxJSONOutput` (`cmd/tsuku/install_sandbox.go`,
//!   `buildSandboxJSONOutput`, printed by `emitSandboxJSON`) once a container ran or was
//!   skipped.
//!
//! Both come from Go's `printJSON` (`cmd/tsuku/helpers.go`: an encoder with a 2-space
//! indent), but compact JSON reads the same. Stdout that is not exactly one JSON object (empty,
//! help text, extra text) is [`InstallJson::None`].

use serde_json::{Map, Value};

use super::sanitize_names;

/// `installError` (`cmd/tsuku/install.go`): `status`, `category`, `subcategory` (omitted when
/// empty), `message` (the error chain), `missing_recipes`, `install_exit_code` (tsuku's exit
/// code from `classifyInstallError`: 3, 5, 6 or 8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HostJson {
    /// `.status` (`"error"`).
    pub(crate) status: Option<String>,
    /// `.subcategory` (`timeout`, `dns_error`, `tls_error`, `connection_error`), empty when absent.
    pub(crate) subcategory: String,
    /// `.message`, empty when absent.
    pub(crate) message: String,
    /// `.missing_recipes`, sanitised like generation output (spec §4.6); empty unless every
    /// element is a string.
    pub(crate) missing_recipes: Vec<String>,
    /// `.install_exit_code`, `None` when absent or not an integer.
    pub(crate) install_exit_code: Option<i32>,
}

/// `sandboxJSONOutput` (`cmd/tsuku/install_sandbox.go`). The combinations
/// `buildSandboxJSONOutput` writes, and the exit `emitSandboxJSON` gives each:
///
/// | case | `passed` | `install_exit_code` | `verify_exit_code` | `error` | exit |
/// |---|---|---|---|---|---|
/// | passed | true | 0 | 0, or −1 without a verify command | null | 0 |
/// | no container runtime (`Skipped`) | false | −1 | −1 | `no container runtime available (install Podman or Docker)` | 0 |
/// | container did not run (`result.Error`) | false | −1 | −1 | `container execution failed: …` / `container execution timed out: …` | 6 |
/// | install step failed | false | N ≠ 0 | −1 | `installation failed with exit code N` | 6 |
/// | verify step failed | false | 0 | N | `verification failed with exit code N` | 6 |
///
/// `install_output` (container stdout then stderr) accompanies the middle two failures and
/// `verify_output` the last; both are tails of at most 16 KiB with `--env` values masked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SandboxJson {
    /// `.tool`.
    pub(crate) tool: String,
    /// `.passed`: install and verify both succeeded.
    pub(crate) passed: bool,
    /// `.verified`.
    pub(crate) verified: bool,
    /// `.install_exit_code`: the container's install step (−1 when none ran).
    pub(crate) install_exit_code: Option<i32>,
    /// `.verify_exit_code` (−1 when no verify step ran).
    pub(crate) verify_exit_code: Option<i32>,
    /// `.install_output`, empty when absent.
    pub(crate) install_output: String,
    /// `.verify_output`, empty when absent.
    pub(crate) verify_output: String,
    /// `.duration_ms`.
    pub(crate) duration_ms: Option<i64>,
    /// `.error`: `None` for null (a pass).
    pub(crate) error: Option<String>,
}

/// What an install's stdout holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InstallJson {
    /// An object with a `passed` key: the sandbox result.
    Sandbox(SandboxJson),
    /// Any other object: the host error object.
    Host(HostJson),
    /// Not exactly one JSON object.
    None,
}

fn string(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn int(o: &Map<String, Value>, key: &str) -> Option<i32> {
    o.get(key)
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
}

/// Parses an install's stdout (see the module docs).
pub(crate) fn parse(stdout: &[u8]) -> InstallJson {
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(stdout) else {
        return InstallJson::None;
    };
    if o.contains_key("passed") {
        return InstallJson::Sandbox(SandboxJson {
            tool: string(&o, "tool").unwrap_or_default(),
            passed: o.get("passed").and_then(Value::as_bool).unwrap_or(false),
            verified: o.get("verified").and_then(Value::as_bool).unwrap_or(false),
            install_exit_code: int(&o, "install_exit_code"),
            verify_exit_code: int(&o, "verify_exit_code"),
            install_output: string(&o, "install_output").unwrap_or_default(),
            verify_output: string(&o, "verify_output").unwrap_or_default(),
            duration_ms: o.get("duration_ms").and_then(Value::as_i64),
            error: string(&o, "error"),
        });
    }
    let missing = match o.get("missing_recipes") {
        Some(Value::Array(a)) => a
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<&str>>>()
            .map(sanitize_names)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    InstallJson::Host(HostJson {
        status: string(&o, "status"),
        subcategory: string(&o, "subcategory").unwrap_or_default(),
        message: string(&o, "message").unwrap_or_default(),
        missing_recipes: missing,
        install_exit_code: int(&o, "install_exit_code"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_and_compact_read_alike() {
        let pretty = "{\n  \"status\": \"error\",\n  \"category\": \"missing_dep\",\n  \"message\": \"m\",\n  \"missing_recipes\": [\n    \"dav1d\",\n    \"../x\"\n  ],\n  \"install_exit_code\": 8\n}\n";
        let compact = r#"{"status":"error","category":"missing_dep","message":"m","missing_recipes":["dav1d","../x"],"install_exit_code":8}"#;
        let want = InstallJson::Host(HostJson {
            status: Some("error".into()),
            subcategory: String::new(),
            message: "m".into(),
            missing_recipes: vec!["dav1d".into()],
            install_exit_code: Some(8),
        });
        assert_eq!(parse(pretty.as_bytes()), want);
        assert_eq!(parse(compact.as_bytes()), want);
    }

    #[test]
    fn anything_but_one_object_is_none() {
        for s in ["", "help text", "[1]", "{\"a\":1} trailing", "5"] {
            assert_eq!(parse(s.as_bytes()), InstallJson::None, "{s:?}");
        }
    }

    #[test]
    fn a_wrong_type_loses_only_its_field() {
        let InstallJson::Host(h) = parse(
            br#"{"subcategory":7,"missing_recipes":["a",1],"install_exit_code":"6","message":"m"}"#,
        ) else {
            panic!("host object")
        };
        assert_eq!(
            (
                h.subcategory.as_str(),
                h.missing_recipes.len(),
                h.install_exit_code,
                h.message.as_str()
            ),
            ("", 0, None, "m")
        );
        let InstallJson::Sandbox(s) =
            parse(br#"{"passed":"yes","install_exit_code":0,"error":null}"#)
        else {
            panic!("sandbox object")
        };
        assert!(!s.passed && s.error.is_none() && s.install_exit_code == Some(0));
    }
}
