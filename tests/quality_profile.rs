//! Profiles of a small table with nulls and NaNs against hand-computed values; merging profiles
//! of parts equals the profile of the whole (property test); HyperLogLog on a million distinct
//! values stays within its stated error.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch,
    StringArray,
};
use proptest::prelude::*;
use strata::quality::{
    profile_array, profile_batches, InferredType, ProfileOptions, Scalar, TableProfile,
};

fn table() -> RecordBatch {
    let ints: ArrayRef = Arc::new(Int64Array::from(vec![
        Some(4),
        None,
        Some(-2),
        Some(0),
        Some(4),
        Some(10),
    ]));
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![
        Some(1.5),
        Some(f64::NAN),
        None,
        Some(-0.5),
        Some(2.0),
        Some(0.0),
    ]));
    let names: ArrayRef = Arc::new(StringArray::from(vec![
        Some("ann"),
        Some("bob"),
        None,
        Some(""),
        Some("ann"),
        Some("zoë"),
    ]));
    let numbers: ArrayRef = Arc::new(StringArray::from(vec!["1", "2.5", "-3", "4e2", "", "7"]));
    let flags: ArrayRef = Arc::new(BooleanArray::from(vec![
        Some(true),
        None,
        Some(false),
        Some(true),
        Some(true),
        None,
    ]));
    let days: ArrayRef = Arc::new(Date32Array::from(vec![
        Some(19_000),
        Some(19_723),
        None,
        Some(0),
        Some(19_723),
        Some(1),
    ]));
    let money: ArrayRef = Arc::new(
        Decimal128Array::from(vec![
            Some(12_345),
            Some(-5),
            None,
            Some(100),
            Some(0),
            Some(1),
        ])
        .with_precision_and_scale(10, 2)
        .unwrap(),
    );
    RecordBatch::try_from_iter(vec![
        ("ints", ints),
        ("floats", floats),
        ("names", names),
        ("numbers", numbers),
        ("flags", flags),
        ("days", days),
        ("money", money),
    ])
    .unwrap()
}

#[test]
fn exact_metrics_match_hand_computed_values() {
    let profile = profile_batches(&[table()], &ProfileOptions::default()).unwrap();
    assert_eq!(profile.rows(), 6);

    let ints = profile.column("ints").unwrap();
    assert_eq!((ints.rows(), ints.nulls(), ints.values()), (6, 1, 5));
    assert_eq!(
        (ints.min(), ints.max()),
        (Some(Scalar::Int(-2)), Some(Scalar::Int(10)))
    );
    assert_eq!(ints.sum(), Some(Scalar::Int(16)));
    assert!((ints.mean().unwrap() - 3.2).abs() < 1e-12);
    // Sample variance of 4, -2, 0, 4, 10: sum of squared deviations 84.8 over 4.
    assert!((ints.stddev().unwrap() - (84.8f64 / 4.0).sqrt()).abs() < 1e-12);
    assert_eq!((ints.zeros(), ints.negatives()), (Some(1), Some(1)));
    let distinct = ints.distinct().unwrap();
    assert_eq!((distinct.value, distinct.exact), (4, true));
    let top = ints.top_values();
    assert!(top.exact);
    assert_eq!(
        (top.values[0].value.clone(), top.values[0].count),
        (Scalar::Int(4), 2)
    );
    assert_eq!(ints.quantile(0.5), Some(Scalar::Int(4)));

    let floats = profile.column("floats").unwrap();
    assert_eq!((floats.nulls(), floats.nans(), floats.values()), (1, 1, 4));
    assert_eq!(floats.min(), Some(Scalar::Float(-0.5)));
    assert_eq!(floats.max(), Some(Scalar::Float(2.0)));
    assert_eq!(floats.sum(), Some(Scalar::Float(3.0)));
    assert_eq!(floats.mean(), Some(0.75));
    assert_eq!((floats.zeros(), floats.negatives()), (Some(1), Some(1)));
    assert_eq!(floats.distinct().unwrap().value, 4);

    let names = profile.column("names").unwrap();
    assert_eq!(
        (names.nulls(), names.values(), names.empty()),
        (1, 5, Some(1))
    );
    assert_eq!((names.min_length(), names.max_length()), (Some(0), Some(3)));
    assert_eq!(names.min(), Some(Scalar::Text(String::new())));
    assert_eq!(names.max(), Some(Scalar::Text("zoë".into())));
    assert_eq!(names.distinct().unwrap().value, 4);
    assert_eq!(
        names.top_values().values[0].value,
        Scalar::Text("ann".into())
    );
    assert_eq!(names.inferred_type(), Some(InferredType::Text));
    assert_eq!(
        profile.column("numbers").unwrap().inferred_type(),
        Some(InferredType::Fractional)
    );

    let flags = profile.column("flags").unwrap();
    assert_eq!((flags.nulls(), flags.values()), (2, 4));
    assert_eq!(flags.top_values().values[0].count, 3);
    assert_eq!(
        (flags.min(), flags.max()),
        (Some(Scalar::Bool(false)), Some(Scalar::Bool(true)))
    );

    let days = profile.column("days").unwrap();
    assert_eq!(days.min(), Some(Scalar::Text("1970-01-01".into())));
    assert_eq!(days.max(), Some(Scalar::Text("2024-01-01".into())));
    assert_eq!(days.distinct().unwrap().value, 4);
    assert_eq!(days.mean(), None);

    let money = profile.column("money").unwrap();
    assert_eq!(money.sum(), Some(Scalar::Decimal("124.41".into())));
    assert_eq!(money.min(), Some(Scalar::Decimal("-0.05".into())));
    assert_eq!(money.max(), Some(Scalar::Decimal("123.45".into())));
    assert!((money.mean().unwrap() - 24.882).abs() < 1e-9);

    let json = serde_json::to_string(&profile.summary()).unwrap();
    assert!(json.contains("\"name\":\"money\""), "{json}");
}

#[test]
fn hyperloglog_within_stated_error_on_a_million_distinct_values() {
    let n = 1_000_000i64;
    let values: ArrayRef = Arc::new(Int64Array::from_iter_values((0..n).map(|i| i * 31 + 7)));
    let profile = profile_array("v", &values, &ProfileOptions::default()).unwrap();
    let distinct = profile.distinct().unwrap();
    assert!(!distinct.exact);
    let error = (distinct.value as f64 - n as f64).abs() / n as f64;
    assert!(
        error <= distinct.error_bound,
        "estimate {} error {error} bound {}",
        distinct.value,
        distinct.error_bound
    );
    // The bound is three standard errors; the estimate is usually within one.
    eprintln!(
        "HLL estimate {} for {n} distinct: relative error {error:.5}",
        distinct.value
    );
    let median = match profile.quantile(0.5) {
        Some(Scalar::Int(m)) => m as f64,
        other => panic!("{other:?}"),
    };
    let rank = (median - 7.0) / 31.0 / n as f64;
    assert!((rank - 0.5).abs() <= profile.quantile_rank_error().unwrap());
}

fn column_batch(
    values: &[Option<i64>],
    floats: &[Option<f64>],
    texts: &[Option<String>],
) -> RecordBatch {
    RecordBatch::try_from_iter(vec![
        ("i", Arc::new(Int64Array::from(values.to_vec())) as ArrayRef),
        (
            "f",
            Arc::new(Float64Array::from(floats.to_vec())) as ArrayRef,
        ),
        ("s", Arc::new(StringArray::from(texts.to_vec())) as ArrayRef),
    ])
    .unwrap()
}

fn exact_view(p: &TableProfile) -> Vec<String> {
    p.columns()
        .iter()
        .map(|c| {
            let floats_sum = match c.sum() {
                Some(Scalar::Float(x)) => format!("{:.6}", x),
                other => format!("{other:?}"),
            };
            format!(
                "{} {} {} {} {:?} {:?} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                c.rows(),
                c.nulls(),
                c.nans(),
                c.values(),
                c.min(),
                c.max(),
                floats_sum,
                c.zeros(),
                c.negatives(),
                c.min_length(),
                c.max_length(),
                c.distinct(),
                c.top_values(),
                c.inferred_type(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn merging_parts_equals_the_whole(
        rows in proptest::collection::vec(
            (proptest::option::of(-50i64..50),
             proptest::option::of(prop_oneof![(-8i32..8).prop_map(|x| x as f64 / 4.0), Just(f64::NAN)]),
             proptest::option::of("[a-c]{0,3}")),
            0..300),
        cut in 0usize..300,
        threshold in prop_oneof![Just(8usize), Just(16_384usize)],
    ) {
        let cut = cut.min(rows.len());
        let ints: Vec<_> = rows.iter().map(|r| r.0).collect();
        let floats: Vec<_> = rows.iter().map(|r| r.1).collect();
        let texts: Vec<_> = rows.iter().map(|r| r.2.clone()).collect();
        let options = ProfileOptions { distinct_threshold: threshold, chunk_rows: 64, ..ProfileOptions::default() };
        let whole = profile_batches(&[column_batch(&ints, &floats, &texts)], &options).unwrap();
        let mut merged = profile_batches(&[column_batch(&ints[..cut], &floats[..cut], &texts[..cut])], &options).unwrap();
        let tail = profile_batches(&[column_batch(&ints[cut..], &floats[cut..], &texts[cut..])], &options).unwrap();
        merged.merge(&tail).unwrap();
        let (a, b) = (exact_view(&merged), exact_view(&whole));
        if threshold > 300 {
            prop_assert_eq!(a, b);
        } else {
            // Past the threshold, top values are approximate; everything before them is exact.
            for (x, y) in a.iter().zip(&b) {
                let cut_at = |s: &str| s.split(" TopValues").next().unwrap_or("").to_string();
                prop_assert_eq!(cut_at(x), cut_at(y));
            }
        }
        prop_assert_eq!(merged.rows(), whole.rows());
    }
}

#[test]
fn thread_count_does_not_change_exact_metrics() {
    let n = 300_000i64;
    let values: ArrayRef = Arc::new(Int64Array::from_iter(
        (0..n).map(|i| (i % 11 != 0).then_some((i * 7919) % 100_003 - 50_000)),
    ));
    let batch = RecordBatch::try_from_iter(vec![("v", values)]).unwrap();
    let options = ProfileOptions {
        chunk_rows: 10_000,
        ..ProfileOptions::default()
    };
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| profile_batches(std::slice::from_ref(&batch), &options).unwrap())
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(exact_view(&one), exact_view(&two));
    assert_eq!(one.columns()[0].stddev(), two.columns()[0].stddev());
}
