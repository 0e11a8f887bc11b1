"""Copy as code: the generated Python, run in a fresh kernel, fetches the same samples as the state."""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from tests.conftest import REPO_ROOT
from tests.notebook_support import execute_notebook

pytestmark = pytest.mark.notebook

EUROPE = (-5.0, 40.0, 10.0, 55.0)


def _ids(samples) -> set[tuple[str, str]]:
    return set(zip(samples["sample_id"].astype(str), samples["ref_id"].astype(str), strict=True))


def _run_code(code: str, rdm_url: str, tmp_path, monkeypatch) -> set[tuple[str, str]]:
    monkeypatch.setenv("WORLDCEREAL_LEGEND_URL", f"{rdm_url}/legend.csv")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("WORLDCEREAL_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell(
        "import json\nprint(json.dumps(sorted(map(list, zip(samples['sample_id'].astype(str), "
        "samples['ref_id'].astype(str))))))")]
    execute_notebook(nb, workdir=tmp_path, timeout=180)
    errors = [o for cell in nb.cells for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
    return {tuple(pair) for pair in json.loads(nb.cells[-1].outputs[-1]["text"])}


def test_generated_code_fetches_the_same_samples(rdm_url, tmp_path, monkeypatch):
    from worldcereal_explorer.state import RdmQueryState

    state = RdmQueryState(rdm_url, auto_search=False)
    try:
        state.bbox = EUROPE
        state.start_date, state.end_date = "2018-01-01", "2023-12-31"
        state.min_quality_ct = 10
        state.refresh()
        everything = state.fetch_samples()
        assert len(everything) > 0
        # a crop filter and a drawn polygon too: the code must carry both exactly
        state.ewoc_codes = [int(everything["ewoc_code"].value_counts().index[0])]
        state.polygon = {"type": "Polygon", "coordinates": [[[-5.0, 40.0], [10.0, 40.0], [10.0, 55.0],
                                                             [-5.0, 40.0]]]}
        state.grouping = {state.ewoc_codes[0]: "my group"}
        state.refresh()
        expected = state.fetch_samples()
        assert 0 < len(expected) < len(everything)
        code = state.to_code()
        assert "polygon='POLYGON" in code and "grouping = " in code
        assert _run_code(code, rdm_url, tmp_path, monkeypatch) == _ids(expected)
    finally:
        state.close()
