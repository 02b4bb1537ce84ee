#!/usr/bin/env python3
"""Filtered scans of a file another engine wrote: the `strata scan` command against DuckDB, in
one run, 1 and 2 threads (issue 29).

The input is flights-like (19 columns: integers, doubles, short strings, a timestamp; 4M rows
by default) written by pyarrow with its defaults: every column dictionary-encoded, snappy, row
groups of 1M rows, no page index. It is generated once into target/filter-compare/ (--rows to
change its size; the same seed gives the same file).

Cases, each with the same projection and filter on both sides:
  string_2col   origin = 'JFK' AND carrier IN ('AA','B6'), dep_delay and arr_delay out
  numeric_count arr_delay > 74 (1.03% of rows), count only
  numeric_2col  arr_delay > 74, dep_delay and arr_delay out

The numeric cases filter arr_delay, a double column without NaN: dep_delay holds 2% NaN, which
both engines order above every number, so `dep_delay > 64` kept 3% of rows (2% of them NaN)
rather than the 1% the issue asks for.

strata, two ways: the whole `strata scan` command (process start, footer, decode, and the
result written as Arrow IPC to /dev/null; --count prints a number), --threads N; and in process
like DuckDB (libstrata.so through ctypes in this same Python process: `strata_scan_opts` with
{"threads": N}, its Arrow C stream read into a pyarrow Table; the count with
`strata_scan_count`), so that the in-process figures compare like with like: no process start
on either side. The host's opt-in malloc tuning (`strata_tuning_raise_malloc_thresholds`, as
scan_compare.py calls it) is on unless STRATA_MALLOC_TUNING=0. DuckDB 2.0.0: in process, one
connection per thread count with `SET threads=N`, the query's result fetched as an Arrow table
(count: fetched as a row). Both warm: one untimed run each first (the OS page cache; DuckDB's
connection), then --runs rounds, each round running strata then DuckDB back to back, so load
changes hit both alike. Figures: median and min of the rounds; ratio = strata / DuckDB medians;
paired = the median of each round's strata / DuckDB ratio (the two ran back to back, so it is
less sensitive to load changing between rounds); speedup = 1-thread / 2-thread median of the
same engine. CPU time (user + system over all
threads: the command's from wait4, DuckDB's process time around the query) is printed too: on
a loaded machine it says what each side costs when wall times mostly measure waiting. The
load (`uptime`) is printed before and after.

Run:  cargo build --release --bin strata --lib
      python3 benches/filter_compare.py [--runs 5] [--rows 4000000]
Needs duckdb (2.0.0), numpy and pyarrow.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = {
    "string_2col": ("origin = 'JFK' AND carrier IN ('AA','B6')", ["dep_delay", "arr_delay"]),
    "numeric_count": ("arr_delay > 74", None),
    "numeric_2col": ("arr_delay > 74", ["dep_delay", "arr_delay"]),
}


def generate(path, rows):
    """The flights-like file, as pyarrow writes it by default (seeded: the same every time)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    carriers = np.array(["AA", "B6", "DL", "UA", "WN", "AS", "NK", "F9", "HA", "G4"])
    airports = np.array(["JFK", "LGA", "EWR", "ATL", "ORD", "LAX", "SFO", "DFW", "DEN", "SEA",
                         "BOS", "MIA", "PHX", "IAH", "CLT"])
    tails = np.array(["N%03dAA" % i for i in range(900)])
    n = rows
    table = pa.table({
        "year": np.full(n, 2023, dtype=np.int32),
        "month": rng.integers(1, 13, n, dtype=np.int32),
        "day": rng.integers(1, 29, n, dtype=np.int32),
        "dep_time": rng.integers(0, 2400, n, dtype=np.int32),
        "sched_dep_time": rng.integers(0, 2400, n, dtype=np.int32),
        "dep_delay": np.where(rng.random(n) < 0.02, np.nan, np.round(rng.exponential(15, n) - 5)),
        "arr_time": rng.integers(0, 2400, n, dtype=np.int32),
        "sched_arr_time": rng.integers(0, 2400, n, dtype=np.int32),
        "arr_delay": np.round(rng.normal(5, 30, n)),
        "carrier": carriers[rng.integers(0, 10, n)],
        "flight": rng.integers(1, 6000, n, dtype=np.int32),
        "tailnum": tails[rng.integers(0, 900, n)],
        "origin": airports[rng.integers(0, 15, n)],
        "dest": airports[rng.integers(0, 15, n)],
        "air_time": rng.integers(20, 600, n).astype(np.float64),
        "distance": rng.integers(100, 5000, n).astype(np.float64),
        "hour": rng.integers(0, 24, n, dtype=np.int32),
        "minute": rng.integers(0, 60, n, dtype=np.int32),
        "time_hour": pa.array(rng.integers(1672531200, 1704067200, n) * 1_000_000,
                              pa.timestamp("us")),
    })
    tmp = path + ".tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def strata_cmd(binary, path, case, threads):
    where, columns = CASES[case]
    cmd = [binary, "scan", path, "--filter", where, "--threads", str(threads)]
    if columns is None:
        return cmd + ["--count"]
    return cmd + ["--columns", ",".join(columns), "--format", "ipc", "-o", "/dev/null"]


def strata_once(cmd):
    """Wall time and CPU time (user + system, all threads) of one whole command."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()}")
    proc.stderr.close()
    return elapsed, usage.ru_utime + usage.ru_stime


class InProcess:
    """strata in this process through its C ABI (libstrata.so), as a host embeds it."""

    def __init__(self, lib_path):
        import ctypes
        self.ctypes = ctypes
        self.lib = ctypes.CDLL(lib_path)
        if os.environ.get("STRATA_MALLOC_TUNING") != "0":
            if self.lib.strata_tuning_raise_malloc_thresholds() != 0:
                sys.exit("strata_tuning_raise_malloc_thresholds failed")
        self.lib.strata_last_error_message.restype = ctypes.c_char_p
        p = ctypes.c_char_p
        self.lib.strata_scan_opts.argtypes = [p, ctypes.POINTER(p), ctypes.c_size_t, p, p,
                                              ctypes.c_void_p]
        self.lib.strata_scan_opts.restype = ctypes.c_int
        self.lib.strata_scan_count.argtypes = [p, p, p, ctypes.POINTER(ctypes.c_uint64)]
        self.lib.strata_scan_count.restype = ctypes.c_int

    def failed(self, what):
        sys.exit(f"{what}: {self.lib.strata_last_error_message().decode()}")

    def once(self, path, case, threads):
        """Wall time, CPU time (this process's, all threads) and rows of one scan."""
        import pyarrow as pa
        ctypes = self.ctypes
        where, columns = CASES[case]
        options = json.dumps({"threads": threads}).encode()
        t, cpu = time.perf_counter(), time.process_time()
        if columns is None:
            rows = ctypes.c_uint64(0)
            if self.lib.strata_scan_count(path.encode(), where.encode(), options,
                                          ctypes.byref(rows)) != 0:
                self.failed("strata_scan_count")
            rows = rows.value
        else:
            names = (ctypes.c_char_p * len(columns))(*[c.encode() for c in columns])
            stream = ctypes.create_string_buffer(64)  # struct ArrowArrayStream
            if self.lib.strata_scan_opts(path.encode(), names, len(columns), where.encode(),
                                         options, ctypes.addressof(stream)) != 0:
                self.failed("strata_scan_opts")
            rows = pa.RecordBatchReader._import_from_c(ctypes.addressof(stream)).read_all().num_rows
        return time.perf_counter() - t, time.process_time() - cpu, rows


def duckdb_query(path, case):
    where, columns = CASES[case]
    source = f"read_parquet('{path}')"
    if columns is None:
        return f"SELECT count(*) FROM {source} WHERE {where}"
    return f"SELECT {', '.join(columns)} FROM {source} WHERE {where}"


def duckdb_once(con, sql, count):
    """Wall time, CPU time (this process's, all threads) and rows of one query."""
    t, cpu = time.perf_counter(), time.process_time()
    if count:
        rows = con.sql(sql).fetchall()[0][0]
    else:
        rows = con.sql(sql).to_arrow_table().num_rows
    return time.perf_counter() - t, time.process_time() - cpu, rows


def strata_rows(binary, path, case):
    """Rows strata returns, to check both sides agree (an untimed run)."""
    where, columns = CASES[case]
    cmd = [binary, "scan", path, "--filter", where, "--count"]
    return int(subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout.split()[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--strata", default=os.path.join(ROOT, "target/release/strata"))
    parser.add_argument("--lib", default=os.path.join(ROOT, "target/release/libstrata.so"),
                        help="libstrata.so for the in-process side")
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    import duckdb

    folder = os.path.join(ROOT, "target/filter-compare")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"flights_{args.rows}.parquet")
    if not os.path.exists(path):
        generate(path, args.rows)
    strata = InProcess(args.lib)
    print(f"file: {path} ({os.path.getsize(path) / 1e6:.1f} MB), duckdb {duckdb.__version__}, "
          f"runs {args.runs}")
    print("load before:", os.popen("uptime").read().strip())
    cases = args.cases.split(",")
    # results[(case, threads)][side] = (wall times, cpu times); sides: command, in process, duckdb
    results, rows_of = {}, {}
    for threads in (1, 2):
        con = duckdb.connect()
        con.execute(f"SET threads={threads}")
        for case in cases:
            cmd = strata_cmd(args.strata, path, case, threads)
            sql = duckdb_query(path, case)
            count = CASES[case][1] is None
            strata_once(cmd)  # untimed: warm
            _, _, duck_rows = duckdb_once(con, sql, count)
            _, _, in_rows = strata.once(path, case, threads)
            rows = strata_rows(args.strata, path, case)
            if not rows == in_rows == duck_rows:
                sys.exit(f"{case}: strata returned {rows} rows (in process {in_rows}), "
                         f"DuckDB {duck_rows}")
            sides = {"command": ([], []), "in_process": ([], []), "duckdb": ([], [])}
            for _ in range(args.runs):
                wall, cpu = strata_once(cmd)
                sides["command"][0].append(wall)
                sides["command"][1].append(cpu)
                wall, cpu, _ = strata.once(path, case, threads)
                sides["in_process"][0].append(wall)
                sides["in_process"][1].append(cpu)
                wall, cpu, _ = duckdb_once(con, sql, count)
                sides["duckdb"][0].append(wall)
                sides["duckdb"][1].append(cpu)
            results[(case, threads)] = sides
            rows_of[case] = rows
        con.close()
    print("load after: ", os.popen("uptime").read().strip())
    med = statistics.median
    for side, title in (("in_process", "strata in process (C stream / strata_scan_count)"),
                        ("command", "strata command (whole process)")):
        print()
        print(f"{title} against DuckDB in process")
        print(f"{'case':14} {'thr':>3} {'rows':>8} {'strata med/min s':>18} "
              f"{'duckdb med/min s':>18} {'ratio':>6} {'paired':>6} {'cpu s: strata':>14} "
              f"{'duckdb':>7} {'ratio':>6}")
        for case in cases:
            for threads in (1, 2):
                (s, sc), (d, dc) = results[(case, threads)][side], results[(case, threads)]["duckdb"]
                sm, dm, scm, dcm = med(s), med(d), med(sc), med(dc)
                paired = med(a / b for a, b in zip(s, d))
                print(f"{case:14} {threads:>3} {rows_of[case]:>8} {sm:>9.4f}/{min(s):<8.4f} "
                      f"{dm:>9.4f}/{min(d):<8.4f} {sm / dm:>6.2f} {paired:>6.2f} {scm:>14.4f} "
                      f"{dcm:>7.4f} {scm / max(dcm, 1e-9):>6.2f}")
    print()
    for case in cases:
        speedup = {side: med(results[(case, 1)][side][0]) / med(results[(case, 2)][side][0])
                   for side in ("in_process", "command", "duckdb")}
        print(f"{case:14} 2-thread speedup: strata in process {speedup['in_process']:.2f}x, "
              f"command {speedup['command']:.2f}x; duckdb {speedup['duckdb']:.2f}x")


if __name__ == "__main__":
    main()
