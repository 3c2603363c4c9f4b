//! Queue parse, serialise, candidate selection, and load + select + save, on tsuku's real
//! 5,305-entry queue and on a synthetic 1,000,000-entry queue generated here (never committed).
//!
//! Run: `cargo bench -p batch --bench queue` (add `-- real` or `-- synthetic_1m` to filter).
//! Targets (issue #5): load + select + save ≤ 20 ms for the real queue, ≤ 3 s for 1M entries.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use batch::Queue;
use batch::control::breaker::EffectiveState;
use batch::select::{SelectOptions, select};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn real_queue_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/tsuku/priority-queue.json")
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
pub fn synthetic(n: usize) -> Queue {
    let real = Queue::from_slice(&std::fs::read(real_queue_path()).unwrap()).unwrap();
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
        b.iter(|| select(black_box(&parsed.entries), &closed, &opts(), now()))
    });
    let out = w.path.with_file_name("saved.json");
    g.bench_with_input(
        BenchmarkId::new("load_select_save", parsed.entries.len()),
        &w.path,
        |b, path| {
            b.iter(|| {
                let q = Queue::load(path).unwrap();
                let sel = select(&q.entries, &closed, &opts(), now());
                q.save(&out, now()).unwrap();
                sel
            })
        },
    );
    g.finish();
}

fn real(c: &mut Criterion) {
    let q = Queue::load(&real_queue_path()).unwrap();
    bench_workload(c, &Workload::new("real_5305", &q));
}

fn synthetic_1m(c: &mut Criterion) {
    let w = Workload::new("synthetic_1m", &synthetic(1_000_000));
    bench_workload(c, &w);
}

criterion_group!(small, real);
criterion_group! {
    name = big;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    targets = synthetic_1m
}
criterion_main!(small, big);
