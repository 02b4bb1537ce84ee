//! Masking: operators on Arrow arrays and per-role policies over record batches.
//!
//! Operators ([`MaskOp`]) keep nulls as nulls and work on Utf8, LargeUtf8 and Utf8View, and on
//! numbers and dates where that makes sense. Keyed operators name a key id; [`MaskKeys`]
//! supplies the key, and the outputs of hashes and tokens carry its version (`k1v2:...`) so
//! that rotation can find and [`retokenize`] old values. [`PreparedMask`] holds an operator
//! with its cipher state built once; [`MaskPolicy`] maps columns and roles to operators and
//! masks whole batches. Work is split over chunks of rows and run in parallel with rayon.
//!
//! ```
//! # fn main() -> strata::Result<()> {
//! use std::sync::Arc;
//! use arrow::array::{ArrayRef, AsArray, StringArray};
//! use arrow::record_batch::RecordBatch;
//! use strata::{mask::{MaskPolicy, MemoryKeys}};
//!
//! let keys = MemoryKeys::new().with("k1", 2, [7u8; 32])?;
//! let policy = MaskPolicy::from_toml_str(r#"
//!     [columns.email]
//!     clear = ["dpo"]
//!     mask = { op = "email" }
//!     roles.analyst = { op = "hash", key = "k1", truncate = 8 }
//! "#)?;
//! let email: ArrayRef = Arc::new(StringArray::from(vec![Some("zoë@example.com"), None]));
//! let batch = RecordBatch::try_from_iter([("email", email)]).unwrap();
//!
//! let support = policy.apply(&batch, "support", &keys)?;
//! assert_eq!(support.column(0).as_string::<i32>().value(0), "z**@example.com");
//! let analyst = policy.apply(&batch, "analyst", &keys)?;
//! assert!(analyst.column(0).as_string::<i32>().value(0).starts_with("k1v2:"));
//! assert!(analyst.column(0).is_null(1));
//! # Ok(()) }
//! ```

mod ff1;
mod fpe;
mod generalize;
mod hash;
mod hmac256;
mod keyring;
mod keys;
mod op;
mod parquet_file;
mod policy;
mod prepared;
mod rotate;
mod scrub;
mod shift;
mod strings;
mod text;
mod token;

pub use keyring::{open_mask_keys, MaskKeyInfo, MaskKeyRing, MASK_KEYS_FILE};
pub use keys::{MaskKey, MaskKeys, MemoryKeys};
pub use op::{Alphabet, DateUnit, DigestEncoding, HashAlgorithm, MaskOp};
pub use parquet_file::{rewrite_parquet, RewriteStats};
pub use policy::{ColumnAccess, MaskPolicy, MissingColumns, OnDenied, RoleMask};
pub use prepared::{mask_array, PreparedMask};
pub use rotate::{ColumnRotation, RotationReport};
pub use token::{detokenize, retokenize};
