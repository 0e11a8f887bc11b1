"""De-duplication across collections: the same place in the same year, described by two collections.

Two samples of **different** collections with ``valid_time`` in the same year are duplicates when

* point and point: their geodesic distance (WGS84 ellipsoid) is at most ``tolerance_m``;
* polygon and polygon: their overlap is more than ``min_overlap`` of the smaller one's area;
* point and polygon: the point lies inside the polygon or within ``tolerance_m`` of it.

Candidates come from one shapely ``STRtree`` query in degrees with a per-sample search radius a little
larger than ``tolerance_m`` at the sample's latitude; each candidate pair is then measured exactly: point
distances on the ellipsoid (``pyproj.Geod``), so the tolerance holds to the millimetre anywhere (no projection
zone edges); overlap shares in degrees, which equal the metric shares for fields (a map that is locally
affine keeps area ratios). Longitudes are not wrapped: samples on both sides of the antimeridian are never
paired.

Within a group of duplicates the sample kept is the best by: higher ``quality_score_ct``, then higher
``quality_score_lc``, then the newer collection (the year its ``ref_id`` starts with, then the larger
``ref_id``), then the smaller ``sample_id``. Groups are resolved greedily in that order, so every
``duplicate_of`` names a sample that is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from ..errors import BadParameterError
from ._common import record_step, require_columns, year_of_ref_id

__all__ = ["DedupReport", "deduplicate", "duplicate_pairs"]

_GEOD = Geod(ellps="WGS84")
_M_PER_DEG_LAT = 110_574.0  # the shortest degree of latitude (at the equator), so radii err on the large side


@dataclass
class DedupReport:
    """What :func:`deduplicate` found.

    Attributes
    ----------
    tolerance_m, min_overlap
        The parameters used.
    n_samples
        Samples examined.
    n_duplicates
        Samples that duplicate a kept sample of another collection.
    pairs
        ``kept_ref_id, duplicate_ref_id, count``: duplicates per collection pair.
    keep_duplicates
        Whether the duplicates stayed in the frame (flagged in ``duplicate_of``).
    """

    tolerance_m: float
    min_overlap: float
    n_samples: int
    n_duplicates: int
    keep_duplicates: bool
    pairs: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the record in ``attrs`` and in the dataset card)."""
        return {
            "step": "deduplicate",
            "tolerance_m": self.tolerance_m,
            "min_overlap": self.min_overlap,
            "n_samples": self.n_samples,
            "n_duplicates": self.n_duplicates,
            "keep_duplicates": self.keep_duplicates,
            "pairs": [{"kept_ref_id": str(k), "duplicate_ref_id": str(d), "count": int(c)}
                      for k, d, c in self.pairs[["kept_ref_id", "duplicate_ref_id", "count"]].itertuples(index=False)],
        }


def _years(samples: Any) -> np.ndarray:
    if "valid_time" not in samples.columns:
        return np.zeros(len(samples), dtype=np.int64)
    years = pd.to_datetime(samples["valid_time"], errors="coerce").dt.year
    return years.fillna(-1).astype("int64").to_numpy()


def duplicate_pairs(samples: Any, *, tolerance_m: float = 10.0, min_overlap: float = 0.5) -> np.ndarray:
    """Positional index pairs ``(i, j)``, ``i < j``, of duplicate samples (see the module text for the rules).

    Parameters
    ----------
    samples
        GeoDataFrame in EPSG:4326 with ``ref_id`` (and ``valid_time`` for the same-year rule).
    tolerance_m
        Largest distance in metres between duplicate points (and between a point and a polygon).
    min_overlap
        Overlap share of the smaller polygon above which two polygons are duplicates (0-1).

    Returns
    -------
    numpy.ndarray
        ``(k, 2)`` int64 array.
    """
    require_columns(samples, ["ref_id"], "deduplicate")
    geoms = np.asarray(samples.geometry.values)
    n = len(geoms)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    points = shapely.get_type_id(geoms) == 0
    centres = shapely.centroid(geoms)
    lat = np.nan_to_num(shapely.get_y(centres))
    coslat = np.cos(np.radians(np.minimum(np.abs(lat) + 0.01, 89.9)))
    radius = tolerance_m / (_M_PER_DEG_LAT * coslat) * 1.02  # degrees; only points/mixed pairs need a radius
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=np.where(points, radius, 0.0))
    # polygons query with distance 0 (= intersects); a point near a polygon is found by the point's query
    # a point-polygon pair may be found from one side only: order each pair, then drop repeats
    left, right = np.minimum(left, right), np.maximum(left, right)
    keep = left < right
    if keep.any():
        packed = np.unique(left[keep].astype(np.int64) * n + right[keep])
        left, right = packed // n, packed % n
    else:
        left, right = left[keep], right[keep]
    refs = pd.factorize(samples["ref_id"].astype(str))[0]
    years = _years(samples)
    keep = (refs[left] != refs[right]) & (years[left] == years[right])
    left, right = left[keep], right[keep]
    if not len(left):
        return np.empty((0, 2), dtype=np.int64)
    p_left, p_right = points[left], points[right]
    ok = np.zeros(len(left), dtype=bool)
    both = p_left & p_right
    if both.any():
        a, b = left[both], right[both]
        _, _, dist = _GEOD.inv(shapely.get_x(geoms[a]), shapely.get_y(geoms[a]),
                               shapely.get_x(geoms[b]), shapely.get_y(geoms[b]))
        ok[both] = dist <= tolerance_m
    polys = ~p_left & ~p_right
    if polys.any():
        a, b = geoms[left[polys]], geoms[right[polys]]
        inter = shapely.area(shapely.intersection(a, b))
        smaller = np.minimum(shapely.area(a), shapely.area(b))
        ok[polys] = inter > min_overlap * np.where(smaller > 0, smaller, np.inf)
    mixed = p_left ^ p_right
    if mixed.any():
        pt = np.where(p_left[mixed], left[mixed], right[mixed])
        poly = np.where(p_left[mixed], right[mixed], left[mixed])
        inside = shapely.intersects(geoms[poly], geoms[pt])
        line = shapely.shortest_line(geoms[pt], geoms[poly])
        start, end = shapely.get_point(line, 0), shapely.get_point(line, 1)
        _, _, dist = _GEOD.inv(shapely.get_x(start), shapely.get_y(start), shapely.get_x(end), shapely.get_y(end))
        ok[mixed] = inside | (dist <= tolerance_m)
    return np.stack([left[ok], right[ok]], axis=1).astype(np.int64)


def _keep_rank(samples: Any) -> np.ndarray:
    """0 = best sample to keep; the rule of the module text."""
    n = len(samples)

    def score(column: str) -> np.ndarray:
        if column not in samples.columns:
            return np.zeros(n)
        return pd.to_numeric(samples[column], errors="coerce").fillna(-1).to_numpy(dtype=float)

    refs = samples["ref_id"].astype(str)
    ref_codes, ref_uniques = pd.factorize(refs, sort=True)  # larger code = larger ref_id
    ref_year = np.array([year_of_ref_id(r) for r in ref_uniques], dtype=np.int64)[ref_codes]
    ids = samples["sample_id"].astype(str) if "sample_id" in samples.columns else pd.Series(np.arange(n))
    id_codes = pd.factorize(ids, sort=True)[0]
    order = np.lexsort((id_codes, -ref_codes, -ref_year, -score("quality_score_lc"), -score("quality_score_ct")))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank


def _resolve(pairs: np.ndarray, rank: np.ndarray) -> dict[int, int]:
    """Greedy resolution: visit samples best first; a kept sample marks its undecided neighbours duplicates."""
    if not len(pairs):
        return {}
    nodes = np.unique(pairs)
    nodes = nodes[np.argsort(rank[nodes], kind="stable")]
    neighbours: dict[int, list[int]] = {}
    for a, b in pairs.tolist():
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    duplicate_of: dict[int, int] = {}
    for node in nodes.tolist():
        if node in duplicate_of:
            continue
        for other in neighbours[node]:
            if other not in duplicate_of and rank[other] > rank[node]:
                duplicate_of[other] = node
    return duplicate_of


def _check(tolerance_m: Any, min_overlap: Any) -> tuple[float, float]:
    try:
        tol = float(tolerance_m)
    except (TypeError, ValueError):
        tol = float("nan")
    if not (np.isfinite(tol) and tol >= 0):
        raise BadParameterError(f"tolerance_m={tolerance_m!r} is not allowed; allowed: a distance in metres >= 0")
    try:
        share = float(min_overlap)
    except (TypeError, ValueError):
        share = float("nan")
    if not (0 <= share < 1):
        raise BadParameterError(f"min_overlap={min_overlap!r} is not allowed; allowed: a share 0 <= x < 1")
    return tol, share


def deduplicate(
    samples: Any,
    tolerance_m: float = 10.0,
    *,
    min_overlap: float = 0.5,
    keep_duplicates: bool = False,
) -> tuple[Any, DedupReport]:
    """Find samples of different collections describing the same place in the same year; drop or flag them.

    Parameters
    ----------
    samples
        GeoDataFrame in EPSG:4326 with ``ref_id``, ``valid_time``, the quality scores and ``sample_id``.
    tolerance_m
        Distance in metres within which two points (or a point and a polygon) are the same place.
    min_overlap
        Share of the smaller polygon's area two polygons must overlap by (more than) to be the same place.
    keep_duplicates
        ``False``: drop the duplicates. ``True``: keep every sample and add ``duplicate_of`` (the ``sample_id`` of
        the kept sample a row duplicates, missing for kept samples).

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, DedupReport)
        The frame and the report (also recorded in the frame's ``attrs``).
    """
    tol, share = _check(tolerance_m, min_overlap)
    pairs = duplicate_pairs(samples, tolerance_m=tol, min_overlap=share)
    rank = _keep_rank(samples) if len(pairs) else np.zeros(len(samples), dtype=np.int64)
    resolved = _resolve(pairs, rank)
    dup_pos = np.fromiter(resolved.keys(), dtype=np.int64, count=len(resolved))
    kept_pos = np.fromiter(resolved.values(), dtype=np.int64, count=len(resolved))
    refs = samples["ref_id"].astype(str).to_numpy()
    pair_table = (pd.DataFrame({"kept_ref_id": refs[kept_pos], "duplicate_ref_id": refs[dup_pos]})
                  .groupby(["kept_ref_id", "duplicate_ref_id"]).size().rename("count").reset_index()
                  .sort_values(["count", "kept_ref_id", "duplicate_ref_id"], ascending=[False, True, True])
                  .reset_index(drop=True))
    report = DedupReport(tolerance_m=tol, min_overlap=share, n_samples=len(samples), n_duplicates=len(resolved),
                         keep_duplicates=bool(keep_duplicates), pairs=pair_table)
    if keep_duplicates:
        out = samples.copy()
        ids = (samples["sample_id"].astype(str).to_numpy() if "sample_id" in samples.columns
               else np.arange(len(samples)).astype(str))
        flag = np.full(len(samples), None, dtype=object)
        flag[dup_pos] = ids[kept_pos]
        out["duplicate_of"] = pd.array(flag, dtype="string")
    else:
        mask = np.ones(len(samples), dtype=bool)
        mask[dup_pos] = False
        out = samples.loc[mask].copy()
    return record_step(out, report.to_dict()), report
