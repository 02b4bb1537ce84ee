//! Row-group pruning by bloom filters: `col = v` and `col IN (...)` skip a row group whose
//! column chunk has a bloom filter that does not contain any of the values.
//!
//! A bloom filter hashes the value's plain Parquet encoding, so a literal is only checked when
//! it maps exactly onto the column's physical type (integers onto INT32/INT64, strings onto
//! BYTE_ARRAY); anything else keeps the row group. Filters that are missing, unreadable or
//! malformed also keep it: pruning may only ever skip rows that cannot match.

use std::collections::HashMap;

use arrow::datatypes::{DataType, Schema};
use parquet::basic::Type as PhysicalType;
use parquet::bloom_filter::Sbbf;
use parquet::file::metadata::ParquetMetaData;

use super::super::expr::{CmpOp, Expr, Literal};

/// Reads the bloom filter of a column chunk: (row group, leaf column) -> filter.
pub(crate) type ReadFilter<'a> = dyn Fn(usize, usize) -> Option<Sbbf> + 'a;

pub(crate) struct BloomPruner<'a> {
    schema: &'a Schema,
    metadata: &'a ParquetMetaData,
    read: &'a ReadFilter<'a>,
    filters: HashMap<(usize, usize), Option<Sbbf>>,
}

impl<'a> BloomPruner<'a> {
    pub(crate) fn new(
        schema: &'a Schema,
        metadata: &'a ParquetMetaData,
        read: &'a ReadFilter<'a>,
    ) -> Self {
        BloomPruner {
            schema,
            metadata,
            read,
            filters: HashMap::new(),
        }
    }

    /// False only when the bloom filters prove that no row of row group `rg` matches `expr`.
    pub(crate) fn may_match(&mut self, rg: usize, expr: &Expr) -> bool {
        match expr {
            Expr::Cmp {
                column,
                op: CmpOp::Eq,
                value,
            } => self.may_contain(rg, column, value),
            Expr::In {
                column,
                values,
                negated: false,
            } => values.iter().any(|v| self.may_contain(rg, column, v)),
            // As deep as the filter, which a scan bounds (Expr::MAX_DEPTH).
            Expr::And(terms) => terms.iter().all(|t| self.may_match(rg, t)),
            Expr::Or(terms) => terms.iter().any(|t| self.may_match(rg, t)),
            _ => true,
        }
    }

    fn may_contain(&mut self, rg: usize, column: &str, value: &Literal) -> bool {
        let Some((leaf, data_type)) = self.leaf(column) else {
            return true;
        };
        let physical = self
            .metadata
            .file_metadata()
            .schema_descr()
            .column(leaf)
            .physical_type();
        let read = self.read;
        let Some(filter) = self
            .filters
            .entry((rg, leaf))
            .or_insert_with(|| read(rg, leaf))
        else {
            return true;
        };
        // A malformed filter (say, an empty bitset) can make the parquet crate index out of
        // bounds; that proves nothing, so the row group is kept.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check(filter, physical, &data_type, value)
        }))
        .unwrap_or(true)
    }

    /// The leaf column index and arrow type of a top-level, non-nested column.
    fn leaf(&self, column: &str) -> Option<(usize, DataType)> {
        let field = self.schema.field_with_name(column).ok()?;
        let descr = self.metadata.file_metadata().schema_descr();
        let leaf = descr.columns().iter().position(|c| {
            let parts = c.path().parts();
            parts.len() == 1 && parts[0] == column
        })?;
        let data_type = match field.data_type() {
            DataType::Dictionary(_, value) => value.as_ref().clone(),
            other => other.clone(),
        };
        Some((leaf, data_type))
    }
}

/// Whether `filter` may contain `value` stored as `physical`; true when the value has no exact
/// plain encoding in that type.
fn check(filter: &Sbbf, physical: PhysicalType, data_type: &DataType, value: &Literal) -> bool {
    use DataType::*;
    match (physical, data_type, value) {
        (PhysicalType::INT32, Int8 | Int16 | Int32, Literal::Int(v)) => match i32::try_from(*v) {
            Ok(v) => filter.check(&v),
            // Out of the column's range: the exact filter decides (it cannot match or errors).
            Err(_) => true,
        },
        // Unsigned 32-bit values are stored as the same bits in an INT32.
        (PhysicalType::INT32, UInt8 | UInt16 | UInt32, Literal::Int(v)) => {
            match u32::try_from(*v) {
                Ok(v) => filter.check(&(v as i32)),
                Err(_) => true,
            }
        }
        (PhysicalType::INT64, Int64, Literal::Int(v)) => filter.check(v),
        (PhysicalType::INT64, UInt64, Literal::Int(v)) => match u64::try_from(*v) {
            Ok(v) => filter.check(&(v as i64)),
            Err(_) => true,
        },
        (PhysicalType::BYTE_ARRAY, Utf8 | LargeUtf8 | Utf8View, Literal::Str(s)) => {
            filter.check(s.as_str())
        }
        _ => true,
    }
}
