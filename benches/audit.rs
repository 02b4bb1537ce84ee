//! What auditing costs, in one run:
//!
//! 1. Gets: two lakes, identical but for `[audit] enabled` (reads audited, the default),
//!    1,000 objects of 200 bytes each; 100k `Lake::get` per lake, keys cycling, in 10 paired
//!    rounds of 10k gets (the order within a pair alternates). Goal: auditing at most 5%
//!    slower.
//! 2. Scans: one Parquet object of 10k rows and 3 columns per lake; 1,000
//!    `scan(..).columns(["a"]).filter("a > 5000").run()` per lake, in 10 paired rounds of 100.
//!    Goal: at most 5% slower.
//! 3. Verify: an audit log of 1M records built with `AuditLog::append` from 8 threads (default
//!    segment size, then `seal_now`), and `strata::governance::verify` over it, 3 times.
//!    Goal: under 2 s on the 2-core machine.
//! 4. Where an audited call's time goes: one-thread `AuditLog::append` latency, beside what
//!    its parts cost measured on their own (the record's JSON, SHA-256, a 300-byte write +
//!    `fdatasync` on the same file system).
//!
//! Each side's figure is the median of its rounds; the ratio printed first is the median of
//! the paired ratios (each on/off pair ran back to back), which cancels the machine's slower
//! and faster spells. CPU time (user + system) is shown beside wall time: the process's (the
//! log's thread included) and the calling thread's (what the caller itself spends; on a
//! loaded 2-core machine, where wall time mostly measures waiting for a core, the steadier
//! figure).
//!
//! Run: `cargo bench --bench audit`. `STRATA_AUDIT_SIDE=on|off` runs the gets on one lake only
//! (for tools that count over the whole process: `strace -f -c`, `perf stat`). Options: `-- --json PATH` (or `STRATA_BENCH_JSON=PATH`)
//! writes the figures as JSON; `STRATA_AUDIT_PARTS=gets,scans,verify,append` picks parts;
//! `STRATA_AUDIT_RECORDS` (default 1,000,000) and `STRATA_AUDIT_THREADS` (default 8) size the
//! log; `STRATA_AUDIT_LOG_DIR=DIR` builds the log there and keeps it (a log already there is
//! verified as it is, not rebuilt: handy for profiling `verify` alone).

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use strata::governance::{AuditEvent, AuditLog};
use strata::{Expr, Lake, LakeConfig, WriteOptions};

const OBJECTS: usize = 1_000;
const OBJECT_BYTES: usize = 200;
const GET_ROUNDS: usize = 10;
const GETS_PER_ROUND: usize = 10_000;
const SCAN_ROUNDS: usize = 10;
const SCANS_PER_ROUND: usize = 100;
const SCAN_ROWS: i64 = 10_000;
const VERIFY_RUNS: usize = 3;
const KEY: [u8; 32] = [7u8; 32];
const LAKE_ID: &str = "bench-lake";

fn rusage_of(who: libc::c_int) -> libc::rusage {
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(who, &mut usage) };
    usage
}

fn rusage(who: libc::c_int) -> Duration {
    let usage = rusage_of(who);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The calling thread's page faults (minor), and its voluntary (it blocked: a lock, a wait)
/// and involuntary (another thread took its core) context switches: where time beside its
/// own instructions goes.
fn thread_events() -> [u64; 3] {
    let u = rusage_of(libc::RUSAGE_THREAD);
    [u.ru_minflt as u64, u.ru_nvcsw as u64, u.ru_nivcsw as u64]
}

/// CPU time of the process (user + system): the log's thread included.
fn cpu() -> Duration {
    rusage(libc::RUSAGE_SELF)
}

/// CPU time of the calling thread: what an audited call costs its caller. On a machine with
/// a core to spare for the log's thread, the wall time auditing adds is this; under load,
/// when wall time mostly measures waiting for a core, it is the steadier figure.
fn thread_cpu() -> Duration {
    rusage(libc::RUSAGE_THREAD)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn median(v: &[Duration]) -> Duration {
    Duration::from_secs_f64(median_f(v.iter().map(Duration::as_secs_f64).collect()))
}

fn open_lake(dir: &Path, audited: bool) -> Lake {
    let mut config = LakeConfig::local(dir);
    config.audit.enabled = audited;
    if std::env::var_os("STRATA_AUDIT_NO_READS").is_some() {
        config.audit.reads = false;
    }
    Lake::open(&config).unwrap()
}

/// One side's rounds: wall and CPU time of each.
#[derive(Default)]
struct Side {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
    thread_cpu: Vec<Duration>,
    /// The calling thread's [`thread_events`] in each round.
    events: Vec<[u64; 3]>,
}

/// The paired comparison of `work` on the lake without auditing (`off`) and with (`on`).
struct Paired {
    off: Side,
    on: Side,
}

impl Paired {
    fn run(rounds: usize, off: &Lake, on: &Lake, mut work: impl FnMut(&Lake, usize)) -> Paired {
        let mut out = Paired {
            off: Side::default(),
            on: Side::default(),
        };
        for round in 0..rounds {
            let order = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for audited in order {
                let (lake, side) = if audited {
                    (on, &mut out.on)
                } else {
                    (off, &mut out.off)
                };
                let (t, c, tc, ev) = (Instant::now(), cpu(), thread_cpu(), thread_events());
                work(lake, round);
                side.wall.push(t.elapsed());
                side.cpu.push(cpu() - c);
                side.thread_cpu.push(thread_cpu() - tc);
                let after = thread_events();
                side.events
                    .push([0, 1, 2].map(|i| after[i].saturating_sub(ev[i])));
            }
        }
        out
    }

    fn paired_ratio(on: &[Duration], off: &[Duration]) -> f64 {
        median_f(
            on.iter()
                .zip(off)
                .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
                .collect(),
        )
    }

    /// Prints and returns the figures; `ops` is the calls per round.
    fn report(&self, what: &str, ops: usize) -> Value {
        let wall_ratio = Self::paired_ratio(&self.on.wall, &self.off.wall);
        let cpu_ratio = Self::paired_ratio(&self.on.cpu, &self.off.cpu);
        let (off, on) = (median(&self.off.wall), median(&self.on.wall));
        let (off_cpu, on_cpu) = (median(&self.off.cpu), median(&self.on.cpu));
        let thread_ratio = Self::paired_ratio(&self.on.thread_cpu, &self.off.thread_cpu);
        let (off_thread, on_thread) = (median(&self.off.thread_cpu), median(&self.on.thread_cpu));
        let per = |d: Duration| d.as_secs_f64() * 1e6 / ops as f64;
        let rounds = self.on.wall.len();
        println!(
            "audit {what}: {rounds} paired rounds of {ops}: off median {:.1} ms ({:.2} us/op), on median {:.1} ms ({:.2} us/op)",
            ms(off), per(off), ms(on), per(on)
        );
        println!(
            "audit {what}: on/off wall {wall_ratio:.3}x ({:+.1}%), CPU {cpu_ratio:.3}x ({:+.1}%) (median of paired ratios; goal <= +5%): {}",
            (wall_ratio - 1.0) * 100.0,
            (cpu_ratio - 1.0) * 100.0,
            if wall_ratio <= 1.05 { "met" } else { "NOT met" }
        );
        println!(
            "audit {what}: CPU medians off {:.1} ms, on {:.1} ms; auditing adds {:.1} us wall, {:.1} us CPU per call",
            ms(off_cpu),
            ms(on_cpu),
            per(on) - per(off),
            per(on_cpu) - per(off_cpu)
        );
        println!(
            "audit {what}: the calling thread's CPU on/off {thread_ratio:.3}x ({:+.1}%): off {:.2} us, on {:.2} us per call, {:+.2} us",
            (thread_ratio - 1.0) * 100.0,
            per(off_thread),
            per(on_thread),
            per(on_thread) - per(off_thread)
        );
        let events =
            |side: &Side, i: usize| median_f(side.events.iter().map(|e| e[i] as f64).collect());
        println!(
            "audit {what}: the calling thread per round (median), off/on: page faults {:.0}/{:.0}, blocked (voluntary switches) {:.0}/{:.0}, preempted {:.0}/{:.0}",
            events(&self.off, 0),
            events(&self.on, 0),
            events(&self.off, 1),
            events(&self.on, 1),
            events(&self.off, 2),
            events(&self.on, 2)
        );
        json!({
            "caller_faults_off": events(&self.off, 0),
            "caller_faults_on": events(&self.on, 0),
            "caller_blocked_off": events(&self.off, 1),
            "caller_blocked_on": events(&self.on, 1),
            "caller_preempted_off": events(&self.off, 2),
            "caller_preempted_on": events(&self.on, 2),
            "rounds": rounds,
            "ops_per_round": ops,
            "off_median_ms": ms(off),
            "on_median_ms": ms(on),
            "off_us_per_op": per(off),
            "on_us_per_op": per(on),
            "off_cpu_median_ms": ms(off_cpu),
            "on_cpu_median_ms": ms(on_cpu),
            "ratio_wall": wall_ratio,
            "ratio_cpu": cpu_ratio,
            "ratio_of_medians": on.as_secs_f64() / off.as_secs_f64(),
            "added_us_per_op": per(on) - per(off),
            "added_cpu_us_per_op": per(on_cpu) - per(off_cpu),
            "ratio_thread_cpu": thread_ratio,
            "added_thread_cpu_us_per_op": per(on_thread) - per(off_thread),
            "goal_met": wall_ratio <= 1.05,
            "off_rounds_ms": self.off.wall.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "on_rounds_ms": self.on.wall.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        })
    }
}

fn key(i: usize) -> String {
    format!("objs/{i:05}.bin")
}

fn gets_bench(off: &Lake, on: &Lake) -> Value {
    for lake in [off, on] {
        for i in 0..OBJECTS {
            let data: Vec<u8> = (0..OBJECT_BYTES).map(|b| (i + b) as u8).collect();
            lake.put(&key(i), data).unwrap();
        }
    }
    let keys: Vec<String> = (0..OBJECTS).map(key).collect();
    let gets = |lake: &Lake, n: usize| {
        for i in 0..n {
            black_box(lake.get(&keys[i % OBJECTS]).unwrap());
        }
    };
    // Warm: page cache, index, the audit log open.
    gets(off, 2 * OBJECTS);
    gets(on, 2 * OBJECTS);
    if let Ok(side) = std::env::var("STRATA_AUDIT_SIDE") {
        // One side only, for tools that count over the whole process (strace -c, perf stat).
        let lake = if side == "on" { on } else { off };
        let (t, c, tc, ev) = (Instant::now(), cpu(), thread_cpu(), thread_events());
        gets(lake, GET_ROUNDS * GETS_PER_ROUND);
        let after = thread_events();
        println!(
            "audit gets, {side} only: {:.1} ms wall, {:.1} ms CPU, {:.1} ms the caller's; the caller's page faults {}, blocked {}, preempted {}",
            ms(t.elapsed()),
            ms(cpu() - c),
            ms(thread_cpu() - tc),
            after[0] - ev[0],
            after[1] - ev[1],
            after[2] - ev[2]
        );
        return Value::Null;
    }
    let paired = Paired::run(GET_ROUNDS, off, on, |lake, _| gets(lake, GETS_PER_ROUND));
    paired.report(
        &format!("gets ({} x 200 B objects, keys cycling)", OBJECTS),
        GETS_PER_ROUND,
    )
}

fn scans_bench(off: &Lake, on: &Lake) -> Value {
    let batch = RecordBatch::try_from_iter([
        (
            "a",
            Arc::new(Int64Array::from_iter_values(0..SCAN_ROWS)) as ArrayRef,
        ),
        (
            "b",
            Arc::new(Float64Array::from_iter_values(
                (0..SCAN_ROWS).map(|i| i as f64 * 0.5),
            )) as ArrayRef,
        ),
        (
            "c",
            Arc::new(StringArray::from_iter_values(
                (0..SCAN_ROWS).map(|i| ["JFK", "LGA", "EWR"][(i % 3) as usize]),
            )) as ArrayRef,
        ),
    ])
    .unwrap();
    for lake in [off, on] {
        lake.write_object(
            "t/data.parquet",
            &batch.schema(),
            std::slice::from_ref(&batch),
            &WriteOptions::default(),
        )
        .unwrap();
    }
    let filter = Expr::parse("a > 5000").unwrap();
    let scans = |lake: &Lake, n: usize| {
        for _ in 0..n {
            let out = lake
                .scan("t/data.parquet")
                .unwrap()
                .columns(&["a"])
                .filter(filter.clone())
                .run()
                .unwrap();
            let rows: usize = out.batches.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(rows as i64, SCAN_ROWS - 5001);
            black_box(out);
        }
    };
    scans(off, 20);
    scans(on, 20);
    let paired = Paired::run(SCAN_ROUNDS, off, on, |lake, _| scans(lake, SCANS_PER_ROUND));
    paired.report(
        &format!("scans ({SCAN_ROWS} rows x 3 columns, 1 column, a > 5000)"),
        SCANS_PER_ROUND,
    )
}

fn event(i: u64) -> AuditEvent {
    AuditEvent {
        principal: "host".into(),
        action: "get".into(),
        resource: format!("object:objs/{:05}.bin", i % 1000),
        bytes: Some(200),
        outcome: "ok".into(),
        ..AuditEvent::default()
    }
}

fn count_segments(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("segments"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join("segments"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn verify_bench() -> Value {
    let records: u64 = std::env::var("STRATA_AUDIT_RECORDS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let threads: u64 = std::env::var("STRATA_AUDIT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
        .max(1);
    let _temp;
    let dir: PathBuf = match std::env::var_os("STRATA_AUDIT_LOG_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            _temp = tempfile::tempdir().unwrap();
            _temp.path().join("audit")
        }
    };
    let mut built = Value::Null;
    if count_segments(&dir) > 0 {
        println!(
            "audit log: using the log already in {} (not rebuilt)",
            dir.display()
        );
    } else {
        let log = Arc::new(AuditLog::open(&dir, &KEY, LAKE_ID).unwrap());
        let next = Arc::new(AtomicU64::new(0));
        let (t, c) = (Instant::now(), cpu());
        let progress_every = (records / 10).max(1);
        std::thread::scope(|s| {
            for _ in 0..threads {
                let (log, next) = (log.clone(), next.clone());
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= records {
                        break;
                    }
                    log.append(event(i)).unwrap();
                    if (i + 1) % progress_every == 0 {
                        eprintln!(
                            "audit log: {} records appended, {:.1} s",
                            i + 1,
                            t.elapsed().as_secs_f64()
                        );
                    }
                });
            }
        });
        log.seal_now().unwrap();
        let (took, took_cpu) = (t.elapsed(), cpu() - c);
        let rate = records as f64 / took.as_secs_f64();
        println!(
            "audit log: {records} records appended from {threads} threads in {:.1} s ({rate:.0} records/s, {:.1} us/record; CPU {:.1} s){}",
            took.as_secs_f64(),
            took.as_secs_f64() * 1e6 / records as f64,
            took_cpu.as_secs_f64(),
            if took.as_secs_f64() > 120.0 {
                " -- slower than 2 min"
            } else {
                ""
            }
        );
        built = json!({
            "records": records,
            "threads": threads,
            "seconds": took.as_secs_f64(),
            "cpu_seconds": took_cpu.as_secs_f64(),
            "records_per_s": rate,
            "over_2_min": took.as_secs_f64() > 120.0,
        });
    }
    let (segments, bytes) = (count_segments(&dir), dir_bytes(&dir));
    let mut times = Vec::new();
    let mut cpus = Vec::new();
    let mut checked = 0;
    let mut problems = Vec::new();
    for _ in 0..VERIFY_RUNS {
        let (t, c) = (Instant::now(), cpu());
        let report = strata::governance::verify(&dir, &KEY, LAKE_ID).unwrap();
        times.push(t.elapsed());
        cpus.push(cpu() - c);
        checked = report.records;
        problems = report.problems;
    }
    // Problems do not shorten `verify` (it checks everything and lists what it finds), so the
    // timing stands either way; they are reported, not fatal.
    if !problems.is_empty() {
        println!(
            "audit verify: the log is NOT intact: {} problems, e.g. {:?}",
            problems.len(),
            &problems[..3.min(problems.len())]
        );
    }
    let mut sorted = times.clone();
    sorted.sort();
    let (best, med) = (sorted[0], median(&times));
    let rate = checked as f64 / med.as_secs_f64();
    println!(
        "audit verify: {checked} records, {segments} segments, {:.0} MB: best {:.0} ms, median {:.0} ms of {VERIFY_RUNS} (CPU median {:.0} ms); {rate:.0} records/s, {:.0} MB/s (goal < 2 s: {})",
        bytes as f64 / 1e6,
        ms(best),
        ms(med),
        ms(median(&cpus)),
        bytes as f64 / 1e6 / med.as_secs_f64(),
        if med.as_secs_f64() < 2.0 { "met" } else { "NOT met" }
    );
    json!({
        "build": built,
        "records": checked,
        "segments": segments,
        "bytes": bytes,
        "best_ms": ms(best),
        "median_ms": ms(med),
        "cpu_median_ms": ms(median(&cpus)),
        "runs_ms": times.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        "records_per_s": rate,
        "goal_met": med.as_secs_f64() < 2.0,
        "intact": problems.is_empty(),
        "problems": problems.len(),
        "first_problems": &problems[..5.min(problems.len())],
    })
}

/// One thread's append latency, and the same parts measured on their own.
fn append_breakdown() -> Value {
    const N: u64 = 5_000;
    let temp = tempfile::tempdir().unwrap();
    // The library's default segment size, set so that the part below knows it.
    const SEGMENT: u64 = 10_000;
    let log = AuditLog::open(&temp.path().join("audit"), &KEY, LAKE_ID)
        .unwrap()
        .segment_records(SEGMENT);
    for i in 0..200 {
        log.append(event(i)).unwrap();
    }
    let (t, c, tc) = (Instant::now(), cpu(), thread_cpu());
    for i in 0..N {
        log.append(event(i)).unwrap();
    }
    let (append, append_cpu, append_thread) = (
        t.elapsed() / N as u32,
        (cpu() - c) / N as u32,
        (thread_cpu() - tc) / N as u32,
    );
    // The same past segment ends: three full segments appended, then the log's thread left to
    // finish sealing them (`settle`), so that the seals' hashing and the next segments' files
    // are in the figure (the part above stays inside one segment). CPU is the process's, the
    // log's thread included.
    let sealed_n = 3 * SEGMENT;
    let (t, c, tc) = (Instant::now(), cpu(), thread_cpu());
    for i in 0..sealed_n {
        log.append(event(i)).unwrap();
    }
    let seals_thread = (thread_cpu() - tc) / sealed_n as u32;
    log.settle().unwrap();
    let (with_seals, with_seals_cpu) =
        (t.elapsed() / sealed_n as u32, (cpu() - c) / sealed_n as u32);

    // The record's JSON (the hash covers one serialization, the line is another).
    let e = event(7);
    let t = Instant::now();
    for _ in 0..N {
        black_box(serde_json::to_vec(black_box(&e)).unwrap());
    }
    let json = t.elapsed() / N as u32;
    // SHA-256 of a 300-byte body, and the 64-digit hex of a hash made as the log makes it
    // (two table lookups per byte into a `String` of the right capacity).
    let body = vec![b'x'; 300];
    let t = Instant::now();
    for _ in 0..N {
        let mut h = Sha256::new();
        h.update(black_box(&body[..]));
        black_box(h.finalize());
    }
    let sha = t.elapsed() / N as u32;
    let digest = Sha256::digest(&body);
    let t = Instant::now();
    for _ in 0..N {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for b in black_box(&digest).iter() {
            hex.push(DIGITS[(b >> 4) as usize] as char);
            hex.push(DIGITS[(b & 0xf) as usize] as char);
        }
        black_box(hex);
    }
    let hex = t.elapsed() / N as u32;
    // 300-byte append + fdatasync, on the same file system as the logs.
    let path = temp.path().join("sync-probe");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    let line = vec![b'y'; 300];
    const SYNCS: u32 = 1_000;
    let (t, c) = (Instant::now(), cpu());
    for _ in 0..SYNCS {
        f.write_all(&line).unwrap();
        f.sync_data().unwrap();
    }
    let (sync, sync_cpu) = (t.elapsed() / SYNCS, (cpu() - c) / SYNCS);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "audit append, 1 thread: {:.2} us wall, {:.2} us CPU ({:.2} us the caller's) per record within a segment; {:.2} us wall, {:.2} us CPU ({:.2} us the caller's) over {} records with their seals; on their own: event JSON {:.2} us, SHA-256 of 300 B {:.2} us, hex of a hash {:.2} us, 300 B write + fdatasync {:.1} us wall ({:.1} us CPU)",
        us(append),
        us(append_cpu),
        us(append_thread),
        us(with_seals),
        us(with_seals_cpu),
        us(seals_thread),
        sealed_n,
        us(json),
        us(sha),
        us(hex),
        us(sync),
        us(sync_cpu)
    );
    json!({
        "append_us": us(append),
        "append_cpu_us": us(append_cpu),
        "append_caller_cpu_us": us(append_thread),
        "append_with_seals_caller_cpu_us": us(seals_thread),
        "append_with_seals_us": us(with_seals),
        "append_with_seals_cpu_us": us(with_seals_cpu),
        "event_json_us": us(json),
        "sha256_300b_us": us(sha),
        "hex_of_hash_us": us(hex),
        "write_fdatasync_us": us(sync),
        "write_fdatasync_cpu_us": us(sync_cpu),
    })
}

fn json_path() -> Option<PathBuf> {
    let args: Vec<String> = std::env::args().collect();
    for (i, a) in args.iter().enumerate() {
        if a == "--json" {
            return args.get(i + 1).map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix("--json=") {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os("STRATA_BENCH_JSON").map(PathBuf::from)
}

fn main() {
    let parts =
        std::env::var("STRATA_AUDIT_PARTS").unwrap_or_else(|_| "gets,scans,verify,append".into());
    let want = |p: &str| parts.split(',').any(|x| x.trim() == p);
    let started = Instant::now();
    let mut out = serde_json::Map::new();

    let (dir_off, dir_on) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (off, on) = (
        open_lake(dir_off.path(), false),
        open_lake(dir_on.path(), true),
    );
    if want("gets") {
        out.insert("gets".into(), gets_bench(&off, &on));
    }
    if want("scans") {
        out.insert("scans".into(), scans_bench(&off, &on));
    }
    if want("gets") || want("scans") {
        let report = on.audit_verify().unwrap();
        println!(
            "audit: the audited lake's log holds {} records in {} segments, {}",
            report.records,
            report.segments,
            if report.intact() {
                "intact".to_string()
            } else {
                format!("NOT intact: {:?}", report.problems)
            }
        );
    }
    drop((off, on));
    if want("append") {
        out.insert("append".into(), append_breakdown());
    }
    if want("verify") {
        out.insert("verify".into(), verify_bench());
    }

    println!();
    println!("summary (median round x rounds)    off          on       on/off  goal  (caller CPU on/off)");
    for (name, label) in [("gets", "100k gets"), ("scans", "1,000 scans")] {
        if let Some(v) = out.get(name).filter(|v| !v.is_null()) {
            let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
            // A round's median times the rounds: the whole 100k gets or 1,000 scans.
            let scale = f("rounds");
            println!(
                "{label:<28} {:>9.1} ms {:>9.1} ms {:>8.3}x  <= 1.05x {}  ({:.3}x)",
                f("off_median_ms") * scale,
                f("on_median_ms") * scale,
                f("ratio_wall"),
                if v["goal_met"].as_bool() == Some(true) {
                    "met"
                } else {
                    "NOT met"
                },
                f("ratio_thread_cpu")
            );
        }
    }
    if let Some(v) = out.get("verify") {
        println!(
            "verify {:>7} records          best {:.0} ms, median {:.0} ms, {:.0} records/s  < 2 s {}",
            v["records"],
            v["best_ms"].as_f64().unwrap_or(f64::NAN),
            v["median_ms"].as_f64().unwrap_or(f64::NAN),
            v["records_per_s"].as_f64().unwrap_or(f64::NAN),
            if v["goal_met"].as_bool() == Some(true) {
                "met"
            } else {
                "NOT met"
            }
        );
        if v["intact"].as_bool() == Some(false) {
            println!(
                "  (the log verified NOT intact: {} problems)",
                v["problems"]
            );
        }
        if let Some(b) = v["build"].as_object() {
            println!(
                "  (built from {} threads in {:.1} s, {:.0} records/s)",
                b["threads"],
                b["seconds"].as_f64().unwrap_or(f64::NAN),
                b["records_per_s"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    if let Some(v) = out.get("append") {
        println!(
            "append, 1 thread: {:.1} us/record; fdatasync of 300 B alone {:.1} us",
            v["append_us"].as_f64().unwrap_or(f64::NAN),
            v["write_fdatasync_us"].as_f64().unwrap_or(f64::NAN)
        );
    }
    println!("(whole run {:.0} s)", started.elapsed().as_secs_f64());
    if let Some(path) = json_path() {
        let text = serde_json::to_string_pretty(&Value::Object(out)).unwrap();
        std::fs::write(&path, text).unwrap();
        println!("figures written to {}", path.display());
    }
}
