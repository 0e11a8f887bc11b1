"""The client's statistics side: per-collection code statistics and crop counts across collections.

A mixin of :class:`~worldcereal_explorer.rdm.client.RdmClient` (it uses the client's JSON helpers, call
scopes and bounded pool).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import (
    BadParameterError,
    RdmConnectionError,
    RdmError,
    RdmHttpError,
    RdmResponseError,
    UnknownCollectionError,
)
from ..legend import Legend
from .query import RdmQuery, client_query, resolve_ref_ids

if TYPE_CHECKING:
    import threading

    from .models import Collection

logger = logging.getLogger(__name__)

#: Which ``codeStats`` list of the metadata each ``stats_type`` reads.
STATS_TYPES = {"crop_type": "EwocStats", "irrigation": "IrrStats", "land_cover": "LcStats"}
#: Irrigation codes of the WorldCereal irrigation legend's top level; finer codes get a generic label.
IRRIGATION_LABELS = {0: "no information", 100: "rainfed", 200: "irrigated"}

class StatsMixin:
    """Code statistics and crop counts of :class:`RdmClient`."""

    if TYPE_CHECKING:  # provided by RdmClient

        @property
        def legend(self) -> Legend: ...

        def get_collection_metadata(self, ref_id: str, *, cancel_event: Any = None) -> dict[str, Any]: ...
        def get_collections(self, spatial_extent: Any = None, temporal_extent: Any = None,
                            include_public: bool = True, include_private: bool = False,
                            ewoc_codes: Iterable[int] | None = None, *, bbox: Any = None,
                            query: RdmQuery | None = None, cancel_event: Any = None) -> list[Collection]: ...
        def get_code_stats(self, ref_id: str, *, cancel_event: Any = None) -> dict[str, Any]: ...
        def _check_ref_id(self, ref_id: Any) -> str: ...
        def _map(self, func: Any, items: Any, cancel_event: Any = None, what: str = "") -> list[Any]: ...

    def get_collection_stats(self, ref_id: str, stats_type: str = "crop_type", *,
                             cancel_event: Any = None) -> pd.DataFrame:
        """Sample counts per code of one collection, from its metadata's ``codeStats``.

        Parameters
        ----------
        ref_id
            Collection id.
        stats_type
            ``"crop_type"`` (ewoc codes), ``"irrigation"`` or ``"land_cover"``.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``Code``, columns ``Count`` (int) and ``Label``, most frequent first.
        """
        if stats_type not in STATS_TYPES:
            raise BadParameterError(f"stats_type={stats_type!r} is not allowed; use one of {sorted(STATS_TYPES)}")
        metadata = self.get_collection_metadata(ref_id, cancel_event=cancel_event)
        raw = metadata.get("codeStats")
        if raw in (None, ""):
            raise RdmResponseError(
                f"collection {ref_id!r} has no code statistics (no 'codeStats' in its metadata items)"
            )
        try:
            stats = json.loads(raw) if isinstance(raw, str) else (raw or {})
        except ValueError:
            raise RdmResponseError(f"codeStats of {ref_id!r} is not valid JSON") from None
        rows = [(int(r["Code"]), int(r["Count"])) for r in stats.get(STATS_TYPES[stats_type]) or []]
        frame = pd.DataFrame(rows, columns=["Code", "Count"]).astype({"Code": "int64", "Count": "int64"})
        frame = frame.sort_values("Count", ascending=False, kind="stable").set_index("Code")
        frame["Label"] = [self._stats_label(code, stats_type) for code in frame.index]
        return frame

    def _stats_label(self, code: int, stats_type: str) -> str:
        if stats_type == "crop_type":
            return self.legend.label(code) if _is_legend_code(code) else Legend.unknown_label(code)
        if stats_type == "irrigation":
            return IRRIGATION_LABELS.get(code, f"irrigation code {code}")
        return f"land cover code {code}"

    def get_crop_counts(
        self,
        ref_ids: Iterable[str] | None = None,
        ewoc_codes: Iterable[int] | None = None,
        *,
        query: RdmQuery | None = None,
        cancel_event: threading.Event | None = None,
        on_error: str = "raise",
    ) -> pd.DataFrame:
        """Sample counts per crop type across collections, fetched concurrently.

        Parameters
        ----------
        ref_ids
            Collection ids (one column each, in this order). With ``query``: default its ``selected_ids``, else
            the collections :meth:`get_collections` finds for it.
        ewoc_codes
            Only these codes (each gets a row, zeros where absent). Default: every code present.
        query
            An :class:`~worldcereal_explorer.rdm.query.RdmQuery`: its codes (and collections, see ``ref_ids``);
            a keyword given with it must agree with it.
        cancel_event
            Set it to stop early (raises :class:`QueryCancelledError`); used by the dashboard when a
            newer query supersedes this one.
        on_error
            ``"raise"`` (default): a collection whose statistics cannot be fetched fails the call.
            ``"skip"``: it is left out with a warning and listed in ``frame.attrs["skipped"]`` (ids) and
            ``frame.attrs["errors"]`` (``{ref_id: reason}``).

        Returns
        -------
        pandas.DataFrame
            Index ``(ewoc_code, Label)``, one int column per ref_id (sorted, as in the reference client), 0
            where a collection lacks a code.
            Collections whose stats lack ``ewocStats`` are left out with a warning and listed in
            ``frame.attrs["skipped"]``.
        """
        if on_error not in ("raise", "skip"):
            raise BadParameterError(f"on_error={on_error!r} is not allowed; use 'raise' or 'skip'")
        q = client_query(query, ewoc_codes=ewoc_codes)
        chosen = ref_ids if query is None else resolve_ref_ids(ref_ids, q)
        if chosen is None:
            if query is None:
                raise BadParameterError("get_crop_counts needs ref_ids (collection ids) or query=RdmQuery(...)")
            chosen = [c.id for c in self.get_collections(query=q, cancel_event=cancel_event)]
        ids = [self._check_ref_id(r) for r in ([chosen] if isinstance(chosen, str) else list(chosen))]
        codes = q.code_filter

        def fetch(ref_id: str) -> dict[str, Any] | RdmError:
            try:
                return self.get_code_stats(ref_id)
            except (RdmHttpError, RdmResponseError, UnknownCollectionError, RdmConnectionError) as exc:
                if on_error == "raise":
                    raise
                return exc

        stats = self._map(fetch, ids, cancel_event, "crop counts")
        counts: dict[str, dict[int, int]] = {}
        skipped = []
        errors: dict[str, str] = {}
        for ref_id, data in zip(ids, stats, strict=True):
            entries = None if isinstance(data, RdmError) else data.get("ewocStats", data.get("EwocStats"))
            if entries is None:
                reason = data if isinstance(data, RdmError) else "no ewocStats in its code statistics"
                logger.warning("collection %s left out of the crop counts: %s", ref_id, reason)
                skipped.append(ref_id)
                errors[ref_id] = str(reason)
                continue
            column: dict[int, int] = {}
            for entry in entries:
                code = int(entry.get("code", entry.get("Code")))
                column[code] = column.get(code, 0) + int(entry.get("count", entry.get("Count")))
            counts[ref_id] = column
        all_codes = sorted(codes if codes is not None else {c for col in counts.values() for c in col})
        frame = pd.DataFrame(
            {ref_id: [col.get(code, 0) for code in all_codes] for ref_id, col in counts.items()},
            index=pd.MultiIndex.from_arrays(
                [pd.Index(all_codes, dtype="int64"), [self._stats_label(c, "crop_type") for c in all_codes]],
                names=["ewoc_code", "Label"],
            ),
            dtype="int64",
        )
        frame = frame[sorted(frame.columns)]  # the reference client's column order: ref_ids sorted
        frame.columns.name = "ref_id"
        frame.attrs["skipped"] = skipped
        frame.attrs["errors"] = errors
        return frame



def _is_legend_code(code: int) -> bool:
    return code == 0 or 1_000_000_000 <= code <= 9_999_999_999
