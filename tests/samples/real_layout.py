"""Files laid out like the RDM's own harmonized GeoParquet files, for the tests of issue 24.

Nine-vertex parcels over France in submission order (batches of parcels from one place, the batches in random
order; not spatially sorted), an ``h3_l3_cell`` column (the cell of each parcel's centre), no bbox covering
columns, in three layouts: ``one`` (one row group), ``paged`` (the same with a page index) and ``grouped``
(2,000-row groups, spatially sorted, with covering columns: the package's own writer).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from worldcereal_explorer.geoparquet import write_geoparquet

from .catalog_builder import CODES, collection_object

LAYOUTS = ("one", "paged", "grouped")
FRANCE = (-4.5, 43.0, 7.5, 50.5)


def parcels(n: int, *, seed: int = 0, batch: int = 2_000, name: str = "REAL") -> gpd.GeoDataFrame:
    """``n`` nine-vertex parcels (about 100-300 m across) over France, in submission order."""
    rng = np.random.default_rng(seed)
    batches = -(-n // batch)
    west, south, east, north = FRANCE
    cx = rng.uniform(west, east, batches).repeat(batch)[:n]
    cy = rng.uniform(south, north, batches).repeat(batch)[:n]
    x = cx + rng.normal(0, 0.08, n)
    y = cy + rng.normal(0, 0.05, n)
    angles = np.linspace(0, 2 * np.pi, 9)[:-1]
    radius = rng.uniform(0.0008, 0.0015, (n, 1)) * rng.uniform(0.8, 1.2, (n, 8))
    xs = x[:, None] + radius * np.cos(angles)
    ys = y[:, None] + radius * np.sin(angles) * 0.7
    rings = np.stack([np.concatenate([xs, xs[:, :1]], axis=1), np.concatenate([ys, ys[:, :1]], axis=1)], axis=2)
    geometry = shapely.polygons(rings)
    days = rng.integers(0, 365, n)
    return gpd.GeoDataFrame(
        {
            "sample_id": [f"{name}_{i}" for i in range(n)],
            "ewoc_code": rng.choice(CODES, n),
            "valid_time": pd.Timestamp("2021-01-01") + pd.to_timedelta(days, unit="D"),
            "irrigation_status": rng.choice(np.array([0, 100, 200], dtype=np.int64), n),
            "quality_score_lc": rng.integers(0, 101, n).astype(np.int64),
            "quality_score_ct": rng.integers(0, 101, n).astype(np.int64),
            "extract": rng.choice(np.array([0, 0, 0, 1, 2], dtype=np.int64), n),
            "h3_l3_cell": [h3.latlng_to_cell(b, a, 3) for a, b in zip(x, y, strict=True)],
        },
        geometry=geometry,
        crs="EPSG:4326",
    )


def write_layout(gdf: gpd.GeoDataFrame, path: Path, layout: str) -> Path:
    """Write ``gdf`` to ``path`` in ``layout`` (see the module docstring)."""
    if layout == "grouped":
        return write_geoparquet(gdf, path, row_group_size=2_000)
    if layout not in ("one", "paged"):
        raise ValueError(f"layout={layout!r}; use one of {LAYOUTS}")
    gdf.to_parquet(path, index=False, row_group_size=len(gdf), write_covering_bbox=False,
                   write_page_index=layout == "paged", compression="snappy")
    metadata = pq.read_metadata(path)
    assert metadata.num_row_groups == 1
    return path


def add_real_collection(root: Path, ref_id: str, gdf: gpd.GeoDataFrame, layout: str) -> Path:
    """One collection folder of the local server holding ``gdf`` in ``layout``."""
    folder = root / ref_id
    folder.mkdir(parents=True, exist_ok=True)
    name = ref_id.upper()
    write_layout(gdf, folder / f"{name}.geoparquet", layout)
    subset = gdf[gdf["extract"] > 0].reset_index(drop=True)
    write_layout(subset, folder / f"sample_{name}.parquet", layout)
    (folder / "collection.json").write_text(json.dumps(collection_object(ref_id, gdf)))
    return folder


def finish(root: Path) -> Path:
    (root / "catalog.json").write_text(json.dumps({"generator": "tests/samples/real_layout", "synthetic": True}))
    return root
