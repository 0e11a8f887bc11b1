"""What the query state's services are handed, and the query rules they share.

:class:`~worldcereal_explorer.state.RdmQueryState` is composed of services, one job each: the collection
search (:mod:`.search`), the sample fetch (:mod:`.samples`), the sample preview (:mod:`.preview`), the
exports (:mod:`.exports`), the legend (:mod:`.legend_loading`) and the login (:mod:`.session`). Each is
handed a :class:`ServiceContext` (the current query, the client, a job runner) and, when it shows
something, an *outputs* object: a small :class:`typing.Protocol` naming the public traits it reads and
writes (the state is one). None of them imports the state or touches another's attributes, so the state's
modules import in one direction: ``query`` → services → ``services`` / ``jobs`` / ``counts``.

The rules every service applies the same way live here once: which collections a fetch reads
(:func:`fetch_query`: the selected ones, else the ones found) and whether non-public collections may be
asked for (:func:`private_allowed`: only with a session).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .jobs import Job, JobRunner

if TYPE_CHECKING:
    from ..rdm.query import RdmQuery

__all__ = [
    "ErrorReporter",
    "ServiceContext",
    "StatusOutputs",
    "fetch_ids",
    "fetch_query",
    "private_allowed",
]

#: ``report(job, exc)``: how a service hands a failure to the status line it shares with the others.
ErrorReporter = Callable[[Job, BaseException], None]


@dataclass(frozen=True)
class ServiceContext:
    """What a service of the query state is handed.

    Attributes
    ----------
    query
        ``query()`` returns the current :class:`~worldcereal_explorer.rdm.query.RdmQuery` (validated on
        construction, so it raises the input's own error); called on the service's worker thread when the
        job starts, so a job reads the inputs as they are then.
    client
        ``client()`` returns the :class:`~worldcereal_explorer.rdm.client.RdmClient` (built on first use).
    jobs
        The :class:`~worldcereal_explorer.state.jobs.JobRunner` the service submits its jobs to; services
        that share one (search, samples, exports: the state's *queries*) cancel and wait together.
    """

    query: Callable[[], RdmQuery]
    client: Callable[[], Any]
    jobs: JobRunner


class StatusOutputs(Protocol):
    """The shared status line a service running as a query writes (the state's traits of that name)."""

    status: str
    message: str
    progress: float
    progress_done: int
    progress_total: int


def private_allowed(query: RdmQuery, client: Any) -> bool:
    """Whether a request may ask for non-public collections: the query includes them and the client has a
    session. A background search must never start a login flow (``RdmQueryState.login`` does that, and
    searches again afterwards)."""
    if not (query.include_private or query.include_restricted):
        return False
    return bool(getattr(client, "is_authenticated", True))


def fetch_ids(selected: Sequence[str], found: Sequence[Any]) -> tuple[str, ...]:
    """The collections a fetch reads: the selected ids, else the ids of the collections ``found`` by the
    search, else ``()`` (every collection the filters find: no search has run yet).

    This is the one place of that rule: the fetch, the preview, the streamed export and the code snippet
    all read the collections through :func:`fetch_query`.
    """
    return tuple(selected) or tuple(c.id for c in found)


def fetch_query(query: RdmQuery, found: Sequence[Any], client: Any) -> RdmQuery:
    """The query a sample fetch runs for ``query``: ``selected_ids`` by :func:`fetch_ids`, and the
    non-public collections only when :func:`private_allowed`."""
    private = private_allowed(query, client)
    return query.replace(selected_ids=fetch_ids(query.selected_ids, found),
                         include_private=private and query.include_private,
                         include_restricted=private and query.include_restricted)
