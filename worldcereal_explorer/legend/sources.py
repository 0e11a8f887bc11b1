"""Where legends come from: a path, a URL, an environment variable, or the official hosts, with a cache.

Order for each topic: the ``source`` argument, else the topic's environment variable
(``$WORLDCEREAL_LEGEND_URL`` / ``$WORLDCEREAL_IRRIGATION_LEGEND_URL``; a URL or a local path), else the
official URLs tried in turn (the legend moved hosts in 2026, so there is more than one). Downloads go through
the package's HTTP layer and are cached on disk: a cached copy younger than the TTL is used without a request,
and when every download fails a stale cached copy is used (with a warning) rather than failing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from ..config import DEFAULT_LEGEND_URL, ENV_LEGEND_URL
from ..errors import BadParameterError, LegendError, RdmError
from ..files import atomic_write_bytes
from .tables import IrrigationLegend, Legend, parse_irrigation_csv, parse_landcover_csv

if TYPE_CHECKING:  # the HTTP layer (requests, urllib3) is imported only when a legend is downloaded
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11 on; only the type checker needs it

    from ..transport.http import HttpTransport

logger = logging.getLogger("worldcereal_explorer.legend")

__all__ = [
    "DEFAULT_TTL_S",
    "LegendLoadOptions",
    "ENV_IRRIGATION_LEGEND_URL",
    "ENV_LEGEND_URL",
    "IRRIGATION",
    "LANDCOVER",
    "OFFICIAL_LEGEND_URLS",
    "TOPICS",
    "load_irrigation_legend",
    "load_legend",
    "normalize_topic",
    "official_legend_urls",
]

#: How long a cached legend download is trusted before it is fetched again (7 days).
DEFAULT_TTL_S = 7 * 24 * 3600
LANDCOVER = "landcover"
IRRIGATION = "irrigation"
#: The legend topics of the reference client's ``get_legend(topic=...)``.
TOPICS = (LANDCOVER, IRRIGATION)
#: Other spellings accepted for a topic (case-insensitive), after the legend files' names.
_TOPIC_ALIASES = {"landcover": LANDCOVER, "lc": LANDCOVER, "lc_ct": LANDCOVER,
                  "irrigation": IRRIGATION, "irr": IRRIGATION}
#: Environment variable naming the irrigation legend (URL or local path).
ENV_IRRIGATION_LEGEND_URL = "WORLDCEREAL_IRRIGATION_LEGEND_URL"
_ENV = {LANDCOVER: ENV_LEGEND_URL, IRRIGATION: ENV_IRRIGATION_LEGEND_URL}

# Hosts that have published the "latest" legend files, newest first: auxdata.terrascope.be (the reference
# client's 2026 tests), the CloudFerro S3 bucket (its 2026 publication notes), Artifactory (until 2025).
_OFFICIAL_FOLDERS = (
    "https://auxdata.terrascope.be/worldcereal/legend/",
    "https://s3.waw3-1.cloudferro.com/project_dependencies/worldcereal/",
    "https://artifactory.vgt.vito.be/artifactory/auxdata-public/worldcereal/legend/",
)
_FILE_NAMES = {LANDCOVER: "WorldCereal_LC_CT_legend_latest.csv", IRRIGATION: "WorldCereal_IRR_legend_latest.csv"}


def _official_urls(topic: str) -> tuple[str, ...]:
    urls = [folder + _FILE_NAMES[topic] for folder in _OFFICIAL_FOLDERS]
    if topic == LANDCOVER and DEFAULT_LEGEND_URL not in urls:
        urls.append(DEFAULT_LEGEND_URL)
    return tuple(urls)


#: Candidate official URLs per topic, tried in this order.
OFFICIAL_LEGEND_URLS: dict[str, tuple[str, ...]] = {topic: _official_urls(topic) for topic in TOPICS}

T = TypeVar("T", Legend, IrrigationLegend)


def normalize_topic(topic: Any) -> str:
    """Return the canonical topic name.

    Parameters
    ----------
    topic : str
        ``"landcover"`` or ``"irrigation"`` (case-insensitive; ``"LC"``/``"LC_CT"`` and ``"IRR"`` too).

    Returns
    -------
    str
        ``"landcover"`` or ``"irrigation"``.

    Raises
    ------
    BadParameterError
        When ``topic`` is anything else; the message names the value and the allowed ones.
    """
    canonical = _TOPIC_ALIASES.get(topic.strip().lower()) if isinstance(topic, str) else None
    if canonical is None:
        raise BadParameterError(f"legend topic {topic!r} is not known; allowed: 'landcover' or 'irrigation'")
    return canonical


def official_legend_urls(topic: str = LANDCOVER) -> tuple[str, ...]:
    """The official URLs of a topic's latest legend, in the order they are tried.

    Parameters
    ----------
    topic : {"landcover", "irrigation"}

    Returns
    -------
    tuple of str
    """
    return OFFICIAL_LEGEND_URLS[normalize_topic(topic)]


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("worldcereal-explorer")) / "legend"


def _download(url: str, timeout: float, transport: HttpTransport | None, retries: int = 2) -> bytes:
    from ..transport.http import HttpPolicy, HttpTransport, redact

    http = transport if transport is not None else HttpTransport(
        HttpPolicy(connect_timeout=min(5.0, timeout), read_timeout=timeout, retries=retries))
    try:
        response = http.request(url, scope=http.scope("legend download", deadline_s=2 * timeout))
    finally:
        if transport is None:  # this call's own transport: close its connections
            http.close()
    if not response.ok:
        raise LegendError(f"the legend URL {redact(url)} answered HTTP {response.status_code}")
    return response.content


class LegendLoadOptions(TypedDict, total=False):
    """The cache and download options of :func:`load_legend` and :func:`load_irrigation_legend`."""

    cache_dir: str | os.PathLike | None
    ttl_s: float
    refresh: bool
    timeout: float
    transport: HttpTransport | None


def _checked(options: LegendLoadOptions, function: str) -> LegendLoadOptions:
    """``options`` when every key is a legend load option; else the TypeError Python gives for a bad keyword."""
    unknown = sorted(set(options) - set(LegendLoadOptions.__annotations__))
    if unknown:
        raise TypeError(f"{function}() got an unexpected keyword argument {unknown[0]!r}; "
                        f"its options are {', '.join(LegendLoadOptions.__annotations__)}")
    return options


def _load(
    topic: str,
    source: str | os.PathLike | None,
    parse: Callable[[bytes, str], T],
    *,
    cache_dir: str | os.PathLike | None = None,
    ttl_s: float = DEFAULT_TTL_S,
    refresh: bool = False,
    timeout: float = 10.0,
    transport: HttpTransport | None = None,
) -> T:
    from ..transport.http import redact

    what = "legend" if topic == LANDCOVER else f"{topic} legend"
    env = _ENV[topic]
    if source is None:
        source = os.environ.get(env) or None
    if source is None and topic == LANDCOVER:
        from ..config import resolve_setting

        configured = resolve_setting("legend_source")  # the settings file's legend_source, if one is set
        if configured.source not in ("default",):
            source = configured.value
    if source is not None and not _is_url(str(source)):
        path = Path(source)
        if not path.is_file():
            raise LegendError(f"{what} file {str(path)!r} does not exist")
        return parse(path.read_bytes(), str(path))
    urls = (str(source),) if source is not None else OFFICIAL_LEGEND_URLS[topic]
    # One cache file per logical source: an explicit URL, or "the official legend of this topic".
    key = urls[0] if len(urls) == 1 else f"official {topic} legend: " + " ".join(urls)
    name = urls[0] if len(urls) == 1 else f"<official {topic} legend>"
    cache = Path(cache_dir) if cache_dir is not None else _cache_dir()
    cached = cache / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.csv"
    if not refresh and cached.is_file() and (time.time() - cached.stat().st_mtime) < ttl_s:
        return parse(cached.read_bytes(), name)
    failures: list[tuple[str, Exception]] = []
    retries = 2 if len(urls) == 1 else 1  # with several hosts, move on to the next one sooner
    for url in urls:
        try:
            content = _download(url, timeout, transport, retries)
            legend = parse(content, url)  # parse before caching: never cache garbage
        except (RdmError, LegendError) as exc:
            failures.append((url, exc))
            continue
        atomic_write_bytes(cached, content)
        return legend
    reasons = "; ".join(f"{redact(url)}: {exc}" for url, exc in failures)
    if cached.is_file():
        logger.warning("could not refresh the %s (%s); using the cached copy", what, reasons)
        return parse(cached.read_bytes(), name)
    if len(urls) == 1:
        if isinstance(failures[0][1], LegendError):
            raise failures[0][1]
        raise LegendError(
            f"could not download the {what} from {redact(urls[0])}: {failures[0][1]}; "
            f"set {env} or pass a local path"
        ) from None
    raise LegendError(
        f"could not download the {what} from any official URL ({reasons}); set {env} or pass a local path"
    ) from None


def load_legend(source: str | os.PathLike | None = None, **options: Unpack[LegendLoadOptions]) -> Legend:
    """Load the land-cover/crop-type legend from a path or URL, with an on-disk cache for URLs.

    Parameters
    ----------
    source : str or os.PathLike, optional
        A local CSV path or an ``http(s)`` URL. ``None``: ``$WORLDCEREAL_LEGEND_URL`` (URL or path), else
        the official URLs (:data:`OFFICIAL_LEGEND_URLS`) tried in order.

    Other Parameters
    ----------------
    cache_dir : str or os.PathLike, optional
        Folder for cached downloads (default: the user cache dir from platformdirs).
    ttl_s : float
        Age in seconds after which a cached download is fetched again (default 7 days). When fetching
        fails, a stale cached copy is used (with a warning) rather than failing.
    refresh : bool
        Ignore the cache and download again (default ``False``).
    timeout : float
        Seconds one download may take (default 10; retries included, the deadline is twice this).
    transport : HttpTransport, optional
        The :class:`~worldcereal_explorer.transport.http.HttpTransport` to use (default: one for this call).

    Returns
    -------
    Legend
        One row per ``ewoc_code`` of the file, with its hierarchy and labels.

    Raises
    ------
    LegendError
        When the legend can neither be fetched nor found in the cache, or does not parse.
    """
    return _load(LANDCOVER, source, parse_landcover_csv, **_checked(options, "load_legend"))


def load_irrigation_legend(source: str | os.PathLike | None = None,
                           **options: Unpack[LegendLoadOptions]) -> IrrigationLegend:
    """Load the irrigation legend from a path or URL, with the same cache rules as :func:`load_legend`.

    Parameters
    ----------
    source : str or os.PathLike, optional
        A local CSV path or an ``http(s)`` URL. ``None``: ``$WORLDCEREAL_IRRIGATION_LEGEND_URL`` (URL or
        path), else the official URLs (:data:`OFFICIAL_LEGEND_URLS`) tried in order.

    Other Parameters
    ----------------
    **options : LegendLoadOptions
        ``cache_dir``, ``ttl_s``, ``refresh``, ``timeout`` and ``transport``, as for :func:`load_legend`
        and with the same defaults.

    Returns
    -------
    IrrigationLegend
        One row per ``irrigation_code``.

    Raises
    ------
    LegendError
        When the irrigation legend can neither be fetched nor found in the cache, or does not parse.
    """
    return _load(IRRIGATION, source, parse_irrigation_csv, **_checked(options, "load_irrigation_legend"))
