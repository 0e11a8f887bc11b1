"""Voilà on 127.0.0.1 and offline headless Chromium: the one launcher of the browser tests
(``tests/voila_support.py``) and of the documentation's screenshots (``scripts/docs-screenshots.py``).

The scripts import it as ``voila_process`` (their folder is on ``sys.path``), the tests as
``scripts.voila_process``. It needs only the standard library; Playwright objects are passed in.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

#: Debian's Chromium (``$CHROMIUM`` to use another), and the switches that keep it quiet and offline.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: What a page may load; everything else (map tiles, CDN fonts) is aborted, so pages cannot hang on DNS.
LOCAL_URL_PREFIXES = ("http://127.0.0.1", "ws://127.0.0.1", "data:")
#: How long Voilà may take to serve its first file (a loaded 2-core machine imports slowly).
READY_TIMEOUT_S = 90.0


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def voila_process(command: Sequence[str], *, env: dict[str, str], cwd: Path, log_path: Path,
                  ready_timeout_s: float = READY_TIMEOUT_S) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run a Voilà server on a free port of 127.0.0.1 until the block ends.

    Parameters
    ----------
    command
        The Python module and its arguments, e.g. ``["voila", "folder"]`` or
        ``["worldcereal_explorer.voila_setup", "app.ipynb", "--Voila.option=..."]``; this adds
        ``--no-browser``, the port and the loopback address. It runs as ``python -m`` with this Python.
    env
        The server's whole environment (its kernels inherit it).
    cwd
        The server's working folder.
    log_path
        Where its output (the kernels' stderr included) goes.
    ready_timeout_s
        How long it may take to serve its first file.

    Yields
    ------
    tuple of (str, subprocess.Popen)
        Its base URL (``http://127.0.0.1:<port>``, no trailing slash) and its process.

    Raises
    ------
    RuntimeError
        If the server exits before serving, or does not serve within ``ready_timeout_s``; the message
        holds the end of its log.
    """
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", *command, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
             "--Voila.port_retries=0"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:  # ready when a static file answers (GET / would start a kernel)
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited rc={proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(base + "/voila/static/voila.js", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"voila did not answer within {ready_timeout_s:g} s; see {log_path}: "
                                       f"{log_path.read_text()[-2000:]}") from None
                time.sleep(0.2)  # the pause between two probes
        yield base, proc
    finally:
        proc.terminate()  # SIGTERM: Voilà shuts its kernels down cleanly
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def block_non_local_requests(context) -> None:
    """Make a Playwright browser context abort at once every request that is not to this machine."""
    context.route(lambda url: not url.startswith(LOCAL_URL_PREFIXES), lambda route: route.abort())
