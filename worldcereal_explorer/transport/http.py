"""The one HTTP layer: sessions, retries, timeouts, deadlines, cancellation, body caps and redaction.

Every request the package makes (RDM API, file downloads and range reads, the identity provider, the legend,
Dask workers) goes through an :class:`HttpTransport` built here from an :class:`HttpPolicy`. Nothing else in
the package creates a :class:`requests.Session`, a urllib3 ``Retry`` or an ``HTTPAdapter``: the policy
lives in :mod:`.http_policy`, the urllib3 parts that answer to a scope in :mod:`.http_scoped`.

What the layer guarantees:

* **Bounded calls.** Each public call runs inside a :class:`CallScope` with a total deadline: connecting,
  retries, their back-off sleeps, resumes and slow bodies all count against it. Per-socket timeouts alone do
  not bound a call (a body trickled a byte at a time never trips a read timeout).
* **Prompt cancellation.** A scope watches its ``cancel_event``; when it is set (or the deadline passes) the
  sockets of the scope's requests in flight are shut down, so a request blocked before headers or in a body
  returns at once instead of after the read timeout.
* **Only our errors.** ``requests``/``urllib3`` exceptions are translated into the package's exceptions
  (:mod:`worldcereal_explorer.errors`), raised without a chained cause that could carry the request and its
  ``Authorization`` header.
* **No secrets in output.** :func:`redact` removes tokens and URL signatures from text; a log filter applies
  it to urllib3's log records, and every message this layer builds passes through it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlsplit

import requests
import urllib3

from ..errors import (
    BadParameterError,
    QueryCancelledError,
    RdmConnectionError,
    RdmHttpError,
    RdmResponseError,
    RdmTimeoutError,
    ResponseTooLargeError,
)
from .http_policy import HttpPolicy
from .http_scoped import ScopedAdapter, ScopedRetry, ScopeStopped
from .redaction import (  # noqa: F401 (re-exported: the HTTP layer is where callers look)
    REDACTED,
    RedactingFilter,
    Secret,
    install_log_redaction,
    redact,
    safe_url,
)
from .scopes import AnyEvent, CallScope, Cancellable, current_connections, current_scope, wait_for_idle  # noqa: F401

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack needs Python 3.11

__all__ = [
    "AnyEvent",
    "CallScope",
    "HttpPolicy",
    "HttpTransport",
    "RETRY_STATUSES",
    "RequestOptions",
    "Secret",
    "redact",
    "safe_url",
]

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)

# -- the transport ------------------------------------------------------------------------------------


class RequestOptions(TypedDict, total=False):
    """What a request sends, as keywords of :meth:`HttpTransport.open` (its defaults apply to those left out).

    ``method`` (``"GET"``), ``params`` (the query string), ``headers``, ``data`` (the body) and
    ``allow_redirects`` (``True``) are handed to ``requests`` unchanged.
    """

    method: str
    params: Any
    headers: Mapping[str, str] | None
    data: Any
    allow_redirects: bool


AuthHook = Callable[[str], "str | None"]


class _HostAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer`` only for URLs on the given hosts (never for file stores)."""

    def __init__(self, token_for: Callable[[str], str | None]):
        self._token_for = token_for

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._token_for(request.url or "")
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        return request

    def __repr__(self) -> str:
        return "_HostAuth(<hidden>)"


@dataclass
class HttpTransport:
    """A configured session and the call-scoped request methods every module uses.

    Parameters
    ----------
    policy
        Timeouts, retries, deadlines and size limits.
    token
        Returns the current bearer token (or ``None``); called per request, only for ``token_hosts``.
    token_hosts
        ``host:port`` values that may receive the token (the RDM API's host). File stores never do.
    retry_methods
        HTTP methods urllib3 retries (``POST`` is not retried by default: it may not be idempotent).
    """

    policy: HttpPolicy = field(default_factory=HttpPolicy)
    token: Callable[[], str | None] | None = field(default=None, repr=False)
    token_hosts: frozenset[str] = frozenset()
    retry_methods: frozenset[str] = frozenset({"GET", "HEAD"})
    _session: requests.Session | None = field(default=None, init=False, repr=False)
    _session_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        # A pickled copy (Dask workers) gets the policy only: no token callback, no live session.
        return {"policy": self.policy, "token_hosts": self.token_hosts, "retry_methods": self.retry_methods}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.policy = state["policy"]
        self.token = None
        self.token_hosts = state["token_hosts"]
        self.retry_methods = state["retry_methods"]
        self._session = None
        self._session_lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        """The underlying session (created on first use; one connection pool per transport)."""
        with self._session_lock:
            if self._session is None:
                self._session = self._build_session()
            return self._session

    def _build_session(self) -> requests.Session:
        install_log_redaction()
        policy = self.policy
        retry = ScopedRetry(
            total=policy.retries,
            connect=policy.retries,
            read=policy.retries,
            status=policy.retries,
            other=0,
            redirect=10,
            backoff_factor=policy.backoff_factor,
            backoff_max=policy.backoff_max,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=self.retry_methods,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.max_retry_after = policy.max_retry_after
        session = requests.Session()
        adapter = ScopedAdapter(max_retries=retry, pool_connections=8, pool_maxsize=max(policy.pool_maxsize, 4))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"accept": "*/*", "User-Agent": policy.user_agent})
        session.max_redirects = 10
        if self.token is not None:
            session.auth = _HostAuth(self.token_for)
        return session

    def token_for(self, url: str) -> str | None:
        """The bearer token this transport sends with a request to ``url``.

        Parameters
        ----------
        url : str
            Only URLs on :attr:`token_hosts` (the RDM API's host) get one; file stores never do.

        Returns
        -------
        str or None
            The current token, or ``None`` for other hosts or without a token source.
        """
        if self.token is None or urlsplit(url).netloc not in self.token_hosts:
            return None
        return self.token()

    def close(self) -> None:
        """Close the connection pool (the transport reconnects when used again)."""
        with self._session_lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    # scopes -----------------------------------------------------------------------------------------
    def scope(self, what: str, *, cancel_event: Cancellable | None = None, deadline_s: float | None = None,
              download: bool = False, parent: CallScope | None = None) -> CallScope:
        """A new call scope for one public call (deadline defaults from the policy)."""
        if deadline_s is None and parent is None:
            deadline_s = self.policy.download_deadline if download else self.policy.api_deadline
        return CallScope(deadline_s=deadline_s, cancel_event=cancel_event, what=what, parent=parent)

    # requests ---------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def open(
        self,
        url: str,
        *,
        scope: CallScope,
        method: str = "GET",
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        download: bool = False,
        timeout: tuple[float, float] | None = None,
        allow_redirects: bool = True,
    ) -> Iterator[requests.Response]:
        """Send one request (urllib3 retries included) and yield the streaming response.

        Raises the package's errors only: :class:`RdmConnectionError`, :class:`RdmTimeoutError`,
        :class:`QueryCancelledError`, :class:`RdmHttpError` (redirect loop), :class:`RdmResponseError`.
        The response body is read inside the ``with`` block; errors while reading it are translated too.
        """
        connect, read = timeout or (
            self.policy.connect_timeout,
            self.policy.download_read_timeout if download else self.policy.read_timeout,
        )
        failure: Exception | None = None
        with scope.tracking():
            try:
                response = self.session.request(
                    method, url, params=params, headers=dict(headers or {}), data=data, stream=True,
                    timeout=scope.timeout(connect, read), allow_redirects=allow_redirects,
                )
            except (QueryCancelledError, RdmTimeoutError) as exc:
                failure = exc
            except (requests.RequestException, urllib3.exceptions.HTTPError, ScopeStopped, OSError) as exc:
                failure = self._translate(exc, url, scope, method)
            if failure is None:
                try:
                    try:
                        yield response
                    except (requests.RequestException, urllib3.exceptions.HTTPError, ScopeStopped) as exc:
                        failure = self._translate(exc, url, scope, method)
                finally:
                    response.close()
        if failure is not None:
            raise failure

    def _translate(self, exc: BaseException, url: str, scope: CallScope, method: str = "GET") -> Exception:
        """The package's exception for a ``requests``/``urllib3`` failure (message redacted, no cause)."""
        where = f"{redact(safe_url(url))}"
        call = f"{method} {where}"
        if isinstance(exc, ScopeStopped) or scope.tripped:
            scope._trip_reason()
            if scope.reason is None:
                scope.reason = "deadline"
            return scope.error()
        reason = redact(_reason(exc))
        if isinstance(exc, requests.exceptions.TooManyRedirects):
            return RdmHttpError(f"{call} redirected too many times (a redirect loop)", url=where)
        if isinstance(exc, requests.exceptions.ContentDecodingError):
            return RdmResponseError(f"{call} sent a body that could not be decoded ({reason})")
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidSchema, requests.exceptions.URLRequired)):
            return BadParameterError(f"URL {where!r} is not a valid http(s) URL ({reason})")
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError)):
            return _BodyDropped(f"{call}: the connection dropped while reading the body ({reason})")
        if isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError, socket.timeout)):
            return RdmTimeoutError(f"{call} timed out ({reason})")
        if isinstance(exc, requests.exceptions.RetryError):
            return RdmHttpError(f"{call} kept failing after {self.policy.retries} retries ({reason})", url=where)
        return RdmConnectionError(f"could not reach {where}: {reason}")

    def request(self, url: str, *, scope: CallScope, max_bytes: int | None = None,
                **options: Unpack[RequestOptions]) -> BufferedResponse:
        """Send a request and read the whole body (at most ``max_bytes``); a dropped body is retried.

        ``options`` are those of :meth:`open` (:class:`RequestOptions`); only requests whose method is in
        :attr:`retry_methods` are sent again.

        Returns
        -------
        BufferedResponse
            Status, headers, final URL and body bytes.
        """
        cap = self.policy.max_body_bytes if max_bytes is None else max_bytes
        resend = options.get("method", "GET") in self.retry_methods  # GET is open's default
        attempts = 0
        while True:
            try:
                with self.open(url, scope=scope, **options) as response:
                    return BufferedResponse(
                        status_code=response.status_code,
                        headers=dict(response.headers),
                        url=response.url,
                        content=_read_capped(response, cap, url),
                        request_headers=response.request.headers,
                    )
            except _BodyDropped as exc:
                if attempts >= self.policy.retries or not resend:
                    raise RdmConnectionError(f"{exc} (gave up after {attempts + 1} attempts)") from None
                attempts += 1
                log.info("body of %s dropped; retrying (%d/%d)", redact(safe_url(url)), attempts, self.policy.retries)
                scope.wait(min(self.policy.backoff_factor * (2 ** (attempts - 1)), self.policy.backoff_max))


class _BodyDropped(RdmConnectionError):
    """The connection dropped while a body was read (retried by :meth:`HttpTransport.request`)."""


_BodyTooLarge = ResponseTooLargeError


def _reason(exc: BaseException) -> str:
    """A short, human reason for a low-level failure (the innermost OS error when there is one)."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "host name not found"
        if isinstance(current, urllib3.exceptions.MaxRetryError) and current.reason is not None:
            current = current.reason
            continue
        nxt = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = nxt or current.__cause__ or current.__context__
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "…"


def _read_capped(response: requests.Response, cap: int, url: str) -> bytes:
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > cap:
        raise _BodyTooLarge(
            f"GET {redact(safe_url(url))} announced {int(length):,} bytes, more than the {cap:,}-byte limit "
            "for an API answer (HttpPolicy.max_body_bytes)"
        )
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > cap:
            raise _BodyTooLarge(
                f"GET {redact(safe_url(url))} sent more than the {cap:,}-byte limit for an API answer "
                "(HttpPolicy.max_body_bytes)"
            )
    return bytes(body)


@dataclass
class BufferedResponse:
    """A fully read response: what the client's JSON/text calls work with."""

    status_code: int
    headers: Mapping[str, str]
    url: str
    content: bytes = field(repr=False)
    request_headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"BufferedResponse(status_code={self.status_code}, url={redact(safe_url(self.url))!r}, bytes={len(self.content)})"

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode(_charset(self.headers), "replace")

    def json(self) -> Any:
        import json

        return json.loads(self.content.decode(_charset(self.headers), "replace"))


def _charset(headers: Mapping[str, str]) -> str:
    content_type = headers.get("Content-Type", "") or ""
    match = re.search(r"charset=([\w.-]+)", content_type, re.I)
    return match.group(1) if match else "utf-8"


install_log_redaction()
