"""A share link carries the crop groups and the training settings, as a saved session does; old links and
sessions without them still open, and a bad one is explained, never raised."""

from __future__ import annotations

import json

import pytest

from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.state.links import parse_query_string
from worldcereal_explorer.state.serialize import validate_state_dict
from worldcereal_explorer.state.training import TrainingService, training_settings

ENDPOINT = "http://127.0.0.1:9"
WHEAT = {1101010001: "wheat", 1101010002: "wheat"}


@pytest.fixture
def state():
    s = RdmQueryState(ENDPOINT, auto_search=False)
    yield s
    s.close()


def test_link_carries_groups_and_training_settings(state):
    service = TrainingService(state, auto_run=False)
    try:
        state.ewoc_codes = [1101010001, 1101010002, 1101060000]
        state.grouping = {**WHEAT, 1101060000: "maize & more: summer"}  # a label with link-special characters
        service.max_per_class, service.shares = 250, (0.6, 0.2, 0.2)
        link = state.to_query_string()
        assert "group=wheat:1101010001,1101010002" in link and "cap=250" in link and "split=0.6,0.2,0.2" in link
        values, problems = parse_query_string("?" + link)
        assert problems == []
        assert values["grouping"] == dict(state.grouping)
        assert values["training"] == {"max_per_class": 250, "shares": (0.6, 0.2, 0.2)}
        # the session says the same
        session = validate_state_dict(json.loads(json.dumps(state.to_dict())))
        assert session["grouping"] == values["grouping"] and session["training"] == values["training"]
    finally:
        service.close()


def test_default_training_settings_stay_out_of_the_link(state):
    service = TrainingService(state, auto_run=False)
    try:
        state.bbox = (3, 50, 6, 52)
        assert state.to_query_string() == "bbox=3,50,6,52"
    finally:
        service.close()


def test_old_links_and_sessions_open_ungrouped_with_default_settings(state):
    values, problems = parse_query_string("bbox=3,50,6,52&codes=1101060000")
    assert problems == [] and "grouping" not in values and "training" not in values
    old_session = {"version": 1, "bbox": [3, 50, 6, 52], "grouping": {}}
    assert "training" not in validate_state_dict(old_session)
    state.apply_dict(old_session)
    service = TrainingService(state, auto_run=False)
    try:
        assert (service.max_per_class, service.shares) == (0, (0.7, 0.15, 0.15))
    finally:
        service.close()


def test_bad_group_cap_and_split_are_explained_not_raised():
    values, problems = parse_query_string(
        "codes=1101060000&group=wheat&group=:1101010001&group=x:12&cap=-3&cap=many&split=0.5,0.5,0.5"
        "&group=wheat:1101010001")
    assert values["grouping"] == {1101010001: "wheat"} and "training" not in values
    text = "\n".join(problems)
    for shown in ("group=wheat:", "group=:1101010001", "group=x:12", "cap=-3", "cap=many", "split=0.5,0.5,0.5"):
        assert f"ignored {shown}" in text, shown
    assert "LABEL:CODE" in text and "whole number" in text and "summing to 1" in text


def test_a_bad_training_setting_in_a_session_names_the_field():
    from worldcereal_explorer.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=r"^training: .*max_per_class=-1"):
        validate_state_dict({"version": 1, "training": {"max_per_class": -1}})
    with pytest.raises(InvalidInputError, match=r"^training: unknown training setting 'seed'"):
        validate_state_dict({"version": 1, "training": {"seed": 3}})


def test_dashboard_opened_from_a_link_shows_the_groups_and_settings(rdm_url):
    """The dashboard applies the link before its training panel exists: the panel's service takes them."""
    from worldcereal_explorer.app import RdmExplorer
    from worldcereal_explorer.rdm.client import RdmClient

    state = RdmQueryState(client=RdmClient(rdm_url, retries=1, legend=f"{rdm_url}/legend.csv"), auto_search=False)
    link = "bbox=-5,40,10,55&codes=1101010001,1101010002,1101060000&group=wheat:1101010001,1101010002&cap=40&split=0.8,0.1,0.1"
    explorer = RdmExplorer(state=state, search=False, query_string=link)
    try:
        assert state.grouping == WHEAT
        service = explorer.training.service
        assert (service.max_per_class, service.shares) == (40, (0.8, 0.1, 0.1))
        assert training_settings(state) == {"max_per_class": 40, "shares": (0.8, 0.1, 0.1)}
        assert explorer.share.link.value.endswith("?" + link)  # the page's own link says the same
        service.max_per_class = 60
        assert "cap=60" in explorer.share.link.value  # and follows the panel
        assert json.loads(json.dumps(state.to_dict()))["training"]["max_per_class"] == 60
    finally:
        explorer.close()
        state.close()
