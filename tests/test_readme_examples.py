"""README.md's examples run unchanged: every ```python block, against the local RDM server over real HTTP.

Each block runs in a fresh Python process (as a person pasting it into a notebook or a script would), with
``$WORLDCEREAL_RDM_URL`` and ``$WORLDCEREAL_LEGEND_URL`` pointing at the local server and a private config
and cache folder, so neither the live RDM nor the developer's own settings take part. Like a notebook cell,
the value of each top-level expression is kept; the test then checks those values against what the block
asks for (a ``get_samples(...)`` call's frame holds only the asked codes, inside the asked area; a dashboard
has searched and found collections).

Blocks in other languages are listed in :data:`NOT_RUN` with the reason, so a new one is a decision.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys

import geopandas as gpd
import pytest
import shapely

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"

#: First line of a block that is not run here -> why.
NOT_RUN = {
    "bash run-demo.sh": "shell: installs into .venv and serves the dashboard until stopped (a person runs it; "
                        "the `worldcereal-explorer demo` it ends in is tested in tests/server), then runs the "
                        "whole test suite, this test included",
}

#: Runs the block given on stdin the way a notebook does (each top-level expression's value kept) and
#: prints one line, after this marker, describing those values as JSON (a GeoDataFrame is also written to
#: ``value<i>.parquet`` in the working folder, for the test to check row by row).
MARKER = "README-VALUES:"
RUNNER = f"""
import ast, json, sys

def describe(value, i):
    import geopandas as gpd
    out = {{"type": type(value).__name__}}
    if isinstance(value, gpd.GeoDataFrame):
        value.to_parquet(f"value{{i}}.parquet")
        out.update(rows=len(value), crs=str(value.crs))
    elif type(value).__name__ == "RdmExplorer":
        searched = value.state.wait(120)  # it searches in the background, as in a notebook
        out.update(searched=searched, status=value.state.status, message=value.state.message,
                   collections=len(value.state.collections))
        value.close()
    return out

namespace = {{"__name__": "__main__"}}
values = []
for node in ast.parse(sys.stdin.read(), "README.md").body:
    if isinstance(node, ast.Expr):
        value = eval(compile(ast.Expression(node.value), "README.md", "eval"), namespace)
        values.append(describe(value, len(values)))
    else:
        exec(compile(ast.Module([node], []), "README.md", "exec"), namespace)
print({MARKER!r} + json.dumps(values), flush=True)
"""


def readme_blocks() -> list[tuple[str, str, int]]:
    """``(language, code, line)`` of every fenced block of README.md, in order."""
    blocks = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", README.read_text(), re.S | re.M):
        blocks.append((match.group(1), match.group(2), README.read_text()[: match.start()].count("\n") + 1))
    return blocks


PYTHON_BLOCKS = [(code, line) for language, code, line in readme_blocks() if language == "python"]


def test_every_block_is_run_or_listed_with_a_reason():
    assert PYTHON_BLOCKS, "README.md has no python block: this test would check nothing"
    for language, code, line in readme_blocks():
        if language == "python":
            continue
        first = code.strip().splitlines()[0] if code.strip() else ""
        assert any(first.startswith(start) for start in NOT_RUN), (
            f"README.md line {line}: a ```{language} block starting {first!r} is neither run by this test nor "
            f"listed in NOT_RUN with the reason"
        )


def _expectations(code: str) -> list[tuple[str, dict]]:
    """For each top-level expression of ``code``: what its value must be, from the call it makes."""
    expected = []
    for node in ast.parse(code).body:
        if not isinstance(node, ast.Expr):
            continue
        calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
        names = [c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", "") for c in calls]
        if "get_samples" in names:
            call = calls[names.index("get_samples")]
            expected.append(("samples", {k.arg: ast.literal_eval(k.value) for k in call.keywords}))
        elif "RdmExplorer" in names:
            expected.append(("dashboard", {}))
        else:
            expected.append(("value", {}))
    return expected


@pytest.mark.parametrize(("code", "line"), PYTHON_BLOCKS, ids=[f"README.md:{line}" for _, line in PYTHON_BLOCKS])
def test_python_block_runs_against_the_local_server(code, line, rdm_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORLDCEREAL_", "QUERY_STRING"))}
    env.update(WORLDCEREAL_RDM_URL=rdm_url, WORLDCEREAL_LEGEND_URL=f"{rdm_url}/legend.csv",
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", RUNNER], input=code, capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, f"README.md line {line} failed:\n{done.stderr[-3000:]}"
    described = [json.loads(out[len(MARKER):]) for out in done.stdout.splitlines() if out.startswith(MARKER)]
    assert len(described) == 1, done.stdout[-2000:]
    values = described[0]
    expected = _expectations(code)
    assert len(values) == len(expected)
    for i, (value, (kind, kwargs)) in enumerate(zip(values, expected, strict=True)):
        if kind == "samples":
            assert value["type"] == "GeoDataFrame" and value["rows"] > 0, value
            assert value["crs"] == "EPSG:4326", value
            frame = gpd.read_parquet(tmp_path / f"value{i}.parquet")
            if "ewoc_codes" in kwargs:
                assert set(frame["ewoc_code"]) <= set(kwargs["ewoc_codes"])
            if isinstance(kwargs.get("spatial_extent"), tuple):  # (west, south, east, north)
                # every sample touches the area (a parcel may reach out of it)
                assert frame.intersects(shapely.box(*kwargs["spatial_extent"])).all()
        elif kind == "dashboard":
            assert value["type"] == "RdmExplorer" and value["searched"], value
            assert value["status"] == "idle" and value["collections"] > 0, value
        else:
            assert value["type"] != "NoneType", f"README.md line {line}: an expression shows nothing"
