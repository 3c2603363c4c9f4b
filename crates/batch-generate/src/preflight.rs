//! `batch-generate preflight` (issue #6): decides whether tonight's batch runs, assigns its
//! batch ID and splits its candidates into shards for a GitHub Actions matrix. Prints the plan;
//! writes `key=value` lines to `$GITHUB_OUTPUT` when that is set; writes nothing else but the
//! control file, when a breaker is due to move from open to half-open.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Context as _;
use batch::control::budget::{BudgetLimits, BudgetState, BudgetUse, assess};
use batch::run::lock::{LockError, RunLock};
use batch::shard::batchid;
use batch::shard::shard_of;
use batch::{Config, run};
use batch_base::clock::{Clock, SystemClock};
use serde_json::{Value, json};

use crate::cli::PreflightArgs;
use crate::exit;

/// Runs `preflight`; returns the exit code.
///
/// # Errors
/// Bad input (queue, control file) and write errors (control file, `$GITHUB_OUTPUT`).
pub fn run(args: &PreflightArgs) -> anyhow::Result<i32> {
    let mut config = Config::new();
    args.files.apply(&mut config);
    args.selection.apply(&mut config);
    let clock = SystemClock;

    // Validate before locking, as the main job does, so bad input writes nothing at all.
    run::plan(&config, &clock)?;
    let _lock = match RunLock::acquire(&config.queue) {
        Ok(l) => l,
        Err(e @ LockError::Held { .. }) => {
            eprintln!("error: {e}\nhint: a batch is running on this queue; try again later");
            return Ok(exit::LOCKED);
        }
        Err(e) => return Err(e.into()),
    };
    let mut plan = run::plan(&config, &clock)?;

    let limits = BudgetLimits {
        macos_weekly_minutes: args.budget_macos_minutes,
        linux_weekly_minutes: args.budget_linux_minutes,
        sample_above: args.budget_sample_above,
        skip_above: args.budget_skip_above,
    };
    let budget = assess(BudgetUse::from_block(plan.control.get("budget")), &limits);
    let skip_reason = if plan.kill_switch {
        Some(format!(
            "batch generation is disabled in `{}` (reason: {})",
            config.control_file.display(),
            plan.control.reason.as_deref().unwrap_or("none given")
        ))
    } else if let BudgetState::Exhausted { used } = budget {
        Some(format!(
            "weekly CI budget {:.0} % used (skip above {:.0} %)",
            used * 100.0,
            limits.skip_above * 100.0
        ))
    } else if plan.selection.candidates.is_empty() {
        Some("no candidates".to_owned())
    } else {
        None
    };

    let today = batch::records::timestamp::utc_date(clock.now());
    let label = batchid::label(&config.select.ecosystems);
    let mut used = batchid::history(&config.results, &args.metrics_dir);
    used.extend(args.used_batch_ids.iter().map(|s| s.trim().to_owned()));
    let batch_id = batchid::next(&today, &label, used.iter().map(String::as_str));

    // Candidates per shard, in selection order.
    let mut shards: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    if skip_reason.is_none() {
        for c in &plan.selection.candidates {
            let name = &plan.queue.entries[c.index].name;
            shards
                .entry(shard_of(name, args.shards))
                .or_default()
                .push(c.index);
        }
    }
    let counts: BTreeMap<String, usize> = if skip_reason.is_none() {
        plan.counts()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    } else {
        BTreeMap::new()
    };

    // The half-open moves are part of the plan the shards run with; persist them (the kill
    // switch stops everything, this included).
    if !plan.kill_switch {
        plan.control.save_if_changed()?;
    }
    for note in &plan.recovery {
        if let batch::control::RecoveryNote::HalfOpened { ecosystem } = note {
            tracing::info!("Circuit breaker half-open for {ecosystem} (recovery timeout elapsed)");
        }
    }

    let sampling = matches!(budget, BudgetState::Sampling { .. });
    let shard_list: Vec<u32> = shards.keys().copied().collect();
    let total: usize = shards.values().map(Vec::len).sum();
    let doc = json!({
        "skip": skip_reason.is_some(),
        "reason": skip_reason,
        "batch_id": batch_id,
        "planned_at": batch::records::timestamp::Rfc3339::utc(plan.started).to_string(),
        "shard_count": args.shards,
        "shards": shard_list,
        "candidates": total,
        "per_ecosystem": counts,
        "sampling": sampling,
        "budget_used": match budget {
            BudgetState::Ok => Value::Null,
            BudgetState::Sampling { used } | BudgetState::Exhausted { used } => json!(used),
        },
        "plan": shards.iter().map(|(k, idx)| (k.to_string(), idx.iter().map(|i| {
            let e = &plan.queue.entries[*i];
            json!({"index": i, "name": e.name, "source": e.source, "ecosystem": e.ecosystem()})
        }).collect::<Vec<_>>())).collect::<BTreeMap<_, _>>(),
    });

    if let Some(path) = std::env::var_os("GITHUB_OUTPUT") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "failed to open $GITHUB_OUTPUT `{}`",
                    std::path::Path::new(&path).display()
                )
            })?;
        f.write_all(github_output(&doc).as_bytes())
            .with_context(|| {
                format!(
                    "failed to write $GITHUB_OUTPUT `{}`",
                    std::path::Path::new(&path).display()
                )
            })?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("JSON values serialise")
        );
    } else {
        print!("{}", render(&doc));
    }
    Ok(exit::SUCCESS)
}

/// The `key=value` lines for `$GITHUB_OUTPUT`: `skip`, `reason`, `batch_id`, `planned_at` (the
/// plan time every shard passes as `--planned-at`), `shards` (a JSON array for
/// `strategy.matrix`), `candidates`, `sampling`, `per_ecosystem` (compact JSON).
/// Values are single-line by construction.
pub fn github_output(doc: &Value) -> String {
    let compact = |k: &str| serde_json::to_string(&doc[k]).expect("JSON values serialise");
    let text = |k: &str| match &doc[k] {
        Value::String(s) => s.replace(['\n', '\r'], " "),
        Value::Null => String::new(),
        v => v.to_string(),
    };
    let mut out = String::new();
    for (key, value) in [
        ("skip", text("skip")),
        ("reason", text("reason")),
        ("batch_id", text("batch_id")),
        ("planned_at", text("planned_at")),
        ("shards", compact("shards")),
        ("candidates", text("candidates")),
        ("sampling", text("sampling")),
        ("per_ecosystem", compact("per_ecosystem")),
    ] {
        let _ = writeln!(out, "{key}={value}");
    }
    out
}

fn render(doc: &Value) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Batch {}", doc["batch_id"].as_str().unwrap_or_default());
    if doc["skip"] == true {
        let _ = writeln!(s, "Skip: {}", doc["reason"].as_str().unwrap_or_default());
        return s;
    }
    let _ = writeln!(
        s,
        "{} candidate(s) in {} of {} shard(s){}",
        doc["candidates"],
        doc["shards"].as_array().map_or(0, Vec::len),
        doc["shard_count"],
        if doc["sampling"] == true {
            "; budget above the sampling threshold"
        } else {
            ""
        }
    );
    if let Some(plan) = doc["plan"].as_object() {
        for (k, entries) in plan {
            let _ = writeln!(s, "\nShard {k}/{}:", doc["shard_count"]);
            for e in entries.as_array().into_iter().flatten() {
                let _ = writeln!(
                    s,
                    "  {:<12} {}",
                    e["ecosystem"].as_str().unwrap_or_default(),
                    e["name"].as_str().unwrap_or_default()
                );
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_output_lines() {
        let doc = json!({
            "skip": false, "reason": null, "batch_id": "2026-11-24-all-002", "planned_at": "2026-11-24T03:00:00Z",
            "shards": [1, 3], "candidates": 5, "sampling": true,
            "per_ecosystem": {"npm": 2, "pypi": 3},
        });
        assert_eq!(
            github_output(&doc),
            "skip=false\nreason=\nbatch_id=2026-11-24-all-002\nplanned_at=2026-11-24T03:00:00Z\nshards=[1,3]\ncandidates=5\nsampling=true\nper_ecosystem={\"npm\":2,\"pypi\":3}\n"
        );
        let skip = json!({"skip": true, "reason": "two\nlines", "batch_id": "x", "shards": [], "candidates": 0, "sampling": false, "per_ecosystem": {}});
        assert!(github_output(&skip).contains("reason=two lines\n"));
        assert!(github_output(&skip).contains("shards=[]\n"));
    }
}
