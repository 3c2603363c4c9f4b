//! `batch-control.json` (spec §1.2, §6): the kill switch, disabled ecosystems and one circuit
//! breaker per ecosystem. The file is kept as a JSON document so a write-back changes only the
//! breaker fields that moved and keeps every other key, and key order, as it was. The state
//! machine itself is in `breaker`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::control::breaker::{
    self, BatchOutcome, Breaker, BreakerPolicy, BreakerState, Change, EffectiveState, Recovery,
};
use crate::records::jsonfmt;
use batch_base::fs as fsutil;

/// Errors reading or writing the control file.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The file exists but cannot be read.
    #[error("failed to read control file `{path}`")]
    Read {
        /// Control file path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON (Go silently treated this as "all closed"; we refuse to run, spec §9.2.1).
    #[error("failed to parse control file `{path}` at line {line}, column {column}")]
    Parse {
        /// Control file path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// JSON, but a key has the wrong type.
    #[error("invalid control file `{path}`: `{key}` {problem}")]
    Invalid {
        /// Control file path.
        path: PathBuf,
        /// JSON key path such as `circuit_breaker.npm.failures`.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A breaker's `state` is not one of the accepted spellings (issue #12: Go treated any
    /// other string as closed, so a typo silently disabled the breaker; we refuse to run).
    #[error(
        "invalid control file `{path}`: `{key}` is {found:?}; accepted values: {}",
        BreakerState::ACCEPTED.join(", ")
    )]
    UnknownBreakerState {
        /// Control file path.
        path: PathBuf,
        /// JSON key path such as `circuit_breaker.homebrew.state`.
        key: String,
        /// The string found.
        found: String,
    },
    /// The file is a queue (a top-level `entries` array), not a control file: the queue and
    /// control-file paths were probably swapped (issue #12).
    #[error("`{path}` looks like a queue (a top-level `entries` array), not a control file")]
    QueueGiven {
        /// The path given as the control file.
        path: PathBuf,
    },
    /// Writing failed.
    #[error("failed to write control file `{path}`")]
    Write {
        /// Control file path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// A breaker that moved from open to half-open at the start of a run, or was found open with
/// no usable recovery time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryNote {
    /// `opens_at` passed: now half-open (spec §2.2 step 3).
    HalfOpened {
        /// Ecosystem key.
        ecosystem: String,
    },
    /// Open with an empty or missing `opens_at`: stays open.
    NoRecoveryTime {
        /// Ecosystem key.
        ecosystem: String,
    },
    /// Open with an `opens_at` that is not RFC 3339: stays open.
    BadRecoveryTime {
        /// Ecosystem key.
        ecosystem: String,
        /// The text found.
        opens_at: String,
    },
}

/// The control file as loaded, plus what the run changed.
#[derive(Debug, Clone)]
pub struct ControlFile {
    path: PathBuf,
    doc: Map<String, Value>,
    existed: bool,
    dirty: bool,
    /// Master kill switch (`enabled`, default true). When false no entry runs.
    pub enabled: bool,
    /// Ecosystems paused by an operator (`disabled_ecosystems`).
    pub disabled_ecosystems: BTreeSet<String>,
    /// `reason` shown when the kill switch is off.
    pub reason: Option<String>,
    /// Breakers by ecosystem key (`circuit_breaker`), including `default`.
    pub breakers: BTreeMap<String, Breaker>,
}

impl ControlFile {
    /// Reads the control file. A missing file is "enabled, every breaker closed"
    /// ([`ControlFile::existed`] is then false so the caller can warn).
    ///
    /// # Errors
    /// [`ControlError::Read`], [`ControlError::Parse`] (with line and column) or
    /// [`ControlError::Invalid`] (with the key path) for a file that exists but is not a valid
    /// control file.
    pub fn load(path: &Path) -> Result<Self, ControlError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::from_slice(path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                path: path.to_owned(),
                doc: Map::new(),
                existed: false,
                dirty: false,
                enabled: true,
                disabled_ecosystems: BTreeSet::new(),
                reason: None,
                breakers: BTreeMap::new(),
            }),
            Err(source) => Err(ControlError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses control-file bytes; `path` only labels errors.
    ///
    /// # Errors
    /// As [`ControlFile::load`].
    pub fn from_slice(path: &Path, bytes: &[u8]) -> Result<Self, ControlError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|source| ControlError::Parse {
            path: path.to_owned(),
            line: source.line(),
            column: source.column(),
            source,
        })?;
        let invalid = |key: &str, problem: &str| ControlError::Invalid {
            path: path.to_owned(),
            key: key.to_owned(),
            problem: problem.to_owned(),
        };
        let Value::Object(doc) = value else {
            return Err(invalid("$", "must be a JSON object"));
        };
        // A queue's only required key; a control file never has it (spec §1.1, §1.2).
        if doc.get("entries").is_some_and(Value::is_array) {
            return Err(ControlError::QueueGiven {
                path: path.to_owned(),
            });
        }
        let enabled = match doc.get("enabled") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("enabled", "must be true or false")),
        };
        let mut disabled_ecosystems = BTreeSet::new();
        match doc.get("disabled_ecosystems") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let Value::String(s) = item else {
                        return Err(invalid(
                            &format!("disabled_ecosystems[{i}]"),
                            "must be a string",
                        ));
                    };
                    disabled_ecosystems.insert(s.clone());
                }
            }
            Some(_) => {
                return Err(invalid(
                    "disabled_ecosystems",
                    "must be an array of strings",
                ));
            }
        }
        let reason = match doc.get("reason") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        let mut breakers = BTreeMap::new();
        match doc.get("circuit_breaker") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (eco, v) in m {
                    let key = format!("circuit_breaker.{eco}");
                    let breaker = parse_breaker(&key, v).map_err(|e| match e {
                        BreakerProblem::Invalid { key, problem } => invalid(&key, &problem),
                        BreakerProblem::UnknownState { key, found } => {
                            ControlError::UnknownBreakerState {
                                path: path.to_owned(),
                                key,
                                found,
                            }
                        }
                    })?;
                    breakers.insert(eco.clone(), breaker);
                }
            }
            Some(_) => {
                return Err(invalid(
                    "circuit_breaker",
                    "must be an object of ecosystem breakers",
                ));
            }
        }
        Ok(Self {
            path: path.to_owned(),
            doc,
            existed: true,
            dirty: false,
            enabled,
            disabled_ecosystems,
            reason,
            breakers,
        })
    }

    /// Whether the file existed when loaded.
    pub fn existed(&self) -> bool {
        self.existed
    }

    /// Whether a transition changed the document since it was loaded.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// A top-level value of the document as loaded (e.g. `budget`), for readers of keys this
    /// module does not interpret.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.doc.get(key)
    }

    /// The path the file was loaded from and is saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The effective state of every breaker, for selection (spec §3).
    pub fn states(&self) -> BTreeMap<String, EffectiveState> {
        self.breakers
            .iter()
            .map(|(k, b)| (k.clone(), b.state.effective()))
            .collect()
    }

    /// Turns every open breaker whose `opens_at` has passed into half-open (spec §2.2 step 3,
    /// §6.2), in ecosystem-name order, and reports open breakers that cannot recover.
    pub fn apply_due_recoveries(&mut self, now: Timestamp) -> Vec<RecoveryNote> {
        let mut notes = Vec::new();
        let ecos: Vec<String> = self.breakers.keys().cloned().collect();
        for eco in ecos {
            let b = &self.breakers[&eco];
            match breaker::recovery(b, now) {
                Recovery::Due => {
                    let mut next = b.clone();
                    next.state = BreakerState::HalfOpen;
                    self.store(&eco, next);
                    notes.push(RecoveryNote::HalfOpened { ecosystem: eco });
                }
                Recovery::NoRecoveryTime => {
                    notes.push(RecoveryNote::NoRecoveryTime { ecosystem: eco })
                }
                Recovery::Unparseable(opens_at) => notes.push(RecoveryNote::BadRecoveryTime {
                    ecosystem: eco,
                    opens_at,
                }),
                Recovery::NotOpen | Recovery::NotYet(_) => {}
            }
        }
        notes
    }

    /// Applies one ecosystem's batch-level outcome (spec §6.4) and returns what changed.
    pub fn record_batch(
        &mut self,
        ecosystem: &str,
        outcome: BatchOutcome,
        now: Timestamp,
        policy: &BreakerPolicy,
    ) -> Change {
        let current = self.breakers.get(ecosystem).cloned().unwrap_or_default();
        let (next, change) = breaker::apply(&current, outcome, now, policy);
        if change != Change::None {
            self.store(ecosystem, next);
        }
        change
    }

    /// Sets an ecosystem's breaker to exactly `next` (replaying a journal, issue #4); only
    /// the fields that differ are written back.
    pub fn set_breaker(&mut self, ecosystem: &str, next: Breaker) {
        self.store(ecosystem, next);
    }

    fn store(&mut self, eco: &str, next: Breaker) {
        let old = self.breakers.get(eco).cloned();
        if old.as_ref() == Some(&next) {
            return;
        }
        self.dirty = true;
        let cb = self
            .doc
            .entry("circuit_breaker")
            .or_insert_with(|| Value::Object(Map::new()));
        if !cb.is_object() {
            *cb = Value::Object(Map::new());
        }
        let cb = cb.as_object_mut().expect("made an object above");
        let slot = cb
            .entry(eco.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        let obj = slot
            .as_object_mut()
            .expect("breakers were checked to be objects on load");
        let old = old.unwrap_or_default();
        // Only the fields that moved are written, so untouched keys keep their place and
        // spelling (a `default` breaker without `opens_at` does not gain one).
        if old.state != next.state || !obj.contains_key("state") {
            obj.insert(
                "state".into(),
                Value::String(next.state.as_str().to_owned()),
            );
        }
        if old.failures != next.failures || !obj.contains_key("failures") {
            obj.insert("failures".into(), Value::from(next.failures));
        }
        if let Some(v) = next
            .last_failure
            .as_ref()
            .filter(|_| old.last_failure != next.last_failure)
        {
            obj.insert("last_failure".into(), Value::String(v.clone()));
        }
        if let Some(v) = next
            .opens_at
            .as_ref()
            .filter(|_| old.opens_at != next.opens_at)
        {
            obj.insert("opens_at".into(), Value::String(v.clone()));
        }
        self.breakers.insert(eco.to_owned(), next);
    }

    /// The document as it would be written: Go-style pretty JSON with a trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let doc = if self.existed {
            self.doc.clone()
        } else {
            // A control file created by the tool starts from the documented shape.
            let mut m = Map::new();
            m.insert("enabled".into(), Value::Bool(true));
            m.insert("disabled_ecosystems".into(), Value::Array(Vec::new()));
            for (k, v) in &self.doc {
                m.insert(k.clone(), v.clone());
            }
            m
        };
        jsonfmt::to_pretty(&doc).expect("JSON values always serialise")
    }

    /// Atomically writes the document back to its path when a transition changed it; returns
    /// whether a write happened.
    ///
    /// # Errors
    /// [`ControlError::Write`] naming the path.
    pub fn save_if_changed(&mut self) -> Result<bool, ControlError> {
        if !self.dirty {
            return Ok(false);
        }
        fsutil::write_atomic(&self.path, &self.to_bytes(), false).map_err(|source| {
            ControlError::Write {
                path: self.path.clone(),
                source,
            }
        })?;
        self.dirty = false;
        self.existed = true;
        Ok(true)
    }
}

/// What is wrong with one breaker object, before the file path is attached.
enum BreakerProblem {
    Invalid { key: String, problem: String },
    UnknownState { key: String, found: String },
}

fn parse_breaker(key: &str, v: &Value) -> Result<Breaker, BreakerProblem> {
    let invalid = |key: String, problem: &str| BreakerProblem::Invalid {
        key,
        problem: problem.to_owned(),
    };
    let Value::Object(m) = v else {
        return Err(invalid(key.to_owned(), "must be an object"));
    };
    let text = |field: &str| -> Result<Option<String>, BreakerProblem> {
        match m.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!("{key}.{field}"), "must be a string")),
        }
    };
    // A missing `state` is a closed breaker (spec §6.1); a present one must be spelled right.
    let state = match text("state")? {
        None => BreakerState::Closed,
        Some(s) => BreakerState::parse(&s).ok_or_else(|| BreakerProblem::UnknownState {
            key: format!("{key}.state"),
            found: s,
        })?,
    };
    let failures = match m.get("failures") {
        None | Some(Value::Null) => 0,
        Some(n) => n
            .as_i64()
            .ok_or_else(|| invalid(format!("{key}.failures"), "must be an integer"))?,
    };
    Ok(Breaker {
        state,
        failures,
        last_failure: text("last_failure")?,
        opens_at: text("opens_at")?,
    })
}

#[cfg(test)]
mod tests;
