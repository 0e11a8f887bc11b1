"""Helpers shared by the training-set steps: column checks, centroids, H3 cells, seeded priorities, step records.

Every step is a pure function of a GeoDataFrame: it returns a new frame and never changes its input. A step
records what it did as a plain JSON-ready dict appended to ``frame.attrs["training_steps"]``, which
:class:`~worldcereal_explorer.training.card.DatasetCard` reads back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import h3
import numpy as np
import pandas as pd
import shapely

from ..errors import BadParameterError

__all__ = ["STEPS_ATTR", "class_column", "centroids_lonlat", "h3_cells", "priority", "record_step",
           "require_columns", "steps_of"]

#: ``frame.attrs`` key holding the list of step records.
STEPS_ATTR = "training_steps"


def require_columns(samples: Any, columns: Iterable[str], what: str) -> None:
    """Raise :class:`BadParameterError` naming the columns ``what`` needs that ``samples`` lacks."""
    missing = [c for c in columns if c not in samples.columns]
    if missing:
        raise BadParameterError(
            f"{what} needs the column(s) {', '.join(missing)}; the samples have {', '.join(map(str, samples.columns))}"
        )


def class_column(samples: Any) -> str:
    """``downstream_class`` when the samples have it (after :func:`map_classes`), else ``ewoc_code``."""
    if "downstream_class" in samples.columns:
        return "downstream_class"
    require_columns(samples, ["ewoc_code"], "a per-class step")
    return "ewoc_code"


def centroids_lonlat(samples: Any) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of each sample's centroid (points: the point itself), vectorised."""
    geoms = np.asarray(samples.geometry.values)
    centres = shapely.centroid(geoms)
    return shapely.get_x(centres), shapely.get_y(centres)


def h3_cells(samples: Any, resolution: int) -> np.ndarray:
    """The H3 cell (v4 string id) at ``resolution`` of each sample's centroid.

    Parameters
    ----------
    samples
        GeoDataFrame in EPSG:4326.
    resolution
        H3 resolution, 0-15.

    Returns
    -------
    numpy.ndarray
        Object array of cell ids; ``""`` for empty or missing geometries.
    """
    resolution = check_h3_resolution(resolution, "h3_resolution")
    lon, lat = centroids_lonlat(samples)
    # Many samples share a position at coarse resolutions only rarely, but rounded duplicates are common in
    # copies of data sets; computing unique positions once keeps 1,000,000 samples around a second.
    codes, unique = pd.factorize(lat + 1j * lon)
    to_cell = h3.latlng_to_cell
    cells = np.array([to_cell(z.real, z.imag, resolution) if np.isfinite(z) else "" for z in unique.tolist()]
                     + [""], dtype=object)
    return cells[codes]  # code -1 (missing) picks the trailing ""


def check_h3_resolution(value: Any, name: str) -> int:
    """``value`` as an int in 0-15, else :class:`BadParameterError` naming ``name`` and the allowed range."""
    try:
        res = int(value)
        ok = res == value and 0 <= res <= 15
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise BadParameterError(f"{name}={value!r} is not allowed; allowed: an integer H3 resolution 0..15")
    return res


def priority(samples: Any, seed: int, salt: str = "") -> np.ndarray:
    """A pseudo-random uint64 per sample, fixed by ``seed`` and the sample's id (not by the row order).

    Uses ``sample_id`` when present (so the same samples in another order get the same priorities), else the
    row position.
    """
    key = f"{int(seed) & 0xFFFFFFFF:08x}{salt:>8.8}"[:16].ljust(16, "0")
    if "sample_id" in samples.columns:
        ids = samples["sample_id"].astype(str)
        if "ref_id" in samples.columns:
            ids = samples["ref_id"].astype(str) + "/" + ids
        return pd.util.hash_pandas_object(ids, index=False, hash_key=key).to_numpy()
    return pd.util.hash_array(np.arange(len(samples)), hash_key=key)


def record_step(frame: Any, step: dict[str, Any]) -> Any:
    """Append ``step`` (a JSON-ready dict with a ``"step"`` name) to ``frame.attrs`` and return ``frame``."""
    steps = [s for s in frame.attrs.get(STEPS_ATTR, []) if isinstance(s, dict)]
    frame.attrs[STEPS_ATTR] = [*steps, step]
    return frame


def steps_of(frame: Any) -> list[dict[str, Any]]:
    """The step records of ``frame`` (oldest first)."""
    return list(frame.attrs.get(STEPS_ATTR, []))


def year_of_ref_id(ref_id: str) -> int:
    """The year an id starts with (``2021_bel_...`` or ``2017bellpis...``), or ``0`` when it has none."""
    text = str(ref_id)
    return int(text[:4]) if len(text) >= 4 and text[:4].isdigit() else 0
