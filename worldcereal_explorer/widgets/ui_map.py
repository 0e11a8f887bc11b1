"""Area-of-interest map: draw a rectangle/polygon or upload a vector file, then read the AOI back.

:func:`ui_map` has the shape of the reference client's ``worldcereal.utils.map.ui_map`` (``get_bbox``,
``get_poly``, ``get_gdf``, ``save_gdf``); it is a plain notebook widget, not bound to a query state.
:class:`AoiUpload` is the one upload component; the dashboard's map (:class:`~.bbox_map.BBoxMap`)
embeds it too.

Uploaded files are parsed here from the bytes the browser sent (local parsing only, no network I/O).
Accepted: GeoPackage (``.gpkg``), a zipped Shapefile (``.zip``), GeoParquet (``.parquet``,
``.geoparquet``) and GeoJSON (``.geojson``, ``.json``). Every AOI is kept in EPSG:4326.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import math
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

import ipywidgets as w
import shapely
from ipyleaflet import DrawControl, GeoJSON, Map, ScaleControl
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from ..errors import BadExtentError, BadParameterError, InvalidInputError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "ALLOWED_FORMATS",
    "AoiBBox",
    "AoiMap",
    "AoiSelection",
    "AoiUpload",
    "aoi_area_km2",
    "read_aoi_file",
    "ui_map",
    "utm_epsg",
]

#: What the upload accepts, for the file picker and for messages.
ALLOWED_FORMATS = ("GeoPackage (.gpkg), zipped Shapefile (.zip), GeoParquet (.parquet, .geoparquet) "
                   "or GeoJSON (.geojson, .json)")
_ACCEPT = ".gpkg,.zip,.parquet,.geoparquet,.geojson,.json"
#: Largest uploaded file read (the whole file travels through the widget comm anyway).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx"}
_LABEL_COLUMNS = ("name", "id", "label", "title", "aoi_id", "fid")

#: Dropdown values: ``UNION`` = every feature merged into one shape, ``EACH`` = one shape per feature.
UNION = "__union__"
EACH = "__each__"

_AOI_STYLE = {"color": "#0055cc", "weight": 2, "fillColor": "#6be5c3", "fillOpacity": 0.25}
_DRAW_STYLE = {"shapeOptions": {"color": "#0055cc", "fillColor": "#6be5c3", "fillOpacity": 0.3},
               "allowIntersection": False, "metric": ["km"]}


# --- geometry helpers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Aoi:
    id: str
    source: str
    geometry: Polygon | MultiPolygon


class AoiBBox(tuple):
    """A bounding box ``(west, south, east, north)`` that also carries its ``epsg`` code.

    It is a 4-tuple (``list(bbox)`` is ``[W, S, E, N]``) with the attributes of the reference client's
    ``openeo_gfmap.BoundingBoxExtent`` (``west``, ``south``, ``east``, ``north``, ``epsg``), so code
    written for either works. Degrees for EPSG:4326, metres for a UTM zone.
    """

    epsg: int

    def __new__(cls, west: float, south: float, east: float, north: float, epsg: int = 4326) -> AoiBBox:
        obj = super().__new__(cls, (float(west), float(south), float(east), float(north)))
        obj.epsg = int(epsg)
        return obj

    def __getnewargs__(self) -> tuple:
        return (*self, self.epsg)

    west = property(lambda self: self[0], doc="West (minimum x).")
    south = property(lambda self: self[1], doc="South (minimum y).")
    east = property(lambda self: self[2], doc="East (maximum x).")
    north = property(lambda self: self[3], doc="North (maximum y).")

    @property
    def crs(self) -> str:
        """``'EPSG:<code>'``."""
        return f"EPSG:{self.epsg}"

    def to_dict(self) -> dict[str, float | int]:
        """``{"west", "south", "east", "north", "epsg"}``."""
        return {"west": self[0], "south": self[1], "east": self[2], "north": self[3], "epsg": self.epsg}

    def __repr__(self) -> str:
        return (f"AoiBBox(west={self[0]!r}, south={self[1]!r}, east={self[2]!r}, north={self[3]!r}, "
                f"epsg={self.epsg})")


def aoi_area_km2(geometry: BaseGeometry) -> float:
    """Area of a lon/lat (EPSG:4326) geometry in km², in an equal-area projection.

    The projection is a Lambert azimuthal equal-area centred on the geometry's centroid (its edges are
    densified first, so long lon/lat edges follow the curve they describe).

    Parameters
    ----------
    geometry
        A shapely geometry in EPSG:4326 degrees.

    Returns
    -------
    float
        The area in square kilometres (0 for points and lines).
    """
    if geometry.is_empty:
        return 0.0
    centre = geometry.centroid
    laea = CRS.from_proj4(f"+proj=laea +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m +no_defs")
    transformer = Transformer.from_crs("EPSG:4326", laea, always_xy=True)
    projected = shapely.transform(shapely.segmentize(geometry, 0.05),
                                  lambda xy: _stack(transformer.transform(xy[:, 0], xy[:, 1])))
    return float(projected.area) / 1e6


def _stack(xy: tuple) -> Any:
    import numpy as np

    return np.column_stack(xy)


def utm_epsg(geometry: BaseGeometry) -> int:
    """EPSG code of the WGS 84 UTM zone holding the centroid of a lon/lat geometry (326xx north, 327xx south).

    Parameters
    ----------
    geometry
        A shapely geometry in EPSG:4326 degrees.

    Returns
    -------
    int
        ``32600 + zone`` north of the equator (latitude >= 0), ``32700 + zone`` south of it.
    """
    centre = geometry.centroid
    zone = min(60, max(1, int(math.floor((centre.x + 180.0) / 6.0)) + 1))
    return (32600 if centre.y >= 0 else 32700) + zone


def _format_km2(area: float) -> str:
    return f"{area:,.2f} km²"


def _polygonal(geometry: BaseGeometry | None) -> Polygon | MultiPolygon | None:
    """The polygonal part of a geometry (invalid ones repaired), or ``None`` when there is none."""
    if geometry is None or geometry.is_empty:
        return None
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    if isinstance(geometry, (Polygon, MultiPolygon)):
        return geometry
    if isinstance(geometry, shapely.GeometryCollection):
        parts = [g for g in geometry.geoms if isinstance(g, (Polygon, MultiPolygon)) and not g.is_empty]
        if parts:
            merged = shapely.union_all(parts)
            return merged if isinstance(merged, (Polygon, MultiPolygon)) else None
    return None


# --- reading uploads ----------------------------------------------------------------------------------
def _sniff(name: str, data: bytes) -> str:
    head = data[:16]
    if head.startswith(b"PAR1"):
        return "GeoParquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "GeoPackage"
    text = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "GeoJSON"
    return ""


def _bad_upload(name: str, reason: str) -> BadParameterError:
    return BadParameterError(f"cannot read the uploaded file {name!r}: {reason}; allowed: {ALLOWED_FORMATS}")


def _read_zip(name: str, data: bytes) -> gpd.GeoDataFrame:
    import geopandas as gpd

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise _bad_upload(name, f"not a valid zip archive ({exc})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and "__MACOSX" not in m.filename]
        if sum(m.file_size for m in members) > 4 * MAX_UPLOAD_BYTES:
            raise _bad_upload(name, "the zip archive unpacks to more than "
                              f"{4 * MAX_UPLOAD_BYTES // 2**20} MiB")
        shps = [m for m in members if m.filename.lower().endswith(".shp")]
        inner = [m for m in members if PurePosixPath(m.filename).suffix.lower() in (".gpkg", ".geojson", ".json")]
        if len(shps) > 1:
            listed = ", ".join(sorted(m.filename for m in shps))
            raise _bad_upload(name, f"the zip holds {len(shps)} shapefiles ({listed}); zip one shapefile per upload")
        if not shps:
            if len(inner) == 1:
                return _read_bytes(f"{name}/{inner[0].filename}", archive.read(inner[0]), zipped=True)
            raise _bad_upload(name, "the zip archive holds no .shp file")
        stem = str(PurePosixPath(shps[0].filename).with_suffix("")).lower()
        parts = [m for m in members if str(PurePosixPath(m.filename).with_suffix("")).lower() == stem
                 and PurePosixPath(m.filename).suffix.lower() in _SHAPEFILE_PARTS]
        suffixes = {PurePosixPath(m.filename).suffix.lower() for m in parts}
        missing = [s for s in (".shx", ".dbf") if s not in suffixes]
        if missing:
            raise _bad_upload(name, f"the shapefile {shps[0].filename!r} lacks its {' and '.join(missing)} part")
        with tempfile.TemporaryDirectory(prefix="wce-aoi-") as tmp:
            # Flattened, fixed names: nothing in the archive chooses where a file lands.
            for member in parts:
                target = Path(tmp) / f"upload{PurePosixPath(member.filename).suffix.lower()}"
                target.write_bytes(archive.read(member))
            try:
                frame = gpd.read_file(Path(tmp) / "upload.shp", engine="pyogrio")
            except Exception as exc:  # pyogrio/GDAL errors have no common base class
                raise _bad_upload(name, f"the shapefile could not be read ({exc})") from None
            if ".prj" not in suffixes and frame.crs is None:
                frame.attrs["wce_note"] = "the shapefile has no .prj; its coordinates were taken as lon/lat"
            return frame


def _read_bytes(name: str, data: bytes, *, zipped: bool = False) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pyogrio

    kind = _sniff(name, data)
    if kind == "zip" and not zipped:
        return _read_zip(name, data)
    if kind == "GeoParquet":
        try:
            return gpd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow and geopandas raise several types (ValueError, ArrowInvalid ...)
            raise _bad_upload(name, f"not a GeoParquet file ({exc})") from None
    if kind in ("GeoPackage", "GeoJSON"):
        try:
            with warnings.catch_warnings():  # "non conformant file extension": the buffer has no name
                warnings.simplefilter("ignore", RuntimeWarning)
                layers = pyogrio.list_layers(io.BytesIO(data))
            # by position: a GeoJSON layer is named after the in-memory file, which differs per opening
            geometry_layers = [(i, str(layer)) for i, (layer, geometry_type) in enumerate(layers) if geometry_type]
            if not geometry_layers:
                raise _bad_upload(name, f"the {kind} has no layer with geometries")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                frame = pyogrio.read_dataframe(io.BytesIO(data), layer=geometry_layers[0][0])
        except BadParameterError:
            raise
        except Exception as exc:  # pyogrio/GDAL errors have no common base class
            raise _bad_upload(name, f"not a readable {kind} ({exc})") from None
        if len(geometry_layers) > 1:
            frame.attrs["wce_note"] = (f"the file has {len(geometry_layers)} layers; the first, "
                                       f"{geometry_layers[0][1]!r}, was used")
        return frame
    raise _bad_upload(name, "the content is not a GeoPackage, zip archive, GeoParquet or GeoJSON file")


def read_aoi_file(name: str, data: bytes | bytearray | memoryview) -> gpd.GeoDataFrame:
    """Read an uploaded AOI file from its bytes into a GeoDataFrame of polygons in EPSG:4326.

    The format is recognised from the content (the name is used in messages only): GeoPackage, a zipped
    Shapefile (one ``.shp`` with its ``.shx``/``.dbf``, optionally in a folder inside the zip),
    GeoParquet or GeoJSON. Features without a polygonal geometry are dropped (the ``wce_note`` entry of
    ``frame.attrs`` says how many); invalid polygons are repaired.

    Parameters
    ----------
    name
        The file's name, for messages.
    data
        The file's bytes.

    Returns
    -------
    geopandas.GeoDataFrame
        The file's attribute columns plus ``geometry`` (Polygon/MultiPolygon), CRS EPSG:4326, index 0..n-1.

    Raises
    ------
    BadParameterError
        When the bytes are not one of the allowed formats, cannot be parsed, have no polygon, or have no
        coordinate reference system while not looking like lon/lat. The message names the file and the
        allowed formats.
    """
    data = bytes(data)
    if not data:
        raise _bad_upload(name, "the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _bad_upload(name, f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MiB")
    frame = _read_bytes(name, data)
    notes = [frame.attrs["wce_note"]] if frame.attrs.get("wce_note") else []
    if frame.geometry.name not in frame.columns or len(frame) == 0:
        raise _bad_upload(name, "the file holds no features")
    if frame.crs is None:
        minx, miny, maxx, maxy = frame.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise _bad_upload(name, "the file has no coordinate reference system and its coordinates are not "
                              "longitude/latitude")
        frame = frame.set_crs(4326)
    try:
        frame = frame.to_crs(4326)
    except Exception as exc:  # pyproj errors when the CRS cannot be transformed
        raise _bad_upload(name, f"its coordinate reference system cannot be converted to EPSG:4326 ({exc})") from None
    geometries = [_polygonal(g) for g in frame.geometry]
    keep = [g is not None for g in geometries]
    n_dropped = keep.count(False)
    if n_dropped == len(frame):
        kinds = sorted({g.geom_type for g in frame.geometry if g is not None and not g.is_empty}) or ["none"]
        raise _bad_upload(name, f"the file has no polygon features (geometry types: {', '.join(kinds)}); "
                          "an area of interest needs polygons")
    frame = frame.set_geometry([g for g in geometries], crs=4326)
    frame = frame.loc[keep].reset_index(drop=True)
    if n_dropped:
        notes.append(f"{n_dropped} feature(s) without a polygon were skipped")
    frame.attrs["wce_note"] = "; ".join(notes)
    return frame


def _feature_labels(frame: gpd.GeoDataFrame) -> list[str]:
    columns = {str(c).lower(): c for c in frame.columns if c != frame.geometry.name}
    column = next((columns[c] for c in _LABEL_COLUMNS if c in columns), None)
    if column is None:
        column = next((c for c in frame.columns if c != frame.geometry.name and frame[c].dtype == object), None)
    labels = []
    for i in range(len(frame)):
        value = frame[column].iloc[i] if column is not None else None
        text = str(value) if value is not None and str(value) not in ("", "nan", "None") else ""
        labels.append(f"{i + 1}: {text}" if text else f"feature {i + 1}")
    return labels


# --- the upload component -----------------------------------------------------------------------------
@dataclass(frozen=True)
class AoiSelection:
    """What :class:`AoiUpload` hands to its listeners: the chosen features of one uploaded file.

    Attributes
    ----------
    filename
        The uploaded file's name.
    upload_id
        Counts uploads; a new choice in the dropdown repeats the id of the file it belongs to.
    choice
        ``"union"``, ``"each"`` or the chosen feature's label.
    ids
        One name per shape (a single one for a feature or the union).
    geometries
        One (Multi)Polygon per shape, EPSG:4326.
    """

    filename: str
    upload_id: int
    choice: str
    ids: tuple[str, ...]
    geometries: tuple[Polygon | MultiPolygon, ...]

    @property
    def geometry(self) -> Polygon | MultiPolygon:
        """All chosen shapes as one (Multi)Polygon."""
        if len(self.geometries) == 1:
            return self.geometries[0]
        merged = shapely.union_all(list(self.geometries))
        return merged if isinstance(merged, (Polygon, MultiPolygon)) else _polygonal(merged)


class AoiUpload(w.VBox):
    """A file upload for an area of interest, with a feature dropdown for files holding several.

    Uploading parses the file (:func:`read_aoi_file`); a file with one feature is handed to the
    listeners at once; with several, a dropdown appears ("all (union)" first, then each feature) and the
    union is handed over, then every new choice. Errors (unreadable file, a listener refusing the
    shape) are shown in red in :attr:`message`.

    Parameters
    ----------
    allow_each
        Offer "all (each separately)" in the dropdown (for maps that keep several shapes).
    message
        An ``ipywidgets.HTML`` to write messages to (shared with the map); a new one when ``None``.
    description
        The upload button's text.
    """

    def __init__(self, *, allow_each: bool = False, message: w.HTML | None = None,
                 description: str = "Upload AOI", **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("wce-aoi-upload")
        self.allow_each = allow_each
        self.file_upload = w.FileUpload(accept=_ACCEPT, multiple=False, description=description,
                                        icon="upload", layout=w.Layout(width="auto"))
        self.file_upload.add_class("wce-aoi-file")
        self.file_upload.tooltip = f"Upload an area of interest: {ALLOWED_FORMATS}"
        self.choice = w.Dropdown(options=[], description="Feature", layout=w.Layout(width="320px", display="none"),
                                 style={"description_width": "60px"})
        self.choice.add_class("wce-aoi-choice")
        self.message = message if message is not None else w.HTML()
        self.message.add_class("wce-aoi-message")
        #: The last uploaded file as read (all its polygon features), or ``None``.
        self.gdf: gpd.GeoDataFrame | None = None
        self.filename: str | None = None
        self._labels: list[str] = []
        self._upload_id = 0
        self._listeners: list[Callable[[AoiSelection], Any]] = []
        self._choosing = False
        self.file_upload.observe(self._on_upload, "value")
        self.choice.observe(self._on_choice, "value")
        row = w.HBox([self.file_upload, self.choice], layout=w.Layout(align_items="center", flex_flow="row wrap"))
        self.children = [row] if message is not None else [row, self.message]

    def on_select(self, callback: Callable[[AoiSelection], Any], remove: bool = False) -> None:
        """Call ``callback(selection)`` for every uploaded shape chosen.

        The callback may return a short text saying what it did (shown after the file name) or raise an
        :class:`~worldcereal_explorer.errors.InvalidInputError` to refuse the shape (shown in red).

        Parameters
        ----------
        callback
            Receives an :class:`AoiSelection`.
        remove
            Unregister ``callback`` instead.
        """
        if remove:
            self._listeners.remove(callback)
        else:
            self._listeners.append(callback)

    # --- messages -----------------------------------------------------------------------------------------
    def show_message(self, text: str, *, error: bool = False) -> None:
        """Show ``text`` (escaped) under the upload, in red when ``error``."""
        colour = "#c62828" if error else "#2e7d32"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""

    def reset(self) -> None:
        """Forget the last file and hide the dropdown (the message stays)."""
        self.gdf = None
        self.filename = None
        self._labels = []
        with self._hold_choice():
            self.choice.options = []
        self.choice.layout.display = "none"

    # --- upload -> listeners ------------------------------------------------------------------------------
    def load(self, name: str, data: bytes | bytearray | memoryview) -> AoiSelection | None:
        """Read a file's bytes as if it had been uploaded; return the selection handed over.

        Parameters
        ----------
        name
            The file's name.
        data
            Its content.

        Returns
        -------
        AoiSelection or None
            What the listeners received, ``None`` when the file or the shape was refused (see
            :attr:`message`).
        """
        try:
            frame = read_aoi_file(name, data)
        except InvalidInputError as exc:
            self.reset()
            self.show_message(str(exc), error=True)
            return None
        self._upload_id += 1
        self.gdf, self.filename = frame, name
        self._labels = _feature_labels(frame)
        options: list[tuple[str, str]] = []
        if len(frame) > 1:
            options.append((f"all {len(frame)} features (union)", UNION))
            if self.allow_each:
                options.append((f"all {len(frame)} features (each separately)", EACH))
        options += [(label, str(i)) for i, label in enumerate(self._labels)]
        with self._hold_choice():
            self.choice.options = options
            self.choice.value = options[0][1]
        self.choice.layout.display = "" if len(frame) > 1 else "none"
        return self._emit(note=frame.attrs.get("wce_note", ""))

    def select(self, value: str) -> AoiSelection | None:
        """Choose features of the last upload: ``"union"``, ``"each"`` (when allowed), a feature index or its
        label; like picking it in the dropdown.

        Raises
        ------
        BadParameterError
            When there is no upload or ``value`` is not one of the choices.
        """
        if self.gdf is None:
            raise BadParameterError("no uploaded file to choose features from; upload a file first")
        values = {v for _, v in self.choice.options}
        key = {"union": UNION, "all": UNION, "each": EACH}.get(str(value), str(value))
        if key not in values and str(value) in self._labels:
            key = str(self._labels.index(str(value)))
        if key not in values:
            allowed = ", ".join(repr(label) for label, _ in self.choice.options)
            raise BadParameterError(f"feature choice {value!r} is not one of the choices: {allowed}")
        with self._hold_choice():
            self.choice.value = key
        return self._emit()

    @contextlib.contextmanager
    def _hold_choice(self) -> Iterator[None]:
        """Change the dropdown without handing the change to the listeners."""
        previous, self._choosing = self._choosing, True
        try:
            yield
        finally:
            self._choosing = previous

    def _selection(self) -> AoiSelection:
        assert self.gdf is not None and self.filename is not None
        key = self.choice.value or UNION
        geometries = list(self.gdf.geometry)
        stem = Path(self.filename).stem or "upload"
        if key == EACH:
            return AoiSelection(self.filename, self._upload_id, "each",
                                tuple(f"{stem}: {label}" for label in self._labels), tuple(geometries))
        if key == UNION:
            ids = (stem,) if len(geometries) > 1 else (f"{stem}: {self._labels[0]}",)
            merged = _polygonal(shapely.union_all(geometries)) if len(geometries) > 1 else geometries[0]
            return AoiSelection(self.filename, self._upload_id, "union", ids, (merged,))
        index = int(key)
        return AoiSelection(self.filename, self._upload_id, self._labels[index],
                            (f"{stem}: {self._labels[index]}",), (geometries[index],))

    def _emit(self, note: str = "") -> AoiSelection | None:
        selection = self._selection()
        reports = []
        try:
            for callback in list(self._listeners):
                report = callback(selection)
                if isinstance(report, str) and report:
                    reports.append(report)
        except InvalidInputError as exc:
            self.show_message(f"{self.filename}: {exc}", error=True)
            return None
        if not reports:
            area = sum(aoi_area_km2(g) for g in selection.geometries)
            reports.append(f"{len(selection.geometries)} shape(s), {_format_km2(area)}")
        text = f"{self.filename}: {'; '.join(reports)}"
        self.show_message(f"{text} ({note})" if note else text)
        return selection

    def _on_upload(self, change: dict) -> None:
        for name, content in _uploaded_files(change.get("new")):
            self.load(name, content)
        if change.get("new"):
            # Empty the picker so the same file can be uploaded again (this fires once more, with nothing).
            self.file_upload.value = ()

    def _on_choice(self, change: dict) -> None:
        if not self._choosing and self.gdf is not None and change.get("new"):
            self._emit()


def _uploaded_files(value: Any) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of a FileUpload value: a tuple of dicts (ipywidgets 8) or a dict by name (7)."""
    if not value:
        return
    if isinstance(value, dict):
        for name, info in value.items():
            yield str(info.get("metadata", {}).get("name", name)), bytes(info["content"])
        return
    for info in value:
        yield str(info["name"]), bytes(info["content"])


# --- the map ------------------------------------------------------------------------------------------
class AoiMap(w.VBox):
    """Draw (rectangle or polygon) or upload an area of interest on an ipyleaflet map.

    In ``"single"`` mode a new shape replaces the previous one; in ``"multi"`` mode shapes accumulate
    (an upload can add all its features separately). A shape larger than ``area_limit`` (km², measured in
    an equal-area projection) is refused with a message naming its area and the limit.

    Parameters
    ----------
    area_limit
        Largest area accepted per shape, in km²; ``None`` for no limit.
    display_ui
        Display the widget at once (in a notebook); with ``False`` display the object yourself.
    mode
        ``"single"`` or ``"multi"``.
    height
        CSS height of the map.

    Raises
    ------
    BadParameterError
        For an unknown ``mode`` or an ``area_limit`` that is not a positive number.

    Examples
    --------
    >>> aoi = ui_map(area_limit=250)                   # doctest: +SKIP
    >>> aoi.get_bbox()                                 # doctest: +SKIP
    AoiBBox(west=4.9, south=51.1, east=5.2, north=51.3, epsg=4326)
    >>> aoi.get_bbox(projection="utm").epsg            # doctest: +SKIP
    32631
    """

    def __init__(self, area_limit: float | None = None, display_ui: bool = True,
                 mode: Literal["single", "multi"] = "single", *, height: str = "450px", **kwargs: Any):
        if mode not in ("single", "multi"):
            raise BadParameterError(f"mode={mode!r} is not allowed; use 'single' or 'multi'")
        if area_limit is not None and (isinstance(area_limit, bool) or not isinstance(area_limit, (int, float))
                                       or not math.isfinite(area_limit) or area_limit <= 0):
            raise BadParameterError(f"area_limit={area_limit!r} is not allowed; use a positive number of km² or None")
        super().__init__(**kwargs)
        self.add_class("wce-aoi-map")
        self.area_limit = float(area_limit) if area_limit is not None else None
        self.mode = mode
        self._shapes: list[_Aoi] = []
        self._n_drawn = 0

        self.map = Map(center=(30, 10), zoom=2, scroll_wheel_zoom=True,
                       layout=w.Layout(height=height, width="100%"))
        self.map.add(ScaleControl(position="bottomleft"))
        self.draw_control = DrawControl(rectangle=_DRAW_STYLE, polygon=_DRAW_STYLE, polyline={}, circle={},
                                        circlemarker={}, marker={}, edit=False, remove=True)
        self.draw_control.on_draw(self._on_draw)
        self.map.add(self.draw_control)
        self.aoi_layer = GeoJSON(data=_features([]), name="area of interest", style=_AOI_STYLE)
        self.map.add(self.aoi_layer)

        self.message = w.HTML()
        self.message.add_class("wce-aoi-message")
        self.upload = AoiUpload(allow_each=mode == "multi", message=self.message)
        self.upload.on_select(self._on_upload)
        self.clear_button = w.Button(description="Clear", icon="trash", layout=w.Layout(width="auto"))
        self.clear_button.add_class("wce-aoi-clear")
        self.clear_button.on_click(lambda _: self.clear())
        limit = f" (at most {_format_km2(self.area_limit)} per shape)" if self.area_limit is not None else ""
        hint = w.HTML(f"<i>Draw a rectangle or polygon, or upload a file{html.escape(limit)}.</i>")
        self.children = [self.map, w.HBox([self.upload, self.clear_button, hint],
                                          layout=w.Layout(align_items="center", flex_flow="row wrap")),
                         self.message]
        if display_ui:
            from IPython.display import display

            display(self)

    # --- public API ---------------------------------------------------------------------------------------
    def show_map(self) -> AoiMap:
        """The widget itself (the reference's older ``show_map()``)."""
        return self

    @property
    def n_shapes(self) -> int:
        """How many shapes are held."""
        return len(self._shapes)

    def get_gdf(self) -> gpd.GeoDataFrame:
        """The shapes as a GeoDataFrame (columns ``id``, ``source``, ``geometry``; EPSG:4326).

        Raises
        ------
        BadExtentError
            When nothing was drawn or uploaded yet.
        """
        import geopandas as gpd

        self._require_shapes()
        return gpd.GeoDataFrame({"id": [s.id for s in self._shapes], "source": [s.source for s in self._shapes]},
                                geometry=[s.geometry for s in self._shapes], crs="EPSG:4326")

    def get_poly(self) -> Polygon | MultiPolygon:
        """The area of interest as one shapely Polygon/MultiPolygon in EPSG:4326 (all shapes merged in
        ``"multi"`` mode).

        Raises
        ------
        BadExtentError
            When nothing was drawn or uploaded yet.
        """
        self._require_shapes()
        if len(self._shapes) == 1:
            return self._shapes[0].geometry
        return _polygonal(shapely.union_all([s.geometry for s in self._shapes]))

    def get_bbox(self, projection: Literal["latlon", "utm"] = "latlon") -> AoiBBox:
        """The bounding box of the area of interest, like the reference's ``BoundingBoxExtent``.

        Parameters
        ----------
        projection
            ``"latlon"``: degrees, EPSG:4326. ``"utm"``: metres in the WGS 84 UTM zone of the shape's
            centroid; the box covers the whole lon/lat box (its edges are densified before projecting).

        Returns
        -------
        AoiBBox
            ``(west, south, east, north)`` with ``.epsg`` (4326, or 326xx/327xx).

        Raises
        ------
        BadParameterError
            When ``projection`` is not ``"latlon"`` or ``"utm"``.
        BadExtentError
            When nothing was drawn or uploaded yet.
        """
        if projection not in ("latlon", "utm"):
            raise BadParameterError(f"projection={projection!r} is not allowed; use 'latlon' or 'utm'")
        poly = self.get_poly()
        west, south, east, north = (float(v) for v in poly.bounds)
        if projection == "latlon":
            return AoiBBox(west, south, east, north, 4326)
        epsg = utm_epsg(poly)
        transformer = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
        return AoiBBox(*transformer.transform_bounds(west, south, east, north, densify_pts=21), epsg)

    def get_area_km2(self) -> float:
        """Area of :meth:`get_poly` in km² (equal-area projection)."""
        return aoi_area_km2(self.get_poly())

    def save_gdf(self, output_dir: str | Path, outputname: str | None = None) -> Path:
        """Write :meth:`get_gdf` to ``<output_dir>/<outputname>.gpkg`` (atomically) and return the path.

        Parameters
        ----------
        output_dir
            Folder (created when missing).
        outputname
            File name without (or with) ``.gpkg``; in ``"single"`` mode it defaults to the shape's id
            (made file-name safe). Letters, digits, ``. _ -`` and spaces only.

        Returns
        -------
        pathlib.Path
            The written GeoPackage (layer ``aoi``).

        Raises
        ------
        BadParameterError
            When ``outputname`` is missing in ``"multi"`` mode or is not a plain file name.
        BadExtentError
            When nothing was drawn or uploaded yet.
        """
        from ..files import atomic_path

        gdf = self.get_gdf()
        if outputname is None:
            if self.mode != "single":
                raise BadParameterError("save_gdf needs an outputname in 'multi' mode, e.g. save_gdf(dir, 'fields')")
            outputname = re.sub(r"[^A-Za-z0-9._-]+", "_", str(gdf["id"].iloc[0])).strip("._") or "aoi"
        name = str(outputname)
        if name.lower().endswith(".gpkg"):
            name = name[:-5]
        if not name or name in (".", "..") or not re.fullmatch(r"[A-Za-z0-9._ -]+", name):
            raise BadParameterError(f"outputname={outputname!r} is not a plain file name; "
                                    "use letters, digits, '.', '_', '-' and spaces")
        path = Path(output_dir) / f"{name}.gpkg"
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL: the temporary name does not end in .gpkg
            gdf.to_file(tmp, driver="GPKG", layer="aoi", engine="pyogrio")
        return path

    def set_shape(self, geometry: Any, *, id: str | None = None) -> None:  # noqa: A002 - mirrors the gdf column
        """Add (``"multi"``) or set (``"single"``) a shape from Python, with the same checks as a drawing.

        Parameters
        ----------
        geometry
            A shapely Polygon/MultiPolygon or a GeoJSON geometry/Feature mapping, EPSG:4326.
        id
            Its name (``"drawn <n>"`` when ``None``).

        Raises
        ------
        BadExtentError
            When it is not polygonal or larger than ``area_limit``.
        """
        geom = _as_polygonal(geometry)
        self._n_drawn += 1
        self._add([_Aoi(id or f"drawn {self._n_drawn}", "draw", geom)], replace_source=None)

    def clear(self) -> None:
        """Remove every shape (and the upload's feature choice)."""
        self._shapes = []
        self.draw_control.clear()
        self.upload.reset()
        self._render()
        self.message.value = ""

    # --- events -------------------------------------------------------------------------------------------
    def _on_draw(self, control: Any, action: str, geo_json: dict) -> None:
        geometry = (geo_json or {}).get("geometry")
        if action == "deleted":
            self._delete(geometry)
            return
        if action not in ("created", "edited"):
            return
        # The drawing is shown by the AOI layer from now on (or refused): the draw tool's copy goes.
        self.draw_control.clear()
        try:
            self.set_shape(geometry)
            self.upload.reset()  # the dropdown belonged to an upload the drawing replaced or joined
        except InvalidInputError as exc:
            self._show(str(exc), error=True)

    def _on_upload(self, selection: AoiSelection) -> str:
        shapes = [_Aoi(i, f"upload:{selection.filename}#{selection.upload_id}", g)
                  for i, g in zip(selection.ids, selection.geometries, strict=True)]
        return self._add(shapes, replace_source=shapes[0].source)  # a new choice replaces that file's shapes

    def _delete(self, geometry: Any) -> None:
        if self.mode == "single" or not geometry:
            self.clear()
            return
        try:
            gone = shape(geometry)
        except Exception:  # a malformed event: nothing to match
            return
        self._shapes = [s for s in self._shapes if not s.geometry.equals_exact(gone, tolerance=1e-6)]
        self._render()

    # --- internals ----------------------------------------------------------------------------------------
    def _require_shapes(self) -> None:
        if not self._shapes:
            raise BadExtentError("no area of interest yet: draw a rectangle or polygon on the map, or upload a "
                                 f"file ({ALLOWED_FORMATS}), first")

    def _check_area(self, shapes: Sequence[_Aoi]) -> list[float]:
        areas = [aoi_area_km2(s.geometry) for s in shapes]
        if self.area_limit is not None:
            too_big = [(s, a) for s, a in zip(shapes, areas, strict=True) if a > self.area_limit]
            if too_big:
                which = ", ".join(f"{s.id!r} is {_format_km2(a)}" for s, a in too_big[:5])
                raise BadExtentError(f"area of interest too large: {which}, more than the limit of "
                                     f"{_format_km2(self.area_limit)}; draw or upload a smaller area")
        return areas

    def _add(self, shapes: list[_Aoi], *, replace_source: str | None) -> str:
        areas = self._check_area(shapes)
        if self.mode == "single":
            self._shapes = [_Aoi(shapes[0].id, shapes[0].source, _polygonal(shapely.union_all(
                [s.geometry for s in shapes])) if len(shapes) > 1 else shapes[0].geometry)]
        else:
            kept = [s for s in self._shapes if replace_source is None or s.source != replace_source]
            self._shapes = kept + shapes
        self._render(zoom=True)
        bounds = ", ".join(f"{v:.4f}" for v in self.get_poly().bounds)
        report = (f"{len(shapes)} shape(s) added, {_format_km2(sum(areas))}; area of interest: "
                  f"{len(self._shapes)} shape(s), bbox (W, S, E, N) = ({bounds})")
        self._show(report)
        return report

    def _show(self, text: str, *, error: bool = False) -> None:
        self.upload.show_message(text, error=error)

    def _render(self, zoom: bool = False) -> None:
        self.aoi_layer.data = _features([{"type": "Feature", "properties": {"id": s.id, "source": s.source},
                                          "geometry": mapping(s.geometry)} for s in self._shapes])
        if zoom and self._shapes:
            west, south, east, north = self.get_poly().bounds
            self.map.fit_bounds([[south, west], [north, east]])


def _features(features: list) -> dict:
    return {"type": "FeatureCollection", "features": features}


def _as_polygonal(geometry: Any) -> Polygon | MultiPolygon:
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        geometry = geometry.get("geometry")
    if isinstance(geometry, str):
        try:
            geometry = json.loads(geometry)
        except ValueError:
            raise BadExtentError(f"shape {geometry[:60]!r} is not GeoJSON") from None
    try:
        geom = geometry if isinstance(geometry, BaseGeometry) else shape(geometry or {})
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise BadExtentError(f"shape {str(geometry)[:80]!r} is not a valid GeoJSON geometry ({exc})") from None
    result = _polygonal(geom)
    if result is None:
        raise BadExtentError(f"shape of type {geom.geom_type} is not an area; draw a rectangle or a polygon")
    return result


#: The reference client's name for the AOI map (``worldcereal.utils.map.ui_map``).
ui_map = AoiMap
