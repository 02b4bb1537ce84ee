//! Sync bench: a no-change sync of 10,000 objects from the hot tier to the cold tier (every
//! object already copied and verified by an earlier run), within one lake and into another
//! lake's tier.
//!
//! Run: `cargo bench --bench sync`. The goal: a no-change sync of 10,000 objects
//! finishes in under 1 s. Setting it up puts 10,000 objects and syncs them once (a few
//! seconds); the measured runs read no object: the tier index, the destination's listing and
//! the sync manifest (or the other lake's index) decide.
//!
//! Measured here (2 cores, local tiers, 2026-12-07): `within_lake` 78 ms (62-98 ms),
//! `into_other_lake` 140 ms (137-144 ms; it opens the other lake's store each run). End to end
//! through the command line (release build, process start, lock and index open included):
//! `strata sync hot cold` over 10,000 unchanged objects took 0.14-0.16 s.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use strata::store::{SyncOptions, SyncRequest};
use strata::{Lake, LakeConfig};

const OBJECTS: usize = 10_000;

fn lake(dir: &std::path::Path) -> Lake {
    let mut config = LakeConfig::local(dir);
    config.lifecycle.clear();
    config.retention.clear();
    let lake = Lake::open(&config).unwrap();
    for i in 0..OBJECTS {
        let body = format!("object {i} of the sync bench, with a little padding to be real");
        lake.put(
            &format!("events/{:02}/{i:05}.json", i % 50),
            body.into_bytes(),
        )
        .unwrap();
    }
    lake
}

fn no_change(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(&dir.path().join("lake"));
    let within = SyncRequest {
        source: "hot".into(),
        dest: "cold".into(),
        dest_config: None,
        options: SyncOptions::default(),
    };
    assert_eq!(lake.sync(&within).unwrap().copied, OBJECTS as u64);
    let mut other = LakeConfig::local(dir.path().join("other"));
    other.lifecycle.clear();
    let into_other = SyncRequest {
        dest: "hot".into(),
        dest_config: Some(other),
        ..within.clone()
    };
    assert_eq!(lake.sync(&into_other).unwrap().copied, OBJECTS as u64);

    let mut group = c.benchmark_group("sync_no_change_10k");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("within_lake", |b| {
        b.iter(|| {
            let report = lake.sync(&within).unwrap();
            assert_eq!((report.copied, report.skipped), (0, OBJECTS as u64));
        })
    });
    group.bench_function("into_other_lake", |b| {
        b.iter(|| {
            let report = lake.sync(&into_other).unwrap();
            assert_eq!((report.copied, report.skipped), (0, OBJECTS as u64));
        })
    });
    group.finish();
}

criterion_group!(benches, no_change);
criterion_main!(benches);
