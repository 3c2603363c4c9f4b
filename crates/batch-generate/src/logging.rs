//! Logs go to stderr through tracing; `RUST_LOG` overrides the `-v`/`-q` level.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `verbose`/`quiet` are the counted `-v`/`-q` flags.
///
/// A closed stderr silences the logs and nothing else: write errors are dropped (the
/// subscriber would otherwise report them with `eprintln!`, which panics on a closed pipe).
pub fn init(verbose: u8, quiet: u8) {
    let level = match (verbose, quiet) {
        (0, 0) => "info",
        (1, _) => "debug",
        (v, _) if v >= 2 => "trace",
        (_, 1) => "warn",
        _ => "error",
    };
    // The HTTP stack of the artifact store logs every transport retry at INFO; our own
    // messages already say what failed, so its crates only speak up from WARN on (unless
    // -v asks for more).
    let deps = if verbose > 0 { level } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{level},object_store={deps},reqwest={deps},hyper={deps},hyper_util={deps},rustls={deps}"
        ))
    });
    // A second init (tests calling the entry point twice) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .log_internal_errors(false)
        .with_target(false)
        .without_time()
        .try_init();
}
