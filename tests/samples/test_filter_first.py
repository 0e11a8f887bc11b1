"""get_samples reads filter columns first only where that can pay; a memory budget is still judged exactly."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from worldcereal_explorer.errors import FetchTooLargeError
from worldcereal_explorer.rdm.range_reader import HttpRangeReader
from worldcereal_explorer.rdm.samples import SampleQuery
from worldcereal_explorer.rdm.samples.collection import plan_collection

from .conftest import assert_same_samples, oracle

POINTS = "2021_bel_pts_point_110"
SMALL_BOX = (4.3, 50.6, 4.6, 50.9)  # a corner of the collection: row groups hold far more rows than match


def test_point_row_groups_are_read_whole_when_the_geometry_is_most_of_them(sample_client, oracle_frames):
    query = SampleQuery.build(bbox=SMALL_BOX)
    url = sample_client.get_download_url(POINTS)
    scope = sample_client.transport.scope("planning a read", download=True)
    reader = HttpRangeReader(sample_client.transport, url, scope=scope)
    plan = plan_collection(reader, query, ref_id=POINTS, max_filter_share=0.5)
    assert plan.rough and set(plan.rough) <= set(plan.candidates)
    expected = oracle(oracle_frames, [POINTS], spatial=box(*SMALL_BOX))
    assert plan.candidate_rows > len(expected) > 0  # whole row groups: an upper bound
    gdf = sample_client.get_samples(ref_ids=[POINTS], bbox=SMALL_BOX, progress=False)
    assert_same_samples(gdf, expected)  # read whole, filtered exactly


def test_a_budget_is_judged_on_the_matching_rows_not_whole_row_groups(sample_client, oracle_frames):
    with pytest.raises(FetchTooLargeError) as info:
        sample_client.get_samples(ref_ids=[POINTS], bbox=SMALL_BOX, progress=False, memory_budget_bytes=1)
    exact = info.value.estimated_bytes
    # the same query fits a budget of exactly its refined estimate, though whole row groups would not
    gdf = sample_client.get_samples(ref_ids=[POINTS], bbox=SMALL_BOX, progress=False, memory_budget_bytes=exact)
    assert_same_samples(gdf, oracle(oracle_frames, [POINTS], spatial=box(*SMALL_BOX)))
    with pytest.raises(FetchTooLargeError):
        sample_client.get_samples(ref_ids=[POINTS], bbox=SMALL_BOX, progress=False, memory_budget_bytes=exact - 1)


def _plan_and_read(client, query, **plan_options):
    from worldcereal_explorer.rdm.samples.collection import read_plan

    url = client.get_download_url(POINTS)
    reader = HttpRangeReader(client.transport, url, scope=client.transport.scope("a read", download=True))
    plan = plan_collection(reader, query, ref_id=POINTS, **plan_options)
    planned = reader.requests_made
    return plan, planned, read_plan(plan, query), reader.requests_made


def test_a_small_read_skips_the_filter_step_and_saves_its_round_trip(sample_client, oracle_frames):
    """A crop-code filter over a small file: the filter step would read the code column first (one round
    trip) to save a few kB; under ``small_read_bytes`` the candidates are read at once and filtered then."""
    code = int(oracle_frames[POINTS]["full"]["ewoc_code"].astype("int64").value_counts().index[0])
    query = SampleQuery.build(ewoc_codes=[code])
    stepwise, stepwise_planned, stepwise_result, stepwise_requests = _plan_and_read(sample_client, query)
    at_once, at_once_planned, at_once_result, at_once_requests = _plan_and_read(
        sample_client, query, small_read_bytes=1 << 30)
    assert not stepwise.rough and set(at_once.rough) == set(at_once.candidates)  # no filter step at all
    assert at_once_planned < stepwise_planned  # the filter columns were not fetched ...
    assert at_once_requests < stepwise_requests  # ... and the read made fewer requests (one round less)
    assert at_once_result.table.equals(stepwise_result.table)  # and found the same samples
    expected = oracle(oracle_frames, [POINTS], codes=[code])
    assert at_once_result.table.num_rows == len(expected) > 0
    # the threshold is a size: a read larger than it keeps the filter step
    larger, *_ = _plan_and_read(sample_client, query, small_read_bytes=1)
    assert not larger.rough
