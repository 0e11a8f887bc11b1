"""A local OpenID Connect provider on loopback, for the demo and the tests.

It implements just enough of an OIDC provider for the WorldCereal explorer to log in the way it logs in
to the Copernicus Data Space identity provider:

* discovery (``/.well-known/openid-configuration``) and JWKS (an RS256 key pair generated at start);
* the OAuth 2.0 device authorization grant (RFC 8628) with PKCE S256 (RFC 7636), including the
  ``authorization_pending``, ``slow_down``, ``access_denied`` and ``expired_token`` answers;
* the refresh-token grant (refresh tokens rotate: each one can be used once);
* signed JWT access and ID tokens with ``iss``, ``sub``, ``aud`` (= the client id), ``azp``, ``exp``,
  ``iat``, ``groups`` (consortium membership) and ``preferred_username``;
* userinfo, token revocation (RFC 7009) and an end-session (logout) endpoint;
* a verification page ``/device`` where a person approves or denies a pending user code in a browser,
  and :meth:`LocalIdentityProvider.approve` / :meth:`~LocalIdentityProvider.deny` for tests and the demo.

The state machine (device codes, sessions, tokens) is :class:`~worldcereal_explorer.server.idp_core.IdentityProviderCore`;
this module adds the HTTP endpoints, the pages and the serving.

.. warning::
   Anyone who can reach the port can approve a code as any user: this provider exists to exercise the
   real login code paths on one machine. It binds to 127.0.0.1 only and keeps everything in memory.

Example
-------
>>> from worldcereal_explorer.server.idp import serve_idp_in_thread
>>> with serve_idp_in_thread(access_token_lifetime_s=60) as idp:     # doctest: +SKIP
...     print(idp.issuer)                                               # http://127.0.0.1:<port>
...     user_code = idp.wait_for_user_code(timeout_s=30)                # a client started the device flow
...     idp.approve(user_code, sub="demo-user", groups=["worldcereal-consortium"])
"""


from __future__ import annotations

import html
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..errors import BadParameterError
from .idp_core import IdentityProviderCore
from .idp_model import (
    DEMO_IDENTITY,
    DEVICE_CODE_GRANT,
    KNOWN_IDENTITIES,
    SLOW_DOWN_INCREMENT_S,
    Identity,
    OAuthError,
    ProviderStats,
)
from .net import LOOPBACK, RunningServer, bind_loopback, start_uvicorn_in_thread

log = logging.getLogger(__name__)

__all__ = [
    "DEMO_IDENTITY",
    "DEVICE_CODE_GRANT",
    "SLOW_DOWN_INCREMENT_S",
    "Identity",
    "LocalIdentityProvider",
    "ProviderStats",
    "serve_idp_in_thread",
]


class LocalIdentityProvider(IdentityProviderCore):
    """An in-memory OIDC provider (device flow, refresh, JWKS) served by FastAPI on 127.0.0.1.

    Keyword arguments are those of :class:`~worldcereal_explorer.server.idp_core.IdentityProviderCore`
    (client id, token lifetimes, poll interval, forced ``slow_down`` answers, PKCE, default identity).
    ``.app`` is the FastAPI app; :meth:`start` serves it and sets ``.issuer`` and ``.port``.
    """

    def __init__(self, **core_kwargs: Any) -> None:
        super().__init__(**core_kwargs)
        self._running: RunningServer | None = None
        self.app = self._build_app()

    def discovery_document(self) -> dict[str, Any]:
        """The OpenID Provider metadata served at ``/.well-known/openid-configuration``."""
        issuer = self._require_issuer()
        return {
            "issuer": issuer,
            "device_authorization_endpoint": f"{issuer}/device_authorization",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "revocation_endpoint": f"{issuer}/revoke",
            "end_session_endpoint": f"{issuer}/logout",
            "grant_types_supported": [DEVICE_CODE_GRANT, "refresh_token"],
            "response_types_supported": ["token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": ["iss", "sub", "aud", "azp", "exp", "iat", "name", "preferred_username", "groups"],
        }

    # ------------------------------------------------------------------ FastAPI app

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="worldcereal-explorer local identity provider", docs_url=None, redoc_url=None)
        idp = self

        def oauth_error(exc: OAuthError) -> JSONResponse:
            headers = {"Cache-Control": "no-store"}
            if exc.status == 401:
                headers["WWW-Authenticate"] = f'Bearer error="{exc.error}"'
            return JSONResponse(
                {"error": exc.error, "error_description": exc.description}, status_code=exc.status, headers=headers
            )

        async def form_of(request: Request) -> dict[str, str]:
            form = await request.form()
            return {key: str(value) for key, value in form.items()}

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return idp.discovery_document()

        @app.get("/jwks")
        def jwks():
            return idp.jwks()

        @app.post("/device_authorization")
        async def device_authorization(request: Request):
            try:
                body = idp.device_authorization(await form_of(request))
            except OAuthError as exc:
                return oauth_error(exc)
            return JSONResponse(body, headers={"Cache-Control": "no-store"})

        @app.post("/token")
        async def token(request: Request):
            form = await form_of(request)
            grant_type = form.get("grant_type")
            try:
                if grant_type == DEVICE_CODE_GRANT:
                    body = idp.device_code_grant(form)
                elif grant_type == "refresh_token":
                    body = idp.refresh_grant(form)
                else:
                    raise OAuthError(
                        "unsupported_grant_type",
                        f"grant_type {grant_type!r} is not supported; use {DEVICE_CODE_GRANT} or refresh_token",
                    )
            except OAuthError as exc:
                return oauth_error(exc)
            return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

        @app.api_route("/userinfo", methods=["GET", "POST"])
        def userinfo(request: Request):
            idp.stats.userinfo_requests += 1
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            try:
                if scheme.lower() != "bearer" or not value:
                    raise OAuthError("invalid_token", "send the access token as a Bearer token", status=401)
                claims = idp.verify_own_token(value.strip())
            except OAuthError as exc:
                return oauth_error(exc)
            keep = ("sub", "name", "preferred_username", "groups")
            return {key: claims[key] for key in keep if key in claims}

        @app.post("/revoke")
        async def revoke(request: Request):
            form = await form_of(request)
            # RFC 7009 section 2.2: answer 200 whether or not the token was known.
            if idp.end_session_for_refresh_token(form.get("token", "")):
                idp.stats.revocations += 1
            return Response(status_code=200)

        @app.api_route("/logout", methods=["GET", "POST"])
        async def logout(request: Request):
            params = dict(request.query_params)
            if request.method == "POST":
                params.update(await form_of(request))
            ended = False
            if params.get("refresh_token"):
                ended = idp.end_session_for_refresh_token(params["refresh_token"])
            hint = params.get("id_token_hint")
            if hint:
                try:
                    sid = idp.verify_own_token(hint).get("sid")
                except OAuthError:
                    sid = None
                if sid:
                    idp.end_session_by_sid(sid)
                    ended = True
            if ended:
                idp.stats.end_sessions += 1
            return HTMLResponse(_page("Logged out", "<p>You are logged out of the local identity provider.</p>"))

        @app.get("/device")
        def device_page(user_code: str = ""):
            return HTMLResponse(idp._verification_page(user_code))

        @app.post("/device")
        async def device_decision(request: Request):
            form = await form_of(request)
            code = form.get("user_code", "")
            decision = form.get("decision", "")
            try:
                if decision == "approve":
                    known = form.get("known_user", "")
                    if known:
                        if known not in KNOWN_IDENTITIES:
                            raise BadParameterError(
                                f"unknown user {known!r}; known: {', '.join(KNOWN_IDENTITIES)} (or leave it empty)")
                        identity = KNOWN_IDENTITIES[known]
                        idp.approve(code, identity.sub, groups=identity.groups, name=identity.name,
                                    preferred_username=identity.preferred_username)
                    else:
                        groups = [g.strip() for g in form.get("groups", "").split(",") if g.strip()]
                        idp.approve(
                            code,
                            form.get("sub") or idp.default_identity.sub,
                            groups=groups,
                            name=form.get("name") or None,
                            preferred_username=form.get("preferred_username") or None,
                        )
                    body = "<p id='result'>Login approved. You can close this tab and return to the application.</p>"
                elif decision == "deny":
                    idp.deny(code)
                    body = "<p id='result'>Login denied.</p>"
                else:
                    body = f"<p id='result'>Unknown decision {html.escape(decision)!r}.</p>"
            except BadParameterError as exc:
                return HTMLResponse(_page("Device login", f"<p id='result'>{html.escape(str(exc))}</p>"), 400)
            return HTMLResponse(_page("Device login", body))

        return app

    def _verification_page(self, user_code: str) -> str:
        ident = self.default_identity
        code = html.escape(user_code)
        known = "".join(
            f"\n     <option value=\"{html.escape(sub, quote=True)}\">{html.escape(identity.name or sub)} "
            f"({html.escape(sub)}{', ' if identity.groups else ''}{html.escape(', '.join(identity.groups))})</option>"
            for sub, identity in KNOWN_IDENTITIES.items())
        form = f"""
<form method="post" action="device">
  <p><label>User code <input id="user_code" name="user_code" value="{code}" autocomplete="off"></label></p>
  <p><label>Log in as <select id="known_user" name="known_user">
     <option value="" selected>the user in the fields below</option>{known}
  </select></label></p>
  <p><label>Log in as (sub) <input id="sub" name="sub" value="{html.escape(ident.sub)}"></label></p>
  <p><label>Name <input id="name" name="name" value="{html.escape(ident.name or "")}"></label></p>
  <p><label>Groups (comma separated)
     <input id="groups" name="groups" value="{html.escape(",".join(ident.groups))}"></label></p>
  <p><button id="approve" type="submit" name="decision" value="approve">Approve</button>
     <button id="deny" type="submit" name="decision" value="deny">Deny</button></p>
</form>
<p><small>Local test identity provider: anyone on this machine can approve a code as any user.</small></p>"""
        return _page("Device login", form)

    # ------------------------------------------------------------------ serving

    def start(self, port: int = 0, *, timeout_s: float = 30.0) -> LocalIdentityProvider:
        """Serve the provider with uvicorn on ``127.0.0.1:port`` in a daemon thread (0 = a free port).

        Returns once the discovery document answers over HTTP.

        Raises
        ------
        RuntimeError
            When it is already running, or does not answer within ``timeout_s``.
        """
        if self._running is not None:
            raise RuntimeError("the identity provider is already running")
        # Bind first so the issuer URL (which names the port) is known before the first request.
        sock = bind_loopback(port)
        self.port = sock.getsockname()[1]
        self.issuer = f"http://{LOOPBACK}:{self.port}"
        self._running = start_uvicorn_in_thread(self.app, sock=sock, ready_path="/.well-known/openid-configuration",
                                                timeout_s=timeout_s, name="local-idp")
        log.info("local identity provider serving at %s", self.issuer)
        return self

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._running is None:
            return
        self._running.stop()
        self._running = None

    def __enter__(self) -> LocalIdentityProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def serve_idp_in_thread(port: int = 0, **provider_kwargs: Any) -> LocalIdentityProvider:
    """Start a :class:`LocalIdentityProvider` on ``127.0.0.1:port`` in a thread and return it.

    Parameters
    ----------
    port
        TCP port; 0 picks a free one.
    **provider_kwargs
        Passed to :class:`LocalIdentityProvider`.

    Returns
    -------
    LocalIdentityProvider
        With ``.issuer`` (``http://127.0.0.1:<port>``), ``.approve()``, ``.stop()``; also a context manager.
    """
    return LocalIdentityProvider(**provider_kwargs).start(port)
