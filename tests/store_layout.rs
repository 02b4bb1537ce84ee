//! Where tiers may live (issue 22 items 1 and 2): two tiers sharing a directory, one inside
//! another, a tier at, above or holding the data root (`path = "."`), a key ring inside a
//! tier, and S3 tiers overlapping in a bucket are refused at open with one line, before
//! anything is created; and strata's own files (key ring, index, lock, tier marker, staging
//! files) are never objects, on any tier kind, through the library and the CLI.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::{
    bytes, cli_err, cli_ok, config, config_file, local_tier, local_tier_at, memory_tier, s3_tier,
    snapshot,
};
use strata::{
    config::{LifecycleRule, S3Config, TierConfig, TierKind},
    store::Store,
    ErrorKind, LakeConfig, RunOptions,
};

fn s3_at(name: &str, bucket: &str, prefix: Option<&str>) -> TierConfig {
    TierConfig {
        name: name.into(),
        kind: TierKind::S3(S3Config {
            bucket: bucket.into(),
            // Never contacted: the layout is refused before any tier is opened.
            endpoint: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            access_key_id: Some("testing".into()),
            secret_access_key: Some("testing".into()),
            allow_http: true,
            virtual_hosted_style: false,
            prefix: prefix.map(str::to_string),
        }),
    }
}

fn demote_everything() -> Vec<LifecycleRule> {
    vec![LifecycleRule {
        prefix: String::new(),
        demote_after_age: Some(Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: None,
        promote_window: None,
        demote_to: None,
    }]
}

/// One refused layout: its name, the config, and words the error must contain.
struct Refused {
    what: &'static str,
    config: LakeConfig,
    says: Vec<String>,
}

/// Every way the class of layouts can be spelled. `base` holds the data root `root`
/// and whatever else the cases need (a real directory and links to it and to the root).
fn refused_layouts(base: &Path) -> Vec<Refused> {
    let root = base.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(base.join("real")).unwrap();
    std::os::unix::fs::symlink(base.join("real"), base.join("alias")).unwrap();
    std::os::unix::fs::symlink(&root, base.join("rootlink")).unwrap();
    let two = |a: TierConfig, b: TierConfig| config(&root, vec![a, b]);
    let overlap = |a: &str, b: &str| vec!["overlap".to_string(), a.into(), b.into()];
    let root_words = |t: &str| vec!["data root".to_string(), t.into()];
    let mut keyring_in_hot = config(&root, vec![local_tier("hot")]);
    keyring_in_hot.encryption.keyring = Some("hot/keyring.toml".into());
    let mut keyring_in_cold = config(
        &root,
        vec![local_tier("hot"), local_tier_at("cold", base.join("cold"))],
    );
    keyring_in_cold.encryption.keyring = Some(base.join("cold/keys/ring.toml"));
    vec![
        Refused {
            what: "two tiers on one directory",
            config: two(local_tier_at("hot", "same"), local_tier_at("cold", "same")),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "one directory spelled with ./",
            config: two(local_tier_at("hot", "a"), local_tier_at("cold", "./a")),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "one directory spelled with ..",
            config: two(local_tier_at("hot", "a"), local_tier_at("cold", "x/../a")),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "one directory, relative and absolute",
            config: two(
                local_tier_at("hot", "a"),
                local_tier_at("cold", root.join("a")),
            ),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "a path equal to another tier's default",
            config: two(local_tier("hot"), local_tier_at("cold", "hot")),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "one directory through a link",
            config: two(
                local_tier_at("hot", base.join("real")),
                local_tier_at("cold", base.join("alias")),
            ),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "a tier inside another",
            config: two(local_tier_at("hot", "a"), local_tier_at("cold", "a/b")),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "a tier around another",
            config: two(local_tier_at("hot", "a/b/c"), local_tier_at("cold", "a")),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "a tier inside another through a link",
            config: two(
                local_tier_at("hot", base.join("real")),
                local_tier_at("cold", base.join("alias/sub")),
            ),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "a tier at the data root (path = \".\")",
            config: config(&root, vec![local_tier_at("hot", ".")]),
            says: root_words("hot"),
        },
        Refused {
            what: "a tier at the data root by absolute path",
            config: two(local_tier("hot"), local_tier_at("cold", &root)),
            says: root_words("cold"),
        },
        Refused {
            what: "a tier at the data root through a link",
            config: two(
                local_tier("hot"),
                local_tier_at("cold", base.join("rootlink")),
            ),
            says: root_words("cold"),
        },
        Refused {
            what: "a tier above the data root",
            config: two(local_tier("hot"), local_tier_at("cold", "..")),
            says: root_words("cold"),
        },
        Refused {
            what: "the key ring inside a tier",
            config: keyring_in_hot,
            says: vec!["key ring".into(), "hot".into()],
        },
        Refused {
            what: "the key ring inside a tier outside the root",
            config: keyring_in_cold,
            says: vec!["key ring".into(), "cold".into()],
        },
        Refused {
            what: "two s3 tiers on one prefix",
            config: two(s3_at("hot", "b", Some("p")), s3_at("cold", "b", Some("p"))),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "two s3 tiers on one prefix spelled with slashes",
            config: two(
                s3_at("hot", "b", Some("p/")),
                s3_at("cold", "b", Some("/p")),
            ),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "an s3 tier inside another",
            config: two(
                s3_at("hot", "b", Some("p")),
                s3_at("cold", "b", Some("p/q")),
            ),
            says: overlap("hot", "cold"),
        },
        Refused {
            what: "an s3 tier on the whole bucket and one in it",
            config: two(s3_at("hot", "b", None), s3_at("cold", "b", Some("q"))),
            says: overlap("hot", "cold"),
        },
    ]
}

#[test]
fn overlapping_layouts_are_refused_at_open_before_anything_is_made() {
    let base = tempfile::tempdir().unwrap();
    for case in refused_layouts(base.path()) {
        let before = snapshot(base.path());
        for (how, err) in [
            ("open", Store::open(&case.config).unwrap_err()),
            (
                "open_rebuilding",
                Store::open_rebuilding(&case.config).unwrap_err(),
            ),
            (
                "adopt_tier",
                Store::adopt_tier(&case.config, "hot").unwrap_err(),
            ),
        ] {
            let text = err.to_string();
            assert_eq!(
                err.kind(),
                ErrorKind::Config,
                "{}: {how}: {text}",
                case.what
            );
            assert!(!text.contains('\n'), "{}: {how}: {text}", case.what);
            for word in &case.says {
                assert!(text.contains(word.as_str()), "{}: {how}: {text}", case.what);
            }
        }
        assert_eq!(
            before,
            snapshot(base.path()),
            "{}: a refused open made or changed files",
            case.what
        );
    }
}

#[test]
fn overlapping_layouts_are_refused_by_every_command() {
    let base = tempfile::tempdir().unwrap();
    let input = base.path().join("input");
    std::fs::write(&input, b"data").unwrap();
    for (i, case) in refused_layouts(base.path()).into_iter().enumerate() {
        let file = config_file(&case.config, &base.path().join(format!("case{i}.toml")));
        let before = snapshot(base.path());
        let cfg = file.to_str().unwrap();
        for args in [
            vec!["ls"],
            vec!["put", "k", input.to_str().unwrap()],
            vec!["get", "k"],
            vec!["tier", "run", "--after", "31d"],
            vec!["tier", "reindex"],
        ] {
            let mut all = vec!["--config", cfg];
            all.extend(&args);
            let err = cli_err(&all);
            for word in &case.says {
                assert!(
                    err.contains(word.as_str()),
                    "{}: {args:?}: {err}",
                    case.what
                );
            }
        }
        assert_eq!(before, snapshot(base.path()), "{}", case.what);
    }
}

/// The report: objects written under a good config survive an edit that points a
/// second tier at the same directory; every command refuses the edited config.
#[test]
fn a_config_edited_to_share_a_directory_loses_nothing() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("root");
    let input = base.path().join("input");
    std::fs::write(&input, b"hello").unwrap();
    let mut good = config(
        &root,
        vec![local_tier_at("hot", "data"), local_tier_at("cold", "cold")],
    );
    good.lifecycle = demote_everything();
    let good_file = config_file(&good, &base.path().join("good.toml"));
    let good_cfg = good_file.to_str().unwrap();
    for key in ["a", "b/c"] {
        cli_ok(&["--config", good_cfg, "put", key, input.to_str().unwrap()]);
    }
    let mut bad = good.clone();
    bad.tiers[1] = local_tier_at("cold", "data");
    let bad_file = config_file(&bad, &base.path().join("bad.toml"));
    let bad_cfg = bad_file.to_str().unwrap();
    let before = snapshot(&root);
    let err = cli_err(&["--config", bad_cfg, "tier", "run"]);
    assert!(err.contains("overlap"), "{err}");
    cli_err(&["--config", bad_cfg, "rm", "a"]);
    cli_err(&["--config", bad_cfg, "tier", "reindex"]);
    assert_eq!(before, snapshot(&root));
    for key in ["a", "b/c"] {
        assert_eq!(cli_ok(&["--config", good_cfg, "get", key]), b"hello");
    }
}

#[test]
fn separate_directories_and_prefixes_are_accepted() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("root");
    for tiers in [
        vec![local_tier("hot"), local_tier("cold")],
        vec![local_tier_at("hot", "a"), local_tier_at("cold", "ab")],
        vec![local_tier_at("hot", "a/b"), local_tier_at("cold", "a/c")],
        vec![
            local_tier("hot"),
            local_tier_at("cold", base.path().join("elsewhere")),
        ],
    ] {
        let cfg = config(&root, tiers.clone());
        let store = Store::open(&cfg).unwrap_or_else(|e| panic!("{tiers:?}: {e}"));
        store.put("k", b"v".to_vec()).unwrap();
        drop(store);
        std::fs::remove_dir_all(&root).unwrap();
    }
    // S3 prefixes that only share leading characters, checked without contacting the bucket
    // (adopting the local tier runs the same layout check as an open).
    let cfg = config(
        &root,
        vec![
            local_tier("hot"),
            s3_at("cold", "b", Some("p")),
            s3_at("colder", "b", Some("pq")),
            s3_at("coldest", "other", Some("p")),
        ],
    );
    Store::adopt_tier(&cfg, "hot").unwrap();
}

/// strata's own files in the data root: the key ring, the index (and a damaged one set
/// aside), the lock, the masking keys.
const OWN_FILES: &[&str] = &[
    "keyring.toml",
    "index.redb",
    "strata.lock",
    "maskkeys.toml",
    "index.redb.corrupt-1",
];

fn encrypting(root: &Path, tiers: Vec<TierConfig>) -> LakeConfig {
    let mut cfg = config(root, tiers);
    cfg.encryption.prefixes = vec!["pii/".into()];
    cfg.lifecycle = demote_everything();
    cfg
}

#[test]
fn own_files_are_never_objects() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("root");
    let cfg = encrypting(&root, vec![local_tier("hot"), local_tier("cold")]);
    let secret = bytes(5000, 1);
    {
        let store = Store::open(&cfg).unwrap();
        store.put("pii/a", secret.clone()).unwrap();
        store.put("plain/b", b"plain".to_vec()).unwrap();
    }
    std::fs::write(root.join("maskkeys.toml"), b"# not a key file\n").unwrap();
    std::fs::write(root.join("index.redb.corrupt-1"), b"damaged").unwrap();
    let ring = std::fs::read(root.join("keyring.toml")).unwrap();
    let want = ["pii/a", "plain/b"];
    let keys = |store: &Store| -> Vec<String> {
        store.list("").unwrap().into_iter().map(|o| o.key).collect()
    };
    let store = Store::open(&cfg).unwrap();
    let report = store.reindex().unwrap();
    assert_eq!(report.objects, 2, "{report:?}");
    assert!(report.skipped.is_empty(), "{report:?}");
    assert_eq!(keys(&store), want);
    for own in OWN_FILES {
        assert!(!store.exists(own).unwrap(), "{own}");
        assert_eq!(store.get(own).unwrap_err().kind(), ErrorKind::NotFound);
    }
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!((report.moved, report.failed), (2, 0), "{report:?}");
    assert!(report
        .actions
        .iter()
        .all(|a| want.contains(&a.planned.key.as_str())));
    assert_eq!(std::fs::read(root.join("keyring.toml")).unwrap(), ring);
    let mode = std::fs::metadata(root.join("keyring.toml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(store.get("pii/a").unwrap()[..] == secret[..]);
    drop(store);
    std::fs::remove_file(root.join("index.redb")).unwrap();
    let store = Store::open(&cfg).unwrap();
    assert_eq!(keys(&store), want);
    assert!(store.get("pii/a").unwrap()[..] == secret[..]);
}

#[test]
fn own_files_are_never_objects_through_the_cli() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("root");
    let cfg = encrypting(&root, vec![local_tier("hot"), local_tier("cold")]);
    let file = config_file(&cfg, &base.path().join("strata.toml"));
    let c = file.to_str().unwrap();
    let input = base.path().join("input");
    std::fs::write(&input, b"card 4111 1111 1111 1111").unwrap();
    cli_ok(&["--config", c, "put", "pii/a", input.to_str().unwrap()]);
    cli_ok(&["--config", c, "put", "plain/b", input.to_str().unwrap()]);
    let ring = std::fs::read(root.join("keyring.toml")).unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&cli_ok(&["--config", c, "tier", "reindex", "--json"])).unwrap();
    assert_eq!(report["objects"], 2, "{report}");
    for own in OWN_FILES {
        let err = cli_err(&["--config", c, "get", own]);
        assert!(err.contains("no such object"), "{err}");
    }
    let listed: serde_json::Value =
        serde_json::from_slice(&cli_ok(&["--config", c, "ls", "--json"])).unwrap();
    let keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["pii/a", "plain/b"]);
    let run = String::from_utf8(cli_ok(&["--config", c, "tier", "run"])).unwrap();
    assert!(run.contains("2 moved") && run.contains("0 failed"), "{run}");
    assert_eq!(std::fs::read(root.join("keyring.toml")).unwrap(), ring);
    let mode = std::fs::metadata(root.join("keyring.toml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        cli_ok(&["--config", c, "get", "pii/a"]),
        std::fs::read(&input).unwrap()
    );
}

/// `.strata` is strata's own directory in every tier: no key may start with it, on any tier
/// kind, and what lies there is never listed as an object.
fn own_directory_is_not_a_key(tier: TierConfig) {
    let base = tempfile::tempdir().unwrap();
    let cfg = config(&base.path().join("root"), vec![tier]);
    let store = Store::open(&cfg).unwrap();
    for key in [
        ".strata",
        ".strata/tier.json",
        ".strata/staging/put-00112233445566778899aabbccddeeff",
    ] {
        let err = store.put(key, b"x".to_vec()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{key}: {err}");
        assert_eq!(
            store.get(key).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
    // Names that only start like it are ordinary keys.
    for key in [".strata2/x", "a/.strata/x", ".strat"] {
        store.put(key, b"y".to_vec()).unwrap();
    }
    let report = store.reindex().unwrap();
    assert_eq!(report.objects, 3, "{report:?}");
    assert!(report.skipped.is_empty(), "{report:?}");
}

#[test]
fn own_directory_is_not_a_key_on_memory_tiers() {
    own_directory_is_not_a_key(memory_tier("t"));
}

#[test]
fn own_directory_is_not_a_key_on_local_tiers() {
    own_directory_is_not_a_key(local_tier("t"));
}

#[test]
fn own_directory_is_not_a_key_on_s3_tiers() {
    if let Some(tier) = s3_tier("t", "own-dir") {
        own_directory_is_not_a_key(tier);
    }
}

/// What another client leaves under `.strata/` in an S3 tier's prefix is not an object.
#[test]
fn s3_own_directory_is_skipped_by_reindex() {
    use object_store::ObjectStoreExt;
    let Some(tier) = s3_tier("t", "own-dir-listing") else {
        return;
    };
    let TierKind::S3(s3) = &tier.kind else {
        unreachable!()
    };
    let bucket = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&s3.bucket)
        .with_endpoint(s3.endpoint.clone().unwrap())
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .with_allow_http(true)
        .build()
        .unwrap();
    let prefix = s3.prefix.clone().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for name in [".strata/tier.json", ".strata/staging/put-1", "real"] {
        let path = object_store::path::Path::from(format!("{prefix}/{name}"));
        rt.block_on(bucket.put(&path, b"x".to_vec().into()))
            .unwrap();
    }
    let base = tempfile::tempdir().unwrap();
    let store = Store::open(&config(&base.path().join("root"), vec![tier])).unwrap();
    let keys: Vec<String> = store.list("").unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(keys, ["real"]);
}
