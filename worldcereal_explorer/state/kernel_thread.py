"""Apply what worker threads produce on the kernel's own thread.

Widgets react to trait changes of the state by changing their own traits and, often, by creating new
widget models (table rows, tree rows, map layers). Each of those sends messages to the browser: a new
model's opening message, then the parent's update that names it. When a worker thread sets the state's
traits, those messages leave from the worker thread while the kernel's thread may be sending others
for the same widgets (a click being handled, a layer being removed); the browser can then receive an
update naming a model it was never told about, or was already told is closed ("Cannot read properties
of undefined (reading 'create_view')").

So inside a Jupyter kernel every result, error, progress report or status change a worker thread
produces is queued here and applied on the kernel's thread, between the messages it handles. Outside a
kernel (plain Python, scripts, tests) there is no such thread to protect and callbacks run at once, in
the thread that produced them, as before.

A kernel's thread that blocks on a query (``state.wait()``, ``busy`` polled in a loop) would never get
back to its event loop to apply the queue; :func:`drain` is therefore called by every wait of
:class:`~worldcereal_explorer.state.jobs.JobRunner` on that thread.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["call_on_kernel_thread", "drain", "is_kernel_thread", "kernel_loop", "pending"]

log = logging.getLogger(__name__)

_lock = threading.Lock()
#: queued callbacks in order; a keyed entry is a one-item list so a newer report of the same key can
#: replace it in place (progress: only the newest value matters)
_queue: deque[tuple[Hashable | None, list[Callable[[], None]]]] = deque()
_keyed: dict[Hashable, list[Callable[[], None]]] = {}


def kernel_loop() -> Any:
    """The running Jupyter kernel's event loop (a tornado ``IOLoop``), or ``None`` outside a kernel."""
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:  # a kernel always imported IPython; never import it ourselves
        return None
    try:
        shell = ipython_module.get_ipython()
    except Exception:  # noqa: BLE001 - a half-initialised IPython is "no kernel"
        return None
    kernel = getattr(shell, "kernel", None)
    return getattr(kernel, "io_loop", None)


def is_kernel_thread() -> bool:
    """Whether this thread is the one trait changes must happen on: the kernel's (main) thread inside a
    kernel; any thread outside one."""
    return kernel_loop() is None or threading.current_thread() is threading.main_thread()


def call_on_kernel_thread(callback: Callable[[], None], *, key: Hashable | None = None) -> None:
    """Run ``callback()`` on the kernel's thread: now when this is that thread (or there is no kernel),
    else as soon as the kernel's event loop is free (or a wait on that thread drains the queue).

    Parameters
    ----------
    callback
        Takes no argument; its exceptions are logged, never raised into the event loop.
    key
        Callbacks with the same key that are still queued are replaced by the newest (progress reports).
    """
    loop = kernel_loop()
    if loop is None or threading.current_thread() is threading.main_thread():
        callback()  # in the caller's thread, errors included: nothing else would see them
        return
    with _lock:
        holder = _keyed.get(key) if key is not None else None
        if holder is not None:
            holder[0] = callback
            return
        holder = [callback]
        _queue.append((key, holder))
        if key is not None:
            _keyed[key] = holder
    try:
        loop.add_callback(drain)  # thread-safe by tornado's contract
    except RuntimeError:  # the loop is closed: the kernel is shutting down; nothing will show it anyway
        log.debug("kernel event loop closed; a queued update stays unapplied")


def drain() -> int:
    """Run every queued callback (on the kernel's thread only); return how many ran."""
    if not is_kernel_thread():
        return 0
    ran = 0
    while True:
        with _lock:
            if not _queue:
                return ran
            key, holder = _queue.popleft()
            if key is not None:
                _keyed.pop(key, None)
        _run(holder[0])
        ran += 1


def pending() -> int:
    """How many callbacks are queued for the kernel's thread."""
    with _lock:
        return len(_queue)


def _run(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # a failing observer must not stop the others or the kernel's loop
        log.exception("an update applied on the kernel's thread failed")
