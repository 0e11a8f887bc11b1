"""Loading the crop legend in the background, as traits of the query state.

The legend comes over HTTP (the official CSV, or the local server's ``/legend.csv``) and the crop picker
needs it to draw its tree; loading it on a worker thread keeps the notebook or Voilà page responsive
while it arrives. :class:`LegendService` is the legend of :class:`~worldcereal_explorer.state.RdmQueryState`
(its ``legend`` traits and ``load_legend``).
:class:`DefaultLegendLoader` is the same without a query state: it loads the process-wide default legend
(for the reference client's drop-in crop-type picker).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from traitlets import Any as AnyTrait
from traitlets import Enum, HasTraits, Unicode

from ..errors import WorldCerealExplorerError
from ..legend import default_legend
from .jobs import Job, JobRunner, describe, grouped_updates
from .kernel_thread import call_on_kernel_thread

__all__ = ["LEGEND_STATUSES", "DefaultLegendLoader", "LegendOutputs", "LegendService"]

log = logging.getLogger(__name__)

#: Values of ``legend_status``.
LEGEND_STATUSES = ("unloaded", "loading", "ready", "error")

_LEGEND = "legend"


class LegendOutputs(Protocol):
    """The traits :class:`LegendService` writes (the query state's, or :class:`DefaultLegendLoader`'s)."""

    legend: Any
    legend_status: str
    legend_message: str


class LegendService:
    """Load the client's legend once, on a worker thread of its own, into ``outputs.legend``.

    Parameters
    ----------
    client
        ``client()`` returns anything with a ``legend`` property (the RDM client).
    outputs
        Where ``legend`` / ``legend_status`` / ``legend_message`` are (see :class:`LegendOutputs`).
    jobs
        The runner it loads on; its own by default, so loading the legend never counts as a query
        (``status``, ``wait()``).
    """

    def __init__(self, client: Callable[[], Any], outputs: LegendOutputs, jobs: JobRunner | None = None):
        self._client = client
        self.outputs = outputs
        self.jobs = jobs if jobs is not None else JobRunner(name="wce-legend")

    def load(self, wait: bool = False, timeout: float | None = 60.0) -> Any:
        """Load the legend on a background thread into ``outputs.legend`` (once; again after an error).

        ``legend_status`` goes ``"loading"`` then ``"ready"`` or ``"error"`` (``legend_message`` says why).

        Parameters
        ----------
        wait, timeout
            With ``wait``, return only once the legend is there or failed (at most ``timeout`` seconds).

        Returns
        -------
        Legend or None
            ``outputs.legend`` by then.
        """
        out = self.outputs
        with self.jobs.condition:
            if out.legend_status in ("unloaded", "error") and not self.jobs.closed:
                out.legend_status = "loading"
                self.jobs.submit(_LEGEND, lambda job: self._client().legend, delay=0.0,
                                 on_result=lambda job: self._set(job.result), on_error=self._failed)
        if wait:
            self.jobs.wait(timeout)
        return out.legend

    def _set(self, legend: Any) -> None:
        out = self.outputs
        with grouped_updates():
            out.legend = legend
            out.legend_message = ""
            out.legend_status = "ready"

    def _failed(self, job: Job, exc: BaseException) -> None:
        if not isinstance(exc, WorldCerealExplorerError):
            log.warning("could not load the legend", exc_info=exc)
        self.outputs.legend_message = describe(exc)
        self.outputs.legend_status = "error"

    def loaded(self) -> Any:
        """The legend, loading it in this (worker) thread when no one has yet."""
        legend = self.outputs.legend
        if legend is None:
            legend = self._client().legend

            def keep() -> None:
                with self.jobs.condition:
                    if self.outputs.legend is None:
                        self._set(legend)

            call_on_kernel_thread(keep)  # the crop tree builds its rows when `legend` changes
        return legend

    def label_of(self, code: int) -> str:
        """The legend's label of ``code`` (loading the legend in this thread if needed)."""
        return self.loaded().label(code)

    def labels_of(self, codes: list[int]) -> list[str]:
        """The legend's labels of ``codes`` (loading the legend in this thread if needed)."""
        try:
            return list(self.loaded().labels(codes))
        except Exception:
            log.warning("legend unavailable; labelling samples by code", exc_info=True)
            raise

    def close(self, timeout: float) -> bool:
        """Stop loading and join the worker thread; ``True`` when none is left."""
        return self.jobs.close(timeout)


class DefaultLegendLoader(HasTraits):
    """Loads :func:`~worldcereal_explorer.legend.default_legend` on a worker thread, as traits.

    A :class:`LegendService` without a query state: ``legend``, ``legend_status`` (``unloaded`` /
    ``loading`` / ``ready`` / ``error``), ``legend_message`` and :meth:`load_legend`.
    """

    legend = AnyTrait(None, allow_none=True, help="the Legend once loaded (see legend_status)")
    legend_status = Enum(LEGEND_STATUSES, default_value="unloaded")
    legend_message = Unicode("", help="why the legend could not be loaded")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._service = LegendService(_DefaultLegendSource, self)

    def load_legend(self, wait: bool = False, timeout: float | None = 60.0) -> Any:
        """Load the default legend in the background (see :meth:`LegendService.load`)."""
        return self._service.load(wait, timeout)

    def close(self, timeout: float = 5.0) -> bool:
        """Stop loading and join the worker thread; ``True`` when none is left."""
        return self._service.close(timeout)


class _DefaultLegendSource:
    """Stands in for a client: its ``legend`` is the process-wide default legend."""

    @property
    def legend(self) -> Any:
        return default_legend()
