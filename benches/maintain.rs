//! `queue maintain` (mark-failures, requeue, reorder) end to end through `maintain_files` —
//! load the queue, read the failures directory, maintain, save to another file — on two
//! workloads:
//!
//! - `real`: tsuku's real queue (5,305 entries, copied to a temporary directory so the lock
//!   file is not written beside the data) with the whole failure corpus (`failures-corpus/`,
//!   5,785 files, both formats) read in place;
//! - `synthetic_100k`: 100,000 entries (the real ones cycled with a numeric suffix) with
//!   10,000 failure records generated here: 100 batch-format files of 100 records, every
//!   tenth entry failing once, one record in five a `missing_dep` naming another entry.
//!
//! Run: `BATCH_TSUKU_DATA=<tsuku data> cargo bench -p batch --bench maintain` (add `-- real`
//! or `-- synthetic`); without the variable it prints a skip line. Targets (issue #21):
//! < 0.2 s (real), < 0.5 s (synthetic, one thread). `BATCH_BENCH_1M=1` sizes the synthetic
//! workload at 1,000,000 entries and 100,000 records instead, for information only. Peak
//! memory is measured on the binary by `scripts/queue-rss.sh`. With
//! `BATCH_BENCH_BREAKDOWN=1` the bench times each stage once per workload (load, read the
//! records, each step alone, save) on stderr and exits.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use batch::Queue;
use batch::clock::FixedClock;
use batch::maintain::{FailureLog, MaintainFiles, Steps, maintain, maintain_files};
use criterion::{Criterion, criterion_group};

/// tsuku's data (`BATCH_TSUKU_DATA`); `main` has checked that it is set.
fn data() -> PathBuf {
    PathBuf::from(std::env::var_os("BATCH_TSUKU_DATA").expect("checked in main"))
}

fn now() -> jiff::Timestamp {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

/// Entries of the synthetic queue (1M with `BATCH_BENCH_1M`).
fn synthetic_entries() -> usize {
    if std::env::var_os("BATCH_BENCH_1M").is_some() {
        1_000_000
    } else {
        100_000
    }
}
/// Records per synthetic failure file.
const PER_FILE: usize = 100;

/// The real queue cycled to `n` entries with a numeric suffix on each name and source.
fn synthetic_queue(n: usize) -> Queue {
    let real = Queue::load(&data().join("priority-queue.json")).unwrap();
    let mut q = real.clone();
    q.entries = (0..n)
        .map(|i| {
            let mut e = real.entries[i % real.entries.len()].clone();
            e.name = format!("{}-{i}", e.name);
            e.source = format!("{}-{i}", e.source);
            e
        })
        .collect();
    q
}

/// Writes the synthetic failure files (spec §1.3.1 batch format) for `q` into `dir`.
fn write_failures(q: &Queue, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    // One record for every tenth entry.
    for f in 0..q.entries.len() / 10 / PER_FILE {
        let mut failures = String::new();
        for k in 0..PER_FILE {
            let r = f * PER_FILE + k;
            let e = &q.entries[(r * 10) % q.entries.len()];
            if !failures.is_empty() {
                failures.push(',');
            }
            let _ = write!(failures, r#"{{"package_id":{:?},"#, e.source);
            if r.is_multiple_of(5) {
                let dep = &q.entries[(r * 10 + 7) % q.entries.len()].name;
                let _ = write!(
                    failures,
                    r#""category":"missing_dep","blocked_by":[{dep:?}],"#
                );
            } else {
                failures.push_str(r#""category":"generation_failed","#);
            }
            let _ = write!(
                failures,
                r#""message":"synthetic","timestamp":"2026-11-20T10:00:{:02}Z"}}"#,
                k % 60
            );
        }
        let stamp = format!("2026-11-20T10-{:02}-{:02}Z", f / 60 % 60, f % 60);
        let line = format!(
            r#"{{"schema_version":1,"ecosystem":"bench{f}","environment":"linux-glibc-x86_64","updated_at":"{stamp}","failures":[{failures}]}}"#
        );
        std::fs::write(dir.join(format!("bench{f}-{stamp}.jsonl")), line + "\n").unwrap();
    }
}

/// One workload on disk: the queue file, its failures directory, the output path.
struct Workload {
    files: MaintainFiles,
    _dir: Option<tempfile::TempDir>,
}

fn real_workload(root: &Path) -> MaintainFiles {
    let queue = root.join("real/priority-queue.json");
    std::fs::create_dir_all(queue.parent().unwrap()).unwrap();
    std::fs::copy(data().join("priority-queue.json"), &queue).unwrap();
    MaintainFiles {
        output: Some(queue.with_file_name("maintained.json")),
        queue,
        failures_dir: data().join("failures-corpus"),
    }
}

fn synthetic_workload(root: &Path) -> MaintainFiles {
    let q = synthetic_queue(synthetic_entries());
    let queue = root.join("synthetic/priority-queue.json");
    std::fs::create_dir_all(queue.parent().unwrap()).unwrap();
    q.save(&queue, now()).unwrap();
    let failures_dir = root.join("synthetic/failures");
    write_failures(&q, &failures_dir);
    MaintainFiles {
        output: Some(queue.with_file_name("maintained.json")),
        queue,
        failures_dir,
    }
}

impl Workload {
    fn new(make: fn(&Path) -> MaintainFiles) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            files: make(dir.path()),
            _dir: Some(dir),
        }
    }
}

fn run(c: &mut Criterion, label: &str, w: &Workload) {
    let clock = FixedClock::new(now());
    c.bench_function(label, |b| {
        b.iter(|| {
            let out = maintain_files(black_box(&w.files), Steps::default(), false, &clock).unwrap();
            black_box(out.report.changed())
        })
    });
}

fn real(c: &mut Criterion) {
    run(
        c,
        "maintain/real_5305_corpus_5785",
        &Workload::new(real_workload),
    );
}

fn synthetic(c: &mut Criterion) {
    run(
        c,
        &format!("maintain/synthetic_{}", synthetic_entries()),
        &Workload::new(synthetic_workload),
    );
}

criterion_group!(small, real);
criterion_group! {
    name = big;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    targets = synthetic
}

/// Seconds of one call of `f`.
fn secs<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let t = std::time::Instant::now();
    let v = f();
    (t.elapsed().as_secs_f64(), v)
}

/// With `BATCH_BENCH_BREAKDOWN` set: one timing of each stage per workload, then exit.
fn breakdown() -> bool {
    if std::env::var_os("BATCH_BENCH_BREAKDOWN").is_none() {
        return false;
    }
    for (label, make) in [
        ("real", real_workload as fn(&Path) -> MaintainFiles),
        ("synthetic", synthetic_workload),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let files = make(dir.path());
        let (load, q) = secs(|| Queue::load(&files.queue).unwrap());
        let (read, log) = secs(|| FailureLog::read_dir(&files.failures_dir).unwrap());
        let only = |mark_failures, requeue, reorder| {
            let mut q = q.clone();
            let steps = Steps {
                mark_failures,
                requeue,
                reorder,
            };
            secs(|| maintain(&mut q, &log, steps, now())).0
        };
        let (mark, requeue, reorder) = (
            only(true, false, false),
            only(false, true, false),
            only(false, false, true),
        );
        let all = only(true, true, true);
        let out = files.queue.with_file_name("saved.json");
        let (save, ()) = secs(|| q.save(&out, now()).unwrap());
        eprintln!(
            "{label}: load {load:.3} s, read records {read:.3} s, mark-failures {mark:.3} s, requeue {requeue:.3} s, reorder {reorder:.3} s, all steps {all:.3} s, save {save:.3} s"
        );
    }
    true
}

fn main() {
    if std::env::var_os("BATCH_TSUKU_DATA").is_none() {
        println!(
            "maintain bench: skipped: BATCH_TSUKU_DATA is not set (tsuku's real queue and failure corpus)"
        );
        return;
    }
    if breakdown() {
        return;
    }
    small();
    big();
    Criterion::default().configure_from_args().final_summary();
}
