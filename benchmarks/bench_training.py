"""Benchmark (d): a training set from 1,000,000 samples: class mapping, balance, de-duplication, split, card.

The samples (in memory; no server: every step is local) are 20 synthetic collections of 45,000 samples (16
of points, 4 of field polygons) plus a 100,000-sample copy of parts of them moved by 4 m, so the
de-duplication has ~100,000 pairs to find. They are generated once into ``$WCE_BENCH_DIR`` as GeoParquet and
read by a separate Python process, which runs

    map_classes -> class_balance (H3 r3) -> deduplicate (10 m) -> cap_per_class -> spatial_split (H3 r5)
    -> DatasetCard.build (metadata given, nothing fetched) -> to_markdown/to_json

and reports the time of each step and its peak resident set size (``ru_maxrss``). Goal: < 30 s and < 2 GiB.

    python benchmarks/bench_training.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from common import BENCH_DIR, mib

REPO = Path(__file__).resolve().parent.parent
N_COLLECTIONS, PER_COLLECTION, N_COPIES = 20, 45_000, 100_000

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, warnings
    sys.path.insert(0, {repo!r})
    import geopandas as gpd
    from worldcereal_explorer import training as tr
    after_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = {{}}
    t = time.perf_counter()
    gdf = gpd.read_parquet({path!r})
    times["read"] = time.perf_counter() - t
    started = time.perf_counter()

    def step(name, func, *args, **kwargs):
        t = time.perf_counter()
        out = func(*args, **kwargs)
        times[name] = time.perf_counter() - t
        return out

    mapping = {{1101010000: "wheat", 1101060000: "maize", 1101080000: "rice", 1106000020: "soybean",
               1101070000: "sorghum", 1106000010: "sunflower"}}
    gdf = step("map_classes", tr.map_classes, gdf, mapping)
    balance = step("class_balance", tr.class_balance, gdf, h3_resolution=3)
    gdf, report = step("deduplicate", tr.deduplicate, gdf, 10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gdf = step("cap_per_class", tr.cap_per_class, gdf, 60_000, min_per_class=1_000, seed=1)
    gdf = step("spatial_split", tr.spatial_split, gdf, (0.7, 0.15, 0.15), block_h3_res=5, seed=1)
    meta = {{r: {{"OriginalDataSet:License:TypeOfLicense:": "CC_BY_NC" if i % 5 == 0 else "CC_BY",
                 "OriginalDataSet:License:RequiredCitation:": f"Provider {{i}} (2021). Data set {{r}}."}}
            for i, r in enumerate(sorted(gdf["ref_id"].unique()))}}
    card = step("card", tr.DatasetCard.build, gdf, collections=meta, query={{"synthetic": True}})
    text = step("card_render", lambda: (card.to_markdown(), card.to_json()))
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({{"times": times, "total": total, "after_imports_kib": after_imports, "peak_kib": peak,
                       "rows_out": len(gdf), "duplicates": report.n_duplicates, "balance_rows": len(balance),
                       "blocks": int(gdf["split_block"].nunique()),
                       "shares": {{s: float((gdf["split"] == s).mean()) for s in tr.SPLITS}}}}))
    """
)


def samples_file() -> Path:
    """1,000,000 synthetic samples with cross-collection copies, generated on first use."""
    path = BENCH_DIR / "training-1m.parquet"
    if path.is_file():
        return path
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from worldcereal_explorer.demo.copies import derive_copy
    from worldcereal_explorer.demo.samples import synthesize_samples
    from worldcereal_explorer.demo.specs import SYNTHETIC_CROPS
    from worldcereal_explorer.geoparquet import write_geoparquet

    started = time.perf_counter()
    print("generating 1,000,000 samples ...", flush=True)
    frames = []
    grid = [(lon, lat) for lat in range(-30, 51, 10) for lon in range(-120, 151, 15)]
    rng = np.random.default_rng(11)
    for index, pick in enumerate(rng.choice(len(grid), N_COLLECTIONS, replace=False)):
        lon, lat = grid[int(pick)]
        year = 2018 + index % 4
        kind = "POLY" if index % 5 == 0 else "POINT"
        name = f"{year}_SYN_TRAIN{index:03d}_{kind}_110"
        gdf = synthesize_samples(
            np.random.default_rng([11, index]), original_name=name, bbox=(lon - 1, lat - 1, lon + 1, lat + 1),
            geometry="Polygon" if kind == "POLY" else "Point", season=(f"{year}-01-01", f"{year}-12-31"),
            n=PER_COLLECTION, crops=SYNTHETIC_CROPS, irrigated_share=None, quality=(85, 80),
            field_size_m=(100, 300), clusters=4)
        gdf["ref_id"] = name.lower()
        frames.append(gdf)
    per_copy = N_COPIES // N_COLLECTIONS
    for index, source in enumerate(frames[:N_COLLECTIONS]):
        year = int(source["ref_id"].iloc[0][:4])
        name = f"{year}_SYN_COPY{index:03d}_{'POLY' if index % 5 == 0 else 'POINT'}_110"
        copy, _ = derive_copy(np.random.default_rng([12, index]), source, original_name=name,
                              share=per_copy / len(source), shift_m=4.0)
        copy["ref_id"] = name.lower()
        frames.append(copy)
    gdf = pd.concat(frames, ignore_index=True).drop(columns=["sampling_ewoc_code"])
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=4326)
    write_geoparquet(gdf, path, sort_spatially=False)
    print(f"  {len(gdf):,} samples in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def main() -> None:
    path = samples_file()
    code = CHILD.format(repo=str(REPO), path=str(path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    print("step times: " + ", ".join(f"{k} {v:.2f} s" for k, v in r["times"].items()))
    print(f"{r['duplicates']:,} duplicates found, {r['rows_out']:,} samples out, {r['blocks']:,} split blocks, "
          f"shares " + ", ".join(f"{k} {v:.3f}" for k, v in r["shares"].items()))
    peak = r["peak_kib"] * 1024
    print(f"process RSS after imports: {mib(r['after_imports_kib'] * 1024)}")
    print(f"(d) mapping + balance + dedup + cap + split + card on 1,000,000 samples: {r['total']:.1f} s "
          f"= {r['total'] / 30:.2f} x the 30 s goal; peak RSS {peak / 2**30:.2f} GiB = {peak / 2**31:.2f} x the "
          "2 GiB goal (reading the file not timed, but in the peak)")


if __name__ == "__main__":
    main()
