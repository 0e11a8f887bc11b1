"""The WorldCereal land-cover / crop-type legend: loading with an on-disk cache, labels, hierarchy.

The legend is a ``;``-separated CSV (UTF-8 with BOM) whose ``ewoc_code`` column holds dashed codes
(``11-01-06-000-0``); everywhere else (API, sample files) the same code is a 10-digit integer
(``1101060000``). Codes are hierarchical in groups of 2-2-2-3-1 digits.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .config import ENV_LEGEND_URL, resolve_legend_url
from .errors import BadEwocCodeError, LegendError, RdmError
from .extents import normalize_ewoc_codes, validate_ewoc_code
from .files import atomic_write_bytes

logger = logging.getLogger(__name__)

__all__ = [
    "Legend",
    "LegendNode",
    "load_legend",
    "default_legend",
    "get_legend",
    "set_default_legend",
    "translate_ewoc_codes",
    "ewoc_code_to_label",
    "dashed_to_ewoc_code",
    "ewoc_code_to_dashed",
    "parent_code",
    "DEFAULT_TTL_S",
]

#: How long a cached legend download is trusted before it is fetched again (7 days).
DEFAULT_TTL_S = 7 * 24 * 3600
LEVEL_COLUMNS = ["level_1", "level_2", "level_3", "level_4", "level_5"]
TRANSLATE_COLUMNS = ["label_full", *LEVEL_COLUMNS, "definition"]
#: The code's digit groups (2-2-2-3-1), as (start, end) slices of the 10-digit string.
_GROUPS = [(0, 2), (2, 4), (4, 6), (6, 9), (9, 10)]


def dashed_to_ewoc_code(dashed: str) -> int:
    """``"11-01-06-000-0"`` -> ``1101060000``.

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
    """``1101060000`` -> ``"11-01-06-000-0"`` (``0`` -> ``"00-00-00-000-0"``)."""
    digits = f"{validate_ewoc_code(code):010d}"
    return "-".join(digits[a:b] for a, b in _GROUPS)


def parent_code(code: int) -> int | None:
    """The code one level up the hierarchy (rightmost non-zero digit group zeroed); ``None`` at the top."""
    digits = f"{code:010d}"
    for a, b in reversed(_GROUPS):
        if int(digits[a:b]):
            parent = int(digits[:a] + "0" * (10 - a))
            return parent if parent else None
    return None


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


class Legend:
    """A parsed legend: a DataFrame indexed by integer ``ewoc_code`` plus lookups and the hierarchy.

    Parameters
    ----------
    frame
        The legend table with an ``ewoc_code`` column of dashed codes (as in the CSV) or an integer index.
    source
        Where it came from (path or URL), for messages.
    """

    def __init__(self, frame: pd.DataFrame, source: str = "<memory>"):
        self.source = source
        self.frame = _normalise_frame(frame, source)
        self._tree: LegendNode | None = None

    def __repr__(self) -> str:
        return f"Legend({len(self.frame)} classes from {self.source})"

    def __len__(self) -> int:
        return len(self.frame)

    def __contains__(self, code: Any) -> bool:
        try:
            return validate_ewoc_code(code) in self.frame.index
        except BadEwocCodeError:
            return False

    @staticmethod
    def unknown_label(code: int) -> str:
        """The readable label used for codes the legend does not have."""
        return f"unknown ({code})"

    def label(self, code: Any) -> str:
        """``label_full`` for one code; a readable ``'unknown (<code>)'`` when the legend lacks it."""
        value = validate_ewoc_code(code)
        if value in self.frame.index:
            label = self.frame.at[value, "label_full"]
            if isinstance(label, str) and label:
                return label
        return self.unknown_label(value)

    def labels(self, codes: Iterable[Any]) -> list[str]:
        """Labels for many codes, in order."""
        return [self.label(c) for c in codes]

    def translate(self, codes: Iterable[Any]) -> pd.DataFrame:
        """Legend rows for ``codes`` (order kept, duplicates dropped): label_full, level_1..5, definition.

        Unknown codes get a row with ``label_full = 'unknown (<code>)'`` and empty levels.
        """
        values = normalize_ewoc_codes(list(codes)) or []
        table = self.frame.reindex(values)[TRANSLATE_COLUMNS].copy()
        missing = table["label_full"].isna()
        table.loc[missing, "label_full"] = [self.unknown_label(c) for c in table.index[missing]]
        table.index.name = "ewoc_code"
        return table

    def _level_name(self, code: int, level: int) -> str | None:
        if code not in self.frame.index or not 1 <= level <= 5:
            return None
        value = self.frame.at[code, f"level_{level}"]
        return value if isinstance(value, str) and value else None

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
    frame = frame[~frame.index.duplicated(keep="first")]
    return frame


def _parse_csv(data: bytes, source: str) -> Legend:
    try:
        frame = pd.read_csv(io.BytesIO(data), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise LegendError(f"legend {source} is not a ';'-separated CSV: {exc}") from None
    if "ewoc_code" not in frame.columns:
        raise LegendError(f"legend {source} has no 'ewoc_code' column; columns: {list(frame.columns)}")
    frame = frame.replace("", pd.NA)
    return Legend(frame, source)


def _cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("worldcereal-explorer")) / "legend"


def load_legend(
    source: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    ttl_s: float = DEFAULT_TTL_S,
    refresh: bool = False,
    timeout: float = 10.0,
    transport: Any = None,
) -> Legend:
    """Load the legend from a path or URL, with an on-disk cache for URLs.

    Parameters
    ----------
    source
        A local CSV path or an ``http(s)`` URL. ``None``: ``$WORLDCEREAL_LEGEND_URL``, else the official
        WorldCereal URL.
    cache_dir
        Folder for cached downloads (default: the user cache dir from platformdirs).
    ttl_s
        Age in seconds after which a cached download is fetched again. When fetching fails, a stale
        cached copy is used (with a warning) rather than failing.
    refresh
        Ignore the cache and download again.
    timeout
        Total seconds the download may take (retries included).
    transport
        The :class:`~worldcereal_explorer.rdm.http.HttpTransport` to use (default: one for this call).

    Raises
    ------
    LegendError
        When the legend can neither be fetched nor found in the cache, or does not parse.
    """
    if source is not None and not str(source).startswith(("http://", "https://")):
        path = Path(source)
        if not path.is_file():
            raise LegendError(f"legend file {str(path)!r} does not exist")
        return _parse_csv(path.read_bytes(), str(path))
    url = resolve_legend_url(str(source) if source is not None else None)
    cache = Path(cache_dir) if cache_dir is not None else _cache_dir()
    cached = cache / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}.csv"
    fresh = cached.is_file() and (time.time() - cached.stat().st_mtime) < ttl_s
    if fresh and not refresh:
        return _parse_csv(cached.read_bytes(), url)
    try:
        content = _download(url, timeout, transport)
        legend = _parse_csv(content, url)  # parse before caching: never cache garbage
        atomic_write_bytes(cached, content)
        return legend
    except (RdmError, LegendError) as exc:
        if cached.is_file():
            logger.warning("could not refresh the legend from %s (%s); using the cached copy", url, exc)
            return _parse_csv(cached.read_bytes(), url)
        if isinstance(exc, LegendError):
            raise
        raise LegendError(
            f"could not download the legend from {url}: {exc}; set {ENV_LEGEND_URL} or pass a local path"
        ) from None


def _download(url: str, timeout: float, transport: Any) -> bytes:
    from .rdm.http import HttpPolicy, HttpTransport, redact

    own = transport is None
    if own:
        transport = HttpTransport(HttpPolicy(connect_timeout=min(5.0, timeout), read_timeout=timeout, retries=2))
    try:
        response = transport.request(url, scope=transport.scope("legend download", deadline_s=2 * timeout))
    finally:
        if own:
            transport.close()
    if not response.ok:
        raise LegendError(f"the legend URL {redact(url)} answered HTTP {response.status_code}")
    return response.content


_default_lock = threading.Lock()
_default_legend: Legend | None = None


def bundled_demo_legend() -> Legend:
    """The small demo legend the package ships (only the classes the demo catalogue uses)."""
    return load_legend(Path(__file__).parent / "demo" / "demo_legend.csv")


def default_legend() -> Legend:
    """The process-wide default legend, loaded once (see :func:`load_legend` for the source order).

    When the official legend cannot be reached and nothing is cached (offline machines), the bundled
    demo legend is used with a warning, so labels still work for the classes it has.
    """
    global _default_legend
    with _default_lock:
        if _default_legend is None:
            try:
                _default_legend = load_legend()
            except LegendError as exc:
                logger.warning("%s; falling back to the bundled demo legend", exc)
                _default_legend = bundled_demo_legend()
        return _default_legend


def get_legend() -> Legend:
    """Deprecated name of :func:`default_legend` (the reference client's ``get_legend`` takes a topic)."""
    return default_legend()


def set_default_legend(legend: Legend | str | os.PathLike | None) -> None:
    """Replace the process-wide default legend (a Legend, a path/URL to load, or ``None`` to reset)."""
    global _default_legend
    with _default_lock:
        _default_legend = legend if isinstance(legend, Legend) or legend is None else load_legend(legend)


def translate_ewoc_codes(codes: Iterable[Any], legend: Legend | None = None) -> pd.DataFrame:
    """Translate ewoc codes into legend rows (DataFrame indexed by ``ewoc_code``).

    Columns: ``label_full``, ``level_1`` .. ``level_5``, ``definition``. Unknown codes get the label
    ``'unknown (<code>)'`` instead of an error.
    """
    return (legend or default_legend()).translate(codes)


def ewoc_code_to_label(codes: Any, legend: Legend | None = None) -> str | list[str]:
    """Label(s) of one code or a list of codes (``'unknown (<code>)'`` for codes not in the legend)."""
    legend = legend or default_legend()
    if isinstance(codes, (int, str)) or (hasattr(codes, "dtype") and getattr(codes, "ndim", 1) == 0):
        return legend.label(codes)
    return legend.labels(codes)
