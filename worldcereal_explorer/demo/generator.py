"""Compatibility module: the demo generator's public names, from the modules that now hold them.

The generator was one module; it is now split by job (:mod:`.specs`, :mod:`.samples`, :mod:`.collection`,
:mod:`.documents`, :mod:`.legend`, :mod:`.users`, :mod:`.catalog`). Import from
:mod:`worldcereal_explorer.demo` in new code.
"""

from __future__ import annotations

from .catalog import make_demo_catalog, make_synthetic_catalog
from .documents import minimal_pdf
from .legend import DEMO_LEGEND_PATH
from .specs import demo_collection_ids
from .users import CONSORTIUM_GROUP, DEMO_USER_NAME, DEMO_USER_SUB, PARTNER_USER_SUB

__all__ = [
    "make_demo_catalog",
    "make_synthetic_catalog",
    "DEMO_LEGEND_PATH",
    "DEMO_USER_SUB",
    "DEMO_USER_NAME",
    "PARTNER_USER_SUB",
    "CONSORTIUM_GROUP",
    "demo_collection_ids",
    "minimal_pdf",
]
