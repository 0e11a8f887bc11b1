"""The sample fetch: the samples of the current query as a labelled GeoDataFrame.

:class:`SampleService` is the query state's ``fetch_samples``: :meth:`SampleService.run` reads the fetch
query (:func:`~worldcereal_explorer.state.services.fetch_query`), reads the samples through the client and
adds the ``label`` / ``new_label`` columns. It sets no trait: progress goes to the callback it is given and
the state applies the result, only if the job is still the newest fetch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import FetchTooLargeError, QueryCancelledError, RdmError
from . import counts as _counts
from .jobs import Job
from .preview import refusal_error
from .services import ServiceContext

__all__ = ["SampleService"]


class SampleService:
    """Fetch the samples of the fetch query.

    Parameters
    ----------
    context
        ``context.query()`` returns the *fetch* query (selected or found collections, private only with a
        session); the client; the runner of the state's queries.
    labels_of
        ``labels_of(codes) -> labels`` from the legend.
    """

    def __init__(self, context: ServiceContext, labels_of: Callable[[list[int]], list[str]]):
        self.context = context
        self._labels_of = labels_of

    def run(self, job: Job, *, grouping: Mapping[Any, str], progress: Callable[..., None]) -> Any:
        """Fetch (on ``job``'s thread) and return the labelled samples (``attrs["skipped"]``: the
        collections left out, ``{ref_id: why}``).

        Parameters
        ----------
        job
            The job it runs as (its ``cancel_event`` stops the reads).
        grouping
            ``{ewoc_code: new_label}`` for the ``new_label`` column.
        progress
            The client's progress callback.

        Raises
        ------
        InvalidInputError
            An invalid input.
        RdmError
            Not one of the query's collections could be read (an empty frame would pass for "no sample
            matches"; the error names the collections and the first reason).
        FetchTooLargeError
            Over the client's memory budget (with the dashboard's message: the two ways out).
        QueryCancelledError
            The job was cancelled.
        """
        query = self.context.query()
        try:
            samples = self.context.client().get_samples(
                query=query,
                progress=progress,
                cancel_event=job.cancel_event,
                on_error="skip",  # one unreadable collection must not cost the user every other one
            )
        except FetchTooLargeError as exc:  # refused: say why and the two ways out (narrow, or stream to a file)
            raise refusal_error(exc) from None
        if job.cancelled:
            raise QueryCancelledError("sample query cancelled")
        skipped = dict(samples.attrs.get("skipped") or {})
        ids = set(query.selected_ids)
        if skipped and ids and ids <= set(skipped):
            # "the whole note": which collections and the first reason, as the status line words it
            note = _counts.failure_note("samples", skipped).split(" failed ", 1)[1]
            raise RdmError(f"fetch failed: none of the {_counts.plural(len(ids), 'collection')} could be read "
                           f"{note}")
        labelled = _counts.label_samples(samples, self._labels_of, grouping)
        labelled.attrs["skipped"] = skipped
        return labelled
