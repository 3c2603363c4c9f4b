//! Arguments of `completions` and `man`: the command line describing itself.

use clap::Args;
use clap_complete::Shell;

/// `completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `man` takes no arguments.
#[derive(Debug, Args)]
pub struct ManArgs {}
