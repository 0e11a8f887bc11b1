"""The query state is composed of services around one query object: traits from the query's fields, no
import circle inside state/, services that only use what they are handed."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from traitlets import Any as AnyTrait
from traitlets import Int, List

from worldcereal_explorer.errors import BadExtentError
from worldcereal_explorer.rdm.query import SAMPLE_FIELDS, SEARCH_FIELDS, RdmQuery
from worldcereal_explorer.state import SAMPLE_INPUTS, SEARCH_INPUTS, RdmQueryState
from worldcereal_explorer.state.query import input_trait

STATE_DIR = Path(__file__).resolve().parents[2] / "worldcereal_explorer" / "state"
SERVICE_MODULES = ("services", "search", "sample_fetch", "preview", "exports", "legend_loading", "session")


def _imports(module: str) -> set[str]:
    """The state modules ``module`` imports (at module level, lazily or for type checking)."""
    names = {p.stem for p in STATE_DIR.glob("*.py")}
    found = set()
    for node in ast.walk(ast.parse((STATE_DIR / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            targets = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
            found |= {t for t in targets if t in names}
    return found


def test_state_modules_import_without_a_circle():
    graph = {p.stem: _imports(p.stem) for p in STATE_DIR.glob("*.py") if p.stem != "__init__"}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or reaches(nxt, goal, seen | {nxt}) for nxt in graph[start] - seen)

    circular = sorted(m for m in graph if reaches(m, m, set()))
    assert circular == []
    for module in (*SERVICE_MODULES, "serialize", "links", "snippet"):
        assert "query" not in graph[module], module  # the state imports its services, never the reverse


def test_services_touch_no_private_attribute_of_what_they_are_handed():
    for module in SERVICE_MODULES:
        tree = ast.parse((STATE_DIR / f"{module}.py").read_text())
        private = [f"{module}:{node.lineno} {ast.unparse(node)}" for node in ast.walk(tree)
                   if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                   and not (isinstance(node.value, ast.Name) and node.value.id == "self")]
        assert private == []


def test_input_traits_are_the_query_fields():
    names = RdmQueryState.class_trait_names()
    for spec in dataclasses.fields(RdmQuery):
        assert spec.name in names
        trait = RdmQueryState.class_traits()[spec.name]
        assert trait.help == spec.metadata["doc"]
        if "max" in spec.metadata:
            assert (trait.min, trait.max) == (spec.metadata["min"], spec.metadata["max"])
    assert SEARCH_INPUTS == SEARCH_FIELDS and SAMPLE_INPUTS == SAMPLE_FIELDS


def test_a_new_query_field_becomes_a_trait():
    @dataclasses.dataclass(frozen=True)
    class WithIrrigation:
        irrigation_status: str | None = dataclasses.field(
            default=None, metadata={"doc": "irrigation status of the samples", "search": False})
        tags: tuple[str, ...] = dataclasses.field(default=(), metadata={"doc": "tags", "search": False})
        min_confidence: int = dataclasses.field(default=0, metadata={"doc": "c", "search": False, "min": 0, "max": 9})

    traits = {spec.name: input_trait(spec) for spec in dataclasses.fields(WithIrrigation)}
    assert isinstance(traits["irrigation_status"], AnyTrait) and traits["irrigation_status"].allow_none
    assert traits["irrigation_status"].help == "irrigation status of the samples"
    assert isinstance(traits["tags"], List) and traits["tags"].default() == []
    assert isinstance(traits["min_confidence"], Int) and traits["min_confidence"].max == 9


def test_state_query_is_the_one_query_object():
    state = RdmQueryState("http://127.0.0.1:9", auto_search=False)
    try:
        assert state.query == RdmQuery()
        state.bbox = [3, 50, 6, 52]
        state.ewoc_codes = [1101060000, 1101010001, 1101060000]
        state.selected_ids = ["b", "a"]
        assert state.query == RdmQuery(bbox=(3, 50, 6, 52), ewoc_codes=(1101010001, 1101060000),
                                       selected_ids=("b", "a"))
        # the fetch reads the selected collections (else the found ones), private ones only with a session
        assert state.fetch_query().selected_ids == ("b", "a")
        state.selected_ids = []
        assert state.fetch_query().selected_ids == ()
        state.bbox = (10, 50, 5, 52)  # typed, not yet valid: the trait holds it, the query says why not
        assert state.bbox == (10, 50, 5, 52)
        with pytest.raises(BadExtentError, match="west"):
            state.query  # noqa: B018 - the property raises
    finally:
        state.close()
