"""The download panel (widgets/download_panel.py): it asks the state to write files and shows links."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import pandas as pd
import pytest

from worldcereal_explorer.widgets.download_panel import DownloadPanel

SMALL = (3.0, 50.0, 6.0, 52.0)


@pytest.mark.parametrize("fmt", ["GeoParquet", "GeoPackage", "CSV"])
def test_download_panel_saves_samples(state, tmp_path, fmt):
    panel = DownloadPanel(state, download_dir=tmp_path)
    assert panel.save_button.disabled
    assert panel.save_samples() is None  # nothing fetched yet: said in the panel, nothing raised
    assert "fetch samples first" in panel.links.value
    state.bbox = SMALL
    state.refresh()
    samples = state.fetch_samples()
    panel.format.value = fmt
    path = panel.save_samples()
    assert path is not None and path.parent == tmp_path
    assert f"download='{path.name}'" in panel.links.value and "base64," in panel.links.value
    if fmt == "CSV":
        back = pd.read_csv(path)
    else:
        back = gpd.read_parquet(path) if fmt == "GeoParquet" else gpd.read_file(path)
        assert len(back.geometry) == len(samples)
    assert len(back) == len(samples)
    assert sorted(back["sample_id"].astype(str)) == sorted(samples["sample_id"].astype(str))


def test_download_panel_uses_the_state_export_service(state, monkeypatch):
    panel = DownloadPanel(state)  # no folder given: the state's export folder
    calls = []

    def failing_export(dst_dir, fmt):
        calls.append((dst_dir, fmt))
        raise OSError("disk full")

    monkeypatch.setattr(state, "export_samples", failing_export)
    assert panel.save_samples("CSV") is None
    assert calls == [(state.exports.download_dir, "CSV")]
    assert "Could not save the samples: disk full" in panel.links.value


def test_download_panel_big_files_are_not_inlined(state, tmp_path):
    panel = DownloadPanel(state, download_dir=tmp_path, max_link_bytes=100)
    state.bbox = SMALL
    state.refresh()
    state.fetch_samples()
    path = panel.save_samples("CSV")
    assert "too big to send" in panel.links.value and str(path) in panel.links.value
    assert "base64," not in panel.links.value


def test_download_panel_collection_documents(state, tmp_path):
    panel = DownloadPanel(state, download_dir=tmp_path)
    state.refresh()
    public = next(c.id for c in state.collections if c.is_public)
    state.selected_ids = [public]
    assert panel.collection.value == public
    xlsx = panel.download_metadata()
    assert xlsx.read_bytes()[:2] == b"PK" and xlsx.name.endswith(".xlsx")
    pdf = panel.download_harmonization()
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert "application/pdf" in panel.links.value


def test_pdf_button_disabled_for_non_public_collections(state):
    panel = DownloadPanel(state)
    state.refresh()
    public = next(c for c in state.collections if c.is_public)
    assert not panel.pdf_button.disabled
    # A private collection as a logged-in search returns it (the demo server lists those only with a token).
    private = dataclasses.replace(public, id=public.id + "_private", access_type="Private")
    state.collections = [*state.collections, private]
    panel.collection.value = private.id
    assert panel.pdf_button.disabled and not panel.metadata_button.disabled
    assert "only public collections" in panel.pdf_button.tooltip and private.id in panel.pdf_button.tooltip
    panel.collection.value = public.id
    assert not panel.pdf_button.disabled
