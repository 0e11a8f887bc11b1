"""Helpers shared by the auth tests (imported by tests and by ``conftest.py``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

#: Fast polling for tests (RFC 8628 uses whole seconds; the local provider accepts fractions).
FAST_POLL_S = 0.05


def wait_for(predicate: Callable[[], object], timeout_s: float = 30.0, what: str = "condition"):
    """Wait until ``predicate()`` is truthy (checked every 10 ms) and return its value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)


class Approver:
    """Approves (or denies / expires) the next device login on a thread, like a person in a browser."""

    def __init__(self, idp, action: str = "approve", **identity):
        self.idp = idp
        self.action = action
        self.identity = identity
        self.user_code: str | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.user_code = self.idp.wait_for_user_code(timeout_s=30)
            if self.action == "approve":
                self.idp.approve(self.user_code, **self.identity)
            elif self.action == "deny":
                self.idp.deny(self.user_code)
            elif self.action == "expire":
                self.idp.expire(self.user_code)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def join(self) -> str:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "approver thread did not finish"
        if self.error is not None:
            raise self.error
        assert self.user_code is not None
        return self.user_code


def session_tokens(auth):
    """The tokens of ``auth``'s session, read where a user can read them: its token cache (the session must
    have been started with a cache, which every login stores its tokens in)."""
    assert auth.cache is not None, "the auth object keeps no cache: its tokens cannot be read publicly"
    tokens = auth.cache.load(auth.cache_key)
    assert tokens is not None, "the auth object holds no session"
    return tokens


def collections_by_access(catalog_dir: Path) -> dict[str, dict]:
    """``{collection_id: {"accessType", "owner", "groups"}}`` read from the catalogue folder."""
    out = {}
    for folder in sorted(p for p in Path(catalog_dir).iterdir() if p.is_dir()):
        api_file = folder / "collection.json"
        if not api_file.exists():
            continue
        api = json.loads(api_file.read_text())
        access_file = folder / "access.json"
        access = json.loads(access_file.read_text()) if access_file.exists() else {}
        out[api.get("collectionId", folder.name)] = {
            "accessType": api.get("accessType", "Public"),
            "owner": access.get("owner"),
            "groups": list(access.get("groups") or []),
        }
    return out


def assert_no_secret(secrets: Iterable[str | None], *texts: object, where: str = "output") -> None:
    """Fail if any secret (token) appears in any of ``texts`` (each converted with ``str``)."""
    secrets = [s for s in secrets if s]
    assert secrets, "no secrets to look for: the test is not checking anything"
    for text in texts:
        blob = str(text)
        for secret in secrets:
            # Also look for a long piece of it: a truncated token is still a leak.
            assert secret not in blob and secret[-40:] not in blob, f"a token leaked into {where}"
