"""The demo legend: the package's own legend file, in the official legend's format.

``demo_legend.csv`` is authored by hand (a subset of the official WorldCereal LC/CT legend rows, one for
every code the demo collections use, and their ancestors); this module locates it, reads the land cover
class of each code from it, and copies it into a catalogue.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from ..files import atomic_path

__all__ = ["DEMO_LEGEND_PATH", "install_legend", "land_cover_codes"]

DEMO_LEGEND_PATH = Path(__file__).with_name("demo_legend.csv")


def land_cover_codes(legend_path: Path = DEMO_LEGEND_PATH) -> dict[int, int]:
    """Map each ewoc code of a legend file to its land cover code (``LC_code``).

    Parameters
    ----------
    legend_path
        A legend CSV in the official format (``;``-separated, dashed ewoc codes).

    Returns
    -------
    dict[int, int]
        ``{ewoc_code: LC_code}`` with 10-digit integer ewoc codes.
    """
    legend = pd.read_csv(legend_path, sep=";", encoding="utf-8-sig", dtype=str)
    codes = legend["ewoc_code"].str.replace("-", "", regex=False).astype("int64")
    return dict(zip(codes.tolist(), legend["LC_code"].astype(int).tolist(), strict=True))


def install_legend(root: Path, legend_path: Path = DEMO_LEGEND_PATH) -> Path:
    """Copy ``legend_path`` to ``root / "legend.csv"`` (the file the server serves at ``/legend.csv``).

    Returns
    -------
    pathlib.Path
        The copied legend.
    """
    target = root / "legend.csv"
    with atomic_path(target) as tmp:
        shutil.copyfile(legend_path, tmp)
    return target
