//! `cache`: Zipf traces (skew 0.9 and 1.1, 4,000 requests) over 400 objects of 16 KiB to
//! 1 MiB (log-uniform), half on the hot tier and half on the cold one, read with `Lake::get`
//! through the lake's block cache (both tiers cached here), against plain moka with the same
//! byte budget as the lake's block cache, and against a static oracle that knows the trace.
//!
//! What the figure measures: the fetch latency that hits save, with a latency model applied to
//! every hit (hot tier 1 ms a request; cold tier 30 ms a request plus 20 ns a byte, i.e. an
//! object store at 50 MB/s). The tiers are local directories, so strata's cost-aware
//! admission, which uses the latency it measures, sees two tiers of nearly equal latency here.
//! The oracle keeps the objects of highest reads x latency / size that fit: it bounds static
//! policies only, not online ones. Each run starts with every cache empty. A hit is a request
//! that fetched nothing from a tier (the block cache's fetch count, read around each request,
//! which runs the cache's pending maintenance; moka's is run after each request too).

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;

use super::measure::time_strata;
use super::record::{Record, Side, Spread};
use super::{noise, other, Context};

const OBJECTS: usize = 400;
const REQUESTS: usize = 4000;

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

struct Object {
    key: String,
    size: u64,
    cold: bool,
}

impl Object {
    fn latency(&self) -> Duration {
        if self.cold {
            Duration::from_millis(30) + Duration::from_nanos(20 * self.size)
        } else {
            Duration::from_millis(1)
        }
    }
}

fn objects() -> Vec<Object> {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    (0..OBJECTS)
        .map(|i| {
            let size = ((16.0 * 1024.0 * 64f64.powf(rng.unit())) as u64).min(1 << 20);
            let cold = rng.next().is_multiple_of(2);
            let key = format!("{}cache/{i}", if cold { "cold/" } else { "" });
            Object { key, size, cold }
        })
        .collect()
}

/// Object ids drawn with Zipf skew `s`, popularity shuffled independently of size and tier.
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

#[derive(Default, Clone, Copy)]
struct Outcome {
    hits: usize,
    saved: f64,
}

fn moka(objects: &[Object], trace: &[usize], budget: u64) -> Outcome {
    let cache: moka::sync::Cache<usize, Bytes> = moka::sync::Cache::builder()
        .max_capacity(budget)
        .weigher(|_, v: &Bytes| u32::try_from(v.len()).unwrap_or(u32::MAX))
        .build();
    let mut out = Outcome::default();
    for &id in trace {
        if cache.get(&id).is_some() {
            out.hits += 1;
            out.saved += objects[id].latency().as_secs_f64();
        } else {
            cache.insert(id, Bytes::from(vec![0u8; objects[id].size as usize]));
        }
        // strata's side reads the cache's statistics around every request, which runs its
        // pending maintenance; so does this side, so that both admit and evict as promptly.
        cache.run_pending_tasks();
    }
    out
}

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
            out.saved += objects[i].latency().as_secs_f64() * f64::from(reads[i] - 1);
        }
    }
    out
}

pub fn run(ctx: &Context) -> strata::Result<Vec<Record>> {
    let dir = ctx.scratch("cache")?;
    let objects = objects();
    let total: u64 = objects.iter().map(|o| o.size).sum();
    let mut config = strata::LakeConfig::local(dir.join("lake"));
    config.lifecycle.clear();
    config.placement = vec![strata::config::PlacementRule {
        prefix: "cold/".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    config.cache.tiers = Some(vec!["hot".into(), "cold".into()]);
    // A tenth of the data for the blocks; the footer cache's share comes on top.
    config.cache.budget = total / 10 * 100 / 90;
    let lake = strata::Lake::open(&config)?;
    let budget = lake.cache_stats().blocks.budget;
    if budget == 0 {
        return Err(other("cache suite", "the lake's block cache has no budget"));
    }
    for (i, o) in objects.iter().enumerate() {
        lake.put(&o.key, noise(o.size as usize, i as u64 + 1))?;
    }
    let mut records = Vec::new();
    for skew in [0.9, 1.1] {
        let trace = trace(skew, 0xC0FF_EE00 ^ (skew * 10.0) as u64);
        let id = format!("cache/zipf_{skew}/latency_saved");
        ctx.progress.case(&id);
        let (mut ours, mut ours_hits, mut theirs, mut theirs_hits) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ctx.runs {
            lake.invalidate_cache("");
            let mut out = Outcome::default();
            // Timed only so that a deliberately slowed path shows; the figure is the model's.
            let wall = time_strata(&id, &mut || {
                for &i in &trace {
                    let before = lake.cache_stats().blocks.fetches;
                    black_box(lake.get(&objects[i].key)?);
                    if lake.cache_stats().blocks.fetches == before {
                        out.hits += 1;
                        out.saved += objects[i].latency().as_secs_f64();
                    }
                }
                Ok(())
            })?;
            let _ = wall;
            ours.push(out.saved);
            ours_hits.push(out.hits as f64 / REQUESTS as f64);
            let m = moka(&objects, &trace, budget);
            theirs.push(m.saved);
            theirs_hits.push(m.hits as f64 / REQUESTS as f64);
        }
        let best = oracle(&objects, &trace, budget);
        let hits = Spread::of(ours_hits).median;
        let moka_hits = Spread::of(theirs_hits).median;
        records.push(
            Record::new(
                id,
                "s",
                true,
                Spread::of(ours),
                Side {
                    name: "strata Lake::get through the block cache (TinyLFU, cost-aware admission)"
                        .into(),
                    threads: 1,
                    batch_rows: None,
                    io: "hot and cold tiers (local directories), both cached".into(),
                    state: "cold start: caches emptied before each run".into(),
                },
            )
            .against(
                Side {
                    name: "plain moka, byte-weighted, same budget".into(),
                    threads: 1,
                    batch_rows: None,
                    io: "in memory (no fetch)".into(),
                    state: "cold start: a new cache each run".into(),
                },
                Spread::of(theirs),
            )
            .note(format!(
                "latency saved by hits under the model (hot 1 ms/request, cold 30 ms + 20 ns/byte); \
                 {OBJECTS} objects, {:.1} MB, block budget {:.1} MB, {REQUESTS} requests; the static \
                 oracle bounds static policies only",
                total as f64 / 1e6,
                budget as f64 / 1e6
            ))
            .extra("hit_ratio", hits)
            .extra("baseline_hit_ratio", moka_hits)
            .extra("oracle_saved_s", best.saved)
            .extra("oracle_hit_ratio", best.hits as f64 / REQUESTS as f64),
        );
    }
    Ok(records)
}
