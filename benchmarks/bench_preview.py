"""Issue #14 preview: count_samples over 10,000,000 point samples in 50 collections at 50 ms latency.

Prints the time, the preview's peak RSS (a separate client process), and the bytes the server sent
compared with the total size of the files. Goals: <= 15 s, <= 1.5 GiB, <= 15 % of the files' bytes.

    python benchmarks/bench_preview.py [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from common import collection_ids, mib, peak_rss_bytes, run_child, served, synthetic_catalog, warm_page_cache

N_COLLECTIONS = 50
N_SAMPLES = 10_000_000


def child(url: str, kind: str) -> None:
    from worldcereal_explorer.rdm.client import RdmClient

    with RdmClient(url) as client:
        started = time.perf_counter()
        if kind == "codes":
            counts = client.count_samples(progress=False)
        elif kind == "h3":
            counts = client.count_samples(progress=False, h3_resolution=2)
        else:  # crop codes under a loose bbox, a date range and a quality filter
            counts = client.count_samples(progress=False, bbox=(-180, -60, 180, 60), min_quality_lc=80,
                                          temporal_extent=("2019-01-01", "2022-12-31"))
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rss": peak_rss_bytes(), "samples": int(counts["count"].sum()),
                      "groups": len(counts), "estimate": counts.attrs["estimate"].as_dict()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--child", nargs=2)
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
    with served(root, args.latency) as server:
        for kind, label in (("codes", "by (ewoc_code, ref_id), no filter"),
                            ("h3", "by (ewoc_code, ref_id, h3_cell res 2)"),
                            ("filters", "loose bbox + dates + quality")):
            server.reset_stats()
            result = run_child(__file__, server.url, kind)
            sent = server.stats()["bytes_sent"]
            estimate = result["estimate"]
            print(f"preview {label:40s} {result['seconds']:6.2f} s (goal <= 15 s)  peak RSS {mib(result['rss'])} "
                  f"(goal <= 1536 MiB)  bytes {mib(sent)} = {sent / total:.2%} of the files (goal <= 15%)  "
                  f"samples {result['samples']:,} in {result['groups']} groups; full fetch would read "
                  f"{mib(estimate['bytes'])}, ~{mib(estimate['memory_bytes'])} in memory")


if __name__ == "__main__":
    sys.exit(main())
