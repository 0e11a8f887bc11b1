"""Collections read side by side: the bounded thread pool, its progress reports and the request slots.

Every multi-collection read (in memory, the preview counts, the streamed export) runs its per-collection work
through :func:`map_collections`; the Dask engine uses it to look collections up before it plans partitions.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from ...errors import DownloadError, InvalidInputError, QueryCancelledError, WorldCerealExplorerError
from ...transport.http import CallScope, HttpTransport, redact

__all__ = ["PROGRESS_DELAY_S", "ByteCounter", "SampleProgress", "map_collections", "request_slots"]

logger = logging.getLogger(__name__)

#: Seconds a query runs before its progress bars appear (``progress=True`` shows them at once).
PROGRESS_DELAY_S = 1.0


@dataclass(frozen=True)
class SampleProgress:
    """What :func:`read_samples` reports to a ``progress`` callback (always from the calling thread)."""

    collections_done: int
    collections_total: int
    bytes_read: int
    ref_id: str | None = None
    done: bool = False


def request_slots(client: Any, transport: HttpTransport) -> threading.BoundedSemaphore:
    """Bound on the range requests in flight across a query's collections: what the connection pool keeps."""
    pool = max(transport.policy.pool_maxsize, 4)
    return threading.BoundedSemaphore(max(pool, int(getattr(client, "max_workers", 8) or 8), 10))


class ByteCounter:
    """A thread-safe running total of bytes received, called with each chunk's size (``on_bytes``)."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def __call__(self, n: int) -> None:
        with self._lock:
            self.value += n


def map_collections(client: Any, transport: HttpTransport, ids: list[str],
                    work: Callable[[str, CallScope, ByteCounter], Any], *, scope: CallScope, progress: Any,
                    on_error: str) -> tuple[list[Any], dict[str, str], int]:
    """Run ``work(ref_id, collection_scope, on_bytes)`` for each id on a bounded pool.

    Each collection gets a child of ``scope``; cancelling ``scope`` (or its deadline), or a fail-fast
    error, trips every child, which aborts their requests in flight. Returns the results in input order
    (skipped ids left out), the skipped ids with their reasons, and the bytes received. No worker thread
    outlives this call.
    """
    stop = threading.Event()
    counter = ByteCounter()
    results: dict[int, Any] = {}
    skipped: dict[str, str] = {}
    bars = _progress_bars(progress, len(ids))
    done_count = 0
    reported_bytes = 0
    workers = max(1, min(int(getattr(client, "max_workers", 8) or 8), len(ids) or 1))

    def run(ref_id: str) -> Any:
        child = transport.scope(f"reading collection {ref_id}", cancel_event=stop, parent=scope)
        child.check()
        return work(ref_id, child, counter)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wce-samples")
    try:
        futures = {pool.submit(run, ref_id): i for i, ref_id in enumerate(ids)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            if scope.tripped:
                stopped = scope.error()
                raise type(stopped)(f"{stopped} after {done_count} of {len(ids)} collections")
            for future in sorted(done, key=futures.__getitem__):
                index = futures[future]
                error = future.exception()
                if error is None:
                    results[index] = future.result()
                elif isinstance(error, (QueryCancelledError, InvalidInputError)) or on_error == "raise":
                    raise _with_ref_id(error, ids[index])
                else:
                    skipped[ids[index]] = redact(error)
                    logger.warning("skipping collection %s: %s", ids[index], redact(error))
                done_count += 1
            current = counter.value
            if bars is not None:
                bars[0].update(len(done))
                bars[1].update(current - reported_bytes)
            changed = bool(done) or current != reported_bytes
            reported_bytes = current
            if callable(progress) and (changed or not pending):
                last = ids[max(futures[f] for f in done)] if done else None
                progress(SampleProgress(done_count, len(ids), reported_bytes, last, done=not pending))
        if not ids and callable(progress):
            progress(SampleProgress(0, 0, 0, None, done=True))
    except BaseException:
        stop.set()  # trips every collection scope: their requests in flight are aborted
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if bars is not None:
            for bar in bars:
                bar.close()
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} collection(s) that could not be read: {sorted(skipped)}",
            RuntimeWarning,
            stacklevel=5,  # the caller of RdmClient.get_samples
        )
    return [results[i] for i in sorted(results)], skipped, counter.value


def _progress_bars(progress: Any, total: int):
    """tqdm bars over collections and bytes, or ``None`` when the caller chose a callback or nothing."""
    if progress is False or callable(progress):
        return None
    from tqdm.auto import tqdm

    in_notebook = tqdm.__module__.startswith("tqdm.notebook")
    disable = False if (progress is True or in_notebook) else None  # None: only on a terminal
    # Bars show only for queries that take a while: quick ones would leave stubs in saved notebooks.
    delay = 0 if progress is True else PROGRESS_DELAY_S
    collections = tqdm(total=total, desc="collections", unit="coll", disable=disable, leave=False, delay=delay)
    transferred = tqdm(total=None, desc="downloaded", unit="B", unit_scale=True, unit_divisor=1024,
                       disable=disable, leave=False, delay=delay)
    return collections, transferred


def _with_ref_id(error: BaseException, ref_id: str) -> BaseException:
    """Errors already naming the collection pass through; others are wrapped in one that does."""
    if ref_id in str(error) or isinstance(error, (QueryCancelledError, InvalidInputError)):
        return error
    if isinstance(error, WorldCerealExplorerError):
        return DownloadError(f"collection {ref_id!r}: {error}").with_traceback(error.__traceback__)
    wrapped = DownloadError(f"collection {ref_id!r}: {type(error).__name__}: {redact(error)}")
    wrapped.__cause__ = error
    return wrapped
