"""WorldCereal's own class schemes, by name: ``LANDCOVER10``, ``CROPTYPE28``, ``CROPTYPE24`` ...

The schemes are the classes WorldCereal trains its models on. They live in one JSON file,
``class_mappings.json`` (an object of schemes, each ``{"<ewoc_code>": "<class>"}``), which the reference
package keeps at ``worldcereal/data/croptype_mappings/class_mappings.json``. The class name ``ignore``
(:data:`IGNORE`) means: leave the sample out of training.

Sources, chosen with ``source=``:

* ``None`` (default): the copy this package ships (``worldcereal_explorer/data/class_mappings.json``, MIT,
  see ``class_mappings.LICENSE`` and ``PROVENANCE.md``), so a scheme name means the same classes on every
  machine with the same package version;
* ``"worldcereal"``: the copy of an installed ``worldcereal`` package (newer, when that package is newer);
* a path to a JSON file of the same shape, or an ``http(s)://`` URL of one (read through the package's HTTP
  layer).

A scheme names each code it means exactly (the schemes list every legend code they classify, ``ignore``
included), so :func:`~worldcereal_explorer.training.map_classes` looks scheme codes up exactly, not through
their legend ancestors as it does for hand-written mappings.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import BadParameterError, WorldCerealExplorerError
from .mapping_files import load_mapping

__all__ = [
    "IGNORE",
    "PACKAGED_SOURCE",
    "WORLDCEREAL_SOURCE",
    "ClassScheme",
    "class_scheme",
    "class_schemes",
    "scheme_grouping",
    "scheme_names",
]

#: The class name that leaves a sample out of the training set.
IGNORE = "ignore"
#: ``source`` value of the copy shipped with this package (the default).
PACKAGED_SOURCE = "packaged"
#: ``source`` value of the copy inside an installed ``worldcereal`` package.
WORLDCEREAL_SOURCE = "worldcereal"
_WORLDCEREAL_PACKAGE = "worldcereal.data.croptype_mappings"
_FILE_NAME = "class_mappings.json"
#: Seconds a URL read may take in total (the file is ~120 kB).
_URL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ClassScheme:
    """One named class scheme.

    Attributes
    ----------
    name
        The scheme's name (``"CROPTYPE24"``).
    mapping
        ``{ewoc_code: class}``, ``ignore`` entries included.
    source
        Where the file came from (``"packaged"``, ``"worldcereal <version>"``, a path or a URL).
    sha256
        SHA-256 of the file's bytes, so a training set can say which copy made its classes.
    """

    name: str
    mapping: Mapping[int, str] = field(repr=False)
    source: str = PACKAGED_SOURCE
    sha256: str = ""

    @property
    def classes(self) -> list[str]:
        """The scheme's classes, sorted, without ``ignore``."""
        return sorted({c for c in self.mapping.values() if c != IGNORE})

    @property
    def ignored_codes(self) -> list[int]:
        """The codes the scheme leaves out (class ``ignore``), sorted."""
        return sorted(c for c, name in self.mapping.items() if name == IGNORE)

    def __len__(self) -> int:
        return len(self.mapping)


_cache_lock = threading.Lock()
_cache: dict[str, tuple[dict[str, dict[int, str]], str, str]] = {}


def _read_source(source: str | os.PathLike | None) -> tuple[bytes, str]:
    """The file's bytes and a description of where they came from."""
    if source is None or source == PACKAGED_SOURCE:
        return (resources.files("worldcereal_explorer") / "data" / _FILE_NAME).read_bytes(), PACKAGED_SOURCE
    if source == WORLDCEREAL_SOURCE:
        try:
            data = (resources.files(_WORLDCEREAL_PACKAGE) / _FILE_NAME).read_bytes()
        except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError) as exc:
            raise BadParameterError(
                f"class scheme source {source!r}: no installed worldcereal package with "
                f"{_WORLDCEREAL_PACKAGE.replace('.', '/')}/{_FILE_NAME} ({type(exc).__name__}); allowed: "
                f"None (the packaged copy), {WORLDCEREAL_SOURCE!r} with worldcereal installed, a JSON file or an "
                "http(s) URL"
            ) from None
        try:
            from importlib.metadata import version

            where = f"worldcereal {version('worldcereal')}"
        except Exception:  # a package without distribution metadata (an editable checkout) still has the file
            where = "worldcereal"
        return data, where
    text = str(source)
    if text.startswith(("http://", "https://")):
        return _read_url(text), text
    path = Path(source)
    if not path.is_file():
        raise BadParameterError(
            f"class scheme source {text!r} is neither an existing file nor an http(s) URL; allowed: None (the "
            f"packaged copy), {WORLDCEREAL_SOURCE!r}, a path to a class_mappings.json file or an http(s) URL"
        )
    return path.read_bytes(), str(path)


def _read_url(url: str) -> bytes:
    from ..transport.http import HttpPolicy, HttpTransport, redact

    transport = HttpTransport(HttpPolicy(connect_timeout=5.0, read_timeout=_URL_TIMEOUT_S, retries=2))
    try:
        response = transport.request(url, scope=transport.scope("class schemes download",
                                                                deadline_s=2 * _URL_TIMEOUT_S))
    except WorldCerealExplorerError as exc:
        raise BadParameterError(f"class scheme source {redact(url)!r} could not be read: {exc}") from None
    finally:
        transport.close()
    if not response.ok:
        raise BadParameterError(f"class scheme source {redact(url)!r} answered HTTP {response.status_code}")
    return response.content


def _parse(data: bytes, where: str) -> dict[str, dict[int, str]]:
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadParameterError(f"class scheme source {where!r} is not JSON: {exc}") from None
    if not isinstance(raw, dict) or not raw or not all(isinstance(v, dict) for v in raw.values()):
        raise BadParameterError(
            f"class scheme source {where!r} must hold an object of schemes, each an object "
            '{"<ewoc_code>": "<class>"} (as worldcereal\'s class_mappings.json)'
        )
    # load_mapping validates every code and class name, naming the scheme in its messages.
    return {str(name): load_mapping(entries, where=f"scheme {name!r} of {where}") for name, entries in raw.items()}


def _load(source: str | os.PathLike | None) -> tuple[dict[str, dict[int, str]], str, str]:
    key = PACKAGED_SOURCE if source is None else str(source)
    # Only the packaged copy is fixed for the process; an installed worldcereal, a file or a URL may change.
    cacheable = key == PACKAGED_SOURCE
    with _cache_lock:
        if cacheable and key in _cache:
            return _cache[key]
    data, where = _read_source(source)
    loaded = (_parse(data, where), where, hashlib.sha256(data).hexdigest())
    if cacheable:
        with _cache_lock:
            _cache[key] = loaded
    return loaded


def class_schemes(source: str | os.PathLike | None = None) -> dict[str, ClassScheme]:
    """Every class scheme of a ``class_mappings.json``, by name.

    Parameters
    ----------
    source
        ``None``: the copy shipped with this package; ``"worldcereal"``: the copy of an installed
        ``worldcereal`` package; a path to a JSON file; an ``http(s)://`` URL.

    Returns
    -------
    dict
        ``{name: ClassScheme}`` in the file's order.

    Raises
    ------
    BadParameterError
        When the source cannot be read (the message names it and the allowed sources), is not JSON of that
        shape, or holds a code that is not an ewoc code or an empty class name.
    """
    schemes, where, digest = _load(source)
    return {name: ClassScheme(name, dict(mapping), where, digest) for name, mapping in schemes.items()}


def scheme_names(source: str | os.PathLike | None = None) -> list[str]:
    """The scheme names of ``source`` (see :func:`class_schemes`), in the file's order."""
    return list(_load(source)[0])


def class_scheme(name: str, source: str | os.PathLike | None = None) -> ClassScheme:
    """One scheme by name (``"CROPTYPE24"``; case does not matter).

    Parameters
    ----------
    name
        The scheme's name.
    source
        Where the schemes come from (see :func:`class_schemes`).

    Returns
    -------
    ClassScheme

    Raises
    ------
    BadParameterError
        For an unknown name (the message names it and lists the allowed ones) or an unreadable source.
    """
    schemes = class_schemes(source)
    text = str(name).strip()
    found = schemes.get(text) or next((s for n, s in schemes.items() if n.upper() == text.upper()), None)
    if found is None:
        raise BadParameterError(f"class scheme {name!r} is not known; allowed: {', '.join(schemes)}")
    return found


def scheme_grouping(name: str, codes: Iterable[Any] | None = None, *,
                    source: str | os.PathLike | None = None) -> dict[int, str]:
    """A scheme as the crop picker's grouping input: ``{ewoc_code: class}`` without the ``ignore`` codes.

    That is the shape of :attr:`RdmQueryState.grouping <worldcereal_explorer.state.RdmQueryState>` (and of the
    drop-in picker's ``CropTypeSelection.labels``): to seed the dashboard's picker with a scheme, select the
    codes and group them by class::

        grouping = scheme_grouping("CROPTYPE24", codes=state.class_counts.index.get_level_values(0))
        state.ewoc_codes, state.grouping = sorted(grouping), grouping

    Parameters
    ----------
    name
        The scheme's name (see :func:`class_scheme`).
    codes
        Only these codes (for instance those of the collections found); codes the scheme does not name are left
        out. ``None``: every code the scheme classes.
    source
        Where the schemes come from (see :func:`class_schemes`).

    Returns
    -------
    dict
        ``{int code: class}``, sorted by code.
    """
    mapping = class_scheme(name, source).mapping
    wanted = mapping.keys() if codes is None else {int(c) for c in codes}
    return {c: mapping[c] for c in sorted(wanted) if c in mapping and mapping[c] != IGNORE}
