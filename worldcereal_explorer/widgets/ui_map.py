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

import html
import json
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import ipywidgets as w
import shapely
from ipyleaflet import DrawControl, GeoJSON, Map, ScaleControl
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from ..errors import BadExtentError, BadParameterError, InvalidInputError

if TYPE_CHECKING:
    import geopandas as gpd

from ..aoi import (  # noqa: F401 (re-exported: ui_map is where notebooks import them from)
    ALLOWED_FORMATS,
    AoiBBox,
    _format_km2,
    _polygonal,
    aoi_area_km2,
    read_aoi_file,
    utm_epsg,
)
from .aoi_upload import EACH, UNION, AoiSelection, AoiUpload  # noqa: F401 (re-exported)
from .map_view import view_fitter
from .wheel_guard import WheelGuard

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


_AOI_STYLE = {"color": "#0055cc", "weight": 2, "fillColor": "#6be5c3", "fillOpacity": 0.25}
_DRAW_STYLE = {"shapeOptions": {"color": "#0055cc", "fillColor": "#6be5c3", "fillOpacity": 0.3},
               "allowIntersection": False, "metric": ["km"]}



@dataclass(frozen=True)
class _Aoi:
    id: str
    source: str
    geometry: Polygon | MultiPolygon




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

        self.map = Map(center=(30, 10), zoom=2, scroll_wheel_zoom=False,
                       layout=w.Layout(height=height, width="100%"))
        # the wheel scrolls the page until the map is clicked (or on Ctrl/Cmd+wheel), as web maps do
        self.wheel = WheelGuard(self.map)
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
                         self.message, *([self.wheel.widget] if self.wheel.widget is not None else [])]
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
            view_fitter(self.map).fit((west, south, east, north))


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

