"""The "Training set" panel and its service on samples fetched from the local demo RDM, each number the panel
shows checked against the training functions (or plain loops) run independently in the test."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import requests

from tests.training.unmapped import map_classes_noting_unmapped
from worldcereal_explorer.training import (
    cap_per_class,
    class_balance,
    deduplicate,
    read_card,
    spatial_split,
    split_report,
)

from .conftest import CROPWATCH, PRAIRIE

GROUPING = {1101010000: "wheat", 1101060000: "maize"}
LICENCE = "OriginalDataSet:License:TypeOfLicense:"
REFERENCE = "OriginalDataSet:License:ReferenceToLicense:"
UPLOADED = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


class _Rows(HTMLParser):
    """The body rows of the tables in an HTML snippet: ``(data-* attributes, cell texts)``."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict[str, str], list[str]]] = []
        self._in_body = self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append(({k[5:]: v for k, v in attrs if k.startswith("data-")}, []))
        elif tag == "td" and self._in_body:
            self._in_cell = True
            self.rows[-1][1].append("")

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "td":
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][1][-1] += data


def table_rows(snippet: str) -> list[tuple[dict[str, str], list[str]]]:
    parser = _Rows()
    parser.feed(snippet)
    return parser.rows


def number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture
def state(rdm_url):
    """A state on the local demo RDM with every public sample fetched."""
    from worldcereal_explorer.rdm.client import RdmClient
    from worldcereal_explorer.state import RdmQueryState

    client = RdmClient(rdm_url, retries=2, backoff_factor=0.01, legend=f"{rdm_url}/legend.csv")
    query = RdmQueryState(client=client, auto_search=False, debounce_s=0.0)
    query.refresh()
    yield query
    query.close()


@pytest.fixture
def make_panel(state):
    from worldcereal_explorer.state.training import TrainingService
    from worldcereal_explorer.widgets.training_panel import TrainingPanel

    made = []

    def factory(**kwargs):
        service = TrainingService(state, debounce_s=0.0)
        panel = TrainingPanel(state, service=service, **kwargs)
        made.append((panel, service))
        return panel

    yield factory
    for panel, service in made:
        panel.close()
        assert service.close()


def settle(panel) -> None:
    assert panel.service.wait(60)
    assert panel.service.status != "loading"


def test_before_samples_the_panel_says_fetch_first(state, make_panel, tmp_path):
    panel = make_panel(download_dir=tmp_path)
    assert "fetch samples first" in panel.status.value
    assert panel.export_button.disabled
    assert panel.export() is None and "no training set" in panel.links.value
    assert list(tmp_path.iterdir()) == []


def test_dedup_summary_names_the_canadian_pair(state, make_panel):
    panel = make_panel()
    samples = state.fetch_samples()
    settle(panel)
    _, expected = deduplicate(samples, 10.0)
    shown = {(a["kept"], a["duplicate"]): int(a["count"]) for a, _ in table_rows(panel.dedup_html.value)}
    wanted = {(k, d): int(c) for k, d, c in expected.pairs[["kept_ref_id", "duplicate_ref_id", "count"]]
              .itertuples(index=False)}
    assert shown == wanted
    pair = {k: v for k, v in shown.items() if set(k) == {PRAIRIE, CROPWATCH}}
    assert pair and all(v > 0 for v in pair.values())  # both directions: the better sample of each pair wins
    # the cells the user reads say the same as the data attributes
    for attrs, cells in table_rows(panel.dedup_html.value):
        assert cells == [attrs["kept"], attrs["duplicate"], f"{int(attrs['count']):,}"]
    head = re.search(r"data-duplicates='(\d+)'", panel.dedup_html.value)
    assert int(head.group(1)) == expected.n_duplicates == sum(wanted.values())
    assert f"<b>{expected.n_duplicates:,}</b> of {len(samples):,} samples" in panel.dedup_html.value
    assert len(panel.service.result) == len(samples) - expected.n_duplicates  # dropped, no other step removes any

    panel.dedup_action.value = True  # flag instead of drop
    settle(panel)
    result = panel.service.result
    assert len(result) == len(samples) and int(result["duplicate_of"].notna().sum()) == expected.n_duplicates
    assert "flagged in duplicate_of" in panel.dedup_html.value

    panel.dedup.value = False
    settle(panel)
    assert panel.service.dedup_report is None and "not checked" in panel.dedup_html.value


def test_season_preview_equals_a_brute_force_count_before_applying(state, make_panel):
    panel = make_panel()
    state.grouping = GROUPING
    samples = state.fetch_samples()
    panel.dedup.value = False
    panel.season_start.value, panel.season_end.value = 11, 3  # across the year end
    settle(panel)
    window = {11, 12, 1, 2, 3}
    removed: dict[str, int] = {}
    total: dict[str, int] = {}
    for code, when in zip(samples["ewoc_code"], samples["valid_time"], strict=True):
        text = str(int(code))
        cls = "wheat" if text.startswith("110101") else "maize" if text.startswith("110106") else "other"
        total[cls] = total.get(cls, 0) + 1
        if pd.Timestamp(when).month not in window:
            removed[cls] = removed.get(cls, 0) + 1
    rows = table_rows(panel.season_html.value)
    assert {a["cls"]: int(a["removed"]) for a, _ in rows} == removed
    assert {a["cls"]: int(a["total"]) for a, _ in rows} == total
    assert {c[0]: number(c[2]) for _, c in rows} == removed  # the visible column, too
    assert f"would remove <b>{sum(removed.values()):,}</b>" in panel.season_html.value
    assert "Nov\u2013Mar (11-03)" in panel.season_html.value
    # not applied yet: nothing is removed from the training set
    assert len(panel.service.result) == len(samples)
    shaded = [m for m, y in zip(range(1, 13), panel.window_bars.y, strict=True) if y > 0]
    assert shaded == [1, 2, 3, 11, 12]
    # the histogram drawn per class: one line per class, summing to the class totals
    lines = dict(zip(panel.season_lines.labels, np.asarray(panel.season_lines.y), strict=True))
    assert {k: int(v.sum()) for k, v in lines.items()} == total

    panel.apply_season.value = True
    settle(panel)
    result = panel.service.result
    assert len(result) == len(samples) - sum(removed.values())
    assert set(pd.to_datetime(result["valid_time"]).dt.month) <= window
    assert f"removes <b>{sum(removed.values()):,}</b>" in panel.season_html.value


def test_split_shares_shown_equal_split_report(state, make_panel):
    panel = make_panel()
    state.grouping = GROUPING
    samples = state.fetch_samples()
    panel.set_shares(0.6, 0.2, 0.2)
    panel.seed.value = 3
    panel.max_per_class.value = 900
    settle(panel)
    assert panel.service.shares == (0.6, 0.2, 0.2)
    # the same chain, run here
    frame = map_classes_noting_unmapped(samples, GROUPING, unmapped="other")
    frame, _ = deduplicate(frame, 10.0)
    frame = cap_per_class(frame, 900, seed=3)
    frame = spatial_split(frame, (0.6, 0.2, 0.2), block_h3_res=5, seed=3)
    report = split_report(frame, (0.6, 0.2, 0.2))
    rows = {a["cls"]: (a, c) for a, c in table_rows(panel.split_html.value)}
    assert set(rows) == {"asked", *map(str, report.table.index)}
    for name in ("train", "validation", "test"):
        assert float(rows["asked"][0][f"{name}-share"]) == pytest.approx(report.asked[name])
    for cls, row in report.table.iterrows():
        attrs, cells = rows[str(cls)]
        for i, name in enumerate(("train", "validation", "test")):
            assert int(attrs[name]) == int(row[name]) == number(cells[1 + i])
            assert float(attrs[f"{name}-share"]) == pytest.approx(float(row[f"{name}_share"]), abs=1e-6)
            assert cells[4 + i] == f"{row[f'{name}_share']:.1%}"
    pd.testing.assert_frame_equal(panel.service.split_report.table, report.table)
    # the balance chart: one bar per class, one series per collection, the counts of the training set
    balance = class_balance(frame)
    bars = panel.balance_bars
    drawn = pd.DataFrame(np.asarray(bars.y).T, index=list(bars.x), columns=list(bars.labels))
    expected = balance.pivot_table(index="downstream_class", columns="ref_id", values="count", aggfunc="sum",
                                   fill_value=0)
    assert sorted(drawn.index) == ["maize", "other", "wheat"]
    assert drawn.to_numpy().sum() == len(frame)
    for collection in drawn.columns:
        if collection != "other collections":
            for cls in drawn.index:
                assert drawn.at[cls, collection] == expected.at[cls, collection]
    assert all(v <= 900 for v in drawn.sum(axis=1))  # the cap holds per class

    panel.set_shares(0.8, 0.2, 0.2)  # sums to 1.2: refused, said so, nothing re-run
    assert "not allowed" in panel.shares_note.value and panel.service.shares == (0.6, 0.2, 0.2)


def test_uploaded_mapping_and_the_unmapped_toggle(state, make_panel):
    panel = make_panel()
    samples = state.fetch_samples()
    settle(panel)
    content = b"ewoc_code;class\n1101010000;wheat\n11-01-06-000-0;maize\n"
    panel.upload.value = ({"name": "classes.csv", "type": "text/csv", "size": len(content),
                           "content": memoryview(content), "last_modified": UPLOADED},)
    settle(panel)
    assert panel.service.mapping_source == "upload" and panel.source.value == "upload"
    assert panel.service.mapping == GROUPING
    expected = map_classes_noting_unmapped(samples, GROUPING)["downstream_class"].value_counts().to_dict()
    shown = {a["cls"]: int(a["count"]) for a, _ in table_rows(panel.mapping_html.value)}
    assert shown == expected and "classes.csv" in panel.mapping_html.value
    other = expected["other"]
    assert f"data-unmapped='{other}'" in panel.mapping_html.value

    panel.unmapped.value = "drop"
    settle(panel)
    shown = {a["cls"]: int(a["count"]) for a, _ in table_rows(panel.mapping_html.value)}
    assert "other" not in shown and shown == {k: v for k, v in expected.items() if k != "other"}
    assert set(panel.service.result["downstream_class"]) == {"wheat", "maize"}
    assert "dropped" in panel.mapping_html.value

    bad = b'{"1101010000": ""}'
    panel.upload.value = ({"name": "bad.json", "type": "application/json", "size": len(bad),
                           "content": memoryview(bad), "last_modified": UPLOADED},)
    assert "empty class name" in panel.mapping_html.value
    assert panel.service.mapping == GROUPING  # the good mapping stays in force


def test_picker_grouping_and_selection_make_the_classes(state, make_panel):
    panel = make_panel()
    state.ewoc_codes = [1101060000, 1106000020, 1101010001]  # maize, soybeans, winter wheat
    state.grouping = {1101060000: "summer crops", 1106000020: "summer crops"}
    samples = state.fetch_samples()
    settle(panel)
    assert panel.service.mapping == {1101060000: "summer crops", 1106000020: "summer crops",
                                     1101010001: "unspecified_winter_wheat"}
    counts = samples["ewoc_code"].value_counts()
    shown = {a["cls"]: int(a["count"]) for a, _ in table_rows(panel.mapping_html.value)}
    assert shown == {"summer crops": int(counts[1101060000] + counts[1106000020]),
                     "unspecified_winter_wheat": int(counts[1101010001])}
    state.grouping = {}  # ungrouped in the picker: every ticked code its own class, no fetch needed
    settle(panel)
    assert set(panel.service.mapped_summary["classes"]) == {"maize", "soy_soybeans", "unspecified_winter_wheat"}


def test_export_writes_file_and_card_with_every_licence(state, make_panel, rdm_url, tmp_path):
    panel = make_panel(download_dir=tmp_path)
    state.grouping = GROUPING
    state.fetch_samples()
    panel.max_per_class.value = 400
    panel.min_per_class.value = 300
    settle(panel)
    assert not panel.export_button.disabled
    panel.export_button.click()
    written = panel.last_export
    assert written is not None and all(p.is_file() for p in written.paths)
    assert written.data.parent == tmp_path and written.card_markdown.name.endswith("_card.md")
    # three links carrying the files' bytes
    hrefs = re.findall(r"class='wce-training-link' download='([^']+)' href='data:[^;]+;base64,([^']+)'",
                       panel.links.value)
    assert [name for name, _ in hrefs] == [p.name for p in written.paths]
    for (_, payload), path in zip(hrefs, written.paths, strict=True):
        assert base64.b64decode(payload) == path.read_bytes()
    back = gpd.read_parquet(written.data)
    result = panel.service.result
    assert len(back) == len(result) and {"downstream_class", "split"} <= set(back.columns)
    card = read_card(written.data)
    assert card is not None and card.data == json.loads(written.card_json.read_text())
    ids = sorted(back["ref_id"].unique())
    assert [c["id"] for c in card.data["collections"]] == ids and len(ids) > 2
    for entry in card.data["collections"]:  # every collection's licence, read here with plain requests
        items = requests.get(f"{rdm_url}/collections/{entry['id']}/metadata/items", timeout=30).json()
        meta = {i["name"]: i["value"] for i in items}
        assert entry["licence_type"] == meta[LICENCE] and entry["licence"] == meta[REFERENCE]
        assert entry["samples"] == int((back["ref_id"] == entry["id"]).sum())
    flags = {r["id"]: r["flags"] for r in card.data["restricted_licences"]}
    assert flags[PRAIRIE] == ["non-commercial"] and flags[CROPWATCH] == ["share-alike"]
    assert PRAIRIE in panel.licences.value and CROPWATCH in panel.licences.value
    markdown = written.card_markdown.read_text()
    assert "Licence restrictions" in markdown and PRAIRIE in markdown
    steps = [s["step"] for s in card.data["steps"]]
    assert steps == ["map_classes", "deduplicate", "cap_per_class", "spatial_split"]
    assert card.data["balance"]["max_per_class"] == 400
    assert card.data["balance"]["below_minimum"] == [] and panel.balance_warnings.value == ""
    # a new result clears the links (they would pass for the new one); without a cap the minimum is still checked
    panel.max_per_class.value = 0
    panel.min_per_class.value = 5000
    settle(panel)
    assert panel.links.value == ""
    counts = panel.service.result["downstream_class"].value_counts()
    under = sorted(c for c, n in counts.items() if n < 5000)
    assert under == ["maize", "wheat"]  # "other" has more
    warning = panel.balance_warnings.value
    assert "2 class(es) have fewer than min_per_class=5000" in warning
    assert all(f"{c} ({counts[c]})" in warning for c in under) and "other (" not in warning


def test_close_leaves_no_thread(state):
    from worldcereal_explorer.widgets.training_panel import TrainingPanel

    before = {t for t in threading.enumerate() if t.name.startswith("wce-training")}
    panel = TrainingPanel(state)
    state.fetch_samples()
    panel.service.wait(60)
    panel.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("wce-training") and t not in before]
    state.grouping = GROUPING  # after close, the panel's service no longer follows the state
    assert not panel.service.busy
