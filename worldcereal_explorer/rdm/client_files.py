"""The client's file side: download URLs (with the metadata fallback), file downloads and the items route.

A mixin of :class:`~worldcereal_explorer.rdm.client.RdmClient`; it uses the client's transport, call scopes
and JSON helpers, and adds nothing to the wire format of its own.

The live RDM's ``/collections/{id}/download`` route answers HTTP 500 for about a third of the public
collections, some only after about ten minutes (worldcereal-classification issue #557), while the
collection's metadata items still carry the file URLs. So the route gets a short budget of its own
(``download_route_timeout``), a route that failed is skipped for a while, and the metadata URLs are the
fallback; when every source fails, the error names the collection and each source tried.

A deployment has also been seen to answer 404 on the route for a collection its own search listed. A 404 from
the route cannot tell "no such collection" from "this route does not know it", so the metadata route decides:
when it answers, its URLs are used as on a 5xx; when it answers 404 too, the id is unknown.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pandas as pd

from ..errors import (
    BadParameterError,
    DownloadError,
    QueryCancelledError,
    RdmHttpError,
    RdmResponseError,
    RdmTimeoutError,
    UnknownCollectionError,
)
from ..extents import normalize_ewoc_codes
from ..transport.http import redact, safe_url
from .download import download_file
from .query import RdmQuery, client_query

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ..transport.http import BufferedResponse, CallScope, HttpTransport

logger = logging.getLogger(__name__)

ITEMS_PAGE_SIZE = 1000
#: How long a download route that failed is skipped in favour of the metadata URLs.
FAILED_ROUTE_MEMORY_S = 600.0
#: Metadata items that carry the file URLs (full file, extraction subset).
METADATA_URL_ITEMS = {False: "GeoParquetDownloadUrl", True: "SampleDownloadUrl"}


class FileDownloadsMixin:
    """Download URLs, downloads and the GeoJSON items route of :class:`RdmClient`."""

    if TYPE_CHECKING:  # provided by RdmClient
        transport: HttpTransport
        _route_transport: HttpTransport
        download_route_timeout: float
        _failing_routes: dict[tuple[str, bool], float]
        _not_found_routes: dict[tuple[str, bool], float]

        def _call(self, what: str, cancel_event: Any = None, *, download: bool = False,
                  deadline_s: float | None = None) -> AbstractContextManager[CallScope]: ...
        def _request(self, path_or_url: str, *, params: Any = None, ref_id: str | None = None,
                     transport: HttpTransport | None = None) -> BufferedResponse: ...
        def _get_json(self, path: str, *, params: Any = None, ref_id: str | None = None) -> Any: ...
        def _map(self, func: Any, items: Any, cancel_event: Any = None, what: str = "") -> list[Any]: ...
        def _check_ref_id(self, ref_id: Any) -> str: ...
        def _collection_path(self, ref_id: str, suffix: str = "") -> str: ...
        def _url(self, path: str) -> str: ...
        def get_collection_metadata(self, ref_id: str, *, cancel_event: Any = None) -> dict[str, Any]: ...

    # -- download URLs ------------------------------------------------------------------------------

    def get_download_url(self, ref_id: str, subset: bool = False, *, cancel_event: Any = None) -> str:
        """URL of the collection's GeoParquet file (``subset=True``: the subsampled extraction subset).

        Asks the ``/download`` (or ``/sample/download``) route within ``download_route_timeout`` seconds;
        when it answers 5xx or 404, or runs out of time, uses the URL in the collection's metadata items
        (``GeoParquetDownloadUrl`` / ``SampleDownloadUrl``). A route that failed so for a collection that
        exists is skipped for ``FAILED_ROUTE_MEMORY_S`` seconds.

        Raises
        ------
        DownloadError
            When no source gives a URL; the message names the collection and every source tried.
        RdmHttpError
            With ``status`` 404, when the route answered 404 but the collection exists and its metadata
            names no such file (a collection without an extraction subset, for ``subset=True``).
        UnknownCollectionError
            When the RDM does not know the id (or does not show it to you): the route and the metadata route
            both answered 404.
        """
        key = (self._check_ref_id(ref_id), bool(subset))
        route = self._collection_path(ref_id, "/sample/download" if subset else "/download")
        tried: list[str] = []
        route_404: UnknownCollectionError | None = None
        asked = False  # whether the route was asked in this call (not skipped from memory)
        # Routes that answered 404 for a collection that exists are kept apart from the failed ones: skipping
        # such a route must still end in its 404 when the metadata names no file (readers rely on it, see below).
        not_found_routes = self._not_found_routes
        with self._call(f"download URL of collection {ref_id!r}", cancel_event):
            failed_at = self._failing_routes.get(key)
            missing_at = not_found_routes.get(key)
            if missing_at is not None and time.monotonic() - missing_at < FAILED_ROUTE_MEMORY_S:
                route_404 = UnknownCollectionError(ref_id, f"{route} answered 404")
                tried.append(f"{route}: skipped (answered 404 {time.monotonic() - missing_at:.0f} s ago)")
            elif failed_at is not None and time.monotonic() - failed_at < FAILED_ROUTE_MEMORY_S:
                tried.append(f"{route}: skipped (failed {time.monotonic() - failed_at:.0f} s ago)")
            else:
                asked = True
                try:
                    with self._call(f"GET {route}", deadline_s=self.download_route_timeout):
                        return self._url_from_route(route, ref_id)
                except QueryCancelledError:
                    raise
                except RdmTimeoutError as exc:
                    if cancel_event is not None and cancel_event.is_set():
                        raise QueryCancelledError(f"download URL of collection {ref_id!r} was cancelled") from None
                    tried.append(f"{route}: {exc}")
                except UnknownCollectionError as exc:
                    # Not final: the metadata route below tells an unknown id from a route that does not know
                    # a collection the search lists.
                    route_404 = exc
                    tried.append(f"{route}: HTTP 404")
                except RdmHttpError as exc:
                    if exc.status is not None and exc.status < 500 and exc.status != 404:
                        raise
                    tried.append(f"{route}: {exc}")
                if route_404 is None:
                    self._failing_routes[key] = time.monotonic()
                    logger.warning("download route of %s failed; using the metadata's file URL", ref_id)
            item = METADATA_URL_ITEMS[bool(subset)]
            try:
                url = self.get_collection_metadata(ref_id).get(item)
            except UnknownCollectionError:
                raise  # both routes answer 404: the id is unknown (or not visible to you)
            except (RdmHttpError, RdmResponseError) as exc:
                if route_404 is not None:
                    # Nothing disproves the route's 404: keep its verdict, saying what could not be checked.
                    raise UnknownCollectionError(
                        ref_id, redact(f"{route} answered 404 and the metadata could not be read to check: {exc}")
                    ) from None
                tried.append(f"metadata item {item}: {exc}")
            else:
                found = isinstance(url, str) and url.strip().startswith(("http://", "https://"))
                if route_404 is not None and asked:
                    # the collection exists: the route's 404 is the route's own answer, remembered as a failure
                    not_found_routes[key] = time.monotonic()
                    if found:
                        logger.warning("download route of %s answered 404 for a collection that exists; using "
                                       "the metadata's file URL", ref_id)
                if found:
                    return str(url).strip()
                tried.append(f"metadata item {item}: {'missing' if not url else 'not a URL'}")
        if route_404 is not None:
            # The collection exists, yet neither source names the file: it has none (typically no extraction
            # subset). A 404 says so, and readers fall back to the full file on it.
            raise RdmHttpError(
                f"collection {ref_id!r} has no {'subset' if subset else 'samples'} file: "
                + "; ".join(redact(t) for t in tried), status=404)
        raise DownloadError(
            f"no file URL for collection {ref_id!r} ({'subset' if subset else 'full file'}); tried "
            + "; ".join(redact(t) for t in tried)
        )

    def _url_from_route(self, route: str, ref_id: str) -> str:
        response = self._request(route, ref_id=ref_id, transport=self._route_transport)
        url = response.text.strip()
        if url.startswith('"'):  # lenient: a deployment that JSON-encodes the URL (escapes such as \u0026)
            import json

            try:
                url = json.loads(url)
            except ValueError:
                url = url.strip('"')
        if not url.startswith(("http://", "https://")):
            raise RdmResponseError(f"download route of {ref_id!r} did not answer a URL: {redact(url[:120])!r}")
        return url

    def get_download_urls(self, ref_ids: Iterable[str], subset: bool = False, *,
                          cancel_event: Any = None) -> list[str]:
        """Download URLs of many collections, fetched concurrently, in input order."""
        ids = [ref_ids] if isinstance(ref_ids, str) else list(ref_ids)
        return self._map(lambda r: self.get_download_url(r, subset=subset), ids, cancel_event, "download URLs")

    # -- downloads ----------------------------------------------------------------------------------

    def _download(self, url: str, folder: str | os.PathLike, filename: str, *, kind: str | None,
                  what: str, cancel_event: Any = None, progress: Any = None) -> Path:
        folder_path = Path(folder)
        if folder_path.exists() and not folder_path.is_dir():
            raise BadParameterError(f"download destination {str(folder_path)!r} is a file; pass a folder")
        with self._call(what, cancel_event, download=True) as scope:
            return download_file(self.transport, url, folder_path / filename, scope=scope, kind=kind,
                                 progress=progress, what=what)

    def download_collection_geoparquet(
        self, ref_id: str, dst_path: str | os.PathLike, subset: bool = False, *,
        cancel_event: Any = None, progress: Any = None,
    ) -> Path:
        """Download the collection's samples (GeoParquet) into folder ``dst_path`` (created if needed).

        The file keeps the name the RDM gives it; it appears only once complete and validated.
        ``progress(bytes_done, total)`` is called per chunk; ``cancel_event`` stops it promptly.
        """
        what = f"samples of collection {ref_id!r}"
        with self._call(what, cancel_event, download=True):
            url = self.get_download_url(ref_id, subset=subset)
            filename = _filename_from_url(url, f"sample_{ref_id}.parquet" if subset else f"{ref_id}.geoparquet")
            path = self._download(url, dst_path, filename, kind="parquet", what=what, progress=progress)
        logger.info("samples of collection %s downloaded to %s", ref_id, path)
        return path

    def download_collection_metadata(self, ref_id: str, dst_path: str | os.PathLike, *,
                                     cancel_event: Any = None) -> Path:
        """Download the collection's metadata sheet as ``{dst_path}/{ref_id}_metadata.xlsx``."""
        what = f"metadata sheet of collection {ref_id!r}"
        with self._call(what, cancel_event, download=True):
            url = self._url(self._collection_path(ref_id, "/metadata/download"))
            self._request(self._collection_path(ref_id, "/metadata/items"), ref_id=ref_id)  # clear error for unknown ids
            return self._download(url, dst_path, f"{ref_id}_metadata.xlsx", kind="xlsx", what=what)

    def download_collection_harmonization_info(self, ref_id: str, dst_path: str | os.PathLike, *,
                                               cancel_event: Any = None) -> Path:
        """Download the harmonization PDF (public collections only) into folder ``dst_path``."""
        what = f"harmonization PDF of collection {ref_id!r}"
        with self._call(what, cancel_event, download=True):
            metadata = self.get_collection_metadata(ref_id)
            url = metadata.get("CuratedDataSet:Harmonization:Pdf")
            if not url or not str(url).startswith(("http://", "https://")):
                raise DownloadError(
                    f"collection {ref_id!r} has no harmonization PDF (only public collections come with one)"
                )
            return self._download(str(url), dst_path, _filename_from_url(str(url), f"{ref_id}.pdf"), kind="pdf",
                                  what=what)

    # -- items (GeoJSON route) ----------------------------------------------------------------------

    def get_items(
        self,
        ref_id: str,
        spatial_extent: Any = None,
        temporal_extent: Any = None,
        ewoc_codes: Iterable[int] | None = None,
        max_items: int | None = None,
        *,
        bbox: Any = None,
        query: RdmQuery | None = None,
        cancel_event: Any = None,
    ):
        """Samples of one collection through the paged GeoJSON ``/items`` route.

        Meant for small previews; :meth:`get_samples` reads the GeoParquet files and is much faster for
        bulk reads. Returns a GeoDataFrame (EPSG:4326); no match gives an empty one. The route filters by
        box, dates and codes: ``query=`` (an :class:`~worldcereal_explorer.rdm.query.RdmQuery`) gives those
        instead of the keywords (a polygon is sent as its bounding box).
        """
        import geopandas as gpd

        if max_items is not None and (isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1):
            raise BadParameterError(f"max_items={max_items!r} is not allowed; use a whole number >= 1 or None")
        q = client_query(query, spatial_extent=spatial_extent, bbox=bbox, temporal_extent=temporal_extent,
                         ewoc_codes=ewoc_codes)
        spatial, temporal = q.spatial_extent, q.temporal_extent
        # keyword codes go out in the caller's order, as the reference client sends them
        codes = (normalize_ewoc_codes(ewoc_codes) if query is None else None) or q.code_filter
        base: list[tuple[str, str]] = []
        if spatial is not None:
            base += [("Bbox", str(v)) for v in spatial.bbox.as_tuple()]
        if temporal is not None:
            base += [("ValidityStartTime", f"{temporal.start.isoformat()}T00:00:00Z"),
                     ("ValidityEndTime", f"{temporal.end.isoformat()}T23:59:59Z")]
        base += [("EwocCodes", str(c)) for c in codes or []]
        features: list[dict] = []
        path = self._collection_path(ref_id, "/items")
        with self._call(f"items of collection {ref_id!r}", cancel_event):
            while max_items is None or len(features) < max_items:
                page_size = ITEMS_PAGE_SIZE if max_items is None else min(ITEMS_PAGE_SIZE, max_items - len(features))
                params = [*base, ("SkipCount", str(len(features))), ("MaxResultCount", str(page_size))]
                try:
                    page = self._get_json(path, params=params, ref_id=ref_id)
                except (UnknownCollectionError, RdmResponseError):
                    # The live API answers "no match" with a 404 or a redirect to an HTML error page; tell that
                    # apart from an unknown id with a route the reference client also uses.
                    if not features:
                        self.get_collection_metadata(ref_id)
                    break
                batch = page.get("features") or [] if isinstance(page, dict) else []
                features.extend(batch)
                matched = page.get("NumberMatched") if isinstance(page, dict) else None
                if not batch or (matched is not None and len(features) >= int(matched)):
                    break
        if not features:
            return gpd.GeoDataFrame({"ref_id": pd.Series(dtype="object")}, geometry=gpd.GeoSeries([], crs=4326))
        gdf = gpd.GeoDataFrame.from_features(features, crs=4326)
        if "valid_time" in gdf:
            gdf["valid_time"] = pd.to_datetime(gdf["valid_time"])
        gdf["ref_id"] = ref_id
        return gdf


def _filename_from_url(url: str, fallback: str) -> str:
    name = unquote(urlsplit(safe_url(url)).path.rsplit("/", 1)[-1])
    # Only a plain file name may come from the server: no separators, no hidden or parent entries.
    if not name or name.startswith(".") or not re.match(r"^[\w.\-]+$", name):
        return fallback
    return name
