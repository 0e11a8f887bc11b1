"""Issue 24: the RDM's own file layout, ours against DuckDB, side by side on the same generated data.

The RDM's harmonized GeoParquet files hold up to millions of rows in one row group, in submission order (not
spatially sorted), without bbox covering columns, with an ``h3_l3_cell`` column. This script generates such a
collection (default: 1,100,000 nine-vertex parcels over France, ~140 MiB; submissions of 2,000 parcels from
one place each, in random order) and writes it in three layouts:

- ``a-one``: one row group, no covering columns (the RDM's layout);
- ``b-paged``: the same with a page index (``write_page_index=True``);
- ``c-grouped``: 2,000-row groups, spatially sorted, bbox covering columns (the package's own writer).

Each layout is served on its own by the local RDM server in a child process at ``--latency`` per request and a
``--rate`` bandwidth cap all file responses share (default 50 ms, 50 MB/s), ``--collections`` copies of the
collection (default 10). Four queries:

1. ``box by id``: one collection by id, a 0.2 x 0.2 degree box (about a thousand parcels);
2. ``crop search``: no ids (the search finds the collections), a 1 x 1 degree box and two crop codes;
3. ``count``: ``count_samples`` of query 2 by ``ewoc_code`` (DuckDB: ``GROUP BY``);
4. ``download``: ``download_samples`` of every row of every collection to GeoParquet (DuckDB: ``COPY``).

Contenders, each in a fresh process (peak memory above its imported baseline from ``VmHWM``), timed from ids
(or the search) to the result: ``ours``; ``ours-before`` (with ``--before DIR``: the package as it was, e.g.
``git archive <commit> worldcereal_explorer | tar -x -C DIR``); ``reference`` (the reference client's SQL
over DuckDB, see ``bench_vs_duckdb.py``); ``ours-cached`` (a repeat of the query through the local sample
cache, filled by a first run that is not counted); ``duckdb-best`` (one ``read_parquet`` over the URLs; the covering
column's predicates where there is one, else ``h3_l3_cell IN (<the query's cells>)``, then ``ST_Intersects``).

The *floor* is the bytes a query must read divided by the bandwidth, plus the round trips that depend on each
other times the latency: the footers, the filter columns (``h3_l3_cell``, or the covering column, and the
attribute columns) of the row groups that can match, and the output columns of the row groups holding a match
(with a page index: only their pages holding a match, plus dictionary pages).

    python benchmarks/bench_real_layout.py              # the issue's size (long: several minutes)
    python benchmarks/bench_real_layout.py --quick      # 200,000 parcels, 3 collections
    python benchmarks/bench_real_layout.py --rows 500000 --collections 4 --queries "box by id" count
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import BENCH_DIR, mib, served

LAYOUTS = ("a-one", "b-paged", "c-grouped")
QUERIES = ("box by id", "crop search", "count", "download")
CONTENDERS = ("ours", "ours-cached", "ours-before", "reference", "duckdb-best")
#: ``ours-cached``: ours with ``sample_cache=`` this folder (one per layout, emptied when a run starts); the
#: query runs once to fill the cache (not counted), then again: time, bytes and memory of the repeat.
CACHE_DIR = BENCH_DIR / "real-layout-cache"
CROP_CODES = (1101060000, 1201020040)
ALL_CODES = (1101060000, 1101010002, 1106000020, 1201020040, 2000000000, 1000000000, 1101070000)
OUTPUT_COLUMNS = ("sample_id", "ewoc_code", "valid_time", "irrigation_status", "quality_score_lc", "quality_score_ct",
                  "extract", "h3_l3_cell", "geometry")


# --- data ---------------------------------------------------------------------------------------------------------

def parcels(n: int, *, seed: int = 24, batch: int = 2_000):
    """``n`` nine-vertex parcels (100-300 m) over France in submission order, and the first submission's centre."""
    from worldcereal_explorer.demo.rdm_like_samples import FRANCE, rdm_like_samples

    frame = rdm_like_samples(n, seed=seed, name="FRA", bbox=FRANCE, geometry="parcel", batch=batch,
                             jitter=(0.08, 0.05), codes=ALL_CODES)
    import shapely

    # the mean of the first submission's parcels: its centre give or take the jitter's spread / sqrt(batch)
    x, y = shapely.get_coordinates(shapely.centroid(frame.geometry.values[:batch])).mean(axis=0)
    return frame, (float(x), float(y))


def collection_json(ref_id: str, frame, name: str) -> dict:
    west, south, east, north = (float(v) for v in frame.total_bounds)
    return {
        "collectionId": ref_id, "title": f"Real-layout benchmark {name}", "featureCount": len(frame), "type": "Polygon",
        "accessType": "Public", "typeOfObservationMethod": "Unknown", "confidenceLandCover": 80,
        "confidenceCropType": 80, "confidenceIrrigationType": 0, "ewocCodes": list(ALL_CODES), "irrTypes": [0, 100, 200],
        "extent": {"spatial": {"bbox": [[west, south, east, north]],
                               "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
                   "temporal": {"interval": [["2021-01-01T00:00:00", "2021-12-31T00:00:00"]],
                                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}},
        "additionalData": "", "crs": ["http://www.opengis.net/def/crs/EPSG/0/4326"], "lastModificationTime": None,
        "lastModifierId": None, "creationTime": "2025-01-01T00:00:00", "creatorId": None,
        "id": f"00000000-0000-0000-0000-{abs(hash(ref_id)) % 10**12:012d}",
    }


def ids_of(collections: int, layout: str) -> list[str]:
    return [f"2021_fra_{layout.split('-')[1]}{k:02d}_poly_110" for k in range(collections)]


def catalogue(rows: int, collections: int) -> tuple[Path, tuple[float, float]]:
    """``BENCH_DIR/real-layout-<rows>-<collections>/<layout>/``: one catalogue per layout (made once)."""
    from worldcereal_explorer.geoparquet import write_geoparquet

    root = BENCH_DIR / f"real-layout-{rows}-{collections}"
    info = root / "info.json"
    if info.is_file():
        return root, tuple(json.loads(info.read_text())["centre"])  # type: ignore[return-value]
    started = time.perf_counter()
    print(f"generating {rows:,} parcels x {collections} collections in {root} ...", flush=True)
    frame, centre = parcels(rows)
    for layout in LAYOUTS:
        folder = root / layout
        first = None
        for ref_id in ids_of(collections, layout):
            target = folder / ref_id
            target.mkdir(parents=True, exist_ok=True)
            path = target / f"{ref_id.upper()}.geoparquet"
            if first is not None:
                shutil.copyfile(first, path)  # the same content under another id: generation stays quick
            elif layout == "c-grouped":
                write_geoparquet(frame, path, row_group_size=2_000)
            else:
                frame.to_parquet(path, index=False, row_group_size=len(frame), write_covering_bbox=False,
                                 write_page_index=layout == "b-paged", compression="snappy")
            first = first or path
            (target / "collection.json").write_text(json.dumps(collection_json(ref_id, frame, layout)))
        (folder / "catalog.json").write_text(json.dumps({"generator": "bench_real_layout", "synthetic": True}))
    info.write_text(json.dumps({"centre": centre}))
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    return root, centre


def boxes(centre: tuple[float, float]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    x, y = centre
    return (x - 0.1, y - 0.1, x + 0.1, y + 0.1), (x - 0.5, y - 0.5, x + 0.5, y + 0.5)


# --- the floor ----------------------------------------------------------------------------------------------------

def floor(folder: Path, ids: list[str], query: str, centre: tuple[float, float], latency: float,
          rate: float) -> tuple[int, float]:
    """(bytes, seconds) of the floor of ``query`` on the files of ``ids`` (all alike: the first one times n)."""
    import numpy as np
    import pyarrow.parquet as pq
    import shapely

    from worldcereal_explorer.rdm.samples.pages import column_index_locations, parse_offset_index

    small, big = boxes(centre)
    path = next((folder / ids[0]).glob("*.geoparquet"))
    parquet = pq.ParquetFile(path)
    metadata = parquet.metadata
    names = parquet.schema_arrow.names
    covering = "bbox" in names
    files = 1 if query == "box by id" else len(ids)
    if query == "download":
        return metadata.serialized_size * files + path.stat().st_size * files, \
            path.stat().st_size * files / rate + 3 * latency
    table = parquet.read(columns=["ewoc_code", "geometry"])
    area = shapely.box(*(small if query == "box by id" else big))
    keep = shapely.intersects(area, shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False)))
    if query != "box by id":
        keep &= np.isin(table.column("ewoc_code").to_numpy(), CROP_CODES)
    filters = {"bbox" if covering else "h3_l3_cell"} | ({"ewoc_code"} if query != "box by id" else set())
    # counts need the geometry only where no covering column decides the spatial test
    output = ({"ewoc_code"} | (set() if covering else {"geometry"})) if query == "count" else set(OUTPUT_COLUMNS)
    data = path.read_bytes()
    footer_length = int.from_bytes(data[-8:-4], "little")
    locations = column_index_locations(data[-8 - footer_length:-8])
    total = metadata.serialized_size + 8
    start = 0
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        rows = keep[start:start + group.num_rows]
        start += group.num_rows
        for j in range(group.num_columns):
            chunk = group.column(j)
            top = chunk.path_in_schema.split(".")[0]
            if top in filters:
                total += chunk.total_compressed_size  # needed to find the rows, match or not
            elif top in output and rows.any():
                where = locations.get((i, j))
                if where is None:
                    total += chunk.total_compressed_size
                    continue
                pages = parse_offset_index(data[where[0]:where[0] + where[1]])
                firsts = [p.first_row for p in pages] + [group.num_rows]
                dictionary = pages[0].offset - (chunk.dictionary_page_offset or pages[0].offset)
                total += dictionary + sum(p.size for k, p in enumerate(pages) if rows[firsts[k]:firsts[k + 1]].any())
    round_trips = 4 if query == "box by id" else 5  # (search), URL, footer, filter columns, data
    return total * files, total * files / rate + round_trips * latency


# --- contenders (run in a child process) --------------------------------------------------------------------------

def search_ids(endpoint: str, bbox) -> list[str]:
    import requests

    params = [("Bbox", v) for v in bbox] + [("EwocCodes", c) for c in CROP_CODES]
    response = requests.get(f"{endpoint}/collections/search", params=params, timeout=60)
    response.raise_for_status()
    return [c["collectionId"] for c in response.json()]


def run_ours(endpoint: str, ids: list[str], query: str, centre, out: Path, cache: str = "") -> int:
    from worldcereal_explorer.rdm.client import RdmClient

    small, big = boxes(centre)
    with RdmClient(endpoint) as client:
        if cache:
            client.sample_cache = cache  # every sample method's default
        if query == "box by id":
            return len(client.get_samples(ref_ids=ids[:1], bbox=small, progress=False, memory_budget_bytes=None))
        if query == "crop search":
            return len(client.get_samples(bbox=big, ewoc_codes=list(CROP_CODES), progress=False,
                                          memory_budget_bytes=None))
        if query == "count":
            counts = client.count_samples(bbox=big, ewoc_codes=list(CROP_CODES), by="ewoc_code", progress=False)
            return int(counts["count"].sum())
        client.download_samples(out, ref_ids=ids, progress=False)
        import pyarrow.parquet as pq

        return pq.read_metadata(out).num_rows


def run_duckdb(endpoint: str, ids: list[str], query: str, centre, out: Path, *, best: bool) -> int:
    import shapely
    from bench_vs_duckdb import (
        ATTRIBUTE_COLUMNS,
        attribute_conditions,
        download_urls,
        duckdb_connection,
        reference_client_frame,
        reference_client_sql,
        vectorised_frame,
    )

    small, big = boxes(centre)
    box = small if query == "box by id" else big
    codes = None if query == "box by id" else CROP_CODES
    if query == "download":
        chosen = ids
    elif query == "box by id":
        chosen = ids[:1]
    else:
        chosen = search_ids(endpoint, big)
    urls = download_urls(endpoint, chosen, parallel=best)
    con = duckdb_connection()
    if best:
        schema = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{urls[0]}')").fetchall()
        covering = any(row[0] == "bbox" for row in schema)
        where = []
        if query != "download":
            w, s, e, n = box
            if covering:
                where.append(f"bbox.xmin <= {e} AND bbox.xmax >= {w} AND bbox.ymin <= {n} AND bbox.ymax >= {s}")
            else:
                from worldcereal_explorer.rdm.samples.bounded import query_cells
                from worldcereal_explorer.rdm.samples.query import SampleQuery

                cells = sorted(query_cells(SampleQuery.build(bbox=box)) or ())
                where.append(f"h3_l3_cell IN ({', '.join(repr(c) for c in cells)})")
            where.append(f"ST_Intersects(geometry, ST_MakeEnvelope({w}, {s}, {e}, {n}))")
            where += attribute_conditions(codes)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        source = f"read_parquet({urls!r})"
        if query in ("count", "download"):
            return count_or_copy(con, query, f"SELECT * FROM {source} {clause}",
                                 f"SELECT {ATTRIBUTE_COLUMNS}, geometry FROM {source}", out)
        return len(vectorised_frame(con, f"SELECT {ATTRIBUTE_COLUMNS}, ST_AsWKB(geometry) AS geometry "
                                         f"FROM {source} {clause}"))
    area = None if query == "download" else shapely.box(*box).wkt
    sql = reference_client_sql(urls, area, codes)
    if query in ("count", "download"):
        return count_or_copy(con, query, sql, sql, out)
    return len(reference_client_frame(con, sql))


def count_or_copy(con, query: str, matching_sql: str, export_sql: str, out: Path) -> int:
    """``count``: the rows of ``matching_sql`` counted by ``ewoc_code`` (as count_samples does), summed;
    ``download``: ``export_sql`` copied to the Parquet file ``out``, and its rows counted."""
    if query == "count":
        return int(sum(r[1] for r in con.execute(
            f"SELECT ewoc_code, count(*) FROM ({matching_sql}) GROUP BY ewoc_code").fetchall()))
    con.execute(f"COPY ({export_sql}) TO '{out}' (FORMAT parquet)")
    return int(con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0])


def _status(key: str) -> int:
    # VmHWM rather than ru_maxrss: Linux carries ru_maxrss over from the parent across fork + exec.
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(key + ":"))


def child(args: list[str]) -> None:
    contender, endpoint, ids_json, query, centre_json, out, before, cache = args
    if contender == "ours-before":
        sys.path.insert(0, before)
    import geopandas  # noqa: F401  (the imported baseline: what every contender needs)
    import pyarrow.parquet  # noqa: F401
    import shapely  # noqa: F401

    if contender.startswith("ours"):
        import worldcereal_explorer.rdm.client  # noqa: F401
    else:
        import bench_vs_duckdb  # noqa: F401
        import duckdb  # noqa: F401
    base = _status("VmRSS")
    ids, centre = json.loads(ids_json), tuple(json.loads(centre_json))
    started = time.perf_counter()
    if contender.startswith("ours"):
        rows = run_ours(endpoint, ids, query, centre, Path(out), cache)
    else:
        rows = run_duckdb(endpoint, ids, query, centre, Path(out), best=contender == "duckdb-best")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_above": _status("VmHWM") - base}))


def measure(server, contender: str, ids: list[str], query: str, centre, before: str, timeout: float,
            cache: Path | None = None) -> dict:
    out = BENCH_DIR / "real-layout-out.parquet"
    out.unlink(missing_ok=True)
    folder = str(cache) if contender == "ours-cached" and cache is not None else ""
    try:
        for _ in range(2 if folder else 1):  # ours-cached: the first run fills the cache
            out.unlink(missing_ok=True)
            server.reset_stats()
            done = subprocess.run([sys.executable, __file__, "--child", contender, server.url, json.dumps(ids), query,
                                   json.dumps(centre), str(out), before, folder], capture_output=True, text=True,
                                  timeout=timeout)
            if done.returncode:
                break
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    finally:
        out.unlink(missing_ok=True)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1][:160] if done.stderr.strip() else "failed"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["bytes"] = server.stats()["bytes_sent"]
    return result


def whole_file_seconds(server, ref_id: str) -> float:
    """Seconds one plain GET of a whole file takes here: what the server and the cap really deliver."""
    import requests

    url = requests.get(f"{server.url}/collections/{ref_id}/download", timeout=60).text
    started = time.perf_counter()
    with requests.get(url, stream=True, timeout=600) as response:
        for _ in response.iter_content(1 << 20):
            pass
    return time.perf_counter() - started


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_100_000, help="parcels per collection")
    parser.add_argument("--collections", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="200,000 parcels, 3 collections")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=50e6, help="bytes per second, shared by all file responses")
    parser.add_argument("--layouts", nargs="*", default=list(LAYOUTS), choices=LAYOUTS)
    parser.add_argument("--queries", nargs="*", default=list(QUERIES), choices=QUERIES)
    parser.add_argument("--contenders", nargs="*", default=["ours", "reference", "duckdb-best"], choices=CONTENDERS)
    parser.add_argument("--before", default="", help="folder holding an earlier worldcereal_explorer: adds ours-before")
    parser.add_argument("--timeout", type=float, default=900, help="seconds one contender may take")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.collections = 200_000, 3
    contenders = list(args.contenders)
    if args.before and "ours-before" not in contenders:
        contenders.insert(1, "ours-before")
    root, centre = catalogue(args.rows, args.collections)
    print(f"{args.rows:,} parcels x {args.collections} collections, latency {args.latency * 1000:.0f} ms, "
          f"{args.rate / 1e6:.0f} MB/s shared; small box {tuple(round(v, 3) for v in boxes(centre)[0])}")
    for layout in args.layouts:
        folder = root / layout
        ids = ids_of(args.collections, layout)
        size = next((folder / ids[0]).glob("*.geoparquet")).stat().st_size
        print(f"\n== layout {layout}: {mib(size)} per file")
        cache = CACHE_DIR / layout
        shutil.rmtree(cache, ignore_errors=True)
        with served(folder, args.latency, max_bytes_per_s=args.rate) as server:
            print(f"   (one whole-file GET from this server: {whole_file_seconds(server, ids[0]):.2f} s, "
                  f"{size / args.rate:.2f} s at the nominal rate)")
            for query in args.queries:
                floor_bytes, floor_s = floor(folder, ids, query, centre, args.latency, args.rate)
                file_bytes = size * (1 if query == "box by id" else args.collections)
                print(f"-- {query}: floor {mib(floor_bytes)} ({floor_bytes / file_bytes:.0%} of the files), "
                      f"{floor_s:.2f} s")
                for contender in contenders:
                    r = measure(server, contender, ids, query, centre, args.before, args.timeout, cache)
                    if "error" in r:
                        print(f"   {contender:12s} ERROR {r['error']}")
                        continue
                    print(f"   {contender:12s} {r['rows']:>10,} rows {r['seconds']:7.2f} s = {r['seconds'] / floor_s:5.2f}x "
                          f"floor | {mib(r['bytes']):>11s} = {r['bytes'] / file_bytes:6.1%} of the files | peak "
                          f"+{mib(r['peak_above'])}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
