//! `strata key`: the key ring of encryption at rest.

use std::io::Write;

use clap::Subcommand;
use strata::{Lake, LakeConfig};

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
    let lake = Lake::open(config)?;
    let keys = lake.keys();
    match command {
        KeyCommand::New {
            mask: Some(mask), ..
        } => {
            let version = keys.new_masking_version(&mask)?;
            writeln!(
                out,
                "masking key {mask} version {version} is now current ({})",
                keys.masking(false)?.path().display()
            )
            .map_err(io)
        }
        KeyCommand::New { id, .. } => {
            let id = keys.new_key(id.as_deref())?;
            writeln!(
                out,
                "key {id} is now active (key ring {})",
                lake.store().keyring_path().display()
            )
            .map_err(io)
        }
        KeyCommand::List { json } => {
            let rows: Vec<_> = keys
                .list()?
                .into_iter()
                .map(|k| {
                    // The masking key versions wrapped under this key (additive to the
                    // original shape, so scripts reading `objects` keep working).
                    let wrapped: Vec<_> = k
                        .masking_keys
                        .iter()
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
                        "objects": k.objects,
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
            let summary = with_progress("rotate", |progress| keys.rotate(progress))?;
            if json {
                // The store's rotation report, as before.
                write_json(
                    out,
                    &serde_json::json!({
                        "key_id": summary.key_id,
                        "rewrapped": summary.rewrapped,
                        "failed": summary.failed,
                    }),
                )?;
            } else {
                writeln!(
                    out,
                    "new active key {}; re-wrapped {} objects ({} failed) and {} masking keys",
                    summary.key_id,
                    summary.rewrapped,
                    summary.failed.len(),
                    summary.masking_keys
                )
                .map_err(io)?;
            }
            if !summary.failed.is_empty() {
                return Err(strata::Error::new(
                    strata::ErrorKind::Crypto,
                    format!(
                        "{} objects were not re-wrapped; rerun `strata key rotate`",
                        summary.failed.len()
                    ),
                ));
            }
            Ok(())
        }
        KeyCommand::Retire { id } => {
            keys.retire(&id)?;
            writeln!(out, "retired key {id}").map_err(io)
        }
    }
}
