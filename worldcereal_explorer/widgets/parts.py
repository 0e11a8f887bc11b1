"""Small building blocks of the widgets: a labelled HTML part, and a guard against a widget's own echo."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import ipywidgets as w

__all__ = ["EchoGuard", "html_part"]


def html_part(css_class: str, *, hidden: bool = False) -> w.HTML:
    """An empty ``ipywidgets.HTML`` that a widget fills later, found by ``css_class``.

    Parameters
    ----------
    css_class : str
        The class tests, styles and page scripts find the part by.
    hidden : bool
        Start hidden (``layout.display = "none"``), for a note shown only in some states.

    Returns
    -------
    ipywidgets.HTML
    """
    part = w.HTML(layout=w.Layout(display="none")) if hidden else w.HTML()
    part.add_class(css_class)
    return part


class EchoGuard:
    """True while at least one ``with guard():`` block runs (nested blocks included).

    A widget that sets one of its own controls (``dropdown.value = ...``) wraps the change in the guard;
    the control's observer returns early while the guard is true, so the change is not handed on as if the
    user had made it.

    Examples
    --------
    >>> guard = EchoGuard()
    >>> with guard():
    ...     bool(guard)
    True
    >>> bool(guard)
    False
    """

    def __init__(self) -> None:
        self._depth = 0

    def __bool__(self) -> bool:
        return self._depth > 0

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        """Raise the flag for the ``with`` block (lowered again when it ends, even by an error)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
