//! The `mask` suite's baseline: each operator written the way a user without strata would,
//! value by value as a pandas `.apply` does: every output value a fresh `String` (built with
//! `format!`, `str::repeat` and a `Vec<char>` for character positions, the HMAC digest hex
//! encoded byte by byte with `format!`), appended to an Arrow string builder of the input's
//! layout. Like strata's kernels it works in 32,768-row chunks shared over the current rayon
//! pool and concatenates them, so both sides have the same threads.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder, StringViewBuilder};
use arrow::compute::concat;
use arrow::datatypes::DataType;
use hmac::{Hmac, Mac};
use rayon::prelude::*;
use sha2::Sha256;

use super::other;

/// Rows per chunk (strata's text kernels use the same).
pub const CHUNK_ROWS: usize = 32 * 1024;

/// The operators the suite times, with the settings of its cases.
pub enum Op {
    Partial {
        keep_first: usize,
        keep_last: usize,
    },
    FullMask,
    Email {
        keep_first: usize,
    },
    /// HMAC-SHA256 with `key`, hex, tagged `tag:` as strata tags its hashes.
    HmacSha256 {
        key: Vec<u8>,
        tag: String,
    },
    Redact,
}

impl Op {
    /// What the baseline does per value, for the record's baseline side.
    pub fn describe(&self) -> &'static str {
        match self {
            Op::Partial { .. } => {
                "the value's chars collected into a Vec<char>, kept ends collected into Strings, \
                 format! with str::repeat of the mask"
            }
            Op::FullMask => "str::repeat of the mask for the value's char count",
            Op::Email { .. } => {
                "rfind('@'), the local part's chars into a Vec<char>, format! of the kept \
                 chars, str::repeat of the mask and the domain"
            }
            Op::HmacSha256 { .. } => {
                "a fresh HMAC-SHA256 (hmac and sha2 crates) per value, the digest hex \
                 encoded byte by byte with write!, format! with the key tag"
            }
            Op::Redact => "a null appended per value",
        }
    }
}

fn stars(n: usize) -> String {
    "*".repeat(n)
}

fn mask_value(op: &Op, value: &str) -> strata::Result<Option<String>> {
    Ok(Some(match op {
        Op::Partial {
            keep_first,
            keep_last,
        } => {
            let chars: Vec<char> = value.chars().collect();
            let n = chars.len();
            if n <= keep_first + keep_last {
                stars(n)
            } else {
                let head: String = chars[..*keep_first].iter().collect();
                let tail: String = chars[n - keep_last..].iter().collect();
                format!("{head}{}{tail}", stars(n - keep_first - keep_last))
            }
        }
        Op::FullMask => stars(value.chars().count()),
        Op::Email { keep_first } => match value.rfind('@') {
            None => stars(value.chars().count()),
            Some(at) => {
                let (local, domain) = value.split_at(at);
                let chars: Vec<char> = local.chars().collect();
                if chars.len() <= *keep_first {
                    format!("{}{domain}", stars(chars.len()))
                } else {
                    let head: String = chars[..*keep_first].iter().collect();
                    format!("{head}{}{domain}", stars(chars.len() - keep_first))
                }
            }
        },
        Op::HmacSha256 { key, tag } => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| other("HMAC key", e))?;
            mac.update(value.as_bytes());
            let digest = mac.finalize().into_bytes();
            let mut hex = String::new();
            for b in digest.iter() {
                let _ = write!(hex, "{b:02x}");
            }
            format!("{tag}:{hex}")
        }
        Op::Redact => return Ok(None),
    }))
}

fn mask_chunk(array: &dyn Array, op: &Op) -> strata::Result<ArrayRef> {
    let values: Box<dyn Iterator<Item = Option<&str>>> = match array.data_type() {
        DataType::Utf8 => Box::new(array.as_string::<i32>().iter()),
        DataType::LargeUtf8 => Box::new(array.as_string::<i64>().iter()),
        DataType::Utf8View => Box::new(array.as_string_view().iter()),
        other_type => {
            return Err(other(
                "mask baseline",
                format!("{other_type} is not a string type"),
            ))
        }
    };
    let masked = |v: Option<&str>| -> strata::Result<Option<String>> {
        match v {
            Some(v) => mask_value(op, v),
            None => Ok(None),
        }
    };
    if array.data_type() == &DataType::Utf8View {
        let mut out = StringViewBuilder::with_capacity(array.len());
        for v in values {
            out.append_option(masked(v)?);
        }
        Ok(Arc::new(out.finish()))
    } else {
        let mut out = StringBuilder::with_capacity(array.len(), 0);
        for v in values {
            out.append_option(masked(v)?);
        }
        Ok(Arc::new(out.finish()))
    }
}

/// `op` applied to every value of `array`, chunk by chunk on the current rayon pool.
pub fn mask(array: &dyn Array, op: &Op) -> strata::Result<ArrayRef> {
    let len = array.len();
    let parts = (0..len.div_ceil(CHUNK_ROWS).max(1))
        .into_par_iter()
        .map(|c| {
            let start = c * CHUNK_ROWS;
            mask_chunk(array.slice(start, CHUNK_ROWS.min(len - start)).as_ref(), op)
        })
        .collect::<strata::Result<Vec<ArrayRef>>>()?;
    if parts.len() == 1 {
        return Ok(parts
            .into_iter()
            .next()
            .unwrap_or_else(|| array.slice(0, 0)));
    }
    let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
    concat(&refs).map_err(|e| other("mask baseline", e))
}
