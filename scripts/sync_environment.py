"""Write environment.yml and binder/environment.yml from pyproject.toml (the one source of dependency lists).

Usage: python scripts/sync_environment.py [--check]   (--check: exit 1 when a file is out of date)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
#: PyPI names whose conda-forge package is named differently.
CONDA_NAMES = {"h3": "h3-py"}
EXTRA_RE = re.compile(r"^worldcereal-explorer\[(.+)\]$")


def requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project["optional-dependencies"]
    out = [r for r in project["dependencies"] if ";" not in r]
    todo = list(extras)
    while todo:
        for req in optional[todo.pop()]:
            nested = EXTRA_RE.match(req)
            if nested:
                todo.extend(nested.group(1).split(","))
            elif ";" in req:
                continue  # an environment marker (e.g. tomli for Python < 3.11): the conda files pin 3.11
            elif req not in out:
                out.append(req)
    return out


def conda_line(req: str) -> str:
    name = re.split(r"[<>=!\[ ]", req, maxsplit=1)[0]
    rest = req[len(name):]
    rest = re.sub(r"^\[[^\]]*\]", "", rest)  # conda has no extras: dask[dataframe] -> dask
    return f"  - {CONDA_NAMES.get(name, name)}{rest}"


def render(header: str, extras: list[str], pip_install: bool) -> str:
    lines = [header.rstrip(), "name: worldcereal-explorer", "channels:", "  - conda-forge", "dependencies:",
             "  - python=3.11", "  - pip"]
    lines += [conda_line(r) for r in requirements(extras)]
    if pip_install:
        lines += ["  - pip:", "      - -e ."]
    return "\n".join(lines) + "\n"


TARGETS = {
    ROOT / "environment.yml": (
        "# GENERATED from pyproject.toml by scripts/sync_environment.py; do not edit by hand.\n"
        "# Conda environment (conda-forge) for Terrascope / JupyterHub users:\n"
        "#   conda env create -f environment.yml && conda activate worldcereal-explorer",
        ["demo", "dask"], True),
    ROOT / "binder" / "environment.yml": (
        "# GENERATED from pyproject.toml by scripts/sync_environment.py; do not edit by hand.\n"
        "# Binder environment: what the demo dashboard needs; postBuild installs the package itself.",
        ["demo"], False),
}


def main(argv: list[str]) -> int:
    stale = []
    for path, (header, extras, pip_install) in TARGETS.items():
        text = render(header, extras, pip_install)
        if "--check" in argv:
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text)
    if stale:
        print("out of date (run python scripts/sync_environment.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
