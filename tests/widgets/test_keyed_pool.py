"""KeyedPool (widgets/keyed_pool.py): pooled items given to keys render by render."""

from __future__ import annotations

import random

from worldcereal_explorer.widgets.keyed_pool import KeyedPool


class _Item:
    def __init__(self):
        self.key = None


def _pool(lag: int = 2) -> KeyedPool[_Item]:
    return KeyedPool(_Item, lambda item: item.key, lag=lag)


def _render(pool: KeyedPool[_Item], keys: list) -> list[_Item]:
    items = pool.assign(keys)
    for key, item in zip(keys, items, strict=True):
        item.key = key
    return items


def test_an_item_keeps_its_key_while_the_last_renders_showed_it_and_the_pool_stays_bounded():
    rng = random.Random(7)
    pool, lag, shown = _pool(lag=2), 2, 6
    history: list[dict[int, object]] = []  # per render: id(item) -> the key it showed
    for _ in range(500):
        keys = rng.sample(range(40), rng.randint(0, shown))
        items = _render(pool, keys)
        assert len({id(i) for i in items}) == len(items)  # one item per key
        for previous in history[-lag:]:  # an item shown lately shows the same key or none of the new ones
            for item in items:
                assert previous.get(id(item), item.key) == item.key
        history.append({id(item): item.key for item in items})
        assert len(pool.items) <= shown * (1 + lag)


def test_a_key_shown_again_gets_the_item_that_showed_it():
    pool = _pool()
    first = _render(pool, ["a", "b", "c"])
    second = _render(pool, ["c", "d", "a"])
    assert second[0] is first[2] and second[2] is first[0]
    assert second[1] not in first  # "d" takes a new item: "b"'s was just shown
    third = _render(pool, ["e"])
    assert third[0] not in first + second  # both renders before still hold their items
    fourth = _render(pool, ["f"])
    assert fourth[0] in first  # the first render is two renders back now: its items are free again
