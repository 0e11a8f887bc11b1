"""Deterministic synthetic catalogues (demo and benchmarks) and the demo legend the package authors."""

from __future__ import annotations

from .generator import (
    CONSORTIUM_GROUP,
    DEMO_LEGEND_PATH,
    DEMO_USER_NAME,
    DEMO_USER_SUB,
    PARTNER_USER_SUB,
    demo_collection_ids,
    make_demo_catalog,
    make_synthetic_catalog,
)

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
