"""The class mapping's warning about codes it leaves out, asserted where the demo data has such codes."""

from __future__ import annotations

from typing import Any

import pytest

from worldcereal_explorer.training import map_classes
from worldcereal_explorer.training.mapping import UnmappedCodesWarning


def map_classes_noting_unmapped(samples: Any, mapping: Any, **options: Any) -> Any:
    """``map_classes`` on samples holding codes ``mapping`` leaves out: the warning naming them must come."""
    with pytest.warns(UnmappedCodesWarning, match=r"code\(s\), [\d,]+ sample\(s\), have no class in the class mapping"):
        return map_classes(samples, mapping, **options)
