#!/usr/bin/env python3
"""Scan comparison in one run on the files `cargo bench --bench scan` generates (about 1 GiB
each, 24M rows, 6 columns, snappy and zstd, page index): strata against DuckDB and polars.

For each file, with 1 and 2 threads: a full scan, a 2-column projection (qty, price) and a
1%-selective range filter on the sorted `id` column. Every engine materialises the result as
Arrow data. Like for like, every engine runs in-process and warm: one process (or DuckDB
connection) per engine and thread count, one untimed run first (the OS page cache, footers and
strata's kept map warm), then --runs timed runs in the same process; the figures are the median
(and min) of those runs, and the ratios are of medians. strata in-process is the C ABI's
`strata_scan` through ctypes, its Arrow C stream read into a pyarrow Table (`strata_s`); DuckDB
fetches an Arrow table; polars builds a DataFrame (its time taken inside, after import). Also
printed, not compared: a whole `strata scan` command writing Arrow IPC to /dev/null
(`strata_cli_s`: process start, mapping the file afresh and the IPC encoding included), median
of --runs fresh processes.

The library leaves glibc's malloc thresholds alone; the `strata` command raises them at start,
and the in-process runs do as a host that wants it would, calling
`strata_tuning_raise_malloc_thresholds()` once after loading the library. With
STRATA_MALLOC_TUNING=0 in the environment neither does, to measure what the opt-in buys.

Run:  cargo bench --bench scan -- --test   # generates target/scan-bench/*.parquet
      cargo build --profile bench --bin strata --lib   # target/release/{strata,libstrata.so}
      python3 benches/scan_compare.py [--runs 3]
Needs duckdb, polars and pyarrow (pip install duckdb polars pyarrow). Times are wall clock,
median of --runs (default 5) after one untimed run.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = 24_000_000
ROW_GROUP = 1_000_000
LO = ROW_GROUP * 12 + ROW_GROUP // 3
HI = LO + ROWS // 100

POLARS = r"""
import json, sys, time, polars as pl
path, kind, lo, hi, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def once():
    if kind == "full":
        return pl.read_parquet(path)
    if kind == "project_2":
        return pl.read_parquet(path, columns=["qty", "price"])
    return pl.scan_parquet(path).filter((pl.col("id") >= lo) & (pl.col("id") < hi)).collect()
df = once()  # untimed: warm, as every engine's first run
times = []
for _ in range(runs):
    t = time.perf_counter()
    df = once()
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "rows": df.height}))
"""


STRATA = r"""
import ctypes, json, os, sys, time, pyarrow as pa
lib_path, path, kind, lo, hi, runs = sys.argv[1:7]
lib = ctypes.CDLL(lib_path)
if os.environ.get("STRATA_MALLOC_TUNING") != "0":
    if lib.strata_tuning_raise_malloc_thresholds() != 0:
        sys.exit("strata_tuning_raise_malloc_thresholds failed")
lib.strata_scan.restype = ctypes.c_int
lib.strata_scan.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                            ctypes.c_char_p, ctypes.c_void_p]
lib.strata_last_error_message.restype = ctypes.c_char_p
columns, filt = None, None
if kind == "project_2":
    names = [b"qty", b"price"]
    columns = (ctypes.c_char_p * 2)(*names)
elif kind == "filter_1pct":
    filt = f"id >= {lo} AND id < {hi}".encode()
def once():
    stream = ctypes.create_string_buffer(64)  # struct ArrowArrayStream: five pointers
    status = lib.strata_scan(path.encode(), columns, 2 if columns else 0, filt, ctypes.addressof(stream))
    if status != 0:
        sys.exit(f"strata_scan: {lib.strata_last_error_message().decode()}")
    return pa.RecordBatchReader._import_from_c(ctypes.addressof(stream)).read_all()
table = once()  # untimed: warm, as every engine's first run
times = []
for _ in range(int(runs)):
    t = time.perf_counter()
    table = once()
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "rows": table.num_rows}))
"""


def median(times):
    times = sorted(times)
    n = len(times)
    return times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2


def timed(fn, runs, warm=True):
    """(median, min, rows) of `runs` calls of fn() -> (seconds, rows), after one untimed
    call when `warm`."""
    if warm:
        fn()
    times, rows = [], None
    for _ in range(runs):
        t, rows = fn()
        times.append(t)
    return median(times), min(times), rows


def in_process(script, args, env, runs):
    """(median, min, rows) from a script that times `runs` warm runs in its own process."""
    out = subprocess.run(
        [sys.executable, "-c", script, *args, str(runs)],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return median(result["times"]), min(result["times"]), result["rows"]


def strata_in_process(lib, path, kind, threads, runs):
    """`strata_scan` into a pyarrow Table, in one process."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    return in_process(STRATA, [lib, path, kind, str(LO), str(HI)], env, runs)


def strata_cli(binary, path, kind, threads):
    args = [binary, "scan", path, "--threads", str(threads), "--format", "ipc"]
    if kind == "project_2":
        args += ["--columns", "qty,price"]
    elif kind == "filter_1pct":
        args += ["--filter", f"id >= {LO} AND id < {HI}"]
    t = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(args, check=True, stdout=sink)
    return time.perf_counter() - t, None


def duckdb_scan(con, path, kind):
    sql = {
        "full": f"SELECT * FROM read_parquet('{path}')",
        "project_2": f"SELECT qty, price FROM read_parquet('{path}')",
        "filter_1pct": f"SELECT * FROM read_parquet('{path}') WHERE id >= {LO} AND id < {HI}",
    }[kind]
    t = time.perf_counter()
    table = con.sql(sql).to_arrow_table()
    return time.perf_counter() - t, table.num_rows


def polars_in_process(path, kind, threads, runs):
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads))
    return in_process(POLARS, [path, kind, str(LO), str(HI)], env, runs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--codecs", default="snappy,zstd", help="which bench files, comma-separated")
    parser.add_argument("--dir", default=os.environ.get(
        "STRATA_SCAN_BENCH_DIR", os.path.join(ROOT, "target", "scan-bench")))
    parser.add_argument("--strata", default=os.path.join(ROOT, "target", "release", "strata"))
    parser.add_argument("--lib", default=os.path.join(ROOT, "target", "release", "libstrata.so"))
    args = parser.parse_args()

    import duckdb

    results = []
    for codec in args.codecs.split(","):
        path = os.path.join(args.dir, f"scan_{codec}.parquet")
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run `cargo bench --bench scan -- --test` first")
        for kind in ["full", "project_2", "filter_1pct"]:
            for threads in [1, 2]:
                con = duckdb.connect()
                con.execute(f"SET threads={threads}")
                row = {"file": codec, "scan": kind, "threads": threads}
                row["strata_s"], row["strata_min_s"], strata_rows = strata_in_process(
                    args.lib, path, kind, threads, args.runs)
                row["duckdb_s"], row["duckdb_min_s"], row["rows"] = timed(
                    lambda: duckdb_scan(con, path, kind), args.runs)
                if strata_rows != row["rows"]:
                    sys.exit(f"{codec} {kind}: strata returned {strata_rows} rows, DuckDB {row['rows']}")
                row["polars_s"], row["polars_min_s"], _ = polars_in_process(path, kind, threads, args.runs)
                # Fresh processes: reported, not compared with the warm in-process figures.
                row["strata_cli_s"], _, _ = timed(
                    lambda: strata_cli(args.strata, path, kind, threads), args.runs, warm=False)
                row["strata_vs_duckdb"] = round(row["strata_s"] / row["duckdb_s"], 2)
                row["strata_vs_polars"] = round(row["strata_s"] / row["polars_s"], 2)
                results.append(row)
                print(json.dumps(row), flush=True)
    print(f"\nmedians of {args.runs} warm in-process runs (after one untimed run), wall clock; "
          "cli_s: a whole `strata scan` process, not compared")
    print("file    scan         thr  strata_s  duckdb_s  polars_s  strata/duckdb  strata/polars  cli_s")
    for r in results:
        print(f"{r['file']:7} {r['scan']:12} {r['threads']:3}  {r['strata_s']:8.3f}  {r['duckdb_s']:8.3f}"
              f"  {r['polars_s']:8.3f}  {r['strata_vs_duckdb']:13.2f}  {r['strata_vs_polars']:13.2f}"
              f"  {r['strata_cli_s']:6.3f}")


if __name__ == "__main__":
    main()
