"""Parsed legends: the land-cover/crop-type :class:`Legend` (with its hierarchy) and the :class:`IrrigationLegend`.

Both are built from ``;``-separated CSV text (UTF-8, with or without a BOM, CRLF or LF) as WorldCereal
publishes them; an empty cell means "no value".
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import BadEwocCodeError, BadParameterError, LegendError
from ..extents import normalize_ewoc_codes, validate_ewoc_code
from .codes import dashed_to_ewoc_code, parent_code

__all__ = [
    "IrrigationLegend",
    "LABEL_TYPES",
    "LEVEL_COLUMNS",
    "Legend",
    "LegendNode",
    "TRANSLATE_COLUMNS",
    "parse_irrigation_csv",
    "parse_landcover_csv",
]

LEVEL_COLUMNS = ["level_1", "level_2", "level_3", "level_4", "level_5"]
#: Columns every land-cover legend frame has (added empty when the file lacks them).
TRANSLATE_COLUMNS = ["label_full", *LEVEL_COLUMNS, "definition"]
#: ``label_type`` values of :meth:`Legend.label` and their legend column.
LABEL_TYPES = {"full": "label_full", "sampling": "sampling_label"}


@dataclass(eq=False)
class LegendNode:
    """One class of the legend hierarchy.

    Attributes
    ----------
    code : int
        10-digit ewoc code (``0`` for the synthetic root).
    label : str
        ``label_full`` of the class.
    level : int
        Depth in the tree: 0 for the root, 1 for level_1 classes, ...
    children : list of LegendNode
        Sub-classes, sorted by code.
    parent : LegendNode or None
        The class one level up.
    group_name : str
        The hierarchy's name for this node's level (``level_<n>`` column), e.g. ``cereals`` for
        1101000000 whose ``label_full`` is ``unspecified_cereal``; handy as a tree heading.
    """

    code: int
    label: str
    level: int = 0
    group_name: str = ""
    children: list[LegendNode] = field(default_factory=list)
    parent: LegendNode | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[LegendNode]:
        """Depth-first iteration over this node and all its descendants."""
        yield self
        for child in self.children:
            yield from child

    def descendant_codes(self, include_self: bool = True) -> list[int]:
        """Codes of this class and everything below it (the root itself, code 0, is left out)."""
        return [n.code for n in self if (include_self or n is not self) and not (n.parent is None and n.code == 0)]

    def find(self, code: int) -> LegendNode | None:
        """The node for ``code`` in this subtree, or ``None``."""
        return next((n for n in self if n.code == code), None)

    def path(self) -> list[LegendNode]:
        """Nodes from the top level down to this one (the root excluded)."""
        out = []
        node: LegendNode | None = self
        while node is not None and node.parent is not None:
            out.append(node)
            node = node.parent
        return out[::-1]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class _CodeTable:
    """What both legend tables share: a frame indexed by integer code, where it came from, and membership."""

    frame: pd.DataFrame
    source: str

    @staticmethod
    def _code(code: Any) -> int:
        """The table's integer code for ``code``; raises the table's error for a value that is no code."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.frame)} classes from {self.source})"

    def __len__(self) -> int:
        return len(self.frame)

    def __contains__(self, code: Any) -> bool:
        try:
            return self._code(code) in self.frame.index
        except (BadEwocCodeError, BadParameterError):
            return False


class Legend(_CodeTable):
    """A parsed land-cover/crop-type legend: a DataFrame indexed by integer ``ewoc_code``, lookups, hierarchy.

    Parameters
    ----------
    frame : pandas.DataFrame
        The legend table with an ``ewoc_code`` column of dashed codes (as in the CSV) or an integer index.
    source : str
        Where it came from (path or URL), for messages.

    Attributes
    ----------
    frame : pandas.DataFrame
        Every column of the file (``label_full``, ``level_1`` .. ``level_5``, ``definition``, ``LC_code``,
        ``LC_label``, ``sampling_label``, ...) as text, empty cells missing; index ``ewoc_code`` (int64).
    source : str
        Where it came from.
    """

    def __init__(self, frame: pd.DataFrame, source: str = "<memory>"):
        self.source = source
        self.frame = _normalise_frame(frame, source)
        self._tree: LegendNode | None = None

    @staticmethod
    def _code(code: Any) -> int:
        return validate_ewoc_code(code)

    @property
    def has_sampling_labels(self) -> bool:
        """Whether the legend has a ``sampling_label`` column."""
        return "sampling_label" in self.frame.columns

    @staticmethod
    def unknown_label(code: int) -> str:
        """The readable label used for codes the legend does not have."""
        return f"unknown ({code})"

    def _label_column(self, label_type: str) -> str:
        column = LABEL_TYPES.get(label_type) if isinstance(label_type, str) else None
        if column is None:
            raise BadParameterError(
                f"label_type {label_type!r} is not known; allowed: {', '.join(map(repr, LABEL_TYPES))}"
            )
        if column not in self.frame.columns:
            raise LegendError(f"legend {self.source} has no {column!r} column; columns: {list(self.frame.columns)}")
        return column

    def label(self, code: Any, label_type: str = "full", unknown: str | None = None) -> str:
        """The label of one code.

        Parameters
        ----------
        code : int or str
            An ewoc code (integer, digit string or dashed).
        label_type : {"full", "sampling"}
            ``label_full`` or ``sampling_label``.
        unknown : str, optional
            Label for codes the legend lacks (or whose label cell is empty); default
            ``'unknown (<code>)'`` (the reference client uses ``"Unknown"``).

        Returns
        -------
        str

        Raises
        ------
        BadEwocCodeError
            When ``code`` is not an ewoc code.
        BadParameterError
            When ``label_type`` is not ``"full"`` or ``"sampling"``.
        LegendError
            When the legend has no ``sampling_label`` column and sampling labels are asked for.
        """
        column = self._label_column(label_type)
        value = validate_ewoc_code(code)
        if value in self.frame.index:
            label = _text(self.frame.at[value, column])
            if label is not None:
                return label
        return self.unknown_label(value) if unknown is None else unknown

    def labels(self, codes: Iterable[Any], label_type: str = "full", unknown: str | None = None) -> list[str]:
        """Labels for many codes, in order (see :meth:`label`)."""
        self._label_column(label_type)
        return [self.label(c, label_type, unknown) for c in codes]

    def translate(self, codes: Iterable[Any]) -> pd.DataFrame:
        """Legend rows for ``codes`` (order kept, duplicates dropped).

        Parameters
        ----------
        codes : iterable of int or str
            Ewoc codes.

        Returns
        -------
        pandas.DataFrame
            Index ``ewoc_code``; columns ``label_full``, ``level_1`` .. ``level_5``, ``sampling_label`` (when
            the legend has one) and ``definition``, the reference client's columns. Unknown codes get a row
            with ``label_full = 'unknown (<code>)'`` and nothing else.

        Raises
        ------
        BadEwocCodeError
            When a code is not an ewoc code.
        """
        values = normalize_ewoc_codes(list(codes)) or []
        columns = ["label_full", *LEVEL_COLUMNS, *(["sampling_label"] if self.has_sampling_labels else []),
                   "definition"]
        table = self.frame.reindex(values)[columns].copy()
        missing = table["label_full"].isna()
        table.loc[missing, "label_full"] = [self.unknown_label(c) for c in table.index[missing]]
        table.index.name = "ewoc_code"
        return table

    def _level_name(self, code: int, level: int) -> str | None:
        if code not in self.frame.index or not 1 <= level <= 5:
            return None
        return _text(self.frame.at[code, f"level_{level}"])

    def tree(self) -> LegendNode:
        """The hierarchy as a tree of :class:`LegendNode` under a synthetic root (code 0).

        A class whose direct parent code is not in the legend hangs under its nearest ancestor that is.
        """
        if self._tree is None:
            root = LegendNode(code=0, label="all classes", level=0)
            nodes: dict[int, LegendNode] = {}
            for code in sorted(c for c in self.frame.index if c != 0):
                nodes[code] = LegendNode(code=code, label=self.label(code))
            for code, node in nodes.items():
                parent = parent_code(code)
                while parent is not None and parent not in nodes:
                    parent = parent_code(parent)
                owner = nodes[parent] if parent is not None else root
                node.parent = owner
                owner.children.append(node)
            for node in root:
                node.level = 0 if node is root else node.parent.level + 1  # type: ignore[union-attr]
                node.group_name = self._level_name(node.code, node.level) or node.label
            self._tree = root
        return self._tree


def _normalise_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    frame = frame.copy()
    if "ewoc_code" in frame.columns:
        raw = frame.pop("ewoc_code").astype(str).str.strip()
        try:
            frame.index = pd.Index([dashed_to_ewoc_code(c) if "-" in c else validate_ewoc_code(c) for c in raw])
        except BadEwocCodeError as exc:
            raise LegendError(f"legend {source}: {exc}") from None
    frame.index = frame.index.astype("int64")
    frame.index.name = "ewoc_code"
    if "label_full" not in frame.columns:
        raise LegendError(f"legend {source} has no 'label_full' column; columns: {list(frame.columns)}")
    for column in TRANSLATE_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.NA
    return frame[~frame.index.duplicated(keep="first")]


class IrrigationLegend(_CodeTable):
    """A parsed irrigation legend: a DataFrame indexed by integer ``irrigation_code``, and labels.

    The file (``WorldCereal_IRR_legend_*.csv``) has the columns ``irrigation_code``, ``level_0``,
    ``level_1``, ``level_2`` (the code repeated at its hierarchy level) and ``label``; the codes are the
    values of the samples' ``irrigation_status`` (0 no information, 100 rainfed, 200 irrigated, 213 fully
    irrigated - surface, ...).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table with an ``irrigation_code`` column (or an integer index) and a ``label`` column.
    source : str
        Where it came from (path or URL), for messages.
    """

    def __init__(self, frame: pd.DataFrame, source: str = "<memory>"):
        self.source = source
        frame = frame.copy()
        if "irrigation_code" in frame.columns:
            raw = frame.pop("irrigation_code").astype(str).str.strip()
            if not raw.str.fullmatch(r"\d+").all():
                bad = raw[~raw.str.fullmatch(r"\d+")].iloc[0]
                raise LegendError(f"irrigation legend {source}: code {bad!r} is not a non-negative integer")
            frame.index = pd.Index(raw.astype("int64"))
        try:
            frame.index = frame.index.astype("int64")
        except (TypeError, ValueError):
            raise LegendError(f"irrigation legend {source} has no 'irrigation_code' column") from None
        frame.index.name = "irrigation_code"
        if "label" not in frame.columns:
            raise LegendError(f"irrigation legend {source} has no 'label' column; columns: {list(frame.columns)}")
        self.frame = frame[~frame.index.duplicated(keep="first")]

    @staticmethod
    def _code(code: Any) -> int:
        return _irrigation_code(code)

    @staticmethod
    def unknown_label(code: int) -> str:
        """The readable label used for codes the legend does not have (real data has e.g. 55, 71, 98)."""
        return f"unknown ({code})"

    def label(self, code: Any, unknown: str | None = None) -> str:
        """The label of one irrigation code.

        Parameters
        ----------
        code : int or str
            An irrigation code such as ``213``.
        unknown : str, optional
            Label for codes the legend lacks; default ``'unknown (<code>)'``.

        Returns
        -------
        str

        Raises
        ------
        BadParameterError
            When ``code`` is not a non-negative integer.
        """
        value = _irrigation_code(code)
        label = _text(self.frame.at[value, "label"]) if value in self.frame.index else None
        if label is not None:
            return label
        return self.unknown_label(value) if unknown is None else unknown

    def labels(self, codes: Iterable[Any], unknown: str | None = None) -> list[str]:
        """Labels for many irrigation codes, in order (see :meth:`label`)."""
        return [self.label(c, unknown) for c in codes]


def _irrigation_code(code: Any) -> int:
    if not isinstance(code, bool):
        if isinstance(code, int) or getattr(getattr(code, "dtype", None), "kind", "") in ("i", "u"):
            value: int | None = int(code)
        elif isinstance(code, float) and code.is_integer():
            value = int(code)
        elif isinstance(code, str) and code.strip().isdigit():
            value = int(code.strip())
        else:
            value = None
        if value is not None and value >= 0:
            return value
    raise BadParameterError(f"irrigation code {code!r} is not a non-negative integer such as 213")


def _read_csv(data: bytes, source: str, code_column: str, what: str) -> pd.DataFrame:
    """The ``;``-separated table in ``data`` (empty cells as NA); ``what`` names the legend in errors."""
    try:
        frame = pd.read_csv(io.BytesIO(data), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise LegendError(f"{what} {source} is not a ';'-separated CSV: {exc}") from None
    if code_column not in frame.columns:
        raise LegendError(f"{what} {source} has no {code_column!r} column; columns: {list(frame.columns)}")
    return frame.replace("", pd.NA)


def parse_landcover_csv(data: bytes, source: str) -> Legend:
    """Parse the bytes of a land-cover/crop-type legend CSV.

    Parameters
    ----------
    data : bytes
        The file's content.
    source : str
        Where it came from, for messages.

    Returns
    -------
    Legend

    Raises
    ------
    LegendError
        When the text is not a ``;``-separated CSV with ``ewoc_code`` and ``label_full`` columns.
    """
    return Legend(_read_csv(data, source, "ewoc_code", "legend"), source)


def parse_irrigation_csv(data: bytes, source: str) -> IrrigationLegend:
    """Parse the bytes of an irrigation legend CSV into an :class:`IrrigationLegend`.

    Read like :func:`parse_landcover_csv`, with the same parameters. A text that is not a ``;``-separated CSV
    with ``irrigation_code`` and ``label`` columns raises :class:`~worldcereal_explorer.errors.LegendError`.
    """
    return IrrigationLegend(_read_csv(data, source, "irrigation_code", "irrigation legend"), source)
