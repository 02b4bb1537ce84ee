//! Concurrent misses of the same blocks fetch them once.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use bytes::Bytes;
use strata::{
    cache::{BlockCache, BlockCacheOptions, ObjectVersion, RangeFetch},
    config::CacheStrategy,
};

struct Slow {
    data: Bytes,
    fetches: AtomicUsize,
}

impl RangeFetch for Slow {
    fn tier(&self) -> &str {
        "cold"
    }
    fn fetch(&self, range: Range<u64>) -> strata::Result<Bytes> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        Ok(self.data.slice(range.start as usize..range.end as usize))
    }
}

#[test]
fn concurrent_misses_fetch_once() {
    let data = Bytes::from((0..4 << 20).map(|i| (i % 253) as u8).collect::<Vec<u8>>());
    let slow = Arc::new(Slow {
        data: data.clone(),
        fetches: AtomicUsize::new(0),
    });
    let fetch: Arc<dyn RangeFetch> = slow.clone();
    let cache = BlockCache::new(&BlockCacheOptions {
        budget: 64 << 20,
        ..BlockCacheOptions::default()
    });
    let object = ObjectVersion::new("cold/big", "etag-1", data.len() as u64);
    let threads = 16;
    let barrier = Arc::new(Barrier::new(threads));
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (cache, fetch, object, barrier) = (&cache, &fetch, &object, barrier.clone());
            let data = &data;
            s.spawn(move || {
                barrier.wait();
                let got = cache
                    .read(object, 1000..3_000_000, fetch, CacheStrategy::Lazy)
                    .unwrap();
                assert_eq!(got, data.slice(1000..3_000_000));
            });
        }
    });
    let stats = cache.stats();
    // Every block is fetched exactly once, however the 16 readers' claims interleave: one
    // reader may lead block 0 while another leads blocks 1 and 2, so the three blocks arrive in
    // one to three requests, never more, and no byte is fetched twice.
    let fetches = slow.fetches.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&fetches),
        "16 readers of blocks 0..3: {fetches} fetches: {stats:?}"
    );
    assert_eq!(stats.fetches, fetches as u64);
    assert_eq!(stats.fetched_bytes, 3 << 20, "{stats:?}");
    assert_eq!(stats.inserts, 3);
}
