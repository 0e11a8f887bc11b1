"""Bad inputs raise InvalidInputError subclasses naming the value; good edge cases are converted correctly."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worldcereal_explorer.errors import InvalidInputError
from worldcereal_explorer.rdm.client import RdmClient

from .conftest import Anonymous, assert_ours

VALID_BBOX = (4.0, 50.0, 6.0, 52.0)
BAD_NUMBERS = [10**400, -(10**400), True, False, math.nan, math.inf, -math.inf, "abc", "", None, [1]]
BAD_DATES = ["2021-01-01garbage", "2021-01-01T99:99:99", "2021-13-01", "01/02/2021", pd.NaT, None, "", math.nan, 20210101]
BAD_REF_IDS = ["abc\n", "a/b", "../etc", "x/", "/x", "a b", "", "ä", "a?b=c", "a#b", None, 123]
BAD_TIMEOUTS = [0, -1, -0.5, math.nan, math.inf, (0, 5), (5, 0), (-1, 5), (5, math.nan), True, "5", (1, 2, 3)]


def _recognisable(value) -> list[str]:
    """Texts one of which the message must contain for ``value``."""
    text = repr(value)
    options = [text, text[:20], str(value)[:20]]
    if isinstance(value, float) and math.isnan(value):
        options.append("nan")
    return [o for o in options if o]


def _check(exc_info_value, value):
    assert_ours(exc_info_value)
    assert isinstance(exc_info_value, InvalidInputError), f"{type(exc_info_value).__name__}: {exc_info_value}"
    message = str(exc_info_value)
    assert any(o in message for o in _recognisable(value)), f"{value!r} not named in: {message}"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.sampled_from(BAD_NUMBERS), position=st.integers(0, 3))
def test_bad_bbox_value(bad, position):
    bbox = list(VALID_BBOX)
    bbox[position] = bad
    with pytest.raises(Exception) as info:
        RdmClient.search_params(spatial_extent=bbox)
    _check(info.value, bad)


@settings(max_examples=50, deadline=None)
@given(bad=st.sampled_from(BAD_DATES), end=st.booleans())
def test_bad_date(bad, end):
    extent = ("2021-01-01", bad) if end else (bad, "2021-12-31")
    with pytest.raises(Exception) as info:
        RdmClient.search_params(temporal_extent=extent)
    _check(info.value, bad)


@settings(max_examples=50, deadline=None)
@given(bad=st.sampled_from(BAD_REF_IDS),
       method=st.sampled_from(["get_collection", "get_collection_metadata", "get_code_stats", "get_download_url",
                               "get_items", "get_crop_counts"]))
def test_bad_ref_id_never_reaches_the_network(bad, method):
    client = RdmClient("http://127.0.0.1:9", token_provider=Anonymous(), retries=0, timeout=(0.2, 0.2))
    func = getattr(client, method)
    arg = [bad] if method == "get_crop_counts" else bad
    with pytest.raises(Exception) as info:
        func(arg)
    _check(info.value, bad)


@settings(max_examples=50, deadline=None)
@given(bad=st.sampled_from(BAD_TIMEOUTS), which=st.sampled_from(["timeout", "download_timeout"]))
def test_bad_timeouts(bad, which):
    with pytest.raises(Exception) as info:
        RdmClient("http://127.0.0.1:9", token_provider=Anonymous(), **{which: bad})
    _check(info.value, bad)


@pytest.mark.parametrize("kwargs", [{"retries": -1}, {"retries": True}, {"retries": 1.5}, {"deadline": 0},
                                    {"deadline": -5}, {"backoff_factor": -1}, {"max_workers": 0},
                                    {"download_route_timeout": 0},
                                    *[{"download_route_timeout": v} for v in (math.nan, math.inf, True)]])
def test_bad_client_arguments(kwargs):
    (name, value), = kwargs.items()
    with pytest.raises(Exception) as info:
        RdmClient("http://127.0.0.1:9", token_provider=Anonymous(), **kwargs)
    _check(info.value, value)
    assert name in str(info.value)


def test_aware_end_date_is_converted_to_utc():
    end = dt.datetime.fromisoformat("2021-01-01T23:30:00-02:00")
    params = dict(RdmClient.search_params(temporal_extent=("2021-01-01", end)))
    assert params["ValidityTime.End"] == "2021-01-02T23:59:59Z"
    params = dict(RdmClient.search_params(temporal_extent=("2021-01-01", "2021-01-01T23:30:00-02:00")))
    assert params["ValidityTime.End"] == "2021-01-02T23:59:59Z"
    params = dict(RdmClient.search_params(temporal_extent=(pd.Timestamp("2021-01-01T01:00:00+02:00"), "2021-02-01")))
    assert params["ValidityTime.Start"] == "2020-12-31T00:00:00Z"


@pytest.mark.timeout(60)
def test_many_codes_are_split_into_short_urls(server, make_client):
    codes = [1_000_000_000 + 7 * i for i in range(10_000)]
    server.search_ids = ()
    client = make_client(server.url, timeout=(2, 5), retries=1, deadline=40)
    assert client.get_collections(ewoc_codes=codes) == []
    searches = server.seen("/collections/search")
    assert len(searches) > 1
    assert max(r.line_length for r in searches) < 8 * 1024, max(r.line_length for r in searches)
    sent = [int(v) for r in searches for k, v in r.query if k == "EwocCodes"]
    assert sorted(sent) == sorted(codes)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.sampled_from(BAD_NUMBERS), position=st.integers(0, 3))
def test_bad_bbox_never_reaches_the_server(server, make_client, bad, position):
    server.search_ids = ()
    client = make_client(server.url, timeout=(2, 3), retries=0)
    bbox = list(VALID_BBOX)
    bbox[position] = bad
    before = server.count()
    with pytest.raises(Exception) as info:
        client.get_collections(bbox=bbox)
    _check(info.value, bad)
    assert server.count() == before
