"""Issue 24: the opt-in local cache of queried collections, against the real local RDM server.

A repeat query reads (almost) nothing over the network and returns the same rows; a file changed on the
server is fetched again (ETag); the copy is re-laid out for range reads; the size bound evicts the least
recently used copy; the settings and served mode decide whether it is on.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests

from worldcereal_explorer.config import ENV_SAMPLE_CACHE_DIR, ENV_SAMPLE_CACHE_MAX_MB
from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.rdm.samples import read_samples
from worldcereal_explorer.rdm.samples.cache import CACHE_ROW_GROUP_ROWS, SampleCache
from worldcereal_explorer.rdm.samples.query import SampleQuery

from .conftest import assert_same_samples
from .real_layout import add_real_collection, finish, parcels

IDS = ["2021_fra_cachea_poly_110", "2021_fra_cacheb_poly_110"]
BOX = (2.0, 46.0, 2.3, 46.25)
N = 100_000


@pytest.fixture(scope="module")
def cache_catalog(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cache-catalog") / "catalog"
    root.mkdir()
    for seed, ref_id in enumerate(IDS):
        add_real_collection(root, ref_id, parcels(N, seed=seed, name=ref_id.upper()), "one")
    return finish(root)


@pytest.fixture(scope="module")
def cache_server(cache_catalog):
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(cache_catalog) as server:
        yield server


def sent(server) -> int:
    return server.app.state.stats.snapshot()["bytes_sent"]


def query_with(client, server, cache: SampleCache | None, ref_id: str = IDS[0]):
    """get_samples with ``cache``'s folder and bound as the settings (environment), or without a cache: the
    bytes ``server`` (the one ``client`` talks to) sent and the frame."""
    before = sent(server)
    saved = {k: os.environ.get(k) for k in (ENV_SAMPLE_CACHE_DIR, ENV_SAMPLE_CACHE_MAX_MB)}
    if cache is not None:
        os.environ[ENV_SAMPLE_CACHE_DIR] = str(cache.folder)
        os.environ[ENV_SAMPLE_CACHE_MAX_MB] = str(max(1, cache.max_bytes // 2**20))
    try:
        gdf = read_samples(client, SampleQuery.build(bbox=BOX), ref_ids=[ref_id], progress=False,
                           sample_cache=cache is not None)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return sent(server) - before, gdf


@pytest.fixture
def client(cache_server):
    with RdmClient(cache_server.url, retries=2, backoff_factor=0.01) as rdm:
        yield rdm


def test_the_local_server_sends_validators(cache_server):
    url = requests.get(f"{cache_server.url}/collections/{IDS[0]}/download", timeout=10).text
    head = requests.get(url, headers={"Range": "bytes=0-0"}, timeout=10)
    assert head.status_code == 206 and head.headers.get("ETag") and head.headers.get("Last-Modified")


def test_a_repeat_query_reads_little_and_returns_the_same_rows(client, cache_server, tmp_path):
    cache = SampleCache(tmp_path / "cache", 2**30)
    without, plain = query_with(client, cache_server, None)
    first, filled = query_with(client, cache_server, cache)
    second, cached = query_with(client, cache_server, cache)
    assert len(plain) > 0
    assert_same_samples(filled, plain)
    assert_same_samples(cached, plain)
    assert first >= without * 0.9  # the first query downloads the file
    assert second <= 0.05 * first, (first, second)
    copy = next((tmp_path / "cache").glob("*.parquet"))
    metadata = pq.read_metadata(copy)
    assert metadata.num_rows == N and metadata.num_row_groups == -(-N // CACHE_ROW_GROUP_ROWS)
    assert metadata.row_group(0).column(0).has_offset_index
    assert "bbox" in pq.read_schema(copy).names
    assert json.loads(pq.read_schema(copy).metadata[b"geo"])["columns"]["geometry"]["covering"]


def test_a_file_changed_on_the_server_is_fetched_again(client, cache_server, cache_catalog, tmp_path):
    cache = SampleCache(tmp_path / "cache", 2**30)
    query_with(client, cache_server, cache, IDS[1])
    path = next((cache_catalog / IDS[1]).glob("2021_*.geoparquet"))
    backup = tmp_path / "backup.parquet"
    shutil.copyfile(path, backup)
    try:
        changed = parcels(N, seed=99, name="CHANGED")
        changed.to_parquet(path, index=False, row_group_size=N, write_covering_bbox=False)
        stat = path.stat()
        os.utime(path, (stat.st_atime, stat.st_mtime + 10))  # a new ETag even within the same second
        again, gdf = query_with(client, cache_server, cache, IDS[1])
        assert again > 0.5 * path.stat().st_size
        assert len(gdf) and all(s.startswith("CHANGED_") for s in gdf["sample_id"])
    finally:
        shutil.copyfile(backup, path)


def test_the_size_bound_evicts_the_least_recently_used(client, cache_server, tmp_path):
    probe = SampleCache(tmp_path / "probe", 2**30)
    query_with(client, cache_server, probe, IDS[0])
    one = next((tmp_path / "probe").glob("*.parquet")).stat().st_size
    cache = SampleCache(tmp_path / "cache", max(2**20, int(one * 1.5) // 2**20 * 2**20))
    assert one < cache.max_bytes < 2 * one
    query_with(client, cache_server, cache, IDS[0])
    query_with(client, cache_server, cache, IDS[1])
    kept = [json.loads(p.read_text())["url"] for p in (tmp_path / "cache").glob("*.json")]
    assert len(kept) == 1 and IDS[1] in kept[0]
    assert not list((tmp_path / "cache").glob("*.download")) and not list((tmp_path / "cache").glob("*.tmp*"))


def test_two_readers_at_once_fill_it_once(client, cache_server, tmp_path):
    cache = SampleCache(tmp_path / "cache", 2**30)
    url = requests.get(f"{cache_server.url}/collections/{IDS[0]}/download", timeout=10).text
    scope = client.transport.scope("test", download=True)
    before = sent(cache_server)
    readers = []
    threads = [threading.Thread(target=lambda: readers.append(cache.reader(client.transport, url, scope=scope)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(readers) == 2 and readers[0].size == readers[1].size
    file_size = int(requests.head(url, timeout=10).headers["Content-Length"])
    assert sent(cache_server) - before < 1.5 * file_size  # one download, not two


def test_the_settings_decide_and_served_mode_turns_it_off(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLDCEREAL_SAMPLE_CACHE", "1")
    monkeypatch.setenv("WORLDCEREAL_SAMPLE_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("WORLDCEREAL_SAMPLE_CACHE_MAX_MB", "5")
    monkeypatch.setenv("WORLDCEREAL_SERVED_MODE", "auto")  # not under Voila: not served
    cache = SampleCache.from_settings()
    assert cache is not None and cache.folder == tmp_path / "c" and cache.max_bytes == 5 * 2**20
    assert SampleCache.from_settings(False) is None
    monkeypatch.setenv("WORLDCEREAL_SERVED_MODE", "always")
    assert SampleCache.from_settings() is None  # served: off unless the argument says so
    assert SampleCache.from_settings(True) is not None
    with pytest.raises(Exception, match="sample_cache='yes'"):
        SampleCache.from_settings("yes")


def _download(client, server, path, cache, ref_id=IDS[0]):
    """download_samples of the box with ``sample_cache=cache``: the bytes the server sent and the rows
    written (sample id and WKB geometry), in order."""
    before = sent(server)
    client.download_samples(path, ref_ids=[ref_id], bbox=BOX, progress=False, sample_cache=cache)
    table = pq.read_table(path, columns=["sample_id", "geometry"])
    rows = list(zip(table.column("sample_id").to_pylist(), table.column("geometry").to_pylist(), strict=True))
    return sent(server) - before, sorted(rows)


def test_download_samples_reads_through_the_cache_and_fetches_a_changed_file_again(
        client, cache_server, cache_catalog, tmp_path):
    folder = tmp_path / "cache"  # a folder turns it on, with the size bound of the settings
    _, plain = _download(client, cache_server, tmp_path / "plain.parquet", False)
    first, filled = _download(client, cache_server, tmp_path / "first.parquet", folder)
    second, again = _download(client, cache_server, tmp_path / "second.parquet", folder)
    assert plain and filled == plain and again == plain
    assert second <= 0.05 * first, (first, second)
    path = next((cache_catalog / IDS[0]).glob("2021_*.geoparquet"))
    backup = tmp_path / "backup.parquet"
    shutil.copyfile(path, backup)
    try:  # the same parcels (seed 0) under other names
        parcels(N, seed=0, name="CHANGED").to_parquet(path, index=False, row_group_size=N,
                                                      write_covering_bbox=False)
        stat = path.stat()
        os.utime(path, (stat.st_atime, stat.st_mtime + 10))  # a new ETag even within the same second
        third, changed = _download(client, cache_server, tmp_path / "third.parquet", folder)
        assert third > 0.5 * path.stat().st_size
        assert len(changed) == len(plain) and all(sample_id.startswith("CHANGED_") for sample_id, _ in changed)
    finally:
        shutil.copyfile(backup, path)


def test_the_client_keyword_and_attribute_reach_get_and_count_samples(client, cache_server, tmp_path):
    cache = SampleCache(tmp_path / "cache", 2**30)
    before = sent(cache_server)
    plain = client.count_samples(ref_ids=[IDS[0]], bbox=BOX, progress=False, sample_cache=False)
    without = sent(cache_server) - before
    counted = client.count_samples(ref_ids=[IDS[0]], bbox=BOX, progress=False, sample_cache=cache)
    assert counted.equals(plain) and list((tmp_path / "cache").glob("*.parquet"))
    client.sample_cache = cache  # the client's default for every sample method
    try:
        before = sent(cache_server)
        again = client.count_samples(ref_ids=[IDS[0]], bbox=BOX, progress=False)
        gdf = client.get_samples(ref_ids=[IDS[0]], bbox=BOX, progress=False)
        cached = sent(cache_server) - before
    finally:
        client.sample_cache = None
    assert again.equals(plain) and len(gdf) == int(plain["count"].sum())
    assert cached <= 0.05 * without, (without, cached)
    with pytest.raises(Exception, match="sample_cache=3"):
        client.get_samples(ref_ids=[IDS[0]], bbox=BOX, progress=False, sample_cache=3)


def test_the_dask_engine_reads_through_the_cache(client, cache_server, tmp_path):
    pytest.importorskip("dask_geopandas")
    import dask

    folder = tmp_path / "cache"
    plain = client.get_samples(ref_ids=[IDS[0]], bbox=BOX, progress=False)
    client.get_samples(ref_ids=[IDS[0]], bbox=BOX, progress=False, sample_cache=folder)  # fills it
    before = sent(cache_server)
    with dask.config.set(scheduler="synchronous"):
        lazy = client.get_samples(ref_ids=[IDS[0]], bbox=BOX, progress=False, engine="dask", sample_cache=folder)
        gdf = lazy.compute()
        counts = client.count_samples(ref_ids=[IDS[0]], bbox=BOX, progress=False, engine="dask",
                                      sample_cache=folder)
    assert sent(cache_server) - before < 20_000  # the validation requests only
    assert_same_samples(gdf, plain)
    assert int(counts["count"].sum()) == len(plain)


def test_time_is_not_asserted_here():
    """Timings stay in benchmarks/bench_real_layout.py."""
    assert time.monotonic() > 0
