//! Which of tsuku's network failures never reached the upstream (issue #22).
//!
//! tsuku exits 5 (`ExitNetwork`) both when a registry answered badly (`Homebrew API returned
//! status 503`, `crates.io rate limit exceeded`, a timeout: push-back, which the adaptive
//! slowdown of issue #15 answers by starting less often) and when no connection was ever made
//! (offline, DNS down, the host refusing connections). Its message is the Go error chain on
//! one line (`cmd/tsuku/create.go`: `Error checking package: %v`; `install.go`:
//! `Failed to generate plan: %v`), which ends with the `net.OpError` of the failed dial:
//!
//! - `dial tcp: lookup formulae.brew.sh on 192.0.2.53:53: no such host` (the transcript's
//!   offline runs, `testdata/tsuku-cli/transcript.txt`; Go's `net.DNSError`);
//! - `dial tcp 140.82.112.3:443: connect: connection refused`, `…: connect: network is
//!   unreachable`, `…: connect: no route to host` (the `connect(2)` errors `ECONNREFUSED`,
//!   `ENETUNREACH`, `EHOSTUNREACH` as Go's `syscall.Errno` prints them).
//!
//! A dial timeout (`dial tcp …: i/o timeout`) stays push-back: an overloaded host also stops
//! accepting connections in time.

use super::headline;

/// What a Go dial error says after `connect: ` when the host could not be reached at all.
const CONNECT_ERRORS: [&str; 3] = [
    "connect: connection refused",
    "connect: network is unreachable",
    "connect: no route to host",
];

/// Whether tsuku's output `text` says its network failure never reached the upstream: its
/// headline (the first line that is not one of tsuku's notices, [`headline`]) holds a Go dial
/// error (`dial tcp` or `dial udp`) that ends in `no such host` or one of the `connect:`
/// errors above. Only the headline counts: a notice such as `warning: version resolution
/// failed: … no such host` does not say why tsuku exited.
pub(crate) fn connect_failed(text: &str) -> bool {
    let line = headline(text);
    (line.contains("dial tcp") || line.contains("dial udp"))
        && (line.contains(": no such host") || CONNECT_ERRORS.iter().any(|e| line.contains(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WARNING: &str = "Warning: Skipping recipe review (--yes). The recipe will be installed without confirmation.";

    /// The offline texts of `testdata/tsuku-cli/transcript.txt` (create with and without
    /// `--yes`, crates.io, install's stderr and host JSON message) never reached the upstream.
    #[test]
    fn the_transcripts_offline_errors_never_reached_the_upstream() {
        let texts = [
            "Error checking package: failed to fetch formula info: Get \"https://formulae.brew.sh/api/formula/jq.json\": dial tcp: lookup formulae.brew.sh on 192.0.2.53:53: no such host\n".to_owned(),
            format!("{WARNING}\nError checking package: failed to fetch formula info: Get \"https://formulae.brew.sh/api/formula/jq.json\": dial tcp: lookup formulae.brew.sh on 192.0.2.53:53: no such host\n"),
            format!("{WARNING}\nError checking package: failed to fetch crate info: Get \"https://crates.io/api/v1/crates/ripgrep\": dial tcp: lookup crates.io on 192.0.2.53:53: no such host\n"),
            "warning: version resolution failed: network unavailable: Get \"https://api.github.com/repos/jqlang/jq/tags?per_page=100\": dial tcp: lookup api.github.com on 192.0.2.53:53: no such host, using 'dev'\nFailed to generate plan: failed to resolve step github_file: failed to decompose github_file: failed to decompose \"github_file\": failed to download for checksum computation: failed to download: Get \"https://github.com/jqlang/jq/releases/download/dev/jq-linux-amd64\": dial tcp: lookup github.com on 192.0.2.53:53: no such host\n".to_owned(),
            "failed to resolve step homebrew: failed to decompose homebrew: failed to decompose \"homebrew\": failed to get GHCR token: token request failed: Get \"https://ghcr.io/token?service=ghcr.io\\u0026scope=repository:homebrew/core/bison:pull\": dial tcp: lookup ghcr.io on 192.0.2.53:53: no such host".to_owned(),
        ];
        for t in &texts {
            assert!(connect_failed(t), "{t}");
        }
    }

    /// The `connect(2)` errors as Go prints them, IPv4 and IPv6.
    #[test]
    fn refused_and_unreachable_connections_never_reached_the_upstream() {
        for e in [
            "dial tcp 140.82.112.3:443: connect: connection refused",
            "dial tcp [2606:50c0:8000::153]:443: connect: network is unreachable",
            "dial tcp 151.101.1.69:443: connect: no route to host",
            "dial udp 192.0.2.53:53: connect: network is unreachable",
        ] {
            let text = format!(
                "{WARNING}\nError checking package: failed to fetch formula info: Get \"https://formulae.brew.sh/api/formula/jq.json\": {e}\n"
            );
            assert!(connect_failed(&text), "{text}");
        }
    }

    /// Answers of the upstream and timeouts are push-back; so is a failure whose headline is
    /// not a dial error although a notice before it is, and text without any error.
    #[test]
    fn answers_timeouts_and_notices_are_push_back() {
        let texts = [
            format!("{WARNING}\nError checking package: Homebrew API returned status 503\n"),
            format!("{WARNING}\nError checking package: crates.io rate limit exceeded\n"),
            format!("{WARNING}\nError checking package: crates.io returned status 429\n"),
            "Error checking package: failed to fetch formula info: Get \"https://formulae.brew.sh/api/formula/jq.json\": dial tcp 151.101.1.69:443: i/o timeout\n".to_owned(),
            "Error checking package: failed to fetch formula info: Get \"https://formulae.brew.sh/api/formula/jq.json\": net/http: TLS handshake timeout\n".to_owned(),
            "Error checking package: failed to fetch formula info: Get \"https://formulae.brew.sh/api/formula/jq.json\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)\n".to_owned(),
            "warning: version resolution failed: network unavailable: Get \"https://api.github.com/x\": dial tcp: lookup api.github.com on 192.0.2.53:53: no such host, using 'dev'\nFailed to generate plan: GitHub API returned status 502\n".to_owned(),
            "no such host\n".to_owned(),
            "503".to_owned(),
            String::new(),
        ];
        for t in &texts {
            assert!(!connect_failed(t), "{t}");
        }
    }
}
