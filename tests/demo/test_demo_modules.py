"""The demo package keeps its public names where callers import them, and its modules small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import worldcereal_explorer.demo as demo
import worldcereal_explorer.demo.generator as generator
from worldcereal_explorer.demo.codes import MAIZE
from worldcereal_explorer.demo.documents import minimal_pdf, write_json
from worldcereal_explorer.demo.specs import CollectionsFileError, demo_specs, parse_collection_specs

PUBLIC = ["make_demo_catalog", "make_synthetic_catalog", "demo_collection_ids", "DEMO_LEGEND_PATH",
          "DEMO_USER_SUB", "DEMO_USER_NAME", "PARTNER_USER_SUB", "CONSORTIUM_GROUP"]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_names_are_the_same_object_in_demo_and_demo_generator(name):
    assert name in demo.__all__ and name in generator.__all__
    assert getattr(demo, name) is getattr(generator, name)


def test_no_demo_module_is_over_500_lines():
    sizes = {p.name: len(p.read_text().splitlines()) for p in Path(demo.__file__).parent.glob("*.py")}
    assert max(sizes.values()) <= 500, sizes


def test_demo_collection_ids_are_unique_and_in_spec_order():
    ids = demo.demo_collection_ids()
    assert ids == [spec.collection_id for spec in demo_specs()]
    assert len(set(ids)) == len(ids) >= 14
    assert "2019kenharvestdemopoint100" in ids  # the old-style id without underscores


def test_write_json_is_atomic_and_keeps_non_ascii(tmp_path):
    target = tmp_path / "new" / "record.json"
    write_json(target, {"title": "Côte d'Ivoire"})
    assert target.read_bytes() == '{\n  "title": "Côte d\'Ivoire"\n}\n'.encode()
    assert json.loads(target.read_text(encoding="utf-8")) == {"title": "Côte d'Ivoire"}
    assert [p.name for p in target.parent.iterdir()] == ["record.json"]


def test_minimal_pdf_escapes_its_text_and_points_at_its_objects():
    pdf = minimal_pdf(["a (b) \\ c", "é"])
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.endswith(b"%%EOF\n")
    assert b"(a \\(b\\) \\\\ c) Tj" in pdf and b"(?) Tj" in pdf
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref:].startswith(b"xref\n")
    offsets = [int(line[:10]) for line in pdf[xref:].split(b"\n")[3:8]]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(f"{number} 0 obj".encode())


_ONE = """
[[collection]]
original_name = "2021_BEL_X-DEMO_POLY_110"
name = "x"
description = "x"
country = "BEL"
continent = "EU"
bbox = [2.8, 50.3, 5.9, 51.3]
geometry = "Polygon"
season = ["2021-05-15", "2021-08-31"]
n_samples = 10
[collection.crops]
MAIZE = 1.0
"""


def test_the_collections_file_is_checked_by_name():
    (spec,) = parse_collection_specs(_ONE, "t.toml")
    assert spec.original_name == "2021_BEL_X-DEMO_POLY_110" and spec.bbox == (2.8, 50.3, 5.9, 51.3)
    assert spec.crops == ((MAIZE, 1.0),)  # by its constant's name
    bad = {
        "MAIZE = 1.0": ("MAIZZE = 1.0", r"unknown crop name .*'MAIZZE'; allowed: .*MAIZE"),
        "n_samples = 10": ("n_samples = true", r"n_samples: expected an integer, got True"),
        'country = "BEL"': ('country = "BEL"\ncolour = 1', r"unknown keys \['colour'\]"),
        "bbox = [2.8, 50.3, 5.9, 51.3]": ("bbox = [2.8, 50.3]", r"bbox: expected 4 values"),
        'geometry = "Polygon"': ('geometry = "Polygon"\ncopy_of = "nope"', r"copy_of: 'nope' is not an earlier"),
    }
    for good, (wrong, message) in bad.items():
        with pytest.raises(CollectionsFileError, match=message):
            parse_collection_specs(_ONE.replace(good, wrong), "t.toml")
    with pytest.raises(CollectionsFileError, match=r"t.toml: original_name appears twice|appears twice"):
        parse_collection_specs(_ONE + _ONE, "t.toml")
    with pytest.raises(CollectionsFileError, match="not valid TOML"):
        parse_collection_specs("[[collection]\n", "t.toml")
