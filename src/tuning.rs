//! Process-wide knobs: settings shared by every lake in the process, and the one change to
//! the host's own allocator, which happens only when the host calls for it.
//!
//! strata is linked into other programs (C++ and Go services, Rust binaries), so the library
//! changes no process-wide setting behind its host's back. What is shared by the whole process
//! lives here, named as such:
//!
//! * [`raise_malloc_thresholds`]: glibc's malloc mmap and trim thresholds, raised once so that
//!   the page-sized buffers Parquet decoding allocates and frees are reused instead of being
//!   handed back to the kernel and faulted in again (what that buys on a machine:
//!   `STRATA_MALLOC_TUNING=0 python3 benches/scan_compare.py` against the same command
//!   without the variable). Never done by the library itself; the `strata` command does it
//!   at start, and C hosts call `strata_tuning_raise_malloc_thresholds()`.
//! * [`set_kept_maps`], [`kept_maps`], [`forget_maps`]: how many memory maps of scanned files
//!   are kept for the next scan of the same file (64 by default, each for at most
//!   [`KEEP_IDLE`]).
//! * [`set_aead_backend`], [`aead_backend`]: which AES-256-GCM code seals and opens envelope
//!   chunks ([`AEAD_BACKEND_ENV`] names one when nothing set it). A config's
//!   `encryption.aead_backend` also sets it, for the whole process, when a lake opens with it:
//!   the envelope code makes its ciphers from this one process-wide choice. Both backends make
//!   the same bytes, so the choice changes speed (and what memory checkers can follow), never
//!   what is stored or what can be read back.
//! * [`COALESCE_GAP`]: ranged reads of an object's column chunks closer than this are merged
//!   into one request (a constant, not a setting: here with the figures that tune reads).
//!
//! ```
//! strata::tuning::raise_malloc_thresholds(); // once per process; later calls do nothing
//! strata::tuning::set_kept_maps(8);
//! assert_eq!(strata::tuning::kept_maps(), if cfg!(unix) { 8 } else { 0 });
//! ```

pub use crate::crypto::{aead_backend, set_aead_backend, AeadBackend, AEAD_BACKEND_ENV};
pub use crate::read::heap::raise_malloc_thresholds;
pub use crate::read::maps::{forget_maps, kept_maps, set_kept_maps, KEEP_IDLE};
pub use crate::read::object::COALESCE_GAP;
