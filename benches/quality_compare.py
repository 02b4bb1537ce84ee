#!/usr/bin/env python3
"""Data-quality comparison in one run on one Parquet file of 10 million rows (an i64 and an f64
column, 1% nulls each, plus 0.1% NaN in the floats):

  * strata profile (1 and 2 threads) against DuckDB's SUMMARIZE (1 and 2 threads), both reading
    the file;
  * strata check (completeness, uniqueness and range rules, plus the dataset quality score)
    against the reference document's pandas approach: isnull().sum(), duplicated(), range
    checks and the completeness x 0.7 + uniqueness x 0.3 score, on the same file.

Then, on the same table written the ways most of the world writes Parquet (pyarrow's defaults:
dictionary, snappy, row groups of 1Mi rows, no page index; and DuckDB's `COPY`), the same
three checks (completeness of both columns, uniqueness of amount_i64, the range of price_f64)
by each tool, in paired rounds (one round runs every side once, back to back):

  * `strata check FILE --rules R --threads N` as a whole command (it also computes the dataset
    quality score over the columns read; over more than CheckOptions::exact_distinct_rows rows,
    1 Mi by default, its distinct rows are a HyperLogLog estimate that the JSON report marks
    with `uniqueness_error`), 1 and 2 threads;
  * DuckDB SQL: nulls counted, count - count(DISTINCT), a range count, 1 and 2 threads;
  * pandas' vectorised checks with the read: pd.read_parquet, isnull().sum(),
    duplicated().sum() of the key, a boolean range mask (pyarrow's read uses every core);
    and the same plus df.duplicated() (the score's distinct rows, which strata computes too).

Run:  cargo build --release --bin strata && python3 benches/quality_compare.py [--rows N] [--runs 3]
Needs pandas, pyarrow and duckdb. Times are the best of --runs, wall clock, whole commands
for strata (process start, Parquet decode and the kernels); the paired rounds report the median
and best of each side and the load (`uptime`) before and after. The kernels alone are measured
by `cargo bench --bench quality`. `--only-realistic` skips the first part.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

RULES = """
[[rules]]
check = "completeness"
column = "amount_i64"
min = 0.95

[[rules]]
check = "completeness"
column = "price_f64"
min = 0.95

[[rules]]
check = "unique"
column = "amount_i64"
severity = "warn"

[[rules]]
check = "range"
column = "price_f64"
min = 0.0
max = 1000000.0
"""


def make_file(path, rows):
    rng = np.random.default_rng(7)
    ints = rng.integers(-500_000_000, 500_000_000, rows)
    floats = rng.random(rows) * 1e6
    floats[np.arange(rows) % 1000 == 3] = np.nan
    idx = np.arange(rows)
    table = pa.table({
        "amount_i64": pa.array(ints, mask=(idx % 100 == 7)),
        "price_f64": pa.array(floats, mask=(idx % 100 == 11)),
    })
    pq.write_table(table, path, row_group_size=1 << 20, compression="snappy")


def write_realistic(source, pyarrow_path, duckdb_path):
    """The table as pyarrow writes it with its defaults, and as DuckDB's COPY writes it."""
    table = pq.read_table(source)
    pq.write_table(table, pyarrow_path)
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_parquet('{source}')) TO '{duckdb_path}' (FORMAT parquet)")


def duckdb_checks(con, path):
    return con.execute(
        "SELECT count(*) - count(amount_i64), count(*) - count(price_f64), "
        "count(amount_i64) - count(DISTINCT amount_i64), "
        "count(*) FILTER (WHERE price_f64 < 0.0 OR price_f64 > 1e6) "
        f"FROM read_parquet('{path}')").fetchall()


def pandas_checks(path, score):
    df = pd.read_parquet(path)
    out = (df.isnull().sum(), df["amount_i64"].duplicated().sum(),
           ((df["price_f64"] < 0.0) | (df["price_f64"] > 1e6)).sum())
    if score:
        out += (df.duplicated().sum(),)
    return out


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def load():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def realistic(args, tmp, source, rules, root):
    """Paired rounds of strata check, DuckDB SQL and pandas on pyarrow- and DuckDB-written
    files."""
    files = {"pyarrow defaults": os.path.join(tmp, "pyarrow.parquet"),
             "duckdb COPY": os.path.join(tmp, "duckdb.parquet")}
    write_realistic(source, files["pyarrow defaults"], files["duckdb COPY"])
    cons = {}
    for threads in (1, 2):
        cons[threads] = duckdb.connect()
        cons[threads].execute(f"SET threads = {threads}")
    print()
    print(f"load before: {load()}")
    for label, path in files.items():
        meta = pq.ParquetFile(path).metadata
        sides = {}
        for threads in (1, 2):
            sides[f"strata check {threads}t"] = lambda t=threads: strata(
                args.strata, "--dir", root, "check", path, "--rules", rules, "--threads", str(t))
        for threads in (1, 2):
            sides[f"duckdb SQL {threads}t"] = lambda t=threads: duckdb_checks(cons[t], path)
        sides["pandas read + checks"] = lambda: pandas_checks(path, False)
        sides["pandas read + checks + df.duplicated"] = lambda: pandas_checks(path, True)
        times = {name: [] for name in sides}
        for name, fn in sides.items():  # warm the page cache and each side once
            fn()
        for _ in range(args.runs):
            for name, fn in sides.items():
                times[name].append(timed(fn))
        print(f"{label}: {os.path.basename(path)}, {meta.num_rows:,} rows, {meta.num_row_groups} row groups, "
              f"{os.path.getsize(path) / 1e6:.0f} MB; {args.runs} paired rounds")
        width = max(map(len, sides))
        med = {name: statistics.median(t) for name, t in times.items()}
        for name, t in times.items():
            print(f"  {name:<{width}}  median {med[name]:7.3f} s  best {min(t):7.3f} s")
        for threads in (1, 2):
            s = med[f"strata check {threads}t"]
            print(f"  strata {threads}t / duckdb {threads}t: {s / med[f'duckdb SQL {threads}t']:.2f}x   "
                  f"/ pandas: {s / med['pandas read + checks']:.2f}x   "
                  f"/ pandas with df.duplicated: {s / med['pandas read + checks + df.duplicated']:.2f}x  (medians)")
    print(f"load after: {load()}")


def best(runs, fn):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def strata(binary, *args):
    out = subprocess.run([binary, *args], capture_output=True, text=True)
    if out.returncode not in (0, 1) or (out.returncode == 1 and "check failed" not in out.stderr):
        raise SystemExit(f"strata {' '.join(args)} failed: {out.stderr}")
    return out.stdout


def pandas_reference(path):
    df = pd.read_parquet(path)
    missing = df.isnull().sum().sum()
    completeness = 1 - missing / df.size
    uniqueness = 1 - df.duplicated().sum() / len(df)
    score = completeness * 0.7 + uniqueness * 0.3
    results = []
    for column in ["amount_i64", "price_f64"]:
        ratio = df[column].notna().sum() / len(df)
        results.append(("completeness", column, ratio >= 0.95, df[column].isna().sum()))
    dups = df["amount_i64"].duplicated().sum()
    results.append(("uniqueness", "amount_i64", dups == 0, dups))
    out_of_range = ((df["price_f64"] < 0.0) | (df["price_f64"] > 1e6)).sum()
    results.append(("range", "price_f64", out_of_range == 0, out_of_range))
    return score, results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--strata", default=os.path.join("target", "release", "strata"))
    parser.add_argument("--only-realistic", action="store_true",
                        help="skip the profile and reference comparison; only the paired rounds")
    args = parser.parse_args()
    if not os.path.exists(args.strata):
        raise SystemExit(f"{args.strata} not found: run `cargo build --release` first")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "numeric.parquet")
        rules = os.path.join(tmp, "rules.toml")
        root = os.path.join(tmp, "root")
        with open(rules, "w") as f:
            f.write(RULES)
        make_file(path, args.rows)
        if args.only_realistic:
            realistic(args, tmp, path, rules, root)
            return
        gb = args.rows * 16 / 1e9
        print(f"{args.rows:,} rows, {gb:.2f} GB of values, file {os.path.getsize(path) / 1e6:.0f} MB")

        results = {}
        for threads in (1, 2):
            results[f"strata profile {threads}t"] = best(args.runs, lambda: strata(
                args.strata, "--dir", root, "profile", path, "--json", "--threads", str(threads)))
        for threads in (1, 2):
            con = duckdb.connect()
            con.execute(f"SET threads = {threads}")
            results[f"duckdb SUMMARIZE {threads}t"] = best(args.runs, lambda: con.execute(
                f"SUMMARIZE SELECT * FROM read_parquet('{path}')").fetchall())
        results["strata check 1t"] = best(args.runs, lambda: strata(
            args.strata, "--dir", root, "check", path, "--rules", rules, "--json",
            "--columns", "amount_i64,price_f64", "--threads", "1"))
        results["pandas reference (read + checks)"] = best(args.runs, lambda: pandas_reference(path))
        df = pd.read_parquet(path)
        results["pandas reference (checks only)"] = best(args.runs, lambda: (
            df.isnull().sum().sum(), df.duplicated().sum(), df["amount_i64"].duplicated().sum(),
            ((df["price_f64"] < 0.0) | (df["price_f64"] > 1e6)).sum()))

        width = max(map(len, results))
        for name, seconds in results.items():
            print(f"{name:<{width}}  {seconds:8.3f} s  {gb / seconds:6.2f} GB/s")
        r = results
        print()
        print(f"strata profile 1t vs DuckDB SUMMARIZE 1t: {r['duckdb SUMMARIZE 1t'] / r['strata profile 1t']:.1f}x faster")
        print(f"strata profile 2t vs DuckDB SUMMARIZE 2t: {r['duckdb SUMMARIZE 2t'] / r['strata profile 2t']:.1f}x faster")
        print(f"strata profile 2 threads vs 1:            {r['strata profile 1t'] / r['strata profile 2t']:.2f}x")
        print(f"strata check 1t vs pandas (read + checks): {r['pandas reference (read + checks)'] / r['strata check 1t']:.1f}x faster")
        print(f"strata check 1t vs pandas (checks only):   {r['pandas reference (checks only)'] / r['strata check 1t']:.1f}x faster")
        report = json.loads(strata(args.strata, "--dir", root, "check", path, "--rules", rules,
                                   "--json", "--columns", "amount_i64,price_f64"))
        score, _ = pandas_reference(path)
        error = report['dataset'].get('uniqueness_error')
        what = "exact" if error is None else f"uniqueness estimated within {error:.2%}"
        print(f"dataset quality score: strata {report['dataset']['score']:.6f} ({what}), pandas {score:.6f}")
        realistic(args, tmp, path, rules, root)


if __name__ == "__main__":
    main()
