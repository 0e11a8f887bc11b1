"""Benchmark (a): get_samples for a bbox holding ~1% of the samples vs. downloading every whole file and
filtering with geopandas (the reference client's approach), on a synthetic catalogue of 20 collections x
200,000 samples served on loopback with injected latency.

Prints wall time and bytes sent by the server (all requests: API JSON and file bytes) for each, and the
ratios. Goal: >= 5x faster and <= 10% of the bytes.

    python benchmarks/bench_samples_bbox.py [--latency 0.05]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import requests
import shapely
from common import collection_ids, mib, served, synthetic_catalog, warm_page_cache
from shapely.geometry import box

from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.rdm.samples import DEFAULT_COLUMNS

N_COLLECTIONS = 20
N_PER_COLLECTION = 200_000


def one_percent_bbox(root: Path, ref_id: str, share: float = 0.01) -> tuple[float, float, float, float]:
    """A box around the densest part of one collection holding ~``share`` of all samples (setup, untimed)."""
    path = next(p for p in (root / ref_id).glob("*.geoparquet"))
    table = pq.read_table(path, columns=["bbox"])
    x = table.column("bbox").combine_chunks().field("xmin").to_numpy()
    y = table.column("bbox").combine_chunks().field("ymin").to_numpy()
    target = share * N_COLLECTIONS * N_PER_COLLECTION
    cx, cy = float(np.median(x)), float(np.median(y))
    low, high = 0.0, 2.0
    for _ in range(40):
        half = (low + high) / 2
        count = np.count_nonzero((np.abs(x - cx) <= half) & (np.abs(y - cy) <= half))
        low, high = (half, high) if count < target else (low, half)
    return (cx - high, cy - high, cx + high, cy + high)


def baseline(url: str, ref_ids: list[str], extent, folder: Path) -> gpd.GeoDataFrame:
    """Download each whole file (bare requests.get, one after the other), then filter with geopandas."""
    parts = []
    for ref_id in ref_ids:
        file_url = requests.get(f"{url}/collections/{ref_id}/download", timeout=60).text
        response = requests.get(file_url, timeout=600)
        response.raise_for_status()
        path = folder / f"{ref_id}.geoparquet"
        path.write_bytes(response.content)
        gdf = gpd.read_parquet(path)
        gdf = gdf[gdf.geometry.intersects(extent)].copy()
        gdf["ref_id"] = ref_id
        parts.append(gdf[DEFAULT_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def timed(server, func):
    server.reset_stats()
    started = time.perf_counter()
    result = func()
    return result, time.perf_counter() - started, server.stats()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request (0.05)")
    args = parser.parse_args()

    root = synthetic_catalog("synthetic-20x200k", n_collections=N_COLLECTIONS,
                             n_samples=N_COLLECTIONS * N_PER_COLLECTION, seed=0)
    ids = collection_ids(root)
    bbox = one_percent_bbox(root, ids[0])
    extent = box(*bbox)
    warm_page_cache(root)
    total_file_bytes = sum(next((root / i).glob("*.geoparquet")).stat().st_size for i in ids)
    print(f"catalogue: {len(ids)} collections x {N_PER_COLLECTION:,} samples, full files {mib(total_file_bytes)}; "
          f"latency {args.latency * 1000:.0f} ms/request; bbox {tuple(round(v, 4) for v in bbox)}")

    with served(root, args.latency) as server, RdmClient(server.url) as client, \
            tempfile.TemporaryDirectory() as tmp:
        stats = server
        client.get_collection(ids[0])  # open the connection pool; both sides start warm

        ours, t_ours, s_ours = timed(stats, lambda: client.get_samples(bbox=bbox, progress=False))
        ours_all, t_all, s_all = timed(stats, lambda: client.get_samples(ref_ids=ids, bbox=bbox, progress=False))
        base, t_base, s_base = timed(stats, lambda: baseline(server.url, ids, extent, Path(tmp)))
        found: list[str] = []

        def search_then_baseline() -> gpd.GeoDataFrame:
            found.extend(c.id for c in client.get_collections(spatial_extent=bbox))
            return baseline(server.url, found, extent, Path(tmp))

        base_found, t_found, s_found = timed(stats, search_then_baseline)

    share = len(ours) / (N_COLLECTIONS * N_PER_COLLECTION)
    assert len(ours) == len(ours_all) == len(base) == len(base_found), (len(ours), len(ours_all), len(base))
    same = set(ours["sample_id"]) == set(base["sample_id"]) and bool(
        shapely.equals(ours.sort_values("sample_id").geometry.array, base.sort_values("sample_id").geometry.array).all())
    print(f"result: {len(ours):,} samples ({share:.2%} of all) from {ours['ref_id'].nunique()} collection(s); "
          f"identical to the baseline: {same}")
    rows = [
        ("get_samples(bbox=...)  [search, then range reads]", t_ours, s_ours),
        ("get_samples(ref_ids=all 20, bbox=...)", t_all, s_all),
        ("baseline: every whole file + geopandas", t_base, s_base),
        (f"baseline: search, whole files of the {len(found)} found", t_found, s_found),
    ]
    print(f"{'':55s} {'time':>9s} {'bytes':>12s} {'requests':>9s}")
    for label, seconds, snap in rows:
        print(f"{label:55s} {seconds:8.2f}s {mib(snap['bytes_sent']):>12s} {snap['requests']:9d}")
    print(f"(a) time ratio  baseline/ours = {t_base / t_ours:6.1f}x   (goal >= 5x)")
    print(f"(a) bytes ratio ours/baseline = {s_ours['bytes_sent'] / s_base['bytes_sent']:6.2%}  (goal <= 10%)")
    print(f"    vs. whole files of the found collections only: {t_found / t_ours:.1f}x faster, "
          f"{s_ours['bytes_sent'] / s_found['bytes_sent']:.1%} of the bytes")
    print(f"    ref_ids=all 20 (footers of every file read): {t_base / t_all:.1f}x faster, "
          f"{s_all['bytes_sent'] / s_base['bytes_sent']:.2%} of the bytes; "
          f"row groups read {ours_all.attrs['read_stats']['row_groups_read']}/"
          f"{ours_all.attrs['read_stats']['row_groups_total']}")


if __name__ == "__main__":
    main()
