//! 16 threads in this process and 2 child processes overwrite and read 8 shared keys for a few
//! seconds (issue 22): every read succeeds and returns exactly one whole written value, with
//! no errors at all. Values alternate between 1,000 and 100,000 bytes and are derived from
//! their writer and sequence number (both in a header), so a read that mixes two versions, or
//! stops short, shows.
//!
//! One process at a time holds a data root, so the processes take turns through the root lock
//! in short cycles: open (waiting up to `lock_timeout`), a burst of puts and reads, close. The
//! children are this test binary run again (`child_process`, ignored in a normal run). Each
//! process records when it held the root; the turns must interleave and never overlap, and
//! each process must read values the others wrote. Run against a local tier and, when the
//! loopback S3 server is there, an S3 tier.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::crash::Rng;
use strata::{store::Store, LakeConfig};

const KEYS: usize = 8;
const THREADS: u32 = 16;
const CHILDREN: u32 = 2;
const CHILD_THREADS: u32 = 2;
const RUN: Duration = Duration::from_secs(4);
/// The child's instructions (JSON), set only in a child process.
const CHILD_ENV: &str = "STRATA_TEST_CONCURRENCY_CHILD";
/// The line a child prints its results on.
const RESULT: &str = "CHILD-RESULT ";

fn key(k: usize) -> String {
    format!("shared/{k}")
}

/// Writers' ids: this process's threads are 0..16, child c's threads 1000 * (c + 1) + t.
fn value(writer: u32, seq: u64) -> Vec<u8> {
    let len: usize = if seq.is_multiple_of(2) { 1000 } else { 100_000 };
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(b"STRV");
    v.extend_from_slice(&writer.to_le_bytes());
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend_from_slice(&(len as u64).to_le_bytes());
    let mut x = (u64::from(writer) << 40) ^ seq ^ 0x9e37_79b9_7f4a_7c15;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes()[..(len - v.len()).min(8)]);
    }
    v
}

/// The writer of a whole value, or what is wrong with it.
fn verify(got: &[u8]) -> Result<u32, String> {
    if got.len() < 24 || &got[..4] != b"STRV" {
        return Err(format!("{} bytes without a value header", got.len()));
    }
    let writer = u32::from_le_bytes(got[4..8].try_into().unwrap());
    let seq = u64::from_le_bytes(got[8..16].try_into().unwrap());
    let len = u64::from_le_bytes(got[16..24].try_into().unwrap());
    if len != got.len() as u64 {
        return Err(format!(
            "torn: writer {writer} #{seq} is {len} bytes, read {}",
            got.len()
        ));
    }
    if got != value(writer, seq).as_slice() {
        return Err(format!(
            "torn: {len} bytes headed writer {writer} #{seq} hold other bytes"
        ));
    }
    Ok(writer)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// What one process did, reported by children as JSON.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Tally {
    puts: u64,
    reads: u64,
    /// Reads of values another process wrote.
    foreign_reads: u64,
    errors: Vec<String>,
    /// When this process held the root: (opened, about to close), ms since the epoch.
    turns: Vec<(u64, u64)>,
}

/// Open, a burst of `threads` threads doing puts and reads for `burst`, close, pause; until
/// `until_ms`.
fn take_turns(
    config: &LakeConfig,
    writers: std::ops::Range<u32>,
    burst: Duration,
    pause: Duration,
    until_ms: u64,
    seed: u64,
) -> Tally {
    let tally = Mutex::new(Tally::default());
    let seq = AtomicU64::new(0);
    let mine = writers.clone();
    let fail = |e: String| tally.lock().unwrap().errors.push(e);
    let mut round = 0u64;
    while now_ms() < until_ms {
        round += 1;
        let store = match Store::open(config) {
            Ok(store) => store,
            Err(e) => {
                fail(format!("open: {e}"));
                break;
            }
        };
        let opened = now_ms();
        let burst_end = opened + burst.as_millis() as u64;
        std::thread::scope(|scope| {
            for writer in writers.clone() {
                let (store, seq, tally, mine) = (&store, &seq, &tally, mine.clone());
                let fail = &fail;
                scope.spawn(move || {
                    let mut rng = Rng::new(seed ^ (u64::from(writer) << 32) ^ round);
                    while now_ms() < burst_end {
                        let k = key(rng.below(KEYS as u64) as usize);
                        match rng.below(8) {
                            0..=2 => {
                                let n = seq.fetch_add(1, Ordering::Relaxed);
                                match store.put(&k, value(writer, n)) {
                                    Ok(_) => tally.lock().unwrap().puts += 1,
                                    Err(e) => fail(format!("put {k}: {e}")),
                                }
                            }
                            r => {
                                // Whole reads (a map or a copy) and streamed reads.
                                let got = if r < 7 {
                                    store.get(&k).map(|b| b.to_vec())
                                } else {
                                    let mut out = Vec::new();
                                    store.get_to(&k, &mut out).map(|_| out)
                                };
                                match got.map_err(|e| e.to_string()).and_then(|g| verify(&g)) {
                                    Ok(w) => {
                                        let mut t = tally.lock().unwrap();
                                        t.reads += 1;
                                        if !mine.contains(&w) {
                                            t.foreign_reads += 1;
                                        }
                                    }
                                    Err(e) => fail(format!("read {k}: {e}")),
                                }
                            }
                        }
                    }
                });
            }
        });
        tally.lock().unwrap().turns.push((opened, now_ms()));
        drop(store);
        std::thread::sleep(pause);
    }
    tally.into_inner().unwrap()
}

/// What a child process is told.
#[derive(serde::Serialize, serde::Deserialize)]
struct ChildSpec {
    config: LakeConfig,
    child: u32,
    until_ms: u64,
    seed: u64,
}

/// The body of a child process (see the module docs); a no-op when run directly.
#[test]
#[ignore = "run by this file's other tests in a child process"]
fn child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        eprintln!("child_process runs only as a child of this file's other tests");
        return;
    };
    let spec: ChildSpec = serde_json::from_str(&spec).unwrap();
    let first = 1000 * (spec.child + 1);
    let tally = take_turns(
        &spec.config,
        first..first + CHILD_THREADS,
        Duration::from_millis(80),
        Duration::from_millis(120),
        spec.until_ms,
        spec.seed ^ u64::from(spec.child),
    );
    let mut out = std::io::stdout().lock();
    writeln!(out, "{RESULT}{}", serde_json::to_string(&tally).unwrap()).unwrap();
}

/// Runs the whole scenario on `config`'s data root.
fn sixteen_threads_and_two_processes(mut config: LakeConfig, test: &str) {
    // Long enough for the other processes' bursts; a wait this long is a failure to share.
    config.lock_timeout = Duration::from_secs(20);
    let seed = common::unique() as u64;
    common::crash::say(&format!("{test}: seed {seed}"));
    {
        let store = Store::open(&config).unwrap();
        for k in 0..KEYS {
            store.put(&key(k), value(9999, k as u64)).unwrap();
        }
    }
    let until_ms = now_ms() + RUN.as_millis() as u64;
    let children: Vec<_> = (0..CHILDREN)
        .map(|child| {
            let spec = ChildSpec {
                config: config.clone(),
                child,
                until_ms,
                seed,
            };
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_process", "--ignored", "--nocapture"])
                .args(["--test-threads", "1"])
                .env(CHILD_ENV, serde_json::to_string(&spec).unwrap())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mine = take_turns(
        &config,
        0..THREADS,
        Duration::from_millis(150),
        Duration::from_millis(120),
        until_ms,
        seed,
    );
    let mut all = vec![("this process".to_string(), mine)];
    for (c, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{test}: child {c} failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            // libtest may print "test child_process ... " on the same line first.
            .find_map(|l| l.split_once(RESULT).map(|(_, json)| json))
            .unwrap_or_else(|| panic!("{test}: child {c} reported nothing: {stdout}"));
        all.push((format!("child {c}"), serde_json::from_str(line).unwrap()));
    }
    for (who, t) in &all {
        common::crash::say(&format!(
            "{test}: {who}: {} turns, {} puts, {} reads ({} of other processes' values)",
            t.turns.len(),
            t.puts,
            t.reads,
            t.foreign_reads
        ));
        assert!(
            t.errors.is_empty(),
            "{test}: {who}: {} errors, first {:?}",
            t.errors.len(),
            &t.errors[..t.errors.len().min(5)]
        );
        assert!(
            t.turns.len() >= 2,
            "{test}: {who} had {} turns",
            t.turns.len()
        );
        assert!(t.puts > 0 && t.reads > 0, "{test}: {who} did not work");
        assert!(
            t.foreign_reads > 0,
            "{test}: {who} never read what another process wrote"
        );
    }
    // The root lock: turns never overlap, and the processes really alternate.
    let mut turns: Vec<(u64, u64, usize)> = all
        .iter()
        .enumerate()
        .flat_map(|(p, (_, t))| t.turns.iter().map(move |&(a, b)| (a, b, p)))
        .collect();
    turns.sort();
    for w in turns.windows(2) {
        assert!(
            w[0].1 <= w[1].0,
            "{test}: processes {} and {} held the root at once: {:?} and {:?}",
            w[0].2,
            w[1].2,
            (w[0].0, w[0].1),
            (w[1].0, w[1].1)
        );
    }
    let switches = turns.windows(2).filter(|w| w[0].2 != w[1].2).count();
    assert!(
        switches >= 2 * CHILDREN as usize + 2,
        "{test}: the processes took only {switches} turns from one another"
    );
    // Every key still reads as one whole value.
    let store = Store::open(&config).unwrap();
    for k in 0..KEYS {
        verify(&store.get(&key(k)).unwrap()).unwrap();
    }
}

#[test]
fn local_tier_shared_by_threads_and_processes() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path(), vec![common::local_tier("hot")]);
    sixteen_threads_and_two_processes(config, "local tier");
}

#[test]
fn s3_tier_shared_by_threads_and_processes() {
    let Some(tier) = common::s3_tier("s3", "store_concurrency") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path(), vec![tier]);
    sixteen_threads_and_two_processes(config, "s3 tier");
}
