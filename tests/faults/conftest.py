"""Fixtures of the fault-injection tests: the fault server, small real payloads, client factories."""

from __future__ import annotations

import io
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .fault_server import FaultServer

LEGEND = Path(__file__).resolve().parents[2] / "worldcereal_explorer" / "demo" / "demo_legend.csv"
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n" + b"% padding\n" * 30000 + b"%%EOF\n"
)
#: Threads that belong to the test machinery, not to the client.
MACHINERY_PREFIXES = ("fault-server", "pytest_timeout", "Dummy-")


def _parquet_bytes() -> bytes:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    n = 1500
    table = pa.table({
        "sample_id": [f"s{i}" for i in range(n)],
        "ewoc_code": pa.array(np.full(n, 1101010001), pa.int64()),
        "blob": pa.array([rng.bytes(300) for _ in range(n)], pa.binary()),
    })
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="none", row_group_size=400)
    data = sink.getvalue()
    assert len(data) > 2 * 196608, len(data)  # room for a resume offset like 196608
    return data


def _xlsx_bytes() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["name", "value"])
    rng = random.Random(7)
    for i in range(6000):  # random text: the zip stays > 3 read chunks, so a drop mid-body is resumed
        sheet.append([f"item{i}", "".join(rng.choices("0123456789abcdef", k=48))])
    sink = io.BytesIO()
    book.save(sink)
    return sink.getvalue()


@pytest.fixture(scope="session")
def payloads() -> dict[str, tuple[bytes, str]]:
    return {
        "parquet": (_parquet_bytes(), "application/octet-stream"),
        "xlsx": (_xlsx_bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        "pdf": (PDF_BYTES, "application/pdf"),
    }


@pytest.fixture
def server(payloads) -> Iterator[FaultServer]:
    with FaultServer(payloads) as srv:
        yield srv


class Anonymous:
    """A token provider without a token (keeps the tests independent of $WORLDCEREAL_RDM_TOKEN)."""

    def get_access_token(self, *, interactive: bool = False) -> str | None:
        return None

    def handle_unauthorized(self) -> bool:
        return False


@pytest.fixture
def make_client() -> Iterator[Callable[..., object]]:
    from worldcereal_explorer.rdm.client import RdmClient

    made = []

    def make(url: str, **kwargs):
        kwargs.setdefault("token_provider", Anonymous())
        kwargs.setdefault("legend", LEGEND)
        client = RdmClient(url, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def client_threads() -> dict[int, str]:
    """Live threads that are not the test machinery's (ident -> name)."""
    return {
        t.ident: t.name for t in threading.enumerate()
        if t.ident is not None and not t.name.startswith(MACHINERY_PREFIXES) and t is not threading.main_thread()
    }


def wait_threads_gone(before: dict[int, str], bound_s: float = 3.0) -> dict[int, str]:
    """Poll (bounded) until no thread started since ``before`` is alive; return the ones left."""
    end = time.monotonic() + bound_s
    while True:
        left = {i: n for i, n in client_threads().items() if i not in before}
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.05)


def call_raising(func: Callable[[], object]) -> tuple[BaseException | None, float, object]:
    """Run ``func``; return (exception or None, seconds taken, result)."""
    started = time.monotonic()
    try:
        result = func()
    except BaseException as exc:  # noqa: BLE001 - the tests inspect what escaped
        return exc, time.monotonic() - started, None
    return None, time.monotonic() - started, result


def assert_ours(exc: BaseException | None) -> None:
    """The exception is one of the package's, not a requests/urllib3/builtin one."""
    assert exc is not None, "the call did not fail"
    from worldcereal_explorer.errors import WorldCerealExplorerError

    chain = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 20:
        chain.append(f"{type(current).__module__}.{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    assert type(exc).__module__.startswith("worldcereal_explorer"), chain
    assert isinstance(exc, WorldCerealExplorerError), chain


TIMINGS: list[tuple[str, float, str]] = []


def record(fault: str, seconds: float, exc: BaseException | None) -> None:
    """Keep (fault, seconds, error type) for the summary printed at the end of the session."""
    TIMINGS.append((fault, seconds, "OK (no error)" if exc is None else type(exc).__name__))


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    terminalreporter.section("fault timings")
    for fault, seconds, kind in TIMINGS:
        terminalreporter.write_line(f"{fault:<75} {seconds:7.2f} s  {kind}")
