//! `batch-generate`: the command-line front end of the `batch` library. [`main`] parses the
//! arguments (clap, plus the Go tool's single-dash spellings), sets up logging and a tokio
//! runtime, runs the main job or a subcommand, and returns the process exit code.

pub mod cli;
pub mod demo;
pub mod error;
pub mod exit;
pub mod goflags;
pub mod logging;
pub mod merge;
pub mod orchestrate;
pub mod preflight;
pub mod progress;
pub mod sharded;
pub mod store_cmd;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Runs the CLI with `args` (program name first) and returns the exit code (see [`exit`]).
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
    logging::init(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return exit::FAILURE;
        }
    };
    let max_output = cli.run.execution.max_output;
    let result = runtime.block_on(async {
        match &cli.command {
            Some(Command::Demo(args)) => demo::run(args, max_output).await,
            Some(Command::Preflight(args)) => preflight::run(args),
            Some(Command::Merge(args)) => merge::run(args),
            Some(Command::Publish(args)) => store_cmd::publish(args).await,
            Some(Command::Fetch(args)) => store_cmd::fetch(args).await,
            Some(Command::Store(args)) => store_cmd::store(args).await,
            None => {
                let config = cli.run.to_config();
                let opts = orchestrate::Options {
                    dry_run: cli.run.output.dry_run,
                    json: cli.run.output.json,
                    progress_bar: cli.quiet == 0,
                    max_output,
                    strict: cli.run.selection.strict,
                };
                match cli.run.sharding.shard {
                    Some(shard) => sharded::run(&config, opts, &cli.run.sharding, shard).await,
                    None => orchestrate::run(&config, opts).await,
                }
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprint!("{}", error::render(&e));
            exit::FAILURE
        }
    }
}
