"""The chart's collection colours (widgets/counts_chart.py): distinct on screen, neighbours clearly apart."""

from __future__ import annotations

import itertools
import zlib

import pytest

from worldcereal_explorer.widgets.counts_chart import (
    COLLECTION_COLOURS,
    OTHER_COLLECTIONS,
    OTHER_COLLECTIONS_COLOUR,
    CountsChart,
    assign_colours,
    collection_colour,
)

#: The least CIE76 ΔE (Lab distance) two collections' colours may be apart: ~13 just-noticeable differences.
MIN_DELTA_E = 30.0
EUROPE = (-5.0, 40.0, 10.0, 55.0)


def _lab(colour: str) -> tuple[float, float, float]:
    """sRGB ``#rrggbb`` to CIELAB (D65), written out here so the test does not trust the code it checks."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _delta_e(a: str, b: str) -> float:
    return sum((p - q) ** 2 for p, q in zip(_lab(a), _lab(b), strict=True)) ** 0.5


def _colliding_ids(n: int) -> list[str]:
    """``n`` collection ids that all prefer the same colour (the case the old chart drew in one colour)."""
    target = zlib.crc32(b"coll-0") % len(COLLECTION_COLOURS)
    ids = (f"coll-{i}" for i in itertools.count())
    return list(itertools.islice((i for i in ids if zlib.crc32(i.encode()) % len(COLLECTION_COLOURS) == target), n))


def test_the_palette_colours_are_all_clearly_apart():
    assert len(set(COLLECTION_COLOURS)) == len(COLLECTION_COLOURS) == 11
    worst = min(_delta_e(a, b) for a, b in itertools.combinations(COLLECTION_COLOURS, 2))
    assert worst >= MIN_DELTA_E, worst
    # the grey of "other collections" is not mistaken for a collection either
    assert min(_delta_e(c, OTHER_COLLECTIONS_COLOUR) for c in COLLECTION_COLOURS) >= MIN_DELTA_E


@pytest.mark.parametrize("n", range(1, len(COLLECTION_COLOURS) + 1))
def test_up_to_the_palette_size_every_collection_on_screen_differs(n):
    ids = _colliding_ids(n)
    assert len({collection_colour(i) for i in ids}) == 1  # every one prefers the same colour
    colours = assign_colours([*ids, OTHER_COLLECTIONS])
    assert colours[-1] == OTHER_COLLECTIONS_COLOUR
    shown = colours[:-1]
    assert len(set(shown)) == n
    # neighbours in a stack (and in fact every pair) clearly apart
    assert all(_delta_e(a, b) >= MIN_DELTA_E for a, b in itertools.pairwise(colours))
    assert all(_delta_e(a, b) >= MIN_DELTA_E for a, b in itertools.combinations(shown, 2))


def test_beyond_the_palette_size_colours_repeat_in_palette_order():
    n = len(COLLECTION_COLOURS)
    colours = assign_colours(_colliding_ids(n + 3))
    assert set(colours) == set(COLLECTION_COLOURS)  # every colour used before any repeats
    assert len(colours) - len(set(colours)) == 3


def test_a_collection_keeps_its_colour_while_others_come_and_go():
    memory: dict[str, str] = {}
    a, b, c = _colliding_ids(3)
    first = dict(zip([a, b], assign_colours([a, b], memory), strict=True))
    second = dict(zip([c, b], assign_colours([c, b], memory), strict=True))  # a gone, c new: b keeps its colour
    assert second[b] == first[b]
    assert second[c] != second[b]
    assert assign_colours([b, a], memory) == [first[b], first[a]]  # the order of the bars changes nothing


def test_the_chart_on_the_demo_catalogue_draws_no_two_collections_alike(state):
    chart = CountsChart(state, max_labels=50, max_collections=50)
    state.bbox = EUROPE
    state.refresh()
    collections = list(chart.bars.labels)
    assert len(collections) > 1
    assert len(set(chart.bars.colors)) == len(collections)
    chart.mode.value = "grouped"
    by_slot = dict(zip(chart.grouped_bars.x, chart.grouped_bars.colors, strict=True))
    for ref_id, colour in zip(collections, chart.bars.colors, strict=True):
        assert {v for k, v in by_slot.items() if k.endswith(f" · {ref_id}")} == {colour}
    assert all(c in chart.legend.value for c in chart.bars.colors)
