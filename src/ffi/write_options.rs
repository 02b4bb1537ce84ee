//! The `options_json` of `strata_lake_write`: a JSON object whose keys are the flags of
//! `strata write` (with `_` for `-`), mapped onto [`WriteOptions`]. An unknown key, a value of
//! the wrong type or out of its range is `STRATA_INVALID_ARGUMENT` naming the key; nothing is
//! written then.

use serde_json::{Map, Value};

use super::guard::invalid;
use crate::{
    format::{AccessPattern, CodecPolicy, DictionaryMode, FormatChoice, PageVersion, Partitioning},
    Error, Lake, Result, WriteOptions,
};

/// The keys `options_json` may have, in the order the header documents them.
pub(crate) const KEYS: &[&str] = &[
    "codec",
    "partition_by",
    "target_file_size",
    "row_group_rows",
    "page_size",
    "format",
    "page_version",
    "dictionary",
    "bloom_filter",
    "sort_by",
    "access",
    "tier",
];

/// Rows per row group: the range of `strata write --row-group-rows`.
const ROW_GROUP_ROWS: (u64, u64) = (1, 1 << 30);
/// Target file size: the range of `strata write --target-file-size`.
const TARGET_FILE_SIZE: (u64, u64) = (1 << 10, 1 << 40);
/// Data page size: the range of `strata write --page-size`.
const PAGE_SIZE: (u64, u64) = (1 << 10, 1 << 30);

/// The write options for data under `key` of `lake`: the lake's defaults for it
/// ([`Lake::write_options`]) with what `json` (NULL or blank: nothing) says on top.
pub(crate) fn parse(lake: &Lake, key: &str, json: Option<&str>) -> Result<WriteOptions> {
    let mut options = lake.write_options(key)?;
    let Some(json) = json.filter(|j| !j.trim().is_empty()) else {
        return Ok(options);
    };
    let value: Value = serde_json::from_str(json)
        .map_err(|e| invalid(format!("options_json is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(invalid(
            "options_json must be a JSON object, e.g. {\"codec\": \"zstd:3\", \"partition_by\": \"region\"}",
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "unknown option {unknown:?} in options_json; the options are {}",
            KEYS.join(", ")
        ))
        .with("option", unknown));
    }
    let set = Options(&map);
    // The tier first: it gives the default codec policy, which "codec" then overrides.
    if let Some(name) = set.text("tier")? {
        let config = lake.config();
        let position = config
            .tiers
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = config.tiers.iter().map(|t| t.name.as_str()).collect();
                invalid(format!(
                    "unknown tier {name:?}; the lake's tiers are {}",
                    names.join(", ")
                ))
                .with("option", "tier")
            })?;
        options.codec = config.format.tier_codec(name, position)?;
        options.tier_position = Some(position);
    }
    if let Some(codec) = set.parsed::<CodecPolicy>("codec")? {
        options.codec = codec;
    }
    if let Some(partitioning) = set.partitioning()? {
        options.partitioning = Some(partitioning);
    }
    if let Some(n) = set.size("target_file_size", TARGET_FILE_SIZE)? {
        options.target_file_bytes = n;
    }
    if let Some(n) = set.count("row_group_rows", ROW_GROUP_ROWS)? {
        options.row_group_rows = to_usize(n, "row_group_rows")?;
    }
    if let Some(n) = set.size("page_size", PAGE_SIZE)? {
        options.page_bytes = to_usize(n, "page_size")?;
    }
    if let Some(format) = set.parsed::<FormatChoice>("format")? {
        options.format = format;
    }
    if let Some(version) = set.text("page_version")? {
        options.page_version = match version {
            "v1" | "1" => PageVersion::V1,
            "v2" | "2" => PageVersion::V2,
            _ => return Err(bad("page_version", "\"v1\" or \"v2\"", version)),
        };
    }
    if let Some(mode) = set.text("dictionary")? {
        options.dictionary = match mode {
            "auto" => DictionaryMode::Auto,
            "on" => DictionaryMode::On,
            "off" => DictionaryMode::Off,
            _ => return Err(bad("dictionary", "\"auto\", \"on\" or \"off\"", mode)),
        };
    }
    if let Some(columns) = set.names("bloom_filter")? {
        options.bloom_filter_columns = columns;
    }
    if let Some(columns) = set.names("sort_by")? {
        options.sort_by = columns;
    }
    if let Some(access) = set.parsed::<AccessPattern>("access")? {
        options.access = access;
    }
    Ok(options)
}

fn bad(key: &str, expected: &str, got: impl std::fmt::Display) -> Error {
    invalid(format!("option {key:?} must be {expected}, not {got}")).with("option", key)
}

fn to_usize(n: u64, key: &str) -> Result<usize> {
    usize::try_from(n).map_err(|_| bad(key, "smaller on this platform", n))
}

/// The options object, read key by key; JSON `null` is the same as leaving a key out.
struct Options<'a>(&'a Map<String, Value>);

impl Options<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn text(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(bad(key, "a string", other)),
        }
    }

    /// A string parsed by the type's `FromStr` (the parser `strata write`'s flag uses).
    fn parsed<T: std::str::FromStr<Err = Error>>(&self, key: &str) -> Result<Option<T>> {
        self.text(key)?
            .map(|text| {
                text.parse::<T>().map_err(|e| {
                    invalid(format!("option {key:?}: {}", e.message())).with("option", key)
                })
            })
            .transpose()
    }

    /// An integer in `range` (inclusive).
    fn count(&self, key: &str, (min, max): (u64, u64)) -> Result<Option<u64>> {
        let expected = || format!("an integer from {min} to {max}");
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(bad(key, &expected(), n)),
            },
            Some(other) => Err(bad(key, &expected(), other)),
        }
    }

    /// A size in `range`: a number of bytes, or text such as "256MiB" (binary units, as the
    /// flags of `strata write` take them).
    fn size(&self, key: &str, (min, max): (u64, u64)) -> Result<Option<u64>> {
        let expected = || {
            format!(
                "a size from {} to {} (bytes, or text such as \"256MiB\")",
                human(min),
                human(max)
            )
        };
        let n = match self.get(key) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| bad(key, &expected(), n))?,
            Some(Value::String(text)) => {
                parse_size(text).ok_or_else(|| bad(key, &expected(), format!("{text:?}")))?
            }
            Some(other) => return Err(bad(key, &expected(), other)),
        };
        if !(min..=max).contains(&n) {
            return Err(bad(key, &expected(), n));
        }
        Ok(Some(n))
    }

    /// Column names: an array of strings, or one string of comma-separated names.
    fn names(&self, key: &str) -> Result<Option<Vec<String>>> {
        let expected = "an array of column names";
        let names: Vec<String> = match self.get(key) {
            None => return Ok(None),
            Some(Value::String(s)) => s.split(',').map(|n| n.trim().to_string()).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(bad(key, expected, other)),
                })
                .collect::<Result<_>>()?,
            Some(other) => return Err(bad(key, expected, other)),
        };
        if names.iter().any(|n| n.is_empty()) {
            return Err(
                invalid(format!("option {key:?} names an empty column")).with("option", key)
            );
        }
        Ok(Some(names))
    }

    /// `"region,ts:day"`, or `["region", "ts:day"]`, as `strata write --partition-by` takes it.
    fn partitioning(&self) -> Result<Option<Partitioning>> {
        let key = "partition_by";
        let Some(names) = self.names(key)? else {
            return Ok(None);
        };
        if names.is_empty() {
            return Ok(None);
        }
        names
            .join(",")
            .parse::<Partitioning>()
            .map(Some)
            .map_err(|e| invalid(format!("option {key:?}: {}", e.message())).with("option", key))
    }
}

/// `1048576`, `64KiB`, `128MiB`, `1GiB` (KB, MB, GB and TB are binary units too, as in the
/// flags of `strata write`); None when it does not parse or overflows.
fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

fn human(n: u64) -> String {
    match n.trailing_zeros() {
        40.. => format!("{}TiB", n >> 40),
        30.. => format!("{}GiB", n >> 30),
        20.. => format!("{}MiB", n >> 20),
        10.. => format!("{}KiB", n >> 10),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{format::Codec, ErrorKind};

    fn lake() -> (tempfile::TempDir, Lake) {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open_dir(dir.path()).unwrap();
        (dir, lake)
    }

    #[test]
    fn every_key_maps_onto_the_write_options() {
        let (_dir, lake) = lake();
        let json = r#"{
            "codec": "zstd:7", "partition_by": ["region", "ts:day"],
            "target_file_size": "256MiB", "row_group_rows": 5000, "page_size": 65536,
            "format": "parquet", "page_version": "v2", "dictionary": "off",
            "bloom_filter": ["id"], "sort_by": "id, ts", "access": "scan", "tier": "cold"
        }"#;
        let o = parse(&lake, "sales", Some(json)).unwrap();
        assert_eq!(o.codec, CodecPolicy::Fixed(Codec::Zstd(7)));
        assert_eq!(
            o.partitioning.unwrap().to_string(),
            "region,ts:day".to_string()
        );
        assert_eq!(o.target_file_bytes, 256 << 20);
        assert_eq!(o.row_group_rows, 5000);
        assert_eq!(o.page_bytes, 65536);
        assert_eq!(o.format, FormatChoice::Parquet);
        assert_eq!(o.page_version, PageVersion::V2);
        assert_eq!(o.dictionary, DictionaryMode::Off);
        assert_eq!(o.bloom_filter_columns, vec!["id"]);
        assert_eq!(o.sort_by, vec!["id", "ts"]);
        assert_eq!(o.tier_position, Some(1));
        assert!(o.page_index);
    }

    #[test]
    fn defaults_follow_the_lake_config() {
        let (_dir, lake) = lake();
        for json in [
            None,
            Some(""),
            Some("  "),
            Some("{}"),
            Some(r#"{"codec": null}"#),
        ] {
            let o = parse(&lake, "sales", json).unwrap();
            // The default layout places everything on the hot tier: its policy is `fast`.
            assert_eq!(o.codec, CodecPolicy::Fast, "{json:?}");
            assert_eq!(o.tier_position, Some(0));
            assert!(o.partitioning.is_none());
        }
        // Naming the cold tier takes its policy unless the codec is named too.
        let o = parse(&lake, "sales", Some(r#"{"tier": "cold"}"#)).unwrap();
        assert_eq!(o.codec, CodecPolicy::Compact);
        let o = parse(&lake, "sales", Some(r#"{"tier": "cold", "codec": "auto"}"#)).unwrap();
        assert_eq!(o.codec, CodecPolicy::Auto);
    }

    #[test]
    fn bad_options_are_invalid_arguments_naming_the_key() {
        let (_dir, lake) = lake();
        let cases = [
            (r#"{"codek": "zstd"}"#, "codek"),
            (r#"{"codec": "zstd:99"}"#, "codec"),
            (r#"{"codec": "brotli"}"#, "codec"),
            (r#"{"codec": 3}"#, "codec"),
            (r#"{"row_group_rows": 0}"#, "row_group_rows"),
            (r#"{"row_group_rows": -5}"#, "row_group_rows"),
            (r#"{"row_group_rows": 1.5}"#, "row_group_rows"),
            (r#"{"row_group_rows": "10"}"#, "row_group_rows"),
            (r#"{"row_group_rows": 2000000000}"#, "row_group_rows"),
            (r#"{"target_file_size": "1B"}"#, "target_file_size"),
            (r#"{"target_file_size": "5 parsecs"}"#, "target_file_size"),
            (
                r#"{"target_file_size": "99999999999999999999TiB"}"#,
                "target_file_size",
            ),
            (r#"{"target_file_size": true}"#, "target_file_size"),
            (r#"{"page_size": "2GiB"}"#, "page_size"),
            (r#"{"partition_by": "ts:fortnight"}"#, "partition_by"),
            (r#"{"partition_by": ["a", ""]}"#, "partition_by"),
            (r#"{"partition_by": [1]}"#, "partition_by"),
            (r#"{"partition_by": {"a": 1}}"#, "partition_by"),
            (r#"{"format": "orc"}"#, "format"),
            (r#"{"page_version": "v3"}"#, "page_version"),
            (r#"{"dictionary": "sometimes"}"#, "dictionary"),
            (r#"{"access": "random"}"#, "access"),
            (r#"{"tier": "lukewarm"}"#, "tier"),
        ];
        for (json, key) in cases {
            let e = parse(&lake, "sales", Some(json)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{json}: {e}");
            assert!(e.to_string().contains(key), "{json}: {e}");
        }
        for json in ["{", "[1, 2]", "\"codec\"", "null", "{\"codec\": \"zstd\",}"] {
            let e = parse(&lake, "sales", Some(json)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{json}: {e}");
            assert!(e.to_string().contains("options_json"), "{json}: {e}");
        }
    }

    #[test]
    fn sizes_read_as_the_cli_flags_read_them() {
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("64KiB"), Some(64 << 10));
        assert_eq!(parse_size(" 128 MB "), Some(128 << 20));
        assert_eq!(parse_size("1tib"), Some(1 << 40));
        assert_eq!(parse_size("1.5GiB"), None);
        assert_eq!(parse_size("MiB"), None);
        assert_eq!(parse_size("99999999999TiB"), None);
        assert_eq!(human(1 << 40), "1TiB");
        assert_eq!(human(1 << 10), "1KiB");
    }
}
