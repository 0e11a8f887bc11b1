"""Benchmark (c): peak memory of a process holding 1,000,000 point samples read with get_samples.

The catalogue (5 collections x 200,000 points) is served from this process; the samples are read in a
separate Python process (as a notebook kernel would), whose peak resident set size (ru_maxrss) is
reported, next to its size right after the imports. Goal: <= 1 GiB.

    python benchmarks/bench_memory.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from common import collection_ids, mib, served, synthetic_catalog

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    sys.path.insert(0, {repo!r})
    import geopandas, pyarrow, shapely  # the libraries any session with samples has loaded
    from worldcereal_explorer.rdm.client import RdmClient
    after_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with RdmClient({url!r}) as client:
        gdf = client.get_samples(ref_ids={ids!r}, progress=False)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({{"rows": len(gdf), "geom_types": sorted(set(gdf.geom_type)), "seconds": seconds,
                       "after_imports_kib": after_imports, "peak_kib": peak,
                       "frame_bytes": int(gdf.memory_usage(deep=True).sum())}}))
    """
)


def main() -> None:
    root = synthetic_catalog("points-5x200k", n_collections=5, n_samples=1_000_000, seed=2)
    ids = collection_ids(root)
    with served(root, latency_s=0.0) as server:
        code = CHILD.format(repo=str(Path(__file__).resolve().parent.parent), url=server.url, ids=ids)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    peak = result["peak_kib"] * 1024
    print(f"{result['rows']:,} samples ({', '.join(result['geom_types'])}) read in {result['seconds']:.1f} s")
    print(f"process RSS after imports: {mib(result['after_imports_kib'] * 1024)}")
    print(f"GeoDataFrame memory_usage(deep=True): {mib(result['frame_bytes'])}")
    print(f"(c) peak RSS of the process: {mib(peak)} = {peak / 2**30:.2f} GiB   (goal <= 1 GiB)")


if __name__ == "__main__":
    main()
