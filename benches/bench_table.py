#!/usr/bin/env python3
"""Prints a `strata bench --json` run as the README's Markdown table: one row per record, with
strata's median, the baseline's median from the same run, the advantage (above 1: strata
better) and both sides' threads. Nothing is measured here; the figures are the run's.

    python3 benches/bench_table.py run.json [ID_PREFIX ...]

With ID prefixes (`scan/`, `write/lineitem`), only the matching records are printed. The
machine, commit and settings of the run are printed above the table so that they travel with it.
"""
import json
import sys


def figure(value, unit):
    if unit == "values/s":
        return f"{value / 1e6:.3g} M values/s"
    if abs(value) >= 100:
        return f"{value:.0f} {unit}"
    return f"{value:.3g} {unit}"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        run = json.load(f)
    prefixes = sys.argv[2:]
    m, s = run["machine"], run["settings"]
    print(
        f"<!-- {sys.argv[1]}: finished {run['finished']}, commit {m['commit'][:12]}, "
        f"{m['cores']} cores, {m['memory_bytes'] / 2**30:.1f} GiB, {m['cpu_model']}, "
        f"{m['os']} {m['kernel']}; scale {s['scale']}, N = {s['threads']}, runs {s['runs']} -->"
    )
    print("| case | strata | baseline, same run | advantage | threads (strata / baseline) |")
    print("|---|---|---|---|---|")
    for r in run["records"]:
        if prefixes and not any(r["id"].startswith(p) for p in prefixes):
            continue
        ours = figure(r["value"]["median"], r["unit"])
        base = r.get("baseline")
        if base:
            theirs = f"{base['side']['name']}: {figure(base['value']['median'], r['unit'])}"
            threads = f"{r['strata']['threads']} / {base['side']['threads']}"
        else:
            theirs, threads = "-", f"{r['strata']['threads']} / -"
        adv = r.get("advantage")
        adv = f"{adv:.2f}x" if adv is not None else "-"
        print(f"| {r['id']} | {ours} | {theirs} | {adv} | {threads} |")


if __name__ == "__main__":
    main()
