//! `batch-generate demo`: the main job on an embedded 16-entry queue with the fake generator,
//! in a scratch directory, so a fresh checkout can see a real run without tsuku.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use batch::Config;

use super::generate::{self, Options};
use crate::cli::DemoArgs;
use crate::exit::Ending;

const QUEUE: &str = include_str!("../../../../testdata/demo/priority-queue.json");
const CONTROL: &str = include_str!("../../../../testdata/demo/batch-control.json");
const RULES: &str = include_str!("../../../../testdata/demo/fake-rules");
const FAKE_TSUKU: &str = include_str!("../../../../testdata/fake-tsuku");

/// Runs the demo; returns how the run ended.
///
/// # Errors
/// The scratch directory cannot be created or written, or the run itself fails.
pub async fn run(args: &DemoArgs, max_output: usize) -> anyhow::Result<Ending> {
    let dir = match &args.dir {
        Some(d) => {
            if d.exists() && std::fs::read_dir(d)?.next().is_some() {
                anyhow::bail!(
                    "demo directory `{}` is not empty; pass a new or empty --dir",
                    d.display()
                );
            }
            std::fs::create_dir_all(d)
                .with_context(|| format!("failed to create `{}`", d.display()))?;
            d.clone()
        }
        None => tempfile::Builder::new()
            .prefix("batch-generate-demo-")
            .tempdir()
            .context("failed to create a temporary directory")?
            .keep(),
    };
    let dir = std::path::absolute(&dir)?;
    let config = write_fixture(&dir)?;
    crate::errln!("demo: running in {}", dir.display());
    crate::errln!(
        "demo: {} entries, fake generator {}, default rate limits",
        batch::Queue::from_slice(QUEUE.as_bytes())
            .map(|q| q.entries.len())
            .unwrap_or(0),
        config.generator.display()
    );
    let ending = generate::run(
        &config,
        Options {
            dry_run: false,
            json: false,
            progress_bar: true,
            max_output,
            strict: false,
            joblog: None,
            validation_out: None,
        },
        None,
    )
    .await?;
    crate::errln!("\ndemo: summary ({}):\n", config.summary.display());
    if let Ok(s) = std::fs::read_to_string(&config.summary) {
        crate::errln!("{s}");
    }
    crate::errln!("demo: files are in {}", dir.display());
    Ok(ending)
}

fn write_fixture(dir: &Path) -> anyhow::Result<Config> {
    let put = |rel: &str, text: &str| -> anyhow::Result<PathBuf> {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, text).with_context(|| format!("failed to write `{}`", p.display()))?;
        Ok(p)
    };
    let queue = put("data/queues/priority-queue.json", QUEUE)?;
    let control = put("batch-control.json", CONTROL)?;
    let rules = put("fake-rules", RULES)?;
    let generator = put("bin/tsuku", FAKE_TSUKU)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&generator, std::fs::Permissions::from_mode(0o755))?;
    }
    let mut c = Config::new();
    c.queue = queue;
    c.control_file = control;
    c.output_dir = dir.join("recipes");
    c.failures_dir = dir.join("data/failures");
    c.results = batch::config::default_results_path(&c.queue);
    c.summary = dir.join("data/batch-summary.md");
    c.select.tier = 3;
    c.generator = generator;
    c.generator_env = vec![
        ("FAKE_TSUKU_RULES".into(), rules.into()),
        ("FAKE_TSUKU_STATE".into(), dir.into()),
        ("FAKE_TSUKU_DELAY".into(), "0.2".into()),
    ];
    Ok(c)
}
