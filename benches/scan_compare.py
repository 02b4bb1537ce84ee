#!/usr/bin/env python3
"""Scan comparison in one run on the files `cargo bench --bench scan` generates (about 1 GiB
each, 24M rows, 6 columns, snappy and zstd, page index): strata against DuckDB and polars.

For each file, with 1 and 2 threads: a full scan, a 2-column projection (qty, price) and a
1%-selective range filter on the sorted `id` column. Every engine materialises the result as
Arrow data. Like for like, every engine runs in-process and warm: one process (or DuckDB
connection) per engine and thread count, --warm untimed runs first (default 2: the OS page
cache, footers and strata's kept map warm, and the process's heap grown to hold two results, as
the previous result is alive while the next is built: a full scan of the wide file took
0.48/0.45/0.25/0.25 s in polars' first four runs and 0.55/0.52/0.30/0.28 s in strata's, so with
one untimed run the slow second run fell among the timed ones on every side), then --runs timed
runs in the same process; the figures are the median
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
median of --runs (default 5) after --warm untimed runs.

With --realistic it measures, instead, files written the way most of the world writes them
(generated once into --dir, then reused): TPC-H lineitem at scale 1 (tpchgen-cli, 6M rows, 16
columns) and a wide table (10M rows, 19 columns: integers, nullable doubles, repeated short
strings), each written by pyarrow with its defaults (dictionary everywhere, snappy, 1Mi-row row
groups, no page index) and by DuckDB `COPY`. Cases: full scan and a 2-column projection (one
string, one double). strata runs twice in process, with the default output types and with
string views (`strata_scan_opts`' {"string_views": true}; `strata_views_s`), and twice on the
command line (`--format ipc`, and with `--string-views`). --rounds repeats every engine's
measurement in turn (paired rounds); the figures are medians over all rounds' runs. The load
(`uptime`) is printed before and after.

Run:  cargo build --release --bin strata --lib
      python3 benches/scan_compare.py --realistic [--runs 3 --rounds 2 --threads 1,2]
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
path, spec, runs = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
def once():
    if spec["filter"]:
        frame = pl.scan_parquet(path).filter(pl.sql_expr(spec["filter"]))
        if spec["columns"]:
            frame = frame.select(spec["columns"])
        return frame.collect()
    return pl.read_parquet(path, columns=spec["columns"])
for _ in range(spec.get("warm", 1)):
    df = once()  # untimed: warm, as every engine's first runs
times = []
for _ in range(runs):
    t = time.perf_counter()
    df = once()
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "rows": df.height}))
"""


STRATA = r"""
import ctypes, json, os, sys, time, pyarrow as pa
lib_path, path, spec, runs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
lib = ctypes.CDLL(lib_path)
if os.environ.get("STRATA_MALLOC_TUNING") != "0":
    if lib.strata_tuning_raise_malloc_thresholds() != 0:
        sys.exit("strata_tuning_raise_malloc_thresholds failed")
lib.strata_last_error_message.restype = ctypes.c_char_p
args = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t, ctypes.c_char_p]
options = json.dumps(spec["options"]).encode() if spec.get("options") else None
if options:
    scan = lib.strata_scan_opts
    scan.argtypes = args + [ctypes.c_char_p, ctypes.c_void_p]
else:
    scan = lib.strata_scan
    scan.argtypes = args + [ctypes.c_void_p]
scan.restype = ctypes.c_int
columns, n = None, 0
if spec["columns"]:
    n = len(spec["columns"])
    columns = (ctypes.c_char_p * n)(*[c.encode() for c in spec["columns"]])
filt = spec["filter"].encode() if spec["filter"] else None
def once():
    stream = ctypes.create_string_buffer(64)  # struct ArrowArrayStream: five pointers
    extra = [options] if options else []
    status = scan(path.encode(), columns, n, filt, *extra, ctypes.addressof(stream))
    if status != 0:
        sys.exit(f"strata_scan: {lib.strata_last_error_message().decode()}")
    return pa.RecordBatchReader._import_from_c(ctypes.addressof(stream)).read_all()
for _ in range(spec.get("warm", 1)):
    table = once()  # untimed: warm, as every engine's first runs
times = []
for _ in range(runs):
    t = time.perf_counter()
    table = once()
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "rows": table.num_rows}))
"""


def median(times):
    times = sorted(times)
    n = len(times)
    return times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2


def timed(fn, runs, warm=1):
    """(times, rows) of `runs` calls of fn() -> (seconds, rows), after `warm` untimed calls."""
    for _ in range(warm):
        fn()
    times, rows = [], None
    for _ in range(runs):
        t, rows = fn()
        times.append(t)
    return times, rows


def in_process(script, args, env, runs):
    """(times, rows) from a script that times `runs` warm runs in its own process."""
    out = subprocess.run(
        [sys.executable, "-c", script, *args, str(runs)],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result["times"], result["rows"]


def strata_in_process(lib, path, case, threads, runs, warm, views=False):
    """`strata_scan` (or `strata_scan_opts` with string views) into a pyarrow Table, in one
    process."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    spec = dict(case, warm=warm, options={"string_views": True} if views else None)
    return in_process(STRATA, [lib, path, json.dumps(spec)], env, runs)


def strata_cli(binary, path, case, threads, views=False):
    args = [binary, "scan", path, "--threads", str(threads), "--format", "ipc"]
    if case["columns"]:
        args += ["--columns", ",".join(case["columns"])]
    if case["filter"]:
        args += ["--filter", case["filter"]]
    if views:
        args += ["--string-views"]
    t = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(args, check=True, stdout=sink)
    return time.perf_counter() - t, None


def duckdb_scan(con, path, case):
    columns = ", ".join(case["columns"]) if case["columns"] else "*"
    sql = f"SELECT {columns} FROM read_parquet('{path}')"
    if case["filter"]:
        sql += f" WHERE {case['filter']}"
    t = time.perf_counter()
    table = con.sql(sql).to_arrow_table()
    return time.perf_counter() - t, table.num_rows


def polars_in_process(path, case, threads, runs, warm):
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads))
    return in_process(POLARS, [path, json.dumps(dict(case, warm=warm))], env, runs)


def load():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def bench_cases():
    """The files `cargo bench --bench scan` writes, and their cases."""
    cases = [
        {"scan": "full", "columns": None, "filter": None},
        {"scan": "project_2", "columns": ["qty", "price"], "filter": None},
        {"scan": "filter_1pct", "columns": None, "filter": f"id >= {LO} AND id < {HI}"},
    ]
    return cases


# The realistic inputs: (name, 2-column projection).
REALISTIC = {
    "lineitem": ["l_returnflag", "l_extendedprice"],
    "wide": ["origin", "dep_delay"],
}


def lineitem_table(directory):
    """TPC-H lineitem at scale 1 from tpchgen-cli, as plain Arrow types (no views)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    raw = os.path.join(directory, "tpchgen")
    source = os.path.join(raw, "lineitem.parquet")
    if not os.path.exists(source):
        subprocess.run(["tpchgen-cli", "parquet", "-s", "1", "--tables", "lineitem",
                        f"--output-dir={raw}"], check=True)
    table = pq.read_table(source)
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_string_view(t) or pa.types.is_large_string(t):
            t = pa.string()
        fields.append(pa.field(f.name, t, f.nullable))
    return table.cast(pa.schema(fields))


def wide_table(rows=10_000_000, seed=7):
    """A flights-like table: 19 columns of integers, nullable doubles and repeated short
    strings."""
    import numpy as np
    import pyarrow as pa
    rng = np.random.default_rng(seed)

    def nullable(values, share):
        mask = rng.random(rows) < share
        return pa.array(values, mask=mask)

    def strings(pool, size):
        choices = np.array(pool)
        return pa.array(choices[rng.integers(0, len(pool), size)])

    carriers = ["AA", "B6", "DL", "UA", "WN", "EV", "MQ", "US", "9E", "FL", "VX", "AS", "F9",
                "YV", "HA", "OO"]
    airports = [f"{a}{b}{c}" for a in "ABCDEFGHJKLMNOPS" for b in "AEIOU" for c in "KLMNX"][:320]
    tails = [f"N{n}{s}" for n in range(100, 1100) for s in ("AA", "JB", "UA", "DL")]
    dep = rng.integers(0, 2400, rows)
    columns = {
        "year": pa.array(np.full(rows, 2013, dtype=np.int16)),
        "month": pa.array(rng.integers(1, 13, rows).astype(np.int8)),
        "day": pa.array(rng.integers(1, 32, rows).astype(np.int8)),
        "dep_time": nullable(dep.astype(np.int32), 0.02),
        "sched_dep_time": pa.array(dep.astype(np.int32)),
        "dep_delay": nullable(rng.normal(12, 40, rows).round(), 0.02),
        "arr_time": nullable(((dep + 150) % 2400).astype(np.int32), 0.03),
        "sched_arr_time": pa.array(((dep + 140) % 2400).astype(np.int32)),
        "arr_delay": nullable(rng.normal(7, 44, rows).round(), 0.03),
        "carrier": strings(carriers, rows),
        "flight": pa.array(rng.integers(1, 8000, rows).astype(np.int32)),
        "tailnum": strings(tails, rows),
        "origin": strings(airports[:40], rows),
        "dest": strings(airports, rows),
        "air_time": nullable(rng.normal(150, 90, rows).clip(20).round(), 0.03),
        "distance": pa.array(rng.integers(80, 5000, rows).astype(np.float64)),
        "hour": pa.array((dep // 100).astype(np.int8)),
        "minute": pa.array((dep % 100).astype(np.int8)),
        "time_hour": strings([f"2013-{m:02}-{d:02} {h:02}:00:00" for m in (1, 6) for d in
                              range(1, 29) for h in range(5, 24)], rows),
    }
    return pa.table(columns)


def realistic_files(directory):
    """[(label, path, projection)], writing those missing: each table by pyarrow (defaults) and
    by DuckDB COPY."""
    import duckdb
    import pyarrow.parquet as pq
    os.makedirs(directory, exist_ok=True)
    out = []
    for name, projection in REALISTIC.items():
        by_pyarrow = os.path.join(directory, f"{name}_pyarrow.parquet")
        by_duckdb = os.path.join(directory, f"{name}_duckdb.parquet")
        if not os.path.exists(by_pyarrow) or not os.path.exists(by_duckdb):
            table = lineitem_table(directory) if name == "lineitem" else wide_table()
            pq.write_table(table, by_pyarrow + ".tmp")
            os.replace(by_pyarrow + ".tmp", by_pyarrow)
            del table
            con = duckdb.connect()
            con.execute(f"COPY (SELECT * FROM read_parquet('{by_pyarrow}')) TO "
                        f"'{by_duckdb}.tmp' (FORMAT parquet)")
            os.replace(by_duckdb + ".tmp", by_duckdb)
        out.append((f"{name}_pyarrow", by_pyarrow, projection))
        out.append((f"{name}_duckdb", by_duckdb, projection))
    return out


def measure(args, label, path, case, threads, realistic):
    """One case on every engine, --rounds paired rounds; medians over all runs."""
    import duckdb
    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    times = {k: [] for k in ["strata", "strata_views", "duckdb", "polars", "cli", "cli_views"]}
    rows = {}
    for _ in range(args.rounds):
        t, rows["strata"] = strata_in_process(args.lib, path, case, threads, args.runs, args.warm)
        times["strata"] += t
        if realistic:
            t, rows["strata_views"] = strata_in_process(
                args.lib, path, case, threads, args.runs, args.warm, views=True)
            times["strata_views"] += t
        t, rows["duckdb"] = timed(lambda: duckdb_scan(con, path, case), args.runs, args.warm)
        times["duckdb"] += t
        t, _ = polars_in_process(path, case, threads, args.runs, args.warm)
        times["polars"] += t
        # Fresh processes: reported beside the warm in-process figures.
        t, _ = timed(lambda: strata_cli(args.strata, path, case, threads), args.runs, warm=0)
        times["cli"] += t
        if realistic:
            t, _ = timed(lambda: strata_cli(args.strata, path, case, threads, views=True),
                         args.runs, warm=0)
            times["cli_views"] += t
    if len(set(rows.values())) != 1:
        sys.exit(f"{label} {case['scan']}: row counts differ: {rows}")
    row = {"file": label, "scan": case["scan"], "threads": threads, "rows": rows["duckdb"]}
    for k, v in times.items():
        if v:
            row[f"{k}_s"] = median(v)
            row[f"{k}_min_s"] = min(v)
    row["strata_vs_duckdb"] = round(row["strata_s"] / row["duckdb_s"], 2)
    row["strata_vs_polars"] = round(row["strata_s"] / row["polars_s"], 2)
    if realistic:
        row["views_vs_duckdb"] = round(row["strata_views_s"] / row["duckdb_s"], 2)
        row["views_vs_polars"] = round(row["strata_views_s"] / row["polars_s"], 2)
        row["cli_views_vs_polars"] = round(row["cli_views_s"] / row["polars_s"], 2)
    row["cli_vs_polars"] = round(row["cli_s"] / row["polars_s"], 2)
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1, help="paired rounds of every engine")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--codecs", default="snappy,zstd", help="which bench files, comma-separated")
    parser.add_argument("--realistic", action="store_true",
                        help="pyarrow- and DuckDB-written lineitem and wide files instead")
    parser.add_argument("--files", default=None,
                        help="with --realistic: only these labels, e.g. wide_pyarrow")
    parser.add_argument("--scans", default=None, help="only these cases, e.g. full,project_2")
    parser.add_argument("--warm", type=int, default=2,
                        help="untimed runs per engine before the timed ones (default 2: see the "
                             "module docs)")
    parser.add_argument("--dir", default=None)
    parser.add_argument("--strata", default=os.path.join(ROOT, "target", "release", "strata"))
    parser.add_argument("--lib", default=os.path.join(ROOT, "target", "release", "libstrata.so"))
    args = parser.parse_args()

    if args.realistic:
        directory = args.dir or os.path.join(ROOT, "target", "scan-realistic")
        work = []
        for label, path, projection in realistic_files(directory):
            if args.files and label not in args.files.split(","):
                continue
            work.append((label, path, [
                {"scan": "full", "columns": None, "filter": None},
                {"scan": "project_2", "columns": projection, "filter": None},
            ]))
    else:
        directory = args.dir or os.environ.get(
            "STRATA_SCAN_BENCH_DIR", os.path.join(ROOT, "target", "scan-bench"))
        work = []
        for codec in args.codecs.split(","):
            path = os.path.join(directory, f"scan_{codec}.parquet")
            if not os.path.exists(path):
                sys.exit(f"{path} is missing: run `cargo bench --bench scan -- --test` first")
            work.append((codec, path, bench_cases()))

    print(f"load before: {load()}", flush=True)
    results = []
    for label, path, cases in work:
        for case in cases:
            if args.scans and case["scan"] not in args.scans.split(","):
                continue
            for threads in [int(t) for t in args.threads.split(",")]:
                row = measure(args, label, path, case, threads, args.realistic)
                results.append(row)
                print(json.dumps(row), flush=True)
    print(f"load after: {load()}")
    print(f"\nmedians of {args.rounds} round(s) x {args.runs} warm in-process runs (after "
          f"{args.warm} untimed run(s) each), wall clock; cli: whole `strata scan --format ipc` "
          "processes")
    views = args.realistic
    head = "file            scan         thr  strata_s  duckdb_s  polars_s  s/duckdb  s/polars"
    if views:
        head += "  views_s  v/duckdb  v/polars"
    head += "   cli_s  cli/polars"
    if views:
        head += "  cli_v_s  cli_v/polars"
    print(head)
    for r in results:
        line = (f"{r['file']:15} {r['scan']:12} {r['threads']:3}  {r['strata_s']:8.3f}"
                f"  {r['duckdb_s']:8.3f}  {r['polars_s']:8.3f}  {r['strata_vs_duckdb']:8.2f}"
                f"  {r['strata_vs_polars']:8.2f}")
        if views:
            line += (f"  {r['strata_views_s']:7.3f}  {r['views_vs_duckdb']:8.2f}"
                     f"  {r['views_vs_polars']:8.2f}")
        line += f"  {r['cli_s']:6.3f}  {r['cli_vs_polars']:10.2f}"
        if views:
            line += f"  {r['cli_views_s']:7.3f}  {r['cli_views_vs_polars']:12.2f}"
        print(line)


if __name__ == "__main__":
    main()
