"""The one "serve in a thread and wait until it answers" helper, and secrets kept out of repr/str."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
from fastapi import FastAPI

from tests.conftest import free_port
from worldcereal_explorer.server import serve_in_thread
from worldcereal_explorer.server.access import UrlSigner
from worldcereal_explorer.server.idp import LocalIdentityProvider, serve_idp_in_thread
from worldcereal_explorer.server.net import RunningServer, start_uvicorn_in_thread, wait_until_answering


def _tiny_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ready")
    def ready() -> dict:
        return {"ok": True}

    return app


def test_start_uvicorn_in_thread_serves_on_loopback_and_stops():
    with start_uvicorn_in_thread(_tiny_app(), ready_path="/ready") as server:
        assert isinstance(server, RunningServer) and server.running
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert requests.get(f"{server.url}/ready", timeout=10).json() == {"ok": True}
        assert repr(server) == f"RunningServer(url={server.url!r})"
    assert not server.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/ready", timeout=2)
    server.stop()  # idempotent


def test_wait_until_answering_counts_any_status_and_stops_early_for_a_dead_server():
    with start_uvicorn_in_thread(_tiny_app(), ready_path="/ready") as server:
        assert wait_until_answering(f"{server.url}/nothing", timeout_s=5) == 404
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="stopped before answering"):
        wait_until_answering(f"http://127.0.0.1:{free_port()}/", timeout_s=30, alive=lambda: False)
    assert time.monotonic() - started < 5
    with pytest.raises(RuntimeError, match="did not answer within 0.3 s"):
        wait_until_answering(f"http://127.0.0.1:{free_port()}/", timeout_s=0.3)


def test_wait_until_answering_waits_for_a_late_server():
    port = free_port()
    holder: dict = {}

    def start_later() -> None:
        time.sleep(0.3)  # the server comes up a moment after the wait began
        from worldcereal_explorer.server.net import bind_loopback

        holder["server"] = start_uvicorn_in_thread(_tiny_app(), sock=bind_loopback(port), ready_path="/ready")

    thread = threading.Thread(target=start_later)
    thread.start()
    try:
        assert wait_until_answering(f"http://127.0.0.1:{port}/ready", timeout_s=30) == 200
    finally:
        thread.join(30)
        holder["server"].stop()


def test_public_server_names_still_work(demo_catalog):
    from worldcereal_explorer.server import LocalServer

    with serve_in_thread(demo_catalog) as server, serve_idp_in_thread() as idp:
        assert isinstance(server, LocalServer) and isinstance(server, RunningServer)
        assert isinstance(idp, LocalIdentityProvider)
        assert repr(server) == f"LocalServer(url={server.url!r})"
        discovery = requests.get(f"{idp.issuer}/.well-known/openid-configuration", timeout=10).json()
        assert discovery["issuer"] == idp.issuer
        assert server.app.state.stats.snapshot()["requests"] >= 1
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{idp.issuer}/jwks", timeout=2)


def test_sessions_grants_and_signers_keep_secrets_out_of_repr():
    idp = LocalIdentityProvider(poll_interval_s=0)
    idp.issuer = "http://127.0.0.1:1"  # issuing tokens needs an issuer, not a running server
    tokens = idp.issue_tokens("someone", groups=["g"])
    [session] = idp.sessions()
    grant_reply = idp.device_authorization({"client_id": idp.client_id, "code_challenge": "x" * 43,
                                            "code_challenge_method": "S256"})
    [grant] = idp.device_grants()
    shown = " ".join([repr(session), str(session), repr(grant), str(grant), repr(idp), str(idp)])
    for secret in (tokens["refresh_token"], tokens["access_token"], grant_reply["device_code"], "x" * 43):
        assert secret not in shown
    assert "someone" in repr(session)  # the rest stays useful for debugging
    signer = UrlSigner(b"very-secret-key")
    assert "very-secret-key" not in repr(signer) and "very-secret-key" not in str(signer)


def test_demo_command_reports_a_dashboard_server_that_died(demo_catalog):
    """``worldcereal-explorer demo`` stops at once, saying so, when Voila exits instead of serving (here: its
    port is taken), rather than waiting out its start-up timeout."""
    from worldcereal_explorer.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy_port = taken.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(RuntimeError, match=r"the process serving .* exited with code [1-9]"):
            main(["demo", "--catalog", str(demo_catalog), "--voila-port", str(busy_port),
                  "--idp-port", str(free_port())])
    assert time.monotonic() - started < 100  # the start-up timeout is 120 s
