//! kill -9 during table writes (issue 24): `strata table append` and `strata table overwrite`
//! killed with SIGKILL at random moments, 60 kills in all. After each kill the table must read
//! as its previous version or the new one, never a partial commit: the rows are exactly those
//! of one of the two, and the log has no gap. Files of writes that never committed are removed
//! by vacuum (retention 0, forced), after which every version still in use reads whole.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::crash::{kill_delay, run_killed, run_timed, say, seed, Ending, Rng};
use common::strata_bin;
use strata::table::{AsOf, Table};

/// Kills the campaign needs (rounds where the write finished first do not count).
const KILLS: usize = 60;

/// A CSV of `rows` rows with ids from `first`.
fn csv(path: &Path, first: u64, rows: u64) {
    let mut text = String::from("id,zone,note\n");
    for i in first..first + rows {
        text.push_str(&format!("{i},z{},{}\n", i % 7, "x".repeat(40)));
    }
    std::fs::write(path, text).unwrap();
}

/// The table's row count at its latest version, and that version.
fn state(dir: &Path) -> (u64, u64) {
    let table = Table::at_dir(dir).unwrap();
    let version = table.version().unwrap();
    let (rows, _) = table
        .scan_as_of(AsOf::Version(version))
        .unwrap()
        .count()
        .unwrap();
    (version, rows)
}

#[test]
fn a_killed_table_write_leaves_the_old_version_or_the_new_one() {
    let scratch = tempfile::tempdir().unwrap();
    let table_dir = scratch.path().join("t");
    let table_arg = format!("{}/", table_dir.display());
    let batch = scratch.path().join("batch.csv");
    csv(&batch, 0, 20_000);
    let create = |args: &[&str]| {
        let mut cmd = Command::new(strata_bin());
        cmd.arg("--dir")
            .arg(scratch.path().join("root"))
            .arg("table")
            .args(args);
        cmd
    };
    run_timed(&mut create(&[
        "create",
        &table_arg,
        "--from",
        batch.to_str().unwrap(),
    ]));
    let startup = run_timed(&mut create(&["ls"]));
    let whole = run_timed(&mut create(&[
        "append",
        &table_arg,
        batch.to_str().unwrap(),
    ]));
    say(&format!(
        "table writes: start-up {startup:?}, one append {whole:?}"
    ));
    let mut rng = Rng::new(seed("table writes"));
    let (mut version, mut rows) = state(&table_dir);
    let (mut killed, mut ended, mut round) = (0, 0, 0);
    while killed < KILLS {
        round += 1;
        assert!(round < KILLS * 6, "only {killed} kills in {round} rounds");
        let overwrite = rng.below(4) == 0;
        let mut cmd = if overwrite {
            create(&["overwrite", &table_arg, batch.to_str().unwrap()])
        } else {
            create(&["append", &table_arg, batch.to_str().unwrap()])
        };
        let delay = kill_delay(&mut rng, startup, whole);
        match run_killed(&mut cmd, delay) {
            Ending::Killed => killed += 1,
            Ending::Exited(status, err) => {
                assert!(status.success(), "the write failed on its own: {err}");
                ended += 1;
            }
        }
        let (now, now_rows) = state(&table_dir);
        let new_rows = if overwrite { 20_000 } else { rows + 20_000 };
        if now == version {
            assert_eq!(now_rows, rows, "version {now} changed its rows");
        } else {
            assert_eq!(now, version + 1, "versions jumped from {version} to {now}");
            assert_eq!(now_rows, new_rows, "version {now} holds a partial write");
        }
        // Every older version still reads whole.
        let table = Table::at_dir(&table_dir).unwrap();
        for v in now.saturating_sub(2)..now {
            table.scan_as_of(AsOf::Version(v)).unwrap().count().unwrap();
        }
        (version, rows) = (now, now_rows);
        // Keep the table small: an overwrite now and then.
        if rows > 200_000 {
            run_timed(&mut create(&[
                "overwrite",
                &table_arg,
                batch.to_str().unwrap(),
            ]));
            (version, rows) = state(&table_dir);
        }
    }
    say(&format!(
        "table writes: {killed} kills, {ended} writes ended first, at version {version}"
    ));
    // Vacuum with no retention removes what no version references, the killed writes' files
    // and staging files included, and the latest version still reads whole.
    let table = Table::at_dir(&table_dir).unwrap();
    let report = table.vacuum(Duration::ZERO, false, true).unwrap();
    say(&format!(
        "vacuum removed {} data files and {} staging files",
        report.files.len(),
        report.staging.len()
    ));
    // Vacuum records itself in the log (VACUUM START and END): the version moves, the rows not.
    let (after, after_rows) = state(&table_dir);
    assert!(after >= version, "{after} < {version}");
    assert_eq!(after_rows, rows);
    let again = table.vacuum(Duration::ZERO, true, true).unwrap();
    assert!(
        again.files.is_empty() && again.staging.is_empty(),
        "{again:?}"
    );
    let parquet_files = walk(&table_dir);
    let info = table.info(AsOf::Latest).unwrap();
    assert_eq!(
        parquet_files, info.files,
        "files on disk that the table does not name"
    );
}

/// Parquet files under `dir`, outside `_delta_log`.
fn walk(dir: &Path) -> u64 {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("_delta_log") {
                n += walk(&path);
            }
        } else if path.extension().is_some_and(|e| e == "parquet") {
            n += 1;
        }
    }
    n
}

/// Rows of the table at its latest version matching `filter`.
fn count_where(dir: &Path, filter: &str) -> u64 {
    let table = Table::at_dir(dir).unwrap();
    table
        .scan()
        .unwrap()
        .filter(strata::Expr::parse(filter).unwrap())
        .count()
        .unwrap()
        .0
}

/// kill -9 during delete, update, merge and optimize (issue 25): after each kill the table
/// reads as its previous version or the new one, whole; vacuum then removes the files of the
/// changes that never committed.
#[test]
fn a_killed_table_change_leaves_the_old_version_or_the_new_one() {
    const CHANGE_KILLS: usize = 40;
    let scratch = tempfile::tempdir().unwrap();
    let table_dir = scratch.path().join("t");
    let table_arg = format!("{}/", table_dir.display());
    let cmd = |args: &[&str]| {
        let mut cmd = Command::new(strata_bin());
        cmd.arg("--dir")
            .arg(scratch.path().join("root"))
            .arg("table")
            .args(args);
        cmd
    };
    let batch = scratch.path().join("batch.csv");
    csv(&batch, 0, 20_000);
    run_timed(&mut cmd(&[
        "create",
        &table_arg,
        "--from",
        batch.to_str().unwrap(),
    ]));
    for k in 1..4 {
        csv(&batch, k * 20_000, 20_000);
        run_timed(&mut cmd(&["append", &table_arg, batch.to_str().unwrap()]));
    }
    let source = scratch.path().join("source.csv");
    let startup = run_timed(&mut cmd(&["ls"]));
    let whole = run_timed(&mut cmd(&[
        "update",
        &table_arg,
        "--set",
        "note = 'w'",
        "--where",
        "id < 100",
    ]));
    let mut rng = Rng::new(seed("table changes"));
    let (mut version, mut rows) = state(&table_dir);
    let (mut killed, mut ended, mut round) = (0, 0, 0u64);
    let mut next_id = 1_000_000u64;
    while killed < CHANGE_KILLS {
        round += 1;
        assert!(
            round < CHANGE_KILLS as u64 * 6,
            "only {killed} kills in {round} rounds"
        );
        let lo = rng.below(80) * 1000;
        let range = format!("id >= {lo} AND id < {}", lo + 1000);
        let tag = format!("r{round}");
        // Each change, and the rows (and tagged rows) its commit would leave.
        let (mut c, new_rows, check): (Command, u64, Option<(String, u64)>) = match rng.below(4) {
            0 => {
                let hit = count_where(&table_dir, &range);
                (
                    cmd(&["delete", &table_arg, "--where", &range]),
                    rows - hit,
                    None,
                )
            }
            1 => {
                let hit = count_where(&table_dir, &range);
                let set = format!("note = '{tag}'");
                (
                    cmd(&["update", &table_arg, "--set", &set, "--where", &range]),
                    rows,
                    Some((format!("note = '{tag}'"), hit)),
                )
            }
            2 => {
                // 500 existing ids (updated where present) and 500 new ones.
                let mut text = String::from("id,zone,note\n");
                for i in lo..lo + 500 {
                    text.push_str(&format!("{i},z1,{tag}\n"));
                }
                for i in next_id..next_id + 500 {
                    text.push_str(&format!("{i},z2,{tag}\n"));
                }
                next_id += 500;
                std::fs::write(&source, text).unwrap();
                // Ids of the range an earlier delete removed come back as inserts; every
                // source row ends up in the table with the tag.
                let present = count_where(&table_dir, &format!("id >= {lo} AND id < {}", lo + 500));
                (
                    cmd(&["merge", &table_arg, source.to_str().unwrap(), "--on", "id"]),
                    rows + 1000 - present,
                    Some((format!("note = '{tag}'"), 1000)),
                )
            }
            _ => (cmd(&["optimize", &table_arg]), rows, None),
        };
        let delay = kill_delay(&mut rng, startup, whole);
        match run_killed(&mut c, delay) {
            Ending::Killed => killed += 1,
            Ending::Exited(status, err) => {
                assert!(status.success(), "the change failed on its own: {err}");
                ended += 1;
            }
        }
        let (now, now_rows) = state(&table_dir);
        if now == version {
            assert_eq!(now_rows, rows, "version {now} changed its rows");
            if let Some((filter, _)) = &check {
                assert_eq!(count_where(&table_dir, filter), 0, "a partial change");
            }
        } else {
            assert_eq!(now, version + 1, "versions jumped from {version} to {now}");
            assert_eq!(now_rows, new_rows, "version {now} holds a partial change");
            if let Some((filter, want)) = &check {
                assert_eq!(count_where(&table_dir, filter), *want, "a partial change");
            }
        }
        let table = Table::at_dir(&table_dir).unwrap();
        for v in now.saturating_sub(2)..now {
            table.scan_as_of(AsOf::Version(v)).unwrap().count().unwrap();
        }
        (version, rows) = (now, now_rows);
    }
    say(&format!(
        "table changes: {killed} kills, {ended} changes ended first, at version {version}"
    ));
    let table = Table::at_dir(&table_dir).unwrap();
    table.vacuum(Duration::ZERO, false, true).unwrap();
    let (_, after_rows) = state(&table_dir);
    assert_eq!(after_rows, rows);
    let info = table.info(AsOf::Latest).unwrap();
    assert_eq!(
        walk(&table_dir),
        info.files,
        "files on disk the table does not name"
    );
}
