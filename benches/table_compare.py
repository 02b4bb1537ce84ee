#!/usr/bin/env python3
"""Delta table comparison in one run: strata against the Python `deltalake` package and
DuckDB's delta reader, on the same data, threads, warm page cache and machine.

Work measured (acceptance criterion of the Delta-tables issue):

1. Appends: --rows rows (default 10M) in 10 commits of --rows/10 rows each.
   * strata: `strata table create DIR --from batch_00.parquet`, then 9 x
     `strata table append DIR batch_NN.parquet`, each a whole command (process start, reading
     the input file, writing, committing) timed from the parent; the figure is the sum.
   * deltalake: one process (`--worker deltalake-write`) that, per commit and inside the timed
     region, reads the same input file with `pq.read_table` and calls `write_deltalake`
     (mode="overwrite" for the first, then mode="append"), default writer settings; the figure
     is the sum of the 10 timed regions (interpreter start and imports not counted).
   Bytes: the total size of the data files (*.parquet outside _delta_log) after 10 commits.
   Codec: read from the Parquet footers (per column, from pyarrow's metadata).
   Goal: strata time <= 0.8x deltalake's, strata bytes <= 0.9x deltalake's.

2. Scans of a 1%-selective filter (a numeric range `fare > p99(fare)` and a string equality
   `payment_type = 'dispute'`; the data is ordered by trip_id/pickup time, not by either) on
   the strata-written table and on the deltalake-written table:
   * strata: the whole command `strata table scan DIR --filter EXPR --format ipc -o /dev/null
     --threads T` (process start, opening the log, pruning, decoding, and encoding all matching
     rows of all columns as Arrow IPC).
   * deltalake: `DeltaTable(DIR).to_pyarrow_dataset().to_table(filter=EXPR)` in a fresh
     process per run, timed inside it (open + scan + materialised pyarrow Table), pyarrow pinned
     with pa.set_cpu_count(T) / pa.set_io_thread_count(T).
   * DuckDB: `SELECT * FROM delta_scan('DIR') WHERE EXPR` fetched as a pyarrow Table
     (to_arrow_table) in a fresh process per run of --duckdb-python (duckdb + the delta
     extension loaded from its wheel before the timer), `SET threads = T`, timed inside it.
   All three must return the same rows (count and sum of trip_id, all 12 columns), checked
   against the input files; a mismatch stops the run with a repro unless --keep-going.
   Goal: strata fastest.

Fairness: every run starts from a warm page cache made the same way (every file of the input
or table read once, right before each timed run; `sync` before each write run), sides take
turns first across rounds, and each figure is best and median of --runs. With --threads T
below the CPUs this process may use, the whole run (and every child) is pinned to T CPUs;
strata's writer has no thread option and uses one thread per CPU it may use, like delta-rs.

Run:  python3 benches/table_compare.py [--rows 10000000] [--runs 3] [--threads 2]
          [--duckdb-python .ci/venv-delta/bin/python] [--json OUT]
Needs numpy, pyarrow and deltalake for python3; duckdb + duckdb-extension-delta in the
--duckdb-python interpreter (pyarrow there too, or it borrows this interpreter's pyarrow).
Workers (`--worker ...`) are the commands each figure names; they can be run by hand.
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMITS = 10
GENERATOR_VERSION = 1
SEED = 20260101
PAYMENTS = ["card", "cash", "no_charge", "dispute", "unknown"]
PAYMENT_P = [0.72, 0.22, 0.03, 0.01, 0.02]
ZONES = [
    "JFK", "LGA", "EWR", "Midtown", "Midtown East", "Midtown North", "Midtown South",
    "Upper East Side", "Upper West Side", "Harlem", "East Harlem", "Chelsea", "SoHo",
    "TriBeCa", "Financial District", "Battery Park", "Lower East Side", "East Village",
    "West Village", "Greenwich Village", "Gramercy", "Murray Hill", "Kips Bay", "Clinton",
    "Hell's Kitchen", "Lincoln Square", "Yorkville", "Astoria", "Long Island City",
    "Williamsburg", "Greenpoint", "Bushwick", "Park Slope", "DUMBO", "Brooklyn Heights",
    "Crown Heights", "Flushing", "Jamaica", "Bronx Park", "Fordham", "Riverdale",
    "St. George", "Sunnyside", "Woodside", "Jackson Heights", "Elmhurst", "Forest Hills",
    "Bay Ridge", "Coney Island", "Red Hook",
]


# --------------------------------------------------------------------------------------------
# Workers: run in their own processes (the figures' commands); they import lazily so the
# DuckDB worker runs in an interpreter that has neither numpy nor deltalake.
# --------------------------------------------------------------------------------------------

def _emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    # deltalake 1.6.6 may abort at interpreter exit after reading; the result is out already.
    os._exit(0)


def _pin_pyarrow(threads):
    import pyarrow as pa
    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)


def _summary(table):
    """Rows, columns and sum of trip_id of a pyarrow Table (after the timer)."""
    import pyarrow.compute as pc
    s = pc.sum(table.column("trip_id")).as_py() if table.num_rows else 0
    return {"rows": table.num_rows, "columns": table.column_names, "trip_id_sum": s}


def worker_deltalake_write(args):
    _pin_pyarrow(args.threads)
    import pyarrow.parquet as pq
    from deltalake import write_deltalake
    times = []
    for i, path in enumerate(args.files):
        t = time.perf_counter()
        data = pq.read_table(path)
        write_deltalake(args.table, data, mode="overwrite" if i == 0 else "append")
        times.append(time.perf_counter() - t)
    _emit({"commit_s": times})


def pyarrow_filter(kind, value):
    import pyarrow.compute as pc
    if kind == "fare":
        return pc.field("fare") > float(value)
    return pc.field("payment_type") == value


def sql_filter(kind, value):
    if kind == "fare":
        return f"fare > {value}"
    return "payment_type = '" + value.replace("'", "''") + "'"


def worker_deltalake_scan(args):
    _pin_pyarrow(args.threads)
    from deltalake import DeltaTable
    expr = pyarrow_filter(args.kind, args.value)
    t = time.perf_counter()
    dt = DeltaTable(args.table)
    table = dt.to_pyarrow_dataset().to_table(filter=expr)
    secs = time.perf_counter() - t
    _emit({"s": secs, **_summary(table)})


def worker_strata_scan(args):
    """strata in process, as a C, C++ or Go host reads it: `strata_table_open` on the table's
    directory and `strata_table_scan` into an Arrow C Stream imported by pyarrow (the library
    loaded and a lake opened before the timer, as the peers import theirs first)."""
    import ctypes
    import tempfile
    _pin_pyarrow(args.threads)
    import pyarrow as pa
    lib = ctypes.CDLL(args.library)
    lib.strata_last_error_message.restype = ctypes.c_char_p
    def ok(status):
        if status != 0:
            sys.exit(f"strata: {lib.strata_last_error_message().decode()}")
    if args.malloc_tuned:
        # As a host that opts in (the `strata` command does at start): glibc's malloc keeps
        # freed decode buffers instead of faulting them in afresh.
        ok(lib.strata_tuning_raise_malloc_thresholds())
    lake = ctypes.c_void_p()
    root = tempfile.mkdtemp(prefix="strata-bench-lake-")
    ok(lib.strata_open_dir(root.encode(), ctypes.byref(lake)))
    where = (pyarrow_filter_sql(args.kind, args.value)).encode()
    stream = ctypes.create_string_buffer(64)  # struct ArrowArrayStream: 5 pointers
    t = time.perf_counter()
    table_h = ctypes.c_void_p()
    ok(lib.strata_table_open(lake, os.path.abspath(args.table).encode(), ctypes.byref(table_h)))
    ok(lib.strata_table_scan(table_h, ctypes.c_int64(-1), ctypes.c_int64(-1), None,
                             ctypes.c_size_t(0), where, stream))
    table = pa.RecordBatchReader._import_from_c(ctypes.addressof(stream)).read_all()
    secs = time.perf_counter() - t
    lib.strata_table_free(table_h)
    lib.strata_lake_free(lake)
    shutil.rmtree(root, ignore_errors=True)
    _emit({"s": secs, **_summary(table)})


def pyarrow_filter_sql(kind, value):
    """The filter in strata's syntax (the same text as the SQL one here)."""
    return sql_filter(kind, value)


def _duckdb_extension_path():
    import glob
    import duckdb
    found = []
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            found += glob.glob(os.path.join(entry, "**", "delta.duckdb_extension"), recursive=True)
    if not found:
        sys.exit(f"no delta.duckdb_extension under {sys.executable}'s sys.path "
                 "(pip install duckdb-extension-delta)")
    # Prefer the one built for this duckdb version.
    found.sort(key=lambda p: (("v" + duckdb.__version__) not in p, p))
    return found[0]


def worker_duckdb_scan(args):
    import duckdb
    try:
        import pyarrow  # noqa: F401  (to_arrow_table needs it)
    except ImportError:
        extra = os.environ.get("TABLE_COMPARE_PYARROW_DIR")
        if not extra:  # run by hand: borrow the pyarrow of `python3` on PATH
            extra = subprocess.run(
                ["python3", "-c", "import os, pyarrow; "
                 "print(os.path.dirname(os.path.dirname(pyarrow.__file__)))"],
                capture_output=True, text=True).stdout.strip()
        if not extra:
            raise
        sys.path.append(extra)  # after the venv's own packages: its duckdb still wins
        import pyarrow  # noqa: F401
    # Loaded straight from the wheel's file: nothing is installed into ~/.duckdb.
    con = duckdb.connect(config={"autoinstall_known_extensions": "false",
                                 "autoload_known_extensions": "false"})
    con.execute(f"SET threads = {int(args.threads)}")
    ext = _duckdb_extension_path()
    con.execute("LOAD '" + ext.replace("'", "''") + "'")
    sql = (f"SELECT * FROM delta_scan('" + args.table.replace("'", "''") + "') WHERE "
           + sql_filter(args.kind, args.value))
    fetch = "to_arrow_table" if hasattr(duckdb.DuckDBPyConnection, "to_arrow_table") \
        else "fetch_arrow_table"
    t = time.perf_counter()
    table = getattr(con.execute(sql), fetch)()
    secs = time.perf_counter() - t
    out = {"s": secs, **_summary(table), "duckdb": duckdb.__version__, "extension": ext}
    _emit(out)


def worker_main(argv):
    p = argparse.ArgumentParser(prog="table_compare.py --worker")
    p.add_argument("--worker", required=True,
                   choices=["deltalake-write", "deltalake-scan", "duckdb-scan", "strata-scan"])
    p.add_argument("--library", help="libstrata.so (strata-scan)")
    p.add_argument("--malloc-tuned", action="store_true",
                   help="strata-scan: call strata_tuning_raise_malloc_thresholds first")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--kind", choices=["fare", "payment"])
    p.add_argument("--value")
    p.add_argument("files", nargs="*")
    args = p.parse_args(argv)
    {"deltalake-write": worker_deltalake_write,
     "deltalake-scan": worker_deltalake_scan,
     "duckdb-scan": worker_duckdb_scan,
     "strata-scan": worker_strata_scan}[args.worker](args)


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

def sh(cmd):
    """A command line for people: like shlex.join, but "double quotes" for args holding
    single quotes (filters) when that is safe."""
    out = []
    for a in cmd:
        q = shlex.quote(a)
        if q != a and "'" in a and not any(ch in a for ch in '"$`\\!'):
            q = '"' + a + '"'
        out.append(q)
    return " ".join(out).replace(ROOT + os.sep, "")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def generate(workdir, rows):
    """Writes COMMITS input files of rows/COMMITS rows each (pyarrow defaults), unless the
    same generator already wrote them; returns their paths."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    indir = os.path.join(workdir, "input")
    manifest_path = os.path.join(indir, "manifest.json")
    per = rows // COMMITS
    paths = [os.path.join(indir, f"batch_{i:02d}.parquet") for i in range(COMMITS)]
    manifest = {"rows": rows, "commits": COMMITS, "generator": GENERATOR_VERSION, "seed": SEED,
                "pyarrow": pa.__version__}
    try:
        with open(manifest_path) as f:
            if json.load(f) == manifest and all(os.path.exists(p) for p in paths):
                log(f"input: reusing {indir}")
                return paths
    except (OSError, ValueError):
        pass
    shutil.rmtree(indir, ignore_errors=True)
    os.makedirs(indir)
    base_us = 1_704_067_200 * 1_000_000  # 2024-01-01T00:00:00Z
    span_us = 31 * 86_400 * 1_000_000     # a month of trips, in trip_id order
    payments = pa.array(PAYMENTS)
    zones = pa.array(ZONES)
    zone_p = 1.0 / np.arange(1, len(ZONES) + 1) ** 0.8
    zone_p /= zone_p.sum()
    for b, path in enumerate(paths):
        rng = np.random.default_rng([SEED, b])
        ids = np.arange(b * per, (b + 1) * per, dtype=np.int64)
        pickup = base_us + ids * (span_us // rows) + rng.integers(0, 300, per) * 1_000_000
        duration_s = np.clip(rng.lognormal(6.6, 0.6, per), 60, 4 * 3600).astype(np.int64)
        dropoff = pickup + duration_s * 1_000_000
        distance = np.round(np.clip(rng.lognormal(0.6, 0.8, per), 0.01, 150), 2)
        fare = np.round(3.0 + 2.5 * distance + 0.35 * duration_s / 60
                        + rng.normal(0, 1.0, per), 2)
        fare = np.maximum(fare, 2.5)
        pay_idx = rng.choice(len(PAYMENTS), per, p=PAYMENT_P)
        tip = np.round(fare * rng.uniform(0, 0.3, per), 2)
        tip[PAYMENTS.index("cash") == pay_idx] = 0.0
        tip_null = rng.random(per) < 0.05
        total = np.round(fare + np.where(tip_null, 0.0, tip) + 2.5, 2)
        passengers = rng.choice(6, per, p=[0.7, 0.15, 0.06, 0.04, 0.03, 0.02]) + 1
        pass_null = rng.random(per) < 0.03
        zone_idx = rng.choice(len(ZONES), per, p=zone_p)
        vendor = rng.choice(np.array([1, 2, 6], dtype=np.int32), per, p=[0.45, 0.5, 0.05])
        flag = np.where(rng.random(per) < 0.005, "Y", "N")
        table = pa.table({
            "trip_id": ids,
            "vendor_id": pa.array(vendor, pa.int32()),
            "pickup_at": pa.array(pickup, pa.timestamp("us", tz="UTC")),
            "dropoff_at": pa.array(dropoff, pa.timestamp("us", tz="UTC")),
            "passenger_count": pa.array(passengers.astype(np.int32), mask=pass_null),
            "trip_distance": pa.array(distance),
            "fare": pa.array(fare),
            "tip": pa.array(tip, mask=tip_null),
            "total": pa.array(total),
            "payment_type": pc.take(payments, pa.array(pay_idx)),
            "pickup_zone": pc.take(zones, pa.array(zone_idx)),
            "store_and_fwd": pa.array(flag.tolist() if per < 1000 else flag, pa.string()),
        })
        pq.write_table(table, path)
        log(f"input: wrote {path} ({os.path.getsize(path):,} bytes)")
    with open(manifest_path, "w") as f:
        json.dump(manifest, f)
    return paths


def truth(paths):
    """The fare threshold (99th percentile, so fare > it holds for ~1% of rows) and the
    expected result (rows, trip_id sum) of each filter, from the input files."""
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    data = ds.dataset(paths, format="parquet").to_table(
        columns=["trip_id", "fare", "payment_type"])
    fare = data.column("fare").to_numpy()
    threshold = round(float(np.quantile(fare, 0.99)), 2)
    out = {"rows": data.num_rows, "fare_threshold": threshold}
    for kind, mask in (("fare", pc.greater(data.column("fare"), threshold)),
                       ("payment", pc.equal(data.column("payment_type"), "dispute"))):
        sel = data.filter(mask)
        out[kind] = {"rows": sel.num_rows,
                     "trip_id_sum": pc.sum(sel.column("trip_id")).as_py() if sel.num_rows else 0}
    return out


def warm(path):
    """Reads every file under path (or path itself) once, to put it in the page cache."""
    files = [path] if os.path.isfile(path) else [
        os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
    n = 0
    for f in files:
        with open(f, "rb", buffering=0) as h:
            while True:
                b = h.read(1 << 20)
                if not b:
                    break
                n += len(b)
    return n


def data_files(table_dir):
    out = []
    for d, dirs, fs in os.walk(table_dir):
        dirs[:] = [x for x in dirs if x != "_delta_log"]
        out += [os.path.join(d, f) for f in fs if f.endswith(".parquet")]
    return sorted(out)


def footprint(table_dir):
    """Data bytes, file count, and per column: codecs and compressed bytes (from footers)."""
    import pyarrow.parquet as pq
    files = data_files(table_dir)
    cols = {}
    row_groups = 0
    for f in files:
        md = pq.ParquetFile(f).metadata
        row_groups += md.num_row_groups
        for rg in range(md.num_row_groups):
            for c in range(md.num_columns):
                cc = md.row_group(rg).column(c)
                e = cols.setdefault(cc.path_in_schema, {"codecs": set(), "bytes": 0,
                                                        "encodings": set()})
                e["codecs"].add(cc.compression)
                e["encodings"].update(cc.encodings)
                e["bytes"] += cc.total_compressed_size
    return {
        "bytes": sum(os.path.getsize(f) for f in files),
        "files": len(files),
        "row_groups": row_groups,
        "columns": {k: {"codecs": sorted(v["codecs"]), "bytes": v["bytes"],
                        "encodings": sorted(v["encodings"])} for k, v in cols.items()},
    }


def codec_text(fp):
    codecs = {}
    for v in fp["columns"].values():
        for c in v["codecs"]:
            codecs[c] = codecs.get(c, 0) + 1
    return ", ".join(f"{c} x{n}" for c, n in sorted(codecs.items(), key=lambda x: -x[1]))


def run_cmd(cmd, env=None, timeout=3600):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env, timeout=timeout)
    if r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}): {sh(cmd)}\n"
                 f"stdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-4000:]}")
    return r


def worker_json(cmd, env=None):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env, timeout=3600)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"worker failed ({r.returncode}): {sh(cmd)}\n"
                 f"stdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-4000:]}")
    if r.returncode != 0:
        log(f"warning: worker exited {r.returncode} after its result: {sh(cmd)}")
    return json.loads(lines[-1])


def stats(xs):
    return {"best": min(xs), "median": statistics.median(xs), "runs": xs}


def fmt_s(st):
    return f"{st['best']:.3f} s (med {st['median']:.3f})"


def main():
    if "--worker" in sys.argv[1:]:
        return worker_main(sys.argv[1:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workdir", default=os.path.join(ROOT, "target", "table-bench"))
    p.add_argument("--strata", default=os.path.join(ROOT, "target", "release", "strata"))
    p.add_argument("--duckdb-python", default=os.path.join(ROOT, ".ci", "venv-delta", "bin",
                                                            "python"))
    p.add_argument("--strata-codec", metavar="POLICY",
                   help="the table's codec policy (`table create --codec`); default: strata's "
                        "default for a table outside a lake (auto)")
    p.add_argument("--writes-only", action="store_true", help="measure the appends only")
    p.add_argument("--json", metavar="OUT")
    p.add_argument("--keep-going", action="store_true",
                   help="report a row-count mismatch instead of stopping at it")
    args = p.parse_args()
    if args.rows % COMMITS or args.rows < COMMITS:
        sys.exit(f"--rows must be a positive multiple of {COMMITS}")
    workdir = os.path.abspath(args.workdir)
    strata = os.path.abspath(args.strata)
    duck_py = os.path.abspath(args.duckdb_python) if os.sep in args.duckdb_python \
        else shutil.which(args.duckdb_python)
    for exe, what in ((strata, "--strata"), (duck_py, "--duckdb-python")):
        if not exe or not os.access(exe, os.X_OK):
            sys.exit(f"{what}: {exe} is not an executable")
    os.makedirs(workdir, exist_ok=True)
    me = os.path.abspath(__file__)

    import pyarrow as pa
    import deltalake
    cpus = sorted(os.sched_getaffinity(0))
    pinned = None
    if args.threads < len(cpus):
        pinned = cpus[:args.threads]
        os.sched_setaffinity(0, pinned)  # children inherit it
    env = dict(os.environ)
    env["TABLE_COMPARE_PYARROW_DIR"] = os.path.dirname(os.path.dirname(pa.__file__))
    strata_version = run_cmd([strata, "--version"]).stdout.strip()
    info = {
        "rows": args.rows, "runs": args.runs, "threads": args.threads, "cpus": len(cpus),
        "pinned_cpus": pinned, "strata": strata, "strata_version": strata_version,
        "strata_binary_mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                             time.gmtime(os.path.getmtime(strata))),
        "pyarrow": pa.__version__, "deltalake": deltalake.__version__,
        "python": sys.version.split()[0], "duckdb_python": duck_py,
        "loadavg_start": os.getloadavg(),
        "git_head": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                   capture_output=True, text=True).stdout.strip(),
        "git_dirty": bool(subprocess.run(["git", "-C", ROOT, "status", "--porcelain",
                                          "--untracked-files=no"],
                                         capture_output=True, text=True).stdout.strip()),
    }
    log(f"setup: {json.dumps(info)}")

    inputs = generate(workdir, args.rows)
    exp = truth(inputs)
    log(f"truth: {json.dumps(exp)}")
    if exp["rows"] != args.rows:
        sys.exit(f"input files hold {exp['rows']} rows, not {args.rows}")
    input_bytes = sum(os.path.getsize(x) for x in inputs)

    st_dir = os.path.join(workdir, "strata_table")
    dl_dir = os.path.join(workdir, "deltalake_table")

    # ---------------- writes ----------------
    codec = ["--codec", args.strata_codec] if args.strata_codec else []
    strata_cmds = [[strata, "table", "create", st_dir, "--from", inputs[0]] + codec] + \
        [[strata, "table", "append", st_dir, f] for f in inputs[1:]]
    dl_cmd = [sys.executable, me, "--worker", "deltalake-write", "--threads",
              str(args.threads), "--table", dl_dir] + inputs

    def write_strata():
        total = 0.0
        per = []
        for c in strata_cmds:
            t = time.perf_counter()
            run_cmd(c)
            d = time.perf_counter() - t
            per.append(d)
            total += d
        return total, per

    def write_deltalake():
        r = worker_json(dl_cmd, env)
        return sum(r["commit_s"]), r["commit_s"]

    writes = {"strata": [], "deltalake": []}
    per_commit = {"strata": [], "deltalake": []}
    sides = [("strata", st_dir, write_strata), ("deltalake", dl_dir, write_deltalake)]
    for r in range(args.runs):
        order = sides if r % 2 == 0 else sides[::-1]
        for name, d, fn in order:
            shutil.rmtree(d, ignore_errors=True)
            os.sync()
            for f in inputs:
                warm(f)
            total, per = fn()
            writes[name].append(total)
            per_commit[name].append(per)
            log(f"write round {r} {name}: {total:.3f} s")
    fp = {"strata": footprint(st_dir), "deltalake": footprint(dl_dir)}

    if args.writes_only:
        tables_dir = {"strata": st_dir, "deltalake": dl_dir}
        for name in ("strata", "deltalake"):
            log(f"{name}: best {min(writes[name]):.3f} s, median "
                f"{statistics.median(writes[name]):.3f} s, "
                f"{sum(os.path.getsize(f) for f in data_files(tables_dir[name])):,} bytes")
        ratio = min(writes["strata"]) / min(writes["deltalake"])
        print(f"| append {args.rows:,} rows in {COMMITS} commits, strata codec "
              f"{args.strata_codec or 'auto'} | strata {min(writes['strata']):.3f} s | "
              f"deltalake {min(writes['deltalake']):.3f} s | {ratio:.2f}x |")
        return

    # ---------------- scans ----------------
    filters = {
        "fare": (str(exp["fare_threshold"]), f"fare > {exp['fare_threshold']}"),
        "payment": ("dispute", "payment_type = 'dispute'"),
    }
    tables = {"strata": st_dir, "deltalake": dl_dir}

    def strata_scan_cmd(tdir, expr, out="/dev/null"):
        return [strata, "table", "scan", tdir, "--filter", expr, "--format", "ipc", "-o", out,
                "--threads", str(args.threads)]

    library = os.path.join(os.path.dirname(strata), "libstrata.so")

    def peer_cmd(engine, tdir, kind, value):
        py = duck_py if engine == "duckdb" else sys.executable
        extra = ["--library", library] if engine.startswith("strata") else []
        if engine == "strata-tuned":
            extra.append("--malloc-tuned")
        worker = "strata" if engine.startswith("strata") else engine
        return [py, me, "--worker", f"{worker}-scan", "--threads", str(args.threads),
                "--table", tdir, "--kind", kind, "--value", value] + extra

    # Verification first (untimed): every reader returns the expected rows of all columns.
    import pyarrow.compute as pc
    mismatches = []
    columns_expected = None
    for tname, tdir in tables.items():
        for kind, (value, expr) in filters.items():
            want = exp[kind]
            out = os.path.join(workdir, "verify.arrow")
            vcmd = strata_scan_cmd(tdir, expr, out)
            run_cmd(vcmd)
            with pa.memory_map(out) as src:
                t = pa.ipc.open_file(src).read_all()
            got = {"strata": ({"rows": t.num_rows, "columns": t.column_names,
                               "trip_id_sum": pc.sum(t.column("trip_id")).as_py()
                               if t.num_rows else 0}, vcmd)}
            del t
            os.remove(out)
            for engine in ("strata", "deltalake", "duckdb"):
                c = peer_cmd(engine, tdir, kind, value)
                got[engine + (" (C ABI)" if engine == "strata" else "")] = (worker_json(c, env), c)
                if engine == "duckdb":
                    info["duckdb"] = got[engine][0].get("duckdb")
            for engine, (g, c) in got.items():
                columns_expected = columns_expected or g["columns"]
                ok = (g["rows"] == want["rows"] and g["trip_id_sum"] == want["trip_id_sum"]
                      and sorted(g["columns"]) == sorted(columns_expected))
                if not ok:
                    msg = (f"MISMATCH {engine} on the {tname} table, filter {expr!r}: got "
                           f"{g['rows']} rows (trip_id sum {g['trip_id_sum']}, columns "
                           f"{g['columns']}), expected {want['rows']} rows (trip_id sum "
                           f"{want['trip_id_sum']}); repro: {sh(c)}")
                    log(msg)
                    mismatches.append(msg)
    if mismatches and not args.keep_going:
        sys.exit("row-count mismatch, stopping:\n" + "\n".join(mismatches))

    scan = {}
    for r in range(args.runs):
        for tname, tdir in tables.items():
            for kind, (value, expr) in filters.items():
                engines = ["strata", "deltalake", "duckdb", "strata-cli", "strata-tuned"]
                k = r % 5
                for engine in engines[k:] + engines[:k]:
                    warm(tdir)
                    if engine == "strata-cli":
                        c = strata_scan_cmd(tdir, expr)
                        t = time.perf_counter()
                        run_cmd(c)
                        secs = time.perf_counter() - t
                    else:
                        c = peer_cmd(engine, tdir, kind, value)
                        g = worker_json(c, env)
                        secs = g["s"]
                        if g["rows"] != exp[kind]["rows"]:
                            sys.exit(f"MISMATCH in timed run: {g['rows']} rows; repro: "
                                     f"{sh(c)}")
                    e = scan.setdefault((tname, kind, engine), {"cmd": sh(c), "s": []})
                    e["s"].append(secs)
                    log(f"scan round {r} {tname}/{kind} {engine}: {secs:.3f} s")
    info["loadavg_end"] = os.getloadavg()

    # ---------------- report ----------------
    rows_out = []
    cmds = []

    def cmd_ref(c):
        cmds.append(c)
        return f"[{len(cmds)}]"

    sw, dw = stats(writes["strata"]), stats(writes["deltalake"])
    strata_write_cmd = (
        f"rm -rf {shlex.quote(st_dir)} && " + sh(strata_cmds[0]) + " && for f in "
        + " ".join(shlex.quote(f) for f in inputs[1:]) + "; do "
        + sh([strata, "table", "append", st_dir]) + " \"$f\"; done")
    strata_write_cmd = strata_write_cmd.replace(ROOT + os.sep, "")
    dl_write_cmd = (f"rm -rf {shlex.quote(dl_dir)} && " + sh(dl_cmd)).replace(ROOT + os.sep, "")
    r1, r2 = cmd_ref(strata_write_cmd), cmd_ref(dl_write_cmd)
    ratio = sw["best"] / dw["best"]
    rows_out.append([f"append {args.rows:,} rows in {COMMITS} commits (sum of commits)",
                     f"{fmt_s(sw)} {r1}", "deltalake write_deltalake", f"{fmt_s(dw)} {r2}",
                     f"{ratio:.2f}x (med {sw['median'] / dw['median']:.2f}x)",
                     f"<= 0.8x: {'MET' if ratio <= 0.8 else 'NOT MET'}"])
    bratio = fp["strata"]["bytes"] / fp["deltalake"]["bytes"]
    rows_out.append([f"data bytes after {COMMITS} commits ({fp['strata']['files']}"
                     f" vs {fp['deltalake']['files']} files)",
                     f"{fp['strata']['bytes']:,} B", "deltalake write_deltalake",
                     f"{fp['deltalake']['bytes']:,} B", f"{bratio:.2f}x",
                     f"<= 0.9x: {'MET' if bratio <= 0.9 else 'NOT MET'}"])
    rows_out.append(["codecs (column chunks per codec, one footer per file)",
                     codec_text(fp["strata"]), "deltalake write_deltalake",
                     codec_text(fp["deltalake"]), "", ""])
    for tname in tables:
        for kind, (value, expr) in filters.items():
            s = scan[(tname, kind, "strata")]
            ss = stats(s["s"])
            rs = cmd_ref(s["cmd"])
            peers = {}
            for engine in ("deltalake", "duckdb"):
                e = scan[(tname, kind, engine)]
                peers[engine] = (stats(e["s"]), cmd_ref(e["cmd"]))
            fastest = all(ss["best"] < pst["best"] for pst, _ in peers.values())
            # (strata's command is not a peer: added below for reference only.)
            for extra in ("strata-cli", "strata-tuned"):
                e = scan[(tname, kind, extra)]
                peers[extra] = (stats(e["s"]), cmd_ref(e["cmd"]))
            for engine, (pst, rc) in peers.items():
                label = {"deltalake": "deltalake to_pyarrow_dataset().to_table",
                         "duckdb": "DuckDB delta_scan -> Arrow",
                         "strata-cli": "strata's own command (process start, IPC out)",
                         "strata-tuned": "strata in process, host opted into malloc tuning"
                         }[engine]
                rows_out.append([
                    f"scan `{expr}` ({exp[kind]['rows']:,} rows) on the {tname}-written table",
                    f"{fmt_s(ss)} {rs}", label, f"{fmt_s(pst)} {rc}",
                    f"{ss['best'] / pst['best']:.2f}x (med {ss['median'] / pst['median']:.2f}x)",
                    ("strata fastest: " + ("MET" if fastest else "NOT MET"))
                    if tname == "strata" and engine in ("deltalake", "duckdb") else "(extra)"])

    head = ["work", "strata", "peer", "peer figure", "strata/peer", "goal"]
    md = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    md += ["| " + " | ".join(r) + " |" for r in rows_out]
    md.append("")
    md.append(f"Times: best of {args.runs} (median), wall clock, {args.threads} threads on "
              f"{len(cpus)} CPUs{' (pinned to ' + str(pinned) + ')' if pinned else ''}; "
              f"load average {info['loadavg_start'][0]:.2f} at start, "
              f"{info['loadavg_end'][0]:.2f} at end. {strata_version} "
              f"(binary built {info['strata_binary_mtime']}; git {info['git_head']}"
              f"{', dirty tree' if info['git_dirty'] else ''}), "
              f"deltalake {deltalake.__version__}, pyarrow {pa.__version__}, DuckDB "
              f"{info.get('duckdb', '?')} (delta extension). Input: {COMMITS} pyarrow-default Parquet files, "
              f"{input_bytes:,} B; fare threshold = p99 = {exp['fare_threshold']}.")
    md.append("strata write = whole `table create`/`table append` commands (process start and "
              "input read included); deltalake write = pq.read_table + write_deltalake per "
              "commit inside one process (start/imports excluded). strata scan = in process as "
              "a C/Go host reads it (strata_table_open + strata_table_scan into an Arrow C "
              "Stream that pyarrow imports into a Table), deltalake and DuckDB = open + scan + "
              "pyarrow Table; each in a fresh process, timed inside (start, imports, library "
              "and extension load excluded). strata's own command (whole process, all columns "
              "as Arrow IPC to /dev/null; it raises glibc's malloc thresholds at start) and "
              "strata in process with the host opted into that tuning "
              "(strata_tuning_raise_malloc_thresholds, process-wide, so never done by the "
              "library itself) are listed for reference; the goal row is the untuned library. All readers returned the same rows "
              "(count, trip_id sum, 12 columns) as the input files"
              + (" EXCEPT: " + "; ".join(mismatches) if mismatches else "") + ".")
    md.append("Page cache warmed before each timed run by reading every input/table file once; "
              "`sync` before each write run; sides take turns going first.")
    md.append("")
    md.append("Per-column compressed bytes (codec):")
    md.append("")
    md.append("| column | strata | deltalake | strata/deltalake |")
    md.append("|---|---|---|---|")
    for col, v in fp["strata"]["columns"].items():
        d = fp["deltalake"]["columns"].get(col, {"bytes": 0, "codecs": []})
        md.append(f"| {col} | {v['bytes']:,} ({'/'.join(v['codecs'])}) | {d['bytes']:,} "
                  f"({'/'.join(d['codecs'])}) | "
                  f"{(v['bytes'] / d['bytes']) if d['bytes'] else float('nan'):.2f}x |")
    md.append("")
    md.append("Commands (run from the repo root; the input files are written by this script):")
    md.append("")
    for i, c in enumerate(cmds, 1):
        md.append(f"- [{i}] `{c}`")
    print("\n".join(md))

    if args.json:
        out = {
            "info": info, "truth": exp, "input_bytes": input_bytes,
            "write": {"strata": {**sw, "per_commit": per_commit["strata"],
                                 "cmd": strata_write_cmd},
                      "deltalake": {**dw, "per_commit": per_commit["deltalake"],
                                    "cmd": dl_write_cmd}},
            "footprint": fp,
            "scan": [{"table": t, "filter": filters[k][1], "engine": e, **stats(v["s"]),
                      "cmd": v["cmd"]} for (t, k, e), v in scan.items()],
            "mismatches": mismatches,
            "markdown": "\n".join(md),
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
