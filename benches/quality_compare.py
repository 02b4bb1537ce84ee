#!/usr/bin/env python3
"""Baselines for benches/quality.rs: the same 10 million rows (an i64 and an f64 column, 1%
nulls each) profiled by DuckDB's SUMMARIZE and by the reference document's pandas approach
(isnull().sum(), duplicated(), range checks).

Run: python3 benches/quality_compare.py [--threads N]   (needs pandas and duckdb)
Compare the seconds printed here with `cargo bench --bench quality` (profile_10m_numeric).
The data differ in values from the Rust bench's generator but not in shape or size.
"""
import argparse
import time

import duckdb
import numpy as np
import pandas as pd

ROWS = 10_000_000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    ints = rng.integers(-500_000_000, 500_000_000, ROWS)
    floats = rng.random(ROWS) * 1e6
    df = pd.DataFrame({
        "amount_i64": pd.array(ints, dtype="Int64"),
        "price_f64": floats,
    })
    df.loc[df.index % 100 == 7, "amount_i64"] = pd.NA
    df.loc[df.index % 100 == 11, "price_f64"] = np.nan

    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    con.register("df_view", df)
    con.execute("CREATE TABLE t AS SELECT * FROM df_view")
    start = time.perf_counter()
    con.execute("SUMMARIZE t").fetchall()
    duck = time.perf_counter() - start

    start = time.perf_counter()
    nulls = df.isnull().sum()
    dups = df.duplicated().sum()
    in_range = ((df["price_f64"] >= 0) & (df["price_f64"] <= 1e6)).sum()
    desc = df.describe()
    pandas_s = time.perf_counter() - start

    gb = ROWS * 16 / 1e9
    print(f"duckdb SUMMARIZE ({args.threads} threads): {duck:.3f} s, {gb / duck:.2f} GB/s")
    print(f"pandas isnull/duplicated/range/describe: {pandas_s:.3f} s, {gb / pandas_s:.2f} GB/s")
    _ = (nulls, dups, in_range, desc)


if __name__ == "__main__":
    main()
