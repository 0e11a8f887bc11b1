"""Settings: an argument first, then an environment variable, then the config file, then a built-in default.

The config file is one small TOML file in the user config dir (``platformdirs``), for example
``~/.config/worldcereal-explorer/config.toml`` on Linux; ``$WORLDCEREAL_CONFIG`` points at another one::

    endpoint = "https://ewoc-rdm-api.iiasa.ac.at"
    legend_source = "https://.../WorldCereal_LC_CT_legend_latest.csv"   # a URL or a local path
    min_quality_lc = 0        # default quality thresholds of the dashboard (0..100)
    min_quality_ct = 0
    token_cache = "~/.config/worldcereal-explorer/oidc-tokens.json"
    served_mode = "auto"      # "auto": served when running under Voila; "always": served everywhere
    single_person_server_remember_login = false   # see below: only for a server one person uses
    sample_cache = false      # keep queried collections on disk, re-laid out for range reads
    sample_cache_dir = "~/.cache/worldcereal-explorer/samples"
    sample_cache_max_mb = 2048

``worldcereal-explorer config`` prints every setting with where its value came from.

Personal use and served use
---------------------------
A notebook in JupyterLab, Terrascope or a JupyterHub single-user server, and the CLI, serve one person: a
login is remembered in the token cache so that the next session needs no new one. A dashboard **served**
by Voila (``voila``, ``python -m worldcereal_explorer.voila_setup``, ``worldcereal-explorer demo``, Binder)
gives every page view its own kernel, but all of them run as one operating-system user with one config
folder: a token cache there would log every visitor in as the first one. So in served mode
(:func:`served_mode`) nothing remembers a login: the token cache is neither read nor written, tokens live
in the page's kernel only and end with it, fixed tokens from the environment are not used, and the sample
cache is off unless asked for. ``single_person_server_remember_login = true`` turns the token cache back
on for a Voila server that only one person can reach; a warning is logged at start-up while it is on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import BadParameterError
from .files import parse_toml

__all__ = [
    "CONFIG_FILENAME",
    "DEFAULT_LEGEND_URL",
    "DEFAULT_RDM_URL",
    "SETTING_ENV_VARS",
    "SERVED_MODES",
    "SETTING_NAMES",
    "DataBanner",
    "Setting",
    "config_path",
    "data_banner",
    "is_local_endpoint",
    "probe_rdm",
    "read_config_file",
    "resolve_legend_url",
    "resolve_min_quality",
    "resolve_rdm_url",
    "resolve_setting",
    "resolve_token_cache_path",
    "running_under_voila",
    "served_mode",
    "settings",
    "token_cache_allowed",
    "warn_if_served_with_remembered_login",
]

#: The live WorldCereal RDM API (no path prefix; routes start at ``/collections``).
DEFAULT_RDM_URL = "https://ewoc-rdm-api.iiasa.ac.at"
#: Where WorldCereal publishes the latest LC/CT legend CSV.
DEFAULT_LEGEND_URL = (
    "https://artifactory.vgt.vito.be/artifactory/auxdata-public/worldcereal/legend/"
    "WorldCereal_LC_CT_legend_latest.csv"
)

ENV_RDM_URL = "WORLDCEREAL_RDM_URL"
ENV_LEGEND_URL = "WORLDCEREAL_LEGEND_URL"
ENV_RDM_TOKEN = "WORLDCEREAL_RDM_TOKEN"
ENV_RDM_REFRESH_TOKEN = "WORLDCEREAL_RDM_REFRESH_TOKEN"
ENV_OIDC_ISSUER = "WORLDCEREAL_OIDC_ISSUER"
ENV_OIDC_CLIENT_ID = "WORLDCEREAL_OIDC_CLIENT_ID"
#: Another config file than the one in the user config dir.
ENV_CONFIG_FILE = "WORLDCEREAL_CONFIG"
ENV_MIN_QUALITY_LC = "WORLDCEREAL_MIN_QUALITY_LC"
ENV_MIN_QUALITY_CT = "WORLDCEREAL_MIN_QUALITY_CT"
ENV_TOKEN_CACHE = "WORLDCEREAL_TOKEN_CACHE"
ENV_SERVED_MODE = "WORLDCEREAL_SERVED_MODE"
ENV_SINGLE_PERSON_SERVER_REMEMBER_LOGIN = "WORLDCEREAL_SINGLE_PERSON_SERVER_REMEMBER_LOGIN"
ENV_SAMPLE_CACHE = "WORLDCEREAL_SAMPLE_CACHE"
ENV_SAMPLE_CACHE_DIR = "WORLDCEREAL_SAMPLE_CACHE_DIR"
ENV_SAMPLE_CACHE_MAX_MB = "WORLDCEREAL_SAMPLE_CACHE_MAX_MB"
#: Values of the ``served_mode`` setting.
SERVED_MODES = ("auto", "always")
#: A sentence shown in the data banner saying why this data source was chosen (set by ``binder/start``).
ENV_DATA_NOTE = "WORLDCEREAL_DATA_NOTE"

#: CDSE realm and the RDM's public OIDC client (see the RDM API notes, section 1).
DEFAULT_OIDC_ISSUER = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE"
DEFAULT_OIDC_CLIENT_ID = "openeo-worldcereal-rdm"

CONFIG_APP_NAME = "worldcereal-explorer"
CONFIG_FILENAME = "config.toml"


def _default_token_cache() -> str:
    import platformdirs

    return str(platformdirs.user_config_path(CONFIG_APP_NAME) / "oidc-tokens.json")


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadParameterError(f"{where} {value!r} is not a URL; use for example {DEFAULT_RDM_URL!r}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadParameterError(
            f"{where} {value!r} is not an http(s) URL; use for example {DEFAULT_RDM_URL!r} or 'http://127.0.0.1:8000'"
        )
    return value.strip().rstrip("/")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadParameterError(f"{where} {value!r} is not allowed; use a URL or a file path")
    return value.strip()


def _quality(value: Any, where: str) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise BadParameterError(f"{where} {value!r} is not a whole number from 0 to 100") from None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise BadParameterError(f"{where} {value!r} is not a whole number from 0 to 100")
    return value


def _default_sample_cache_dir() -> str:
    import platformdirs

    return str(platformdirs.user_cache_path(CONFIG_APP_NAME) / "samples")


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise BadParameterError(f"{where} {value!r} is not allowed; use true or false")


def _served_mode(value: Any, where: str) -> str:
    if isinstance(value, str) and value.strip().lower() in SERVED_MODES:
        return value.strip().lower()
    raise BadParameterError(f"{where} {value!r} is not allowed; use one of {', '.join(map(repr, SERVED_MODES))}")


def _megabytes(value: Any, where: str) -> int:
    number = value
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise BadParameterError(f"{where} {value!r} is not a whole number of megabytes >= 1")
    return number


def _path(value: Any, where: str) -> str:
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise BadParameterError(f"{where} {value!r} is not a file path")
    return str(Path(os.path.expandvars(str(value).strip())).expanduser())


@dataclass(frozen=True)
class _Spec:
    env: str
    default: Callable[[], Any]
    parse: Callable[[Any, str], Any]
    help: str


_SPECS: dict[str, _Spec] = {
    "endpoint": _Spec(ENV_RDM_URL, lambda: DEFAULT_RDM_URL, _url, "RDM API base URL"),
    "legend_source": _Spec(ENV_LEGEND_URL, lambda: DEFAULT_LEGEND_URL, _text,
                           "land cover / crop type legend CSV (URL or path)"),
    "min_quality_lc": _Spec(ENV_MIN_QUALITY_LC, lambda: 0, _quality, "default land cover quality threshold"),
    "min_quality_ct": _Spec(ENV_MIN_QUALITY_CT, lambda: 0, _quality, "default crop type quality threshold"),
    "token_cache": _Spec(ENV_TOKEN_CACHE, _default_token_cache, _path,
                         "where login tokens are cached (personal use; never in served mode)"),
    "served_mode": _Spec(ENV_SERVED_MODE, lambda: "auto", _served_mode,
                         "'auto': served (no remembered login) under Voila; 'always': served everywhere"),
    "single_person_server_remember_login": _Spec(
        ENV_SINGLE_PERSON_SERVER_REMEMBER_LOGIN, lambda: False, _bool,
        "remember logins in the token cache even in served mode: only for a server one person uses"),
    "sample_cache": _Spec(ENV_SAMPLE_CACHE, lambda: False, _bool,
                          "keep queried collections on disk for fast repeat queries (off in served mode)"),
    "sample_cache_dir": _Spec(ENV_SAMPLE_CACHE_DIR, _default_sample_cache_dir, _path, "the sample cache's folder"),
    "sample_cache_max_mb": _Spec(ENV_SAMPLE_CACHE_MAX_MB, lambda: 2048, _megabytes,
                                 "the sample cache's size limit in MB (least recently used out first)"),
}
#: The settings the config file may hold, in display order.
SETTING_NAMES = tuple(_SPECS)
#: The environment variable of each setting.
SETTING_ENV_VARS = {name: spec.env for name, spec in _SPECS.items()}


@dataclass(frozen=True)
class Setting:
    """One resolved setting.

    Attributes
    ----------
    name : str
        The setting's name (the config file key).
    value : Any
        The value in force.
    source : str
        Where it came from: ``"argument"``, ``"environment"``, ``"config file"`` or ``"default"``.
    detail : str
        The environment variable or the config file path, when that is the source.
    """

    name: str
    value: Any
    source: str
    detail: str = ""


def config_path() -> Path:
    """The config file: ``$WORLDCEREAL_CONFIG``, else ``config.toml`` in the user config dir (may not exist)."""
    override = os.environ.get(ENV_CONFIG_FILE)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_config_path(CONFIG_APP_NAME) / CONFIG_FILENAME


def read_config_file(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The settings written in the config file (validated); ``{}`` when there is no file.

    Parameters
    ----------
    path
        The file; default :func:`config_path`.

    Raises
    ------
    BadParameterError
        When the file is not valid TOML, holds an unknown key or a bad value (the message names both the
        file and the key).
    """
    file = Path(path) if path is not None else config_path()
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise BadParameterError(f"cannot read the config file {str(file)!r}: {exc.strerror}") from None
    try:
        raw = parse_toml(data.decode("utf-8"))
    except Exception as exc:  # tomllib.TOMLDecodeError, UnicodeDecodeError
        raise BadParameterError(f"the config file {str(file)!r} is not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - set(_SPECS))
    if unknown:
        raise BadParameterError(
            f"the config file {str(file)!r} has unknown setting {unknown[0]!r}; allowed: {', '.join(SETTING_NAMES)}"
        )
    return {name: _SPECS[name].parse(value, f"{name} in {str(file)!r}") for name, value in raw.items()}


def resolve_setting(name: str, argument: Any = None, *, path: str | os.PathLike[str] | None = None) -> Setting:
    """Resolve one setting: ``argument`` > environment variable > config file > default.

    Parameters
    ----------
    name
        One of :data:`SETTING_NAMES`.
    argument
        The caller's value; ``None`` means "not given".
    path
        The config file (default :func:`config_path`).

    Raises
    ------
    BadParameterError
        For an unknown name or an invalid value (the message says where the value came from).
    """
    spec = _SPECS.get(name)
    if spec is None:
        raise BadParameterError(f"unknown setting {name!r}; allowed: {', '.join(SETTING_NAMES)}")
    if argument is not None and argument != "":
        where = "endpoint" if name == "endpoint" else f"argument {name}"
        return Setting(name, spec.parse(argument, where), "argument")
    env = os.environ.get(spec.env)
    if env:
        return Setting(name, spec.parse(env, f"${spec.env}"), "environment", spec.env)
    file = Path(path) if path is not None else config_path()
    values = read_config_file(file)
    if name in values:
        return Setting(name, values[name], "config file", str(file))
    return Setting(name, spec.default(), "default")


def settings(path: str | os.PathLike[str] | None = None, **arguments: Any) -> dict[str, Setting]:
    """Every setting, resolved (what ``worldcereal-explorer config`` prints).

    Parameters
    ----------
    path
        The config file (default :func:`config_path`).
    **arguments
        Values given by the caller, by setting name (they win over everything else).
    """
    return {name: resolve_setting(name, arguments.get(name), path=path) for name in SETTING_NAMES}


def resolve_rdm_url(endpoint: str | None = None) -> str:
    """Return the RDM base URL: the argument, else ``$WORLDCEREAL_RDM_URL``, else the config file, else the
    live API.

    A trailing slash is removed so that paths can be appended with ``/collections``.

    Raises
    ------
    BadParameterError
        When the URL has no ``http``/``https`` scheme or no host (``127.0.0.1:8000`` instead of
        ``http://127.0.0.1:8000``).
    """
    return resolve_setting("endpoint", endpoint).value


def resolve_legend_url(url: str | None = None) -> str:
    """Return the legend source: the argument, else ``$WORLDCEREAL_LEGEND_URL``, else the config file, else
    the official one."""
    return resolve_setting("legend_source", url).value


def resolve_min_quality(kind: str, value: int | None = None) -> int:
    """The default quality threshold ``kind`` (``"lc"`` or ``"ct"``): argument > env > config file > 0."""
    if kind not in ("lc", "ct"):
        raise BadParameterError(f"quality kind {kind!r} is not allowed; use 'lc' or 'ct'")
    return resolve_setting(f"min_quality_{kind}", value).value


def resolve_token_cache_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Where login tokens are cached: argument > ``$WORLDCEREAL_TOKEN_CACHE`` > config file > user config dir."""
    return Path(resolve_setting("token_cache", path).value)


# --- personal or served -------------------------------------------------------------------------------

def running_under_voila() -> bool:
    """True in a kernel Voila started for a page view (plain ``voila``, ``voila_setup``, Voila in Binder).

    Voila gives each page's kernel the CGI-style ``SERVER_SOFTWARE=voila/<version>`` and its own
    ``VOILA_*`` variables; a JupyterLab kernel has neither.
    """
    return (os.environ.get("SERVER_SOFTWARE", "").startswith("voila/")
            or any(os.environ.get(name) for name in ("VOILA_REQUEST_URL", "VOILA_BASE_URL", "VOILA_KERNEL_ID")))


def served_mode(value: str | None = None) -> bool:
    """Whether this process serves the dashboard to whoever opens a page (see the module's docstring).

    Parameters
    ----------
    value
        The ``served_mode`` setting (argument > ``$WORLDCEREAL_SERVED_MODE`` > config file > ``"auto"``):
        ``"auto"`` is served exactly under Voila, ``"always"`` everywhere. No value turns served mode off
        under Voila.
    """
    return resolve_setting("served_mode", value).value == "always" or running_under_voila()


def token_cache_allowed(remember_login: bool | None = None) -> bool:
    """Whether a login may be remembered on disk: always in personal use; in served mode only when the
    ``single_person_server_remember_login`` setting (or ``remember_login``) says so."""
    if not served_mode():
        return True
    return bool(resolve_setting("single_person_server_remember_login", remember_login).value)


def warn_if_served_with_remembered_login(logger: Any = None) -> bool:
    """Log a warning when served mode remembers logins (``single_person_server_remember_login``); return
    whether it does. Called when a served dashboard starts."""
    import logging

    if not (served_mode() and resolve_setting("single_person_server_remember_login").value):
        return False
    (logger or logging.getLogger(__name__)).warning(
        "single_person_server_remember_login is on while the dashboard is served: every visitor of this "
        "server uses the login remembered in the token cache. Turn it off unless one person only can reach "
        "this server."
    )
    return True


# --- which data is the user looking at ---------------------------------------------------------------

_LOOPBACK = ("127.", "localhost", "::1", "[::1]", "0.0.0.0")


def is_local_endpoint(endpoint: str) -> bool:
    """True when ``endpoint`` is a server on this machine (loopback), such as the bundled demo server."""
    host = (urlsplit(endpoint).hostname or "").lower()
    return host.startswith(_LOOPBACK) or host in ("localhost", "::1")


@dataclass(frozen=True)
class DataBanner:
    """What data an endpoint serves, in one sentence for people.

    Attributes
    ----------
    kind : str
        ``"live"`` (the WorldCereal RDM), ``"demo"`` (a local server, normally the synthetic demo) or
        ``"other"``.
    text : str
        The sentence, plain text.
    """

    kind: str
    text: str


def data_banner(endpoint: str, note: str | None = None) -> DataBanner:
    """Say which data ``endpoint`` serves: the live RDM, a local (demo) server, or another RDM.

    Parameters
    ----------
    endpoint
        The RDM base URL in use.
    note
        Why this source was chosen; default ``$WORLDCEREAL_DATA_NOTE`` (``binder/start`` sets it).
    """
    note = os.environ.get(ENV_DATA_NOTE, "") if note is None else note
    url = endpoint.rstrip("/")
    if url == DEFAULT_RDM_URL:
        kind, text = "live", f"Live data: the WorldCereal Reference Data Module at {url}."
    elif is_local_endpoint(url):
        kind, text = "demo", (f"Demo data: a local RDM server at {url}, normally the bundled synthetic demo "
                              "catalogue, which is not WorldCereal reference data.")
    else:
        kind, text = "other", f"Data from the RDM-compatible server at {url}."
    return DataBanner(kind, f"{text} {note.strip()}".strip())


def probe_rdm(endpoint: str, timeout_s: float = 5.0) -> bool:
    """True when ``endpoint`` answers a small collection listing within ``timeout_s`` seconds in all.

    Used by ``binder/start`` to choose the live RDM or the bundled demo; never raises.
    """
    import threading
    import urllib.request

    url = endpoint.rstrip("/") + "/collections?SkipCount=0&MaxResultCount=1"
    answer: list[bool] = []

    def ask() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - http(s) only
                answer.append(200 <= response.status < 300)
        except (TimeoutError, OSError, ValueError):
            answer.append(False)

    # DNS lookups ignore the socket timeout: a daemon thread bounds the whole probe.
    thread = threading.Thread(target=ask, name="wce-rdm-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(answer and answer[0])
