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
import pyarrow.parquet as pq

from worldcereal_explorer.demo.rdm_like_samples import FRANCE, rdm_like_samples
from worldcereal_explorer.geoparquet import write_geoparquet

from .catalog_builder import collection_object

LAYOUTS = ("one", "paged", "grouped")


def parcels(n: int, *, seed: int = 0, batch: int = 2_000, name: str = "REAL") -> gpd.GeoDataFrame:
    """``n`` nine-vertex parcels (about 100-300 m across) over France, in submission order."""
    return rdm_like_samples(n, seed=seed, name=name, bbox=FRANCE, geometry="parcel", batch=batch, jitter=(0.08, 0.05))


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
