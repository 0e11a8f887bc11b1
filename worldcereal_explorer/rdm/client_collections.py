"""The client's collections side: search, listing, one collection, its metadata and code statistics.

A mixin of :class:`~worldcereal_explorer.rdm.client.RdmClient` (it uses the client's JSON helpers, call
scopes, login and collection memo).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import BadParameterError, RdmResponseError
from ..extents import (
    WORLD_BBOX,
    BBox,
    normalize_code_filter,
    normalize_ewoc_codes,
    normalize_spatial_extent,
    normalize_temporal_extent,
)
from .models import Collection

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from .collection_memo import CollectionMemo
    from .http import CallScope

__all__ = ["MAX_CODES_PER_SEARCH", "CollectionsMixin"]

logger = logging.getLogger(__name__)

#: Most ``EwocCodes`` values sent in one search: more make a URL longer than servers accept (HTTP 400/414);
#: a longer code list is split into several searches whose results are joined.
MAX_CODES_PER_SEARCH = 150


class CollectionsMixin:
    """The collection endpoints of :class:`RdmClient`."""

    if TYPE_CHECKING:  # provided by RdmClient
        collection_memo: CollectionMemo
        token_provider: Any

        @property
        def is_authenticated(self) -> bool: ...

        def authenticate(self, display_callback: Any = None, progress_callback: Any = None) -> Any: ...
        def _call(self, what: str, cancel_event: Any = None, *, download: bool = False,
                  deadline_s: float | None = None) -> AbstractContextManager[CallScope]: ...
        def _get_json(self, path: str, *, params: Any = None, ref_id: str | None = None) -> Any: ...
        def _collection_path(self, ref_id: str, suffix: str = "") -> str: ...
        def _current_token(self) -> str | None: ...

    @staticmethod
    def search_params(spatial_extent: Any = None, temporal_extent: Any = None, ewoc_codes: Any = None) -> list[tuple[str, str]]:
        """The query parameters of ``/collections/search`` in the live API's wire format.

        ``Bbox`` is always sent, 4 times, W,S,E,N (the world when no extent). The end date is sent as
        ``YYYY-MM-DDT23:59:59Z`` so that the whole end day counts.
        """
        spatial = normalize_spatial_extent(spatial_extent)
        bbox = _with_area(spatial.bbox) if spatial is not None else WORLD_BBOX
        params = [("Bbox", str(v)) for v in bbox.as_tuple()]
        temporal = normalize_temporal_extent(temporal_extent)
        if temporal is not None:
            params.append(("ValidityTime.Start", f"{temporal.start.isoformat()}T00:00:00Z"))
            params.append(("ValidityTime.End", f"{temporal.end.isoformat()}T23:59:59Z"))
        for code in normalize_ewoc_codes(ewoc_codes) or []:
            params.append(("EwocCodes", str(code)))
        return params

    def get_collections(
        self,
        spatial_extent: Any = None,
        temporal_extent: Any = None,
        include_public: bool = True,
        include_private: bool = False,
        ewoc_codes: Iterable[int] | None = None,
        *,
        bbox: Any = None,
        cancel_event: Any = None,
    ) -> list[Collection]:
        """Collections that intersect the extent, overlap the dates and hold any of the codes.

        Parameters
        ----------
        spatial_extent, bbox
            A bbox-like or (Multi)Polygon (``bbox`` is an alias, as in the WorldCereal client). A
            polygon is reduced to its bounding box: that is what the API searches on.
        temporal_extent
            ``(start, end)`` (both days included) or an object with ``start_date``/``end_date``.
        include_public, include_private
            Which access levels to return. Private includes restricted collections; asking for it
            starts the login when there is no session yet.
        ewoc_codes
            Return collections holding at least one of these codes; ``[]`` means no code filter, as in the
            reference client (logged). A list longer than
            ``MAX_CODES_PER_SEARCH`` is sent as several searches (a URL has a length limit) and joined.
        cancel_event
            Set it to stop the call promptly (raises :class:`QueryCancelledError`).

        Returns
        -------
        list of Collection
            In the order the API returns them.
        """
        if spatial_extent is not None and bbox is not None:
            raise BadParameterError("pass either spatial_extent or bbox, not both")
        if not include_public and not include_private:
            raise BadParameterError("include_public=False and include_private=False together select nothing; enable one")
        extent = spatial_extent if spatial_extent is not None else bbox
        codes = normalize_code_filter(ewoc_codes)
        chunks = [None] if codes is None else [
            codes[i : i + MAX_CODES_PER_SEARCH] for i in range(0, len(codes), MAX_CODES_PER_SEARCH)
        ]
        searches = [self.search_params(extent, temporal_extent, chunk) for chunk in chunks]
        if include_private:
            self.authenticate()
        found: dict[str, Collection] = {}
        with self._call("collection search", cancel_event):
            for params in searches:
                data = self._get_json("/collections/search", params=params)
                if not isinstance(data, list):
                    raise RdmResponseError(f"/collections/search answered {type(data).__name__}, expected a JSON array")
                for item in data:
                    collection = Collection.from_api(item)
                    found.setdefault(collection.ref_id, collection)
        self.collection_memo.remember(found.values())
        selected = [
            c for c in found.values() if (c.is_public and include_public) or (not c.is_public and include_private)
        ]
        if include_private and not any(not c.is_public for c in selected):
            logger.warning("%s", self.private_access_note(sum(not c.is_public for c in found.values())))
        return selected

    def private_access_note(self, non_public_found: int) -> str:
        """Why a search for private/restricted data may have found none (reference issue #345).

        Says whether requests carry a token, for whom, and how many non-public collections the search
        returned, so "No private collections found" is no longer a dead end.
        """
        provider = self.token_provider
        if not self.is_authenticated:
            who = "you are not logged in (private and restricted collections are only listed for their owners)"
        else:
            name = getattr(provider, "username", None)
            if not name:  # a bare token (e.g. $WORLDCEREAL_RDM_TOKEN): its claims still say whose it is
                from .auth.tokens import unverified_claims

                claims = unverified_claims(self._current_token())
                name = claims.get("preferred_username") or claims.get("name") or claims.get("sub")
            who = f"you are logged in as {name!r}" if name else "requests carry an access token (user unknown)"
        return (f"no private or restricted collection found for this search: {who}; the search returned "
                f"{non_public_found} non-public collection(s). Check the area, the dates and the crop codes, "
                "and that your upload finished in the RDM web app")

    def list_collections(self, page_size: int = 100, *, cancel_event: Any = None) -> list[Collection]:
        """Every collection visible to this session, through the paged ``/collections`` route."""
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 1000:
            raise BadParameterError(f"page_size={page_size!r} is not allowed; use a whole number 1..1000")
        with self._call("collection list", cancel_event):
            return self._list_pages(page_size)

    def _list_pages(self, page_size: int) -> list[Collection]:
        out: list[Collection] = []
        while True:
            page = self._get_json("/collections", params={"SkipCount": len(out), "MaxResultCount": page_size})
            if not isinstance(page, dict) or "items" not in page:
                raise RdmResponseError("/collections did not answer a {totalCount, items} page")
            items = page.get("items") or []
            out.extend(Collection.from_api(item) for item in items)
            if not items or len(out) >= int(page.get("totalCount") or 0):
                return out

    def get_collection(self, ref_id: str, *, cancel_event: Any = None) -> Collection:
        """One collection by id (``/collections/{id}``)."""
        with self._call(f"collection {ref_id!r}", cancel_event):
            collection = Collection.from_api(self._get_json(self._collection_path(ref_id), ref_id=ref_id))
        self.collection_memo.remember([collection])
        return collection

    def get_collection_metadata(self, ref_id: str, *, cancel_event: Any = None) -> dict[str, Any]:
        """The collection's metadata items as a ``{name: value}`` dict (``/metadata/items``)."""
        with self._call(f"metadata of collection {ref_id!r}", cancel_event):
            items = self._get_json(self._collection_path(ref_id, "/metadata/items"), ref_id=ref_id)
        if not isinstance(items, list):
            raise RdmResponseError(f"metadata of {ref_id!r} is not a JSON array")
        return {item["name"]: item.get("value") for item in items if isinstance(item, dict) and "name" in item}

    def get_code_stats(self, ref_id: str, *, cancel_event: Any = None) -> dict[str, Any]:
        """The raw ``/items/codestats`` answer (``ewocStats``, ``lcStats``, ``irrStats`` lists)."""
        with self._call(f"code statistics of collection {ref_id!r}", cancel_event):
            data = self._get_json(self._collection_path(ref_id, "/items/codestats"), ref_id=ref_id)
        if not isinstance(data, dict):
            raise RdmResponseError(f"codestats of {ref_id!r} is not a JSON object")
        return data


#: Half-width, in degrees, given to a point or line bbox (about 10 cm): the RDM rejects degenerate polygons.
_MIN_HALF_WIDTH = 1e-6


def _with_area(bbox: BBox) -> BBox:
    """``bbox`` widened where it has no width or height, so it is a valid polygon for the RDM search."""
    west, south, east, north = bbox.as_tuple()
    if west == east:
        west, east = max(west - _MIN_HALF_WIDTH, -180.0), min(east + _MIN_HALF_WIDTH, 180.0)
    if south == north:
        south, north = max(south - _MIN_HALF_WIDTH, -90.0), min(north + _MIN_HALF_WIDTH, 90.0)
    return BBox(west, south, east, north)
