"""Issue #14 side by side with DuckDB: the same remote GeoParquet files (20 collections of the 50 x 200,000
catalogue) read over HTTP at 50 ms latency and 20 MB/s (the server's bandwidth cap), for several query
shapes. DuckDB 1.4.4 (+ spatial, httpfs from PyPI: ``duckdb-ext-spatial``/``duckdb-ext-httpfs``) runs
``read_parquet`` over the file URLs with the filters as SQL (bbox via the covering column plus ST_Intersects).

Goals: bbox query >= 5x faster and <= 25 % of DuckDB's bytes; every shape <= 100 % of DuckDB's bytes
(<= 50 % where row-group statistics allow) and >= 5x faster, including one collection named by id with a
small bbox (the issue's first shape, on a 200,000-sample collection rather than the demo's small files).
Both readers are warmed up first (untimed, on five other collections), then start cold for every run (a new
DuckDB connection, a new client: no memo of extents); quick shapes run ``--repeats`` times, the median printed. Each line also prints the *floor*: the
fewest bytes a reader of whole column chunks can take (the footers of the files holding a match plus every
output column chunk of the row groups holding one), computed from the local files.

    python benchmarks/bench_vs_duckdb.py [--latency 0.05] [--rate 20e6]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

from common import collection_ids, mib, served, synthetic_catalog, warm_page_cache

N_COLLECTIONS = 20
CODES = (1101010001, 1101060000)


def duckdb_connection():
    import duckdb
    import duckdb_ext

    folder = Path(list(duckdb_ext.__path__)[0]) / "extensions"  # a namespace package
    con = duckdb.connect(config={"extension_directory": str(folder), "autoinstall_known_extensions": False})
    con.execute("LOAD httpfs; LOAD spatial;")
    # Each query starts cold, as ours does: no file or metadata cache carried over between queries.
    for setting in ("enable_external_file_cache", "enable_http_metadata_cache"):
        with contextlib.suppress(Exception):  # not every version knows every setting
            con.execute(f"SET {setting} = false")
    return con


def duckdb_query(con, urls: list[str], shape: dict) -> int:
    where = []
    if "bbox" in shape:
        w, s, e, n = shape["bbox"]
        where.append(f"bbox.xmin <= {e} AND bbox.xmax >= {w} AND bbox.ymin <= {n} AND bbox.ymax >= {s}")
        where.append(f"ST_Intersects(geometry, ST_MakeEnvelope({w}, {s}, {e}, {n}))")
    if "codes" in shape:
        where.append(f"ewoc_code IN ({', '.join(map(str, CODES))})")
    if "quality" in shape:
        where.append(f"quality_score_lc >= {shape['quality']}")
    if "dates" in shape:
        start, end = shape["dates"]
        where.append(f"valid_time >= TIMESTAMP '{start}' AND valid_time < TIMESTAMP '{end}' + INTERVAL 1 DAY")
    columns = "sample_id, ewoc_code, valid_time, irrigation_status, quality_score_lc, quality_score_ct, extract, h3_l3_cell, geometry"
    sql = (f"SELECT {columns} FROM read_parquet({urls!r}) " + ("WHERE " + " AND ".join(where) if where else ""))
    return len(con.execute(sql).fetch_arrow_table())


def ours(client, ids: list[str], shape: dict) -> int:
    kwargs: dict = {}
    if "bbox" in shape:
        kwargs["bbox"] = shape["bbox"]
    if "codes" in shape:
        kwargs["ewoc_codes"] = list(CODES)
    if "quality" in shape:
        kwargs["min_quality_lc"] = shape["quality"]
    if "dates" in shape:
        kwargs["temporal_extent"] = shape["dates"]
    return len(client.get_samples(ref_ids=ids, progress=False, memory_budget_bytes=None, **kwargs))


OUTPUT_COLUMNS = ("sample_id", "ewoc_code", "valid_time", "irrigation_status", "quality_score_lc", "quality_score_ct",
                  "extract", "h3_l3_cell", "geometry")


def floor_bytes(root: Path, ids: list[str], shape: dict) -> int:
    """The fewest bytes any reader of whole column chunks needs: the footers of the files whose extent can
    hold a match, plus every output column chunk of the row groups holding at least one matching row
    (read from the local files; one page per column chunk, so no reader can take less of a chunk)."""
    import numpy as np
    import pyarrow.parquet as pq
    import shapely

    total = 0
    for ref_id in ids:
        path = next((root / ref_id).glob("*.geoparquet"))
        parquet = pq.ParquetFile(path)
        table = parquet.read(columns=["ewoc_code", "valid_time", "quality_score_lc", "geometry"])
        keep = np.ones(table.num_rows, dtype=bool)
        if "bbox" in shape:
            keep &= shapely.intersects(shapely.box(*shape["bbox"]),
                                       shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False)))
        if "codes" in shape:
            keep &= np.isin(table.column("ewoc_code").to_numpy(), CODES)
        if "quality" in shape:
            keep &= table.column("quality_score_lc").to_numpy() >= shape["quality"]
        if "dates" in shape:
            times = table.column("valid_time").to_numpy().astype("datetime64[D]")
            keep &= (times >= np.datetime64(shape["dates"][0])) & (times <= np.datetime64(shape["dates"][1]))
        if not keep.any():
            continue
        metadata = parquet.metadata
        total += metadata.serialized_size + 8
        start = 0
        for i in range(metadata.num_row_groups):
            group = metadata.row_group(i)
            if keep[start:start + group.num_rows].any():
                total += sum(group.column(j).total_compressed_size for j in range(group.num_columns)
                             if group.column(j).path_in_schema in OUTPUT_COLUMNS)
            start += group.num_rows
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=20e6)
    parser.add_argument("--shapes", nargs="*", help="run only these query shapes (default: all)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs per shape, the median printed (shapes where DuckDB takes > 10 s run once)")
    args = parser.parse_args()
    root = synthetic_catalog("synthetic-50x200k", n_collections=50, n_samples=10_000_000, seed=0)
    ids = collection_ids(root)[:N_COLLECTIONS]
    warm_page_cache(root)
    import pyarrow.parquet as pq

    first = next((root / ids[0]).glob("*.geoparquet"))
    cover = pq.read_table(first, columns=["bbox"]).column("bbox").combine_chunks()
    x0, y0 = float(cover.field("xmin").to_numpy().mean()), float(cover.field("ymin").to_numpy().mean())
    bbox = (x0 - 0.1, y0 - 0.1, x0 + 0.1, y0 + 0.1)
    shapes = {
        "bbox only": {"bbox": bbox},
        "codes only": {"codes": True},
        "bbox + codes": {"bbox": bbox, "codes": True},
        "quality + dates": {"quality": 90, "dates": ("2019-05-01", "2019-06-30")},
        "codes + loose bbox": {"codes": True, "bbox": (-180, -60, 180, 60)},
        # the first shape: one collection named by id (its 200,000 samples), a small bbox
        "one id, small bbox": {"bbox": bbox, "one": True},
    }
    warm_up = dict(shapes["bbox + codes"])
    if args.shapes:
        unknown = set(args.shapes) - set(shapes)
        if unknown:
            parser.error(f"unknown shape(s) {sorted(unknown)}; known: {sorted(shapes)}")
        shapes = {k: v for k, v in shapes.items() if k in args.shapes}
    print(f"{N_COLLECTIONS} collections, latency {args.latency * 1000:.0f} ms, {args.rate / 1e6:.0f} MB/s; bbox {bbox}")
    from worldcereal_explorer.rdm.client import RdmClient

    with served(root, args.latency, max_bytes_per_s=args.rate) as server, RdmClient(server.url) as client:
        urls = [client.get_download_url(i) for i in ids]
        # Untimed warm-up of both readers on five other collections (imports, thread pools, first connections).
        others = collection_ids(root)[N_COLLECTIONS:N_COLLECTIONS + 5]
        duckdb_query(duckdb_connection(), [client.get_download_url(i) for i in others], warm_up)
        ours(client, others, warm_up)
        for label, shape in shapes.items():
            subset = (urls[:1], ids[:1]) if shape.get("one") else (urls, ids)
            duck_times, our_times, duck_bytes, our_bytes = [], [], [], []
            for _ in range(args.repeats):
                # ours first: a reader that runs right after DuckDB shares the 2 cores with the server still
                # finishing DuckDB's abandoned responses; cold as well (a new client: no memo, new connections)
                with RdmClient(server.url) as cold:
                    server.reset_stats()
                    started = time.perf_counter()
                    n_ours = ours(cold, subset[1], shape)
                    our_times.append(time.perf_counter() - started)
                    our_bytes.append(server.stats()["bytes_sent"])
                con = duckdb_connection()
                server.reset_stats()
                started = time.perf_counter()
                n_duck = duckdb_query(con, subset[0], shape)
                duck_times.append(time.perf_counter() - started)
                duck_bytes.append(server.stats()["bytes_sent"])
                con.close()
                if duck_times[0] > 10:  # a slow shape: one run says enough
                    break
            t_duck, t_ours = statistics.median(duck_times), statistics.median(our_times)
            b_duck, b_ours = statistics.median(duck_bytes), statistics.median(our_bytes)
            floor = floor_bytes(root, subset[1], shape)
            print(f"{label:18s} rows ours {n_ours:>9,} duckdb {n_duck:>9,} | time ours {t_ours:6.2f} s duckdb "
                  f"{t_duck:6.2f} s = {t_duck / t_ours:5.1f}x faster (median of {len(our_times)}) | bytes ours "
                  f"{mib(b_ours)} duckdb {mib(b_duck)} = {b_ours / max(b_duck, 1):.1%} | whole-chunk floor "
                  f"{mib(floor)} = {floor / max(b_duck, 1):.1%} of duckdb's, ours {b_ours / max(floor, 1):.2f}x the floor")
            if len(our_times) > 1:
                print(f"{'':18s} runs: ours {', '.join(f'{t:.2f}' for t in our_times)} s; "
                      f"duckdb {', '.join(f'{t:.2f}' for t in duck_times)} s")

if __name__ == "__main__":
    sys.exit(main())
