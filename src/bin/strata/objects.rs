//! Object commands: put, get, ls, stat and rm.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use strata::{Lake, LakeConfig, ObjectInfo};

use crate::util::{io, output_file, time};

#[derive(Subcommand)]
pub enum ObjectCommand {
    /// Store a file (or stdin with `-`) under KEY.
    Put {
        key: String,
        file: PathBuf,
        /// Encrypt it (AES-256-GCM envelope) whatever the policy says.
        #[arg(long, conflicts_with = "no_encrypt")]
        encrypt: bool,
        /// Store it in clear text whatever the policy says.
        #[arg(long)]
        no_encrypt: bool,
    },
    /// Write the object KEY to stdout or to a file.
    Get {
        key: String,
        /// Output file (default, or `-`: stdout). A regular file is written beside and
        /// renamed over OUT, so it is never left half-written; a character device, FIFO or
        /// socket is written directly; a symlink is written through.
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
    },
    /// List objects whose keys start with PREFIX.
    Ls {
        prefix: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show where an object lives, its size, checksum and access statistics.
    Stat {
        key: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete an object.
    Rm { key: String },
}

pub fn run(config: &LakeConfig, command: ObjectCommand, out: &mut dyn Write) -> strata::Result<()> {
    match command {
        ObjectCommand::Put {
            key,
            file,
            encrypt,
            no_encrypt,
        } => {
            let store = Lake::open(config)?;
            let options = strata::PutOptions {
                encrypt: if encrypt {
                    Some(true)
                } else if no_encrypt {
                    Some(false)
                } else {
                    None
                },
            };
            let info = if file.as_os_str() == "-" {
                store.put_reader(&key, &mut std::io::stdin().lock(), None, &options)?
            } else {
                store.put_file(&key, &file, &options)?
            };
            let sealed = info
                .key_id
                .as_deref()
                .map(|k| format!(", encrypted under key {k}"))
                .unwrap_or_default();
            writeln!(
                out,
                "put {} ({} bytes) in tier {}{sealed}",
                info.key, info.size, info.tier
            )
            .map_err(io)
        }
        ObjectCommand::Get { key, output } => {
            let store = Lake::open(config)?;
            match output_file(output.as_deref())? {
                Some(mut file) => {
                    store.get_to(&key, &mut file)?;
                    file.commit()
                }
                None => {
                    store.get_to(&key, out)?;
                    out.flush().map_err(io)
                }
            }
        }
        ObjectCommand::Ls { prefix, json } => {
            let store = Lake::open(config)?;
            let objects = store.list(prefix.as_deref().unwrap_or(""))?;
            if json {
                let rows: Vec<_> = objects.iter().map(info_json).collect();
                writeln!(out, "{}", serde_json::Value::Array(rows)).map_err(io)
            } else {
                for o in &objects {
                    writeln!(
                        out,
                        "{:>12}  {:<6}  {}  {}",
                        o.size,
                        o.tier,
                        time(o.created_ms),
                        o.key
                    )
                    .map_err(io)?;
                }
                Ok(())
            }
        }
        ObjectCommand::Stat { key, json } => {
            let store = Lake::open(config)?;
            let info = store.stat(&key)?;
            if json {
                writeln!(out, "{}", info_json(&info)).map_err(io)
            } else {
                writeln!(
                    out,
                    "key:          {}\ntier:         {}\nsize:         {}\nstored size:  {}\nchecksum:     blake3:{} (of the stored bytes)\ncreated:      {}\nlast access:  {}\naccess count: {}",
                    info.key, info.tier, info.size, info.stored_size, info.checksum, time(info.created_ms), time(info.last_access_ms), info.access_count
                )
                .map_err(io)?;
                match (&info.key_id, info.envelope_version) {
                    (Some(key_id), Some(v)) => writeln!(
                        out,
                        "encryption:   AES-256-GCM envelope format {v}, key {key_id}"
                    ),
                    _ => writeln!(out, "encryption:   none"),
                }
                .map_err(io)
            }
        }
        ObjectCommand::Rm { key } => {
            let store = Lake::open(config)?;
            store.delete(&key)?;
            writeln!(out, "removed {key}").map_err(io)
        }
    }
}

fn info_json(o: &ObjectInfo) -> serde_json::Value {
    serde_json::json!({
        "key": o.key,
        "tier": o.tier,
        "size": o.size,
        "checksum": o.checksum,
        "created_ms": o.created_ms,
        "created": time(o.created_ms),
        "last_access_ms": o.last_access_ms,
        "last_access": time(o.last_access_ms),
        "access_count": o.access_count,
        "stored_size": o.stored_size,
        "key_id": o.key_id,
        "envelope_version": o.envelope_version,
    })
}
