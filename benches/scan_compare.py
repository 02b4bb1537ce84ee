#!/usr/bin/env python3
"""Scan comparison in one run on the files `cargo bench --bench scan` generates (about 1 GiB
each, 24M rows, 6 columns, snappy and zstd, page index): strata against DuckDB and polars.

For each file, with 1 and 2 threads: a full scan, a 2-column projection (qty, price) and a
1%-selective range filter on the sorted `id` column. Every engine materialises the result as
Arrow data. strata is timed two ways: in-process like DuckDB (the C ABI's `strata_scan` through
ctypes, its Arrow C stream read into a pyarrow Table; `strata_s`), and as a whole `strata scan`
command writing Arrow IPC to /dev/null (`strata_cli_s`: process start, mapping the file afresh
and the IPC encoding included). DuckDB fetches an Arrow table in-process, polars builds a
DataFrame in a fresh process (its time is taken inside, after import).

The library leaves glibc's malloc thresholds alone; the `strata` command raises them at start,
and the in-process runs do as a host that wants it would, calling
`strata_tuning_raise_malloc_thresholds()` once after loading the library. With
STRATA_MALLOC_TUNING=0 in the environment neither does, to measure what the opt-in buys.

Run:  cargo bench --bench scan -- --test   # generates target/scan-bench/*.parquet
      cargo build --profile bench --bin strata --lib   # target/release/{strata,libstrata.so}
      python3 benches/scan_compare.py [--runs 3]
Needs duckdb, polars and pyarrow (pip install duckdb polars pyarrow). Times are the best of
--runs, wall clock; in-process runs share one process per engine and thread count, so later
runs find the file's footer (and strata its kept map) from the first, as a service would.
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
import sys, time, polars as pl
path, kind, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t = time.perf_counter()
if kind == "full":
    df = pl.read_parquet(path)
elif kind == "project_2":
    df = pl.read_parquet(path, columns=["qty", "price"])
else:
    df = pl.scan_parquet(path).filter((pl.col("id") >= lo) & (pl.col("id") < hi)).collect()
print(time.perf_counter() - t, df.height)
"""


STRATA = r"""
import ctypes, os, sys, time, pyarrow as pa
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
times = []
for _ in range(int(runs)):
    stream = ctypes.create_string_buffer(64)  # struct ArrowArrayStream: five pointers
    t = time.perf_counter()
    status = lib.strata_scan(path.encode(), columns, 2 if columns else 0, filt, ctypes.addressof(stream))
    if status != 0:
        sys.exit(f"strata_scan: {lib.strata_last_error_message().decode()}")
    table = pa.RecordBatchReader._import_from_c(ctypes.addressof(stream)).read_all()
    times.append(time.perf_counter() - t)
print(min(times), table.num_rows)
"""


def best(fn, runs):
    times = []
    rows = None
    for _ in range(runs):
        t, rows = fn()
        times.append(t)
    return min(times), rows


def strata_in_process(lib, path, kind, threads, runs):
    """Best of `runs` in one fresh process: `strata_scan` into a pyarrow Table."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run(
        [sys.executable, "-c", STRATA, lib, path, kind, str(LO), str(HI), str(runs)],
        check=True, capture_output=True, text=True, env=env,
    ).stdout.split()
    return float(out[0]), int(out[1])


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


def polars_scan(path, kind, threads):
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads))
    out = subprocess.run(
        [sys.executable, "-c", POLARS, path, kind, str(LO), str(HI)],
        check=True, capture_output=True, text=True, env=env,
    ).stdout.split()
    return float(out[0]), int(out[1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
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
                row["strata_s"], strata_rows = strata_in_process(args.lib, path, kind, threads, args.runs)
                row["strata_cli_s"], _ = best(lambda: strata_cli(args.strata, path, kind, threads), args.runs)
                row["duckdb_s"], row["rows"] = best(lambda: duckdb_scan(con, path, kind), args.runs)
                if strata_rows != row["rows"]:
                    sys.exit(f"{codec} {kind}: strata returned {strata_rows} rows, DuckDB {row['rows']}")
                row["polars_s"], _ = best(lambda: polars_scan(path, kind, threads), args.runs)
                row["strata_vs_duckdb"] = round(row["strata_s"] / row["duckdb_s"], 2)
                row["cli_vs_duckdb"] = round(row["strata_cli_s"] / row["duckdb_s"], 2)
                row["strata_vs_polars"] = round(row["strata_s"] / row["polars_s"], 2)
                results.append(row)
                print(json.dumps(row), flush=True)
    print("\nfile    scan         thr  strata_s  cli_s     duckdb_s  polars_s  strata/duckdb  cli/duckdb"
          "  strata/polars")
    for r in results:
        print(f"{r['file']:7} {r['scan']:12} {r['threads']:3}  {r['strata_s']:8.3f}  {r['strata_cli_s']:8.3f}"
              f"  {r['duckdb_s']:8.3f}  {r['polars_s']:8.3f}  {r['strata_vs_duckdb']:13.2f}"
              f"  {r['cli_vs_duckdb']:10.2f}  {r['strata_vs_polars']:13.2f}")


if __name__ == "__main__":
    main()
