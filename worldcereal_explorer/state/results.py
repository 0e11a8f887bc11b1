"""Reading the query state's results: one collection's details.

It reads the outputs a search left (``collections``, ``class_counts``), going to the client only for what a
search does not bring (one collection's metadata and, for a collection outside the results, its code
statistics). The counts per label, code and collection are :mod:`.counts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..errors import WorldCerealExplorerError
from .jobs import describe

__all__ = ["collection_details"]


def collection_details(client: Any, collections: Sequence[Any], class_counts: pd.DataFrame | None,
                       ref_id: str) -> dict[str, Any]:
    """What a details panel shows about one collection, read through the client.

    Parameters
    ----------
    client
        The RDM client.
    collections
        The collections of the last search (a collection among them is not read again).
    class_counts
        The last search's counts per ``(ewoc_code, Label)`` and collection, or ``None``.
    ref_id
        The collection id.

    Returns
    -------
    dict
        ``collection`` (the :class:`~worldcereal_explorer.rdm.models.Collection`), ``metadata``
        (``{name: value}`` of its metadata items; empty when they could not be read), ``metadata_error``
        (why not, or ``""``) and ``counts`` (DataFrame with columns ``ewoc_code``, ``label``, ``count``,
        largest first: from ``class_counts`` when the collection is in it, else its code statistics).

    Raises
    ------
    RdmError
        When the collection itself cannot be read.
    """
    collection = next((c for c in collections if c.id == ref_id), None)
    if collection is None:
        collection = client.get_collection(ref_id)
    try:
        metadata, metadata_error = dict(client.get_collection_metadata(ref_id)), ""
    except WorldCerealExplorerError as exc:
        metadata, metadata_error = {}, describe(exc)
    if class_counts is not None and ref_id in class_counts.columns:
        column = pd.to_numeric(class_counts[ref_id], errors="coerce").fillna(0)
        column = column[column > 0]
        counts = pd.DataFrame({"ewoc_code": column.index.get_level_values(0).astype("int64"),
                               "label": [str(v) for v in column.index.get_level_values(1)],
                               "count": column.to_numpy(dtype="int64")})
    else:
        stats = client.get_collection_stats(ref_id)
        counts = pd.DataFrame({"ewoc_code": stats.index.astype("int64"),
                               "label": stats["Label"].astype(str).to_numpy(),
                               "count": pd.to_numeric(stats["Count"]).to_numpy(dtype="int64")})
    counts = counts.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
    return {"collection": collection, "metadata": metadata, "metadata_error": metadata_error, "counts": counts}
