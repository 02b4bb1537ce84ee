//! Parsers of the duration, size and count flags, each with the range its `--help` states: a
//! value outside it (or one that does not parse, or overflows) is a one-line error naming the
//! flag and the range, never a panic later on.

use std::time::Duration;

use clap::builder::{RangedU64ValueParser, TypedValueParser};

/// 100 years as humantime reads "100y" (a year of 365.25 days).
const CENTURY: Duration = Duration::from_secs(100 * 31_557_600);

/// `--threads N`: 1 to 1024.
pub const THREADS: (u64, u64) = (1, 1024);

/// A count flag of type `T` between `min` and `max` (inclusive).
pub fn count<T>(min: u64, max: u64) -> impl TypedValueParser<Value = T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
    <T as TryFrom<u64>>::Error: std::error::Error + Send + Sync + 'static,
{
    RangedU64ValueParser::<T>::new().range(min..=max)
}

/// `--after DURATION`: 0s to 100y.
pub fn after(text: &str) -> Result<Duration, String> {
    duration(text, Duration::ZERO, CENTURY, "0s to 100y")
}

fn duration(text: &str, min: Duration, max: Duration, range: &str) -> Result<Duration, String> {
    // humantime's own errors include overflow ("500000000000000y"); a value it reads is
    // then held to the range, so adding it to a clock never overflows.
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("bad duration {text:?} ({e}); expected {range}, e.g. 31d"))?;
    if d < min || d > max {
        return Err(format!("{text:?} is out of range: expected {range}"));
    }
    Ok(d)
}

/// `--since T`: a time as RFC 3339 (`2026-12-01T00:00:00Z`, any offset), a date
/// (`2026-12-01`, midnight UTC) or a duration that long ago (`1h`, `7d`: 0s to 100y); ms since
/// the epoch.
pub fn since(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let expected = "expected RFC 3339 (2026-12-01T00:00:00Z), a date (2026-12-01) or a \
                    duration ago (1h, 7d; 0s to 100y)";
    // A time or a date starts with its year; a duration with its number and a unit.
    let dated = t.len() >= 10
        && t.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && t.as_bytes()[4] == b'-';
    if !dated {
        let ago = duration(t, Duration::ZERO, CENTURY, "0s to 100y")
            .map_err(|_| format!("bad time {text:?}: {expected}"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        return Ok(now.as_millis() as i64 - ago.as_millis() as i64);
    }
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(at.timestamp_millis());
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(midnight) = day.and_hms_opt(0, 0, 0) {
            return Ok(midnight.and_utc().timestamp_millis());
        }
    }
    // RFC 3339 without its offset (UTC), or with a space for the `T`.
    humantime::parse_rfc3339_weak(t)
        .ok()
        .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .ok_or_else(|| format!("bad time {text:?}: {expected}"))
}

/// `1048576`, `64KiB`, `128MiB`, `1GiB` (also KB/MB/GB/TB as binary units).
pub fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("bad size {s:?}; expected a number and a unit like 64MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("bad size unit in {s:?}; use KiB, MiB, GiB or TiB")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} is too large"))
}

fn sized(s: &str, min: u64, max: u64, range: &str) -> Result<u64, String> {
    let n = size(s)?;
    if n < min || n > max {
        return Err(format!("{s:?} is out of range: expected {range}"));
    }
    Ok(n)
}

/// `--target-file-size SIZE`: 1KiB to 1TiB.
pub fn target_file_size(s: &str) -> Result<u64, String> {
    sized(s, 1 << 10, 1 << 40, "1KiB to 1TiB")
}

/// `--small-file-size SIZE`: 0 to 1TiB.
pub fn small_file_size(s: &str) -> Result<u64, String> {
    sized(s, 0, 1 << 40, "0 to 1TiB")
}

/// `--page-size SIZE`: 1KiB to 1GiB.
pub fn page_size(s: &str) -> Result<u64, String> {
    sized(s, 1 << 10, 1 << 30, "1KiB to 1GiB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_are_errors_not_panics() {
        for bad in [
            "500000000000y",
            "5000000000000000000000y",
            "-1s",
            "",
            "soon",
            "101y",
        ] {
            assert!(after(bad).is_err(), "{bad}");
        }
        assert_eq!(after("0s").unwrap(), Duration::ZERO);
        assert_eq!(after("100y").unwrap(), CENTURY);
        for bad in [
            "0",
            "1023",
            "2TiB",
            "18446744073709551615GiB",
            "-1",
            "x",
            "1PiB",
        ] {
            assert!(target_file_size(bad).is_err(), "{bad}");
        }
        assert_eq!(target_file_size("1KiB").unwrap(), 1024);
        assert_eq!(target_file_size("1TiB").unwrap(), 1 << 40);
        assert_eq!(small_file_size("0").unwrap(), 0);
        assert!(page_size("2GiB").is_err());
        assert_eq!(page_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(since("2026-12-01").unwrap(), 1_796_083_200_000);
        assert_eq!(since("2026-12-01T00:00:00Z").unwrap(), 1_796_083_200_000);
        assert_eq!(
            since("2026-12-01T01:00:00+01:00").unwrap(),
            1_796_083_200_000
        );
        let hour_ago = since("1h").unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!((now - 3_600_000 - hour_ago).abs() < 60_000, "{hour_ago}");
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-12-01T25:00:00Z",
            "-1h",
            "101y",
            "2026",
        ] {
            assert!(since(bad).is_err(), "{bad}");
        }
    }
}
