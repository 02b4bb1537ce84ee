//! Every operator keeps nulls as nulls on Utf8, LargeUtf8 and Utf8View, keeps the string type,
//! and counts Unicode text in characters.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, LargeStringArray, StringArray, StringViewArray};
use arrow::datatypes::DataType;
use strata::mask::{mask_array, Alphabet, DigestEncoding, HashAlgorithm, MaskOp, MemoryKeys};

fn text_ops() -> Vec<MaskOp> {
    vec![
        MaskOp::Redact,
        MaskOp::Replace {
            value: "n/a".into(),
        },
        MaskOp::FullMask {
            mask_char: '•',
            length: None,
        },
        MaskOp::Partial {
            keep_first: 2,
            keep_last: 1,
            mask_char: '*',
        },
        MaskOp::Email {
            keep_first: 1,
            mask_char: '*',
        },
        MaskOp::Hash {
            key: "k".into(),
            algorithm: HashAlgorithm::Blake3,
            encoding: DigestEncoding::Hex,
            truncate: Some(8),
        },
        MaskOp::Tokenize {
            key: "k".into(),
            alphabet: None,
        },
        MaskOp::Tokenize {
            key: "k".into(),
            alphabet: Some(Alphabet::Digits),
        },
        MaskOp::Fpe {
            key: "k".into(),
            alphabet: Alphabet::Digits,
            tweak: String::new(),
        },
        MaskOp::Scrub {
            emails: true,
            phones: true,
            cards: true,
        },
    ]
}

const VALUES: [Option<&str>; 4] = [
    Some("Zoë Ünal 0123456789 zoë@exämple.com"),
    None,
    Some("日本語 テキスト 4111 1111 1111 1111 ✓"),
    None,
];

fn arrays() -> Vec<ArrayRef> {
    vec![
        Arc::new(StringArray::from(VALUES.to_vec())),
        Arc::new(LargeStringArray::from(VALUES.to_vec())),
        Arc::new(StringViewArray::from(VALUES.to_vec())),
    ]
}

fn text_at(a: &ArrayRef, i: usize) -> String {
    match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(i).to_string(),
        DataType::Utf8View => a.as_string_view().value(i).to_string(),
        other => panic!("unexpected type {other}"),
    }
}

#[test]
fn nulls_stay_null_and_types_are_kept() {
    let keys = MemoryKeys::new().with("k", 1, [9u8; 32]).unwrap();
    for op in text_ops() {
        let mut results = Vec::new();
        for input in arrays() {
            let out = mask_array(input.as_ref(), &op, &keys).unwrap();
            assert_eq!(out.data_type(), input.data_type(), "{op:?}");
            assert_eq!(out.len(), 4);
            assert!(out.is_null(1) && out.is_null(3), "{op:?}");
            if op != MaskOp::Redact {
                assert!(out.is_valid(0) && out.is_valid(2), "{op:?}");
                results.push((text_at(&out, 0), text_at(&out, 2)));
            }
        }
        // The three string types give the same text.
        if let Some(first) = results.first() {
            assert!(results.iter().all(|r| r == first), "{op:?}: {results:?}");
        }
    }
}

#[test]
fn unicode_is_counted_in_characters() {
    let keys = MemoryKeys::new();
    let input = StringArray::from(vec!["Zoë", "日本語テキスト", "🙂🙂🙂🙂🙂"]);
    let op = MaskOp::Partial {
        keep_first: 1,
        keep_last: 1,
        mask_char: '*',
    };
    let out = mask_array(&input, &op, &keys).unwrap();
    let out = out.as_string::<i32>();
    assert_eq!(out.value(0), "Z*ë");
    assert_eq!(out.value(1), "日*****ト");
    assert_eq!(out.value(2), "🙂***🙂");
    let full = MaskOp::FullMask {
        mask_char: '#',
        length: None,
    };
    let out = mask_array(&input, &full, &keys).unwrap();
    assert_eq!(out.as_string::<i32>().value(2), "#####");
}

#[test]
fn numbers_and_dates_where_they_make_sense() {
    use arrow::array::{Date32Array, Int32Array};
    use arrow::datatypes::{Date32Type, Int32Type};
    let keys = MemoryKeys::new().with("k", 1, [9u8; 32]).unwrap();
    let ages = Int32Array::from(vec![Some(37), None, Some(85)]);
    let out = mask_array(&ages, &MaskOp::Bucket { width: 10.0 }, &keys).unwrap();
    assert_eq!(
        out.as_primitive::<Int32Type>(),
        &Int32Array::from(vec![Some(30), None, Some(80)])
    );
    let out = mask_array(&ages, &MaskOp::Replace { value: "0".into() }, &keys).unwrap();
    assert_eq!(
        out.as_primitive::<Int32Type>(),
        &Int32Array::from(vec![Some(0), None, Some(0)])
    );
    assert!(mask_array(
        &ages,
        &MaskOp::Replace {
            value: "zero".into()
        },
        &keys
    )
    .is_err());
    // Text operators read numbers as their decimal text and return Utf8.
    let hashed = mask_array(
        &ages,
        &MaskOp::Hash {
            key: "k".into(),
            algorithm: HashAlgorithm::Sha256,
            encoding: DigestEncoding::Hex,
            truncate: Some(8),
        },
        &keys,
    )
    .unwrap();
    assert_eq!(hashed.data_type(), &DataType::Utf8);
    assert!(hashed.is_null(1));
    let dates = Date32Array::from(vec![Some(19_923), None]);
    let out = mask_array(
        &dates,
        &MaskOp::DateTruncate {
            unit: strata::mask::DateUnit::Year,
        },
        &keys,
    )
    .unwrap();
    assert_eq!(out.as_primitive::<Date32Type>().value(0), 19_723);
    assert!(out.is_null(1));
    // Bucketing text is refused with a clear error, not a panic.
    let err = mask_array(
        &StringArray::from(vec!["a"]),
        &MaskOp::Bucket { width: 1.0 },
        &keys,
    )
    .unwrap_err();
    assert!(err.to_string().contains("bucket"), "{err}");
}
