"""Class mapping: ewoc codes to the classes of a downstream model (a dict, or a CSV/JSON file).

A code is looked up first as itself, then through its legend ancestors (the code with its rightmost non-zero
digit group zeroed, repeatedly: ``1101060002`` silage maize → ``1101060000`` maize → ``1101000000`` cereals →
``1100000000`` temporary crops → ``1000000000`` cropland), so ``{1101000000: "cereal"}`` maps every cereal. The
nearest named ancestor wins. The hierarchy is the legend's own (its codes are hierarchical by digit group), so
no legend download is needed.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BadEwocCodeError, BadParameterError
from ..legend.codes import dashed_to_ewoc_code, parent_code
from ._common import record_step, require_columns

__all__ = ["load_mapping", "map_classes", "resolve_code"]

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


def load_mapping(source: Mapping[Any, Any] | str | os.PathLike) -> dict[int, str]:
    """Read a class mapping ``{ewoc_code: class name}``.

    Parameters
    ----------
    source
        A dict (keys: ints, digit strings or dashed codes), or a path to a ``.json`` file (an object
        ``{"1101060000": "maize", ...}`` or a list of ``{"ewoc_code": ..., "class": ...}``) or a ``.csv`` file
        with two columns ``ewoc_code`` and ``class`` (header optional; ``,`` or ``;`` separated; other accepted
        header names: ``code``, ``downstream_class``, ``label``, ``class_name``, ``name``).

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
        pairs, where = list(source.items()), "dict"
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


def resolve_code(code: int, mapping: Mapping[int, str]) -> str | None:
    """The class of ``code``: its own entry, else its nearest ancestor's, else ``None``."""
    current: int | None = int(code)
    while current is not None:
        if current in mapping:
            return mapping[current]
        current = parent_code(current) if current else None
    return None


def map_classes(
    samples: Any,
    mapping: Mapping[Any, Any] | str | os.PathLike,
    *,
    unmapped: str = "other",
    other_label: str = "other",
) -> Any:
    """Add ``downstream_class``: each sample's class under ``mapping``.

    Parameters
    ----------
    samples
        GeoDataFrame with ``ewoc_code``.
    mapping
        ``{ewoc_code: class}`` or a CSV/JSON file of it (:func:`load_mapping`). A code without an entry takes the
        class of its nearest legend ancestor that has one (``{1101000000: "cereal"}`` maps every cereal).
    unmapped
        ``"other"``: codes without a class get ``other_label``; ``"drop"``: their samples are removed.
    other_label
        Class name for unmapped codes.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with the ``downstream_class`` column (string); the step is recorded in ``attrs``.

    Raises
    ------
    BadParameterError
        For a bad ``unmapped`` value or mapping, or when fewer than two classes remain (the message names the
        classes that remain).
    """
    if unmapped not in ("other", "drop"):
        raise BadParameterError(f"unmapped={unmapped!r} is not allowed; allowed: 'other', 'drop'")
    require_columns(samples, ["ewoc_code"], "map_classes")
    table = load_mapping(mapping)
    codes = pd.to_numeric(samples["ewoc_code"], errors="coerce").fillna(0).astype("int64").to_numpy()
    unique, inverse = np.unique(codes, return_inverse=True)
    resolved = np.array([resolve_code(int(c), table) for c in unique] + [None], dtype=object)[inverse]
    is_unmapped = pd.isna(resolved)
    out = samples.copy()
    out["downstream_class"] = np.where(is_unmapped, other_label, resolved).astype(object)
    unmapped_codes = sorted({int(c) for c in codes[is_unmapped]})
    if unmapped == "drop":
        out = out.loc[~is_unmapped].copy()
    out["downstream_class"] = out["downstream_class"].astype("string")
    classes = sorted(out["downstream_class"].dropna().unique().tolist())
    if len(classes) < 2:
        raise BadParameterError(
            f"class mapping leaves fewer than two classes ({', '.join(map(repr, classes)) or 'none'}) in "
            f"{len(out)} samples; a training set needs at least two (map more codes, or keep unmapped codes as "
            f"{other_label!r} with unmapped='other')"
        )
    return record_step(out, {
        "step": "map_classes",
        "classes": {str(k): int(v) for k, v in out["downstream_class"].value_counts().sort_index().items()},
        "mapping_entries": len(table),
        "unmapped": unmapped,
        "other_label": other_label,
        "unmapped_codes": unmapped_codes,
        "unmapped_samples": int(is_unmapped.sum()),
        "dropped": int(is_unmapped.sum()) if unmapped == "drop" else 0,
    })
