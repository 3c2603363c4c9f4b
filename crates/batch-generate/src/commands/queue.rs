//! `batch-generate queue maintain|reconcile|status` (spec §4.9, §7.6, issue #14): each runs
//! its library function ([`batch::maintain::maintain_files`],
//! [`batch::inventory::reconcile_files`], [`batch::inventory::status::queue_status`]) and prints what
//! it found.

use anyhow::Context as _;
use batch::clock::{Clock, SystemClock};
use batch::control::ControlFile;
use batch::inventory::status::{StatusOptions, queue_status};
use batch::inventory::{ReconcileError, ReconcileFiles, reconcile_files};
use batch::maintain::{FailureLog, MaintainFiles, maintain_files};
use batch::queue::ecosystem::{KNOWN_ECOSYSTEMS, first_unknown};
use batch::{Config, Queue};

use crate::cli::{MaintainArgs, QueueCmdArgs, QueueCommand, ReconcileArgs, StatusArgs};
use crate::error::{Hint, UsageError};
use crate::exit::Ending;
use crate::render::maintain::{MaintainDoc, text};
use crate::render::print_json;
use crate::render::queue_status::{self, StatusDoc};
use crate::render::reconcile::{self, ReconcileDoc};

/// Runs a `queue` subcommand.
///
/// # Errors
/// As [`maintain`], [`reconcile()`] and [`status`].
pub fn run(args: &QueueCmdArgs) -> anyhow::Result<Ending> {
    match &args.command {
        QueueCommand::Maintain(a) => maintain(a),
        QueueCommand::Reconcile(a) => reconcile(a),
        QueueCommand::Status(a) => status(a),
    }
}

/// Runs `queue maintain`: completed is [`Ending::Success`].
///
/// # Errors
/// Another run holding the lock (exit 3), a queue that cannot be loaded or saved, a failures
/// directory that cannot be read.
pub fn maintain(args: &MaintainArgs) -> anyhow::Result<Ending> {
    let files = MaintainFiles {
        queue: args.target.queue.clone(),
        failures_dir: args.failures_dir.clone(),
        output: args.target.output.clone(),
    };
    let outcome = maintain_files(&files, args.steps(), args.target.dry_run, &SystemClock)?;
    if args.report.json {
        print_json(&MaintainDoc::new(
            &args.target.queue,
            &outcome,
            args.target.dry_run,
        ));
    } else {
        crate::out!("{}", text(&outcome, args.target.dry_run));
    }
    Ok(Ending::Success)
}

/// Runs `queue reconcile` (spec §7.6): completed is [`Ending::Success`], also when some
/// recipes do not parse (they are listed and their entries left unchanged).
///
/// # Errors
/// Another run holding the lock (exit 3), a queue that cannot be loaded or saved, a recipes
/// directory that cannot be listed (exit 1, nothing written).
pub fn reconcile(args: &ReconcileArgs) -> anyhow::Result<Ending> {
    let files = ReconcileFiles {
        queue: args.target.queue.clone(),
        recipes: args.recipes.clone(),
        output: args.target.output.clone(),
    };
    let outcome = match reconcile_files(&files, args.target.dry_run, &SystemClock) {
        Err(e @ ReconcileError::Recipes { .. }) => {
            return Err(anyhow::Error::new(e).context(Hint(
                "check the --recipes path (the root holding <letter>/<name>.toml); nothing was written",
            )));
        }
        other => other?,
    };
    if args.report.json {
        print_json(&ReconcileDoc::new(
            &args.target.queue,
            &args.recipes,
            &outcome,
            args.target.dry_run,
        ));
    } else {
        crate::out!("{}", reconcile::text(&outcome, args.target.dry_run));
    }
    Ok(Ending::Success)
}

/// Runs `queue status` (issue #14): reads the queue, the control file and the failure
/// records, writes nothing; completed is [`Ending::Success`].
///
/// # Errors
/// A queue or control file that cannot be read or parsed, a failures directory that exists but
/// cannot be read (exit 1); an `--ecosystem` neither the queue nor tsuku has (exit 2, the
/// same check as the main run's `--ecosystem`).
pub fn status(args: &StatusArgs) -> anyhow::Result<Ending> {
    let queue = Queue::load(&args.queue).context(Hint(
        "check the --queue path (BATCH_QUEUE); nothing was written",
    ))?;
    if let Some(eco) = &args.ecosystem {
        check_ecosystems([eco.as_str()], &queue, &args.queue)?;
    }
    let control = ControlFile::load(&args.control_file)?;
    let log = if args.failures_dir.exists() {
        FailureLog::read_dir(&args.failures_dir)?
    } else {
        FailureLog::default()
    };
    let opts = StatusOptions {
        ecosystem: args.ecosystem.clone(),
        select: Config::new().select,
        top: 10,
    };
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    let s = queue_status(&queue, &control, &log, &opts, now);
    if args.report.json {
        print_json(&StatusDoc {
            queue: &args.queue,
            control_file: &args.control_file,
            status: &s,
        });
    } else {
        crate::out!("{}", queue_status::text(&args.queue, &s));
    }
    Ok(Ending::Success)
}

/// The usage error (exit 2) of an `--ecosystem` that neither `queue` (read from `path`) nor
/// tsuku has, worded as the main run words it, with every known ecosystem listed.
///
/// # Errors
/// The first such ecosystem of `wanted`, as a [`UsageError`] with a hint.
pub(crate) fn check_ecosystems<'a>(
    wanted: impl IntoIterator<Item = &'a str>,
    queue: &Queue,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let Some((eco, in_queue)) = first_unknown(wanted, &queue.entries) else {
        return Ok(());
    };
    let known: std::collections::BTreeSet<&str> = KNOWN_ECOSYSTEMS
        .into_iter()
        .chain(in_queue.iter().map(String::as_str))
        .collect();
    Err(anyhow::Error::new(UsageError(format!(
        "unknown ecosystem `{eco}` in --ecosystem: no entry of queue `{}` has it and tsuku does not know it; known ecosystems: {}",
        path.display(),
        known.into_iter().collect::<Vec<_>>().join(", "),
    )))
    .context(Hint("check the spelling of --ecosystem")))
}
