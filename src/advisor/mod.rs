//! The advisor: access statistics recorded as the lake works ([`stats`]), a miss-ratio curve
//! over their read trace ([`mrc`]), and recommendations of layout, codec, format, tier and
//! cache budget from both and the data's own metadata ([`advice`]). Plain data in, plain
//! data out: the lake gathers the facts and applies what it recommends.

pub mod advice;
pub mod mrc;
pub mod stats;

pub use advice::{Applied, Apply, Recommendation};
pub use stats::AccessStats;
