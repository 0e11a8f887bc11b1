"""The demo legends: the package's own legend files, in the official legends' formats.

``demo_legend.csv`` is authored by hand (a subset of the official WorldCereal LC/CT legend rows, one for
every code the demo collections use, and their ancestors). ``demo_irrigation_legend.csv`` is authored the
same way for the irrigation codes the demo samples carry (:data:`~.codes.IRRIGATED_CODES`, 100 rainfed, 0 no
information) and their parents, with the columns of the official ``WorldCereal_IRR_legend`` CSV. This module
locates them, reads the land cover class of each code, and copies both into a catalogue.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from ..files import atomic_path

__all__ = [
    "DEMO_IRRIGATION_LEGEND_PATH",
    "DEMO_LEGEND_PATH",
    "IRRIGATION_LEGEND_FILE",
    "LEGEND_FILE",
    "install_legend",
    "irrigation_codes",
    "land_cover_codes",
]

DEMO_LEGEND_PATH = Path(__file__).with_name("demo_legend.csv")
DEMO_IRRIGATION_LEGEND_PATH = Path(__file__).with_name("demo_irrigation_legend.csv")
#: Names in the catalogue folder (the server serves them at ``/legend.csv`` and ``/legend_irrigation.csv``).
LEGEND_FILE = "legend.csv"
IRRIGATION_LEGEND_FILE = "legend_irrigation.csv"


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


def irrigation_codes(legend_path: Path = DEMO_IRRIGATION_LEGEND_PATH) -> dict[int, str]:
    """Map each code of an irrigation legend file to its label.

    Parameters
    ----------
    legend_path
        An irrigation legend CSV in the official format (``;``-separated, ``irrigation_code`` and ``label``).

    Returns
    -------
    dict[int, str]
        ``{irrigation_code: label}``.
    """
    legend = pd.read_csv(legend_path, sep=";", encoding="utf-8-sig", dtype=str)
    return dict(zip(legend["irrigation_code"].astype("int64").tolist(), legend["label"].tolist(), strict=True))


def _copy(source: Path, target: Path) -> None:
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def install_legend(
    root: Path,
    legend_path: Path = DEMO_LEGEND_PATH,
    irrigation_legend_path: Path | None = DEMO_IRRIGATION_LEGEND_PATH,
) -> Path:
    """Copy the legends into a catalogue folder.

    ``legend_path`` becomes ``root / "legend.csv"`` (served at ``/legend.csv``) and
    ``irrigation_legend_path`` ``root / "legend_irrigation.csv"`` (served at ``/legend_irrigation.csv``);
    plain byte copies, so the same inputs give identical catalogues.

    Parameters
    ----------
    root
        The catalogue folder.
    legend_path
        The land-cover/crop-type legend CSV.
    irrigation_legend_path
        The irrigation legend CSV; ``None`` to install none.

    Returns
    -------
    pathlib.Path
        The copied land-cover/crop-type legend.
    """
    target = root / LEGEND_FILE
    _copy(legend_path, target)
    if irrigation_legend_path is not None:
        _copy(irrigation_legend_path, root / IRRIGATION_LEGEND_FILE)
    return target
