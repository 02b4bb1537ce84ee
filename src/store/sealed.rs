//! Encrypted objects in the store: choosing what to seal, sealing on write, opening on read.
//!
//! The stored bytes of an encrypted object are an envelope (see `crypto::envelope`): everything
//! a tier, the hot-tier files and the S3 bucket ever hold is ciphertext. Checksums, sizes in the
//! index and moves between tiers all concern the stored bytes; plaintext exists only in memory.

use std::io::Read;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use super::index::Sealed;
use super::read::StoredVersion;
use super::tier::Tier;
use super::Store;
use crate::crypto::{self, open_key_provider, EnvelopeHeader, KeyProvider, Sealer, MAX_HEADER_LEN};
use crate::error::{Error, ErrorKind, Result};

pub(crate) use crate::crypto::keyring_path;

impl Store {
    /// Whether a new object `key` in `tier` is encrypted: the call's choice, else the policy.
    pub(super) fn wants_encryption(&self, key: &str, tier: &Tier, explicit: Option<bool>) -> bool {
        let policy = &self.config.encryption;
        explicit.unwrap_or_else(|| {
            policy.prefixes.iter().any(|p| key.starts_with(p.as_str()))
                || policy.tiers.contains(&tier.name)
        })
    }

    pub(super) fn chunk_size(&self) -> u32 {
        // validate() bounds it to 16 MiB.
        self.config.encryption.chunk_size as u32
    }

    /// Path of the key ring this store uses.
    pub fn keyring_path(&self) -> std::path::PathBuf {
        keyring_path(&self.config)
    }

    /// Replaces the key provider, e.g. with a KMS-backed [`crate::crypto::CallbackKeyProvider`] or a
    /// reloaded key ring after `key new`.
    pub fn set_key_provider(&self, keys: Arc<dyn KeyProvider>) {
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Some(keys);
    }

    /// The key provider when there is one (set, named by the environment, or a key ring on
    /// disk); never creates a key ring.
    pub(crate) fn existing_key_provider(&self) -> Result<Option<Arc<dyn KeyProvider>>> {
        let set = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        if set || self.config.encryption.key_env.is_some() || self.keyring_path().exists() {
            return self.key_provider(false).map(Some);
        }
        Ok(None)
    }

    /// The key provider, for the lake's own keys (the audit key); with `create`, a key ring
    /// is created when there is none.
    pub(crate) fn key_provider_creating(&self, create: bool) -> Result<Arc<dyn KeyProvider>> {
        self.key_provider(create)
    }

    /// The key provider; with `create`, a key ring is created on first use.
    pub(super) fn key_provider(&self, create: bool) -> Result<Arc<dyn KeyProvider>> {
        if let Some(keys) = self.keys.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Ok(keys.clone());
        }
        let keys = open_key_provider(&self.config, create).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::new(
                    ErrorKind::Crypto,
                    "the object is encrypted but there is no key ring",
                )
                .with("path", self.keyring_path().display())
            } else {
                e
            }
        })?;
        self.set_key_provider(keys.clone());
        Ok(keys)
    }

    /// Seals a whole object in memory under the active key, bound to its key.
    pub(super) fn seal_bytes(&self, key: &str, plain: &[u8]) -> Result<(Vec<u8>, Sealed)> {
        let keys = self.key_provider(true)?;
        let key_id = keys.active_key_id()?;
        let sealed = crypto::seal(keys.as_ref(), &key_id, self.chunk_size(), key, plain)?;
        let (header, _) = EnvelopeHeader::parse(&sealed)?;
        let enc = Sealed {
            key_id,
            format: crypto::ENVELOPE_VERSION,
            plain_size: plain.len() as u64,
            object_id: Some(header.object_id()),
        };
        Ok((sealed, enc))
    }

    /// Reads and decrypts `range` (or all) of an encrypted object, fetching only the chunks
    /// the range needs.
    pub(super) async fn read_sealed(
        &self,
        version: &StoredVersion,
        range: Option<Range<u64>>,
    ) -> Result<Bytes> {
        let keys = self.key_provider(false)?;
        sealed_range(keys.as_ref(), version, range).await
    }

    /// Decrypts a whole encrypted object into `out`; `out` receives nothing unless all of it
    /// authenticates.
    pub(super) async fn read_sealed_to(
        &self,
        version: &StoredVersion,
        out: &mut dyn std::io::Write,
    ) -> Result<u64> {
        let keys = self.key_provider(false)?;
        let sealed = version.read(None).await?;
        check_envelope(&sealed, version)?;
        crypto::open_to(keys.as_ref(), &version.key, &sealed, out)
            .map_err(|e| e.with("key", &version.key).with("tier", &version.tier.name))
    }
}

/// Checks that the envelope at the start of `head` is the one the index records for this
/// version (its object id): an envelope swapped in from another object, or an older envelope
/// of the same object restored over it, is refused before anything is decrypted.
fn check_envelope(head: &[u8], version: &StoredVersion) -> Result<()> {
    let in_key = |e: Error| e.with("key", &version.key).with("tier", &version.tier.name);
    let (header, _) = EnvelopeHeader::parse(head).map_err(in_key)?;
    let expected = version
        .record
        .enc
        .as_ref()
        .and_then(|e| e.object_id.as_deref());
    if let Some(expected) = expected {
        if header.object_id() != expected {
            return Err(in_key(Error::new(
                ErrorKind::Crypto,
                "encrypted object failed authentication: the envelope in the tier is not the \
                 one the index records (swapped or restored from elsewhere)",
            )));
        }
    }
    Ok(())
}

/// Decrypts `range` (or all) of an encrypted version, reading the stored bytes it needs
/// (header, then only the chunks the range spans).
pub(super) async fn sealed_range(
    keys: &dyn KeyProvider,
    version: &StoredVersion,
    range: Option<Range<u64>>,
) -> Result<Bytes> {
    let (key, stored) = (version.key.as_str(), version.record.size);
    let in_key = |e: Error| e.with("key", key).with("tier", &version.tier.name);
    if range.is_none() {
        let sealed = version.read(None).await?;
        check_envelope(&sealed, version)?;
        return crypto::open(keys, key, &sealed)
            .map(Bytes::from)
            .map_err(in_key);
    }
    let head = version
        .read(Some(0..stored.min(MAX_HEADER_LEN as u64)))
        .await?;
    check_envelope(&head, version)?;
    let (header, header_len) = EnvelopeHeader::parse(&head).map_err(in_key)?;
    let plain_len = header.plaintext_len(header_len, stored).map_err(in_key)?;
    let range = range.unwrap_or(0..plain_len);
    if range.start > range.end || range.end > plain_len {
        return Err(Error::invalid(format!(
            "range {}..{} is outside the object of {plain_len} bytes",
            range.start, range.end
        ))
        .with("key", key));
    }
    if range.is_empty() {
        return Ok(Bytes::new());
    }
    let cipher = header.open(keys, key).map_err(in_key)?;
    let cs = header.chunk_size as u64;
    let chunks = header.chunk_count(plain_len);
    let (first, last) = (range.start / cs, (range.end - 1) / cs);
    let span_start = header.chunk_span(header_len, plain_len, first).start;
    let span_end = header.chunk_span(header_len, plain_len, last).end;
    let body = version.read(Some(span_start..span_end)).await?;
    let mut plain = Vec::with_capacity(((last - first + 1) * cs) as usize);
    for i in first..=last {
        let span = header.chunk_span(header_len, plain_len, i);
        let at = (span.start - span_start) as usize..(span.end - span_start) as usize;
        let sealed = body
            .get(at)
            .ok_or_else(|| Error::new(ErrorKind::Crypto, "encrypted object is truncated"))?;
        cipher
            .open_chunk(i, i + 1 == chunks, sealed, &mut plain)
            .map_err(in_key)?;
    }
    let skip = (range.start - first * cs) as usize;
    Ok(Bytes::from(plain).slice(skip..skip + (range.end - range.start) as usize))
}

/// Seals whatever a reader yields: the header first, then sealed chunks.
pub(super) struct EncryptingReader<'a> {
    inner: &'a mut dyn Read,
    sealer: Option<Sealer>,
    out: Vec<u8>,
    pos: usize,
    plain_len: u64,
    key_id: String,
    object_id: String,
    scratch: Vec<u8>,
}

impl<'a> EncryptingReader<'a> {
    pub fn new(
        inner: &'a mut dyn Read,
        keys: &dyn KeyProvider,
        key_id: &str,
        chunk_size: u32,
        name: &str,
    ) -> Result<Self> {
        let (sealer, header) = Sealer::new(keys, key_id, chunk_size, name)?;
        Ok(EncryptingReader {
            inner,
            sealer: Some(sealer),
            object_id: header.object_id(),
            out: header.encode(),
            pos: 0,
            plain_len: 0,
            key_id: key_id.to_string(),
            scratch: vec![0u8; 1 << 20],
        })
    }

    /// How the stream was sealed; meaningful once it has been read to the end.
    pub fn sealed(&self) -> Sealed {
        Sealed {
            key_id: self.key_id.clone(),
            format: crypto::ENVELOPE_VERSION,
            plain_size: self.plain_len,
            object_id: Some(self.object_id.clone()),
        }
    }
}

impl Read for EncryptingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let to_io = |e: Error| std::io::Error::other(e.to_string());
        while self.pos == self.out.len() {
            let Some(sealer) = self.sealer.as_mut() else {
                return Ok(0);
            };
            self.out.clear();
            self.pos = 0;
            let n = self.inner.read(&mut self.scratch)?;
            if n == 0 {
                if let Some(sealer) = self.sealer.take() {
                    sealer.finish(&mut self.out).map_err(to_io)?;
                }
            } else {
                self.plain_len += n as u64;
                sealer
                    .push(&self.scratch[..n], &mut self.out)
                    .map_err(to_io)?;
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
