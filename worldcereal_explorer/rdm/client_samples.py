"""The client's sample side: ``get_samples`` across collections, or on the user's own file.

A mixin of :class:`~worldcereal_explorer.rdm.client.RdmClient`; the engine is :mod:`.samples`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadParameterError
from .query import RdmQuery, client_query, resolve_ref_ids

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import pandas as pd

    from ..transport.http import CallScope, HttpTransport
    from .models import Collection
    from .samples import SampleQuery


#: Default of :attr:`SamplesMixin.memory_budget_bytes`: 2 GiB.
DEFAULT_MEMORY_BUDGET_BYTES = 2 * 2**30
_UNSET: Any = object()
#: The filter keywords the sample methods share: with ``query``, they make the method's RdmQuery.
_FILTERS = ("spatial_extent", "bbox", "temporal_extent", "ewoc_codes", "include_public", "include_private",
            "min_quality_lc", "min_quality_ct", "subset")


def _query_of(arguments: Mapping[str, Any]) -> RdmQuery:
    """The RdmQuery of a sample method's arguments (its ``locals()``): ``query`` and the filter keywords."""
    return client_query(arguments["query"], **{name: arguments[name] for name in _FILTERS})


class SamplesMixin:
    """``get_samples``, ``count_samples`` and ``download_samples`` of :class:`RdmClient`.

    Attributes
    ----------
    memory_budget_bytes : int or None
        ``get_samples`` (pandas engine) refuses with :class:`~worldcereal_explorer.errors.FetchTooLargeError`
        a query whose result is estimated to need more memory than this (default 2 GiB); ``None``
        disables the check. Set it on the client (``client.memory_budget_bytes = 8 * 2**30``) or per call.
    sample_cache : bool, str, os.PathLike, SampleCache or None
        The default of the sample methods' ``sample_cache=``: keep the collections read on disk, re-laid
        out for range reads, so that a repeat query reads (almost) nothing over the network
        (:mod:`~worldcereal_explorer.rdm.samples.cache`). ``None`` (default): the ``sample_cache`` setting
        (off unless turned on; always off in served mode); ``True``/``False``; a folder; or a
        :class:`~worldcereal_explorer.rdm.samples.cache.SampleCache`.
    """

    memory_budget_bytes: int | None = DEFAULT_MEMORY_BUDGET_BYTES
    sample_cache: Any = None

    if TYPE_CHECKING:  # provided by RdmClient
        transport: HttpTransport

        def _call(self, what: str, cancel_event: Any = None, *, download: bool = False,
                  deadline_s: float | None = None) -> AbstractContextManager[CallScope]: ...
        def get_collections(self, spatial_extent: Any = None, temporal_extent: Any = None,
                            include_public: bool = True, include_private: bool = False,
                            ewoc_codes: Iterable[int] | None = None, *, bbox: Any = None,
                            query: RdmQuery | None = None, cancel_event: Any = None) -> list[Collection]: ...

    # The sample methods keep the reference client's keyword arguments (and get_samples its positional
    # order); each line of their signatures is one group of what the docstrings describe together.
    def get_samples(
        self,
        ref_ids: Iterable[str] | None = None, columns: Sequence[str] | None = None, subset: bool = False,
        spatial_extent: Any = None, temporal_extent: Any = None, ewoc_codes: Iterable[int] | None = None,
        include_public: bool = True, include_private: bool = False,
        min_quality_lc: int = 0, min_quality_ct: int = 0,
        ground_truth_file: str | os.PathLike[str] | None = None,
        *,
        bbox: Any = None, query: RdmQuery | None = None, clip: bool = False,
        engine: str = "pandas", dask_client: Any = None,
        progress: Any = None, cancel_event: threading.Event | None = None, on_error: str = "raise",
        memory_budget_bytes: Any = _UNSET, sample_cache: Any = None,
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
        sample_cache
            Read through the local cache of queried collections: ``True``/``False``, a folder or a
            ``SampleCache``; ``None``: :attr:`sample_cache` (see there). Not for ``ground_truth_file``.

        Raises
        ------
        FetchTooLargeError
            When the estimated in-memory size of the result exceeds the memory budget (pandas engine). The
            estimate comes from the footers and the filter columns, before any other column is read.
        """
        from .samples import read_samples

        q = _query_of(locals())
        sample_query = self._sample_query(q, columns, clip)
        if ground_truth_file is not None:
            return self._read_ground_truth_file(ground_truth_file, sample_query, resolve_ref_ids(ref_ids, q), engine,
                                                cancel_event)
        budget = self.memory_budget_bytes if memory_budget_bytes is _UNSET else memory_budget_bytes
        return read_samples(
            self, sample_query, ref_ids=self._sample_ref_ids(q, ref_ids, cancel_event),
            include_public=q.include_public, include_private=q.includes_non_public, engine=engine,
            progress=progress, cancel_event=cancel_event, on_error=on_error, dask_client=dask_client,
            memory_budget_bytes=_budget(budget), sample_cache=sample_cache,
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
        ref_ids: Iterable[str] | None = None, subset: bool = False,
        spatial_extent: Any = None, temporal_extent: Any = None, ewoc_codes: Iterable[int] | None = None,
        include_public: bool = True, include_private: bool = False,
        min_quality_lc: int = 0, min_quality_ct: int = 0,
        *,
        bbox: Any = None, query: RdmQuery | None = None, clip: bool = False, columns: Sequence[str] | None = None,
        by: Sequence[str] | str | None = ("ewoc_code", "ref_id"), h3_resolution: int | None = None,
        engine: str = "pandas", dask_client: Any = None,
        progress: Any = None, cancel_event: threading.Event | None = None, on_error: str = "raise",
        sample_cache: Any = None,
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
        sample_cache
            As for :meth:`get_samples`.

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

        q = _query_of(locals())
        return count_samples(self, self._sample_query(q, columns, clip),
                             ref_ids=self._sample_ref_ids(q, ref_ids, cancel_event), include_public=q.include_public,
                             include_private=q.includes_non_public, by=by, h3_resolution=h3_resolution,
                             engine=engine, progress=progress, cancel_event=cancel_event, on_error=on_error,
                             dask_client=dask_client, sample_cache=sample_cache)

    def download_samples(
        self,
        path: str | os.PathLike[str],
        *,
        ref_ids: Iterable[str] | None = None, columns: Sequence[str] | None = None, subset: bool = False,
        spatial_extent: Any = None, temporal_extent: Any = None, ewoc_codes: Iterable[int] | None = None,
        include_public: bool = True, include_private: bool = False,
        min_quality_lc: int = 0, min_quality_ct: int = 0,
        bbox: Any = None, query: RdmQuery | None = None, clip: bool = False,
        format: str | None = None, resume: bool = True, labels: bool = False,
        grouping: Mapping[Any, str] | None = None,
        engine: str = "pandas", dask_client: Any = None,
        progress: Any = None, cancel_event: threading.Event | None = None, on_error: str = "raise",
        sample_cache: Any = None,
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
        labels, grouping
            ``labels=True`` (or a ``grouping``) adds the ``label`` and ``new_label`` columns of
            :meth:`label_samples` to the file, as the dashboard's "Save samples" writes them; the file is
            rewritten a row group (GeoParquet) or a line (CSV) at a time, or in place (GeoPackage).
        sample_cache
            As for :meth:`get_samples`: the row groups are then read from the cached copies (a resumed export
            whose files were read remotely before starts those collections over: their row groups differ).

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        from .samples.stream import export_query

        q = _query_of(locals())
        result = export_query(self, path, self._sample_query(q, columns, clip),
                              ref_ids=self._sample_ref_ids(q, ref_ids, cancel_event), include_public=q.include_public,
                              include_private=q.includes_non_public, format=format, resume=resume, engine=engine,
                              dask_client=dask_client, progress=progress, cancel_event=cancel_event,
                              on_error=on_error, sample_cache=sample_cache)
        if labels or grouping:
            label_sample_file(result.path, result.format, self._label_of, grouping)
        return result.path

    def _label_of(self, codes: list[int]) -> list[str]:
        return list(self.legend.labels(codes))  # type: ignore[attr-defined]  # RdmClient.legend

    def label_samples(self, samples: Any, grouping: Mapping[Any, str] | None = None) -> Any:
        """A copy of ``samples`` with the dashboard's ``label`` and ``new_label`` columns.

        ``label`` is the legend's label of each ``ewoc_code``; ``new_label`` is the code's group in
        ``grouping`` and, for a code no group names, its own ``label`` (so no sample is left without a class).

        Parameters
        ----------
        samples
            A (Geo)DataFrame with an ``ewoc_code`` column (from :meth:`get_samples`).
        grouping
            ``{ewoc_code: new_label}``, the dashboard's crop groups.

        Returns
        -------
        (Geo)DataFrame
            The samples with the two columns added (the caller's frame is not changed).

        Raises
        ------
        BadParameterError
            When ``samples`` has no ``ewoc_code`` column.
        """
        if "ewoc_code" not in getattr(samples, "columns", ()):
            raise BadParameterError("samples must have an 'ewoc_code' column (the frame get_samples returns)")
        samples = samples.copy(deep=False)
        codes = [int(c) for c in samples["ewoc_code"].dropna().unique()]
        label, new_label = sample_label_maps(codes, self._label_of, grouping)
        samples["label"] = samples["ewoc_code"].map(label)
        samples["new_label"] = samples["ewoc_code"].map(new_label)
        return samples


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


def sample_label_maps(codes: Iterable[int], labels_of: Callable[[list[int]], list[str]] | None,
                      grouping: Mapping[Any, str] | None = None) -> tuple[dict[int, str], dict[int, str]]:
    """``{code: label}`` and ``{code: new_label}`` for ``codes``, as the dashboard labels its samples.

    Parameters
    ----------
    codes
        The ewoc codes of the samples.
    labels_of
        ``labels_of(codes) -> labels`` (the legend's); when it fails or is ``None`` every code is labelled
        ``"unknown (<code>)"`` rather than the samples being lost.
    grouping
        ``{ewoc_code: new_label}``; a code it does not name keeps its label as ``new_label``.
    """
    codes = sorted({int(c) for c in codes})
    try:
        if labels_of is None:
            raise LookupError("no legend")
        names = [str(n) for n in labels_of(codes)]
    except Exception:  # a missing legend must not lose the samples: name them by code
        names = [f"unknown ({c})" for c in codes]
    label = dict(zip(codes, names, strict=True))
    groups = {int(k): str(v) for k, v in (grouping or {}).items()}
    return label, {c: groups.get(c, label[c]) for c in codes}


def label_sample_file(path: str | os.PathLike[str], format: str,
                      labels_of: Callable[[list[int]], list[str]] | None,
                      grouping: Mapping[Any, str] | None = None) -> Path:
    """Add ``label`` and ``new_label`` columns (see :func:`sample_label_maps`) to an exported sample file.

    Parameters
    ----------
    path
        A file written by :meth:`SamplesMixin.download_samples`.
    format
        ``"parquet"``, ``"gpkg"`` or ``"csv"``.
    labels_of, grouping
        As for :func:`sample_label_maps`.

    Returns
    -------
    pathlib.Path
        ``path``, rewritten atomically (GeoParquet, CSV) or changed in one transaction (GeoPackage).

    Raises
    ------
    BadParameterError
        An unknown ``format``, or a file without an ``ewoc_code`` column.
    """
    from ..files import atomic_path

    target = Path(path)
    if format not in ("parquet", "gpkg", "csv"):
        raise BadParameterError(f"format={format!r} cannot be labelled; use 'parquet', 'gpkg' or 'csv'")
    if format == "gpkg":
        _label_gpkg(target, labels_of, grouping)
        return target
    with atomic_path(target) as tmp:
        if format == "parquet":
            _label_parquet(target, Path(tmp), labels_of, grouping)
        else:
            _label_csv(target, Path(tmp), labels_of, grouping)
    return target


def _no_code_column(path: Path) -> BadParameterError:
    return BadParameterError(f"{str(path)!r} has no 'ewoc_code' column to label")


def _label_parquet(src: Path, dst: Path, labels_of: Any, grouping: Any) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(src)
    schema = pf.schema_arrow
    if "ewoc_code" not in schema.names:
        raise _no_code_column(src)
    codes: set[int] = set()
    for i in range(pf.num_row_groups):  # the codes first (one column), so the maps are made once
        column = pf.read_row_group(i, columns=["ewoc_code"]).column(0)
        codes.update(int(c) for c in pc.unique(column).to_pylist() if c is not None)
    label, new_label = sample_label_maps(codes, labels_of, grouping)
    keep = [n for n in schema.names if n not in ("label", "new_label")]
    out_schema = pa.schema([schema.field(n) for n in keep] + [pa.field("label", pa.string()),
                                                               pa.field("new_label", pa.string())],
                           metadata=schema.metadata)
    with pq.ParquetWriter(dst, out_schema) as writer:
        for i in range(pf.num_row_groups):
            table = pf.read_row_group(i).select(keep)
            values = table.column("ewoc_code").to_pylist()
            table = table.append_column("label", pa.array([label.get(v) if v is not None else None
                                                           for v in values], pa.string()))
            table = table.append_column("new_label", pa.array([new_label.get(v) if v is not None else None
                                                               for v in values], pa.string()))
            writer.write_table(table.cast(out_schema))
        if pf.num_row_groups == 0:
            writer.write_table(out_schema.empty_table())


def _label_csv(src: Path, dst: Path, labels_of: Any, grouping: Any) -> None:
    import csv

    with src.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or "ewoc_code" not in header:
            raise _no_code_column(src)
        at = header.index("ewoc_code")
        codes = {int(float(row[at])) for row in reader if row[at] != ""}
    label, new_label = sample_label_maps(codes, labels_of, grouping)
    drop = {header.index(n) for n in ("label", "new_label") if n in header}
    with src.open(newline="", encoding="utf-8") as f, dst.open("w", newline="", encoding="utf-8") as out:
        reader, writer = csv.reader(f), csv.writer(out)
        next(reader)
        writer.writerow([h for i, h in enumerate(header) if i not in drop] + ["label", "new_label"])
        for row in reader:
            code = int(float(row[at])) if row[at] != "" else None
            kept = [v for i, v in enumerate(row) if i not in drop]
            writer.writerow(kept + ["" if code is None else label[code], "" if code is None else new_label[code]])


def _label_gpkg(path: Path, labels_of: Any, grouping: Any) -> None:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path)) as db, db:
        _gpkg_trigger_functions(db)
        tables = [r[0] for r in db.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")]
        for table in tables:
            name = '"' + table.replace('"', '""') + '"'
            columns = [r[1] for r in db.execute(f"PRAGMA table_info({name})")]
            if "ewoc_code" not in columns:
                raise _no_code_column(path)
            codes = [int(r[0]) for r in db.execute(f"SELECT DISTINCT ewoc_code FROM {name}") if r[0] is not None]
            label, new_label = sample_label_maps(codes, labels_of, grouping)
            for column in ("label", "new_label"):
                if column not in columns:
                    db.execute(f"ALTER TABLE {name} ADD COLUMN {column} TEXT")
            db.execute("CREATE TEMP TABLE IF NOT EXISTS wce_labels (code INTEGER PRIMARY KEY, label TEXT, new_label TEXT)")
            db.execute("DELETE FROM wce_labels")
            db.executemany("INSERT INTO wce_labels VALUES (?, ?, ?)", [(c, label[c], new_label[c]) for c in label])
            db.execute(f"UPDATE {name} SET label = (SELECT label FROM wce_labels WHERE code = ewoc_code), "
                       "new_label = (SELECT new_label FROM wce_labels WHERE code = ewoc_code)")


def _gpkg_trigger_functions(db: Any) -> None:
    """The SQL functions a GeoPackage's R-tree triggers name (GDAL provides them; plain sqlite3 does not).

    SQLite needs every function of a trigger that may fire to exist, even where its ``WHEN`` is false: an
    update of other columns fires the triggers for a changed ``fid``, whose ``WHEN`` is false, so their
    bounds are never computed; asking for them is an error rather than a wrong index.
    """

    def is_empty(blob: Any) -> int | None:
        # GeoPackage binary header: "GP", version, flags; flag bit 4 marks an empty geometry
        if blob is None:
            return None
        return int(bool(bytes(blob[:4])[3] & 0x10)) if len(blob) >= 4 else 1

    def no_bounds(blob: Any) -> float:
        raise ValueError("geometry bounds are not computed when labelling a GeoPackage")

    db.create_function("ST_IsEmpty", 1, is_empty, deterministic=True)
    for name in ("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
        db.create_function(name, 1, no_bounds, deterministic=True)
