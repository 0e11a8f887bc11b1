"""widgets/parts: the guard against a widget's own echo, and the labelled HTML part."""

from __future__ import annotations

import pytest

from worldcereal_explorer.widgets.parts import EchoGuard, html_part


def test_echo_guard_stays_up_through_nested_blocks_and_drops_after_an_error():
    guard = EchoGuard()
    assert not guard
    with guard():
        with guard():
            assert guard
        assert guard  # the outer block still runs
    assert not guard
    with pytest.raises(RuntimeError), guard():
        raise RuntimeError("boom")
    assert not guard


def test_html_part_has_its_class_and_starts_hidden_only_when_asked():
    shown, hidden = html_part("wce-a"), html_part("wce-b", hidden=True)
    try:
        assert "wce-a" in shown._dom_classes and shown.value == ""
        assert shown.layout.display is None
        assert "wce-b" in hidden._dom_classes and hidden.layout.display == "none"
    finally:
        shown.close()
        hidden.close()
