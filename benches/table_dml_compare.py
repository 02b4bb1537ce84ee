#!/usr/bin/env python3
"""Row-level table changes in one run: strata's merge and delete against the Python `deltalake`
package's on identical tables (time and peak RSS), and what strata's z-order does for a 1%
range filter (files read). The Rust side of the same issue is benches/table_dml.rs.

Work measured (acceptance criterion of "Table changes without a query engine"):

Setup (untimed): --rows rows (default 10M) as --files pyarrow-default Parquet files (default
40 x 250k; the trips-like 12-column generator of benches/table_compare.py), then two tables
with one data file per input file:
  * strata:    `strata table create DIR --from input_00` + one `strata table append` per file;
  * deltalake: `write_deltalake` once per file (one process, `--worker deltalake-write`).
The merge source: --source-rows rows (default 100k) in one Parquet file, half of them existing
trip_ids (a seeded random sample spread over the whole table) with changed fare and total, half
new trip_ids; shuffled.

1. Merge (upsert on trip_id), each run on a fresh copy of the table (copied, `sync`ed and every
   file of the copy and of the source read once before the timer, the same for both sides):
   * strata: the whole command `strata table merge DIR SOURCE --on trip_id --json` (process
     start, opening the log, reading the source file, rewriting, committing).
   * deltalake: in a fresh process (`--worker deltalake-merge`), timed inside it around
     `pq.read_table(SOURCE)` + `DeltaTable(DIR)` + `.merge(source, "target.trip_id =
     source.trip_id", ...).when_matched_update_all().when_not_matched_insert_all().execute()`
     (interpreter start and imports not counted; the whole-process wall time is reported too).
   Peak RSS: each side's whole process, `/usr/bin/time -f %M` (a small parent, so the child's
   figure holds none of this driver's memory). deltalake's is also given minus its baseline:
   the peak RSS of `--worker deltalake-open` (interpreter, pyarrow + deltalake imports, table
   opened; nothing merged), measured the same way.
   Goal: strata time <= 0.5x deltalake's, strata peak RSS <= 0.25x deltalake's (judged against
   deltalake's figure minus its baseline, the stricter reading; raw/raw is shown too).
2. Delete `payment_type = 'dispute'` (~1% of rows, in every file: the data is ordered by
   trip_id) the same way: `strata table delete DIR --where EXPR --json` against
   `DeltaTable(DIR).delete(EXPR)` (`--worker deltalake-delete`). No goal stated; reported.
   Merge and delete run on the table each side wrote, and (extra rows) strata also runs on a
   copy of the deltalake-written table.
3. Z-order: on a copy of the strata table, `strata table optimize DIR --zorder-by
   fare,trip_distance --target-file-size SIZE --json` (SIZE: about the table's bytes / --files,
   whole MiB, so there are about as many files after as before). Files read by 1%-wide ranges
   on fare before (the unordered table) and after: the optimize report's own measurement, and
   five ranges `fare >= a AND fare <= b` at the 10/30/50/70/90th percentiles counted by
   `strata table scan --count --json-stats`, and by the files' log min/max (what a reader
   pruning on both bounds reads; strata prunes a float column on a lower bound only in files
   that record no NaN, as NaN may hide above a max: its own files record their NaN counts).
   Goal: files read after <= 0.2x before.

Verification (untimed; a mismatch stops the run with a repro unless --keep-going): after the
first run of each kind, the table is read by strata (`table scan --count`, and trip_id + fare
through `table scan --format ipc`) and by deltalake (`--worker deltalake-summary`): rows,
distinct trip_ids, sum of trip_id and of fare must equal what the input files and the source
give (after merge: rows + inserts; after delete: rows - disputes). Every run checks the counts
each side reports (rows updated / inserted / deleted). The z-ordered table must hold the same
rows, and every range the same matching rows, as the unordered one.

Fairness: sides take turns going first across rounds; figures are best and median of --runs.
With --threads T below the CPUs this process may use, the whole run (and every child) is pinned
to T CPUs (strata and delta-rs both use one thread per CPU they may use).

Run:  python3 benches/table_dml_compare.py [--rows 10000000] [--files 40] [--runs 3]
          [--workdir target/table-dml-bench] [--strata target/release/strata] [--json OUT]
Needs numpy, pyarrow and deltalake for python3, and /usr/bin/time (GNU).
Workers (`--worker ...`) are the commands each figure names; they can be run by hand.
"""
import argparse
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCHES = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCHES)
sys.path.insert(0, BENCHES)
import table_compare as tc  # noqa: E402  (generator, warm, sh, log, run_cmd, stats, ...)

from table_compare import fmt_s, log, run_cmd, sh, stats, warm, worker_json  # noqa: E402

SOURCE_SEED = 20260202
SOURCE_VERSION = 1
DELETE_WHERE = "payment_type = 'dispute'"
ZORDER_BY = "fare,trip_distance"
ZORDER_QUANTILES = (0.10, 0.30, 0.50, 0.70, 0.90)
MERGE_PREDICATE = "target.trip_id = source.trip_id"
TIME = "/usr/bin/time"


# --------------------------------------------------------------------------------------------
# Workers: run in their own processes (the figures' commands).
# --------------------------------------------------------------------------------------------

def _maxrss_kib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _metrics(m):
    """deltalake's metrics (a dict, or a JSON string in some versions) as a dict."""
    if isinstance(m, str):
        try:
            return json.loads(m)
        except ValueError:
            return {"raw": m}
    return dict(m or {})


def worker_deltalake_write(args):
    tc._pin_pyarrow(args.threads)
    import pyarrow.parquet as pq
    from deltalake import write_deltalake
    times = []
    for i, path in enumerate(args.files):
        t = time.perf_counter()
        write_deltalake(args.table, pq.read_table(path), mode="overwrite" if i == 0 else "append")
        times.append(time.perf_counter() - t)
    tc._emit({"commit_s": times})


def worker_deltalake_open(args):
    """The merge/delete workers' baseline: the same imports, the table opened, nothing done."""
    tc._pin_pyarrow(args.threads)
    import pyarrow.parquet as pq  # noqa: F401
    from deltalake import DeltaTable
    t = time.perf_counter()
    dt = DeltaTable(args.table)
    secs = time.perf_counter() - t
    tc._emit({"s": secs, "version": dt.version(), "maxrss_kib": _maxrss_kib()})


def worker_deltalake_merge(args):
    tc._pin_pyarrow(args.threads)
    import pyarrow.parquet as pq
    from deltalake import DeltaTable
    before = _maxrss_kib()
    t = time.perf_counter()
    source = pq.read_table(args.source)
    dt = DeltaTable(args.table)
    c = time.perf_counter()
    metrics = (dt.merge(source=source, predicate=MERGE_PREDICATE, source_alias="source",
                        target_alias="target")
               .when_matched_update_all().when_not_matched_insert_all().execute())
    end = time.perf_counter()
    tc._emit({"s": end - t, "call_s": end - c, "metrics": _metrics(metrics),
              "maxrss_before_kib": before, "maxrss_kib": _maxrss_kib()})


def worker_deltalake_delete(args):
    tc._pin_pyarrow(args.threads)
    import pyarrow.parquet as pq  # noqa: F401  (the same imports as the merge worker)
    from deltalake import DeltaTable
    before = _maxrss_kib()
    t = time.perf_counter()
    dt = DeltaTable(args.table)
    c = time.perf_counter()
    metrics = dt.delete(args.predicate)
    end = time.perf_counter()
    tc._emit({"s": end - t, "call_s": end - c, "metrics": _metrics(metrics),
              "maxrss_before_kib": before, "maxrss_kib": _maxrss_kib()})


def _summary_of(table):
    import pyarrow.compute as pc
    n = table.num_rows
    return {"rows": n,
            "trip_id_sum": pc.sum(table.column("trip_id")).as_py() if n else 0,
            "fare_sum": pc.sum(table.column("fare")).as_py() if n else 0.0,
            "distinct_ids": pc.count_distinct(table.column("trip_id")).as_py() if n else 0}


def worker_deltalake_summary(args):
    """The table as deltalake reads it: rows, distinct trip_ids, sums of trip_id and fare."""
    tc._pin_pyarrow(args.threads)
    from deltalake import DeltaTable
    dt = DeltaTable(args.table)
    table = dt.to_pyarrow_table(columns=["trip_id", "fare"])
    tc._emit({**_summary_of(table), "version": dt.version(), "files": len(dt.file_uris())})


def worker_deltalake_files(args):
    """From the log (as deltalake reads it): the live files, and per range a:b how many of them
    have min <= b and max >= a on --column (what pruning on both bounds reads)."""
    import pyarrow as pa
    from deltalake import DeltaTable
    dt = DeltaTable(args.table)
    actions = pa.table(dt.get_add_actions(flatten=True))
    mins = actions.column(f"min.{args.column}").to_pylist()
    maxs = actions.column(f"max.{args.column}").to_pylist()
    out = []
    for r in args.ranges:
        a, b = (float(x) for x in r.split(":"))
        out.append(sum(1 for lo, hi in zip(mins, maxs)
                       if lo is None or hi is None or (lo <= b and hi >= a)))
    tc._emit({"files": actions.num_rows, "files_in_range": out})


def worker_main(argv):
    p = argparse.ArgumentParser(prog="table_dml_compare.py --worker")
    p.add_argument("--worker", required=True,
                   choices=["deltalake-write", "deltalake-open", "deltalake-merge",
                            "deltalake-delete", "deltalake-summary", "deltalake-files"])
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--source", help="merge source (Parquet)")
    p.add_argument("--predicate", help="delete predicate (SQL)")
    p.add_argument("--column", help="deltalake-files: the column of the ranges")
    p.add_argument("--ranges", nargs="*", default=[], help="deltalake-files: LO:HI ...")
    p.add_argument("files", nargs="*")
    args = p.parse_args(argv)
    {"deltalake-write": worker_deltalake_write,
     "deltalake-open": worker_deltalake_open,
     "deltalake-merge": worker_deltalake_merge,
     "deltalake-delete": worker_deltalake_delete,
     "deltalake-summary": worker_deltalake_summary,
     "deltalake-files": worker_deltalake_files}[args.worker](args)


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

def generate(workdir, rows, files):
    """table_compare's generator, --files files of rows/files rows each (its manifest records
    the file count, so a different count regenerates)."""
    saved = tc.COMMITS
    tc.COMMITS = files
    try:
        return tc.generate(workdir, rows)
    finally:
        tc.COMMITS = saved


def make_source(workdir, inputs, rows, source_rows):
    """source_rows rows: half existing trip_ids (a seeded sample over the whole table) with fare
    and total raised by 1.25, half new trip_ids (rows, rows+1, ...) with the other columns of
    other sampled rows, their times a month later; shuffled; one Parquet file. Returns its path
    and the ids updated (their old fares are needed for the expected sums)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    sdir = os.path.join(workdir, "source")
    path = os.path.join(sdir, "merge_source.parquet")
    manifest_path = os.path.join(sdir, "manifest.json")
    per = rows // len(inputs)
    n_upd = source_rows // 2
    n_ins = source_rows - n_upd
    manifest = {"rows": rows, "files": len(inputs), "source_rows": source_rows,
                "seed": SOURCE_SEED, "version": SOURCE_VERSION, "pyarrow": pa.__version__,
                "inputs": [os.path.getsize(f) for f in inputs]}
    rng = np.random.default_rng(SOURCE_SEED)
    upd_ids = np.sort(rng.choice(rows, n_upd, replace=False)).astype(np.int64)
    donor_ids = np.sort(rng.choice(rows, n_ins, replace=False)).astype(np.int64)
    order = rng.permutation(source_rows)
    try:
        with open(manifest_path) as f:
            if json.load(f) == manifest and os.path.exists(path):
                log(f"source: reusing {path}")
                return path
    except (OSError, ValueError):
        pass
    shutil.rmtree(sdir, ignore_errors=True)
    os.makedirs(sdir)

    def take(ids):
        parts = []
        for b, f in enumerate(inputs):
            sel = ids[(ids >= b * per) & (ids < (b + 1) * per)] - b * per
            if len(sel):
                parts.append(pq.read_table(f).take(pa.array(sel)))
        return pa.concat_tables(parts)

    upd = take(upd_ids)
    assert upd.column("trip_id").to_pylist() == upd_ids.tolist()
    upd = upd.set_column(upd.schema.get_field_index("fare"), "fare",
                         pc.round(pc.add(upd.column("fare"), 1.25), 2))
    upd = upd.set_column(upd.schema.get_field_index("total"), "total",
                         pc.round(pc.add(upd.column("total"), 1.25), 2))
    ins = take(donor_ids)
    month_us = 31 * 86_400 * 1_000_000
    ins = ins.set_column(0, "trip_id", pa.array(np.arange(rows, rows + n_ins, dtype=np.int64)))
    for col in ("pickup_at", "dropoff_at"):
        i = ins.schema.get_field_index(col)
        shifted = pc.add(ins.column(col).cast(pa.int64()), month_us)
        ins = ins.set_column(i, col, shifted.cast(ins.schema.field(col).type))
    source = pa.concat_tables([upd, ins]).take(pa.array(order))
    pq.write_table(source, path)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f)
    log(f"source: wrote {path} ({source.num_rows:,} rows, {os.path.getsize(path):,} bytes)")
    return path


def truth(inputs, source_path):
    """Expected summaries of the base table, after the merge and after the delete, and the fare
    percentiles the z-order ranges use."""
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq
    data = ds.dataset(inputs, format="parquet").to_table(
        columns=["trip_id", "fare", "payment_type"])
    src = pq.read_table(source_path, columns=["trip_id", "fare"])
    ids = data.column("trip_id")
    base = {"rows": data.num_rows, "trip_id_sum": pc.sum(ids).as_py(),
            "fare_sum": pc.sum(data.column("fare")).as_py(),
            "distinct_ids": pc.count_distinct(ids).as_py()}
    matched = pc.is_in(ids, value_set=src.column("trip_id"))
    n_upd = pc.sum(matched.cast("int64")).as_py()
    old_fare = pc.sum(data.filter(matched).column("fare")).as_py() or 0.0
    src_ids = src.column("trip_id")
    new_mask = pc.invert(pc.is_in(src_ids, value_set=ids))
    new = src.filter(new_mask)
    n_ins = new.num_rows
    merge = {"rows": base["rows"] + n_ins,
             "trip_id_sum": base["trip_id_sum"] + (pc.sum(new.column("trip_id")).as_py() or 0),
             "fare_sum": base["fare_sum"] - old_fare + pc.sum(src.column("fare")).as_py(),
             "distinct_ids": base["distinct_ids"] + n_ins}
    gone = data.filter(pc.equal(data.column("payment_type"), "dispute"))
    delete = {"rows": base["rows"] - gone.num_rows,
              "trip_id_sum": base["trip_id_sum"] - (pc.sum(gone.column("trip_id")).as_py() or 0),
              "fare_sum": base["fare_sum"] - (pc.sum(gone.column("fare")).as_py() or 0.0),
              "distinct_ids": base["distinct_ids"] - gone.num_rows}
    fare = np.sort(data.column("fare").to_numpy())
    ranges = []
    for q in ZORDER_QUANTILES:
        lo = round(float(fare[int(q * (len(fare) - 1))]), 2)
        hi = round(float(fare[int(min(q + 0.01, 1.0) * (len(fare) - 1))]), 2)
        n = int(np.searchsorted(fare, hi, "right") - np.searchsorted(fare, lo, "left"))
        ranges.append({"quantile": q, "lo": lo, "hi": hi, "rows": n})
    return {"base": base, "merge": merge, "delete": delete,
            "updated": n_upd, "inserted": n_ins, "deleted": gone.num_rows,
            "source_rows": src.num_rows, "ranges": ranges}


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time; returns (wall seconds seen from here, peak RSS KiB of the
    command's process, stdout). /usr/bin/time is a small parent: a child this (large) Python
    process spawned directly would report this process's RSS as its own peak (Linux carries the
    pre-exec RSS of a forked child into its ru_maxrss)."""
    with tempfile.NamedTemporaryFile("r", prefix="dml-time-", suffix=".txt") as tf:
        full = [TIME, "-f", "%M", "-o", tf.name] + cmd
        t = time.perf_counter()
        r = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env, timeout=7200)
        wall = time.perf_counter() - t
        lines = [l for l in open(tf.name).read().splitlines() if l.strip()]
    if r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}): {sh(cmd)}\n"
                 f"stdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-4000:]}")
    return wall, int(lines[-1]), r.stdout


def last_json(stdout, cmd):
    lines = [l for l in stdout.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"no JSON from {sh(cmd)}:\n{stdout[-2000:]}")
    return json.loads(lines[-1])


def fresh_copy(src, dst, also_warm=()):
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    os.sync()
    for p in (dst,) + tuple(also_warm):
        warm(p)


def mib(kib):
    return kib / 1024.0


def fmt_mib(st):
    return f"{mib(st['best']):,.0f} MiB (med {mib(st['median']):,.0f})"


def main():
    if "--worker" in sys.argv[1:]:
        return worker_main(sys.argv[1:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--files", type=int, default=40)
    p.add_argument("--source-rows", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=0,
                   help="pin the run to this many CPUs (default: all this process may use)")
    p.add_argument("--workdir", default=os.path.join(ROOT, "target", "table-dml-bench"))
    p.add_argument("--strata", default=os.path.join(ROOT, "target", "release", "strata"))
    p.add_argument("--zorder-target-size", metavar="SIZE",
                   help="optimize --target-file-size (default: table bytes / --files, whole "
                        "MiB, or KiB below 1 MiB)")
    p.add_argument("--json", metavar="OUT")
    p.add_argument("--keep-going", action="store_true",
                   help="report a mismatch instead of stopping at it")
    args = p.parse_args()
    if args.files < 1 or args.rows % args.files or args.rows < args.files:
        sys.exit("--rows must be a positive multiple of --files")
    if not 2 <= args.source_rows <= args.rows:
        sys.exit("--source-rows must be between 2 and --rows")
    workdir = os.path.abspath(args.workdir)
    strata = os.path.abspath(args.strata)
    for exe, what in ((strata, "--strata"), (TIME, "GNU time")):
        if not os.access(exe, os.X_OK):
            sys.exit(f"{what}: {exe} is not an executable")
    os.makedirs(workdir, exist_ok=True)
    me = os.path.abspath(__file__)

    import pyarrow as pa
    import deltalake
    cpus = sorted(os.sched_getaffinity(0))
    threads = args.threads or len(cpus)
    pinned = None
    if threads < len(cpus):
        pinned = cpus[:threads]
        os.sched_setaffinity(0, pinned)  # children inherit it
    strata_version = run_cmd([strata, "--version"]).stdout.strip()
    info = {
        "rows": args.rows, "files": args.files, "source_rows": args.source_rows,
        "runs": args.runs, "threads": threads, "cpus": len(cpus), "pinned_cpus": pinned,
        "strata": strata, "strata_version": strata_version,
        "strata_binary_mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                             time.gmtime(os.path.getmtime(strata))),
        "pyarrow": pa.__version__, "deltalake": deltalake.__version__,
        "python": sys.version.split()[0],
        "loadavg_start": os.getloadavg(),
        "git_head": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                   capture_output=True, text=True).stdout.strip(),
        "git_dirty": bool(subprocess.run(["git", "-C", ROOT, "status", "--porcelain",
                                          "--untracked-files=no"],
                                         capture_output=True, text=True).stdout.strip()),
    }
    log(f"setup: {json.dumps(info)}")

    # ---------------- inputs, source, expected results ----------------
    inputs = generate(workdir, args.rows, args.files)
    source = make_source(workdir, inputs, args.rows, args.source_rows)
    exp = truth(inputs, source)
    log(f"truth: {json.dumps(exp)}")
    if exp["base"]["rows"] != args.rows:
        sys.exit(f"input files hold {exp['base']['rows']} rows, not {args.rows}")
    input_bytes = sum(os.path.getsize(x) for x in inputs)

    # ---------------- the two base tables (untimed) ----------------
    st_base = os.path.join(workdir, "strata_table")
    dl_base = os.path.join(workdir, "deltalake_table")
    work = os.path.join(workdir, "work")
    setup_cmds = [[strata, "table", "create", st_base, "--from", inputs[0]]] + \
        [[strata, "table", "append", st_base, f] for f in inputs[1:]]
    dl_write_cmd = [sys.executable, me, "--worker", "deltalake-write", "--threads",
                    str(threads), "--table", dl_base] + inputs
    for d in (st_base, dl_base, work):
        shutil.rmtree(d, ignore_errors=True)
    t = time.perf_counter()
    for c in setup_cmds:
        run_cmd(c)
    setup_s = {"strata": time.perf_counter() - t}
    t = time.perf_counter()
    worker_json(dl_write_cmd)
    setup_s["deltalake"] = time.perf_counter() - t
    fp = {"strata": tc.footprint(st_base), "deltalake": tc.footprint(dl_base)}
    log(f"setup: strata table {fp['strata']['files']} files {fp['strata']['bytes']:,} B in "
        f"{setup_s['strata']:.1f} s; deltalake table {fp['deltalake']['files']} files "
        f"{fp['deltalake']['bytes']:,} B in {setup_s['deltalake']:.1f} s")
    for name, n in (("strata", fp["strata"]["files"]), ("deltalake", fp["deltalake"]["files"])):
        if n != args.files:
            log(f"warning: the {name}-written table has {n} data files, not {args.files}")

    mismatches = []

    def fail(msg):
        log(msg)
        mismatches.append(msg)
        if not args.keep_going:
            sys.exit("mismatch, stopping:\n" + msg)

    def summary_strata(tdir):
        out = os.path.join(workdir, "verify.arrow")
        c = [strata, "table", "scan", tdir, "--columns", "trip_id,fare", "--format", "ipc",
             "-o", out]
        run_cmd(c)
        with pa.memory_map(out) as src:
            t = pa.ipc.open_file(src).read_all()
        s = _summary_of(t)
        del t
        os.remove(out)
        cc = [strata, "table", "scan", tdir, "--count"]
        s["count"] = int(run_cmd(cc).stdout.strip().splitlines()[-1])
        return s, sh(c) + " && " + sh(cc)

    def summary_deltalake(tdir):
        c = [sys.executable, me, "--worker", "deltalake-summary", "--threads", str(threads),
             "--table", tdir]
        return worker_json(c), sh(c)

    def verify(tdir, want, what, repro):
        """Both readers see `want` in tdir; else a mismatch with the command that made it."""
        checks = [("strata", *summary_strata(tdir)), ("deltalake", *summary_deltalake(tdir))]
        for reader, got, c in checks:
            bad = [k for k in ("rows", "trip_id_sum", "distinct_ids")
                   if got[k] != want[k]]
            if reader == "strata" and got["count"] != want["rows"]:
                bad.append("count")
            if not math.isclose(got["fare_sum"], want["fare_sum"], rel_tol=0, abs_tol=0.01):
                bad.append("fare_sum")
            if bad:
                fail(f"MISMATCH after {what}, read by {reader} ({', '.join(bad)}): got "
                     f"{json.dumps(got)}, expected {json.dumps(want)}; made by: {repro}; "
                     f"read by: {c}")
            else:
                log(f"verify {what} ({reader} reads): OK {got['rows']:,} rows, trip_id sum "
                    f"{got['trip_id_sum']}, fare sum {got['fare_sum']:.2f}")

    # The base tables themselves.
    verify(st_base, exp["base"], "strata table create + appends", sh(setup_cmds[0]) + " ...")
    verify(dl_base, exp["base"], "deltalake write_deltalake x files", sh(dl_write_cmd))

    # ---------------- merge and delete ----------------
    variants = [  # (key, engine, base table, label)
        ("strata@strata", "strata", st_base, "strata-written"),
        ("deltalake@deltalake", "deltalake", dl_base, "deltalake-written"),
        ("strata@deltalake", "strata", dl_base, "deltalake-written"),
    ]

    def op_cmd(op, engine):
        if engine == "strata":
            if op == "merge":
                return [strata, "table", "merge", work, source, "--on", "trip_id", "--json"]
            return [strata, "table", "delete", work, "--where", DELETE_WHERE, "--json"]
        if op == "merge":
            return [sys.executable, me, "--worker", "deltalake-merge", "--threads",
                    str(threads), "--table", work, "--source", source]
        return [sys.executable, me, "--worker", "deltalake-delete", "--threads", str(threads),
                "--table", work, "--predicate", DELETE_WHERE]

    def check_counts(op, engine, rep, repro):
        """The counts each side reports for this run."""
        if engine == "strata":
            got = ({"updated": rep.get("rows_updated"), "inserted": rep.get("rows_inserted"),
                    "deleted": rep.get("rows_deleted")} if op == "merge"
                   else {"deleted": rep.get("rows_deleted")})
        else:
            m = rep["metrics"]
            got = ({"updated": m.get("num_target_rows_updated"),
                    "inserted": m.get("num_target_rows_inserted"),
                    "deleted": m.get("num_target_rows_deleted")} if op == "merge"
                   else {"deleted": m.get("num_deleted_rows")})
        want = ({"updated": exp["updated"], "inserted": exp["inserted"], "deleted": 0}
                if op == "merge" else {"deleted": exp["deleted"]})
        if got != want:
            fail(f"MISMATCH {engine} {op} reported {got}, expected {want}; repro: {repro}")

    def files_of(engine, rep):
        if engine == "strata":
            return {"removed": rep.get("files_removed"), "added": rep.get("files_added"),
                    "rows_copied": rep.get("rows_copied")}
        m = rep["metrics"]
        if "num_target_files_removed" in m:
            return {"removed": m.get("num_target_files_removed"),
                    "added": m.get("num_target_files_added"),
                    "rows_copied": m.get("num_target_rows_copied")}
        return {"removed": m.get("num_removed_files"), "added": m.get("num_added_files"),
                "rows_copied": m.get("num_copied_rows")}

    results = {}
    for r in range(args.runs):
        for op in ("merge", "delete"):
            vs = variants[r % len(variants):] + variants[:r % len(variants)]
            for key, engine, base, label in vs:
                fresh_copy(base, work, (source,) if op == "merge" else ())
                c = op_cmd(op, engine)
                wall, rss, out = timed(c)
                rep = last_json(out, c)
                secs = wall if engine == "strata" else rep["s"]
                repro = (f"rm -rf {shlex.quote(work)} && cp -r {shlex.quote(base)} "
                         f"{shlex.quote(work)} && {TIME} -f %M " + sh(c)).replace(ROOT + os.sep, "")
                e = results.setdefault((op, key), {"cmd": repro, "s": [], "wall": [],
                                                   "rss": [], "files": [], "call_s": []})
                e["s"].append(secs)
                e["wall"].append(wall)
                e["rss"].append(rss)
                e["files"].append(files_of(engine, rep))
                if engine == "deltalake":
                    e["call_s"].append(rep["call_s"])
                    e.setdefault("maxrss_before", []).append(rep["maxrss_before_kib"])
                log(f"{op} round {r} {key}: {secs:.3f} s (process {wall:.3f} s), peak RSS "
                    f"{mib(rss):,.0f} MiB, files {e['files'][-1]}")
                check_counts(op, engine, rep, repro)
                if r == 0:
                    verify(work, exp[op], f"{op} by {engine} on the {label} table", repro)
                shutil.rmtree(work, ignore_errors=True)
        # deltalake's baseline (imports + open), once per round.
        warm(dl_base)
        bc = [sys.executable, me, "--worker", "deltalake-open", "--threads", str(threads),
              "--table", dl_base]
        wall, rss, out = timed(bc)
        e = results.setdefault(("baseline", "deltalake"),
                               {"cmd": (f"{TIME} -f %M " + sh(bc)).replace(ROOT + os.sep, ""),
                                "s": [], "wall": [], "rss": []})
        e["s"].append(last_json(out, bc)["s"])
        e["wall"].append(wall)
        e["rss"].append(rss)
        sc = [strata, "table", "show", st_base]
        wall, rss, _ = timed(sc)
        e = results.setdefault(("baseline", "strata"),
                               {"cmd": (f"{TIME} -f %M " + sh(sc)).replace(ROOT + os.sep, ""),
                                "s": [], "wall": [], "rss": []})
        e["s"].append(wall)
        e["wall"].append(wall)
        e["rss"].append(rss)

    # ---------------- z-order ----------------
    zdir = os.path.join(workdir, "zorder_table")
    if args.zorder_target_size:
        target = args.zorder_target_size
    else:
        per_file = fp["strata"]["bytes"] / args.files
        target = (f"{max(1, int(per_file // (1 << 20)))}MiB" if per_file >= (1 << 20)
                  else f"{max(16, int(per_file // 1024))}KiB")
    fresh_copy(st_base, zdir)
    zc = [strata, "table", "optimize", zdir, "--zorder-by", ZORDER_BY, "--target-file-size",
          target, "--json"]
    z_wall, z_rss, out = timed(zc)
    zrep = last_json(out, zc)
    z_repro = (f"rm -rf {shlex.quote(zdir)} && cp -r {shlex.quote(st_base)} {shlex.quote(zdir)}"
               f" && {TIME} -f %M " + sh(zc)).replace(ROOT + os.sep, "")
    log(f"zorder: {z_wall:.1f} s, peak RSS {mib(z_rss):,.0f} MiB, report {json.dumps(zrep)}")
    verify(zdir, exp["base"], "z-order optimize", z_repro)
    ranges = exp["ranges"]
    range_exprs = [f"fare >= {x['lo']} AND fare <= {x['hi']}" for x in ranges]
    zscan = {"before": [], "after": []}
    for when, tdir in (("before", st_base), ("after", zdir)):
        for x, expr in zip(ranges, range_exprs):
            c = [strata, "table", "scan", tdir, "--filter", expr, "--count", "--json-stats"]
            r = run_cmd(c)
            n = int(r.stdout.strip().splitlines()[-1])
            st = last_json(r.stderr, c)
            zscan[when].append({"filter": expr, "rows": n, "files_read": st["files"],
                                "files_skipped": st["files_skipped"],
                                "cmd": sh(c)})
            if n != x["rows"]:
                fail(f"MISMATCH scan of the {when} table, filter {expr!r}: {n} rows, expected "
                     f"{x['rows']}; repro: {sh(c)}")
    zlog = {}
    for when, tdir in (("before", st_base), ("after", zdir)):
        c = [sys.executable, me, "--worker", "deltalake-files", "--threads", str(threads),
             "--table", tdir, "--column", "fare", "--ranges"] + \
            [f"{x['lo']}:{x['hi']}" for x in ranges]
        zlog[when] = {**worker_json(c), "cmd": sh(c)}
    info["loadavg_end"] = os.getloadavg()
    mtime_end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(strata)))
    if mtime_end != info["strata_binary_mtime"]:
        info["strata_binary_changed"] = mtime_end
        log(f"warning: {strata} changed during the run (now built {mtime_end})")

    # ---------------- report ----------------
    rows_out = []
    cmds = []

    def cmd_ref(c):
        if c in cmds:
            return f"[{cmds.index(c) + 1}]"
        cmds.append(c)
        return f"[{len(cmds)}]"

    base_dl = stats(results[("baseline", "deltalake")]["rss"])
    base_st = stats(results[("baseline", "strata")]["rss"])
    ref_base_dl = cmd_ref(results[("baseline", "deltalake")]["cmd"])
    nrows = f"{args.rows:,}-row, {args.files}-file"
    op_text = {
        "merge": (f"merge {exp['source_rows']:,} rows on trip_id ({exp['updated']:,} updates + "
                  f"{exp['inserted']:,} inserts) into the {nrows}"),
        "delete": f"delete `{DELETE_WHERE}` ({exp['deleted']:,} rows) from the {nrows}",
    }
    goals = {"merge": (0.5, 0.25), "delete": (None, None)}
    dl_key = "deltalake@deltalake"
    for op in ("merge", "delete"):
        d = results[(op, dl_key)]
        ds_, dr = stats(d["s"]), stats(d["rss"])
        dwall, dcall = stats(d["wall"]), stats(d["call_s"])
        rd = cmd_ref(d["cmd"])
        dl_net = {"best": dr["best"] - base_dl["median"], "median": dr["median"] - base_dl["median"]}
        for key, engine, base, label in variants:
            if engine != "strata":
                continue
            s = results[(op, key)]
            ss, sr = stats(s["s"]), stats(s["rss"])
            rs = cmd_ref(s["cmd"])
            extra = key != "strata@strata"
            tgoal, mgoal = goals[op]
            where = f"{label} table" + (" (strata on it; extra)" if extra else "")
            tr = ss["best"] / ds_["best"]
            rows_out.append([
                f"{op_text[op]} {where}: time",
                f"{fmt_s(ss)} {rs}",
                "deltalake merge().when_matched_update_all().when_not_matched_insert_all()"
                if op == "merge" else "deltalake DeltaTable.delete",
                f"{fmt_s(ds_)} {rd}; call alone {dcall['best']:.3f} s, whole process "
                f"{dwall['best']:.3f} s",
                f"{tr:.2f}x (med {ss['median'] / ds_['median']:.2f}x)",
                "(extra)" if extra else (f"<= {tgoal}x: {'MET' if tr <= tgoal else 'NOT MET'}"
                                         if tgoal else "(none stated)")])
            net = sr["best"] / dl_net["best"] if dl_net["best"] > 0 else float("inf")
            raw = sr["best"] / dr["best"]
            rows_out.append([
                f"{op_text[op]} {where}: peak RSS",
                f"{fmt_mib(sr)} {rs}",
                f"the same, whole process (minus its baseline {ref_base_dl})",
                f"{fmt_mib(dr)} raw; net of its {mib(base_dl['median']):,.0f} MiB "
                f"baseline {mib(dl_net['best']):,.0f} MiB {rd}",
                f"{net:.2f}x of net ({raw:.2f}x of raw)",
                "(extra)" if extra else (f"<= {mgoal}x (of net): "
                                         f"{'MET' if net <= mgoal else 'NOT MET'}"
                                         if mgoal else "(none stated)")])

    # z-order rows
    rz = cmd_ref(z_repro)
    zfare = [z for z in zrep.get("zorder", []) if z.get("column") == "fare"]
    for z in zrep.get("zorder", []):
        ratio = z["files_read_after"] / z["files_read_before"] if z["files_read_before"] else float("nan")
        goal = (f"<= 0.2x: {'MET' if ratio <= 0.2 else 'NOT MET'}" if z in zfare
                else "(extra)")
        rows_out.append([
            f"z-order by {ZORDER_BY}: files read by the report's 1% range `{z['filter']}`",
            f"{z['files_read_after']} of {z['files_after']} files after {rz}",
            "the unordered strata table (before)",
            f"{z['files_read_before']} of {z['files_before']} files",
            f"{ratio:.2f}x", goal])
    fb = sum(x["files_read"] for x in zscan["before"])
    fa = sum(x["files_read"] for x in zscan["after"])
    sample_before = cmd_ref(zscan["before"][2]["cmd"].replace(ROOT + os.sep, ""))
    sample_after = cmd_ref(zscan["after"][2]["cmd"].replace(ROOT + os.sep, ""))
    ratio = fa / fb if fb else float("nan")
    rows_out.append([
        f"z-order: files `strata table scan --filter \"fare >= a AND fare <= b\"` reads, 5 "
        f"1%-wide ranges at p10..p90 (sum)",
        f"{fa} ({'/'.join(str(x['files_read']) for x in zscan['after'])}) of "
        f"{zlog['after']['files']} files {sample_after}",
        "the unordered strata table",
        f"{fb} ({'/'.join(str(x['files_read']) for x in zscan['before'])}) of "
        f"{fp['strata']['files']} files {sample_before}",
        f"{ratio:.2f}x", f"<= 0.2x: {'MET' if ratio <= 0.2 else 'NOT MET'}"])
    lb, la = sum(zlog["before"]["files_in_range"]), sum(zlog["after"]["files_in_range"])
    rl = cmd_ref(zlog["after"]["cmd"].replace(ROOT + os.sep, ""))
    rows_out.append([
        "z-order: files whose log min/max of fare overlap the same 5 ranges (pruning on both "
        "bounds)",
        f"{la} ({'/'.join(str(x) for x in zlog['after']['files_in_range'])}) of "
        f"{zlog['after']['files']} files {rl}",
        "the unordered strata table",
        f"{lb} ({'/'.join(str(x) for x in zlog['before']['files_in_range'])}) of "
        f"{zlog['before']['files']} files",
        f"{la / lb if lb else float('nan'):.2f}x", "(extra)"])

    head = ["work", "strata", "peer", "peer figure", "strata/peer", "goal"]
    md = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    md += ["| " + " | ".join(r) + " |" for r in rows_out]
    md.append("")
    md.append(f"Times: best of {args.runs} (median), wall clock, on {len(cpus)} CPUs"
              f"{' pinned to ' + str(pinned) if pinned else ''}; load average "
              f"{info['loadavg_start'][0]:.2f} at start, {info['loadavg_end'][0]:.2f} at end. "
              f"{strata_version} (binary built {info['strata_binary_mtime']}; git "
              f"{info['git_head']}{', dirty tree' if info['git_dirty'] else ''}"
              f"{'; REBUILT DURING THE RUN' if info.get('strata_binary_changed') else ''}), "
              f"deltalake "
              f"{deltalake.__version__}, pyarrow {pa.__version__}, Python {info['python']}. "
              f"Input: {args.files} pyarrow-default Parquet files of {args.rows // args.files:,} "
              f"rows, {input_bytes:,} B; merge source {os.path.getsize(source):,} B. Tables: "
              f"strata-written {fp['strata']['files']} files, {fp['strata']['bytes']:,} B; "
              f"deltalake-written {fp['deltalake']['files']} files, "
              f"{fp['deltalake']['bytes']:,} B.")
    md.append("strata = the whole command (process start, log, reading the source file, "
              "rewriting, commit), timed from outside. deltalake = timed inside a fresh worker "
              "process around pq.read_table(source) (merge only) + DeltaTable(dir) + the call "
              "(interpreter start and imports excluded); `call alone` is the merge/delete call "
              "without the open and source read, `whole process` is the worker's wall time "
              "with interpreter start and imports. Peak RSS = `/usr/bin/time -f %M` of each "
              f"whole process. deltalake baseline (interpreter + pyarrow + deltalake imported, "
              f"table opened, nothing changed) {fmt_mib(base_dl)} {ref_base_dl}; strata's "
              f"(`strata table show` on the table) {fmt_mib(base_st)}.")
    files_notes = []
    for op in ("merge", "delete"):
        for key, engine, base, label in variants:
            f = results[(op, key)]["files"][0]
            files_notes.append(f"{op} {key}: {f['removed']} files removed, {f['added']} added, "
                               f"{f['rows_copied']:,} rows copied" if f["rows_copied"] is not None
                               else f"{op} {key}: {f}")
    md.append("Files rewritten (first run, as each side reports): " + "; ".join(files_notes) + ".")
    md.append(f"Z-order: `optimize --zorder-by {ZORDER_BY} --target-file-size {target}` on a "
              f"copy of the strata table: {zrep.get('files_before')} -> "
              f"{zrep.get('files_after')} files, {zrep.get('bytes_before', 0):,} -> "
              f"{zrep.get('bytes_after', 0):,} B, {z_wall:.1f} s, peak RSS {mib(z_rss):,.0f} MiB "
              f"{rz}. Ranges: " + "; ".join(
                  f"p{round(x['quantile'] * 100)} `{e}` {x['rows']:,} rows"
                  for x, e in zip(ranges, range_exprs))
              + ". strata prunes a float column on a lower bound (`>`/`>=`) only in files "
              "whose statistics record no NaN (NaN, left out of Parquet statistics, orders "
              "above every number); its own files record their NaN counts (`strata.nanCount`). "
              "The log min/max row shows what pruning on both bounds reads.")
    md.append("Verification: after the first run of each merge and delete, and after the "
              "z-order, strata (`table scan`) and deltalake (to_pyarrow_table) read the table: "
              "rows, distinct trip_ids, sum of trip_id and of fare equal the expected ones from "
              "the input files and the source; every run checks the rows each side reports "
              "updated/inserted/deleted; the z-ordered table returns the same rows for every "
              "range" + (" EXCEPT: " + "; ".join(mismatches) if mismatches else "") + ".")
    md.append("Each timed run starts from a fresh copy of the table (`cp -r`, `sync`, every "
              "file of the copy and of the source read once); the variants take turns going "
              "first across rounds.")
    md.append("")
    md.append("Commands (run from the repo root; the input files, source and base tables are "
              "written by this script under " + os.path.relpath(workdir, ROOT) + "):")
    md.append("")
    for i, c in enumerate(cmds, 1):
        md.append(f"- [{i}] `{c}`")
    print("\n".join(md))

    if args.json:
        out = {
            "info": info, "truth": exp, "input_bytes": input_bytes, "footprint": fp,
            "setup_s": setup_s,
            "results": [{"op": op, "variant": key, **{k: v for k, v in e.items()},
                         "time": stats(e["s"]), "peak_rss_kib": stats(e["rss"])}
                        for (op, key), e in results.items()],
            "zorder": {"cmd": z_repro, "report": zrep, "wall_s": z_wall, "peak_rss_kib": z_rss,
                       "target_file_size": target, "scans": zscan,
                       "log_overlap": zlog},
            "mismatches": mismatches,
            "markdown": "\n".join(md),
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
