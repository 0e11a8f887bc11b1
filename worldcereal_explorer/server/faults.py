"""Failure play: make the local server misbehave the way the live RDM does, on purpose.

Four knobs, all off by default (issues 11B, 14 and 25):

* ``failing_download_ids``: ``/collections/{id}/download`` and ``/collections/{id}/sample/download``
  answer HTTP 500, after ``download_fail_delay_s`` seconds (the live RDM has been seen to 500 after
  minutes), while ``/collections/{id}/metadata/items`` still hands out the file URLs, so a client can
  fall back to them;
* ``download_404_ids``: the same two routes answer 404 ``EntityNotFound`` (the ABP body an unknown id
  gets) although the collection exists, is listed by the search and its metadata items carry the file URLs,
  as a deployment has been seen to answer for a collection its search listed;
* ``flaky_ids``: every route about one of these ids (``/collections/{id}...``, ``/files/*/{id}/...``)
  answers 503 for the first ``flaky_failures`` requests and/or during the first ``flaky_window_s``
  seconds after that id is first requested, then recovers; ``"*"`` makes every API route flaky;
* ``max_bytes_per_s``: file downloads (``/files/...``) are streamed in small chunks, paced to this rate
  in total, shared by concurrent downloads (to emulate, say, a 20 MB/s link in benchmarks).

The CLI reads the same settings from ``--...`` options or the ``WORLDCEREAL_SERVER_*`` environment
variables (:func:`failure_play_from_env`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import BadParameterError
from .api_errors import ApiError, collection_not_found

__all__ = [
    "FailurePlay",
    "FlakyMiddleware",
    "BandwidthMiddleware",
    "failure_play_from_env",
    "add_failure_play_arguments",
    "failure_play_kwargs",
    "ENV_FAILING_DOWNLOAD_IDS",
    "ENV_DOWNLOAD_FAIL_DELAY_S",
    "ENV_DOWNLOAD_404_IDS",
    "ENV_FLAKY_IDS",
    "ENV_FLAKY_FAILURES",
    "ENV_FLAKY_WINDOW_S",
    "ENV_MAX_BYTES_PER_S",
]

ENV_FAILING_DOWNLOAD_IDS = "WORLDCEREAL_SERVER_FAILING_DOWNLOAD_IDS"
ENV_DOWNLOAD_FAIL_DELAY_S = "WORLDCEREAL_SERVER_DOWNLOAD_FAIL_DELAY_S"
ENV_DOWNLOAD_404_IDS = "WORLDCEREAL_SERVER_DOWNLOAD_404_IDS"
ENV_FLAKY_IDS = "WORLDCEREAL_SERVER_FLAKY_IDS"
ENV_FLAKY_FAILURES = "WORLDCEREAL_SERVER_FLAKY_FAILURES"
ENV_FLAKY_WINDOW_S = "WORLDCEREAL_SERVER_FLAKY_WINDOW_S"
ENV_MAX_BYTES_PER_S = "WORLDCEREAL_SERVER_MAX_BYTES_PER_S"

#: What ``flaky_failures`` becomes when flaky ids are given with neither a count nor a window.
DEFAULT_FLAKY_FAILURES = 3
#: Paths that are never flaky: readiness probes and the API description must keep answering.
_NEVER_FLAKY = frozenset({"/", "/docs", "/openapi.json", "/swagger/index.html", "/docs/oauth2-redirect"})


def id_set(values: Iterable[str] | str | None) -> frozenset[str]:
    """The collection ids of a failure-play setting, as a set.

    Parameters
    ----------
    values : iterable of str, str or None
        Ids, or one comma-separated string of them (how an environment variable gives them); blanks are
        dropped.

    Returns
    -------
    frozenset of str
    """
    if values is None:
        return frozenset()
    if isinstance(values, str):
        values = values.split(",")
    return frozenset(v.strip() for v in values if v and v.strip())


@dataclass(frozen=True)
class FailurePlay:
    """Which failures the server plays (see the module docstring); the default plays none.

    Parameters
    ----------
    failing_download_ids
        Collection ids whose download-URL routes answer 500.
    download_fail_delay_s
        Seconds those routes wait before answering 500 (or 404, for ``download_404_ids``).
    download_404_ids
        Collection ids whose download-URL routes answer 404 ``EntityNotFound`` while the collection exists.
    flaky_ids
        Collection ids (or ``"*"``: every API route) answering 503 for a while.
    flaky_failures
        How many requests per flaky id fail; ``None``: 3 when no window is given, else unlimited.
    flaky_window_s
        Requests within this many seconds of the first request for a flaky id fail.
    max_bytes_per_s
        Pace of ``/files/...`` bodies; ``None``: as fast as possible.
    """

    failing_download_ids: frozenset[str] = frozenset()
    download_fail_delay_s: float = 0.0
    download_404_ids: frozenset[str] = frozenset()
    flaky_ids: frozenset[str] = frozenset()
    flaky_failures: int | None = None
    flaky_window_s: float = 0.0
    max_bytes_per_s: float | None = None
    _first_seen: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
    _counts: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failing_download_ids", id_set(self.failing_download_ids))
        object.__setattr__(self, "download_404_ids", id_set(self.download_404_ids))
        both = sorted(self.failing_download_ids & self.download_404_ids)
        if both:
            raise BadParameterError(f"collection id(s) {', '.join(map(repr, both))} are in both failing_download_ids "
                                    "(500) and download_404_ids (404); give each id one of them")
        object.__setattr__(self, "flaky_ids", id_set(self.flaky_ids))
        if self.download_fail_delay_s < 0:
            raise BadParameterError(f"download_fail_delay_s={self.download_fail_delay_s!r} is not allowed; "
                                    "it must be >= 0")
        if self.flaky_window_s < 0:
            raise BadParameterError(f"flaky_window_s={self.flaky_window_s!r} is not allowed; it must be >= 0")
        if self.flaky_failures is not None and self.flaky_failures < 0:
            raise BadParameterError(f"flaky_failures={self.flaky_failures!r} is not allowed; it must be >= 0")
        if self.max_bytes_per_s is not None and not self.max_bytes_per_s > 0:
            raise BadParameterError(f"max_bytes_per_s={self.max_bytes_per_s!r} is not allowed; it must be > 0 "
                                    "(or None for no limit)")
        if self.flaky_failures is None:
            object.__setattr__(self, "flaky_failures", 0 if self.flaky_window_s > 0 else DEFAULT_FLAKY_FAILURES)

    # ---- flaky routes -----------------------------------------------------------------------------------

    def flaky_key(self, path: str) -> str | None:
        """The flaky id ``path`` belongs to (``"*"`` for the wildcard), or ``None`` when it is not flaky."""
        if not self.flaky_ids or path in _NEVER_FLAKY:
            return None
        if "*" in self.flaky_ids:
            return "*"
        parts = path.split("/")
        cid = None
        if len(parts) >= 3 and parts[1] == "collections" and parts[2] != "search":
            cid = parts[2]
        elif len(parts) >= 5 and parts[1] == "files":
            cid = parts[3]
        return cid if cid in self.flaky_ids else None

    def should_fail_flaky(self, key: str, now: float | None = None) -> bool:
        """Count one request for ``key`` and say whether it gets a 503 (called from the event loop only)."""
        now = time.monotonic() if now is None else now
        first = self._first_seen.setdefault(key, now)
        count = self._counts.get(key, 0)
        self._counts[key] = count + 1
        assert self.flaky_failures is not None
        return count < self.flaky_failures or now - first < self.flaky_window_s

    # ---- failing downloads ------------------------------------------------------------------------------

    async def fail_download_if_planned(self, collection_id: str) -> None:
        """Raise the planned 500 or 404 (after the planned delay) for a download-URL route of ``collection_id``."""
        if collection_id not in self.failing_download_ids and collection_id not in self.download_404_ids:
            return
        if self.download_fail_delay_s > 0:
            await asyncio.sleep(self.download_fail_delay_s)
        if collection_id in self.download_404_ids:
            # the answer an unknown id gets, word for word: a client cannot tell the two apart from it
            raise collection_not_found(collection_id)
        raise ApiError(500, "InternalError", "An internal error occurred during your request!",
                       details=f"simulated failure of the download routes of {collection_id!r} (failure play); "
                               "the file URLs in /metadata/items still work")


def failure_play_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The failure-play keyword arguments of :func:`~worldcereal_explorer.server.create_app` set in the
    ``WORLDCEREAL_SERVER_*`` environment variables (only those that are set).

    Raises
    ------
    BadParameterError
        When a variable does not hold a number where one is needed.
    """
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    converters: list[tuple[str, str, Callable[[str], Any]]] = [
        (ENV_FAILING_DOWNLOAD_IDS, "failing_download_ids", id_set),
        (ENV_DOWNLOAD_FAIL_DELAY_S, "download_fail_delay_s", float),
        (ENV_DOWNLOAD_404_IDS, "download_404_ids", id_set),
        (ENV_FLAKY_IDS, "flaky_ids", id_set),
        (ENV_FLAKY_FAILURES, "flaky_failures", int),
        (ENV_FLAKY_WINDOW_S, "flaky_window_s", float),
        (ENV_MAX_BYTES_PER_S, "max_bytes_per_s", float),
    ]
    for var, name, convert in converters:
        raw = env.get(var, "").strip()
        if not raw:
            continue
        try:
            out[name] = convert(raw)
        except ValueError:
            raise BadParameterError(f"{var}={raw!r} is not allowed; it must be a number") from None
    return out


def add_failure_play_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the failure-play options (``--failing-download-ids``...) to a command's parser."""
    group = parser.add_argument_group(
        "failure play", "make the server fail on purpose (each option also reads a WORLDCEREAL_SERVER_* variable)")
    group.add_argument("--failing-download-ids", metavar="IDS",
                       help=f"comma-separated collection ids whose download routes answer 500 (${ENV_FAILING_DOWNLOAD_IDS})")
    group.add_argument("--download-fail-delay", type=float, metavar="S",
                       help=f"seconds before those 500 (or 404) answers (${ENV_DOWNLOAD_FAIL_DELAY_S})")
    group.add_argument("--download-404-ids", metavar="IDS",
                       help="comma-separated collection ids whose download routes answer 404 although the "
                            f"collection exists (${ENV_DOWNLOAD_404_IDS})")
    group.add_argument("--flaky-ids", metavar="IDS",
                       help=f"comma-separated collection ids, or '*', answering 503 for a while (${ENV_FLAKY_IDS})")
    group.add_argument("--flaky-failures", type=int, metavar="N",
                       help=f"503 answers per flaky id (default 3; ${ENV_FLAKY_FAILURES})")
    group.add_argument("--flaky-window", type=float, metavar="S",
                       help=f"503 answers during the first S seconds per flaky id (${ENV_FLAKY_WINDOW_S})")
    group.add_argument("--max-bytes-per-s", type=float, metavar="B",
                       help=f"pace file downloads to B bytes per second, e.g. 20e6 (${ENV_MAX_BYTES_PER_S})")


def failure_play_kwargs(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The failure-play keyword arguments of ``create_app``: command-line options over environment variables.

    Raises
    ------
    BadParameterError
        When an environment variable does not hold a number where one is needed.
    """
    kwargs = failure_play_from_env(environ)
    options = {
        "failing_download_ids": getattr(args, "failing_download_ids", None),
        "download_fail_delay_s": getattr(args, "download_fail_delay", None),
        "download_404_ids": getattr(args, "download_404_ids", None),
        "flaky_ids": getattr(args, "flaky_ids", None),
        "flaky_failures": getattr(args, "flaky_failures", None),
        "flaky_window_s": getattr(args, "flaky_window", None),
        "max_bytes_per_s": getattr(args, "max_bytes_per_s", None),
    }
    kwargs.update({name: value for name, value in options.items() if value is not None})
    return kwargs


# ---- middlewares -------------------------------------------------------------------------------------------


class FlakyMiddleware:
    """Answers 503 (ABP envelope) on the routes of flaky ids while their burst lasts."""

    def __init__(self, app: Any, play: FailurePlay) -> None:
        self.app = app
        self.play = play

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            key = self.play.flaky_key(scope.get("path", ""))
            if key is not None and self.play.should_fail_flaky(key):
                what = "this server" if key == "*" else f"collection {key!r}"
                error = ApiError(503, "ServiceUnavailable", f"{what} is temporarily unavailable; retry later",
                                 details="simulated 5xx burst (failure play)")
                await error.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


#: Seconds a paced response may make up for after its sender woke up late (see :class:`_Link`).
LATE_WAKEUP_S = 0.05


class _Link:
    """One network link of ``rate`` bytes per second that every paced response shares, as the responses
    of a real server share its uplink: two downloads at once each get about half the rate, and an idle
    link saves up no credit (it is busy until the last byte given to it has gone through).

    A response that is already going through the link is owed the time its sender woke up late: every
    ``asyncio.sleep`` ends late by a millisecond or more (more on a busy machine), and counting that as idle
    link would make the pace, not the link, the limit (hundreds of wake-ups a second at tens of MB/s).
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.busy_until = 0.0

    async def take(self, nbytes: int, *, sent_until: float | None = None) -> float:
        """Wait until ``nbytes`` more have gone through the link (after every byte queued before them).

        ``sent_until`` is when the same response's previous piece was through (``None`` for its first):
        the piece may follow straight on from then, even if that is up to :data:`LATE_WAKEUP_S` past.
        Returns when this one is through.
        """
        now = time.monotonic()
        # owed at most LATE_WAKEUP_S: a reader that stopped reading for longer gets no credit for it
        resume = now if sent_until is None else max(sent_until, now - LATE_WAKEUP_S)
        through = max(self.busy_until, resume) + nbytes / self.rate
        self.busy_until = through  # other responses' pieces queue behind this one
        if through > now:
            await asyncio.sleep(through - now)
        return through


class BandwidthMiddleware:
    """Streams ``/files/...`` bodies in small chunks paced to ``max_bytes_per_s`` in total: concurrent
    downloads share the rate, as they share a real server's link (a reader cannot beat the cap by opening
    more connections).

    It wraps whatever the file route sends (full bodies, Range parts, HEAD), so Range support is the
    file route's and only the pace is added here.
    """

    def __init__(self, app: Any, max_bytes_per_s: float) -> None:
        self.app = app
        self.rate = float(max_bytes_per_s)
        self.link = _Link(self.rate)
        # ~20 pacing steps per second keeps the rate smooth without a sleep per few bytes.
        self.chunk = int(max(1024, min(64 * 1024, self.rate / 20)))

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/files/"):
            await self.app(scope, receive, send)
            return

        sent_until: float | None = None  # when this response's last piece was through the link

        async def paced_send(message: dict) -> None:
            nonlocal sent_until
            if message["type"] != "http.response.body":
                await send(message)
                return
            body = message.get("body", b"")
            more = message.get("more_body", False)
            for offset in range(0, len(body), self.chunk):
                piece = body[offset:offset + self.chunk]
                sent_until = await self.link.take(len(piece), sent_until=sent_until)
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            if not more:
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, receive, paced_send)
