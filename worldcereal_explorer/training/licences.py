"""Collections' licences, citations and providers from their RDM metadata items; a ready bibliography.

The metadata item names are the live RDM's (``/collections/{id}/metadata/items``), e.g.
``OriginalDataSet:License:TypeOfLicense:`` (``CC_BY``, ``CC_BY_SA``, ...),
``OriginalDataSet:License:ReferenceToLicense:``, ``OriginalDataSet:License:RequiredCitation:``,
``OriginalDataSet:DOI::`` and ``OriginalDataSet:Provider:*``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["META_KEYS", "bibtex_entries", "collection_entry", "licence_flags", "normalise_doi", "plain_citations"]

#: The metadata item names the card reads.
META_KEYS = {
    "title": "CuratedDataSet::TitleCuratedDataSet:",
    "dataset_name": "OriginalDataSet:NameDataSet::",
    "provider": "OriginalDataSet:Provider:Code:",
    "provider_description": "OriginalDataSet:Provider:DescriptionCuratedDataSet:",
    "provider_url": "OriginalDataSet:Provider:URL:",
    "provider_contact": "OriginalDataSet:Provider:Contact:",
    "doi": "OriginalDataSet:DOI::",
    "licence_type": "OriginalDataSet:License:TypeOfLicense:",
    "licence": "OriginalDataSet:License:ReferenceToLicense:",
    "citation": "OriginalDataSet:License:RequiredCitation:",
    "first_date": "CuratedDataSet:ObservationCuratedDataset:Summary:FirstDateObservation",
}

#: Licence flags that restrict reuse, with the words the card uses for them.
FLAG_TEXT = {
    "non-commercial": "non-commercial use only",
    "share-alike": "derived data must be shared under the same licence",
    "no-derivatives": "no derivative works",
    "restricted": "restricted or private data",
    "unknown": "licence not stated",
}


def _text(meta: Mapping[str, Any], key: str) -> str:
    value = meta.get(META_KEYS[key])
    return "" if value is None else str(value).strip()


def licence_flags(licence_type: str, licence: str, access_type: str | None = None) -> list[str]:
    """Restrictive properties of a licence: ``non-commercial``, ``share-alike``, ``no-derivatives``,
    ``restricted`` (also for collections whose access is not ``Public``), ``unknown`` (nothing stated)."""
    text = f"{licence_type} {licence}".upper()
    tokens = set(re.split(r"[^A-Z0-9]+", text))
    squashed = re.sub(r"[^A-Z]", "", text)
    flags = []
    if "NC" in tokens or "NONCOMMERCIAL" in squashed:
        flags.append("non-commercial")
    if "SA" in tokens or "SHAREALIKE" in squashed or "ODBL" in tokens:
        flags.append("share-alike")
    if "ND" in tokens or "NODERIV" in squashed:
        flags.append("no-derivatives")
    if (any(w in squashed for w in ("RESTRICT", "PRIVATE", "PROPRIETARY", "ALLRIGHTSRESERVED", "CONFIDENTIAL"))
            or (access_type not in (None, "", "Public"))):
        flags.append("restricted")
    if not licence_type.strip() and not licence.strip():
        flags.append("unknown")
    return flags


def normalise_doi(value: str) -> str:
    """``10.xxxx/yyy`` from a DOI written as a URL (``https://doi.org/...``, ``doi.org/...``) or ``doi:...``."""
    text = value.strip()
    match = re.search(r"10\.\d{4,9}/\S+", text)
    return match.group(0).rstrip(".,;") if match else text


def _year(ref_id: str, meta: Mapping[str, Any]) -> str:
    if ref_id[:4].isdigit():
        return ref_id[:4]
    found = re.search(r"(19|20)\d\d", _text(meta, "first_date"))
    return found.group(0) if found else ""


def collection_entry(ref_id: str, meta: Mapping[str, Any] | None, *, samples: int, access_type: str | None = None,
                     error: str | None = None) -> dict[str, Any]:
    """The card's record of one collection from its metadata items (``None``: metadata unavailable)."""
    meta = meta or {}
    licence_type, licence = _text(meta, "licence_type"), _text(meta, "licence")
    entry: dict[str, Any] = {
        "id": ref_id,
        "title": _text(meta, "title") or ref_id,
        "provider": _text(meta, "provider"),
        "provider_description": _text(meta, "provider_description"),
        "provider_url": _text(meta, "provider_url"),
        "licence_type": licence_type,
        "licence": licence,
        "licence_flags": licence_flags(licence_type, licence, access_type),
        "citation": _text(meta, "citation"),
        "doi": normalise_doi(_text(meta, "doi")),
        "access_type": access_type,
        "year": _year(ref_id, meta),
        "samples": int(samples),
    }
    if error:
        entry["metadata_error"] = error
    return entry


def plain_citations(collections: list[dict[str, Any]]) -> list[str]:
    """One ready-to-paste reference per collection: its required citation, else one made from its record."""
    lines = []
    for c in collections:
        if c["citation"]:
            text = c["citation"]
            if c["doi"] and c["doi"].lower() not in text.lower():
                text = f"{text} https://doi.org/{c['doi']}"
        else:
            parts = [c["provider"] or "Unknown provider", f"({c['year']})" if c["year"] else "", f"{c['title']}.",
                     "WorldCereal Reference Data Module, collection", f"{c['id']}."]
            if c["doi"]:
                parts.append(f"https://doi.org/{c['doi']}")
            text = " ".join(p for p in parts if p)
        lines.append(text)
    return lines


def _bib(value: str) -> str:
    return value.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")


def bibtex_entries(collections: list[dict[str, Any]]) -> str:
    """A BibTeX ``@misc`` entry per collection (key: the collection id), the required citation in ``note``."""
    entries = []
    for c in collections:
        key = re.sub(r"[^A-Za-z0-9_:-]", "_", c["id"])
        fields = [("title", c["title"]), ("author", c["provider"] or "Unknown provider"), ("year", c["year"]),
                  ("doi", c["doi"] if c["doi"].startswith("10.") else ""),
                  ("howpublished", "WorldCereal Reference Data Module, collection " + c["id"]),
                  ("url", f"https://doi.org/{c['doi']}" if c["doi"].startswith("10.") else c["provider_url"]),
                  ("note", "; ".join(p for p in (c["citation"], f"Licence: {c['licence'] or c['licence_type']}"
                                                 if (c["licence"] or c["licence_type"]) else "") if p))]
        body = ",\n".join(f"  {name} = {{{_bib(value)}}}" for name, value in fields if value)
        entries.append(f"@misc{{{key},\n{body}\n}}")
    return "\n\n".join(entries) + ("\n" if entries else "")
