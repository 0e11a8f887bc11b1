"""Fixtures for the sample-reading tests: a small catalogue of varied files served by the real local server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from .catalog_builder import Style, add_collection, finish_catalog, make_samples

#: id -> (n, centre, polygons, style): points and polygons, every file flavour the reader must handle.
COLLECTIONS = {
    "2021_bel_pts_point_110": (3000, (4.5, 50.8), False, Style()),
    "2021_fra_polys_poly_110": (1500, (5.0, 51.0), True, Style(layout="plain_wkb", valid_time="string", int32=True)),
    "2022_nld_nocover_point_110": (2000, (4.0, 50.5), False, Style(layout="no_covering", valid_time="date")),
    "2020_deu_tz_poly_111": (1200, (5.5, 50.2), True, Style(valid_time="timestamp_tz", row_group_size=300)),
}
IDS = list(COLLECTIONS)
REGION = (2.5, 49.0, 7.0, 52.0)  # all collections lie inside


@pytest.fixture(scope="session")
def sample_catalog(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("samples-catalog") / "catalog"
    root.mkdir()
    for seed, (ref_id, (n, centre, polygons, style)) in enumerate(COLLECTIONS.items()):
        year = int(ref_id[:4])
        gdf = make_samples(ref_id, n, seed=seed, center=centre, polygons=polygons, year=year)
        add_collection(root, ref_id, gdf, style)
    return finish_catalog(root)


@pytest.fixture(scope="session")
def sample_server(sample_catalog):
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(sample_catalog) as server:
        yield server


@pytest.fixture
def sample_client(sample_server):
    from worldcereal_explorer.rdm.client import RdmClient

    with RdmClient(sample_server.url, retries=2, backoff_factor=0.01, max_workers=4) as client:
        yield client


def read_plain(path: Path) -> gpd.GeoDataFrame:
    """Brute-force oracle reader: the whole file with pyarrow, geometry decoded by shapely.

    It deliberately shares no code with the reader under test.
    """
    table = pq.read_table(path)
    frame = table.to_pandas(ignore_metadata=True)  # plain positional index, whatever pandas metadata says
    if "geometry" in frame:
        geometry = shapely.from_wkb(frame.pop("geometry").to_numpy())
    elif "geom_text" in frame:
        geometry = shapely.from_wkt(frame["geom_text"].to_numpy())
    else:
        geometry = shapely.points(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    frame = frame.drop(columns=[c for c in ("bbox",) if c in frame])
    vt = frame["valid_time"]
    if pd.api.types.is_datetime64_any_dtype(vt):
        vt = vt.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(vt.dt, "tz", None) is not None else vt
    else:
        vt = pd.to_datetime(vt.astype(str), utc=True, format="ISO8601").dt.tz_localize(None)
    frame["valid_time"] = vt.astype("datetime64[ns]")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"))


@pytest.fixture(scope="session")
def oracle_frames(sample_catalog):
    """ref_id -> {"full": GeoDataFrame, "subset": GeoDataFrame} read whole from the catalogue files."""
    out = {}
    for ref_id in IDS:
        folder = sample_catalog / ref_id
        out[ref_id] = {
            "full": read_plain(next(p for p in folder.glob("*.geoparquet") if not p.name.startswith("sample_"))),
            "subset": read_plain(next(folder.glob("sample_*.parquet"))),
        }
    return out


def oracle(frames, ids, *, spatial=None, temporal=None, codes=None, subset=False, min_lc=0, min_ct=0,
           clip=False) -> gpd.GeoDataFrame:
    """What get_samples must return, by brute force over whole files (geopandas/pandas only)."""
    parts = []
    for ref_id in ids:
        frame = frames[ref_id]["subset" if subset else "full"]
        keep = np.ones(len(frame), dtype=bool)
        if codes is not None:
            keep &= frame["ewoc_code"].isin(list(codes)).to_numpy()
        if temporal is not None:
            start = pd.Timestamp(temporal[0])
            stop = pd.Timestamp(temporal[1]) + pd.Timedelta(days=1)
            keep &= ((frame["valid_time"] >= start) & (frame["valid_time"] < stop)).to_numpy()
        if subset:
            keep &= (frame["extract"] > 0).to_numpy()
        if min_lc > 0:
            keep &= (frame["quality_score_lc"] >= min_lc).to_numpy()
        if min_ct > 0:
            keep &= (frame["quality_score_ct"] >= min_ct).to_numpy()
        if spatial is not None:
            keep &= frame.geometry.intersects(spatial).to_numpy()
        part = frame[keep].copy()
        if clip and spatial is not None:
            part = part.set_geometry(part.geometry.intersection(spatial))
        part["ref_id"] = ref_id
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else gpd.GeoDataFrame()


def assert_same_samples(result: gpd.GeoDataFrame, expected: gpd.GeoDataFrame) -> None:
    """Same rows (by ref_id + sample_id), same attribute values, equal geometries."""
    assert result.crs is not None and result.crs.to_epsg() == 4326
    got = result.sort_values(["ref_id", "sample_id"]).reset_index(drop=True)
    want = expected.sort_values(["ref_id", "sample_id"]).reset_index(drop=True)
    assert list(got["sample_id"]) == list(want["sample_id"])
    assert list(got["ref_id"]) == list(want["ref_id"])
    for column in ("ewoc_code", "quality_score_lc", "quality_score_ct", "extract", "irrigation_status"):
        if column in got:
            assert got[column].dtype == np.int64
            np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy().astype(np.int64))
    if "valid_time" in got:
        assert got["valid_time"].dtype == "datetime64[ns]"
        np.testing.assert_array_equal(got["valid_time"].to_numpy(), want["valid_time"].to_numpy())
    if len(got):
        assert shapely.equals(got.geometry.array, want.geometry.array).all()


def iso(day: dt.date) -> str:
    return day.isoformat()
