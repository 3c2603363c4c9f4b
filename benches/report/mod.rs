//! Shared by the `e2e` and `memory` benches: the result table, the machine and commit
//! description, and the JSON report under `target/bench/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

use serde_json::{Value, json};

/// One line of the table.
pub struct Row {
    figure: String,
    measured: String,
    target: String,
    pub pass: Option<bool>,
}

impl Row {
    pub fn new(
        figure: impl Into<String>,
        measured: String,
        target: String,
        pass: Option<bool>,
    ) -> Self {
        Self {
            figure: figure.into(),
            measured,
            target,
            pass,
        }
    }

    fn result(&self) -> &'static str {
        match self.pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "info",
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"figure": self.figure, "measured": self.measured, "target": self.target, "result": self.result()})
    }
}

pub fn print_table(rows: &[Row]) {
    let header = ["figure", "measured", "target / bound", "result"];
    let cells: Vec<[&str; 4]> = rows
        .iter()
        .map(|r| [&*r.figure, &*r.measured, &*r.target, r.result()])
        .collect();
    let mut width = header.map(|h| h.chars().count());
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: [&str; 4]| {
        let padded: Vec<String> = c
            .iter()
            .zip(width)
            .map(|(s, w)| format!("{s}{}", " ".repeat(w - s.chars().count())))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    println!();
    line(header);
    println!("|{}|", width.map(|w| "-".repeat(w + 2)).join("|"));
    for c in cells {
        line(c);
    }
    println!();
}

/// The commit measured, and whether tracked files differ from it (`null` without git).
pub fn git_head() -> Value {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(MANIFEST_DIR)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match (
        git(&["rev-parse", "HEAD"]),
        git(&["status", "--porcelain", "--untracked-files=no"]),
    ) {
        (Some(commit), Some(status)) => json!({"commit": commit, "dirty": !status.is_empty()}),
        _ => Value::Null,
    }
}

/// CPU model, core count and kernel, for the record.
pub fn machine() -> Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    json!({
        "cpu_model": model,
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "kernel": kernel,
    })
}

/// Writes `value` to `<target dir>/bench/<name>` (an absolute `CARGO_TARGET_DIR`, else the
/// workspace's `target`).
pub fn write_report(name: &str, value: &Value) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| Path::new(MANIFEST_DIR).join("../../target"));
    let dir = target.join("bench");
    fs::create_dir_all(&dir).expect("create target/bench");
    let path = dir.join(name);
    let mut text = serde_json::to_string_pretty(value).expect("report JSON");
    text.push('\n');
    fs::write(&path, text).expect("write report");
    path.canonicalize().unwrap_or(path)
}
