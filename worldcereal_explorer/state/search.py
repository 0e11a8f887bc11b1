"""The collection search: which collections match the query's space, time, access and crops, and their counts.

:class:`SearchService` is the query state's search (``RdmQueryState.search``/``refresh``): one call of
:meth:`SearchService.run` reads the current query, asks the client for the collections and their crop
counts and returns a :class:`SearchResult`. It sets no trait: the state applies the result, only if the job
is still the newest search.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import QueryCancelledError
from ..rdm.query import SEARCH_FIELDS
from . import counts as _counts
from .jobs import Job
from .services import ServiceContext, private_allowed

if TYPE_CHECKING:
    from ..rdm.query import RdmQuery

__all__ = ["SearchResult", "SearchService"]


@dataclass
class SearchResult:
    """What one search found.

    Attributes
    ----------
    collections
        The matching collections (also matching the crop filter, when one is set).
    class_counts
        Whole-collection totals per ``(ewoc_code, Label)`` over the collections of the space / time /
        access search, every code (what the crop tree shows).
    counts
        ``class_counts`` restricted to the selected codes and the collections holding them.
    filtered
        Whether a crop filter was applied.
    note
        What the status line adds (collections left out, "log in to ..."), or ``""``.
    failed
        ``{ref_id: why}`` collections whose counts could not be read.
    """

    collections: list
    class_counts: pd.DataFrame
    counts: pd.DataFrame
    filtered: bool
    note: str = ""
    failed: dict[str, str] = field(default_factory=dict)


class SearchService:
    """Run the collection search of a query; remember the last unfiltered answer.

    Parameters
    ----------
    context
        The current query, the client and the runner of the state's queries.
    label_of
        ``label_of(ewoc_code) -> str`` from the legend (labels of the restricted counts).
    """

    def __init__(self, context: ServiceContext, label_of: Callable[[int], str]):
        self.context = context
        self._label_of = label_of
        #: (space / time / access key, collections, class_counts) of the last completed unfiltered search
        self._unfiltered: tuple[Any, list, pd.DataFrame] | None = None

    def run(self, job: Job, *, reuse: bool = False) -> SearchResult:
        """Search for the current query (on ``job``'s thread).

        Parameters
        ----------
        job
            The job it runs as (its ``cancel_event`` stops the requests).
        reuse
            Answer from the last unfiltered search when only the crop selection changed since.

        Raises
        ------
        InvalidInputError
            An invalid input (from the query).
        QueryCancelledError
            The job was superseded or cancelled.
        """
        query = self.context.query()
        client = self.context.client()
        codes = list(query.ewoc_codes) or None
        private = private_allowed(query, client)
        note = ""
        if (query.include_private or query.include_restricted) and not private:
            note = "log in to include private and restricted collections"
        if not (query.include_public or private):
            return SearchResult([], _counts.empty_counts(), _counts.empty_counts(), codes is not None, note)
        # Without the crops (applied here, see _search_unfiltered) and the non-public levels only with a session.
        unfiltered = query.replace(ewoc_codes=(), include_private=private and query.include_private,
                                   include_restricted=private and query.include_restricted)
        key = tuple(getattr(unfiltered, name) for name in SEARCH_FIELDS)  # what its answer depends on
        cached = self._unfiltered
        if reuse and cached is not None and cached[0] == key:
            # Only the crop selection changed: the unfiltered answer already holds every code.
            collections, class_counts = cached[1], cached[2]
            failed: dict[str, str] = {}
        else:
            collections, class_counts, failed, search_note = self._search_unfiltered(job, unfiltered, client)
            note = "; ".join(n for n in (note, search_note) if n)
            self._unfiltered = (key, collections, class_counts)
        if codes is None:
            return SearchResult(collections, class_counts, class_counts, False, note, failed)
        matching = _counts.filter_by_codes(collections, codes, class_counts)
        restricted = _counts.restrict_counts(class_counts, codes, [c.id for c in matching], self._label_of)
        return SearchResult(matching, class_counts, restricted, True, note, failed)

    def _search_unfiltered(self, job: Job, query: RdmQuery,
                           client: Any) -> tuple[list, pd.DataFrame, dict[str, str], str]:
        # The crop filter is applied locally rather than by the RDM: the crop tree needs every class's
        # totals over the space / time / access search, and one unfiltered code-statistics call per
        # collection gives both those and the filtered view.
        spatial = query.spatial_extent
        # the client keeps the access levels the query includes (private and restricted apart)
        collections = client.get_collections(query=query, cancel_event=job.cancel_event)
        if spatial is not None and spatial.geometry is not None:
            # The RDM searches by the polygon's box; list, count and chart only what the polygon can hold.
            collections = _counts.within_polygon(collections, spatial.geometry)
        if job.cancelled:
            raise QueryCancelledError("collection search superseded")
        if collections:
            class_counts = client.get_crop_counts([c.id for c in collections], cancel_event=job.cancel_event,
                                                  on_error="skip")
        else:
            class_counts = _counts.empty_counts()
        if job.cancelled:
            raise QueryCancelledError("crop counts superseded")
        failed = dict(class_counts.attrs.get("errors") or {})
        note = _counts.failure_note("crop counts", failed) if failed else ""
        if query.includes_non_public and not any(c.access_type != "Public" for c in collections):
            access_note = client.private_access_note(0) if hasattr(client, "private_access_note") else ""
            note = "; ".join(n for n in (note, access_note) if n)
        return collections, class_counts, failed, note
