"""The client's sample side: ``get_samples`` across collections, or on the user's own file.

A mixin of :class:`~worldcereal_explorer.rdm.client.RdmClient`; the engine is :mod:`.samples`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import BadParameterError
from ..extents import normalize_code_filter

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from .http import CallScope, HttpTransport


class SamplesMixin:
    """``get_samples`` of :class:`RdmClient`."""

    if TYPE_CHECKING:  # provided by RdmClient
        transport: HttpTransport

        def _call(self, what: str, cancel_event: Any = None, *, download: bool = False,
                  deadline_s: float | None = None) -> AbstractContextManager[CallScope]: ...

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
        clip: bool = False,
        engine: str = "pandas",
        progress: Any = None,
        cancel_event: threading.Event | None = None,
        on_error: str = "raise",
        dask_client: Any = None,
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
            A ``dask.distributed.Client`` for ``engine="dask"``.
        """
        from .samples import SampleQuery, read_samples

        query = SampleQuery.build(
            columns=columns, subset=subset, spatial_extent=spatial_extent, bbox=bbox,
            temporal_extent=temporal_extent, ewoc_codes=normalize_code_filter(ewoc_codes), min_quality_lc=min_quality_lc,
            min_quality_ct=min_quality_ct, clip=clip,
        )
        if ground_truth_file is not None:
            return self._read_ground_truth_file(ground_truth_file, query, ref_ids, engine, cancel_event)
        return read_samples(
            self, query, ref_ids=ref_ids, include_public=include_public, include_private=include_private,
            engine=engine, progress=progress, cancel_event=cancel_event, on_error=on_error,
            dask_client=dask_client,
        )


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
