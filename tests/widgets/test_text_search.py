"""One-line search: the parser (crops, synonyms, countries, years and ranges, unknown words, errors) and the
widget that applies it to the state (the demo notebook's question answered by typing one line)."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest

from worldcereal_explorer.state.text_query import parse_text_query


@pytest.fixture(scope="module")
def legend():
    from worldcereal_explorer.legend.tables import parse_landcover_csv

    data = resources.files("worldcereal_explorer.demo").joinpath("demo_legend.csv").read_bytes()
    return parse_landcover_csv(data, "demo_legend.csv")


def _code(legend, label):
    return next(int(c) for c in legend.frame.index if legend.label(c) == label)


def test_crop_country_and_year(legend):
    query = parse_text_query("maize Kenya 2021", legend)
    maize = _code(legend, "maize")
    assert query.ok and not query.unknown
    assert query.crops == ("maize",)
    assert set(query.ewoc_codes) == set(legend.tree().find(maize).descendant_codes())
    assert [c.name for c in query.countries] == ["Kenya"]
    assert query.start_date == dt.date(2021, 1, 1) and query.end_date == dt.date(2021, 12, 31)
    assert query.describe() == "crop: maize \u00b7 area: Kenya \u00b7 dates: 2021-01-01\u20262021-12-31"
    west, south, east, north = query.bbox
    assert 33 < west < east < 42 and -5 < south < north < 6


@pytest.mark.parametrize("text", ["corn Kenya 2021", "Maize in KENYA for 2021", "KEN, corn, 2021"])
def test_synonyms_case_and_order(legend, text):
    query = parse_text_query(text, legend)
    assert query.crops == ("maize",) and query.area_name == "Kenya" and query.start_date == dt.date(2021, 1, 1)
    assert not query.unknown and query.ok


def test_wheat_is_the_parent_of_winter_and_spring_wheat(legend):
    query = parse_text_query("wheat", legend)
    labels = set(legend.labels(query.ewoc_codes))
    assert {"unspecified_wheat", "unspecified_winter_wheat", "unspecified_spring_wheat"} <= labels
    winter = parse_text_query("winter wheat France 2018-2020", legend)
    assert legend.labels(winter.ewoc_codes) == ["unspecified_winter_wheat"]
    assert winter.area_name == "France"
    assert (winter.start_date, winter.end_date) == (dt.date(2018, 1, 1), dt.date(2020, 12, 31))
    assert winter.describe().startswith("crop: winter wheat \u00b7 area: France \u00b7 dates: 2018-01-01")


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2018-2020", "2018-01-01", "2020-12-31"),
    ("2018 to 2020", "2018-01-01", "2020-12-31"),
    ("2018..2020", "2018-01-01", "2020-12-31"),
    ("2018 - 2020", "2018-01-01", "2020-12-31"),
    ("2021-03-01..2021-06-30", "2021-03-01", "2021-06-30"),
    ("2021-03-01", "2021-03-01", "2021-03-01"),
])
def test_year_ranges_and_dates(legend, text, start, end):
    query = parse_text_query(text, legend)
    assert query.ok and not query.unknown
    assert (query.start_date.isoformat(), query.end_date.isoformat()) == (start, end)


def test_several_words_countries_plurals_and_several_crops(legend):
    query = parse_text_query("potato soybeans United States of America", legend)
    assert query.crops == ("potatoes", "soy_soybeans") and query.area_name == "United States of America"
    two = parse_text_query("Kenya Uganda", legend)
    assert two.area_name == "Kenya + Uganda"
    assert two.bbox[0] < 30 and two.bbox[2] > 41  # Uganda's west, Kenya's east


def test_unknown_words_are_named_with_a_close_match(legend):
    query = parse_text_query("maiz Keny 2021 blorp", legend)
    assert query.unknown == ("maiz", "Keny", "blorp")
    assert query.suggestions == {"maiz": "maize", "Keny": "Kenya"}
    text = query.describe()
    assert "\u201cmaiz\u201d (did you mean maize?)" in text and "\u201cblorp\u201d" in text
    assert query.start_date == dt.date(2021, 1, 1)  # what was understood still counts


def test_without_a_legend_crop_names_are_unknown_and_say_why():
    query = parse_text_query("maize Kenya", None)
    assert query.unknown == ("maize",) and query.area_name == "Kenya"
    assert "legend is not loaded" in query.describe()


@pytest.mark.parametrize(("text", "named"), [
    ("2021-2018", "'2021-2018'"),
    ("maize 1492", "'1492'"),
    ("2021-13-01", "'2021-13-01'"),
    ("2020 2021", "'2021'"),
])
def test_errors_name_the_bad_value(legend, text, named):
    query = parse_text_query(text, legend)
    assert not query.ok
    assert any(named in error for error in query.errors), query.errors
    assert named in query.describe()


def test_apply_text_sets_the_state_and_answers_the_notebooks_question(state, rdm_url):
    from worldcereal_explorer.rdm.client import RdmClient

    state.load_legend(wait=True)
    state.start_date, state.end_date = "2019-01-01", "2019-12-31"
    state.min_quality_lc = 10
    query = state.apply_text("maize Kenya 2021")
    assert query.ok
    assert list(state.ewoc_codes) == list(query.ewoc_codes)
    assert state.bbox == query.bbox and state.polygon["type"] in ("Polygon", "MultiPolygon")
    assert (str(state.start_date), str(state.end_date)) == ("2021-01-01", "2021-12-31")
    assert state.min_quality_lc == 10  # not named: kept
    found = state.refresh()
    with RdmClient(rdm_url, retries=2, backoff_factor=0.01) as client:
        expected = client.get_collections(spatial_extent=query.bbox, temporal_extent=("2021-01-01", "2021-12-31"),
                                          ewoc_codes=list(query.ewoc_codes))
        total = int(client.get_crop_counts([c.id for c in found], ewoc_codes=list(query.ewoc_codes)).to_numpy().sum())
    assert found and {c.id for c in found} <= {c.id for c in expected}
    assert any("_ken_" in c.id.lower() for c in found)
    # "how many samples?": read off the status line
    assert f"{len(found)} collection{'s' if len(found) > 1 else ''} found ({total:,} samples" in state.message

    before = (list(state.ewoc_codes), state.bbox, state.start_date)
    bad = state.apply_text("wheat 2021-2018")
    assert not bad.ok and (list(state.ewoc_codes), state.bbox, state.start_date) == before  # nothing changed


def test_widget_applies_on_enter_and_shows_the_reading(state):
    from worldcereal_explorer.widgets import TextSearch

    state.load_legend(wait=True)
    zoomed = []
    widget = TextSearch(state, zoom_to=zoomed.append)
    try:
        widget.box.value = "corn Kenya 2021"  # what the browser sends on Enter (continuous_update=False)
        assert state.start_date is not None and str(state.end_date) == "2021-12-31"
        assert state.ewoc_codes and zoomed == [widget.last.bbox]
        assert "crop: maize \u00b7 area: Kenya \u00b7 dates: 2021-01-01\u20262021-12-31" in widget.readout.value
        assert "data-kind='ok'" in widget.readout.value and "aria-live" in widget.readout.value
        widget.apply("Kenya 2021 frobnicate")
        assert "\u201cfrobnicate\u201d" in widget.readout.value and "data-kind='warning'" in widget.readout.value
        widget.apply("1492")
        assert "nothing changed" in widget.readout.value and "'1492'" in widget.readout.value
        widget.reset()
        assert widget.box.value == "" and widget.readout.value == ""
    finally:
        widget.close()


def test_a_line_typed_before_the_legend_is_read_again_when_it_arrives(state):
    from worldcereal_explorer.widgets import TextSearch

    widget = TextSearch(state)
    try:
        assert state.legend is None
        widget.apply("maize Kenya 2021")
        assert "legend is not loaded" in widget.readout.value and not state.ewoc_codes
        assert state.bbox is not None  # the area and dates are applied meanwhile
        state.load_legend(wait=True)
        assert state.wait_for(lambda: bool(state.ewoc_codes), timeout=30)
        assert widget.last.crops == ("maize",)
        assert "crop: maize" in widget.readout.value
    finally:
        widget.close()
