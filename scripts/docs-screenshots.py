"""Take the documentation's widget screenshots: Voilà renders the widgets against the local RDM server and
headless Chromium (Playwright, Debian's chromium) photographs each one into docs/assets/screenshots/.

Run by scripts/docs-build.sh before ``mkdocs build``, with ``$WORLDCEREAL_RDM_URL`` pointing at a local server
on the demo catalogue. The PNGs are generated, never committed (docs/assets/screenshots/.gitignore).

Usage: python scripts/docs-screenshots.py [--out DIR]
Every non-loopback request of the page (map tiles, CDN fonts) is aborted, so the maps show no basemap.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from voila_process import CHROMIUM, CHROMIUM_ARGS, block_non_local_requests, voila_process

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "assets" / "screenshots"

#: The area and crops the pictures show: the Canadian prairies (two demo collections), wheat and canola.
SETUP = """
import ipywidgets as w
from IPython.display import display
from worldcereal_explorer.state import RdmQueryState

PRAIRIES = (-106.0, 49.5, -97.5, 53.0)

def shot(name, widget, width="760px"):
    box = w.VBox([widget], layout=w.Layout(width=width, padding="6px"))
    box.add_class(f"docs-shot-{name}")
    return box

state = RdmQueryState(auto_search=False, bbox=PRAIRIES)
state.refresh()
"""

#: name -> (code making the widget, ready selector inside the shot's box, box width)
WIDGETS: dict[str, tuple[str, str, str]] = {
    "bbox_map": ("from worldcereal_explorer.widgets import BBoxMap\nBBoxMap(state, height='360px')",
                 ".leaflet-container", "760px"),
    "crop_picker": ("from worldcereal_explorer.widgets import CropTypePicker\nCropTypePicker(state)",
                    ".widget-checkbox, .widget-button", "520px"),
    "date_range": ("from worldcereal_explorer.widgets import DateRangePicker\nDateRangePicker(state)",
                   "input", "520px"),
    "privacy": ("from worldcereal_explorer.widgets import PrivacyToggle\nPrivacyToggle(state)", ".widget-checkbox, .widget-toggle-buttons, input", "520px"),
    "quality": ("from worldcereal_explorer.widgets import QualityFilter\nQualityFilter(state)", ".widget-slider, input", "520px"),
    "subset": ("from worldcereal_explorer.widgets import SubsetToggle\nSubsetToggle(state)", ".widget-checkbox, input", "520px"),
    "status": ("from worldcereal_explorer.widgets import StatusBar\nStatusBar(state)", ".wce-status", "760px"),
    "results_table": ("from worldcereal_explorer.widgets import ResultsTable\nResultsTable(state)",
                      ".wce-row-select", "900px"),
    "counts_chart": ("from worldcereal_explorer.widgets import CountsChart\nCountsChart(state)",
                     ".bqplot rect.bar", "900px"),
    "preview_panel": ("from worldcereal_explorer.widgets.preview_panel import PreviewPanel\nPreviewPanel(state)",
                      ".widget-html, .widget-button", "760px"),
    "samples_preview": ("from worldcereal_explorer.widgets import SamplesPreview\n"
                        "state.fetch_samples(wait=True)\nSamplesPreview(state)", ".widget-html", "900px"),
    "download_panel": ("from worldcereal_explorer.widgets import DownloadPanel\nDownloadPanel(state)",
                       ".widget-button", "760px"),
    "share_panel": ("from worldcereal_explorer.widgets import SharePanel\nSharePanel(state)",
                    ".widget-button", "900px"),
    "training_panel": ("from worldcereal_explorer.widgets import TrainingPanel\nTrainingPanel(state)",
                       ".widget-button", "900px"),
    "ui_map": ("from worldcereal_explorer import ui_map\nui_map(display_ui=False)", ".leaflet-container", "760px"),
    "reference_croptype_picker": (
        "from worldcereal_explorer import CropTypePicker as RefPicker, DEMO_CROPS\n"
        "RefPicker(ewoc_codes=DEMO_CROPS, display_ui=False)", ".widget-button, .widget-checkbox", "640px"),
}

DASHBOARD = """
from worldcereal_explorer import RdmExplorer
explorer = RdmExplorer(query_string="bbox=-106,49.5,-97.5,53")
explorer
"""


def notebook(cells: list[str]) -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                       "source": source.strip()} for source in cells],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def widgets_notebook() -> dict:
    cells = [SETUP]
    for name, (code, _, width) in WIDGETS.items():
        *lines, last = code.splitlines()
        cells.append("\n".join([*lines, f"display(shot({name!r}, {last}, width={width!r}))"]))
    return notebook(cells)


@contextlib.contextmanager
def voila(notebook_dir: Path, log_path: Path) -> Iterator[str]:
    """Plain Voilà serving every notebook of ``notebook_dir``; yield its base URL."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with voila_process(["voila", str(notebook_dir)], env=env, cwd=notebook_dir, log_path=log_path) as (base, _):
        yield base


def take(base: str, out: Path) -> list[str]:
    from playwright.sync_api import sync_playwright

    taken: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            # A tall viewport: Chromium leaves the part of an element below the viewport unpainted.
            context = browser.new_context(viewport={"width": 1400, "height": 4000}, device_scale_factor=1)
            block_non_local_requests(context)
            page = context.new_page()
            page.set_default_timeout(120_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            page.goto(f"{base}/voila/render/widgets.ipynb", wait_until="domcontentloaded")
            for name, (_, ready, _) in WIDGETS.items():
                box = page.locator(f".docs-shot-{name}")
                box.wait_for(state="attached")
                box.locator(ready).first.wait_for(state="attached")
                page.wait_for_timeout(300)  # let the last redraw (chart transitions, map fit) settle
                box.screenshot(path=str(out / f"{name}.png"), animations="disabled")
                taken.append(name)

            page.goto(f"{base}/voila/render/dashboard.ipynb", wait_until="domcontentloaded")
            page.wait_for_selector(".wce-explorer")
            page.wait_for_selector(".leaflet-container")
            page.wait_for_selector(".wce-status [data-status='idle']")
            page.wait_for_function("() => document.querySelectorAll('.bqplot rect.bar').length > 0")
            page.wait_for_timeout(1000)  # let the last redraws settle
            page.locator(".wce-explorer").screenshot(path=str(out / "dashboard.png"), animations="disabled")
            taken.append("dashboard")
            box = page.locator(".wce-explorer").bounding_box()  # the top: filters, map, collections, chart
            if box is None:
                raise RuntimeError("the dashboard has no box on the page")
            page.screenshot(path=str(out / "dashboard_top.png"), animations="disabled",
                            clip={"x": box["x"], "y": box["y"], "width": box["width"],
                                  "height": min(box["height"], 1180)})
            taken.append("dashboard_top")
            page.close(run_before_unload=True)
            if errors:
                raise RuntimeError(f"the page raised: {errors}")
        finally:
            browser.close()
    return taken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not os.environ.get("WORLDCEREAL_RDM_URL"):
        print("error: set $WORLDCEREAL_RDM_URL to a local RDM server (scripts/docs-build.sh does)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wce-shots-") as tmp:
        folder = Path(tmp)
        (folder / "widgets.ipynb").write_text(json.dumps(widgets_notebook()))
        (folder / "dashboard.ipynb").write_text(json.dumps(notebook([DASHBOARD])))
        try:
            with voila(folder, folder / "voila.log") as base:
                taken = take(base, args.out)
        except Exception:
            log = folder / "voila.log"
            if log.is_file():
                print(log.read_text()[-4000:], file=sys.stderr)
            raise
    print(f"docs screenshots: {len(taken)} in {time.monotonic() - started:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
