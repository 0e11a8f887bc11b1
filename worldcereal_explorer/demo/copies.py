"""A collection that copies part of another: the same places and year, geometry shifted by a few metres.

Real reference data holds such copies (a national LPIS extract republished by a project, a survey reissued in
a benchmark); the demo catalogue has one so that de-duplication across collections has something to find.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .samples import h3_cells_of

__all__ = ["derive_copy"]


def derive_copy(
    rng: np.random.Generator,
    source: gpd.GeoDataFrame,
    *,
    original_name: str,
    share: float,
    shift_m: float,
    quality_delta: tuple[int, int] = (-4, 4),
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Copy a random ``share`` of ``source``'s samples, each moved ``shift_m`` metres in a random direction.

    Parameters
    ----------
    rng
        The copy's random stream.
    source
        The copied collection's samples (:func:`~worldcereal_explorer.demo.samples.synthesize_samples`).
    original_name
        The copy's original name; sample ids are ``{original_name}_{i}``.
    share
        Share of the source's samples copied (0-1).
    shift_m
        Distance each copied geometry is moved by, in metres.
    quality_delta
        Range of the integers added to each copied quality score (so either copy may be the better one).

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, numpy.ndarray)
        The copy (same columns and types as the source; ``valid_time``, ``ewoc_code`` and irrigation kept) and,
        for each of its rows, the position of the copied row in ``source``.
    """
    n = int(round(share * len(source)))
    picked = np.sort(rng.choice(len(source), n, replace=False))
    copy = source.iloc[picked].reset_index(drop=True).copy()
    angle = rng.uniform(0, 2 * np.pi, n)
    centres = shapely.centroid(copy.geometry.values)
    lat = shapely.get_y(centres)
    dx = shift_m * np.cos(angle) / (111_320.0 * np.cos(np.radians(lat)))
    dy = shift_m * np.sin(angle) / 110_574.0
    geoms = np.asarray(copy.geometry.values)
    offsets = np.repeat(np.stack([dx, dy], axis=1), shapely.get_num_coordinates(geoms), axis=0)
    moved = shapely.transform(geoms, lambda c: np.round(c + offsets, 7))
    low, high = quality_delta
    q_lc = np.clip(copy["quality_score_lc"].to_numpy() + rng.integers(low, high + 1, n), 0, 100)
    q_ct = copy["quality_score_ct"].to_numpy()
    q_ct = np.where(q_ct > 0, np.clip(q_ct + rng.integers(low, high + 1, n), 0, 100), 0)
    moved_centres = shapely.centroid(moved)
    copy["sample_id"] = [f"{original_name}_{i}" for i in range(n)]
    copy["quality_score_lc"] = q_lc.astype("int32")
    copy["quality_score_ct"] = q_ct.astype("int32")
    copy["extract"] = rng.choice(np.array([0, 1, 2, 99]), n, p=[0.6, 0.28, 0.1, 0.02]).astype("int32")
    copy["h3_l3_cell"] = h3_cells_of(shapely.get_y(moved_centres), shapely.get_x(moved_centres))
    frame = pd.DataFrame(copy.drop(columns=copy.geometry.name))
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(moved, crs=source.crs)), picked
