"""Downloads and range reads survive dropped connections, and failures leave nothing behind."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from worldcereal_explorer.errors import DownloadError, QueryCancelledError
from worldcereal_explorer.rdm import download
from worldcereal_explorer.rdm.http import HttpPolicy, HttpTransport
from worldcereal_explorer.rdm.samples import SampleQuery, read_samples_from_url

from .conftest import IDS, assert_same_samples, oracle
from .flaky_file_server import FlakyFileServer


@pytest.fixture(scope="module")
def parquet_bytes(sample_catalog) -> bytes:
    """A real multi-row-group GeoParquet file of the sample catalogue (~hundreds of kB)."""
    return next((sample_catalog / IDS[0]).glob("*.geoparquet")).read_bytes()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def session():
    """The package's HTTP layer (named ``session`` for the range-read helpers that take one)."""
    transport = HttpTransport(HttpPolicy(retries=2, backoff_factor=0.01))
    yield transport
    transport.close()


def download_file(transport, url, dst, *, cancel_event=None, validate_parquet=False, **kwargs):
    scope = transport.scope("test download", cancel_event=cancel_event, download=True)
    return download.download_file(transport, url, dst, scope=scope, kind="parquet" if validate_parquet else None,
                                  **kwargs)


def HttpRangeReader(transport, url, **kwargs):  # noqa: N802 (stands for the class)
    return download.HttpRangeReader(transport, url, scope=transport.scope("test read", download=True), **kwargs)


def test_dropped_connection_is_resumed_byte_equal(tmp_path, session, parquet_bytes):
    drops = [len(parquet_bytes) // 3, 5000]  # cut twice, at different places
    with FlakyFileServer(parquet_bytes, drops=drops) as server:
        path = download_file(session, server.url, tmp_path / "out.geoparquet", validate_parquet=True)
    assert path.read_bytes() == parquet_bytes
    assert hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(parquet_bytes).hexdigest()
    ranges = [r["range"] for r in server.requests]
    assert len(ranges) == 3 and ranges[0] is None
    # resumed from what had arrived, not from zero
    start, end = ranges[1].removeprefix("bytes=").split("-")
    assert 0 < int(start) <= len(parquet_bytes) // 3 and int(end) == len(parquet_bytes) - 1
    assert leftovers(tmp_path) == ["out.geoparquet"]


def test_resume_when_the_server_ignores_range_starts_over(tmp_path, session, parquet_bytes):
    with FlakyFileServer(parquet_bytes, drops=[10_000], ignore_range=True) as server:
        path = download_file(session, server.url, tmp_path / "out.geoparquet", validate_parquet=True)
    assert path.read_bytes() == parquet_bytes
    assert leftovers(tmp_path) == ["out.geoparquet"]


def test_connection_dropping_every_time_fails_and_leaves_nothing(tmp_path, session, parquet_bytes):
    with FlakyFileServer(parquet_bytes, drops=[1000] * 10) as server, pytest.raises(DownloadError) as info:
        download_file(session, server.url, tmp_path / "out.geoparquet", max_resumes=3)
    assert "gave up" in str(info.value) or "incomplete" in str(info.value)
    assert leftovers(tmp_path) == []


def test_http_error_leaves_nothing(tmp_path, session, parquet_bytes):
    (tmp_path / "keep.txt").write_text("unrelated file")
    with FlakyFileServer(parquet_bytes, statuses=[404]) as server, pytest.raises(DownloadError, match="404"):
        download_file(session, server.url, tmp_path / "out.geoparquet")
    assert leftovers(tmp_path) == ["keep.txt"]


def test_existing_destination_survives_a_failed_download(tmp_path, session, parquet_bytes):
    destination = tmp_path / "out.geoparquet"
    destination.write_bytes(b"previous version")
    with FlakyFileServer(b"not parquet " * 100) as server, pytest.raises(DownloadError, match="Parquet"):
        download_file(session, server.url, destination, validate_parquet=True)
    assert destination.read_bytes() == b"previous version"
    assert leftovers(tmp_path) == ["out.geoparquet"]


def test_damaged_footer_is_rejected(tmp_path, session, parquet_bytes):
    damaged = parquet_bytes[:-200] + b"\x00" * 196 + b"PAR1"  # magic intact, footer garbage
    with FlakyFileServer(damaged) as server, pytest.raises(DownloadError, match="footer"):
        download_file(session, server.url, tmp_path / "out.geoparquet", validate_parquet=True)
    assert leftovers(tmp_path) == []


def test_cancelled_download_leaves_nothing(tmp_path, session, parquet_bytes):
    cancel = threading.Event()

    def progress(done: int, total: int | None) -> None:
        cancel.set()

    payload = parquet_bytes * 8  # several chunks
    with FlakyFileServer(payload) as server, pytest.raises(QueryCancelledError):
        download_file(session, server.url, tmp_path / "big.bin", progress=progress, cancel_event=cancel)
    assert leftovers(tmp_path) == []


def test_client_download_collection_geoparquet_is_byte_equal(sample_client, sample_catalog, tmp_path):
    path = sample_client.download_collection_geoparquet(IDS[1], tmp_path)
    original = next((sample_catalog / IDS[1]).glob("*.geoparquet"))
    assert Path(path).read_bytes() == original.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [Path(path).name]


def test_range_reads_resume_dropped_connections(session, parquet_bytes, oracle_frames):
    query = SampleQuery.build(spatial_extent=(4.0, 50.4, 5.0, 51.0))
    drops = [None, 2000, None, 700, None, 100]  # tail read fine, later ranges cut mid-body
    with FlakyFileServer(parquet_bytes, drops=drops) as server:
        result = read_samples_from_url(session, server.url, query, ref_id=IDS[0])
    assert any(r["range"] and not r["range"].startswith("bytes=-") for r in server.requests[1:])
    from worldcereal_explorer.rdm.samples import to_geodataframe

    gdf = to_geodataframe([result], query.columns)
    from shapely.geometry import box

    assert_same_samples(gdf, oracle(oracle_frames, [IDS[0]], spatial=box(4.0, 50.4, 5.0, 51.0)))


def test_range_reader_tolerates_a_server_without_range_support(session, parquet_bytes):
    with FlakyFileServer(parquet_bytes, ignore_range=True) as server:
        reader = HttpRangeReader(session, server.url).open()
        assert reader.size == len(parquet_bytes)
        assert reader.read_at(100, 50) == parquet_bytes[100:150]
        assert reader.read_at(len(parquet_bytes) - 10, 100) == parquet_bytes[-10:]
    assert len(server.requests) == 1  # the whole body came with the first answer and was kept


def test_range_reader_reads_only_what_is_asked(session, parquet_bytes):
    with FlakyFileServer(parquet_bytes) as server:
        reader = HttpRangeReader(session, server.url, tail_size=1024).open()
        assert reader.read_at(0, 4) == b"PAR1"
        reader.prefetch([(100_000, 101_000), (101_500, 103_000)], max_gap=1000)  # merged: the gap is small
        assert reader.read_at(100_000, 3000) == parquet_bytes[100_000:103_000]
        assert reader.read_at(100_500, 10) == parquet_bytes[100_500:100_510]  # served from the cache
    # the tail, then exactly the rest of the footer (its length is in the file's last 8 bytes), then the reads
    size = len(parquet_bytes)
    footer_start = size - 8 - int.from_bytes(parquet_bytes[-8:-4], "little")
    assert [r["range"] for r in server.requests] == [
        "bytes=-1024", f"bytes={footer_start}-{size - 1024 - 1}", "bytes=0-65535", "bytes=100000-102999"]
    assert reader.bytes_received == size - footer_start + 65536 + 3000 < len(parquet_bytes)


def test_ranges_apart_are_fetched_apart_by_default(session, parquet_bytes):
    with FlakyFileServer(parquet_bytes) as server:
        reader = HttpRangeReader(session, server.url, tail_size=1024).open()
        before = len(server.requests)
        reader.prefetch([(100_000, 101_000), (101_000, 102_000), (102_500, 103_000)])
    # touching ranges merge; the 500 bytes between the others are nobody's and are not fetched
    assert sorted(r["range"] for r in server.requests[before:]) == ["bytes=100000-101999", "bytes=102500-102999"]


def test_the_next_file_of_a_host_asks_for_about_its_footer(session, parquet_bytes):
    from worldcereal_explorer.rdm.range_reader import DEFAULT_TAIL, MIN_TAIL

    footer = int.from_bytes(parquet_bytes[-8:-4], "little") + 8
    with FlakyFileServer(parquet_bytes) as server:
        first = HttpRangeReader(session, server.url).open()
        asked_first = len(server.requests)
        second = HttpRangeReader(session, server.url).open()
    assert server.requests[0]["range"] == f"bytes=-{DEFAULT_TAIL}"
    assert asked_first == (1 if footer <= DEFAULT_TAIL else 2)  # a larger footer: one exact completion
    # the second file of the host: one request, footer-sized (3 % + 1 KiB of slack), no completion
    assert [r["range"] for r in server.requests[asked_first:]] == [
        f"bytes=-{max(MIN_TAIL, footer + footer // 32 + 1024)}"]
    assert first.read_cached(first.size - footer, footer) == second.read_cached(second.size - footer, footer)


BIG = "2021_big_test_point_110"


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """A ~1.5 MB GeoParquet file with many row groups, and its oracle frames."""
    from worldcereal_explorer.geoparquet import write_geoparquet

    from .catalog_builder import make_samples
    from .conftest import read_plain

    path = write_geoparquet(make_samples(BIG, 20_000, seed=5, center=(4.5, 50.8)),
                            tmp_path_factory.mktemp("big") / "big.geoparquet", row_group_size=1000)
    return path.read_bytes(), {BIG: {"full": read_plain(path)}}


@pytest.mark.parametrize("refuse_status", [200, 416])
def test_range_reads_work_where_suffix_and_open_ended_ranges_are_not_supported(session, big_file, refuse_status):
    """Azure Blob (the live files' store) honours only ``bytes=start-end`` for anonymous requests."""
    payload, frames = big_file
    extent = (4.0, 50.4, 4.3, 50.6)
    query = SampleQuery.build(spatial_extent=extent)
    with FlakyFileServer(payload, refuse={"suffix", "open_ended"}, refuse_status=refuse_status) as server:
        result = read_samples_from_url(session, server.url, query, ref_id=BIG)
    from shapely.geometry import box

    from worldcereal_explorer.rdm.samples import to_geodataframe

    expected = oracle(frames, [BIG], spatial=box(*extent))
    assert len(expected) > 0
    assert_same_samples(to_geodataframe([result], query.columns), expected)
    # The refused suffix request was abandoned before its body: only a fraction of the file came over.
    assert result.bytes_read < len(payload) / 2
    assert all(r["range"] is None or not r["range"].startswith("bytes=-") for r in server.requests[1:])


def test_resume_uses_explicit_ranges_where_open_ended_ones_are_refused(tmp_path, session, parquet_bytes):
    with FlakyFileServer(parquet_bytes, drops=[150_000], refuse={"suffix", "open_ended"}) as server:
        path = download_file(session, server.url, tmp_path / "out.geoparquet", validate_parquet=True)
    assert path.read_bytes() == parquet_bytes
    start, end = server.requests[1]["range"].removeprefix("bytes=").split("-")
    assert 0 < int(start) <= 150_000 and int(end) == len(parquet_bytes) - 1
    assert len(server.requests) == 2  # resumed, not restarted


def test_a_host_that_refuses_suffix_ranges_is_remembered(session, big_file):
    payload, _ = big_file
    query = SampleQuery.build(spatial_extent=(4.0, 50.4, 4.3, 50.6))
    with FlakyFileServer(payload, refuse={"suffix"}, refuse_status=200) as server:
        read_samples_from_url(session, server.url, query, ref_id=BIG)
        first = len(server.requests)
        assert any((r["range"] or "").startswith("bytes=-") for r in server.requests)
        read_samples_from_url(session, server.url, query, ref_id=BIG)
    second = server.requests[first:]
    assert second and not any((r["range"] or "").startswith("bytes=-") for r in second)


def test_a_bbox_over_point_files_filters_on_the_geometry_not_the_covering(session, parquet_bytes, oracle_frames):
    """For points the geometry column is smaller than the four covering columns and exact: read only it."""
    import io

    import pyarrow.parquet as pq
    from shapely.geometry import box

    from worldcereal_explorer.rdm.samples import SampleQuery, to_geodataframe
    from worldcereal_explorer.rdm.samples.layout import FileLayout

    metadata = pq.ParquetFile(io.BytesIO(parquet_bytes)).metadata
    assert FileLayout.from_schema(metadata.schema.to_arrow_schema()).points_only
    covering = []
    for i in range(metadata.num_row_groups):
        for j in range(metadata.num_columns):
            chunk = metadata.row_group(i).column(j)
            if chunk.path_in_schema.startswith("bbox."):
                start = min(o for o in (chunk.dictionary_page_offset, chunk.data_page_offset) if o)
                covering.append((start, start + chunk.total_compressed_size))
    assert covering
    bbox = (4.0, 50.4, 5.0, 51.0)
    query = SampleQuery.build(bbox=bbox)
    with FlakyFileServer(parquet_bytes) as server:
        result = read_samples_from_url(session, server.url, query, ref_id=IDS[0])
    read = []
    for request in server.requests:
        first, _, last = request["range"].removeprefix("bytes=").partition("-")
        if first:  # not the tail
            read.append((int(first), int(last) + 1))
    assert read and not [r for r in read for c in covering if r[0] < c[1] and c[0] < r[1]]
    assert_same_samples(to_geodataframe([result], query.columns), oracle(oracle_frames, [IDS[0]], spatial=box(*bbox)))


def test_a_hosts_mixed_footers_do_not_cost_a_second_request_each_time(session, parquet_bytes):
    """Files of one host with a small and a large footer, read in turn: once both were seen, every file's
    footer comes in one request (the tail fits the largest recent footer, not just the last one)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    wide = pa.table({f"column_{i:04d}": pa.array([i, i + 1], pa.int64()) for i in range(600)})
    sink = io.BytesIO()
    pq.write_table(wide, sink)
    large = sink.getvalue()
    large_footer = int.from_bytes(large[-8:-4], "little") + 8
    small_footer = int.from_bytes(parquet_bytes[-8:-4], "little") + 8
    assert large_footer > 2 * small_footer

    def open_and_count(server, payload) -> int:
        server.payload = payload
        before = len(server.requests)
        reader = HttpRangeReader(session, server.url).open()
        assert reader.read_cached(reader.size - 8, 8) == payload[-8:]
        return len(server.requests) - before

    with FlakyFileServer(large) as server:
        open_and_count(server, large)
        open_and_count(server, parquet_bytes)
        assert [open_and_count(server, payload) for payload in (large, parquet_bytes, large)] == [1, 1, 1]
