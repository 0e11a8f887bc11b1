"""Whole catalogues: the demo catalogue and the plain synthetic catalogues of the benchmarks.

A catalogue folder holds one folder per collection (:mod:`.collection`), ``legend.csv`` and, written
last, ``catalog.json``: its presence marks a complete catalogue, which may be regenerated in place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import BadParameterError
from .collection import CollectionInfo, write_collection
from .copies import derive_copy
from .documents import write_json
from .legend import DEMO_LEGEND_PATH, install_legend, land_cover_codes
from .samples import synthesize_samples
from .specs import SYNTHETIC_CROPS, demo_specs
from .users import demo_users

__all__ = ["make_demo_catalog", "make_synthetic_catalog"]


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
    install_legend(root, legend_path)
    write_json(root / "catalog.json", info)  # written last: its presence marks a complete catalogue
    return root


def make_demo_catalog(dst_dir: str | os.PathLike, seed: int = 2024) -> Path:
    """Write the synthetic demo catalogue into ``dst_dir`` (created if needed).

    Eighteen collections on six continents: EU LPIS-like polygons, African survey points, American
    fields, Asian rice, Australian paddocks; one private collection of the demo user
    (``sub="demo-user"``) and one restricted collection shared with the ``worldcereal-consortium`` group.
    Two Canadian prairie collections exercise training-set building: parcels observed all year round under
    CC-BY-NC, and a CC-BY-SA collection copying 40 % of them (same parcels, dates and crops; boundaries
    moved 6 m), so cross-collection duplicates exist. Collections are appended, never reordered, so the
    earlier ones' files do not change.
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
    lc_of = land_cover_codes()
    specs = demo_specs()
    made: dict[str, Any] = {}
    for index, spec in enumerate(specs):
        rng = np.random.default_rng([seed, index])
        if spec.copy_of:
            gdf, _ = derive_copy(rng, made[spec.copy_of], original_name=spec.original_name,
                                 share=spec.copy_share, shift_m=spec.shift_m)
        else:
            gdf = synthesize_samples(
                rng, original_name=spec.original_name, bbox=spec.bbox, geometry=spec.geometry, season=spec.season,
                n=spec.n_samples, crops=spec.crops, irrigated_share=spec.irrigated_share, quality=spec.quality,
                field_size_m=spec.field_size_m, clusters=spec.clusters,
            )
        made[spec.original_name] = gdf
        info = CollectionInfo(
            collection_id=spec.collection_id, original_name=spec.original_name,
            title=f"{spec.name}, {spec.year} (synthetic demo)", description=spec.description,
            country=spec.country, continent=spec.continent, access=spec.access, owner=spec.owner,
            groups=spec.groups, confidence=spec.confidence, observation_method=spec.observation_method,
            licence=spec.licence,
        )
        write_collection(root, info, gdf, rng=rng, seed=seed, lc_of=lc_of, row_group_size=500,
                         harmonization_pdf=spec.access == "Public")
    catalog_info = {
        "generator": f"worldcereal-explorer {__version__} demo catalogue",
        "seed": seed,
        "synthetic": True,
        "description": "SYNTHETIC DEMO DATA: generated positions, crops and dates for demonstrating and testing "
                       "worldcereal-explorer. Not real reference data.",
        "legend": "legend.csv (demo legend authored by worldcereal-explorer, same format as the official one)",
        "users": demo_users(),
        "collections": [spec.collection_id for spec in specs],
    }
    return _finish(root, catalog_info, DEMO_LEGEND_PATH)


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
    lc_of = land_cover_codes()
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
        gdf = synthesize_samples(
            sub_rng, original_name=original, bbox=(lon - 1.0, lat - 1.0, lon + 1.0, lat + 1.0),
            geometry="Point" if geometry == "point" else "Polygon",
            season=(f"{year}-04-01", f"{year}-09-30"), n=int(size), crops=SYNTHETIC_CROPS,
            irrigated_share=None, quality=(85, 80), field_size_m=(100, 300), clusters=4,
        )
        info = CollectionInfo(
            collection_id=collection_id, original_name=original,
            title=f"Benchmark collection {index}, {year} (synthetic)", description="Benchmark data; synthetic.",
            country="SYN", continent="GO", confidence=(80, 75, 0), observation_method="Unknown",
        )
        write_collection(root, info, gdf, rng=sub_rng, seed=seed, lc_of=lc_of,
                         row_group_size=row_group_size or 20_000, harmonization_pdf=False)
        ids.append(collection_id)
    catalog_info = {
        "generator": f"worldcereal-explorer {__version__} synthetic benchmark catalogue",
        "seed": seed,
        "synthetic": True,
        "description": "SYNTHETIC BENCHMARK DATA. Not real reference data.",
        "collections": ids,
    }
    return _finish(root, catalog_info, DEMO_LEGEND_PATH)
