#!/usr/bin/env python3
"""Masking: the reference document's pandas apply approach against `strata mask`, in one run
on the same Parquet file.

The baseline is DataSecurityManager.implement_data_masking from the reference document
(../shared/seeds/000_39dd78bfe3bf6751.txt), copied unchanged below. Each operator is timed on
its own column of the same data, then all four together:

  partial   reference partial_mask (keep the first 4)  vs strata partial, keep_first = 4
  full      reference full_mask ('***' for every row)   vs strata full_mask, length = 3
  hash      reference unkeyed SHA-256, hex (apply)      vs strata keyed HMAC-SHA256, hex
  tokenize  reference TOKEN_<n> from unique() and map    vs strata FF1 tokens (keyed, reversible)

strata does more per value than the baseline (keyed, versioned, reversible), never less.
Figures are values per second, twice: the masking alone (pandas apply inside
implement_data_masking; strata's kernels, `mask_seconds` of `strata mask --json`) and end to
end (pandas read_parquet + masking + to_parquet; the whole `strata mask` process). strata runs
with RAYON_NUM_THREADS=--threads (default 1, so both sides use one core).

Run: python3 benches/mask_compare.py [--rows N] [--threads N] [--strata PATH]
     (needs pandas and pyarrow, and a release build: cargo build --release --bin strata)
"""
import argparse
import hashlib
import json
import os
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class DataSecurityManager:
    """The reference document's masking, verbatim (the baseline, not code to improve)."""

    def implement_data_masking(self, dataset, masking_rules):
        """Implement data masking for sensitive information"""

        masked_dataset = dataset.copy()

        for column, rule in masking_rules.items():
            if column in masked_dataset.columns:
                if rule['type'] == 'full_mask':
                    masked_dataset[column] = '***'
                elif rule['type'] == 'partial_mask':
                    mask_length = rule.get('mask_length', 4)
                    masked_dataset[column] = masked_dataset[column].apply(
                        lambda x: str(x)[:mask_length] + '*' * (len(str(x)) - mask_length)
                    )
                elif rule['type'] == 'hash':
                    masked_dataset[column] = masked_dataset[column].apply(
                        lambda x: hashlib.sha256(str(x).encode()).hexdigest()
                    )
                elif rule['type'] == 'tokenize':
                    # Implement tokenization (simplified)
                    token_map = {}
                    for idx, value in enumerate(masked_dataset[column].unique()):
                        token_map[value] = f"TOKEN_{idx:06d}"
                    masked_dataset[column] = masked_dataset[column].map(token_map)

        return masked_dataset


# column -> (reference rule, strata operator)
OPERATORS = {
    "partial": ("phone", {"type": "partial_mask", "mask_length": 4},
                '{ op = "partial", keep_first = 4 }'),
    "full": ("ssn", {"type": "full_mask"}, '{ op = "full_mask", length = 3 }'),
    "hash": ("name", {"type": "hash"}, '{ op = "hash", key = "bench" }'),
    "tokenize": ("card", {"type": "tokenize"}, '{ op = "tokenize", key = "bench" }'),
}


def make_data(rows, path):
    rng = np.random.default_rng(8)
    n = rng.integers(0, 10_000_000, rows)
    table = pa.table({
        "phone": [f"+1555{x:07d}" for x in n],
        "ssn": [f"{x % 900 + 100:03d}-{x % 90 + 10:02d}-{x % 10000:04d}" for x in n],
        "name": [f"user{x:07d}" for x in n],
        "card": [f"4{x:015d}" for x in n],
    })
    pq.write_table(table, path, compression="zstd")


def strata_mask(binary, root, data, out, policy_text, threads):
    policy = os.path.join(os.path.dirname(root), "policy.toml")
    with open(policy, "w") as f:
        f.write(policy_text)
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    cmd = [binary, "--dir", root, "mask", data, out, "--policy", policy, "--json"]
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    # Key creation (first run) prints a line before the JSON.
    return json.loads(done.stdout.strip().splitlines()[-1])


def policy_for(ops):
    return "".join(f"[columns.{OPERATORS[o][0]}]\nmask = {OPERATORS[o][2]}\n" for o in ops)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=1)
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    parser.add_argument("--strata", default=os.path.join(target, "release", "strata"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "customers.parquet")
        make_data(args.rows, data)
        root = os.path.join(tmp, "root")
        out = os.path.join(tmp, "masked.parquet")
        manager = DataSecurityManager()
        # Warm up strata's masking keys so key creation is not timed.
        strata_mask(args.strata, root, data, out, policy_for(["hash"]), args.threads)

        rows = args.rows
        print(f"{rows} rows; strata with {args.threads} thread(s); values/s")
        print("masking alone: pandas apply vs strata kernels; end to end: read Parquet, mask, "
              "write Parquet (pandas read_parquet/to_parquet vs the whole `strata mask` command)")
        print(f"{'operator':<10} {'pandas':>12} {'strata':>12} {'ratio':>7}   "
              f"{'pandas e2e':>12} {'strata e2e':>12} {'ratio':>7}")
        cases = [[o] for o in OPERATORS] + [list(OPERATORS)]
        for ops in cases:
            rules = {OPERATORS[o][0]: OPERATORS[o][1] for o in ops}
            start = time.perf_counter()
            df = pd.read_parquet(data)
            masking = time.perf_counter()
            masked = manager.implement_data_masking(df, rules)
            pandas_s = time.perf_counter() - masking
            masked.to_parquet(out + ".pandas", compression="zstd")
            pandas_e2e = time.perf_counter() - start
            report = strata_mask(args.strata, root, data, out, policy_for(ops), args.threads)
            values = rows * len(ops)
            name = ops[0] if len(ops) == 1 else "all four"
            p, k = values / pandas_s, values / report["mask_seconds"]
            pe, ke = values / pandas_e2e, values / report["seconds"]
            print(f"{name:<10} {p:>12,.0f} {k:>12,.0f} {k / p:>6.1f}x   "
                  f"{pe:>12,.0f} {ke:>12,.0f} {ke / pe:>6.1f}x")


if __name__ == "__main__":
    main()
