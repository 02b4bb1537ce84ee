//! Profile throughput on 10 million numeric rows (an i64 and an f64 column with 1% nulls) with
//! 1 and 2 rayon threads.
//!
//! Run: `cargo bench --bench quality`. The goals: at least 1 GB/s per core on numeric
//! columns, and 2 threads at least 1.7x faster than 1. Throughput counts the values buffers
//! (16 bytes per row).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use strata::quality::{profile_batches, ProfileOptions};

const ROWS: usize = 10_000_000;

fn table() -> RecordBatch {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let ints: Int64Array = (0..ROWS)
        .map(|i| (i % 100 != 7).then(|| (next() % 1_000_000_000) as i64 - 500_000_000))
        .collect();
    let floats: Float64Array = (0..ROWS)
        .map(|i| (i % 100 != 11).then(|| (next() >> 11) as f64 / (1u64 << 53) as f64 * 1e6))
        .collect();
    RecordBatch::try_from_iter(vec![
        ("amount_i64", Arc::new(ints) as ArrayRef),
        ("price_f64", Arc::new(floats) as ArrayRef),
    ])
    .unwrap()
}

fn profile_throughput(c: &mut Criterion) {
    let batch = table();
    let options = ProfileOptions::default();
    let mut group = c.benchmark_group("profile_10m_numeric");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Bytes((ROWS * 16) as u64));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        group.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, _| {
            b.iter(|| {
                pool.install(|| {
                    black_box(profile_batches(std::slice::from_ref(&batch), &options).unwrap())
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, profile_throughput);
criterion_main!(benches);
