//! Deterministic, reversible tokens tagged with the key version, and their rotation.
//!
//! A token is `<key id>v<version>:<body>`. The body is FF1 under a key derived from the masking
//! key (so a key shared with the `fpe` or `hash` operators gives unrelated outputs): opaque
//! tokens encrypt the UTF-8 bytes (radix 256, ISO/IEC 7816-4 padding so even one-byte values
//! meet the FF1 domain-size rule) and write them as URL-safe base64; shaped tokens encrypt the
//! alphabet characters in place. Equal values give equal tokens under one key version, on any
//! machine, so joins and group-bys on tokens still work.
//!
//! Rotation: [`retokenize`] reads each token's version, decrypts with that version and
//! encrypts with the current one. Hashes cannot be re-keyed this way (they are one-way): after a
//! rotation they must be recomputed from clear text, and their tag says which rows are stale.
//! Untagged `fpe` output does not record its version either; decrypt it with the old key
//! ([`detokenize`] with a key set whose current version is the old one) and encrypt again.

use std::collections::BTreeMap;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use zeroize::Zeroizing;

use super::ff1::{Ff1, MAX_LEN};
use super::fpe::{FpeKernel, ShapedFf1};
use super::keys::{MaskKey, MaskKeys};
use super::op::{Alphabet, MaskOp};
use super::strings::{map_text, TextKernel};
use crate::error::{Error, ErrorKind, Result};

const PAD_MARK: u8 = 0x80;

/// Tokens of one key version.
#[derive(Debug, Clone)]
pub(crate) struct Tokenizer {
    version: u32,
    prefix: String,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Opaque(Ff1),
    Shaped(Box<ShapedFf1>),
}

#[derive(Default)]
pub(crate) struct TokenScratch {
    numerals: Vec<u16>,
    bytes: Vec<u8>,
    text: String,
}

impl Tokenizer {
    pub(crate) fn new(key: &MaskKey, alphabet: Option<Alphabet>) -> Result<Self> {
        let derived = Zeroizing::new(blake3::derive_key("strata mask token v1", key.bytes()));
        let body = match alphabet {
            None => Body::Opaque(Ff1::new(&derived[..], 256)?),
            Some(a) => Body::Shaped(Box::new(ShapedFf1::new(
                &derived[..],
                a,
                Vec::new(),
                String::new(),
            )?)),
        };
        Ok(Tokenizer {
            version: key.version(),
            prefix: format!("{}:", key.tag()),
            body,
        })
    }

    fn tokenize(&self, value: &str, s: &mut TokenScratch, out: &mut String) -> Result<()> {
        match &self.body {
            Body::Shaped(c) => {
                out.push_str(&self.prefix);
                c.apply(value, &mut s.numerals, out, true)
            }
            Body::Opaque(ff1) => {
                let bytes = value.as_bytes();
                if bytes.len() >= MAX_LEN - 4 {
                    return Err(Error::invalid(format!(
                        "value of {} bytes is too long to tokenize",
                        bytes.len()
                    )));
                }
                s.numerals.clear();
                s.numerals.extend(bytes.iter().map(|&b| u16::from(b)));
                s.numerals.push(u16::from(PAD_MARK));
                while s.numerals.len() < ff1.min_len() {
                    s.numerals.push(0);
                }
                ff1.encrypt(&mut s.numerals, &[])?;
                s.bytes.clear();
                s.bytes.extend(s.numerals.iter().map(|&d| d as u8));
                out.push_str(&self.prefix);
                URL_SAFE_NO_PAD.encode_string(&s.bytes, out);
                Ok(())
            }
        }
    }

    /// Appends the clear text of `body` (a token without its tag).
    fn detokenize(&self, body: &str, s: &mut TokenScratch, out: &mut String) -> Result<()> {
        match &self.body {
            Body::Shaped(c) => c.apply(body, &mut s.numerals, out, false),
            Body::Opaque(ff1) => {
                s.bytes.clear();
                URL_SAFE_NO_PAD
                    .decode_vec(body, &mut s.bytes)
                    .map_err(|e| Error::invalid(format!("token body is not base64: {e}")))?;
                s.numerals.clear();
                s.numerals.extend(s.bytes.iter().map(|&b| u16::from(b)));
                ff1.decrypt(&mut s.numerals, &[])?;
                s.bytes.clear();
                s.bytes.extend(s.numerals.iter().map(|&d| d as u8));
                while s.bytes.last() == Some(&0) {
                    s.bytes.pop();
                }
                if s.bytes.pop() != Some(PAD_MARK) {
                    return Err(Error::invalid("token does not decrypt under its key"));
                }
                let text = std::str::from_utf8(&s.bytes)
                    .map_err(|_| Error::invalid("token does not decrypt under its key"))?;
                out.push_str(text);
                Ok(())
            }
        }
    }
}

impl TextKernel for Tokenizer {
    type Scratch = TokenScratch;

    #[inline]
    fn map(&self, value: &str, s: &mut TokenScratch, out: &mut String) -> Result<()> {
        self.tokenize(value, s, out)
    }
}

/// Splits `k1v2:body` into ("k1", 2, "body").
pub(crate) fn parse_tag(token: &str) -> Option<(&str, u32, &str)> {
    let (tag, body) = token.split_once(':')?;
    let v = tag.rfind('v')?;
    let version = tag[v + 1..].parse().ok()?;
    Some((&tag[..v], version, body))
}

/// Tokenizers for every version found in `array`, plus the current one.
struct Versions {
    id: String,
    current: Tokenizer,
    by_version: BTreeMap<u32, Tokenizer>,
}

impl Versions {
    fn load(
        array: &dyn Array,
        id: &str,
        alphabet: Option<Alphabet>,
        keys: &dyn MaskKeys,
    ) -> Result<Self> {
        let current = Tokenizer::new(&keys.key(id)?, alphabet)?;
        let text = cast(array, &DataType::LargeUtf8).map_err(Error::from)?;
        let mut by_version = BTreeMap::new();
        for (row, token) in text.as_string::<i64>().iter().enumerate() {
            let Some(token) = token else { continue };
            let (tag_id, version, _) = parse_tag(token).ok_or_else(|| bad_tag(row))?;
            if tag_id != id {
                return Err(Error::invalid(format!(
                    "token made with key {tag_id:?}, expected {id:?}"
                ))
                .with("row", row));
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = by_version.entry(version) {
                slot.insert(Tokenizer::new(&keys.key_version(id, version)?, alphabet)?);
            }
        }
        Ok(Versions {
            id: id.to_string(),
            current,
            by_version,
        })
    }

    fn old<'t>(&self, token: &'t str) -> Result<(&Tokenizer, &'t str)> {
        let (_, version, body) = parse_tag(token).ok_or_else(not_a_token)?;
        let t = self.by_version.get(&version).ok_or_else(|| {
            Error::internal("token version missing from its preload").with("key_id", &self.id)
        })?;
        Ok((t, body))
    }
}

fn not_a_token() -> Error {
    Error::invalid("value is not a token (expected `<key id>v<version>:...`)")
}

fn bad_tag(row: usize) -> Error {
    not_a_token().with("row", row)
}

struct Detokenize(Versions);

impl TextKernel for Detokenize {
    type Scratch = TokenScratch;

    fn map(&self, value: &str, s: &mut TokenScratch, out: &mut String) -> Result<()> {
        let (t, body) = self.0.old(value)?;
        t.detokenize(body, s, out)
    }
}

struct Retokenize(Versions);

impl TextKernel for Retokenize {
    type Scratch = TokenScratch;

    fn map(&self, value: &str, s: &mut TokenScratch, out: &mut String) -> Result<()> {
        let (t, body) = self.0.old(value)?;
        if t.version == self.0.current.version {
            out.push_str(value);
            return Ok(());
        }
        let mut clear = std::mem::take(&mut s.text);
        clear.clear();
        let done = t
            .detokenize(body, s, &mut clear)
            .and_then(|()| self.0.current.tokenize(&clear, s, out));
        s.text = clear;
        done
    }
}

/// Clear text back from `tokenize` tokens (any key version the key set still holds) or from
/// `fpe` output (with the current key version).
pub fn detokenize(array: &dyn Array, op: &MaskOp, keys: &dyn MaskKeys) -> Result<ArrayRef> {
    match op {
        MaskOp::Tokenize { key, alphabet } => map_text(
            array,
            &Detokenize(Versions::load(array, key, *alphabet, keys)?),
        ),
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
            )?;
            map_text(
                array,
                &FpeKernel {
                    cipher,
                    encrypt: false,
                },
            )
        }
        other => Err(not_reversible(other)),
    }
}

/// Re-encrypts `tokenize` tokens made with older key versions under the current version;
/// tokens already current are copied. Hashes are one-way and are refused (recompute them
/// from clear text); so is untagged `fpe` output, which does not say which version made it.
pub fn retokenize(array: &dyn Array, op: &MaskOp, keys: &dyn MaskKeys) -> Result<ArrayRef> {
    match op {
        MaskOp::Tokenize { key, alphabet } => map_text(
            array,
            &Retokenize(Versions::load(array, key, *alphabet, keys)?),
        ),
        other => Err(not_reversible(other)),
    }
}

fn not_reversible(op: &MaskOp) -> Error {
    let why = match op {
        MaskOp::Hash { .. } | MaskOp::UnkeyedHash { .. } => {
            "hashes are one-way: recompute them from clear text with the new key (their tag names the key version that made them)"
        }
        MaskOp::Fpe { .. } => {
            "fpe output carries no key version: detokenize with the old key, then mask again"
        }
        _ => "this operator is not reversible",
    };
    Error::new(
        ErrorKind::Unsupported,
        format!("cannot reverse `{}`: {why}", op.name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse() {
        assert_eq!(parse_tag("k1v2:abc"), Some(("k1", 2, "abc")));
        assert_eq!(parse_tag("vvv-v10:a:b"), Some(("vvv-", 10, "a:b")));
        assert_eq!(parse_tag("nope"), None);
        assert_eq!(parse_tag("k1:abc"), None);
    }

    #[test]
    fn opaque_round_trip_short_and_unicode() {
        let key = MaskKey::new("k", 1, [3u8; 32]).unwrap();
        let t = Tokenizer::new(&key, None).unwrap();
        let mut s = TokenScratch::default();
        for v in ["", "a", "ab", "Zoë", "日本語テキスト", &"x".repeat(500)] {
            let mut tok = String::new();
            t.tokenize(v, &mut s, &mut tok).unwrap();
            let (_, _, body) = parse_tag(&tok).unwrap();
            let mut back = String::new();
            t.detokenize(body, &mut s, &mut back).unwrap();
            assert_eq!(back, v);
        }
    }
}
