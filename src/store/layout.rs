//! Where tiers may live: checked before anything is opened.
//!
//! Two tiers sharing a directory (or one inside the other) would each see the other's objects
//! as their own, and a `tier run` moving between them deletes what it just copied. A tier at
//! or above the data root would make strata's own files (index, key ring, lock) look like
//! objects. Both are refused at open with one line naming the tiers and paths.

use std::path::{Component, Path, PathBuf};

use super::tier::local_dir_of;
use crate::config::{LakeConfig, TierKind};
use crate::error::{Error, Result};

/// Refuses tier layouts that overlap each other or the data root's own files.
pub(crate) fn check(config: &LakeConfig, keyring: &Path) -> Result<()> {
    let root = resolve(&config.dir)?;
    let mut locals: Vec<(&str, PathBuf)> = Vec::new();
    for tier in &config.tiers {
        if let Some(dir) = local_dir_of(tier, &config.dir) {
            let dir = resolve(&dir)?;
            if root.starts_with(&dir) {
                return Err(Error::config(format!(
                    "tier {:?} at {} holds the data root {} (its index, lock and keys); give \
                     the tier a directory of its own",
                    tier.name,
                    dir.display(),
                    root.display()
                )));
            }
            for (other, other_dir) in &locals {
                if dir.starts_with(other_dir) || other_dir.starts_with(&dir) {
                    return Err(Error::config(format!(
                        "tiers {other:?} ({}) and {:?} ({}) overlap; each tier needs a \
                         directory of its own",
                        other_dir.display(),
                        tier.name,
                        dir.display()
                    )));
                }
            }
            locals.push((&tier.name, dir));
        }
    }
    let keyring = resolve(keyring)?;
    for (name, dir) in &locals {
        if keyring.starts_with(dir) {
            return Err(Error::config(format!(
                "the key ring {} lies inside tier {name:?} ({}); keep keys out of the tiers",
                keyring.display(),
                dir.display()
            )));
        }
    }
    let mut buckets: Vec<(&str, String, String)> = Vec::new();
    for tier in &config.tiers {
        if let TierKind::S3(s3) = &tier.kind {
            let place = format!("{}|{}", s3.endpoint.as_deref().unwrap_or(""), s3.bucket);
            let prefix = s3
                .prefix
                .as_deref()
                .unwrap_or("")
                .trim_matches('/')
                .to_string();
            for (other, other_place, other_prefix) in &buckets {
                if *other_place == place && prefix_overlap(&prefix, other_prefix) {
                    return Err(Error::config(format!(
                        "tiers {other:?} and {:?} overlap in bucket {} (prefixes {other_prefix:?} \
                         and {prefix:?}); each tier needs a prefix of its own",
                        tier.name, s3.bucket
                    )));
                }
            }
            buckets.push((&tier.name, place, prefix));
        }
    }
    Ok(())
}

/// Whether one key prefix (a path of segments) contains the other.
fn prefix_overlap(a: &str, b: &str) -> bool {
    let contains = |outer: &str, inner: &str| {
        outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}/"))
    };
    contains(a, b) || contains(b, a)
}

/// An absolute path with `.` and `..` resolved and links in its existing part followed, so
/// that two spellings of one directory compare equal.
fn resolve(path: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(path)
        .map_err(|e| Error::io("cannot make the path absolute", path, e))?;
    let mut normal = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    // Follow links in the longest part that exists; keep the rest as written.
    let mut existing = normal.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return Ok(out);
        }
        match (
            existing.file_name().map(|n| n.to_owned()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return Ok(normal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TierConfig;

    fn config(root: &Path, paths: &[(&str, Option<&str>)]) -> LakeConfig {
        let mut config = LakeConfig::local(root);
        config.tiers = paths
            .iter()
            .map(|(name, path)| TierConfig {
                name: name.to_string(),
                kind: TierKind::Local {
                    path: path.map(PathBuf::from),
                },
            })
            .collect();
        config
    }

    #[test]
    fn overlapping_tiers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let keyring = root.join("keyring.toml");
        let ok = config(&root, &[("hot", None), ("cold", Some("../cold"))]);
        check(&ok, &keyring).unwrap();
        for bad in [
            vec![("hot", Some("same")), ("cold", Some("same"))],
            vec![("hot", Some("a")), ("cold", Some("a/b"))],
            vec![("hot", Some("a/b")), ("cold", Some("./a/b/../b"))],
            vec![("hot", Some("."))],
            vec![("hot", Some(".."))],
            vec![("hot", Some("hot/.."))],
        ] {
            let err = check(&config(&root, &bad), &keyring).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config, "{bad:?}: {err}");
            assert!(!err.to_string().contains('\n'), "{err}");
        }
        let inside = config(&root, &[("hot", Some("/tmp/strata-layout-test"))]);
        let err = check(
            &inside,
            Path::new("/tmp/strata-layout-test/keys/keyring.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("key ring"), "{err}");
    }

    #[test]
    fn s3_prefixes_overlap_by_segment() {
        assert!(prefix_overlap("", "a"));
        assert!(prefix_overlap("a", "a/b"));
        assert!(prefix_overlap("a", "a"));
        assert!(!prefix_overlap("a", "ab"));
        assert!(!prefix_overlap("a/b", "a/c"));
    }
}
