"""Spatial train/validation/test split: whole blocks go to one split, greedily balanced per class.

Blocks are the H3 cells (``block_h3_res``) of the samples' centroids, or polygons the caller gives (each
sample goes to the first block containing its centroid; samples outside every block fall back to their H3
cell). Blocks are visited largest first (ties in a seeded pseudo-random order) and each goes to the split
whose per-class shortfall it reduces most, every class weighted by the inverse of its size so rare classes
count as much as common ones; a block overshooting a split's targets is penalised. No block is ever divided, so
the achieved shares can only be as close to the asked ones as the block sizes allow: the report says how close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..errors import BadParameterError
from ._common import check_h3_resolution, class_column, h3_cells, record_step

__all__ = ["SPLITS", "SplitReport", "parse_shares", "spatial_split", "split_report"]

#: Split names, in the order of ``shares``.
SPLITS = ("train", "validation", "test")


def parse_shares(shares: Any) -> tuple[float, float, float]:
    """Three non-negative shares summing to 1, from a sequence or a ``"0.7,0.15,0.15"`` string.

    Raises
    ------
    BadParameterError
        Naming the value and the allowed form.
    """
    values: list[float] | None
    try:
        parts = shares.split(",") if isinstance(shares, str) else list(shares)
        values = [float(p) for p in parts]
    except (TypeError, ValueError):
        values = None
    if (values is None or len(values) != 3 or not all(np.isfinite(v) and v >= 0 for v in values)
            or abs(sum(values) - 1.0) > 1e-6 or values[0] == 0):
        raise BadParameterError(
            f"split shares {shares!r} are not allowed; allowed: three numbers TRAIN,VALIDATION,TEST >= 0 summing "
            "to 1 with TRAIN > 0, e.g. 0.7,0.15,0.15"
        )
    return values[0], values[1], values[2]


@dataclass
class SplitReport:
    """Achieved shares of a :func:`spatial_split`.

    Attributes
    ----------
    asked
        The shares asked for, per split.
    table
        Per class (index) and ``"all"``: counts per split and achieved shares (``<split>_share`` columns).
    blocks
        Number of blocks per split.
    """

    asked: dict[str, float]
    table: pd.DataFrame
    blocks: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "asked": self.asked,
            "blocks": self.blocks,
            "classes": {str(k): {str(c): (int(v) if not str(c).endswith("_share") else round(float(v), 6))
                                 for c, v in row.items()} for k, row in self.table.iterrows()},
        }


def split_report(samples: Any, shares: Sequence[float] = (0.7, 0.15, 0.15)) -> SplitReport:
    """Counts and achieved shares per class and split of a frame with a ``split`` column."""
    column = class_column(samples)
    frame = pd.DataFrame({"cls": samples[column].astype(str).to_numpy(), "split": samples["split"].to_numpy()})
    table = frame.groupby(["cls", "split"]).size().unstack("split", fill_value=0)
    table = table.reindex(columns=list(SPLITS), fill_value=0)
    table.loc["all"] = table.sum()
    total = table[list(SPLITS)].sum(axis=1).replace(0, 1)
    for name in SPLITS:
        table[f"{name}_share"] = table[name] / total
    blocks = samples.attrs.get("_split_blocks", {})
    return SplitReport(asked=dict(zip(SPLITS, map(float, shares), strict=True)), table=table, blocks=blocks)


def _block_ids(samples: Any, block_h3_res: int, blocks: Any) -> np.ndarray:
    cells = h3_cells(samples, block_h3_res)
    if blocks is None:
        return cells
    polys = blocks.to_crs(samples.crs) if blocks.crs is not None and samples.crs is not None else blocks
    geoms = np.asarray(polys.geometry.values)
    centres = shapely.centroid(np.asarray(samples.geometry.values))
    tree = shapely.STRtree(geoms)
    sample_at, block_at = tree.query(centres, predicate="within")
    first = np.full(len(samples), -1, dtype=np.int64)
    order = np.lexsort((block_at, sample_at))[::-1]  # later rows overwrite: the smallest block index wins
    first[sample_at[order]] = block_at[order]
    labels = np.array([f"block:{i}" for i in range(len(geoms))] + [""], dtype=object)
    return np.where(first >= 0, labels[first], cells)


def spatial_split(
    samples: Any,
    shares: Sequence[float] | str = (0.7, 0.15, 0.15),
    *,
    block_h3_res: int = 5,
    blocks: Any = None,
    seed: int = 0,
) -> Any:
    """Add ``split`` (``train`` / ``validation`` / ``test``), assigning whole spatial blocks.

    Parameters
    ----------
    samples
        GeoDataFrame in EPSG:4326; classes are ``downstream_class`` if present, else ``ewoc_code``.
    shares
        Target shares of train, validation and test (>= 0, summing to 1, train > 0).
    block_h3_res
        H3 resolution of the blocks (0-15; 5 ≈ 250 km² cells) when ``blocks`` is not given.
    blocks
        GeoDataFrame of block polygons (any CRS); samples outside all of them use their H3 cell.
    seed
        Seed of the order among equally large blocks.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``split`` and ``split_block`` (the block id); the achieved shares (:class:`SplitReport`) are
        recorded in ``attrs`` (:func:`split_report` recomputes them).
    """
    target_shares = np.array(parse_shares(shares))
    res = check_h3_resolution(block_h3_res, "block_h3_res")
    column = class_column(samples)
    block = _block_ids(samples, res, blocks)
    block_codes, block_names = pd.factorize(pd.Series(block, dtype=object))
    cls_codes, cls_names = pd.factorize(samples[column].astype(str))
    n_blocks, n_cls = len(block_names), len(cls_names)
    counts = np.zeros((n_blocks, n_cls), dtype=np.int64)
    np.add.at(counts, (block_codes, cls_codes), 1)
    totals = counts.sum(axis=0)
    weight = 1.0 / np.maximum(totals, 1)
    target = target_shares[:, None] * totals[None, :]  # splits × classes
    current = np.zeros_like(target)
    size = counts.sum(axis=1)
    rand = pd.util.hash_array(np.asarray(block_names, dtype=object), hash_key=f"{int(seed) & 0xFFFFFFFF:016x}")
    order = np.lexsort((rand, -size))
    assignment = np.zeros(n_blocks, dtype=np.int64)
    active = target_shares > 0
    for b in order.tolist():
        row = counts[b]
        need = np.maximum(target - current, 0.0)
        useful = (np.minimum(row[None, :], need) * weight).sum(axis=1)
        over = (np.maximum(row[None, :] - need, 0.0) * weight).sum(axis=1)
        score = useful - over
        # ties (e.g. every split full): the split furthest below its overall target
        shortfall = (target.sum(axis=1) - current.sum(axis=1)) / np.maximum(target.sum(axis=1), 1e-9)
        score = np.where(active, score + 1e-9 * shortfall, -np.inf)
        s = int(np.argmax(score))
        assignment[b] = s
        current[s] += row
    out = samples.copy()
    out["split"] = pd.array(np.array(SPLITS, dtype=object)[assignment[block_codes]], dtype="string")
    out["split_block"] = pd.array(np.asarray(block_names, dtype=object)[block_codes], dtype="string")
    per_split_blocks = {name: int((assignment == i).sum()) for i, name in enumerate(SPLITS)}
    out.attrs["_split_blocks"] = per_split_blocks
    report = split_report(out, tuple(target_shares))
    return record_step(out, {
        "step": "spatial_split",
        "shares": dict(zip(SPLITS, map(float, target_shares), strict=True)),
        "block_h3_res": None if blocks is not None else res,
        "user_blocks": blocks is not None,
        "seed": int(seed),
        "n_blocks": int(n_blocks),
        **{k: v for k, v in report.to_dict().items() if k != "asked"},
    })

