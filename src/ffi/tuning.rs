//! Process-wide tuning a host opts into: strata changes none of it by itself.

use super::guard::{guard, strata_status};

/// Raises glibc's malloc mmap and trim thresholds for the whole process, once (later calls do
/// nothing and return `STRATA_OK`), so that the page-sized buffers Parquet decoding allocates
/// and frees are reused instead of being handed back to the kernel and faulted in again
/// (`STRATA_MALLOC_TUNING=0 python3 benches/scan_compare.py` measures what that buys on a
/// machine, against the same command without the variable). It frees one untouched
/// block just under 32 MiB, which moves glibc's dynamic thresholds as any such free would; the
/// cost is that each malloc arena may keep up to 64 MiB of freed memory for reuse.
///
/// strata never does this unless this function is called (the `strata` command does, at
/// start). A host that set its own thresholds (`mallopt(M_MMAP_THRESHOLD, ...)`,
/// `mallopt(M_TRIM_THRESHOLD, ...)` or `GLIBC_TUNABLES`) keeps them: glibc then ignores the
/// block. Nothing changes under another allocator either.
#[no_mangle]
pub extern "C" fn strata_tuning_raise_malloc_thresholds() -> strata_status {
    guard(|| {
        crate::tuning::raise_malloc_thresholds();
        Ok(())
    })
}
