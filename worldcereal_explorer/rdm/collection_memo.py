"""What the client recently learned about collections, so a sample read can skip files that cannot match.

A search (``/collections/search``) or a lookup (``/collections/{id}``) tells each collection's spatial and
temporal extent. A sample read over named collections (the dashboard names the ones its search found) uses
those extents to leave out, before any byte of their file is read, collections whose extent proves that no
sample can match the query. Entries are kept for a short time only: a collection republished with a new
extent is looked up again soon.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from .models import Collection

__all__ = ["CollectionMemo"]


class CollectionMemo:
    """A small, thread-safe, time-bounded ``{ref_id: Collection}`` memory.

    Parameters
    ----------
    ttl_s
        Seconds an entry is trusted.
    max_entries
        Entries kept at most (the oldest go first).
    """

    def __init__(self, ttl_s: float = 600.0, max_entries: int = 10_000):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Collection]] = {}
        self._lock = threading.Lock()

    def remember(self, collections: Iterable[Collection]) -> None:
        """Keep these collections (replacing what was known of them)."""
        now = time.monotonic()
        with self._lock:
            for collection in collections:
                self._entries.pop(collection.id, None)  # re-inserted last: newest
                self._entries[collection.id] = (now, collection)
            while len(self._entries) > self.max_entries:
                del self._entries[next(iter(self._entries))]

    def get(self, ref_id: str) -> Collection | None:
        """The collection if it was seen less than ``ttl_s`` seconds ago, else ``None``."""
        with self._lock:
            entry = self._entries.get(ref_id)
            if entry is None:
                return None
            if time.monotonic() - entry[0] > self.ttl_s:
                del self._entries[ref_id]
                return None
            return entry[1]

    def clear(self) -> None:
        """Forget everything (a new session, a new endpoint)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"CollectionMemo({len(self)} collections, ttl_s={self.ttl_s})"
