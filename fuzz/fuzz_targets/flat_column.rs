//! Damaged data pages of flat dictionary-encoded numeric columns (what strata decodes itself,
//! src/read/flat_column.rs) give rows or an error: no panic, no hang. The input picks one of
//! two small pyarrow-written files (data pages v1 uncompressed; v2 snappy, so that damage also
//! reaches the decompressor), an offset into its pages and bytes to write there; the footer is
//! left alone so that the pages are what the scan meets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::Scan;

const V1: &[u8] = include_bytes!("../../tests/fixtures/flat_columns_v1.parquet");
const V2: &[u8] = include_bytes!("../../tests/fixtures/flat_columns_v2.parquet");

/// See parquet_scan.rs: panics the parquet crate raises on damage are caught by strata and
/// returned as errors; only a panic that escapes a scan aborts.
fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

fuzz_target!(|input: &[u8]| {
    quiet_caught_panics();
    let [which, hi, lo, patch @ ..] = input else {
        return;
    };
    let mut file = if which & 1 == 0 { V1 } else { V2 }.to_vec();
    let Some(tail) = file.len().checked_sub(8) else {
        return;
    };
    let footer = u32::from_le_bytes([file[tail], file[tail + 1], file[tail + 2], file[tail + 3]]);
    let pages_end = tail.saturating_sub(footer as usize);
    let at = 4 + usize::from(u16::from_be_bytes([*hi, *lo])) % pages_end.saturating_sub(4).max(1);
    for (i, byte) in patch.iter().enumerate() {
        if let Some(slot) = file.get_mut(at + i).filter(|_| at + i < pages_end) {
            *slot = *byte;
        }
    }
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("f.parquet");
    if std::fs::write(&path, &file).is_err() {
        return;
    }
    for threads in [1, 2] {
        let _ = Scan::new(&path).threads(threads).batch_size(300).run();
    }
});
