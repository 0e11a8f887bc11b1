"""Build small catalogue folders (the local server's layout) from GeoDataFrames, for the sample tests.

Each collection can be written the way the local server writes its files (GeoParquet 1.1, bbox
covering column, Hilbert-sorted row groups) or the way live/legacy files look (no covering column, no
``geo`` metadata at all, ``valid_time`` as text or date, int32 codes), so the reader is tested on all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from worldcereal_explorer.demo.rdm_like_samples import EWOC_CODES, rdm_like_samples
from worldcereal_explorer.geoparquet import write_geoparquet

CODES = np.array(EWOC_CODES, dtype=np.int64)


@dataclass
class Style:
    """How a collection's files are written."""

    layout: str = "geoparquet11"  # "geoparquet11" | "no_covering" | "plain_wkb"
    valid_time: str = "timestamp"  # "timestamp" | "date" | "string" | "timestamp_tz"
    int32: bool = False
    row_group_size: int = 500


def make_samples(ref_id: str, n: int, *, seed: int, center: tuple[float, float], spread: float = 1.0,
                 polygons: bool = False, year: int = 2021) -> gpd.GeoDataFrame:
    """Random RDM-like samples spread uniformly around ``center``: points, or small (and some larger) boxes."""
    x, y = center
    return rdm_like_samples(n, seed=seed, name=ref_id.upper(), bbox=(x - spread, y - spread / 2, x + spread, y + spread / 2),
                            geometry="box" if polygons else "point", year=year)


def write_samples_file(gdf: gpd.GeoDataFrame, path: Path, style: Style) -> Path:
    """Write ``gdf`` to ``path`` in the given style."""
    frame = gdf.copy()
    if style.valid_time == "date":
        frame["valid_time"] = frame["valid_time"].dt.date
    elif style.valid_time == "string":
        frame["valid_time"] = frame["valid_time"].dt.strftime("%Y-%m-%d")
    elif style.valid_time == "timestamp_tz":
        frame["valid_time"] = frame["valid_time"].dt.tz_localize("UTC")
    if style.int32:
        for column in ("ewoc_code", "quality_score_lc", "quality_score_ct", "extract", "irrigation_status"):
            if column != "ewoc_code":
                frame[column] = frame[column].astype("int32")
    if style.layout == "geoparquet11":
        return write_geoparquet(frame, path, row_group_size=style.row_group_size)
    if style.layout == "no_covering":
        frame.to_parquet(path, index=False, row_group_size=style.row_group_size)
        return path
    # plain WKB, no geo metadata: what some live files look like
    table = pa.Table.from_pandas(pd.DataFrame(frame.drop(columns="geometry")), preserve_index=False)
    table = table.append_column("geometry", pa.array(shapely.to_wkb(frame.geometry.array), pa.binary()))
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, row_group_size=style.row_group_size)
    return path


def collection_object(ref_id: str, gdf: gpd.GeoDataFrame, *, access: str = "Public") -> dict:
    """The API JSON object for a collection holding ``gdf``."""
    west, south, east, north = (float(v) for v in gdf.total_bounds) if len(gdf) else (0.0, 0.0, 0.0, 0.0)
    times = pd.to_datetime(gdf["valid_time"]) if len(gdf) else pd.Series([pd.Timestamp("2021-01-01")])
    geom_type = "Polygon" if len(gdf) and gdf.geom_type.iloc[0] != "Point" else "Point"
    return {
        "collectionId": ref_id,
        "title": f"Test collection {ref_id}",
        "featureCount": len(gdf),
        "type": geom_type,
        "accessType": access,
        "typeOfObservationMethod": "Unknown",
        "confidenceLandCover": 80,
        "confidenceCropType": 80,
        "confidenceIrrigationType": 0,
        "ewocCodes": sorted(int(c) for c in gdf["ewoc_code"].unique()),
        "irrTypes": sorted(int(c) for c in gdf["irrigation_status"].unique()),
        "extent": {
            "spatial": {"bbox": [[west, south, east, north]], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
            "temporal": {
                "interval": [[times.min().strftime("%Y-%m-%dT00:00:00"), times.max().strftime("%Y-%m-%dT00:00:00")]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            },
        },
        "additionalData": "",
        "crs": ["http://www.opengis.net/def/crs/EPSG/0/4326"],
        "lastModificationTime": None,
        "lastModifierId": None,
        "creationTime": "2025-01-01T00:00:00",
        "creatorId": None,
        "id": f"00000000-0000-0000-0000-{abs(hash(ref_id)) % 10**12:012d}",
    }


def add_collection(root: Path, ref_id: str, gdf: gpd.GeoDataFrame, style: Style | None = None, *,
                   access: str = "Public", owner: str | None = None) -> Path:
    """Write one collection folder (full file, subset file, collection.json) under ``root``."""
    style = style or Style()
    folder = root / ref_id
    folder.mkdir(parents=True, exist_ok=True)
    name = ref_id.upper()
    write_samples_file(gdf, folder / f"{name}.geoparquet", style)
    write_samples_file(gdf[gdf["extract"] > 0].reset_index(drop=True), folder / f"sample_{name}.parquet", style)
    (folder / "collection.json").write_text(json.dumps(collection_object(ref_id, gdf, access=access)))
    if access != "Public":
        (folder / "access.json").write_text(json.dumps({"owner": owner or "alice", "groups": []}))
    return folder


def finish_catalog(root: Path) -> Path:
    (root / "catalog.json").write_text(json.dumps({"generator": "tests/samples", "synthetic": True}))
    return root
