//! Tiered store benches: a 64 MiB get from the hot tier against `std::fs::read` of the same
//! file, and put/get of 4 KiB objects.
//!
//! Run: `cargo bench --bench store`. The goal: `strata_get` at most 1.2x `std_fs_read`.
//! `strata_get_touch` also reads every page of the map, so it does the same memory work as
//! `std::fs::read` (which copies every byte) and is the honest like-for-like figure.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata::{store::Store, LakeConfig};

fn data(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn touch(bytes: &[u8]) -> u64 {
    bytes.iter().step_by(4096).map(|&b| b as u64).sum()
}

fn get_64mib(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LakeConfig::local(dir.path());
    config.lifecycle.clear();
    let store = Store::open(&config).unwrap();
    let payload = data(64 << 20);
    store.put("bench/big.bin", payload).unwrap();
    let file = dir.path().join("hot/bench/big.bin");
    assert!(file.exists());

    let mut group = c.benchmark_group("get_64mib");
    group.throughput(Throughput::Bytes(64 << 20));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("std_fs_read", |b| {
        b.iter(|| black_box(std::fs::read(&file).unwrap()))
    });
    group.bench_function("strata_get", |b| {
        b.iter(|| black_box(store.get("bench/big.bin").unwrap()))
    });
    group.bench_function("std_fs_read_touch", |b| {
        b.iter(|| black_box(touch(&std::fs::read(&file).unwrap())))
    });
    group.bench_function("strata_get_touch", |b| {
        b.iter(|| black_box(touch(&store.get("bench/big.bin").unwrap())))
    });
    group.finish();
}

fn small_objects(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LakeConfig::local(dir.path());
    config.lifecycle.clear();
    let store = Store::open(&config).unwrap();
    let payload = data(4096);
    for i in 0..1000 {
        store.put(&format!("small/{i}"), payload.clone()).unwrap();
    }
    let mut group = c.benchmark_group("objects_4kib");
    group.throughput(Throughput::Bytes(4096));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    let mut n = 0u64;
    group.bench_function("put", |b| {
        b.iter(|| {
            n += 1;
            store
                .put(&format!("put/{}", n % 1000), payload.clone())
                .unwrap()
        })
    });
    let mut i = 0u64;
    group.bench_function("get", |b| {
        b.iter(|| {
            i += 1;
            black_box(store.get(&format!("small/{}", i % 1000)).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, get_64mib, small_objects);
criterion_main!(benches);
