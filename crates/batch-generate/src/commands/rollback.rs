//! `batch-generate rollback-plan BATCH_ID` (issue #14): builds the plan
//! ([`batch::history::plan`]) and prints it. It only prints: the git commands are for the
//! operator to review and run.

use anyhow::Context as _;
use batch::history::{RollbackError, plan};

use crate::cli::RollbackPlanArgs;
use crate::error::Hint;
use crate::exit::Ending;
use crate::render::print_json;
use crate::render::rollback::text;

/// Runs `rollback-plan`: a plan printed is [`Ending::Success`], also when it finds no files.
///
/// # Errors
/// An unknown batch (exit 1, naming where it looked), an unreadable directory or fragment
/// (exit 1).
pub fn run(args: &RollbackPlanArgs) -> anyhow::Result<Ending> {
    let result = plan(&args.batch_id, &args.sources());
    let hint = match &result {
        Err(RollbackError::UnknownBatch { .. }) => Hint(
            "check the batch ID (`report` lists them) and point --fragments, --metrics-dir, --failures-dir and --repo at the data; nothing was changed",
        ),
        _ => Hint("check the directories' paths and permissions; nothing was changed"),
    };
    let p = result.context(hint)?;
    if args.report.json {
        print_json(&p);
    } else {
        crate::out!("{}", text(&p));
    }
    Ok(Ending::Success)
}
