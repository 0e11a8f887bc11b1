"""Atomic file writes: the one place the package turns a temporary file into a final one.

Every file the package writes (downloads, exports, legend and token caches, the demo catalogue) is first
written next to its target under a hidden temporary name and then renamed over it, so a reader never sees a
half-written file and a failure (exception, cancel, disk full) leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import BadParameterError

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "gdal_temp_path", "make_parents", "parse_toml"]


def make_parents(path: Path) -> list[Path]:
    """Create the missing parent folders of ``path``; return the ones created (outermost first).

    The caller removes them again when the write fails, so a failed write into new nested folders leaves
    no empty folders behind.
    """
    created: list[Path] = []
    parent = path.parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    created.reverse()
    for folder in created:
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise BadParameterError(f"cannot create folder {str(folder)!r} for {str(path)!r}: {exc.strerror}") from None
    return created


def _remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it to ``path``, on failure remove it.

    Parameters
    ----------
    path
        The final file. Missing parent folders are created (and removed again if the write fails).
    mode
        Permission bits for the final file (for example ``0o600`` for a token cache).

    Raises
    ------
    OSError
        Re-raised from the write with the target path in the message (for example disk full).

    Examples
    --------
    >>> with atomic_path("out.parquet") as tmp:        # doctest: +SKIP
    ...     table.to_parquet(tmp)
    """
    final = Path(path)
    created = make_parents(final)
    tmp: Path | None = None
    try:
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name[:100]}.", suffix=".part")
        os.close(fd)
        tmp = Path(name)
        yield tmp
        # mkstemp creates 0600; a normal file gets what open() would give it (0666 less the umask).
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_UMASK)
        os.replace(tmp, final)
    except BaseException as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        _remove_empty(created)
        if isinstance(exc, OSError) and str(final) not in str(exc):
            raise OSError(exc.errno, f"writing {str(final)!r} failed: {exc.strerror or exc}") from None
        raise


@contextlib.contextmanager
def gdal_temp_path(tmp: Path, final: Path) -> Iterator[Path]:
    """A path for a GDAL driver to create, moved onto ``tmp`` (an :func:`atomic_path` temp file) when the
    block ends well and removed when it does not.

    GDAL drivers pick their behaviour from the suffix and want to create the file themselves (an existing
    empty file is opened as a broken data set), so ``tmp`` is removed and the driver writes a sibling that
    ends in ``final``'s suffix. GDAL's errors name that sibling; they are raised again naming ``final``,
    the user's file (a full disk shows up as a failed feature or data set).
    """
    from pyogrio.errors import DataLayerError, DataSourceError

    tmp.unlink(missing_ok=True)
    gdal_tmp = tmp.with_name(tmp.name + final.suffix)
    try:
        yield gdal_tmp
        os.replace(gdal_tmp, tmp)
    except (DataSourceError, DataLayerError) as exc:
        gdal_tmp.unlink(missing_ok=True)
        raise type(exc)(f"writing {str(final)!r} failed: {exc}") from exc
    except BaseException:
        gdal_tmp.unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    # os.umask can only be read by setting it; do that once, at import, before any thread writes files.
    current = os.umask(0o022)
    os.umask(current)
    return current


_UMASK = _read_umask()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename). Returns the final path."""
    with atomic_path(path, mode=mode) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically. Returns the final path."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def parse_toml(text: str) -> dict[str, Any]:
    """The TOML document in ``text``: :mod:`tomllib` from Python 3.11, the ``tomli`` backport before.

    Raises
    ------
    ValueError
        ``TOMLDecodeError`` (a ``ValueError``) when ``text`` is not valid TOML.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib.loads(text)
