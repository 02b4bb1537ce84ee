"""Reads a Delta table as DuckDB's Delta reader (the `delta` extension) reads it.

Usage: duckdb_delta_read.py TABLE_DIR [VERSION]

Prints one JSON line, {"ids": [...sorted...], "zones": {zone: count}, "rows": n, "records":
[{column: value}, ... sorted by id]}, of
`SELECT * FROM delta_scan(TABLE_DIR)` (at VERSION when given, delta_scan's `version`
parameter). The format is that of the READ script in tests/table_interop.rs.

Run it with the python of .ci/venv-delta (duckdb, duckdb-extension-delta and duckdb-extensions,
all 1.5.5; `.ci/run` installs them): the rest of CI pins another duckdb in the system python.
The extension is loaded from the duckdb-extension-delta wheel's file, never from the network
or ~/.duckdb, and nothing is installed into ~/.duckdb. Exits 2 with the reason on stderr when
duckdb or the extension cannot be loaded, 1 when the scan fails.
"""

import json
import os
import pathlib
import sys


def leave(code, message=None):
    if message is not None:
        sys.stderr.write(f"duckdb_delta_read: {message}\n")
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the interpreter's teardown, as the READ script in tests/table_interop.rs does for
    # deltalake: a native library's exit-time destructors must not change the exit status.
    os._exit(code)


def quoted(text):
    return "'" + text.replace("'", "''") + "'"


def connect():
    try:
        import duckdb
        import duckdb_extension_delta
    except ImportError as e:
        leave(2, f"{sys.executable} cannot import duckdb and duckdb_extension_delta ({e}); "
                 "run .ci/run, or create .ci/venv-delta and pip install duckdb==1.5.5 "
                 "duckdb-extension-delta==1.5.5 duckdb-extensions==1.5.5 into it")
    try:
        # No extension is fetched from the network or ~/.duckdb: the one needed is loaded
        # from its file below (parquet is built into the Python package).
        con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                     "autoload_known_extensions": False})
        # The wheel keeps the extension under the DuckDB version it was built for, as
        # duckdb_extensions.import_extension looks it up.
        duckdb_version = con.execute("PRAGMA version").fetchone()[0]
        extension = (pathlib.Path(duckdb_extension_delta.__file__).parent / "extensions"
                     / duckdb_version / "delta.duckdb_extension")
        if not extension.is_file():
            leave(2, f"no delta extension for duckdb {duckdb_version} at {extension} "
                     f"(duckdb-extension-delta must have duckdb's version)")
        con.execute(f"LOAD {quoted(str(extension))}")
    except Exception as e:  # duckdb.Error and anything else the load raises
        leave(2, f"cannot load DuckDB's delta extension: {type(e).__name__}: {e}")
    return con


def main():
    if len(sys.argv) not in (2, 3):
        leave(2, "usage: duckdb_delta_read.py TABLE_DIR [VERSION]")
    path = sys.argv[1]
    version = None
    if len(sys.argv) == 3:
        try:
            version = int(sys.argv[2])
        except ValueError:
            leave(2, f"VERSION must be an integer, not {sys.argv[2]!r}")
    con = connect()
    sql = f"SELECT * FROM delta_scan({quoted(path)}"
    if version is not None:
        sql += f", version := {version}"
    sql += ")"
    try:
        cur = con.execute(sql)
        columns = [d[0] for d in cur.description]
        rows = cur.fetchall()
    except Exception as e:
        leave(1, f"{sql} failed: {type(e).__name__}: {e}")
    if "id" not in columns or "zone" not in columns:
        leave(1, f"{sql} returned columns {columns}, without id and zone")
    id_at, zone_at = columns.index("id"), columns.index("zone")
    ids = sorted(row[id_at] for row in rows)
    zones = {}
    for row in rows:
        zone = str(row[zone_at])
        zones[zone] = zones.get(zone, 0) + 1
    # Every row, as {column: value} sorted by id (values as JSON has them; others as text).
    def plain(v):
        return v if v is None or isinstance(v, (bool, int, float, str)) else str(v)
    records = sorted(({c: plain(v) for c, v in zip(columns, row)} for row in rows),
                     key=lambda r: (r["id"] is None, r["id"]))
    print(json.dumps({"ids": ids, "zones": zones, "rows": len(rows), "records": records}))
    leave(0)


main()
