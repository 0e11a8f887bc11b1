"""The dataset card (licences and citations of every collection) and the ``samples`` CLI as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import geopandas as gpd
import pytest
import requests

from tests.training.unmapped import map_classes_noting_unmapped
from worldcereal_explorer.training import (
    DatasetCard,
    deduplicate,
    export_training_set,
    licence_flags,
    read_card,
    spatial_split,
)

from .conftest import CROPWATCH, PRAIRIE

LICENCE = "OriginalDataSet:License:TypeOfLicense:"
REFERENCE = "OriginalDataSet:License:ReferenceToLicense:"
CITATION = "OriginalDataSet:License:RequiredCitation:"
DOI = "OriginalDataSet:DOI::"
PROVIDER = "OriginalDataSet:Provider:Code:"


def metadata(rdm_url: str, ref_id: str) -> dict[str, str]:
    """A collection's metadata items, read with plain requests (independently of the client)."""
    items = requests.get(f"{rdm_url}/collections/{ref_id}/metadata/items", timeout=30).json()
    return {i["name"]: i["value"] for i in items}


def test_card_names_every_licence_and_citation(public_samples, rdm, rdm_url, tmp_path):
    mapped = map_classes_noting_unmapped(public_samples, {1101010000: "wheat", 1101060000: "maize"})
    deduped, _ = deduplicate(mapped, 10)
    split = spatial_split(deduped, seed=2)
    card = DatasetCard.build(split, client=rdm, query={"min_quality_ct": 0}, created="2025-01-01T00:00:00+00:00")
    data = json.loads(card.to_json())
    ids = sorted(split["ref_id"].unique())
    assert [c["id"] for c in data["collections"]] == ids and len(ids) == 16
    markdown = card.to_markdown()
    for entry in data["collections"]:
        meta = metadata(rdm_url, entry["id"])
        assert entry["licence_type"] == meta[LICENCE] and entry["licence"] == meta[REFERENCE]
        assert entry["citation"] == meta[CITATION] and entry["provider"] == meta[PROVIDER]
        assert entry["samples"] == int((split["ref_id"] == entry["id"]).sum())
        assert meta[CITATION] in markdown and f"@misc{{{entry['id']}," in markdown
        assert any(meta[CITATION] in line for line in data["bibliography"]["text"])
    assert data["collections"][ids.index(CROPWATCH)]["doi"] == "10.0000/wce-demo.cropwatch-v1"  # from a doi.org URL
    restricted = {r["id"]: r["flags"] for r in data["restricted_licences"]}
    assert restricted == {PRAIRIE: ["non-commercial"], CROPWATCH: ["share-alike"]}
    head = markdown.split("## ", 1)[0]  # flagged before any section
    assert "Licence restrictions" in head and PRAIRIE in head and CROPWATCH in head and "CC-BY-NC-4.0" in head
    for key in ("query", "created", "package_version", "collections", "classes", "restricted_licences",
                "quality_filters", "deduplication", "split"):
        assert key in data, key
    total = {k: v["total"] for k, v in data["classes"].items()}
    assert total == split["downstream_class"].value_counts().to_dict()
    assert sum(v.get("train", 0) for v in data["classes"].values()) == int((split["split"] == "train").sum())

    md, js = card.write(tmp_path / "cards" / "train")
    assert md.name == "train.md" and js.name == "train.json" and md.read_text() == markdown
    assert json.loads(js.read_text()) == data
    path = export_training_set(split, tmp_path / "train.parquet", card)
    assert read_card(path).data == data
    back = gpd.read_parquet(path)
    assert len(back) == len(split) and {"downstream_class", "split"} <= set(back.columns)


def test_card_without_client_and_licence_flags(canada):
    card = DatasetCard.build(canada, collections={PRAIRIE: {LICENCE: "CC_BY", CITATION: "A. (2021)."}})
    assert card.data["collections"][0]["citation"] == "A. (2021)." and card.data["restricted_licences"] == []
    offline = DatasetCard.build(canada)
    assert {r["id"] for r in offline.data["restricted_licences"]} == {PRAIRIE, CROPWATCH}  # licence unknown
    assert licence_flags("CC_BY_NC_SA", "") == ["non-commercial", "share-alike"]
    assert licence_flags("CC_BY", "CC-By Attribution 4.0 International") == []
    assert licence_flags("Other", "Restricted to project partners") == ["restricted"]
    assert licence_flags("CC_BY", "CC-BY-4.0", access_type="Private") == ["restricted"]
    assert licence_flags("", "") == ["unknown"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    return subprocess.run([sys.executable, "-m", "worldcereal_explorer.cli", "samples", *args],
                          capture_output=True, text=True, timeout=300, env=env)


def test_cli_builds_a_training_set_with_every_option(rdm_url, tmp_path):
    mapping = tmp_path / "classes.csv"
    mapping.write_text("ewoc_code,class\n1101010000,wheat\n1106000030,rapeseed\n1101020000,barley\n")
    out, card = tmp_path / "train.parquet", tmp_path / "card"
    result = run_cli("--endpoint", rdm_url, "--bbox", "-106", "49.5", "-97.5", "53", "--mapping", str(mapping),
                     "--season", "11-08", "--dedup", "10", "--keep-duplicates", "--max-per-class", "300",
                     "--min-per-class", "250", "--split", "0.7,0.15,0.15", "--block-h3-res", "5", "--seed", "3",
                     "--card", str(card), "--no-progress", "-o", str(out))
    assert result.returncode == 0, result.stderr
    gdf = gpd.read_parquet(out)
    assert {"downstream_class", "split", "duplicate_of"} <= set(gdf.columns)
    assert set(gdf["split"]) == {"train", "validation", "test"}
    assert set(gdf["downstream_class"]) == {"wheat", "rapeseed", "barley", "other"}
    originals = gdf[gdf["duplicate_of"].isna()]
    assert originals["downstream_class"].value_counts().max() <= 300  # flagged duplicates do not count
    assert gdf["duplicate_of"].notna().any() and set(gdf["duplicate_of"].dropna()) <= set(gdf["sample_id"])
    assert not gdf["valid_time"].dt.month.isin([9, 10]).any()
    assert "class(es) have fewer than min_per_class=250 samples: barley (" in result.stderr
    data = json.loads(card.with_suffix(".json").read_text())
    assert {c["id"] for c in data["collections"]} == {PRAIRIE, CROPWATCH}
    assert data["season"]["window"] == "11-08" and data["deduplication"]["n_duplicates"] > 0
    assert data["balance"]["max_per_class"] == 300 and data["split"]["seed"] == 3
    assert "CC-BY-NC-4.0" in card.with_suffix(".md").read_text()
    assert read_card(out).data == data
    split_line = next(line for line in result.stdout.splitlines() if line.startswith("split:"))
    assert split_line == "split: " + ", ".join(f"{s} {int((gdf['split'] == s).sum())}"
                                                for s in ("train", "validation", "test"))


@pytest.mark.parametrize(("args", "message"), [
    (["--split", "0.7,0.2"], "--split: split shares '0.7,0.2' are not allowed"),
    (["--season", "13-02"], "--season: season window '13-02' is not allowed"),
    (["--dedup", "-3"], "--dedup '-3' is not allowed; allowed: a distance in metres >= 0"),
    (["--max-per-class", "0"], "--max-per-class '0' is not allowed; allowed: a whole number >= 1"),
    (["--block-h3-res", "16", "--split", "0.8,0.1,0.1"], "--block-h3-res '16' is not allowed; allowed: a whole "
                                                          "number 0..15"),
    (["--mapping", "/nonexistent/m.csv"], "/nonexistent/m.csv"),
    (["--keep-duplicates"], "--keep-duplicates needs --dedup"),
])
def test_cli_rejects_bad_values_naming_them(rdm_url, tmp_path, args, message):
    result = run_cli("--endpoint", rdm_url, "--no-progress", "-o", str(tmp_path / "x.parquet"), *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "x.parquet").exists()
