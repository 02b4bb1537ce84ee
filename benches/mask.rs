//! Masking benches: values per second per core for each operator.
//!
//! Run: `cargo bench --bench mask`. Every operator runs on 200,000 values inside a one-thread
//! rayon pool, and time is the process's CPU time (all threads; the caller only waits), not
//! wall time: the bench machine is shared, and on a loaded machine wall time counts the turns
//! of other processes too. So the reported element throughput is per core. Goals from issue 8:
//! partial mask at least 50 M short strings/s, keyed hash at least 3 M/s, FF1 at most 1 µs per
//! 10-digit value (the `fpe` crate takes about 9 µs).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, Date32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use strata::mask::{
    Alphabet, DateUnit, DigestEncoding, HashAlgorithm, MaskOp, MemoryKeys, PreparedMask,
};

const N: usize = 200_000;

/// CPU time of the whole process, in nanoseconds.
struct ProcessCpu;

fn cpu_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Nanoseconds of CPU time print like nanoseconds of wall time.
static NANOS: WallTime = WallTime;

impl Measurement for ProcessCpu {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        cpu_ns()
    }

    fn end(&self, start: u64) -> u64 {
        cpu_ns().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        NANOS.formatter()
    }
}

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn strings(f: impl Fn(u64) -> String) -> ArrayRef {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    Arc::new(StringArray::from_iter_values(
        (0..N).map(|_| f(rng(&mut seed))),
    ))
}

fn keys() -> MemoryKeys {
    MemoryKeys::new()
        .with("k16", 1, [0x2Bu8; 16])
        .and_then(|k| k.with("k32", 3, [0x7Fu8; 32]))
        .unwrap()
}

fn ops(c: &mut Criterion<ProcessCpu>) {
    let keys = keys();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let phones = strings(|x| format!("+1555{:07}", x % 10_000_000));
    let digits10 = strings(|x| format!("{:010}", x % 10_000_000_000));
    let names = strings(|x| format!("user{:06}", x % 1_000_000));
    let emails = strings(|x| format!("user{}@example.com", x % 100_000));
    let text = strings(|x| {
        format!(
            "order {} shipped; call +44 20 7946 {:04} or mail ops{}@shop.example",
            x % 100_000,
            x % 10_000,
            x % 97
        )
    });
    let cases: Vec<(&str, MaskOp, &ArrayRef)> = vec![
        (
            "partial",
            MaskOp::Partial {
                keep_first: 0,
                keep_last: 4,
                mask_char: '*',
            },
            &phones,
        ),
        (
            "full_mask",
            MaskOp::FullMask {
                mask_char: '*',
                length: None,
            },
            &phones,
        ),
        (
            "email",
            MaskOp::Email {
                keep_first: 1,
                mask_char: '*',
            },
            &emails,
        ),
        (
            "hash_hmac_sha256",
            MaskOp::Hash {
                key: "k32".into(),
                algorithm: HashAlgorithm::Sha256,
                encoding: DigestEncoding::Hex,
                truncate: Some(16),
            },
            &phones,
        ),
        (
            "hash_blake3",
            MaskOp::Hash {
                key: "k32".into(),
                algorithm: HashAlgorithm::Blake3,
                encoding: DigestEncoding::Hex,
                truncate: Some(16),
            },
            &phones,
        ),
        (
            "fpe_ff1_10_digits",
            MaskOp::Fpe {
                key: "k16".into(),
                alphabet: Alphabet::Digits,
                tweak: String::new(),
            },
            &digits10,
        ),
        (
            "tokenize_opaque",
            MaskOp::Tokenize {
                key: "k32".into(),
                alphabet: None,
            },
            &names,
        ),
        (
            "tokenize_digits",
            MaskOp::Tokenize {
                key: "k32".into(),
                alphabet: Some(Alphabet::Digits),
            },
            &digits10,
        ),
        (
            "scrub",
            MaskOp::Scrub {
                emails: true,
                phones: true,
                cards: true,
            },
            &text,
        ),
        ("redact", MaskOp::Redact, &phones),
    ];
    let mut group = c.benchmark_group("mask_1_core");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    for (name, op, array) in cases {
        let prepared = PreparedMask::new(&op, &keys).unwrap();
        group.bench_function(BenchmarkId::new(name, N), |b| {
            b.iter(|| pool.install(|| black_box(prepared.apply(array.as_ref()).unwrap())))
        });
    }

    let mut seed = 1u64;
    let ages: ArrayRef = Arc::new(Int64Array::from_iter_values(
        (0..N).map(|_| (rng(&mut seed) % 100) as i64),
    ));
    let dates: ArrayRef = Arc::new(Date32Array::from_iter_values(
        (0..N).map(|_| (rng(&mut seed) % 20_000) as i32),
    ));
    for (name, op, array) in [
        ("bucket", MaskOp::Bucket { width: 10.0 }, &ages),
        (
            "date_truncate",
            MaskOp::DateTruncate {
                unit: DateUnit::Month,
            },
            &dates,
        ),
    ] {
        let prepared = PreparedMask::new(&op, &keys).unwrap();
        group.bench_function(BenchmarkId::new(name, N), |b| {
            b.iter(|| pool.install(|| black_box(prepared.apply(array.as_ref()).unwrap())))
        });
    }

    let schema = Arc::new(Schema::new(vec![
        Field::new("patient", DataType::Utf8, false),
        Field::new("seen", DataType::Date32, false),
    ]));
    let batch = RecordBatch::try_new(schema, vec![names.clone(), dates.clone()]).unwrap();
    let shift = PreparedMask::new(
        &MaskOp::DateShift {
            key: "k32".into(),
            by: "patient".into(),
            max_days: 180,
        },
        &keys,
    )
    .unwrap();
    group.bench_function(BenchmarkId::new("date_shift", N), |b| {
        b.iter(|| pool.install(|| black_box(shift.apply_column(&batch, 1).unwrap())))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ProcessCpu);
    targets = ops
}
criterion_main!(benches);
