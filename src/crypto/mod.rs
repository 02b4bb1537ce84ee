//! Encryption at rest: the envelope format of encrypted objects and the key providers.

mod aead;
mod envelope;
mod keyring;
mod keys;
mod parquet;
mod provider;

pub use self::parquet::{ParquetDecryption, ParquetEncryption};
pub use aead::{aead_backend, set_aead_backend, AeadBackend, AEAD_BACKEND_ENV};
pub use envelope::{
    is_encrypted, new_envelope, open, open_to, seal, ChunkCipher, EnvelopeHeader, Sealer,
    DEFAULT_CHUNK_SIZE, ENVELOPE_VERSION, MAX_HEADER_LEN,
};
pub(crate) use keyring::{check_private, write_private};
pub use keyring::{KeyInfo, KeyRing};
pub use keys::{CallbackKeyProvider, EnvKeyProvider, KeyProvider, SecretKey, WrapFn, KEY_LEN};
pub(crate) use provider::keyring_path;
pub use provider::{open_key_provider, KEYRING_FILE};
