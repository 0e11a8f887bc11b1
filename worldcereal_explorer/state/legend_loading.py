"""Loading the crop legend in the background, as traits of the query state.

The legend comes over HTTP (the official CSV, or the local server's ``/legend.csv``) and the crop picker
needs it to draw its tree; loading it on a worker thread keeps the notebook or Voilà page responsive
while it arrives. :class:`LegendMixin` is one of the bases of
:class:`~worldcereal_explorer.state.RdmQueryState`; it expects the host to have a ``client``.
:class:`DefaultLegendLoader` is the same without a query state: it loads the process-wide default legend
(for the reference client's drop-in crop-type picker).
"""

from __future__ import annotations

import logging
from typing import Any

from traitlets import Any as AnyTrait
from traitlets import Enum, HasTraits, Unicode

from ..errors import WorldCerealExplorerError
from ..legend import default_legend
from .jobs import Job, JobRunner, describe, grouped_updates
from .kernel_thread import call_on_kernel_thread

__all__ = ["LEGEND_STATUSES", "DefaultLegendLoader", "LegendMixin"]

log = logging.getLogger(__name__)

#: Values of ``legend_status``.
LEGEND_STATUSES = ("unloaded", "loading", "ready", "error")

_LEGEND = "legend"


class LegendMixin(HasTraits):
    """``legend`` / ``legend_status`` / ``legend_message`` traits and :meth:`load_legend`."""

    legend = AnyTrait(None, allow_none=True, help="the Legend once loaded (see legend_status)")
    legend_status = Enum(LEGEND_STATUSES, default_value="unloaded")
    legend_message = Unicode("", help="why the legend could not be loaded")
    client: Any  # the host's: anything with a ``legend`` property

    def _init_legend(self) -> None:
        # Its own runner: loading the legend must not count as a query (status, wait()).
        self._legend_jobs = JobRunner(name="wce-legend")

    def load_legend(self, wait: bool = False, timeout: float | None = 60.0) -> Any:
        """Load the client's legend on a background thread into ``legend`` (once).

        ``legend_status`` goes ``"loading"`` then ``"ready"`` (``legend`` set) or ``"error"``
        (``legend_message`` says why). Calling it again while loading or after success does nothing;
        after an error it tries again.

        Parameters
        ----------
        wait
            Block until the legend is loaded (or failed), at most ``timeout`` seconds.
        timeout
            Seconds to wait when ``wait`` is true.

        Returns
        -------
        Legend or None
            The legend when it is loaded (by now), else ``None``.
        """
        with self._legend_jobs.condition:
            if self.legend_status in ("unloaded", "error") and not self._legend_jobs.closed:
                self.legend_status = "loading"
                self._legend_jobs.submit(_LEGEND, lambda job: self.client.legend, delay=0.0,
                                         on_result=lambda job: self._set_legend(job.result),
                                         on_error=self._legend_failed)
        if wait:
            self._legend_jobs.wait(timeout)
        return self.legend

    def _set_legend(self, legend: Any) -> None:
        with grouped_updates():
            self.legend = legend
            self.legend_message = ""
            self.legend_status = "ready"

    def _legend_failed(self, job: Job, exc: BaseException) -> None:
        if not isinstance(exc, WorldCerealExplorerError):
            log.warning("could not load the legend", exc_info=exc)
        self.legend_message = describe(exc)
        self.legend_status = "error"

    def _loaded_legend(self) -> Any:
        """The legend, loading it in this (worker) thread when no one has yet."""
        legend = self.legend
        if legend is None:
            legend = self.client.legend

            def keep() -> None:
                with self._legend_jobs.condition:
                    if self.legend is None:
                        self._set_legend(legend)

            call_on_kernel_thread(keep)  # the crop tree builds its rows when `legend` changes
        return legend

    def _label_of(self, code: int) -> str:
        return self._loaded_legend().label(code)

    def _labels_of(self, codes: list[int]) -> list[str]:
        try:
            return list(self._loaded_legend().labels(codes))
        except Exception:
            log.warning("legend unavailable; labelling samples by code", exc_info=True)
            raise

    def _close_legend(self, timeout: float) -> bool:
        return self._legend_jobs.close(timeout)


class _DefaultLegendSource:
    """Stands in for a client: its ``legend`` is the process-wide default legend."""

    @property
    def legend(self) -> Any:
        return default_legend()


class DefaultLegendLoader(LegendMixin):
    """Loads :func:`~worldcereal_explorer.legend.default_legend` on a worker thread, as traits.

    :class:`LegendMixin` without a query state: ``legend``, ``legend_status`` (``unloaded`` /
    ``loading`` / ``ready`` / ``error``), ``legend_message`` and :meth:`load_legend`.
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.client = _DefaultLegendSource()
        self._init_legend()

    def close(self, timeout: float = 5.0) -> bool:
        """Stop loading and join the worker thread; ``True`` when none is left."""
        return self._close_legend(timeout)
