"""Reusable widgets given to keys (collection ids, crop codes) without acting on a key the user did not see.

ipywidgets keeps every widget it made, and the browser its model, until the widget is closed, and closing a
replaced widget races the browser still drawing it. So the table rows and the crop chips are made once and
shown again with other content. A click, though, reaches the kernel as "this button was clicked", carrying
nothing of what the button showed, and the browser draws a render some time after the kernel makes it. A
widget refilled in place would therefore take a click meant for what it showed before. :class:`KeyedPool`
gives each key the widget that already shows it, and never gives another key a widget that one of the last
few renders showed: a late click still names what the user saw.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

__all__ = ["RENDERS_A_CLICK_MAY_LAG", "KeyedPool"]

Item = TypeVar("Item")

#: Renders the browser may be behind the kernel when a click is made.
RENDERS_A_CLICK_MAY_LAG = 2


class KeyedPool(Generic[Item]):
    """Pooled items (each holding some widgets) assigned to keys render by render.

    At most ``max_shown * (1 + lag)`` items are ever made, where ``max_shown`` is the most keys one render
    shows.

    Parameters
    ----------
    make
        Makes a new item (called only when no free item is left).
    key_of
        The key an item shows now (``None``: none yet).
    lag
        Renders during which an item keeps its key after it was last shown.
    """

    def __init__(self, make: Callable[[], Item], key_of: Callable[[Item], Hashable | None],
                 lag: int = RENDERS_A_CLICK_MAY_LAG):
        self._make = make
        self._key_of = key_of
        self._lag = lag
        self.items: list[Item] = []
        self._recent: list[set[int]] = []  # ids of the items each of the last renders showed

    def assign(self, keys: Sequence[Hashable]) -> list[Item]:
        """One item per key, in order, for the next render; the caller shows each key on its item.

        A key keeps the item that already shows it; a new key takes an item none of the last ``lag``
        renders showed (made when there is none).
        """
        holding = {self._key_of(item): item for item in self.items}
        chosen: list[Item | None] = [holding.get(key) for key in keys]
        busy = {id(item) for item in chosen if item is not None}.union(*self._recent)
        free = [item for item in self.items if id(item) not in busy]
        free.reverse()  # pop() takes the oldest free item first
        assigned: list[Item] = []
        for item in chosen:
            if item is None:
                if free:
                    item = free.pop()
                else:
                    item = self._make()
                    self.items.append(item)
            assigned.append(item)
        if self._lag > 0:
            self._recent = [*self._recent, {id(item) for item in assigned}][-self._lag:]
        return assigned
