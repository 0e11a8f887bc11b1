"""Legend loading through a real local HTTP server (so the download + cache code runs), labels, tree."""

import os
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from worldcereal_explorer.errors import BadEwocCodeError, LegendError
from worldcereal_explorer.legend import (
    Legend,
    dashed_to_ewoc_code,
    ewoc_code_to_dashed,
    ewoc_code_to_label,
    load_legend,
    parent_code,
    translate_ewoc_codes,
)

#: Codes seen in 2024 API responses that the shared legend lacks (shared/data/README.md).
CODES_MISSING_FROM_LEGEND = [1101070030, 1300000000, 2003000000]


class _QuietHandler(SimpleHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _QuietHandler.hits.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def legend_http(shared_data):
    """Serve ../shared/data/legend over HTTP on loopback."""
    handler = partial(_QuietHandler, directory=str(shared_data / "legend"))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_dashed_round_trip():
    assert dashed_to_ewoc_code("11-01-01-000-0") == 1101010000
    assert dashed_to_ewoc_code("00-00-00-000-0") == 0
    assert ewoc_code_to_dashed(1101010001) == "11-01-01-000-1"
    assert ewoc_code_to_dashed(0) == "00-00-00-000-0"
    with pytest.raises(BadEwocCodeError, match="'11-1-01-000-0'"):
        dashed_to_ewoc_code("11-1-01-000-0")


def test_parent_code():
    assert parent_code(1101010001) == 1101010000
    assert parent_code(1101010000) == 1101000000
    assert parent_code(1101000000) == 1100000000
    assert parent_code(1100000000) is None


@pytest.mark.shared_data
def test_real_legend_over_http_with_cache_and_ttl(legend_http, tmp_path):
    url = f"{legend_http}/WorldCereal_LC_CT_legend.csv"
    _QuietHandler.hits.clear()
    legend = load_legend(url, cache_dir=tmp_path)
    assert len(legend) == 867
    assert legend.label(1101060000) == "maize"
    assert legend.label(0) == "unknown"
    assert len(_QuietHandler.hits) == 1
    cached = list(tmp_path.glob("*.csv"))
    assert len(cached) == 1
    # Within the TTL: served from the cache, no request.
    load_legend(url, cache_dir=tmp_path)
    assert len(_QuietHandler.hits) == 1
    # Past the TTL: fetched again.
    old = time.time() - 3600
    os.utime(cached[0], (old, old))
    load_legend(url, cache_dir=tmp_path, ttl_s=60)
    assert len(_QuietHandler.hits) == 2
    # Server gone / file missing: the stale cache is used rather than failing.
    os.utime(cached[0], (old, old))
    stale = load_legend(f"{legend_http}/WorldCereal_LC_CT_legend.csv", cache_dir=tmp_path, ttl_s=60)
    assert len(stale) == 867


@pytest.mark.shared_data
def test_env_var_url_is_used(legend_http, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLDCEREAL_LEGEND_URL", f"{legend_http}/WorldCereal_LC_CT_legend.csv")
    assert len(load_legend(cache_dir=tmp_path)) == 867


def test_unreachable_legend_without_cache_is_a_clear_error(tmp_path):
    with pytest.raises(LegendError, match="could not download the legend from http://127.0.0.1:9/"):
        load_legend("http://127.0.0.1:9/legend.csv", cache_dir=tmp_path, timeout=2)
    with pytest.raises(LegendError, match="does not exist"):
        load_legend(tmp_path / "nope.csv")


def test_a_misspelt_option_is_named_before_anything_is_read(tmp_path):
    from worldcereal_explorer.legend import load_irrigation_legend

    with pytest.raises(TypeError, match=r"load_legend\(\) got an unexpected keyword argument 'ttl'; .*ttl_s"):
        load_legend(tmp_path / "nope.csv", ttl=3)
    with pytest.raises(TypeError, match=r"load_irrigation_legend\(\) .* 'cache'"):
        load_irrigation_legend(tmp_path / "nope.csv", cache=tmp_path)


def test_garbage_is_not_cached(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(LegendError, match="no 'ewoc_code' column"):
        load_legend(bad)


@pytest.mark.shared_data
def test_translate_and_unknown_codes(shared_data):
    legend = load_legend(shared_data / "legend" / "WorldCereal_LC_CT_legend.csv")
    table = translate_ewoc_codes([1101060000, 1101010001, *CODES_MISSING_FROM_LEGEND], legend=legend)
    assert list(table.columns) == [
        "label_full", "level_1", "level_2", "level_3", "level_4", "level_5", "sampling_label", "definition"]
    assert table.loc[1101010001, "sampling_label"] == "wheat"
    assert table.index.name == "ewoc_code"
    assert table.loc[1101060000, "label_full"] == "maize"
    assert table.loc[1101060000, "definition"] == "Zea mays"
    assert table.loc[1101010001, "level_5"] == "unspecified_winter_wheat"
    for code in CODES_MISSING_FROM_LEGEND:
        assert table.loc[code, "label_full"] == f"unknown ({code})"
    assert ewoc_code_to_label(1300000000, legend=legend) == "unknown (1300000000)"
    assert ewoc_code_to_label([1101060000, 1101080000], legend=legend) == ["maize", "rice"]
    with pytest.raises(BadEwocCodeError):
        translate_ewoc_codes([42], legend=legend)


@pytest.mark.shared_data
def test_tree_of_real_legend(shared_data):
    legend = load_legend(shared_data / "legend" / "WorldCereal_LC_CT_legend.csv")
    root = legend.tree()
    nodes = [n for n in root if n is not root]
    assert len(nodes) == 866  # every class but 'unknown' (0), each exactly once
    assert len({n.code for n in nodes}) == 866
    maize = root.find(1101060000)
    assert [n.group_name for n in maize.path()] == ["temporary_crops", "cereals", "maize"]
    assert [n.label for n in maize.path()] == ["temporary_crops", "unspecified_cereal", "maize"]
    assert maize.level == 3
    cereals = root.find(1101000000)
    descendants = cereals.descendant_codes()
    assert 1101060000 in descendants and 1101010001 in descendants
    assert all(str(c).startswith("1101") for c in descendants)
    # Each child's code is "under" its parent by the digit-group rule.
    for node in nodes:
        if node.parent is not root:
            assert parent_code(node.code) is not None


def test_legend_from_frame_with_int_index():
    import pandas as pd

    legend = Legend(pd.DataFrame({"label_full": ["maize"]}, index=[1101060000]))
    assert legend.label(1101060000) == "maize"
    assert 1101060000 in legend and 1101080000 not in legend
