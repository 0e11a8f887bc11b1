"""A dashboard link's query string: the filters of an :class:`~worldcereal_explorer.state.RdmQueryState` written
as ``bbox=3,50,6,52&start=2021-01-01&...`` and read back, one parameter at a time (a bad one is explained and
left out, never raised: a shared link must still open).

The format is :class:`~worldcereal_explorer.rdm.query.RdmQuery`'s (``to_url_query`` /
:func:`~worldcereal_explorer.rdm.query.parse_url_query`); this module adds what the state needs around it.
"""

from __future__ import annotations

from typing import Any

from ..rdm.query import URL_PARAMS, parse_url_query
from .serialize import input_value, shareable_query

__all__ = ["URL_PARAMS", "parse_query_string", "state_to_query_string"]


def state_to_query_string(state: Any) -> str:
    """The query string of a dashboard link for the filters of ``state`` (default values left out).

    An input that is invalid (a half-typed bbox) is left out; ``grouping`` is not part of links (save a
    session for it).
    """
    query, _invalid = shareable_query(state)
    return query.to_url_query()


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
        Query fields to set on a state (only the ones the link gives, all valid, as the state's traits hold
        them: a ``wkt`` gives ``polygon`` as GeoJSON and ``bbox`` its bounds).
    problems : list of str
        One readable sentence per ignored parameter.
    """
    values, problems = parse_url_query(query)
    return {name: input_value(name, value) for name, value in values.items()}, problems
