"""The training panel's class-scheme drop-down, its report of ignored and unmapped codes, and seeding the crop
picker from a scheme, on samples fetched from the local demo RDM (numbers checked against plain dict lookups in
WorldCereal's file)."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources

import pytest

from worldcereal_explorer.errors import BadParameterError

from .test_panel import make_panel, settle, state, table_rows  # noqa: F401  (fixtures)


def scheme_of(name: str) -> dict[int, str]:
    raw = json.loads((resources.files("worldcereal_explorer") / "data" / "class_mappings.json").read_bytes())
    return {int(k): v for k, v in raw[name].items()}


def test_the_drop_down_offers_every_scheme_and_maps_by_it(state, make_panel):  # noqa: F811
    panel = make_panel()
    assert list(panel.scheme.options) == list(panel.service.scheme_names) and "CROPTYPE24" in panel.scheme.options
    assert panel.scheme.layout.display == "none"  # shown only for the scheme source
    samples = state.fetch_samples()
    settle(panel)
    panel.source.value = "scheme"
    assert panel.scheme.layout.display is None
    panel.scheme.value = "CROPTYPE28"
    settle(panel)
    assert panel.service.mapping_source == "scheme" and panel.service.scheme == "CROPTYPE28"
    scheme = scheme_of("CROPTYPE28")
    codes = [int(c) for c in samples["ewoc_code"]]
    expected = Counter(scheme[c] for c in codes if c in scheme and scheme[c] != "ignore")
    shown = {a["cls"]: int(a["count"]) for a, _ in table_rows(panel.mapping_html.value)}
    assert shown == expected and set(panel.service.result["downstream_class"]) == set(expected)
    missing = Counter(c for c in codes if c not in scheme)
    unmapped_rows = {int(a["code"]): int(a["samples"]) for a, _ in table_rows(panel.unmapped_html.value)}
    assert unmapped_rows == dict(missing) and missing
    labels = {int(a["code"]): cells[1] for a, cells in table_rows(panel.unmapped_html.value)}
    assert labels == {c: state.legend.label(c) for c in missing}
    assert f"data-unmapped='{sum(missing.values())}'" in panel.mapping_html.value
    assert "CROPTYPE28" in panel.mapping_html.value and "dropped" in panel.mapping_html.value
    assert "Codes without a class (dropped)" in panel.unmapped_html.value
    assert panel.service.card.data["class_mapping"]["unmapped_report"]

    panel.scheme.value = "CROPTYPE24"
    settle(panel)
    scheme = scheme_of("CROPTYPE24")
    ignored = sum(1 for c in codes if scheme.get(c) == "ignore")
    assert ignored and f"data-ignored='{ignored}'" in panel.mapping_html.value
    assert panel.service.mapped_summary["ignored_samples"] == ignored
    assert panel.service.card.data["class_mapping"]["ignored_samples"] == ignored

    panel.unmapped.value = "error"  # CROPTYPE24 names every demo code: nothing to refuse
    settle(panel)
    assert panel.service.status == "idle"
    panel.scheme.value = "CROPTYPE28"
    settle(panel)
    assert panel.service.status == "error" and "have no class in class scheme CROPTYPE28" in panel.service.message
    assert "data-status='error'" in panel.status.value

    with pytest.raises(BadParameterError, match="'CROPTYPE42' is not known; allowed: LANDCOVER10"):
        panel.service.scheme = "CROPTYPE42"


def test_a_scheme_seeds_the_crop_picker_through_the_state(state, make_panel):  # noqa: F811
    panel = make_panel()
    panel.source.value = "scheme"
    panel.scheme.value = "LANDCOVER10"
    found = state.counts_by_code(unfiltered=True)
    grouping = panel.seed_picker()
    scheme = scheme_of("LANDCOVER10")
    assert grouping == {c: scheme[c] for c in sorted(found) if c in scheme and scheme[c] != "ignore"}
    assert list(state.ewoc_codes) == sorted(grouping) and dict(state.grouping) == grouping
    assert any(scheme.get(c) == "ignore" for c in found)  # the ignored codes are left unticked
