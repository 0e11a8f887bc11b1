"""The crop tree walked with the keyboard in the Voilà dashboard (headless Chromium): the WAI-ARIA tree pattern
(https://www.w3.org/WAI/ARIA/apg/patterns/treeview/) as the browser sees it — roles, aria-level,
aria-expanded, aria-checked (true / false / mixed) and the buttons' accessible names — with Up/Down,
Right/Left, Home/End and Space. Every step waits for a condition, never for a fixed time."""

from __future__ import annotations

import re

import pytest

from tests.voila_support import open_dashboard

pytestmark = pytest.mark.browser

ACTIVE_CODE = """() => { const e = document.activeElement;
  const m = e && /(?:^| )wce-code-(\\d+)/.exec(e.className || ""); return m && e.getAttribute('role') === 'treeitem' ? +m[1] : null; }"""


def _open(page, url):
    open_dashboard(page, url, parts=(), found=True, legend=True)
    page.wait_for_selector(".wce-crop-tree[role='tree'] .wce-crop-row[role='treeitem']")


def _rows(page) -> list[dict]:
    """The tree's rows as the page has them: code, level, expanded, checked, name."""
    return page.evaluate("""() => [...document.querySelectorAll('.wce-crop-tree[role=tree] > .wce-crop-row')].map(r => ({
        code: +/(?:^| )wce-code-(\\d+)/.exec(r.className)[1], role: r.getAttribute('role'),
        level: +r.getAttribute('aria-level'), expanded: r.getAttribute('aria-expanded'),
        checked: r.getAttribute('aria-checked'), name: r.getAttribute('aria-label'), tabindex: r.tabIndex}))""")


def _wait_focus(page, code: int) -> None:
    page.wait_for_function(f"code => ({ACTIVE_CODE})() === code", arg=code)


def _wait_attr(page, code: int, name: str, value: str) -> None:
    page.wait_for_function(
        "([code, name, value]) => { const r = document.querySelector(`.wce-crop-tree .wce-code-${code}`);"
        " return r && r.getAttribute(name) === value; }", arg=[code, name, value])


def test_walk_the_crop_tree_with_the_keyboard(page, voila_url):
    from playwright.sync_api import expect

    _open(page, voila_url)
    expect(page.get_by_role("tree", name="Crop types")).to_be_visible()
    rows = _rows(page)
    assert rows and all(r["role"] == "treeitem" and r["level"] == 1 for r in rows)
    assert all(r["checked"] == "false" for r in rows)
    assert [r["tabindex"] for r in rows].count(0) == 1  # one tab stop for the whole tree
    # every button of the tree has a name that says what it does
    names = page.evaluate("""() => [...document.querySelectorAll('.wce-crop-tree button')]
        .filter(b => !b.disabled).map(b => b.getAttribute('aria-label') || '')""")
    assert names and all(re.match(r"^(Include|Expand|Collapse|Untick|Drop) \S", n) for n in names), names
    spacers = page.evaluate("""() => [...document.querySelectorAll('.wce-crop-tree .wce-crop-expand')]
        .filter(b => b.disabled).map(b => b.getAttribute('aria-hidden'))""")
    assert spacers and set(spacers) == {"true"}  # a leaf's arrow is a spacer, hidden from screen readers
    branch_index = next(i for i, r in enumerate(rows) if r["expanded"] == "false")
    branch = rows[branch_index]["code"]
    branch_name = page.locator(f".wce-crop-tree .wce-code-{branch} .wce-crop-expand").get_attribute("aria-label")
    assert branch_name.startswith("Expand ") and "_" not in branch_name
    expect(page.get_by_role("button", name=branch_name, exact=True)).to_have_count(1)

    # Home, then Down to the first branch
    page.locator(f".wce-crop-tree .wce-code-{rows[-1]['code']}").focus()
    page.keyboard.press("Home")
    _wait_focus(page, rows[0]["code"])
    for i in range(1, branch_index + 1):
        page.keyboard.press("ArrowDown")
        _wait_focus(page, rows[i]["code"])
    page.keyboard.press("ArrowUp")
    _wait_focus(page, rows[max(branch_index - 1, 0)]["code"])
    if branch_index:
        page.keyboard.press("ArrowDown")
        _wait_focus(page, branch)

    # Right opens the branch (focus stays), Right again goes to its first child
    page.keyboard.press("ArrowRight")
    _wait_attr(page, branch, "aria-expanded", "true")
    expect(page.get_by_role("button", name=branch_name.replace("Expand ", "Collapse ", 1), exact=True)).to_have_count(1)
    _wait_focus(page, branch)
    page.wait_for_function(  # its children are drawn: the row after it is one level down
        "code => { const r = document.querySelector(`.wce-crop-tree .wce-code-${code}`);"
        " const n = r && r.nextElementSibling; return !!n && n.getAttribute('aria-level') === '2'; }", arg=branch)
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => {{ const c = ({ACTIVE_CODE})(); return c !== null && c !== {branch}; }}")
    child = page.evaluate(ACTIVE_CODE)
    _wait_attr(page, child, "aria-level", "2")
    child_row = page.locator(f".wce-crop-tree .wce-code-{child}")
    child_check = child_row.locator(".wce-crop-check")
    assert re.match(r"^Include \S.* \([\d,]+ samples\)$", child_check.get_attribute("aria-label"))

    # Space ticks the child: it is checked, its parent mixed, its button now says "Untick"
    page.keyboard.press(" ")
    _wait_attr(page, child, "aria-checked", "true")
    _wait_attr(page, branch, "aria-checked", "mixed")  # the branch's own code (and any sibling) is not ticked
    expect(child_check).to_have_attribute("aria-label", re.compile(r"^Untick "))
    _wait_focus(page, child)  # the redraw kept the focus on the row
    expect(page.locator(".wce-crop-chips .wce-chip")).to_have_count(1)  # the filter follows

    # Space again unticks; Left goes to the parent, Left again closes it; End goes to the last row
    page.keyboard.press(" ")
    _wait_attr(page, child, "aria-checked", "false")
    _wait_attr(page, branch, "aria-checked", "false")
    page.keyboard.press("ArrowLeft")
    _wait_focus(page, branch)
    page.keyboard.press("ArrowLeft")
    _wait_attr(page, branch, "aria-expanded", "false")
    expect(page.locator(f".wce-crop-tree .wce-code-{child}")).to_have_count(0)
    page.keyboard.press("End")
    _wait_focus(page, rows[-1]["code"])
    assert [r["tabindex"] for r in _rows(page)].count(0) == 1

