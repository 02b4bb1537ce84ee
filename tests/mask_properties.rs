//! Property tests for every operator: shape, null handling, determinism and reversibility on
//! arbitrary Unicode input.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Int64Array, StringArray};
use arrow::datatypes::{Date32Type, Int64Type};
use arrow::record_batch::RecordBatch;
use proptest::prelude::*;
use strata::mask::{
    detokenize, mask_array, Alphabet, DateUnit, DigestEncoding, HashAlgorithm, MaskOp, MemoryKeys,
    PreparedMask,
};

fn keys() -> MemoryKeys {
    MemoryKeys::new().with("k", 1, [42u8; 32]).unwrap()
}

fn texts() -> impl Strategy<Value = Vec<Option<String>>> {
    proptest::collection::vec(proptest::option::of("\\PC{0,24}"), 0..40)
}

fn run(op: &MaskOp, values: &[Option<String>]) -> ArrayRef {
    let input = StringArray::from(values.to_vec());
    mask_array(&input, op, &keys()).unwrap()
}

fn check_nulls(values: &[Option<String>], out: &ArrayRef) {
    assert_eq!(out.len(), values.len());
    for (i, v) in values.iter().enumerate() {
        assert_eq!(out.is_null(i), v.is_none(), "row {i}");
    }
}

fn digits_of(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn redact_nulls_everything(values in texts()) {
        let out = run(&MaskOp::Redact, &values);
        prop_assert_eq!(out.null_count(), values.len());
    }

    #[test]
    fn replace_is_constant(values in texts(), c in "\\PC{0,8}") {
        let out = run(&MaskOp::Replace { value: c.clone() }, &values);
        check_nulls(&values, &out);
        for v in out.as_string::<i32>().iter().flatten() {
            prop_assert_eq!(v, c.as_str());
        }
    }

    #[test]
    fn full_mask_keeps_length_in_chars(values in texts()) {
        let out = run(&MaskOp::FullMask { mask_char: '×', length: None }, &values);
        check_nulls(&values, &out);
        for (v, o) in values.iter().zip(out.as_string::<i32>().iter()) {
            if let (Some(v), Some(o)) = (v, o) {
                prop_assert_eq!(o.chars().count(), v.chars().count());
                prop_assert!(o.chars().all(|c| c == '×'));
            }
        }
    }

    #[test]
    fn partial_keeps_ends_and_never_shows_short_values(values in texts(), first in 0usize..4, last in 0usize..5) {
        let out = run(&MaskOp::Partial { keep_first: first, keep_last: last, mask_char: '*' }, &values);
        check_nulls(&values, &out);
        for (v, o) in values.iter().zip(out.as_string::<i32>().iter()) {
            if let (Some(v), Some(o)) = (v, o) {
                let vc: Vec<char> = v.chars().collect();
                let oc: Vec<char> = o.chars().collect();
                prop_assert_eq!(oc.len(), vc.len());
                if vc.len() > first + last {
                    prop_assert_eq!(&oc[..first], &vc[..first]);
                    prop_assert_eq!(&oc[oc.len() - last..], &vc[vc.len() - last..]);
                    prop_assert!(oc[first..oc.len() - last].iter().all(|&c| c == '*'));
                } else {
                    prop_assert!(oc.iter().all(|&c| c == '*'));
                }
            }
        }
    }

    #[test]
    fn email_keeps_the_domain(local in "\\PC{0,12}", domain in "[a-z0-9.]{1,12}", keep in 0usize..3) {
        let local = local.replace('@', "");
        let values = vec![Some(format!("{local}@{domain}")), None];
        let out = run(&MaskOp::Email { keep_first: keep, mask_char: '*' }, &values);
        check_nulls(&values, &out);
        let o = out.as_string::<i32>().value(0);
        let suffix = format!("@{domain}");
        prop_assert!(o.ends_with(&suffix));
        prop_assert_eq!(o.chars().count(), local.chars().count() + domain.chars().count() + 1);
    }

    #[test]
    fn keyed_hash_is_tagged_fixed_width_and_deterministic(values in texts(), blake in any::<bool>(), trunc in 8usize..=32) {
        let op = MaskOp::Hash {
            key: "k".into(),
            algorithm: if blake { HashAlgorithm::Blake3 } else { HashAlgorithm::Sha256 },
            encoding: DigestEncoding::Hex,
            truncate: Some(trunc),
        };
        let out = run(&op, &values);
        check_nulls(&values, &out);
        prop_assert_eq!(&out, &run(&op, &values));
        for o in out.as_string::<i32>().iter().flatten() {
            prop_assert!(o.starts_with("kv1:"));
            prop_assert_eq!(o.len(), 4 + 2 * trunc);
        }
        // Distinct inputs give distinct digests (no collisions at this size).
        let s = out.as_string::<i32>();
        for i in 0..values.len() {
            for j in 0..values.len() {
                if values[i].is_some() && values[j].is_some() && values[i] != values[j] {
                    prop_assert_ne!(s.value(i), s.value(j));
                }
            }
        }
    }

    #[test]
    fn opaque_tokens_round_trip(values in texts()) {
        let op = MaskOp::Tokenize { key: "k".into(), alphabet: None };
        let out = run(&op, &values);
        check_nulls(&values, &out);
        let back = detokenize(out.as_ref(), &op, &keys()).unwrap();
        prop_assert_eq!(back.as_string::<i32>(), &StringArray::from(values.clone()));
    }

    #[test]
    fn fpe_and_shaped_tokens_keep_shape_and_round_trip(
        values in proptest::collection::vec(proptest::option::of("[0-9]{6,30}|\\PC{0,5}[0-9]{6,20}\\PC{0,5}"), 0..30),
        alpha in 0usize..3,
        tokenize in any::<bool>(),
    ) {
        let alphabet = [Alphabet::Digits, Alphabet::LowerAlphanumeric, Alphabet::Alphanumeric][alpha];
        let op = if tokenize {
            MaskOp::Tokenize { key: "k".into(), alphabet: Some(alphabet) }
        } else {
            MaskOp::Fpe { key: "k".into(), alphabet, tweak: "col".into() }
        };
        let out = run(&op, &values);
        check_nulls(&values, &out);
        for (v, o) in values.iter().zip(out.as_string::<i32>().iter()) {
            if let (Some(v), Some(o)) = (v, o) {
                let body = if tokenize { o.strip_prefix("kv1:").unwrap() } else { o };
                prop_assert_eq!(body.chars().count(), v.chars().count());
                if alphabet == Alphabet::Digits {
                    // Non-digits stay where they were.
                    for (a, b) in v.chars().zip(body.chars()) {
                        prop_assert_eq!(a.is_ascii_digit(), b.is_ascii_digit());
                        if !a.is_ascii_digit() { prop_assert_eq!(a, b); }
                    }
                    prop_assert_eq!(digits_of(body).len(), digits_of(v).len());
                }
            }
        }
        let back = detokenize(out.as_ref(), &op, &keys()).unwrap();
        prop_assert_eq!(back.as_string::<i32>(), &StringArray::from(values.clone()));
    }

    #[test]
    fn buckets_contain_their_values(values in proptest::collection::vec(proptest::option::of(-1_000_000i64..1_000_000), 0..50), width in 1i64..1000) {
        let input = Int64Array::from(values.clone());
        let out = mask_array(&input, &MaskOp::Bucket { width: width as f64 }, &keys()).unwrap();
        check_nulls(&values.iter().map(|v| v.map(|x| x.to_string())).collect::<Vec<_>>(), &out);
        for (v, o) in values.iter().zip(out.as_primitive::<Int64Type>().iter()) {
            if let (Some(v), Some(o)) = (v, o) {
                prop_assert!(o <= *v && *v < o + width && o % width == 0);
            }
        }
    }

    #[test]
    fn date_truncation_goes_to_the_first_day(days in proptest::collection::vec(proptest::option::of(-200_000i32..200_000), 0..50), year in any::<bool>()) {
        let unit = if year { DateUnit::Year } else { DateUnit::Month };
        let input = Date32Array::from(days.clone());
        let out = mask_array(&input, &MaskOp::DateTruncate { unit }, &keys()).unwrap();
        let again = mask_array(out.as_ref(), &MaskOp::DateTruncate { unit }, &keys()).unwrap();
        prop_assert_eq!(&out, &again, "truncation is idempotent");
        for (d, o) in days.iter().zip(out.as_primitive::<Date32Type>().iter()) {
            prop_assert_eq!(d.is_none(), o.is_none());
            if let (Some(d), Some(o)) = (d, o) {
                let span = if year { 366 } else { 31 };
                prop_assert!(o <= *d && *d - o < span);
            }
        }
    }

    #[test]
    fn date_shift_moves_each_entity_by_one_offset(rows in proptest::collection::vec((0u8..5, 0i32..30_000), 1..60), max in 1u32..400) {
        let who: ArrayRef = Arc::new(StringArray::from_iter_values(rows.iter().map(|(p, _)| format!("p{p}"))));
        let when: ArrayRef = Arc::new(Date32Array::from_iter_values(rows.iter().map(|(_, d)| *d)));
        let batch = RecordBatch::try_from_iter([("who", who), ("when", when)]).unwrap();
        let op = MaskOp::DateShift { key: "k".into(), by: "who".into(), max_days: max };
        let out = PreparedMask::new(&op, &keys()).unwrap().apply_column(&batch, 1).unwrap();
        let out = out.as_primitive::<Date32Type>();
        let mut seen = std::collections::HashMap::new();
        for (i, (p, d)) in rows.iter().enumerate() {
            let delta = out.value(i) - d;
            prop_assert!(delta != 0 && delta.unsigned_abs() <= max);
            prop_assert_eq!(*seen.entry(*p).or_insert(delta), delta);
        }
    }

    #[test]
    fn scrub_removes_planted_findings(prefix in "[a-zA-Z ]{0,20}", suffix in "[a-zA-Z ]{0,20}", user in "[a-z]{1,8}") {
        let values = vec![
            Some(format!("{prefix} {user}@example.com {suffix}")),
            Some(format!("{prefix} 4111 1111 1111 1111 {suffix}")),
            Some(format!("{prefix} +1 415 555 0100 {suffix}")),
            Some(format!("{prefix}{suffix}")),
            None,
        ];
        let out = run(&MaskOp::Scrub { emails: true, phones: true, cards: true }, &values);
        check_nulls(&values, &out);
        let s = out.as_string::<i32>();
        prop_assert_eq!(s.value(0), format!("{prefix} [EMAIL] {suffix}"));
        prop_assert_eq!(s.value(1), format!("{prefix} [CARD] {suffix}"));
        prop_assert_eq!(s.value(2), format!("{prefix} [PHONE] {suffix}"));
        prop_assert_eq!(s.value(3), format!("{prefix}{suffix}"));
    }
}
