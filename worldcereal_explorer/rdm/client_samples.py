"""The client's sample side: ``get_samples`` across collections, or on the user's own file.

A mixin of :class:`~worldcereal_explorer.rdm.client.RdmClient`; the engine is :mod:`.samples`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadParameterError
from .query import RdmQuery, client_query, resolve_ref_ids

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import pandas as pd

    from .http import CallScope, HttpTransport
    from .models import Collection
    from .samples import SampleQuery


#: Default of :attr:`SamplesMixin.memory_budget_bytes`: 2 GiB.
DEFAULT_MEMORY_BUDGET_BYTES = 2 * 2**30
_UNSET: Any = object()


class SamplesMixin:
    """``get_samples``, ``count_samples`` and ``download_samples`` of :class:`RdmClient`.

    Attributes
    ----------
    memory_budget_bytes : int or None
        ``get_samples`` (pandas engine) refuses with :class:`~worldcereal_explorer.errors.FetchTooLargeError`
        a query whose result is estimated to need more memory than this (default 2 GiB); ``None``
        disables the check. Set it on the client (``client.memory_budget_bytes = 8 * 2**30``) or per call.
    """

    memory_budget_bytes: int | None = DEFAULT_MEMORY_BUDGET_BYTES

    if TYPE_CHECKING:  # provided by RdmClient
        transport: HttpTransport

        def _call(self, what: str, cancel_event: Any = None, *, download: bool = False,
                  deadline_s: float | None = None) -> AbstractContextManager[CallScope]: ...
        def get_collections(self, spatial_extent: Any = None, temporal_extent: Any = None,
                            include_public: bool = True, include_private: bool = False,
                            ewoc_codes: Iterable[int] | None = None, *, bbox: Any = None,
                            query: RdmQuery | None = None, cancel_event: Any = None) -> list[Collection]: ...

    def get_samples(
        self,
        ref_ids: Iterable[str] | None = None,
        columns: Sequence[str] | None = None,
        subset: bool = False,
        spatial_extent: Any = None,
        temporal_extent: Any = None,
        ewoc_codes: Iterable[int] | None = None,
        include_public: bool = True,
        include_private: bool = False,
        min_quality_lc: int = 0,
        min_quality_ct: int = 0,
        ground_truth_file: str | os.PathLike[str] | None = None,
        *,
        bbox: Any = None,
        query: RdmQuery | None = None,
        clip: bool = False,
        engine: str = "pandas",
        progress: Any = None,
        cancel_event: threading.Event | None = None,
        on_error: str = "raise",
        dask_client: Any = None,
        memory_budget_bytes: Any = _UNSET,
    ):
        """Individual samples across collections that match the filters (see :mod:`.samples`).

        Parameters
        ----------
        ref_ids
            Collections to read; ``None``: the collections :meth:`get_collections` finds for the filters.
        columns
            Columns to return (default: the RDM default columns).
        subset
            Only samples selected for extraction (``extract > 0``).
        spatial_extent, bbox
            Samples whose geometry intersects this bbox or (Multi)Polygon.
        temporal_extent
            ``valid_time`` within this range, both ends included.
        ewoc_codes
            ``ewoc_code`` in this list.
        include_public, include_private
            Access levels when ``ref_ids`` is None.
        min_quality_lc, min_quality_ct
            Minimum per-sample quality scores (``>=``).
        query
            An :class:`~worldcereal_explorer.rdm.query.RdmQuery` instead of the filter keywords: its area, dates,
            codes, access levels, quality, subset and ``selected_ids`` (the default of ``ref_ids``). A keyword
            given with it must agree with it (else ``BadParameterError``).
        ground_truth_file
            Your own samples file (GeoParquet, GeoPackage, GeoJSON or zipped Shapefile; a path or an http(s)
            URL) to query with the same filters instead of the RDM (the reference client's way around failing
            private downloads). ``ref_id`` is the file's name without its ending.
        clip
            Cut geometries to the extent (default: keep whole geometries).
        engine
            ``"pandas"`` (a GeoDataFrame) or ``"dask"`` (a lazy dask_geopandas GeoDataFrame).
        progress
            ``True``/``None`` for a tqdm bar, ``False`` for none, or a callable receiving progress events.
        cancel_event
            Set it to stop the query promptly (raises ``QueryCancelledError``).
        on_error
            ``"raise"`` (default) or ``"skip"`` collections whose file cannot be read.
        dask_client
            ``engine="dask"``: a ``dask.distributed.Client``, or the scheduler's address (``"tcp://host:port"``)
            to connect to; the frame is then persisted on that cluster.
        memory_budget_bytes
            Overrides :attr:`memory_budget_bytes` for this call (``None``: no limit).

        Raises
        ------
        FetchTooLargeError
            When the estimated in-memory size of the result exceeds the memory budget (pandas engine). The
            estimate comes from the footers and the filter columns, before any other column is read.
        """
        from .samples import read_samples

        q = client_query(query, spatial_extent=spatial_extent, bbox=bbox, temporal_extent=temporal_extent,
                         ewoc_codes=ewoc_codes, include_public=include_public, include_private=include_private,
                         min_quality_lc=min_quality_lc, min_quality_ct=min_quality_ct, subset=subset)
        sample_query = self._sample_query(q, columns, clip)
        if ground_truth_file is not None:
            return self._read_ground_truth_file(ground_truth_file, sample_query, resolve_ref_ids(ref_ids, q), engine,
                                                cancel_event)
        budget = self.memory_budget_bytes if memory_budget_bytes is _UNSET else memory_budget_bytes
        return read_samples(
            self, sample_query, ref_ids=self._sample_ref_ids(q, ref_ids, cancel_event),
            include_public=q.include_public, include_private=q.includes_non_public, engine=engine,
            progress=progress, cancel_event=cancel_event, on_error=on_error, dask_client=dask_client,
            memory_budget_bytes=_budget(budget),
        )

    @staticmethod
    def _sample_query(query: RdmQuery, columns: Any, clip: Any) -> SampleQuery:
        from .samples import SampleQuery

        return SampleQuery.from_query(query, columns=columns, clip=clip)

    def _sample_ref_ids(self, query: RdmQuery, ref_ids: Any, cancel_event: Any) -> Any:
        """The collections a sample method reads: ``ref_ids``, else the query's ``selected_ids``, else ``None``
        (the sample engine searches) -- except when private and restricted collections are asked for unequally:
        the engine's search knows one "non-public" level, so the search runs here, with the query's rule."""
        ids = resolve_ref_ids(ref_ids, query)
        if ids is None and query.include_private != query.include_restricted:
            ids = [c.id for c in self.get_collections(query=query, cancel_event=cancel_event)]
        return ids

    def count_samples(
        self,
        ref_ids: Iterable[str] | None = None,
        subset: bool = False,
        spatial_extent: Any = None,
        temporal_extent: Any = None,
        ewoc_codes: Iterable[int] | None = None,
        include_public: bool = True,
        include_private: bool = False,
        min_quality_lc: int = 0,
        min_quality_ct: int = 0,
        *,
        bbox: Any = None,
        query: RdmQuery | None = None,
        clip: bool = False,
        columns: Sequence[str] | None = None,
        by: Sequence[str] | str | None = ("ewoc_code", "ref_id"),
        h3_resolution: int | None = None,
        engine: str = "pandas",
        progress: Any = None,
        cancel_event: threading.Event | None = None,
        on_error: str = "raise",
        dask_client: Any = None,
    ) -> pd.DataFrame:
        """How many samples :meth:`get_samples` would return for the same filters, by group, without fetching them.

        Only the columns the counts need are read (grouping and filter columns, the covering bbox where it
        can prune, point coordinates for ``h3_cell``), from the row groups that can match; geometries only
        where a covering bbox straddles the extent's edge (non-point samples) or the file has no covering.

        Parameters
        ----------
        ref_ids, subset, spatial_extent, bbox, temporal_extent, ewoc_codes, include_public, include_private,
        min_quality_lc, min_quality_ct, query, clip
            The filters of :meth:`get_samples` (``clip`` does not change counts).
        columns
            Only used for the estimate of a full fetch (default: the RDM default columns).
        by
            Columns to group by (default ``("ewoc_code", "ref_id")``); ``None`` or ``()``: one total.
        h3_resolution
            Also group by the H3 cell (``h3_cell`` column) at this resolution (0..15): parents of
            ``h3_l3_cell`` for resolutions <= 3 where the column exists, else the cell of the point, or of the
            centroid of a polygon.
        engine
            ``"pandas"`` (threads here) or ``"dask"`` (partitions counted on the Dask workers).
        progress, cancel_event, on_error
            As for :meth:`get_samples`.
        dask_client
            ``engine="dask"``: a ``dask.distributed.Client`` or a scheduler address; ``None``: the default
            scheduler.

        Returns
        -------
        pandas.DataFrame
            One row per group and a ``count`` column, sorted by the groups; equal to
            ``get_samples(...).groupby(by, dropna=False).size()``. ``attrs["estimate"]`` is a
            :class:`~worldcereal_explorer.rdm.samples.preview.FetchEstimate` of a full fetch (samples,
            bytes to read, memory), ``attrs["read_stats"]`` what this preview read.

        Examples
        --------
        >>> counts = client.count_samples(bbox=(4, 50, 5, 51), h3_resolution=2)   # doctest: +SKIP
        >>> counts.attrs["estimate"].memory_bytes                                  # doctest: +SKIP
        """
        from .samples.preview import count_samples

        q = client_query(query, spatial_extent=spatial_extent, bbox=bbox, temporal_extent=temporal_extent,
                         ewoc_codes=ewoc_codes, include_public=include_public, include_private=include_private,
                         min_quality_lc=min_quality_lc, min_quality_ct=min_quality_ct, subset=subset)
        return count_samples(self, self._sample_query(q, columns, clip),
                             ref_ids=self._sample_ref_ids(q, ref_ids, cancel_event), include_public=q.include_public,
                             include_private=q.includes_non_public, by=by, h3_resolution=h3_resolution,
                             engine=engine, progress=progress, cancel_event=cancel_event, on_error=on_error,
                             dask_client=dask_client)

    def download_samples(
        self,
        path: str | os.PathLike[str],
        *,
        ref_ids: Iterable[str] | None = None,
        columns: Sequence[str] | None = None,
        subset: bool = False,
        spatial_extent: Any = None,
        temporal_extent: Any = None,
        ewoc_codes: Iterable[int] | None = None,
        include_public: bool = True,
        include_private: bool = False,
        min_quality_lc: int = 0,
        min_quality_ct: int = 0,
        bbox: Any = None,
        query: RdmQuery | None = None,
        clip: bool = False,
        format: str | None = None,
        resume: bool = True,
        engine: str = "pandas",
        dask_client: Any = None,
        progress: Any = None,
        cancel_event: threading.Event | None = None,
        on_error: str = "raise",
    ) -> Path:
        """Stream the samples :meth:`get_samples` would return straight to a file, in bounded memory.

        Row groups are read, filtered and written one at a time (never a whole collection in memory), first
        as parts in a hidden folder beside ``path`` with a journal, then assembled into ``path`` atomically.
        See :mod:`worldcereal_explorer.rdm.samples.stream` for the resume rules.

        Parameters
        ----------
        path
            Destination file; missing folders are created.
        ref_ids, columns, subset, spatial_extent, bbox, temporal_extent, ewoc_codes, include_public,
        include_private, min_quality_lc, min_quality_ct, query, clip
            The filters of :meth:`get_samples`.
        format
            ``"parquet"`` (GeoParquet 1.1 with a bbox covering column), ``"gpkg"`` or ``"csv"`` (geometry as
            WKT); ``None``: from the suffix of ``path``.
        resume
            Continue an earlier, interrupted export of the same query to the same path (default); ``False``
            discards its parts and starts over.
        engine, dask_client
            ``engine="dask"``: the row groups are read and filtered on the Dask workers (``dask_client`` a
            client or a scheduler address); this machine writes what they return.
        progress
            ``None``/``True``/``False`` as for :meth:`get_samples`, or a callable receiving
            :class:`~worldcereal_explorer.rdm.samples.stream.ExportProgress` events.
        cancel_event
            Setting it stops the export promptly with ``QueryCancelledError``; nothing is left behind (not
            even the parts: a cancelled export does not resume).
        on_error
            ``"raise"`` or ``"skip"`` collections that cannot be read.

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        from .samples.stream import export_query

        q = client_query(query, spatial_extent=spatial_extent, bbox=bbox, temporal_extent=temporal_extent,
                         ewoc_codes=ewoc_codes, include_public=include_public, include_private=include_private,
                         min_quality_lc=min_quality_lc, min_quality_ct=min_quality_ct, subset=subset)
        return export_query(self, path, self._sample_query(q, columns, clip),
                            ref_ids=self._sample_ref_ids(q, ref_ids, cancel_event), include_public=q.include_public,
                            include_private=q.includes_non_public, format=format, resume=resume, engine=engine,
                            dask_client=dask_client, progress=progress, cancel_event=cancel_event,
                            on_error=on_error).path


    def _read_ground_truth_file(self, source: Any, query: Any, ref_ids: Any, engine: str, cancel_event: Any) -> Any:
        from .samples import to_geodataframe
        from .samples.local import read_ground_truth_file

        if ref_ids is not None:
            raise BadParameterError("pass either ref_ids or ground_truth_file, not both")
        if engine != "pandas":
            raise BadParameterError(f"engine={engine!r} is not available with ground_truth_file; use 'pandas'")
        with self._call(f"reading ground_truth_file {os.fspath(source)!r}", cancel_event, download=True) as scope:
            result = read_ground_truth_file(self.transport, source, query, scope=scope)
        return to_geodataframe([result], query.columns)


def _budget(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise BadParameterError(f"memory_budget_bytes={value!r} is not allowed; use a number of bytes > 0 or None")
    return int(value)
