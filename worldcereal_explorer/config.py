"""Settings resolved from arguments first, then environment variables, then built-in defaults."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from .errors import BadParameterError

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

#: CDSE realm and the RDM's public OIDC client (see the RDM API notes, section 1).
DEFAULT_OIDC_ISSUER = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE"
DEFAULT_OIDC_CLIENT_ID = "openeo-worldcereal-rdm"


def resolve_rdm_url(endpoint: str | None = None) -> str:
    """Return the RDM base URL: the argument, else ``$WORLDCEREAL_RDM_URL``, else the live API.

    A trailing slash is removed so that paths can be appended with ``/collections``.

    Raises
    ------
    BadParameterError
        When the URL has no ``http``/``https`` scheme or no host (``127.0.0.1:8000`` instead of
        ``http://127.0.0.1:8000``).
    """
    url = endpoint or os.environ.get(ENV_RDM_URL) or DEFAULT_RDM_URL
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        source = "endpoint" if endpoint else f"${ENV_RDM_URL}"
        raise BadParameterError(
            f"{source} {url!r} is not an http(s) URL; use for example {DEFAULT_RDM_URL!r} or 'http://127.0.0.1:8000'"
        )
    return url.strip().rstrip("/")


def resolve_legend_url(url: str | None = None) -> str:
    """Return the legend URL: the argument, else ``$WORLDCEREAL_LEGEND_URL``, else the official one."""
    return url or os.environ.get(ENV_LEGEND_URL) or DEFAULT_LEGEND_URL
