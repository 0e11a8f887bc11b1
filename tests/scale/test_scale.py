"""Issue #14: counts before fetching, streaming exports with resume, a memory budget, Dask on a cluster."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import h3
import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import Polygon

from worldcereal_explorer.errors import FetchTooLargeError, QueryCancelledError
from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.rdm.export import read_exported
from worldcereal_explorer.rdm.samples import SampleQuery
from worldcereal_explorer.rdm.samples.stream import export_query, parts_folder, query_key

POLYGON = Polygon([(3, 49), (7, 50), (6, 53), (2, 52)])
SHAPES = {
    "all": {},
    "bbox": {"bbox": (0, 40, 20, 55)},
    "codes_world_bbox": {"ewoc_codes": [1101010001, 1101060000], "bbox": (-180, -90, 180, 90)},
    "polygon": {"spatial_extent": POLYGON, "clip": False},
    "polygon_clip_quality": {"spatial_extent": POLYGON, "clip": True, "min_quality_lc": 50},
    "dates_subset": {"temporal_extent": ("2020-01-01", "2021-06-30"), "subset": True},
    "quality_ct": {"min_quality_ct": 70, "bbox": (-100, -60, 60, 60)},
}


@pytest.fixture
def client(rdm_url):
    with RdmClient(rdm_url, retries=2, backoff_factor=0.01, max_workers=4) as rdm:
        yield rdm


def expected_counts(gdf, by, resolution):
    frame = gdf.copy()
    keys = list(by)
    if resolution is not None:
        if resolution <= 3:
            frame["h3_cell"] = [None if not isinstance(v, str) else h3.cell_to_parent(v, resolution)
                                for v in frame["h3_l3_cell"]]
        else:
            centroid = shapely.centroid(frame.geometry.array)
            frame["h3_cell"] = [h3.latlng_to_cell(y, x, resolution)
                                for x, y in zip(shapely.get_x(centroid), shapely.get_y(centroid), strict=True)]
        keys.append("h3_cell")
    return frame.groupby(keys, dropna=False).size().rename("count").reset_index().sort_values(keys) \
        .reset_index(drop=True), keys


def assert_same_frame(got, want):
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for column in want.columns:
        if column == "geometry":
            assert shapely.equals(got.geometry.array, want.geometry.array).all()
        else:
            assert got[column].astype(object).fillna(-1).tolist() == want[column].astype(object).fillna(-1).tolist(), column


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("resolution", [None, 1, 3, 7])
def test_count_samples_equals_get_samples_groupby(client, shape, resolution):
    filters = SHAPES[shape]
    counts = client.count_samples(progress=False, h3_resolution=resolution, **filters)
    gdf = client.get_samples(progress=False, **filters)
    want, keys = expected_counts(gdf, ("ewoc_code", "ref_id"), resolution)
    assert list(counts.columns) == [*keys, "count"]
    assert counts["count"].tolist() == want["count"].tolist()
    for key in keys:
        assert counts[key].astype(object).tolist() == want[key].astype(object).tolist()
    estimate = counts.attrs["estimate"]
    assert estimate.samples == len(gdf)
    assert (estimate.bytes > 0) == (len(gdf) > 0)
    assert estimate.memory_bytes >= (int(gdf.memory_usage(deep=True).sum()) if len(gdf) else 0) * 0.5


@pytest.mark.parametrize("by", [(), ("ref_id",), ("valid_time", "irrigation_status"), "extract"])
def test_count_samples_other_groupings(client, by):
    counts = client.count_samples(progress=False, by=by, bbox=(0, 40, 20, 55))
    gdf = client.get_samples(progress=False, bbox=(0, 40, 20, 55))
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        assert counts["count"].tolist() == [len(gdf)]
        return
    want = gdf.groupby(keys, dropna=False).size().reset_index(name="count").sort_values(keys)
    assert counts["count"].tolist() == want["count"].tolist()


def test_count_samples_reads_no_geometry_for_points(client, rdm_server):
    stats = rdm_server.app.state.stats
    counts = client.count_samples(progress=False, bbox=(0, 40, 20, 55), h3_resolution=6,
                                  ref_ids=["2021_bel_lpisdemo_poly_110", "2021_ukr_fielddemo_point_110"])
    assert counts.attrs["read_stats"]["geometries_decoded"] < counts["count"].sum()
    stats.reset()
    point_counts = client.count_samples(progress=False, ref_ids=["2021_ukr_fielddemo_point_110"],
                                        bbox=(30, 45, 40, 52), h3_resolution=6)
    assert point_counts.attrs["read_stats"]["geometries_decoded"] == 0


@pytest.mark.parametrize("suffix", [".parquet", ".gpkg", ".csv"])
@pytest.mark.parametrize("shape", ["all", "polygon_clip_quality", "codes_world_bbox"])
def test_download_samples_equals_get_samples(client, tmp_path, suffix, shape):
    filters = SHAPES[shape]
    path = client.download_samples(tmp_path / "out" / f"samples{suffix}", progress=False, **filters)
    assert path == tmp_path / "out" / f"samples{suffix}"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no parts, no temp files left
    assert_same_frame(read_exported(path), client.get_samples(progress=False, **filters))
    if suffix == ".parquet":
        geo = json.loads(pq.read_schema(path).metadata[b"geo"])
        column = geo["columns"]["geometry"]
        assert geo["version"] == "1.1.0" and column["encoding"] == "WKB"
        assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
        assert set(column["geometry_types"]) <= {"Point", "Polygon", "MultiPolygon"} and column["geometry_types"]


def test_export_holds_at_most_one_row_group(client, tmp_path, demo_catalog):
    largest = max(pq.ParquetFile(p).metadata.row_group(i).num_rows
                  for p in demo_catalog.glob("*/*.geoparquet") for i in range(pq.ParquetFile(p).metadata.num_row_groups))
    result = export_query(client, tmp_path / "all.parquet", SampleQuery(), progress=False)
    assert result.rows > largest
    assert 0 < result.peak_buffered_rows <= largest


def test_cancel_mid_export_leaves_nothing(client, tmp_path):
    cancel = threading.Event()
    events = []

    def progress(event):
        events.append(event)
        if event.units_done >= 2:
            cancel.set()

    target = tmp_path / "new" / "folder" / "samples.parquet"
    with pytest.raises(QueryCancelledError):
        client.download_samples(target, progress=progress, cancel_event=cancel)
    assert events
    assert not (tmp_path / "new").exists()
    assert list(tmp_path.iterdir()) == []


def test_fetch_too_large_with_a_tiny_budget(client):
    with pytest.raises(FetchTooLargeError) as info:
        client.get_samples(progress=False, memory_budget_bytes=10_000)
    message = str(info.value)
    assert "download_samples" in message and "engine='dask'" in message and "memory_budget_bytes" in message
    assert info.value.estimated_bytes > info.value.budget_bytes == 10_000
    client.memory_budget_bytes = 10_000
    with pytest.raises(FetchTooLargeError):
        client.get_samples(progress=False, bbox=(0, 40, 20, 55))
    assert len(client.get_samples(progress=False, bbox=(0, 40, 20, 55), memory_budget_bytes=None)) > 0
    client.memory_budget_bytes = 2 * 2**30
    assert len(client.get_samples(progress=False, bbox=(0, 40, 20, 55))) > 0


def test_codes_under_a_loose_bbox_read_no_covering_bytes(client, rdm_server, demo_catalog):
    stats = rdm_server.app.state.stats
    ids = ["2021_ukr_fielddemo_point_110", "2022_fra_lpisdemo_poly_110"]
    codes = [1101010001, 1101060000]
    smallest_covering_chunk = min(
        chunk.total_compressed_size
        for ref_id in ids for path in (demo_catalog / ref_id).glob("*.geoparquet")
        for group in (pq.ParquetFile(path).metadata.row_group(i) for i in range(pq.ParquetFile(path).metadata.num_row_groups))
        for chunk in (group.column(j) for j in range(group.num_columns)) if chunk.path_in_schema.startswith("bbox."))

    def file_bytes() -> int:  # the sample files only: API answers (download URLs) vary with the route taken
        return sum(v["bytes"] for k, v in stats.snapshot()["by_path"].items() if k.startswith("/files/"))

    stats.reset()
    plain = client.get_samples(ref_ids=ids, ewoc_codes=codes, progress=False)
    bytes_plain = file_bytes()
    stats.reset()
    loose = client.get_samples(ref_ids=ids, ewoc_codes=codes, bbox=(-180, -90, 180, 90), progress=False)
    bytes_loose = file_bytes()
    assert len(plain) == len(loose) > 0
    # The same column chunks: at most the tails differ (a host's next tail is sized on the last footer read
    # there, and which of the two files finished last varies), by far less than any covering chunk.
    assert bytes_loose - bytes_plain < min(smallest_covering_chunk, 2 * 2048)


_KILLED_EXPORT = """
import sys
from worldcereal_explorer.rdm.client import RdmClient
with RdmClient(sys.argv[1], max_workers=1) as client:
    client.download_samples(sys.argv[2], progress=False)
"""


def test_resume_after_a_killed_export(demo_catalog, tmp_path):
    from worldcereal_explorer.server import serve_in_thread

    target = tmp_path / "resumed.parquet"
    with serve_in_thread(demo_catalog, latency_s=0.15) as server, RdmClient(server.url) as client:
        ids = [c.id for c in client.get_collections()]
        folder = parts_folder(target, query_key(SampleQuery(), ids, client.endpoint))
        process = subprocess.Popen([sys.executable, "-c", _KILLED_EXPORT, server.url, str(target)])
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                journal = folder / "journal.json"
                if journal.is_file() and len(json.loads(journal.read_text())["units"]) >= 5:
                    break
                assert process.poll() is None, "the export finished before it could be killed"
                time.sleep(0.05)
            process.kill()
            process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
        assert not target.exists() and folder.is_dir()
        done_before = len(json.loads((folder / "journal.json").read_text())["units"])
        stats = server.app.state.stats
        stats.reset()
        result = export_query(client, target, SampleQuery(), progress=False)
        resumed_bytes = stats.snapshot()["bytes_sent"]
        assert result.units_resumed >= done_before >= 5
        assert not folder.exists()
        assert_same_frame(read_exported(target), client.get_samples(progress=False))
        stats.reset()
        fresh = export_query(client, tmp_path / "fresh.parquet", SampleQuery(), progress=False)
        assert fresh.units_resumed == 0
        assert resumed_bytes < stats.snapshot()["bytes_sent"]


def test_dask_on_a_distributed_cluster_by_address(client, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    filters = {"spatial_extent": POLYGON, "min_quality_lc": 10}
    eager = client.get_samples(progress=False, **filters)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                                  host="127.0.0.1") as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        lazy = client.get_samples(progress=False, engine="dask", dask_client=address, **filters)
        assert_same_frame(lazy.compute().reset_index(drop=True), eager.reset_index(drop=True))
        counts = client.count_samples(progress=False, engine="dask", dask_client=address, h3_resolution=2, **filters)
        want, _ = expected_counts(eager, ("ewoc_code", "ref_id"), 2)
        assert counts["count"].tolist() == want["count"].tolist()
        assert counts.attrs["estimate"].samples == len(eager)
        path = client.download_samples(tmp_path / "dask.parquet", engine="dask", dask_client=address, progress=False,
                                       **filters)
        assert_same_frame(read_exported(path), eager)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["dask.parquet"]
        from worldcereal_explorer.rdm.samples.dask_engine import connect

        connect(address).close()  # the client the calls above made for this address (kept per address)
    assert np.isfinite(len(eager))
