"""The read-ahead stream of large row groups (``bounded.RangeStream``): what it fetches while others are in
flight, within its window, and that it serves the planned bytes unchanged."""

from __future__ import annotations

import threading

import numpy as np

from worldcereal_explorer.rdm.samples.bounded import (
    BLOCK_BYTES,
    SMALL_BLOCK_BYTES,
    RangeStream,
    StreamSegment,
)


def pattern(start: int, end: int) -> bytes:
    return (np.arange(start, end) % 251).astype(np.uint8).tobytes()


class GatedReader:
    """A file of :func:`pattern` bytes whose large fetches wait for ``gate``: a test sees what the stream
    fetches while a large request is still in flight."""

    def __init__(self, size: int):
        self.size = size
        self.gate = threading.Event()
        self.calls: list[tuple[int, int]] = []
        self.changed = threading.Condition()

    def fetch_range(self, start: int, end: int) -> bytes:
        with self.changed:
            self.calls.append((start, end))
            self.changed.notify_all()
        if end - start > SMALL_BLOCK_BYTES:
            assert self.gate.wait(60), "the test never opened the gate"
        return pattern(start, end)

    def read_at(self, offset: int, length: int) -> bytes:
        return pattern(offset, min(offset + length, self.size))

    def wait_for_calls(self, count: int) -> list[tuple[int, int]]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.calls) >= count, timeout=30), self.calls
            return list(self.calls)


def test_small_pages_go_while_large_blocks_wait_for_the_window():
    """A geometry chunk of four blocks, and a small column with a page at its start and one near its end.
    With a window of one block, the first large request fills it: the small pages, the second one far
    behind the large blocks in order, are fetched at once instead of waiting behind them (pyarrow would
    otherwise ask for each in turn, a round trip apiece), and no second large block is fetched ahead."""
    large_end = 4 * BLOCK_BYTES
    small_start = large_end + 10_000
    segments = [StreamSegment(0, large_end, chunk=0),
                StreamSegment(small_start, small_start + 100, chunk=1),
                StreamSegment(small_start + 5_000, small_start + 6_000, chunk=1)]
    reader = GatedReader(small_start + 6_000)
    stream = RangeStream(reader, segments, ahead=1, parallel=2)
    try:
        calls = reader.wait_for_calls(3)
        large = [c for c in calls if c[1] - c[0] > SMALL_BLOCK_BYTES]
        assert large == [(0, BLOCK_BYTES)], calls  # the window holds one block: one large request in flight
        assert sorted(c for c in calls if c not in large) == [(small_start, small_start + 100),
                                                              (small_start + 5_000, small_start + 6_000)]
        reader.gate.set()
        for segment in segments:  # what pyarrow would read, column by column
            assert stream.read(segment.start, segment.end - segment.start) == pattern(segment.start, segment.end)
    finally:
        reader.gate.set()
        stream.close()
    fetched = sorted(reader.calls)
    assert fetched[:4] == [(k * BLOCK_BYTES, (k + 1) * BLOCK_BYTES) for k in range(4)]  # each block once
    assert len(fetched) == 6, fetched


def test_stand_in_segments_are_served_from_memory():
    """A skipped page's stand-in is served as planned (zero-padded to the page's size), never fetched."""
    stand_in = b"header"
    segments = [StreamSegment(0, 1_000, chunk=0), StreamSegment(1_000, 1_100, chunk=0, stand_in=stand_in)]
    reader = GatedReader(1_100)
    stream = RangeStream(reader, segments, parallel=1)
    try:
        assert stream.read(0, 1_100) == pattern(0, 1_000) + stand_in + bytes(100 - len(stand_in))
    finally:
        stream.close()
    assert reader.calls == [(0, 1_000)]
