"""Deterministic synthetic catalogues (demo and benchmarks) and the demo legend the package authors.

:func:`make_demo_catalog` writes about fifteen collections on six continents, each with realistic crop
mixes for its region, real H3 level-3 cells and GeoParquet 1.1 files, in the folder layout the local
server reads (:mod:`worldcereal_explorer.server.catalog`). Nothing in it is real reference data:
``catalog.json`` says ``"synthetic": true`` and every title says "synthetic demo".
:func:`make_synthetic_catalog` writes bigger, plainer catalogues quickly (vectorised numpy) for the
sample-reading benchmarks.

Modules, one job each: :mod:`.specs` (the table of demo collections), :mod:`.codes` (legend codes they
use), :mod:`.users` (demo identities), :mod:`.samples` (sample synthesis), :mod:`.collection` (one
collection folder), :mod:`.documents` (JSON, xlsx and PDF files), :mod:`.legend` (the demo legend),
:mod:`.catalog` (whole catalogues).
"""

from __future__ import annotations

from .catalog import make_demo_catalog, make_synthetic_catalog
from .legend import DEMO_LEGEND_PATH
from .specs import demo_collection_ids
from .users import CONSORTIUM_GROUP, DEMO_USER_NAME, DEMO_USER_SUB, PARTNER_USER_SUB

__all__ = [
    "make_demo_catalog",
    "make_synthetic_catalog",
    "demo_collection_ids",
    "DEMO_LEGEND_PATH",
    "DEMO_USER_SUB",
    "DEMO_USER_NAME",
    "PARTNER_USER_SUB",
    "CONSORTIUM_GROUP",
]
