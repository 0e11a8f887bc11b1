"""The file URLs of one sample read, looked up ahead while the read waits for something else.

A read over collections named by id first asks the RDM for their extents (to leave out files that cannot
match) and then for their file URLs: two round trips one after the other. Started together, the URL lookups
ride along with the extent lookups, and the read saves a round trip per collection. A URL looked up for a
collection the extents then leave out is not used; nothing of its file is read.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ...transport.http import CallScope
from .collection import sample_file_url

__all__ = ["FileUrls"]

#: How many URL lookups run side by side.
MAX_PARALLEL_URL_LOOKUPS = 16


class FileUrls:
    """Where one read's collections' files are: looked up ahead (:meth:`start`) or when asked (:meth:`get`).

    Parameters
    ----------
    client
        The RDM client (``get_download_url``).
    subset
        Whether the read wants the extraction subset files.
    cancel_event
        The read's cancel event: setting it stops the lookups started ahead too.

    Notes
    -----
    Use it as a context manager (or call :meth:`close`): lookups not yet started are dropped then.
    """

    def __init__(self, client: Any, subset: bool, cancel_event: Any = None):
        self.client = client
        self.subset = subset
        self.cancel_event = cancel_event
        self._ahead: dict[str, Future[str]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def start(self, ref_ids: list[str]) -> None:
        """Begin looking up the URLs of ``ref_ids`` in the background."""
        todo = [i for i in dict.fromkeys(ref_ids) if i not in self._ahead]
        if not todo:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_URL_LOOKUPS, len(todo)),
                                            thread_name_prefix="wce-file-url")
        scope = _CancelOnly(self.cancel_event)
        for ref_id in todo:
            self._ahead[ref_id] = self._pool.submit(sample_file_url, self.client, ref_id, self.subset,
                                                    scope=scope)  # type: ignore[arg-type]

    def get(self, ref_id: str, scope: CallScope | None = None) -> str:
        """The URL of ``ref_id``'s file: the lookup started ahead (its error, if it failed), else a new one."""
        ahead = self._ahead.pop(ref_id, None)
        if ahead is not None and not ahead.cancelled():
            return ahead.result()
        return sample_file_url(self.client, ref_id, self.subset, scope=scope)

    def close(self) -> None:
        """Drop the lookups not started yet; those running end on their own (bounded by the client)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._ahead.clear()

    def __enter__(self) -> FileUrls:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _CancelOnly:
    """What :func:`sample_file_url` reads of a call scope: its cancel event."""

    def __init__(self, cancel_event: Any):
        self.cancel_event = cancel_event
