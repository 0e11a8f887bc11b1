"""No dataclass or object of the package shows a token, header value or secret in ``repr``/``str``."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pickle
import pkgutil
import re

import pytest

import worldcereal_explorer
from worldcereal_explorer.rdm.http import HttpPolicy, HttpTransport, Secret, redact

SECRETISH = re.compile(r"token|secret|password|authorization|header|signature|sig$|key$|verifier|credential", re.I)
OPTIONAL_EXTRAS = ("dask", "distributed", "dask_geopandas", "fastapi", "uvicorn", "voila")


def package_modules():
    for info in pkgutil.walk_packages(worldcereal_explorer.__path__, "worldcereal_explorer."):
        if info.name.endswith("__main__"):
            continue
        try:
            yield importlib.import_module(info.name)
        except ImportError as exc:  # an optional extra that is not installed
            if not any(extra in str(exc) for extra in OPTIONAL_EXTRAS):
                raise


def package_dataclasses():
    seen = set()
    for module in package_modules():
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if dataclasses.is_dataclass(obj) and obj.__module__.startswith("worldcereal_explorer") and obj not in seen:
                seen.add(obj)
                yield obj


def test_the_package_has_dataclasses_to_check():
    assert len(list(package_dataclasses())) >= 10


@pytest.mark.parametrize("cls", list(package_dataclasses()), ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_secret_fields_are_hidden_from_the_generated_repr(cls):
    """A field whose name says it holds a secret is left out of the generated repr, or the class has its own."""
    own_repr = "__repr__" in cls.__dict__ and getattr(cls.__repr__, "__wrapped__", None) is None and not (
        cls.__repr__.__qualname__.endswith("__create_fn__.<locals>.__repr__")
    )
    for field in dataclasses.fields(cls):
        if SECRETISH.search(field.name) and field.repr and not field.name.endswith(("_hosts", "_methods")):
            shown_type = str(field.type)
            if "Secret" in shown_type or "bool" in shown_type or shown_type == "int":
                continue  # a Secret shows <hidden>; a flag or a count is no secret
            assert own_repr and cls.__repr__ is not object.__repr__, (
                f"{cls.__qualname__}.{field.name} would appear in repr(); use field(repr=False) or Secret"
            )


def test_secret_and_transport_never_show_the_token():
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    secret = Secret(token)
    transport = HttpTransport(HttpPolicy(), token=lambda: token, token_hosts=frozenset({"rdm.example"}))
    for obj in (secret, transport, transport.policy):
        assert token not in repr(obj) and token not in str(obj)
    assert token not in repr(pickle.loads(pickle.dumps(transport)))  # the pickled copy has no token at all
    assert pickle.loads(pickle.dumps(transport)).token is None
    assert pickle.loads(pickle.dumps(secret)).value == token  # a Dask worker still gets it


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("GET https://h/x.parquet?expires=1&sig=abc123 failed", "abc123"),
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("{'refresh_token': 'rt-123456'}", "rt-123456"),
        ("https://blob.core.windows.net/c/f?sv=2020&sig=AzureSig%3D&se=1", "AzureSig"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig-part", "eyJzdWIiOiJ4In0"),
        ("X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA", "deadbeef"),
    ],
)
def test_redact_removes_credentials(text, leak):
    assert leak not in redact(text)
