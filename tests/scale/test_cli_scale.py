"""Issue #14 on the command line: ``samples --count-only``, streamed ``-o`` exports and Ctrl-C, as real processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import h3
import pandas as pd
import pytest
import shapely

from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.rdm.export import read_exported

BBOX = ("0", "40", "20", "55")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "worldcereal_explorer.cli", "samples", *args]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    return subprocess.run(cli(*args), capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture
def client(rdm_url):
    with RdmClient(rdm_url) as rdm:
        yield rdm


def expected_counts(gdf, keys: list[str], resolution: int | None) -> pd.DataFrame:
    """``get_samples(...).groupby`` as count_samples defines it (``h3_cell`` from h3_l3_cell or the centroid)."""
    frame = gdf.copy()
    keys = list(keys)
    if resolution is not None:
        if resolution <= 3:
            frame["h3_cell"] = [h3.cell_to_parent(v, resolution) if isinstance(v, str) else None
                                for v in frame["h3_l3_cell"]]
        else:
            centroid = shapely.centroid(frame.geometry.array)
            frame["h3_cell"] = [h3.latlng_to_cell(y, x, resolution)
                                for x, y in zip(shapely.get_x(centroid), shapely.get_y(centroid), strict=True)]
        keys.append("h3_cell")
    return frame.groupby(keys, dropna=False).size().rename("count").reset_index().sort_values(keys) \
        .reset_index(drop=True)


def assert_same_frame(got, want):
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 0
    for column in want.columns:
        if column == "geometry":
            assert shapely.equals(got.geometry.array, want.geometry.array).all()
        else:
            assert got[column].astype(object).fillna(-1).tolist() == want[column].astype(object).fillna(-1).tolist(), \
                column


def test_count_only_prints_the_get_samples_groupby_and_the_estimate(client, rdm_url):
    gdf = client.get_samples(bbox=tuple(map(float, BBOX)), progress=False)
    want = expected_counts(gdf, ["ewoc_code", "ref_id"], None)
    result = run_cli("--endpoint", rdm_url, "--bbox", *BBOX, "--count-only", "--no-progress")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split() == ["ewoc_code", "ref_id", "count"]
    rows = [line.split() for line in lines[1:-1]]
    assert rows == [[str(c), r, str(n)] for c, r, n in want.itertuples(index=False)]
    estimate = client.count_samples(bbox=tuple(map(float, BBOX)), progress=False).attrs["estimate"]
    assert lines[-1].startswith(f"estimate of a full fetch: {len(gdf):,} samples from "
                                f"{gdf['ref_id'].nunique()} collection(s), ")
    mib = re.search(r", ([\d.,]+) MiB to read .*~([\d.,]+) MiB in memory", lines[-1])
    assert mib and float(mib.group(1).replace(",", "")) == round(estimate.bytes / 2**20, 1)
    assert float(mib.group(2).replace(",", "")) == round(estimate.memory_bytes / 2**20, 1)


@pytest.mark.parametrize(("by", "keys", "resolution"), [
    (["ewoc_code", "ref_id"], ["ewoc_code", "ref_id"], 2),  # space-separated
    (["ref_id,ewoc_code"], ["ref_id", "ewoc_code"], 6),  # comma-separated, a resolution from the centroid
    ([], [], None),  # --by alone: one total
])
def test_count_only_to_csv_equals_get_samples_groupby(client, rdm_url, tmp_path, by, keys, resolution):
    out = tmp_path / "sub" / "counts.csv"
    extra = ["--h3-resolution", str(resolution)] if resolution is not None else []
    result = run_cli("--endpoint", rdm_url, "--min-quality-lc", "30", "--count-only", "--by", *by, *extra,
                     "-o", str(out))
    assert result.returncode == 0, result.stderr
    gdf = client.get_samples(min_quality_lc=30, progress=False)
    got = pd.read_csv(out, dtype={"ref_id": str, "h3_cell": str})
    if not keys and resolution is None:
        assert got["count"].tolist() == [len(gdf)]
    else:
        want = expected_counts(gdf, keys, resolution)
        assert list(got.columns) == list(want.columns)
        for column in want.columns:
            assert got[column].tolist() == want[column].tolist(), column
    assert f"wrote {len(got)} group(s), {len(gdf)} samples, to {out}" in result.stdout
    assert f"estimate of a full fetch: {len(gdf):,} samples" in result.stdout


@pytest.mark.parametrize(("suffix", "args", "filters"), [
    (".parquet", ["--bbox", *BBOX, "--min-quality-ct", "20"], {"bbox": (0, 40, 20, 55), "min_quality_ct": 20}),
    (".geoparquet", [], {}),
    (".gpkg", ["--ewoc-codes", "1101010001", "1101060000", "--no-resume"],
     {"ewoc_codes": [1101010001, 1101060000]}),
    (".csv", ["--temporal-extent", "2020-01-01", "2021-06-30", "--subset"],
     {"temporal_extent": ("2020-01-01", "2021-06-30"), "subset": True}),
])
def test_streamed_export_equals_get_samples(client, rdm_url, tmp_path, suffix, args, filters):
    out = tmp_path / "out" / f"samples{suffix}"
    result = run_cli("--endpoint", rdm_url, *args, "-o", str(out))
    assert result.returncode == 0, result.stderr
    want = client.get_samples(progress=False, **filters)
    assert_same_frame(read_exported(out), want)
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no parts, no temp files
    assert f"wrote {len(want)} samples to {out}" in result.stdout
    progress = [line for line in result.stderr.splitlines() if line.startswith("exporting: ")]
    assert progress and progress[-1].startswith("exporting: done, ") and f"{len(want):,} samples" in progress[-1]


def test_ctrl_c_mid_export_leaves_no_parts(demo_catalog, tmp_path):
    from worldcereal_explorer.server import serve_in_thread

    target = tmp_path / "new" / "samples.parquet"
    with serve_in_thread(demo_catalog, latency_s=0.5) as server:
        proc = subprocess.Popen(cli("--endpoint", server.url, "-o", str(target)), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            seen = []
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                line = proc.stderr.readline()
                if not line and proc.poll() is not None:
                    break
                seen.append(line)
                if line.startswith("exporting: reading"):
                    break
            assert seen and seen[-1].startswith("exporting: reading"), "".join(seen)
            assert proc.poll() is None, "the export ended before Ctrl-C"
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
            stopped_in = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130, out + err
    assert "cancelled (Ctrl-C): no file and no parts were left" in err
    assert "Traceback" not in err and "wrote" not in out
    assert stopped_in < 30
    assert list(tmp_path.iterdir()) == []  # no file, no hidden parts folder, not even the new folder


def test_training_options_over_the_memory_budget_suggest_count_only(rdm_url, tmp_path):
    out = tmp_path / "train.parquet"
    result = run_cli("--endpoint", rdm_url, "--split", "0.7,0.15,0.15", "--memory-budget", "0.5", "--no-progress",
                     "-o", str(out))
    assert result.returncode == 2, result.stderr
    assert "more than the memory budget of 0.5 MiB" in result.stderr
    assert "--count-only" in result.stderr and "drop the training-set options" in result.stderr
    geojson = run_cli("--endpoint", rdm_url, "--memory-budget", "0.5", "--no-progress", "-o",
                      str(tmp_path / "all.geojson"))
    assert geojson.returncode == 2 and "-o FILE.parquet" in geojson.stderr, geojson.stderr
    assert list(tmp_path.iterdir()) == []
    fits = run_cli("--endpoint", rdm_url, "--bbox", *BBOX, "--split", "0.7,0.15,0.15", "--memory-budget", "64",
                   "--no-progress", "-o", str(out))
    assert fits.returncode == 0, fits.stderr
    assert "split: train " in fits.stdout and out.is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["--count-only", "--h3-resolution", "16"], "--h3-resolution '16' is not allowed; allowed: a whole number 0..15"),
    (["--count-only", "--h3-resolution", "x"], "--h3-resolution 'x' is not allowed"),
    (["--count-only", "--by", "geometry"], "--by: by=['geometry']: ['geometry'] cannot be grouped by"),
    (["--count-only", "--by", "nosuchcolumn,ref_id"], "--by nosuchcolumn,ref_id: column(s) ['nosuchcolumn'] not "
                                                      "found"),
    (["--count-only", "-o", "counts.parquet"], "-o 'counts.parquet' is not allowed (allowed: a .csv file"),
    (["--count-only", "--split", "0.7,0.15,0.15"], "--split cannot be used with it"),
    (["--by", "ref_id", "-o", "x.parquet"], "--by groups the counts and needs --count-only"),
    (["--h3-resolution", "3", "-o", "x.parquet"], "--h3-resolution groups the counts and needs --count-only"),
    ([], "-o/--output FILE is required"),
    (["-o", "x.txt"], "cannot tell the export format of"),
    (["-o", "x.geojson", "--no-resume"], "--no-resume only applies to streamed exports"),
    (["-o", "x.parquet", "--memory-budget", "100"], "--memory-budget '100' only applies to in-memory output"),
    (["-o", "x.geojson", "--memory-budget", "-1"], "--memory-budget '-1' is not allowed; allowed: a number of MiB"),
])
def test_bad_values_exit_2_naming_the_option(rdm_url, tmp_path, args, message):
    args = [str(tmp_path / a) if a.startswith(("x.", "counts.")) else a for a in args]
    result = subprocess.run(cli("--endpoint", rdm_url, "--no-progress", *args), capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr.replace(str(tmp_path) + "/", ""), result.stderr
    assert list(tmp_path.iterdir()) == []
