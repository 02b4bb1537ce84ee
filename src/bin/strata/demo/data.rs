//! The demo's bronze data: a deterministic table of taxi trips with the flaws real raw data
//! has (duplicate ids, nulls, NaN and negative fares, malformed emails), written as Parquet
//! with small row groups so that pruning has something to skip.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use strata::Result;

use super::internal;

/// Rows per row group of the bronze file.
pub const ROW_GROUP_ROWS: usize = 25_000;

const ZONES: [&str; 8] = [
    "JFK", "LGA", "EWR", "Midtown", "Harlem", "SoHo", "Astoria", "Flushing",
];

/// `rows` trips, sorted by `trip_id` and `pickup_at`.
pub fn bronze_trips(rows: usize) -> Result<RecordBatch> {
    // A fixed-seed LCG: the same table on every machine, without a dependency.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let start_ms = 1_767_225_600_000_i64; // 2026-01-01T00:00:00Z
    let mut ids = Vec::with_capacity(rows);
    let mut pickups = Vec::with_capacity(rows);
    let mut zones = Vec::with_capacity(rows);
    let mut emails = Vec::with_capacity(rows);
    let mut fares = Vec::with_capacity(rows);
    let mut distances = Vec::with_capacity(rows);
    let mut cards = Vec::with_capacity(rows);
    for i in 0..rows {
        let r = next();
        // Every 10,000th trip was ingested twice.
        let id = if i % 10_000 == 9_999 { i - 1 } else { i } as i64;
        ids.push(id);
        pickups.push(start_ms + i as i64 * 9_000);
        zones.push((r % 97 != 0).then(|| ZONES[(r % 8) as usize]));
        let rider = r % 50_000;
        emails.push(match r % 200 {
            0 => None,
            1 => Some(format!("rider{rider}-at-example.com")),
            _ => Some(format!("rider{rider}@example.com")),
        });
        let distance = (r % 3_000) as f64 / 100.0 + 0.3;
        distances.push(distance);
        fares.push(match r % 500 {
            0 => f64::NAN,
            1 => -(distance * 2.5),
            _ => 3.0 + distance * 2.5,
        });
        cards.push(card_number(4_000_000_000_000_000 + r % 1_000_000_000_000));
    }
    let schema = Schema::new(vec![
        Field::new("trip_id", DataType::Int64, false),
        Field::new(
            "pickup_at",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("zone", DataType::Utf8, true),
        Field::new("rider_email", DataType::Utf8, true),
        Field::new("fare", DataType::Float64, false),
        Field::new("distance_km", DataType::Float64, false),
        Field::new("card_number", DataType::Utf8, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids)),
        Arc::new(TimestampMillisecondArray::from(pickups).with_timezone("UTC")),
        Arc::new(StringArray::from(zones)),
        Arc::new(StringArray::from(emails)),
        Arc::new(Float64Array::from(fares)),
        Arc::new(Float64Array::from(distances)),
        Arc::new(StringArray::from(cards)),
    ];
    RecordBatch::try_new(Arc::new(schema), columns)
        .map_err(|e| internal(format!("demo: cannot build the bronze table: {e}")))
}

/// A 16-digit card number from a 15-digit body and its Luhn check digit.
fn card_number(body: u64) -> String {
    let digits: Vec<u32> = body
        .to_string()
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                (d * 2) % 9 + if d == 9 { 9 } else { 0 }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// The table as Parquet bytes the way a writer with fixed settings makes it, through strata's
/// Parquet writer: zstd for every column, default encodings, page statistics, row groups of
/// [`ROW_GROUP_ROWS`]. The demo compares the `auto` policy's choice against it.
pub fn to_parquet(batch: &RecordBatch) -> Result<Vec<u8>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .build();
    strata::format::write_parquet(
        Vec::new(),
        &batch.schema(),
        std::slice::from_ref(batch),
        props,
        ROW_GROUP_ROWS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_pass_luhn() {
        // 4539 1488 0343 6467 is a well-known Luhn-valid test number.
        assert_eq!(card_number(453_914_880_343_646), "4539148803436467");
        let batch = bronze_trips(1_000).unwrap();
        assert_eq!(batch.num_rows(), 1_000);
        assert!(to_parquet(&batch).unwrap().starts_with(b"PAR1"));
    }
}
