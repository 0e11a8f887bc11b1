"""Reading the query state's results: one collection's details, counts per label, code and collection.

These only read the outputs a search left (``collections``, ``class_counts``, ``counts``), going to the
client only for what a search does not bring (one collection's metadata and, for a collection outside
the results, its code statistics).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import WorldCerealExplorerError
from . import counts as _counts
from .jobs import describe

__all__ = ["ResultsMixin"]


class ResultsMixin:
    """What widgets read from the results of :class:`~worldcereal_explorer.state.RdmQueryState`.

    Expects the host to have ``client``, the outputs ``collections``, ``class_counts`` and ``counts``, and
    the inputs ``grouping`` and ``ewoc_codes``.
    """

    def collection_details(self, ref_id: str) -> dict[str, Any]:
        """What a details panel shows about one collection, read through the client.

        Parameters
        ----------
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
        collection = next((c for c in self.collections if c.id == ref_id), None)
        if collection is None:
            collection = self.client.get_collection(ref_id)
        try:
            metadata, metadata_error = dict(self.client.get_collection_metadata(ref_id)), ""
        except WorldCerealExplorerError as exc:
            metadata, metadata_error = {}, describe(exc)
        class_counts = self.class_counts
        if class_counts is not None and ref_id in class_counts.columns:
            column = pd.to_numeric(class_counts[ref_id], errors="coerce").fillna(0)
            column = column[column > 0]
            counts = pd.DataFrame({"ewoc_code": column.index.get_level_values(0).astype("int64"),
                                   "label": [str(v) for v in column.index.get_level_values(1)],
                                   "count": column.to_numpy(dtype="int64")})
        else:
            stats = self.client.get_collection_stats(ref_id)
            counts = pd.DataFrame({"ewoc_code": stats.index.astype("int64"),
                                   "label": stats["Label"].astype(str).to_numpy(),
                                   "count": pd.to_numeric(stats["Count"]).to_numpy(dtype="int64")})
        counts = counts.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
        return {"collection": collection, "metadata": metadata, "metadata_error": metadata_error, "counts": counts}

    def counts_by_label(self) -> pd.DataFrame:
        """Crop counts summed per (grouped) label: index label, one column per collection, sorted by total."""
        return _counts.counts_by_label(self.counts, self.grouping)

    def counts_by_code(self, unfiltered: bool = False) -> dict[int, int]:
        """Total sample count per ewoc code over the current collections.

        Parameters
        ----------
        unfiltered
            ``False``: the selected codes over the collections holding them (``counts``); ``True``: every
            code over every collection of the space / time / access search (``class_counts``).
        """
        return _counts.counts_by_code(self.class_counts if unfiltered else self.counts)

    def collection_totals(self) -> dict[str, int]:
        """Samples per collection: its whole-collection total for the selected codes (all codes when none
        is selected), from ``counts``; the table and the status message both use these numbers."""
        return _counts.collection_totals(self.counts, self.collections, filtered=bool(self.ewoc_codes))
