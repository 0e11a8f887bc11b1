"""One serialisable query: the inputs of an :class:`~worldcereal_explorer.state.RdmQueryState` as JSON and as a
saved-session file. A dashboard link's query string is :mod:`~worldcereal_explorer.state.links`; the Python code
that reproduces the same samples is :mod:`~worldcereal_explorer.state.snippet`.

The query part is :class:`~worldcereal_explorer.rdm.query.RdmQuery`'s own (``to_dict``/``from_dict``: it
validates and normalises); a session adds the format ``version``, the ``endpoint``, the crop ``grouping`` and,
when the state has a training service, its ``training`` settings (cap and split, as a share link carries them),
and writes every field, defaults included. Results are never saved, they are fetched again.

The dictionary form is versioned and JSON-safe::

    {"version": 1, "endpoint": "https://ewoc-rdm-api.iiasa.ac.at", "bbox": [3.0, 50.0, 6.0, 52.0],
     "polygon": null, "start_date": "2021-01-01", "end_date": "2021-12-31", "ewoc_codes": [1101060000],
     "include_public": true, "include_private": false, "include_restricted": false, "min_quality_lc": 0,
     "min_quality_ct": 0, "subset": false, "selected_ids": [], "grouping": {"1101060000": "maize"}}

Loading validates every field and raises an :class:`~worldcereal_explorer.errors.InvalidInputError`
subclass whose message starts with the field's name (``"bbox: ..."``) and which carries it as ``.field``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import BadParameterError, InvalidInputError
from ..rdm.query import RdmQuery

__all__ = [
    "INPUT_FIELDS",
    "STATE_VERSION",
    "apply_state_dict",
    "check_grouping",
    "input_value",
    "load_state_file",
    "parse_state_json",
    "read_state_file",
    "save_state_file",
    "shareable_query",
    "state_from_dict",
    "state_to_dict",
    "validate_state_dict",
]

#: Version of the dictionary / file format written by :func:`state_to_dict`.
STATE_VERSION = 1

#: The input traits a session holds: the query's fields, then the crop groups.
INPUT_FIELDS = (*RdmQuery.FIELDS, "grouping")

#: Each query field's default, JSON-safe (a session writes every field).
_DEFAULTS: dict[str, Any] = {spec.name: json.loads(json.dumps(spec.default if not isinstance(spec.default, tuple)
                                                               else list(spec.default)))
                             for spec in dataclasses.fields(RdmQuery)}


# --- helpers ------------------------------------------------------------------------------------------

def _field_error(field: str, exc: InvalidInputError | str, cls: type[InvalidInputError] = BadParameterError):
    """An error of the same kind as ``exc`` whose message starts with (and which carries) ``field``."""
    if isinstance(exc, InvalidInputError):
        cls, text = type(exc), str(exc)
    else:
        text = exc
    for named in (f"{field}=", f"{field} "):  # "min_quality_lc: 300 ...", not "min_quality_lc: min_quality_lc=300"
        if text.startswith(named):
            text = text[len(named):]
    error = cls(f"{field}: {text}")
    error.field = field  # type: ignore[attr-defined]
    return error


def input_value(name: str, value: Any) -> Any:
    """A query field's value as the state's input trait holds it: sequences as lists (a bbox as a tuple),
    the polygon as a GeoJSON mapping (what the map widgets draw)."""
    from shapely.geometry import mapping
    from shapely.geometry.base import BaseGeometry

    if isinstance(value, BaseGeometry):
        return json.loads(json.dumps(mapping(value)))  # tuples to lists: JSON-like, as drawn on the map
    if isinstance(value, tuple) and name != "bbox":
        return list(value)
    return value


def shareable_query(state: Any) -> tuple[RdmQuery, dict[str, InvalidInputError]]:
    """The state's query, leaving out inputs that are invalid (a half-typed bbox still gives a link).

    Returns
    -------
    query : RdmQuery
        ``state.query`` when the inputs are valid; else the query without the invalid ones (their defaults).
    invalid : dict
        ``{field: error}`` of the inputs left out.
    """
    values = {name: getattr(state, name) for name in RdmQuery.FIELDS}
    invalid: dict[str, InvalidInputError] = {}
    while True:
        try:
            return RdmQuery(**values), invalid
        except InvalidInputError as exc:
            name = getattr(exc, "field", None)
            if name not in values or name in invalid:  # cannot tell which: give up on the inputs
                return RdmQuery(), {"query": exc}
            invalid[name] = exc
            del values[name]


def _as_json(value: Any) -> Any:
    """``value`` as JSON holds it (an invalid input kept as typed; a geometry or date as its text), or ``None``."""
    try:
        return json.loads(json.dumps(value, default=lambda v: list(v) if isinstance(v, tuple) else str(v)))
    except (TypeError, ValueError):
        return None


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
        on it as it is. An invalid input (typed in the dashboard) is kept as typed; loading reports it.
    """
    out: dict[str, Any] = {"version": STATE_VERSION}
    if include_endpoint:
        out["endpoint"] = state.client_endpoint
    query, invalid = shareable_query(state)
    out.update(_DEFAULTS)
    out.update(query.to_dict())
    if query.bbox is not None:  # also with a polygon (its bounds): a session names both
        out["bbox"] = list(query.bbox)
    for name in invalid:
        if name in _DEFAULTS:
            out[name] = _as_json(getattr(state, name))
    out["grouping"] = {str(int(k)) if str(k).isdigit() else str(k): str(v) for k, v in state.grouping.items()}
    from .training import training_settings

    settings = training_settings(state)
    if settings:  # the training panel's cap and split, as a share link carries them
        out["training"] = {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}
    return out


def check_grouping(grouping: Any) -> dict[int, str]:
    """``{ewoc_code: new_label}`` checked: keys ewoc codes (digit strings allowed), labels non-empty strings.

    Raises
    ------
    InvalidInputError
        Whose message starts with ``grouping:`` and names the bad key or label.
    """
    from ..extents import normalize_ewoc_codes

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
    return groups


def validate_state_dict(data: Any) -> dict[str, Any]:
    """Check a query dictionary (from :func:`state_to_dict`, a file or elsewhere) and normalise it.

    Missing fields (and ``null`` ones) take their defaults; the query fields are read by
    :meth:`RdmQuery.from_dict <worldcereal_explorer.rdm.query.RdmQuery.from_dict>` (``polygon`` may be GeoJSON
    or WKT); ``grouping`` keys may be strings.

    Parameters
    ----------
    data
        The dictionary.

    Returns
    -------
    dict
        Every field of :data:`INPUT_FIELDS` (plus ``endpoint`` when given) with values ready to set on a state
        (see :func:`input_value`): ``bbox`` a tuple, dates :class:`datetime.date`, codes ints, grouping
        ``{int: str}``.

    Raises
    ------
    InvalidInputError
        A subclass (:class:`~worldcereal_explorer.errors.BadExtentError`, ``BadTemporalExtentError``,
        ``BadEwocCodeError``, ``BadParameterError``) whose message starts with the bad field's name and whose
        ``field`` attribute names it.
    """
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
    unknown = sorted(set(data) - set(INPUT_FIELDS) - {"version", "endpoint", "training"})
    if unknown:
        raise _field_error(unknown[0], f"unknown field; allowed: version, endpoint, {', '.join(INPUT_FIELDS)}, "
                                       "training")
    fields = {k: v for k, v in data.items() if k in RdmQuery.FIELDS and v is not None}
    for name, value in fields.items():
        # JSON has one form for a sequence field: a list (a lone string is not a list of codes or ids)
        if isinstance(_DEFAULTS[name], list) and not isinstance(value, (list, tuple)):
            raise _field_error(name, f"{value!r} is not a list")
    out: dict[str, Any] = {}
    if data.get("endpoint") is not None:
        from ..config import resolve_rdm_url

        try:
            out["endpoint"] = resolve_rdm_url(data["endpoint"])
        except InvalidInputError as exc:
            raise _field_error("endpoint", exc) from None
    try:
        query = RdmQuery.from_dict(fields)
    except InvalidInputError as exc:
        raise _field_error(getattr(exc, "field", None) or "query", exc) from None
    out.update({name: input_value(name, getattr(query, name)) for name in RdmQuery.FIELDS})
    out["grouping"] = check_grouping(data.get("grouping") or {})
    if data.get("training") is not None:  # optional: sessions saved before it load with the default settings
        from .training import check_training_settings

        try:
            out["training"] = check_training_settings(data["training"])
        except InvalidInputError as exc:
            raise _field_error("training", exc) from None
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
    if values.get("training"):
        from .training import apply_training_settings

        apply_training_settings(state, values["training"])


def state_from_dict(data: Mapping[str, Any], client: Any = None, *, cls: Callable[..., Any],
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
        The state class (:class:`~worldcereal_explorer.state.RdmQueryState`, whose ``from_dict`` calls this).
    validated
        ``data`` comes from :func:`validate_state_dict` already.
    **traits
        Other traits for the new state (``auto_search=False``, ``endpoint=...`` to override the saved one).
    """
    values = dict(data) if validated else validate_state_dict(data)
    endpoint = traits.pop("endpoint", None) or (None if client is not None else values.get("endpoint"))
    inputs = {name: values[name] for name in INPUT_FIELDS}
    state = cls(endpoint, client=client, **inputs, **traits)
    if values.get("training"):  # for the training service made for this state
        from .training import apply_training_settings

        apply_training_settings(state, values["training"])
    return state


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


def load_state_file(path: str | os.PathLike[str], client: Any = None, *, cls: Callable[..., Any],
                    **traits: Any) -> Any:
    """A new state holding the query saved in ``path`` (see :func:`state_from_dict`)."""
    return state_from_dict(read_state_file(path), client, cls=cls, validated=True, **traits)
