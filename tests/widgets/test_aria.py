"""The page script's accessible names (widgets/aria.py) aim at classes the dashboard's widgets really carry."""

from __future__ import annotations

import re


def test_every_rule_targets_a_class_of_the_dashboard(make_state, tmp_path):
    from worldcereal_explorer.app import RdmExplorer
    from worldcereal_explorer.widgets._base import widget_tree
    from worldcereal_explorer.widgets.aria import DASHBOARD_LABELS

    explorer = RdmExplorer(state=make_state(auto_search=False), search=False, download_dir=tmp_path)
    try:
        assert explorer.aria is not None and explorer.aria in explorer.children
        assert [tuple(rule) for rule in explorer.aria.rules] == DASHBOARD_LABELS
        classes = {c for part in widget_tree(explorer) for c in getattr(part, "_dom_classes", ())}
        wanted = {c for selector, _, _ in DASHBOARD_LABELS for c in re.findall(r"\.(wce-[\w-]+)", selector)}
        assert wanted and wanted <= classes, sorted(wanted - classes)
        for selector, attribute, value in DASHBOARD_LABELS:
            assert attribute in ("aria-label", "title", "role") and value.strip(), selector
        # the row tick boxes are named from Python: "Select collection <id>"
        explorer.state.refresh()
        rows = [b for b in widget_tree(explorer) if "wce-row-select" in getattr(b, "_dom_classes", ())
                and b.description]
        assert rows and all(b.description.startswith("Select collection ") for b in rows)
    finally:
        explorer.close()
