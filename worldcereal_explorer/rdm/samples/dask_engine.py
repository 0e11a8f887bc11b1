"""``engine="dask"``: footers are read now, row groups lazily by partitions on the workers.

A partition travels to a worker as a :class:`PartitionSpec` (file URL, row groups, the HTTP policy and the
token as a :class:`~worldcereal_explorer.transport.http.Secret`); each worker process builds its own
:class:`~worldcereal_explorer.transport.http.HttpTransport` from those and keeps it for the next partitions.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...errors import DownloadError, WorldCerealExplorerError
from ...transport.http import CallScope, HttpPolicy, HttpTransport, Secret, redact, safe_url
from .cache import CacheSpec, SampleCache, open_reader
from .collection import read_samples_from_reader, requested_names, sample_file_url
from .convert import CollectionResult, canonical_table, to_geodataframe
from .layout import open_parquet
from .pool import map_collections
from .pruning import leaf_index, row_group_may_match
from .query import SampleQuery

__all__ = ["PARTITION_ROWS", "PartitionSpec", "connect", "plan_partitions", "read_partition", "read_samples_dask",
           "worker_error", "worker_transport"]

#: Rows per Dask partition to aim for: row groups are joined until a partition holds about this many.
PARTITION_ROWS = 100_000


@dataclass(frozen=True, repr=False)
class PartitionSpec:
    """What one Dask partition reads: some row groups of one collection's file.

    ``token`` is sent only to ``token_hosts`` (the RDM API's host when the file lives there); it is a
    :class:`Secret`, and ``repr``/``str`` show neither it nor the URL's signature.
    """

    url: str
    ref_id: str
    row_groups: tuple[int, ...]
    policy: HttpPolicy = field(default_factory=HttpPolicy)
    token: Secret = field(default_factory=lambda: Secret(None))
    token_hosts: frozenset[str] = frozenset()
    #: The sample cache to read through (:class:`~.cache.CacheSpec`), or ``None``: range reads of ``url``.
    cache: CacheSpec | None = None

    def __repr__(self) -> str:
        return (f"PartitionSpec(ref_id={self.ref_id!r}, url={redact(safe_url(self.url))!r}, "
                f"row_groups={self.row_groups!r}, token={self.token!r})")

    __str__ = __repr__

    def __dask_tokenize__(self) -> Any:
        # Dask names tasks by hashing their inputs; the token and signature stay out of those names.
        return ("PartitionSpec", safe_url(self.url), self.ref_id, self.row_groups, self.cache)


_TRANSPORTS: dict[tuple[Any, ...], HttpTransport] = {}
_TRANSPORTS_LOCK = threading.Lock()
_MAX_TRANSPORTS = 8


def worker_transport(spec: PartitionSpec) -> HttpTransport:
    """The transport of this worker process for ``spec``'s policy and token (built once, then reused).

    Keyed by process (a forked worker must not share its parent's sockets), policy, token hosts and token;
    the few most recent are kept (a refreshed token makes a new one; older ones are dropped).
    """
    key = (os.getpid(), spec.policy, spec.token_hosts, spec.token)
    with _TRANSPORTS_LOCK:
        transport = _TRANSPORTS.get(key)
        if transport is None:
            token = spec.token
            transport = HttpTransport(policy=spec.policy, token=(lambda: token.value) if token else None,
                                      token_hosts=spec.token_hosts if token else frozenset())
            _TRANSPORTS[key] = transport
            while len(_TRANSPORTS) > _MAX_TRANSPORTS:
                _TRANSPORTS.pop(next(iter(_TRANSPORTS)))
        return transport


def worker_error(ref_id: str, exc: BaseException) -> BaseException:
    """What a Dask worker raises for ``exc``, met while working on collection ``ref_id``.

    The package's errors pass as they are when they name the collection (else they are wrapped to name
    it); anything else becomes a :class:`~worldcereal_explorer.errors.DownloadError` with a redacted
    message. The chained causes are cut: a pickled ``requests`` error would carry the request and its
    headers back to the client.

    Parameters
    ----------
    ref_id : str
        The collection the task worked on.
    exc : BaseException
        What the task raised.

    Returns
    -------
    BaseException
        The error to raise (outside the ``except`` block, so that nothing is chained again).
    """
    if isinstance(exc, WorldCerealExplorerError):
        error: BaseException = exc if ref_id in str(exc) else DownloadError(f"collection {ref_id!r}: {exc}")
    else:
        error = DownloadError(f"collection {ref_id!r}: {type(exc).__name__}: {redact(exc)}")
    error.__cause__ = error.__context__ = None
    error.__suppress_context__ = True
    return error


def partition_reader(spec: PartitionSpec, scope: CallScope) -> Any:
    """The reader of ``spec``'s file on a worker: through the sample cache when the spec names one."""
    return open_reader(worker_transport(spec), spec.url, scope=scope,
                       cache=spec.cache.open() if spec.cache is not None else None)


def read_partition(spec: PartitionSpec, query: SampleQuery) -> gpd.GeoDataFrame:
    """Read one Dask partition (runs on a worker).

    Raises
    ------
    WorldCerealExplorerError
        Only the package's errors, without chained causes (a pickled ``requests`` error would carry the
        request and its headers to the client).
    """
    try:
        scope = worker_transport(spec).scope(f"reading a partition of collection {spec.ref_id}", download=True)
        result = read_samples_from_reader(partition_reader(spec, scope), query, ref_id=spec.ref_id,
                                          row_groups=spec.row_groups)
        return to_geodataframe([result], query.columns)
    except Exception as exc:  # noqa: BLE001 - anything else becomes ours, message redacted
        error = worker_error(spec.ref_id, exc)
    raise error


_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def connect(dask_client: Any) -> Any:
    """A ``dask.distributed.Client`` for ``dask_client``: a client as is, or a scheduler address.

    Clients made from an address are kept per address for the rest of the process (persisted frames
    need their client alive) and reused by later calls; they are closed at interpreter exit. Like
    ``Client(address)`` itself, such a client becomes the process's default Dask scheduler, so that
    ``frame.compute()`` runs on that cluster.
    """
    if dask_client is None or not isinstance(dask_client, str):
        return dask_client
    from distributed import Client

    with _CLIENTS_LOCK:
        client = _CLIENTS.get(dask_client)
        if client is None or client.status in ("closed", "closing"):
            client = Client(dask_client)
            _CLIENTS[dask_client] = client
        return client


def partition_row_groups(metadata: pq.FileMetaData, row_groups: Sequence[int]) -> list[list[int]]:
    """Group row groups into partitions of about :data:`PARTITION_ROWS` rows (small groups are joined)."""
    parts: list[list[int]] = []
    rows = 0
    for i in row_groups:
        n = metadata.row_group(i).num_rows
        if parts and rows + n <= PARTITION_ROWS:
            parts[-1].append(i)
            rows += n
        else:
            parts.append([i])
            rows = n
    return parts


def plan_partitions(client: Any, ids: list[str], query: SampleQuery, *, scope: CallScope, on_error: str,
                    progress: Any = False, cache: SampleCache | None = None,
                    ) -> tuple[list[tuple[list[PartitionSpec], pa.Table]], dict[str, str]]:
    """Read each collection's footer (within ``scope``) and cut its matching row groups into partitions.

    With ``cache`` the footers are those of the cached copies (filled now), and the partitions read them.

    Returns, per collection read, its partition specs and an empty canonical table (the frame's meta), and
    the skipped ids with their reasons.
    """
    transport: HttpTransport = client.transport

    def plan(ref_id: str, collection_scope: CallScope, counter: Any) -> tuple[list[PartitionSpec], pa.Table]:
        url = sample_file_url(client, ref_id, query.subset, scope=collection_scope)
        token = transport.token_for(url)
        reader = open_reader(transport, url, scope=collection_scope, on_bytes=counter, cache=cache)
        parquet, metadata, layout = open_parquet(reader, ref_id)
        names = requested_names(layout, query, ref_id)
        leaves = leaf_index(metadata)
        groups = [i for i in range(metadata.num_row_groups)
                  if row_group_may_match(metadata.row_group(i), leaves, layout, query)]
        empty = canonical_table(parquet.schema_arrow.empty_table(), query.columns, names, ref_id)
        hosts = frozenset({urlsplit(url).netloc}) if token else frozenset()
        specs = [PartitionSpec(url, ref_id, tuple(part), transport.policy, Secret(token), hosts,
                               cache.spec() if cache is not None else None)
                 for part in partition_row_groups(metadata, groups)]
        return specs, empty

    planned, skipped, _ = map_collections(client, transport, ids, plan, scope=scope, progress=progress,
                                          on_error=on_error)
    return planned, skipped


def read_samples_dask(client: Any, ids: list[str], query: SampleQuery, *, scope: CallScope, on_error: str,
                      progress: Any = False, dask_client: Any = None, cache: SampleCache | None = None):
    """Build the lazy ``dask_geopandas.GeoDataFrame`` for ``query`` over ``ids``.

    Footers are read now (small), within ``scope``, to validate the columns and prune row groups by their
    statistics; row groups are read and filtered lazily: each partition holds one or more row groups of one
    collection (joined up to about :data:`PARTITION_ROWS` rows).
    """
    try:
        import dask.dataframe as dd
        import dask_geopandas  # noqa: F401  (registers the GeoDataFrame collection type with dask)
    except ImportError as exc:
        raise ImportError(
            "engine='dask' needs dask and dask-geopandas: pip install 'worldcereal-explorer[dask]'"
        ) from exc

    dask_client = connect(dask_client)
    planned, skipped = plan_partitions(client, ids, query, scope=scope, on_error=on_error, progress=progress,
                                       cache=cache)
    specs = [spec for collection_specs, _ in planned for spec in collection_specs]
    empties = [CollectionResult("", table, np.array([], dtype=object)) for _, table in planned]
    meta = to_geodataframe(empties, query.columns)
    meta.attrs["skipped"] = skipped  # also warned about; reachable as ``frame._meta.attrs``
    if specs:
        frame = dd.from_map(functools.partial(read_partition, query=query), specs, meta=meta,
                            enforce_metadata=False, label="rdm-samples")
    else:
        frame = dd.from_pandas(meta, npartitions=1)
    if dask_client is not None:
        frame = dask_client.persist(frame)
    return frame
