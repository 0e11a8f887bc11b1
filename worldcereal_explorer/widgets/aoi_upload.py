"""The one AOI upload component: a file picker, a feature dropdown, and a message line.

Used by :func:`~worldcereal_explorer.widgets.ui_map.ui_map` and the dashboard's map. Parsing is
:func:`worldcereal_explorer.aoi.read_aoi_file` (local bytes only, no network).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import shapely
from shapely.geometry import MultiPolygon, Polygon

from ..aoi import ALLOWED_FORMATS, aoi_area_km2, feature_labels, format_km2, polygonal, read_aoi_file
from ..errors import BadParameterError, InvalidInputError
from .parts import EchoGuard

if TYPE_CHECKING:
    import geopandas as gpd

_ACCEPT = ".gpkg,.zip,.parquet,.geoparquet,.geojson,.json"

#: Dropdown values: ``UNION`` = every feature merged into one shape, ``EACH`` = one shape per feature.
UNION = "__union__"
EACH = "__each__"


@dataclass(frozen=True)
class AoiSelection:
    """What :class:`AoiUpload` hands to its listeners: the chosen features of one uploaded file.

    One is made for each upload and each new choice in the dropdown, and passed to every callback
    registered with :meth:`AoiUpload.on_select`; :attr:`geometry` joins its shapes into one.

    Attributes
    ----------
    filename : str
        The uploaded file's name.
    upload_id : int
        Counts uploads; a new choice in the dropdown repeats the id of the file it belongs to.
    choice : str
        ``"union"``, ``"each"`` or the chosen feature's label.
    ids : tuple of str
        One name per shape (a single one for a feature or the union).
    geometries : tuple of shapely (Multi)Polygon
        One per shape, in EPSG:4326 degrees, in the order of ``ids``.
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
        return merged if isinstance(merged, (Polygon, MultiPolygon)) else polygonal(merged)


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
        # raised while the widget sets the dropdown itself: that change is not handed to the listeners
        self._hold_choice = EchoGuard()
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
        self._labels = feature_labels(frame)
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
            merged = polygonal(shapely.union_all(geometries)) if len(geometries) > 1 else geometries[0]
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
            reports.append(f"{len(selection.geometries)} shape(s), {format_km2(area)}")
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
        if not self._hold_choice and self.gdf is not None and change.get("new"):
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
