//! An operator with its keys resolved and its cipher state built, ready to run on arrays.
//!
//! Preparing once per policy and role (not per batch or value) is what keeps the AES key
//! schedule, the keyed HMAC state and the regex compiled exactly once.

use arrow::array::{new_null_array, Array, ArrayRef, StringArray, UInt32Array};
use arrow::compute::{cast, take};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;

use super::fpe::{FpeKernel, ShapedFf1};
use super::generalize::{bucket, date_truncate};
use super::hash::Hasher;
use super::keys::MaskKeys;
use super::op::{DateUnit, MaskOp};
use super::scrub::Scrubber;
use super::shift::DateShifter;
use super::strings::map_text;
use super::text::{Constant, EmailMask, FullMask, MaskFill, PartialMask};
use super::token::Tokenizer;
use crate::error::{Error, Result};

enum Kernel {
    Redact,
    Replace(String),
    Full(FullMask),
    Partial(PartialMask),
    Email(EmailMask),
    Hash(Hasher),
    Tokenize(Tokenizer),
    Fpe(Box<FpeKernel>),
    Bucket(f64),
    DateTruncate(DateUnit),
    DateShift(DateShifter, String),
    Scrub(Scrubber),
}

/// A [`MaskOp`] ready to run: keys fetched, ciphers expanded. Share it freely between threads.
pub struct PreparedMask {
    op: MaskOp,
    kernel: Kernel,
}

impl std::fmt::Debug for PreparedMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedMask")
            .field("op", &self.op.name())
            .finish_non_exhaustive()
    }
}

impl PreparedMask {
    /// Resolves the operator's key (if any) from `keys` and builds its state.
    pub fn new(op: &MaskOp, keys: &dyn MaskKeys) -> Result<Self> {
        let kernel = match op {
            MaskOp::Redact => Kernel::Redact,
            MaskOp::Replace { value } => Kernel::Replace(value.clone()),
            MaskOp::FullMask { mask_char, length } => Kernel::Full(FullMask {
                fill: MaskFill::new(*mask_char),
                length: *length,
            }),
            MaskOp::Partial {
                keep_first,
                keep_last,
                mask_char,
            } => Kernel::Partial(PartialMask {
                fill: MaskFill::new(*mask_char),
                keep_first: *keep_first,
                keep_last: *keep_last,
            }),
            MaskOp::Email {
                keep_first,
                mask_char,
            } => Kernel::Email(EmailMask {
                fill: MaskFill::new(*mask_char),
                keep_first: *keep_first,
            }),
            MaskOp::Hash {
                key,
                algorithm,
                encoding,
                truncate,
            } => Kernel::Hash(Hasher::keyed(
                &keys.key(key)?,
                *algorithm,
                *encoding,
                *truncate,
            )?),
            MaskOp::UnkeyedHash {
                algorithm,
                encoding,
                truncate,
                allow_unkeyed,
            } => Kernel::Hash(Hasher::unkeyed(
                *algorithm,
                *encoding,
                *truncate,
                *allow_unkeyed,
            )?),
            MaskOp::Tokenize { key, alphabet } => {
                Kernel::Tokenize(Tokenizer::new(&keys.key(key)?, *alphabet)?)
            }
            MaskOp::Fpe {
                key,
                alphabet,
                tweak,
            } => {
                let key = keys.key(key)?;
                let cipher = ShapedFf1::new(
                    key.bytes(),
                    *alphabet,
                    tweak.as_bytes().to_vec(),
                    String::new(),
                )
                .map_err(|e| e.with("key_id", key.id()))?;
                Kernel::Fpe(Box::new(FpeKernel {
                    cipher,
                    encrypt: true,
                }))
            }
            MaskOp::Bucket { width } => Kernel::Bucket(*width),
            MaskOp::DateTruncate { unit } => Kernel::DateTruncate(*unit),
            MaskOp::DateShift { key, by, max_days } => {
                Kernel::DateShift(DateShifter::new(&keys.key(key)?, *max_days)?, by.clone())
            }
            MaskOp::Scrub {
                emails,
                phones,
                cards,
            } => Kernel::Scrub(Scrubber::new(*emails, *phones, *cards)?),
        };
        Ok(PreparedMask {
            op: op.clone(),
            kernel,
        })
    }

    /// The operator this was prepared from.
    pub fn op(&self) -> &MaskOp {
        &self.op
    }

    /// Masks one array. Nulls stay null. `date_shift` needs its entity column: use
    /// [`PreparedMask::apply_column`].
    pub fn apply(&self, array: &dyn Array) -> Result<ArrayRef> {
        let out = match &self.kernel {
            Kernel::Redact => Ok(new_null_array(array.data_type(), array.len())),
            Kernel::Replace(value) => replace(array, value),
            Kernel::Full(k) => map_text(array, k),
            Kernel::Partial(k) => map_text(array, k),
            Kernel::Email(k) => map_text(array, k),
            Kernel::Hash(k) => map_text(array, k),
            Kernel::Tokenize(k) => map_text(array, k),
            Kernel::Fpe(k) => map_text(array, k.as_ref()),
            Kernel::Scrub(k) => map_text(array, k),
            Kernel::Bucket(width) => bucket(array, *width),
            Kernel::DateTruncate(unit) => date_truncate(array, *unit),
            Kernel::DateShift(_, by) => Err(Error::invalid(format!(
                "date_shift needs its entity column {by:?}; mask the whole batch"
            ))),
        };
        out.map_err(|e| e.with("op", self.op.name()))
    }

    /// Masks column `column` of `batch`; other columns are read only by `date_shift`.
    pub fn apply_column(&self, batch: &RecordBatch, column: usize) -> Result<ArrayRef> {
        let array = batch
            .columns()
            .get(column)
            .ok_or_else(|| Error::invalid(format!("batch has no column {column}")))?;
        match &self.kernel {
            Kernel::DateShift(shifter, by) => {
                let entities = batch.column_by_name(by).ok_or_else(|| {
                    Error::invalid(format!(
                        "date_shift entity column {by:?} is not in the batch"
                    ))
                })?;
                shifter
                    .apply(array.as_ref(), entities.as_ref())
                    .map_err(|e| e.with("op", "date_shift"))
            }
            _ => self.apply(array.as_ref()),
        }
    }
}

/// Masks `array` with `op`, fetching keys from `keys`. Prepare once with [`PreparedMask`] when
/// masking many arrays.
pub fn mask_array(array: &dyn Array, op: &MaskOp, keys: &dyn MaskKeys) -> Result<ArrayRef> {
    PreparedMask::new(op, keys)?.apply(array)
}

/// The constant for every non-null value, in the column's own type.
fn replace(array: &dyn Array, value: &str) -> Result<ArrayRef> {
    let t = array.data_type();
    if matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
        return map_text(array, &Constant(value.to_string()));
    }
    let one = cast(&StringArray::from(vec![value]), t)
        .map_err(|e| Error::invalid(format!("replacement {value:?} is not a valid {t}: {e}")))?;
    if one.is_null(0) {
        return Err(Error::invalid(format!(
            "replacement {value:?} is not a valid {t}"
        )));
    }
    let indices = UInt32Array::new(vec![0u32; array.len()].into(), array.nulls().cloned());
    take(one.as_ref(), &indices, None).map_err(Error::from)
}
