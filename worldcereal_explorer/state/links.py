"""A dashboard link's query string: the filters of an :class:`~worldcereal_explorer.state.RdmQueryState` written
as ``bbox=3,50,6,52&start=2021-01-01&...`` and read back, one parameter at a time (a bad one is explained and
left out, never raised: a shared link must still open).

The query's format is :class:`~worldcereal_explorer.rdm.query.RdmQuery`'s (``to_url_query`` /
:func:`~worldcereal_explorer.rdm.query.parse_url_query`); this module adds what else a colleague needs to see
the same classes and build the same training set, as a saved session holds them (:data:`LINK_PARAMS`): the
crop groups (``group=wheat:1101010001,1101010002``, one per group) and the training settings (``cap=500``,
``split=0.8,0.1,0.1``). A link without them (an older one) opens ungrouped with the default settings.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote_plus

from ..errors import InvalidInputError
from ..rdm.query import URL_PARAMS, parse_url_query
from .serialize import check_grouping, input_value, shareable_query

__all__ = ["LINK_PARAMS", "URL_PARAMS", "parse_query_string", "state_to_query_string"]

#: The link's parameters besides the query's (:data:`~worldcereal_explorer.rdm.query.URL_PARAMS`).
LINK_PARAMS = {
    "group": "a crop group: LABEL:CODE,CODE,... (one parameter per group)",
    "cap": "the training set's cap per class, a whole number (0: no cap)",
    "split": "the training set's split shares TRAIN,VALIDATION,TEST summing to 1",
}

_DEFAULT_SHARES = (0.7, 0.15, 0.15)


def _number(value: float) -> str:
    return f"{value:g}"


def state_to_query_string(state: Any) -> str:
    """The query string of a dashboard link for ``state``: its filters (default values left out), its crop
    groups and, when it has a training service, its cap and split (when not the defaults).

    An input that is invalid (a half-typed bbox) is left out.
    """
    from .training import training_settings

    query, _invalid = shareable_query(state)
    parts = [query.to_url_query()] if query.to_url_query() else []
    groups: dict[str, list[int]] = {}
    for code, label in (state.grouping or {}).items():
        groups.setdefault(str(label), []).append(int(code))
    for label, codes in groups.items():
        parts.append("group=" + quote(label, safe="") + ":" + ",".join(str(c) for c in sorted(codes)))
    settings = training_settings(state)
    if settings.get("max_per_class"):
        parts.append(f"cap={int(settings['max_per_class'])}")
    shares = tuple(settings.get("shares") or _DEFAULT_SHARES)
    if any(abs(a - b) > 1e-9 for a, b in zip(shares, _DEFAULT_SHARES, strict=True)):
        parts.append("split=" + ",".join(_number(v) for v in shares))
    return "&".join(parts)


def _link_items(query: str) -> tuple[str, list[tuple[str, str]]]:
    """``query`` without this module's parameters, and those parameters (decoded) in order."""
    rest, ours = [], []
    for piece in query.lstrip("?").split("&"):
        key, _, value = piece.partition("=")
        name = unquote_plus(key)
        if name in LINK_PARAMS:
            ours.append((name, unquote_plus(value)))
        elif piece:
            rest.append(piece)
    return "&".join(rest), ours


def _read_link_param(name: str, value: str, values: dict[str, Any]) -> None:
    from .training import check_training_settings

    if name == "group":
        label, sep, codes = value.rpartition(":")
        if not sep or not label.strip() or not codes:
            raise InvalidInputError("needs LABEL:CODE,CODE,... (a label, a colon, comma-separated ewoc codes)")
        try:
            group = check_grouping({c.strip(): label for c in codes.split(",")})
        except InvalidInputError as exc:
            raise InvalidInputError(str(exc).removeprefix("grouping: ")) from None
        values.setdefault("grouping", {}).update(group)
    elif name == "cap":
        try:
            cap = int(value)
        except ValueError:
            raise InvalidInputError("needs a whole number >= 0 (0: no cap)") from None
        setting = check_training_settings({"max_per_class": cap})
        values.setdefault("training", {}).update(setting)
    else:
        setting = check_training_settings({"shares": value})
        values.setdefault("training", {}).update(setting)


def parse_query_string(query: str | None) -> tuple[dict[str, Any], list[str]]:
    """Read a dashboard link's query string.

    Every parameter is read on its own: one that is unknown or malformed is left out (its default stays)
    and explained in the returned problems, never raised.

    Parameters
    ----------
    query
        ``"bbox=3,50,6,52&start=2021-01-01&end=2021-12-31&group=wheat:1101010001,1101010002&cap=500"`` (a
        leading ``?`` is allowed).

    Returns
    -------
    values : dict
        Query fields to set on a state (only the ones the link gives, all valid, as the state's traits hold
        them: a ``wkt`` gives ``polygon`` as GeoJSON and ``bbox`` its bounds); ``grouping`` ``{code: label}``
        when the link has groups; ``training`` (``max_per_class``, ``shares``) when it has training settings
        (:func:`~worldcereal_explorer.state.serialize.apply_state_dict` sets both).
    problems : list of str
        One readable sentence per ignored parameter.
    """
    rest, ours = _link_items(query or "")
    values, problems = parse_url_query(rest)
    out: dict[str, Any] = {name: input_value(name, value) for name, value in values.items()}
    for name, value in ours:
        try:
            _read_link_param(name, value, out)
        except InvalidInputError as exc:
            problems.append(f"ignored {name}={value}: {exc}")
    return out, problems
