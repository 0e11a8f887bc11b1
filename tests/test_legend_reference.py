"""Reference-client shaped legend functions (issue 11 A): get_legend(topic), sampling labels, irrigation legend.

Every load goes through a real HTTP server on loopback (the package's download, cache and fallback code
runs), or the local RDM server serving the demo catalogue; the ``shared_data`` tests use the real legend files.
"""

import json
import logging
import os
import shutil
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
import requests

from worldcereal_explorer.demo.codes import IRRIGATED_CODES
from worldcereal_explorer.demo.legend import (
    DEMO_IRRIGATION_LEGEND_PATH,
    DEMO_LEGEND_PATH,
    IRRIGATION_LEGEND_FILE,
    install_legend,
    irrigation_codes,
)
from worldcereal_explorer.errors import BadEwocCodeError, BadParameterError, LegendError
from worldcereal_explorer.legend import (
    OFFICIAL_LEGEND_URLS,
    IrrigationLegend,
    Legend,
    default_irrigation_legend,
    default_legend,
    ewoc_code_to_label,
    get_legend,
    load_irrigation_legend,
    load_legend,
    official_legend_urls,
    set_default_irrigation_legend,
    set_default_legend,
    translate_ewoc_codes,
)
from worldcereal_explorer.legend import sources as legend_sources
from worldcereal_explorer.server import routes_meta, serve_in_thread

LC_FILE = "WorldCereal_LC_CT_legend.csv"
IRR_FILE = "WorldCereal_IRR_legend_V1.csv"
#: The live land-cover legend's columns, the CSV header without ``ewoc_code`` (now the index).
LC_COLUMNS = ["level_1", "level_2", "level_3", "level_4", "level_5", "definition", "label_full", "LC_code",
              "LC_label", "sampling_label", "sampling_label_v0", "finetune_class"]
IRR_COLUMNS = ["level_0", "level_1", "level_2", "label"]
TRANSLATED = ["label_full", "level_1", "level_2", "level_3", "level_4", "level_5", "sampling_label", "definition"]
#: Codes seen in 2024 API responses that the shared legend lacks (shared/data/README.md).
MISSING = [1101070030, 1300000000]
#: Where nothing listens: connections are refused at once.
DEAD_URL = "http://127.0.0.1:9/WorldCereal_LC_CT_legend_latest.csv"


class _Handler(SimpleHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Handler.hits.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


def _serve(directory):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture
def file_server(tmp_path):
    """A loopback HTTP server over a fresh folder: (folder, base URL); ``_Handler.hits`` lists the requests."""
    folder = tmp_path / "www"
    folder.mkdir()
    httpd, url = _serve(folder)
    _Handler.hits.clear()
    yield folder, url
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def shared_legend_http(shared_data):
    """../shared/data/legend over HTTP on loopback."""
    httpd, url = _serve(shared_data / "legend")
    yield url
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No test touches the user's cache, and the process-wide default legends are reset afterwards."""
    monkeypatch.setattr(legend_sources, "_cache_dir", lambda: tmp_path / "cache")
    monkeypatch.delenv("WORLDCEREAL_LEGEND_URL", raising=False)
    monkeypatch.delenv("WORLDCEREAL_IRRIGATION_LEGEND_URL", raising=False)
    set_default_legend(None)
    set_default_irrigation_legend(None)
    yield
    set_default_legend(None)
    set_default_irrigation_legend(None)


# ---- get_legend ----------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_get_legend_landcover_has_the_live_columns(shared_legend_http):
    legend = get_legend("landcover", source=f"{shared_legend_http}/{LC_FILE}")
    assert isinstance(legend, pd.DataFrame)
    assert legend.index.name == "ewoc_code" and legend.index.dtype == "int64"
    assert len(legend) == 867 and legend.index.is_unique
    assert list(legend.columns) == LC_COLUMNS
    assert str(legend["LC_code"].dtype) == "Int64"
    winter_wheat = legend.loc[1101010001]
    assert winter_wheat["label_full"] == "unspecified_winter_wheat"
    assert winter_wheat["sampling_label"] == "wheat" and winter_wheat["LC_code"] == 11
    assert legend.loc[2001020022, "sampling_label"] == "grasslands"
    assert legend.loc[2001020022, "LC_label"] == "non_cropland_herbaceous"
    assert legend.loc[1115000001, "LC_label"] == "unkown"  # the source's spelling, kept
    assert legend.loc[1115000001, "LC_code"] == 0
    assert pd.isna(legend.loc[0, "finetune_class"])  # empty cells are missing values
    assert set(legend["sampling_label"]) >= {"maize", "rice", "wheat", "not_cultivated_fallow"}
    assert legend["sampling_label"].nunique() == 57
    # A new frame each time: changing it does not change the next answer.
    legend.loc[1101010001, "sampling_label"] = "changed"
    assert get_legend(source=f"{shared_legend_http}/{LC_FILE}").loc[1101010001, "sampling_label"] == "wheat"


@pytest.mark.shared_data
def test_get_legend_irrigation_from_the_environment_variable(shared_legend_http, monkeypatch):
    monkeypatch.setenv("WORLDCEREAL_IRRIGATION_LEGEND_URL", f"{shared_legend_http}/{IRR_FILE}")
    _Handler.hits.clear()
    legend = get_legend("irrigation")
    assert legend.index.name == "irrigation_code" and legend.index.dtype == "int64"
    assert list(legend.index) == [0, 100, 200, 210, 213, 214, 215, 220, 223, 224, 225]
    assert list(legend.columns) == IRR_COLUMNS
    assert legend.loc[213, "label"] == "fully irrigated - surface"
    assert legend.loc[225, "label"] == "supplementary irrigation - drip"
    assert legend.loc[210, "level_1"] == 210 and pd.isna(legend.loc[210, "level_0"])
    assert legend.loc[100, "level_0"] == 100
    assert _Handler.hits == [f"/{IRR_FILE}"]
    # The process-wide irrigation legend is loaded once.
    assert get_legend("IRR").equals(legend)
    assert _Handler.hits == [f"/{IRR_FILE}"]
    assert default_irrigation_legend().label(71) == "unknown (71)"  # real data has codes outside the legend


def test_get_legend_of_loaded_legends_and_the_default():
    lc = load_legend(DEMO_LEGEND_PATH)
    frame = get_legend(legend=lc)
    assert frame.index.name == "ewoc_code" and list(frame.columns) == LC_COLUMNS
    assert frame.loc[1101060000, "sampling_label"] == "maize"
    set_default_legend(lc)
    assert default_legend() is lc  # default_legend() stays the Legend object the client uses
    assert get_legend().equals(frame)
    irr = load_irrigation_legend(DEMO_IRRIGATION_LEGEND_PATH)
    assert get_legend("irrigation", legend=irr).loc[214, "label"] == "fully irrigated - sprinkler"


@pytest.mark.parametrize("topic", ["crops", "", None, 3, "land cover"])
def test_bad_topic_names_the_value_and_the_allowed_ones(topic):
    with pytest.raises(BadParameterError, match="'landcover' or 'irrigation'") as info:
        get_legend(topic)
    assert repr(topic) in str(info.value)


def test_get_legend_rejects_mismatched_arguments():
    irr = load_irrigation_legend(DEMO_IRRIGATION_LEGEND_PATH)
    with pytest.raises(BadParameterError, match="must be a Legend for topic 'landcover', not IrrigationLegend"):
        get_legend("landcover", legend=irr)
    with pytest.raises(BadParameterError, match="not both"):
        get_legend("irrigation", legend=irr, source=DEMO_IRRIGATION_LEGEND_PATH)
    with pytest.raises(LegendError, match="irrigation legend file .* does not exist"):
        get_legend("irrigation", source="/nonexistent/irr.csv")


# ---- official URLs: several hosts, tried in order, cached --------------------------------------------------


def test_each_topic_has_several_official_urls():
    for topic in ("landcover", "irrigation"):
        urls = official_legend_urls(topic)
        assert len(urls) >= 2 and len(set(urls)) == len(urls)
        assert all(url.startswith("https://") for url in urls)
        assert {url.rsplit("/", 1)[1] for url in urls} == {
            "landcover": {"WorldCereal_LC_CT_legend_latest.csv"},
            "irrigation": {"WorldCereal_IRR_legend_latest.csv"},
        }[topic]
    assert len({url.split("/")[2] for url in official_legend_urls("landcover")}) >= 2  # distinct hosts


@pytest.mark.parametrize(
    ("topic", "demo_file", "loader", "code", "label"),
    [
        ("landcover", DEMO_LEGEND_PATH, load_legend, 1101060000, "maize"),
        ("irrigation", DEMO_IRRIGATION_LEGEND_PATH, load_irrigation_legend, 215, "fully irrigated - drip"),
    ],
)
def test_official_urls_are_tried_in_order_cached_and_stale_copies_used(
    file_server, tmp_path, monkeypatch, caplog, topic, demo_file, loader, code, label,
):
    folder, base = file_server
    name = {"landcover": "WorldCereal_LC_CT_legend_latest.csv", "irrigation": "WorldCereal_IRR_legend_latest.csv"}
    (folder / "new-host").mkdir()
    shutil.copyfile(demo_file, folder / "new-host" / name[topic])
    # A dead host, a host that no longer has the file, then the one that has it.
    candidates = (DEAD_URL, f"{base}/old-host/{name[topic]}", f"{base}/new-host/{name[topic]}")
    monkeypatch.setitem(OFFICIAL_LEGEND_URLS, topic, candidates)
    cache = tmp_path / "legend-cache"

    legend = loader(cache_dir=cache, timeout=2)
    assert legend.label(code) == label
    assert _Handler.hits == [f"/old-host/{name[topic]}", f"/new-host/{name[topic]}"]
    cached = list(cache.glob("*.csv"))
    assert len(cached) == 1 and cached[0].read_bytes() == demo_file.read_bytes()

    # Within the TTL: from the cache, no request.
    assert loader(cache_dir=cache, timeout=2).label(code) == label
    assert len(_Handler.hits) == 2

    # Past the TTL with every host failing: the stale copy, with a warning naming the failures.
    (folder / "new-host" / name[topic]).unlink()
    old = time.time() - 3600
    os.utime(cached[0], (old, old))
    with caplog.at_level(logging.WARNING, logger="worldcereal_explorer.legend"):
        stale = loader(cache_dir=cache, ttl_s=60, timeout=2)
    assert stale.label(code) == label
    assert len(_Handler.hits) == 4
    assert "using the cached copy" in caplog.text and "answered HTTP 404" in caplog.text

    # No cache and no host: one error naming every URL tried and the environment variable.
    shutil.rmtree(cache)
    env = {"landcover": "WORLDCEREAL_LEGEND_URL", "irrigation": "WORLDCEREAL_IRRIGATION_LEGEND_URL"}[topic]
    with pytest.raises(LegendError, match=f"from any official URL .*127.0.0.1:9.*old-host.*new-host.*{env}"):
        loader(cache_dir=cache, timeout=2)


def test_environment_variable_may_name_a_local_file(monkeypatch):
    monkeypatch.setenv("WORLDCEREAL_IRRIGATION_LEGEND_URL", str(DEMO_IRRIGATION_LEGEND_PATH))
    assert load_irrigation_legend().label(100) == "rainfed"
    monkeypatch.setenv("WORLDCEREAL_LEGEND_URL", str(DEMO_LEGEND_PATH))
    assert load_legend().label(1101080000) == "rice"


def test_irrigation_garbage_is_not_cached(file_server, tmp_path):
    folder, base = file_server
    (folder / "irr.csv").write_text("code;name\n1;x\n")
    with pytest.raises(LegendError, match="no 'irrigation_code' column"):
        load_irrigation_legend(f"{base}/irr.csv", cache_dir=tmp_path / "c")
    assert not list(tmp_path.glob("c/*.csv"))
    (folder / "bad.csv").write_text("irrigation_code;label\n2x;oops\n")
    with pytest.raises(LegendError, match="'2x' is not a non-negative integer"):
        load_irrigation_legend(f"{base}/bad.csv", cache_dir=tmp_path / "c")


# ---- translate_ewoc_codes / ewoc_code_to_label ----------------------------------------------------------


@pytest.mark.shared_data
def test_translate_adds_sampling_label(shared_legend_http, tmp_path):
    legend = load_legend(f"{shared_legend_http}/{LC_FILE}", cache_dir=tmp_path)
    table = translate_ewoc_codes([1101010001, 1101060000, *MISSING], legend=legend)
    assert list(table.columns) == TRANSLATED
    assert list(table.index) == [1101010001, 1101060000, *MISSING]
    assert table.loc[1101010001, "sampling_label"] == "wheat"
    assert table.loc[1101010001, "level_5"] == "unspecified_winter_wheat"
    assert table.loc[1101060000, "definition"] == "Zea mays"
    for code in MISSING:
        assert table.loc[code, "label_full"] == f"unknown ({code})" and pd.isna(table.loc[code, "sampling_label"])
    # The reference's way: a DataFrame from get_legend() as the legend.
    frame = get_legend(legend=legend)
    assert translate_ewoc_codes([2001020022], legend=frame).loc[2001020022, "sampling_label"] == "grasslands"


def test_translate_without_sampling_labels_keeps_the_old_columns():
    legend = Legend(pd.DataFrame({"label_full": ["maize"]}, index=[1101060000]))
    table = translate_ewoc_codes([1101060000], legend=legend)
    assert list(table.columns) == ["label_full", "level_1", "level_2", "level_3", "level_4", "level_5", "definition"]
    with pytest.raises(LegendError, match="no 'sampling_label' column"):
        ewoc_code_to_label([1101060000], "sampling", legend=legend)
    assert ewoc_code_to_label(1101060000, "full", legend) == "maize"


@pytest.mark.shared_data
def test_ewoc_code_to_label_full_and_sampling(shared_legend_http, tmp_path):
    legend = load_legend(f"{shared_legend_http}/{LC_FILE}", cache_dir=tmp_path)
    codes = [1101010001, 1115000001, 2001020022, 1300000000]
    assert ewoc_code_to_label(codes, legend=legend) == [
        "unspecified_winter_wheat", "fallow_short_term", "longterm_meadows", "unknown (1300000000)"]
    assert ewoc_code_to_label(codes, label_type="sampling", legend=legend) == [
        "wheat", "not_cultivated_fallow", "grasslands", "unknown (1300000000)"]
    assert ewoc_code_to_label(codes, "sampling", legend, unknown="Unknown")[-1] == "Unknown"  # the reference's
    assert ewoc_code_to_label(1101010001, "sampling", legend) == "wheat"
    assert ewoc_code_to_label(1101010001, legend) == "unspecified_winter_wheat"  # the old positional legend
    assert ewoc_code_to_label(codes[:1], "sampling", get_legend(legend=legend)) == ["wheat"]
    with pytest.raises(BadEwocCodeError):
        ewoc_code_to_label([42], legend=legend)


@pytest.mark.parametrize("label_type", ["short", "FULL", None, 1])
def test_bad_label_type_names_the_value(label_type):
    legend = load_legend(DEMO_LEGEND_PATH)
    with pytest.raises(BadParameterError, match="'full' or 'sampling'") as info:
        ewoc_code_to_label([1101060000], label_type, legend)
    assert repr(label_type) in str(info.value)
    with pytest.raises(BadParameterError):
        legend.labels([], label_type)


def test_irrigation_legend_labels_and_codes():
    legend = load_irrigation_legend(DEMO_IRRIGATION_LEGEND_PATH)
    assert isinstance(legend, IrrigationLegend) and len(legend) == 11
    assert legend.labels([0, "100", 213.0]) == ["no information", "rainfed", "fully irrigated - surface"]
    assert legend.label(98, unknown="Unknown") == "Unknown"
    assert 224 in legend and 55 not in legend and "x" not in legend
    for bad in (-1, "abc", True, 2.5):
        with pytest.raises(BadParameterError, match="not a non-negative integer"):
            legend.label(bad)


# ---- the demo irrigation legend and the local server ----------------------------------------------------


def test_demo_irrigation_legend_covers_the_demo_codes_and_their_parents():
    labels = irrigation_codes()
    used = {0, 100, *map(int, IRRIGATED_CODES)}
    assert used <= set(labels)
    for code in used - {0, 100}:  # 213 -> 210 -> 200
        assert {code // 10 * 10, code // 100 * 100} <= set(labels)
    frame = get_legend("irrigation", legend=load_irrigation_legend(DEMO_IRRIGATION_LEGEND_PATH))
    assert list(frame.columns) == IRR_COLUMNS
    for code in frame.index:  # the code repeated at its level, the other levels empty
        levels = frame.loc[code, ["level_0", "level_1", "level_2"]]
        assert levels.dropna().tolist() == [code]


@pytest.mark.shared_data
def test_demo_irrigation_legend_agrees_with_the_official_one(shared_data):
    official = get_legend("irrigation", source=shared_data / "legend" / IRR_FILE)
    demo = get_legend("irrigation", source=DEMO_IRRIGATION_LEGEND_PATH)
    assert list(demo.columns) == list(official.columns)
    pd.testing.assert_frame_equal(demo, official.loc[demo.index])


def test_install_legend_writes_both_legends_deterministically(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        assert install_legend(tmp_path / name) == tmp_path / name / "legend.csv"
    for name in ("legend.csv", IRRIGATION_LEGEND_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / IRRIGATION_LEGEND_FILE).read_bytes() == DEMO_IRRIGATION_LEGEND_PATH.read_bytes()
    (tmp_path / "c").mkdir()
    install_legend(tmp_path / "c", irrigation_legend_path=None)
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["legend.csv"]
    assert IRRIGATION_LEGEND_FILE == routes_meta.IRRIGATION_LEGEND_FILE == "legend_irrigation.csv"


def test_local_server_serves_the_irrigation_legend(rdm_url, demo_catalog, tmp_path):
    reply = requests.get(f"{rdm_url}/legend_irrigation.csv", timeout=30)
    assert reply.status_code == 200 and reply.headers["content-type"].split(";")[0] == "text/csv"
    assert reply.content == (demo_catalog / IRRIGATION_LEGEND_FILE).read_bytes()
    assert reply.content == DEMO_IRRIGATION_LEGEND_PATH.read_bytes()
    legend = load_irrigation_legend(f"{rdm_url}/legend_irrigation.csv", cache_dir=tmp_path)
    assert legend.label(223) == "supplementary irrigation - surface"
    frame = get_legend("irrigation", source=f"{rdm_url}/legend_irrigation.csv")
    assert frame.loc[200, "label"] == "irrigated"
    spec = requests.get(f"{rdm_url}/openapi.json", timeout=30).json()
    operation = spec["paths"]["/legend_irrigation.csv"]["get"]
    assert set(operation["responses"]) == {"200", "404"}
    assert list(operation["responses"]["200"]["content"]) == ["text/csv"]
    assert list(operation["responses"]["404"]["content"]) == ["application/json"]
    # The same for the land-cover legend through get_legend().
    lc = get_legend(source=f"{rdm_url}/legend.csv")
    assert lc.loc[1101060000, "sampling_label"] == "maize" and list(lc.columns) == LC_COLUMNS


def test_catalogue_without_irrigation_legend_answers_json_404(tmp_path):
    root = tmp_path / "catalog"
    (root / "one").mkdir(parents=True)
    (root / "one" / "collection.json").write_text(json.dumps({"collectionId": "one", "accessType": "Public"}))
    with serve_in_thread(root) as server:
        reply = requests.get(f"{server.url}/legend_irrigation.csv", timeout=30)
        assert reply.status_code == 404 and reply.headers["content-type"].startswith("application/json")
        assert "legend_irrigation.csv" in reply.text
        assert requests.put(f"{server.url}/legend_irrigation.csv", timeout=30).status_code == 405
