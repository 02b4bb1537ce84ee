//! Masking from C: a policy and a role turn an input Arrow C Stream into a masked one, lazily,
//! batch by batch as the consumer pulls.

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use serde::Deserialize;

use super::args;
use super::guard::{guard, invalid, strata_status};
use super::stream::{clear_out_stream, export_stream, take_stream};
use crate::{
    mask::{MaskPolicy, MemoryKeys, RoleMask},
    Result,
};

/// One key's versions: a single hex string is version 1; a list holds versions 1, 2, ...
#[derive(Deserialize)]
#[serde(untagged)]
enum KeyVersions {
    One(String),
    Many(Vec<String>),
}

fn decode_hex(text: &str, id: &str) -> Result<Vec<u8>> {
    let digits = text.trim().as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(invalid(format!(
            "masking key {id:?} has an odd number of hex digits"
        )));
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    digits
        .chunks(2)
        .map(|pair| match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
            _ => Err(invalid(format!("masking key {id:?} is not hex"))),
        })
        .collect()
}

/// Masking keys from `{"k1": "<hex>", "k2": ["<hex v1>", "<hex v2>"]}`; NULL means none.
fn mask_keys(json: *const c_char) -> Result<MemoryKeys> {
    let mut keys = MemoryKeys::new();
    let Some(text) = args::opt_text(json, "keys_json")? else {
        return Ok(keys);
    };
    let parsed: BTreeMap<String, KeyVersions> = serde_json::from_str(text)
        .map_err(|e| invalid(format!("keys_json is not a JSON object of hex keys: {e}")))?;
    for (id, versions) in parsed {
        let list = match versions {
            KeyVersions::One(hex) => vec![hex],
            KeyVersions::Many(list) => list,
        };
        for (i, hex) in list.iter().enumerate() {
            keys.insert(&id, i as u32 + 1, decode_hex(hex, &id)?)?;
        }
    }
    Ok(keys)
}

/// The masked view of an input stream, pulled lazily by the C consumer.
struct MaskedReader {
    input: ArrowArrayStreamReader,
    mask: RoleMask,
    schema: SchemaRef,
}

impl Iterator for MaskedReader {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        // This runs inside the exported stream's `get_next`, an `extern "C"` callback the guard
        // does not cover: a panic there (say, a foreign input stream without `get_next`) would
        // abort the host, so it is caught here and becomes the stream's error.
        let pulled = catch_unwind(AssertUnwindSafe(|| {
            let batch = self.input.next()?;
            Some(batch.and_then(|b| {
                self.mask
                    .apply(&b)
                    .map_err(|e| ArrowError::ExternalError(Box::new(e)))
            }))
        }));
        pulled.unwrap_or_else(|_| {
            Some(Err(ArrowError::CDataInterface(
                "strata panicked while masking a batch".into(),
            )))
        })
    }
}

impl RecordBatchReader for MaskedReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// Masks the Arrow C Stream `input` (consumed and released, even on error) as `role` may see
/// it under the masking policy `policy_toml`, into the new stream `*out`, which the caller must
/// release. Batches are masked as the consumer pulls them. `keys_json` holds the masking keys
/// the policy's keyed operators name, as `{"k1": "<hex>", "k2": ["<hex v1>", "<hex v2>"]}`
/// (at least 16 bytes each), or NULL when it names none. On error `*out` is a released stream.
#[no_mangle]
pub extern "C" fn strata_mask_stream(
    input: *mut FFI_ArrowArrayStream,
    policy_toml: *const c_char,
    role: *const c_char,
    keys_json: *const c_char,
    out: *mut FFI_ArrowArrayStream,
) -> strata_status {
    guard(|| {
        // Taken before any other argument is checked, so it is released on every path.
        let input = take_stream(input)?;
        clear_out_stream(out)?;
        let policy = MaskPolicy::from_toml_str(args::text(policy_toml, "policy_toml")?)?;
        mask_into(input, &policy, role, keys_json, out)
    })
}

/// Masks `input` for `role` under `policy` into the new stream `*out`.
pub(super) fn mask_into(
    input: ArrowArrayStreamReader,
    policy: &MaskPolicy,
    role: *const c_char,
    keys_json: *const c_char,
    out: *mut FFI_ArrowArrayStream,
) -> Result<()> {
    let role = args::text(role, "role")?;
    let mut mask = policy.for_role(role, &mask_keys(keys_json)?)?;
    // A policy naming a column the stream lacks is an error (NotFound) before any data
    // flows, unless the policy says `missing_columns = "warn"`.
    let missing = mask.check_schema(&input.schema())?;
    if !missing.is_empty() {
        tracing::warn!(
            role,
            columns = ?missing,
            "the masking policy names columns that the stream does not have"
        );
    }
    // The output schema (columns dropped, types changed by operators) is what masking an
    // empty batch gives; a policy refusing the stream fails here, before any data flows.
    let empty = RecordBatch::new_empty(input.schema());
    let schema = mask
        .apply(&empty)
        .map_err(|e| e.with("role", role))?
        .schema();
    let reader = MaskedReader {
        input,
        mask,
        schema,
    };
    export_stream(Box::new(reader), out)
}
