//! The cost model: a tier's monthly bill from its price and its usage (pure arithmetic), and
//! the reports the lake fills in (`Lake::cost_report`, `Lake::tier_cost_change`, in
//! src/lake/cost.rs) from the bytes held, the requests counted and the `[cost]` prices.

use serde::Serialize;

use crate::config::Price;

/// Bytes per GB as providers bill storage and transfer (10^9).
pub const GB: f64 = 1e9;

/// A month as providers bill it (30 days), in ms.
pub const MONTH_MS: f64 = 30.0 * 86_400_000.0;

/// Shortest window request counts are scaled from: a first day's few requests are not
/// multiplied into a month of them.
pub const MIN_WINDOW_MS: f64 = 86_400_000.0;

/// What a tier holds and does in a month.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Bytes held.
    pub stored_bytes: u64,
    /// Read requests per month.
    pub reads: f64,
    /// Write-class requests per month.
    pub writes: f64,
    /// Bytes read per month.
    pub read_bytes: f64,
    /// Whether the bytes read are billed as egress.
    pub egress: bool,
}

/// A monthly bill, USD, by what it is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct MonthlyCost {
    /// Storage.
    pub storage: f64,
    /// Read and write requests.
    pub requests: f64,
    /// Retrieval of the bytes read.
    pub retrieval: f64,
    /// Egress of the bytes read.
    pub egress: f64,
    /// All of it.
    pub total: f64,
}

impl MonthlyCost {
    /// The sum of two bills.
    pub fn plus(self, other: MonthlyCost) -> MonthlyCost {
        MonthlyCost {
            storage: self.storage + other.storage,
            requests: self.requests + other.requests,
            retrieval: self.retrieval + other.retrieval,
            egress: self.egress + other.egress,
            total: self.total + other.total,
        }
    }
}

/// What the lake costs a month.
#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    /// The date the prices are from.
    pub prices_as_of: String,
    /// Always USD.
    pub currency: String,
    /// How long requests have been counted (ms): request charges are scaled from it to a
    /// month (a window under a day counts as a day).
    pub request_window_ms: u64,
    /// Per tier, hottest first.
    pub tiers: Vec<TierCost>,
    /// Objects per zone (the first segment of their keys) and tier: storage only.
    pub zones: Vec<ZoneCost>,
    /// Tables per tier: storage only.
    pub tables: Vec<TableCost>,
    /// The whole monthly bill.
    pub total: MonthlyCost,
}

/// One tier's monthly bill.
#[derive(Debug, Clone, Serialize)]
pub struct TierCost {
    /// The tier.
    pub tier: String,
    /// The provider and storage class it is billed as.
    pub provider: String,
    /// The storage class.
    pub class: String,
    /// The prices applied.
    pub price: Price,
    /// Objects it holds.
    pub objects: u64,
    /// Stored bytes of its objects (envelopes when encrypted).
    pub object_bytes: u64,
    /// Bytes of the tables' files it holds.
    pub table_bytes: u64,
    /// Read requests counted.
    pub reads: u64,
    /// Write-class requests counted.
    pub writes: u64,
    /// Bytes read counted.
    pub read_bytes: u64,
    /// The monthly bill.
    pub monthly: MonthlyCost,
}

/// The objects of one zone in one tier.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneCost {
    /// The first segment of the keys (`raw` for `raw/2026/01.csv`; "" for keys without `/`).
    pub zone: String,
    /// The tier.
    pub tier: String,
    /// Objects.
    pub objects: u64,
    /// Stored bytes.
    pub bytes: u64,
    /// Monthly storage, USD.
    pub monthly_storage: f64,
}

/// One table's files in one tier.
#[derive(Debug, Clone, Serialize)]
pub struct TableCost {
    /// `zone/name` (or a directory of the tables' own, such as `_catalog`).
    pub table: String,
    /// The tier.
    pub tier: String,
    /// Files (data and log).
    pub files: u64,
    /// Bytes.
    pub bytes: u64,
    /// Monthly storage, USD.
    pub monthly_storage: f64,
}

/// How a set of tier actions changes the bill.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CostChange {
    /// Change of the monthly storage bill once the actions are done (negative: cheaper).
    pub monthly: f64,
    /// One-off cost of the moves: reads, retrieval and egress at the source, writes at the
    /// destination.
    pub one_off: f64,
    /// Moves priced.
    pub moves: u64,
    /// Deletes priced.
    pub deletes: u64,
}

/// The monthly bill of `usage` at `price`.
pub fn monthly(price: &Price, usage: &Usage) -> MonthlyCost {
    let storage = storage_monthly(price, usage.stored_bytes);
    let requests = usage.reads / 1000.0 * price.read_requests_per_1000
        + usage.writes / 1000.0 * price.write_requests_per_1000;
    let read_gb = usage.read_bytes / GB;
    let retrieval = read_gb * price.retrieval_per_gb;
    let egress = if usage.egress {
        read_gb * price.egress_per_gb
    } else {
        0.0
    };
    MonthlyCost {
        storage,
        requests,
        retrieval,
        egress,
        total: storage + requests + retrieval + egress,
    }
}

/// Storing `bytes` for a month at `price`.
pub fn storage_monthly(price: &Price, bytes: u64) -> f64 {
    bytes as f64 / GB * price.storage_gb_month
}

/// `count` events seen over `window_ms`, as a monthly rate (the window counts as at least a
/// day).
pub fn per_month(count: u64, window_ms: u64) -> f64 {
    count as f64 * MONTH_MS / (window_ms as f64).max(MIN_WINDOW_MS)
}

/// The one-off cost of moving `bytes` out of a tier at `from` into one at `to`: a read
/// request, retrieval and (when `egress`) egress at the source, a write request at the
/// destination.
pub fn transfer(from: &Price, to: &Price, bytes: u64, egress: bool) -> f64 {
    let gb = bytes as f64 / GB;
    from.read_requests_per_1000 / 1000.0
        + gb * from.retrieval_per_gb
        + if egress { gb * from.egress_per_gb } else { 0.0 }
        + to.write_requests_per_1000 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bill_adds_up() {
        let price = Price {
            storage_gb_month: 0.02,
            read_requests_per_1000: 0.0004,
            write_requests_per_1000: 0.005,
            retrieval_per_gb: 0.01,
            egress_per_gb: 0.09,
        };
        let usage = Usage {
            stored_bytes: 500_000_000_000,
            reads: 1_000_000.0,
            writes: 10_000.0,
            read_bytes: 20e9,
            egress: true,
        };
        let bill = monthly(&price, &usage);
        assert!((bill.storage - 10.0).abs() < 1e-9);
        assert!((bill.requests - (0.4 + 0.05)).abs() < 1e-9);
        assert!((bill.retrieval - 0.2).abs() < 1e-9);
        assert!((bill.egress - 1.8).abs() < 1e-9);
        assert!((bill.total - 12.45).abs() < 1e-9);
        assert_eq!(per_month(10, 3_600_000), 300.0, "a day at least");
        assert_eq!(per_month(10, MONTH_MS as u64), 10.0);
    }
}
