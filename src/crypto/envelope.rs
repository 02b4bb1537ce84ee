//! The envelope format of encrypted objects, versions 1 and 2.
//!
//! ```text
//! offset size  field
//! 0      6     magic "STRENC"
//! 6      1     format version (2; 1 is still read)
//! 7      1     algorithm (1 = AES-256-GCM)
//! 8      4     chunk size: plaintext bytes per chunk, big-endian
//! 12     16    object id: random, names this encryption of the object
//! 28     8     nonce prefix: random; chunk i's nonce is prefix || i (u32 big-endian)
//! 36     32    key commitment: BLAKE3 keyed by a key derived from the data key, over bytes 0..36
//!              (version 2: and over the name the envelope is bound to)
//! 68     1     key id length n (1..=255)
//! 69     n     key id (UTF-8)
//! 69+n   2     wrapped data key length m, big-endian
//! 71+n   m     wrapped data key (by the key provider, bound to object id, key id and, in
//!              version 2, the name)
//! then   ...   chunks: AES-256-GCM(ciphertext || 16-byte tag), AAD = object id || i (u64) || final (u8)
//! ```
//!
//! A fresh data key per object means nonces never repeat under one key. The AAD binds each
//! chunk to its object, position and finality, so flipped bits, truncation, reordering and
//! splicing chunks between objects fail to authenticate. The commitment is checked before any
//! chunk is decrypted, so no ciphertext opens under two different keys. Rotation rewrites only
//! the key id and wrapped key (see [`EnvelopeHeader::rewrap`]); the chunks stay as they are.
//!
//! Version 2 binds the envelope to a name (strata uses the object's key): it is part of what the
//! commitment covers and of the context the data key is wrapped in, and is not stored. An
//! envelope copied to another object's place fails to open there (the commitment does not match),
//! even when the tier index is gone. The name is not secret; nothing else changes from
//! version 1, whose envelopes open under any name.

use super::aead::Aead;

use super::keys::{fill_random, KeyProvider, SecretKey};
use rayon::prelude::*;

use crate::error::{Error, ErrorKind, Result};

/// First bytes of every encrypted object.
pub const MAGIC: &[u8; 6] = b"STRENC";
/// The envelope format this version writes.
pub const ENVELOPE_VERSION: u8 = 2;
/// The oldest envelope format this version reads.
const OLDEST_VERSION: u8 = 1;
const ALG_AES_256_GCM: u8 = 1;
/// Plaintext bytes per chunk unless configured otherwise.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;
const MIN_CHUNK: u32 = 1024;
const MAX_CHUNK: u32 = 16 * 1024 * 1024;
const TAG_LEN: usize = 16;
const FIXED_LEN: usize = 69;
/// Longest possible header; reading this many bytes always covers it.
pub const MAX_HEADER_LEN: usize = FIXED_LEN + 255 + 2 + 1024;

/// The parsed header of an encrypted object.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// Format version.
    pub version: u8,
    /// Plaintext bytes per chunk.
    pub chunk_size: u32,
    object_id: [u8; 16],
    nonce_prefix: [u8; 8],
    commitment: [u8; 32],
    /// The key-encryption key the data key is wrapped under.
    pub key_id: String,
    wrapped_key: Vec<u8>,
}

impl std::fmt::Debug for EnvelopeHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvelopeHeader")
            .field("version", &self.version)
            .field("chunk_size", &self.chunk_size)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

fn auth_error(what: &str) -> Error {
    Error::new(
        ErrorKind::Crypto,
        format!("encrypted object failed authentication: {what}"),
    )
}

/// Whether `bytes` start like an encrypted object.
pub fn is_encrypted(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

impl EnvelopeHeader {
    /// Parses a header from the start of `bytes`; returns it and its length.
    pub fn parse(bytes: &[u8]) -> Result<(Self, usize)> {
        if bytes.len() < FIXED_LEN || !is_encrypted(bytes) {
            return Err(auth_error("not a strata envelope or header truncated"));
        }
        let version = bytes[6];
        if !(OLDEST_VERSION..=ENVELOPE_VERSION).contains(&version) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "envelope format {version} is not supported (this strata reads \
                     {OLDEST_VERSION} to {ENVELOPE_VERSION})"
                ),
            ));
        }
        if bytes[7] != ALG_AES_256_GCM {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("envelope algorithm {} is not supported", bytes[7]),
            ));
        }
        let chunk_size = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk_size) {
            return Err(auth_error("chunk size out of range"));
        }
        let mut object_id = [0u8; 16];
        object_id.copy_from_slice(&bytes[12..28]);
        let mut nonce_prefix = [0u8; 8];
        nonce_prefix.copy_from_slice(&bytes[28..36]);
        let mut commitment = [0u8; 32];
        commitment.copy_from_slice(&bytes[36..68]);
        let n = bytes[68] as usize;
        let id_end = FIXED_LEN + n;
        if n == 0 || bytes.len() < id_end + 2 {
            return Err(auth_error("header truncated in the key id"));
        }
        let key_id = std::str::from_utf8(&bytes[FIXED_LEN..id_end])
            .map_err(|_| auth_error("key id is not UTF-8"))?
            .to_string();
        let m = u16::from_be_bytes([bytes[id_end], bytes[id_end + 1]]) as usize;
        let end = id_end + 2 + m;
        if m == 0 || m > 1024 || bytes.len() < end {
            return Err(auth_error("header truncated in the wrapped key"));
        }
        let header = EnvelopeHeader {
            version,
            chunk_size,
            object_id,
            nonce_prefix,
            commitment,
            key_id,
            wrapped_key: bytes[id_end + 2..end].to_vec(),
        };
        Ok((header, end))
    }

    /// The header's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(FIXED_LEN + self.key_id.len() + 2 + self.wrapped_key.len());
        out.extend_from_slice(&self.fixed_fields());
        out.extend_from_slice(&self.commitment);
        out.push(self.key_id.len() as u8);
        out.extend_from_slice(self.key_id.as_bytes());
        out.extend_from_slice(&(self.wrapped_key.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.wrapped_key);
        out
    }

    /// Bytes 0..36: everything the commitment covers.
    fn fixed_fields(&self) -> [u8; 36] {
        let mut out = [0u8; 36];
        out[..6].copy_from_slice(MAGIC);
        out[6] = self.version;
        out[7] = ALG_AES_256_GCM;
        out[8..12].copy_from_slice(&self.chunk_size.to_be_bytes());
        out[12..28].copy_from_slice(&self.object_id);
        out[28..36].copy_from_slice(&self.nonce_prefix);
        out
    }

    /// The envelope's random object id, hex: it names this encryption of the object.
    pub fn object_id(&self) -> String {
        self.object_id.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn wrap_context(&self, key_id: &str, name: &str) -> Vec<u8> {
        let mut ctx = format!("strata-envelope-v{}", self.version).into_bytes();
        ctx.extend_from_slice(&self.object_id);
        ctx.extend_from_slice(key_id.as_bytes());
        if self.version >= 2 {
            ctx.push(0);
            ctx.extend_from_slice(name.as_bytes());
        }
        ctx
    }

    fn commit(&self, data_key: &SecretKey, name: &str) -> [u8; 32] {
        if self.version < 2 {
            let commit_key =
                blake3::derive_key("strata envelope v1 key commitment", data_key.bytes());
            return *blake3::keyed_hash(&commit_key, &self.fixed_fields()).as_bytes();
        }
        let commit_key = blake3::derive_key("strata envelope v2 key commitment", data_key.bytes());
        let mut hasher = blake3::Hasher::new_keyed(&commit_key);
        hasher.update(&self.fixed_fields());
        hasher.update(&(name.len() as u64).to_be_bytes());
        hasher.update(name.as_bytes());
        *hasher.finalize().as_bytes()
    }

    /// Unwraps the data key and checks the commitment against `name` (the name the envelope
    /// was sealed under; version 1 envelopes are not bound to one).
    fn data_key(&self, keys: &dyn KeyProvider, name: &str) -> Result<SecretKey> {
        if self.key_id.is_empty() || self.key_id.len() > 255 {
            return Err(auth_error("bad key id"));
        }
        let context = self.wrap_context(&self.key_id, name);
        let data_key = keys.unwrap(&self.key_id, &self.wrapped_key, &context).map_err(|e| {
            if self.version >= 2 && e.kind() == ErrorKind::Crypto {
                auth_error("the data key does not unwrap (another key, or an envelope of another object)")
                    .with("key_id", &self.key_id)
            } else {
                e.with("key_id", &self.key_id)
            }
        })?;
        // Constant-time comparison through blake3::Hash's PartialEq.
        if blake3::Hash::from(self.commit(&data_key, name)) != blake3::Hash::from(self.commitment) {
            return Err(auth_error(
                "key commitment mismatch (another key, or an envelope of another object)",
            ));
        }
        Ok(data_key)
    }

    /// Unwraps the data key and checks the commitment; the way to a [`ChunkCipher`]. `name`
    /// is the name the envelope was sealed under.
    pub fn open(&self, keys: &dyn KeyProvider, name: &str) -> Result<ChunkCipher> {
        let data_key = self.data_key(keys, name)?;
        Ok(ChunkCipher::new(self, &data_key))
    }

    /// The same object under key `new_key_id`: only the header changes (key id, wrapped key,
    /// commitment); the chunks stay as they are. The result is always the current format, so a
    /// version 1 envelope comes out as version 2, bound to `name`.
    pub fn rewrap(
        &self,
        keys: &dyn KeyProvider,
        new_key_id: &str,
        name: &str,
    ) -> Result<EnvelopeHeader> {
        check_key_id(new_key_id)?;
        let data_key = self.data_key(keys, name)?;
        let mut header = EnvelopeHeader {
            version: ENVELOPE_VERSION,
            key_id: new_key_id.to_string(),
            wrapped_key: Vec::new(),
            ..self.clone()
        };
        let context = header.wrap_context(new_key_id, name);
        header.wrapped_key = keys.wrap(new_key_id, &data_key, &context)?;
        header.commitment = header.commit(&data_key, name);
        Ok(header)
    }

    /// Plaintext length of an object whose whole envelope is `total` bytes long.
    pub fn plaintext_len(&self, header_len: usize, total: u64) -> Result<u64> {
        let body = total
            .checked_sub(header_len as u64)
            .ok_or_else(|| auth_error("object shorter than its header"))?;
        let sealed = self.chunk_size as u64 + TAG_LEN as u64;
        let (full, rest) = (body / sealed, body % sealed);
        match rest {
            0 if full > 0 => Ok(full * self.chunk_size as u64),
            r if r >= TAG_LEN as u64 => Ok(full * self.chunk_size as u64 + r - TAG_LEN as u64),
            _ => Err(auth_error("truncated chunk")),
        }
    }

    /// Number of chunks holding `plaintext_len` bytes (an empty object has one empty chunk).
    pub fn chunk_count(&self, plaintext_len: u64) -> u64 {
        plaintext_len.div_ceil(self.chunk_size as u64).max(1)
    }

    /// Byte range, within the whole envelope, of chunk `index`.
    pub fn chunk_span(
        &self,
        header_len: usize,
        plaintext_len: u64,
        index: u64,
    ) -> std::ops::Range<u64> {
        let sealed = self.chunk_size as u64 + TAG_LEN as u64;
        let start = header_len as u64 + index * sealed;
        let plain = (plaintext_len - (index * self.chunk_size as u64).min(plaintext_len))
            .min(self.chunk_size as u64);
        start..start + plain + TAG_LEN as u64
    }
}

fn check_key_id(key_id: &str) -> Result<()> {
    if key_id.is_empty() || key_id.len() > 255 {
        return Err(Error::invalid("a key id must be 1 to 255 bytes").with("key_id", key_id));
    }
    Ok(())
}

/// Seals and opens the chunks of one object.
pub struct ChunkCipher {
    cipher: Aead,
    object_id: [u8; 16],
    nonce_prefix: [u8; 8],
    /// Plaintext bytes per chunk.
    pub chunk_size: u32,
}

impl ChunkCipher {
    fn new(header: &EnvelopeHeader, data_key: &SecretKey) -> Self {
        ChunkCipher {
            cipher: Aead::new(data_key.bytes()),
            object_id: header.object_id,
            nonce_prefix: header.nonce_prefix,
            chunk_size: header.chunk_size,
        }
    }

    fn nonce_aad(&self, index: u64, last: bool) -> Result<([u8; 12], [u8; 25])> {
        let index32 =
            u32::try_from(index).map_err(|_| Error::invalid("object has too many chunks"))?;
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&self.nonce_prefix);
        nonce[8..].copy_from_slice(&index32.to_be_bytes());
        let mut aad = [0u8; 25];
        aad[..16].copy_from_slice(&self.object_id);
        aad[16..24].copy_from_slice(&index.to_be_bytes());
        aad[24] = last as u8;
        Ok((nonce, aad))
    }

    /// Appends chunk `index` sealed to `out`.
    pub fn seal_chunk(
        &self,
        index: u64,
        last: bool,
        plain: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let start = out.len();
        out.resize(start + plain.len() + TAG_LEN, 0);
        let result = self.seal_chunk_into(index, last, plain, &mut out[start..]);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Appends the plaintext of sealed chunk `index` to `out`; nothing is appended on failure.
    pub fn open_chunk(
        &self,
        index: u64,
        last: bool,
        sealed: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let body = sealed.len().saturating_sub(TAG_LEN);
        let start = out.len();
        out.resize(start + body.min(self.chunk_size as usize), 0);
        let result = self.open_chunk_into(index, last, sealed, &mut out[start..]);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Decrypts sealed chunk `index` into `dst`, which must be exactly the chunk's plaintext
    /// length. On failure `dst` holds no plaintext (the tag is checked before decrypting).
    fn open_chunk_into(&self, index: u64, last: bool, sealed: &[u8], dst: &mut [u8]) -> Result<()> {
        if sealed.len() < TAG_LEN
            || sealed.len() - TAG_LEN > self.chunk_size as usize
            || sealed.len() - TAG_LEN != dst.len()
        {
            return Err(auth_error("chunk has the wrong length"));
        }
        let (nonce, aad) = self.nonce_aad(index, last)?;
        let (body, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        dst.copy_from_slice(body);
        let tag: &[u8; TAG_LEN] = tag
            .try_into()
            .map_err(|_| auth_error("chunk has the wrong length"))?;
        if self.cipher.open(&nonce, &aad, dst, tag) {
            Ok(())
        } else {
            Err(auth_error(&format!(
                "chunk {index} was altered, moved or cut"
            )))
        }
    }

    /// Seals chunk `index` of `plain` into `dst` (`plain.len() + TAG_LEN` bytes).
    fn seal_chunk_into(&self, index: u64, last: bool, plain: &[u8], dst: &mut [u8]) -> Result<()> {
        let (nonce, aad) = self.nonce_aad(index, last)?;
        let (body, tag_out) = dst.split_at_mut(plain.len());
        body.copy_from_slice(plain);
        let tag = self
            .cipher
            .seal(&nonce, &aad, body)
            .ok_or_else(|| Error::internal("chunk encryption failed"))?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }
}

/// A new header and cipher for one object under `key_id`, bound to `name`.
pub fn new_envelope(
    keys: &dyn KeyProvider,
    key_id: &str,
    chunk_size: u32,
    name: &str,
) -> Result<(EnvelopeHeader, ChunkCipher)> {
    check_key_id(key_id)?;
    if !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk_size) {
        return Err(Error::config(format!(
            "chunk size must be between {MIN_CHUNK} and {MAX_CHUNK} bytes"
        )));
    }
    let data_key = SecretKey::random()?;
    let mut object_id = [0u8; 16];
    let mut nonce_prefix = [0u8; 8];
    fill_random(&mut object_id)?;
    fill_random(&mut nonce_prefix)?;
    let mut header = EnvelopeHeader {
        version: ENVELOPE_VERSION,
        chunk_size,
        object_id,
        nonce_prefix,
        commitment: [0; 32],
        key_id: key_id.to_string(),
        wrapped_key: Vec::new(),
    };
    let context = header.wrap_context(key_id, name);
    header.wrapped_key = keys.wrap(key_id, &data_key, &context)?;
    header.commitment = header.commit(&data_key, name);
    let cipher = ChunkCipher::new(&header, &data_key);
    Ok((header, cipher))
}

/// Encrypts a whole object in memory, chunks in parallel on rayon's pool. The envelope is
/// bound to `name` (strata uses the object's key): it opens only under that name.
pub fn seal(
    keys: &dyn KeyProvider,
    key_id: &str,
    chunk_size: u32,
    name: &str,
    plain: &[u8],
) -> Result<Vec<u8>> {
    let (header, cipher) = new_envelope(keys, key_id, chunk_size, name)?;
    let mut out = header.encode();
    let header_len = out.len();
    let chunks = header.chunk_count(plain.len() as u64);
    let size = chunk_size as usize;
    out.resize(header_len + plain.len() + chunks as usize * TAG_LEN, 0);
    if plain.is_empty() {
        // One empty final chunk: its tag alone proves nothing was cut off.
        return cipher
            .seal_chunk_into(0, true, &[], &mut out[header_len..])
            .map(|_| out);
    }
    out[header_len..]
        .par_chunks_mut(size + TAG_LEN)
        .zip(plain.par_chunks(size))
        .enumerate()
        .try_for_each(|(i, (dst, src))| {
            cipher.seal_chunk_into(i as u64, i as u64 + 1 == chunks, src, dst)
        })?;
    Ok(out)
}

/// An encrypted object in memory, its header parsed and its data key unwrapped.
struct Opened<'a> {
    sealed: &'a [u8],
    header: EnvelopeHeader,
    header_len: usize,
    plain_len: u64,
    chunks: u64,
    cipher: ChunkCipher,
}

impl<'a> Opened<'a> {
    fn new(keys: &dyn KeyProvider, name: &str, sealed: &'a [u8]) -> Result<Self> {
        let (header, header_len) = EnvelopeHeader::parse(sealed)?;
        let plain_len = header.plaintext_len(header_len, sealed.len() as u64)?;
        let cipher = header.open(keys, name)?;
        let chunks = header.chunk_count(plain_len);
        Ok(Opened {
            sealed,
            header,
            header_len,
            plain_len,
            chunks,
            cipher,
        })
    }

    /// Decrypts chunk `i` into `dst` (exactly its plaintext length).
    fn open_chunk(&self, i: u64, dst: &mut [u8]) -> Result<()> {
        let span = self.header.chunk_span(self.header_len, self.plain_len, i);
        let chunk = self
            .sealed
            .get(span.start as usize..span.end as usize)
            .ok_or_else(|| auth_error("truncated chunk"))?;
        self.cipher
            .open_chunk_into(i, i + 1 == self.chunks, chunk, dst)
    }

    /// Decrypts the chunks starting at `first` into `dst` (whole chunks, the last possibly
    /// short), in parallel.
    fn open_chunks(&self, first: u64, dst: &mut [u8]) -> Result<()> {
        if self.plain_len == 0 {
            return self.open_chunk(0, &mut []);
        }
        dst.par_chunks_mut(self.header.chunk_size as usize)
            .enumerate()
            .try_for_each(|(i, dst)| self.open_chunk(first + i as u64, dst))
    }

    /// Plaintext length of chunk `i`.
    fn chunk_len(&self, i: u64) -> usize {
        let span = self.header.chunk_span(self.header_len, self.plain_len, i);
        (span.end - span.start) as usize - TAG_LEN
    }
}

/// Decrypts a whole object in memory, chunks in parallel on rayon's pool; all or nothing.
/// `name` is the name the envelope was sealed under.
pub fn open(keys: &dyn KeyProvider, name: &str, sealed: &[u8]) -> Result<Vec<u8>> {
    let opened = Opened::new(keys, name, sealed)?;
    let mut out = vec![0u8; opened.plain_len as usize];
    opened.open_chunks(0, &mut out)?;
    Ok(out)
}

/// Plaintext bytes decrypted per write in [`open_to`]: small enough to stay in the CPU's
/// caches, large enough to keep every thread busy.
const WINDOW: usize = 1 << 20;

/// Decrypts a whole object into `out`, all or nothing; returns the bytes written. `out`
/// receives nothing unless every chunk authenticates; an error from `out` itself can leave it
/// with part of the plaintext.
///
/// With the `ring` backend there is no buffer of the object's size: every chunk is
/// authenticated first (in parallel, the plaintext thrown away), then decrypted again a window
/// at a time and written. Twice the AES work, but no large allocation to fault in and no
/// second copy of the plaintext, which cost more than ring's AES work on big objects. With the
/// slower `aes-gcm` backend, the object is decrypted once into a buffer, then written.
pub fn open_to(
    keys: &dyn KeyProvider,
    name: &str,
    sealed: &[u8],
    out: &mut dyn std::io::Write,
) -> Result<u64> {
    let write_err =
        |e: std::io::Error| Error::new(ErrorKind::Io, format!("writing output failed: {e}"));
    let opened = Opened::new(keys, name, sealed)?;
    if !opened.cipher.cipher.is_fast() {
        let mut plain = vec![0u8; opened.plain_len as usize];
        opened.open_chunks(0, &mut plain)?;
        out.write_all(&plain).map_err(write_err)?;
        return Ok(opened.plain_len);
    }
    // Chunks are counted in u32 (their nonces), so they fit in usize.
    (0..opened.chunks as usize)
        .into_par_iter()
        .with_min_len(8)
        .try_for_each_init(Vec::new, |scratch, i| {
            scratch.resize(opened.chunk_len(i as u64), 0);
            opened.open_chunk(i as u64, scratch)
        })?;
    let per_window = (WINDOW / opened.header.chunk_size as usize).max(1) as u64;
    let mut window = Vec::new();
    let mut first = 0;
    while first < opened.chunks {
        let last = (first + per_window).min(opened.chunks);
        let len = (first..last).map(|i| opened.chunk_len(i)).sum();
        window.resize(len, 0);
        opened.open_chunks(first, &mut window)?;
        out.write_all(&window).map_err(write_err)?;
        first = last;
    }
    Ok(opened.plain_len)
}

/// Encrypts a stream: push plaintext as it arrives, take sealed bytes out.
///
/// The last chunk must carry the final flag, so one chunk's worth is held back until more data
/// or [`Sealer::finish`] shows whether it is the last.
pub struct Sealer {
    cipher: ChunkCipher,
    pending: Vec<u8>,
    next: u64,
}

impl Sealer {
    /// A sealer for a new object under `key_id` bound to `name`, and the header bytes to
    /// write first.
    pub fn new(
        keys: &dyn KeyProvider,
        key_id: &str,
        chunk_size: u32,
        name: &str,
    ) -> Result<(Self, EnvelopeHeader)> {
        let (header, cipher) = new_envelope(keys, key_id, chunk_size, name)?;
        Ok((
            Sealer {
                cipher,
                pending: Vec::with_capacity(chunk_size as usize * 2),
                next: 0,
            },
            header,
        ))
    }

    /// Takes `data`; appends every chunk now known not to be the last to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let size = self.cipher.chunk_size as usize;
        self.pending.extend_from_slice(data);
        let mut start = 0;
        while self.pending.len() - start > size {
            self.cipher
                .seal_chunk(self.next, false, &self.pending[start..start + size], out)?;
            self.next += 1;
            start += size;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Seals the last chunk into `out`.
    pub fn finish(self, out: &mut Vec<u8>) -> Result<()> {
        self.cipher.seal_chunk(self.next, true, &self.pending, out)
    }
}
