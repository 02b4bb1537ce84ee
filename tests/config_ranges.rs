//! Every duration, size and count in the config has a range: the bounds are accepted, and
//! zero, overflowing, negative and garbage values are one-line errors naming the key (and the
//! range, when the value parses), never a panic. A config built in code is held to the same
//! ranges when a store opens it (a huge `lock_timeout` used to panic in `Instant + timeout`).

use std::time::Duration;

use proptest::prelude::*;
use strata::{store::Store, ErrorKind, LakeConfig};

/// (TOML before the value, key name, accepted values, out-of-range values, garbage, range)
type Case = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

const GARBAGE_DURATION: &[&str] = &[
    "'-1s'",
    "'soon'",
    "''",
    "'5000000000000000000000y'",
    "'1s 99999999999999999999999ns'",
    "1",
    "-1",
    "true",
];
const GARBAGE_SIZE: &[&str] = &[
    "-1",
    "'-1'",
    "'x'",
    "'1e400'",
    "'99999999999999999999999999'",
    "18446744073709551616",
    "1.5",
    "true",
];
const GARBAGE_COUNT: &[&str] = &[
    "-1",
    "'5'",
    "1.5",
    "99999999999999999999",
    "18446744073709551616",
    "true",
];

const CASES: &[Case] = &[
    (
        "lock_timeout = ",
        "lock_timeout",
        &["'0s'", "'1d'", "'500ms'"],
        &["'1d 1ms'", "'500000000000y'", "'100y'"],
        GARBAGE_DURATION,
        "0s to 1d",
    ),
    (
        "multipart_threshold = ",
        "multipart_threshold",
        &["'5MiB'", "'5GiB'", "5242880"],
        &["0", "'5242879'", "'6GiB'", "9223372036854775807"],
        &["'16EiB'", "'5GiB 1'", "-1", "'x'", "'1e400'", "1.5"],
        "5MiB to 5GiB",
    ),
    (
        "[[placement]]\ntier = 'hot'\nmin_size = ",
        "min_size",
        &["0", "'1TiB'", "9223372036854775807"],
        &[],
        GARBAGE_SIZE,
        "",
    ),
    (
        "[[lifecycle]]\ndemote_after_age = ",
        "demote_after_age",
        &["'0s'", "'100y'"],
        &["'101y'", "'500000000000y'"],
        GARBAGE_DURATION,
        "0s to 100y",
    ),
    (
        "[[lifecycle]]\ndemote_after_idle = ",
        "demote_after_idle",
        &["'0s'", "'100y'"],
        &["'101y'", "'500000000000y'"],
        GARBAGE_DURATION,
        "0s to 100y",
    ),
    (
        "[[lifecycle]]\npromote_window = ",
        "promote_window",
        &["'0s'", "'100y'"],
        &["'101y'", "'500000000000y'"],
        GARBAGE_DURATION,
        "0s to 100y",
    ),
    (
        "[[lifecycle]]\npromote_after_reads = ",
        "promote_after_reads",
        &["1", "4294967295"],
        &["0"],
        &["4294967296", "-1", "'3'", "1.5"],
        "1 to 4294967295",
    ),
    (
        "[[retention]]\ndelete_after = ",
        "delete_after",
        &["'0s'", "'100y'"],
        &["'101y'", "'500000000000y'"],
        GARBAGE_DURATION,
        "0s to 100y",
    ),
    (
        "[retry]\nmax_retries = ",
        "max_retries",
        &["0", "100"],
        &["101", "9223372036854775807"],
        GARBAGE_COUNT,
        "0 to 100",
    ),
    (
        "[retry]\nretry_timeout = ",
        "retry_timeout",
        &["'0s'", "'1d'"],
        &["'25h'", "'500000000000y'"],
        GARBAGE_DURATION,
        "0s to 1d",
    ),
    (
        "[retry]\ninitial_backoff = ",
        "initial_backoff",
        &["'1ms'", "'1h'"],
        &["'0s'", "'2h'", "'500000000000y'"],
        GARBAGE_DURATION,
        "1ms to 1h",
    ),
    (
        "[retry]\nmax_backoff = ",
        "max_backoff",
        &["'1ms'", "'1h'"],
        &["'0s'", "'2h'", "'500000000000y'"],
        GARBAGE_DURATION,
        "1ms to 1h",
    ),
    (
        "[retry]\nrequest_timeout = ",
        "request_timeout",
        &["'1ms'", "'1d'"],
        &["'0s'", "'2d'", "'500000000000y'"],
        GARBAGE_DURATION,
        "1ms to 1d",
    ),
    (
        "[retry]\nconnect_timeout = ",
        "connect_timeout",
        &["'1ms'", "'1d'"],
        &["'0s'", "'2d'", "'500000000000y'"],
        GARBAGE_DURATION,
        "1ms to 1d",
    ),
    (
        "[encryption]\nchunk_size = ",
        "chunk_size",
        &["'1KiB'", "'16MiB'"],
        &["0", "1023", "'17MiB'", "9223372036854775807"],
        GARBAGE_SIZE,
        "1KiB to 16MiB",
    ),
    (
        "[cache]\nbudget = ",
        "budget",
        &["0", "'1TiB'"],
        &["'1025GiB'", "9223372036854775807"],
        GARBAGE_SIZE,
        "0 to 1TiB",
    ),
    (
        "[cache]\nmetadata_percent = ",
        "metadata_percent",
        &["0", "100"],
        &["101", "255"],
        &["256", "-1", "'5'", "1.5"],
        "0 to 100",
    ),
    (
        "[cache]\nbatch_percent = ",
        "batch_percent",
        &["0", "90"],
        &["101", "255"],
        &["256", "-1", "'5'", "1.5"],
        "0 to 100",
    ),
    (
        "[cache]\nblock_size = ",
        "block_size",
        &["'4KiB'", "'64MiB'"],
        &["0", "4095", "'128MiB'", "9223372036854775807"],
        GARBAGE_SIZE,
        "4KiB to 64MiB",
    ),
    (
        "[cache]\nread_ahead_blocks = ",
        "read_ahead_blocks",
        &["0", "1024"],
        &["1025", "4294967295"],
        &["4294967296", "-1", "'4'", "1.5"],
        "0 to 1024",
    ),
    (
        "[cache.blocks]\nttl = ",
        "ttl",
        &["'1ms'", "'100y'"],
        &["'0s'", "'101y'", "'500000000000y'"],
        GARBAGE_DURATION,
        "1ms to 100y",
    ),
    (
        "[cache.batches]\nidle = ",
        "idle",
        &["'1ms'", "'100y'"],
        &["'0s'", "'101y'", "'500000000000y'"],
        GARBAGE_DURATION,
        "1ms to 100y",
    ),
];

fn error_of(text: &str) -> String {
    let err = LakeConfig::from_toml_str(text).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{text:?}: {err}");
    let shown = err.to_string();
    assert!(!shown.contains('\n'), "{text:?}: {shown}");
    shown
}

#[test]
fn every_duration_size_and_count_is_held_to_its_range() {
    for &(prefix, key, good, out_of_range, garbage, range) in CASES {
        // Keep `batch_percent` and `metadata_percent` within 100 together.
        let fix = if key == "metadata_percent" {
            "\nbatch_percent = 0"
        } else {
            ""
        };
        for v in good {
            let text = format!("{prefix}{v}{fix}\n");
            if let Err(e) = LakeConfig::from_toml_str(&text) {
                panic!("{text:?} refused: {e}");
            }
        }
        for v in out_of_range {
            let shown = error_of(&format!("{prefix}{v}{fix}\n"));
            assert!(
                shown.contains(key) && shown.contains(range),
                "{key} = {v}: {shown}"
            );
        }
        for v in garbage {
            let shown = error_of(&format!("{prefix}{v}{fix}\n"));
            assert!(shown.contains(key), "{key} = {v}: {shown}");
        }
    }
}

#[test]
fn the_issue_cases_are_errors() {
    let shown = error_of("lock_timeout = \"500000000000y\"\n");
    assert!(
        shown.contains("lock_timeout") && shown.contains("0s to 1d"),
        "{shown}"
    );
    let mut config = LakeConfig::local(tempfile::tempdir().unwrap().path());
    config.lock_timeout = Duration::MAX;
    let err = Store::open(&config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("lock_timeout"), "{err}");
}

#[test]
fn the_readme_states_each_range() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for &(_, key, _, _, _, range) in CASES {
        if range.is_empty() {
            continue;
        }
        let documented = readme.lines().any(|l| l.contains(key) && l.contains(range));
        assert!(documented, "README: no line with {key} and {range}");
    }
}

fn duration(secs: u64, nanos: u32) -> Duration {
    Duration::new(secs, nanos % 1_000_000_000)
}

proptest! {
    #[test]
    fn built_configs_never_panic_and_keep_their_ranges(
        lock in any::<u64>(), nanos in any::<u32>(), retries in any::<usize>(),
        age in any::<u64>(), reads in any::<u32>(), budget in any::<u64>(),
        ahead in any::<u32>(), threshold in any::<u64>(),
    ) {
        let mut config = LakeConfig::local("/tmp/never-opened");
        config.lock_timeout = duration(lock, nanos);
        config.retry.max_retries = retries;
        config.lifecycle[0].demote_after_age = Some(duration(age, nanos));
        config.lifecycle[0].promote_after_reads = Some(reads);
        config.cache.budget = budget;
        config.cache.read_ahead_blocks = ahead;
        config.multipart_threshold = threshold;
        let day = Duration::from_secs(86_400);
        let century = Duration::from_secs(100 * 31_557_600);
        let fits = config.lock_timeout <= day
            && retries <= 100
            && duration(age, nanos) <= century
            && reads >= 1
            && budget <= 1 << 40
            && ahead <= 1024
            && ((5 << 20)..=(5 << 30)).contains(&threshold);
        prop_assert_eq!(config.validate().is_ok(), fits);
    }

    #[test]
    fn any_duration_text_is_an_answer_not_a_panic(text in "[0-9]{0,30}[a-z ]{0,6}[0-9]{0,3}") {
        let _ = LakeConfig::from_toml_str(&format!("lock_timeout = {text:?}\n"));
        let _ = LakeConfig::from_toml_str(&format!("[cache]\nbudget = {text:?}\n"));
        let _ = LakeConfig::from_toml_str(&format!("[[retention]]\ndelete_after = {text:?}\n"));
    }
}
