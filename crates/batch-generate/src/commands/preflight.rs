//! `batch-generate preflight` (issue #6): plans tonight's batch through the library
//! ([`batch::shard::plan_batch`]), prints it as text or `--json`, and appends its `key=value`
//! lines to `$GITHUB_OUTPUT` when that is set.

use batch::Config;
use batch::clock::SystemClock;
use batch::control::budget::BudgetLimits;
use batch::shard::{PreflightOptions, plan_batch};

use crate::cli::PreflightArgs;
use crate::error::Hint;
use crate::exit::Ending;
use crate::github;
use crate::render::json::{PreflightDoc, preflight_outputs};
use crate::render::{print_json, text};

/// Runs `preflight`.
///
/// # Errors
/// Bad input (queue, control file), another run holding the lock, and write errors (control
/// file, `$GITHUB_OUTPUT`).
pub fn run(args: &PreflightArgs) -> anyhow::Result<Ending> {
    let mut config = Config::new();
    args.files.apply(&mut config);
    args.selection.apply(&mut config);
    let opts = PreflightOptions {
        shards: args.shards,
        metrics_dir: args.metrics_dir.clone(),
        used_batch_ids: args.used_batch_ids.clone(),
        budget: BudgetLimits {
            macos_weekly_minutes: args.budget_macos_minutes,
            linux_weekly_minutes: args.budget_linux_minutes,
            sample_above: args.budget_sample_above,
            skip_above: args.budget_skip_above,
        },
        dry_run: args.dry_run,
    };
    let plan = plan_batch(&config, &SystemClock, &opts).map_err(|e| {
        if crate::exit::holds_lock(&e) {
            anyhow::Error::new(e).context(Hint("a batch is running on this queue; try again later"))
        } else {
            anyhow::Error::new(e)
        }
    })?;
    for eco in &plan.half_opened {
        tracing::info!("Circuit breaker half-open for {eco} (recovery timeout elapsed)");
    }
    github::write_output(preflight_outputs(&plan))?;
    if args.report.json {
        print_json(&PreflightDoc::new(&plan, args.dry_run));
    } else {
        crate::out!("{}", text::preflight(&plan, args.dry_run));
    }
    Ok(Ending::Success)
}
