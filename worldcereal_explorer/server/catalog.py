"""Read a catalogue folder into memory and answer the queries the API routes need.

Folder layout (written by :mod:`worldcereal_explorer.demo`)::

    catalog.json                    generator info and the synthetic flag
    legend.csv                      served at /legend.csv
    <collectionId>/
        collection.json             the API's collection object
        <ORIGINAL_NAME>.geoparquet  all samples
        sample_<ORIGINAL_NAME>.parquet   the subset (extract > 0)
        metadata_items.json         [{id, name, value, type}]
        metadata.xlsx               metadata sheet
        harmonization.pdf           optional (public collections)
        access.json                 optional {"owner": sub, "groups": [...]}

Paths are only ever built from names found by listing the folder at load time; request values are
looked up in those tables and never joined onto a path.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import BadParameterError
from ..extents import BBox
from .access import AccessPolicy

__all__ = ["Catalog", "CatalogEntry", "SearchFilter", "COLLECTION_ID_RE", "ITEM_PROPERTIES", "code_stats",
           "parse_api_datetime", "read_samples_file"]

#: What a collection id may look like; anything else is rejected before any lookup.
COLLECTION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,127}$")

#: Item feature properties, in the live API's order.
ITEM_PROPERTIES = (
    "sample_id",
    "ewoc_code",
    "irrigation_status",
    "valid_time",
    "extract",
    "quality_score_lc",
    "quality_score_ct",
    "h3_l3_cell",
)

def parse_api_datetime(text: str) -> dt.datetime:
    """Parse an API date-time (``2021-05-01T00:00:00``, optional fraction and ``Z``) as naive UTC."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def code_stats(ewoc: pd.Series, irrigation: pd.Series, lc: pd.Series | None = None) -> dict[str, list[dict]]:
    """Counts per code, most frequent first (ties by code), as the ``/items/codestats`` route returns them."""

    def ranked(values: pd.Series) -> list[dict]:
        counts = Counter(int(v) for v in values.to_numpy())
        return [{"code": c, "count": n} for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    return {
        "lcStats": ranked(lc) if lc is not None else [],
        "ewocStats": ranked(ewoc),
        "irrStats": ranked(irrigation),
    }


@dataclass
class CatalogEntry:
    """One collection of the catalogue: its API object, files and access policy."""

    collection_id: str
    folder: Path
    api: dict[str, Any]
    policy: AccessPolicy
    full_file: Path | None
    subset_file: Path | None
    metadata_items: list[dict[str, Any]]
    metadata_xlsx: Path | None
    harmonization_pdf: Path | None
    land_cover_of: dict[int, int] = field(default_factory=dict, repr=False)  # ewoc code -> LC_code (legend)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _samples: gpd.GeoDataFrame | None = field(default=None, repr=False)

    @cached_property
    def bbox(self) -> BBox | None:
        """The collection's spatial extent, or ``None`` when the object has none."""
        boxes = ((self.api.get("extent") or {}).get("spatial") or {}).get("bbox") or []
        if boxes and isinstance(boxes[0], list) and len(boxes[0]) == 4:
            return BBox(*(float(v) for v in boxes[0]))
        return None

    @cached_property
    def interval(self) -> tuple[dt.datetime, dt.datetime] | None:
        """The collection's validity interval (naive UTC), or ``None``."""
        intervals = ((self.api.get("extent") or {}).get("temporal") or {}).get("interval") or []
        if intervals and isinstance(intervals[0], list) and len(intervals[0]) == 2:
            return parse_api_datetime(intervals[0][0]), parse_api_datetime(intervals[0][1])
        return None

    @property
    def is_public(self) -> bool:
        return self.policy.is_public

    def files(self) -> dict[str, Path]:
        """The file names a ``/files/...`` URL may name for this collection, mapped to their paths."""
        out: dict[str, Path] = {}
        for path in (self.full_file, self.subset_file):
            if path is not None:
                out[path.name] = path
        if self.harmonization_pdf is not None and self.is_public:
            out[self.pdf_name] = self.harmonization_pdf
        return out

    @property
    def pdf_name(self) -> str:
        """Name the harmonization PDF is served under: the full file's stem plus ``.pdf``."""
        stem = self.full_file.stem if self.full_file is not None else self.collection_id
        return f"{stem}.pdf"

    def samples(self) -> gpd.GeoDataFrame:
        """All samples of the full file (loaded once, then kept)."""
        with self._lock:
            if self._samples is None:
                if self.full_file is None:
                    raise FileNotFoundError(f"collection {self.collection_id!r} has no samples file")
                self._samples = read_samples_file(self.full_file)
            return self._samples

    def code_stats(self) -> dict[str, list[dict]]:
        """``{lcStats, ewocStats, irrStats}``: from the ``codeStats`` metadata item, else from the file."""
        for item in self.metadata_items:
            if item.get("name") == "codeStats":
                try:
                    raw = json.loads(item.get("value") or "{}")
                except json.JSONDecodeError:
                    break
                return {
                    key: [{"code": int(s["Code"]), "count": int(s["Count"])} for s in raw.get(pascal) or []]
                    for key, pascal in (("lcStats", "LcStats"), ("ewocStats", "EwocStats"), ("irrStats", "IrrStats"))
                }
        samples = self.samples()
        ewoc = samples["ewoc_code"].astype("int64")
        # Codes missing from the legend fall back to their level-1 part (first two digits).
        lc = ewoc.map(lambda code: self.land_cover_of.get(int(code), int(code) // 10**8))
        return code_stats(ewoc, samples["irrigation_status"], lc)

    def find_items(
        self,
        *,
        bbox: BBox | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        ewoc_codes: list[int] | None = None,
        irrigation_types: list[int] | None = None,
    ) -> gpd.GeoDataFrame:
        """Samples matching every given filter: bbox intersects, start <= valid_time <= end, any-of codes."""
        gdf = self.samples()
        mask = np.ones(len(gdf), dtype=bool)
        if bbox is not None:
            mask &= shapely.intersects(gdf.geometry.values, bbox.to_polygon())
        if start is not None or end is not None:
            valid = pd.to_datetime(gdf["valid_time"])
            if getattr(valid.dt, "tz", None) is not None:
                valid = valid.dt.tz_convert("UTC").dt.tz_localize(None)
            if start is not None:
                mask &= (valid >= pd.Timestamp(start)).to_numpy()
            if end is not None:
                mask &= (valid <= pd.Timestamp(end)).to_numpy()
        if ewoc_codes:
            mask &= gdf["ewoc_code"].isin(ewoc_codes).to_numpy()
        if irrigation_types:
            mask &= gdf["irrigation_status"].isin(irrigation_types).to_numpy()
        return gdf[mask]


#: Confidence filters of the search route: query parameter prefix -> collection object field.
CONFIDENCE_FIELDS = {
    "LandCoverConfidence": "confidenceLandCover",
    "CropTypeConfidence": "confidenceCropType",
    "IrrigationConfidence": "confidenceIrrigationType",
}


@dataclass(frozen=True)
class SearchFilter:
    """The ``/collections/search`` filters, as the live API applies them (see ``rdm-api.md`` 2.1).

    * ``bbox``: the collection's extent must intersect it (touching edges count).
    * ``start``/``end``: the collection's validity interval must overlap ``[start, end]`` (inclusive);
      either bound may be absent.
    * ``ewoc_codes``/``irrigation_types``: the collection must hold at least one of them.
    * ``confidence``: field -> inclusive ``(low, high)`` range.
    """

    bbox: BBox
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    ewoc_codes: frozenset[int] = frozenset()
    irrigation_types: frozenset[int] = frozenset()
    confidence: tuple[tuple[str, float, float], ...] = ()

    def matches(self, entry: CatalogEntry) -> bool:
        """True when ``entry`` passes every filter."""
        if entry.bbox is None or not entry.bbox.intersects(self.bbox):
            return False
        if self.start is not None or self.end is not None:
            interval = entry.interval
            if interval is None:
                return False
            first, last = interval
            if self.end is not None and first > self.end:
                return False
            if self.start is not None and last < self.start:
                return False
        api = entry.api
        if self.ewoc_codes and not self.ewoc_codes.intersection(int(c) for c in api.get("ewocCodes") or []):
            return False
        if self.irrigation_types and not self.irrigation_types.intersection(
            int(c) for c in api.get("irrTypes") or []
        ):
            return False
        for field_name, low, high in self.confidence:
            value = api.get(field_name) or 0
            if not low <= float(value) <= high:
                return False
        return True


def read_samples_file(path: Path) -> gpd.GeoDataFrame:
    """Read a samples file as a GeoDataFrame, also when it is plain Parquet with WKB and no ``geo`` metadata.

    Live and legacy files are not always GeoParquet, and a catalogue may hold such files.
    """
    try:
        return gpd.read_parquet(path)
    except ValueError:  # geopandas refuses files without 'geo' metadata
        frame = pd.read_parquet(path)
        if "geometry" not in frame.columns:
            raise
        geometry = shapely.from_wkb(frame.pop("geometry").to_numpy())
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"))


def _land_cover_codes(legend_path: Path) -> dict[int, int]:
    """ewoc code -> LC_code from a legend CSV in the official format; empty when it cannot be read."""
    try:
        legend = pd.read_csv(legend_path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
        codes = legend["ewoc_code"].str.replace("-", "", regex=False).astype("int64")
        lc = pd.to_numeric(legend["LC_code"], errors="coerce")
    except (OSError, ValueError, KeyError):
        return {}
    return {int(c): int(v) for c, v in zip(codes, lc, strict=True) if not pd.isna(v)}


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Catalog:
    """A catalogue folder loaded into memory (collection objects, metadata, file tables).

    Parameters
    ----------
    root
        The catalogue folder.

    Raises
    ------
    BadParameterError
        When ``root`` is not a folder or holds no collection.
    """

    def __init__(self, root: str | Path):
        root = Path(root).resolve()
        if not root.is_dir():
            raise BadParameterError(f"catalogue folder {str(root)!r} does not exist or is not a folder")
        self.root = root
        info_path = root / "catalog.json"
        self.info: dict[str, Any] = _read_json(info_path) if info_path.is_file() else {}
        legend = root / "legend.csv"
        self.legend_path: Path | None = legend if legend.is_file() else None
        land_cover_of = _land_cover_codes(self.legend_path) if self.legend_path else {}
        self.entries: dict[str, CatalogEntry] = {}
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            entry = self._load_entry(folder)
            if entry is not None:
                entry.land_cover_of = land_cover_of
                self.entries[entry.collection_id] = entry
        if not self.entries:
            raise BadParameterError(
                f"catalogue folder {str(root)!r} holds no collection (no <id>/collection.json); "
                "make one with `worldcereal-explorer make-demo-catalog DIR`"
            )

    @staticmethod
    def _load_entry(folder: Path) -> CatalogEntry | None:
        collection_path = folder / "collection.json"
        if not collection_path.is_file():
            return None
        api = _read_json(collection_path)
        collection_id = api.get("collectionId")
        if not isinstance(collection_id, str) or not COLLECTION_ID_RE.match(collection_id):
            raise BadParameterError(
                f"{collection_path}: collectionId {collection_id!r} is not allowed; "
                f"it must match {COLLECTION_ID_RE.pattern}"
            )
        access_path = folder / "access.json"
        access = _read_json(access_path) if access_path.is_file() else None
        policy = AccessPolicy.from_json(api.get("accessType") or "Public", access)
        full = sorted(p for p in folder.glob("*.geoparquet") if not p.name.startswith("sample_"))
        subset = sorted(folder.glob("sample_*.parquet")) or sorted(folder.glob("sample_*.geoparquet"))
        items_path = folder / "metadata_items.json"
        metadata_items = _read_json(items_path) if items_path.is_file() else []
        xlsx = folder / "metadata.xlsx"
        pdf = folder / "harmonization.pdf"
        return CatalogEntry(
            collection_id=collection_id,
            folder=folder,
            api=api,
            policy=policy,
            full_file=full[0] if full else None,
            subset_file=subset[0] if subset else None,
            metadata_items=metadata_items,
            metadata_xlsx=xlsx if xlsx.is_file() else None,
            harmonization_pdf=pdf if pdf.is_file() else None,
        )

    def get(self, collection_id: str) -> CatalogEntry | None:
        """The entry for ``collection_id``, or ``None`` when the id is malformed or unknown."""
        if not isinstance(collection_id, str) or not COLLECTION_ID_RE.match(collection_id):
            return None
        return self.entries.get(collection_id)

    def sorted_entries(self) -> list[CatalogEntry]:
        """All entries ordered by collection id (the order ``/collections`` pages in)."""
        return [self.entries[k] for k in sorted(self.entries)]
