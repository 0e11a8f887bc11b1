"""The demo catalogue: deterministic, synthetic and labelled so, consistent between its files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import h3
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from openpyxl import load_workbook

from worldcereal_explorer.demo import (
    CONSORTIUM_GROUP,
    DEMO_LEGEND_PATH,
    DEMO_USER_SUB,
    PARTNER_USER_SUB,
    make_demo_catalog,
    make_synthetic_catalog,
)
from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.extents import BBox
from worldcereal_explorer.rdm.models import Collection, CollectionId

LEGEND_COLUMNS = ("ewoc_code;level_1;level_2;level_3;level_4;level_5;definition;label_full;LC_code;LC_label;"
                  "sampling_label;sampling_label_v0;finetune_class")


def records(catalog: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(catalog.glob("*/collection.json"))}


def files_of(folder: Path) -> tuple[Path, Path]:
    full = [p for p in folder.glob("*.geoparquet") if not p.name.startswith("sample_")]
    subset = list(folder.glob("sample_*.parquet"))
    assert len(full) == 1 and len(subset) == 1, list(folder.iterdir())
    return full[0], subset[0]


def dashed(code: int) -> str:
    text = f"{code:010d}"
    return f"{text[:2]}-{text[2:4]}-{text[4:6]}-{text[6:9]}-{text[9]}"


def ancestors(code: str) -> list[str]:
    """Candidate ancestors of a dashed code: the code with trailing parts zeroed, coarsest first."""
    a, b, c, d, _ = code.split("-")
    candidates = [f"{a}-00-00-000-0", f"{a}-{b}-00-000-0", f"{a}-{b}-{c}-000-0", f"{a}-{b}-{c}-{d}-0"]
    return [x for x in dict.fromkeys(candidates) if x != code]


def read_legend(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)


def test_same_seed_same_catalogue(demo_catalog, tmp_path):
    again = make_demo_catalog(tmp_path / "again")  # default seed, like the session fixture
    json_files = sorted(p.relative_to(demo_catalog) for p in demo_catalog.rglob("*.json"))
    assert json_files == sorted(p.relative_to(again) for p in again.rglob("*.json"))
    assert len(json_files) >= 2 * 14 + 1  # collection.json + metadata_items.json per collection, catalog.json
    for rel in json_files:
        assert (demo_catalog / rel).read_bytes() == (again / rel).read_bytes(), rel
    for folder in sorted(p for p in demo_catalog.iterdir() if p.is_dir()):
        for first, second in zip(files_of(folder), files_of(again / folder.name), strict=True):
            pd.testing.assert_frame_equal(gpd.read_parquet(first).to_wkb(), gpd.read_parquet(second).to_wkb())
    assert (again / "legend.csv").read_bytes() == (demo_catalog / "legend.csv").read_bytes()


def test_other_seed_other_samples(tmp_path):
    one = make_demo_catalog(tmp_path / "one", seed=1)
    two = make_demo_catalog(tmp_path / "two", seed=2)
    name = "2021_bel_lpisdemo_poly_110/collection.json"
    assert (one / name).read_bytes() != (two / name).read_bytes()
    assert json.loads((one / "catalog.json").read_text())["seed"] == 1


def test_catalogue_is_labelled_synthetic(demo_catalog):
    info = json.loads((demo_catalog / "catalog.json").read_text())
    assert info["synthetic"] is True and info["seed"] == 2024 and "worldcereal-explorer" in info["generator"]
    assert "SYNTHETIC" in info["description"]
    recs = records(demo_catalog)
    assert sorted(info["collections"]) == sorted(recs)
    assert all("synthetic demo" in r["title"] for r in recs.values())


def test_collections_cover_the_world_and_follow_the_conventions(demo_catalog):
    recs = records(demo_catalog)
    assert 14 <= len(recs) <= 18
    assert sum(r["featureCount"] for r in recs.values()) > 15_000
    key_order = list(Collection(id="x", access_type="Public").to_api())
    continents = set()
    for cid, rec in recs.items():
        assert list(rec) == key_order, cid  # every field of the live object, in the live order
        assert Collection.from_api(rec).to_api() == rec
        parts = CollectionId.parse(cid)
        first, last = rec["extent"]["temporal"]["interval"][0]
        assert parts.year == int(first[:4]) == int(last[:4]), cid
        assert parts.geometry_type == rec["type"] and parts.information_content in {"100", "110", "111"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00", first) and first <= last
        meta = {i["name"]: i["value"] for i in json.loads((demo_catalog / cid / "metadata_items.json").read_text())}
        continents.add(meta["CuratedDataSet:ObservationCuratedDataset:Geometry:Continent"])
    assert {"EU", "AF", "NA", "SA", "AS", "OC"} <= continents
    assert {r["type"] for r in recs.values()} == {"Point", "Polygon"}
    assert any("_" not in cid for cid in recs), "keep one old-style id without underscores"
    assert {r["accessType"] for r in recs.values()} == {"Public", "Private", "Restricted"}


def test_private_and_restricted_have_access_files(demo_catalog):
    recs = records(demo_catalog)
    for cid, rec in recs.items():
        access = demo_catalog / cid / "access.json"
        if rec["accessType"] == "Public":
            assert not access.exists()
            assert (demo_catalog / cid / "harmonization.pdf").is_file()
            continue
        assert not (demo_catalog / cid / "harmonization.pdf").exists()  # only public data has one
        rule = json.loads(access.read_text())
        if rec["accessType"] == "Private":
            assert rule == {"owner": DEMO_USER_SUB, "groups": []}
        else:
            assert rule == {"owner": PARTNER_USER_SUB, "groups": [CONSORTIUM_GROUP]}


def test_sample_files_match_their_collection(demo_catalog):
    saw_extract = set()
    for cid, rec in records(demo_catalog).items():
        full, subset = files_of(demo_catalog / cid)
        meta = pq.ParquetFile(full).metadata
        geo = json.loads(meta.metadata[b"geo"])
        assert geo["version"] == "1.1.0" and "bbox" in geo["columns"]["geometry"]["covering"]
        assert geo["columns"]["geometry"]["geometry_types"] == [rec["type"]]
        schema = pq.read_schema(full)
        for name, kind in [("ewoc_code", "int64"), ("irrigation_status", "int32"), ("extract", "int32"),
                           ("quality_score_lc", "int32"), ("quality_score_ct", "int32"),
                           ("sampling_ewoc_code", "int64"), ("valid_time", "timestamp[us]")]:
            assert str(schema.field(name).type) == kind, (cid, name)
        assert "string" in str(schema.field("sample_id").type) and "string" in str(schema.field("h3_l3_cell").type)

        gdf = gpd.read_parquet(full)
        assert gdf.crs.to_epsg() == 4326 and len(gdf) == rec["featureCount"]
        assert gdf["sample_id"].is_unique
        counts = gdf["ewoc_code"].value_counts()
        assert rec["ewocCodes"] == sorted(counts.index.tolist(), key=lambda c: (-counts[c], c))  # most frequent first
        assert sorted(int(c) for c in gdf["irrigation_status"].unique()) == rec["irrTypes"]
        assert BBox(*gdf.total_bounds).as_tuple() == pytest.approx(rec["extent"]["spatial"]["bbox"][0], abs=1e-6)
        first, last = rec["extent"]["temporal"]["interval"][0]
        assert gdf["valid_time"].min() == pd.Timestamp(first) and gdf["valid_time"].max() == pd.Timestamp(last)
        assert gdf["valid_time"].dt.tz is None
        assert gdf["quality_score_lc"].between(0, 100).all() and gdf["quality_score_ct"].between(0, 100).all()
        assert (gdf["sampling_ewoc_code"] == gdf["ewoc_code"] - gdf["ewoc_code"] % 10).all()
        if rec["collectionId"].endswith("100"):
            assert (gdf["quality_score_ct"] == 0).all()
        saw_extract |= set(gdf["extract"].unique().tolist())

        centres = shapely.centroid(gdf.geometry.values)
        cells = [h3.latlng_to_cell(p.y, p.x, 3) for p in centres]
        assert gdf["h3_l3_cell"].tolist() == cells
        assert all(h3.is_valid_cell(c) and h3.get_resolution(c) == 3 for c in set(cells))

        sub = gpd.read_parquet(subset)
        assert sorted(sub["sample_id"]) == sorted(gdf.loc[gdf["extract"] > 0, "sample_id"])
    assert saw_extract == {0, 1, 2, 99}


def test_metadata_items_agree_with_files(demo_catalog):
    example_keys = {"CuratedDataSet:ReferenceCuratedDataSet:NameCuratedDataSet:", "CuratedDataSet::TitleCuratedDataSet:",
                    "OriginalDataSet:License:TypeOfLicense:", "CuratedDataSet:ConfidenceCropType::",
                    "CuratedDataSet:ConfidenceLandCover::", "GeoParquetDownloadUrl", "SampleDownloadUrl", "codeStats"}
    for cid, rec in records(demo_catalog).items():
        items = json.loads((demo_catalog / cid / "metadata_items.json").read_text())
        assert all(list(i) == ["id", "name", "value", "type"] and isinstance(i["value"], str) for i in items)
        assert len({i["id"] for i in items}) == len(items)
        meta = {i["name"]: i["value"] for i in items}
        assert example_keys <= set(meta)
        assert ("CuratedDataSet:Harmonization:Pdf" in meta) == (rec["accessType"] == "Public")
        assert meta["CuratedDataSet:ReferenceCuratedDataSet:NameCuratedDataSet:"] == cid
        assert meta["CuratedDataSet:ObservationCuratedDataset::NoOfObservations"] == str(rec["featureCount"])
        assert meta["CuratedDataSet:ConfidenceCropType::"] == str(rec["confidenceCropType"])
        stats = json.loads(meta["codeStats"])
        assert list(stats) == ["LcStats", "EwocStats", "IrrStats"]
        gdf = pd.read_parquet(files_of(demo_catalog / cid)[0], columns=["ewoc_code", "irrigation_status"])
        assert {s["Code"]: s["Count"] for s in stats["EwocStats"]} == gdf["ewoc_code"].value_counts().to_dict()
        assert {s["Code"]: s["Count"] for s in stats["IrrStats"]} == gdf["irrigation_status"].value_counts().to_dict()
        assert sum(s["Count"] for s in stats["LcStats"]) == rec["featureCount"]
        counts = [s["Count"] for s in stats["EwocStats"]]
        assert counts == sorted(counts, reverse=True)

        sheet = load_workbook(demo_catalog / cid / "metadata.xlsx", read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0] == ("Name", "Value") and len(rows) == len(items) + 1
        assert any(cid in row for row in rows)


def test_harmonization_pdf_is_a_valid_pdf(demo_catalog):
    pdf = (demo_catalog / "2021_bel_lpisdemo_poly_110" / "harmonization.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    startxref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    table = pdf[startxref:].split(b"trailer")[0].split(b"\n")
    assert table[0] == b"xref"
    first, count = (int(v) for v in table[1].split())
    offsets = [int(line.split()[0]) for line in table[3:3 + count - 1]]
    for number, offset in enumerate(offsets, start=1):  # every object sits where the table says
        assert pdf[offset:].startswith(f"{number} 0 obj".encode())
    length = int(re.search(rb"/Length (\d+)", pdf).group(1))
    stream = pdf.split(b"stream\n", 1)[1]
    assert stream[length:].startswith(b"\nendstream")
    assert b"SYNTHETIC DEMO DATA" in pdf


def test_demo_legend_has_the_official_format_and_every_used_class(demo_catalog):
    raw = DEMO_LEGEND_PATH.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and b"\n#" not in raw
    assert raw[3:].split(b"\r\n", 1)[0].decode() == LEGEND_COLUMNS
    assert (demo_catalog / "legend.csv").read_bytes() == raw
    legend = read_legend(DEMO_LEGEND_PATH)
    assert legend["ewoc_code"].is_unique
    assert legend["ewoc_code"].str.fullmatch(r"\d\d-\d\d-\d\d-\d\d\d-\d").all()
    codes = set(legend["ewoc_code"])
    used = {dashed(c) for r in records(demo_catalog).values() for c in r["ewocCodes"]}
    assert used <= codes
    for code in used:
        assert f"{code[:2]}-00-00-000-0" in codes, code  # the level-1 root of every class
        if not code.endswith("-0"):
            assert code[:-1] + "0" in codes, code  # the parent of every level-5 class
    assert set(legend["LC_code"]) <= {"10", "11", "12", "20", "30", "40", "50", "60", "70"}


@pytest.mark.shared_data
def test_demo_legend_rows_match_the_official_legend(shared_data):
    official = read_legend(shared_data / "legend" / "WorldCereal_LC_CT_legend.csv").set_index("ewoc_code")
    demo = read_legend(DEMO_LEGEND_PATH).set_index("ewoc_code")
    assert list(demo.columns) == list(official.columns)
    assert set(demo.index) <= set(official.index)
    assert len(demo) < len(official) / 5  # a small authored subset, not a copy
    pd.testing.assert_frame_equal(demo, official.loc[demo.index])
    for code in demo.index:
        missing = [a for a in ancestors(code) if a in official.index and a not in demo.index]
        assert not missing, (code, missing)


def test_synthetic_catalogue_for_benchmarks(tmp_path):
    root = make_synthetic_catalog(tmp_path / "bench", n_collections=4, n_samples=4_003, seed=5, geometry="polygon")
    recs = records(root)
    assert len(recs) == 4 and sum(r["featureCount"] for r in recs.values()) == 4_003
    assert {r["type"] for r in recs.values()} == {"Polygon"}
    boxes = [BBox(*r["extent"]["spatial"]["bbox"][0]) for r in recs.values()]
    assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])  # distinct regions
    assert json.loads((root / "catalog.json").read_text())["synthetic"] is True
    again = make_synthetic_catalog(tmp_path / "bench2", n_collections=4, n_samples=4_003, seed=5, geometry="polygon")
    assert records(again) == recs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"geometry": "line"}, "geometry='line' is not allowed"),
        ({"n_collections": 0}, "n_collections=0"),
        ({"n_collections": 5, "n_samples": 3}, "n_samples=3"),
    ],
)
def test_synthetic_catalogue_rejects_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(BadParameterError, match=message):
        make_synthetic_catalog(tmp_path / "x", **kwargs)


def test_refuses_to_write_into_a_folder_that_is_not_a_catalogue(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BadParameterError, match="not a catalogue"):
        make_demo_catalog(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
