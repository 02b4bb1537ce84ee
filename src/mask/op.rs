//! What a masking operator does, as data: the form policies are written in.
//!
//! A [`MaskOp`] names no secret, only key ids; [`crate::mask::PreparedMask`] resolves the keys once
//! and holds the expanded cipher state that the kernels share across values and threads.
//! In TOML an operator is a table with an `op` field: `{ op = "partial", keep_last = 4 }`.

use serde::{Deserialize, Serialize};

fn star() -> char {
    '*'
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

/// A masking operator and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum MaskOp {
    /// Every value becomes null; works on every type.
    Redact,
    /// Every non-null value becomes `value`, parsed as the column's type (`"0"`, `"2000-01-01"`).
    Replace {
        /// The constant, as text.
        value: String,
    },
    /// Every character becomes `mask_char`; with `length`, every value becomes that many mask
    /// characters, which also hides the length.
    FullMask {
        /// The mask character; default `*`.
        #[serde(default = "star")]
        mask_char: char,
        /// A fixed output length in characters.
        #[serde(default)]
        length: Option<usize>,
    },
    /// Keeps the first `keep_first` and last `keep_last` characters (not bytes) and masks the
    /// rest. A value no longer than `keep_first + keep_last` is masked whole, so short values
    /// are never shown in full.
    Partial {
        /// Characters kept at the start.
        #[serde(default)]
        keep_first: usize,
        /// Characters kept at the end.
        #[serde(default)]
        keep_last: usize,
        /// The mask character; default `*`.
        #[serde(default = "star")]
        mask_char: char,
    },
    /// Masks the local part of an email address and keeps the domain: `j*******@example.com`.
    /// A value without `@` is masked whole.
    Email {
        /// Characters of the local part kept; default 1.
        #[serde(default = "one")]
        keep_first: usize,
        /// The mask character; default `*`.
        #[serde(default = "star")]
        mask_char: char,
    },
    /// A keyed hash, tagged with the key: `k1v2:3f1a...`. Not reversible; joins still work.
    Hash {
        /// The key id.
        key: String,
        /// HMAC-SHA256 or keyed BLAKE3.
        #[serde(default)]
        algorithm: HashAlgorithm,
        /// Text encoding of the digest.
        #[serde(default)]
        encoding: DigestEncoding,
        /// Keep only this many digest bytes (8..=32).
        #[serde(default)]
        truncate: Option<usize>,
    },
    /// An unkeyed hash. Refused unless `allow_unkeyed` is set: anyone can hash every phone
    /// number or birth date and look the digests up, so it protects low-entropy values not at all.
    UnkeyedHash {
        /// SHA-256 or BLAKE3.
        #[serde(default)]
        algorithm: HashAlgorithm,
        /// Text encoding of the digest.
        #[serde(default)]
        encoding: DigestEncoding,
        /// Keep only this many digest bytes (8..=32).
        #[serde(default)]
        truncate: Option<usize>,
        /// Must be true to accept the risk above.
        #[serde(default)]
        allow_unkeyed: bool,
    },
    /// Deterministic, reversible tokens tagged with the key version: `k1v2:...`. Without an
    /// alphabet the token is opaque (any text); with one, the characters of that alphabet are
    /// encrypted in place and the rest kept, so `4111-1111-1111-1111` stays card-shaped.
    Tokenize {
        /// The key id.
        key: String,
        /// Keep this alphabet's shape.
        #[serde(default)]
        alphabet: Option<Alphabet>,
    },
    /// FF1 format-preserving encryption (NIST SP 800-38G) of the alphabet's characters, other
    /// characters kept in place; untagged, so the output has exactly the input's shape.
    Fpe {
        /// The key id (an AES key of 16, 24 or 32 bytes).
        key: String,
        /// Which characters are encrypted.
        #[serde(default)]
        alphabet: Alphabet,
        /// FF1 tweak, as text; default empty.
        #[serde(default)]
        tweak: String,
    },
    /// Numbers rounded down to a multiple of `width`: ages 37 -> 30 with width 10.
    Bucket {
        /// Bucket width; a whole number for integer columns.
        width: f64,
    },
    /// Dates and timestamps truncated to the first day of their month or year (UTC).
    DateTruncate {
        /// `month` or `year`.
        unit: DateUnit,
    },
    /// Dates and timestamps moved by a per-entity offset, derived with a key from the value of
    /// the `by` column, so one patient's dates all move together and intervals survive.
    DateShift {
        /// The key id.
        key: String,
        /// The column naming the entity (patient id, customer id).
        by: String,
        /// Offsets are in `-max_days..=max_days`, never 0.
        #[serde(default = "default_shift_days")]
        max_days: u32,
    },
    /// Replaces emails, phone numbers and Luhn-valid card numbers inside free text with
    /// `[EMAIL]`, `[PHONE]` and `[CARD]`.
    Scrub {
        /// Replace email addresses.
        #[serde(default = "yes")]
        emails: bool,
        /// Replace phone numbers.
        #[serde(default = "yes")]
        phones: bool,
        /// Replace card numbers that pass the Luhn check.
        #[serde(default = "yes")]
        cards: bool,
    },
}

fn default_shift_days() -> u32 {
    180
}

impl MaskOp {
    /// The operator's name as written in policies.
    pub fn name(&self) -> &'static str {
        match self {
            MaskOp::Redact => "redact",
            MaskOp::Replace { .. } => "replace",
            MaskOp::FullMask { .. } => "full_mask",
            MaskOp::Partial { .. } => "partial",
            MaskOp::Email { .. } => "email",
            MaskOp::Hash { .. } => "hash",
            MaskOp::UnkeyedHash { .. } => "unkeyed_hash",
            MaskOp::Tokenize { .. } => "tokenize",
            MaskOp::Fpe { .. } => "fpe",
            MaskOp::Bucket { .. } => "bucket",
            MaskOp::DateTruncate { .. } => "date_truncate",
            MaskOp::DateShift { .. } => "date_shift",
            MaskOp::Scrub { .. } => "scrub",
        }
    }
}

/// Digest function of the hash operators; keyed, SHA-256 means HMAC-SHA256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256; HMAC-SHA256 when keyed (any key length).
    #[default]
    Sha256,
    /// BLAKE3; keyed mode needs a 32-byte key.
    Blake3,
}

/// How digests are written as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DigestEncoding {
    /// Lower-case hexadecimal.
    #[default]
    Hex,
    /// URL-safe base64 without padding.
    Base64,
}

/// The characters FF1 and shaped tokens encrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Alphabet {
    /// `0-9` (radix 10); values need at least 6 digits.
    #[default]
    Digits,
    /// `0-9a-z` (radix 36), as in the NIST samples; upper-case letters are kept as they are.
    LowerAlphanumeric,
    /// `0-9A-Za-z` (radix 62).
    Alphanumeric,
}

/// Granularity of date truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DateUnit {
    /// First day of the month.
    Month,
    /// January 1st.
    Year,
}
