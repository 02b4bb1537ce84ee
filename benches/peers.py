#!/usr/bin/env python3
"""Peers on the same generated files: runs DuckDB, polars and pyarrow (whichever are installed)
on the TPC-H lineitem file `strata bench` generated, with the scan cases of its `scan` suite,
and merges their figures into the run's JSON (its `peers` array), so that `strata bench
--compare OLD NEW --report DIR` (or a fresh `--report`) shows them beside strata's.

    strata bench scan --scale 0.1 --json run.json
    python3 benches/peers.py run.json            # adds peers to run.json (or --out OTHER.json)

Like for like with the `scan` suite: every engine reads the same file (as the parquet crate
wrote it: snappy, dictionary, 1M-row row groups, page index), in-process, warm (one untimed
run first: OS page cache and footers warm), each result materialised as Arrow data (polars: a
DataFrame) and dropped; the figure is the median of --runs timed runs (ms), on 1 and N threads
(N from the run's settings). Ids match the strata records they compare with.
"""
import argparse
import json
import os
import statistics
import sys
import time


def data_dir(explicit):
    if explicit:
        return explicit
    if os.environ.get("XDG_CACHE_HOME"):
        return os.path.join(os.environ["XDG_CACHE_HOME"], "strata-bench")
    if os.environ.get("HOME"):
        return os.path.join(os.environ["HOME"], ".cache", "strata-bench")
    import tempfile
    return os.path.join(tempfile.gettempdir(), "strata-bench")


def scale_text(scale):
    # As Rust prints an f64: 1.0 -> "1", 0.1 -> "0.1".
    text = repr(float(scale))
    return text[:-2] if text.endswith(".0") else text


def filter_range(path):
    import pyarrow.parquet as pq
    meta = pq.ParquetFile(path).metadata
    col = meta.schema.to_arrow_schema().get_field_index("l_orderkey")
    hi_key = max(meta.row_group(g).column(col).statistics.max for g in range(meta.num_row_groups))
    lo = hi_key // 2
    return lo, lo + max(hi_key // 100, 1)


def spread(times_ms):
    return {"min": min(times_ms), "median": statistics.median(times_ms), "max": max(times_ms),
            "runs": times_ms}


def timed(fn, runs):
    fn()  # untimed: warm
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def engines(path, lo, hi):
    """(engine, version, set_threads(n), {case: fn})."""
    found = []
    try:
        import duckdb
        con = duckdb.connect()
        sql = {
            "full": f"SELECT * FROM read_parquet('{path}')",
            "project_2": f"SELECT l_quantity, l_extendedprice FROM read_parquet('{path}')",
            "filter_1pct/page_index":
                f"SELECT * FROM read_parquet('{path}') WHERE l_orderkey >= {lo} AND l_orderkey < {hi}",
        }
        found.append(("duckdb", duckdb.__version__, lambda n: con.execute(f"SET threads={n}"),
                      {k: (lambda q=q: con.sql(q).to_arrow_table()) for k, q in sql.items()}))
    except ImportError:
        print("peers: duckdb not installed, skipped", file=sys.stderr)
    try:
        import pyarrow
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq
        # tpchgen-arrow's strings are Utf8View; pyarrow has no filter kernel for string_view
        # yet, so its dataset reads them as plain strings.
        schema = pq.read_schema(path)
        plain = pyarrow.schema([f.with_type(pyarrow.string()) if f.type == pyarrow.string_view() else f
                                for f in schema])
        cases = {
            "full": lambda: pq.read_table(path),
            "project_2": lambda: pq.read_table(path, columns=["l_quantity", "l_extendedprice"]),
            "filter_1pct/page_index": lambda: ds.dataset(path, schema=plain).to_table(
                filter=(ds.field("l_orderkey") >= lo) & (ds.field("l_orderkey") < hi)),
        }
        found.append(("pyarrow", pyarrow.__version__, lambda n: pyarrow.set_cpu_count(n), cases))
    except ImportError:
        print("peers: pyarrow not installed, skipped", file=sys.stderr)
    try:
        import polars as pl
        cases = {
            "full": lambda: pl.read_parquet(path),
            "project_2": lambda: pl.read_parquet(path, columns=["l_quantity", "l_extendedprice"]),
            "filter_1pct/page_index": lambda: pl.scan_parquet(path).filter(
                (pl.col("l_orderkey") >= lo) & (pl.col("l_orderkey") < hi)).collect(),
        }
        # polars fixes its pool at import (POLARS_MAX_THREADS): only N threads are measured.
        found.append(("polars", pl.__version__, None, cases))
    except ImportError:
        print("peers: polars not installed, skipped", file=sys.stderr)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a `strata bench --json` file")
    parser.add_argument("--out", help="where to write the merged JSON (default: the run file)")
    parser.add_argument("--data-dir", help="strata bench's --data-dir, if it was given one")
    parser.add_argument("--runs", type=int, default=None, help="default: the run's --runs")
    args = parser.parse_args()

    with open(args.run) as f:
        run = json.load(f)
    settings = run["settings"]
    runs = args.runs or settings["runs"]
    path = os.path.join(data_dir(args.data_dir), "tpchgen4-v1", f"sf{scale_text(settings['scale'])}",
                        "lineitem.parquet")
    if not os.path.exists(path):
        sys.exit(f"peers: {path} is missing: run strata bench at scale {settings['scale']} first")
    lo, hi = filter_range(path)
    threads = sorted({1, settings["threads"]})
    peers = [p for p in run.get("peers", []) if p["engine"] not in ("duckdb", "pyarrow", "polars")]
    for engine, version, set_threads, cases in engines(path, lo, hi):
        for n in threads:
            if set_threads is None and n != settings["threads"]:
                continue
            if set_threads is not None:
                set_threads(n)
            for case, fn in cases.items():
                times = timed(fn, runs)
                peers.append({
                    "engine": engine, "version": version,
                    "id": f"scan/lineitem/{case}/threads={n}", "unit": "ms",
                    "value": spread(times), "threads": n,
                    "state": "warm: in-process, one untimed run first (OS page cache, footer)",
                    "note": f"{path}; result materialised as Arrow data" + (
                        f"; l_orderkey in {lo}..{hi}" if "filter" in case else ""),
                })
                print(f"{engine:8} {case:24} threads={n}  {statistics.median(times):9.2f} ms", flush=True)
    run["peers"] = peers
    with open(args.out or args.run, "w") as f:
        json.dump(run, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
