//! Pruning from statistics: of row groups by their column-chunk statistics, and of rows
//! within a row group by the page index (per-page min, max and null count); `bloom` adds
//! bloom-filter pruning of row groups for equality.
//!
//! Pruning is only ever conservative: rows are skipped when statistics prove that none of them
//! can satisfy the predicate. Missing or unusable statistics keep the rows, and the exact row
//! filter runs afterwards anyway.

mod bloom;
mod ranges;

pub(crate) use bloom::BloomPruner;
pub(crate) use ranges::RowRanges;

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, BooleanArray, UInt64Array};
use arrow::compute::kernels::boolean;
use arrow::datatypes::Schema;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::file::metadata::ParquetMetaData;

use super::eval::{compare, nulls_true, starts_with};
use super::expr::{CmpOp, Expr, Literal};
use super::in_list::InSet;
use crate::error::Result;

/// What one pruner prunes: whole row groups of the file, or the pages of one row group.
#[derive(Debug, Clone, Copy)]
enum Level {
    RowGroups,
    Pages(usize),
    /// Units whose statistics the caller gave (the files of a table).
    Given,
}

/// One column's statistics over its units (row groups, or pages), with the unit boundaries.
struct ColumnStats {
    mins: ArrayRef,
    maxes: ArrayRef,
    null_counts: UInt64Array,
    /// For a floating-point column: per unit, whether it is known to hold no NaN (`None`:
    /// unknown for every unit).
    nan_free: Option<BooleanArray>,
    /// First row of each unit, relative to the rows being pruned.
    starts: Vec<u64>,
}

impl ColumnStats {
    fn len(&self) -> usize {
        self.starts.len()
    }

    fn rows(&self, i: usize, total: u64) -> u64 {
        let end = self.starts.get(i + 1).copied().unwrap_or(total);
        end.saturating_sub(self.starts[i])
    }
}

/// One column's statistics over units the caller defines (a table's files): one min, max and
/// null count per unit, null where unknown.
#[derive(Debug, Clone)]
pub struct UnitStats {
    /// The column's smallest value in each unit.
    pub mins: ArrayRef,
    /// Its largest value in each unit.
    pub maxes: ArrayRef,
    /// Its nulls in each unit.
    pub null_counts: UInt64Array,
    /// For a floating-point column, whether each unit is known to hold no NaN (`None`, or a
    /// null or false value: it may). Statistics leave NaN out, so only a unit known to hold
    /// none can be skipped by a lower bound (`x > 10`).
    pub nan_free: Option<BooleanArray>,
}

/// Key-value metadata of a Parquet file strata wrote: its floating-point columns' NaN counts,
/// as a JSON object (`{"fare": 0}`), which lets a lower bound prune their row groups and pages.
pub const NAN_COUNTS_KEY: &str = "strata.nan_counts";

/// Whether the file's footer says `column` holds no NaN ([`NAN_COUNTS_KEY`]).
fn footer_nan_free(metadata: &ParquetMetaData, column: &str) -> bool {
    metadata
        .file_metadata()
        .key_value_metadata()
        .and_then(|kvs| kvs.iter().find(|kv| kv.key == NAN_COUNTS_KEY))
        .and_then(|kv| kv.value.as_deref())
        .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        .and_then(|counts| counts.get(column)?.as_u64())
        == Some(0)
}

pub(crate) struct Pruner<'a> {
    schema: &'a Schema,
    metadata: Option<&'a ParquetMetaData>,
    level: Level,
    /// Rows being pruned: the file's, or the row group's.
    total: u64,
    cache: HashMap<String, Option<ColumnStats>>,
}

impl<'a> Pruner<'a> {
    /// A pruner of the file's row groups.
    pub(crate) fn row_groups(schema: &'a Schema, metadata: &'a ParquetMetaData) -> Self {
        let total = metadata
            .row_groups()
            .iter()
            .map(|rg| u64::try_from(rg.num_rows()).unwrap_or(0))
            .sum();
        Pruner {
            schema,
            metadata: Some(metadata),
            level: Level::RowGroups,
            total,
            cache: HashMap::new(),
        }
    }

    /// A pruner of units the caller describes: `rows` per unit, and per column the statistics
    /// over them (each array as long as `rows`; a column shaped otherwise is ignored).
    pub(crate) fn given(schema: &'a Schema, rows: &[u64], columns: &[(String, UnitStats)]) -> Self {
        let mut starts = Vec::with_capacity(rows.len());
        let mut at = 0u64;
        for n in rows {
            starts.push(at);
            at += n;
        }
        let mut cache = HashMap::new();
        for (name, stats) in columns {
            let n = rows.len();
            let shaped =
                stats.mins.len() == n && stats.maxes.len() == n && stats.null_counts.len() == n;
            cache.insert(
                name.clone(),
                shaped.then(|| ColumnStats {
                    mins: stats.mins.clone(),
                    maxes: stats.maxes.clone(),
                    null_counts: stats.null_counts.clone(),
                    nan_free: stats.nan_free.clone().filter(|f| f.len() == n),
                    starts: starts.clone(),
                }),
            );
        }
        Pruner {
            schema,
            metadata: None,
            level: Level::Given,
            total: at,
            cache,
        }
    }

    /// Which of the given units (see [`Pruner::given`], `rows` per unit) may hold a matching
    /// row; a unit of no rows is kept (its count may just be unknown).
    pub(crate) fn keep_units(&mut self, expr: &Expr, rows: &[u64]) -> Result<Vec<bool>> {
        let matching = self.may_match(expr)?;
        let mut at = 0u64;
        Ok(rows
            .iter()
            .map(|&n| {
                let range = at..at + n;
                at += n;
                n == 0 || matching.overlaps(&range)
            })
            .collect())
    }

    /// A pruner of the pages of row group `rg`, or `None` when the file has no page index.
    pub(crate) fn pages(
        schema: &'a Schema,
        metadata: &'a ParquetMetaData,
        rg: usize,
    ) -> Option<Self> {
        // Both indexes must be present and shaped like the row groups and columns: a file
        // that lies about them must not make the statistics converter index out of bounds.
        let columns = metadata.file_metadata().schema_descr().num_columns();
        let (ci, oi) = (metadata.column_index()?, metadata.offset_index()?);
        let shaped = |n: usize| n == metadata.num_row_groups();
        if !shaped(ci.len()) || !shaped(oi.len()) {
            return None;
        }
        if ci[rg].len() != columns || oi[rg].len() != columns {
            return None;
        }
        let total = u64::try_from(metadata.row_group(rg).num_rows()).ok()?;
        Some(Pruner {
            schema,
            metadata: Some(metadata),
            level: Level::Pages(rg),
            total,
            cache: HashMap::new(),
        })
    }

    /// `None` when the column has no usable statistics (not in the file, nested, or a type the
    /// converter does not handle): the caller then keeps every row.
    fn stats(&mut self, column: &str) -> Option<&ColumnStats> {
        if !self.cache.contains_key(column) {
            let built = self.build(column);
            self.cache.insert(column.to_string(), built);
        }
        self.cache.get(column).and_then(Option::as_ref)
    }

    fn build(&self, column: &str) -> Option<ColumnStats> {
        let metadata = self.metadata?;
        let converter = StatisticsConverter::try_new(
            column,
            self.schema,
            metadata.file_metadata().schema_descr(),
        )
        .ok()?;
        let groups = metadata.row_groups();
        let stats = match self.level {
            Level::RowGroups => {
                let mut starts = Vec::with_capacity(groups.len());
                let mut at = 0u64;
                for rg in groups {
                    starts.push(at);
                    at += u64::try_from(rg.num_rows()).unwrap_or(0);
                }
                ColumnStats {
                    mins: converter.row_group_mins(groups.iter()).ok()?,
                    maxes: converter.row_group_maxes(groups.iter()).ok()?,
                    null_counts: converter.row_group_null_counts(groups.iter()).ok()?,
                    nan_free: None,
                    starts,
                }
            }
            Level::Pages(rg) => {
                let (ci, oi) = (metadata.column_index()?, metadata.offset_index()?);
                let leaf = converter.parquet_column_index()?;
                let locations = oi[rg][leaf].page_locations();
                let starts: Vec<u64> = locations
                    .iter()
                    .map(|p| u64::try_from(p.first_row_index).ok())
                    .collect::<Option<_>>()?;
                // Page starts must begin at 0 and ascend, or the ranges would be nonsense.
                if starts.first() != Some(&0) || starts.windows(2).any(|w| w[0] > w[1]) {
                    return None;
                }
                let index = [rg];
                ColumnStats {
                    mins: converter.data_page_mins(ci, oi, index.iter()).ok()?,
                    maxes: converter.data_page_maxes(ci, oi, index.iter()).ok()?,
                    null_counts: converter.data_page_null_counts(ci, oi, index.iter()).ok()?,
                    nan_free: None,
                    starts,
                }
            }
            // Every given column is in the cache already; others have no statistics.
            Level::Given => return None,
        };
        let n = stats.len();
        let shaped =
            stats.mins.len() == n && stats.maxes.len() == n && stats.null_counts.len() == n;
        let mut stats = shaped.then_some(stats)?;
        // A file that counted no NaN in the column has none in any of its units.
        if stats.mins.data_type().is_floating() && footer_nan_free(metadata, column) {
            stats.nan_free = Some(BooleanArray::from(vec![true; n]));
        }
        Some(stats)
    }

    /// Which row groups may hold a matching row.
    pub(crate) fn keep(&mut self, expr: &Expr) -> Result<Vec<bool>> {
        let rows = self.may_match(expr)?;
        let Some(metadata) = self.metadata else {
            return Ok(Vec::new());
        };
        let mut at = 0u64;
        Ok(metadata
            .row_groups()
            .iter()
            .map(|rg| {
                let n = u64::try_from(rg.num_rows()).unwrap_or(0);
                let range = at..at + n;
                at += n;
                // An empty row group has nothing to read either way.
                n > 0 && rows.overlaps(&range)
            })
            .collect())
    }

    /// The rows that may match, relative to the start of what this pruner covers.
    pub(crate) fn select(&mut self, expr: &Expr) -> Result<RowRanges> {
        self.may_match(expr)
    }

    fn all(&self) -> RowRanges {
        RowRanges::all(self.total)
    }

    /// Rows of the units of `column` where `mask` (one value per unit) is true or null.
    fn rows_of(&mut self, column: &str, mask: BooleanArray) -> RowRanges {
        let total = self.total;
        match self.stats(column) {
            Some(s) => RowRanges::from_units(&mask, &s.starts, total),
            None => RowRanges::all(total),
        }
    }

    fn may_match(&mut self, expr: &Expr) -> Result<RowRanges> {
        Ok(match expr {
            Expr::Cmp { column, op, value } => self.cmp(column, *op, value)?,
            Expr::In {
                column,
                values,
                negated,
            } => self.in_list(column, values, *negated)?,
            Expr::IsNull { column, negated } => {
                let total = self.total;
                let Some(s) = self.stats(column) else {
                    return Ok(self.all());
                };
                let mask: BooleanArray = (0..s.len())
                    .map(|i| {
                        if s.null_counts.is_null(i) {
                            return Some(true);
                        }
                        let nulls = s.null_counts.value(i);
                        Some(if *negated {
                            nulls < s.rows(i, total)
                        } else {
                            nulls > 0
                        })
                    })
                    .collect();
                self.rows_of(column, mask)
            }
            Expr::StartsWith { column, prefix } => self.prefix(column, prefix)?,
            // Recursion is as deep as the filter, which a scan bounds (Expr::MAX_DEPTH); long
            // AND and OR chains are one node, walked in a loop.
            Expr::And(terms) => {
                let mut rows = self.all();
                for term in terms {
                    rows = rows.intersect(&self.may_match(term)?);
                }
                rows
            }
            Expr::Or(terms) => {
                let mut rows = RowRanges::all(0);
                for term in terms {
                    rows = rows.union(&self.may_match(term)?);
                }
                rows
            }
            Expr::Not(inner) => match negate(inner) {
                Some(pushed) => self.may_match(&pushed)?,
                None => self.all(),
            },
        })
    }

    fn cmp(&mut self, column: &str, op: CmpOp, value: &Literal) -> Result<RowRanges> {
        let Some(s) = self.stats(column) else {
            return Ok(self.all());
        };
        // Parquet statistics leave NaN out, while arrow orders NaN above every number: a unit
        // whose max is 5 may still hold NaN rows that `x > 10` or `x != 5` keep. Only units
        // known to hold no NaN are pruned by such a bound.
        let may_hide_nan = (s.mins.data_type().is_floating()
            && matches!(op, CmpOp::Gt | CmpOp::GtEq | CmpOp::NotEq))
        .then(|| s.nan_free.as_ref().map(not_known_true));
        let may_hide_nan = match may_hide_nan {
            None => None,
            Some(None) => return Ok(self.all()),
            Some(Some(mask)) => Some(mask),
        };
        // A literal that cannot be cast to the column type is reported by the exact filter.
        let keep = |r: Result<BooleanArray>| r.map(|m| nulls_true(&m)).ok();
        let mask = match op {
            CmpOp::Eq => keep(compare(column, &s.mins, CmpOp::LtEq, value)).and_then(|lo| {
                keep(compare(column, &s.maxes, CmpOp::GtEq, value)).map(|hi| and(&lo, &hi))
            }),
            CmpOp::NotEq => keep(compare(column, &s.mins, CmpOp::NotEq, value)).and_then(|lo| {
                keep(compare(column, &s.maxes, CmpOp::NotEq, value)).map(|hi| or(&lo, &hi))
            }),
            CmpOp::Lt | CmpOp::LtEq => keep(compare(column, &s.mins, op, value)),
            CmpOp::Gt | CmpOp::GtEq => keep(compare(column, &s.maxes, op, value)),
        };
        let mask = match (mask, may_hide_nan) {
            (Some(mask), Some(nan)) => Some(or(&mask, &nan)),
            (mask, _) => mask,
        };
        Ok(match mask {
            Some(mask) => self.rows_of(column, mask),
            None => self.all(),
        })
    }

    /// `column [NOT] IN (values)`: through a sorted set of the values (see `in_list`), else
    /// value by value when the type has no row format.
    fn in_list(&mut self, column: &str, values: &[Literal], negated: bool) -> Result<RowRanges> {
        let Some(s) = self.stats(column) else {
            return Ok(self.all());
        };
        // As for `!=`: a unit whose statistics leave NaN out may hold rows NOT IN keeps.
        if negated && s.mins.data_type().is_floating() && s.nan_free.is_none() {
            return Ok(self.all());
        }
        let may_hide_nan = (negated && s.mins.data_type().is_floating())
            .then(|| s.nan_free.as_ref().map(not_known_true))
            .flatten();
        // A literal that cannot be cast to the column type is reported by the exact filter.
        let mask = InSet::new(column, s.mins.data_type(), values)
            .ok()
            .flatten()
            .and_then(|set| {
                if negated {
                    let covered = set.only_candidates(column, &s.mins, &s.maxes).ok()?;
                    boolean::not(&covered).ok()
                } else {
                    set.within(column, &s.mins, &s.maxes).ok()
                }
            });
        if let Some(mask) = mask {
            let mask = match &may_hide_nan {
                Some(nan) => or(&mask, nan),
                None => mask,
            };
            return Ok(self.rows_of(column, mask));
        }
        let mut rows = if negated {
            self.all()
        } else {
            RowRanges::all(0)
        };
        for v in values {
            rows = if negated {
                rows.intersect(&self.cmp(column, CmpOp::NotEq, v)?)
            } else {
                rows.union(&self.cmp(column, CmpOp::Eq, v)?)
            };
        }
        Ok(rows)
    }

    fn prefix(&mut self, column: &str, prefix: &str) -> Result<RowRanges> {
        let Some(s) = self.stats(column) else {
            return Ok(self.all());
        };
        let lit = Literal::Str(prefix.to_string());
        // Every string starting with `prefix` is >= prefix, so max < prefix rules it out; and a
        // min above the prefix that does not itself start with it is above all such strings.
        let parts = (|| -> Result<BooleanArray> {
            let max_ok = nulls_true(&compare(column, &s.maxes, CmpOp::GtEq, &lit)?);
            let min_le = nulls_true(&compare(column, &s.mins, CmpOp::LtEq, &lit)?);
            let min_prefixed = nulls_true(&starts_with(column, &s.mins, prefix)?);
            Ok(and(&max_ok, &or(&min_le, &min_prefixed)))
        })();
        Ok(match parts {
            Ok(mask) => self.rows_of(column, mask),
            Err(_) => self.all(),
        })
    }
}

/// `NOT expr` rewritten without the `NOT`, where SQL's three-valued logic allows it.
fn negate(expr: &Expr) -> Option<Expr> {
    Some(match expr {
        Expr::Cmp { column, op, value } => Expr::cmp(column.clone(), op.negate(), value.clone()),
        Expr::In {
            column,
            values,
            negated,
        } => Expr::In {
            column: column.clone(),
            values: values.clone(),
            negated: !negated,
        },
        Expr::IsNull { column, negated } => Expr::IsNull {
            column: column.clone(),
            negated: !negated,
        },
        Expr::And(terms) => Expr::Or(terms.iter().map(|t| t.clone().not()).collect()),
        Expr::Or(terms) => Expr::And(terms.iter().map(|t| t.clone().not()).collect()),
        Expr::Not(a) => a.as_ref().clone(),
        Expr::StartsWith { .. } => return None,
    })
}

// Inputs here never hold nulls and always share a length, so the kernels cannot fail; a
// failure would keep everything, which is always safe for pruning.
/// True where `known` is not true (false or null): per unit, "may hold NaN".
fn not_known_true(known: &BooleanArray) -> BooleanArray {
    known.iter().map(|v| Some(v != Some(true))).collect()
}

fn and(a: &BooleanArray, b: &BooleanArray) -> BooleanArray {
    boolean::and(a, b).unwrap_or_else(|_| BooleanArray::from(vec![true; a.len()]))
}

fn or(a: &BooleanArray, b: &BooleanArray) -> BooleanArray {
    boolean::or(a, b).unwrap_or_else(|_| BooleanArray::from(vec![true; a.len()]))
}
