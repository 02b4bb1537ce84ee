//! `overwrite --where` (Delta's replaceWhere): the rows matching a predicate are replaced by
//! new rows that all match it, in one commit. Files with no matching row stay; files whose
//! rows all match are removed; a file with some matching rows is removed and its other rows
//! are written again as a new file.

use arrow::array::{BooleanArray, RecordBatch};

use crate::error::{Error, Result};
use crate::read::{evaluate_filter, Expr, Scan};

/// The rows of `batch` where `predicate` is not true (false or null): what a replaceWhere
/// keeps of an existing file.
pub(crate) fn keep_unmatched(predicate: &Expr, batch: &RecordBatch) -> Result<RecordBatch> {
    let matched = evaluate_filter(predicate, batch)?;
    let keep: BooleanArray = matched.iter().map(|v| Some(v != Some(true))).collect();
    arrow::compute::filter_record_batch(batch, &keep)
        .map_err(|e| Error::internal(format!("cannot filter rows: {e}")))
}

/// Checks that every row of `batches` matches `predicate`: replaceWhere may only write rows it
/// replaces, or a later replace of the same predicate would not see them as its own.
pub(crate) fn check_all_match(predicate: &Expr, text: &str, batches: &[RecordBatch]) -> Result<()> {
    for batch in batches {
        let matched = evaluate_filter(predicate, batch)?;
        let outside = matched.iter().filter(|v| *v != Some(true)).count();
        if outside > 0 {
            return Err(Error::invalid(format!(
                "{outside} of the new rows do not match --where {text:?}; replaceWhere writes only \
                 rows of the part it replaces, and nothing was written"
            )));
        }
    }
    Ok(())
}

/// What a file holds with respect to the predicate.
pub(crate) enum Matches {
    /// No row matches: the file stays.
    None,
    /// Every row matches: the file goes.
    All,
    /// Some rows match: the file goes and these (the others) are written again.
    Some(Vec<RecordBatch>),
}

/// Reads the one file `scan` reads (with its partition values) and sorts it into [`Matches`].
pub(crate) fn classify(predicate: &Expr, scan: Scan) -> Result<Matches> {
    let out = scan.run()?;
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut kept_rows = 0usize;
    for batch in &out.batches {
        total += batch.num_rows();
        let rest = keep_unmatched(predicate, batch)?;
        kept_rows += rest.num_rows();
        if rest.num_rows() > 0 {
            kept.push(rest);
        }
    }
    Ok(if kept_rows == total {
        Matches::None
    } else if kept_rows == 0 {
        Matches::All
    } else {
        Matches::Some(kept)
    })
}
