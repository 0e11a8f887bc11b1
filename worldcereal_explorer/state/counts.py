"""Crop counts and the local crop-code filter, as pure functions over DataFrames and collections.

The RDM's code statistics arrive as ``class_counts``: a DataFrame indexed by ``(ewoc_code, Label)``
with one column of whole-collection totals per collection. Everything the explorer shows about counts
(the chart, the crop tree, the table, the status line) is derived here without any request, so these
functions are tested without a server.

A count has one of two meanings (docs/architecture.md, "One number per meaning"): *in the whole
collection* (the code statistics: no area, date, quality or subset filter) or *matching your filters*
(the preview's ``count_samples``, shaped like ``class_counts`` by :func:`matching_counts`: exactly what a
fetch returns).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = [
    "collection_totals",
    "counts_by_code",
    "counts_by_label",
    "empty_counts",
    "filter_by_codes",
    "holds_any",
    "label_samples",
    "matching_counts",
    "plural",
    "restrict_counts",
    "search_summary",
    "total",
    "whole_collection_totals",
]


def empty_counts() -> pd.DataFrame:
    """A counts frame with no rows and no collections (the ``(ewoc_code, Label)`` index kept)."""
    index = pd.MultiIndex.from_arrays([pd.Index([], dtype="int64"), pd.Index([], dtype=object)],
                                      names=["ewoc_code", "Label"])
    return pd.DataFrame(index=index)


def _numeric(counts: pd.DataFrame) -> pd.DataFrame:
    return counts.apply(pd.to_numeric, errors="coerce").fillna(0)


def _grouping(grouping: Mapping[Any, str] | None) -> dict[int, str]:
    return {int(k): v for k, v in (grouping or {}).items()}


def total(counts: pd.DataFrame | None) -> int:
    """Sum of every cell of ``counts`` (0 for ``None`` or an empty frame)."""
    if counts is None or counts.empty:
        return 0
    return int(_numeric(counts).to_numpy().sum())


def counts_by_label(counts: pd.DataFrame | None, grouping: Mapping[Any, str] | None = None) -> pd.DataFrame:
    """Counts summed per (grouped) label.

    Parameters
    ----------
    counts
        Indexed by ``(ewoc_code, Label)`` (or by code only), one column per collection.
    grouping
        ``{ewoc_code: new_label}``; grouped codes are summed under their new label.

    Returns
    -------
    pandas.DataFrame
        Index ``label``, one column per collection, rows sorted by their total, largest first; empty
        when there are no counts.
    """
    if counts is None or counts.empty:
        return pd.DataFrame()
    codes = counts.index.get_level_values(0).astype("int64")
    labels = list(counts.index.get_level_values(1)) if counts.index.nlevels > 1 else [None] * len(codes)
    groups = _grouping(grouping)
    names = [groups.get(int(c), lab if lab else f"unknown ({int(c)})") for c, lab in zip(codes, labels, strict=True)]
    frame = counts.copy()
    frame.index = pd.Index(names, name="label")
    frame = _numeric(frame).groupby(level=0).sum()
    return frame.loc[frame.sum(axis=1).sort_values(ascending=False).index]


def counts_by_code(counts: pd.DataFrame | None) -> dict[int, int]:
    """Total count per ewoc code over every collection of ``counts`` (``{}`` when there are none)."""
    if counts is None or counts.empty:
        return {}
    totals = _numeric(counts).sum(axis=1)
    out: dict[int, int] = {}
    for key, value in totals.items():
        code = int(key[0] if isinstance(key, tuple) else key)  # type: ignore[arg-type]  # codes are ints
        out[code] = out.get(code, 0) + int(value)
    return out


def collection_totals(counts: pd.DataFrame | None, collections: Iterable[Any] = (), *,
                      filtered: bool = False) -> dict[str, int]:
    """Samples per collection: the column sums of ``counts``.

    Parameters
    ----------
    counts
        Counts of the selected codes (all codes when ``filtered`` is false).
    collections
        The collections found; without a crop filter, one missing from the code statistics still gets
        its catalogue sample count (``feature_count``).
    filtered
        Whether ``counts`` is restricted to selected crop codes (then a collection without statistics
        has no known total for those codes and is left out).
    """
    totals = {} if counts is None or counts.empty else {
        str(k): int(v) for k, v in _numeric(counts).sum(axis=0).items()}
    if counts is None or not filtered:
        for coll in collections:
            totals.setdefault(coll.id, int(coll.feature_count or 0))
    return totals


def whole_collection_totals(class_counts: pd.DataFrame | None, collections: Iterable[Any] = ()) -> dict[str, int]:
    """Samples per collection over every crop code: the column sums of the unfiltered ``class_counts``.

    A collection missing from the code statistics gets its catalogue sample count (``feature_count``). With a
    crop filter on, this is the results table's "Whole collection" column.
    """
    return collection_totals(class_counts, collections, filtered=False)


def matching_counts(preview_counts: pd.DataFrame | None, class_counts: pd.DataFrame | None = None,
                    label_of: Callable[[int], str] | None = None) -> pd.DataFrame | None:
    """The preview's counts shaped as ``class_counts`` is: the samples a fetch would return.

    Parameters
    ----------
    preview_counts
        ``ewoc_code``, ``ref_id``, ``count`` (``state.preview_counts``): every filter applied (area, dates,
        crops, access, quality, subset, selected collections).
    class_counts
        The search's counts, for the labels of the codes it names.
    label_of
        Label of a code ``class_counts`` does not name (usually ``legend.label``); else ``"unknown (<code>)"``.

    Returns
    -------
    pandas.DataFrame or None
        Indexed by ``(ewoc_code, Label)``, one column per collection with samples, so :func:`counts_by_label`,
        :func:`counts_by_code` and :func:`collection_totals` read it as they read ``class_counts``; ``None``
        without a preview. Samples without a code are left out (a fetch with a crop filter has none).
    """
    if preview_counts is None:
        return None
    rows = preview_counts.dropna(subset=["ewoc_code"]) if len(preview_counts) else preview_counts
    if not len(rows):
        return empty_counts()
    table = rows.pivot_table(index="ewoc_code", columns="ref_id", values="count", aggfunc="sum", fill_value=0)
    codes = [int(c) for c in table.index]
    known: dict[int, Any] = {}
    if class_counts is not None and len(class_counts):
        known = dict(zip(class_counts.index.get_level_values(0).astype("int64"),
                         class_counts.index.get_level_values(1), strict=True))
    labels = []
    for code in codes:
        try:
            labels.append(known[code] if code in known else label_of(code) if label_of else f"unknown ({code})")
        except Exception:  # a code the legend does not know: name it by its code
            labels.append(f"unknown ({code})")
    frame = table.astype("int64")
    frame.index = pd.MultiIndex.from_arrays([pd.Index(codes, dtype="int64"), labels], names=["ewoc_code", "Label"])
    frame.columns = [str(c) for c in frame.columns]
    return frame


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``"1 crop class"``, ``"37 crop classes"``: ``n`` (with thousands separators) and the right noun form.

    Parameters
    ----------
    n
        The count.
    singular
        The noun for one.
    plural_form
        The noun for any other count; default: ``singular`` + ``"es"`` after s/x/z/ch/sh, else + ``"s"``.
    """
    if plural_form is None:
        plural_form = singular + ("es" if singular.endswith(("s", "x", "z", "ch", "sh")) else "s")
    return f"{n:,} {singular if n == 1 else plural_form}"


def holds_any(collection: Any, codes: Iterable[int], class_counts: pd.DataFrame) -> bool:
    """Whether ``collection`` holds at least one of ``codes`` (the RDM's ``EwocCodes`` rule): by its
    ``ewoc_codes`` list, or by its code statistics when the catalogue gives no list."""
    codes = set(codes)
    listed = {int(c) for c in (getattr(collection, "ewoc_codes", None) or ())}
    if listed:
        return bool(listed & codes)
    if class_counts.empty or collection.id not in class_counts.columns:
        return False
    column = class_counts[collection.id]
    present = column[column > 0].index.get_level_values(0).astype("int64")
    return bool(set(present) & codes)


def filter_by_codes(collections: Sequence[Any], codes: Iterable[int] | None,
                    class_counts: pd.DataFrame) -> list[Any]:
    """The collections holding any of ``codes`` (all of them when ``codes`` is ``None`` or empty).

    This is the crop filter the RDM applies to ``/collections/search``, done locally on the answer of an
    unfiltered search so that ticking crops costs no request.
    """
    codes = list(codes or ())
    if not codes:
        return list(collections)
    return [c for c in collections if holds_any(c, codes, class_counts)]


def restrict_counts(class_counts: pd.DataFrame, codes: Iterable[int], ref_ids: Iterable[str],
                    label_of: Callable[[int], str] | None = None) -> pd.DataFrame:
    """``class_counts`` for ``codes`` (a row each, zeros where absent) and the columns ``ref_ids``.

    Parameters
    ----------
    class_counts
        Unfiltered counts, indexed by ``(ewoc_code, Label)``.
    codes
        The selected codes; each gets a row even when no collection holds it.
    ref_ids
        Collections to keep (those not in ``class_counts`` are skipped).
    label_of
        Label of a code that ``class_counts`` does not name (usually ``legend.label``); a code it
        cannot name (or without it) is labelled ``"unknown (<code>)"``.
    """
    known = dict(zip(class_counts.index.get_level_values(0).astype("int64"),
                     class_counts.index.get_level_values(1), strict=True)) if len(class_counts) else {}
    codes = sorted({int(c) for c in codes})
    labels = []
    for code in codes:
        if code in known:
            labels.append(known[code])
            continue
        try:
            if label_of is None:
                raise LookupError(code)
            labels.append(label_of(code))
        except Exception:  # an unknown code or no legend: name it by its code
            labels.append(f"unknown ({code})")
    columns = [r for r in ref_ids if r in class_counts.columns]
    flat = class_counts.droplevel(1) if len(class_counts) else pd.DataFrame(columns=class_counts.columns)
    frame = flat.reindex(index=codes, columns=columns).fillna(0).astype("int64")
    frame.index = pd.MultiIndex.from_arrays([pd.Index(codes, dtype="int64"), labels],
                                            names=["ewoc_code", "Label"])
    frame.columns.name = class_counts.columns.name
    frame.attrs = dict(class_counts.attrs)
    return frame


def label_samples(samples: Any, labels_of: Callable[[list[int]], Iterable[str]] | None,
                  grouping: Mapping[Any, str] | None = None) -> Any:
    """A copy of ``samples`` with readable ``label`` and ``new_label`` columns.

    Parameters
    ----------
    samples
        A (Geo)DataFrame with an ``ewoc_code`` column; anything else is returned unchanged.
    labels_of
        ``labels_of(codes) -> labels`` (usually ``legend.labels``); when it fails or is ``None`` the
        samples are labelled ``"unknown (<code>)"`` rather than lost.
    grouping
        ``{ewoc_code: new_label}``; ``new_label`` is the label otherwise.
    """
    if samples is None or "ewoc_code" not in getattr(samples, "columns", ()):
        return samples
    samples = samples.copy(deep=False)  # new columns only: the caller's frame keeps its own
    codes = pd.unique(samples["ewoc_code"])
    try:
        if labels_of is None:
            raise LookupError("no legend")
        labels = dict(zip(codes, labels_of([int(c) for c in codes]), strict=True))
    except Exception:  # a missing legend must not lose the samples; show codes instead
        labels = {c: f"unknown ({int(c)})" for c in codes}
    # mapped once per distinct code, not once per sample (a million samples hold a few dozen codes)
    samples["label"] = samples["ewoc_code"].map(labels)
    groups = _grouping(grouping)
    new_labels = {c: groups.get(int(c), labels[c]) for c in codes if not pd.isna(c)} if groups else None
    samples["new_label"] = samples["ewoc_code"].map(new_labels) if new_labels else samples["label"].copy()
    return samples


def search_summary(n_collections: int, total: int, filtered: bool) -> str:
    """The status line after a collection search.

    The total is the collections' whole-collection count (of the selected crop types when ``filtered``):
    the RDM's code statistics know neither the area, the dates, the quality nor the subset, so the line
    says "in the whole collections". How many samples match every filter is the preview's number ("a fetch
    would bring ...") and, after fetching, "N samples match your filters".
    """
    what = "samples of the selected crop types" if filtered else "samples"
    plural = "s" if n_collections != 1 else ""
    return f"{n_collections} collection{plural} found ({total:,} {what} in the whole collections)"


def failure_note(what: str, failed: dict[str, str]) -> str:
    """The status line's part about collections left out: how many, which, and the first reason."""
    ids = sorted(failed)
    shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    first = failed[ids[0]]
    first = first if len(first) <= 120 else first[:117] + "…"
    plural = "s" if len(ids) != 1 else ""
    return f"{what} incomplete: {len(ids)} collection{plural} failed ({shown}: {first})"


def within_polygon(collections: Sequence[Any], polygon: Any) -> list[Any]:
    """The collections whose extent meets ``polygon`` (those without an extent are kept: unknown)."""
    import shapely

    shapely.prepare(polygon)
    return [c for c in collections if getattr(c, "bbox", None) is None or polygon.intersects(c.bbox.to_polygon())]
