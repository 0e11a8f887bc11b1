"""Ewoc code notation: the legend's dashed form and the integer form used everywhere else.

The legend CSV writes a code with dashes (``11-01-06-000-0``); the API and sample files use the same code as
a 10-digit integer (``1101060000``). Codes are hierarchical in digit groups of 2-2-2-3-1.
"""

from __future__ import annotations

from typing import Any

from ..errors import BadEwocCodeError
from ..extents import validate_ewoc_code

__all__ = ["dashed_to_ewoc_code", "ewoc_code_to_dashed", "parent_code"]

#: The code's digit groups (2-2-2-3-1), as (start, end) slices of the 10-digit string.
_GROUPS = [(0, 2), (2, 4), (4, 6), (6, 9), (9, 10)]


def dashed_to_ewoc_code(dashed: str) -> int:
    """Convert the legend's dashed notation to the integer code.

    Parameters
    ----------
    dashed : str
        A code such as ``"11-01-06-000-0"``.

    Returns
    -------
    int
        ``1101060000`` for the example above (``"00-00-00-000-0"`` gives ``0``).

    Raises
    ------
    BadEwocCodeError
        When the text is not 5 dash-separated digit groups of lengths 2-2-2-3-1.
    """
    parts = str(dashed).strip().split("-")
    if [len(p) for p in parts] != [2, 2, 2, 3, 1] or not all(p.isdigit() for p in parts):
        raise BadEwocCodeError(f"legend code {dashed!r} is not of the dashed form NN-NN-NN-NNN-N")
    return int("".join(parts))


def ewoc_code_to_dashed(code: Any) -> str:
    """Convert an integer code to the legend's dashed notation.

    Parameters
    ----------
    code : int or str
        An ewoc code (``1101060000``; ``0`` for unknown).

    Returns
    -------
    str
        ``"11-01-06-000-0"`` for the example above (``0`` gives ``"00-00-00-000-0"``).

    Raises
    ------
    BadEwocCodeError
        When ``code`` is not 0 or a 10-digit code.
    """
    digits = f"{validate_ewoc_code(code):010d}"
    return "-".join(digits[a:b] for a, b in _GROUPS)


def parent_code(code: int) -> int | None:
    """The code one level up the hierarchy.

    Parameters
    ----------
    code : int
        A 10-digit ewoc code.

    Returns
    -------
    int or None
        ``code`` with its rightmost non-zero digit group zeroed; ``None`` at the top of the hierarchy.
    """
    digits = f"{code:010d}"
    for a, b in reversed(_GROUPS):
        if int(digits[a:b]):
            parent = int(digits[:a] + "0" * (10 - a))
            return parent if parent else None
    return None
