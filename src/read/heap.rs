//! glibc's malloc thresholds, moved once to where Parquet decoding's buffers are kept.
//!
//! Decoding a column chunk allocates and frees buffers about a page in size each (the
//! decompressed page, the dictionary: around 1 MiB with default writer settings), and a scan
//! on several threads frees on one thread what another decoded. glibc hands memory free at
//! the top of a heap back to the kernel once more than its trim threshold (128 KiB at start)
//! is free there, and serves blocks over its mmap threshold (also 128 KiB) with a fresh map
//! each: either way the next buffer is faulted in and zeroed page by page. Measured on the
//! scan bench's 2-column projection (24 row groups, snappy): 7k page faults a scan on one
//! thread and 18k on two, a quarter of one thread's time; with the thresholds raised, 1k.
//!
//! glibc raises both thresholds by itself when a program frees a mapped block ("dynamic mmap
//! threshold", mallopt(3)): the mmap threshold to the block's size, up to 32 MiB, and the trim
//! threshold to twice that. So [`raise_malloc_thresholds`] frees one untouched block just under
//! 32 MiB, once per process: what decoding frees is then reused rather than given back and
//! faulted in again (`STRATA_MALLOC_TUNING=0 python3 benches/scan_compare.py` against the
//! same command without the variable measures what that buys). What it
//! costs: each malloc arena may keep up to 64 MiB of freed memory for reuse instead of
//! returning it, as it would after any program freed a 32 MiB buffer.
//!
//! That is a change to the whole process's allocator, so the library never makes it by itself:
//! a program opts in (`strata::tuning::raise_malloc_thresholds`, or
//! `strata_tuning_raise_malloc_thresholds()` through the C ABI). The `strata` command does, at
//! start; a service linking strata decides for itself, as it owns its allocator.
//!
//! A host that chose its thresholds (`mallopt(M_MMAP_THRESHOLD or M_TRIM_THRESHOLD)`, or
//! `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=...`) has turned the dynamic thresholds off,
//! and then this changes nothing. Other C libraries, and Rust programs with another global
//! allocator, are unaffected but for one map and unmap.

use std::sync::Once;

/// Just under the largest block glibc's dynamic threshold follows on 64-bit targets
/// (`DEFAULT_MMAP_THRESHOLD_MAX`, 32 MiB, compared with flag bits included): a mapped
/// block's size adds a header and is rounded up to whole pages, so 32 MiB less two pages
/// comes out as a block of 32 MiB less one.
const BLOCK: usize = (32 << 20) - 8192;

static RAISED: Once = Once::new();

/// Raises glibc's malloc mmap and trim thresholds for the whole process by freeing one
/// untouched block just under 32 MiB, so that the buffers Parquet decoding frees are reused
/// instead of being faulted in afresh (see the module docs for how to measure it). Once
/// per process; later calls return at once. strata never calls it by itself: a program that
/// wants it calls it, best before it starts timing or serving (the `strata` command does at
/// start, the scan benchmark before its baselines). Changes nothing where glibc's thresholds
/// were set explicitly or another allocator serves the process.
pub fn raise_malloc_thresholds() {
    RAISED.call_once(free_one_large_block);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn free_one_large_block() {
    use std::alloc::{GlobalAlloc, Layout, System};

    let Ok(layout) = Layout::from_size_align(BLOCK, 8) else {
        return;
    };
    // glibc's malloc itself, whatever the global allocator: its thresholds are the point.
    // SAFETY: the layout has a non-zero size; the block is never read or written (so none
    // of its pages is touched) and is freed with the same layout by the allocator that gave it.
    unsafe {
        let block = System.alloc(layout);
        if !block.is_null() {
            // Opaque to the optimiser, which may otherwise drop an unused allocation.
            System.dealloc(std::hint::black_box(block), layout);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn free_one_large_block() {}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Page faults this thread has taken so far.
    fn faults() -> i64 {
        // SAFETY: getrusage writes into the zeroed struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        assert_eq!(
            unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) },
            0
        );
        usage.ru_minflt + usage.ru_majflt
    }

    /// Allocates 16 buffers of 1 MiB (a decoded page's size), writes them, frees them.
    fn churn() {
        let buffers: Vec<Vec<u8>> = (0..16u8).map(|i| vec![i; 1 << 20]).collect();
        assert_eq!(buffers[15][(1 << 20) - 1], 15);
    }

    #[test]
    fn freed_decoding_buffers_are_reused_not_faulted_in_again() {
        raise_malloc_thresholds();
        raise_malloc_thresholds(); // once per process: the second call does nothing
        churn();
        // Other tests run on other threads of this process and may share this thread's malloc
        // arena, taking the freed buffers first; the fewest faults of a few tries is what
        // reuse gives when nothing else interferes.
        let again = (0..5)
            .map(|_| {
                let before = faults();
                churn();
                faults() - before
            })
            .min()
            .unwrap_or(i64::MAX);
        // 16 MiB is 4096 pages; given back to the kernel, each would fault in again. Alone
        // this takes a handful; inside a whole `cargo test` run on the development machine it
        // took 1281 every try (part of the heap given back among the other tests' work, not
        // understood), so the bound is half the pages: most buffers reused.
        assert!(again < 2048, "{again} page faults reusing freed buffers");
    }
}
