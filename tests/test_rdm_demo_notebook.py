"""The RDM demo notebook's calls of sections 1, 2 and 4 and the filter calls of section 3, run as users
run them (same names, same arguments), against the local RDM server over real HTTP.

Section 3.4 (private collections) logs in for real: the local OIDC provider issues a signed token for
the demo user, handed over as ``WORLDCEREAL_RDM_TOKEN`` (the headless route), and the local RDM server
validates it against the provider's JWKS.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pytest

from tests.test_client_local_server import catalogue_records, full_samples, oracle_search
from worldcereal_explorer.extents import BBox


@pytest.fixture
def private_rdm_url(demo_catalog):
    """A second local RDM server that validates tokens of a local OIDC provider."""
    from worldcereal_explorer.server import serve_in_thread
    from worldcereal_explorer.server.idp import serve_idp_in_thread
    from worldcereal_explorer.server.tokens import JwtTokenValidator

    with serve_idp_in_thread() as idp:
        validator = JwtTokenValidator(idp.issuer, idp.client_id)
        with serve_in_thread(demo_catalog, token_validator=validator) as server:
            yield server.url, idp


def test_demo_notebook_sections_1_to_4(private_rdm_url, demo_catalog, tmp_path, monkeypatch, capsys):
    rdm_url, idp = private_rdm_url
    monkeypatch.setenv("WORLDCEREAL_RDM_URL", rdm_url)
    monkeypatch.setenv("WORLDCEREAL_LEGEND_URL", f"{rdm_url}/legend.csv")
    monkeypatch.delenv("WORLDCEREAL_RDM_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from worldcereal_explorer import legend as legend_module

    legend_module.set_default_legend(None)  # pick up the legend URL from the environment
    records = catalogue_records(demo_catalog)

    # --- 1. Browse and explore collections
    from worldcereal_explorer import RdmInteraction

    rdm = RdmInteraction()
    collections = rdm.get_collections()
    ids = [col.id for col in collections]
    assert sorted(ids) == oracle_search(records)

    col = collections[0]
    col.print_metadata()
    assert f"ID: {col.id}" in capsys.readouterr().out

    from worldcereal_explorer import translate_ewoc_codes

    crop_types = translate_ewoc_codes(col.ewoc_codes)
    assert list(crop_types.index) == col.ewoc_codes
    assert not crop_types["label_full"].str.startswith("unknown").any()
    start, end = col.temporal_extent
    assert dt.datetime.fromisoformat(start) <= dt.datetime.fromisoformat(end)

    from worldcereal_explorer import visualize_spatial_extents

    spatial_map = visualize_spatial_extents([col])
    assert len(spatial_map.layers) == 2

    # --- 2. Download individual collections
    dwnld_folder = tmp_path / "download"
    parquet_file = rdm.download_collection_geoparquet(col.id, dwnld_folder, subset=True)
    samples = gpd.read_parquet(parquet_file)
    assert len(samples) > 0 and (samples["extract"] > 0).all()
    assert samples.crs.to_epsg() == 4326

    metadata_file = rdm.download_collection_metadata(col.id, dwnld_folder)
    assert metadata_file.name == f"{col.id}_metadata.xlsx"
    metadata = rdm.get_collection_metadata(col.id)
    assert metadata["CuratedDataSet:ReferenceCuratedDataSet:NameCuratedDataSet:"] == col.id

    crop_counts = rdm.get_collection_stats(col.id)
    expected_counts = full_samples(demo_catalog, col.id)["ewoc_code"].value_counts()
    assert crop_counts["Count"].to_dict() == expected_counts.to_dict()
    assert list(crop_counts.columns) == ["Count", "Label"]

    harmonization_file = rdm.download_collection_harmonization_info(col.id, dwnld_folder)
    assert harmonization_file.read_bytes().startswith(b"%PDF-")

    # --- 3.1 crop types (the picker's DataFrame shape: index = codes, new_label/original_label)
    croptypes = pd.DataFrame(
        {"new_label": ["cereals", "cereals"], "original_label": ["maize", "rice"]}, index=[1101060000, 1101080000]
    )
    ewoc_codes = list(croptypes.index.values)
    collections = rdm.get_collections(ewoc_codes=ewoc_codes)
    assert sorted(c.id for c in collections) == oracle_search(records, codes=ewoc_codes)
    assert collections

    # --- 3.2 location, with openeo_gfmap's BoundingBoxExtent shape
    bbox = SimpleNamespace(north=60.0, east=30.0, south=35.0, west=-10.0)
    collections = rdm.get_collections(bbox=bbox)
    assert sorted(c.id for c in collections) == oracle_search(records, bbox=BBox(-10, 35, 30, 60))
    assert collections

    # --- 3.3 temporal extent, with TemporalContext's shape
    temporal_extent = SimpleNamespace(start_date="2021-01-01", end_date="2021-12-31")
    collections = rdm.get_collections(temporal_extent=temporal_extent)
    assert sorted(c.id for c in collections) == oracle_search(
        records, start=dt.date(2021, 1, 1), end=dt.date(2021, 12, 31)
    )

    # --- 3.4 privacy: logged in as the demo user, the private collection appears
    private_expected = sorted(
        r["collectionId"] for r in records
        if r["accessType"] == "Private" and _owner(demo_catalog, r["collectionId"]) == "demo-user"
    )
    assert private_expected, "the demo catalogue has a private collection of the demo user"
    tokens = idp.issue_tokens("demo-user", name="Demo User")
    monkeypatch.setenv("WORLDCEREAL_RDM_TOKEN", tokens["access_token"])
    rdm = RdmInteraction()
    private_collections = rdm.get_collections(include_public=False, include_private=True)
    private_ids = [col.id for col in private_collections]
    assert private_expected == sorted(i for i in private_ids if _owner(demo_catalog, i) == "demo-user")
    assert all(c.access_type != "Public" for c in private_collections)
    assert tokens["access_token"] not in repr(rdm) + repr(rdm.token_provider)

    # --- 4. crop counts across datasets
    collection_ids = [i for i in ids[:2]]
    crop_codes = sorted({c for i in collection_ids for c in next(r for r in records if r["collectionId"] == i)["ewocCodes"]})[:2]
    counts = rdm.get_crop_counts(ref_ids=collection_ids, ewoc_codes=crop_codes)
    assert counts.index.names == ["ewoc_code", "Label"]
    assert list(counts.columns) == collection_ids
    for ref_id in collection_ids:
        samples = full_samples(demo_catalog, ref_id)
        for code in crop_codes:
            assert counts.xs(code, level="ewoc_code")[ref_id].iloc[0] == int((samples["ewoc_code"] == code).sum())
    counts = rdm.get_crop_counts(collection_ids)
    assert (counts.sum() == pd.Series({i: len(full_samples(demo_catalog, i)) for i in collection_ids})).all()
    legend_module.set_default_legend(None)


def _owner(catalog, ref_id: str) -> str | None:
    path = catalog / ref_id / "access.json"
    return json.loads(path.read_text()).get("owner") if path.is_file() else None
