"""A long dashboard session: what the kernel keeps after many searches, fetches and map moves.

ipywidgets keeps every widget it made (and the browser its model) until the widget is closed, so a dashboard
that draws by making new widgets grows for as long as the kernel lives. This builds the dashboard
(``RdmExplorer``) on the demo catalogue served by the local RDM server, warms it up with ``--warmup`` cycles
(each: a new box, a search, a fetch, a zoom), then runs ``--cycles`` more and prints the open widgets and the
process's RSS before and after, and the growth per cycle. Goal: no widget made per cycle, and RSS growth
that does not scale with the number of cycles (before 2026-11-28: about 360 widgets and 13 MiB per cycle).

    python benchmarks/bench_long_session.py [--cycles 40] [--warmup 4]
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path

import common  # noqa: F401 (puts the checkout on sys.path when the package is not installed)
import psutil

BOXES = [(-10.0, 35.0, 30.0, 60.0), (30.0, -10.0, 45.0, 5.0), (-180.0, -90.0, 180.0, 90.0), (0.0, 40.0, 10.0, 50.0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=40, help="cycles measured (default 40)")
    parser.add_argument("--warmup", type=int, default=4, help="cycles before measuring (default 4)")
    args = parser.parse_args()
    if args.cycles < 1 or args.warmup < 0:
        parser.error(f"--cycles {args.cycles} / --warmup {args.warmup}: use cycles >= 1 and warmup >= 0")

    from ipywidgets.widgets.widget import _instances  # every widget not closed yet (ipywidgets 8)

    from worldcereal_explorer.app import RdmExplorer
    from worldcereal_explorer.demo import make_demo_catalog
    from worldcereal_explorer.server import serve_in_thread

    catalog = make_demo_catalog(Path(tempfile.mkdtemp(prefix="wce-long-session-")) / "catalog")
    with serve_in_thread(catalog) as server:
        os.environ["WORLDCEREAL_RDM_URL"] = server.url
        os.environ["WORLDCEREAL_LEGEND_URL"] = server.url + "/legend.csv"
        explorer = RdmExplorer()
        state = explorer.state
        state.wait(60)

        def cycle(i: int) -> None:
            state.bbox = BOXES[i % len(BOXES)]
            state.search(delay=0)
            state.wait(60)
            state.fetch_samples(wait=True)
            explorer.map.map.zoom = 3 + i % 4

        for i in range(args.warmup):
            cycle(i)
        gc.collect()
        process = psutil.Process()
        widgets_before, rss_before = len(_instances), process.memory_info().rss
        started = time.perf_counter()
        for i in range(args.cycles):
            cycle(i)
        elapsed = time.perf_counter() - started
        gc.collect()
        widgets_after, rss_after = len(_instances), process.memory_info().rss
        explorer.close()

    mib = 2**20
    print(f"{args.cycles} cycles (new box, search, fetch, zoom) in {elapsed:.1f} s after {args.warmup} to warm up")
    print(f"open widgets: {widgets_before:,} -> {widgets_after:,} "
          f"({(widgets_after - widgets_before) / args.cycles:+.1f} per cycle; goal 0)")
    print(f"RSS: {rss_before / mib:.0f} -> {rss_after / mib:.0f} MiB "
          f"({(rss_after - rss_before) / mib / args.cycles:+.2f} MiB per cycle)")


if __name__ == "__main__":
    main()
