"""One serialisable query: to_dict / from_dict, save / load, validation that names the field, links, code."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from worldcereal_explorer.errors import (
    BadEwocCodeError,
    BadExtentError,
    BadParameterError,
    BadTemporalExtentError,
    InvalidInputError,
)
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.state.links import parse_query_string
from worldcereal_explorer.state.serialize import INPUT_FIELDS, validate_state_dict

ENDPOINT = "http://127.0.0.1:9"
TRIANGLE = {"type": "Polygon", "coordinates": [[[3.0, 50.0], [6.0, 50.0], [4.5, 52.123456789012], [3.0, 50.0]]]}


@pytest.fixture
def state():
    s = RdmQueryState(ENDPOINT, auto_search=False)
    yield s
    s.close()


def _fill(s: RdmQueryState) -> RdmQueryState:
    s.bbox = (3, 50, 6, 52.123456789012)
    s.polygon = TRIANGLE
    s.start_date = dt.date(2021, 1, 1)
    s.end_date = "2021-12-31"
    s.ewoc_codes = [1101060000, 1101010001]
    s.grouping = {1101060000: "maize"}
    s.include_private = True
    s.min_quality_lc = 10
    s.min_quality_ct = 75
    s.subset = True
    s.selected_ids = ["2021_BEL_A", "2021_NLD_B"]
    return s


def test_to_dict_is_versioned_json_and_round_trips(state):
    d = _fill(state).to_dict()
    assert d["version"] == 1 and d["endpoint"] == ENDPOINT
    assert set(INPUT_FIELDS) <= set(d)
    text = json.dumps(d)  # JSON-safe as it is
    again = RdmQueryState.from_dict(json.loads(text), auto_search=False)
    try:
        assert again.to_dict() == d
        assert again.client.endpoint == ENDPOINT
        assert again.start_date == dt.date(2021, 1, 1) and again.grouping == {1101060000: "maize"}
        assert again.auto_search is False
    finally:
        again.close()


def test_from_dict_uses_the_given_client(state, client):
    d = _fill(state).to_dict()
    again = RdmQueryState.from_dict(d, client=client, auto_search=False)
    assert again.client is client and again.bbox == (3.0, 50.0, 6.0, 52.123456789012)


def test_save_and_load_atomic(state, tmp_path):
    path = _fill(state).save(tmp_path / "nested" / "q.json")
    assert sorted(p.name for p in path.parent.iterdir()) == ["q.json"]  # no temporary file left
    assert json.loads(path.read_text())["version"] == 1
    loaded = RdmQueryState.load(path, auto_search=False)
    try:
        assert loaded.to_dict() == state.to_dict()
    finally:
        loaded.close()


def test_apply_dict_changes_inputs_only(state):
    d = _fill(RdmQueryState(ENDPOINT, auto_search=False)).to_dict()
    d["endpoint"] = "http://127.0.0.1:1"
    state.apply_dict(d)
    assert state.client.endpoint == ENDPOINT
    assert state.ewoc_codes == [1101010001, 1101060000]  # a query holds its codes sorted


@pytest.mark.parametrize(("field", "value", "error"), [
    ("bbox", [1, 2, 3], BadExtentError),
    ("bbox", [10, 50, 5, 52], BadExtentError),
    ("polygon", "POLYGON ((nonsense", BadExtentError),
    ("start_date", "2021-13-40", BadTemporalExtentError),
    ("ewoc_codes", ["maize"], BadEwocCodeError),
    ("ewoc_codes", "1101060000", BadParameterError),  # a lone string is not a list
    ("grouping", {"abc": "x"}, BadEwocCodeError),
    ("grouping", {"1101060000": ""}, BadParameterError),
    ("include_public", "yes", BadParameterError),
    ("min_quality_lc", 101, BadParameterError),
    ("min_quality_ct", True, BadParameterError),
    ("subset", 1, BadParameterError),
    ("selected_ids", [1, 2], BadParameterError),
    ("endpoint", "127.0.0.1:8000", BadParameterError),
    ("bboxx", [1, 2, 3, 4], BadParameterError),
    ("version", 2, BadParameterError),
])
def test_validation_names_the_bad_field(field, value, error):
    data = {"version": 1, field: value}
    with pytest.raises(error, match=rf"^{field}: ") as info:
        validate_state_dict(data)
    assert info.value.field == field
    assert isinstance(info.value, InvalidInputError)


def test_validation_of_dates_and_version():
    with pytest.raises(BadTemporalExtentError, match="^end_date: .*not set"):
        validate_state_dict({"version": 1, "start_date": "2021-01-01"})
    with pytest.raises(BadTemporalExtentError, match="^end_date: .*start 2021-02-01 is after end 2021-01-01"):
        validate_state_dict({"version": 1, "start_date": "2021-02-01", "end_date": "2021-01-01"})
    with pytest.raises(BadParameterError, match="^version: missing"):
        validate_state_dict({"bbox": None})
    with pytest.raises(BadParameterError, match="^query: "):
        validate_state_dict([1, 2])
    assert validate_state_dict({"version": 1})["include_public"] is True  # defaults fill the rest


def test_load_reports_file_and_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "min_quality_ct": 500}))
    with pytest.raises(BadParameterError, match=r"bad\.json.*min_quality_ct: 500"):
        RdmQueryState.load(bad)
    bad.write_text("{not json")
    with pytest.raises(BadParameterError, match="is not JSON"):
        RdmQueryState.load(bad)
    with pytest.raises(BadParameterError, match="cannot read"):
        RdmQueryState.load(tmp_path / "missing.json")


def test_query_string_round_trip(state):
    _fill(state)
    query = state.to_query_string()
    assert "wkt=POLYGON" in query and "access=public,private" in query and "subset=1" in query
    values, problems = parse_query_string(query)
    assert problems == []
    other = RdmQueryState(ENDPOINT, auto_search=False)
    try:
        other.apply_dict({"version": 1, **{k: v for k, v in values.items()}})
        mine = state.to_dict()
        theirs = other.to_dict()
        for key in INPUT_FIELDS:  # the crop groups too: a link and a session carry the same
            assert theirs[key] == mine[key], key
    finally:
        other.close()


def test_query_string_bbox_short_and_defaults_left_out(state):
    state.bbox = (3, 50, 6, 52)
    assert state.to_query_string() == "bbox=3,50,6,52"


def test_bad_params_are_explained_not_raised():
    values, problems = parse_query_string(
        "?bbox=1,2,3&codes=abc&foo=1&min_lc=200&access=public,secret&start=2021-01-01&min_ct=30")
    assert values == {"min_quality_ct": 30}
    text = "\n".join(problems)
    for key in ("bbox=1,2,3", "codes=abc", "foo=1", "min_lc=200", "access=public,secret", "start="):
        assert f"ignored {key}" in text
    assert "unknown parameter" in text and "needs both start and end" in text


def test_to_code_is_valid_python_and_names_everything(state):
    code = _fill(state).to_code()
    compile(code, "<code>", "exec")
    assert f"RdmClient({ENDPOINT!r})" in code
    assert "polygon='POLYGON ((3 50, 6 50, 4.5 52.123456789012, 3 50))'" in code
    for text in ("start_date='2021-01-01'", "end_date='2021-12-31'", "1101010001", "min_quality_ct=75",
                 "subset=True", "'2021_BEL_A'", "include_private=True", "grouping = {1101060000: 'maize'}",
                 "samples = client.get_samples(query=query)"):
        assert text in code
    # the code's query is the state's: the selected collections, every filter
    namespace: dict = {}
    exec(code.split("samples = ")[0], namespace)  # up to the fetch: the client (no request yet) and the query
    assert namespace["query"] == state.query
    namespace["client"].close()
