"""SampleQuery and ref_ids validation (no HTTP)."""

from __future__ import annotations

import datetime as dt

import pytest
from shapely.geometry import box

from worldcereal_explorer.errors import (
    BadEwocCodeError,
    BadExtentError,
    BadParameterError,
    BadTemporalExtentError,
)
from worldcereal_explorer.rdm.samples import DEFAULT_COLUMNS, SampleQuery, normalize_ref_ids


def test_build_normalises_every_field():
    q = SampleQuery.build(columns="sample_id", bbox=[4, 50, 5, 51], temporal_extent=("2021-01-01", dt.date(2021, 6, 1)),
                          ewoc_codes=[1101060000, "11-01-06-000-0"], min_quality_lc=75.5, subset=True)
    assert q.columns == ("sample_id", "geometry")
    assert q.spatial.bbox.as_tuple() == (4.0, 50.0, 5.0, 51.0)
    assert q.temporal.as_tuple() == ("2021-01-01", "2021-06-01")
    assert q.ewoc_codes == (1101060000,)
    assert q.min_quality_lc == 76 and q.min_quality_ct == 0
    assert q.filter_columns == ("ewoc_code", "valid_time", "extract", "quality_score_lc")
    assert SampleQuery.build().columns == tuple(DEFAULT_COLUMNS)
    assert SampleQuery(spatial=box(4, 50, 5, 51)) == SampleQuery.build(spatial_extent=box(4, 50, 5, 51))
    hash(q)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (dict(temporal_extent=("2021-01-01garbage", "2021-12-31")), BadTemporalExtentError),
        (dict(temporal_extent=("2021-12-31", "2021-01-01")), BadTemporalExtentError),
        (dict(temporal_extent=("2021-01-01", None)), BadTemporalExtentError),
        (dict(spatial_extent=(5, 50, 4, 51)), BadExtentError),
        (dict(spatial_extent=(4, 50, 5, 51), bbox=(4, 50, 5, 51)), BadParameterError),
        (dict(ewoc_codes=[12]), BadEwocCodeError),
        (dict(min_quality_ct=101), BadParameterError),
        (dict(min_quality_ct=True), BadParameterError),
        (dict(clip="yes"), BadParameterError),
        (dict(columns=["sample_id", ""]), BadParameterError),
        (dict(columns=5), BadParameterError),
    ],
)
def test_build_rejects_bad_values(kwargs, error):
    with pytest.raises(error):
        SampleQuery.build(**kwargs)


def test_direct_construction_validates_too():
    with pytest.raises(BadParameterError):
        SampleQuery(min_quality_lc=-1)


def test_ref_ids_string_is_one_id():
    assert normalize_ref_ids("2021_bel_x_point_110") == ["2021_bel_x_point_110"]
    assert normalize_ref_ids(("a_1", "b_2", "a_1")) == ["a_1", "b_2"]
    assert normalize_ref_ids(None) is None
    for bad in (b"a_1", ["a_1", ""], [None], 5, {"a_1": 1}):
        with pytest.raises(BadParameterError):
            normalize_ref_ids(bad)


def test_build_reads_the_filters_as_the_client_does():
    """``build`` goes through ``RdmQuery.from_client_args``: ``ewoc_codes=[]`` is every crop, as for
    ``get_samples``, and a filter the engine does not apply is named in the error."""
    from worldcereal_explorer.rdm.query import RdmQuery

    assert SampleQuery.build(ewoc_codes=[]).ewoc_codes is None
    assert SampleQuery.build(ewoc_codes=[]) == SampleQuery.build()
    q = RdmQuery.from_client_args((4, 50, 5, 51), ("2021-01-01", "2021-12-31"), [1101060000], min_quality_ct=50)
    assert SampleQuery.build(bbox=(4, 50, 5, 51), temporal_extent=("2021-01-01", "2021-12-31"),
                             ewoc_codes=[1101060000], min_quality_ct=50) == SampleQuery.from_query(q)
    with pytest.raises(BadParameterError, match=r"include_private; its filters are spatial_extent, bbox"):
        SampleQuery.build(include_private=True)
