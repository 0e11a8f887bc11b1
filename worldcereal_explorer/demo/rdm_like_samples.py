"""Plain RDM-like samples for tests and benchmarks: the columns of an RDM harmonized GeoParquet file.

Unlike :func:`~worldcereal_explorer.demo.samples.synthesize_samples`, which draws a region's crop mix for
the demo catalogue, this draws every column uniformly, so a test can build files of any size and shape
(points, boxes, or the nine-vertex parcels of the RDM's own files, in submission batches) from one seed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .samples import h3_cells_of

__all__ = ["EWOC_CODES", "FRANCE", "GEOMETRIES", "rdm_like_samples"]

#: The crop codes drawn from (uniformly): cereals, a pulse, an oilseed, grassland, bare land, non-crop.
EWOC_CODES = (1101060000, 1101010002, 1106000020, 1201020040, 2000000000, 1000000000, 1101070000)
#: ``(west, south, east, north)`` of mainland France, where the RDM's large parcel collections lie.
FRANCE = (-4.5, 43.0, 7.5, 50.5)
#: What each sample's geometry can be.
GEOMETRIES = ("point", "box", "parcel")


def rdm_like_samples(
    n: int,
    *,
    seed: int = 0,
    name: str = "SAMPLE",
    bbox: tuple[float, float, float, float] = FRANCE,
    geometry: str = "parcel",
    batch: int = 1,
    jitter: tuple[float, float] = (0.0, 0.0),
    year: int = 2021,
    codes: tuple[int, ...] = EWOC_CODES,
) -> gpd.GeoDataFrame:
    """Draw ``n`` samples with the columns and value ranges of an RDM harmonized GeoParquet file.

    Parameters
    ----------
    n
        Number of samples (rows); ``0`` gives an empty frame with every column.
    seed
        Seed of the one random stream every column is drawn from: one seed always gives the same frame.
    name
        Sample ids are ``{name}_{i}``, ``i`` counting from 0 in row order.
    bbox
        ``(west, south, east, north)`` in degrees, where the submissions' centres are drawn uniformly.
    geometry
        ``"point"``; ``"box"``: squares 0.002 to 0.1 degrees across; ``"parcel"``: nine-vertex polygons
        about 100 to 300 m across, as in the RDM's own files.
    batch
        Rows per submission: consecutive rows share one centre (the rows stay in submission order, not
        spatially sorted, as the RDM writes them). ``1``: every row has its own centre.
    jitter
        Standard deviation ``(x, y)`` in degrees of each row's offset from its submission's centre.
    year
        ``valid_time`` is a day of this year.
    codes
        The ``ewoc_code`` values, drawn uniformly.

    Returns
    -------
    geopandas.GeoDataFrame
        ``sample_id, ewoc_code, valid_time, irrigation_status, quality_score_lc, quality_score_ct, extract,
        h3_l3_cell, geometry`` in EPSG:4326; ``h3_l3_cell`` is the level-3 cell of each row's position.

    Raises
    ------
    ValueError
        If ``n`` is negative, ``batch`` is below 1, ``geometry`` is not one of :data:`GEOMETRIES` or
        ``bbox`` is not ``west < east`` and ``south < north``.
    """
    if n < 0:
        raise ValueError(f"n={n!r}: the number of samples must be 0 or more")
    if batch < 1:
        raise ValueError(f"batch={batch!r}: a submission holds at least 1 sample")
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry={geometry!r}; use one of {GEOMETRIES}")
    west, south, east, north = bbox
    if not (west < east and south < north):
        raise ValueError(f"bbox={bbox!r}: it must be (west, south, east, north) with west < east, south < north")
    rng = np.random.default_rng(seed)
    batches = -(-n // batch)
    x = rng.uniform(west, east, batches).repeat(batch)[:n]
    y = rng.uniform(south, north, batches).repeat(batch)[:n]
    if jitter != (0.0, 0.0):
        x = x + rng.normal(0, jitter[0], n)
        y = y + rng.normal(0, jitter[1], n)
    if geometry == "point":
        geoms = shapely.points(x, y)
    elif geometry == "box":
        half = rng.uniform(0.001, 0.05, n)
        geoms = shapely.box(x - half, y - half, x + half, y + half)
    else:
        geoms = _parcels(rng, x, y)
    days = rng.integers(0, 365, n)
    return gpd.GeoDataFrame(
        {
            "sample_id": np.array([f"{name}_{i}" for i in range(n)], dtype=object),
            "ewoc_code": rng.choice(np.array(codes, dtype=np.int64), n),
            "valid_time": pd.Timestamp(f"{year}-01-01") + pd.to_timedelta(days, unit="D"),
            "irrigation_status": rng.choice(np.array([0, 100, 200], dtype=np.int64), n),
            "quality_score_lc": rng.integers(0, 101, n).astype(np.int64),
            "quality_score_ct": rng.integers(0, 101, n).astype(np.int64),
            "extract": rng.choice(np.array([0, 0, 0, 1, 2], dtype=np.int64), n),
            "h3_l3_cell": h3_cells_of(y, x),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def _parcels(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Nine-vertex polygons around each centre, irregular (each vertex's radius varies by 20 %)."""
    angles = np.linspace(0, 2 * np.pi, 9)[:-1]
    radius = rng.uniform(0.0008, 0.0015, (len(x), 1)) * rng.uniform(0.8, 1.2, (len(x), 8))
    xs = x[:, None] + radius * np.cos(angles)
    ys = y[:, None] + radius * np.sin(angles) * 0.7  # about as tall as wide in metres at 45-50 degrees north
    rings = np.stack([np.concatenate([xs, xs[:, :1]], axis=1), np.concatenate([ys, ys[:, :1]], axis=1)], axis=2)
    return shapely.polygons(rings)
