"""The RDM API client: one class, one method per endpoint, one HTTP layer for everything.

All requests go through the client's :class:`~worldcereal_explorer.transport.http.HttpTransport` (retries with
back-off honouring ``Retry-After``, timeouts, a total deadline per call, prompt cancellation, the bearer
token for the RDM host only). Every public call accepts ``cancel_event``. Per-collection calls run
concurrently on a bounded thread pool and come back in input order. The endpoints live in mixins of this
class: collections (:mod:`.client_collections`), statistics (:mod:`.client_stats`), samples
(:mod:`.client_samples`) and file downloads (:mod:`.client_files`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from ..config import resolve_rdm_url
from ..errors import (
    AuthenticationError,
    BadParameterError,
    RdmError,
    RdmHttpError,
    RdmResponseError,
    UnknownCollectionError,
)
from ..legend import Legend, default_legend, load_legend
from ..transport.http import BufferedResponse, CallScope, HttpPolicy, HttpTransport, redact
from . import auth as auth_module
from .client_collections import MAX_CODES_PER_SEARCH, CollectionsMixin  # noqa: F401 (re-exported)
from .client_files import FileDownloadsMixin
from .client_samples import DEFAULT_MEMORY_BUDGET_BYTES, SamplesMixin
from .client_stats import StatsMixin
from .collection_memo import CollectionMemo

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Collection ids are lower-case letters, digits, ``_`` and ``-``; nothing else reaches a URL path.
_REF_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


class RdmClient(CollectionsMixin, StatsMixin, SamplesMixin, FileDownloadsMixin):
    """Client for the WorldCereal Reference Data Module (RDM) API.

    Parameters
    ----------
    endpoint
        API base URL. Default: ``$WORLDCEREAL_RDM_URL``, else the live RDM
        (``https://ewoc-rdm-api.iiasa.ac.at``).
    timeout
        ``(connect, read)`` timeouts in seconds for API calls.
    download_timeout
        ``(connect, read)`` timeouts for file downloads (read = max silence between chunks).
    retries
        How many times a failed request (connection error, dropped body, 429, 5xx) is retried.
    backoff_factor
        Exponential backoff base in seconds between retries (``Retry-After`` wins when sent).
    deadline
        Total seconds one API call may take, retries included (default: four read timeouts).
    download_route_timeout
        Total seconds the ``/download`` routes may take before the client falls back to the file URLs in
        the collection's metadata (the live route can answer 500 only after minutes).
    max_workers
        Size of the thread pool for per-collection requests.
    policy
        A complete :class:`~worldcereal_explorer.transport.http.HttpPolicy`; overrides the timeout, retry and
        deadline arguments.
    memory_budget_bytes
        ``get_samples`` refuses a fetch estimated to need more memory than this (``FetchTooLargeError``
        names the ways out: narrow the query, ``download_samples`` or ``engine="dask"``). ``None``: no limit.
    token_provider
        Where bearer tokens come from (see :mod:`worldcereal_explorer.rdm.auth`). Default: the
        ``$WORLDCEREAL_RDM_TOKEN`` / ``$WORLDCEREAL_RDM_REFRESH_TOKEN`` variables when set; otherwise
        anonymous until private data is asked for, which starts the device login.
    legend
        A :class:`~worldcereal_explorer.legend.Legend` or a path/URL to one, for labels. Default: the
        process-wide legend (``$WORLDCEREAL_LEGEND_URL`` or the official one, cached).

    Examples
    --------
    >>> rdm = RdmClient()                                     # doctest: +SKIP
    >>> cols = rdm.get_collections(bbox=(4, 50, 6, 52), temporal_extent=("2021-01-01", "2021-12-31"))  # doctest: +SKIP

    The same filters as one :class:`~worldcereal_explorer.rdm.query.RdmQuery`, which every method that filters
    (``get_collections``, ``get_crop_counts``, ``get_samples``, ``count_samples``, ``download_samples``,
    ``get_items``) takes as ``query=``:

    >>> q = RdmQuery(bbox=(4, 50, 6, 52), start_date="2021-01-01", end_date="2021-12-31")  # doctest: +SKIP
    >>> cols = rdm.get_collections(query=q)                                                # doctest: +SKIP
    >>> samples = rdm.get_samples(query=q.replace(min_quality_ct=70))                      # doctest: +SKIP
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        timeout: float | tuple[float, float] = (5, 30),
        download_timeout: float | tuple[float, float] = (5, 120),
        retries: int = 5,
        backoff_factor: float = 0.5,
        deadline: float | None = None,
        download_route_timeout: float = 15.0,
        max_workers: int = 16,
        token_provider: auth_module.TokenProvider | None = None,
        legend: Legend | str | os.PathLike | None = None,
        policy: HttpPolicy | None = None,
        memory_budget_bytes: int | None = DEFAULT_MEMORY_BUDGET_BYTES,
    ):
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise BadParameterError(f"max_workers={max_workers!r} is not allowed; use a whole number >= 1")
        self.endpoint = resolve_rdm_url(endpoint)
        if policy is None:
            connect, read = _pair(timeout, "timeout")
            _, download_read = _pair(download_timeout, "download_timeout")
            policy = HttpPolicy(connect_timeout=connect, read_timeout=read, download_read_timeout=download_read,
                                retries=retries, backoff_factor=backoff_factor, deadline=deadline,
                                pool_maxsize=max(max_workers, 10))
        self.policy = policy
        self.timeout = (policy.connect_timeout, policy.read_timeout)
        self.download_timeout = (policy.connect_timeout, policy.download_read_timeout)
        if (isinstance(download_route_timeout, bool) or not isinstance(download_route_timeout, (int, float))
                or not 0 < download_route_timeout < float("inf")):
            raise BadParameterError(f"download_route_timeout={download_route_timeout!r} is not allowed; use seconds > 0")
        self.download_route_timeout = float(download_route_timeout)
        self.max_workers = max_workers
        if memory_budget_bytes is not None and (isinstance(memory_budget_bytes, bool)
                                                or not isinstance(memory_budget_bytes, int) or memory_budget_bytes < 1):
            raise BadParameterError(
                f"memory_budget_bytes={memory_budget_bytes!r} is not allowed; use a whole number of bytes >= 1 or None"
            )
        self.memory_budget_bytes = memory_budget_bytes
        self.token_provider = token_provider if token_provider is not None else auth_module.token_provider_from_env()
        self._legend = legend
        self._legend_lock = threading.Lock()
        self._auth_lock = threading.Lock()
        self._rdm_netloc = urlsplit(self.endpoint).netloc
        self._calls = threading.local()
        self._failing_routes: dict[tuple[str, bool], float] = {}
        #: Download routes that answered 404 for a collection that exists (see client_files.py).
        self._not_found_routes: dict[tuple[str, bool], float] = {}
        #: Collections seen in searches and lookups: sample reads skip those whose extent cannot match.
        self.collection_memo = CollectionMemo()
        self.transport = HttpTransport(policy, token=self._current_token, token_hosts=frozenset({self._rdm_netloc}))
        # The download routes fail the way the live RDM's do (HTTP 500, sometimes after minutes): one retry,
        # then the metadata's file URLs, instead of minutes of back-off.
        self._route_transport = HttpTransport(policy.with_(retries=min(policy.retries, 1)), token=self._current_token,
                                              token_hosts=frozenset({self._rdm_netloc}))

    # -- plumbing ---------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"RdmClient(endpoint={self.endpoint!r})"

    def __enter__(self) -> RdmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pools (the client reconnects if used again)."""
        self.transport.close()
        self._route_transport.close()

    @contextlib.contextmanager
    def _call(self, what: str, cancel_event: Any = None, *, download: bool = False,
              deadline_s: float | None = None) -> Iterator[CallScope]:
        """The scope of one public call; a call made inside another one shares its scope (and deadline)."""
        outer: CallScope | None = getattr(self._calls, "scope", None)
        if outer is not None and cancel_event is None and deadline_s is None:
            yield outer
            return
        scope = self.transport.scope(what, cancel_event=cancel_event, download=download, deadline_s=deadline_s,
                                     parent=outer)
        self._calls.scope = scope
        try:
            yield scope
        finally:
            self._calls.scope = outer

    def _in_scope(self, scope: CallScope, func: Callable[..., T]) -> Callable[..., T]:
        """``func`` wrapped to run with ``scope`` as the current call scope (for pool threads)."""

        def run(*args: Any) -> T:
            previous = getattr(self._calls, "scope", None)
            self._calls.scope = scope
            try:
                return func(*args)
            finally:
                self._calls.scope = previous

        return run

    @property
    def legend(self) -> Legend:
        """The legend used for labels (loaded on first use)."""
        with self._legend_lock:
            if not isinstance(self._legend, Legend):
                self._legend = default_legend() if self._legend is None else load_legend(self._legend)
            return self._legend

    def _is_rdm_url(self, url: str) -> bool:
        return urlsplit(url).netloc == self._rdm_netloc

    def _current_token(self) -> str | None:
        provider = self.token_provider
        return provider.get_access_token(interactive=False) if provider is not None else None

    def authenticate(self, display_callback: Callable[[Any], None] | None = None,
                     progress_callback: Callable[[float], None] | None = None) -> RdmClient:
        """Make sure a logged-in session exists (runs the device login when there is none).

        Parameters
        ----------
        display_callback
            Called with the login's :class:`~worldcereal_explorer.rdm.auth.DeviceAuthorization` (``.link``,
            ``.user_code``, ``.instructions``) instead of printing it.
        progress_callback
            Called before each poll, while waiting for approval, with the seconds left before the login code
            expires (to drive a countdown or a progress bar).

        Returns
        -------
        RdmClient
            This client, so ``RdmInteraction().authenticate().get_collections(...)`` chains.

        Raises
        ------
        AuthenticationError
            When login fails or no login method is available.
        """
        with self._auth_lock:
            if self.token_provider is None:
                factory = getattr(auth_module, "default_interactive_provider", None)
                if factory is None:
                    raise AuthenticationError(
                        "private collections need a login, and no login method is configured; set "
                        "WORLDCEREAL_RDM_TOKEN or pass token_provider=..."
                    )
                self.token_provider = factory()
            provider = self.token_provider
            login = getattr(provider, "login", None)
            wants_callbacks = display_callback is not None or progress_callback is not None
            if wants_callbacks and callable(login) and not provider.get_access_token(interactive=False):
                login(display=display_callback, progress=progress_callback)
            token = provider.get_access_token(interactive=True)
        if not token:
            raise AuthenticationError("login did not produce an access token")
        return self

    @property
    def is_authenticated(self) -> bool:
        """True when requests currently carry a bearer token."""
        try:
            return bool(self._current_token())
        except Exception:  # a provider that cannot refresh counts as logged out
            return False

    def _url(self, path: str) -> str:
        return f"{self.endpoint}{path}"

    @staticmethod
    def _check_ref_id(ref_id: Any) -> str:
        if not isinstance(ref_id, str) or not _REF_ID_RE.fullmatch(ref_id):
            raise BadParameterError(
                f"collection id {ref_id!r} is not valid; allowed: letters, digits, '_', '-' and '.' "
                "(for example '2021_bel_lpisflanders_poly_110')"
            )
        return ref_id

    def _collection_path(self, ref_id: str, suffix: str = "") -> str:
        return f"/collections/{quote(self._check_ref_id(ref_id), safe='')}{suffix}"

    def _request(self, path_or_url: str, *, params: Any = None, ref_id: str | None = None,
                 transport: HttpTransport | None = None) -> BufferedResponse:
        """GET within the current call scope; map failures to the package's errors; refresh once on 401."""
        url = path_or_url if path_or_url.startswith(("http://", "https://")) else self._url(path_or_url)
        with self._call(f"GET {url}") as scope:
            for attempt in (1, 2):
                response = (transport or self.transport).request(url, scope=scope, params=params)
                if (
                    response.status_code == 401
                    and attempt == 1
                    and self.token_provider is not None
                    and "Authorization" in response.request_headers
                    and self.token_provider.handle_unauthorized()
                ):
                    continue
                break
        if response.ok:
            return response
        detail = redact(_error_detail(response))
        shown = redact(url)
        if response.status_code == 404 and ref_id is not None:
            raise UnknownCollectionError(ref_id, detail or "the RDM answered 404 (no such collection, or not visible to you)")
        if response.status_code in (401, 403):
            raise AuthenticationError(
                f"GET {shown} needs authentication (HTTP {response.status_code}){': ' + detail if detail else ''}",
                status=response.status_code,
                url=shown,
            )
        raise RdmHttpError(
            f"GET {shown} failed with HTTP {response.status_code}{': ' + detail if detail else ''}",
            status=response.status_code,
            url=shown,
        )

    def _get_json(self, path: str, *, params: Any = None, ref_id: str | None = None) -> Any:
        response = self._request(path, params=params, ref_id=ref_id)
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "unknown content type")
            raise RdmResponseError(
                f"GET {redact(response.url)} answered {kind} that is not JSON: {redact(response.text[:120])!r}"
            ) from None

    def _map(
        self, func: Callable[[str], T], items: Sequence[str], cancel_event: Any = None, what: str = "requests"
    ) -> list[T]:
        """Run ``func`` over ``items`` on the bounded pool; results in input order; first error raised.

        All runs share one call scope: when ``cancel_event`` is set, requests in flight are aborted, those
        not yet started are dropped, and :class:`QueryCancelledError` is raised within about a second.
        """
        with self._call(what, cancel_event) as scope:

            def run(item: str) -> T:
                scope.check()
                return func(item)

            if len(items) <= 1:
                return [run(item) for item in items]
            pool = ThreadPoolExecutor(max_workers=min(self.max_workers, len(items)), thread_name_prefix="rdm")
            try:
                return list(pool.map(self._in_scope(scope, run), items))
            except RdmError:
                if scope.tripped:  # an aborted request surfaces as a connection error: say what happened
                    raise scope.error() from None
                raise
            finally:
                # On an error or cancellation, do not start the requests still queued.
                pool.shutdown(wait=True, cancel_futures=True)


#: The name the WorldCereal client and its demo notebook use.
RdmInteraction = RdmClient


def _error_detail(response: BufferedResponse) -> str:
    """A short message from an error body: the ABP envelope's message, FastAPI's detail, or text."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return "" if text.lstrip().startswith("<") else text[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if body.get("detail"):
            return str(body["detail"])
    return str(body)[:200]


def _pair(timeout: Any, name: str) -> tuple[float, float]:
    """A requests-style timeout (a number or ``(connect, read)``) as two positive floats."""
    values = tuple(timeout) if isinstance(timeout, (tuple, list)) else (timeout, timeout)
    if len(values) != 2 or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < float("inf") for v in values
    ):
        raise BadParameterError(f"{name}={timeout!r} is not allowed; use seconds > 0 or (connect, read)")
    return float(values[0]), float(values[1])
