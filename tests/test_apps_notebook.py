"""The dashboard notebook runs top to bottom in a real kernel against the local RDM server."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import nbformat
import pytest

from tests.notebook_support import execute_notebook

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "apps" / "rdm_explorer.ipynb"


@pytest.mark.notebook
def test_apps_notebook_builds_the_dashboard(rdm_url, client, monkeypatch, tmp_path):
    monkeypatch.setenv("WORLDCEREAL_RDM_URL", rdm_url)
    monkeypatch.setenv("WORLDCEREAL_LEGEND_URL", f"{rdm_url}/legend.csv")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # The kernel must import this checkout even where the package is not pip-installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    shell_cells = len(nb.cells)
    # A probe cell appended here (not in the app): wait for the first search and report what it found.
    nb.cells.append(nbformat.v4.new_code_cell(id="probe", source=
        "import json\n"
        "assert explorer.state.wait(120)\n"
        "json.dumps({'status': explorer.state.status, 'endpoint': explorer.state.client.endpoint,\n"
        "            'ids': sorted(c.id for c in explorer.state.collections),\n"
        "            'chart_labels': len(explorer.chart.labels)})"
    ))
    execute_notebook(nb, workdir=tmp_path, timeout=180)

    widget_outputs = [o for cell in nb.cells[:shell_cells] if cell.cell_type == "code" for o in cell.outputs
                      if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widget_outputs, f"the notebook did not display the dashboard: {[c.outputs for c in nb.cells]}"
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert not errors
    # the cell's value, not a print: a kernel's stdout with worker threads running may be routed elsewhere
    result = next(o for o in nb.cells[-1].outputs if o.output_type == "execute_result")
    report = json.loads(ast.literal_eval(result["data"]["text/plain"]))
    assert report["status"] == "idle"
    assert report["endpoint"] == rdm_url.rstrip("/")
    assert report["ids"] == sorted(c.id for c in client.get_collections())
    assert report["chart_labels"] > 0
