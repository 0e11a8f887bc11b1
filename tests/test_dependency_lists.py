"""environment.yml and binder/environment.yml list exactly what pyproject.toml declares."""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO_ROOT


def test_environment_files_agree_with_pyproject():
    result = subprocess.run([sys.executable, "scripts/sync_environment.py", "--check"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_declared_dependency_is_imported_somewhere():
    """Declared and unused (fsspec, aiohttp, pyjwt once) is dead weight for every user."""
    import re

    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    import_names = {"python-multipart": None,  # FastAPI imports it to parse the IdP forms
                    "pyarrow": "pyarrow", "ipykernel": None, "voila": None,
                    "authlib": "authlib", "urllib3": "urllib3", "distributed": None,  # the user's cluster (dask_client=...); not imported by the package
                    "dask-geopandas": "dask_geopandas", "dask": "dask", "openpyxl": "openpyxl"}
    sources = "\n".join(p.read_text() for p in (REPO_ROOT / "worldcereal_explorer").rglob("*.py"))
    deps = list(project["dependencies"])
    for extra in ("server", "dask"):
        deps += [d for d in project["optional-dependencies"][extra] if not d.startswith("worldcereal-explorer")]
    for dep in deps:
        name = re.split(r"[<>=!\[ ]", dep, maxsplit=1)[0]
        module = import_names.get(name, name.replace("-", "_"))
        if module is None:
            continue  # a runtime, not imported: the kernel and the Voila server
        assert re.search(rf"^\s*(import|from) {module}\b", sources, re.M), f"{name} is declared but never imported"
