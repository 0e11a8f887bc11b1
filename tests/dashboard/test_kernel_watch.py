"""Issue 27.8, the kernel's side of the page's kernel watch: the dashboard carries it, and it answers pings.

The page side (a dead kernel shown within 5 s of a click) is tested in Chromium:
tests/browser/test_failures_browser.py.
"""

from __future__ import annotations

import pytest

from worldcereal_explorer.widgets.kernel_watch import ANSWER_TIMEOUT_MS, GONE_TEXT, KernelWatch, kernel_watch

pytestmark = pytest.mark.skipif(KernelWatch is None, reason="anywidget is not installed")


def test_the_watch_answers_each_ping_and_ignores_other_messages():
    watch = kernel_watch()
    sent = []
    watch.send = sent.append  # what would go to the page (no front end here)
    # a message as ipywidgets delivers it from the page: method "custom"
    watch._handle_msg({"content": {"data": {"method": "custom", "content": {"ping": 7}}}, "buffers": []})
    watch._handle_msg({"content": {"data": {"method": "custom", "content": {"other": 1}}}, "buffers": []})
    assert sent == [{"pong": 7}] and watch.pings == 1
    assert watch.timeout_ms == ANSWER_TIMEOUT_MS < 5000  # the message must come within 5 s of the click
    assert watch.gone_text == GONE_TEXT and "Reload" in GONE_TEXT
    watch.close()


def test_the_dashboard_carries_the_watch(rdm_url):
    from tests.widgets.conftest import make_client
    from worldcereal_explorer.app import RdmExplorer
    from worldcereal_explorer.state import RdmQueryState

    state = RdmQueryState(client=make_client(rdm_url), auto_search=False)
    app = RdmExplorer(state=state, search=False)
    try:
        assert isinstance(app.kernel_watch, KernelWatch) and app.kernel_watch in app.children
    finally:
        app.close()
        state.close()
