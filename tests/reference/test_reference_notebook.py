"""The reference RDM demo notebook runs on worldcereal-explorer with only its import lines changed.

The notebook (every code cell of sections 1-5 of ``../shared/docs/rdm-demo-notebook.md``, with the current
reference notebook's updates; see :mod:`tests.reference.reference_notebook`) is executed top to bottom in a
real kernel with nbclient, against a local RDM server over real HTTP. The catalogue is the demo catalogue
plus the collections the notebook names (section 4's Canadian, Senegalese and Malian ids, section 5's two
Java collections), generated with the demo generator. The login of section 3.4 is a real device login on the
local OIDC provider, approved by the test as a person would approve it in the browser.

Every check compares an output of the notebook with an oracle computed from the catalogue's own files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from tests.notebook_support import execute_notebook
from tests.reference import reference_notebook as ref
from tests.test_client_local_server import catalogue_records, full_samples, oracle_search
from worldcereal_explorer.extents import BBox

REPO = Path(__file__).resolve().parents[2]

#: Collections the notebook names, generated into the test catalogue:
#: (original name, country, bbox, geometry, season, n, crops, irrigated share).
SOY, SPRING_WHEAT, MAIZE, SORGHUM, MILLET, RICE = 1106000020, 1101010002, 1101060000, 1101070000, 1101120000, 1101080000
COWPEAS, GROUNDNUTS, CASSAVA, CROPLAND, HERBACEOUS, TREES = 1105010050, 1106000050, 1107000040, 1000000000, 2000000000, 4000000000
CANADA = (-99.9, 49.1, -97.2, 49.6)  # inside the rectangle the "user" draws in section 3.2
NOTEBOOK_COLLECTIONS = (
    ("2021_CAN_AAFC-CROPINVENTORY_POINT_110", "CAN", CANADA, "Point", ("2021-06-01", "2021-08-31"), 600,
     ((SOY, .3), (SPRING_WHEAT, .25), (1106000030, .2), (MAIZE, .15), (HERBACEOUS, .1)), None),
    ("2018_CAN_AAFC-CROPINVENTORY_POINT_110", "CAN", CANADA, "Point", ("2018-06-01", "2018-08-31"), 700,
     ((SOY, .35), (SPRING_WHEAT, .2), (1106000030, .2), (MAIZE, .15), (HERBACEOUS, .1)), None),
    ("2018_SEN_JECAM-CIRAD_POLY_111", "SEN", (-17.0, 14.3, -16.2, 14.9), "Polygon", ("2018-07-01", "2018-10-31"),
     500, ((MILLET, .35), (GROUNDNUTS, .2), (CROPLAND, .2), (MAIZE, .05), (SORGHUM, .05), (COWPEAS, .05),
           (HERBACEOUS, .1)), {MAIZE: .3}),
    ("2019_MLI_NHI-CROPHARVEST_POLY_110", "MLI", (-6.5, 12.0, -5.0, 13.5), "Polygon", ("2019-07-01", "2019-10-31"),
     300, ((MAIZE, .3), (SORGHUM, .3), (MILLET, .25), (RICE, .15)), None),
    ("2023_IDN_VITO-CAMPAIGN_POLY_110", "IDN", (107.8, -7.2, 108.8, -6.7), "Polygon", ("2023-05-01", "2023-10-31"),
     600, ((RICE, .6), (MAIZE, .2), (CASSAVA, .2)), None),
    ("2023_IDN_VITO-MANUALPOINTS_100", "IDN", (109.5, -7.8, 111.5, -6.9), "Point", ("2023-05-01", "2023-10-31"),
     400, ((CROPLAND, .6), (TREES, .25), (HERBACEOUS, .15)), None),
)
JAVA_BOX = box(107.116699, -8.05923, 111.950684, -6.577303)  # section 5's bounding box
#: Columns of the reference notebook's samples table (its output in section 5).
REFERENCE_SAMPLE_COLUMNS = ["sample_id", "ewoc_code", "valid_time", "quality_score_lc", "quality_score_ct",
                            "extract", "h3_l3_cell", "ref_id", "geometry"]


def _gfmap_names_exported() -> bool:
    import worldcereal_explorer

    return all(hasattr(worldcereal_explorer, name) for name in ref.GFMAP_NAMES)


@pytest.fixture(scope="module")
def notebook_catalog(demo_catalog, tmp_path_factory) -> Path:
    """The demo catalogue plus the collections the notebook names (same generator, same file layout)."""
    from worldcereal_explorer.demo.collection import CollectionInfo, write_collection
    from worldcereal_explorer.demo.legend import land_cover_codes
    from worldcereal_explorer.demo.samples import synthesize_samples

    root = tmp_path_factory.mktemp("reference-notebook") / "catalog"
    shutil.copytree(demo_catalog, root)
    lc_of = land_cover_codes()
    for index, (name, country, bbox, geometry, season, n, crops, irrigated) in enumerate(NOTEBOOK_COLLECTIONS):
        rng = np.random.default_rng([2025, index])
        gdf = synthesize_samples(rng, original_name=name, bbox=bbox, geometry=geometry, season=season, n=n,
                                 crops=crops, irrigated_share=irrigated, quality=(92, 85),
                                 field_size_m=(60, 200), clusters=4)
        collection_id = name.lower().replace("-", "")
        info = CollectionInfo(collection_id=collection_id, original_name=name,
                              title=f"{collection_id} (synthetic, for the reference notebook test)",
                              description="Synthetic samples named like a collection of the reference notebook.",
                              country=country, continent="", confidence=(90, 85, 80 if irrigated else 0))
        write_collection(root, info, gdf, rng=rng, seed=2025, lc_of=lc_of, row_group_size=200,
                         harmonization_pdf=True)
    return root


@pytest.fixture(scope="module")
def servers(notebook_catalog):
    """A local OIDC provider and a local RDM server that validates its tokens."""
    from worldcereal_explorer.server import serve_in_thread
    from worldcereal_explorer.server.idp import serve_idp_in_thread
    from worldcereal_explorer.server.tokens import JwtTokenValidator

    with serve_idp_in_thread(poll_interval_s=0.1) as idp:
        validator = JwtTokenValidator(idp.issuer, idp.client_id)
        with serve_in_thread(notebook_catalog, token_validator=validator) as server:
            yield server, idp


def _visible_to(catalog: Path, record: dict, sub: str, groups: tuple[str, ...] = ()) -> bool:
    if record["accessType"] == "Public":
        return False
    path = catalog / record["collectionId"] / "access.json"
    access = json.loads(path.read_text()) if path.is_file() else {}
    return access.get("owner") == sub or bool(set(access.get("groups") or ()) & set(groups))


def _errors(nb) -> list[str]:
    return [f"{cell.metadata.get('name', cell.source[:60])!r}: {o.get('ename')}: {o.get('evalue')}"
            for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
            if o.get("output_type") == "error"]


def _text(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def _has_widget(outputs) -> bool:
    return any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


@pytest.mark.notebook
@pytest.mark.timeout(900)
def test_reference_notebook_runs_in_a_kernel(servers, notebook_catalog, tmp_path, monkeypatch):
    server, idp = servers
    env = ref.Environment(rdm_url=server.url.rstrip("/"), oidc_issuer=idp.issuer, oidc_client_id=idp.client_id,
                          cache_home=str(tmp_path / "cache"), config_home=str(tmp_path / "config"))
    gfmap_from_ours = _gfmap_names_exported()
    nb = ref.build_notebook(env, gfmap_from_ours=gfmap_from_ours)
    (tmp_path / "work").mkdir()
    # The kernel must import this checkout even where the package is not pip-installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    for name in ("WORLDCEREAL_RDM_TOKEN", "WORLDCEREAL_RDM_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    # The person at the keyboard: approves the device login section 3.4 starts (as the demo user).
    approved: list[str] = []
    stop = threading.Event()

    def approve_login() -> None:
        while not stop.is_set() and not approved:
            try:
                code = idp.wait_for_user_code(timeout_s=1)
            except TimeoutError:
                continue
            idp.approve(code)
            approved.append(code)

    approver = threading.Thread(target=approve_login, name="notebook-user-login", daemon=True)
    approver.start()
    try:
        execute_notebook(nb, workdir=tmp_path / "work", timeout=240)
    finally:
        stop.set()
        (tmp_path / "executed.ipynb").write_text(json.dumps(nb, indent=1))  # for a person to look at
    assert not _errors(nb), _errors(nb)

    records = catalogue_records(notebook_catalog)
    work = tmp_path / "work"
    probe = ref.probes(nb)
    outputs = ref.reference_outputs(nb)
    assert set(probe) == set(ref.PROBES), sorted(set(ref.PROBES) - set(probe))

    # --- 1. browse: every public collection, the first one's metadata, codes translated, extent map
    public = oracle_search(records)
    assert sorted(probe["1-collections"]["ids"]) == public
    assert f"Number of collections found: {len(public)}" in _text(outputs["1-collections"])
    col_id = probe["1-metadata"]["col_id"]
    assert col_id in public
    assert f"ID: {col_id}" in _text(outputs["1-metadata"])
    record = next(r for r in records if r["collectionId"] == col_id)
    assert probe["1-metadata"]["ewoc_codes"] == record["ewocCodes"]
    assert probe["1-translate"]["index"] == record["ewocCodes"]
    assert {"label_full", "level_1", "definition"} <= set(probe["1-translate"]["columns"])
    assert not any(label.startswith("unknown") for label in probe["1-translate"]["labels"])
    start, end = record["extent"]["temporal"]["interval"][0]
    assert f"Start date: {start}, End date: {end}" in _text(outputs["1-temporal"])
    assert _has_widget(outputs["1-extent-map"])

    # --- 2. downloads: the subset file, the metadata (dict and xlsx), the stats, the harmonization PDF
    parquet_file = work / probe["2.1-download"]["parquet_file"]
    samples = gpd.read_parquet(parquet_file)
    full = full_samples(notebook_catalog, col_id)
    assert len(samples) == int((full["extract"] > 0).sum()) > 0
    assert samples.crs.to_epsg() == 4326
    assert _has_widget(outputs["2.1-visualize"])
    metadata_file = work / probe["2.2-metadata"]["metadata_file"]
    assert metadata_file.read_bytes()[:2] == b"PK"  # an xlsx (zip) file
    assert probe["2.2-metadata"]["metadata_name"] == col_id
    stats = probe["2.2-stats"]
    assert stats["index_name"] == "Code" and stats["columns"] == ["Count", "Label"]
    assert stats["counts"] == {str(k): int(v) for k, v in full["ewoc_code"].value_counts().items()}
    assert (work / probe["2.3-harmonization"]["harmonization_file"]).read_bytes().startswith(b"%PDF-")

    # --- 3.1 the picker (ticked and applied through its public API) and the crop-type search
    assert _has_widget(outputs["3.1-picker"])
    picked = probe["3.1-croptypes"]
    assert picked["columns"] == ["new_label", "original_label"]
    assert set(ref.PICKED_CODES) <= set(picked["index"])
    from worldcereal_explorer import DEMO_CROPS

    roots_and_tubers = [c for c in DEMO_CROPS if 1107000000 <= c < 1108000000]
    assert sorted(picked["index"]) == sorted({*roots_and_tubers, 1101060000})
    assert sorted(probe["3.1-search"]["ids"]) == oracle_search(records, codes=picked["index"])
    assert probe["3.1-search"]["ids"]

    # --- 3.2 the drawn rectangle and the location search
    assert _has_widget(outputs["3.2-map"])
    assert probe["3.2-search"]["bbox"] == pytest.approx(list(ref.DRAWN_BOX))
    drawn = BBox(*ref.DRAWN_BOX)
    assert sorted(probe["3.2-search"]["ids"]) == oracle_search(records, bbox=drawn)
    assert {"2021_can_aafccropinventory_point_110", "2018_can_aafccropinventory_point_110"} <= set(
        probe["3.2-search"]["ids"])

    # --- 3.3 the year 2020
    assert sorted(probe["3.3-temporal"]["ids"]) == oracle_search(
        records, start=dt.date(2020, 1, 1), end=dt.date(2020, 12, 31))
    assert probe["3.3-temporal"]["ids"]

    # --- 3.4 private collections, after the device login the person approved
    approver.join(5)
    assert approved, "section 3.4 did not start a device login"
    assert _text(outputs["3.4-private"]).count(approved[0]) >= 1, "the login code was not shown to the user"
    private_expected = sorted(r["collectionId"] for r in records if _visible_to(notebook_catalog, r, "demo-user"))
    assert private_expected, "the demo catalogue has a private collection of the demo user"
    assert sorted(probe["3.4-private"]["private_ids"]) == private_expected
    assert all(a != "Public" for a in probe["3.4-private"]["access"])

    # --- 4. crop counts across collections: the (ewoc_code, Label) x ref_id table, equal to the files
    for name, ids, codes in (
        ("4-counts", ["2021_can_aafccropinventory_point_110", "2018_can_aafccropinventory_point_110"],
         [SOY, SPRING_WHEAT]),
        ("4-counts-all", ["2018_sen_jecamcirad_poly_111", "2019_mli_nhicropharvest_poly_110"], None),
    ):
        table = probe[name]
        assert table["index_names"] == ["ewoc_code", "Label"]
        assert sorted(table["columns"]) == sorted(ids)
        files = {i: full_samples(notebook_catalog, i)["ewoc_code"].value_counts() for i in ids}
        all_codes = codes or sorted({int(c) for counts in files.values() for c in counts.index})
        expected = {f"{i}|{c}": int(files[i].get(c, 0)) for i in ids for c in all_codes}
        assert table["cells"] == expected
    assert probe["4-counts"]["labels"] and not any(
        label.lower().startswith("unknown") for label in probe["4-counts"]["labels"])

    # --- 5. samples across collections in the Java box: subset, quality >= 75, saved and drawn
    got = probe["5-samples"]
    expected_ids = []
    java_ids = []
    for r in records:
        if r["accessType"] != "Public":
            continue
        frame = full_samples(notebook_catalog, r["collectionId"])
        keep = frame[frame.geometry.intersects(JAVA_BOX) & (frame["extract"] > 0) & (frame["quality_score_ct"] >= 75)]
        if len(keep):
            java_ids.append(r["collectionId"])
        expected_ids += [str(s) for s in keep["sample_id"]]
    assert got["n"] == len(expected_ids) > 0
    assert got["sample_ids"] == sorted(expected_ids)
    assert got["ref_ids"] == sorted(java_ids) == ["2023_idn_vitocampaign_poly_110", "2023_idn_vitomanualpoints_100"]
    assert set(REFERENCE_SAMPLE_COLUMNS) <= set(got["columns"])
    assert got["min_ct"] >= 75 and got["min_extract"] > 0 and got["crs"] == 4326
    assert f"Total number of samples downloaded: {got['n']}" in _text(outputs["5-samples"])
    saved = gpd.read_parquet(work / probe["5-save"]["parquet_file"])
    assert len(saved) == got["n"] and saved.crs.to_epsg() == 4326
    assert _has_widget(outputs["5-save"])


def test_openeo_gfmap_names_come_from_our_package():
    """Section 3's import lines ``from openeo_gfmap import BoundingBoxExtent / TemporalContext`` have a drop-in."""
    from worldcereal_explorer import BoundingBoxExtent, TemporalContext

    bbox = BoundingBoxExtent(north=34.79638823, east=-0.34539808, south=34.45619011, west=-0.91010781)
    assert (bbox.west, bbox.south, bbox.east, bbox.north) == (-0.91010781, 34.45619011, -0.34539808, 34.79638823)
    context = TemporalContext(start_date="2020-01-01", end_date="2020-12-31")
    assert (context.start_date, context.end_date) == ("2020-01-01", "2020-12-31")
