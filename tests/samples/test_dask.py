"""engine="dask": a lazy dask_geopandas.GeoDataFrame equal to the in-memory result, on a LocalCluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon

from .conftest import IDS

dask_geopandas = pytest.importorskip("dask_geopandas")
distributed = pytest.importorskip("dask.distributed")

QUERY = dict(
    ref_ids=IDS,
    spatial_extent=Polygon([(3.6, 50.0), (5.8, 50.3), (5.4, 51.3), (3.9, 51.1)]),
    temporal_extent=("2020-03-01", "2022-10-31"),
    subset=False,
    min_quality_lc=10,
    progress=False,
)


def assert_equal_to_pandas(lazy_result: pd.DataFrame, eager: pd.DataFrame) -> None:
    got = lazy_result.reset_index(drop=True)
    want = eager.reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 0
    for column in want.columns:
        if column == "geometry":
            assert shapely.equals(got.geometry.array, want.geometry.array).all()
        elif want[column].dtype.kind in "iMf":
            assert got[column].dtype == want[column].dtype
            np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy())
        else:  # dask may choose its own string dtype; the values must match
            assert list(got[column].astype(object)) == list(want[column].astype(object))
    assert got.crs == want.crs


def test_dask_engine_is_lazy_and_equal_on_the_default_scheduler(sample_client, sample_server):
    eager = sample_client.get_samples(**QUERY)
    stats = sample_server.app.state.stats
    stats.reset()
    lazy = sample_client.get_samples(engine="dask", **QUERY)
    assert isinstance(lazy, dask_geopandas.GeoDataFrame)
    planned = stats.snapshot()["bytes_sent"]
    assert lazy.npartitions >= len(IDS)  # at least one partition per collection (one per row group)
    assert stats.snapshot()["bytes_sent"] == planned  # nothing more is read until computed
    assert_equal_to_pandas(lazy.compute(), eager)
    assert stats.snapshot()["bytes_sent"] > planned


@pytest.mark.parametrize("processes", [False, True])
def test_dask_engine_on_a_local_cluster(sample_client, processes):
    eager = sample_client.get_samples(**QUERY)
    # Both clusters talk TCP on the loopback interface only: Dask's in-process transport (inproc://) names
    # itself after the route to 8.8.8.8, which the tests' blocked network refuses. The Dask dashboard takes a
    # free loopback port: its default, 8787, may be taken (Dask then warns and leaks a socket).
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=processes, host="tcp://127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster, distributed.Client(cluster) as dask_client:
        lazy = sample_client.get_samples(engine="dask", dask_client=dask_client, **QUERY)
        assert isinstance(lazy, dask_geopandas.GeoDataFrame)
        result = dask_client.compute(lazy).result()
    assert_equal_to_pandas(result, eager)


def test_dask_engine_empty_result_keeps_the_schema(sample_client):
    eager = sample_client.get_samples(ref_ids=IDS, ewoc_codes=[7000000000], progress=False)
    lazy = sample_client.get_samples(ref_ids=IDS, ewoc_codes=[7000000000], engine="dask", progress=False)
    result = lazy.compute()
    assert len(result) == 0 == len(eager)
    assert list(result.columns) == list(eager.columns)
    assert result["ewoc_code"].dtype == np.int64 and result["valid_time"].dtype == "datetime64[ns]"
