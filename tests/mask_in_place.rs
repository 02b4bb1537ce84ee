//! The in-place fast path of length-preserving masks (ASCII data) gives exactly what the
//! general path gives, on slices and across parallel chunks, and leaves no clear bytes behind:
//! not under null slots and not outside a slice.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, LargeStringArray, StringArray, StringViewArray};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer};
use strata::mask::{mask_array, MaskOp, MemoryKeys};

fn ops() -> Vec<MaskOp> {
    vec![
        MaskOp::Partial {
            keep_first: 1,
            keep_last: 4,
            mask_char: '*',
        },
        MaskOp::FullMask {
            mask_char: '#',
            length: None,
        },
        MaskOp::Email {
            keep_first: 1,
            mask_char: 'x',
        },
    ]
}

fn values(n: usize) -> Vec<Option<String>> {
    (0..n)
        .map(|i| match i % 7 {
            0 => None,
            1 => Some(String::new()),
            2 => Some(format!("user{i}@example.com")),
            3 => Some("ab".to_string()),
            _ => Some(format!("+1555{i:07}")),
        })
        .collect()
}

/// The general path's answer: Utf8View never takes the in-place path.
fn general(op: &MaskOp, v: &[Option<String>]) -> Vec<Option<String>> {
    let view = StringViewArray::from_iter(v.iter().map(|s| s.as_deref()));
    let out = mask_array(&view, op, &MemoryKeys::new()).unwrap();
    out.as_string_view()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

fn texts(a: &ArrayRef) -> Vec<Option<String>> {
    match a.data_type() {
        arrow::datatypes::DataType::LargeUtf8 => a
            .as_string::<i64>()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect(),
        _ => a
            .as_string::<i32>()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect(),
    }
}

#[test]
fn same_as_general_path_on_slices_and_chunks() {
    let v = values(100_003);
    let utf8 = StringArray::from_iter(v.iter().map(|s| s.as_deref()));
    let large = LargeStringArray::from_iter(v.iter().map(|s| s.as_deref()));
    for op in ops() {
        for (offset, len) in [(0, v.len()), (5, 40_000), (70_001, 30_002), (3, 0)] {
            let want = general(&op, &v[offset..offset + len]);
            for array in [
                utf8.slice(offset, len).into_array_ref(),
                large.slice(offset, len).into_array_ref(),
            ] {
                let out = mask_array(array.as_ref(), &op, &MemoryKeys::new()).unwrap();
                assert_eq!(out.data_type(), array.data_type());
                assert_eq!(texts(&out), want, "{op:?} {offset}..+{len}");
                assert_eq!(out.nulls(), array.nulls());
            }
        }
    }
}

trait IntoRef {
    fn into_array_ref(self) -> ArrayRef;
}

impl<T: Array + 'static> IntoRef for T {
    fn into_array_ref(self) -> ArrayRef {
        Arc::new(self)
    }
}

#[test]
fn no_clear_bytes_under_nulls_or_outside_a_slice() {
    // Row 1 is null but its slot still holds a clear value, as Arrow allows.
    let values = Buffer::from("4111111111111111SECRET-UNDER-NULL5500000000000004".as_bytes());
    let offsets = OffsetBuffer::new(vec![0i32, 16, 33, 49].into());
    let nulls = NullBuffer::from(vec![true, false, true]);
    let array = StringArray::new(offsets, values, Some(nulls));
    for op in ops() {
        let out = mask_array(&array, &op, &MemoryKeys::new()).unwrap();
        let bytes = out.as_string::<i32>().value_data();
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains("SECRET") && !text.contains("NULL"),
            "{op:?}: {text}"
        );
        assert!(!text.contains("41111111"), "{op:?}: {text}");

        let sliced = array.slice(2, 1);
        let out = mask_array(&sliced, &op, &MemoryKeys::new()).unwrap();
        let text = String::from_utf8_lossy(out.as_string::<i32>().value_data()).into_owned();
        assert!(
            !text.contains("SECRET") && !text.contains("4111"),
            "{op:?}: {text}"
        );
    }
}
