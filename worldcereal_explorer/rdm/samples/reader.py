"""Read samples across collections: one bounded pool, progress, prompt cancellation, fail-fast or skip."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import geopandas as gpd

from ...errors import (
    BadParameterError,
    FetchTooLargeError,
)
from ...transport.http import CallScope, Cancellable, HttpTransport
from .cache import open_reader
from .collection import (
    CollectionPlan,
    CollectionResult,
    plan_collection,
    read_plan,
    refine_plan,
    sample_file_url,
)
from .convert import to_geodataframe
from .extent_check import collections_that_can_match, extents_to_look_up
from .file_urls import FileUrls
from .pool import PROGRESS_DELAY_S, ByteCounter, SampleProgress, map_collections, request_slots
from .query import SampleQuery, normalize_ref_ids

__all__ = ["ENGINES", "ON_ERROR", "PROGRESS_DELAY_S", "SampleProgress", "check_budget", "estimate_memory",
           "map_collections", "read_samples", "resolve_ids"]

logger = logging.getLogger(__name__)

ENGINES = ("pandas", "dask")
ON_ERROR = ("raise", "skip")

def read_samples(
    client: Any,
    query: SampleQuery | None = None,
    *,
    ref_ids: Any = None,
    include_public: bool = True,
    include_private: bool = False,
    engine: str = "pandas",
    progress: Any = None,
    cancel_event: Cancellable | None = None,
    on_error: str = "raise",
    dask_client: Any = None,
    memory_budget_bytes: int | None = None,
    sample_cache: Any = None,
    **query_args: Any,
) -> gpd.GeoDataFrame:
    """Samples matching ``query`` across collections, reading only the parts of the files it needs.

    Parameters
    ----------
    client
        An :class:`~worldcereal_explorer.rdm.client.RdmClient` (its ``transport``, ``get_collections``,
        ``get_download_url``, ``max_workers`` and ``authenticate`` are used).
    query
        What to read (:class:`SampleQuery`). Instead of one, the arguments of :meth:`SampleQuery.build`
        may be given as keywords (``columns=``, ``spatial_extent=``, ...).
    ref_ids
        A collection id or a list of them; ``None`` searches the collections matching the query's extents
        and codes and the access flags.
    include_public, include_private
        Which collections the search considers (only used when ``ref_ids`` is ``None``; with ids,
        ``include_private`` makes sure a login exists first).
    engine
        ``"pandas"`` (default) or ``"dask"`` for a lazy ``dask_geopandas.GeoDataFrame``.
    progress
        ``None``: tqdm bars when running in a notebook or a terminal; ``True``: always; ``False``: none;
        a callable: called with :class:`SampleProgress` from the calling thread instead of tqdm.
    cancel_event
        Setting this event stops the query within about a second with :class:`QueryCancelledError`
        (requests in flight are aborted; no worker thread outlives the call).
    on_error
        ``"raise"`` (default) stops at the first collection that cannot be read; ``"skip"`` continues,
        warns and lists the skipped ids in ``gdf.attrs["skipped"]`` (``{ref_id: reason}``).
    dask_client
        ``engine="dask"`` only: a ``dask.distributed.Client`` whose workers read the partitions; the frame
        is persisted there, or a scheduler address (``"tcp://host:port"``) to connect to (the connection is
        kept for the process, see :func:`~.dask_engine.connect`). Without it the frame is lazy and runs on
        the default scheduler.
    memory_budget_bytes
        ``engine="pandas"`` only: refuse with :class:`FetchTooLargeError` before reading the rows when the
        frame is estimated (from the footers and the filter columns) to need more memory than this;
        ``None``: no limit.
    sample_cache
        Read the collections from the local cache of queried collections (:mod:`.cache`), filling it first:
        ``True``/``False``, a folder, or a :class:`~.cache.SampleCache`; ``None``: the client's
        ``sample_cache`` attribute when set, else the ``sample_cache`` setting (always off in served mode
        unless turned on here). With ``engine="dask"`` the workers read through the same folder.

    Returns
    -------
    geopandas.GeoDataFrame or dask_geopandas.GeoDataFrame
        EPSG:4326; ``valid_time`` datetime64[ns], codes and scores int64, a ``ref_id`` column.
        ``attrs`` holds ``skipped`` and ``read_stats`` (bytes, requests, row groups read/total).

    Raises
    ------
    InvalidInputError
        For invalid extents, codes, columns, ids or options (the message names the value).
    DownloadError, RdmError
        When a collection cannot be read and ``on_error="raise"``; the message names the collection.
    QueryCancelledError
        When ``cancel_event`` is set.
    RdmTimeoutError
        When the query outlives the transport's download deadline.
    FetchTooLargeError
        When ``memory_budget_bytes`` is set and the estimated result is larger.
    """
    if engine not in ENGINES:
        raise BadParameterError(f"engine={engine!r} is not allowed; use one of {list(ENGINES)}")
    if on_error not in ON_ERROR:
        raise BadParameterError(f"on_error={on_error!r} is not allowed; use one of {list(ON_ERROR)}")
    if query is None:
        query = SampleQuery.build(**query_args)
    elif query_args:
        raise BadParameterError(f"pass either a SampleQuery or its arguments {sorted(query_args)}, not both")
    elif not isinstance(query, SampleQuery):
        raise BadParameterError(f"query={query!r} is not allowed; use a SampleQuery")
    with FileUrls(client, query.subset, cancel_event) as urls:
        ids = resolve_ids(client, query, ref_ids, include_public=include_public, include_private=include_private,
                          cancel_event=cancel_event, urls=None if engine == "dask" else urls)
        transport: HttpTransport = client.transport
        scope = transport.scope("reading samples", cancel_event=cancel_event, download=True)
        cache = resolve_cache(client, sample_cache)
        if engine == "dask":
            from .dask_engine import read_samples_dask

            return read_samples_dask(client, ids, query, scope=scope, on_error=on_error, progress=progress,
                                     dask_client=dask_client, cache=cache)
        return _read_many(client, transport, ids, query, scope=scope, progress=progress, on_error=on_error,
                          memory_budget_bytes=memory_budget_bytes, urls=urls, cache=cache)


def resolve_cache(client: Any, sample_cache: Any) -> Any:
    """The sample cache a call uses (:meth:`~.cache.SampleCache.from_settings` of the argument, else of the
    client's ``sample_cache`` attribute), or ``None``."""
    from .cache import SampleCache

    if sample_cache is None:
        sample_cache = getattr(client, "sample_cache", None)
    return SampleCache.from_settings(sample_cache)


#: ``get_samples`` reads a row group's filter columns first only when they are at most this share of the
#: bytes of a full read; above it (a bbox over points: the geometry is most of the row group) the round trip
#: costs more than the few bytes it could save, so the row group is read whole and filtered then.
FILTER_FIRST_MAX_SHARE = 0.5

#: ... and not at all when a full read of a file's candidate row groups takes at most this many bytes: one
#: round trip (50 ms at 5 MB/s) is worth more than the bytes a filter step could save on so small a read.
SMALL_READ_BYTES = 256 * 1024


def resolve_ids(client: Any, query: SampleQuery, ref_ids: Any, *, include_public: bool, include_private: bool,
                cancel_event: Cancellable | None, urls: FileUrls | None = None) -> list[str]:
    """The collection ids a query reads: ``ref_ids`` as given, or those the search finds for the query.

    Named collections whose extents must be looked up have their file URLs looked up at the same time
    through ``urls`` (when given): one round trip instead of two.
    """
    ids = normalize_ref_ids(ref_ids)
    if ids is None:
        collections = client.get_collections(
            spatial_extent=query.spatial,
            temporal_extent=query.temporal,
            include_public=include_public,
            include_private=include_private,
            ewoc_codes=None if query.ewoc_codes is None else list(query.ewoc_codes),
            cancel_event=cancel_event,
        )
        ids = list(dict.fromkeys(c.id if hasattr(c, "id") else str(c) for c in collections))
        if query.spatial is None or query.spatial.geometry is None:
            return ids  # the search already left out what its extents cannot match
        # The search knows only the polygon's box; the collections it found are in the client's memo.
        return collections_that_can_match(client, ids, query, cancel_event=cancel_event)
    if include_private and hasattr(client, "authenticate"):
        # Collections named directly skip the search, which is where a login would otherwise start.
        client.authenticate()
    if urls is not None and extents_to_look_up(client, ids, query):
        urls.start(ids)
    return collections_that_can_match(client, ids, query, cancel_event=cancel_event)


def _read_many(client: Any, transport: HttpTransport, ids: list[str], query: SampleQuery, *, scope: CallScope,
               progress: Any, on_error: str, memory_budget_bytes: int | None = None,
               urls: FileUrls | None = None, cache: Any = None) -> gpd.GeoDataFrame:
    """Plan every collection (footer, statistics, filter columns), check the budget, then read the rest."""
    slots = request_slots(client, transport)

    def plan(ref_id: str, collection_scope: CallScope, counter: ByteCounter) -> CollectionPlan:
        url = (urls.get(ref_id, collection_scope) if urls is not None
               else sample_file_url(client, ref_id, query.subset, scope=collection_scope))
        collection_scope.check()
        reader = open_reader(transport, url, scope=collection_scope, on_bytes=counter, request_slots=slots,
                             cache=cache)
        return plan_collection(reader, query, ref_id=ref_id, max_filter_share=FILTER_FIRST_MAX_SHARE,
                               small_read_bytes=SMALL_READ_BYTES)

    plans, skipped, planned_bytes = map_collections(client, transport, ids, plan, scope=scope, progress=False,
                                                    on_error=on_error)
    if memory_budget_bytes is not None:
        try:
            check_budget(plans, query, memory_budget_bytes)
        except FetchTooLargeError:
            rough = {p.ref_id: p for p in plans if p.rough}
            if not rough:
                raise
            # The estimate counted some row groups whole: count their matching rows, then judge again.
            def refine(ref_id: str, collection_scope: CallScope, counter: ByteCounter) -> CollectionPlan:
                collection_plan = rough[ref_id]
                collection_plan.reader.scope = collection_scope
                collection_plan.reader.on_bytes = counter
                return refine_plan(collection_plan, query)

            _, more_skipped, more_bytes = map_collections(client, transport, list(rough), refine, scope=scope,
                                                          progress=False, on_error=on_error)
            skipped.update(more_skipped)
            plans = [p for p in plans if p.ref_id not in more_skipped]
            planned_bytes += more_bytes
            check_budget(plans, query, memory_budget_bytes)
    by_id = {p.ref_id: p for p in plans}

    def work(ref_id: str, collection_scope: CallScope, counter: ByteCounter) -> CollectionResult:
        collection_plan = by_id[ref_id]
        collection_plan.reader.scope = collection_scope  # phase two's scope: fail-fast stops it
        collection_plan.reader.on_bytes = counter
        return read_plan(collection_plan, query)

    reported = progress
    if callable(progress):  # phase two's events count phase one's bytes too
        def reported(event: SampleProgress) -> None:
            progress(dataclasses.replace(event, bytes_read=event.bytes_read + planned_bytes))

    ordered, more_skipped, nbytes = map_collections(client, transport, [p.ref_id for p in plans], work, scope=scope,
                                                    progress=reported, on_error=on_error)
    skipped.update(more_skipped)
    gdf = to_geodataframe(ordered, query.columns)
    gdf.attrs["skipped"] = skipped
    gdf.attrs["read_stats"] = {
        "collections": len(ids),
        "bytes": nbytes + planned_bytes,
        "requests": sum(r.requests for r in ordered),
        "row_groups_total": sum(r.row_groups_total for r in ordered),
        "row_groups_read": sum(r.row_groups_read for r in ordered),
    }
    return gdf


def estimate_memory(plans: list[CollectionPlan], query: SampleQuery) -> tuple[int, int]:
    """``(samples at most, estimated bytes in memory)`` of reading ``plans`` into a GeoDataFrame."""
    rows = sum(p.candidate_rows for p in plans)
    return rows, int(sum(p.candidate_rows * p.memory_per_row(query) for p in plans if p.candidate_rows))


def check_budget(plans: list[CollectionPlan], query: SampleQuery, budget: int) -> None:
    """Raise :class:`FetchTooLargeError` when the estimated frame is larger than ``budget`` bytes."""
    rows, estimate = estimate_memory(plans, query)
    if estimate <= budget:
        return
    raise FetchTooLargeError(
        f"this query would return about {rows:,} samples, an estimated {_gib(estimate)} in memory, more than the "
        f"memory budget of {_gib(budget)} (memory_budget_bytes). Narrow the query (a smaller extent, fewer "
        f"collections, codes or dates; count_samples(...) shows what it holds), or stream it to a file with "
        f"download_samples(path, ...), or read it lazily with engine='dask'; memory_budget_bytes=None "
        f"disables the check.",
        estimated_bytes=estimate, budget_bytes=budget, samples=rows,
    )


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"
