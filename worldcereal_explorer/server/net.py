"""Loopback sockets and "start a local server in a thread and wait until it answers" (one helper for all).

The RDM stand-in (:func:`~worldcereal_explorer.server.app.serve_in_thread`), the identity provider
(:func:`~worldcereal_explorer.server.idp.serve_idp_in_thread`) and the CLI (waiting for Voilà) all start
or wait for a local HTTP server; they share :func:`start_uvicorn_in_thread` and :func:`wait_until_answering`
so that there is one polling loop, one timeout rule and one error message.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from ..errors import BadParameterError

__all__ = ["LOOPBACK", "bind_loopback", "wait_until_answering", "start_uvicorn_in_thread", "RunningServer"]

LOOPBACK = "127.0.0.1"
#: Pause between two readiness probes: short, because a local server usually answers within milliseconds.
_POLL_S = 0.02


def bind_loopback(port: int = 0, *, backlog: int = 128) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (``port=0``: a free port), ready to hand to uvicorn.

    The socket is created with ``IPPROTO_TCP`` explicitly: asyncio only enables ``TCP_NODELAY`` on
    sockets whose protocol says TCP, and without it every response on a kept-alive connection waits
    ~40 ms for Nagle/delayed-ACK (measured: 43 ms vs 1.4 ms per request).

    Parameters
    ----------
    port
        TCP port; 0 picks a free one.
    backlog
        Listen queue length.

    Returns
    -------
    socket.socket
        The bound, listening socket (inheritable, so a child process could serve it).

    Raises
    ------
    BadParameterError
        When the port cannot be bound (in use, or not allowed).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        raise BadParameterError(f"cannot listen on {LOOPBACK}:{port}: {exc}") from None
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def wait_until_answering(
    url: str,
    *,
    timeout_s: float = 30.0,
    alive: Callable[[], bool] | None = None,
    poll_s: float = _POLL_S,
    what: str = "the local server",
) -> int:
    """Poll ``url`` until an HTTP answer comes back (any status), the server dies, or time runs out.

    Any HTTP status counts as "answering": the question is whether the server is up, not whether
    this URL is happy (a 404 or 503 still proves the process serves HTTP).

    Parameters
    ----------
    url
        The URL to GET.
    timeout_s
        Give up after this many seconds.
    alive
        Called before every probe; returning False stops the wait at once (a thread or process that
        exited will never answer, so there is no point waiting out the timeout).
    poll_s
        Pause between probes.
    what
        How error messages name the server.

    Returns
    -------
    int
        The HTTP status of the first answer.

    Raises
    ------
    RuntimeError
        When ``alive()`` turns False or nothing answered within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while True:
        if alive is not None and not alive():
            raise RuntimeError(f"{what} stopped before answering at {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:  # an HTTP error status is still an answer
            exc.close()  # it holds the response's socket: left to the garbage collector, a ResourceWarning
            return int(exc.code)
        except OSError as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise RuntimeError(f"{what} at {url} did not answer within {timeout_s:g} s: {last_error}")
        time.sleep(poll_s)


class RunningServer:
    """A uvicorn server running in a daemon thread on 127.0.0.1 (see :func:`start_uvicorn_in_thread`).

    Attributes
    ----------
    app
        The ASGI app being served.
    port, url
        Where it listens (``url`` is ``http://127.0.0.1:<port>``, no trailing slash).
    """

    def __init__(self, app: Any, server: Any, thread: threading.Thread, sock: socket.socket) -> None:
        self.app = app
        self.port: int = sock.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._server = server
        self._thread = thread
        self._socket = sock

    @property
    def running(self) -> bool:
        """True while the serving thread is alive."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to exit, wait for its thread and close the socket (idempotent)."""
        self._server.should_exit = True
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r})"


def start_uvicorn_in_thread(
    app: Any,
    *,
    port: int = 0,
    sock: socket.socket | None = None,
    ready_path: str = "/",
    timeout_s: float = 30.0,
    name: str = "local-server",
    server_class: type[RunningServer] = RunningServer,
) -> RunningServer:
    """Serve ``app`` with uvicorn on 127.0.0.1 in a daemon thread; return once ``ready_path`` answers.

    Parameters
    ----------
    app
        An ASGI app.
    port
        TCP port when ``sock`` is not given; 0 picks a free one.
    sock
        An already bound listening socket (from :func:`bind_loopback`), for callers that must know
        the port before the app exists (their URLs name it). The returned server owns it.
    ready_path
        Path probed until it answers (any HTTP status).
    timeout_s
        How long to wait for the first answer.
    name
        Thread name prefix (the port is appended).
    server_class
        :class:`RunningServer` or a subclass to return.

    Returns
    -------
    RunningServer
        With ``.url``, ``.port``, ``.app`` and ``.stop()``; also a context manager.

    Raises
    ------
    RuntimeError
        When the server thread exits or does not answer within ``timeout_s`` (it is stopped first).
    BadParameterError
        When the port cannot be bound.
    """
    import uvicorn

    if sock is None:
        sock = bind_loopback(port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    bound_port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"{name}-{bound_port}",
                              daemon=True)
    thread.start()
    running = server_class(app, server, thread, sock)
    try:
        wait_until_answering(running.url + ready_path, timeout_s=timeout_s, alive=thread.is_alive,
                             what=f"{name} thread")
    except BaseException:
        running.stop()
        raise
    return running
