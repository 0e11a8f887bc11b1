"""The real WorldCereal sample files (../shared/data/samples) served through a catalogue and read over HTTP.

They cover what live files look like: no ``geo`` metadata (plain WKB), WKT in ``geom_text`` and no
geometry column, GeoParquet 1.0 without a covering column, ``valid_time`` as text, several rows per
sample, and a ``ref_id`` column inside the file that differs from the collection id.
"""

from __future__ import annotations

import json
import shutil

import pytest
from shapely.geometry import box

from worldcereal_explorer.rdm.client import RdmClient

from .catalog_builder import collection_object
from .conftest import assert_same_samples, oracle, read_plain

pytestmark = pytest.mark.shared_data

PRIVATE_DUMMY = "worldcereal_private_extractions_dummy.parquet/ref_id=2021_BEL_LPIS-Flanders_POLY_110/data_0.parquet"
#: collection id -> (full file, subset file) in ../shared/data/samples
FILES = {
    "2022_fra_lpis_poly_110": ("2022_FRA_LPIS_POLY_110.geoparquet", "2022_FRA_LPIS_POLY_110_rdm_samples.geoparquet"),
    "2023_fra_lpis_poly_110": ("2023_FRA_LPIS_POLY_110.geoparquet", "2023_FRA_LPIS_POLY_110_rdm_samples.geoparquet"),
    "2017_uga_publicextractions_point_110": ("test_public_extractions.parquet",
                                             "test_public_extractions_rdm_samples.geoparquet"),
    "2021_bel_lpisflanders_poly_110": (PRIVATE_DUMMY, "worldcereal_private_extractions_dummy_rdm_samples.geoparquet"),
}
IDS = list(FILES)


@pytest.fixture(scope="module")
def shared_catalog(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("shared-catalog") / "catalog"
    frames = {}
    for ref_id, (full, subset) in FILES.items():
        folder = root / ref_id
        folder.mkdir(parents=True)
        name = ref_id.upper()
        # copies in a temp folder only (the shared data never goes into the repository)
        shutil.copyfile(shared_data / "samples" / full, folder / f"{name}.geoparquet")
        shutil.copyfile(shared_data / "samples" / subset, folder / f"sample_{name}.parquet")
        frames[ref_id] = {"full": read_plain(folder / f"{name}.geoparquet"),
                          "subset": read_plain(folder / f"sample_{name}.parquet")}
        (folder / "collection.json").write_text(json.dumps(collection_object(ref_id, frames[ref_id]["full"])))
    (root / "catalog.json").write_text(json.dumps({"generator": "tests", "synthetic": False}))
    return root, frames


@pytest.fixture(scope="module")
def shared_client(shared_catalog):
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(shared_catalog[0]) as server, RdmClient(server.url) as client:
        yield client


@pytest.mark.parametrize(
    ("kwargs", "oracle_kwargs"),
    [
        ({}, {}),
        ({"bbox": (8.6, 41.3, 9.1, 42.2)}, {"spatial": box(8.6, 41.3, 9.1, 42.2)}),  # Corsica
        ({"bbox": (33.5, 0.0, 34.0, 3.0)}, {"spatial": box(33.5, 0.0, 34.0, 3.0)}),  # Uganda
        ({"temporal_extent": ("2017-07-01", "2017-09-01")}, {"temporal": ("2017-07-01", "2017-09-01")}),
        ({"ewoc_codes": [1101060000, 1101070000, 2501000000, 1600000000]},
         {"codes": [1101060000, 1101070000, 2501000000, 1600000000]}),
        ({"subset": True}, {"subset": True}),
        ({"min_quality_ct": 85, "min_quality_lc": 90}, {"min_ct": 85, "min_lc": 90}),
    ],
)
def test_real_files_read_over_http_match_the_oracle(shared_client, shared_catalog, kwargs, oracle_kwargs):
    _, frames = shared_catalog
    gdf = shared_client.get_samples(ref_ids=IDS, progress=False, **kwargs)
    expected = oracle(frames, IDS, **oracle_kwargs)
    assert len(expected) > 0
    assert_same_samples(gdf, expected)
    assert set(gdf["ref_id"]) <= set(IDS)  # from the URL, not the files' own ref_id column


def test_real_files_extra_columns_and_dtypes(shared_client):
    gdf = shared_client.get_samples(ref_ids=["2022_fra_lpis_poly_110"], columns=["sample_id", "timestamp", "tile"],
                                    progress=False)
    assert list(gdf.columns) == ["sample_id", "timestamp", "tile", "geometry"]
    assert len(gdf) == 8500
    assert str(gdf["timestamp"].dtype).startswith("datetime64")
    assert set(gdf.geom_type) == {"Point"}
