"""Named collections whose extents cannot hold a matching sample are left out before any file byte is read."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import shapely
from shapely.geometry import box

from worldcereal_explorer.extents import BBox
from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.rdm.models import EPSG4326
from worldcereal_explorer.rdm.samples import SampleQuery
from worldcereal_explorer.rdm.samples.extent_check import extent_excludes
from worldcereal_explorer.server import serve_in_thread

from .conftest import IDS, REGION, assert_same_samples, oracle

#: Only the Dutch collection (lon 3.0..5.0, lat 50.25..50.75) reaches into this box.
WEST_BOX = (3.05, 50.3, 3.3, 50.5)
ONLY_IN_BOX = "2022_nld_nocover_point_110"


@pytest.fixture
def counted_server(sample_catalog):
    """A server of its own, so its traffic counts only this test's requests."""
    with serve_in_thread(sample_catalog) as server:
        yield server


def traffic(server, client) -> dict[str, dict[str, int]]:
    """Requests per path, once the server has recorded everything the client saw answered.

    The server records a response after its last byte went out; a last request of our own, recorded
    after the earlier ones, says when the counts are complete.
    """
    sentinel = f"/collections/{IDS[0]}/metadata/items"
    before = server.app.state.stats.snapshot()["by_path"].get(sentinel, {"requests": 0})["requests"]
    client.get_collection_metadata(IDS[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        by_path = server.app.state.stats.snapshot()["by_path"]
        if by_path.get(sentinel, {"requests": 0})["requests"] > before:
            by_path[sentinel]["requests"] -= 1
            return by_path
        time.sleep(0.01)
    raise AssertionError("the server never recorded the sentinel request")


def files_read(by_path: dict) -> set[str]:
    return {path.split("/")[3] for path in by_path if path.startswith("/files/")}


def test_a_bbox_outside_a_collections_extent_skips_its_file(counted_server, oracle_frames):
    with RdmClient(counted_server.url, max_workers=4) as client:
        gdf = client.get_samples(ref_ids=IDS, bbox=WEST_BOX, progress=False)
        by_path = traffic(counted_server, client)
    assert_same_samples(gdf, oracle(oracle_frames, IDS, spatial=box(*WEST_BOX)))
    assert len(gdf) > 0 and set(gdf["ref_id"]) == {ONLY_IN_BOX}
    assert files_read(by_path) == {ONLY_IN_BOX}
    # the extents came from one small lookup per collection
    assert all(by_path.get(f"/collections/{i}", {}).get("requests") == 1 for i in IDS)


def test_a_date_range_outside_a_collections_time_extent_skips_its_file(counted_server, oracle_frames):
    dates = ("2022-01-03", "2022-12-31")  # past the 2021 collections' extents and their day of slack
    with RdmClient(counted_server.url, max_workers=4) as client:
        gdf = client.get_samples(ref_ids=IDS, temporal_extent=dates, progress=False)
        counts = client.count_samples(ref_ids=IDS, temporal_extent=dates, by=("ref_id",))
        by_path = traffic(counted_server, client)
    assert_same_samples(gdf, oracle(oracle_frames, IDS, temporal=dates))
    assert set(gdf["ref_id"]) == {ONLY_IN_BOX}
    assert files_read(by_path) == {ONLY_IN_BOX}
    assert dict(zip(counts["ref_id"], counts["count"], strict=True)) == {ONLY_IN_BOX: len(gdf)}


def test_collections_a_search_returned_need_no_lookup(counted_server, oracle_frames):
    with RdmClient(counted_server.url, max_workers=4) as client:
        found = {c.id for c in client.get_collections(bbox=REGION)}
        assert set(IDS) <= found
        gdf = client.get_samples(ref_ids=IDS, bbox=WEST_BOX, progress=False)
        by_path = traffic(counted_server, client)
    assert_same_samples(gdf, oracle(oracle_frames, IDS, spatial=box(*WEST_BOX)))
    assert not [p for p in by_path if p.startswith("/collections/") and p.count("/") == 2 and p != "/collections/search"]
    assert files_read(by_path) == {ONLY_IN_BOX}


def test_a_search_for_a_polygon_reads_only_collections_the_polygon_reaches(counted_server, oracle_frames):
    """The RDM search knows only the polygon's box, which spans every collection here; the polygon does not."""
    from shapely.geometry import MultiPolygon

    far_away = box(20.0, 20.0, 20.1, 20.1)
    aoi = MultiPolygon([box(*WEST_BOX), far_away])
    with RdmClient(counted_server.url, max_workers=4) as client:
        found = {c.id for c in client.get_collections(bbox=aoi.bounds)}
        assert set(IDS) <= found  # the box reaches them all
        gdf = client.get_samples(spatial_extent=aoi, progress=False)
        by_path = traffic(counted_server, client)
    assert_same_samples(gdf, oracle(oracle_frames, IDS, spatial=aoi))
    assert files_read(by_path) == {ONLY_IN_BOX}


def test_unknown_ids_are_kept_for_the_read_to_report(counted_server):
    with RdmClient(counted_server.url, max_workers=4) as client, \
            pytest.warns(RuntimeWarning, match=r"skipped 1 collection\(s\) that could not be read: \['2021_xxx_nosuch"):
        gdf = client.get_samples(ref_ids=[*IDS, "2021_xxx_nosuch_point_110"], bbox=WEST_BOX, progress=False,
                                 on_error="skip")
    assert "2021_xxx_nosuch_point_110" in gdf.attrs["skipped"]


TWO_SQUARES = shapely.MultiPolygon([box(0, 0, 1, 1), box(4, 4, 5, 5)])


def _collection(bbox=None, temporal=None, crs=None):
    return SimpleNamespace(bbox=None if bbox is None else BBox(*bbox), temporal_extent=temporal,
                           spatial_crs=crs or EPSG4326)


@pytest.mark.parametrize(
    ("collection", "query", "excluded"),
    [
        (_collection((0, 0, 1, 1)), {"bbox": (2, 0, 3, 1)}, True),
        (_collection((0, 0, 1, 1)), {"bbox": (1.000001, 0, 3, 1)}, False),  # within the rounding margin
        (_collection((0, 0, 1, 1)), {"bbox": (0.5, 0.5, 3, 3)}, False),
        (_collection((0, 0, 1, 1), crs="http://www.opengis.net/def/crs/EPSG/0/3857"), {"bbox": (2, 0, 3, 1)}, False),
        (_collection(None), {"bbox": (2, 0, 3, 1)}, False),
        (_collection(temporal=("2021-01-01T00:00:00Z", "2021-12-31T23:59:59Z")),
         {"temporal_extent": ("2022-01-02", "2022-02-01")}, True),
        (_collection(temporal=("2021-01-01T00:00:00Z", "2021-12-31T23:59:59Z")),
         {"temporal_extent": ("2022-01-01", "2022-02-01")}, False),  # a day of slack
        (_collection(temporal=("2021-01-01", None)), {"temporal_extent": ("2030-01-01", "2030-02-01")}, False),
        (_collection(temporal=("garbage", "2021-12-31")), {"temporal_extent": ("2030-01-01", "2030-02-01")}, False),
        (_collection((0, 0, 1, 1)), {}, False),
        # between the two parts of a polygon: inside its box, outside the polygon
        (_collection((2, 2, 3, 3)), {"spatial_extent": TWO_SQUARES}, True),
        (_collection((0.5, 0.5, 3, 3)), {"spatial_extent": TWO_SQUARES}, False),
    ],
)
def test_extent_excludes_only_on_proof(collection, query, excluded):
    reason = extent_excludes(collection, SampleQuery.build(**query))
    assert bool(reason) is excluded, reason


def test_named_collections_look_up_extent_and_file_url_side_by_side(sample_catalog, oracle_frames):
    """A collection named by id, its extent unknown: the extent lookup and the file-URL lookup are one round
    trip, not two (the URL lookup starts before the extent has answered). Both calls are the client's own,
    over HTTP; the wrapper only notes when each began and ended."""
    with serve_in_thread(sample_catalog, latency_s=0.2) as server, RdmClient(server.url) as client:
        calls: list[tuple[str, float, float]] = []

        def timed(name):
            real = getattr(client, name)

            def call(*args, **kwargs):
                began = time.monotonic()
                try:
                    return real(*args, **kwargs)
                finally:
                    calls.append((name, began, time.monotonic()))
            return call

        for name in ("get_collection", "get_download_url"):
            setattr(client, name, timed(name))
        gdf = client.get_samples(ref_ids=[ONLY_IN_BOX], bbox=WEST_BOX, progress=False)
    assert_same_samples(gdf, oracle(oracle_frames, [ONLY_IN_BOX], spatial=box(*WEST_BOX)))
    (extent,) = [c for c in calls if c[0] == "get_collection"]
    (url,) = [c for c in calls if c[0] == "get_download_url"]
    assert url[1] < extent[2], calls  # begun while the extent was still on its way

