//! Any bytes as the footer of a Parquet file give rows or an error: no panic, no hang. The
//! input becomes the Thrift `FileMetaData` between the leading magic and the footer length, so
//! footers the parquet crate refuses reach strata's footer mender (src/read/footer_mend.rs),
//! which then hands what it re-encodes back to the crate. Seed the corpus with the footer of
//! tests/data/parquet-testing/data/dict-page-offset-zero.parquet to start on the mended path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::{read::MemoryMetadataCache, Scan};

/// See parquet_scan.rs: panics the parquet crate raises on damage are caught by strata and
/// returned as errors; only a panic that escapes a scan aborts.
fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

fuzz_target!(|footer: &[u8]| {
    quiet_caught_panics();
    let Ok(len) = u32::try_from(footer.len()) else {
        return;
    };
    let mut file = b"PAR1".to_vec();
    file.extend_from_slice(footer);
    file.extend_from_slice(&len.to_le_bytes());
    file.extend_from_slice(b"PAR1");
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("f.parquet");
    if std::fs::write(&path, &file).is_err() {
        return;
    }
    for no_mmap in [false, true] {
        // A private cache: a shared one would hand one input's footer to the next.
        let cache = std::sync::Arc::new(MemoryMetadataCache::new(1));
        let _ = Scan::new(&path)
            .metadata_cache(cache)
            .no_mmap(no_mmap)
            .limit(10_000)
            .run();
    }
});
