//! Writing a constraint into a recipe's `[metadata]` with `toml_edit` (spec §7.3.3
//! "Insertion", issue #13: a TOML-aware edit instead of sed).
//!
//! - The key is added as the last key of the `[metadata]` table, so it lands right after the
//!   table's last key line, before any blank lines, comments and the next header; the rest of
//!   the file (comments, order, spacing, quoting) is kept byte for byte. The new line takes
//!   the indentation of the table's last key (recipes such as `bison.toml` indent theirs).
//! - If `[metadata]` already has the key, the text is unchanged and the existing value is
//!   reported (spec: "leave the file unchanged"; issue #13: the PR reports the existing one).
//!   Only the same key counts: `supported_libc` does not stop a `supported_os`.
//! - Decision: a recipe without a `metadata` table gets a new `[metadata]` table holding the
//!   key, at the end of the file (tsuku requires `[metadata]`, so this only happens for
//!   hand-made recipes; the spec's shell appended a bare line, which would land in whatever
//!   table came last). A `metadata` that is an inline table gets the key inside it.

use toml_edit::{Array, DocumentMut, Item, Table, TableLike, Value};

use super::constraint::Constraint;

/// What inserting a constraint did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Insertion {
    /// The key was added; `text` is the whole new recipe.
    Inserted {
        /// The new recipe text.
        text: String,
    },
    /// `[metadata]` already has the key; the recipe is unchanged. `value` is the existing
    /// value as written (trimmed), e.g. `["linux"]`.
    Existing {
        /// The existing value.
        value: String,
    },
}

/// Why a constraint could not be inserted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsertError {
    /// The recipe is not TOML (the security gate excludes such recipes first).
    #[error("the recipe does not parse as TOML")]
    Parse {
        /// What the TOML parser found, with its position.
        #[source]
        source: toml_edit::TomlError,
    },
    /// `metadata` exists but is not a table (e.g. `metadata = "x"`).
    #[error("`metadata` is not a table")]
    MetadataNotTable,
}

/// Inserts `constraint` into the `[metadata]` of `text`.
///
/// # Errors
/// [`InsertError::Parse`] when `text` is not TOML, [`InsertError::MetadataNotTable`] when
/// `metadata` is a non-table value.
pub(crate) fn insert_constraint(
    text: &str,
    constraint: &Constraint,
) -> Result<Insertion, InsertError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|source| InsertError::Parse { source })?;
    let key = constraint.key.as_str();
    let values: Array = constraint.values.iter().map(String::as_str).collect();
    let Some(meta) = doc.get_mut("metadata") else {
        let mut table = Table::new();
        table.insert(key, Item::Value(Value::Array(values)));
        doc.insert("metadata", Item::Table(table));
        return Ok(Insertion::Inserted {
            text: doc.to_string(),
        });
    };
    let meta: &mut dyn TableLike = match meta {
        Item::Table(t) => t,
        Item::Value(Value::InlineTable(t)) => {
            if let Some(existing) = existing_value(t.get(key)) {
                return Ok(existing);
            }
            // `{ a = 1 }` → `{ a = 1, key = [...] }`: the space before `}` moves to the end.
            let suffix = t.iter_mut().last().and_then(|(_, v)| {
                let s = v.decor().suffix().cloned();
                v.decor_mut().set_suffix("");
                s
            });
            let mut value = Value::Array(values);
            value.decor_mut().set_prefix(" ");
            if let Some(s) = suffix {
                value.decor_mut().set_suffix(s);
            }
            t.insert(key, value);
            return Ok(Insertion::Inserted {
                text: doc.to_string(),
            });
        }
        _ => return Err(InsertError::MetadataNotTable),
    };
    if let Some(existing) = existing_value(meta.get(key).and_then(Item::as_value)) {
        return Ok(existing);
    }
    if meta.contains_key(key) {
        // A sub-table named like the key (`[metadata.supported_os]`): report it as existing.
        return Ok(Insertion::Existing {
            value: "(a table)".into(),
        });
    }
    let indent = last_key_indent(meta);
    meta.insert(key, Item::Value(Value::Array(values)));
    if let Some(mut k) = meta.key_mut(key) {
        k.leaf_decor_mut().set_prefix(indent);
    }
    Ok(Insertion::Inserted {
        text: doc.to_string(),
    })
}

/// [`Insertion::Existing`] for a present value, written without its comments and spacing.
fn existing_value(value: Option<&Value>) -> Option<Insertion> {
    let mut value = value?.clone();
    value.decor_mut().clear();
    Some(Insertion::Existing {
        value: value.to_string(),
    })
}

/// The whitespace before the last key of the table on its own line (`""` for flush keys).
fn last_key_indent(meta: &dyn TableLike) -> String {
    let Some((last, _)) = meta.iter().last() else {
        return String::new();
    };
    let Some(key) = meta.key(last) else {
        return String::new();
    };
    let prefix = key
        .leaf_decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or("");
    let line = prefix.rsplit('\n').next().unwrap_or("");
    if line.bytes().all(|b| b == b' ' || b == b'\t') {
        line.to_owned()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests;
