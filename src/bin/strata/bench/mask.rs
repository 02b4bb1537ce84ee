//! `mask`: masking operators over string columns of the mixed table (emails, 16-hex-digit
//! sessions) and TPC-H `l_comment`: values per second, on 1 and N threads (strata's text
//! kernels share 32,768-row chunks over the rayon pool they run in). The baseline
//! (mask_baseline.rs) is each operator written value by value as a user without strata
//! would, run on the same array in a pool of the same size, alternately with strata's;
//! before timing, both outputs are checked equal. `benches/mask_compare.py` times pandas
//! outside the binary.

use std::hint::black_box;

use arrow::array::{Array, ArrayRef};
use arrow::compute::{cast, concat};
use arrow::datatypes::DataType;
use strata::mask::{mask_array, MaskOp, MemoryKeys};

use super::data::{mixed, read_all};
use super::mask_baseline::{self as baseline, Op, CHUNK_ROWS};
use super::measure::{pair, rate};
use super::record::{Record, Side, Spread};
use super::{other, Context};

const KEY: [u8; 32] = [0x5A; 32];

/// Both outputs as plain strings, equal or an error naming the case.
fn same_output(id: &str, ours: &ArrayRef, theirs: &ArrayRef) -> strata::Result<()> {
    let plain = |a: &ArrayRef| cast(a, &DataType::Utf8).map_err(|e| other(id, e));
    let (a, b) = (plain(ours)?, plain(theirs)?);
    if a.as_ref() != b.as_ref() {
        return Err(other(
            id,
            "strata's output and the baseline's differ: not the same work",
        ));
    }
    Ok(())
}

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
    let keys = MemoryKeys::new().with("bench", 1, KEY)?;
    let op = |json: &str| -> strata::Result<MaskOp> {
        serde_json::from_str(json).map_err(|e| other("mask op", e))
    };
    let hmac = || Op::HmacSha256 {
        key: KEY.to_vec(),
        tag: "benchv1".into(),
    };
    let cases: Vec<(&str, MaskOp, Op, ArrayRef)> = vec![
        (
            "partial/session",
            op(r#"{"op":"partial","keep_last":4}"#)?,
            Op::Partial {
                keep_first: 0,
                keep_last: 4,
            },
            column("session")?,
        ),
        (
            "full_mask/session",
            op(r#"{"op":"full_mask"}"#)?,
            Op::FullMask,
            column("session")?,
        ),
        (
            "email/email",
            op(r#"{"op":"email"}"#)?,
            Op::Email { keep_first: 1 },
            column("email")?,
        ),
        (
            "hash_hmac/email",
            op(r#"{"op":"hash","key":"bench"}"#)?,
            hmac(),
            column("email")?,
        ),
        (
            "redact/l_comment",
            op(r#"{"op":"redact"}"#)?,
            Op::Redact,
            comment.clone(),
        ),
        (
            "partial/l_comment",
            op(r#"{"op":"partial","keep_first":3}"#)?,
            Op::Partial {
                keep_first: 3,
                keep_last: 0,
            },
            comment,
        ),
    ];
    let mut records = Vec::new();
    for (label, op, by_hand, array) in cases {
        let values = (array.len() - array.null_count()) as f64;
        let ours = mask_array(array.as_ref(), &op, &keys)?;
        let theirs = baseline::mask(array.as_ref(), &by_hand)?;
        same_output(&format!("mask/{label}"), &ours, &theirs)?;
        for threads in ctx.thread_counts() {
            let id = format!("mask/{label}/threads={threads}");
            ctx.progress.case(&id);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| other("thread pool", e))?;
            let (ours, theirs) = pair(
                &id,
                ctx.runs,
                &mut || {
                    pool.install(|| mask_array(array.as_ref(), &op, &keys))
                        .map(|a| drop(black_box(a)))
                },
                &mut || {
                    pool.install(|| baseline::mask(array.as_ref(), &by_hand))
                        .map(|a| drop(black_box(a)))
                },
            )?;
            let side = |name: &str| Side {
                name: name.into(),
                threads,
                batch_rows: Some(array.len()),
                io: "an Arrow array in memory".into(),
                state: "in memory, the same array every run".into(),
            };
            records.push(
                Record::new(
                    id,
                    "values/s",
                    true,
                    Spread::of(rate(&ours, values, 1.0)),
                    side("strata mask::mask_array"),
                )
                .against(
                    side(&format!(
                        "value by value, a String per value: {}; into an Arrow string \
                         builder, {CHUNK_ROWS}-row chunks over the pool",
                        by_hand.describe()
                    )),
                    Spread::of(rate(&theirs, values, 1.0)),
                )
                .note(format!(
                    "{values} non-null values of {} ({:?}); both sides in a rayon pool of \
                     {threads} thread(s), run alternately, outputs checked equal before timing. \
                     benches/mask_compare.py times pandas outside the binary",
                    label.split('/').nth(1).unwrap_or(label),
                    array.data_type()
                )),
            );
        }
    }
    Ok(records)
}
