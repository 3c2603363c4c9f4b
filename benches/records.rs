//! `blocked_by` extraction over 1 MiB of generator output, and failure-record serialisation of
//! 10,000 records (issue #5).
//!
//! Run: `cargo bench -p batch --bench records`.

use std::hint::black_box;

use batch::generator::Category;
use batch::records::{FailureRecord, failure_files};
use batch::tsuku::extract_blocked_by;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// 1 MiB of install-log-like output with a "not found in registry" line every 64 lines.
fn output_1mib() -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 20);
    let mut i = 0;
    while out.len() < 1 << 20 {
        if i % 64 == 0 {
            out.extend_from_slice(
                format!("Error: recipe dep{} not found in registry\n", i % 300).as_bytes(),
            );
        } else {
            out.extend_from_slice(
                format!(
                    "   Compiling crate-{i} v0.{i}.0 (registry+https://example.invalid) <&> done\n"
                )
                .as_bytes(),
            );
        }
        i += 1;
    }
    out.truncate(1 << 20);
    out
}

fn records(n: usize) -> Vec<FailureRecord> {
    let ecos = ["homebrew", "crates.io", "npm", "pypi", "rubygems", "github"];
    (0..n)
        .map(|i| FailureRecord {
            package_id: format!("{}:package-{i}", ecos[i % ecos.len()]),
            category: if i % 7 == 0 {
                Category::MissingDep
            } else {
                Category::InstallFailed
            },
            subcategory: if i % 5 == 0 {
                "timeout".into()
            } else {
                String::new()
            },
            blocked_by: if i % 7 == 0 {
                vec![format!("dep{i}"), "openssl@3".into()]
            } else {
                vec![]
            },
            // Real messages average 364 bytes (spec §10.3) and carry `<`, `>`, `&` escapes.
            message: format!(
                "tsuku create failed for package-{i}: <{}> & more",
                "x".repeat(340)
            ),
            timestamp: "2026-06-26T20:47:05.87098022Z".into(),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let out = output_1mib();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Bytes(out.len() as u64));
    g.bench_function("blocked_by_1mib", |b| {
        b.iter(|| extract_blocked_by(black_box(&out)))
    });
    g.finish();

    let recs = records(10_000);
    let now: jiff::Timestamp = "2026-06-26T20:49:32Z".parse().unwrap();
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.bench_function("failure_files_10k", |b| {
        b.iter(|| failure_files(black_box(&recs), now))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
