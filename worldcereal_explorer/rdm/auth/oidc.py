"""HTTP to one OpenID Connect provider: discovery, form posts to its endpoints, refresh and revocation.

All requests go through an :class:`~worldcereal_explorer.transport.http.HttpTransport`, whose failures are
turned into the authentication errors callers expect: :class:`IdentityProviderUnreachableError` when the
provider cannot be reached or does not answer, :class:`~worldcereal_explorer.errors.AuthenticationError`
for anything else. Request bodies carry secrets (refresh tokens, device codes, PKCE verifiers); no message
built here contains one.
"""

from __future__ import annotations

import logging
from typing import Any

from ...config import ENV_OIDC_ISSUER
from ...errors import (
    AuthenticationError,
    BadParameterError,
    RdmConnectionError,
    RdmHttpError,
    RdmResponseError,
    RdmTimeoutError,
)
from ...transport.http import BufferedResponse, CallScope, HttpPolicy, HttpTransport, Secret, redact, safe_url
from .errors import IdentityProviderUnreachableError, RefreshRefusedError
from .tokens import TokenSet

__all__ = ["OidcProvider", "default_policy", "oauth_error_text"]

log = logging.getLogger(__name__)

#: Token endpoint answers are a few kilobytes; anything much larger is not an OIDC provider.
MAX_PROVIDER_BODY_BYTES = 1024 * 1024
_HEADERS = {"Accept": "application/json"}
#: Back-off between connection retries: 0, 0.05, 0.1, ... 1 s (urllib3: factor * 2 ** (n - 1) from n = 2).
_BACKOFF_FACTOR_S = 0.025
_BACKOFF_MAX_S = 1.0


def default_policy(timeout: float | tuple[float, float] = (10.0, 30.0)) -> HttpPolicy:
    """The policy for an identity provider: retry a refused connection for about ``connect`` seconds.

    A provider that is starting up (or a flaky network) refuses connections for a moment; retrying them is
    safe for every method, POST included, because nothing reached the provider. Read timeouts and 5xx on
    POST are not retried (urllib3 retries those only for GET/HEAD): a refresh token may have been used up.

    Parameters
    ----------
    timeout
        ``(connect, read)`` seconds, or one number for both.

    Returns
    -------
    HttpPolicy
        Timeouts as given, retries whose back-off adds up to about ``connect`` seconds, and a total deadline
        per request of ``2 * connect + read``.
    """
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        timeout = (timeout, timeout)
    probe = HttpPolicy.from_timeout(timeout)  # validates the numbers (BadParameterError)
    connect, read = probe.connect_timeout, probe.read_timeout
    return probe.with_(
        retries=_retries_within(connect),
        backoff_factor=_BACKOFF_FACTOR_S,
        backoff_max=_BACKOFF_MAX_S,
        deadline=2 * connect + read,
        max_body_bytes=MAX_PROVIDER_BODY_BYTES,
        pool_maxsize=4,
    )


def _retries_within(budget_s: float) -> int:
    """How many retries urllib3 makes before its back-off sleeps would pass ``budget_s`` seconds."""
    retries, slept = 0, 0.0
    while retries < 100:
        following = 0.0 if retries == 0 else min(_BACKOFF_MAX_S, _BACKOFF_FACTOR_S * 2 ** retries)
        if slept + following > budget_s:
            break
        retries += 1
        slept += following
    return retries


class OidcProvider:
    """One OIDC provider as seen by a public client: its discovery document and endpoints.

    Parameters
    ----------
    issuer
        Issuer URL (no trailing slash); discovery is ``{issuer}/.well-known/openid-configuration``.
    client_id
        The public client's id, sent with every grant.
    transport
        Where the requests go through (its policy gives timeouts, retries and the per-request deadline).
    """

    def __init__(self, issuer: str, client_id: str, transport: HttpTransport):
        self.issuer = issuer
        self.client_id = client_id
        self.transport = transport
        self._metadata: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"OidcProvider(issuer={self.issuer!r}, client_id={self.client_id!r})"

    # requests ---------------------------------------------------------------------------------------
    def send(self, url: str, *, method: str = "GET", form: dict[str, Any] | None = None,
             parent: CallScope | None = None) -> BufferedResponse:
        """One request to the provider (retried on refused connections), as the provider answered it.

        Parameters
        ----------
        url
            An endpoint of the provider.
        method
            ``GET`` or ``POST``; a ``POST`` sends ``form`` url-encoded (:class:`Secret` values unwrapped).
        parent
            The caller's scope (a login's cancel event and deadline); its failures are raised unchanged as
            :class:`~worldcereal_explorer.errors.QueryCancelledError` / :class:`RdmTimeoutError` for the
            caller to explain.

        Raises
        ------
        IdentityProviderUnreachableError
            Connection refused, DNS or timeouts, after retries.
        AuthenticationError
            Redirect loops, oversized or undecodable answers, invalid endpoint URLs.
        """
        where = redact(safe_url(url))
        policy = self.transport.policy
        scope = self.transport.scope(f"{method} {where}", parent=parent, deadline_s=policy.api_deadline)
        data = None if form is None else {k: (v.value if isinstance(v, Secret) else v) for k, v in form.items()}
        try:
            # A redirected POST would resend the form (refresh token included) to wherever it points.
            return self.transport.request(url, scope=scope, method=method, data=data, headers=_HEADERS,
                                          allow_redirects=method != "POST")
        # a cancelled login (QueryCancelledError) is none of these, so it reaches the caller unchanged
        except RdmTimeoutError as exc:
            if parent is not None and parent.tripped:
                raise  # the caller's budget ran out, not the provider's patience
            raise IdentityProviderUnreachableError(
                f"the identity provider at {where} did not answer in time ({exc}); check the network and the "
                f"issuer setting (argument or ${ENV_OIDC_ISSUER}, now {self.issuer!r})",
                url=where,
            ) from None
        except RdmConnectionError as exc:
            raise IdentityProviderUnreachableError(
                f"could not reach the identity provider at {where} within {policy.connect_timeout:g} s "
                f"({_reason(exc, where)}); check the network and the issuer setting "
                f"(argument or ${ENV_OIDC_ISSUER}, now {self.issuer!r})",
                url=where,
            ) from None
        except (RdmHttpError, RdmResponseError, BadParameterError) as exc:
            raise AuthenticationError(f"the identity provider at {where} gave no usable answer: {exc}",
                                      url=where) from None

    def post_form(self, url: str, form: dict[str, Any], *,
                  parent: CallScope | None = None) -> tuple[int, dict[str, Any]]:
        """POST ``form`` to an endpoint; return the status and the JSON object answered (``{}`` if none)."""
        response = self.send(url, method="POST", form=form, parent=parent)
        return response.status_code, _json_object(response)

    # discovery --------------------------------------------------------------------------------------
    def metadata(self, *, parent: CallScope | None = None) -> dict[str, Any]:
        """The provider's discovery document (fetched once), checked for the device-flow endpoints.

        Raises
        ------
        AuthenticationError
            Discovery failed, names another issuer, or lacks the device authorization or token endpoint.
        """
        if self._metadata is not None:
            return self._metadata
        url = f"{self.issuer}/.well-known/openid-configuration"
        response = self.send(url, parent=parent)
        if response.status_code != 200:
            raise AuthenticationError(
                f"OIDC discovery failed: {url} answered HTTP {response.status_code}; is {self.issuer!r} an issuer?",
                status=response.status_code,
                url=url,
            )
        try:
            metadata = response.json()
        except ValueError:
            raise AuthenticationError(f"OIDC discovery failed: {url} did not return JSON", url=url) from None
        if not isinstance(metadata, dict):
            raise AuthenticationError(f"OIDC discovery failed: {url} did not return a JSON object", url=url)
        missing = [key for key in ("device_authorization_endpoint", "token_endpoint") if not metadata.get(key)]
        if missing:
            raise AuthenticationError(
                f"the identity provider {self.issuer!r} does not support the device login: "
                f"its discovery document lacks {', '.join(missing)}",
                url=url,
            )
        if str(metadata.get("issuer", self.issuer)).rstrip("/") != self.issuer:
            raise AuthenticationError(
                f"OIDC discovery at {url} names issuer {metadata.get('issuer')!r}, not {self.issuer!r}", url=url
            )
        self._metadata = metadata
        return metadata

    # grants -----------------------------------------------------------------------------------------
    def refresh(self, tokens: TokenSet) -> TokenSet:
        """Exchange the refresh token of ``tokens`` for new tokens (RFC 6749 section 6).

        Returns
        -------
        TokenSet
            The new tokens; the old refresh/ID token is kept when the provider sends none.

        Raises
        ------
        RefreshRefusedError
            The provider refused the refresh token (``invalid_grant``/``invalid_client``).
        AuthenticationError, IdentityProviderUnreachableError
            Any other failure.
        """
        if not tokens.refresh_token:
            raise RefreshRefusedError("there is no refresh token to refresh with")
        status, body = self.post_form(
            self.metadata()["token_endpoint"],
            {"grant_type": "refresh_token", "refresh_token": Secret(tokens.refresh_token),
             "client_id": self.client_id},
        )
        if status == 200 and "access_token" in body:
            new = TokenSet.from_token_response(body)
            if new.refresh_token is None:  # providers that do not rotate keep the old one valid
                new.refresh_token = tokens.refresh_token
            if new.id_token is None:
                new.id_token = tokens.id_token
            return new
        if status in (400, 401) and body.get("error") in ("invalid_grant", "invalid_client"):
            raise RefreshRefusedError(
                f"the identity provider {self.issuer!r} refused the refresh token: {oauth_error_text(body)}",
                status=status,
            )
        raise AuthenticationError(
            f"refreshing the access token at {self.issuer!r} failed: HTTP {status} {oauth_error_text(body)}",
            status=status,
        )

    def end_session(self, refresh_token: str) -> None:
        """Tell the provider the session is over: revocation (RFC 7009), else the end-session endpoint.

        Does nothing when the provider advertises neither.
        """
        metadata = self.metadata()
        if metadata.get("revocation_endpoint"):
            self.post_form(
                metadata["revocation_endpoint"],
                {"token": Secret(refresh_token), "token_type_hint": "refresh_token", "client_id": self.client_id},
            )
        elif metadata.get("end_session_endpoint"):
            self.post_form(
                metadata["end_session_endpoint"],
                {"refresh_token": Secret(refresh_token), "client_id": self.client_id},
            )


def _json_object(response: BufferedResponse) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def oauth_error_text(body: dict[str, Any]) -> str:
    """``error: description`` from an OAuth error body (RFC 6749 section 5.2), redacted and shortened."""
    error = redact(str(body.get("error") or "unknown error")[:100])
    description = redact(str(body.get("error_description") or "")[:300])
    return f"{error}: {description}" if description else error


def _reason(exc: Exception, where: str) -> str:
    """The transport's reason without the URL it already names (``could not reach <url>: <reason>``)."""
    text = str(exc)
    prefix = f"could not reach {where}: "
    return text[len(prefix):] if text.startswith(prefix) else text
