//! Fault injection under the remote tier (issue 22): requests fail, stall, lose their answer
//! after landing, and come back with bodies cut short, during puts, multipart uploads, gets
//! and tier runs. Every call succeeds or names the tier and the key; once the faults stop,
//! every object reads back as a version that was written (for a failed put: the old or the new
//! one), the index agrees with the tier, a reindex finds the same keys, and nothing
//! acknowledged is lost. Retries are bounded: against a tier that fails every request, calls
//! come back in bounded time.
//!
//! Seeds are printed; rerun one with `STRATA_FAULT_SEED=<seed> cargo test --test s3_faults --
//! --include-ignored` (`STRATA_FAULT_LOG=1` prints every step and every injected fault,
//! `STRATA_FAULT_CUT=0` stops cutting bodies short).
//! The workloads are ignored while the store bugs they find are open: each has a scripted
//! reproduction in tests/store_fault_cases.rs. Bounded retries: tests/store_retry_bounds.rs.

mod common;
#[path = "common/faulty_store.rs"]
mod faulty_store;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{bytes, config, local_tier, memory_tier, s3_tier};
use faulty_store::{Faults, Rates};
use strata::{
    config::{LifecycleRule, PlacementRule, RetryConfig, TierConfig},
    store::Store,
    ErrorKind, LakeConfig, RunOptions,
};

/// The faulty tier's name: every failure must name it.
const REMOTE: &str = "remote";
/// Lowest multipart threshold the config accepts; objects above it go up in parts.
const THRESHOLD: u64 = 5 << 20;

const RATES: Rates = Rates {
    fail: 50,
    timeout: 30,
    fail_after: 70,
    delay: 80,
    cut: 80,
};

/// The rates, with `STRATA_FAULT_CUT` (per thousand) overriding the share of bodies cut
/// short, e.g. 0 to look past the bugs short bodies find.
fn rates() -> Rates {
    let cut = std::env::var("STRATA_FAULT_CUT")
        .map(|v| v.parse().expect("STRATA_FAULT_CUT is a number"))
        .unwrap_or(RATES.cut);
    Rates { cut, ..RATES }
}

fn seeds(default_count: usize) -> Vec<u64> {
    if let Ok(seed) = std::env::var("STRATA_FAULT_SEED") {
        return vec![seed.parse().expect("STRATA_FAULT_SEED is a u64")];
    }
    let base = common::unique() as u64;
    (0..default_count as u64)
        .map(|i| base.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i))
        .collect()
}

/// A small deterministic generator for the workload (the faults have their own).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Keys on the hot tier ("h/", demoted into the faulty tier by tier runs) and on the faulty
/// tier itself ("r/", placed there and promoted out after reads).
const KEYS: &[&str] = &[
    "h/0", "h/1", "h/2", "h/n/3", "r/0", "r/1", "r/2", "r/3", "r/n/4", "r/n/5",
];

fn lake(dir: &std::path::Path, remote: TierConfig) -> LakeConfig {
    let mut cfg = config(dir, vec![local_tier("hot"), remote]);
    cfg.placement = vec![PlacementRule {
        prefix: "r/".into(),
        min_size: None,
        max_size: None,
        tier: REMOTE.into(),
    }];
    let rule = |prefix: &str, reads: u32| LifecycleRule {
        prefix: prefix.into(),
        demote_after_age: Some(Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: Some(reads),
        promote_window: Some(Duration::from_secs(3600)),
        demote_to: None,
    };
    cfg.lifecycle = vec![rule("h/", 1), rule("r/", 2)];
    cfg.multipart_threshold = THRESHOLD;
    // Fetches in the order the calls are made, so that a seed replays the same faults.
    cfg.cache.read_ahead_blocks = 0;
    cfg.retry = RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(10),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
    };
    cfg
}

/// Tier runs one action at a time, so that a seed replays the same faults.
fn sequential() -> RunOptions {
    RunOptions {
        concurrency: 1,
        ..RunOptions::default()
    }
}

/// What each key may hold: the versions (BLAKE3 hex) it may read as, None for absent.
#[derive(Default)]
struct Model {
    possible: BTreeMap<String, BTreeSet<Option<String>>>,
    /// hash -> (len, seed) of every version ever written, to regenerate its bytes.
    versions: BTreeMap<String, (usize, u64)>,
    /// Keys with a put whose outcome the store could not learn: the old record stands until
    /// the next open settles it.
    unsettled: BTreeSet<String>,
    log: Vec<String>,
}

impl Model {
    fn of(&mut self, key: &str) -> &mut BTreeSet<Option<String>> {
        self.possible
            .entry(key.to_string())
            .or_insert_with(|| BTreeSet::from([None]))
    }

    fn content(&self, hash: &str) -> Vec<u8> {
        let (len, seed) = self.versions[hash];
        bytes(len, seed)
    }

    fn may_be_absent(&mut self, key: &str) -> bool {
        self.of(key).contains(&None)
    }

    /// A version `got` read from `key` is one the model allows.
    fn check_read(&mut self, key: &str, got: &[u8], seed: u64) {
        let hash = blake3::hash(got).to_hex().to_string();
        let allowed = self.of(key).clone();
        assert!(
            allowed.contains(&Some(hash.clone())),
            "seed {seed}: {key} read {} bytes ({hash}) that are none of the versions it may \
             hold: {allowed:?}\n{}",
            got.len(),
            self.tail()
        );
    }

    fn note(&mut self, line: String) {
        if std::env::var_os("STRATA_FAULT_LOG").is_some() {
            eprintln!("{line}");
        }
        self.log.push(line);
    }

    fn tail(&self) -> String {
        let from = self.log.len().saturating_sub(40);
        self.log[from..].join("\n")
    }
}

/// Whether an error message names the faulty tier (as context, or in its words).
fn names_tier(text: &str) -> bool {
    [": ", " ", " \""]
        .iter()
        .any(|sep| text.contains(&format!("tier{sep}{REMOTE}")))
}

/// A failure must name the faulty tier and the key (or, for a key the store does not know,
/// say so).
fn check_error(err: &strata::Error, key: &str, model: &mut Model, seed: u64, what: &str) {
    let text = err.to_string();
    if err.kind() == ErrorKind::NotFound && text.starts_with("no such object") {
        assert!(
            model.may_be_absent(key),
            "seed {seed}: {what} {key}: the store lost it: {text}\n{}",
            model.tail()
        );
        return;
    }
    assert!(
        text.contains(&format!("key: {key}")) && names_tier(&text),
        "seed {seed}: {what} {key} failed without naming the tier and the key: {text}\n{}",
        model.tail()
    );
    assert!(!text.contains('\n'), "seed {seed}: not one line: {text}");
}

/// One step of the workload.
fn step(store: &Store, model: &mut Model, rng: &mut Rng, seed: u64, n: u64) {
    let key = KEYS[rng.below(KEYS.len() as u64) as usize];
    let roll = rng.below(100);
    let version_seed = seed ^ (n.wrapping_mul(0x2545_F491_4F6C_DD1D)) ^ 0xA5;
    let put = |model: &mut Model, len: usize, streamed: bool| {
        let data = bytes(len, version_seed);
        let hash = blake3::hash(&data).to_hex().to_string();
        model.versions.insert(hash.clone(), (len, version_seed));
        let result = if streamed {
            store.put_reader(key, &mut &data[..], None)
        } else {
            store.put(key, data)
        };
        model.note(format!(
            "{n}: {} {key} {len} bytes {hash:.12}: {result:?}",
            if streamed { "put_reader" } else { "put" }
        ));
        match result {
            Ok(info) => {
                assert_eq!(info.checksum, hash, "seed {seed}");
                *model.of(key) = BTreeSet::from([Some(hash)]);
            }
            Err(e) => {
                check_error(&e, key, model, seed, "put");
                if e.to_string().contains("unknown until the tier answers") {
                    model.unsettled.insert(key.to_string());
                }
                model.of(key).insert(Some(hash));
            }
        }
    };
    match roll {
        0..=24 => put(model, 1 + rng.below(64 << 10) as usize, false),
        25..=29 => put(model, (THRESHOLD + rng.below(7 << 20)) as usize, false),
        30..=37 => put(model, 1 + rng.below(64 << 10) as usize, true),
        38..=41 => put(model, (THRESHOLD + rng.below(7 << 20)) as usize, true),
        42..=61 => {
            let result = store.get(key);
            model.note(format!(
                "{n}: get {key}: {:?}",
                result.as_ref().map(|b| b.len())
            ));
            match result {
                Ok(got) => model.check_read(key, &got, seed),
                Err(e) => check_error(&e, key, model, seed, "get"),
            }
        }
        62..=71 => {
            let Ok(size) = store.stat(key).map(|s| s.size) else {
                return;
            };
            let start = rng.below(size + 1);
            let end = start + rng.below(size - start + 1);
            let result = store.get_range(key, start..end);
            model.note(format!(
                "{n}: get_range {key} {start}..{end}: {:?}",
                result.as_ref().map(|b| b.len())
            ));
            match result {
                Ok(got) => {
                    let allowed: Vec<String> = model.of(key).iter().flatten().cloned().collect();
                    let matches = allowed.iter().any(|h| {
                        let full = model.content(h);
                        full.len() as u64 >= end && full[start as usize..end as usize] == got[..]
                    });
                    assert!(
                        matches,
                        "seed {seed}: {key} range {start}..{end} matches no version it may \
                         hold\n{}",
                        model.tail()
                    );
                }
                Err(e) => check_error(&e, key, model, seed, "get_range"),
            }
        }
        72..=77 => {
            let mut out = Vec::new();
            let result = store.get_to(key, &mut out);
            model.note(format!(
                "{n}: get_to {key}: {result:?} ({} bytes)",
                out.len()
            ));
            match result {
                Ok(len) => {
                    assert_eq!(len, out.len() as u64, "seed {seed}");
                    model.check_read(key, &out, seed);
                }
                Err(e) => check_error(&e, key, model, seed, "get_to"),
            }
        }
        78..=91 => {
            let result = store.delete(key);
            model.note(format!("{n}: delete {key}: {result:?}"));
            match result {
                Ok(()) => *model.of(key) = BTreeSet::from([None]),
                Err(e) => {
                    check_error(&e, key, model, seed, "delete");
                    model.of(key).insert(None);
                }
            }
        }
        _ => {
            let report = store
                .run_tiers(&sequential(), &|_, _| {})
                .unwrap_or_else(|e| panic!("seed {seed}: tier run failed as a whole: {e}"));
            model.note(format!(
                "{n}: tier run: {} moved, {} failed",
                report.moved, report.failed
            ));
            for outcome in &report.actions {
                if let Some(err) = &outcome.error {
                    let key = &outcome.planned.key;
                    assert!(
                        err.contains(&format!("key: {key}")) && names_tier(err),
                        "seed {seed}: tier run action {} failed without naming the tier and \
                         the key: {err}\n{}",
                        outcome.planned,
                        model.tail()
                    );
                    model.note(format!("{n}:   {}: {err}", outcome.planned));
                }
            }
        }
    }
}

/// With the faults off: every key reads back as a version it may hold, the index agrees with
/// the tier, and every acknowledged object is there. Returns the keys listed.
fn verify(store: &Store, model: &mut Model, seed: u64, stage: &str) -> BTreeSet<String> {
    let listed: BTreeSet<String> = store
        .list("")
        .unwrap_or_else(|e| panic!("seed {seed}: {stage}: list failed: {e}"))
        .into_iter()
        .map(|o| o.key)
        .collect();
    for key in KEYS {
        let allowed = model.of(key).clone();
        if !listed.contains(*key) {
            assert!(
                allowed.contains(&None),
                "seed {seed}: {stage}: {key} was lost (it must hold one of {allowed:?})\n{}",
                model.tail()
            );
            continue;
        }
        let got = store
            .get(key)
            .unwrap_or_else(|e| panic!("seed {seed}: {stage}: get {key}: {e}\n{}", model.tail()));
        model.check_read(key, &got, seed);
        let stat = store.stat(key).unwrap();
        assert_eq!(
            stat.checksum,
            blake3::hash(&got).to_hex().to_string(),
            "seed {seed}: {stage}: the index and the tier disagree on {key}"
        );
        assert_eq!(stat.size, got.len() as u64, "seed {seed}: {stage}: {key}");
        let mut streamed = Vec::new();
        store.get_to(key, &mut streamed).unwrap();
        assert!(streamed == got[..], "seed {seed}: {stage}: get_to {key}");
    }
    listed
}

/// The workload with the faults on, then the checks with them off.
fn run_workload(remote: TierConfig, seed: u64, steps: u64, persistent: bool) {
    eprintln!("fault seed {seed} ({REMOTE} tier {:?})", remote.kind);
    let dir = tempfile::tempdir().unwrap();
    let prefix = match &remote.kind {
        strata::config::TierKind::S3(s3) => s3.prefix.clone(),
        _ => None,
    };
    let cfg = lake(dir.path(), remote);
    let faults = Faults::new(seed, rates());
    if let Some(prefix) = prefix {
        faults.ignore_prefix(&prefix);
    }
    let mut model = Model::default();
    let mut rng = Rng(seed);
    {
        let mut store = Store::open(&cfg).unwrap();
        store.wrap_tier(REMOTE, |inner| faults.wrap(inner)).unwrap();
        for n in 0..steps {
            step(&store, &mut model, &mut rng, seed, n);
        }
        faults.set_enabled(false);
        eprintln!("seed {seed}: injected {}", faults.summary());
        if !persistent {
            // A memory tier starts empty at every open, so it cannot be reopened: its checks
            // run in this process. A put whose outcome the store could not learn leaves the
            // old record current until the next open, which never comes; only those keys may
            // fail here (naming themselves).
            for key in KEYS {
                match store.get(key) {
                    Ok(got) => model.check_read(key, &got, seed),
                    Err(e) => {
                        assert!(
                            model.unsettled.contains(*key) || model.may_be_absent(key),
                            "seed {seed}: {key} unreadable with the faults off: {e}\n{}",
                            model.tail()
                        );
                        check_error(&e, key, &mut model, seed, "get");
                    }
                }
            }
            // A tier run without faults finishes interrupted moves and removes orphans.
            let report = store.run_tiers(&sequential(), &|_, _| {}).unwrap();
            for outcome in &report.actions {
                assert!(
                    outcome.error.is_none() || model.unsettled.contains(&outcome.planned.key),
                    "seed {seed}: {} failed without faults: {:?}",
                    outcome.planned,
                    outcome.error
                );
            }
            let before: BTreeSet<String> =
                store.list("").unwrap().into_iter().map(|o| o.key).collect();
            // Copies left by failed moves may differ from the current version (conflicts); the
            // reindex must still pick a version each key may hold.
            store.reindex().unwrap();
            let after = verify(&store, &mut model, seed, "after a reindex");
            // Only a put the store could not settle may leave a key the index did not know of
            // (or still knew of).
            let differ: Vec<_> = before.symmetric_difference(&after).collect();
            assert!(
                differ.iter().all(|k| model.unsettled.contains(*k)),
                "seed {seed}: a reindex found other keys than the index had: {differ:?}\n{}",
                model.tail()
            );
            let report = store.run_tiers(&sequential(), &|_, _| {}).unwrap();
            assert_eq!(report.failed, 0, "seed {seed}: {report:?}");
            verify(&store, &mut model, seed, "after a tier run without faults");
            return;
        }
    }
    // Faults off: a plain store on the same tiers, which settles what was left open.
    let store = Store::open(&cfg).unwrap();
    let listed = verify(&store, &mut model, seed, "after reopening");
    let report = store.run_tiers(&sequential(), &|_, _| {}).unwrap();
    assert_eq!(report.failed, 0, "seed {seed}: {report:?}");
    let after_run = verify(&store, &mut model, seed, "after a tier run without faults");
    assert_eq!(listed, after_run, "seed {seed}");
    store.reindex().unwrap();
    let reindexed = verify(&store, &mut model, seed, "after a reindex");
    assert_eq!(
        listed, reindexed,
        "seed {seed}: a reindex found other keys than the index had"
    );
}

#[test]
fn memory_tier_under_faults_loses_nothing() {
    for seed in seeds(3) {
        run_workload(memory_tier(REMOTE), seed, 300, false);
    }
}

#[test]
fn s3_tier_under_faults_loses_nothing() {
    let Some(remote) = s3_tier(REMOTE, "faults") else {
        return;
    };
    for seed in seeds(1) {
        let mut remote = remote.clone();
        if let strata::config::TierKind::S3(s3) = &mut remote.kind {
            s3.prefix = s3.prefix.take().map(|p| format!("{p}-{seed}"));
        }
        run_workload(remote, seed, 200, true);
    }
}

/// The wrapper itself injects what it says (so the workload above is not vacuous): failed
/// and cut gets, failed-after puts that landed, faults on multipart parts and completion.
#[test]
fn the_wrapper_injects_every_fault_kind() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = lake(dir.path(), memory_tier(REMOTE));
    let faults = Faults::new(11, RATES);
    let mut store = Store::open(&cfg).unwrap();
    store.wrap_tier(REMOTE, |inner| faults.wrap(inner)).unwrap();
    let large = bytes(THRESHOLD as usize + (3 << 20), 5);
    for i in 0..60 {
        let key = format!("r/{}", i % 7);
        let _ = store.put(&key, bytes(100 + i, i as u64));
        let _ = store.get(&key);
        let _ = store.get_to(&key, &mut Vec::new());
        if i % 6 == 0 {
            let _ = store.put_reader(&key, &mut &large[..], None);
            let _ = store.put(&key, large.clone());
        }
    }
    for (op, fault) in [
        ("put", "fail-after"),
        ("get", "fail"),
        ("get", "cut-error"),
        ("get", "cut-short"),
        ("multipart-start", "*"),
        ("part", "*"),
        ("complete", "*"),
        ("*", "timeout"),
        ("*", "delay"),
    ] {
        assert!(
            faults.count(op, fault) > 0,
            "no {op}/{fault} faults: {}",
            faults.summary()
        );
    }
}
