//! End-to-end benchmark: the release `batch-generate` binary against the fake generator
//! (`testdata/fake-tsuku`, 200 ms per call) on a 200-entry queue over five ecosystems with the
//! default rate limits.
//!
//! Run with `cargo bench -p batch-generate --bench e2e` (see `benches/README.md`). It prints a
//! table and writes the same figures to `target/bench/e2e.json`. Nothing in the repository is
//! touched: every queue, recipe and record lives in a temporary directory.
//!
//! Runs, in order:
//! 1. a `--dry-run --json` to check the selection and the binary's own lower bound;
//! 2. the rate-limited run with `--jobs 4` and with `--jobs 8` (wall time, `cpu_seconds`);
//! 3. the same list through `xargs -P 8` (create then install per entry, no rate limit);
//! 4. the orchestrator with every rate limit at `0s` and `--jobs 8`, for comparison with 3.
//!
//! The sequential bound (the Go tool's one-at-a-time loop) is computed, not run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::{Value, json};

#[path = "report/mod.rs"]
mod report;
use report::{Row, git_head, machine, print_table, write_report};

const BIN: &str = env!("CARGO_BIN_EXE_batch-generate");
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// `FAKE_TSUKU_DELAY`: seconds the fake generator sleeps in every call.
const CALL_DELAY: &str = "0.2";
/// One entry's generator latency: create + install.
const ENTRY_S: f64 = 0.4;
/// Entries per ecosystem, in the order the table lists them (200 in all).
const MIX: [(&str, usize); 5] = [
    ("homebrew", 48),
    ("npm", 48),
    ("pypi", 48),
    ("crates.io", 48),
    ("github", 8),
];
/// `--jobs` values tried with the default rate limits; the first that meets the bound is the
/// one reported as chosen (4 is the tool's default).
const JOBS_TRIED: [u16; 2] = [4, 8];
/// `--jobs` / `xargs -P` of the runs without rate limits.
const UNLIMITED_JOBS: u16 = 8;
/// Target: wall time ≤ this × the rate-limit lower bound.
const WALL_FACTOR: f64 = 1.10;
/// Target: orchestrator CPU time per entry.
const CPU_PER_ENTRY_MAX_MS: f64 = 2.0;

/// The tool's default spacing of generator starts per ecosystem (README, "Configuration").
fn default_period(eco: &str) -> f64 {
    match eco {
        "github" => 2.0,
        "rubygems" => 6.0,
        _ => 1.0,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not. Only run for real then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("e2e: skipped (run it with `cargo bench -p batch-generate --bench e2e`)");
        return;
    }
    let fake = fake_generator();
    let tmp = tempfile::Builder::new()
        .prefix("bench-e2e-")
        .tempdir()
        .expect("temporary directory");
    let order = mixed_order();
    let n = order.len();
    let entries: Vec<Value> = order.iter().map(|(eco, k)| queue_entry(eco, *k)).collect();

    let lower = lower_bound();
    let sequential = sequential_bound(&order);
    println!(
        "e2e: {n} entries ({}), fake generator {CALL_DELAY} s per call; rate-limit lower bound {lower:.1} s, sequential bound {sequential:.1} s",
        MIX.iter()
            .map(|(e, c)| format!("{e} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // 1. The plan: every entry selected, and the binary agrees on the bound.
    let dir = prepare(tmp.path(), "dry-run", &entries);
    let (_, plan) = run_orchestrator(&dir, &fake, 4, false, true);
    assert_eq!(
        plan["total"],
        json!(n),
        "dry run selects every entry: {plan}"
    );
    let dry_bound = plan["rate_limit_lower_bound_seconds"]
        .as_f64()
        .expect("rate_limit_lower_bound_seconds");
    assert!(
        (dry_bound + ENTRY_S - lower).abs() < 1e-6,
        "the binary's bound {dry_bound} s + {ENTRY_S} s differs from the computed {lower} s"
    );

    let call_latency = fake_call_latency(tmp.path(), &fake);
    println!("e2e: fake generator call latency measured at {call_latency:.3} s");

    // 2. Rate-limited runs.
    let mut limited = Vec::new();
    for jobs in JOBS_TRIED {
        let dir = prepare(tmp.path(), &format!("limited-j{jobs}"), &entries);
        println!("e2e: rate-limited run, --jobs {jobs} (about {lower:.0} s) ...");
        let (wall, out) = run_orchestrator(&dir, &fake, jobs, false, false);
        check_all_succeeded(&out, n);
        let cpu = out["cpu_seconds"].as_f64().expect("cpu_seconds");
        println!("e2e:   wall {wall:.2} s, orchestrator CPU {cpu:.3} s");
        limited.push(Limited { jobs, wall, cpu });
    }
    let wall_target = WALL_FACTOR * lower;
    let chosen = limited
        .iter()
        .find(|r| r.wall <= wall_target)
        .unwrap_or(&limited[limited.len() - 1]);

    // 3. xargs -P, no rate limit.
    let ideal = n as f64 * ENTRY_S / f64::from(UNLIMITED_JOBS);
    println!("e2e: xargs -P {UNLIMITED_JOBS}, no rate limit (about {ideal:.0} s) ...");
    let xargs_wall = run_xargs(tmp.path(), &fake, &order);
    println!("e2e:   wall {xargs_wall:.2} s");

    // 4. The orchestrator with every limit at 0 s.
    let dir = prepare(tmp.path(), "unlimited", &entries);
    println!("e2e: orchestrator, every rate limit 0s, --jobs {UNLIMITED_JOBS} ...");
    let (unl_wall, out) = run_orchestrator(&dir, &fake, UNLIMITED_JOBS, true, false);
    check_all_succeeded(&out, n);
    let unl_cpu = out["cpu_seconds"].as_f64().expect("cpu_seconds");
    println!("e2e:   wall {unl_wall:.2} s, orchestrator CPU {unl_cpu:.3} s");

    // The report.
    let per_entry_ms = |cpu: f64| cpu / n as f64 * 1e3;
    let mut rows = Vec::new();
    for r in &limited {
        let tag = if r.jobs == chosen.jobs {
            " (chosen)"
        } else {
            ""
        };
        rows.push(Row::new(
            format!("wall time, default limits, --jobs {}{tag}", r.jobs),
            format!("{:.2} s ({:.3} × bound)", r.wall, r.wall / lower),
            format!("≤ {wall_target:.2} s (1.10 × {lower:.1} s)"),
            Some(r.wall <= wall_target),
        ));
    }
    rows.push(Row::new(
        "rate-limit lower bound",
        format!("{lower:.2} s"),
        format!("max (N_e−1)×period_e + {ENTRY_S} s; dry run: {dry_bound:.1} s + {ENTRY_S} s"),
        None,
    ));
    rows.push(Row::new(
        "sequential bound (Go loop, computed)",
        format!("{sequential:.2} s"),
        format!(
            "{:.1}× the chosen run's wall time",
            sequential / chosen.wall
        ),
        None,
    ));
    for r in &limited {
        rows.push(Row::new(
            format!("orchestrator CPU per entry, --jobs {}", r.jobs),
            format!("{:.3} ms ({:.3} s / {n})", per_entry_ms(r.cpu), r.cpu),
            format!("≤ {CPU_PER_ENTRY_MAX_MS} ms"),
            Some(per_entry_ms(r.cpu) <= CPU_PER_ENTRY_MAX_MS),
        ));
    }
    rows.push(Row::new(
        "fake generator call (measured)",
        format!("{call_latency:.3} s"),
        format!("FAKE_TSUKU_DELAY={CALL_DELAY}"),
        None,
    ));
    rows.push(Row::new(
        format!("xargs -P {UNLIMITED_JOBS}, no rate limit"),
        format!("{xargs_wall:.2} s ({:.3} × ideal)", xargs_wall / ideal),
        format!("ideal {ideal:.1} s = {n} × {ENTRY_S} s / {UNLIMITED_JOBS}"),
        None,
    ));
    rows.push(Row::new(
        format!("orchestrator, limits 0s, --jobs {UNLIMITED_JOBS}"),
        format!("{unl_wall:.2} s ({:.3} × ideal)", unl_wall / ideal),
        format!("ideal {ideal:.1} s; xargs {xargs_wall:.2} s"),
        None,
    ));
    rows.push(Row::new(
        format!("orchestrator CPU per entry, limits 0s, --jobs {UNLIMITED_JOBS}"),
        format!("{:.3} ms ({unl_cpu:.3} s / {n})", per_entry_ms(unl_cpu)),
        format!("≤ {CPU_PER_ENTRY_MAX_MS} ms"),
        Some(per_entry_ms(unl_cpu) <= CPU_PER_ENTRY_MAX_MS),
    ));
    print_table(&rows);

    let chosen_pass =
        chosen.wall <= wall_target && per_entry_ms(chosen.cpu) <= CPU_PER_ENTRY_MAX_MS;
    let all_pass = rows.iter().all(|r| r.pass != Some(false));
    let report = json!({
        "bench": "e2e",
        "date": jiff::Timestamp::now().to_string(),
        "machine": machine(),
        "git": git_head(),
        "command": "cargo bench -p batch-generate --bench e2e",
        "entries": n,
        "per_ecosystem": MIX.iter().map(|(e, c)| ((*e).to_owned(), json!({"entries": c, "period_s": default_period(e)}))).collect::<BTreeMap<_, _>>(),
        "call_delay_s": CALL_DELAY.parse::<f64>().expect("number"),
        "entry_latency_s": ENTRY_S,
        "fake_call_latency_measured_s": call_latency,
        "rate_limit_lower_bound_s": lower,
        "dry_run_lower_bound_s": dry_bound,
        "sequential_bound_s": sequential,
        "rate_limited": limited.iter().map(|r| json!({
            "jobs": r.jobs,
            "wall_s": r.wall,
            "wall_over_lower_bound": r.wall / lower,
            "cpu_s": r.cpu,
            "cpu_per_entry_ms": per_entry_ms(r.cpu),
            "speedup_over_sequential": sequential / r.wall,
            "wall_pass": r.wall <= wall_target,
            "cpu_pass": per_entry_ms(r.cpu) <= CPU_PER_ENTRY_MAX_MS,
        })).collect::<Vec<_>>(),
        "chosen_jobs": chosen.jobs,
        "unlimited": {
            "jobs": UNLIMITED_JOBS,
            "ideal_s": ideal,
            "xargs_wall_s": xargs_wall,
            "xargs_over_ideal": xargs_wall / ideal,
            "orchestrator_wall_s": unl_wall,
            "orchestrator_over_ideal": unl_wall / ideal,
            "orchestrator_cpu_s": unl_cpu,
            "orchestrator_cpu_per_entry_ms": per_entry_ms(unl_cpu),
        },
        "targets": {
            "wall_over_lower_bound_max": WALL_FACTOR,
            "cpu_per_entry_ms_max": CPU_PER_ENTRY_MAX_MS,
        },
        "table": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        "chosen_pass": chosen_pass,
        "pass": all_pass,
    });
    let path = write_report("e2e.json", &report);
    println!("e2e: wrote {}", path.display());
    if !all_pass && std::env::var_os("BENCH_ENFORCE").is_some_and(|v| v == "1") {
        eprintln!("e2e: a target was missed (BENCH_ENFORCE=1)");
        std::process::exit(1);
    }
}

struct Limited {
    jobs: u16,
    wall: f64,
    cpu: f64,
}

/// Every (ecosystem, k) of [`MIX`], spread evenly: entry k of an ecosystem with N entries sits
/// at (k + ½)/N of the queue, so the ecosystems interleave as in a mixed real queue.
fn mixed_order() -> Vec<(&'static str, usize)> {
    let mut v: Vec<(f64, usize, usize)> = MIX
        .iter()
        .enumerate()
        .flat_map(|(i, (_, count))| {
            (0..*count).map(move |k| ((k as f64 + 0.5) / *count as f64, i, k))
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    v.into_iter().map(|(_, i, k)| (MIX[i].0, k)).collect()
}

/// `max over ecosystems of (N_e − 1) × period_e`, plus one entry's latency.
fn lower_bound() -> f64 {
    MIX.iter()
        .map(|(eco, count)| (*count as f64 - 1.0) * default_period(eco))
        .fold(0.0, f64::max)
        + ENTRY_S
}

/// The Go tool's loop: before every entry but the first it sleeps the period of that entry's
/// ecosystem, then runs create and install one after the other.
fn sequential_bound(order: &[(&str, usize)]) -> f64 {
    order
        .iter()
        .skip(1)
        .map(|(eco, _)| default_period(eco))
        .sum::<f64>()
        + order.len() as f64 * ENTRY_S
}

fn queue_entry(eco: &str, k: usize) -> Value {
    let source = if eco == "github" {
        format!("github:bench/pkg-{k}")
    } else {
        format!("{eco}:pkg-{k}")
    };
    json!({
        "name": format!("pkg-{eco}-{k}"),
        "source": source,
        "priority": 1,
        "status": "pending",
        "confidence": "auto",
        "disambiguated_at": null,
        "failure_count": 0,
        "next_retry_at": null,
    })
}

/// A fresh directory with the queue and an all-closed control file.
fn prepare(root: &Path, label: &str, entries: &[Value]) -> PathBuf {
    let dir = root.join(label);
    fs::create_dir_all(&dir).expect("create run directory");
    let queue = json!({
        "schema_version": 1,
        "updated_at": "2026-01-01T00:00:00Z",
        "entries": entries,
    });
    fs::write(
        dir.join("queue.json"),
        serde_json::to_vec_pretty(&queue).expect("queue JSON"),
    )
    .expect("write queue");
    fs::write(
        dir.join("control.json"),
        r#"{"enabled":true,"circuit_breaker":{}}"#,
    )
    .expect("write control file");
    dir
}

/// A command with no inherited `BATCH_*`, `FAKE_TSUKU_*` or `RUST_LOG` setting, so the
/// caller's environment cannot change what is measured.
fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str()
            && (k.starts_with("BATCH_") || k.starts_with("FAKE_TSUKU_") || k == "RUST_LOG")
        {
            c.env_remove(k);
        }
    }
    c.env("FAKE_TSUKU_DELAY", CALL_DELAY)
        .env("FAKE_TSUKU_MODE", "ok");
    c
}

/// Runs the binary in `dir` with `--json`; returns the wall time and the parsed stdout.
fn run_orchestrator(
    dir: &Path,
    fake: &Path,
    jobs: u16,
    zero_limits: bool,
    dry_run: bool,
) -> (f64, Value) {
    let n: usize = MIX.iter().map(|(_, c)| c).sum();
    let mut cmd = clean_command(BIN);
    cmd.arg("--queue")
        .arg(dir.join("queue.json"))
        .arg("--control-file")
        .arg(dir.join("control.json"))
        .arg("--output-dir")
        .arg(dir.join("recipes"))
        .arg("--failures-dir")
        .arg(dir.join("failures"))
        .arg("--summary")
        .arg(dir.join("summary.md"))
        .arg("--generator")
        .arg(fake)
        .args(["--batch-size", &n.to_string(), "--tier", "3"])
        .args(["--jobs", &jobs.to_string(), "--json", "-q"])
        .env("FAKE_TSUKU_STATE", dir);
    if zero_limits {
        let limits: Vec<String> = MIX.iter().map(|(e, _)| format!("{e}=0s")).collect();
        cmd.arg("--rate-limit").arg(limits.join(","));
    }
    if dry_run {
        cmd.arg("--dry-run");
    }
    let start = Instant::now();
    let out = cmd.output().expect("run batch-generate");
    let wall = start.elapsed().as_secs_f64();
    let json = parse_success(&out, "batch-generate");
    (wall, json)
}

fn parse_success(out: &Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn check_all_succeeded(out: &Value, n: usize) {
    assert_eq!(
        (out["total"].as_u64(), out["succeeded"].as_u64()),
        (Some(n as u64), Some(n as u64)),
        "every entry runs and succeeds: {out}"
    );
}

/// The same list through `xargs -P`: one `sh -c` per entry running create, then install.
fn run_xargs(root: &Path, fake: &Path, order: &[(&str, usize)]) -> f64 {
    let dir = root.join("xargs");
    let recipes = dir.join("recipes");
    fs::create_dir_all(&recipes).expect("create xargs directory");
    let list: String = order
        .iter()
        .map(|(eco, k)| {
            let e = queue_entry(eco, *k);
            format!(
                "{} {}\n",
                e["name"].as_str().expect("name"),
                e["source"].as_str().expect("source")
            )
        })
        .collect();
    let list_path = dir.join("list.txt");
    fs::write(&list_path, list).expect("write list");
    let script = r#"out="$RECIPES/$1.toml"; "$0" create "$1" --from "$2" --output "$out" --yes --skip-sandbox --deterministic-only && "$0" install --json --recipe "$out""#;
    let mut cmd = clean_command("xargs");
    cmd.args([
        "-P",
        &UNLIMITED_JOBS.to_string(),
        "-L",
        "1",
        "sh",
        "-c",
        script,
    ])
    .arg(fake)
    .env("RECIPES", &recipes)
    .stdin(fs::File::open(&list_path).expect("open list"));
    let start = Instant::now();
    let out = cmd.output().expect("run xargs");
    let wall = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "xargs failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let written = fs::read_dir(&recipes).expect("recipes").count();
    assert_eq!(written, order.len(), "xargs wrote every recipe");
    wall
}

/// Mean wall time of one fake-generator call (create, then install), run one at a time.
fn fake_call_latency(root: &Path, fake: &Path) -> f64 {
    let dir = root.join("latency");
    fs::create_dir_all(&dir).expect("create latency directory");
    let recipe = dir.join("x.toml");
    let calls = 5;
    let start = Instant::now();
    for _ in 0..calls {
        let status = clean_command(fake)
            .args(["create", "x", "--from", "npm:x", "--output"])
            .arg(&recipe)
            .status()
            .expect("run fake create");
        assert!(status.success());
        let status = clean_command(fake)
            .args(["install", "--json", "--recipe"])
            .arg(&recipe)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run fake install");
        assert!(status.success());
    }
    start.elapsed().as_secs_f64() / f64::from(2 * calls)
}

fn fake_generator() -> PathBuf {
    let p = Path::new(MANIFEST_DIR).join("../../testdata/fake-tsuku");
    assert!(p.is_file(), "fake generator not found at {}", p.display());
    p.canonicalize().expect("canonical path")
}
