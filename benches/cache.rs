//! Cache benches, with printed figures.
//!
//! 1. Zipf traces (skew 0.9 and 1.1) over 400 objects of mixed sizes (16 KiB to 1 MiB,
//!    log-uniform) spread over a fast tier (1 ms per request) and a slow one like S3 (30 ms per
//!    request plus 20 ns per byte, i.e. 50 MB/s), replayed against a plain LRU, plain moka, and strata's block cache
//!    (cost-aware admission on and off), all with the same byte budget (10% of the data).
//!    Reported: request hit ratio and the fetch latency saved by hits (each tier's latency model
//!    applied to every hit), and strata's ratio to plain moka (goal: at least 1.2x). The slow
//!    tiers are `object_store` `ThrottledStore`s; strata measures their latency itself. Also
//!    printed: the latency a static oracle saves (it knows the whole trace and keeps the objects
//!    of highest reads x latency / size that fit): a ceiling for static policies only; an
//!    online policy that changes what it keeps as the trace moves is not bound by it.
//! 2. A Parquet file in a cold tier throttled like an object store (20 ms per request, 50 MB/s),
//!    scanned cold, then warm through the cache, against a scan of the same file mapped from
//!    local disk (goals: warm at least 10x faster than cold, within 1.2x of the local scan):
//!    once with blocks and footers cached (the warm scan still decodes), once with decoded
//!    batches cached too (`cache.batch_percent`; the warm "scan" decodes nothing: it is a lookup
//!    of decoded batches, not comparable with a scan). Cold and warm are each timed RUNS times
//!    and reported the same way: median, min and max.
//!
//! Run: `cargo bench --bench cache`.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::throttle::{ThrottleConfig, ThrottledStore};
use object_store::{ObjectStore, ObjectStoreExt};
use strata::{
    cache::{BlockCache, BlockCacheOptions, ObjectVersion, RangeFetch},
    config::{CacheStrategy, PlacementRule},
    read::MemoryMetadataCache,
    store::Store,
    LakeConfig, Scan,
};

const OBJECTS: usize = 400;
const REQUESTS: usize = 4000;
/// Timed runs of each cold and warm scan (each cold run on a fresh store).
const RUNS: usize = 5;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy)]
struct TierModel {
    per_call: Duration,
    per_byte_ns: u64,
}

impl TierModel {
    fn latency(&self, size: u64) -> Duration {
        self.per_call + Duration::from_nanos(self.per_byte_ns * size)
    }
}

const FAST: TierModel = TierModel {
    per_call: Duration::from_millis(1),
    per_byte_ns: 0,
};
const SLOW: TierModel = TierModel {
    per_call: Duration::from_millis(30),
    per_byte_ns: 20,
};

struct Object {
    size: u64,
    slow: bool,
}

impl Object {
    fn latency(&self) -> Duration {
        if self.slow {
            SLOW.latency(self.size)
        } else {
            FAST.latency(self.size)
        }
    }
}

fn objects() -> Vec<Object> {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    (0..OBJECTS)
        .map(|_| {
            let size = (16.0 * 1024.0 * 64f64.powf(rng.unit())) as u64;
            Object {
                size: size.min(1 << 20),
                slow: rng.next().is_multiple_of(2),
            }
        })
        .collect()
}

/// Object ids drawn with Zipf skew `s`; ranks are shuffled so popularity is independent of
/// size and tier.
fn trace(s: f64, seed: u64) -> Vec<usize> {
    let mut rng = Rng(seed);
    let mut cdf = Vec::with_capacity(OBJECTS);
    let mut total = 0.0;
    for k in 1..=OBJECTS {
        total += 1.0 / (k as f64).powf(s);
        cdf.push(total);
    }
    let mut ids: Vec<usize> = (0..OBJECTS).collect();
    for i in (1..OBJECTS).rev() {
        ids.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    (0..REQUESTS)
        .map(|_| {
            let u = rng.unit() * total;
            ids[cdf.partition_point(|&c| c < u).min(OBJECTS - 1)]
        })
        .collect()
}

/// What a policy achieved on a trace.
#[derive(Default, Debug)]
struct Outcome {
    hits: usize,
    saved: Duration,
    wall: Duration,
}

/// A byte-bounded LRU, the textbook baseline.
struct Lru {
    budget: u64,
    held: u64,
    tick: u64,
    entries: HashMap<usize, (u64, u64)>,
    order: BTreeMap<u64, usize>,
}

impl Lru {
    fn new(budget: u64) -> Lru {
        Lru {
            budget,
            held: 0,
            tick: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    fn access(&mut self, id: usize, size: u64) -> bool {
        self.tick += 1;
        if let Some((_, t)) = self.entries.get_mut(&id) {
            self.order.remove(t);
            *t = self.tick;
            self.order.insert(self.tick, id);
            return true;
        }
        while self.held + size > self.budget {
            let Some((&t, &victim)) = self.order.iter().next() else {
                break;
            };
            self.order.remove(&t);
            if let Some((s, _)) = self.entries.remove(&victim) {
                self.held -= s;
            }
        }
        if size <= self.budget {
            self.entries.insert(id, (size, self.tick));
            self.order.insert(self.tick, id);
            self.held += size;
        }
        false
    }
}

fn replay_lru(objects: &[Object], trace: &[usize], budget: u64) -> Outcome {
    let mut lru = Lru::new(budget);
    let mut out = Outcome::default();
    let t = Instant::now();
    for &id in trace {
        if lru.access(id, objects[id].size) {
            out.hits += 1;
            out.saved += objects[id].latency();
        }
    }
    out.wall = t.elapsed();
    out
}

/// The static oracle: knows every object's reads in the trace and keeps those of highest
/// reads x latency / size that fit; each kept object misses once.
fn oracle(objects: &[Object], trace: &[usize], budget: u64) -> Outcome {
    let mut reads = vec![0u32; objects.len()];
    for &id in trace {
        reads[id] += 1;
    }
    let mut ids: Vec<usize> = (0..objects.len()).filter(|&i| reads[i] > 0).collect();
    let worth = |i: usize| {
        f64::from(reads[i]) * objects[i].latency().as_secs_f64() / objects[i].size as f64
    };
    ids.sort_by(|&a, &b| worth(b).total_cmp(&worth(a)));
    let mut out = Outcome::default();
    let mut used = 0;
    for i in ids {
        if used + objects[i].size <= budget {
            used += objects[i].size;
            out.hits += reads[i] as usize - 1;
            out.saved += objects[i].latency() * (reads[i] - 1);
        }
    }
    out
}

fn replay_moka(objects: &[Object], trace: &[usize], budget: u64) -> Outcome {
    let cache: moka::sync::Cache<usize, Bytes> = moka::sync::Cache::builder()
        .max_capacity(budget)
        .weigher(|_, v: &Bytes| v.len() as u32)
        .build();
    let mut out = Outcome::default();
    let t = Instant::now();
    for &id in trace {
        if cache.get(&id).is_some() {
            out.hits += 1;
            out.saved += objects[id].latency();
        } else {
            cache.insert(id, Bytes::from(vec![0u8; objects[id].size as usize]));
        }
    }
    out.wall = t.elapsed();
    out
}

/// One object behind a throttled object store, counting the fetches made.
struct Throttled {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    tier: &'static str,
    rt: Arc<tokio::runtime::Runtime>,
    fetches: Arc<AtomicU64>,
}

impl RangeFetch for Throttled {
    fn tier(&self) -> &str {
        self.tier
    }
    fn fetch(&self, range: Range<u64>) -> strata::Result<Bytes> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        self.rt
            .block_on(self.store.get_range(&self.path, range))
            .map_err(|e| strata::Error::new(strata::ErrorKind::Remote, e.to_string()))
    }
}

fn throttled(model: TierModel) -> Arc<dyn ObjectStore> {
    Arc::new(ThrottledStore::new(
        InMemory::new(),
        ThrottleConfig {
            wait_get_per_call: model.per_call,
            wait_get_per_byte: Duration::from_nanos(model.per_byte_ns),
            ..ThrottleConfig::default()
        },
    ))
}

fn replay_strata(
    objects: &[Object],
    trace: &[usize],
    budget: u64,
    cost_aware: bool,
    fetches: &[Arc<dyn RangeFetch>],
    fetched: &AtomicU64,
) -> Outcome {
    let cache = BlockCache::new(&BlockCacheOptions {
        budget,
        block_size: 1 << 20,
        cost_aware,
        ..BlockCacheOptions::default()
    });
    let mut out = Outcome::default();
    let t = Instant::now();
    for &id in trace {
        let size = objects[id].size;
        let version = ObjectVersion::new(&format!("obj/{id}"), "v1", size);
        // Counted at the tier: asking the cache for its stats would run its maintenance.
        let before = fetched.load(Ordering::Relaxed);
        black_box(
            cache
                .read(&version, 0..size, &fetches[id], CacheStrategy::Lazy)
                .expect("read"),
        );
        if fetched.load(Ordering::Relaxed) == before {
            out.hits += 1;
            out.saved += objects[id].latency();
        }
    }
    out.wall = t.elapsed();
    out
}

fn zipf(c: &mut Criterion) {
    let objects = objects();
    let total: u64 = objects.iter().map(|o| o.size).sum();
    let budget = total / 10;
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime"),
    );
    let (fast, slow) = (throttled(FAST), throttled(SLOW));
    let fetched = Arc::new(AtomicU64::new(0));
    let fetches: Vec<Arc<dyn RangeFetch>> = objects
        .iter()
        .enumerate()
        .map(|(id, o)| {
            let path = ObjectPath::from(format!("obj/{id}"));
            let store = if o.slow { slow.clone() } else { fast.clone() };
            rt.block_on(store.put(&path, vec![1u8; o.size as usize].into()))
                .expect("put");
            Arc::new(Throttled {
                store,
                path,
                tier: if o.slow { "slow" } else { "fast" },
                rt: rt.clone(),
                fetches: fetched.clone(),
            }) as Arc<dyn RangeFetch>
        })
        .collect();
    println!(
        "\nZipf replay: {OBJECTS} objects, {:.1} MiB in all, budget {:.1} MiB, {REQUESTS} requests",
        total as f64 / (1 << 20) as f64,
        budget as f64 / (1 << 20) as f64
    );
    for skew in [0.9, 1.1] {
        let trace = trace(skew, 0xC0FF_EE00 ^ (skew * 10.0) as u64);
        let lru = replay_lru(&objects, &trace, budget);
        let moka = replay_moka(&objects, &trace, budget);
        let plain = replay_strata(&objects, &trace, budget, false, &fetches, &fetched);
        let aware = replay_strata(&objects, &trace, budget, true, &fetches, &fetched);
        let best = oracle(&objects, &trace, budget);
        for (name, o) in [
            ("static oracle", &best),
            ("plain LRU", &lru),
            ("plain moka", &moka),
            ("strata, TinyLFU only", &plain),
            ("strata, cost-aware", &aware),
        ] {
            println!(
                "  skew {skew}: {name:<22} hit ratio {:.3}, latency saved {:>8.1} s",
                o.hits as f64 / REQUESTS as f64,
                o.saved.as_secs_f64()
            );
        }
        println!(
            "  skew {skew}: latency saved, strata cost-aware / plain moka = {:.2}x (goal >= 1.2x; a static oracle, which bounds static policies only, {:.2}x); / plain LRU = {:.2}x; replay took {:.1} s",
            aware.saved.as_secs_f64() / moka.saved.as_secs_f64().max(1e-9),
            best.saved.as_secs_f64() / moka.saved.as_secs_f64().max(1e-9),
            aware.saved.as_secs_f64() / lru.saved.as_secs_f64().max(1e-9),
            aware.wall.as_secs_f64()
        );
    }
    // Criterion times the bookkeeping of a warm hit (no fetch): the per-read cost of the cache.
    let cache = BlockCache::new(&BlockCacheOptions::default());
    let version = ObjectVersion::new("obj/0", "v1", objects[0].size);
    cache
        .read(
            &version,
            0..objects[0].size,
            &fetches[0],
            CacheStrategy::Lazy,
        )
        .expect("read");
    c.bench_function("block_cache_hit", |b| {
        b.iter(|| {
            black_box(
                cache
                    .read(
                        &version,
                        0..objects[0].size,
                        &fetches[0],
                        CacheStrategy::Lazy,
                    )
                    .expect("read"),
            )
        })
    });
}

/// A Parquet file of six columns (about 50 MB, snappy).
fn parquet_file(path: &std::path::Path) {
    let rows = 3_000_000i64;
    let mut rng = Rng(42);
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_max_row_group_row_count(Some(250_000))
        .build();
    let schema = {
        let batch = chunk(0, 1, &mut rng);
        batch.schema()
    };
    let file = std::fs::File::create(path).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).expect("writer");
    let step = 250_000;
    for start in (0..rows).step_by(step as usize) {
        w.write(&chunk(start, step, &mut rng)).expect("write");
    }
    w.close().expect("close");
}

fn chunk(start: i64, n: i64, rng: &mut Rng) -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(start..start + n));
    let random: ArrayRef = Arc::new(Int64Array::from_iter_values(
        (0..n).map(|_| (rng.next() % 1_000_000) as i64),
    ));
    let price: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..n).map(|_| (rng.next() % 100_000) as f64 / 100.0),
    ));
    let city: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..n).map(|_| format!("city-{}", rng.next() % 300)),
    ));
    let flag: ArrayRef = Arc::new(BooleanArray::from_iter(
        (0..n).map(|_| Some(rng.next().is_multiple_of(3))),
    ));
    let ts: ArrayRef = Arc::new(Int64Array::from_iter_values(
        (0..n).map(|i| 1_700_000_000_000 + (start + i) * 1000),
    ));
    RecordBatch::try_from_iter([
        ("id", ids),
        ("random", random),
        ("price", price),
        ("city", city),
        ("flag", flag),
        ("ts", ts),
    ])
    .expect("batch")
}

/// A store whose `cold/` prefix lives in a throttled tier; `batch_percent` of the 1 GiB cache
/// budget keeps decoded batches (0: blocks and footers only).
fn open_cold(dir: &std::path::Path, batch_percent: u8) -> Arc<Store> {
    let mut config = LakeConfig::local(dir);
    config.lifecycle.clear();
    config.placement = vec![PlacementRule {
        prefix: "cold/".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    config.cache.budget = 1 << 30;
    config.cache.batch_percent = batch_percent;
    let mut store = Store::open(&config).expect("open");
    // An object store a network away: 20 ms per request, 50 MB/s.
    store
        .simulate_latency("cold", Duration::from_millis(20), Duration::from_nanos(20))
        .expect("throttle");
    Arc::new(store)
}

fn rows(out: &strata::ScanOutput) -> usize {
    out.batches.iter().map(|b| b.num_rows()).sum()
}

fn cold_parquet(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("local.parquet");
    parquet_file(&local);
    let size = std::fs::metadata(&local).expect("stat").len();
    // Two data roots holding the same object: one caches blocks and footers only, the other
    // decoded batches too.
    let (blocks_root, batches_root) = (dir.path().join("lake"), dir.path().join("lake-batches"));
    for (root, percent) in [(&blocks_root, 0), (&batches_root, 50)] {
        open_cold(root, percent)
            .put_file("cold/t.parquet", &local, &Default::default())
            .expect("put");
    }
    let lake_scan = |store: &Arc<Store>| {
        let mut scan = Scan::new("cold/t.parquet")
            .objects(store.clone())
            .metadata_cache(store.cache().footers());
        if let Some(batches) = store.cache().batches() {
            scan = scan.decoded_cache(batches);
        }
        scan.run().expect("scan")
    };
    // Cold: a fresh store (empty caches) each time; with the batch cache on, the cold scan
    // also pays for filling it. As many runs as the warm figures, reported the same way
    // (median, min and max).
    let mut cold = Vec::new();
    let mut cold_batches = Vec::new();
    let (mut store, mut with_batches) = (None, None);
    for _ in 0..RUNS {
        drop(store.take());
        drop(with_batches.take());
        let s = open_cold(&blocks_root, 0);
        let t = Instant::now();
        black_box(rows(&lake_scan(&s)));
        cold.push(t.elapsed());
        store = Some(s);
        let s = open_cold(&batches_root, 50);
        let t = Instant::now();
        black_box(rows(&lake_scan(&s)));
        cold_batches.push(t.elapsed());
        with_batches = Some(s);
    }
    let store = store.expect("store");
    let with_batches = with_batches.expect("store");
    let footers = Arc::new(MemoryMetadataCache::new(8));
    let local_scan = || {
        Scan::new(&local)
            .metadata_cache(footers.clone())
            .run()
            .expect("scan")
    };
    black_box(rows(&local_scan()));
    let mut warm = Vec::new();
    let mut warm_batches = Vec::new();
    let mut mapped = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        black_box(rows(&lake_scan(&store)));
        warm.push(t.elapsed());
        let t = Instant::now();
        black_box(rows(&lake_scan(&with_batches)));
        warm_batches.push(t.elapsed());
        let t = Instant::now();
        black_box(rows(&local_scan()));
        mapped.push(t.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1e3
    };
    let spread = |v: &[Duration]| {
        format!(
            "[{:.1}-{:.1} ms over {RUNS} runs]",
            v[0].as_secs_f64() * 1e3,
            v[v.len() - 1].as_secs_f64() * 1e3
        )
    };
    let (cold_t, warm_t, local_t) = (median(&mut cold), median(&mut warm), median(&mut mapped));
    let (cold_b, warm_b) = (median(&mut cold_batches), median(&mut warm_batches));
    let spreads = [
        (spread(&cold), spread(&warm)),
        (spread(&cold_batches), spread(&warm_batches)),
    ];
    let stats = store.cache_stats();
    println!(
        "\nParquet scan of a {:.1} MB file (6 columns, snappy) in a cold tier at 20 ms/request, 50 MB/s:",
        size as f64 / 1e6
    );
    println!("  local mmap scan {local_t:.1} ms {}", spread(&mapped));
    for ((what, cold_t, warm_t), (cold_s, warm_s)) in [
        (
            "blocks and footers cached (the warm rescan still decodes)",
            cold_t,
            warm_t,
        ),
        (
            "decoded batches cached too (the warm rescan is a lookup of decoded batches, not a scan)",
            cold_b,
            warm_b,
        ),
    ]
    .into_iter()
    .zip(spreads)
    {
        println!(
            "  {what}: medians, cold scan {cold_t:.0} ms {cold_s}, warm rescan {warm_t:.1} ms {warm_s}: warm/cold speedup {:.1}x (goal >= 10x); warm / local mmap {:.2}x (goal <= 1.2x)",
            cold_t / warm_t,
            warm_t / local_t
        );
    }
    println!(
        "  blocks: hit ratio {:.3}, {} fetches, {:.1} MB held; footers: {} hits; batches (second store): {:.1} MB held",
        stats.blocks.hit_ratio,
        stats.blocks.fetches,
        stats.blocks.bytes as f64 / 1e6,
        stats.metadata.hits,
        with_batches.cache_stats().batches.bytes as f64 / 1e6,
    );
    let mut group = c.benchmark_group("parquet_scan");
    group.sample_size(10);
    group.bench_function("warm_cold_tier", |b| {
        b.iter(|| black_box(rows(&lake_scan(&store))))
    });
    group.bench_function("warm_cold_tier_batches", |b| {
        b.iter(|| black_box(rows(&lake_scan(&with_batches))))
    });
    group.bench_function("local_mmap", |b| b.iter(|| black_box(rows(&local_scan()))));
    group.finish();
}

criterion_group!(benches, zipf, cold_parquet);
criterion_main!(benches);
