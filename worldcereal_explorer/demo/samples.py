"""Synthetic samples: clustered positions, field polygons, crop mixes, dates and quality scores.

Everything is drawn from one ``numpy`` generator per collection and vectorised, so big benchmark
catalogues are quick to make and the same seed always gives the same samples.
"""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from .codes import IRRIGATED_CODES, IRRIGATED_WEIGHTS

__all__ = ["h3_cells_of", "synthesize_samples"]


def h3_cells_of(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """H3 level-3 cells of positions (the ``h3_l3_cell`` column)."""
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


def synthesize_samples(
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
    """Draw ``n`` synthetic samples of one collection, with the columns of an RDM GeoParquet file.

    Parameters
    ----------
    rng
        The collection's random stream; the draws are made in a fixed order, so one seed gives one result.
    original_name
        The collection's original name; sample ids are ``{original_name}_{i}``.
    bbox
        ``(west, south, east, north)`` the samples fall in (polygons may reach slightly beyond it).
    geometry
        ``"Point"`` or ``"Polygon"`` (rotated rectangles of ``field_size_m``).
    season
        First and last ``valid_time`` (ISO dates); days are drawn uniformly in between.
    n
        Number of samples.
    crops
        ``((ewoc_code, weight), ...)``; weights need not sum to one.
    irrigated_share
        ``{ewoc_code: share irrigated}`` (other codes: 2 %), or ``None`` for no irrigation information.
    quality
        Mean ``quality_score_lc`` and ``quality_score_ct`` (``0``: no crop type quality).
    field_size_m
        Range of field widths in metres (polygons only).
    clusters
        Number of hubs the positions cluster around.

    Returns
    -------
    geopandas.GeoDataFrame
        ``sample_id, ewoc_code, valid_time, irrigation_status, extract, quality_score_lc,
        quality_score_ct, h3_l3_cell, sampling_ewoc_code, geometry`` in EPSG:4326.
    """
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
        irrigation = np.where(irrigated, rng.choice(IRRIGATED_CODES, n, p=IRRIGATED_WEIGHTS), 100)
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
        "h3_l3_cell": h3_cells_of(y, x),
        "sampling_ewoc_code": (ewoc - ewoc % 10).astype("int64"),
    })
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))
