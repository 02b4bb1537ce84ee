//! A deterministic mixed-type table for the format benches and interop tests: sorted and
//! random integers, floats, low- and high-cardinality strings, timestamps, dates, booleans and
//! nulls, with the value distributions of typical event data.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float32Array, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use strata::{Error, ErrorKind, Result};

const COUNTRIES: [&str; 20] = [
    "US", "DE", "FR", "GB", "JP", "BR", "IN", "CN", "CA", "AU", "ES", "IT", "NL", "SE", "PL", "MX",
    "KR", "ZA", "AR", "NO",
];
const EVENTS: [&str; 5] = ["view", "click", "add_to_cart", "purchase", "refund"];

/// `rows` rows of event data, the same on every machine for a given `seed`.
pub fn mixed_table(rows: usize, seed: u64) -> Result<RecordBatch> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut id = Vec::with_capacity(rows);
    let mut user = Vec::with_capacity(rows);
    let mut amount = Vec::with_capacity(rows);
    let mut temp = Vec::with_capacity(rows);
    let mut country = Vec::with_capacity(rows);
    let mut event = Vec::with_capacity(rows);
    let mut session = Vec::with_capacity(rows);
    let mut ts = Vec::with_capacity(rows);
    let mut day = Vec::with_capacity(rows);
    let mut flag = Vec::with_capacity(rows);
    let mut t: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in microseconds
    for i in 0..rows {
        let r = next();
        id.push(i as i64);
        user.push((r % 50 != 0).then_some((next() % 200_000) as i64));
        amount.push((r % 20 != 1).then_some((next() % 100_000) as f64 / 100.0));
        temp.push(20.0 + ((i as f32) * 0.001).sin() * 5.0 + (next() % 100) as f32 / 1000.0);
        // Skewed: the first countries are the most common.
        let c = (next() % 400) as usize;
        country.push((r % 100 != 2).then_some(COUNTRIES[(c * c / 8000).min(19)]));
        event.push(EVENTS[((next() % 100) as usize * (next() % 100) as usize / 2000).min(4)]);
        session.push(format!("{:016x}", next()));
        t += (next() % 2_000_000) as i64;
        ts.push(t);
        day.push((t / 86_400_000_000) as i32);
        flag.push((r % 10 != 3).then_some(next() % 3 == 0));
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("user_id", DataType::Int64, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("temperature", DataType::Float32, false),
        Field::new("country", DataType::Utf8, true),
        Field::new("event", DataType::Utf8, false),
        Field::new("session", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("day", DataType::Date32, false),
        Field::new("flag", DataType::Boolean, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(id)),
        Arc::new(Int64Array::from(user)),
        Arc::new(Float64Array::from(amount)),
        Arc::new(Float32Array::from(temp)),
        Arc::new(StringArray::from(country)),
        Arc::new(StringArray::from(event)),
        Arc::new(StringArray::from(session)),
        Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
        Arc::new(Date32Array::from(day)),
        Arc::new(BooleanArray::from(flag)),
    ];
    RecordBatch::try_new(schema, columns).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot build the mixed table: {e}"),
        )
    })
}
