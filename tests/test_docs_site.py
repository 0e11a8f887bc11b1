"""The documentation site's API reference covers the public API (cheap: reads docs/, builds nothing).

The strict build itself (``scripts/docs-build.sh``, run by run-tests.sh) fails on broken references, warnings and
notebook errors; these tests catch a public name that no page documents, which the build cannot see.
"""

from __future__ import annotations

import importlib
import json
import re

import pytest

from .conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"


def _directives() -> set[str]:
    """Every ``::: dotted.path`` of the reference pages."""
    found: set[str] = set()
    for page in (DOCS / "reference").glob("*.md"):
        found.update(re.findall(r"^::: ([\w.]+)\s*$", page.read_text(), re.M))
    return found


def _documented(package: str, name: str, directives: set[str]) -> bool:
    """Whether ``package.name`` is rendered by a directive: on its own (where it is defined, or where the
    package lazily imports it from), or as a public member of a documented module."""
    obj = getattr(importlib.import_module(package), name)
    own_module, own_name = getattr(obj, "__module__", None), getattr(obj, "__name__", None)
    candidates = {f"{package}.{name}"}
    if isinstance(own_module, str) and isinstance(own_name, str):
        candidates.add(f"{own_module}.{own_name}")
    if candidates & directives:
        return True
    for directive in directives:
        # rendered on its own from another module that holds this very object (the package re-exports it)
        parent, _, last = directive.rpartition(".")
        if last == name and getattr(_module_or_none(parent), name, None) is obj:
            return True
        # or a public member of a documented module holding this very object
        module = _module_or_none(directive)
        if getattr(module, name, None) is obj and name in _public_names(directive):
            return True
    return False


def _module_or_none(dotted: str):
    """The module ``dotted`` names, or ``None`` where it names a class or function (or nothing importable)."""
    try:
        return importlib.import_module(dotted)
    except (ImportError, ValueError):  # ValueError: an empty name
        return None


def _public_names(module: str) -> list[str]:
    """A module's ``__all__``; without one, its names without a leading underscore (what mkdocstrings shows)."""
    mod = importlib.import_module(module)
    return list(getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")])


@pytest.mark.parametrize("package", [
    "worldcereal_explorer",
    "worldcereal_explorer.widgets",
    "worldcereal_explorer.state",
    "worldcereal_explorer.training",
    "worldcereal_explorer.config",
    "worldcereal_explorer.rdm",
    "worldcereal_explorer.rdm.auth",
])
def test_every_public_name_is_in_the_api_reference(package):
    directives = _directives()
    names = [n for n in importlib.import_module(package).__all__ if n != "__version__"]
    missing = [n for n in names if not _documented(package, n, directives)]
    assert not missing, f"{package}: not in docs/reference/*.md: {missing}"


def test_top_level_exports_are_listed_on_the_reference_index():
    import worldcereal_explorer

    index = (DOCS / "reference" / "index.md").read_text()
    missing = [n for n in worldcereal_explorer.__all__ if n != "__version__" and f"`{n}`" not in index]
    assert not missing, f"docs/reference/index.md does not list {missing}"


def test_every_cli_command_has_a_how_to_mention():
    from worldcereal_explorer.cli import build_parser

    # the usage line lists the sub-commands as "{demo,serve,...}", as a user reads them in --help
    commands = re.search(r"\{([\w,-]+)\}", build_parser().format_usage()).group(1).split(",")
    assert "demo" in commands and "samples" in commands
    how_to = (DOCS / "how-to" / "cli.md").read_text()
    missing = [c for c in commands if f"worldcereal-explorer {c}" not in how_to]
    assert not missing, f"docs/how-to/cli.md never shows {missing}"


def test_notebooks_are_committed_without_outputs():
    notebooks = sorted((DOCS / "notebooks").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        cells = json.loads(path.read_text())["cells"]
        assert not any(c.get("outputs") for c in cells if c["cell_type"] == "code"), f"{path.name} has outputs"
