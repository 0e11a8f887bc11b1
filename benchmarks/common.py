"""Shared helpers of the benchmark scripts: cached synthetic catalogues and a local server with latency.

Catalogues are generated once into ``$WCE_BENCH_DIR`` (default ``/tmp/wce-benchmarks``) and reused.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

if importlib.util.find_spec("worldcereal_explorer") is None:  # run from a source checkout, not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_DIR = Path(os.environ.get("WCE_BENCH_DIR", "/tmp/wce-benchmarks"))


def synthetic_catalog(name: str, **kwargs) -> Path:
    """The catalogue ``name`` made by ``make_synthetic_catalog(**kwargs)``, generated on first use."""
    from worldcereal_explorer.demo import make_synthetic_catalog

    root = BENCH_DIR / name
    if not (root / "catalog.json").is_file():
        started = time.perf_counter()
        print(f"generating catalogue {name} ({kwargs}) ...", flush=True)
        make_synthetic_catalog(root, **kwargs)
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return root


def collection_ids(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if (p / "collection.json").is_file())


def warm_page_cache(root: Path) -> None:
    """Read every file once so neither contender pays for cold disk reads."""
    for path in root.rglob("*"):
        if path.is_file():
            path.read_bytes()


@contextmanager
def served(root: Path, latency_s: float):
    """The local RDM server on 127.0.0.1 with ``latency_s`` added to every request."""
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(root, latency_s=latency_s) as server:
        os.environ["WORLDCEREAL_LEGEND_URL"] = f"{server.url}/legend.csv"
        yield server


def mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.1f} MiB"
