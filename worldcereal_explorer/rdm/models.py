"""Data models shared by the client, the local server and the demo catalogue generator."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import RdmResponseError
from ..extents import BBox

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN_TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"

#: Values of ``accessType`` the API uses; "Restricted" is our best guess of the third spelling.
ACCESS_TYPES = ("Public", "Private", "Restricted")

#: What the 3-digit information-content suffix of a collection id means.
INFORMATION_CONTENT = {
    "100": "land cover",
    "101": "land cover + irrigation",
    "110": "land cover + crop type",
    "111": "land cover + crop type + irrigation",
}

_ID_RE = re.compile(
    r"^(?P<year>\d{4})_?(?P<middle>.*?)_?(?P<kind>point|poly|polygon|map)?_?(?P<content>1[01][01])$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CollectionId:
    """A collection id decoded by the naming convention ``year_region_identifier_type_content``.

    Every part but ``raw`` may be ``None``: real ids break the convention (old ids have no
    underscores, some lack the region or the type), so decoding never fails.
    """

    raw: str
    year: int | None = None
    region: str | None = None
    identifier: str | None = None
    geometry_type: str | None = None
    information_content: str | None = None

    @property
    def content_description(self) -> str | None:
        """Human-readable meaning of the information-content code (``110`` -> land cover + crop type)."""
        return INFORMATION_CONTENT.get(self.information_content or "")

    @classmethod
    def parse(cls, ref_id: str) -> CollectionId:
        """Decode ``ref_id`` as far as it follows the convention."""
        match = _ID_RE.match(ref_id.strip())
        if not match:
            year = int(ref_id[:4]) if ref_id[:4].isdigit() else None
            return cls(raw=ref_id, year=year)
        kind = (match["kind"] or "").lower() or None
        if kind in ("poly", "polygon"):
            kind = "Polygon"
        elif kind == "point":
            kind = "Point"
        elif kind == "map":
            kind = "Map"
        middle = match["middle"].strip("_")
        region = identifier = None
        if "_" in middle:
            region, identifier = middle.split("_", 1)
        elif middle:
            identifier = middle
        return cls(
            raw=ref_id,
            year=int(match["year"]),
            region=region.upper() if region else None,
            identifier=identifier or None,
            geometry_type=kind,
            information_content=match["content"],
        )


def _first(values: Any) -> Any:
    if isinstance(values, list) and values and isinstance(values[0], list):
        return values[0]
    return values


class ApiSpatialExtent(dict):
    """``{"bbox": [[W, S, E, N]], "crs": ...}`` as the API sends it, that also behaves like its :class:`BBox`."""

    def __init__(self, bbox: BBox, crs: str = CRS84):
        super().__init__(bbox=[list(bbox.as_tuple())], crs=crs)
        self._bbox = bbox

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._bbox, name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (ApiSpatialExtent, (self._bbox, self.get("crs", CRS84)))


@dataclass
class Collection:
    """One RDM collection, built from the API's JSON object (``/collections*`` routes).

    Attribute names follow the WorldCereal client (``id``, ``ewoc_codes``, ``temporal_extent`` ...),
    so code written against it keeps working. ``raw`` keeps the JSON exactly as received.
    """

    id: str
    access_type: str
    title: str = ""
    feature_count: int = 0
    data_type: str = ""
    observation_method: str = ""
    confidence_lc: float = 0
    confidence_ct: float = 0
    confidence_irr: float = 0
    ewoc_codes: list[int] = field(default_factory=list)
    irr_codes: list[int] = field(default_factory=list)
    bbox: BBox | None = None
    spatial_crs: str = CRS84
    temporal_extent: tuple[str, str] | None = None
    temporal_trs: str = GREGORIAN_TRS
    additional_data: str = ""
    crs: list[str] = field(default_factory=lambda: [EPSG4326])
    last_modified: str | None = None
    last_modified_by: str | None = None
    creation_time: str | None = None
    created_by: str | None = None
    fid: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def spatial_extent(self) -> ApiSpatialExtent | None:
        """The API's spatial extent dict, ``{"bbox": [[W, S, E, N]], "crs": ...}`` (the reference client's shape).

        It also answers the typed :class:`~worldcereal_explorer.extents.BBox` attributes (``.west``,
        ``.as_tuple()``, ``.to_polygon()`` ...); :attr:`bbox` is the typed extent itself.
        """
        return None if self.bbox is None else ApiSpatialExtent(self.bbox, self.spatial_crs)

    @property
    def ref_id(self) -> str:
        """Alias of :attr:`id`: the name sample files use for the collection id."""
        return self.id

    @property
    def id_parts(self) -> CollectionId:
        """The id decoded by the naming convention (tolerant of ids that break it)."""
        return CollectionId.parse(self.id)

    @property
    def year(self) -> int | None:
        """Reference year: from the id, else from the start of the temporal extent."""
        year = self.id_parts.year
        if year is None and self.temporal_extent:
            start = self.temporal_extent[0]
            year = int(start[:4]) if start[:4].isdigit() else None
        return year

    @property
    def is_public(self) -> bool:
        """True for ``accessType == "Public"``."""
        return self.access_type == "Public"

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Collection:
        """Build a collection from one API JSON object.

        Raises
        ------
        RdmResponseError
            When ``collectionId`` or ``accessType`` is missing (the only fields the API always sends).
        """
        if not isinstance(data, dict):
            raise RdmResponseError(f"expected a collection JSON object, got {type(data).__name__}")
        missing = [k for k in ("collectionId", "accessType") if not data.get(k)]
        if missing:
            raise RdmResponseError(f"collection JSON lacks required field(s) {missing}: {str(data)[:200]}")
        extent = data.get("extent") or {}
        spatial = extent.get("spatial") or {}
        temporal = extent.get("temporal") or {}
        bbox_values = _first(spatial.get("bbox"))
        bbox = None
        if isinstance(bbox_values, list) and len(bbox_values) == 4:
            try:
                bbox = BBox(*(float(v) for v in bbox_values))
            except (TypeError, ValueError):  # irregular live extents (nulls, strings) must not break listing
                bbox = None
        interval = _first(temporal.get("interval"))
        temporal_extent = tuple(interval) if isinstance(interval, list) and len(interval) == 2 else None
        return cls(
            id=data["collectionId"],
            access_type=data["accessType"],
            title=data.get("title") or "",
            feature_count=int(data.get("featureCount") or 0),
            data_type=data.get("type") or "",
            observation_method=data.get("typeOfObservationMethod") or "",
            confidence_lc=data.get("confidenceLandCover") or 0,
            confidence_ct=data.get("confidenceCropType") or 0,
            confidence_irr=data.get("confidenceIrrigationType") or 0,
            ewoc_codes=[int(c) for c in data.get("ewocCodes") or [] if c is not None],
            irr_codes=[int(c) for c in data.get("irrTypes") or [] if c is not None],
            bbox=bbox,
            spatial_crs=spatial.get("crs") or CRS84,
            temporal_extent=temporal_extent,  # type: ignore[arg-type]
            temporal_trs=temporal.get("trs") or GREGORIAN_TRS,
            additional_data=data.get("additionalData") or "",
            crs=list(data.get("crs") or [EPSG4326]),
            last_modified=data.get("lastModificationTime"),
            last_modified_by=data.get("lastModifierId"),
            creation_time=data.get("creationTime"),
            created_by=data.get("creatorId"),
            fid=data.get("id"),
            raw=dict(data),
        )

    def to_api(self) -> dict[str, Any]:
        """Serialise to the API's JSON object, with the live API's field names and order."""
        bbox = list(self.bbox.as_tuple()) if self.bbox else None
        return {
            "collectionId": self.id,
            "title": self.title,
            "featureCount": self.feature_count,
            "type": self.data_type,
            "accessType": self.access_type,
            "typeOfObservationMethod": self.observation_method,
            "confidenceLandCover": self.confidence_lc,
            "confidenceCropType": self.confidence_ct,
            "confidenceIrrigationType": self.confidence_irr,
            "ewocCodes": list(self.ewoc_codes),
            "irrTypes": list(self.irr_codes),
            "extent": {
                "spatial": {"bbox": [bbox] if bbox else [], "crs": self.spatial_crs},
                "temporal": {
                    "interval": [list(self.temporal_extent)] if self.temporal_extent else [],
                    "trs": self.temporal_trs,
                },
            },
            "additionalData": self.additional_data,
            "crs": list(self.crs),
            "lastModificationTime": self.last_modified,
            "lastModifierId": self.last_modified_by,
            "creationTime": self.creation_time,
            "creatorId": self.created_by,
            "id": self.fid,
        }

    def metadata_lines(self) -> list[str]:
        """The lines :meth:`print_metadata` prints."""
        start, end = self.temporal_extent or ("?", "?")
        bbox = self.bbox.as_tuple() if self.bbox else None
        return [
            f"ID: {self.id}",
            f"Title: {self.title}",
            f"Number of samples: {self.feature_count}",
            f"Data type: {self.data_type}",
            f"Access type: {self.access_type}",
            f"Observation method: {self.observation_method}",
            f"Confidence score for land cover: {self.confidence_lc}",
            f"Confidence score for crop type: {self.confidence_ct}",
            f"Confidence score for irrigation label: {self.confidence_irr}",
            f"List of available crop types: {self.ewoc_codes}",
            f"List of available irrigation labels: {self.irr_codes}",
            f"Spatial extent (W, S, E, N): {bbox}",
            f"Coordinate reference system (CRS): {', '.join(self.crs)}",
            f"Temporal extent: {start} - {end}",
            f"Additional data: {self.additional_data}",
            f"Last modified: {self.last_modified}",
            f"Last modified by: {self.last_modified_by}",
            f"Creation time: {self.creation_time}",
            f"Created by: {self.created_by}",
            f"fid: {self.fid}",
        ]

    def print_metadata(self) -> None:
        """Print the collection's metadata as the WorldCereal client does."""
        print("\n#######################\nCollection Metadata:")
        print("\n".join(self.metadata_lines()))
        print("#######################\n")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in (line.split(": ", 1) for line in self.metadata_lines())
        )
        return f"<div class='wce-collection'><b>RDM collection</b><table>{rows}</table></div>"


#: The reference client's name for a collection object (ours is richer; see :class:`Collection`).
RdmCollection = Collection
