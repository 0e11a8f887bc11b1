"""Every export format reads back equal; exports are atomic; the CLI ``samples`` command writes them."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.rdm.export import export_samples, read_exported

from .conftest import IDS, assert_same_samples, oracle

BBOX = (4.3, 50.4, 5.3, 51.1)


@pytest.fixture(scope="module")
def mixed_samples(sample_server):
    """Points and polygons from several collections."""
    from worldcereal_explorer.rdm.client import RdmClient

    with RdmClient(sample_server.url) as client:
        gdf = client.get_samples(ref_ids=IDS, bbox=BBOX, progress=False)
    assert {"Point", "Polygon"} <= set(gdf.geom_type)
    return gdf


def assert_equal_frames(back: gpd.GeoDataFrame, original: gpd.GeoDataFrame) -> None:
    assert list(back.columns) == list(original.columns)
    assert len(back) == len(original)
    assert back.crs.to_epsg() == 4326
    for column in original.columns:
        if column == "geometry":
            assert shapely.equals(back.geometry.array, original.geometry.array).all()
        elif column == "valid_time":
            got = pd.to_datetime(back[column]).dt.tz_localize(None) if getattr(
                pd.to_datetime(back[column]).dt, "tz", None) else pd.to_datetime(back[column])
            np.testing.assert_array_equal(got.astype("datetime64[ns]").to_numpy(), original[column].to_numpy())
        elif original[column].dtype == np.int64:
            np.testing.assert_array_equal(back[column].to_numpy().astype(np.int64), original[column].to_numpy())
        else:
            assert list(back[column].astype(str)) == list(original[column].astype(str))


@pytest.mark.parametrize("suffix", [".parquet", ".geoparquet", ".gpkg", ".geojson", ".csv"])
def test_each_format_reads_back_equal(mixed_samples, tmp_path, suffix):
    path = export_samples(mixed_samples, tmp_path / f"out{suffix}")
    assert [p.name for p in tmp_path.iterdir()] == [f"out{suffix}"]  # no temp files left
    assert_equal_frames(read_exported(path), mixed_samples)


def test_geoparquet_export_is_geoparquet_11_with_covering(mixed_samples, tmp_path):
    path = export_samples(mixed_samples, tmp_path / "out.parquet")
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert geo["version"] == "1.1.0"
    assert "bbox" in geo["columns"]["geometry"]["covering"]
    assert_equal_frames(gpd.read_parquet(path), mixed_samples)


def test_empty_export_round_trips(mixed_samples, tmp_path):
    empty = mixed_samples.iloc[:0]
    for suffix in (".parquet", ".gpkg", ".csv"):
        back = read_exported(export_samples(empty, tmp_path / f"empty{suffix}"))
        assert len(back) == 0 and "sample_id" in back.columns


def test_unknown_format_is_refused_and_writes_nothing(mixed_samples, tmp_path):
    with pytest.raises(BadParameterError, match=r"\.xlsx"):
        export_samples(mixed_samples, tmp_path / "out.xlsx")
    with pytest.raises(BadParameterError, match="shapefile"):
        export_samples(mixed_samples, tmp_path / "out.shp", format="shapefile")
    assert list(tmp_path.iterdir()) == []


def test_failed_export_leaves_nothing(tmp_path):
    bad = gpd.GeoDataFrame({"value": [object()]}, geometry=[shapely.Point(0, 0)], crs=4326)
    with pytest.raises(Exception):  # noqa: B017 - whatever the writer raises, nothing may be left behind
        export_samples(bad, tmp_path / "out.parquet")
    assert list(tmp_path.iterdir()) == []


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "worldcereal_explorer.cli", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("suffix", [".parquet", ".gpkg", ".geojson", ".csv"])
def test_cli_samples_command_writes_the_filtered_samples(sample_server, oracle_frames, tmp_path, suffix):
    out = tmp_path / f"samples{suffix}"
    done = _cli("samples", "--endpoint", sample_server.url, "--bbox", *map(str, BBOX), "--subset",
                "--min-quality-ct", "30", "--temporal-extent", "2021-01-01", "2022-12-31", "--no-progress",
                "-o", str(out))
    assert done.returncode == 0, done.stderr
    back = read_exported(out)
    from shapely.geometry import box

    expected = oracle(oracle_frames, IDS, spatial=box(*BBOX), subset=True, min_ct=30,
                      temporal=("2021-01-01", "2022-12-31"))
    assert len(expected) > 0
    assert f"wrote {len(expected)} samples" in done.stdout
    back["valid_time"] = pd.to_datetime(back["valid_time"]).astype("datetime64[ns]")
    for column in ("ewoc_code", "quality_score_lc", "quality_score_ct", "extract", "irrigation_status"):
        back[column] = back[column].astype(np.int64)
    assert_same_samples(back, expected)


def test_cli_samples_bad_input_exits_2_naming_the_value(sample_server, tmp_path):
    done = _cli("samples", "--endpoint", sample_server.url, "--ewoc-codes", "42", "-o", str(tmp_path / "x.parquet"))
    assert done.returncode == 2
    assert "42" in done.stderr
    done = _cli("samples", "--endpoint", sample_server.url, "-o", str(tmp_path / "x.txt"))
    assert done.returncode == 2 and ".txt" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_samples_with_a_polygon_and_clip(sample_server, oracle_frames, tmp_path):
    from shapely.geometry import Polygon

    polygon = Polygon([(3.6, 50.0), (5.8, 50.3), (5.4, 51.3), (3.9, 51.1)])
    out = tmp_path / "clipped.gpkg"
    done = _cli("samples", "--endpoint", sample_server.url, "--ref-ids", *IDS, "--polygon", polygon.wkt, "--clip",
                "--ewoc-codes", "1101060000", "11-06-00-002-0", "--no-progress", "-o", str(out))
    assert done.returncode == 0, done.stderr
    back = read_exported(out)
    expected = oracle(oracle_frames, IDS, spatial=polygon, clip=True, codes=[1101060000, 1106000020])
    assert sorted(back["sample_id"]) == sorted(expected["sample_id"])
    assert back.geometry.within(polygon.buffer(1e-9)).all()
