//! `strata key`: the key ring of encryption at rest.

use std::io::Write;

use clap::Subcommand;
use strata::{open_mask_keys, KeyProvider, KeyRing, LakeConfig, Store};

use crate::util::{io, time, with_progress, write_json};

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Add a new key to the key ring and make it active for new objects.
    New {
        /// The new key's id (default: generated).
        #[arg(long)]
        id: Option<String>,
        /// Instead, add a new version of masking key ID (wrapped under the active key): new
        /// tokens and hashes use it, old tokens stay readable, `strata mask --retokenize`
        /// moves them.
        #[arg(long, value_name = "ID", conflicts_with = "id")]
        mask: Option<String>,
    },
    /// List keys (never their material) and how many objects each protects.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a new active key and re-wrap every object's data key under it (headers only).
    Rotate {
        #[arg(long)]
        json: bool,
    },
    /// Remove a key from the ring; refused while any object still refers to it.
    Retire { id: String },
}

pub fn run(config: &LakeConfig, command: KeyCommand, out: &mut dyn Write) -> strata::Result<()> {
    let store = Store::open(config)?;
    let path = store.keyring_path();
    match command {
        KeyCommand::New {
            mask: Some(mask), ..
        } => {
            let mut keys = open_mask_keys(config, true)?;
            let version = keys.add_version(&mask)?;
            writeln!(
                out,
                "masking key {mask} version {version} is now current ({})",
                keys.path().display()
            )
            .map_err(io)
        }
        KeyCommand::New { id, .. } => {
            let id = if path.exists() {
                KeyRing::load(&path)?.add_key(id.as_deref())?
            } else {
                KeyRing::create(&path, id.as_deref())?.active_key_id()?
            };
            writeln!(out, "key {id} is now active (key ring {})", path.display()).map_err(io)
        }
        KeyCommand::List { json } => {
            let ring = KeyRing::load(&path)?;
            let usage = store.key_usage()?;
            let masks = open_mask_keys(config, false)?.list();
            let rows: Vec<_> = ring
                .list()
                .into_iter()
                .map(|k| {
                    // The masking key versions wrapped under this key (additive to the
                    // original shape, so scripts reading `objects` keep working).
                    let wrapped: Vec<_> = masks
                        .iter()
                        .filter(|m| m.kek == k.id)
                        .map(|m| {
                            serde_json::json!({
                                "id": m.id,
                                "version": m.version,
                                "created": time(m.created_ms),
                            })
                        })
                        .collect();
                    serde_json::json!({
                        "id": k.id,
                        "active": k.active,
                        "created": time(k.created_ms),
                        "objects": usage.get(&k.id).copied().unwrap_or(0),
                        "masking_keys": wrapped,
                    })
                })
                .collect();
            if json {
                return writeln!(out, "{}", serde_json::Value::Array(rows)).map_err(io);
            }
            for r in rows {
                writeln!(
                    out,
                    "{}  {}  {:>8} objects{}",
                    r["id"].as_str().unwrap_or(""),
                    r["created"].as_str().unwrap_or(""),
                    r["objects"],
                    if r["active"] == true {
                        "  (active)"
                    } else {
                        ""
                    }
                )
                .map_err(io)?;
                for m in r["masking_keys"].as_array().into_iter().flatten() {
                    writeln!(
                        out,
                        "    masking key {} v{}  {}",
                        m["id"].as_str().unwrap_or(""),
                        m["version"],
                        m["created"].as_str().unwrap_or("")
                    )
                    .map_err(io)?;
                }
            }
            Ok(())
        }
        KeyCommand::Rotate { json } => {
            let mut ring = KeyRing::load_or_create(&path)?;
            let id = ring.add_key(None)?;
            store.set_key_provider(std::sync::Arc::new(ring));
            let report = with_progress("rotate", |progress| store.rotate_keys(&id, progress))?;
            // Masking keys are wrapped like data keys: move them too, so the old key can retire.
            let masks = open_mask_keys(config, false)?.rewrap(&id)?;
            if json {
                write_json(out, &report)?;
            } else {
                writeln!(
                    out,
                    "new active key {id}; re-wrapped {} objects ({} failed) and {masks} masking keys",
                    report.rewrapped,
                    report.failed.len()
                )
                .map_err(io)?;
            }
            if !report.failed.is_empty() {
                return Err(strata::Error::new(
                    strata::ErrorKind::Crypto,
                    format!(
                        "{} objects were not re-wrapped; rerun `strata key rotate`",
                        report.failed.len()
                    ),
                ));
            }
            Ok(())
        }
        KeyCommand::Retire { id } => {
            let mut ring = KeyRing::load(&path)?;
            let used = store.key_usage()?.get(&id).copied().unwrap_or(0)
                + open_mask_keys(config, false)?
                    .kek_usage()
                    .get(&id)
                    .copied()
                    .unwrap_or(0);
            if used > 0 {
                return Err(strata::Error::new(
                    strata::ErrorKind::InvalidArgument,
                    format!(
                        "key {id} still protects {used} objects or masking keys; run `strata key rotate` first"
                    ),
                ));
            }
            ring.remove_key(&id)?;
            writeln!(out, "retired key {id}").map_err(io)
        }
    }
}
