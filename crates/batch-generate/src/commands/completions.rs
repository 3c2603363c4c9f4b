//! `completions SHELL` and `man`: shell completion scripts (clap_complete) and the man page
//! (clap_mangen), both generated from the clap definitions and printed to stdout.
//!
//! Both render into memory first and then write through `crate::out`: clap_complete panics
//! on a write error, and a closed pipe must not. Any other write error (a full disk) fails the
//! command with exit 1, since the output is all it does.

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Ending;
use crate::out;

/// The name the scripts complete and the man page documents.
const BIN: &str = "batch-generate";

/// Prints the completion script for `args.shell`.
///
/// # Errors
/// Writing to stdout failed (a closed pipe is not an error).
pub fn run(args: &CompletionsArgs) -> anyhow::Result<Ending> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), BIN, &mut script);
    out::try_stdout(format_args!("{}", String::from_utf8_lossy(&script)))
        .context("failed to write the completion script to stdout")?;
    Ok(Ending::Success)
}

/// Prints the man page.
///
/// # Errors
/// Rendering failed (it writes to memory, so only on a bug in clap_mangen), or writing to
/// stdout failed (a closed pipe is not an error).
pub fn man() -> anyhow::Result<Ending> {
    let page = man_page().context("failed to render the man page")?;
    out::try_stdout(format_args!("{page}")).context("failed to write the man page to stdout")?;
    Ok(Ending::Success)
}

/// The man page (roff) of `batch-generate` and its subcommands' summaries.
///
/// It carries the package version only, not the commit of `--version`, so the committed
/// `docs/man/batch-generate.1` changes only when the command line (or the version) does.
///
/// # Errors
/// Rendering failed.
pub fn man_page() -> std::io::Result<String> {
    let version = env!("CARGO_PKG_VERSION");
    let cmd = Cli::command().version(version);
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .source(format!("{BIN} {version}"))
        .render(&mut page)?;
    Ok(String::from_utf8_lossy(&page).into_owned())
}
