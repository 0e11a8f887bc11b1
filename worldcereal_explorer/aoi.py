"""Areas of interest from files and their geometry: pure functions, no widgets, no network.

Reading an uploaded vector file from its bytes (GeoPackage, zipped Shapefile, GeoParquet, GeoJSON; reprojected
to EPSG:4326), a box that carries its EPSG code (:class:`AoiBBox`), the equal-area size of an AOI and the UTM
zone of its centre. Used by the AOI widgets (:mod:`worldcereal_explorer.widgets.aoi_upload`, ``ui_map``).
"""

from __future__ import annotations

import io
import math
import tempfile
import warnings
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import shapely
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from .errors import BadParameterError

if TYPE_CHECKING:
    import geopandas as gpd


#: What the upload accepts, for the file picker and for messages.
ALLOWED_FORMATS = ("GeoPackage (.gpkg), zipped Shapefile (.zip), GeoParquet (.parquet, .geoparquet) "
                   "or GeoJSON (.geojson, .json)")
_ACCEPT = ".gpkg,.zip,.parquet,.geoparquet,.geojson,.json"
#: Largest uploaded file read (the whole file travels through the widget comm anyway).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx"}
_LABEL_COLUMNS = ("name", "id", "label", "title", "aoi_id", "fid")



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
        A shapely geometry in EPSG:4326 degrees; only its polygons have an area.

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
        A shapely geometry in EPSG:4326 degrees (any type: only its centroid is used).

    Returns
    -------
    int
        ``32600 + zone`` north of the equator (latitude >= 0), ``32700 + zone`` south of it.
    """
    centre = geometry.centroid
    zone = min(60, max(1, int(math.floor((centre.x + 180.0) / 6.0)) + 1))
    return (32600 if centre.y >= 0 else 32700) + zone


def format_km2(area: float) -> str:
    """An area as the AOI messages show it, e.g. ``"1,234.57 km²"``.

    Parameters
    ----------
    area : float
        Square kilometres.

    Returns
    -------
    str
    """
    return f"{area:,.2f} km²"


def polygonal(geometry: BaseGeometry | None) -> Polygon | MultiPolygon | None:
    """The polygonal part of a geometry (invalid ones repaired), or ``None`` when there is none.

    Parameters
    ----------
    geometry : shapely geometry or None
        Any geometry; lines and points of a collection are dropped, its polygons merged.

    Returns
    -------
    shapely.Polygon, shapely.MultiPolygon or None
    """
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
    geometries = [polygonal(g) for g in frame.geometry]
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


def feature_labels(frame: gpd.GeoDataFrame) -> list[str]:
    """One label per feature of an uploaded file, for picking among them.

    The label is ``"<n>: <value>"`` from the first column named like a name or id (``name``, ``id``,
    ``label``, ``title``, ``aoi_id``, ``fid``; else the first text column), or ``"feature <n>"``.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The features as :func:`read_aoi_file` returns them.

    Returns
    -------
    list of str
        In the frame's order, numbered from 1.
    """
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


# Old private names, kept for importers being migrated (widgets/ui_map.py, regions.py).
_format_km2 = format_km2
_polygonal = polygonal
_feature_labels = feature_labels
