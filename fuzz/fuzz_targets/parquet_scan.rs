//! Any bytes scanned as a Parquet file give rows or an error: no panic, no hang. Mapped and
//! plain reads, a projection and a filter (so pruning reads the statistics) all see the bytes.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use strata::{read::MemoryMetadataCache, Expr, Scan};

/// libfuzzer-sys aborts on every panic, even one caught. strata's contract is narrower and is
/// what this target checks: no panic escapes a scan. Panics inside the parquet and arrow crates
/// on damaged input (assertions, `unimplemented!` in the embedded Arrow schema) are caught by
/// strata and returned as `Corrupt` errors, so the hook is reset to a silent one; a panic that
/// escapes still aborts through libfuzzer-sys's own `catch_unwind`.
fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

fuzz_target!(|data: &[u8]| {
    quiet_caught_panics();
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    let path = file.path();
    // A private cache: a shared one would hand one input's footer to the next file version.
    let cache = std::sync::Arc::new(MemoryMetadataCache::new(1));
    let _ = Scan::new(path)
        .metadata_cache(cache.clone())
        .limit(10_000)
        .run();
    let _ = Scan::new(path)
        .metadata_cache(cache)
        .no_mmap(true)
        .columns(&["a"])
        .filter(Expr::parse("a > 1 AND b IS NOT NULL").expect("filter"))
        .limit(10_000)
        .run();
});
