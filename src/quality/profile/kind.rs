//! What a column's values are, as far as profiles care, and how to show them.

use arrow::datatypes::{DataType, TimeUnit};
use serde::{Deserialize, Serialize};

/// The value family of a profiled column; it decides how raw state values are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Signed integers (also times of day and durations, as their integer counts).
    Int,
    /// Unsigned integers.
    UInt,
    /// Floating point.
    Float,
    /// Fixed-point decimal with this scale.
    Decimal {
        /// Digits after the point.
        scale: i8,
    },
    /// Days since the Unix epoch.
    Date32,
    /// Milliseconds since the Unix epoch.
    Date64,
    /// Timestamps in this unit since the Unix epoch.
    Timestamp {
        /// 0 seconds, 3 milliseconds, 6 microseconds, 9 nanoseconds.
        digits: u8,
    },
    /// Booleans.
    Boolean,
    /// UTF-8 strings.
    Utf8,
    /// Byte strings.
    Binary,
    /// A type without value metrics (lists, structs, ...): rows and nulls only.
    Other,
}

impl ValueKind {
    /// The kind of an Arrow type.
    pub fn of(data_type: &DataType) -> ValueKind {
        use DataType::*;
        match data_type {
            Int8 | Int16 | Int32 | Int64 => ValueKind::Int,
            Time32(_) | Time64(_) | Duration(_) => ValueKind::Int,
            UInt8 | UInt16 | UInt32 | UInt64 => ValueKind::UInt,
            Float16 | Float32 | Float64 => ValueKind::Float,
            Decimal128(_, scale) => ValueKind::Decimal { scale: *scale },
            Date32 => ValueKind::Date32,
            Date64 => ValueKind::Date64,
            Timestamp(unit, _) => ValueKind::Timestamp {
                digits: match unit {
                    TimeUnit::Second => 0,
                    TimeUnit::Millisecond => 3,
                    TimeUnit::Microsecond => 6,
                    TimeUnit::Nanosecond => 9,
                },
            },
            Boolean => ValueKind::Boolean,
            Utf8 | LargeUtf8 | Utf8View => ValueKind::Utf8,
            Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => ValueKind::Binary,
            _ => ValueKind::Other,
        }
    }

    /// Whether mean, standard deviation and sum mean something for this kind.
    pub(crate) fn is_arithmetic(self) -> bool {
        matches!(
            self,
            ValueKind::Int | ValueKind::UInt | ValueKind::Float | ValueKind::Decimal { .. }
        )
    }

    /// Shows a value held as `f64` (sketch items, means).
    pub(crate) fn scalar_from_f64(self, x: f64) -> Scalar {
        match self {
            ValueKind::Int => Scalar::Int(x as i64),
            ValueKind::UInt => Scalar::UInt(x as u64),
            // Decimal state is kept in unscaled units.
            ValueKind::Decimal { scale } => {
                Scalar::Decimal(format_decimal(x.round() as i128, scale))
            }
            ValueKind::Date32 | ValueKind::Date64 | ValueKind::Timestamp { .. } => {
                self.scalar_from_i64(x as i64)
            }
            _ => Scalar::Float(x),
        }
    }

    /// Shows a value held as an integer (dates and timestamps as text).
    pub(crate) fn scalar_from_i64(self, x: i64) -> Scalar {
        use arrow::temporal_conversions as tc;
        let text = match self {
            ValueKind::Date32 => tc::date32_to_datetime(x as i32).map(|d| d.date().to_string()),
            ValueKind::Date64 => tc::date64_to_datetime(x).map(|d| d.to_string()),
            ValueKind::Timestamp { digits: 0 } => {
                tc::timestamp_s_to_datetime(x).map(|d| d.to_string())
            }
            ValueKind::Timestamp { digits: 3 } => {
                tc::timestamp_ms_to_datetime(x).map(|d| d.to_string())
            }
            ValueKind::Timestamp { digits: 6 } => {
                tc::timestamp_us_to_datetime(x).map(|d| d.to_string())
            }
            ValueKind::Timestamp { .. } => tc::timestamp_ns_to_datetime(x).map(|d| d.to_string()),
            ValueKind::Decimal { scale } => {
                return Scalar::Decimal(format_decimal(x as i128, scale))
            }
            ValueKind::Float => return Scalar::Float(x as f64),
            ValueKind::UInt => return Scalar::UInt(x as u64),
            _ => return Scalar::Int(x),
        };
        text.map(Scalar::Text).unwrap_or(Scalar::Int(x))
    }

    /// Shows a byte-string value.
    pub(crate) fn scalar_from_bytes(self, bytes: &[u8]) -> Scalar {
        match (self, std::str::from_utf8(bytes)) {
            (ValueKind::Utf8, Ok(text)) => Scalar::Text(text.to_string()),
            _ => Scalar::Text(bytes.iter().map(|b| format!("{b:02x}")).collect()),
        }
    }
}

/// A value in a profile summary or a rule result, shown the way a reader expects: dates and
/// timestamps as ISO text, decimals as exact text, binary as hex.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A decimal, exactly, as text.
    Decimal(String),
    /// Text: strings, dates, timestamps, hex of binary.
    Text(String),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::UInt(u) => write!(f, "{u}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Decimal(s) | Scalar::Text(s) => f.write_str(s),
        }
    }
}

/// Formats a scaled integer as decimal text (`12345`, scale 2 -> `123.45`).
pub(crate) fn format_decimal(value: i128, scale: i8) -> String {
    if scale <= 0 {
        let zeros = "0".repeat((-(scale as i32)) as usize);
        return format!("{value}{zeros}");
    }
    let digits = value.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{int}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_format_exactly() {
        assert_eq!(format_decimal(12345, 2), "123.45");
        assert_eq!(format_decimal(-5, 3), "-0.005");
        assert_eq!(format_decimal(7, 0), "7");
        assert_eq!(format_decimal(7, -2), "700");
    }

    #[test]
    fn temporal_values_show_as_text() {
        assert_eq!(
            ValueKind::Date32.scalar_from_i64(0),
            Scalar::Text("1970-01-01".into())
        );
        assert_eq!(
            ValueKind::Timestamp { digits: 3 }.scalar_from_i64(86_400_000),
            Scalar::Text("1970-01-02 00:00:00".into())
        );
    }
}
