//! `batch-generate explain NAME…` (issue #23): loads what the next run would read, asks
//! [`batch::inventory::explain::explain`] why each named entry would or would not be selected,
//! and prints the answer. Writes nothing.

use anyhow::Context as _;
use batch::clock::{Clock, SystemClock};
use batch::control::ControlFile;
use batch::inventory::explain::{ExplainInputs, ExplainOptions, explain, resolve};
use batch::inventory::failure_notes::FailureNotes;
use batch::maintain::FailureLog;
use batch::{Config, Queue, QueueEntry};

use crate::cli::explain::ExplainArgs;
use crate::error::Hint;
use crate::exit::Ending;
use crate::render::explain::{ExplainDoc, text};
use crate::render::print_json;

/// Runs `explain`: completed is [`Ending::Success`], whatever the answers.
///
/// # Errors
/// A queue or control file that cannot be read or parsed, a failures directory that exists
/// but cannot be read (exit 1); an argument that names no entry, or an `--ecosystem` neither
/// the queue nor tsuku has (exit 2).
pub fn run(args: &ExplainArgs) -> anyhow::Result<Ending> {
    let files = &args.files;
    let queue = Queue::load(&files.queue).context(Hint(
        "check the --queue path (BATCH_QUEUE); nothing was written",
    ))?;
    let mut config = Config::new();
    args.selection.apply(&mut config);
    let wanted = config.select.ecosystems.iter().map(String::as_str);
    super::queue::check_ecosystems(wanted, &queue, &files.queue)?;
    let matches = resolve(&queue, &args.names).map_err(|e| {
        anyhow::Error::new(e).context(Hint(
            "name an entry by its exact name or source (see `batch-generate queue status`)",
        ))
    })?;
    let control = ControlFile::load(&files.control_file)?;
    let log = if files.failures_dir.exists() {
        FailureLog::read_dir(&files.failures_dir)?
    } else {
        FailureLog::default()
    };
    let explained: Vec<&QueueEntry> = matches
        .iter()
        .flat_map(|m| m.indices.iter().map(|&i| &queue.entries[i]))
        .collect();
    let notes = FailureNotes::read_dir(&files.failures_dir, &explained)?;
    let mut select = config.select;
    select.retry_failed = args.retry_failed;
    let opts = ExplainOptions {
        select,
        strict: args.selection.strict,
        shards: args.shards,
        failures_shown: args.failures,
    };
    let on_disk = |p: &std::path::Path| p.is_file();
    let inputs = ExplainInputs {
        queue: &queue,
        control: &control,
        log: &log,
        notes: &notes,
        output_dir: &files.output_dir,
        on_disk: &on_disk,
    };
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    let report = explain(&inputs, &opts, &matches, now);
    if args.report.json {
        print_json(&ExplainDoc {
            queue: &files.queue,
            control_file: &files.control_file,
            report: &report,
        });
    } else {
        crate::out!("{}", text(&files.queue, &report));
    }
    Ok(Ending::Success)
}
