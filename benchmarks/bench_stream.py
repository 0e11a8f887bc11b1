"""Issue #14 streaming export: download_samples of all 10,000,000 point samples (50 collections, 50 ms latency)
to GeoParquet, vs. downloading the 50 whole files (one after the other, and 8 at a time).

Prints times, the ratio, and the export's peak RSS (a separate client process). Goals: <= 3x the time of
downloading the whole files, <= 1.5 GiB.

    python benchmarks/bench_stream.py [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import collection_ids, mib, peak_rss_bytes, run_child, served, synthetic_catalog, warm_page_cache

N_COLLECTIONS = 50
N_SAMPLES = 10_000_000


def child(url: str, kind: str, folder: str) -> None:
    from worldcereal_explorer.rdm.client import RdmClient
    from worldcereal_explorer.rdm.samples import SampleQuery
    from worldcereal_explorer.rdm.samples.stream import export_query

    with RdmClient(url) as client:
        ids = [c.id for c in client.get_collections()]
        started = time.perf_counter()
        info: dict = {}
        if kind == "export":
            result = export_query(client, Path(folder) / "all.parquet", SampleQuery(), ref_ids=ids, progress=False)
            info = {"rows": result.rows, "peak_rows": result.peak_buffered_rows}
        else:
            workers = 1 if kind == "files-sequential" else 8

            def one(ref_id: str) -> None:
                client.download_collection_geoparquet(ref_id, Path(folder) / f"{ref_id}.geoparquet")

            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(one, ids))
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rss": peak_rss_bytes(), **info}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    root = synthetic_catalog("synthetic-50x200k", n_collections=N_COLLECTIONS, n_samples=N_SAMPLES, seed=0)
    ids = collection_ids(root)
    warm_page_cache(root)
    total = sum(next((root / i).glob("*.geoparquet")).stat().st_size for i in ids)
    print(f"catalogue: {len(ids)} collections, {N_SAMPLES:,} point samples, full files {mib(total)}; "
          f"latency {args.latency * 1000:.0f} ms")
    results = {}
    with served(root, args.latency) as server:
        for kind in ("files-sequential", "files-8-parallel", "export"):
            with tempfile.TemporaryDirectory(dir=root.parent) as folder:
                server.reset_stats()
                results[kind] = run_child(__file__, server.url, kind, folder)
                results[kind]["bytes"] = server.stats()["bytes_sent"]
                out = Path(folder) / "all.parquet"
                results[kind]["out"] = out.stat().st_size if out.exists() else 0
            r = results[kind]
            print(f"{kind:18s} {r['seconds']:7.2f} s  peak RSS {mib(r['rss'])}  bytes {mib(r['bytes'])}"
                  + (f"  rows {r['rows']:,}, peak rows held by one unit {r['peak_rows']:,}, file {mib(r['out'])}"
                     if kind == "export" else ""))
    export = results["export"]["seconds"]
    print(f"export / whole files one after the other = {export / results['files-sequential']['seconds']:.2f}x "
          f"(goal <= 3x)")
    print(f"export / whole files 8 at a time          = {export / results['files-8-parallel']['seconds']:.2f}x")
    print(f"export peak RSS = {mib(results['export']['rss'])} (goal <= 1536 MiB)")


if __name__ == "__main__":
    sys.exit(main())
