"""Inside a Jupyter kernel, what worker threads produce reaches the widgets on the kernel's thread.

Widgets create new widget models in their observers (table rows, tree rows, map layers); when those
observers ran on worker threads the browser could receive an update naming a model it did not know yet
("Cannot read properties of undefined (reading 'create_view')"). These tests run the state in a real
kernel and record which thread every observed change ran on.
"""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from tests.conftest import REPO_ROOT
from tests.notebook_support import execute_notebook

pytestmark = pytest.mark.notebook

SETUP = """
import threading, json
from worldcereal_explorer.state import RdmQueryState
state = RdmQueryState({url!r}, auto_search=False, auto_preview=True)
state.bbox = (-5.0, 40.0, 10.0, 55.0)
seen = []
done = threading.Event()
def record(change):
    seen.append((change["name"], threading.current_thread().name))
    if change["name"] == "samples":
        done.set()
state.observe(record, names=["collections", "class_counts", "samples", "status", "message", "progress",
                             "legend", "preview_counts", "preview_status"])
"""


def _run(cells: list[str], rdm_url: str, tmp_path, monkeypatch) -> list:
    monkeypatch.setenv("WORLDCEREAL_LEGEND_URL", f"{rdm_url}/legend.csv")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("WORLDCEREAL_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP.format(url=rdm_url)), *map(nbformat.v4.new_code_cell, cells),
                nbformat.v4.new_code_cell("state.close()\nprint(json.dumps(seen))")]
    execute_notebook(nb, workdir=tmp_path, timeout=180)
    errors = [o for cell in nb.cells for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
    return json.loads(nb.cells[-1].outputs[-1]["text"])


def _check(seen: list) -> None:
    names = {name for name, _ in seen}
    # the background work did deliver (else the thread check below proves nothing)
    assert {"collections", "samples", "progress", "legend", "preview_counts"} <= names, names
    off_thread = [(name, thread) for name, thread in seen if thread != "MainThread"]
    assert not off_thread, off_thread


def test_background_results_apply_on_the_kernel_thread_while_it_waits(rdm_url, tmp_path, monkeypatch):
    """The kernel's thread blocks in wait(): the wait itself applies what the workers queued."""
    seen = _run(["state.search(delay=0.0)\nassert state.wait(120)\nassert state.collections",
                 "state.fetch_samples(wait=False)\nassert state.wait(120)\nassert len(state.samples) > 0\n"
                 "assert state.wait_preview(120) and state.preview_counts is not None"],
                rdm_url, tmp_path, monkeypatch)
    _check(seen)


def test_background_results_apply_on_the_kernel_thread_while_it_is_idle(rdm_url, tmp_path, monkeypatch):
    """The kernel's thread is free (as under Voilà between clicks): its event loop applies the queue."""
    wait_without_draining = (
        "import asyncio\n"
        "for _ in range(2400):\n"
        "    if done.is_set() and state.preview_status in ('ready', 'error'):\n"
        "        break\n"
        "    await asyncio.sleep(0.05)  # the kernel's loop runs the queued updates meanwhile\n"
        "assert done.is_set() and state.preview_status == 'ready', state.preview_status")
    seen = _run(["state.search(delay=0.0)\nstate.fetch_samples(wait=False)", wait_without_draining],
                rdm_url, tmp_path, monkeypatch)
    _check(seen)
