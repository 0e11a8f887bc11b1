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
