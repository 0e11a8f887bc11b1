"""The table of demo collections: region, season, crop mix and access of each one.

The table is data, kept in ``collections.toml`` beside this module: one ``[[collection]]`` table per
:class:`CollectionSpec`, keyed by its field names, with crop codes and demo identities named by their
constants in :mod:`.codes` and :mod:`.users`. :func:`demo_specs` reads and checks it. The order of the
file is part of the output (each collection's random stream is seeded with its position), so append new
collections at the end of the file.
"""

from __future__ import annotations

import functools
from dataclasses import MISSING, dataclass, field, fields
from importlib import resources
from typing import Any

from ..errors import WorldCerealExplorerError
from ..files import parse_toml
from . import codes, users
from .codes import (
    COTTON,
    CROPLAND,
    MAIZE,
    PASTURES,
    POTATOES,
    RICE,
    SORGHUM,
    SOYBEAN,
    SUGARCANE,
    SUNFLOWER,
    WINTER_WHEAT,
)
from .collection import LicenceInfo

__all__ = ["CollectionSpec", "CollectionsFileError", "SYNTHETIC_CROPS", "demo_collection_ids", "demo_specs",
           "parse_collection_specs"]

#: The table's file, a resource of this package (listed in pyproject's package-data so wheels ship it).
COLLECTIONS_FILE = "collections.toml"


class CollectionsFileError(WorldCerealExplorerError, ValueError):
    """``collections.toml`` does not describe valid collections; the message names the file, collection and key."""


@dataclass(frozen=True)
class CollectionSpec:
    """How one demo collection looks: region, season, crop mix, access."""

    original_name: str  # e.g. 2021_BEL_LPIS-DEMO_POLY_110: the file names' form
    name: str  # human name of the (fictitious) data set
    description: str
    country: str
    continent: str
    bbox: tuple[float, float, float, float]
    geometry: str  # "Point" | "Polygon"
    season: tuple[str, str]  # first and last valid_time, ISO dates within one year
    n_samples: int
    crops: tuple[tuple[int, float], ...]
    irrigated_share: dict[int, float] | None = None  # code -> share irrigated (111 collections)
    access: str = "Public"
    owner: str | None = None
    groups: tuple[str, ...] = ()
    quality: tuple[int, int] = (85, 80)  # mean quality_score_lc, quality_score_ct
    confidence: tuple[int, int, int] = (80, 75, 0)  # confidenceLandCover, CropType, IrrigationType
    field_size_m: tuple[float, float] = (80, 300)
    clusters: int = 6
    observation_method: str = "Unknown"
    legacy_id: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    licence: LicenceInfo | None = None  # None: the synthetic demo's CC-BY-4.0 record
    copy_of: str | None = None  # original_name of an earlier collection this one copies part of
    copy_share: float = 0.4  # share of that collection's samples copied
    shift_m: float = 6.0  # metres each copied geometry is moved by

    @property
    def collection_id(self) -> str:
        """API id: the original name lower-cased without dashes (and, for old ids, without underscores)."""
        cid = self.original_name.lower().replace("-", "")
        return cid.replace("_", "") if self.legacy_id else cid

    @property
    def year(self) -> int:
        """Year of the season (the first ``valid_time``)."""
        return int(self.season[0][:4])

    @property
    def content(self) -> str:
        """Content code ending the name: ``100`` land cover, ``110`` + crop type, ``111`` + irrigation."""
        return self.original_name.rsplit("_", 1)[-1]


def demo_specs() -> list[CollectionSpec]:
    """The demo collections, in generation order (the order seeds each one's random stream).

    Returns
    -------
    list of CollectionSpec
        One per ``[[collection]]`` table of ``collections.toml``, in the file's order; built afresh on each
        call, so a caller changing one's dicts changes no one else's.

    Raises
    ------
    CollectionsFileError
        When the file is not valid TOML, a collection lacks a required key or has an unknown one, a value
        has the wrong type or length, a name is not a constant of ``demo/codes.py`` or ``demo/users.py``,
        an ``original_name`` appears twice, or ``copy_of`` does not name an earlier collection.
    """
    return parse_collection_specs(*_collections_file())


@functools.cache
def _collections_file() -> tuple[str, str]:
    """The text of the shipped table and where it is (read once: it does not change while running)."""
    resource = resources.files("worldcereal_explorer.demo") / COLLECTIONS_FILE
    return resource.read_text(encoding="utf-8"), str(resource)


#: Crop constants of demo/codes.py by name (integers only: IRRIGATED_CODES and the like are not crops).
_CROP_CODES = {name: value for name, value in vars(codes).items()
               if name.isupper() and isinstance(value, int) and not isinstance(value, bool)}
#: The demo identities of demo/users.py by name: owners are subjects, groups are groups.
_SUBJECTS = {name: value for name, value in vars(users).items() if name.endswith("_SUB")}
_GROUPS = {name: value for name, value in vars(users).items() if name.endswith("_GROUP")}

_NUMBER = (int, float)
#: Keys holding one value of a TOML type, kept as parsed (an integer stays an integer, as in the Python table).
_SCALARS: dict[str, type | tuple[type, ...]] = {
    "original_name": str, "name": str, "description": str, "country": str, "continent": str, "geometry": str,
    "access": str, "observation_method": str, "copy_of": str, "n_samples": int, "clusters": int,
    "legacy_id": bool, "copy_share": _NUMBER, "shift_m": _NUMBER,
}
#: Keys holding a fixed-length array, made a tuple: key -> (length, item type).
_ARRAYS: dict[str, tuple[int, type | tuple[type, ...]]] = {
    "bbox": (4, _NUMBER), "season": (2, str), "quality": (2, int), "confidence": (3, int),
    "field_size_m": (2, _NUMBER),
}
#: Keys read by name (crops, identities) or as a table; each has its own branch in _field_value.
_SPECIAL = ("crops", "irrigated_share", "owner", "groups", "licence", "extra")
_REQUIRED = [f.name for f in fields(CollectionSpec) if f.default is MISSING and f.default_factory is MISSING]
_LICENCE_KEYS = [f.name for f in fields(LicenceInfo)]
_LICENCE_REQUIRED = [f.name for f in fields(LicenceInfo) if f.default is MISSING]


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    # TOML booleans are Python bools, which are ints: an int or number key must not accept true/false.
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, kind)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return "a number"
    return {str: "a string", int: "an integer", bool: "a boolean"}[kind]


def _resolve(name: Any, known: dict[str, Any], what: str, where: str) -> Any:
    if not isinstance(name, str) or name not in known:
        raise CollectionsFileError(f"{where}: unknown {what} {name!r}; allowed: {', '.join(known)}")
    return known[name]


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CollectionsFileError(f"{where}: expected a table, got {value!r}")
    return value


def _shares(value: Any, where: str) -> list[tuple[int, int | float]]:
    """A table of crop name -> share, as (code, share) pairs in the file's order."""
    pairs = []
    for name, share in _table(value, where).items():
        code = _resolve(name, _CROP_CODES, "crop name (not a crop constant of demo/codes.py)", where)
        if not _is(share, _NUMBER):
            raise CollectionsFileError(f"{where}.{name}: expected a number, got {share!r}")
        pairs.append((code, share))
    return pairs


def _licence(value: Any, where: str) -> LicenceInfo:
    table = _table(value, where)
    unknown = [key for key in table if key not in _LICENCE_KEYS]
    missing = [key for key in _LICENCE_REQUIRED if key not in table]
    if unknown or missing:
        raise CollectionsFileError(f"{where}: unknown keys {unknown}, missing keys {missing}; "
                                   f"allowed: {', '.join(_LICENCE_KEYS)}")
    for key, item in table.items():
        if not isinstance(item, str):
            raise CollectionsFileError(f"{where}.{key}: expected a string, got {item!r}")
    return LicenceInfo(**table)


def _field_value(key: str, value: Any, where: str) -> Any:
    """The CollectionSpec field value of one key of a collection table."""
    if key in _SCALARS:
        kind = _SCALARS[key]
        if not _is(value, kind):
            raise CollectionsFileError(f"{where}: expected {_kind_name(kind)}, got {value!r}")
        return value
    if key in _ARRAYS:
        length, kind = _ARRAYS[key]
        if not (isinstance(value, list) and len(value) == length and all(_is(item, kind) for item in value)):
            raise CollectionsFileError(f"{where}: expected {length} values, each {_kind_name(kind)}, got {value!r}")
        return tuple(value)
    if key == "crops":
        return tuple(_shares(value, where))
    if key == "irrigated_share":
        return dict(_shares(value, where))
    if key == "owner":
        return _resolve(value, _SUBJECTS, "owner (not a *_SUB constant of demo/users.py)", where)
    if key == "groups":
        if not isinstance(value, list):
            raise CollectionsFileError(f"{where}: expected an array of group names, got {value!r}")
        return tuple(_resolve(name, _GROUPS, "group (not a *_GROUP constant of demo/users.py)", where)
                     for name in value)
    if key == "licence":
        return _licence(value, where)
    return dict(_table(value, where))  # extra: free-form, passed on as written


def parse_collection_specs(text: str, source: str) -> list[CollectionSpec]:
    """Build the collections of a ``collections.toml`` text (see :func:`demo_specs` for the checks).

    Parameters
    ----------
    text
        The file's text.
    source
        Names the file in error messages.
    """
    try:
        document = parse_toml(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise CollectionsFileError(f"{source}: not valid TOML: {exc}") from None
    tables = document.get("collection")
    if set(document) != {"collection"} or not isinstance(tables, list):
        raise CollectionsFileError(f"{source}: expected only [[collection]] tables, got keys {list(document)}")
    allowed = [*_SCALARS, *_ARRAYS, *_SPECIAL]
    specs: list[CollectionSpec] = []
    for position, table in enumerate(tables):
        if not isinstance(table, dict):
            raise CollectionsFileError(f"{source}: collection #{position + 1} is not a table: {table!r}")
        label = table.get("original_name", f"#{position + 1}")
        where = f"{source}: collection {label!r}"
        unknown = [key for key in table if key not in allowed]
        missing = [key for key in _REQUIRED if key not in table]
        if unknown or missing:
            raise CollectionsFileError(f"{where}: unknown keys {unknown}, missing keys {missing}; "
                                       f"allowed: {', '.join(allowed)}")
        spec = CollectionSpec(**{key: _field_value(key, value, f"{where}, {key}") for key, value in table.items()})
        # The catalogue writes collections in this order and derives a copy from the one it copies.
        earlier = [done.original_name for done in specs]
        if spec.original_name in earlier:
            raise CollectionsFileError(f"{where}: original_name appears twice")
        if spec.copy_of is not None and spec.copy_of not in earlier:
            raise CollectionsFileError(f"{where}, copy_of: {spec.copy_of!r} is not an earlier collection")
        specs.append(spec)
    return specs


def demo_collection_ids() -> list[str]:
    """Ids of the demo catalogue's collections, in generation order."""
    return [spec.collection_id for spec in demo_specs()]


#: Crops of the benchmark catalogue (a broad global mix).
SYNTHETIC_CROPS = ((MAIZE, .25), (WINTER_WHEAT, .15), (RICE, .15), (SOYBEAN, .12), (SORGHUM, .06),
                   (SUNFLOWER, .05), (POTATOES, .05), (COTTON, .04), (SUGARCANE, .04), (PASTURES, .06),
                   (CROPLAND, .03))
