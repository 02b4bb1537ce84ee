//! `Lake::cost_report` and `Lake::tier_cost_change`: what the lake costs a month, per tier and
//! per zone (objects by the first segment of their keys) and table, from the bytes each tier
//! really holds (the tier index; tables' files) and the requests counted per tier, at the
//! `[cost]` prices.

use std::collections::BTreeMap;
use std::path::Path;

use super::Lake;
use crate::config::{Action, Price};
use crate::error::{Error, Result};
use crate::governance::Resource;
use crate::store::cost::{
    monthly, per_month, storage_monthly, transfer, CostChange, CostReport, MonthlyCost, TableCost,
    TierCost, Usage, ZoneCost,
};
use crate::store::{ActionKind, TablesAt, TierAction};
use futures::TryStreamExt;

impl Lake {
    /// The monthly cost of the lake at the `[cost]` prices: per tier (storage of the bytes it
    /// holds, requests and retrieval and egress of the reads counted), per zone and per table.
    pub fn cost_report(&self) -> Result<CostReport> {
        self.governed(
            "cost",
            Action::Read,
            Resource::Lake,
            || self.cost_report_unchecked(),
            |_| None,
        )
    }

    /// How the tier actions `plan` (from [`Lake::plan_tiers`] or a dry run of
    /// [`Lake::run_tiers`]) change the monthly bill, and what the moves cost once.
    pub fn tier_cost_change(&self, plan: &[TierAction]) -> Result<CostChange> {
        // Prices a plan the caller already holds and reads nothing stored: no check, so that
        // whoever may plan a tier run sees its cost.
        let prices = self.tier_prices()?;
        let price = |tier: &str| prices.get(tier).map(|(p, _)| *p);
        let mut change = CostChange::default();
        for action in plan {
            let Some(from) = price(&action.from) else {
                continue;
            };
            match (&action.action, action.to.as_deref().and_then(price)) {
                (ActionKind::Demote | ActionKind::Promote | ActionKind::ResumeMove, Some(to)) => {
                    let egress = prices.get(&action.from).is_some_and(|(_, e)| *e);
                    change.monthly +=
                        storage_monthly(&to, action.size) - storage_monthly(&from, action.size);
                    change.one_off += transfer(&from, &to, action.size, egress);
                    change.moves += 1;
                }
                (ActionKind::Expire, _) => {
                    change.monthly -= storage_monthly(&from, action.size);
                    change.deletes += 1;
                }
                _ => {}
            }
        }
        Ok(change)
    }

    /// Each tier's price and whether its reads are billed as egress.
    fn tier_prices(&self) -> Result<BTreeMap<String, (Price, bool)>> {
        let config = self.config();
        config
            .tiers
            .iter()
            .map(|t| {
                let (_, _, price) = config.cost.price_of(t)?;
                Ok((t.name.clone(), (price, config.cost.bills_egress(t))))
            })
            .collect()
    }

    fn cost_report_unchecked(&self) -> Result<CostReport> {
        let config = self.config();
        let mut tiers: Vec<TierCost> = Vec::new();
        for t in &config.tiers {
            let (provider, class, price) = config.cost.price_of(t)?;
            tiers.push(TierCost {
                tier: t.name.clone(),
                provider,
                class,
                price,
                objects: 0,
                object_bytes: 0,
                table_bytes: 0,
                reads: 0,
                writes: 0,
                read_bytes: 0,
                monthly: MonthlyCost::default(),
            });
        }
        let mut zones: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for object in self.store.list("")? {
            if let Some(tier) = tiers.iter_mut().find(|t| t.tier == object.tier) {
                tier.objects += 1;
                tier.object_bytes += object.stored_size;
            }
            let zone = match object.key.split_once('/') {
                Some((zone, _)) => zone.to_string(),
                None => String::new(),
            };
            let entry = zones.entry((zone, object.tier)).or_default();
            entry.0 += 1;
            entry.1 += object.stored_size;
        }
        let mut tables = Vec::new();
        for tier in &mut tiers {
            for (table, (files, bytes)) in self.table_sizes(&tier.tier)? {
                tier.table_bytes += bytes;
                tables.push(TableCost {
                    table,
                    tier: tier.tier.clone(),
                    files,
                    bytes,
                    monthly_storage: storage_monthly(&tier.price, bytes),
                });
            }
        }
        let (since_ms, counts) = self.store.request_counts()?;
        let window_ms = crate::clock::now_ms().saturating_sub(since_ms);
        let mut total = MonthlyCost::default();
        for (tier, t) in tiers.iter_mut().zip(&config.tiers) {
            let c = counts.get(&tier.tier).copied().unwrap_or_default();
            (tier.reads, tier.writes, tier.read_bytes) = (c.reads, c.writes, c.read_bytes);
            let usage = Usage {
                stored_bytes: tier.object_bytes + tier.table_bytes,
                reads: per_month(c.reads, window_ms),
                writes: per_month(c.writes, window_ms),
                read_bytes: per_month(c.read_bytes, window_ms),
                egress: config.cost.bills_egress(t),
            };
            tier.monthly = monthly(&tier.price, &usage);
            total = total.plus(tier.monthly);
        }
        let zones = zones
            .into_iter()
            .map(|((zone, tier), (objects, bytes))| {
                let price = tiers
                    .iter()
                    .find(|t| t.tier == tier)
                    .map(|t| t.price)
                    .unwrap_or_default();
                ZoneCost {
                    zone,
                    tier,
                    objects,
                    bytes,
                    monthly_storage: storage_monthly(&price, bytes),
                }
            })
            .collect();
        Ok(CostReport {
            prices_as_of: config.cost.prices_as_of().to_string(),
            currency: "USD".into(),
            request_window_ms: window_ms,
            tiers,
            zones,
            tables,
            total,
        })
    }

    /// Files and bytes per table (`zone/name`) that tier `tier` holds.
    fn table_sizes(&self, tier: &str) -> Result<BTreeMap<String, (u64, u64)>> {
        let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut add = |parts: &[&str], size: u64| {
            let table = match parts {
                [zone, ..] if zone.starts_with('_') || zone.starts_with('.') => zone.to_string(),
                [zone, name, _, ..] => format!("{zone}/{name}"),
                _ => return,
            };
            let entry = out.entry(table).or_default();
            entry.0 += 1;
            entry.1 += size;
        };
        match self.store.tables_at(tier) {
            None => {}
            Some(TablesAt::Dir(root)) => {
                for (rel, size) in files_under(&root)? {
                    let parts: Vec<&str> = rel.split('/').collect();
                    add(&parts, size);
                }
            }
            Some(TablesAt::Objects { store, prefix, .. }) => {
                let metas: Vec<_> = self
                    .store
                    .io_handle()?
                    .block_on(store.list(Some(&prefix)).try_collect())
                    .map_err(|e| Error::from(e).with("tier", tier))?;
                for meta in metas {
                    if let Some(rest) = meta.location.prefix_match(&prefix) {
                        let rest: Vec<String> = rest.map(|p| p.as_ref().to_string()).collect();
                        let parts: Vec<&str> = rest.iter().map(String::as_str).collect();
                        add(&parts, meta.size);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Every regular file under `root` (links not followed): path relative to it, and size.
fn files_under(root: &Path) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    let mut todo = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = todo.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("cannot list tables", &dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot list tables", &dir, e))?;
            let name = entry.file_name().to_string_lossy().to_string();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry
                .file_type()
                .map_err(|e| Error::io("cannot list tables", &entry.path(), e))?;
            if kind.is_dir() {
                todo.push((entry.path(), path));
            } else if kind.is_file() {
                let size = entry
                    .metadata()
                    .map_err(|e| Error::io("cannot list tables", &entry.path(), e))?
                    .len();
                out.push((path, size));
            }
        }
    }
    Ok(out)
}
