"""Shared helpers of the benchmark scripts: cached synthetic catalogues and a local server with latency.

Catalogues are generated once into ``$WCE_BENCH_DIR`` (default ``/tmp/wce-benchmarks``) and reused.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

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


class ServerProcess:
    """The local RDM server running in a child process (its own GIL, like a remote server)."""

    def __init__(self, url: str, process: subprocess.Popen):
        self.url = url
        self.process = process

    def reset_stats(self) -> None:
        requests.get(f"{self.url}/_bench/reset", timeout=30).raise_for_status()

    def stats(self) -> dict:
        """Requests and response bytes since the last reset, leaving out the benchmark routes."""
        snapshot = requests.get(f"{self.url}/_bench/stats", timeout=30).json()
        own = [v for k, v in snapshot["by_path"].items() if k.startswith("/_bench/")]
        return {"requests": snapshot["requests"] - sum(v["requests"] for v in own),
                "bytes_sent": snapshot["bytes_sent"] - sum(v["bytes"] for v in own)}


@contextmanager
def served(root: Path, latency_s: float):
    """The local RDM server on 127.0.0.1, in a child process, adding ``latency_s`` to every request."""
    process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("serve_process.py")), str(root),
                                str(latency_s)], stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the benchmark server did not start (exit code {process.poll()})")
        os.environ["WORLDCEREAL_LEGEND_URL"] = f"{url}/legend.csv"
        yield ServerProcess(url, process)
    finally:
        process.terminate()
        process.wait(30)


def mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.1f} MiB"
