"""Executing a notebook in a real kernel, collecting every output it sends.

nbclient takes a cell as done when the kernel's reply arrives on the shell channel, then waits only
``iopub_timeout`` (4 s by default) for the outputs, which travel on the IOPub channel behind every
widget message the cell sent. A dashboard cell sends hundreds of those; on a loaded 2-core machine the
backlog can outlast 4 s, and nbclient then logs a warning and keeps the cell with no outputs at all
(seen in CI as "the notebook did not display the dashboard"). Here the outputs are waited for until the
kernel reports the cell idle, and a real timeout is an error, not an empty cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbclient import NotebookClient
from nbformat import NotebookNode

#: Seconds the outputs of a cell may trail its reply before the run fails.
IOPUB_TIMEOUT_S = 120


def execute_notebook(nb: NotebookNode, *, workdir: Path, timeout: int, **options: Any) -> NotebookClient:
    """Run ``nb`` in place in a fresh ``python3`` kernel started in ``workdir``; return the client."""
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", iopub_timeout=IOPUB_TIMEOUT_S,
                            raise_on_iopub_timeout=True, resources={"metadata": {"path": str(workdir)}},
                            **options)
    client.execute()
    return client
