"""Issue #14, the two query shapes the issue measured against the reference client's reader, on the demo
catalogue (a stand-in RDM) at 50 ms latency and 20 MB/s:

1. one collection by id with a small bbox;
2. a search-driven query: France + Kenya (a MultiPolygon of the two countries' boxes), maize only, no ids.

The reference client's way: the collection search (for 2: with the AOI's bbox and the code), the download
URLs one by one, then DuckDB (spatial/httpfs extensions from PyPI) over those URLs, with two SQL texts: the
reference client's own (``bench_vs_duckdb.reference_client_sql``: ``ST_MakeValid(ST_Simplify(geometry))``
intersected with the AOI, one ``read_parquet`` per URL) and a plain ``ST_Intersects(geometry, AOI)`` with the
code, which a DuckDB user could write; both timed to a GeoDataFrame, as the reference client makes its own
(row by row) and as ``get_samples`` returns one (for the plain SQL: in one vectorised step). Ours:
``get_samples`` with the same arguments. Prints rows, times, bytes and ratios against both. Goal: every shape <= 100 % of DuckDB's bytes (<= 50 % where row-group statistics allow)
and >= 5x faster.

On the demo's small files (~100 kB, one or a few row groups) shape 1 is bound by round trips on both sides:
DuckDB needs about six at 50 ms; "5x faster" would leave us one, and a read needs at least the file URL and
one range of the file. Ours takes three (extent and URL side by side, the footer tail, the rest read at once
since the file is small). ``bench_vs_duckdb.py --shapes "one id, small bbox"`` measures the same shape on a
200,000-sample collection, where bytes rather than round trips decide.

    python benchmarks/bench_reference_shapes.py [--latency 0.05] [--rate 20e6]
"""

from __future__ import annotations

import argparse
import sys
import time

import shapely
from bench_vs_duckdb import (
    ATTRIBUTE_COLUMNS,
    attribute_conditions,
    duckdb_connection,
    reference_client_frame,
    reference_client_sql,
    vectorised_frame,
)
from common import BENCH_DIR, mib, served

MAIZE = 1101060000
FRANCE = (-5.2, 42.3, 8.3, 51.1)
KENYA = (33.9, -4.7, 41.9, 5.0)


def demo_catalog():
    from worldcereal_explorer.demo import make_demo_catalog

    root = BENCH_DIR / "demo-catalog"
    if not (root / "catalog.json").is_file():
        make_demo_catalog(root)
    return root


def plain_sql(urls: list[str], aoi, codes: list[int] | None) -> str:
    columns = f"{ATTRIBUTE_COLUMNS}, ST_AsWKB(geometry) AS geometry"
    where = [f"ST_Intersects(geometry, ST_GeomFromText('{aoi.wkt}'))", *attribute_conditions(codes)]
    return " UNION ALL ".join(f"SELECT {columns} FROM read_parquet('{u}') WHERE {' AND '.join(where)}" for u in urls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=20e6)
    args = parser.parse_args()
    root = demo_catalog()
    from worldcereal_explorer.rdm.client import RdmClient

    france_kenya = shapely.MultiPolygon([shapely.box(*FRANCE), shapely.box(*KENYA)])
    print(f"demo catalogue, latency {args.latency * 1000:.0f} ms, {args.rate / 1e6:.0f} MB/s")
    with served(root, args.latency, max_bytes_per_s=args.rate) as server:
        with RdmClient(server.url) as client:  # warm-up, untimed: imports, first connections
            client.get_samples(bbox=(0.0, 0.0, 0.1, 0.1), progress=False)
        with RdmClient(server.url) as client:
            first = next(c for c in client.get_collections(bbox=FRANCE) if c.bbox is not None)
        w, s, e, n = first.bbox.as_tuple()
        small = shapely.box(w + 0.4 * (e - w), s + 0.4 * (n - s), w + 0.5 * (e - w), s + 0.5 * (n - s))
        shapes = {
            f"one collection by id ({first.id}), small bbox": dict(ref_ids=[first.id], aoi=small, codes=None),
            "France + Kenya, maize, no ids (search-driven)": dict(ref_ids=None, aoi=france_kenya, codes=[MAIZE]),
        }
        for label, shape in shapes.items():
            server.reset_stats()
            started = time.perf_counter()
            with RdmClient(server.url) as ours:
                n_ours = len(ours.get_samples(ref_ids=shape["ref_ids"], spatial_extent=shape["aoi"],
                                              ewoc_codes=shape["codes"], progress=False))
            t_ours = time.perf_counter() - started
            b_ours = server.stats()["bytes_sent"]
            print(f"{label}: ours {n_ours:,} rows in {t_ours:.2f} s, {mib(b_ours)}")
            for name, sql_of, frame_of in (
                    ("the reference client", lambda urls, s=shape: reference_client_sql(urls, s["aoi"].wkt, s["codes"]),
                     reference_client_frame),
                    ("plain ST_Intersects", lambda urls, s=shape: plain_sql(urls, s["aoi"], s["codes"]), vectorised_frame)):
                # the reference client's way: search, URLs one by one, DuckDB over the URLs
                con = duckdb_connection()
                server.reset_stats()
                started = time.perf_counter()
                with RdmClient(server.url) as plain:
                    ids = shape["ref_ids"] or [c.id for c in plain.get_collections(
                        bbox=shape["aoi"].bounds, ewoc_codes=shape["codes"])]
                    urls = [plain.get_download_url(i) for i in ids]
                n_duck = len(frame_of(con, sql_of(urls))) if urls else 0
                t_duck = time.perf_counter() - started
                b_duck = server.stats()["bytes_sent"]
                con.close()
                same = "same rows" if n_duck == n_ours else f"ROWS DIFFER: {n_duck:,}"
                print(f"    vs {name:27s} {t_duck:6.2f} s = {t_duck / t_ours:5.1f}x faster | {mib(b_duck)}: ours "
                      f"{b_ours / max(b_duck, 1):.1%} of it | {same}")


if __name__ == "__main__":
    sys.exit(main())
