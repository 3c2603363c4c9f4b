//! Logs go to stderr through tracing; `RUST_LOG` overrides the `-v`/`-q` level. Whether they
//! (and the progress bar) use colour is decided once, by [`use_color`].

use std::ffi::OsStr;

use tracing_subscriber::EnvFilter;

use crate::cli::ColorChoice;

/// Whether stderr output (logs, the progress bar) uses ANSI colour.
///
/// `--color always` and `never` decide alone (an explicit choice beats `NO_COLOR`); `auto`
/// colours only a terminal, and never when `NO_COLOR` is set to a non-empty value
/// (<https://no-color.org>). `no_color` is the value of `NO_COLOR`, if set.
pub fn use_color(choice: ColorChoice, no_color: Option<&OsStr>, stderr_is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => no_color.is_none_or(OsStr::is_empty) && stderr_is_terminal,
    }
}

/// [`use_color`] for this process: `NO_COLOR` from the environment, stderr's terminal check.
pub fn color_from_env(choice: ColorChoice) -> bool {
    use_color(
        choice,
        std::env::var_os("NO_COLOR").as_deref(),
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    )
}

/// Installs the global subscriber. `verbose`/`quiet` are the counted `-v`/`-q` flags; `color`
/// (from [`use_color`]) switches ANSI colour of the logs and of the progress bar.
///
/// A closed stderr silences the logs and nothing else: write errors are dropped (the
/// subscriber would otherwise report them with `eprintln!`, which panics on a closed pipe).
pub fn init(verbose: u8, quiet: u8, color: bool) {
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
    // indicatif styles its bar through `console`, which decides colour for stderr globally.
    console::set_colors_enabled_stderr(color);
    // A second init (tests calling the entry point twice) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .log_internal_errors(false)
        .with_target(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_decision_table() {
        use ColorChoice::{Always, Auto, Never};
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        // (choice, NO_COLOR, stderr is a terminal) → colour
        let table = [
            (Auto, None, true, true),
            (Auto, None, false, false),
            (Auto, set, true, false),
            (Auto, set, false, false),
            (Auto, empty, true, true),
            (Auto, empty, false, false),
            (Always, None, false, true),
            (Always, set, false, true),
            (Always, set, true, true),
            (Never, None, true, false),
            (Never, empty, true, false),
            (Never, set, true, false),
        ];
        for (choice, no_color, tty, want) in table {
            assert_eq!(
                use_color(choice, no_color, tty),
                want,
                "{choice:?}, NO_COLOR={no_color:?}, terminal={tty}"
            );
        }
    }
}
