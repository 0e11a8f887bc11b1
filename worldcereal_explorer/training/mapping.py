"""Class mapping: ewoc codes to the classes of a downstream model (a dict, a CSV/JSON file, or one of
WorldCereal's class schemes by name, such as ``"CROPTYPE24"``: :mod:`.schemes`).

In a hand-written mapping a code is looked up first as itself, then through its legend ancestors (the code with
its rightmost non-zero digit group zeroed, repeatedly: ``1101060002`` silage maize → ``1101060000`` maize →
``1101000000`` cereals → ``1100000000`` temporary crops → ``1000000000`` cropland), so ``{1101000000: "cereal"}``
maps every cereal. The nearest named ancestor wins. The hierarchy is the legend's own (its codes are hierarchical
by digit group), so no legend download is needed. A named scheme lists every code it classes, so its codes are
looked up exactly (``match="exact"``).

The class ``ignore`` (in a scheme or a hand-written mapping) leaves the sample out; codes without a class are
never silently kept or dropped: they are reported with their sample counts and legend labels (an
:class:`UnmappedCodesWarning`, the step record the dataset card shows), and ``unmapped=`` says what happens to
them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BadParameterError, WorldCerealExplorerError
from ..legend.codes import parent_code
from ._common import record_step, require_columns
from .mapping_files import load_mapping
from .schemes import IGNORE, ClassScheme, class_scheme, scheme_names

__all__ = ["MATCH_MODES", "UNMAPPED_MODES", "UnmappedCodesWarning", "load_mapping", "map_classes", "resolve_code",
           "resolve_mapping"]

#: Values of ``map_classes(unmapped=...)``.
UNMAPPED_MODES = ("other", "drop", "error")
#: Values of ``map_classes(match=...)``.
MATCH_MODES = ("ancestors", "exact")
#: Unmapped codes named one by one in a warning or an error message (all of them are in the step record).
_LISTED_CODES = 15


class UnmappedCodesWarning(UserWarning):
    """Samples whose ewoc code the class mapping does not name were kept as ``other`` or dropped.

    The message names the codes with their sample counts and labels; the step record
    (``frame.attrs["training_steps"][-1]["unmapped_report"]``) and the dataset card list every one.
    """

def resolve_code(code: int, mapping: Mapping[int, str]) -> str | None:
    """The class of ``code``: its own entry, else its nearest ancestor's, else ``None``."""
    current: int | None = int(code)
    while current is not None:
        if current in mapping:
            return mapping[current]
        current = parent_code(current) if current else None
    return None


def resolve_mapping(mapping: Mapping[Any, Any] | str | os.PathLike | ClassScheme, *,
                    schemes_source: str | os.PathLike | None = None) -> tuple[dict[int, str], dict[str, Any]]:
    """The table ``{ewoc_code: class}`` of a mapping given by value, file or scheme name, and what it is.

    Parameters
    ----------
    mapping
        A dict, a path to a CSV/JSON file (see :func:`load_mapping`), a :class:`ClassScheme`, or the name of a
        scheme (``"CROPTYPE24"``, see :func:`~worldcereal_explorer.training.class_schemes`). A string that is
        an existing file, or ends in ``.csv``/``.json``/``.txt``/``.tsv``, is a file; any other string a name.
    schemes_source
        Where scheme names are looked up (``None``: the packaged copy; see :func:`class_schemes`).

    Returns
    -------
    tuple
        The table, and ``{"kind": "scheme"|"file"|"dict", "scheme": name or None, "source": ...,
        "sha256": ...}`` (source and digest for schemes).

    Raises
    ------
    BadParameterError
        For an unreadable file, an unknown scheme name (the message lists the allowed names) or bad entries.
    """
    if isinstance(mapping, ClassScheme):
        scheme = mapping
    elif isinstance(mapping, Mapping):
        return load_mapping(mapping), {"kind": "dict", "scheme": None}
    elif isinstance(mapping, os.PathLike) or (
            isinstance(mapping, str) and (Path(mapping).is_file()
                                          or Path(mapping).suffix.lower() in (".csv", ".json", ".txt", ".tsv"))):
        return load_mapping(mapping), {"kind": "file", "scheme": None, "source": str(mapping)}
    elif isinstance(mapping, str):
        try:
            scheme = class_scheme(mapping, schemes_source)
        except BadParameterError as exc:
            if "is not known" not in str(exc):
                raise  # the source itself failed; its message says why
            raise BadParameterError(
                f"class mapping {mapping!r} is neither a class scheme (allowed: "
                f"{', '.join(scheme_names(schemes_source))}) nor an existing .csv/.json file"
            ) from None
    else:
        raise BadParameterError(f"class mapping {mapping!r} is not allowed; allowed: a dict {{ewoc_code: class}}, "
                                "a .csv/.json file, or a class scheme name such as 'CROPTYPE24'")
    return dict(scheme.mapping), {"kind": "scheme", "scheme": scheme.name, "source": scheme.source,
                                  "sha256": scheme.sha256}


def _labels(codes: list[int], samples: Any, legend: Any) -> dict[int, str]:
    """Legend labels of ``codes``: ``legend`` (a Legend or ``{code: label}``), else the samples' ``label``
    column, else the process-wide default legend (loaded once and cached; offline: the bundled demo legend)."""
    out: dict[int, str] = {}
    if isinstance(legend, Mapping):
        out = {int(k): str(v) for k, v in legend.items() if int(k) in set(codes)}
    elif legend is None and "label" in getattr(samples, "columns", ()):
        pairs = samples[["ewoc_code", "label"]].drop_duplicates("ewoc_code")
        known = {int(c): str(lab) for c, lab in zip(pairs["ewoc_code"], pairs["label"], strict=True)
                 if not pd.isna(lab)}
        # a label column of "unknown (<code>)" (no legend when the samples were labelled) says nothing
        out = {c: lab for c, lab in known.items() if c in set(codes) and not lab.startswith("unknown (")}
    missing = [c for c in codes if c not in out]
    if missing and not isinstance(legend, Mapping):
        try:
            if legend is None:
                from ..legend import default_legend

                legend = default_legend()
            out.update(zip(missing, legend.labels(missing), strict=True))
        except (WorldCerealExplorerError, AttributeError, TypeError):
            pass  # a legend that cannot label must not cost the report; the codes still say it
    return {c: out.get(c, f"unknown ({c})") for c in codes}


def _report_text(report: list[dict[str, Any]], what: str) -> str:
    listed = ", ".join(f"{r['ewoc_code']} {r['label']} ({r['samples']:,})" for r in report[:_LISTED_CODES])
    more = f" and {len(report) - _LISTED_CODES} more" if len(report) > _LISTED_CODES else ""
    total = sum(int(r["samples"]) for r in report)
    return f"{len(report)} code(s), {total:,} sample(s), have no class in {what}: {listed}{more}"


def map_classes(samples: Any, mapping: Mapping[Any, Any] | str | os.PathLike | ClassScheme, *,
                unmapped: str | None = None, other_label: str = "other", match: str | None = None,
                legend: Any = None, schemes_source: str | os.PathLike | None = None, warn: bool = True) -> Any:
    """Add ``downstream_class``: each sample's class under ``mapping``.

    Parameters
    ----------
    samples
        GeoDataFrame with ``ewoc_code``.
    mapping
        ``{ewoc_code: class}``, a CSV/JSON file of it (:func:`load_mapping`), or one of WorldCereal's class
        schemes by name (``"CROPTYPE24"``, ``"LANDCOVER10"`` ...: :func:`~worldcereal_explorer.training.
        class_schemes`) or as a :class:`ClassScheme`. Samples whose class is ``ignore`` are left out and
        counted (``ignored_samples`` in the step record and the card).
    unmapped
        What happens to samples whose code has no class: ``"other"``: kept with class ``other_label``;
        ``"drop"``: removed; ``"error"``: :class:`BadParameterError` naming the codes. Default: ``"drop"`` for
        a named scheme (its classes are a model's classes: an extra "other" class would not be one of them),
        ``"other"`` for a hand-written mapping. Either way the codes are never passed over in silence: an
        :class:`UnmappedCodesWarning` names them with their sample counts and legend labels, and the step
        record (``unmapped_report``) and the dataset card list every one.
    other_label
        Class name for unmapped codes kept with ``unmapped="other"``.
    match
        ``"ancestors"``: a code without an entry takes the class of its nearest legend ancestor that has one
        (``{1101000000: "cereal"}`` maps every cereal); ``"exact"``: only the code's own entry counts. Default:
        ``"exact"`` for a named scheme (it lists every code it classes), ``"ancestors"`` otherwise.
    legend
        Labels for the report of unmapped codes: a :class:`~worldcereal_explorer.legend.Legend` or
        ``{code: label}``. Default: the samples' ``label`` column where it has one, else the process-wide
        default legend (:func:`~worldcereal_explorer.legend.default_legend`, cached), consulted only when
        codes are unmapped.
    schemes_source
        Where scheme names are looked up (``None``: the copy shipped with this package; ``"worldcereal"``: an
        installed ``worldcereal`` package; a path or URL).
    warn
        ``False``: name the unmapped codes only in the step record (``unmapped_report``), without an
        :class:`UnmappedCodesWarning`, for a caller that shows the record itself (the dashboard's training
        panel, on a worker thread, where ``warnings.catch_warnings`` is not thread-safe).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with the ``downstream_class`` column (string); the step is recorded in ``attrs`` (classes, the
        scheme, its source and SHA-256, ignored and unmapped codes with counts and labels).

    Raises
    ------
    BadParameterError
        For a bad ``unmapped`` or ``match`` value, an unknown scheme name (the allowed names are listed) or a bad
        mapping, unmapped codes with ``unmapped="error"``, or when fewer than two classes remain (the message
        names the classes that remain).
    """
    if unmapped is not None and unmapped not in UNMAPPED_MODES:
        raise BadParameterError(f"unmapped={unmapped!r} is not allowed; allowed: "
                                f"{', '.join(map(repr, UNMAPPED_MODES))}")
    if match is not None and match not in MATCH_MODES:
        raise BadParameterError(f"match={match!r} is not allowed; allowed: {', '.join(map(repr, MATCH_MODES))}")
    require_columns(samples, ["ewoc_code"], "map_classes")
    table, info = resolve_mapping(mapping, schemes_source=schemes_source)
    is_scheme = info["kind"] == "scheme"
    unmapped = unmapped or ("drop" if is_scheme else "other")
    match = match or ("exact" if is_scheme else "ancestors")
    codes = pd.to_numeric(samples["ewoc_code"], errors="coerce").fillna(0).astype("int64").to_numpy()
    unique, inverse = np.unique(codes, return_inverse=True)
    look_up = table.get if match == "exact" else (lambda c: resolve_code(c, table))
    resolved = np.array([look_up(int(c)) for c in unique] + [None], dtype=object)[inverse]
    is_unmapped = pd.isna(resolved)
    is_ignored = np.asarray(resolved == IGNORE, dtype=bool)
    counts = pd.Series(codes).value_counts()
    what = f"class scheme {info['scheme']}" if is_scheme else "the class mapping"
    unmapped_codes = sorted({int(c) for c in codes[is_unmapped]})
    labels = _labels(unmapped_codes, samples, legend) if unmapped_codes else {}
    report = [{"ewoc_code": c, "label": labels[c], "samples": int(counts[c])} for c in unmapped_codes]
    if report:
        text = _report_text(report, what)
        if unmapped == "error":
            raise BadParameterError(f"{text}; add them to the mapping, or pass unmapped='drop' or 'other'")
        action = "dropped" if unmapped == "drop" else f"kept as {other_label!r}"
        if warn:
            warnings.warn(f"{text}; {action}", UnmappedCodesWarning, stacklevel=2)
    ignored_codes = sorted({int(c) for c in codes[is_ignored]})
    out = samples.copy()
    out["downstream_class"] = np.where(is_unmapped, other_label, resolved).astype(object)
    keep = ~is_ignored & (~is_unmapped if unmapped == "drop" else True)
    if not keep.all():
        out = out.loc[keep].copy()
    out["downstream_class"] = out["downstream_class"].astype("string")
    classes = sorted(out["downstream_class"].dropna().unique().tolist())
    if len(classes) < 2:
        hint = (f"keep unmapped codes as {other_label!r} with unmapped='other'" if unmapped != "other"
                else "map more codes")
        raise BadParameterError(
            f"class mapping leaves fewer than two classes ({', '.join(map(repr, classes)) or 'none'}) in "
            f"{len(out)} samples; a training set needs at least two (map more codes, or {hint})"
        )
    step: dict[str, Any] = {
        "step": "map_classes",
        "classes": {str(k): int(v) for k, v in out["downstream_class"].value_counts().sort_index().items()},
        "mapping_entries": len(table),
        "mapping_kind": info["kind"],
        "scheme": info.get("scheme"),
        "match": match,
        "unmapped": unmapped,
        "other_label": other_label,
        "unmapped_codes": unmapped_codes,
        "unmapped_samples": int(is_unmapped.sum()),
        "unmapped_report": report,
        "dropped": int(is_unmapped.sum()) if unmapped == "drop" else 0,
        "ignored_codes": ignored_codes,
        "ignored_samples": int(is_ignored.sum()),
    }
    if is_scheme:
        step.update(scheme_source=info["source"], scheme_sha256=info["sha256"])
    elif info["kind"] == "file":
        step["mapping_file"] = info["source"]
    return record_step(out, step)
