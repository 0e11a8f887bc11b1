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


_SERVE_CAPPED = """
import sys, threading
sys.path.insert(0, sys.argv[1])
import serve_process, uvicorn
from worldcereal_explorer.server import create_app as _create_app
RATE = float(sys.argv[4])
def create_app(*args, **kwargs):
    return _create_app(*args, max_bytes_per_s=RATE, **kwargs)
serve_process.create_app = create_app
sys.argv = [sys.argv[0], sys.argv[2], sys.argv[3]]
serve_process.main()
"""


@contextmanager
def served(root: Path, latency_s: float, max_bytes_per_s: float | None = None):
    """The local RDM server on 127.0.0.1, in a child process, adding ``latency_s`` to every request.

    ``max_bytes_per_s`` caps the bandwidth of file downloads (the server's bandwidth play).
    """
    here = Path(__file__).resolve().parent
    if max_bytes_per_s is None:
        command = [sys.executable, str(here / "serve_process.py"), str(root), str(latency_s)]
    else:
        command = [sys.executable, "-c", _SERVE_CAPPED, str(here), str(root), str(latency_s), str(max_bytes_per_s)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
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


def run_child(script: str, *args: str) -> dict:
    """Run ``script --child ARGS`` in a fresh process; it prints one JSON line (incl. its peak RSS) last."""
    import json

    done = subprocess.run([sys.executable, script, "--child", *args], check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_bytes() -> int:
    """This process's peak resident set size (Linux: ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
