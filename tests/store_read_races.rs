//! Readers racing an overwrite of the same key, through one shared store, see the old object
//! or the new one, whole, and never an error (issue 22 item 7): on memory, local and S3 tiers,
//! plaintext and encrypted, through get, get_range and get_to.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{config, local_tier, memory_tier, s3_tier};
use strata::{config::TierConfig, store::Store, PutOptions};

/// Version `n` of the object: its length alternates between 1,000 and 100,000 bytes, and every
/// byte says which version it belongs to, so a torn read cannot pass for a whole one.
fn version(n: u64) -> Vec<u8> {
    let len = if n.is_multiple_of(2) { 1_000 } else { 100_000 };
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The version `bytes` are, if they are one whole version.
fn which(bytes: &[u8]) -> Option<u64> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    (bytes == version(n)).then_some(n)
}

fn race(tier: TierConfig, encrypt: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&config(dir.path(), vec![tier])).unwrap());
    let options = PutOptions {
        encrypt: Some(encrypt),
    };
    store.put_with("shared/key", version(0), &options).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop, options) = (store.clone(), stop.clone(), options.clone());
        std::thread::spawn(move || {
            let mut n = 1;
            while !stop.load(Ordering::Relaxed) {
                store.put_with("shared/key", version(n), &options).unwrap();
                n += 1;
            }
            n
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                let mut last = 0;
                while !stop.load(Ordering::Relaxed) {
                    let got = match r {
                        0 => store.get("shared/key").unwrap().to_vec(),
                        1 => {
                            let mut out = Vec::new();
                            store.get_to("shared/key", &mut out).unwrap();
                            out
                        }
                        _ => {
                            // The first 1,000 bytes exist in every version.
                            let head = store.get_range("shared/key", 0..1_000).unwrap();
                            let n = u64::from_le_bytes(head[..8].try_into().unwrap());
                            assert!(head[..] == version(n)[..1_000], "torn range");
                            reads += 1;
                            continue;
                        }
                    };
                    let n =
                        which(&got).unwrap_or_else(|| panic!("a torn read of {} bytes", got.len()));
                    assert!(n >= last, "went back from version {last} to {n}");
                    last = n;
                    let stat = store.stat("shared/key").unwrap();
                    assert!(stat.size == 1_000 || stat.size == 100_000);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().unwrap();
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(
        writes > 5 && reads > 20,
        "{writes} writes, {reads} reads in {:?}",
        started.elapsed()
    );
    // The index and the tier agree at the end.
    let stat = store.stat("shared/key").unwrap();
    let got = store.get("shared/key").unwrap();
    assert_eq!(stat.size, got.len() as u64);
    assert_eq!(which(&got), Some(writes - 1));
}

#[test]
fn local_plain() {
    race(local_tier("hot"), false);
}

#[test]
fn local_encrypted() {
    race(local_tier("hot"), true);
}

#[test]
fn memory_plain() {
    race(memory_tier("mem"), false);
}

#[test]
fn memory_encrypted() {
    race(memory_tier("mem"), true);
}

#[test]
fn s3_plain_and_encrypted() {
    for encrypt in [false, true] {
        let Some(tier) = s3_tier("remote", "read-races") else {
            return;
        };
        race(tier, encrypt);
    }
}
