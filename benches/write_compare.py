#!/usr/bin/env python3
"""CSV to Parquet in one run: strata's `write` command against DuckDB `COPY ... TO ...
(FORMAT parquet)` and pyarrow (`pyarrow.csv.read_csv` + `pyarrow.parquet.write_table`), on the
same inputs, threads, warm page cache and machine.

Inputs (made once into --dir, reused when present):
  * lineitem: TPC-H `lineitem` at --scale (default 0.1: 600k rows, 16 columns, ~75 MB) from
    the `tpchgen-cli` package (pip install tpchgen-cli);
  * orders: TPC-H `orders` at the same scale (150k rows, 9 columns, ~17 MB);
  * wide: a synthetic table (--wide-rows, default 500k rows, 20 columns: sorted and random
    integers, nullable doubles, dates, timestamps, short repeated strings, a free-text column
    with commas and quotes), ~70 MB, written by pyarrow's CSV writer from a fixed seed.

Sides, each best of --runs (default 3) after the input was read once (warm page cache):
  * strata: the whole command `strata write IN OUT.parquet --codec auto --threads T` (process
    start, reading, type inference, parsing, codec trials, encoding, the atomic file), timed
    from this process; `--codec snappy` beside it for reference;
  * DuckDB: `SET threads = T; COPY (SELECT * FROM read_csv('IN')) TO 'OUT' (FORMAT parquet)`
    in this process (the connection opened before the timer), DuckDB's defaults (snappy);
  * pyarrow: `pa.set_cpu_count(T)`, `pq.write_table(pyarrow.csv.read_csv(IN), OUT)` in this
    process, pyarrow's defaults (snappy, dictionaries).
Reported: seconds (best wall time), CPU seconds (fewest, user + system, this process's for
DuckDB and pyarrow, the child's for strata), output bytes, and strata's ratios to each peer. Goal (the
write-path point of issue 29): strata auto at most 1.0x DuckDB's time and 1.5x pyarrow's, with
output at most 0.9x the bytes of either.

Run:  python3 benches/write_compare.py [--threads 2,1] [--runs 3] [--scale 0.1]
          [--inputs lineitem,orders,wide] [--strata target/release/strata] [--json OUT]
Build first: cargo build --release --bin strata. Needs duckdb, pyarrow, numpy, tpchgen-cli.
"""
import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu})"


def tpch(table, scale, directory):
    path = os.path.join(directory, f"{table}-sf{scale}.csv")
    if not os.path.exists(path):
        out = os.path.join(directory, f"tpch-sf{scale}")
        subprocess.run(
            ["tpchgen-cli", "csv", "-s", str(scale), f"--tables={table}", f"--output-dir={out}"],
            check=True,
        )
        os.replace(os.path.join(out, f"{table}.csv"), path)
    return path


def wide(rows, directory):
    path = os.path.join(directory, f"wide-{rows}.csv")
    if os.path.exists(path):
        return path
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pc

    rng = np.random.default_rng(29)
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])
    cities = np.array(["Lisbon", "Porto", "Madrid", "Paris", "Berlin", "Rome", "Oslo", "Kyiv",
                       "Prague", "Vienna", "Dublin", "Warsaw"])
    status = np.array(["open", "closed", "pending", "void"])

    def nullable(values, share):
        return pa.array(values, mask=rng.random(rows) < share)

    base = np.datetime64("2020-01-01")
    text = [
        f"{words[a]} {words[b]}, \"{c}\" items near {cities[d]}"
        for a, b, c, d in zip(rng.integers(0, 8, rows), rng.integers(0, 8, rows),
                              rng.integers(0, 500, rows), rng.integers(0, 12, rows))
    ]
    table = pa.table({
        "id": np.arange(rows, dtype=np.int64),
        "customer": rng.integers(0, 50_000, rows),
        "store": rng.integers(0, 300, rows),
        "quantity": rng.integers(1, 50, rows),
        "amount": nullable(np.round(rng.gamma(2.0, 40.0, rows), 2), 0.05),
        "discount": nullable(np.round(rng.choice([0.0, 0.05, 0.1, 0.15], rows), 2), 0.2),
        "tax": np.round(rng.uniform(0, 0.25, rows), 4),
        "weight": nullable(rng.normal(10.0, 3.0, rows), 0.3),
        "score": nullable(np.round(rng.uniform(0, 100, rows), 1), 0.1),
        "order_day": pa.array(base + rng.integers(0, 1500, rows).astype("timedelta64[D]")),
        "ship_day": pa.array(base + rng.integers(0, 1500, rows).astype("timedelta64[D]")),
        "created": pa.array((np.datetime64("2020-01-01T00:00:00")
                             + np.sort(rng.integers(0, 10**8, rows)).astype("timedelta64[s]"))),
        "city": cities[rng.integers(0, 12, rows)],
        "status": status[rng.integers(0, 4, rows)],
        "channel": np.array(["web", "store", "phone"])[rng.integers(0, 3, rows)],
        "country": np.array(["PT", "ES", "FR", "DE", "IT", "NO", "UA", "CZ"])[rng.integers(0, 8, rows)],
        "sku": [f"SKU-{x:05d}" for x in rng.integers(0, 20_000, rows)],
        "returned": rng.random(rows) < 0.03,
        "rating": nullable(rng.integers(1, 6, rows), 0.4),
        "note": text,
    })
    pc.write_csv(table, path)
    return path


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def cpu_seconds():
    """User + system CPU of this process (DuckDB's and pyarrow's threads) and of its waited-for
    children (strata's command)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def best(run, runs, path):
    """The fewest wall seconds and, apart, the fewest CPU seconds of `runs` runs: on a loaded
    machine the CPU a side spends moves less than its wall time."""
    times = []
    cpus = []
    out = None
    for _ in range(runs):
        warm(path)
        cpu = cpu_seconds()
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - cpu)
    return min(times), min(cpus), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", default="0.1")
    ap.add_argument("--wide-rows", type=int, default=500_000)
    ap.add_argument("--inputs", default="lineitem,orders,wide")
    ap.add_argument("--dir", default=os.path.join(ROOT, "target", "write_compare"))
    ap.add_argument("--strata", default=os.path.join(ROOT, "target", "release", "strata"))
    ap.add_argument("--json")
    args = ap.parse_args()

    import duckdb
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    os.makedirs(args.dir, exist_ok=True)
    print("command:", " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv))
    print("machine:", machine())
    print(f"versions: duckdb {duckdb.__version__}, pyarrow {pa.__version__}, strata "
          + subprocess.run([args.strata, "--version"], capture_output=True, text=True).stdout.strip())
    inputs = {}
    for name in args.inputs.split(","):
        if name in ("lineitem", "orders"):
            inputs[name] = tpch(name, args.scale, args.dir)
        elif name == "wide":
            inputs[name] = wide(args.wide_rows, args.dir)
        else:
            sys.exit(f"unknown input {name!r}")
    out = os.path.join(args.dir, "out")
    os.makedirs(out, exist_ok=True)
    results = []
    for name, path in inputs.items():
        size = os.path.getsize(path)
        for threads in [int(t) for t in args.threads.split(",")]:
            pa.set_cpu_count(threads)
            pa.set_io_thread_count(threads)
            con = duckdb.connect()
            con.execute(f"SET threads = {threads}")
            row = {"input": name, "csv_bytes": size, "threads": threads}

            def strata(codec):
                dest = os.path.join(out, f"strata-{codec}.parquet")
                cmd = [args.strata, "write", path, dest, "--codec", codec,
                       "--threads", str(threads)]
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode != 0:
                    sys.exit(f"{' '.join(cmd)} failed: {done.stderr}")
                return os.path.getsize(dest), done.stdout

            def duck():
                dest = os.path.join(out, "duckdb.parquet")
                con.execute(f"COPY (SELECT * FROM read_csv('{path}')) TO '{dest}' (FORMAT parquet)")
                return os.path.getsize(dest), ""

            def arrow():
                dest = os.path.join(out, "pyarrow.parquet")
                pq.write_table(pcsv.read_csv(path), dest)
                return os.path.getsize(dest), ""

            for side, run in [("strata auto", lambda: strata("auto")),
                              ("strata snappy", lambda: strata("snappy")),
                              ("duckdb", duck), ("pyarrow", arrow)]:
                seconds, cpu, (bytes_out, stdout) = best(run, args.runs, path)
                row[side] = {"seconds": round(seconds, 4), "cpu_seconds": round(cpu, 4),
                             "bytes": bytes_out}
                if side == "strata auto":
                    row["strata auto summary"] = [
                        l for l in stdout.splitlines() if l.startswith(("codec trials", "  --codec"))
                    ]
            con.close()
            results.append(row)
            auto = row["strata auto"]
            print(f"\n{name} ({size / 1e6:.1f} MB CSV), {threads} thread(s), best of {args.runs}:")
            for side in ("strata auto", "strata snappy", "duckdb", "pyarrow"):
                r = row[side]
                ratio = ""
                if side in ("duckdb", "pyarrow"):
                    ratio = (f"   strata auto / {side}: time {auto['seconds'] / r['seconds']:.2f}x,"
                             f" CPU {auto['cpu_seconds'] / max(r['cpu_seconds'], 1e-9):.2f}x,"
                             f" bytes {auto['bytes'] / r['bytes']:.2f}x")
                print(f"  {side:<14} {r['seconds']:7.3f} s (CPU {r['cpu_seconds']:6.3f} s)"
                      f" {r['bytes']:>12,} B{ratio}")
            for line in row["strata auto summary"]:
                print(f"  strata: {line.strip()}")
            d, p = row["duckdb"], row["pyarrow"]
            met = (auto["seconds"] <= d["seconds"] and auto["seconds"] <= 1.5 * p["seconds"]
                   and auto["bytes"] <= 0.9 * d["bytes"] and auto["bytes"] <= 0.9 * p["bytes"])
            print(f"  goal (<= 1.0x DuckDB time, <= 1.5x pyarrow time, <= 0.9x bytes of both): "
                  f"{'met' if met else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
