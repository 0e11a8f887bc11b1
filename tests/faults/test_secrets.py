"""No URL signature or bearer token reaches logs, exception messages, exception chains, pickles or reprs."""

from __future__ import annotations

import logging
import pickle
import traceback

import pytest

from worldcereal_explorer.rdm.download import HttpRangeReader
from worldcereal_explorer.rdm.http import HttpPolicy, HttpTransport

from . import fault_server as fs
from .conftest import assert_ours, call_raising, record

A, B = fs.COLLECTION_IDS
TOKEN = "TOKEN-SECRET-XYZ"
SECRETS = (fs.SECRET_SIG, TOKEN)
FAST = dict(timeout=(2, 3), retries=1, backoff_factor=0.01, deadline=8)
GEO = f"/files/{A}/{A}.geoparquet"
PDF = f"/files/{A}/{A}_harmonization.pdf"
XLSX = f"/collections/{A}/metadata/download"


def _echo_status(code):
    """An error answer that echoes the request line and the Authorization header (as some servers do)."""

    def run(ctx):
        message = f"{ctx.request.method} {ctx.request.target} failed; Authorization: {ctx.request.header('authorization')}"
        return ctx.json({"error": {"message": message}}, status=code)

    return run


def _not_a_url(ctx):
    return ctx.respond(200, f"ftp://elsewhere/x.parquet{fs.SIGNED_QUERY}".encode(), "text/plain")


SCENARIOS = {
    "geoparquet download ok": ({}, lambda c, d: c.download_collection_geoparquet(A, d)),
    "subset download ok": ({}, lambda c, d: c.download_collection_geoparquet(A, d, subset=True)),
    "harmonization ok": ({}, lambda c, d: c.download_collection_harmonization_info(A, d)),
    "metadata xlsx ok": ({}, lambda c, d: c.download_collection_metadata(A, d)),
    "file 500 echoing URL+token": ({GEO: _echo_status(500)}, lambda c, d: c.download_collection_geoparquet(A, d)),
    "file 403 echoing URL+token": ({GEO: _echo_status(403)}, lambda c, d: c.download_collection_geoparquet(A, d)),
    "file dropped always": ({GEO: "drop"}, lambda c, d: c.download_collection_geoparquet(A, d)),
    "file wrong resume range": ({GEO: "wrong-range"}, lambda c, d: c.download_collection_geoparquet(A, d)),
    "file redirect loop": ({PDF: fs.redirect_loop()}, lambda c, d: c.download_collection_harmonization_info(A, d)),
    "file hangs (deadline)": ({GEO: fs.hang()}, lambda c, d: c.download_collection_geoparquet(A, d)),
    "download route not a URL": ({f"/collections/{A}/download": _not_a_url},
                                 lambda c, d: c.download_collection_geoparquet(A, d)),
    "route 500 + metadata 500 echoing": ({f"/collections/{A}/download": _echo_status(500),
                                          f"/collections/{A}/metadata/items": _echo_status(500)},
                                         lambda c, d: c.get_download_url(A)),
    "API 401 echoing token": ({"/collections/search": _echo_status(401)}, lambda c, d: c.get_collections()),
    "API 500 echoing token": ({f"/collections/{A}": _echo_status(500)}, lambda c, d: c.get_collection(A)),
    "xlsx 500 echoing": ({XLSX: _echo_status(500)}, lambda c, d: c.download_collection_metadata(A, d)),
}


def _install(server, payloads, routes):
    for path, behaviour in routes.items():
        if behaviour == "drop":
            data, ctype = payloads["parquet"]
            behaviour = fs.drop_mid_body(data, times=None, content_type=ctype)
        elif behaviour == "wrong-range":
            behaviour = fs.drop_then_wrong_range(*payloads["parquet"], wrong_start=196608)
        server.set(path, behaviour)


def _texts_of(exc: BaseException) -> list[str]:
    """Everything an exception can show: messages and reprs of its chain, the traceback, pickles."""
    texts = []
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        texts += [repr(v) for v in vars(current).values()] if hasattr(current, "__dict__") else []
        current = current.__cause__ or current.__context__
    texts.append("".join(traceback.format_exception(exc)))
    texts.append(pickle.dumps(exc).decode("latin-1"))
    try:
        from tblib import pickling_support
    except ImportError:
        pass
    else:
        pickling_support.install(exc)
        texts.append(pickle.dumps(exc).decode("latin-1"))
    return texts


def _assert_clean(where: str, texts: list[str]) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked in {where}: ...{_around(text, secret)}..."


def _around(text: str, secret: str) -> str:
    i = text.find(secret)
    return text[max(0, i - 120) : i + 40]


@pytest.fixture
def debug_logs(caplog):
    urllib3_logger = logging.getLogger("urllib3")
    previous = urllib3_logger.level
    urllib3_logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    caplog.set_level(logging.DEBUG, logger="worldcereal_explorer")
    yield caplog
    urllib3_logger.setLevel(previous)


@pytest.mark.timeout(40)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_no_secret_in_output(server, make_client, payloads, tmp_path, debug_logs, scenario):
    from worldcereal_explorer.rdm.auth import StaticTokenProvider

    routes, call = SCENARIOS[scenario]
    _install(server, payloads, routes)
    client = make_client(server.url, token_provider=StaticTokenProvider(TOKEN),
                         policy=HttpPolicy(connect_timeout=2, read_timeout=3, retries=1, backoff_factor=0.01,
                                           deadline=8, download_deadline=4, download_read_timeout=3))
    exc, took, result = call_raising(lambda: call(client, tmp_path / "dl"))
    record(f"secrets: {scenario}", took, exc)
    requests = server.seen()
    if any(path.startswith("/files/") for path in routes) or scenario.endswith(" ok"):
        assert any(fs.SECRET_SIG in r.target for r in requests) or "xlsx" in scenario, "no signed URL was used"
    assert any(r.header("authorization") == f"Bearer {TOKEN}" for r in requests), "the token was never sent"
    if "ok" not in scenario.split():
        assert_ours(exc)
        _assert_clean(f"exception of '{scenario}'", _texts_of(exc))
    else:
        assert exc is None, f"{type(exc).__name__}: {exc}"
        _assert_clean("result", [str(result), repr(result)])
    records = debug_logs.records
    assert any(r.name.startswith("urllib3") for r in records), "urllib3 DEBUG logs were not captured"
    _assert_clean("log records", [r.getMessage() for r in records] + [debug_logs.text])
    _assert_clean("client reprs", [repr(client), str(client), repr(client.transport), str(client.transport),
                                   repr(client.policy), repr(client.token_provider), str(client.token_provider),
                                   repr(client.transport.session.auth), repr(vars(client))])


@pytest.mark.timeout(40)
@pytest.mark.parametrize("fault", ["ok", "wrong-range", "403-echo", "drop-always"])
def test_range_reader_no_secret(server, payloads, debug_logs, fault):
    data, ctype = payloads["parquet"]
    if fault == "wrong-range":
        def run(ctx):
            span = fs.parse_range(ctx.request.header("range"), len(data))
            return ctx.respond(206, data[:1000], ctype, {"Content-Range": f"bytes 0-999/{len(data)}"}) \
                if span and span[0] > 0 and span[1] != len(data) - 1 else fs.file_payload(data, ctype)(ctx)
        server.set(GEO, run)
    elif fault == "403-echo":
        server.set(GEO, _echo_status(403))
    elif fault == "drop-always":
        server.set(GEO, fs.drop_mid_body(data, times=None, content_type=ctype))
    netloc = server.url.split("//", 1)[1]
    transport = HttpTransport(HttpPolicy(connect_timeout=2, read_timeout=3, retries=1, deadline=8),
                              token=lambda: TOKEN, token_hosts=frozenset({netloc}))
    scope = transport.scope(f"range read of {server.url}{GEO}{fs.SIGNED_QUERY}", download=True)
    reader = HttpRangeReader(transport, f"{server.url}{GEO}{fs.SIGNED_QUERY}", scope=scope, what="collection x")
    try:
        exc, took, result = call_raising(lambda: reader.read_at(100_000, 5000))
    finally:
        transport.close()
    record(f"secrets: range read {fault}", took, exc)
    if fault == "ok":
        assert exc is None and result == data[100_000:105_000]
    else:
        assert_ours(exc)
        _assert_clean(f"range read exception ({fault})", _texts_of(exc))
    _assert_clean("log records", [r.getMessage() for r in debug_logs.records] + [debug_logs.text])
    _assert_clean("reader/transport reprs", [repr(reader), reader.source, repr(transport)])


def test_call_scope_repr_is_redacted():
    transport = HttpTransport(HttpPolicy())
    scope = transport.scope(f"GET http://h/files/x.parquet{fs.SIGNED_QUERY}")
    _assert_clean("CallScope repr", [repr(scope), str(scope)])
