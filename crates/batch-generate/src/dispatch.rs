//! The entry point: parse the arguments (clap, plus the Go tool's single-dash spellings), set
//! up logging and a tokio runtime, run the chosen command, print an error chain if it failed,
//! and return the exit code.

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Cli, Command, goflags};
use crate::commands::{self, generate::Options};
use crate::{error, exit, logging};

/// Runs the CLI with `args` (program name first) and returns the exit code (see
/// [`crate::exit`]).
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(goflags::rewrite(args)) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
        }
    };
    logging::init(cli.verbose, cli.quiet, logging::color_from_env(cli.color));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::errln!("error: failed to start the async runtime: {e}");
            return exit::FAILURE;
        }
    };
    let max_output = cli.run.execution.max_output;
    let result = runtime.block_on(async {
        match &cli.command {
            Some(Command::Demo(args)) => commands::demo::run(args, max_output).await,
            Some(Command::Preflight(args)) => commands::preflight::run(args),
            Some(Command::Merge(args)) => commands::merge::run(args),
            Some(Command::Aggregate(args)) => commands::aggregate::run(args),
            Some(Command::Queue(args)) => commands::queue::run(args),
            Some(Command::Report(args)) => commands::report::run(args),
            Some(Command::Dashboard(args)) => commands::dashboard::run(args),
            Some(Command::Explain(args)) => commands::explain::run(args),
            Some(Command::RollbackPlan(args)) => commands::rollback::run(args),
            Some(Command::Publish(args)) => commands::store::publish(args).await,
            Some(Command::Fetch(args)) => commands::store::fetch(args).await,
            Some(Command::Store(args)) => commands::store::run(args).await,
            Some(Command::Validate(args)) => commands::validate::run(args, max_output).await,
            Some(Command::Completions(args)) => commands::completions::run(args),
            Some(Command::Man(_)) => commands::completions::man(),
            None => {
                let opts = Options {
                    dry_run: cli.run.output.dry_run,
                    json: cli.run.output.report.json,
                    progress_bar: cli.quiet == 0,
                    max_output,
                    strict: cli.run.selection.strict,
                    joblog: cli.run.output.joblog.clone(),
                    validation_out: cli.run.output.validation_out.clone(),
                };
                match cli
                    .run
                    .execution
                    .check_budget()
                    .and_then(|()| cli.run.sharding.target(opts.dry_run))
                {
                    Ok(shard) => commands::generate::run(&cli.run.to_config(), opts, shard).await,
                    Err(e) => Err(e),
                }
            }
        }
    });
    if let Err(e) = &result {
        crate::err!("{}", error::render(e));
    }
    exit::code(&result)
}
