"""A reusable background job runner: debounce timers, a generation counter per kind, cancel events.

The runner knows nothing about traits or the RDM: it schedules callables, makes sure that of each
*kind* of job only the newest one delivers its result, and can be closed leaving no thread behind.
:class:`~worldcereal_explorer.state.RdmQueryState` uses one for its searches and sample queries and
another for loading the legend.

Example
-------
>>> runner = JobRunner(name="demo")
>>> job = runner.submit("square", lambda job: 7 * 7)     # no delay: run it yourself ...
>>> runner.run(job).result                               # ... in this thread
49
>>> runner.close()
True
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import QueryCancelledError, WorldCerealExplorerError
from .kernel_thread import call_on_kernel_thread, drain, is_kernel_thread, kernel_loop

__all__ = ["Job", "JobRunner", "describe", "failure_message", "progress_fraction"]

#: How often a wait on a kernel's thread looks for queued deliveries (workers also wake it when they queue).
KERNEL_POLL_S = 0.05


@dataclass(eq=False)
class Job:
    """One unit of work and the handles to supersede it.

    Attributes
    ----------
    kind : str
        Jobs of the same kind supersede each other.
    generation : int
        Position of the job among the jobs of its kind (1, 2, ...).
    work : callable
        ``work(job) -> result``; should check ``job.cancel_event`` (or pass it on) to stop early.
    on_result, on_error : callable or None
        Called with the job (and the exception) once ``work`` returns or raises, unless the job was
        superseded first (see :meth:`JobRunner.submit`).
    context : dict
        Whatever the submitter wants to keep with the job (input versions, notes ...).
    cancel_event : threading.Event
        Set when the job is superseded or cancelled.
    timer : threading.Timer or None
        The delayed start of a job submitted with a ``delay`` (cancelled with the job).
    started, result, error
        Filled in as the job runs.
    """

    kind: str
    generation: int
    work: Callable[[Job], Any]
    on_result: Callable[[Job], None] | None = None
    on_error: Callable[[Job, BaseException], None] | None = None
    context: dict[str, Any] = field(default_factory=dict)
    cancel_event: threading.Event = field(default_factory=threading.Event)
    timer: threading.Timer | None = None
    started: bool = False
    result: Any = None
    error: BaseException | None = None

    @property
    def cancelled(self) -> bool:
        """Whether the job was superseded or cancelled."""
        return self.cancel_event.is_set()


class JobRunner:
    """Run jobs after a delay on worker threads; a newer job of a kind cancels the older one.

    Parameters
    ----------
    name
        Prefix of the worker threads' names (shows up in ``threading.enumerate()`` and tracebacks).
    on_settle
        Called (under :attr:`condition`) each time the runner becomes idle: no job scheduled or running.

    Notes
    -----
    Callbacks (``on_result``, ``on_error``, ``on_settle``) run while :attr:`condition` is held, so the
    check "is this job still the newest of its kind" and the delivery of its result are one step: a job
    superseded a moment earlier never delivers. The lock is re-entrant, so callers may hold it around
    :meth:`submit` to update their own state in the same step. Inside a Jupyter kernel they run on the
    kernel's thread whoever ran the job (:mod:`.kernel_thread`), so widgets observing what they set
    only ever talk to the browser from that thread.
    """

    def __init__(self, *, name: str = "wce-job", on_settle: Callable[[], None] | None = None):
        self.name = name
        self.on_settle = on_settle
        #: The runner's lock and condition; re-checked by :meth:`wait_for` whenever a job is
        #: scheduled, starts or ends.
        self.condition = threading.Condition(threading.RLock())
        self._generation: Counter[str] = Counter()
        self._latest: dict[str, Job] = {}
        self._pending: set[Job] = set()
        self._threads: set[threading.Thread] = set()
        self._closed = False
        #: How many jobs of each kind actually started (superseded-while-waiting ones never start).
        self.started: Counter[str] = Counter()

    # --- scheduling ---------------------------------------------------------------------------------
    def submit(
        self,
        kind: str,
        work: Callable[[Job], Any],
        *,
        delay: float | None = None,
        on_result: Callable[[Job], None] | None = None,
        on_error: Callable[[Job, BaseException], None] | None = None,
        **context: Any,
    ) -> Job:
        """Register a job of ``kind``, cancelling the previous one of that kind.

        Parameters
        ----------
        kind
            The job's kind; only the newest job of a kind delivers its result.
        work
            ``work(job) -> result``.
        delay
            Seconds to wait before running on a worker thread; a newer job submitted meanwhile means
            this one never starts. ``None``: do not schedule; the caller runs it with :meth:`run`.
        on_result, on_error
            Called with the job (and the exception) when it is still the newest of its kind.
        **context
            Stored on ``job.context``.

        Returns
        -------
        Job
            The new job; already cancelled when the runner is closed (it then never runs).
        """
        with self.condition:
            self._generation[kind] += 1
            job = Job(kind, self._generation[kind], work, on_result, on_error, context)
            if self._closed:
                job.cancel_event.set()
                return job
            old = self._latest.get(kind)
            if old is not None:
                self._cancel(old)
            self._latest[kind] = job
            self._pending.add(job)
            # forget timers that were cancelled before firing (they end without telling us)
            self._threads = {t for t in self._threads if t.is_alive()}
            if delay is not None:
                job.timer = threading.Timer(delay, self._run_on_worker, args=(job,))
                job.timer.name = f"{self.name}-{kind}-{job.generation}"
                job.timer.daemon = True
                self._threads.add(job.timer)
                # Started under the lock: the timer thread waits for it before running, and close()
                # never sees a timer that was registered but not yet started.
                job.timer.start()
            self.condition.notify_all()
        return job

    def _cancel(self, job: Job) -> None:
        job.cancel_event.set()
        if not job.started:
            if job.timer is not None:
                job.timer.cancel()
            self._pending.discard(job)

    def is_current(self, job: Job) -> bool:
        """Whether ``job`` is the newest of its kind and not cancelled."""
        return self._latest.get(job.kind) is job and not job.cancel_event.is_set()

    def _run_on_worker(self, job: Job) -> None:
        try:
            self.run(job)
        finally:
            with self.condition:
                self._threads.discard(threading.current_thread())
                self.condition.notify_all()

    def run(self, job: Job) -> Job:
        """Run ``job`` in this thread (unless it was superseded first) and return it.

        Its outcome is in ``job.result`` / ``job.error``; :class:`QueryCancelledError` counts as a
        cancellation, not an error, and is not reported to ``on_error``. Inside a Jupyter kernel a job run
        on a worker thread delivers on the kernel's thread (see :mod:`.kernel_thread`): the job counts as
        pending until then.
        """
        with self.condition:
            skip = job not in self._pending or job.cancel_event.is_set()
            if not skip:
                job.started = True
                self.started[job.kind] += 1
                self.condition.notify_all()
        if not skip:
            try:
                job.result = job.work(job)
            except Exception as exc:  # reported to on_error (cancellations aside); never escapes a worker
                job.error = exc
        if is_kernel_thread():
            self._finish(job)
        else:
            call_on_kernel_thread(lambda: self._finish(job))
            with self.condition:  # wake waiters on the kernel's thread: they drain the queue
                self.condition.notify_all()
        return job

    def _finish(self, job: Job) -> None:
        """Deliver ``job``'s outcome if it is still the newest of its kind, then let it go."""
        with self.condition:
            try:
                if job.started and self.is_current(job):
                    if job.error is None:
                        if job.on_result is not None:
                            try:
                                job.on_result(job)
                            except Exception as exc:  # a failing apply is the job's failure
                                job.error = exc
                                if job.on_error is not None:
                                    job.on_error(job, exc)
                    elif not isinstance(job.error, QueryCancelledError) and job.on_error is not None:
                        job.on_error(job, job.error)
            finally:
                self._pending.discard(job)
                self._settle()

    def _settle(self) -> None:
        if not self._pending and self.on_settle is not None:
            self.on_settle()
        self.condition.notify_all()

    # --- control --------------------------------------------------------------------------------------
    def cancel(self, kinds: Iterable[str] | None = None) -> list[Job]:
        """Cancel the scheduled and running jobs (of ``kinds``, default all); return them."""
        wanted = None if kinds is None else set(kinds)
        with self.condition:
            jobs = [j for j in self._pending if wanted is None or j.kind in wanted]
            for job in jobs:
                self._cancel(job)
            self._settle()
        return jobs

    def is_pending(self, kind: str) -> bool:
        """Whether a job of ``kind`` is scheduled, running or (inside a kernel) waiting to deliver."""
        with self.condition:
            return any(job.kind == kind for job in self._pending)

    @property
    def busy(self) -> bool:
        """True while a job is scheduled, running or (inside a kernel) waiting to deliver."""
        drain()  # a kernel's thread polling `busy` must still see jobs finish
        with self.condition:
            return bool(self._pending)

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until no job is scheduled or running; ``False`` on timeout."""
        return self.wait_for(lambda: not self._pending, timeout)

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = 60.0) -> bool:
        """Block until ``predicate()`` is true (re-checked whenever a job is scheduled, starts or ends);
        ``False`` on timeout.

        On a kernel's thread the wait also applies what worker threads queued for it (their results
        would otherwise wait for this very thread), checking every ``KERNEL_POLL_S`` seconds.
        """
        if kernel_loop() is None or not is_kernel_thread():
            with self.condition:
                return self.condition.wait_for(predicate, timeout=timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            drain()
            with self.condition:
                if predicate():
                    return True
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self.condition.wait(KERNEL_POLL_S if left is None else min(KERNEL_POLL_S, left))

    @property
    def threads(self) -> list[threading.Thread]:
        """The runner's worker threads still alive."""
        with self.condition:
            return [t for t in self._threads if t.is_alive()]

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (later submissions are cancelled at once)."""
        return self._closed

    def close(self, timeout: float = 5.0) -> bool:
        """Cancel every job, refuse new ones, and join the worker threads for at most ``timeout`` seconds.

        Returns
        -------
        bool
            ``True`` when no worker thread is left alive.
        """
        with self.condition:
            self._closed = True
        self.cancel()
        deadline = time.monotonic() + timeout
        me = threading.current_thread()
        for thread in self.threads:
            if thread is not me:  # close() called from a job's own callback
                thread.join(max(0.0, deadline - time.monotonic()))
        return not [t for t in self.threads if t is not me]


def describe(exc: BaseException) -> str:
    """A one-line message for a status bar: the package's errors speak for themselves (and never carry
    secrets); others get their type name in front."""
    if isinstance(exc, WorldCerealExplorerError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def failure_message(exc: BaseException, what: str, logger: logging.Logger) -> str:
    """:func:`describe` for a job that failed; an error the package did not raise is logged first.

    Any failure must reach the UI as a message, not a traceback; one that is not a
    :class:`~worldcereal_explorer.errors.WorldCerealExplorerError` is a bug, so its traceback also goes to
    ``logger`` (``"unexpected error in {what}"``).

    Parameters
    ----------
    exc : BaseException
        What the job raised.
    what : str
        The work that failed, for the log line (``"the training steps"``).
    logger : logging.Logger
        The caller's logger, so the line names the module that ran the job.

    Returns
    -------
    str
        The one-line message for the status bar.
    """
    if not isinstance(exc, WorldCerealExplorerError):
        logger.exception("unexpected error in %s", what, exc_info=exc)
    return describe(exc)


def progress_fraction(*args: Any, **kwargs: Any) -> float | None:
    """A progress report as a fraction in 0..1, or ``None`` when it cannot be read.

    Accepts what progress callbacks receive: a ``SampleProgress`` event (``collections_done`` /
    ``collections_total``), a fraction, ``(done, total)`` or ``done=..., total=...``.
    """
    event: Any = args[0] if args else None
    if hasattr(event, "collections_done"):
        done, total = event.collections_done, event.collections_total
    else:
        done = kwargs.get("done", event)
        total = kwargs.get("total", args[1] if len(args) > 1 else None)
    try:
        fraction = float(done) / float(total) if total else float(done)
    except (TypeError, ValueError):
        return None
    return min(1.0, max(0.0, fraction))


def grouped_updates() -> contextlib.AbstractContextManager[None]:
    """The context for setting several traits from a worker thread: none at all, on purpose.

    ``HasTraits.hold_trait_notifications`` swaps the object's ``notify_change`` for every thread: a trait the
    kernel's thread sets meanwhile (a user changing a filter) is queued and fired later on the worker thread,
    so the widgets react out of order. Worker threads therefore set their traits one by one, the status last.
    """
    return contextlib.nullcontext()
