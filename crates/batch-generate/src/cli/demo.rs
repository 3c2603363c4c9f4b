//! Arguments of `demo`.

use std::path::PathBuf;

use clap::Args;

/// Flags of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory to run in (created; must be empty or absent). Default: a new temporary
    /// directory, kept so its files can be inspected.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}
