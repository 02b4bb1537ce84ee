//! Shared by the crash tests (the kill -9 campaign, strace's fault injection): a seeded random
//! source for kill times, running a command and killing it, and the checks that a data root
//! is whole after a crash.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use strata::{
    config::TierKind,
    store::{ActionKind, Store},
    ErrorKind, LakeConfig,
};

/// splitmix64: seedable, so a failing campaign can be replayed with its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// Uniform in `lo..hi` (`lo` when the span is empty).
    pub fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        if hi <= lo {
            return lo;
        }
        let span = u64::try_from((hi - lo).as_nanos()).unwrap_or(u64::MAX);
        lo + Duration::from_nanos(self.below(span))
    }
}

/// Prints `line` where `cargo test` shows it even for a passing test.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The seed of a campaign: `STRATA_CRASH_SEED` replays one, else a fresh one. Printed.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("STRATA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| super::unique() as u64);
    say(&format!(
        "{test}: seed {seed} (replay with STRATA_CRASH_SEED={seed})"
    ));
    seed
}

/// How a run that was to be killed ended.
#[derive(Debug)]
pub enum Ending {
    /// SIGKILL ended it.
    Killed,
    /// It ended on its own first, with this status and stderr.
    Exited(ExitStatus, String),
}

/// Runs `cmd`, sends it SIGKILL `delay` after the spawn unless it has ended by then, and
/// reaps it (so the OS has released its files and locks when this returns).
pub fn run_killed(cmd: &mut Command, delay: Duration) -> Ending {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the command to kill");
    std::thread::sleep(delay);
    // On a child that already ended (and is not reaped yet) this does nothing.
    let _ = child.kill();
    let out = child.wait_with_output().expect("reap the killed command");
    if out.status.signal() == Some(libc::SIGKILL) {
        Ending::Killed
    } else {
        Ending::Exited(
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Runs `cmd` to its end, asserting success; returns how long it took.
pub fn run_timed(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.stdin(Stdio::null()).output().expect("run the command");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// When to kill a run: a fifth of the kills before the operation (process start and store
/// open, which take `startup`), seven tenths while it runs (until `whole`, the time an
/// uninterrupted run takes) and a tenth around its end (until half again past it, where the
/// process is exiting or gone).
pub fn kill_delay(rng: &mut Rng, startup: Duration, whole: Duration) -> Duration {
    let whole = whole.max(startup + Duration::from_millis(1));
    match rng.below(10) {
        0 | 1 => rng.between(Duration::ZERO, startup),
        9 => rng.between(whole, whole + whole / 2),
        _ => rng.between(startup * 4 / 5, whole),
    }
}

/// The directories of the local tiers of `config`.
pub fn local_tier_dirs(config: &LakeConfig) -> Vec<(String, PathBuf)> {
    config
        .tiers
        .iter()
        .filter_map(|t| match &t.kind {
            TierKind::Local { path: Some(p) } if p.is_absolute() => {
                Some((t.name.clone(), p.clone()))
            }
            TierKind::Local { path: Some(p) } => Some((t.name.clone(), config.dir.join(p))),
            TierKind::Local { path: None } => Some((t.name.clone(), config.dir.join(&t.name))),
            _ => None,
        })
        .collect()
}

/// Files under `dir` (relative paths joined with `/`), strata's own `.strata/` skipped.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if rel.is_empty() && name == ".strata" {
                continue;
            }
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                todo.push((e.path(), r));
            } else {
                out.push(r);
            }
        }
    }
    out.sort();
    out
}

/// A data root with a config file for the CLI and the same config for the library.
pub struct Root {
    pub tmp: tempfile::TempDir,
    pub cfg_path: PathBuf,
    pub config: LakeConfig,
}

impl Root {
    /// Two local tiers (hot, cold) plus `tables` TOML. The lock timeout covers a moment's
    /// hold by a process another test forks (see `check_root`).
    pub fn new(tables: &str) -> Root {
        Root::with("", tables)
    }

    /// [`Root::new`] with top-level settings `top` too.
    pub fn with(top: &str, tables: &str) -> Root {
        let tmp = tempfile::tempdir().unwrap();
        let cfg_path = tmp.path().join("strata.toml");
        let text = format!(
            "dir = {:?}\nlock_timeout = \"5s\"\n{top}\
             [[tiers]]\nname = \"hot\"\nkind = \"local\"\n\
             [[tiers]]\nname = \"cold\"\nkind = \"local\"\n{tables}",
            tmp.path().join("root").display().to_string()
        );
        std::fs::write(&cfg_path, text).unwrap();
        let config = LakeConfig::from_file(&cfg_path).unwrap();
        Root {
            tmp,
            cfg_path,
            config,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `strata --config <this root's config> ARGS`.
    pub fn cli(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(super::strata_bin());
        cmd.arg("--config").arg(&self.cfg_path).args(args);
        cmd
    }

    pub fn store(&self) -> Store {
        Store::open(&self.config).unwrap()
    }

    /// Time of a run that starts, opens the store and does nothing (the "before" window):
    /// the quickest of three.
    pub fn startup(&self) -> Duration {
        (0..3)
            .map(|_| run_timed(&mut self.cli(&["ls", "nothing-here/"])))
            .min()
            .unwrap()
    }
}

/// How long a check waits for the root lock (see `check_root`), and the `lock_timeout` the
/// crash tests give the CLI for the same reason.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

/// What each key may hold after a crash: one of its versions, `None` standing for absent.
/// A key not in the map must not exist.
pub type Allowed = BTreeMap<String, Vec<Option<Vec<u8>>>>;

/// What a checked data root holds: each object's bytes as `get` returned them and its
/// stored (possibly encrypted) bytes in its tier.
pub struct Found {
    pub store: Store,
    pub objects: BTreeMap<String, FoundObject>,
}

pub struct FoundObject {
    pub info: strata::ObjectInfo,
    pub plain: Vec<u8>,
    pub stored: Vec<u8>,
}

/// Opens the data root after a crash, as the next user would, and checks that it is whole:
/// - the root lock is free (the dead process holds nothing);
/// - no staging file outlives the open (each local tier's `.strata/staging` is empty);
/// - `list` and `stat` agree, and `get` returns exactly what they describe: the size, and the
///   BLAKE3 checksum of the stored bytes (those `get` returns, or the envelope in the tier);
/// - every object holds one of the versions `allowed` gives for its key, byte for byte, and
///   no other key exists;
/// - every file in a tier is the object the index places there, a copy of a journaled move,
///   or an orphan the next `tier run` removes: nothing is left that the index forgot.
///
/// Panics naming `context` (seed, round, operation) on the first violation.
pub fn check_root(config: &LakeConfig, allowed: &Allowed, context: &str) -> Found {
    // A process this test binary forks (other tests run in parallel) holds a copy of every
    // descriptor open at that moment, this lock's included, until it execs: a moment's wait
    // is that, not a lock the dead process kept.
    let lock_path = config.dir.join("strata.lock");
    let deadline = Instant::now() + LOCK_WAIT;
    if let Ok(lock) = std::fs::OpenOptions::new().write(true).open(&lock_path) {
        while lock.try_lock().is_err() {
            assert!(
                Instant::now() < deadline,
                "{context}: the root lock is still held after the process died"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let mut config = config.clone();
    config.lock_timeout = LOCK_WAIT;
    let config = &config;
    let store = Store::open(config)
        .unwrap_or_else(|e| panic!("{context}: the data root does not open after the crash: {e}"));
    for (name, dir) in local_tier_dirs(config) {
        let staging = dir.join(".strata/staging");
        let left: Vec<_> = std::fs::read_dir(&staging)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(
            left.is_empty(),
            "{context}: staging files in tier {name} outlived the open: {left:?}"
        );
    }
    let listed = store
        .list("")
        .unwrap_or_else(|e| panic!("{context}: list failed: {e}"));
    // Every stat before any get: a stat first writes the reads noted so far to the index.
    for info in &listed {
        let key = &info.key;
        let stat = store
            .stat(key)
            .unwrap_or_else(|e| panic!("{context}: {key} is listed but stat fails: {e}"));
        let seen = |o: &strata::ObjectInfo| {
            (
                o.tier.clone(),
                o.size,
                o.checksum.clone(),
                o.stored_size,
                o.key_id.clone(),
            )
        };
        assert_eq!(
            seen(&stat),
            seen(info),
            "{context}: {key}: stat and list disagree"
        );
    }
    let mut objects = BTreeMap::new();
    for info in listed {
        let key = info.key.clone();
        let plain = store
            .get(&key)
            .unwrap_or_else(|e| panic!("{context}: {key} is listed but get fails: {e}"))
            .to_vec();
        assert_eq!(
            plain.len() as u64,
            info.size,
            "{context}: {key}: get returned another size than the index records"
        );
        let file = store
            .local_file(&key)
            .unwrap_or_else(|| panic!("{context}: {key}: no file in tier {}", info.tier));
        let stored = std::fs::read(&file)
            .unwrap_or_else(|e| panic!("{context}: {key}: cannot read {}: {e}", file.display()));
        assert_eq!(
            stored.len() as u64,
            info.stored_size,
            "{context}: {key}: the stored file's size differs from the index's"
        );
        assert_eq!(
            blake3::hash(&stored).to_hex().to_string(),
            info.checksum,
            "{context}: {key}: the stored bytes' checksum differs from the index's"
        );
        if info.key_id.is_none() {
            assert!(
                plain == stored,
                "{context}: {key}: get differs from the stored file"
            );
        }
        objects.insert(
            key,
            FoundObject {
                info,
                plain,
                stored,
            },
        );
    }
    for (key, versions) in allowed {
        let now = objects.get(key).map(|o| &o.plain);
        let ok = versions
            .iter()
            .any(|v| v.as_ref().map(|v| &v[..]) == now.map(|n| &n[..]));
        if !ok {
            let seen = match now {
                None => "absent".to_string(),
                Some(n) => format!(
                    "{} bytes, blake3 {}",
                    n.len(),
                    &blake3::hash(n).to_hex()[..16]
                ),
            };
            let wanted: Vec<String> = versions
                .iter()
                .map(|v| match v {
                    None => "absent".to_string(),
                    Some(v) => format!(
                        "{} bytes, blake3 {}",
                        v.len(),
                        &blake3::hash(v).to_hex()[..16]
                    ),
                })
                .collect();
            panic!("{context}: {key} holds {seen}, not one of {wanted:?}");
        }
        if now.is_none() {
            let err = store.get(key).expect_err("an unlisted key reads");
            assert_eq!(err.kind(), ErrorKind::NotFound, "{context}: {key}: {err}");
        }
    }
    let unexpected: Vec<_> = objects
        .keys()
        .filter(|k| !allowed.contains_key(*k))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{context}: keys that were never written exist: {unexpected:?}"
    );
    let plan = store
        .plan_tiers(std::time::SystemTime::now())
        .unwrap_or_else(|e| panic!("{context}: plan_tiers failed: {e}"));
    let mut tracked: BTreeSet<(String, String)> = objects
        .iter()
        .map(|(k, o)| (o.info.tier.clone(), k.clone()))
        .collect();
    for action in plan {
        match action.action {
            ActionKind::RemoveOrphan => {
                tracked.insert((action.from, action.key));
            }
            ActionKind::ResumeMove => {
                tracked.insert((action.from, action.key.clone()));
                if let Some(to) = action.to {
                    tracked.insert((to, action.key));
                }
            }
            _ => {}
        }
    }
    for (name, dir) in local_tier_dirs(config) {
        for rel in files_under(&dir) {
            assert!(
                tracked.contains(&(name.clone(), rel.clone())),
                "{context}: {rel} in tier {name} is neither an object, a move's copy nor a \
                 recorded orphan: the index forgot it (a reindex would bring it back)"
            );
        }
    }
    Found { store, objects }
}

/// Copies a directory tree (a data root set up once, to start each faulted run from).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
