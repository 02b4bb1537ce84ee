//! Row-group pruning from column-chunk statistics (min, max, null count).
//!
//! Pruning is only ever conservative: a row group is skipped when its statistics prove that no
//! row in it can satisfy the predicate. Missing or unusable statistics keep the row group, and
//! the exact row filter runs afterwards anyway.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, BooleanArray, UInt64Array};
use arrow::compute::kernels::boolean;
use arrow::datatypes::Schema;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::file::metadata::ParquetMetaData;

use super::eval::{compare, nulls_true, starts_with};
use super::expr::{CmpOp, Expr, Literal};
use crate::error::Result;

/// Per-column statistics arrays, one entry per row group.
struct ColumnStats {
    mins: ArrayRef,
    maxes: ArrayRef,
    null_counts: UInt64Array,
}

pub(crate) struct Pruner<'a> {
    schema: &'a Schema,
    metadata: &'a ParquetMetaData,
    row_counts: UInt64Array,
    cache: HashMap<String, Option<ColumnStats>>,
}

impl<'a> Pruner<'a> {
    pub(crate) fn new(schema: &'a Schema, metadata: &'a ParquetMetaData) -> Self {
        let row_counts = metadata
            .row_groups()
            .iter()
            .map(|rg| Some(u64::try_from(rg.num_rows()).unwrap_or(0)))
            .collect();
        Pruner {
            schema,
            metadata,
            row_counts,
            cache: HashMap::new(),
        }
    }

    fn len(&self) -> usize {
        self.metadata.num_row_groups()
    }

    fn all(&self, value: bool) -> BooleanArray {
        BooleanArray::from(vec![value; self.len()])
    }

    /// `None` when the column has no usable statistics (not in the file, nested, or a type the
    /// converter does not handle): the caller then keeps every row group.
    fn stats(&mut self, column: &str) -> Option<&ColumnStats> {
        if !self.cache.contains_key(column) {
            let built = self.build(column);
            self.cache.insert(column.to_string(), built);
        }
        self.cache.get(column).and_then(Option::as_ref)
    }

    fn build(&self, column: &str) -> Option<ColumnStats> {
        let converter = StatisticsConverter::try_new(
            column,
            self.schema,
            self.metadata.file_metadata().schema_descr(),
        )
        .ok()?;
        let groups = self.metadata.row_groups();
        Some(ColumnStats {
            mins: converter.row_group_mins(groups.iter()).ok()?,
            maxes: converter.row_group_maxes(groups.iter()).ok()?,
            null_counts: converter.row_group_null_counts(groups.iter()).ok()?,
        })
    }

    /// Which row groups may hold a matching row.
    pub(crate) fn keep(&mut self, expr: &Expr) -> Result<Vec<bool>> {
        let mask = self.may_match(expr)?;
        Ok((0..mask.len()).map(|i| mask.value(i)).collect())
    }

    /// A mask without nulls: true where a row group may match.
    fn may_match(&mut self, expr: &Expr) -> Result<BooleanArray> {
        let mask = match expr {
            Expr::Cmp { column, op, value } => self.cmp(column, *op, value)?,
            Expr::In {
                column,
                values,
                negated: false,
            } => {
                let mut any = self.all(false);
                for v in values {
                    any = or(&any, &self.cmp(column, CmpOp::Eq, v)?);
                }
                any
            }
            Expr::In {
                column,
                values,
                negated: true,
            } => {
                let mut every = self.all(true);
                for v in values {
                    every = and(&every, &self.cmp(column, CmpOp::NotEq, v)?);
                }
                every
            }
            Expr::IsNull { column, negated } => {
                let len = self.len();
                let row_counts = self.row_counts.clone();
                match self.stats(column) {
                    None => BooleanArray::from(vec![true; len]),
                    Some(s) => (0..len)
                        .map(|i| {
                            if s.null_counts.is_null(i) {
                                return Some(true);
                            }
                            let nulls = s.null_counts.value(i);
                            Some(if *negated {
                                nulls < row_counts.value(i)
                            } else {
                                nulls > 0
                            })
                        })
                        .collect(),
                }
            }
            Expr::StartsWith { column, prefix } => self.prefix(column, prefix)?,
            Expr::And(a, b) => and(&self.may_match(a)?, &self.may_match(b)?),
            Expr::Or(a, b) => or(&self.may_match(a)?, &self.may_match(b)?),
            Expr::Not(inner) => match negate(inner) {
                Some(pushed) => self.may_match(&pushed)?,
                None => self.all(true),
            },
        };
        Ok(nulls_true(&mask))
    }

    fn cmp(&mut self, column: &str, op: CmpOp, value: &Literal) -> Result<BooleanArray> {
        let len = self.len();
        let Some(s) = self.stats(column) else {
            return Ok(BooleanArray::from(vec![true; len]));
        };
        // Parquet statistics leave NaN out, while arrow orders NaN above every number: a row
        // group whose max is 5 may still hold NaN rows that `x > 10` or `x != 5` keep.
        if s.mins.data_type().is_floating() && matches!(op, CmpOp::Gt | CmpOp::GtEq | CmpOp::NotEq)
        {
            return Ok(BooleanArray::from(vec![true; len]));
        }
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
        Ok(mask.unwrap_or_else(|| BooleanArray::from(vec![true; len])))
    }

    fn prefix(&mut self, column: &str, prefix: &str) -> Result<BooleanArray> {
        let len = self.len();
        let Some(s) = self.stats(column) else {
            return Ok(BooleanArray::from(vec![true; len]));
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
        Ok(parts.unwrap_or_else(|_| BooleanArray::from(vec![true; len])))
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
        Expr::And(a, b) => Expr::Or(Box::new(a.clone().not()), Box::new(b.clone().not())),
        Expr::Or(a, b) => Expr::And(Box::new(a.clone().not()), Box::new(b.clone().not())),
        Expr::Not(a) => a.as_ref().clone(),
        Expr::StartsWith { .. } => return None,
    })
}

// Inputs here never hold nulls and always share a length, so the kernels cannot fail; a
// failure would keep everything, which is always safe for pruning.
fn and(a: &BooleanArray, b: &BooleanArray) -> BooleanArray {
    boolean::and(a, b).unwrap_or_else(|_| BooleanArray::from(vec![true; a.len()]))
}

fn or(a: &BooleanArray, b: &BooleanArray) -> BooleanArray {
    boolean::or(a, b).unwrap_or_else(|_| BooleanArray::from(vec![true; a.len()]))
}
