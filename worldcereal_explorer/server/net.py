"""Listening sockets for the local servers (RDM stand-in and identity provider)."""

from __future__ import annotations

import socket

from ..errors import BadParameterError

LOOPBACK = "127.0.0.1"


def bind_loopback(port: int = 0, *, backlog: int = 128) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (``port=0``: a free port), ready to hand to uvicorn.

    The socket is created with ``IPPROTO_TCP`` explicitly: asyncio only enables ``TCP_NODELAY`` on
    sockets whose protocol says TCP, and without it every response on a kept-alive connection waits
    ~40 ms for Nagle/delayed-ACK (measured: 43 ms vs 1.4 ms per request).

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
