//! The key provider a configuration names: the environment key, else the key ring file.

use std::path::PathBuf;
use std::sync::Arc;

use super::keyring::KeyRing;
use super::keys::{EnvKeyProvider, KeyProvider};
use crate::config::LakeConfig;
use crate::error::{Error, Result};

/// Key file name inside the data root when the config names none.
pub const KEYRING_FILE: &str = "keyring.toml";

/// Path of the key ring `config` names (default `<dir>/keyring.toml`).
pub(crate) fn keyring_path(config: &LakeConfig) -> PathBuf {
    match &config.encryption.keyring {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => config.dir.join(p),
        None => config.dir.join(KEYRING_FILE),
    }
}

/// The key provider `config` names, without opening the store (so without taking the data
/// root's lock): the environment key, else the key ring, created when `create` is set.
/// A missing ring without `create` is [`crate::ErrorKind::NotFound`].
pub fn open_key_provider(config: &LakeConfig, create: bool) -> Result<Arc<dyn KeyProvider>> {
    if let Some(var) = &config.encryption.key_env {
        return Ok(Arc::new(EnvKeyProvider::from_env(var, "env")?));
    }
    let path = keyring_path(config);
    if !create && !path.exists() {
        return Err(Error::not_found("there is no key ring").with("path", path.display()));
    }
    Ok(Arc::new(KeyRing::load_or_create(&path)?))
}
