//! Queue parse, serialise, candidate selection, and load + select + save, on tsuku's real
//! 5,305-entry queue and on a synthetic 100,000-entry queue generated here (never committed).
//!
//! Run: `BATCH_TSUKU_DATA=<tsuku data> cargo bench -p batch --bench queue` (add `-- real` or
//! `-- synthetic_100k` to filter); without the variable it prints a skip line. Targets (issue
//! #21): load + select + save < 0.5 s on one thread for 100,000 entries, ≤ 20 ms for the real
//! queue. `BATCH_BENCH_1M=1` adds a 1,000,000-entry queue, for information only.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use batch::Queue;
use batch::control::breaker::EffectiveState;
use batch::select::{SelectOptions, select_candidates};
use criterion::{BenchmarkId, Criterion, Throughput};

/// tsuku's real queue under `BATCH_TSUKU_DATA`, if the variable is set.
fn real_queue_path() -> Option<PathBuf> {
    std::env::var_os("BATCH_TSUKU_DATA").map(|d| Path::new(&d).join("priority-queue.json"))
}

fn now() -> jiff::Timestamp {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

fn opts() -> SelectOptions {
    SelectOptions {
        batch_size: 25,
        tier: 2,
        ..SelectOptions::default()
    }
}

/// A queue of `n` entries made by cycling the real ones with a numeric suffix on the name, so
/// sizes, statuses and timestamps have the real distribution.
fn synthetic(real_path: &Path, n: usize) -> Queue {
    let real = Queue::load(real_path).unwrap();
    let mut q = real.clone();
    q.entries = (0..n)
        .map(|i| {
            let mut e = real.entries[i % real.entries.len()].clone();
            e.name = format!("{}-{i}", e.name);
            e
        })
        .collect();
    q
}

/// One queue workload: the bytes of its file and the file on disk.
struct Workload {
    label: &'static str,
    bytes: Vec<u8>,
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Workload {
    fn new(label: &'static str, queue: &Queue) -> Self {
        let bytes = queue.to_bytes(now());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("priority-queue.json");
        std::fs::write(&path, &bytes).unwrap();
        Self {
            label,
            bytes,
            _dir: dir,
            path,
        }
    }
}

fn bench_workload(c: &mut Criterion, w: &Workload) {
    let closed: BTreeMap<String, EffectiveState> = BTreeMap::new();
    let parsed = Queue::from_slice(&w.bytes).unwrap();
    let mut g = c.benchmark_group(w.label);
    g.throughput(Throughput::Bytes(w.bytes.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| Queue::from_slice(black_box(&w.bytes)).unwrap())
    });
    g.bench_function("serialise", |b| {
        b.iter(|| black_box(&parsed).to_bytes(now()))
    });
    g.throughput(Throughput::Elements(parsed.entries.len() as u64));
    g.bench_function("select", |b| {
        b.iter(|| select_candidates(black_box(&parsed.entries), &closed, &opts(), now()))
    });
    let out = w.path.with_file_name("saved.json");
    g.bench_with_input(
        BenchmarkId::new("load_select_save", parsed.entries.len()),
        &w.path,
        |b, path| {
            b.iter(|| {
                let q = Queue::load(path).unwrap();
                let sel = select_candidates(&q.entries, &closed, &opts(), now());
                q.save(&out, now()).unwrap();
                sel
            })
        },
    );
    g.finish();
}

fn main() {
    let Some(real_path) = real_queue_path() else {
        println!(
            "queue bench: skipped: BATCH_TSUKU_DATA is not set (tsuku's real queue is the template)"
        );
        return;
    };
    let mut c = Criterion::default().configure_from_args();
    let q = Queue::load(&real_path).unwrap();
    bench_workload(&mut c, &Workload::new("real_5305", &q));
    let mut big = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    let w = Workload::new("synthetic_100k", &synthetic(&real_path, 100_000));
    bench_workload(&mut big, &w);
    drop(w);
    if std::env::var_os("BATCH_BENCH_1M").is_some() {
        let w = Workload::new("synthetic_1m", &synthetic(&real_path, 1_000_000));
        bench_workload(&mut big, &w);
    }
    c.final_summary();
}
