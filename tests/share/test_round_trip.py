"""What leaves the page is what the page showed: every way out reproduces the same rows and classes.

For one query with crop groups and one without, the dashboard's state on the local RDM server writes the
copied code, the share link, a saved session, "Save samples", "Export to file" (GeoParquet, GeoPackage, CSV)
and the training set. A fresh Python process (a subprocess: no state shared with this one) then runs the
code, opens the link and the session as the dashboard does (rebuilding the training set from what they
carry) and reads the files. Every one must give the same ``(sample_id, ref_id)`` rows with the same
``new_label`` (ungrouped classes keeping their own label) and, for the training sets, the same
``downstream_class`` and split.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO_ROOT

#: The issue's query: winter + spring wheat grouped as "wheat", maize and sunflower ungrouped.
BOX = (-25.0, 34.0, 45.0, 72.0)
WINTER_WHEAT, SPRING_WHEAT, MAIZE, SUNFLOWER = 1101010001, 1101010002, 1101060000, 1106000010
CODES = [WINTER_WHEAT, SPRING_WHEAT, MAIZE, SUNFLOWER]

#: Run in the fresh process: every way back in, each as ``{name: [[sample_id, ref_id, new_label, extra], ...]}``.
REBUILD = textwrap.dedent("""
    import json, sys
    import geopandas as gpd
    import pandas as pd
    from worldcereal_explorer.state import RdmQueryState
    from worldcereal_explorer.state.links import parse_query_string
    from worldcereal_explorer.state.serialize import apply_state_dict
    from worldcereal_explorer.state.training import TrainingService

    args = json.loads(sys.argv[1])
    out = {}

    def rows(frame, extra=None):
        cols = [frame["sample_id"].astype(str), frame["ref_id"].astype(str), frame["new_label"].astype(str)]
        cols.append(frame[extra].astype(str) if extra else pd.Series([""] * len(frame), index=frame.index))
        return sorted(map(list, zip(*cols)))

    def training_rows(service):
        result = service.result
        return sorted(map(list, zip(result["sample_id"].astype(str), result["ref_id"].astype(str),
                                    result["downstream_class"].astype(str), result["split"].astype(str))))

    def rebuilt(state, name):
        state.refresh()
        out[name] = rows(state.fetch_samples())
        service = TrainingService(state, auto_run=False)  # as the dashboard's training panel makes it
        service.run()
        out[name + " training set"] = training_rows(service)
        out[name + " settings"] = [service.max_per_class, list(service.shares)]
        service.close()
        state.close()

    namespace = {}
    exec(args["code"], namespace)
    out["copied code"] = rows(namespace["samples"])

    state = RdmQueryState(args["url"], auto_search=False)
    values, problems = parse_query_string(args["link"])
    assert not problems, problems
    apply_state_dict(state, values, validated=True)
    rebuilt(state, "share link")

    rebuilt(RdmQueryState.load(args["session"], auto_search=False), "saved session")

    for name, path in args["files"].items():
        frame = pd.read_csv(path) if path.endswith(".csv") else gpd.read_file(path) if path.endswith(".gpkg") \\
            else gpd.read_parquet(path)
        out[name] = rows(frame)
        out[name + " label"] = sorted(map(list, zip(frame["sample_id"].astype(str), frame["ref_id"].astype(str),
                                                    frame["label"].astype(str))))
    train = gpd.read_parquet(args["training set"])
    out["training set file"] = sorted(map(list, zip(train["sample_id"].astype(str), train["ref_id"].astype(str),
                                                    train["downstream_class"].astype(str),
                                                    train["split"].astype(str))))
    print(json.dumps(out))
""")


def _rows(frame, column="new_label"):
    return sorted([str(s), str(r), str(v), ""] for s, r, v in zip(frame["sample_id"], frame["ref_id"], frame[column],
                                                                   strict=True))


def _fresh_process(args: dict, rdm_url: str, tmp_path) -> dict:
    env = dict(os.environ, WORLDCEREAL_LEGEND_URL=f"{rdm_url}/legend.csv", XDG_CACHE_HOME=str(tmp_path / "cache"),
               WORLDCEREAL_CONFIG=str(tmp_path / "no-config.toml"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-W", "error", "-c", REBUILD, json.dumps(args)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("grouping", [{WINTER_WHEAT: "wheat", SPRING_WHEAT: "wheat"}, {}],
                         ids=["wheat group + maize + sunflower", "no groups"])
def test_every_way_out_reproduces_the_rows_and_classes(grouping, rdm_url, tmp_path, monkeypatch):
    from worldcereal_explorer.state import RdmQueryState
    from worldcereal_explorer.state.training import TrainingService

    monkeypatch.setenv("WORLDCEREAL_LEGEND_URL", f"{rdm_url}/legend.csv")
    state = RdmQueryState(rdm_url, auto_search=False)
    service = TrainingService(state, auto_run=False)
    try:
        state.bbox = BOX
        state.start_date, state.end_date = "2020-01-01", "2023-12-31"
        state.ewoc_codes = CODES
        state.grouping = grouping
        service.max_per_class, service.shares = 300, (0.8, 0.1, 0.1)
        state.refresh()
        samples = state.fetch_samples()
        assert len(samples) > 1000
        assert samples["new_label"].notna().all()
        expected = _rows(samples)
        labels = sorted([str(s), str(r), str(v)] for s, r, v in zip(samples["sample_id"], samples["ref_id"],
                                                                    samples["label"], strict=True))
        if grouping:  # the grouped codes under the group's name, the others under their own
            want_classes = {"wheat", "maize", "sunflower"}
        else:  # every class its own (the demo box holds no spring wheat)
            want_classes = {"unspecified_winter_wheat", "maize", "sunflower"}
            assert (samples["new_label"] == samples["label"]).all()
        assert set(samples["new_label"]) == want_classes
        training = service.run()
        assert set(training["downstream_class"]) == want_classes
        assert training["downstream_class"].value_counts().max() <= 300  # the cap is in force
        expected_training = sorted([str(s), str(r), str(c), str(p)] for s, r, c, p in zip(
            training["sample_id"], training["ref_id"], training["downstream_class"], training["split"], strict=True))

        link = state.to_query_string()
        assert "cap=300" in link and "split=0.8,0.1,0.1" in link
        assert ("group=wheat:1101010001,1101010002" in link) == bool(grouping)
        session = state.save(tmp_path / "session.json")
        saved = json.loads(session.read_text())
        assert saved["training"] == {"max_per_class": 300, "shares": [0.8, 0.1, 0.1]}
        files = {"Save samples": str(state.exports.save_samples("GeoParquet", tmp_path / "saved"))}
        for fmt in ("GeoParquet", "GeoPackage", "CSV"):
            files[f"Export to file ({fmt})"] = str(state.exports.stream_samples(fmt, tmp_path / "streamed", wait=True))
        exported = service.export(tmp_path / "train.parquet")
        args = {"url": rdm_url, "code": state.to_code(), "link": link, "session": str(session), "files": files,
                "training set": str(exported.data)}
    finally:
        service.close()
        state.close()

    got = _fresh_process(args, rdm_url, tmp_path)
    for name in ("copied code", "share link", "saved session", *files):
        assert got[name] == expected, f"{name}: not the rows and new_label the page showed"
    for name in files:
        assert [row[:3] for row in got[name + " label"]] == labels, f"{name}: not the page's label column"
    for name in ("share link", "saved session"):
        assert got[name + " settings"] == [300, [0.8, 0.1, 0.1]], name
        assert got[name + " training set"] == expected_training, f"{name}: not the same training set"
    assert got["training set file"] == expected_training
