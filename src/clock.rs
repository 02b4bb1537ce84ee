//! Wall-clock time as strata records it: milliseconds since the Unix epoch.
//!
//! The tier index, key rings and envelopes all stamp times this way; one place keeps them
//! consistent and keeps the modules that need a clock from reaching into each other.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    to_ms(SystemTime::now())
}

/// Milliseconds since the Unix epoch at `t` (0 before the epoch).
pub(crate) fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
