//! kill -9 campaign (issue 22): the `strata` binary killed with SIGKILL at random moments, at
//! least 100 times each, during small puts, large (streamed) puts, overwrites, deletes, tier
//! runs, key rotations, `write --lake` and `compact`. After each kill the data root is opened
//! as the next user would open it and checked (`common::crash::check_root`): the lock is free,
//! no staging file outlives the open, the index agrees with the tiers byte for byte, and every
//! object is its old or its new version. Kill times come from a seeded generator and spread
//! over process start, the operation itself and its end, as timed before the campaign and
//! rescaled as it goes (runs on a shared machine slow down and speed up several times). The
//! seed is printed; `STRATA_CRASH_SEED` replays the same draws (the times they scale to
//! depend on the machine).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::crash::{
    check_root, kill_delay, run_killed, run_timed, say, seed, Allowed, Ending, Found, Rng, Root,
};
use common::{bytes, strata_bin};
use strata::{store::Store, LakeConfig};

/// Kills each campaign needs (rounds where the process ended on its own do not count).
const KILLS: usize = 100;

fn quickest(times: impl IntoIterator<Item = Duration>) -> Duration {
    times.into_iter().min().unwrap()
}

/// One campaign's bookkeeping: kill times, counts, and what the kills left behind.
struct Kills {
    name: &'static str,
    seed: u64,
    rng: Rng,
    startup: Duration,
    whole: Duration,
    /// Both measured times are scaled by this, which follows how long runs take now: timings
    /// on a shared machine drift by several times during a campaign.
    scale: f64,
    round: usize,
    killed: usize,
    ended: usize,
    outcomes: BTreeMap<&'static str, usize>,
    started: std::time::Instant,
}

impl Kills {
    /// `startup` and `whole`: the quickest of a few runs that do nothing and of a few
    /// uninterrupted runs of the operation.
    fn new(name: &'static str, startup: Duration, whole: Duration) -> Kills {
        let seed = seed(name);
        say(&format!(
            "{name}: start-up and open {startup:?}, one uninterrupted run {whole:?}"
        ));
        Kills {
            name,
            seed,
            rng: Rng::new(seed),
            startup,
            whole,
            scale: 1.0,
            round: 0,
            killed: 0,
            ended: 0,
            outcomes: BTreeMap::new(),
            started: std::time::Instant::now(),
        }
    }

    fn more(&mut self) -> bool {
        assert!(
            self.round < KILLS * 4,
            "{}: {} rounds gave only {} kills; the kill window misses the runs",
            self.name,
            self.round,
            self.killed
        );
        self.killed < KILLS
    }

    /// Runs `cmd` and kills it at a random moment. A run that ends first must have succeeded.
    fn strike(&mut self, cmd: &mut Command) -> bool {
        self.round += 1;
        let (startup, whole) = (
            self.startup.mul_f64(self.scale),
            self.whole.mul_f64(self.scale),
        );
        let delay = kill_delay(&mut self.rng, startup, whole);
        match run_killed(cmd, delay) {
            Ending::Killed => {
                self.killed += 1;
                // Killed that late: runs take longer than measured (a loaded machine).
                if delay > whole * 9 / 10 {
                    self.scale = (self.scale * 1.05).min(20.0);
                }
                true
            }
            Ending::Exited(status, stderr) => {
                assert!(
                    status.success(),
                    "{}: an uninterrupted run failed ({status}): {stderr}",
                    self.context()
                );
                self.ended += 1;
                // Ended first: runs are quicker than measured.
                self.scale = (self.scale * 0.93).max(0.05);
                false
            }
        }
    }

    fn context(&self) -> String {
        format!("{} (seed {}, round {})", self.name, self.seed, self.round)
    }

    fn outcome(&mut self, what: &'static str) {
        *self.outcomes.entry(what).or_insert(0) += 1;
    }

    /// Prints the tally and checks that rounds ended on both sides of the commit point: in
    /// one of the `before` outcomes and in one of the `after` ones.
    fn finish(&self, before: &[&str], after: &[&str]) {
        say(&format!(
            "{}: {} rounds in {:?}, {} killed, {} ran to the end, timings scaled by {:.2} at the \
             end; outcomes {:?}",
            self.name,
            self.round,
            self.started.elapsed(),
            self.killed,
            self.ended,
            self.scale,
            self.outcomes
        ));
        for side in [before, after] {
            assert!(
                side.iter()
                    .any(|s| self.outcomes.get(s).copied().unwrap_or(0) > 0),
                "{}: no round ended in {side:?}: the kills do not span the operation ({:?})",
                self.name,
                self.outcomes
            );
        }
    }
}

/// Objects that every campaign's operation must leave alone.
fn bystanders(store: &Store, allowed: &mut Allowed) {
    for i in 0..4u64 {
        let key = format!("keep/{i}");
        let data = bytes(3000 + i as usize * 1000, 900 + i);
        store.put(&key, data.clone()).unwrap();
        allowed.insert(key, vec![Some(data)]);
    }
}

/// From now on `key` holds exactly what the check found.
fn settle(allowed: &mut Allowed, found: &Found, key: &str) -> Option<Vec<u8>> {
    let now = found.objects.get(key).map(|o| o.plain.clone());
    allowed.insert(key.to_string(), vec![now.clone()]);
    now
}

#[test]
fn kill_during_small_puts_of_new_keys() {
    let root = Root::new("");
    let mut allowed = Allowed::new();
    bystanders(&root.store(), &mut allowed);
    let input = root.path("small.bin");
    let mut times = Vec::new();
    for i in 0..3u64 {
        let key = format!("warm/{i}");
        let data = bytes(4096, 500 + i);
        std::fs::write(&input, &data).unwrap();
        times.push(run_timed(&mut root.cli(&[
            "put",
            &key,
            input.to_str().unwrap(),
        ])));
        allowed.insert(key, vec![Some(data)]);
    }
    let mut kills = Kills::new("small put", root.startup(), quickest(times));
    while kills.more() {
        let key = format!("small/{:04}", kills.round);
        let data = bytes(4096, 10_000 + kills.round as u64);
        std::fs::write(&input, &data).unwrap();
        allowed.insert(key.clone(), vec![None, Some(data.clone())]);
        let killed = kills.strike(&mut root.cli(&["put", &key, input.to_str().unwrap()]));
        let found = check_root(&root.config, &allowed, &kills.context());
        let now = settle(&mut allowed, &found, &key);
        // Keys of earlier rounds stay checked for a while, then go (rounds stay quick).
        if let Some(old) = kills.round.checked_sub(8) {
            let old = format!("small/{old:04}");
            if allowed.remove(&old).is_some_and(|v| v[0].is_some()) {
                found.store.delete(&old).unwrap();
            }
        }
        drop(found);
        assert!(
            killed || now.is_some(),
            "{}: a put that succeeded left nothing",
            kills.context()
        );
        match (killed, now.is_some()) {
            (true, false) => kills.outcome("killed: absent"),
            (true, true) => kills.outcome("killed: new"),
            (false, _) => kills.outcome("ended: new"),
        }
    }
    kills.finish(&["killed: absent"], &["killed: new", "ended: new"]);
}

#[test]
fn kill_during_large_puts() {
    // Past the multipart threshold (at its 5 MiB minimum here, to keep rounds quick): the CLI
    // streams it to a staging file in parts, not in one write.
    const LARGE: usize = 12 << 20;
    let root = Root::with("multipart_threshold = \"5MiB\"\n", "");
    assert!(LARGE as u64 > root.config.multipart_threshold);
    let mut allowed = Allowed::new();
    bystanders(&root.store(), &mut allowed);
    let versions = [bytes(LARGE, 71), bytes(LARGE, 72)];
    let inputs = [root.path("a.bin"), root.path("b.bin")];
    for (v, path) in versions.iter().zip(&inputs) {
        std::fs::write(path, v).unwrap();
    }
    let key = "large/object";
    let mut times = Vec::new();
    for i in 0..3 {
        times.push(run_timed(&mut root.cli(&[
            "put",
            key,
            inputs[i % 2].to_str().unwrap(),
        ])));
    }
    let mut current = Some(versions[0].clone());
    allowed.insert(key.into(), vec![current.clone()]);
    let mut kills = Kills::new("large put", root.startup(), quickest(times));
    while kills.more() {
        // Every other round writes a new key (absent before), the others replace the object.
        if kills.round % 2 == 1 && current.is_some() {
            root.store().delete(key).unwrap();
            current = None;
        }
        let next = match &current {
            Some(v) if *v == versions[0] => 1,
            Some(_) => 0,
            None => kills.round % 2,
        };
        allowed.insert(
            key.into(),
            vec![current.clone(), Some(versions[next].clone())],
        );
        let killed = kills.strike(&mut root.cli(&["put", key, inputs[next].to_str().unwrap()]));
        let found = check_root(&root.config, &allowed, &kills.context());
        let now = settle(&mut allowed, &found, key);
        let landed = now.as_ref() == Some(&versions[next]);
        assert!(
            killed || landed,
            "{}: a put that succeeded did not land",
            kills.context()
        );
        kills.outcome(match (killed, landed, current.is_some()) {
            (true, false, true) => "killed: old",
            (true, false, false) => "killed: absent",
            (true, true, _) => "killed: new",
            (false, _, _) => "ended: new",
        });
        current = now;
    }
    kills.finish(&["killed: old"], &["killed: new", "ended: new"]);
}

#[test]
fn kill_during_overwrites() {
    let root = Root::new("");
    let mut allowed = Allowed::new();
    bystanders(&root.store(), &mut allowed);
    // Sizes alternate, so a mix of two versions would also show in the size.
    let version = |n: usize| {
        bytes(
            if n.is_multiple_of(2) { 4096 } else { 200_000 },
            3000 + n as u64,
        )
    };
    let key = "ow/object";
    let input = root.path("next.bin");
    let mut times = Vec::new();
    for n in 0..3 {
        std::fs::write(&input, version(n)).unwrap();
        times.push(run_timed(&mut root.cli(&[
            "put",
            key,
            input.to_str().unwrap(),
        ])));
    }
    let mut current = version(2);
    let mut kills = Kills::new("overwrite", root.startup(), quickest(times));
    while kills.more() {
        let next = version(kills.round + 3);
        std::fs::write(&input, &next).unwrap();
        allowed.insert(key.into(), vec![Some(current.clone()), Some(next.clone())]);
        let killed = kills.strike(&mut root.cli(&["put", key, input.to_str().unwrap()]));
        let found = check_root(&root.config, &allowed, &kills.context());
        let now = settle(&mut allowed, &found, key).expect("an overwritten key vanished");
        assert!(
            killed || now == next,
            "{}: a put that succeeded did not land",
            kills.context()
        );
        kills.outcome(match (killed, now == next) {
            (true, false) => "killed: old",
            (true, true) => "killed: new",
            (false, _) => "ended: new",
        });
        current = now;
    }
    kills.finish(&["killed: old"], &["killed: new", "ended: new"]);
}

#[test]
fn kill_during_deletes() {
    let root = Root::new("");
    let mut allowed = Allowed::new();
    bystanders(&root.store(), &mut allowed);
    let key = "del/object";
    let mut times = Vec::new();
    for n in 0..3u64 {
        let data = bytes(8192, 40 + n);
        root.store().put(key, data).unwrap();
        times.push(run_timed(&mut root.cli(&["rm", key])));
    }
    let mut kills = Kills::new("delete", root.startup(), quickest(times));
    while kills.more() {
        // Written by the library (a new object or over an orphan's file), then removed by the CLI.
        let data = bytes(8192 + kills.round, 7000 + kills.round as u64);
        root.store().put(key, data.clone()).unwrap();
        allowed.insert(key.into(), vec![Some(data), None]);
        let killed = kills.strike(&mut root.cli(&["rm", key]));
        let found = check_root(&root.config, &allowed, &kills.context());
        let now = settle(&mut allowed, &found, key);
        assert!(
            killed || now.is_none(),
            "{}: a delete that succeeded left the object",
            kills.context()
        );
        kills.outcome(match (killed, now.is_some()) {
            (true, true) => "killed: old",
            (true, false) => "killed: gone",
            (false, _) => "ended: gone",
        });
    }
    kills.finish(&["killed: old"], &["killed: gone", "ended: gone"]);
}

#[test]
fn kill_during_tier_runs() {
    const OBJECTS: usize = 80;
    // Every object is due to move at once. The second config lists the same tiers the other
    // way round, so its runs move everything back: each round has a full run of moves to do.
    let policy = "[[lifecycle]]\nprefix = \"\"\ndemote_after_age = \"0s\"\n";
    let down = Root::new(policy);
    let up_path = down.path("up.toml");
    std::fs::write(
        &up_path,
        format!(
            "dir = {:?}\nlock_timeout = \"5s\"\n\
             [[tiers]]\nname = \"cold\"\nkind = \"local\"\n\
             [[tiers]]\nname = \"hot\"\nkind = \"local\"\n{policy}",
            down.config.dir.display().to_string()
        ),
    )
    .unwrap();
    let up_config = LakeConfig::from_file(&up_path).unwrap();
    let mut allowed = Allowed::new();
    {
        let store = down.store();
        for i in 0..OBJECTS {
            let key = format!("t/{i:04}");
            let data = bytes(1000 + (i * 37) % 3000, 60_000 + i as u64);
            store.put(&key, data.clone()).unwrap();
            allowed.insert(key, vec![Some(data)]);
        }
    }
    let run = |up: bool| {
        let mut cmd = Command::new(strata_bin());
        let cfg = if up { &up_path } else { &down.cfg_path };
        cmd.arg("--config").arg(cfg).args(["tier", "run"]);
        cmd
    };
    let times = [false, true, false].map(|up| run_timed(&mut run(up)));
    let in_tier = |found: &Found, tier: &str| {
        found
            .objects
            .values()
            .filter(|o| o.info.tier == tier)
            .count()
    };
    let mut up = true;
    let mut kills = Kills::new("tier run", down.startup(), quickest(times));
    while kills.more() {
        let killed = kills.strike(&mut run(up));
        let config = if up { &up_config } else { &down.config };
        let found = check_root(config, &allowed, &kills.context());
        let (hot, cold) = (in_tier(&found, "hot"), in_tier(&found, "cold"));
        assert!(
            killed || (if up { cold == 0 } else { hot == 0 }),
            "{}: a run that succeeded left objects behind ({hot} hot, {cold} cold)",
            kills.context()
        );
        kills.outcome(match (killed, up, hot, cold) {
            (false, _, _, _) => "ended: all moved",
            (true, true, _, 0) | (true, false, 0, _) => "killed: all moved",
            (true, true, 0, _) | (true, false, _, 0) => "killed: none moved",
            (true, _, _, _) => "killed: some moved",
        });
        // Turn round once everything is where this direction takes it.
        if (up && cold == 0) || (!up && hot == 0) {
            up = !up;
        }
    }
    kills.finish(
        &["killed: none moved", "killed: some moved"],
        &["killed: all moved", "ended: all moved"],
    );
}

#[test]
fn kill_during_key_rotations() {
    let root = Root::new("[encryption]\nprefixes = [\"enc/\"]\n");
    let ring_path = root.config.dir.join(strata::crypto::KEYRING_FILE);
    let mut allowed = Allowed::new();
    {
        let store = root.store();
        bystanders(&store, &mut allowed);
        for i in 0..16u64 {
            let key = format!("enc/{i:02}");
            let data = bytes(4096 + i as usize * 100, 80 + i);
            let info = store.put(&key, data.clone()).unwrap();
            assert!(info.key_id.is_some(), "{key} is not encrypted");
            allowed.insert(key, vec![Some(data)]);
        }
    }
    let times = [0; 3].map(|_| run_timed(&mut root.cli(&["key", "rotate"])));
    // The envelope and key of each encrypted object as the last check found them.
    let sealed = |found: &Found| -> BTreeMap<String, (Vec<u8>, Option<String>)> {
        found
            .objects
            .iter()
            .filter(|(k, _)| k.starts_with("enc/"))
            .map(|(k, o)| (k.clone(), (o.stored.clone(), o.info.key_id.clone())))
            .collect()
    };
    let mut before = sealed(&check_root(&root.config, &allowed, "key rotation setup"));
    let mut kills = Kills::new("key rotation", root.startup(), quickest(times));
    while kills.more() {
        let killed = kills.strike(&mut root.cli(&["key", "rotate"]));
        let context = kills.context();
        let found = check_root(&root.config, &allowed, &context);
        let ring = strata::crypto::KeyRing::load(&ring_path)
            .unwrap_or_else(|e| panic!("{context}: the key ring does not load: {e}"));
        let keys: Vec<_> = ring.list();
        let active = keys.iter().find(|k| k.active).map(|k| k.id.clone());
        let after = sealed(&found);
        let mut rewrapped = 0;
        for (key, (stored, key_id)) in &after {
            let key_id = key_id.clone().expect("encrypted objects stay encrypted");
            assert!(
                keys.iter().any(|k| k.id == key_id),
                "{context}: {key} is under key {key_id}, which the ring does not hold"
            );
            let (old_stored, old_key) = &before[key];
            if stored == old_stored {
                assert_eq!(Some(&key_id), old_key.as_ref(), "{context}: {key}");
            } else {
                // Re-wrapped: under the key this rotation made, and (by check_root) the same
                // plaintext.
                assert_eq!(
                    Some(&key_id),
                    active.as_ref(),
                    "{context}: {key} changed but is not under the active key"
                );
                rewrapped += 1;
            }
        }
        assert!(
            killed || rewrapped == after.len(),
            "{context}: a rotation that succeeded re-wrapped {rewrapped} of {}",
            after.len()
        );
        kills.outcome(match (killed, rewrapped) {
            (false, _) => "ended: all re-wrapped",
            (true, 0) => "killed: none re-wrapped",
            (true, n) if n == after.len() => "killed: all re-wrapped",
            (true, _) => "killed: some re-wrapped",
        });
        before = after;
    }
    kills.finish(
        &["killed: none re-wrapped", "killed: some re-wrapped"],
        &["killed: all re-wrapped", "ended: all re-wrapped"],
    );
}

/// A CSV of `rows` rows: id, country (5 values), value = id / 2.
fn events_csv(path: &Path, rows: usize) -> BTreeMap<String, Vec<(i64, f64)>> {
    const COUNTRIES: [&str; 5] = ["BR", "DE", "FR", "JP", "US"];
    let mut text = String::from("id,country,value\n");
    let mut by_country: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for i in 0..rows as i64 {
        let c = COUNTRIES[i as usize % 5];
        text.push_str(&format!("{i},{c},{}\n", i as f64 * 0.5));
        by_country
            .entry(c.into())
            .or_default()
            .push((i, i as f64 * 0.5));
    }
    std::fs::write(path, text).unwrap();
    by_country
}

/// The (id, value) rows of a whole Parquet file, sorted; an error if it does not decode.
fn parquet_rows(data: &[u8]) -> Result<Vec<(i64, f64)>, String> {
    use arrow::array::{Float64Array, Int64Array};
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::copy_from_slice(data),
    )
    .and_then(|b| b.build())
    .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| format!("no column {name}"))
        };
        let ids = column("id")?;
        let values = column("value")?;
        let ids = ids
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or("id is not Int64")?;
        let values = values
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or("value is not Float64")?;
        rows.extend(
            ids.values()
                .iter()
                .copied()
                .zip(values.values().iter().copied()),
        );
    }
    rows.sort_by_key(|r| r.0);
    Ok(rows)
}

#[test]
fn kill_during_lake_writes() {
    let root = Root::new("");
    let mut allowed = Allowed::new();
    bystanders(&root.store(), &mut allowed);
    let input = root.path("events.csv");
    let expected = events_csv(&input, 2000);
    let write = |prefix: &str| {
        root.cli(&[
            "write",
            input.to_str().unwrap(),
            prefix,
            "--lake",
            "--partition-by",
            "country",
            "--codec",
            "zstd",
        ])
    };
    let times = [0, 1, 2].map(|i| run_timed(&mut write(&format!("warm/{i}"))));
    let warm = root.store().list("warm/").unwrap();
    assert_eq!(warm.len(), 15, "{warm:?}");
    for o in warm {
        allowed.insert(
            o.key.clone(),
            vec![Some(root.store().get(&o.key).unwrap().to_vec())],
        );
    }
    let mut leftovers = 0;
    let mut kills = Kills::new("write --lake", root.startup(), quickest(times));
    while kills.more() {
        let prefix = format!("ev/{:04}", kills.round + 1);
        let killed = kills.strike(&mut write(&prefix));
        let context = kills.context();
        // The dataset's files get names chosen at run time: judge what this run put by its
        // content. Each must be one whole partition file, byte for byte the file the run
        // staged when its staging directory is still there.
        let staged: Vec<PathBuf> = std::fs::read_dir(&root.config.dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".strata-write-"))
            })
            .collect();
        let new_objects: Vec<(String, Vec<u8>)> = {
            let store = root.store();
            store
                .list(&format!("{prefix}/"))
                .unwrap()
                .into_iter()
                .map(|o| {
                    let plain = store.get(&o.key).unwrap().to_vec();
                    (o.key, plain)
                })
                .collect()
        };
        let mut judged = allowed.clone();
        for (key, plain) in new_objects.iter().cloned() {
            let rel = key.strip_prefix(&format!("{prefix}/")).unwrap();
            let country = rel
                .strip_prefix("country=")
                .and_then(|r| r.split('/').next())
                .unwrap_or_else(|| panic!("{context}: unexpected key {key}"));
            let rows = parquet_rows(&plain)
                .unwrap_or_else(|e| panic!("{context}: {key} is not a whole Parquet file: {e}"));
            assert_eq!(
                rows, expected[country],
                "{context}: {key} does not hold the rows of country {country}"
            );
            for dir in &staged {
                if let Ok(copy) = std::fs::read(dir.join("d").join(rel)) {
                    assert!(
                        copy == plain,
                        "{context}: {key} differs from the staged file"
                    );
                }
            }
            // check_root compares get, list and the tier file against exactly these bytes.
            judged.insert(key, vec![Some(plain)]);
        }
        let found = check_root(&root.config, &judged, &context);
        // The next round checks the bystanders again; this round's dataset goes.
        for (key, _) in &new_objects {
            found.store.delete(key).unwrap();
        }
        drop(found);
        kills.outcome(match (killed, new_objects.len()) {
            (false, 5) => "ended: whole dataset",
            (false, n) => panic!("{context}: a finished write put {n} files, not 5"),
            (true, 0) => "killed: nothing",
            (true, 5) => "killed: whole dataset",
            (true, _) => "killed: some files",
        });
        // A killed `write --lake` leaves its staging directory under the data root; nothing
        // removes it later (reported, not a store bug: src/bin/strata/write.rs). Counted, then
        // cleared so the rounds stay independent.
        for dir in staged {
            leftovers += 1;
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
    say(&format!(
        "write --lake: {leftovers} staging directories left under the data root by killed runs"
    ));
    kills.finish(
        &["killed: nothing", "killed: some files"],
        &["killed: whole dataset", "ended: whole dataset"],
    );
}

#[test]
fn kill_during_compactions() {
    let tmp = tempfile::tempdir().unwrap();
    // 12 small files of 100 rows each in one directory: one compaction group.
    let template = tmp.path().join("template");
    std::fs::create_dir(&template).unwrap();
    let mut inputs = BTreeMap::new();
    for f in 0..12i64 {
        let ids: Vec<i64> = (f * 100..f * 100 + 100).collect();
        let batch = arrow::record_batch::RecordBatch::try_from_iter([
            (
                "id",
                std::sync::Arc::new(arrow::array::Int64Array::from(ids.clone()))
                    as arrow::array::ArrayRef,
            ),
            (
                "value",
                std::sync::Arc::new(arrow::array::Float64Array::from_iter_values(
                    ids.iter().map(|&i| i as f64 * 0.5),
                )),
            ),
        ])
        .unwrap();
        let mut data = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut data, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let name = format!("part-in-{f:02}.parquet");
        std::fs::write(template.join(&name), &data).unwrap();
        inputs.insert(name, data);
    }
    let all_rows: Vec<(i64, f64)> = (0..1200).map(|i| (i, i as f64 * 0.5)).collect();
    let compact = |dir: &Path| {
        let mut cmd = Command::new(strata_bin());
        cmd.arg("compact")
            .arg(dir)
            .args(["--target-file-size", "1MiB", "--codec", "zstd"]);
        cmd
    };
    let fresh = |n: usize| {
        let dir = tmp.path().join(format!("ds{n}"));
        common::crash::copy_tree(&template, &dir);
        dir
    };
    let times = [0, 1, 2].map(|i| run_timed(&mut compact(&fresh(1_000_000 + i))));
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let startup = quickest((0..3).map(|_| run_timed(&mut compact(&empty))));
    // Every row once, read the way strata reads a dataset (through the manifest).
    let scanned = |dir: &Path| -> Vec<(i64, f64)> {
        let out = strata::Scan::new(dir).run().unwrap();
        let mut rows = Vec::new();
        for b in &out.batches {
            rows.extend(parquet_rows_of(b));
        }
        rows.sort_by_key(|r| r.0);
        rows
    };
    let visible = |dir: &Path| -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".parquet") && !n.starts_with('.') && !n.starts_with('_'))
            .map(|n| {
                let data = std::fs::read(dir.join(&n)).unwrap();
                (n, data)
            })
            .collect()
    };
    let mut manifest_partials = 0;
    let mut kills = Kills::new("compact", startup, quickest(times));
    while kills.more() {
        let dir = fresh(kills.round);
        let killed = kills.strike(&mut compact(&dir));
        let context = kills.context();
        let committed = dir.join(strata::format::MANIFEST).exists();
        let files = visible(&dir);
        for (name, data) in &files {
            // Whole or absent: every visible file decodes completely.
            parquet_rows(data)
                .unwrap_or_else(|e| panic!("{context}: {name} is not a whole file: {e}"));
        }
        let old = files == inputs;
        let new = files.keys().all(|n| !inputs.contains_key(n));
        assert!(
            committed || old || new,
            "{context}: without a manifest the directory holds a mix of inputs and outputs: \
             {:?}",
            files.keys().collect::<Vec<_>>()
        );
        if !committed && !new {
            // Not committed: the inputs are intact, byte for byte.
            assert!(old, "{context}: inputs changed before the commit");
        }
        assert!(
            killed || (!committed && new),
            "{context}: a compaction that succeeded left {:?}",
            files.keys().collect::<Vec<_>>()
        );
        assert_eq!(scanned(&dir), all_rows, "{context}: rows after the kill");
        // The next compaction finishes (or redoes) the job and leaves nothing behind.
        strata::format::compact(
            &dir,
            &strata::format::CompactOptions {
                write: strata::WriteOptions {
                    target_file_bytes: 1 << 20,
                    codec: "zstd".parse().unwrap(),
                    ..strata::WriteOptions::default()
                },
                small_file_bytes: None,
            },
        )
        .unwrap_or_else(|e| panic!("{context}: the next compaction fails: {e}"));
        assert_eq!(scanned(&dir), all_rows, "{context}: rows after recovery");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "_strata_compaction.lock")
            .collect();
        // KNOWN LEFTOVER (reported, not fixed here: src/format/compact.rs): a kill while the
        // manifest is being written leaves its AtomicFile partial
        // (`._strata_compaction.json.strata-<hex>.partial`), and no later compaction removes
        // it (it sweeps only the partials of staged outputs). Hidden, so readers skip it;
        // counted and reported, then removed so the check below stays exact.
        names.retain(|n| {
            let leftover = n.starts_with("._strata_compaction.json.") && n.ends_with(".partial");
            if leftover {
                manifest_partials += 1;
            }
            !leftover
        });
        assert!(
            names.len() == 1 && names[0].ends_with(".parquet") && !inputs.contains_key(&names[0]),
            "{context}: after recovery the directory holds {names:?}"
        );
        kills.outcome(match (killed, committed, old) {
            (false, _, _) => "ended: compacted",
            (true, true, _) => "killed: committed, not finished",
            (true, false, true) => "killed: inputs intact",
            (true, false, false) => "killed: compacted",
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }
    say(&format!(
        "compact: {manifest_partials} kills left the manifest's partial file behind for good"
    ));
    kills.finish(
        &["killed: inputs intact"],
        &[
            "killed: committed, not finished",
            "killed: compacted",
            "ended: compacted",
        ],
    );
}

/// The (id, value) rows of one batch.
fn parquet_rows_of(batch: &arrow::record_batch::RecordBatch) -> Vec<(i64, f64)> {
    use arrow::array::{Float64Array, Int64Array};
    let ids = batch
        .column_by_name("id")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    let values = batch
        .column_by_name("value")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    ids.values()
        .iter()
        .copied()
        .zip(values.values().iter().copied())
        .collect()
}
