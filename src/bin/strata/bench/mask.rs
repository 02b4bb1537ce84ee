//! `mask`: masking operators over string columns of the mixed table (emails, 16-hex-digit
//! sessions) and TPC-H `l_comment`: values per second, one thread. No baseline in process:
//! `benches/mask_compare.py` times the reference pandas masking.

use std::hint::black_box;

use arrow::array::{Array, ArrayRef};
use arrow::compute::concat;
use strata::mask::{mask_array, MaskOp, MemoryKeys};

use super::data::{mixed, read_all};
use super::measure::{alone, rate};
use super::record::{Record, Side, Spread};
use super::{other, Context};

pub fn run(ctx: &Context) -> strata::Result<Vec<Record>> {
    let table = mixed(ctx.data.mixed_rows(), 13)?;
    let column = |name: &str| -> strata::Result<ArrayRef> {
        table
            .column_by_name(name)
            .cloned()
            .ok_or_else(|| other("mixed table", format!("no column {name}")))
    };
    let lineitem = read_all(&ctx.data.lineitem)?;
    let comments: Vec<&dyn Array> = lineitem
        .iter()
        .filter_map(|b| b.column_by_name("l_comment").map(|c| c.as_ref()))
        .collect();
    let comment = concat(&comments).map_err(|e| other("l_comment", e))?;
    let keys = MemoryKeys::new().with("bench", 1, [0x5Au8; 32])?;
    let op = |json: &str| -> strata::Result<MaskOp> {
        serde_json::from_str(json).map_err(|e| other("mask op", e))
    };
    let cases: Vec<(&str, MaskOp, ArrayRef)> = vec![
        (
            "partial/session",
            op(r#"{"op":"partial","keep_last":4}"#)?,
            column("session")?,
        ),
        (
            "full_mask/session",
            op(r#"{"op":"full_mask"}"#)?,
            column("session")?,
        ),
        ("email/email", op(r#"{"op":"email"}"#)?, column("email")?),
        (
            "hash_hmac/email",
            op(r#"{"op":"hash","key":"bench"}"#)?,
            column("email")?,
        ),
        (
            "redact/l_comment",
            op(r#"{"op":"redact"}"#)?,
            comment.clone(),
        ),
        (
            "partial/l_comment",
            op(r#"{"op":"partial","keep_first":3}"#)?,
            comment,
        ),
    ];
    let mut records = Vec::new();
    for (label, op, array) in cases {
        let id = format!("mask/{label}");
        ctx.progress.case(&id);
        let values = (array.len() - array.null_count()) as f64;
        let secs = alone(&id, ctx.runs, &mut || {
            black_box(mask_array(array.as_ref(), &op, &keys)?);
            Ok(())
        })?;
        records.push(
            Record::new(
                id,
                "values/s",
                true,
                Spread::of(rate(&secs, values, 1.0)),
                Side {
                    name: "strata mask::mask_array".into(),
                    threads: 1,
                    batch_rows: Some(array.len()),
                    io: "an Arrow array in memory".into(),
                    state: "in memory".into(),
                },
            )
            .note(format!(
                "{values} non-null values; no in-process baseline (benches/mask_compare.py: pandas)"
            )),
        );
    }
    Ok(records)
}
