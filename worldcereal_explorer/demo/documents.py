"""The small files of a catalogue: JSON records, the metadata workbook and the harmonization PDF.

All are written atomically (:mod:`worldcereal_explorer.files`), and their bytes depend only on their
content, so regenerating a catalogue with the same seed gives the same files.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from ..files import atomic_path, atomic_write_bytes

__all__ = ["minimal_pdf", "write_json", "write_pdf", "write_xlsx"]


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented UTF-8 JSON (non-ASCII kept as is) with a final newline."""
    atomic_write_bytes(path, (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _pdf_text(text: str) -> str:
    # Helvetica's built-in encoding only covers ASCII safely; parentheses and backslashes end or escape
    # a PDF string literal.
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` in Helvetica, with a correct cross-reference table.

    Parameters
    ----------
    lines
        Text lines, top to bottom; non-ASCII characters become ``?``.

    Returns
    -------
    bytes
        The PDF file.
    """
    stream = "BT /F1 12 Tf 56 780 Td 16 TL " + " ".join(f"({_pdf_text(line)}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        "/Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode("ascii")
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
    return bytes(out)


def write_pdf(path: Path, lines: list[str]) -> None:
    """Write :func:`minimal_pdf` of ``lines`` to ``path``."""
    atomic_write_bytes(path, minimal_pdf(lines))


def write_xlsx(path: Path, title: str, items: list[dict[str, Any]]) -> None:
    """Write metadata items as the RDM's metadata workbook: one ``MetaData`` sheet of name/value rows.

    Parameters
    ----------
    path
        Destination ``.xlsx`` file.
    title
        Workbook title (document properties).
    items
        ``[{"name": ..., "value": ...}, ...]``, as in ``metadata_items.json``.
    """
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "MetaData"
    sheet.append(["Name", "Value"])
    for item in items:
        sheet.append([item["name"], item["value"]])
    sheet.column_dimensions["A"].width = 70
    sheet.column_dimensions["B"].width = 60
    # Fixed dates rather than now(). openpyxl still stamps ``modified`` and the zip entries with the time
    # of saving, so the workbook's cells (not its bytes) are what stays the same between regenerations.
    fixed = dt.datetime(2025, 1, 1)
    workbook.properties.title = title
    workbook.properties.creator = "worldcereal-explorer demo generator"
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    with atomic_path(path) as tmp:
        workbook.save(tmp)
