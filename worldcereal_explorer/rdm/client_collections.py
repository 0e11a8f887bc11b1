"""The client's collections side: search, listing, one collection, its metadata and code statistics.

A mixin of :class:`~worldcereal_explorer.rdm.client.RdmClient` (it uses the client's JSON helpers, call
scopes, login and collection memo).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import BadParameterError, RdmResponseError
from ..extents import normalize_ewoc_codes
from .models import Collection
from .query import MAX_CODES_PER_SEARCH, RdmQuery, client_query

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ..transport.http import CallScope
    from .collection_memo import CollectionMemo

__all__ = ["MAX_CODES_PER_SEARCH", "CollectionsMixin"]

logger = logging.getLogger(__name__)


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
        """The query parameters of ``/collections/search`` in the live API's wire format (see
        :meth:`RdmQuery.to_params <worldcereal_explorer.rdm.query.RdmQuery.to_params>`; the codes are sent in
        the order given).

        ``Bbox`` is always sent, 4 times, W,S,E,N (the world when no extent). The end date is sent as
        ``YYYY-MM-DDT23:59:59Z`` so that the whole end day counts.
        """
        codes = normalize_ewoc_codes(ewoc_codes) or None
        query = RdmQuery.from_client_args(spatial_extent, temporal_extent, codes)
        return query.to_params(codes)

    def get_collections(
        self,
        spatial_extent: Any = None,
        temporal_extent: Any = None,
        include_public: bool = True,
        include_private: bool = False,
        ewoc_codes: Iterable[int] | None = None,
        *,
        bbox: Any = None,
        query: RdmQuery | None = None,
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
        query
            An :class:`~worldcereal_explorer.rdm.query.RdmQuery` instead of the filter keywords (its area,
            dates, codes and the three access levels; ``include_restricted`` separately from
            ``include_private``). A keyword given with it must agree with it.
        cancel_event
            Set it to stop the call promptly (raises :class:`QueryCancelledError`).

        Returns
        -------
        list of Collection
            In the order the API returns them.

        Raises
        ------
        BadParameterError
            When no access level is asked for, or a keyword conflicts with ``query``.
        """
        q = client_query(query, spatial_extent=spatial_extent, bbox=bbox, temporal_extent=temporal_extent,
                         ewoc_codes=ewoc_codes, include_public=include_public, include_private=include_private)
        if not q.include_public and not q.includes_non_public:
            raise BadParameterError("include_public=False and include_private=False together select nothing; enable one")
        # Keyword codes go on the wire in the caller's order (the query keeps them sorted).
        order = normalize_ewoc_codes(ewoc_codes) if query is None and ewoc_codes is not None else None
        searches = q.to_param_sets(MAX_CODES_PER_SEARCH, ewoc_codes=order or None)
        if q.includes_non_public:
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
        selected = [c for c in found.values() if q.allows_access(c.access_type)]
        if q.includes_non_public and not any(not c.is_public for c in selected):
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
