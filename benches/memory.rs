//! Memory benchmark: peak RSS and wall time of the release `batch-generate` binary, run as a
//! separate process.
//!
//! Run with `cargo bench -p batch-generate --bench memory` (see `benches/README.md`). It prints
//! a table and writes the same figures to `target/bench/memory.json`. Every file it makes (the
//! synthetic 100,000-entry queue among them) lives in a temporary directory that is removed
//! at the end.
//!
//! Measured:
//! 1. load + select + save of a synthetic 100,000-entry queue (`--batch-size 0`: no
//!    candidate, so no generator runs), built by cycling tsuku's real queue with a unique
//!    numeric suffix on every name;
//! 2. the same for tsuku's real 5,305-entry queue (a copy);
//! 3. peak RSS after processing 100 and 1,000 entries with the fake generator (no delay, no
//!    rate limit, `--jobs 8`), and the slope per entry.
//!
//! Peak RSS comes from `/usr/bin/time -f "%e %M"` when it is installed and works, otherwise
//! from polling `/proc/<pid>/status` (`VmHWM`) every 20 ms. `BENCH_RSS=proc` forces polling.

use std::ffi::OsString;
use std::fs;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "report/mod.rs"]
mod report;
use report::{Row, git_head, machine, print_table, write_report};

const BIN: &str = env!("CARGO_BIN_EXE_batch-generate");
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const GNU_TIME: &str = "/usr/bin/time";

/// Entries of the synthetic queue.
const BIG_N: usize = 100_000;
/// Runs over the big queue (the median wall time is reported).
const BIG_RUNS: usize = 3;
/// Runs over the real queue (the median wall time is reported).
const REAL_RUNS: usize = 5;
/// Target: load + select + save of the 100k queue (issue #21).
const BIG_WALL_MAX_S: f64 = 0.5;
/// Target: peak RSS ≤ this × the queue file's size.
const RSS_FACTOR_MAX: f64 = 3.0;
/// The library-path target for the real queue (not what the process measures).
const REAL_LIBRARY_TARGET_MS: f64 = 20.0;
/// The flatness check's runs: (entries in the queue, `--batch-size`). The slope that is
/// judged compares the last two (same queue, 100 vs 1,000 processed); the first shows what a
/// 10× smaller queue changes.
const FLAT_CASES: [(usize, usize); 3] = [(100, 100), (1000, 100), (1000, 1000)];
/// Runs per case in the flatness check (the median peak is kept).
const FLAT_RUNS: usize = 3;
/// Target: peak RSS grows by less than this per 1,000 processed entries.
const SLOPE_MAX_KIB_PER_1000: f64 = 1024.0;
/// Ecosystem mix of the flatness queues (fractions of the entries).
const FLAT_MIX: [(&str, usize); 5] = [
    ("homebrew", 24),
    ("npm", 24),
    ("pypi", 24),
    ("crates.io", 24),
    ("github", 4),
];

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not. Only run for real then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("memory: skipped (run it with `cargo bench -p batch-generate --bench memory`)");
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("bench-memory-")
        .tempdir()
        .expect("temporary directory");
    let method = Method::pick(tmp.path());
    println!("memory: peak RSS from {}", method.describe());
    let fake = fake_generator();
    let (real_path, real_is_tsuku) = real_queue();
    println!(
        "memory: template queue {}{}",
        real_path.display(),
        if real_is_tsuku {
            ""
        } else {
            " (skipped tsuku's real queue: BATCH_TSUKU_DATA is not set; using the demo queue)"
        }
    );
    let real_text = fs::read_to_string(&real_path).expect("read the real queue");
    let real: Value = serde_json::from_str(&real_text).expect("parse the real queue");
    let templates = real["entries"].as_array().expect("entries").clone();

    // 1. The synthetic 100k queue.
    let big_dir = tmp.path().join("big");
    fs::create_dir_all(&big_dir).expect("create directory");
    let big_queue = big_dir.join("queue.json");
    let start = Instant::now();
    let big_size = write_big_queue(&big_queue, &templates, BIG_N);
    println!(
        "memory: wrote a {BIG_N}-entry queue, {:.1} MiB, in {:.1} s",
        mib(big_size),
        start.elapsed().as_secs_f64()
    );
    write_control(&big_dir);
    let mut big = Vec::new();
    for run in 1..=BIG_RUNS {
        let m = measure(
            method,
            &big_dir,
            &load_save_args(&big_dir, &fake),
            &[],
            &format!("big-{run}"),
        );
        check_load_save(&m.stdout, "the 100k queue");
        println!(
            "memory: 100k queue run {run}: {:.3} s, peak RSS {:.1} MiB",
            m.wall_s,
            kib_to_mib(m.peak_kib)
        );
        big.push(m);
    }
    let big_wall = median(big.iter().map(|m| m.wall_s));
    let big_peak = big.iter().map(|m| m.peak_kib).max().unwrap_or(0);
    let big_ratio = big_peak as f64 * 1024.0 / big_size as f64;
    // For the breakdown: `--dry-run` parses and selects once and writes nothing.
    let mut dry_args = load_save_args(&big_dir, &fake);
    dry_args.push("--dry-run".into());
    let big_dry = measure(method, &big_dir, &dry_args, &[], "big-dry-run");
    println!(
        "memory: 100k queue --dry-run (one parse + select, no write): {:.3} s, peak RSS {:.1} MiB",
        big_dry.wall_s,
        kib_to_mib(big_dry.peak_kib)
    );
    fs::remove_file(&big_queue).ok();

    // 2. The real queue.
    let real_dir = tmp.path().join("real");
    fs::create_dir_all(&real_dir).expect("create directory");
    fs::write(real_dir.join("queue.json"), &real_text).expect("copy the real queue");
    write_control(&real_dir);
    let real_size = real_text.len() as u64;
    let mut real_runs = Vec::new();
    for run in 1..=REAL_RUNS {
        let m = measure(
            method,
            &real_dir,
            &load_save_args(&real_dir, &fake),
            &[],
            &format!("real-{run}"),
        );
        check_load_save(&m.stdout, "the real queue");
        real_runs.push(m);
    }
    let real_wall = median(real_runs.iter().map(|m| m.wall_s));
    let real_peak = real_runs.iter().map(|m| m.peak_kib).max().unwrap_or(0);
    println!(
        "memory: real queue ({} entries): median {:.1} ms, peak RSS {:.1} MiB",
        templates.len(),
        real_wall * 1e3,
        kib_to_mib(real_peak)
    );

    // 3. Peak RSS against the number of processed entries.
    let mut flat = Vec::new();
    for (queue_n, batch) in FLAT_CASES {
        let dir = tmp.path().join(format!("flat-{queue_n}-{batch}"));
        let mut runs = Vec::new();
        for run in 1..=FLAT_RUNS {
            // A fresh queue each time: a run marks its entries succeeded.
            fs::create_dir_all(&dir).expect("create directory");
            write_flat_queue(&dir.join("queue.json"), queue_n);
            write_control(&dir);
            let env = [
                ("FAKE_TSUKU_MODE", "ok"),
                ("FAKE_TSUKU_DELAY", "0"),
                ("FAKE_TSUKU_STATE", dir.to_str().expect("UTF-8 path")),
            ];
            let m = measure(
                method,
                &dir,
                &process_args(&dir, &fake, batch),
                &env,
                &format!("flat-{queue_n}-{batch}-{run}"),
            );
            let out: Value = serde_json::from_str(&m.stdout).expect("--json output");
            assert_eq!(
                (out["total"].as_u64(), out["succeeded"].as_u64()),
                (Some(batch as u64), Some(batch as u64)),
                "every selected entry runs and succeeds: {out}"
            );
            println!(
                "memory: queue {queue_n}, {batch} entries processed, run {run}: {:.2} s, peak RSS {:.2} MiB",
                m.wall_s,
                kib_to_mib(m.peak_kib)
            );
            runs.push(m);
            fs::remove_dir_all(&dir).expect("clean up");
        }
        let peak = median(runs.iter().map(|m| m.peak_kib as f64));
        flat.push(Flat {
            queue_n,
            batch,
            runs,
            peak_kib: peak,
        });
    }
    // Judged: same 1,000-entry queue, 100 vs 1,000 processed.
    let slope = |a: &Flat, b: &Flat| {
        let delta_kib = b.peak_kib - a.peak_kib;
        let entries = (b.batch - a.batch) as f64;
        (delta_kib * 1024.0 / entries, delta_kib / entries * 1000.0)
    };
    let (slope_bytes_per_entry, slope_kib_per_1000) = slope(&flat[1], &flat[2]);
    // Informational: 100-entry queue with 100 processed vs 1,000-entry queue with 1,000.
    let (both_bytes_per_entry, both_kib_per_1000) = slope(&flat[0], &flat[2]);
    let queue_effect_kib = flat[1].peak_kib - flat[0].peak_kib;

    // The report.
    let mut rows = vec![
        Row::new(
            format!("100k queue file ({BIG_N} entries)"),
            format!("{:.1} MiB ({big_size} bytes)", mib(big_size)),
            "synthetic, from the real entries".into(),
            None,
        ),
        Row::new(
            format!("100k load + select + save, process wall (median of {BIG_RUNS})"),
            format!(
                "{big_wall:.3} s (runs {})",
                join(big.iter().map(|m| format!("{:.3}", m.wall_s)))
            ),
            format!("≤ {BIG_WALL_MAX_S} s"),
            Some(big_wall <= BIG_WALL_MAX_S),
        ),
        Row::new(
            "100k load + select + save, peak RSS",
            format!("{:.1} MiB ({big_ratio:.2} × file)", kib_to_mib(big_peak)),
            format!(
                "≤ {:.1} MiB ({RSS_FACTOR_MAX} × file)",
                RSS_FACTOR_MAX * mib(big_size)
            ),
            Some(big_ratio <= RSS_FACTOR_MAX),
        ),
        Row::new(
            format!(
                "real queue ({} entries, {:.2} MiB), process wall (median of {REAL_RUNS})",
                templates.len(),
                mib(real_size)
            ),
            format!(
                "{:.1} ms (runs {})",
                real_wall * 1e3,
                join(real_runs.iter().map(|m| format!("{:.1}", m.wall_s * 1e3)))
            ),
            format!(
                "library path ≤ {REAL_LIBRARY_TARGET_MS} ms; this includes process start and the fsyncs"
            ),
            None,
        ),
        Row::new(
            "real queue, peak RSS",
            format!(
                "{:.1} MiB ({:.2} × file)",
                kib_to_mib(real_peak),
                real_peak as f64 * 1024.0 / real_size as f64
            ),
            "-".into(),
            None,
        ),
        Row::new(
            "100k --dry-run (one parse + select, no write)",
            format!(
                "{:.3} s, {:.1} MiB",
                big_dry.wall_s,
                kib_to_mib(big_dry.peak_kib)
            ),
            "breakdown only".into(),
            None,
        ),
    ];
    for f in &flat {
        rows.push(Row::new(
            format!("peak RSS, {}-entry queue, {} processed", f.queue_n, f.batch),
            format!(
                "{:.2} MiB (runs {} KiB)",
                f.peak_kib / 1024.0,
                join(f.runs.iter().map(|m| m.peak_kib.to_string()))
            ),
            format!("median of {FLAT_RUNS}"),
            None,
        ));
    }
    rows.push(Row::new(
        "peak RSS slope per processed entry (same queue)",
        format!(
            "{slope_kib_per_1000:.0} KiB per 1000 entries ({slope_bytes_per_entry:.0} B/entry)"
        ),
        format!("< {SLOPE_MAX_KIB_PER_1000:.0} KiB per 1000 entries"),
        Some(slope_kib_per_1000 < SLOPE_MAX_KIB_PER_1000),
    ));
    rows.push(Row::new(
        "slope, 100-entry queue → 1,000-entry queue, all processed",
        format!("{both_kib_per_1000:.0} KiB per 1000 entries ({both_bytes_per_entry:.0} B/entry)"),
        format!("of which queue size alone: {queue_effect_kib:.0} KiB"),
        None,
    ));
    print_table(&rows);
    println!("memory: peak RSS measured with {}", method.describe());

    let all_pass = rows.iter().all(|r| r.pass != Some(false));
    let run_json = |m: &Measured| json!({"wall_s": m.wall_s, "peak_rss_kib": m.peak_kib, "gnu_time_elapsed_s": m.time_elapsed_s});
    let report = json!({
        "bench": "memory",
        "date": jiff::Timestamp::now().to_string(),
        "machine": machine(),
        "git": git_head(),
        "command": "cargo bench -p batch-generate --bench memory",
        "rss_method": method.describe(),
        "template_queue": real_path.display().to_string(),
        "template_is_tsuku_real_queue": real_is_tsuku,
        "big_queue": {
            "entries": BIG_N,
            "file_bytes": big_size,
            "runs": big.iter().map(run_json).collect::<Vec<_>>(),
            "median_wall_s": big_wall,
            "peak_rss_kib": big_peak,
            "peak_rss_over_file": big_ratio,
            "wall_pass": big_wall <= BIG_WALL_MAX_S,
            "rss_pass": big_ratio <= RSS_FACTOR_MAX,
            "dry_run": run_json(&big_dry),
        },
        "real_queue": {
            "entries": templates.len(),
            "file_bytes": real_size,
            "runs": real_runs.iter().map(run_json).collect::<Vec<_>>(),
            "median_wall_s": real_wall,
            "peak_rss_kib": real_peak,
            "note": "process wall time: includes process start, two parses (preflight and under the lock) and the atomic writes with fsync; the 20 ms target is for the library path",
        },
        "flat": {
            "jobs": 8,
            "fake_tsuku": "FAKE_TSUKU_MODE=ok FAKE_TSUKU_DELAY=0, every rate limit 0s",
            "cases": flat.iter().map(|f| json!({
                "queue_entries": f.queue_n,
                "processed": f.batch,
                "runs": f.runs.iter().map(run_json).collect::<Vec<_>>(),
                "median_peak_rss_kib": f.peak_kib,
            })).collect::<Vec<_>>(),
            "slope_same_queue_bytes_per_entry": slope_bytes_per_entry,
            "slope_same_queue_kib_per_1000_entries": slope_kib_per_1000,
            "slope_pass": slope_kib_per_1000 < SLOPE_MAX_KIB_PER_1000,
            "slope_queue_100_to_1000_bytes_per_entry": both_bytes_per_entry,
            "slope_queue_100_to_1000_kib_per_1000_entries": both_kib_per_1000,
            "queue_size_effect_kib": queue_effect_kib,
        },
        "targets": {
            "big_wall_s_max": BIG_WALL_MAX_S,
            "peak_rss_over_file_max": RSS_FACTOR_MAX,
            "real_library_ms_max": REAL_LIBRARY_TARGET_MS,
            "slope_kib_per_1000_entries_max": SLOPE_MAX_KIB_PER_1000,
        },
        "table": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        "pass": all_pass,
    });
    let path = write_report("memory.json", &report);
    println!("memory: wrote {}", path.display());
    if !all_pass && std::env::var_os("BENCH_ENFORCE").is_some_and(|v| v == "1") {
        eprintln!("memory: a target was missed (BENCH_ENFORCE=1)");
        std::process::exit(1);
    }
}

/// How peak RSS is measured.
#[derive(Debug, Clone, Copy)]
enum Method {
    /// `/usr/bin/time -f "%e %M"`: the kernel's maximum RSS of the waited-for process (for a
    /// run with generators, the largest of it and its reaped children; the orchestrator is by
    /// far the largest).
    GnuTime,
    /// `VmHWM` of `/proc/<pid>/status`, polled every 20 ms until the process exits (growth in
    /// the last 20 ms before exit would be missed).
    ProcPoll,
}

impl Method {
    /// GNU time when it exists and works (and `BENCH_RSS` is not `proc`), else polling.
    fn pick(scratch: &Path) -> Self {
        if std::env::var("BENCH_RSS").is_ok_and(|v| v == "proc") {
            return Self::ProcPoll;
        }
        let out = scratch.join("time-check.txt");
        let works = Command::new(GNU_TIME)
            .args(["-f", "%e %M", "-o"])
            .arg(&out)
            .arg("true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
            && parse_time_output(&fs::read_to_string(&out).unwrap_or_default()).is_some();
        if works { Self::GnuTime } else { Self::ProcPoll }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::GnuTime => "/usr/bin/time -f \"%e %M\" (max RSS from wait4)",
            Self::ProcPoll => "/proc/<pid>/status VmHWM polled every 20 ms",
        }
    }
}

/// The runs of one flatness case.
struct Flat {
    queue_n: usize,
    batch: usize,
    runs: Vec<Measured>,
    /// Median peak RSS of the runs, KiB.
    peak_kib: f64,
}

/// One measured process run.
struct Measured {
    wall_s: f64,
    peak_kib: u64,
    /// GNU time's own `%e` (10 ms resolution), when it was used.
    time_elapsed_s: Option<f64>,
    stdout: String,
}

/// Runs the binary with `args` and `env`, measuring wall time (around spawn and wait) and peak
/// RSS. Stdout and stderr go to files in `dir`; a failure panics with the stderr.
fn measure(
    method: Method,
    dir: &Path,
    args: &[OsString],
    env: &[(&str, &str)],
    label: &str,
) -> Measured {
    let stdout_path = dir.join(format!("{label}.stdout"));
    let stderr_path = dir.join(format!("{label}.stderr"));
    let time_path = dir.join(format!("{label}.time"));
    let mut cmd = match method {
        Method::GnuTime => {
            let mut c = clean_command(GNU_TIME);
            c.args(["-f", "%e %M", "-o"]).arg(&time_path).arg(BIN);
            c
        }
        Method::ProcPoll => clean_command(BIN),
    };
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout_path).expect("create stdout file"))
        .stderr(fs::File::create(&stderr_path).expect("create stderr file"));
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start batch-generate");
    let (status, polled): (ExitStatus, u64) = match method {
        Method::GnuTime => (child.wait().expect("wait"), 0),
        Method::ProcPoll => {
            let status_file = format!("/proc/{}/status", child.id());
            let mut peak = 0;
            loop {
                if let Some(kib) = vm_hwm_kib(&status_file) {
                    peak = peak.max(kib);
                }
                if let Some(status) = child.try_wait().expect("wait") {
                    break (status, peak);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    let wall_s = start.elapsed().as_secs_f64();
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(
        status.success(),
        "batch-generate {label} failed ({status}):\n{stderr}"
    );
    let (peak_kib, time_elapsed_s) = match method {
        Method::GnuTime => {
            let text = fs::read_to_string(&time_path).expect("read /usr/bin/time output");
            let (e, m) = parse_time_output(&text)
                .unwrap_or_else(|| panic!("unexpected /usr/bin/time output: {text:?}"));
            (m, Some(e))
        }
        Method::ProcPoll => (polled, None),
    };
    assert!(peak_kib > 0, "no peak RSS measured for {label}");
    Measured {
        wall_s,
        peak_kib,
        time_elapsed_s,
        stdout: fs::read_to_string(&stdout_path).expect("read stdout"),
    }
}

/// `"%e %M"` → (elapsed seconds, max RSS KiB), from the last line (GNU time puts "Command
/// exited with non-zero status" lines before it).
fn parse_time_output(text: &str) -> Option<(f64, u64)> {
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let (e, m) = line.trim().split_once(' ')?;
    Some((e.parse().ok()?, m.parse().ok()?))
}

fn vm_hwm_kib(status_file: &str) -> Option<u64> {
    let text = fs::read_to_string(status_file).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Arguments of a load + select + save run: no candidate, so no generator runs.
fn load_save_args(dir: &Path, fake: &Path) -> Vec<OsString> {
    let mut a = common_args(dir, fake);
    a.extend(["--batch-size", "0", "--tier", "3", "--json", "-q"].map(OsString::from));
    a
}

/// Arguments of a run that processes all `n` entries with no rate limit.
fn process_args(dir: &Path, fake: &Path, n: usize) -> Vec<OsString> {
    let mut a = common_args(dir, fake);
    let limits: Vec<String> = FLAT_MIX.iter().map(|(e, _)| format!("{e}=0s")).collect();
    a.extend(
        [
            "--batch-size".to_owned(),
            n.to_string(),
            "--tier".into(),
            "3".into(),
            "--jobs".into(),
            "8".into(),
            "--rate-limit".into(),
            limits.join(","),
            "--json".into(),
            "-q".into(),
        ]
        .map(OsString::from),
    );
    a
}

fn common_args(dir: &Path, fake: &Path) -> Vec<OsString> {
    let mut a = Vec::new();
    for (flag, path) in [
        ("--queue", dir.join("queue.json")),
        ("--control-file", dir.join("control.json")),
        ("--output-dir", dir.join("recipes")),
        ("--failures-dir", dir.join("failures")),
        ("--summary", dir.join("summary.md")),
        ("--generator", fake.to_path_buf()),
    ] {
        a.push(OsString::from(flag));
        a.push(path.into_os_string());
    }
    a
}

/// A load + select + save run selected nothing and skipped nothing.
fn check_load_save(stdout: &str, what: &str) {
    let out: Value = serde_json::from_str(stdout).expect("--json output");
    assert_eq!(out["total"], json!(0), "{what}: no candidate: {out}");
    assert_eq!(out["invalid"], json!(0), "{what}: every entry valid: {out}");
}

/// Writes a queue of `n` entries cycling `templates`, each name and source with the suffix
/// `-<index>` (names stay unique), in the layout Go writes (2-space indentation, keys in the
/// template's order). Returns the file's size.
fn write_big_queue(path: &Path, templates: &[Value], n: usize) -> u64 {
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(path).expect("create queue"));
    w.write_all(b"{\n  \"schema_version\": 1,\n  \"updated_at\": \"2026-08-13T20:39:55Z\",\n  \"entries\": [\n")
        .expect("write");
    for i in 0..n {
        let t = templates[i % templates.len()]
            .as_object()
            .expect("entry object");
        w.write_all(b"    {\n").expect("write");
        for (j, (key, value)) in t.iter().enumerate() {
            let value = match (key.as_str(), value) {
                ("name" | "source", Value::String(s)) => Value::String(format!("{s}-{i}")),
                _ => value.clone(),
            };
            let sep = if j + 1 < t.len() { ",\n" } else { "\n" };
            write!(
                w,
                "      {}: {}{sep}",
                serde_json::to_string(key).expect("key"),
                serde_json::to_string(&value).expect("value")
            )
            .expect("write");
        }
        w.write_all(if i + 1 < n { b"    },\n" } else { b"    }\n" })
            .expect("write");
    }
    w.write_all(b"  ]\n}\n").expect("write");
    w.into_inner()
        .expect("flush")
        .sync_all()
        .expect("sync queue");
    fs::metadata(path).expect("queue metadata").len()
}

/// A queue of `n` pending entries over [`FLAT_MIX`] (the e2e bench's entry shape).
fn write_flat_queue(path: &Path, n: usize) {
    let total: usize = FLAT_MIX.iter().map(|(_, w)| w).sum();
    let mut entries = Vec::with_capacity(n);
    for (eco, weight) in FLAT_MIX {
        for k in 0..n * weight / total {
            entries.push(json!({
                "name": format!("pkg-{eco}-{k}"),
                "source": format!("{eco}:pkg-{k}"),
                "priority": 1,
                "status": "pending",
                "confidence": "auto",
                "disambiguated_at": null,
                "failure_count": 0,
                "next_retry_at": null,
            }));
        }
    }
    assert_eq!(entries.len(), n, "FLAT_MIX divides {n}");
    let queue =
        json!({"schema_version": 1, "updated_at": "2026-01-01T00:00:00Z", "entries": entries});
    fs::write(path, serde_json::to_vec_pretty(&queue).expect("JSON")).expect("write queue");
}

fn write_control(dir: &Path) {
    fs::write(
        dir.join("control.json"),
        r#"{"enabled":true,"circuit_breaker":{}}"#,
    )
    .expect("write control file");
}

/// tsuku's real queue (`BENCH_REAL_QUEUE`, else `$BATCH_TSUKU_DATA/priority-queue.json`), or
/// the demo queue when neither is set; the flag says which.
fn real_queue() -> (PathBuf, bool) {
    if let Some(p) = std::env::var_os("BENCH_REAL_QUEUE") {
        return (PathBuf::from(p), true);
    }
    if let Some(data) = std::env::var_os("BATCH_TSUKU_DATA") {
        return (Path::new(&data).join("priority-queue.json"), true);
    }
    let demo = Path::new(MANIFEST_DIR).join("../../testdata/demo/priority-queue.json");
    (demo.canonicalize().unwrap_or(demo), false)
}

fn fake_generator() -> PathBuf {
    let p = Path::new(MANIFEST_DIR).join("../../testdata/fake-tsuku");
    assert!(p.is_file(), "fake generator not found at {}", p.display());
    p.canonicalize().expect("canonical path")
}

/// A command with no inherited `BATCH_*`, `FAKE_TSUKU_*` or `RUST_LOG` setting.
fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str()
            && (k.starts_with("BATCH_") || k.starts_with("FAKE_TSUKU_") || k == "RUST_LOG")
        {
            c.env_remove(k);
        }
    }
    c
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}
