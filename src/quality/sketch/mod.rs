//! Mergeable sketches: distinct counts, quantiles and frequent values in bounded memory.

mod heavy;
mod hll;
mod quantile;

pub(crate) use heavy::HeavyHitters;
pub use hll::HyperLogLog;
pub use quantile::QuantileSketch;
