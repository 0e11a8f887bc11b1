"""visualize_rdm_geoparquet on GeoParquet files written from the demo sample generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ipyleaflet import GeoJSON, Map

from worldcereal_explorer.demo.samples import synthesize_samples
from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.geoparquet import write_geoparquet
from worldcereal_explorer.legend import bundled_demo_legend
from worldcereal_explorer.visualize import visualize_rdm_geoparquet


@pytest.fixture(scope="module")
def legend():
    return bundled_demo_legend()


def _samples(legend, n: int, geometry: str = "Point", seed: int = 7):
    codes = [int(c) for c in legend.frame.index[:4]]
    return synthesize_samples(np.random.default_rng(seed), original_name="viz", bbox=(4.0, 50.0, 5.0, 51.0),
                              geometry=geometry, season=("2021-03-01", "2021-10-31"), n=n,
                              crops=tuple((c, 1.0 + i) for i, c in enumerate(codes)), irrigated_share=None,
                              quality=(80, 70), field_size_m=(40.0, 90.0), clusters=3)


def _drawn(m: Map) -> dict[str, int]:
    return {layer.name: len(layer.data["features"]) for layer in m.layers if isinstance(layer, GeoJSON)}


@pytest.mark.parametrize("geometry", ["Point", "Polygon"])
def test_every_sample_drawn_by_crop(tmp_path, legend, geometry):
    samples = _samples(legend, 600, geometry)
    path = write_geoparquet(samples, tmp_path / "samples.geoparquet")
    m = visualize_rdm_geoparquet(path, legend=legend)

    assert isinstance(m, Map)
    drawn = _drawn(m)
    assert sum(drawn.values()) == len(samples) == m.wce_n_drawn == m.wce_n_samples
    expected = samples["ewoc_code"].value_counts()
    assert drawn == {f"{legend.label(code)} ({code})": count for code, count in expected.items()}
    assert list(drawn.values()) == sorted(drawn.values(), reverse=True)  # most frequent first
    colours = {layer.point_style["fillColor"] for layer in m.wce_sample_layers}
    assert len(colours) == len(expected)  # one colour per class
    assert all(f["geometry"]["type"] == "Point" for layer in m.wce_sample_layers for f in layer.data["features"])
    assert m.wce_note == ""


def test_big_file_is_thinned_with_a_note(tmp_path, legend):
    samples = _samples(legend, 3000)
    path = write_geoparquet(samples, tmp_path / "big.parquet")
    m = visualize_rdm_geoparquet(str(path), legend=legend, max_points=500)
    assert m.wce_n_samples == 3000 and m.wce_n_drawn == 500
    assert sum(_drawn(m).values()) == 500
    assert "showing a random 500 of 3,000 samples" in m.wce_note
    again = visualize_rdm_geoparquet(path, legend=legend, max_points=500)
    ids = [f["properties"]["sample_id"] for layer in m.wce_sample_layers for f in layer.data["features"]]
    ids_again = [f["properties"]["sample_id"] for layer in again.wce_sample_layers for f in layer.data["features"]]
    assert sorted(ids) == sorted(ids_again)  # the same thinning each time


def test_selected_samples_are_split_out(tmp_path, legend):
    samples = _samples(legend, 200)
    path = write_geoparquet(samples, tmp_path / "s.parquet")
    chosen = samples["sample_id"].iloc[:25].tolist()
    m = visualize_rdm_geoparquet(path, chosen, legend=legend)
    drawn = _drawn(m)
    assert drawn.pop("not selected (175)") == 175
    assert sum(drawn.values()) == 25


def test_unknown_and_missing_codes(tmp_path, legend):
    samples = _samples(legend, 50)
    samples.loc[samples.index[:5], "ewoc_code"] = 9999999999
    path = write_geoparquet(samples, tmp_path / "s.parquet")
    drawn = _drawn(visualize_rdm_geoparquet(path, legend=legend))
    assert drawn["unknown (9999999999) (9999999999)"] == 5


def test_bad_inputs(tmp_path, legend):
    with pytest.raises(BadParameterError, match="does not exist"):
        visualize_rdm_geoparquet(tmp_path / "missing.parquet", legend=legend)
    (tmp_path / "text.parquet").write_text("not parquet")
    with pytest.raises(BadParameterError, match="is not a \\(Geo\\)Parquet file"):
        visualize_rdm_geoparquet(tmp_path / "text.parquet", legend=legend)
    pd.DataFrame({"ewoc_code": [1]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(BadParameterError, match="not a GeoParquet file"):
        visualize_rdm_geoparquet(tmp_path / "plain.parquet", legend=legend)
    write_geoparquet(_samples(legend, 10).drop(columns="ewoc_code"), tmp_path / "nocode.parquet")
    with pytest.raises(BadParameterError, match="no 'ewoc_code' column"):
        visualize_rdm_geoparquet(tmp_path / "nocode.parquet", legend=legend)
    with pytest.raises(BadParameterError, match="max_points=0"):
        visualize_rdm_geoparquet(tmp_path / "nocode.parquet", legend=legend, max_points=0)
