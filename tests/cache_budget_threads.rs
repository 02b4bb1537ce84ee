//! The block cache never holds more than its budget plus 10%, under write pressure from many
//! threads (moka evicts lazily; the cache bounds itself).

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use strata::{
    cache::{BlockCache, BlockCacheOptions, ObjectVersion, RangeFetch},
    config::CacheStrategy,
};

struct Zeros;

impl RangeFetch for Zeros {
    fn tier(&self) -> &str {
        "cold"
    }
    fn fetch(&self, range: Range<u64>) -> strata::Result<Bytes> {
        Ok(Bytes::from(vec![7u8; (range.end - range.start) as usize]))
    }
}

fn pressure(cost_aware: bool) {
    let budget = 8u64 << 20;
    let cache = BlockCache::new(&BlockCacheOptions {
        budget,
        block_size: 64 << 10,
        cost_aware,
        ..BlockCacheOptions::default()
    });
    let fetch: Arc<dyn RangeFetch> = Arc::new(Zeros);
    let stop = AtomicBool::new(false);
    let peak = AtomicU64::new(0);
    let (stop, peak, cache) = (&stop, &peak, &cache);
    std::thread::scope(|s| {
        s.spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(cache.held(), Ordering::Relaxed);
                std::hint::spin_loop();
            }
        });
        let writers: Vec<_> = (0..12u64)
            .map(|t| {
                let fetch = &fetch;
                s.spawn(move || {
                    for i in 0..400u64 {
                        // Every read a new object: nothing but inserts.
                        let object = ObjectVersion::new(&format!("t{t}/o{i}"), "v", 4 * 64 * 1024);
                        cache
                            .read(&object, 0..4 * 64 * 1024, fetch, CacheStrategy::Lazy)
                            .unwrap();
                        peak.fetch_max(cache.held(), Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
    });
    let stats = cache.stats();
    let peak = peak.load(Ordering::Relaxed);
    assert!(
        peak <= budget + budget / 10,
        "peak {peak} over budget {budget} + 10% (cost_aware {cost_aware}): {stats:?}"
    );
    assert!(stats.bytes <= budget, "{stats:?}");
    assert!(stats.evictions > 0, "{stats:?}");
    // 12 x 400 x 256 KiB were read: far more than the budget.
    assert!(stats.inserts > 200, "{stats:?}");
}

#[test]
fn budget_holds_under_many_writers() {
    pressure(false);
    pressure(true);
}
