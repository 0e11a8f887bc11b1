"""Reading a class mapping ``{ewoc_code: class name}`` from a dict or a CSV/JSON file, every code checked.

Below both :mod:`.mapping` (which maps samples with it) and :mod:`.schemes` (which checks each scheme of a
``class_mappings.json`` with it), so neither imports the other back.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import BadEwocCodeError, BadParameterError
from ..legend.codes import dashed_to_ewoc_code

__all__ = ["load_mapping"]

_CODE_KEYS = ("ewoc_code", "code", "ewoc")
_CLASS_KEYS = ("class", "downstream_class", "label", "class_name", "name")


def _code(value: Any, source: str) -> int:
    text = str(value).strip()
    try:
        if "-" in text:
            return dashed_to_ewoc_code(text)
        code = int(float(text)) if text.replace(".", "", 1).isdigit() else int(text)
    except (ValueError, BadEwocCodeError) as exc:
        raise BadParameterError(
            f"class mapping {source}: {text!r} is not an ewoc code; allowed: 10-digit codes (1101060000) "
            "or the legend's dashed form (11-01-06-000-0)"
        ) from exc
    if not (code == 0 or 10**9 <= code < 10**10):
        raise BadParameterError(f"class mapping {source}: {text!r} is not a 10-digit ewoc code")
    return code


def load_mapping(source: Mapping[Any, Any] | str | os.PathLike, *, where: str | None = None) -> dict[int, str]:
    """Read a class mapping ``{ewoc_code: class name}``.

    Parameters
    ----------
    source
        A dict (keys: ints, digit strings or dashed codes), or a path to a ``.json`` file (an object
        ``{"1101060000": "maize", ...}`` or a list of ``{"ewoc_code": ..., "class": ...}``) or a ``.csv`` file
        with two columns ``ewoc_code`` and ``class`` (header optional; ``,`` or ``;`` separated; other accepted
        header names: ``code``, ``downstream_class``, ``label``, ``class_name``, ``name``). A scheme *name*
        is not read here: see :func:`~worldcereal_explorer.training.class_scheme`.
    where
        How messages name a dict source (default ``"dict"``).

    Returns
    -------
    dict
        ``{int code: str class}``.

    Raises
    ------
    BadParameterError
        When the file is missing or unreadable, a key is not an ewoc code, or a class name is empty.
    """
    if isinstance(source, Mapping):
        pairs, where = list(source.items()), where or "dict"
    else:
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise BadParameterError(f"class mapping file {where!r} does not exist; allowed: a .csv or .json file")
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() == ".json":
            pairs = _json_pairs(text, where)
        elif path.suffix.lower() in (".csv", ".txt", ".tsv"):
            pairs = _csv_pairs(text, where)
        else:
            raise BadParameterError(f"class mapping file {where!r} has suffix {path.suffix!r}; allowed: .csv, .json")
    mapping: dict[int, str] = {}
    for key, value in pairs:
        name = "" if value is None else str(value).strip()
        if not name:
            raise BadParameterError(f"class mapping {where}: code {key!r} has an empty class name")
        mapping[_code(key, where)] = name
    if not mapping:
        raise BadParameterError(f"class mapping {where} is empty; give at least two classes")
    return mapping


def _json_pairs(text: str, where: str) -> list[tuple[Any, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadParameterError(f"class mapping file {where!r} is not valid JSON: {exc}") from exc
    if isinstance(data, dict):
        return list(data.items())
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return [(_field(r, _CODE_KEYS, where), _field(r, _CLASS_KEYS, where)) for r in data]
    raise BadParameterError(
        f"class mapping file {where!r} must hold an object {{code: class}} or a list of {{ewoc_code, class}}"
    )


def _field(row: Mapping[str, Any], keys: tuple[str, ...], where: str) -> Any:
    for key in keys:
        if key in row:
            return row[key]
    raise BadParameterError(f"class mapping {where}: a row lacks one of {', '.join(keys)}: {dict(row)!r}")


def _csv_pairs(text: str, where: str) -> list[tuple[Any, Any]]:
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ("\t" if "\t" in first else ",")
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r and any(c.strip() for c in r)]
    if not rows:
        return []
    header = [c.strip().lower() for c in rows[0]]
    code_at = next((header.index(k) for k in _CODE_KEYS if k in header), None)
    class_at = next((header.index(k) for k in _CLASS_KEYS if k in header), None)
    if code_at is not None and class_at is not None:
        body = rows[1:]
    else:
        code_at, class_at, body = 0, 1, rows
    if any(len(r) <= max(code_at, class_at) for r in body):
        raise BadParameterError(f"class mapping file {where!r}: every row needs an ewoc_code and a class column")
    return [(r[code_at], r[class_at]) for r in body]
