"""The share panel and the dashboard's link handling, in Python (the browser test drives the page)."""

from __future__ import annotations

import base64
import datetime
import json
import re

import pytest

from worldcereal_explorer.state import RdmQueryState

EUROPE = (-5.0, 40.0, 10.0, 55.0)


@pytest.fixture
def state(rdm_url):
    from worldcereal_explorer.rdm.client import RdmClient

    s = RdmQueryState(client=RdmClient(rdm_url, retries=1, legend=f"{rdm_url}/legend.csv"), auto_search=False)
    yield s
    s.close()


def _saved_json(panel) -> dict:
    href = re.search(r"href='data:application/json;base64,([^']+)'", panel.save_link.value).group(1)
    return json.loads(base64.b64decode(href))


def test_panel_follows_the_state(state):
    from worldcereal_explorer.widgets.share_panel import SharePanel

    panel = SharePanel(state)
    try:
        state.bbox = EUROPE
        state.ewoc_codes = [1101060000]
        assert "bbox=(-5.0, 40.0, 10.0, 55.0)" in panel.code.value
        assert panel.code.value == state.to_code()
        assert panel.link.value.endswith("?bbox=-5,40,10,55&codes=1101060000")
        if panel.bridge is not None:
            assert panel.bridge.query == "bbox=-5,40,10,55&codes=1101060000" and panel.bridge.sync is False
        assert _saved_json(panel) == state.to_dict()
        state.refresh()  # the found collections become the code's ref_ids
        assert all(repr(c.id) in panel.code.value for c in state.collections)
    finally:
        panel.close()


def test_load_session_in_the_panel(state, rdm_url):
    from worldcereal_explorer.widgets.share_panel import SharePanel

    panel = SharePanel(state)
    other = RdmQueryState("http://127.0.0.1:9", auto_search=False, bbox=EUROPE, min_quality_lc=30)
    try:
        text = json.dumps(other.to_dict())
        panel.upload.value = ({"name": "q.json", "type": "application/json", "size": len(text),
                               "content": memoryview(text.encode()),
                               "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
        assert state.bbox == EUROPE and state.min_quality_lc == 30
        assert "loaded q.json" in panel.message.value and "saved against http://127.0.0.1:9" in panel.message.value
        assert panel.upload.value == ()
        # a bad file: a specific message, the state unchanged
        assert not panel.load_json(json.dumps({"version": 1, "min_quality_lc": 300}), "bad.json")
        assert "min_quality_lc: 300" in panel.message.value and "wce-share-message-error" in panel.message.value
        assert state.min_quality_lc == 30
        assert not panel.load_json("{", "broken.json")
        assert "not JSON" in panel.message.value
    finally:
        other.close()
        panel.close()


def test_explorer_reads_the_query_string(state, rdm_url):
    from worldcereal_explorer.app import RdmExplorer

    explorer = RdmExplorer(state=state, search=False,
                           query_string="bbox=-5,40,10,55&start=2021-01-01&end=2021-12-31&codes=1101060000"
                                        "&min_ct=20&subset=1&access=public,restricted&bogus=1&min_lc=abc")
    try:
        assert state.bbox == EUROPE and state.ewoc_codes == [1101060000] and state.subset
        assert (state.min_quality_ct, state.min_quality_lc) == (20, 0)
        assert state.include_restricted and not state.include_private
        assert str(state.start_date) == "2021-01-01"
        problems = explorer.url_problems.value
        assert "ignored bogus=1: unknown parameter" in problems and "ignored min_lc=abc" in problems
        assert explorer.url_problems.layout.display == ""
        assert "data-kind='demo'" in explorer.banner.value and rdm_url in explorer.banner.value
        assert explorer.share.bridge is None or explorer.share.bridge.sync is False  # not under Voilà
    finally:
        explorer.close()


def test_explorer_under_voila_without_params(state, monkeypatch):
    from worldcereal_explorer.app import RdmExplorer

    monkeypatch.setenv("QUERY_STRING", "")
    explorer = RdmExplorer(state=state, search=False)
    try:
        assert explorer.url_problems.layout.display == "none"
        assert explorer.share.bridge is None or explorer.share.bridge.sync is True
    finally:
        explorer.close()


def test_default_quality_from_the_config(monkeypatch, tmp_path, rdm_url):
    from worldcereal_explorer.app import RdmExplorer

    cfg = tmp_path / "config.toml"
    cfg.write_text("min_quality_lc = 25\n")
    monkeypatch.setenv("WORLDCEREAL_CONFIG", str(cfg))
    monkeypatch.setenv("WORLDCEREAL_MIN_QUALITY_CT", "35")
    monkeypatch.setenv("WORLDCEREAL_LEGEND_URL", f"{rdm_url}/legend.csv")
    explorer = RdmExplorer(rdm_url, search=False, query_string="")
    try:
        assert (explorer.state.min_quality_lc, explorer.state.min_quality_ct) == (25, 35)
    finally:
        explorer.close()
