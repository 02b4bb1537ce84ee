# Reads every file strata wrote with pyarrow and duckdb and compares it with the reference
# file (the same rows written by the parquet crate's ArrowWriter). Prints one JSON object:
# {"checked": N, "errors": [...]}.
import json
import sys

import duckdb
import pyarrow.dataset as ds
import pyarrow.feather as feather
import pyarrow.parquet as pq

spec = json.load(open(sys.argv[1]))
ref_path = spec["reference"]
ref = pq.read_table(ref_path)
cols = ref.column_names
quoted = ", ".join('"%s"' % c for c in cols)
con = duckdb.connect()
errors = []


def same(t, what):
    t = t.select(cols).sort_by([("id", "ascending")])
    r = ref.sort_by([("id", "ascending")])
    if t.num_rows != r.num_rows:
        errors.append("%s: %d rows, expected %d" % (what, t.num_rows, r.num_rows))
        return
    for c in cols:
        a = t.column(c).combine_chunks()
        b = r.column(c).combine_chunks()
        if a.type != b.type:
            a = a.cast(b.type)
        if not a.equals(b):
            errors.append("%s: column %s differs" % (what, c))


checked = 0
for entry in spec["files"]:
    path, kind = entry["path"], entry["kind"]
    checked += 1
    try:
        if kind == "file":
            same(pq.read_table(path), "pyarrow " + path)
        elif kind == "ipc":
            same(feather.read_table(path), "pyarrow " + path)
        else:
            same(ds.dataset(path, format="parquet", partitioning="hive").to_table(), "pyarrow " + path)
    except Exception as e:  # noqa: BLE001
        errors.append("pyarrow %s: %s" % (path, e))
    if kind == "ipc":
        continue
    if kind == "file":
        src = "read_parquet('%s')" % path
    else:
        src = "read_parquet('%s/**/*.parquet', hive_partitioning = true)" % path
    refsrc = "read_parquet('%s')" % ref_path
    try:
        extra = con.execute(
            "SELECT count(*) FROM (SELECT %s FROM %s EXCEPT ALL SELECT %s FROM %s)"
            % (quoted, src, quoted, refsrc)
        ).fetchone()[0]
        missing = con.execute(
            "SELECT count(*) FROM (SELECT %s FROM %s EXCEPT ALL SELECT %s FROM %s)"
            % (quoted, refsrc, quoted, src)
        ).fetchone()[0]
        if extra or missing:
            errors.append("duckdb %s: %d rows not in the reference, %d missing" % (path, extra, missing))
    except Exception as e:  # noqa: BLE001
        errors.append("duckdb %s: %s" % (path, e))

print(json.dumps({"checked": checked, "errors": errors}))
