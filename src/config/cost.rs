//! `[cost]`: what storage costs, per provider and storage class, and which tier is which.
//!
//! Built-in list prices (US regions, first volume tier, USD) for S3 Standard, Standard-IA and
//! Glacier Instant Retrieval, GCS Standard, Nearline and Coldline, and Azure Blob Hot, Cool
//! and Archive, as of [`PRICES_AS_OF`]. Prices change: every field of every entry can be
//! overridden, and other providers (MinIO on your own disks, Wasabi, ...) added.
//!
//! ```toml
//! [cost]
//! prices_as_of = "2026-12-01"       # the date your overrides are from
//! egress = true                     # reads from object-store tiers leave the provider
//! local = { storage_gb_month = 0.01 }   # disks are not free either (default 0)
//!
//! [cost.tiers]
//! cold = { provider = "aws", class = "s3-standard-ia" }
//! archive = { provider = "wasabi", class = "hot" }
//!
//! [cost.prices.aws.s3-standard-ia]
//! storage_gb_month = 0.0125
//!
//! [cost.prices.wasabi.hot]
//! storage_gb_month = 0.0069
//! ```
//!
//! A local or memory tier costs the `local` price; an S3 tier that `[cost.tiers]` does not
//! name is taken to be S3 Standard.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::tier::{TierConfig, TierKind};
use crate::error::{Error, Result};

/// The date the built-in prices are from.
pub const PRICES_AS_OF: &str = "2025-01-01";

/// The provider name of local disks and memory tiers.
pub const LOCAL_PROVIDER: &str = "local";

/// One price list entry, resolved: USD.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Price {
    /// Storage, per GB (10^9 bytes) per month.
    pub storage_gb_month: f64,
    /// Read requests (GET and the like), per 1,000.
    pub read_requests_per_1000: f64,
    /// Write requests (PUT, COPY, POST, LIST), per 1,000.
    pub write_requests_per_1000: f64,
    /// Retrieval, per GB read (the colder classes charge it).
    pub retrieval_per_gb: f64,
    /// Egress to the internet, per GB.
    pub egress_per_gb: f64,
}

const fn price(storage: f64, reads: f64, writes: f64, retrieval: f64, egress: f64) -> Price {
    Price {
        storage_gb_month: storage,
        read_requests_per_1000: reads,
        write_requests_per_1000: writes,
        retrieval_per_gb: retrieval,
        egress_per_gb: egress,
    }
}

/// The built-in price list: `(provider, class, price)`, list prices in US regions (AWS
/// us-east-1, GCS us-central1, Azure East US LRS), first volume tier, as of [`PRICES_AS_OF`].
pub const BUILTIN_PRICES: &[(&str, &str, Price)] = &[
    ("aws", "s3-standard", price(0.023, 0.0004, 0.005, 0.0, 0.09)),
    (
        "aws",
        "s3-standard-ia",
        price(0.0125, 0.001, 0.01, 0.01, 0.09),
    ),
    ("aws", "s3-glacier-ir", price(0.004, 0.01, 0.02, 0.03, 0.09)),
    ("gcs", "standard", price(0.020, 0.0004, 0.005, 0.0, 0.12)),
    ("gcs", "nearline", price(0.010, 0.001, 0.01, 0.01, 0.12)),
    ("gcs", "coldline", price(0.004, 0.01, 0.02, 0.02, 0.12)),
    ("azure", "hot", price(0.0184, 0.0005, 0.0065, 0.0, 0.087)),
    ("azure", "cool", price(0.01, 0.001, 0.01, 0.01, 0.087)),
    ("azure", "archive", price(0.00099, 0.55, 0.011, 0.02, 0.087)),
];

/// A price list entry as the config writes it: any field left out keeps the built-in value
/// (or 0 for a provider of your own).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    /// Storage, USD per GB-month: 0 or more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_gb_month: Option<f64>,
    /// Read requests, USD per 1,000: 0 or more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_requests_per_1000: Option<f64>,
    /// Write requests, USD per 1,000: 0 or more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_requests_per_1000: Option<f64>,
    /// Retrieval, USD per GB: 0 or more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieval_per_gb: Option<f64>,
    /// Egress, USD per GB: 0 or more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_per_gb: Option<f64>,
}

impl PriceOverride {
    fn fields(&self) -> [(&'static str, Option<f64>); 5] {
        [
            ("storage_gb_month", self.storage_gb_month),
            ("read_requests_per_1000", self.read_requests_per_1000),
            ("write_requests_per_1000", self.write_requests_per_1000),
            ("retrieval_per_gb", self.retrieval_per_gb),
            ("egress_per_gb", self.egress_per_gb),
        ]
    }

    fn over(&self, base: Price) -> Price {
        Price {
            storage_gb_month: self.storage_gb_month.unwrap_or(base.storage_gb_month),
            read_requests_per_1000: self
                .read_requests_per_1000
                .unwrap_or(base.read_requests_per_1000),
            write_requests_per_1000: self
                .write_requests_per_1000
                .unwrap_or(base.write_requests_per_1000),
            retrieval_per_gb: self.retrieval_per_gb.unwrap_or(base.retrieval_per_gb),
            egress_per_gb: self.egress_per_gb.unwrap_or(base.egress_per_gb),
        }
    }

    fn validate(&self, at: &str) -> Result<()> {
        for (field, value) in self.fields() {
            if let Some(v) = value {
                if !v.is_finite() || v < 0.0 {
                    return Err(Error::config(format!(
                        "{at}.{field}: {v} is not a price; prices are finite and 0 or more (USD)"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Which provider and storage class a tier is billed as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierPricing {
    /// `aws`, `gcs`, `azure`, `local`, or a provider of `[cost.prices]`.
    pub provider: String,
    /// A storage class of that provider (`s3-standard`, `s3-standard-ia`, `s3-glacier-ir`;
    /// `standard`, `nearline`, `coldline`; `hot`, `cool`, `archive`; `disk` for `local`).
    pub class: String,
}

/// The `[cost]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostConfig {
    /// The date the prices are from (YYYY-MM-DD); default the built-in list's date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prices_as_of: Option<String>,
    /// Whether bytes read from object-store tiers are billed as egress (the lake runs
    /// outside the provider's region); default true.
    pub egress: bool,
    /// The price of local and memory tiers (provider `local`, class `disk`); default 0.
    pub local: PriceOverride,
    /// Tier name -> provider and class.
    pub tiers: BTreeMap<String, TierPricing>,
    /// Provider -> class -> price overrides (or entries of providers of your own).
    pub prices: BTreeMap<String, BTreeMap<String, PriceOverride>>,
}

impl Default for CostConfig {
    fn default() -> Self {
        CostConfig {
            prices_as_of: None,
            egress: true,
            local: PriceOverride::default(),
            tiers: BTreeMap::new(),
            prices: BTreeMap::new(),
        }
    }
}

fn builtin(provider: &str, class: &str) -> Option<Price> {
    BUILTIN_PRICES
        .iter()
        .find(|(p, c, _)| *p == provider && *c == class)
        .map(|(_, _, price)| *price)
}

fn builtin_provider(provider: &str) -> bool {
    BUILTIN_PRICES.iter().any(|(p, _, _)| *p == provider)
}

fn classes_of(provider: &str) -> String {
    BUILTIN_PRICES
        .iter()
        .filter(|(p, _, _)| *p == provider)
        .map(|(_, c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}

impl CostConfig {
    /// Whether this is the default (left out of a written config).
    pub fn is_default(&self) -> bool {
        *self == CostConfig::default()
    }

    /// The date the prices are from.
    pub fn prices_as_of(&self) -> &str {
        self.prices_as_of.as_deref().unwrap_or(PRICES_AS_OF)
    }

    /// Checks dates, prices (finite, 0 or more), and that every provider, class and tier
    /// named exists; errors name the field.
    pub fn validate(&self, tiers: &[TierConfig]) -> Result<()> {
        if let Some(date) = &self.prices_as_of {
            let ok = date.len() == 10
                && date.char_indices().all(|(i, c)| match i {
                    4 | 7 => c == '-',
                    _ => c.is_ascii_digit(),
                });
            if !ok {
                return Err(Error::config(format!(
                    "cost.prices_as_of: {date:?} is not a date (expected YYYY-MM-DD)"
                )));
            }
        }
        self.local.validate("cost.local")?;
        for (provider, classes) in &self.prices {
            if provider == LOCAL_PROVIDER {
                return Err(Error::config(
                    "cost.prices.local: the price of local tiers is `cost.local`",
                ));
            }
            for (class, entry) in classes {
                let at = format!("cost.prices.{provider}.{class}");
                if builtin_provider(provider) && builtin(provider, class).is_none() {
                    return Err(Error::config(format!(
                        "{at}: unknown class {class:?} of provider {provider:?} (its classes: {})",
                        classes_of(provider)
                    )));
                }
                entry.validate(&at)?;
            }
        }
        for (tier, pricing) in &self.tiers {
            let at = format!("cost.tiers.{tier}");
            if !tiers.iter().any(|t| &t.name == tier) {
                return Err(Error::config(format!(
                    "{at}: no tier {tier:?} is configured"
                )));
            }
            self.resolve(&pricing.provider, &pricing.class)
                .map_err(|why| Error::config(format!("{at}: {why}")))?;
        }
        Ok(())
    }

    /// The price of `provider`'s `class`: the built-in entry with its overrides, an entry of
    /// a provider of your own, or the local price.
    fn resolve(&self, provider: &str, class: &str) -> std::result::Result<Price, String> {
        if provider == LOCAL_PROVIDER {
            return match class {
                "disk" => Ok(self.local.over(Price::default())),
                other => Err(format!(
                    "class: unknown class {other:?} of provider \"local\" (its class: disk)"
                )),
            };
        }
        let custom = self.prices.get(provider).and_then(|c| c.get(class));
        match (builtin(provider, class), custom) {
            (Some(base), over) => Ok(over.map_or(base, |o| o.over(base))),
            (None, Some(own)) => Ok(own.over(Price::default())),
            (None, None) if builtin_provider(provider) => Err(format!(
                "class: unknown class {class:?} of provider {provider:?} (its classes: {})",
                classes_of(provider)
            )),
            (None, None) if self.prices.contains_key(provider) => Err(format!(
                "class: unknown class {class:?} of provider {provider:?} (define it under \
                 [cost.prices.{provider}.{class}])"
            )),
            (None, None) => Err(format!(
                "provider: unknown provider {provider:?} (built in: aws, gcs, azure, local; \
                 others are defined under [cost.prices.<provider>.<class>])"
            )),
        }
    }

    /// The provider, class and price tier `tier` is billed at.
    pub fn price_of(&self, tier: &TierConfig) -> Result<(String, String, Price)> {
        let (provider, class) = match (self.tiers.get(&tier.name), &tier.kind) {
            (Some(p), _) => (p.provider.clone(), p.class.clone()),
            (None, TierKind::S3(_)) => ("aws".to_string(), "s3-standard".to_string()),
            (None, _) => (LOCAL_PROVIDER.to_string(), "disk".to_string()),
        };
        let price = self.resolve(&provider, &class).map_err(|why| {
            Error::config(format!("cost.tiers.{}: {why}", tier.name)).with("tier", &tier.name)
        })?;
        Ok((provider, class, price))
    }

    /// Whether reads of `tier` are billed as egress.
    pub fn bills_egress(&self, tier: &TierConfig) -> bool {
        let remote = match self.tiers.get(&tier.name) {
            Some(p) => p.provider != LOCAL_PROVIDER,
            None => matches!(tier.kind, TierKind::S3(_)),
        };
        self.egress && remote
    }
}
