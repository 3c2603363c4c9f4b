//! `batch-generate queue maintain` (spec §4.9, issue #14): runs the library's maintenance
//! ([`batch::maintain::maintain_files`]) under the queue's lock and prints what changed.

use batch::clock::SystemClock;
use batch::maintain::{MaintainFiles, maintain_files};

use crate::cli::{MaintainArgs, QueueCmdArgs, QueueCommand};
use crate::exit::Ending;
use crate::report::maintain::{MaintainDoc, text};
use crate::report::print_json;

/// Runs a `queue` subcommand.
///
/// # Errors
/// As [`maintain`].
pub fn run(args: &QueueCmdArgs) -> anyhow::Result<Ending> {
    match &args.command {
        QueueCommand::Maintain(a) => maintain(a),
    }
}

/// Runs `queue maintain`: completed is [`Ending::Success`].
///
/// # Errors
/// Another run holding the lock (exit 3), a queue that cannot be loaded or saved, a failures
/// directory that cannot be read.
pub fn maintain(args: &MaintainArgs) -> anyhow::Result<Ending> {
    let files = MaintainFiles {
        queue: args.queue.clone(),
        failures_dir: args.failures_dir.clone(),
        output: args.output.clone(),
    };
    let outcome = maintain_files(&files, args.steps(), args.dry_run, &SystemClock)?;
    if args.report.json {
        print_json(&MaintainDoc::new(&args.queue, &outcome, args.dry_run));
    } else {
        crate::out!("{}", text(&outcome, args.dry_run));
    }
    Ok(Ending::Success)
}
