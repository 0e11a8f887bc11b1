"""Every client call over real HTTP against the local RDM server, checked against the catalogue's files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from worldcereal_explorer.errors import BadExtentError, BadTemporalExtentError, UnknownCollectionError
from worldcereal_explorer.extents import BBox
from worldcereal_explorer.legend import load_legend
from worldcereal_explorer.rdm.client import RdmClient


def catalogue_records(catalog: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(catalog.glob("*/collection.json"))]


def full_samples(catalog: Path, ref_id: str) -> gpd.GeoDataFrame:
    files = [p for p in (catalog / ref_id).glob("*.geoparquet") if not p.name.startswith("sample_")]
    assert len(files) == 1, files
    return gpd.read_parquet(files[0])


def oracle_search(records, bbox=None, start=None, end=None, codes=None, public_only=True):
    """What /collections/search must return, computed from the catalogue's own JSON."""
    out = []
    for r in records:
        if public_only and r["accessType"] != "Public":
            continue
        if bbox is not None and not BBox(*r["extent"]["spatial"]["bbox"][0]).intersects(bbox):
            continue
        if start is not None:
            first, last = (dt.date.fromisoformat(v[:10]) for v in r["extent"]["temporal"]["interval"][0])
            if last < start or first > end:
                continue
        if codes is not None and not set(codes) & set(r["ewocCodes"]):
            continue
        out.append(r["collectionId"])
    return sorted(out)


@pytest.fixture
def rdm(rdm_url):
    with RdmClient(rdm_url, retries=1, backoff_factor=0.01, legend=f"{rdm_url}/legend.csv") as client:
        yield client


def test_collections_filters_match_oracle(rdm, demo_catalog):
    records = catalogue_records(demo_catalog)
    assert sorted(c.id for c in rdm.get_collections()) == oracle_search(records)
    europe = BBox(-10, 35, 30, 60)
    assert sorted(c.id for c in rdm.get_collections(bbox=europe.as_tuple())) == oracle_search(records, bbox=europe)
    start, end = dt.date(2021, 1, 1), dt.date(2021, 12, 31)
    assert sorted(c.id for c in rdm.get_collections(temporal_extent=(start, end))) == oracle_search(
        records, start=start, end=end
    )
    maize = [1101060000]
    assert sorted(c.id for c in rdm.get_collections(ewoc_codes=maize)) == oracle_search(records, codes=maize)
    combined = sorted(c.id for c in rdm.get_collections(spatial_extent=box(*europe.as_tuple()),
                                                        temporal_extent=(start, end), ewoc_codes=maize))
    assert combined == oracle_search(records, bbox=europe, start=start, end=end, codes=maize)
    assert rdm.get_collections(bbox=(-179, -89, -178, -88)) == []


def test_end_day_counts(rdm, demo_catalog):
    """A collection whose validity starts on the query's end day is found (the whole end day counts)."""
    record = catalogue_records(demo_catalog)[0]
    first_day = dt.date.fromisoformat(record["extent"]["temporal"]["interval"][0][0][:10])
    found = rdm.get_collections(temporal_extent=(first_day - dt.timedelta(days=30), first_day))
    if record["accessType"] == "Public":
        assert record["collectionId"] in [c.id for c in found]


def test_list_get_and_metadata(rdm, demo_catalog):
    listed = rdm.list_collections(page_size=4)
    public = [r for r in catalogue_records(demo_catalog) if r["accessType"] == "Public"]
    assert sorted(c.id for c in listed) == sorted(r["collectionId"] for r in public)
    one = rdm.get_collection(public[0]["collectionId"])
    assert one.to_api() == public[0]
    metadata = rdm.get_collection_metadata(one.id)
    assert metadata["GeoParquetDownloadUrl"].startswith(rdm.endpoint)
    assert metadata["GeoParquetDownloadUrl"].split("/")[-2] == one.id


def test_stats_and_counts_match_files(rdm, demo_catalog):
    ids = [r["collectionId"] for r in catalogue_records(demo_catalog) if r["accessType"] == "Public"][:4]
    counts = rdm.get_crop_counts(ids)
    assert list(counts.columns) == sorted(ids)
    for ref_id in ids:
        samples = full_samples(demo_catalog, ref_id)
        expected = samples["ewoc_code"].value_counts()
        got = counts[ref_id]
        got = got[got > 0]
        assert dict(zip(got.index.get_level_values("ewoc_code"), got, strict=True)) == expected.to_dict()
        stats = rdm.get_collection_stats(ref_id)
        assert stats["Count"].to_dict() == expected.to_dict()
        assert not stats["Label"].str.startswith("unknown").any()
    labels = counts.index.get_level_values("Label")
    assert not any(label.startswith("unknown") for label in labels)


def test_crop_counts_requested_codes(rdm, demo_catalog):
    ids = [r["collectionId"] for r in catalogue_records(demo_catalog) if r["accessType"] == "Public"][:3]
    counts = rdm.get_crop_counts(ref_ids=ids, ewoc_codes=[1101060000, 1101080000])
    assert list(counts.index.get_level_values("ewoc_code")) == [1101060000, 1101080000]
    for ref_id in ids:
        samples = full_samples(demo_catalog, ref_id)
        assert counts.loc[(1101060000, "maize"), ref_id] == int((samples["ewoc_code"] == 1101060000).sum())


def test_downloads(rdm, demo_catalog, tmp_path):
    public = [r for r in catalogue_records(demo_catalog) if r["accessType"] == "Public"]
    ref_id = public[0]["collectionId"]
    full = rdm.download_collection_geoparquet(ref_id, tmp_path)
    subset = rdm.download_collection_geoparquet(ref_id, tmp_path, subset=True)
    full_gdf, subset_gdf = gpd.read_parquet(full), gpd.read_parquet(subset)
    assert len(full_gdf) == public[0]["featureCount"]
    assert 0 < len(subset_gdf) <= len(full_gdf) and (subset_gdf["extract"] > 0).all()
    xlsx = rdm.download_collection_metadata(ref_id, tmp_path)
    assert xlsx.name == f"{ref_id}_metadata.xlsx"
    sheet = pd.read_excel(xlsx, sheet_name=None)
    assert sheet  # opens as a real workbook
    pdf = rdm.download_collection_harmonization_info(ref_id, tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_items_route_against_files(rdm, demo_catalog):
    record = next(r for r in catalogue_records(demo_catalog) if r["accessType"] == "Public")
    samples = full_samples(demo_catalog, record["collectionId"])
    items = rdm.get_items(record["collectionId"], max_items=25)
    assert len(items) == min(25, len(samples))
    assert set(items["sample_id"]) <= set(samples["sample_id"])
    everything = rdm.get_items(record["collectionId"])
    assert len(everything) == len(samples)
    nothing = rdm.get_items(record["collectionId"], bbox=(-179, -89, -178, -88))
    assert len(nothing) == 0


def test_bad_input_errors(rdm):
    with pytest.raises(BadExtentError, match="west=10"):
        rdm.get_collections(bbox=(10, 0, 5, 1))
    with pytest.raises(BadTemporalExtentError, match="after end"):
        rdm.get_collections(temporal_extent=("2022-01-01", "2021-01-01"))
    with pytest.raises(UnknownCollectionError, match="'2099_xxx_nothing_poly_110'"):
        rdm.get_collection_stats("2099_xxx_nothing_poly_110")
    with pytest.raises(UnknownCollectionError):
        rdm.get_crop_counts(["2099_xxx_nothing_poly_110"])


def test_legend_served_by_local_server(rdm_url, tmp_path):
    legend = load_legend(f"{rdm_url}/legend.csv", cache_dir=tmp_path)
    assert legend.label(1101060000) == "maize"


def test_crop_counts_cancelled_before_start(rdm, demo_catalog):
    import threading

    from worldcereal_explorer.errors import QueryCancelledError

    ids = [r["collectionId"] for r in catalogue_records(demo_catalog) if r["accessType"] == "Public"][:4]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(QueryCancelledError):
        rdm.get_crop_counts(ids, cancel_event=cancel)
