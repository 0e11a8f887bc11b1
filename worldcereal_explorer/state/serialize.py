"""One serialisable query: the inputs of an :class:`~worldcereal_explorer.state.RdmQueryState` as JSON and as a
saved-session file. A dashboard link's query string is :mod:`~worldcereal_explorer.state.links`; the Python code
that reproduces the same samples is :mod:`~worldcereal_explorer.state.snippet`.

Everything here works on the state's *input* traits only (bbox, polygon, dates, codes, grouping, access,
quality, subset, selected collections); results are never saved, they are fetched again.

The dictionary form is versioned and JSON-safe::

    {"version": 1, "endpoint": "https://ewoc-rdm-api.iiasa.ac.at", "bbox": [3.0, 50.0, 6.0, 52.0],
     "polygon": null, "start_date": "2021-01-01", "end_date": "2021-12-31", "ewoc_codes": [1101060000],
     "grouping": {"1101060000": "maize"}, "include_public": true, "include_private": false,
     "include_restricted": false, "min_quality_lc": 0, "min_quality_ct": 0, "subset": false,
     "selected_ids": []}

Loading validates every field and raises an :class:`~worldcereal_explorer.errors.InvalidInputError`
subclass whose message starts with the field's name (``"bbox: ..."``) and which carries it as ``.field``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import (
    BadEwocCodeError,
    BadExtentError,
    BadParameterError,
    BadTemporalExtentError,
    InvalidInputError,
)

__all__ = [
    "INPUT_FIELDS",
    "STATE_VERSION",
    "apply_state_dict",
    "load_state_file",
    "parse_state_json",
    "read_state_file",
    "save_state_file",
    "state_from_dict",
    "state_to_dict",
    "validate_state_dict",
]

#: Version of the dictionary / file format written by :func:`state_to_dict`.
STATE_VERSION = 1

#: The input traits that make up a query, in the order they are written.
INPUT_FIELDS = (
    "bbox",
    "polygon",
    "start_date",
    "end_date",
    "ewoc_codes",
    "grouping",
    "include_public",
    "include_private",
    "include_restricted",
    "min_quality_lc",
    "min_quality_ct",
    "subset",
    "selected_ids",
)

#: The access kinds a query can include (``include_<kind>``); also a link's ``access`` values.
ACCESS_KINDS = ("public", "private", "restricted")
_DEFAULTS: dict[str, Any] = {
    "bbox": None,
    "polygon": None,
    "start_date": None,
    "end_date": None,
    "ewoc_codes": [],
    "grouping": {},
    "include_public": True,
    "include_private": False,
    "include_restricted": False,
    "min_quality_lc": 0,
    "min_quality_ct": 0,
    "subset": False,
    "selected_ids": [],
}


# --- helpers ------------------------------------------------------------------------------------------

def _field_error(field: str, exc: InvalidInputError | str, cls: type[InvalidInputError] = BadParameterError):
    """An error of the same kind as ``exc`` whose message starts with (and which carries) ``field``."""
    if isinstance(exc, InvalidInputError):
        cls, text = type(exc), str(exc)
    else:
        text = exc
    error = cls(f"{field}: {text}")
    error.field = field  # type: ignore[attr-defined]
    return error


def geometry_of(value: Any):
    """A shapely geometry from a GeoJSON mapping / Feature, a WKT string or a shapely geometry."""
    import shapely
    from shapely.geometry import shape
    from shapely.geometry.base import BaseGeometry

    if isinstance(value, BaseGeometry):
        return value
    if isinstance(value, str):
        try:
            return shapely.from_wkt(value)
        except Exception as exc:  # shapely.errors.GEOSException
            raise BadExtentError(f"{value[:80]!r} is not valid WKT ({exc})") from None
    if isinstance(value, Mapping):
        geometry = value.get("geometry") if value.get("type") == "Feature" else value
        try:
            return shape(geometry or {})
        except Exception as exc:  # several types for malformed GeoJSON
            raise BadExtentError(f"{str(dict(value))[:80]!r} is not a GeoJSON geometry ({exc})") from None
    raise BadExtentError(f"a value of type {type(value).__name__} is not a polygon; use GeoJSON or WKT")


def bbox_list(value: Any) -> list[float] | None:
    """A bbox validated and normalised, as ``[west, south, east, north]`` floats (``None`` stays ``None``)."""
    from ..extents import normalize_bbox

    if value is None:
        return None
    return [float(v) for v in normalize_bbox(value).as_tuple()]


def polygon_mapping(value: Any) -> dict | None:
    """A query polygon validated and normalised, as a GeoJSON mapping (``None`` stays ``None``)."""
    from shapely.geometry import mapping

    from ..extents import normalize_spatial_extent

    if value is None:
        return None
    extent = normalize_spatial_extent(geometry_of(value))
    return _json_safe(mapping(extent.geometry))  # type: ignore[union-attr]


def _json_safe(value: Any) -> Any:
    """Tuples to lists, numpy scalars to Python numbers, dates to ISO strings, recursively."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def _date_text(value: Any) -> str | None:
    from ..dates import parse_date

    try:
        parsed = parse_date(value, allow_missing=True)
    except InvalidInputError:
        return str(value)  # kept as typed; loading reports it
    return None if parsed is None else parsed.isoformat()


# --- to / from dict -----------------------------------------------------------------------------------

def state_to_dict(state: Any, *, include_endpoint: bool = True) -> dict[str, Any]:
    """The query inputs of ``state`` as a JSON-safe, versioned dictionary.

    Parameters
    ----------
    state
        An :class:`~worldcereal_explorer.state.RdmQueryState`.
    include_endpoint
        Add the ``endpoint`` the state's client talks to.

    Returns
    -------
    dict
        ``{"version": 1, "endpoint": ..., "bbox": ..., ...}`` (see :data:`INPUT_FIELDS`); ``json.dumps`` works
        on it as it is.
    """
    out: dict[str, Any] = {"version": STATE_VERSION}
    if include_endpoint:
        client = state._trait_values.get("client")
        out["endpoint"] = getattr(client, "endpoint", None) or state.endpoint
    try:
        out["bbox"] = bbox_list(state.bbox)
    except InvalidInputError:  # an invalid box typed in the dashboard is kept as typed
        out["bbox"] = _json_safe(state.bbox)
    try:
        out["polygon"] = polygon_mapping(state.polygon)
    except InvalidInputError:
        out["polygon"] = _json_safe(state.polygon) if isinstance(state.polygon, (Mapping, str)) else None
    out["start_date"] = _date_text(state.start_date)
    out["end_date"] = _date_text(state.end_date)
    out["ewoc_codes"] = [int(c) if str(c).lstrip("-").isdigit() else str(c) for c in state.ewoc_codes]
    out["grouping"] = {str(int(k)) if str(k).isdigit() else str(k): str(v) for k, v in state.grouping.items()}
    for name in ("include_public", "include_private", "include_restricted", "subset"):
        out[name] = bool(getattr(state, name))
    out["min_quality_lc"] = int(state.min_quality_lc)
    out["min_quality_ct"] = int(state.min_quality_ct)
    out["selected_ids"] = [str(i) for i in state.selected_ids]
    return out


def _check_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _field_error(field, f"{value!r} is not allowed; use true or false")
    return value


def _check_quality(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise _field_error(field, f"{value!r} is not allowed; use a whole number from 0 to 100")
    return value


def validate_state_dict(data: Any) -> dict[str, Any]:
    """Check a query dictionary (from :func:`state_to_dict`, a file or elsewhere) and normalise it.

    Missing fields take their defaults; ``polygon`` may be GeoJSON or WKT; ``grouping`` keys may be strings.

    Parameters
    ----------
    data
        The dictionary.

    Returns
    -------
    dict
        Every field of :data:`INPUT_FIELDS` (plus ``endpoint`` when given) with values ready to set on a state:
        ``bbox`` a tuple, dates :class:`datetime.date`, codes ints, grouping ``{int: str}``.

    Raises
    ------
    InvalidInputError
        A subclass (:class:`~worldcereal_explorer.errors.BadExtentError`, ``BadTemporalExtentError``,
        ``BadEwocCodeError``, ``BadParameterError``) whose message starts with the bad field's name and whose
        ``field`` attribute names it.
    """
    from ..dates import parse_date
    from ..extents import normalize_ewoc_codes

    if not isinstance(data, Mapping):
        raise _field_error("query", f"a saved query must be a JSON object, not {type(data).__name__}")
    if "version" not in data:
        raise _field_error("version", "missing; this is not a saved worldcereal-explorer query")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _field_error("version", f"{version!r} is not a format version")
    if version > STATE_VERSION:
        raise _field_error("version", f"{version} is newer than this package reads ({STATE_VERSION}); "
                                      "upgrade worldcereal-explorer")
    unknown = sorted(set(data) - set(INPUT_FIELDS) - {"version", "endpoint"})
    if unknown:
        raise _field_error(unknown[0], f"unknown field; allowed: version, endpoint, {', '.join(INPUT_FIELDS)}")
    out: dict[str, Any] = {name: _DEFAULTS[name] for name in INPUT_FIELDS}
    out.update({k: v for k, v in data.items() if k in INPUT_FIELDS and v is not None})
    if data.get("endpoint") is not None:
        from ..config import resolve_rdm_url

        try:
            out["endpoint"] = resolve_rdm_url(data["endpoint"])
        except InvalidInputError as exc:
            raise _field_error("endpoint", exc) from None
    try:
        out["bbox"] = None if out["bbox"] is None else tuple(bbox_list(out["bbox"]))  # type: ignore[arg-type]
    except InvalidInputError as exc:
        raise _field_error("bbox", exc) from None
    try:
        out["polygon"] = polygon_mapping(out["polygon"])
    except InvalidInputError as exc:
        raise _field_error("polygon", exc) from None
    for name in ("start_date", "end_date"):
        try:
            out[name] = parse_date(out[name], name=name, allow_missing=True)
        except InvalidInputError as exc:
            raise _field_error(name, exc) from None
    if (out["start_date"] is None) != (out["end_date"] is None):
        missing = "start_date" if out["start_date"] is None else "end_date"
        raise _field_error(missing, "not set; set both start_date and end_date, or neither",
                           BadTemporalExtentError)
    if out["start_date"] is not None and out["start_date"] > out["end_date"]:
        raise _field_error("end_date", f"{out['end_date']} is before start_date {out['start_date']}",
                           BadTemporalExtentError)
    codes = out["ewoc_codes"]
    if not isinstance(codes, (list, tuple)):
        raise _field_error("ewoc_codes", f"{codes!r} is not a list of ewoc codes", BadEwocCodeError)
    try:
        out["ewoc_codes"] = normalize_ewoc_codes(list(codes)) or []
    except InvalidInputError as exc:
        raise _field_error("ewoc_codes", exc) from None
    grouping = out["grouping"]
    if not isinstance(grouping, Mapping):
        raise _field_error("grouping", f"{grouping!r} is not an object {{ewoc_code: new_label}}")
    groups: dict[int, str] = {}
    for key, label in grouping.items():
        try:
            code = normalize_ewoc_codes([int(key) if isinstance(key, str) and key.isdigit() else key])[0]  # type: ignore[index]
        except InvalidInputError as exc:
            raise _field_error("grouping", exc) from None
        if not isinstance(label, str) or not label.strip():
            raise _field_error("grouping", f"the label of {key!r} must be a non-empty string, not {label!r}")
        groups[code] = label
    out["grouping"] = groups
    for name in ("include_public", "include_private", "include_restricted", "subset"):
        out[name] = _check_bool(name, out[name])
    for name in ("min_quality_lc", "min_quality_ct"):
        out[name] = _check_quality(name, out[name])
    ids = out["selected_ids"]
    if not isinstance(ids, (list, tuple)) or not all(isinstance(i, str) and i for i in ids):
        raise _field_error("selected_ids", f"{ids!r} is not a list of collection ids (strings)")
    out["selected_ids"] = list(dict.fromkeys(ids))
    return out


def apply_state_dict(state: Any, data: Mapping[str, Any], *, validated: bool = False) -> None:
    """Set the query inputs of ``state`` from ``data`` in one go (one search follows, not one per field).

    Parameters
    ----------
    state
        The :class:`~worldcereal_explorer.state.RdmQueryState` to change (its endpoint is left alone).
    data
        A query dictionary; validated first unless ``validated``.

    Raises
    ------
    InvalidInputError
        From :func:`validate_state_dict`; the state is then left unchanged.
    """
    values = dict(data) if validated else validate_state_dict(data)
    with state.hold_trait_notifications():
        for name in INPUT_FIELDS:
            if name in values:
                setattr(state, name, values[name])


def state_from_dict(data: Mapping[str, Any], client: Any = None, *, cls: type | None = None,
                    validated: bool = False, **traits: Any) -> Any:
    """A new state holding the query in ``data``.

    Parameters
    ----------
    data
        A query dictionary (see :func:`validate_state_dict`).
    client
        The :class:`~worldcereal_explorer.rdm.client.RdmClient` to use; default: one for the saved
        ``endpoint`` (or, without one, the configured endpoint).
    cls
        The state class (default :class:`~worldcereal_explorer.state.RdmQueryState`).
    validated
        ``data`` comes from :func:`validate_state_dict` already.
    **traits
        Other traits for the new state (``auto_search=False``, ``endpoint=...`` to override the saved one).
    """
    if cls is None:
        from .query import RdmQueryState

        cls = RdmQueryState
    values = dict(data) if validated else validate_state_dict(data)
    endpoint = traits.pop("endpoint", None) or (None if client is not None else values.get("endpoint"))
    inputs = {name: values[name] for name in INPUT_FIELDS}
    return cls(endpoint, client=client, **inputs, **traits)


# --- files --------------------------------------------------------------------------------------------

def save_state_file(state: Any, path: str | os.PathLike[str]) -> Path:
    """Write the query of ``state`` as a small JSON file, atomically; return the path."""
    from ..files import atomic_path

    target = Path(path)
    text = json.dumps(state_to_dict(state), indent=2) + "\n"
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


def read_state_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The validated query dictionary saved in ``path``.

    Raises
    ------
    BadParameterError
        When the file is missing or not JSON (the message names the file).
    InvalidInputError
        When a field is invalid (see :func:`validate_state_dict`).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadParameterError(f"cannot read the saved query {str(file)!r}: {exc.strerror}") from None
    return parse_state_json(text, source=str(file))


def parse_state_json(text: str | bytes, source: str = "the saved query") -> dict[str, Any]:
    """Parse and validate a saved query's JSON text (what the dashboard's Load button receives)."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadParameterError(f"{source} is not JSON: {exc}") from None
    try:
        return validate_state_dict(data)
    except InvalidInputError as exc:
        error = type(exc)(f"{source}: {exc}")
        error.field = getattr(exc, "field", None)  # type: ignore[attr-defined]
        raise error from None


def load_state_file(path: str | os.PathLike[str], client: Any = None, *, cls: type | None = None,
                    **traits: Any) -> Any:
    """A new state holding the query saved in ``path`` (see :func:`state_from_dict`)."""
    return state_from_dict(read_state_file(path), client, cls=cls, validated=True, **traits)
