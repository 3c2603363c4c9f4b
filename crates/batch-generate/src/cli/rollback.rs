//! Arguments of `rollback-plan` (issue #14, replacing `scripts/rollback-batch.sh`, spec §7.8).

use std::path::PathBuf;

use clap::Args;

use super::common::JsonArgs;
use super::parse::parse_batch_id;

/// Flags of `rollback-plan`.
#[derive(Debug, Args)]
pub struct RollbackPlanArgs {
    /// The batch to roll back (the workflow's batch ID, spec §7.3.4).
    #[arg(value_parser = parse_batch_id)]
    pub batch_id: String,

    /// Directory of shard fragments (`<batch_id>-shard-<K>-of-<N>.json`) [default: not
    /// searched].
    #[arg(long, env = "BATCH_FRAGMENT_DIR", value_name = "DIR")]
    pub fragments: Option<PathBuf>,

    /// Directory of the metrics files [default: data/metrics, not searched when absent].
    #[arg(long, env = "BATCH_METRICS_DIR", value_name = "DIR")]
    pub metrics_dir: Option<PathBuf>,

    /// Directory of the failure records [default: data/failures, not searched when absent].
    #[arg(long, env = "BATCH_FAILURES_DIR", value_name = "DIR")]
    pub failures_dir: Option<PathBuf>,

    /// The recipes directory the files are under (paths are printed below it).
    #[arg(long, value_name = "DIR", default_value = "recipes")]
    pub recipes: PathBuf,

    /// The git repository searched for commits with a `batch_id: <id>` trailer.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,

    /// Do not run `git log`.
    #[arg(long)]
    pub no_git: bool,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

impl RollbackPlanArgs {
    /// Where the library looks. A directory given by flag must exist (the library reports it
    /// otherwise); a default one is searched only when it exists.
    pub fn sources(&self) -> batch::history::RollbackSources {
        let dir = |given: &Option<PathBuf>, default: &str| match given {
            Some(p) => Some(p.clone()),
            None => Some(PathBuf::from(default)).filter(|p| p.is_dir()),
        };
        batch::history::RollbackSources {
            fragments_dir: self.fragments.clone(),
            metrics_dir: dir(&self.metrics_dir, "data/metrics"),
            failures_dir: dir(&self.failures_dir, "data/failures"),
            recipes_dir: self.recipes.clone(),
            git_repo: (!self.no_git).then(|| self.repo.clone()),
        }
    }
}
