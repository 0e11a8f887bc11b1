"""The token cache: refresh/access tokens on disk, readable only by the user, written atomically."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from pathlib import Path
from typing import Any

from ...files import atomic_path
from .tokens import TokenSet

__all__ = ["CONFIG_APP_NAME", "TOKEN_CACHE_FILENAME", "TokenCache"]

log = logging.getLogger(__name__)

#: Application name of the user config dir (platformdirs) that holds the token cache.
CONFIG_APP_NAME = "worldcereal-explorer"
TOKEN_CACHE_FILENAME = "oidc-tokens.json"
_CACHE_VERSION = 1


class TokenCache:
    """Refresh/access tokens on disk, one entry per (issuer, client id), readable only by the user.

    The file is written through :func:`worldcereal_explorer.files.atomic_path`: a temporary file next to it
    (created with mode 0600 by :func:`tempfile.mkstemp`, whatever the umask) is renamed over the old one, so
    the cache is never partially written nor, even briefly, readable by others.

    Parameters
    ----------
    path
        The cache file; default ``<user config dir>/worldcereal-explorer/oidc-tokens.json``.

    Examples
    --------
    >>> cache = TokenCache("/tmp/tokens.json")                      # doctest: +SKIP
    >>> cache.store("https://issuer my-client", tokens)            # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str] | None = None):
        if path is None:
            from ...config import resolve_token_cache_path  # argument > env > settings file > config dir

            path = resolve_token_cache_path()
        self.path = Path(path)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenCache(path={str(self.path)!r})"

    def load(self, key: str) -> TokenSet | None:
        """The tokens stored under ``key``, or ``None`` (no entry, or an unreadable file)."""
        with self._lock:
            return TokenSet.from_json(self._read_all().get(key))

    def store(self, key: str, tokens: TokenSet) -> None:
        """Store ``tokens`` under ``key`` (other entries are kept)."""
        with self._lock:
            sessions = self._read_all()
            sessions[key] = tokens.to_json()
            self._write_all(sessions)

    def delete(self, key: str) -> None:
        """Remove the entry ``key``; the file goes when it was the last one."""
        with self._lock:
            sessions = self._read_all()
            if key not in sessions:
                return
            del sessions[key]
            if sessions:
                self._write_all(sessions)
            else:
                self.path.unlink(missing_ok=True)

    def _read_all(self) -> dict[str, Any]:
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return {}
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Someone loosened the permissions: tighten them before trusting the contents.
            log.warning("token cache %s was readable by others; restricting it to mode 0600", self.path)
            os.chmod(self.path, 0o600)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("ignoring unreadable token cache %s", self.path)
            return {}
        sessions = data.get("sessions", {}) if isinstance(data, dict) else {}
        return sessions if isinstance(sessions, dict) else {}

    def _write_all(self, sessions: dict[str, Any]) -> None:
        # The folder is created private first: atomic_path would create it with the umask's permissions.
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with atomic_path(self.path, mode=0o600) as tmp:
            # Open the file mkstemp created (0600) rather than create one, so the umask never applies.
            fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": _CACHE_VERSION, "sessions": sessions}, fh)
                fh.flush()
                os.fsync(fh.fileno())
