"""A dashboard link's query string: the filters of an :class:`~worldcereal_explorer.state.RdmQueryState` written
as ``bbox=3,50,6,52&start=2021-01-01&...`` and read back, one parameter at a time (a bad one is explained and
left out, never raised: a shared link must still open).
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from ..errors import BadExtentError, BadParameterError, InvalidInputError
from .serialize import ACCESS_KINDS, bbox_list, geometry_of, polygon_mapping, state_to_dict

__all__ = ["URL_PARAMS", "parse_query_string", "state_to_query_string"]

#: Query-string parameters of a dashboard link and what each holds.
URL_PARAMS = {
    "bbox": "W,S,E,N in degrees",
    "wkt": "a query polygon as WKT (its bounds become the bbox)",
    "start": "start date YYYY-MM-DD",
    "end": "end date YYYY-MM-DD",
    "codes": "comma-separated ewoc codes",
    "access": "comma-separated public, private, restricted",
    "min_lc": "minimum land cover quality 0..100",
    "min_ct": "minimum crop type quality 0..100",
    "subset": "1 to read the sample subset",
    "ids": "comma-separated collection ids",
}


def _number(value: Any) -> str:
    """A coordinate written exactly and short: ``3`` rather than ``3.0``."""
    if not isinstance(value, (int, float)):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _join(values: Any) -> str:
    return ",".join(str(v) for v in values)


def state_to_query_string(state: Any) -> str:
    """The query string of a dashboard link for the filters of ``state`` (default values left out).

    ``grouping`` is not part of links (save a session for it).
    """
    import shapely

    d = state_to_dict(state, include_endpoint=False)
    params: list[tuple[str, str]] = []
    if d["polygon"] is not None:
        with contextlib.suppress(Exception):  # an invalid polygon cannot be linked; the bbox still is
            params.append(("wkt", shapely.to_wkt(geometry_of(d["polygon"]), rounding_precision=-1)))
    if d["bbox"] is not None and not any(k == "wkt" for k, _ in params) and isinstance(d["bbox"], list):
        params.append(("bbox", _join(_number(v) for v in d["bbox"])))
    if d["start_date"]:
        params.append(("start", d["start_date"]))
    if d["end_date"]:
        params.append(("end", d["end_date"]))
    if d["ewoc_codes"]:
        params.append(("codes", _join(d["ewoc_codes"])))
    access = [a for a in ACCESS_KINDS if d[f"include_{a}"]]
    if access != ["public"]:
        params.append(("access", _join(access) or "none"))
    if d["min_quality_lc"]:
        params.append(("min_lc", str(d["min_quality_lc"])))
    if d["min_quality_ct"]:
        params.append(("min_ct", str(d["min_quality_ct"])))
    if d["subset"]:
        params.append(("subset", "1"))
    if d["selected_ids"]:
        params.append(("ids", _join(d["selected_ids"])))
    return urlencode(params, quote_via=quote, safe=",:()")


def _parse_param(key: str, value: str) -> dict[str, Any]:
    """One link parameter as query fields; raises InvalidInputError with a readable message."""
    from ..dates import parse_date
    from ..extents import normalize_ewoc_codes

    items = [v.strip() for v in value.split(",") if v.strip()]
    if key == "bbox":
        try:
            numbers = [float(v) for v in value.split(",")]
        except ValueError:
            raise BadExtentError("needs four numbers W,S,E,N") from None
        return {"bbox": tuple(bbox_list(numbers))}  # type: ignore[arg-type]
    if key == "wkt":
        polygon = polygon_mapping(value)
        return {"polygon": polygon, "bbox": tuple(bbox_list(geometry_of(polygon).bounds))}  # type: ignore[arg-type]
    if key in ("start", "end"):
        return {f"{key}_date": parse_date(value, name=f"{key} date")}
    if key == "codes":
        return {"ewoc_codes": normalize_ewoc_codes(items) or []}
    if key == "access":
        bad = [a for a in items if a.lower() not in (*ACCESS_KINDS, "none")]
        if bad:
            raise BadParameterError(f"{bad[0]!r} is not an access kind; use {', '.join(ACCESS_KINDS)}")
        kinds = {a.lower() for a in items}
        return {f"include_{a}": a in kinds for a in ACCESS_KINDS}
    if key in ("min_lc", "min_ct"):
        if not value.strip().isdigit() or not 0 <= int(value) <= 100:
            raise BadParameterError("needs a whole number from 0 to 100")
        return {f"min_quality_{key[4:]}": int(value)}
    if key == "subset":
        if value.strip().lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise BadParameterError("use 1 or 0")
        return {"subset": value.strip().lower() in ("1", "true", "yes")}
    if key == "ids":
        return {"selected_ids": list(dict.fromkeys(items))}
    raise BadParameterError(f"unknown parameter; known: {', '.join(URL_PARAMS)}")


def parse_query_string(query: str | None) -> tuple[dict[str, Any], list[str]]:
    """Read a dashboard link's query string.

    Every parameter is read on its own: one that is unknown or malformed is left out (its default stays)
    and explained in the returned problems, never raised.

    Parameters
    ----------
    query
        ``"bbox=3,50,6,52&start=2021-01-01&end=2021-12-31"`` (a leading ``?`` is allowed).

    Returns
    -------
    values : dict
        Query fields to set on a state (only the ones the link gives, all valid).
    problems : list of str
        One readable sentence per ignored parameter.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in parse_qsl((query or "").lstrip("?"), keep_blank_values=True):
        if key in ("voila-template", "voila-theme", "template", "theme", "token"):
            continue  # Voilà's own parameters
        try:
            values.update(_parse_param(key, value))
        except InvalidInputError as exc:
            shown = value if len(value) <= 60 else value[:57] + "..."
            problems.append(f"ignored {key}={shown}: {exc}")
    both = ("start_date" in values, "end_date" in values)
    if any(both) and not all(both):
        given = "start" if both[0] else "end"
        problems.append(f"ignored {given}=: a link needs both start and end dates")
        values.pop("start_date", None)
        values.pop("end_date", None)
    elif all(both) and values["start_date"] > values["end_date"]:
        problems.append(f"ignored start/end: start {values['start_date']} is after end {values['end_date']}")
        del values["start_date"], values["end_date"]
    return values, problems
