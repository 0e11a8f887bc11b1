"""A resumed download whose answer starts at the wrong byte fails, and leaves nothing behind."""

from __future__ import annotations

import pytest

from worldcereal_explorer.errors import DownloadError
from worldcereal_explorer.rdm.download import HttpRangeReader
from worldcereal_explorer.rdm.http import HttpPolicy

from . import fault_server as fs
from .conftest import assert_ours, call_raising, record

A, _ = fs.COLLECTION_IDS
FAST = dict(timeout=(2, 3), retries=2, backoff_factor=0.01, deadline=10)

KINDS = {
    "geoparquet": (f"/files/{A}/{A}.geoparquet", "parquet",
                   lambda c, d: c.download_collection_geoparquet(A, d)),
    "metadata": (f"/collections/{A}/metadata/download", "xlsx",
                 lambda c, d: c.download_collection_metadata(A, d)),
    "harmonization": (f"/files/{A}/{A}_harmonization.pdf", "pdf",
                      lambda c, d: c.download_collection_harmonization_info(A, d)),
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("wrong_start", [None, 196608], ids=["restart-from-0", "offset-196608"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_resume_with_wrong_content_range(server, make_client, payloads, tmp_path, kind, wrong_start):
    path, payload_kind, call = KINDS[kind]
    server.set(path, fs.drop_then_wrong_range(*payloads[payload_kind], wrong_start=wrong_start))
    client = make_client(server.url, **FAST)
    dst = tmp_path / "a" / "b"
    exc, took, _ = call_raising(lambda: call(client, dst))
    record(f"resume answered from byte {wrong_start or 0} ({kind})", took, exc)
    assert_ours(exc)
    assert isinstance(exc, DownloadError), f"{type(exc).__name__}: {exc}"
    assert server.wrong_ranges, "the client never asked to resume"
    requests = server.seen(path)
    assert requests[1].header("range").startswith("bytes="), requests[1].headers
    assert list(tmp_path.iterdir()) == [], sorted(p.name for p in tmp_path.rglob("*"))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", list(KINDS))
def test_resume_with_right_content_range_succeeds(server, make_client, payloads, tmp_path, kind):
    path, payload_kind, call = KINDS[kind]
    data, ctype = payloads[payload_kind]
    server.set(path, fs.drop_mid_body(data, times=1, content_type=ctype, then=fs.file_payload(data, ctype)))
    client = make_client(server.url, **FAST)
    exc, took, result = call_raising(lambda: call(client, tmp_path / "a" / "b"))
    record(f"dropped mid-body once, resumed correctly ({kind})", took, exc)
    assert exc is None, f"{type(exc).__name__}: {exc}"
    assert result.read_bytes() == data
    assert server.seen(path)[1].header("range").startswith("bytes=")
    assert [p.name for p in result.parent.iterdir()] == [result.name]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("wrong_start", [None, 196608], ids=["from-0", "offset-196608"])
def test_range_reader_rejects_wrong_content_range(server, payloads, wrong_start):
    from worldcereal_explorer.rdm.http import HttpTransport

    data, ctype = payloads["parquet"]
    path = f"/files/{A}/{A}.geoparquet"

    def run(ctx):
        span = fs.parse_range(ctx.request.header("range"), len(data))
        if span is None or span[1] == len(data) - 1:
            return fs.file_payload(data, ctype)(ctx)  # the tail (footer): answered correctly
        start = 0 if wrong_start is None else wrong_start
        if start == span[0]:
            start += 1
        return ctx.respond(206, data[start : span[1] + 1], ctype,
                           {"Content-Range": f"bytes {start}-{span[1]}/{len(data)}"})

    server.set(path, run)
    transport = HttpTransport(HttpPolicy(connect_timeout=2, read_timeout=3, retries=1, deadline=10))
    scope = transport.scope("range read", download=True)
    reader = HttpRangeReader(transport, f"{server.url}{path}{fs.SIGNED_QUERY}", scope=scope)
    exc, took, _ = call_raising(lambda: reader.read_at(100_000, 1000))
    record(f"range read answered from byte {wrong_start or 0}", took, exc)
    transport.close()
    assert_ours(exc)
    assert isinstance(exc, DownloadError), f"{type(exc).__name__}: {exc}"
