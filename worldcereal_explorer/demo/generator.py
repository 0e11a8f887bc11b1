"""Write a deterministic, clearly synthetic RDM catalogue for demos, tests and benchmarks.

:func:`make_demo_catalog` writes about fifteen collections on six continents, each with realistic
crop mixes for its region, real H3 level-3 cells and GeoParquet 1.1 files, in the folder layout the
local server reads (:mod:`worldcereal_explorer.server.catalog`). Nothing in it is real reference
data: ``catalog.json`` says ``"synthetic": true`` and every title says "synthetic demo".

:func:`make_synthetic_catalog` writes bigger, plainer catalogues quickly (vectorised numpy) for the
sample-reading benchmarks.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from .. import __version__
from ..errors import BadParameterError
from ..extents import BBox
from ..geoparquet import write_geoparquet
from ..rdm.models import Collection

__all__ = [
    "make_demo_catalog",
    "make_synthetic_catalog",
    "DEMO_LEGEND_PATH",
    "DEMO_USER_SUB",
    "DEMO_USER_NAME",
    "PARTNER_USER_SUB",
    "CONSORTIUM_GROUP",
    "demo_collection_ids",
]

DEMO_LEGEND_PATH = Path(__file__).with_name("demo_legend.csv")

#: The demo user who owns the private demo collection (the local OIDC provider issues tokens for them).
DEMO_USER_SUB = "demo-user"
DEMO_USER_NAME = "Demo User"
#: Owner of the restricted demo collection, shared with the consortium group.
PARTNER_USER_SUB = "partner-user"
CONSORTIUM_GROUP = "worldcereal-consortium"

_NAMESPACE = uuid.UUID("6f1d3c52-8a9e-4c1b-9d7a-2f5e1c0b7a41")

# ewoc codes used by the demo (10-digit form of the dashed legend codes in demo_legend.csv).
WINTER_WHEAT, SPRING_WHEAT, WHEAT = 1101010001, 1101010002, 1101010000
BARLEY, WINTER_BARLEY = 1101020000, 1101020001
MAIZE, SILAGE_MAIZE, SORGHUM, RICE, PEARL_MILLET = 1101060000, 1101060002, 1101070000, 1101080000, 1101120040
BEANS, CHICKPEAS, COWPEAS = 1105010010, 1105010040, 1105010050
SUNFLOWER, SOYBEAN, RAPESEED, WINTER_RAPESEED, GROUNDNUTS = 1106000010, 1106000020, 1106000030, 1106000031, 1106000050
POTATOES, BEET, SUGAR_BEET, CASSAVA = 1107000010, 1107000030, 1107000031, 1107000040
COTTON, SUGARCANE, ALFALFA = 1108000010, 1111010100, 1111020010
VINEYARDS, COFFEE, OLIVE, OIL_PALM = 1201000010, 1202000010, 1203000010, 1203000030
PASTURES, TEMPORARY_MEADOWS = 2001020010, 2001020021
CROPLAND, HERBACEOUS, SHRUBLAND, TREES, BARE, BUILT_UP, WATER = (
    1000000000, 2000000000, 3000000000, 4000000000, 5000000000, 6000000000, 7000000000)

#: Irrigation codes for irrigated samples (surface, sprinkler, drip; full or supplementary).
_IRRIGATED_CODES = np.array([213, 214, 215, 223, 224, 225])
_IRRIGATED_WEIGHTS = np.array([0.35, 0.2, 0.15, 0.15, 0.1, 0.05])


@dataclass(frozen=True)
class _Spec:
    """How one demo collection looks: region, season, crop mix, access."""

    original_name: str  # e.g. 2021_BEL_LPIS-DEMO_POLY_110: the file names' form
    name: str  # human name of the (fictitious) data set
    description: str
    country: str
    continent: str
    bbox: tuple[float, float, float, float]
    geometry: str  # "Point" | "Polygon"
    season: tuple[str, str]  # first and last valid_time, ISO dates within one year
    n_samples: int
    crops: tuple[tuple[int, float], ...]
    irrigated_share: dict[int, float] | None = None  # code -> share irrigated (111 collections)
    access: str = "Public"
    owner: str | None = None
    groups: tuple[str, ...] = ()
    quality: tuple[int, int] = (85, 80)  # mean quality_score_lc, quality_score_ct
    confidence: tuple[int, int, int] = (80, 75, 0)  # confidenceLandCover, CropType, IrrigationType
    field_size_m: tuple[float, float] = (80, 300)
    clusters: int = 6
    observation_method: str = "Unknown"
    legacy_id: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def collection_id(self) -> str:
        """API id: the original name lower-cased without dashes (and, for old ids, without underscores)."""
        cid = self.original_name.lower().replace("-", "")
        return cid.replace("_", "") if self.legacy_id else cid

    @property
    def year(self) -> int:
        return int(self.season[0][:4])

    @property
    def content(self) -> str:
        return self.original_name.rsplit("_", 1)[-1]


def _demo_specs() -> list[_Spec]:
    eu_lpis = "Parcels drawn like a land parcel identification system (LPIS) declaration; synthetic."
    return [
        _Spec("2021_BEL_LPIS-DEMO_POLY_110", "LPIS-like parcels, Belgium", eu_lpis, "BEL", "EU",
              (2.8, 50.3, 5.9, 51.3), "Polygon", ("2021-05-15", "2021-08-31"), 1500,
              ((WINTER_WHEAT, .28), (MAIZE, .14), (SILAGE_MAIZE, .14), (SUGAR_BEET, .10), (POTATOES, .12),
               (WINTER_BARLEY, .07), (TEMPORARY_MEADOWS, .10), (PASTURES, .05)),
              quality=(97, 95), confidence=(95, 92, 0), clusters=8),
        _Spec("2022_FRA_LPIS-DEMO_POLY_110", "LPIS-like parcels, France", eu_lpis, "FRA", "EU",
              (-1.5, 46.0, 4.5, 49.5), "Polygon", ("2022-04-01", "2022-08-31"), 1200,
              ((WINTER_WHEAT, .30), (WINTER_RAPESEED, .12), (SUNFLOWER, .08), (MAIZE, .14), (WINTER_BARLEY, .12),
               (BEET, .06), (VINEYARDS, .06), (TEMPORARY_MEADOWS, .12)),
              quality=(97, 94), confidence=(95, 90, 0), clusters=10),
        _Spec("2020_ESP_SIGPAC-DEMO_POLY_111", "Irrigated and rainfed parcels, Spain",
              "Parcels with crop type and irrigation method; synthetic.", "ESP", "EU",
              (-6.5, 37.0, -1.0, 42.0), "Polygon", ("2020-03-01", "2020-09-30"), 1000,
              ((WHEAT, .20), (BARLEY, .20), (OLIVE, .20), (VINEYARDS, .10), (MAIZE, .12), (SUNFLOWER, .10),
               (ALFALFA, .08)),
              irrigated_share={MAIZE: .9, ALFALFA: .85, OLIVE: .35, VINEYARDS: .3},
              quality=(92, 90), confidence=(90, 88, 80), clusters=8),
        _Spec("2021_UKR_FIELD-DEMO_POINT_110", "Roadside survey points, Ukraine",
              "Points observed along roads during a field campaign; synthetic.", "UKR", "EU",
              (24.0, 46.5, 36.0, 51.0), "Point", ("2021-05-01", "2021-08-31"), 1500,
              ((WINTER_WHEAT, .30), (SUNFLOWER, .25), (MAIZE, .20), (SOYBEAN, .10), (WINTER_RAPESEED, .08),
               (WINTER_BARLEY, .07)),
              quality=(88, 82), confidence=(85, 80, 0), observation_method="FieldObservationSurvey", clusters=12),
        _Spec("2019_KEN_HARVEST-DEMO_POINT_100", "Land cover points, Kenya",
              "Land cover points from photo interpretation; an old-style id without underscores; synthetic.",
              "KEN", "AF", (34.0, -1.5, 38.0, 1.5), "Point", ("2019-08-01", "2019-09-01"), 800,
              ((CROPLAND, .45), (HERBACEOUS, .20), (SHRUBLAND, .15), (TREES, .10), (BUILT_UP, .05), (WATER, .02),
               (BARE, .03)),
              quality=(80, 0), confidence=(75, 0, 0), legacy_id=True, clusters=6),
        _Spec("2021_KEN_COPERNICUS-DEMO_POINT_111", "Long rains crop survey, Kenya",
              "Crop type and irrigation points from a ground survey; synthetic.", "KEN", "AF",
              (34.5, -1.0, 37.5, 1.0), "Point", ("2021-03-15", "2021-07-31"), 1200,
              ((MAIZE, .45), (BEANS, .20), (SORGHUM, .08), (CASSAVA, .07), (SUGARCANE, .08), (COFFEE, .05),
               (CROPLAND, .07)),
              irrigated_share={SUGARCANE: .6, BEANS: .1, MAIZE: .05},
              quality=(90, 85), confidence=(88, 84, 70), observation_method="FieldObservationSurvey", clusters=7),
        _Spec("2020_MLI_SAHELCROPS-DEMO_POINT_110", "Sahel crops, Mali",
              "Field survey points in the Sahel; synthetic.", "MLI", "AF",
              (-8.5, 11.0, -4.0, 14.5), "Point", ("2020-07-01", "2020-10-31"), 1000,
              ((PEARL_MILLET, .30), (SORGHUM, .25), (MAIZE, .12), (GROUNDNUTS, .12), (COWPEAS, .08), (COTTON, .08),
               (RICE, .05)),
              quality=(85, 78), confidence=(80, 72, 0), observation_method="FieldObservationSurvey", clusters=6),
        _Spec("2022_TZA_SMALLHOLDER-DEMO_POLY_110", "Smallholder fields, Tanzania",
              "Small field polygons traced on very high resolution images; synthetic.", "TZA", "AF",
              (32.0, -9.0, 37.0, -3.5), "Polygon", ("2022-01-15", "2022-05-31"), 600,
              ((MAIZE, .40), (BEANS, .15), (CASSAVA, .12), (RICE, .10), (SUNFLOWER, .10), (SORGHUM, .05),
               (GROUNDNUTS, .08)),
              quality=(88, 80), confidence=(85, 78, 0), field_size_m=(30, 120), clusters=5),
        _Spec("2021_USA_CORNBELT-DEMO_POINT_110", "Corn belt fields, United States",
              "Points on fields of the US corn belt; synthetic.", "USA", "NA",
              (-96.0, 39.0, -85.0, 44.0), "Point", ("2021-06-01", "2021-09-30"), 2000,
              ((MAIZE, .42), (SOYBEAN, .38), (SPRING_WHEAT, .06), (ALFALFA, .06), (PASTURES, .08)),
              quality=(95, 93), confidence=(92, 90, 0), clusters=12),
        _Spec("2020_BRA_CERRADO-DEMO_POLY_110", "Cerrado farms, Brazil",
              "Large field polygons in the Cerrado; synthetic.", "BRA", "SA",
              (-56.0, -17.0, -46.0, -12.0), "Polygon", ("2020-01-10", "2020-04-30"), 1200,
              ((SOYBEAN, .45), (MAIZE, .15), (COTTON, .10), (SUGARCANE, .12), (PASTURES, .13), (COFFEE, .05)),
              quality=(90, 86), confidence=(88, 85, 0), field_size_m=(400, 1500), clusters=8),
        _Spec("2022_ARG_PAMPAS-DEMO_POINT_110", "Pampas crop survey, Argentina",
              "Points from a windshield survey in the Pampas; synthetic.", "ARG", "SA",
              (-63.5, -37.5, -58.0, -32.0), "Point", ("2022-01-10", "2022-11-30"), 1500,
              ((SOYBEAN, .38), (MAIZE, .25), (WHEAT, .17), (SUNFLOWER, .10), (BARLEY, .05), (PASTURES, .05)),
              quality=(90, 86), confidence=(86, 82, 0), observation_method="FieldObservationSurvey", clusters=10),
        _Spec("2021_IND_RICE-DEMO_POINT_111", "Kharif rice and irrigation, India",
              "Crop type and irrigation points in the Indo-Gangetic plain; synthetic.", "IND", "AS",
              (75.0, 26.0, 84.0, 30.5), "Point", ("2021-07-01", "2021-11-30"), 1500,
              ((RICE, .45), (WHEAT, .20), (SUGARCANE, .12), (COTTON, .08), (MAIZE, .08), (CHICKPEAS, .07)),
              irrigated_share={RICE: .75, WHEAT: .85, SUGARCANE: .9, COTTON: .5, MAIZE: .3},
              quality=(86, 80), confidence=(84, 78, 76), observation_method="FieldObservationSurvey", clusters=10),
        _Spec("2022_VNM_MEKONG-DEMO_POLY_111", "Mekong delta paddies, Viet Nam",
              "Paddy polygons with irrigation in the Mekong delta; synthetic.", "VNM", "AS",
              (104.8, 9.2, 106.6, 10.9), "Polygon", ("2022-02-01", "2022-11-30"), 800,
              ((RICE, .75), (MAIZE, .08), (SUGARCANE, .07), (CASSAVA, .05), (CROPLAND, .05)),
              irrigated_share={RICE: .95, SUGARCANE: .5},
              quality=(90, 88), confidence=(88, 86, 85), field_size_m=(40, 150), clusters=5),
        _Spec("2021_AUS_WHEATBELT-DEMO_POLY_110", "Wheatbelt paddocks, Australia",
              "Paddock polygons in the Western Australian wheatbelt; synthetic.", "AUS", "OC",
              (116.0, -33.5, 118.5, -30.0), "Polygon", ("2021-06-01", "2021-10-31"), 1200,
              ((WHEAT, .45), (BARLEY, .20), (RAPESEED, .15), (CHICKPEAS, .05), (PASTURES, .15)),
              quality=(93, 90), confidence=(90, 88, 0), field_size_m=(500, 1500), clusters=6),
        _Spec("2023_NLD_PRIVATE-DEMO_POLY_110", "Private farm parcels, Netherlands",
              "A private upload of the demo user (only they can see it); synthetic.", "NLD", "EU",
              (4.5, 51.8, 6.8, 53.2), "Polygon", ("2023-05-15", "2023-08-31"), 500,
              ((POTATOES, .20), (SUGAR_BEET, .12), (WINTER_WHEAT, .18), (SILAGE_MAIZE, .20),
               (TEMPORARY_MEADOWS, .30)),
              access="Private", owner=DEMO_USER_SUB, quality=(98, 96), confidence=(95, 95, 0), clusters=4),
        _Spec("2022_KHM_CONSORTIUM-DEMO_POINT_110", "Consortium rice survey, Cambodia",
              "A restricted data set shared with the WorldCereal consortium; synthetic.", "KHM", "AS",
              (102.5, 11.0, 106.0, 14.0), "Point", ("2022-08-01", "2022-12-15"), 500,
              ((RICE, .60), (CASSAVA, .20), (MAIZE, .10), (SUGARCANE, .05), (TREES, .05)),
              access="Restricted", owner=PARTNER_USER_SUB, groups=(CONSORTIUM_GROUP,),
              quality=(88, 84), confidence=(85, 82, 0), observation_method="FieldObservationSurvey", clusters=5),
    ]


def demo_collection_ids() -> list[str]:
    """Ids of the demo catalogue's collections, in generation order."""
    return [spec.collection_id for spec in _demo_specs()]


# ---- legend --------------------------------------------------------------------------------------------------


def _land_cover_codes(legend_path: Path = DEMO_LEGEND_PATH) -> dict[int, int]:
    """ewoc code -> LC_code from the demo legend (used for the LcStats counts)."""
    legend = pd.read_csv(legend_path, sep=";", encoding="utf-8-sig", dtype=str)
    codes = legend["ewoc_code"].str.replace("-", "", regex=False).astype("int64")
    return dict(zip(codes.tolist(), legend["LC_code"].astype(int).tolist(), strict=True))


# ---- samples -------------------------------------------------------------------------------------------------


def _h3_cells(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.array([h3.latlng_to_cell(float(a), float(o), 3) for a, o in zip(lat, lon, strict=True)], dtype=object)


def _centres(rng: np.random.Generator, bbox: tuple[float, float, float, float], n: int,
             clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample positions clustered around a few hubs, as survey campaigns are."""
    west, south, east, north = bbox
    hub_x = rng.uniform(west, east, clusters)
    hub_y = rng.uniform(south, north, clusters)
    hub = rng.integers(0, clusters, n)
    spread = 0.12 * min(east - west, north - south)
    x = hub_x[hub] + rng.normal(0, spread, n)
    y = hub_y[hub] + rng.normal(0, spread, n)
    # Redraw strays uniformly inside the region rather than clipping them, which would pile them on its edges.
    outside = (x < west) | (x > east) | (y < south) | (y > north)
    x[outside] = rng.uniform(west, east, int(outside.sum()))
    y[outside] = rng.uniform(south, north, int(outside.sum()))
    return x, y


def _field_polygons(rng: np.random.Generator, x: np.ndarray, y: np.ndarray,
                    size_m: tuple[float, float]) -> np.ndarray:
    """Rotated rectangles of a few hundred metres around each centre (vectorised)."""
    n = len(x)
    width = rng.uniform(*size_m, n)
    height = width * rng.uniform(0.4, 1.0, n)
    angle = rng.uniform(0, np.pi, n)
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    dx = corners[None, :, 0] * width[:, None]
    dy = corners[None, :, 1] * height[:, None]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    east_m = dx * cos - dy * sin
    north_m = dx * sin + dy * cos
    lon = x[:, None] + east_m / (111_320.0 * np.cos(np.radians(y))[:, None])
    lat = y[:, None] + north_m / 110_574.0
    coords = np.round(np.stack([lon, lat], axis=-1), 7)
    return shapely.polygons(coords)


def _samples(
    rng: np.random.Generator,
    *,
    original_name: str,
    bbox: tuple[float, float, float, float],
    geometry: str,
    season: tuple[str, str],
    n: int,
    crops: tuple[tuple[int, float], ...],
    irrigated_share: dict[int, float] | None,
    quality: tuple[int, int],
    field_size_m: tuple[float, float],
    clusters: int,
) -> gpd.GeoDataFrame:
    codes = np.array([c for c, _ in crops], dtype="int64")
    weights = np.array([w for _, w in crops], dtype=float)
    ewoc = codes[rng.choice(len(codes), n, p=weights / weights.sum())]
    x, y = _centres(rng, bbox, n, clusters)
    x, y = np.round(x, 7), np.round(y, 7)
    geoms = _field_polygons(rng, x, y, field_size_m) if geometry == "Polygon" else shapely.points(x, y)
    first, last = np.datetime64(season[0]), np.datetime64(season[1])
    days = rng.integers(0, int((last - first).astype(int)) + 1, n)
    valid_time = (first + days.astype("timedelta64[D]")).astype("datetime64[us]")
    if irrigated_share is not None:
        share = np.array([irrigated_share.get(int(c), 0.02) for c in ewoc])
        irrigated = rng.random(n) < share
        irrigation = np.where(irrigated, rng.choice(_IRRIGATED_CODES, n, p=_IRRIGATED_WEIGHTS), 100)
        irrigation = np.where(rng.random(n) < 0.05, 0, irrigation)  # some samples carry no irrigation info
    else:
        irrigation = np.zeros(n, dtype=int)
    extract = rng.choice(np.array([0, 1, 2, 99]), n, p=[0.6, 0.28, 0.1, 0.02])
    q_lc = np.clip(np.round(rng.normal(quality[0], 4, n)), 0, 100)
    q_ct = np.clip(np.round(rng.normal(quality[1], 5, n)), 0, 100) if quality[1] > 0 else np.zeros(n)
    frame = pd.DataFrame({
        "sample_id": [f"{original_name}_{i}" for i in range(n)],
        "ewoc_code": ewoc.astype("int64"),
        "valid_time": pd.to_datetime(valid_time),
        "irrigation_status": irrigation.astype("int32"),
        "extract": extract.astype("int32"),
        "quality_score_lc": q_lc.astype("int32"),
        "quality_score_ct": q_ct.astype("int32"),
        "h3_l3_cell": _h3_cells(y, x),
        "sampling_ewoc_code": (ewoc - ewoc % 10).astype("int64"),
    })
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))


# ---- files ---------------------------------------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json(path: Path, value: Any) -> None:
    _write_atomic(path, (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _pdf_text(text: str) -> str:
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` in Helvetica, with a correct cross-reference table."""
    stream = "BT /F1 12 Tf 56 780 Td 16 TL " + " ".join(f"({_pdf_text(line)}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        "/Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode("ascii")
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
    return bytes(out)


def _write_xlsx(path: Path, title: str, items: list[dict[str, Any]]) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "MetaData"
    sheet.append(["Name", "Value"])
    for item in items:
        sheet.append([item["name"], item["value"]])
    sheet.column_dimensions["A"].width = 70
    sheet.column_dimensions["B"].width = 60
    fixed = dt.datetime(2025, 1, 1)
    workbook.properties.title = title
    workbook.properties.creator = "worldcereal-explorer demo generator"
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        workbook.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _ranked(values: np.ndarray) -> list[tuple[int, int]]:
    codes, counts = np.unique(values, return_counts=True)
    pairs = [(int(c), int(n)) for c, n in zip(codes, counts, strict=True)]
    return sorted(pairs, key=lambda p: (-p[1], p[0]))


def _stamp(rng: np.random.Generator, year: int) -> str:
    day = dt.datetime(year, 1, 1) + dt.timedelta(seconds=int(rng.integers(0, 364 * 86400)))
    return day.strftime("%Y-%m-%dT%H:%M:%S") + f".{int(rng.integers(0, 1_000_000)):06d}"


def _write_collection(
    root: Path,
    *,
    rng: np.random.Generator,
    seed: int,
    collection_id: str,
    original_name: str,
    title: str,
    description: str,
    country: str,
    continent: str,
    gdf: gpd.GeoDataFrame,
    access: str,
    owner: str | None,
    groups: tuple[str, ...],
    confidence: tuple[int, int, int],
    observation_method: str,
    lc_of: dict[int, int],
    row_group_size: int,
    harmonization_pdf: bool,
) -> dict[str, Any]:
    folder = root / collection_id
    folder.mkdir(parents=True, exist_ok=True)
    full_name = f"{original_name.upper()}.geoparquet"
    subset_name = f"sample_{original_name.upper()}.parquet"
    write_geoparquet(gdf, folder / full_name, row_group_size=row_group_size)
    write_geoparquet(gdf[gdf["extract"] > 0].reset_index(drop=True), folder / subset_name,
                     row_group_size=row_group_size)

    ewoc_stats = _ranked(gdf["ewoc_code"].to_numpy())
    irr_stats = _ranked(gdf["irrigation_status"].to_numpy())
    lc_stats = _ranked(np.array([lc_of.get(int(c), int(str(c)[:2])) for c in gdf["ewoc_code"]]))
    bounds = [round(float(v), 7) for v in gdf.total_bounds]
    first = pd.Timestamp(gdf["valid_time"].min())
    last = pd.Timestamp(gdf["valid_time"].max())
    year = first.year
    created = _stamp(rng, year + 1)
    modified = _stamp(rng, year + 2)
    geometry_type = "Polygon" if gdf.geometry.iloc[0].geom_type == "Polygon" else "Point"
    collection = Collection(
        id=collection_id,
        access_type=access,
        title=title,
        feature_count=len(gdf),
        data_type=geometry_type,
        observation_method=observation_method,
        confidence_lc=confidence[0],
        confidence_ct=confidence[1],
        confidence_irr=confidence[2],
        ewoc_codes=[c for c, _ in ewoc_stats],
        irr_codes=sorted(c for c, _ in irr_stats),
        spatial_extent=BBox(*bounds),
        temporal_extent=(first.strftime("%Y-%m-%dT00:00:00"), last.strftime("%Y-%m-%dT00:00:00")),
        additional_data="",
        last_modified=modified,
        last_modified_by=None,
        creation_time=created,
        created_by=None,
        fid=str(uuid.uuid5(_NAMESPACE, f"{seed}/{collection_id}")),
    )
    api = collection.to_api()
    _write_json(folder / "collection.json", api)
    if access != "Public":
        _write_json(folder / "access.json", {"owner": owner, "groups": list(groups)})

    code_stats = {
        "LcStats": [{"Code": c, "Count": n} for c, n in lc_stats],
        "EwocStats": [{"Code": c, "Count": n} for c, n in ewoc_stats],
        "IrrStats": [{"Code": c, "Count": n} for c, n in irr_stats],
    }
    pairs: list[tuple[str, str]] = [
        ("CuratedDataSet:ReferenceCuratedDataSet:NameCuratedDataSet:", collection_id),
        ("CuratedDataSet::TitleCuratedDataSet:", title),
        ("OriginalDataSet:Provider:Code:", "WorldCereal-Explorer-Demo"),
        ("OriginalDataSet:Provider:DescriptionCuratedDataSet:",
         "Synthetic demo data generated by worldcereal-explorer; no real provider, no real observations."),
        ("OriginalDataSet:Provider:URL:", ""),
        ("OriginalDataSet:Provider:Contact:", ""),
        ("OriginalDataSet:NameDataSet::", f"{title} (synthetic demo)"),
        ("OriginalDataSet:DOI::", ""),
        ("OriginalDataSet:License:TypeOfLicense:", "CC_BY"),
        ("OriginalDataSet:License:ReferenceToLicense:", "CC-BY-4.0"),
        ("OriginalDataSet:License:RequiredCitation:",
         f"Synthetic demo data, worldcereal-explorer {__version__}, seed {seed}."),
        ("OriginalDataSet:Objective::", "Demonstrate and test worldcereal-explorer without network access."),
        ("OriginalDataSet:Observation:ObservationMethod:TypeOfObservationMethod", observation_method),
        ("OriginalDataSet:Observation:ObservationMethod:SamplingDesign", "Unknown"),
        ("OriginalDataSet:Observation:ObservationMethod:InfoOnSamplingDesign", "Random positions around a few hubs"),
        ("OriginalDataSet:Observation:ObservationMethod:Validation", "No"),
        ("OriginalDataSet:Observation:ObservationMethod:InfoOnValidation", "Synthetic data is not validated"),
        ("OriginalDataSet:Observation::ClassificationAccuracy", "NotApplicable"),
        ("OriginalDataSet:Observation::SupportingMaterial", ""),
        ("OriginalDataSet:Observation:Geometry:TypeOfGeometry",
         "FieldRegisteredPolygon" if geometry_type == "Polygon" else "FieldRegisteredSinglePoint"),
        ("OriginalDataSet:Observation::GPSFieldMethod", "Unknown"),
        ("OriginalDataSet:Observation::CoordinateSystem", "EPSG:4326"),
        ("OriginalDataSet:DataFormat::", "geoparquet"),
        ("OriginalDataSet:Language::", "english"),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:PointOrPolygonOrRaster", geometry_type),
        ("CuratedDataSet:ObservationCuratedDataset::NoOfObservations", str(len(gdf))),
        ("CuratedDataSet::DescriptionCuratedDataSet:", f"Synthetic demo: {description}"),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:Accuracy", "10"),
        ("CuratedDataSet:ObservationCuratedDataset::ListOfLandCovers", ";".join(str(c) for c, _ in lc_stats)),
        ("CuratedDataSet:ObservationCuratedDataset::ListOfCropTypes", ";".join(str(c) for c, _ in ewoc_stats)),
        ("CuratedDataSet:ObservationCuratedDataset::ListOfIrrigationCodes",
         ";".join(str(c) for c in sorted(c for c, _ in irr_stats))),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:Country", country),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:Continent", continent),
        ("CuratedDataSet:ObservationCuratedDataset:ObservationTime:", "RealDate"),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:BoundingBoxLL", f"{bounds[0]};{bounds[1]}"),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:BoundingBoxUR", f"{bounds[2]};{bounds[3]}"),
        ("CuratedDataSet:ObservationCuratedDataset:Summary:FirstDateObservation",
         f"{first.day}/{first.month}/{first.year}"),
        ("CuratedDataSet:ObservationCuratedDataset::LastDateObservation", f"{last.day}/{last.month}/{last.year}"),
        ("CuratedDataSet:CurationByWordCereal::", "Synthetic; see the harmonization PDF" if harmonization_pdf
         else "Synthetic"),
        ("CuratedDataSet:ConfidenceCropType::", str(confidence[1])),
        ("CuratedDataSet:ConfidenceLandCover::", str(confidence[0])),
        ("CuratedDataSet:ConfidenceIrrigationRainfed::", str(confidence[2])),
        # File links hold the bare file name here; the server turns them into URLs to itself.
        ("GeoParquetDownloadUrl", full_name),
        ("SampleDownloadUrl", subset_name),
    ]
    if harmonization_pdf:
        pairs.append(("CuratedDataSet:Harmonization:Pdf", f"{original_name.upper()}.pdf"))
    pairs.append(("codeStats", json.dumps(code_stats, separators=(",", ":"))))
    items = [{"id": i, "name": name, "value": value, "type": "text"} for i, (name, value) in enumerate(pairs, 1)]
    _write_json(folder / "metadata_items.json", items)
    _write_xlsx(folder / "metadata.xlsx", title, items)
    if harmonization_pdf:
        _write_atomic(folder / "harmonization.pdf", minimal_pdf([
            f"Harmonization report: {collection_id}",
            "SYNTHETIC DEMO DATA generated by worldcereal-explorer.",
            "No real observations; labels follow the WorldCereal LC/CT legend codes.",
            f"Samples: {len(gdf)}; crop types: {len(ewoc_stats)}; seed {seed}.",
        ]))
    return api


def _prepare_root(dst_dir: str | os.PathLike) -> Path:
    root = Path(dst_dir)
    if root.exists() and not root.is_dir():
        raise BadParameterError(f"catalogue destination {str(root)!r} exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not (root / "catalog.json").is_file():
        raise BadParameterError(
            f"catalogue destination {str(root)!r} is a non-empty folder that is not a catalogue; "
            "give a new or empty folder (or an existing catalogue to regenerate)"
        )
    root.mkdir(parents=True, exist_ok=True)
    return root


def _finish(root: Path, info: dict[str, Any], legend_path: Path) -> Path:
    tmp_legend = root / ".legend.csv.part"
    shutil.copyfile(legend_path, tmp_legend)
    os.replace(tmp_legend, root / "legend.csv")
    _write_json(root / "catalog.json", info)  # written last: its presence marks a complete catalogue
    return root


def make_demo_catalog(dst_dir: str | os.PathLike, seed: int = 2024) -> Path:
    """Write the synthetic demo catalogue into ``dst_dir`` (created if needed).

    Sixteen collections on six continents: EU LPIS-like polygons, African survey points, American
    fields, Asian rice, Australian paddocks; one private collection of the demo user
    (``sub="demo-user"``) and one restricted collection shared with the ``worldcereal-consortium`` group.
    The same ``seed`` gives byte-identical JSON files and identical Parquet contents.

    Parameters
    ----------
    dst_dir
        Destination folder: new, empty, or an earlier catalogue (regenerated in place).
    seed
        Random seed.

    Returns
    -------
    pathlib.Path
        ``dst_dir``.

    Raises
    ------
    BadParameterError
        When ``dst_dir`` is a file or a non-empty folder that is not a catalogue.
    """
    root = _prepare_root(dst_dir)
    lc_of = _land_cover_codes()
    specs = _demo_specs()
    for index, spec in enumerate(specs):
        rng = np.random.default_rng([seed, index])
        gdf = _samples(
            rng, original_name=spec.original_name, bbox=spec.bbox, geometry=spec.geometry, season=spec.season,
            n=spec.n_samples, crops=spec.crops, irrigated_share=spec.irrigated_share, quality=spec.quality,
            field_size_m=spec.field_size_m, clusters=spec.clusters,
        )
        _write_collection(
            root, rng=rng, seed=seed, collection_id=spec.collection_id, original_name=spec.original_name,
            title=f"{spec.name}, {spec.year} (synthetic demo)", description=spec.description,
            country=spec.country, continent=spec.continent, gdf=gdf, access=spec.access, owner=spec.owner,
            groups=spec.groups, confidence=spec.confidence, observation_method=spec.observation_method,
            lc_of=lc_of, row_group_size=500, harmonization_pdf=spec.access == "Public",
        )
    info = {
        "generator": f"worldcereal-explorer {__version__} demo catalogue",
        "seed": seed,
        "synthetic": True,
        "description": "SYNTHETIC DEMO DATA: generated positions, crops and dates for demonstrating and testing "
                       "worldcereal-explorer. Not real reference data.",
        "legend": "legend.csv (demo legend authored by worldcereal-explorer, same format as the official one)",
        "users": {
            DEMO_USER_SUB: {"name": DEMO_USER_NAME, "groups": []},
            PARTNER_USER_SUB: {"name": "Partner User", "groups": [CONSORTIUM_GROUP]},
        },
        "collections": [spec.collection_id for spec in specs],
    }
    return _finish(root, info, DEMO_LEGEND_PATH)


#: Crops of the benchmark catalogue (a broad global mix).
_SYNTHETIC_CROPS = ((MAIZE, .25), (WINTER_WHEAT, .15), (RICE, .15), (SOYBEAN, .12), (SORGHUM, .06),
                    (SUNFLOWER, .05), (POTATOES, .05), (COTTON, .04), (SUGARCANE, .04), (PASTURES, .06),
                    (CROPLAND, .03))


def make_synthetic_catalog(
    dst_dir: str | os.PathLike,
    *,
    n_collections: int = 20,
    n_samples: int = 200_000,
    seed: int = 0,
    geometry: str = "point",
    row_group_size: int | None = None,
) -> Path:
    """Write a plain synthetic catalogue of any size, for benchmarks.

    Collections are public, one per distinct 2-degree region spread over the globe, years 2018-2023.

    Parameters
    ----------
    dst_dir
        Destination folder (new, empty or an earlier catalogue).
    n_collections
        Number of collections (1-150).
    n_samples
        Total samples over all collections (split evenly).
    seed
        Random seed; the same seed gives the same catalogue.
    geometry
        ``"point"`` or ``"polygon"``.
    row_group_size
        Rows per Parquet row group (default: the writer's default).

    Returns
    -------
    pathlib.Path
        ``dst_dir``.
    """
    if geometry not in ("point", "polygon"):
        raise BadParameterError(f"geometry={geometry!r} is not allowed; allowed: 'point', 'polygon'")
    if not 1 <= n_collections <= 150:
        raise BadParameterError(f"n_collections={n_collections!r} is not allowed; allowed: 1..150")
    if n_samples < n_collections:
        raise BadParameterError(
            f"n_samples={n_samples!r} is not allowed; it must be at least n_collections={n_collections}"
        )
    root = _prepare_root(dst_dir)
    lc_of = _land_cover_codes()
    rng = np.random.default_rng(seed)
    grid = [(lon, lat) for lat in range(-30, 51, 10) for lon in range(-120, 151, 15)]
    picks = rng.choice(len(grid), n_collections, replace=False)
    sizes = np.full(n_collections, n_samples // n_collections)
    sizes[: n_samples % n_collections] += 1
    ids = []
    for index, (pick, size) in enumerate(zip(picks, sizes, strict=True)):
        sub_rng = np.random.default_rng([seed, index])
        lon, lat = grid[int(pick)]
        year = 2018 + index % 6
        kind = "POINT" if geometry == "point" else "POLY"
        original = f"{year}_SYN_BENCH{index:03d}_{kind}_110"
        collection_id = original.lower()
        gdf = _samples(
            sub_rng, original_name=original, bbox=(lon - 1.0, lat - 1.0, lon + 1.0, lat + 1.0),
            geometry="Point" if geometry == "point" else "Polygon",
            season=(f"{year}-04-01", f"{year}-09-30"), n=int(size), crops=_SYNTHETIC_CROPS,
            irrigated_share=None, quality=(85, 80), field_size_m=(100, 300), clusters=4,
        )
        _write_collection(
            root, rng=sub_rng, seed=seed, collection_id=collection_id, original_name=original,
            title=f"Benchmark collection {index}, {year} (synthetic)", description="Benchmark data; synthetic.",
            country="SYN", continent="GO", gdf=gdf, access="Public", owner=None, groups=(),
            confidence=(80, 75, 0), observation_method="Unknown", lc_of=lc_of,
            row_group_size=row_group_size or 20_000, harmonization_pdf=False,
        )
        ids.append(collection_id)
    info = {
        "generator": f"worldcereal-explorer {__version__} synthetic benchmark catalogue",
        "seed": seed,
        "synthetic": True,
        "description": "SYNTHETIC BENCHMARK DATA. Not real reference data.",
        "collections": ids,
    }
    return _finish(root, info, DEMO_LEGEND_PATH)
