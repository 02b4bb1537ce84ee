//! What a sync knows of its destination: the copies it made and verified.
//!
//! Kept in the data root under `_sync/`, one pair of files per (source tier, destination):
//! a manifest (`<id>.json`, rewritten whole at the end of a run that changed something) and
//! a journal (`<id>.journal`, one JSON line per verified copy or delete, appended as the run
//! goes). A run starts from the manifest with the journal replayed over it, so a run killed
//! halfway leaves every copy it verified recorded, and the next run copies only the rest. A
//! torn last line (the kill came mid-write) is ignored: that copy is made again.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// The directory of sync state inside the data root.
pub const SYNC_DIR: &str = "_sync";

/// Format of the manifest file.
const MANIFEST_FORMAT: u32 = 1;

/// A verified copy in the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Copied {
    /// BLAKE3 of the stored bytes, hex.
    pub checksum: String,
    /// Stored size.
    pub size: u64,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    source: String,
    destination: String,
    objects: BTreeMap<String, Copied>,
}

/// One line of the journal: a verified copy, or a delete (`d`).
#[derive(Serialize, Deserialize)]
struct Line {
    k: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<String>,
    #[serde(default)]
    s: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    d: bool,
}

/// The state of one sync pair, open for a run.
pub(crate) struct SyncJournal {
    manifest: PathBuf,
    journal: PathBuf,
    source: String,
    destination: String,
    /// The copies known verified: the manifest with the journal replayed.
    pub objects: BTreeMap<String, Copied>,
    /// Lines found in the journal at open: verified work of an interrupted run.
    pub replayed: u64,
    out: Option<std::fs::File>,
    appended: u64,
}

impl SyncJournal {
    /// Opens (or starts) the state of the pair `source` -> `destination` (both described by
    /// their locations, so that a tier pointed elsewhere starts afresh) in `root/_sync/`.
    pub fn open(root: &Path, source: &str, destination: &str) -> Result<SyncJournal> {
        let dir = root.join(SYNC_DIR);
        let id = pair_id(source, destination);
        let manifest = dir.join(format!("{id}.json"));
        let journal = dir.join(format!("{id}.journal"));
        let mut objects = match std::fs::read(&manifest) {
            Ok(bytes) => {
                let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::corrupt(format!(
                        "the sync manifest is unreadable ({e}); delete it to sync everything again"
                    ))
                    .with("path", manifest.display())
                })?;
                if m.format != MANIFEST_FORMAT {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!("sync manifest format {} is not supported", m.format),
                    )
                    .with("path", manifest.display()));
                }
                m.objects
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(Error::io("cannot read the sync manifest", &manifest, e)),
        };
        let mut replayed = 0;
        match std::fs::File::open(&journal) {
            Ok(file) => {
                for line in std::io::BufReader::new(file).lines() {
                    let Ok(line) = line else { break };
                    // A torn last line: the copy it would have recorded is made again.
                    let Ok(line) = serde_json::from_str::<Line>(&line) else {
                        break;
                    };
                    replayed += 1;
                    match (line.d, line.c) {
                        (true, _) | (false, None) => {
                            objects.remove(&line.k);
                        }
                        (false, Some(checksum)) => {
                            objects.insert(
                                line.k,
                                Copied {
                                    checksum,
                                    size: line.s,
                                },
                            );
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("cannot read the sync journal", &journal, e)),
        }
        Ok(SyncJournal {
            manifest,
            journal,
            source: source.to_string(),
            destination: destination.to_string(),
            objects,
            replayed,
            out: None,
            appended: 0,
        })
    }

    /// Records a verified copy (written at once, so a kill after this keeps it).
    pub fn copied(&mut self, key: &str, checksum: &str, size: u64) -> Result<()> {
        self.append(&Line {
            k: key.to_string(),
            c: Some(checksum.to_string()),
            s: size,
            d: false,
        })?;
        self.objects.insert(
            key.to_string(),
            Copied {
                checksum: checksum.to_string(),
                size,
            },
        );
        Ok(())
    }

    /// Records that the destination no longer holds `key`.
    pub fn removed(&mut self, key: &str) -> Result<()> {
        if self.objects.remove(key).is_none() {
            return Ok(());
        }
        self.append(&Line {
            k: key.to_string(),
            c: None,
            s: 0,
            d: true,
        })
    }

    fn append(&mut self, line: &Line) -> Result<()> {
        if self.out.is_none() {
            let dir = self.journal.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io("cannot create the sync directory", dir, e))?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.journal)
                .map_err(|e| Error::io("cannot open the sync journal", &self.journal, e))?;
            self.out = Some(file);
        }
        let mut text = serde_json::to_vec(line)
            .map_err(|e| Error::internal(format!("encode sync journal line: {e}")))?;
        text.push(b'\n');
        if let Some(out) = &mut self.out {
            // One write per line: a process killed after it keeps the line.
            out.write_all(&text)
                .map_err(|e| Error::io("cannot write the sync journal", &self.journal, e))?;
        }
        self.appended += 1;
        Ok(())
    }

    /// Folds the journal into the manifest (only when something was recorded).
    pub fn checkpoint(mut self) -> Result<()> {
        if self.appended == 0 && self.replayed == 0 {
            return Ok(());
        }
        if let Some(out) = self.out.take() {
            out.sync_data()
                .map_err(|e| Error::io("cannot sync the sync journal", &self.journal, e))?;
        }
        let dir = self.manifest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("cannot create the sync directory", dir, e))?;
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            source: self.source.clone(),
            destination: self.destination.clone(),
            objects: std::mem::take(&mut self.objects),
        };
        let bytes = serde_json::to_vec(&manifest)
            .map_err(|e| Error::internal(format!("encode sync manifest: {e}")))?;
        let mut file = crate::atomic_file::AtomicFile::create(&self.manifest)?;
        file.write_all(&bytes)
            .map_err(|e| Error::io("cannot write the sync manifest", &self.manifest, e))?;
        file.commit()?;
        // Replaying the journal over the new manifest changes nothing, so a crash before this
        // line is harmless.
        match std::fs::remove_file(&self.journal) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(
                "cannot remove the sync journal",
                &self.journal,
                e,
            )),
        }
    }
}

/// A file name for the pair: readable tier names and a hash of the locations.
fn pair_id(source: &str, destination: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(source.as_bytes());
    hasher.update(&[0]);
    hasher.update(destination.as_bytes());
    let hash = hasher.finalize().to_hex();
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(32)
            .collect()
    };
    format!("{}--{}--{}", safe(source), safe(destination), &hash[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_survives_without_a_checkpoint_and_a_torn_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = SyncJournal::open(dir.path(), "hot", "cold").unwrap();
        j.copied("a", "c1", 1).unwrap();
        j.copied("b", "c2", 2).unwrap();
        j.removed("a").unwrap();
        drop(j);
        let path = std::fs::read_dir(dir.path().join(SYNC_DIR))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "journal"))
            .unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"k\":\"c\",\"c\":\"x").unwrap();
        let j = SyncJournal::open(dir.path(), "hot", "cold").unwrap();
        assert_eq!(j.replayed, 3);
        assert_eq!(j.objects.keys().collect::<Vec<_>>(), vec!["b"]);
        j.checkpoint().unwrap();
        assert!(!path.exists());
        let j = SyncJournal::open(dir.path(), "hot", "cold").unwrap();
        assert_eq!(j.replayed, 0);
        assert_eq!(j.objects["b"].size, 2);
        assert!(SyncJournal::open(dir.path(), "hot", "elsewhere")
            .unwrap()
            .objects
            .is_empty());
    }
}
