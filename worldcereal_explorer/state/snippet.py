"""The Python code that fetches, with this package, the samples an
:class:`~worldcereal_explorer.state.RdmQueryState` fetches: the dashboard's "code" tab, to paste into a
notebook or a script.
"""

from __future__ import annotations

from typing import Any

from .serialize import geometry_of, state_to_dict

__all__ = ["state_to_code"]


def _ref_ids(state: Any) -> list[str] | None:
    """The collections :meth:`RdmQueryState.fetch_samples` reads (selected, else found, else ``None``)."""
    ids = list(state.selected_ids) or [c.id for c in state.collections]
    return ids or None


def _list_literal(values: list, indent: str, per_line: int) -> str:
    if len(values) <= per_line:
        return "[" + ", ".join(repr(v) for v in values) + "]"
    rows = [", ".join(repr(v) for v in values[i:i + per_line]) for i in range(0, len(values), per_line)]
    inner = (",\n" + indent + "    ").join(rows)
    return "[\n" + indent + "    " + inner + ",\n" + indent + "]"


def state_to_code(state: Any) -> str:
    """Python that fetches, with this package, the samples :meth:`RdmQueryState.fetch_samples` fetches.

    The code names the collections explicitly (the selected ones, else the ones the current search
    found), so it reads the same collections even if the RDM gains new ones later.

    Returns
    -------
    str
        A self-contained snippet ready to paste into a notebook or a script.
    """
    import shapely

    d = state_to_dict(state)
    endpoint = d.get("endpoint")
    lines = ["from worldcereal_explorer import RdmClient"]
    spatial = "None"
    if d["polygon"] is not None:
        lines.append("import shapely")
        try:
            wkt = shapely.to_wkt(geometry_of(d["polygon"]), rounding_precision=-1)
        except Exception:
            wkt = str(d["polygon"])
        spatial = f"shapely.from_wkt({wkt!r})"
    elif d["bbox"] is not None:
        spatial = "(" + ", ".join(repr(v) for v in d["bbox"]) + ")  # west, south, east, north"
    temporal = "None"
    if d["start_date"] or d["end_date"]:
        temporal = f"({d['start_date']!r}, {d['end_date']!r})"
    codes = d["ewoc_codes"] or None
    ref_ids = _ref_ids(state)
    private = d["include_private"] or d["include_restricted"]
    lines += ["", f"client = RdmClient({endpoint!r})"]
    if private:
        lines.append("# private and restricted collections need a login: `worldcereal-explorer login` first")
    args = [
        ("ref_ids", "None" if ref_ids is None else _list_literal(ref_ids, "    ", 3)),
        ("spatial_extent", spatial),
        ("temporal_extent", temporal),
        ("ewoc_codes", "None" if codes is None else _list_literal(codes, "    ", 5)),
        ("include_public", repr(d["include_public"])),
        ("include_private", repr(bool(private))),
        ("min_quality_lc", repr(d["min_quality_lc"])),
        ("min_quality_ct", repr(d["min_quality_ct"])),
        ("subset", repr(d["subset"])),
    ]
    lines.append("samples = client.get_samples(")
    for name, value in args:
        comment = ""
        if "  #" in value:
            value, comment = value.split("  #", 1)
            comment = "  #" + comment
        lines.append(f"    {name}={value},{comment}")
    lines.append(")")
    if d["grouping"]:
        groups = {int(k): v for k, v in d["grouping"].items()}
        lines += ["", "# your crop groups: new_label per ewoc code",
                  f"grouping = {groups!r}",
                  "samples['new_label'] = samples['ewoc_code'].map(grouping)"]
    return "\n".join(lines) + "\n"
