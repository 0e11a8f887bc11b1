"""The parts of a streamed export: the resume journal, the part files, and their assembly into the final file.

See :mod:`worldcereal_explorer.rdm.samples.stream` for how an export runs and what resume means. Parts are
Arrow IPC files (lz4), one per unit (a row group of a source file that can match); the journal
(``journal.json``, rewritten atomically) names the finished units and the source files' identities; the
final file is written from the parts, one at a time, in ``get_samples`` order, atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from ...files import atomic_path, atomic_write_text, gdal_temp_path
from ...transport.http import CallScope
from .convert import canonical_table
from .query import SampleQuery

__all__ = ["BBOX_COLUMN", "Journal", "assemble", "parts_folder", "query_key", "unit_name", "write_part"]

#: The GeoParquet covering column of the output.
BBOX_COLUMN = "bbox"
_JOURNAL = "journal.json"
_PART_COMPRESSION = "lz4"
#: Journal format: 2 = parts are Arrow IPC files (1 = Parquet parts, discarded on resume).
_JOURNAL_VERSION = 2
#: Output columns worth dictionary-encoding in the final GeoParquet: few distinct values per row group.
#: Ids, geometries and their boxes are nearly all distinct; trying a dictionary on them only costs time.
_DICTIONARY_COLUMNS = ("ewoc_code", "irrigation_status", "quality_score_lc", "quality_score_ct", "extract",
                       "h3_l3_cell", "ref_id", "sampling_ewoc_code", "valid_time")


def query_key(query: SampleQuery, ids: list[str], endpoint: str) -> str:
    """A short hash naming the export of ``query`` over ``ids`` from ``endpoint`` (the resume identity)."""
    spatial = None
    if query.spatial is not None:
        spatial = [query.spatial.bbox.as_tuple(),
                   None if query.spatial.geometry is None else query.spatial.geometry.wkb_hex]
    payload = {
        "columns": list(query.columns), "subset": query.subset, "spatial": spatial,
        "temporal": None if query.temporal is None else query.temporal.as_tuple(),
        "codes": None if query.ewoc_codes is None else list(query.ewoc_codes),
        "q": [query.min_quality_lc, query.min_quality_ct], "clip": query.clip, "ids": ids, "endpoint": endpoint,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def parts_folder(path: str | os.PathLike[str], key: str) -> Path:
    """The hidden folder beside ``path`` holding an export's parts and journal."""
    final = Path(path)
    return final.parent / f".{final.name[:100]}.{key}.parts"


class Journal:
    """The finished units and the source files' identities, saved atomically after every change."""

    def __init__(self, folder: Path, key: str, resume: bool):
        self.folder = folder
        self.path = folder / _JOURNAL
        self.lock = threading.Lock()
        self.data: dict[str, Any] = {"version": _JOURNAL_VERSION, "key": key, "files": {}, "units": {}}
        if resume and self.path.is_file():
            with contextlib.suppress(ValueError, OSError):
                loaded = json.loads(self.path.read_text())
                if loaded.get("version") == _JOURNAL_VERSION and loaded.get("key") == key:
                    self.data = loaded
        self.resumed = set(self.data["units"])

    def check_file(self, ref_id: str, identity: dict[str, int]) -> None:
        """Forget ``ref_id``'s units when its source file is not the one they were read from."""
        with self.lock:
            known = self.data["files"].get(ref_id)
            if known == identity:
                return
            for unit in [u for u, v in self.data["units"].items() if v["ref_id"] == ref_id]:
                entry = self.data["units"].pop(unit)
                self.resumed.discard(unit)
                if entry.get("file"):
                    (self.folder / entry["file"]).unlink(missing_ok=True)
            self.data["files"][ref_id] = identity
            self._save()

    def done(self, unit: str) -> bool:
        with self.lock:
            entry = self.data["units"].get(unit)
            return entry is not None and (not entry.get("file") or (self.folder / entry["file"]).is_file())

    def add(self, unit: str, entry: dict[str, Any]) -> None:
        with self.lock:
            self.data["units"][unit] = entry
            self._save()

    def _save(self) -> None:
        atomic_write_text(self.path, json.dumps(self.data))


def unit_name(ref_id: str, row_group: int) -> str:
    """The journal's name of one unit: row group ``row_group`` of collection ``ref_id``'s file."""
    return f"{ref_id}/{row_group}"


def _ordered_units(journal: Journal, ids: list[str], skipped: dict[str, str]) -> list[dict[str, Any]]:
    wanted = {ref_id for ref_id in ids if ref_id not in skipped}
    units = [u for u in journal.data["units"].values() if u["ref_id"] in wanted]
    return sorted(units, key=lambda u: (ids.index(u["ref_id"]), u["row_group"]))


def _geo_metadata(units: list[dict[str, Any]]) -> dict[str, Any]:
    from pyproj import CRS

    types = sorted({t for u in units for t in u.get("types", [])})
    boxes = [u["bbox"] for u in units if u.get("bbox")]
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": types,
        "crs": CRS.from_epsg(4326).to_json_dict(),
        "covering": {"bbox": {k: [BBOX_COLUMN, k] for k in ("xmin", "ymin", "xmax", "ymax")}},
    }
    if boxes:
        array = np.asarray(boxes, dtype=np.float64)
        column["bbox"] = [float(np.nanmin(array[:, 0])), float(np.nanmin(array[:, 1])),
                          float(np.nanmax(array[:, 2])), float(np.nanmax(array[:, 3]))]
    return {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}


def _output_schema(parts: list[Path], fallback: pa.Schema | None, query: SampleQuery) -> pa.Schema:
    schemas = [_part_schema(p) for p in parts]
    if not schemas:
        if fallback is not None:
            return fallback
        empty = canonical_table(pa.table({}), query.columns, [], "")
        fields = [pa.field(n, pa.binary()) if n == "geometry" else empty.schema.field(n) for n in query.columns]
        bbox = pa.struct([(k, pa.float64()) for k in ("xmin", "ymin", "xmax", "ymax")])
        return pa.schema([*fields, pa.field(BBOX_COLUMN, bbox)])
    try:
        return pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Collections disagree on a non-standard column's type: write such columns as text.
        first = schemas[0].remove_metadata()
        fields = [pa.field(f.name, pa.string()) if len({s.field(f.name).type for s in schemas if f.name in s.names}) > 1
                  else f for f in first]
        return pa.schema(fields)


def write_part(table: pa.Table, path: Path) -> None:
    """One unit's rows as an Arrow IPC file: written and read back without any encoding (the parts only live
    until the final file is assembled, so Parquet's encoding would cost time twice for nothing)."""
    options = pa.ipc.IpcWriteOptions(compression=_PART_COMPRESSION)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)


def _read_part(path: Path) -> pa.Table:
    with pa.OSFile(str(path), "rb") as source:  # read into memory: the folder goes away after assembly
        return pa.ipc.open_file(source).read_all()


def part_pieces(path: Path | None, schema: pa.Schema) -> Iterator[pa.Table]:
    """The record batches of one part as tables cast to ``schema``, one at a time (a part of a large row
    group holds several); an empty table for ``None``."""
    if path is None:
        yield schema.empty_table()
        return
    with pa.OSFile(str(path), "rb") as source:
        reader = pa.ipc.open_file(source)
        for k in range(reader.num_record_batches):
            yield _cast(pa.Table.from_batches([reader.get_batch(k)]), schema)


def _pieces_or_empty(parts: list[Path], schema: pa.Schema) -> Iterator[pa.Table]:
    """The pieces of every part in turn; one empty table when there are no parts, so the file is still
    written with the schema's columns."""
    if not parts:
        yield from part_pieces(None, schema)
    for part in parts:
        yield from part_pieces(part, schema)


class PartWriter:
    """One part written piece by piece (the pieces of a large row group): a part appears once closed."""

    def __init__(self, path: Path):
        self.path = path
        self._writer: Any = None
        self._sink: Any = None

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        if self._writer is None:
            self._sink = pa.OSFile(str(self.path), "wb")
            options = pa.ipc.IpcWriteOptions(compression=_PART_COMPRESSION)
            self._writer = pa.ipc.new_file(self._sink, table.schema, options=options)
        self._writer.write_table(table)

    def close(self) -> bool:
        """Finish the file; whether anything was written."""
        if self._writer is None:
            return False
        self._writer.close()
        self._sink.close()
        return True


def _part_schema(path: Path) -> pa.Schema:
    with pa.OSFile(str(path), "rb") as source:
        return pa.ipc.open_file(source).schema


def _cast(table: pa.Table, schema: pa.Schema) -> pa.Table:
    if table.schema.remove_metadata().equals(schema.remove_metadata()):
        return table
    columns = []
    for f in schema:
        column = table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        columns.append(column.cast(f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def assemble(final: Path, fmt: str, folder: Path, journal: Journal, ids: list[str], skipped: dict[str, str],
              empty_schema: pa.Schema | None, query: SampleQuery, scope: CallScope) -> tuple[int, int]:
    """Write the parts, in ``get_samples`` order, into ``final`` atomically. Returns (rows, peak rows held)."""
    units = _ordered_units(journal, ids, skipped)
    parts = [folder / u["file"] for u in units if u.get("file")]
    schema = _output_schema(parts, empty_schema, query)
    rows = peak = 0
    with atomic_path(final) as tmp:
        if fmt == "parquet":
            geo = json.dumps(_geo_metadata(units))
            dictionary = [name for name in schema.names if name in _DICTIONARY_COLUMNS]
            with pq.ParquetWriter(tmp, schema.with_metadata({"geo": geo}), compression="zstd",
                                  use_dictionary=dictionary) as writer:
                for part in parts:
                    for table in part_pieces(part, schema):
                        scope.check()
                        writer.write_table(table, row_group_size=max(1, table.num_rows))
                        rows += table.num_rows
                        peak = max(peak, table.num_rows)
                if not parts:
                    writer.write_table(schema.empty_table())
        elif fmt == "csv":
            rows, peak = _write_csv(tmp, parts, schema, scope)
        else:
            rows, peak = _write_gpkg(tmp, final, parts, schema, scope)
    return rows, peak


def _frame(table: pa.Table) -> Any:
    import geopandas as gpd

    attrs = table.drop_columns([c for c in (BBOX_COLUMN, "geometry") if c in table.column_names])
    frame = attrs.to_pandas()
    geometry = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326", index=frame.index))


def _write_csv(tmp: Path, parts: list[Path], schema: pa.Schema, scope: CallScope) -> tuple[int, int]:
    import pandas as pd

    columns = [n for n in schema.names if n != BBOX_COLUMN]
    rows = peak = 0
    header = True
    for table in _pieces_or_empty(parts, schema):
        scope.check()
        frame = pd.DataFrame(table.drop_columns([BBOX_COLUMN, "geometry"]).to_pandas())
        frame["geometry"] = shapely.to_wkt(shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False)),
                                           rounding_precision=-1) if table.num_rows else []
        frame = frame[columns]
        frame.to_csv(tmp, mode="w" if header else "a", header=header, index=False, date_format="%Y-%m-%dT%H:%M:%S")
        header = False
        rows += table.num_rows
        peak = max(peak, table.num_rows)
    return rows, peak


def _write_gpkg(tmp: Path, final: Path, parts: list[Path], schema: pa.Schema, scope: CallScope) -> tuple[int, int]:
    import pyogrio

    rows = peak = 0
    with gdal_temp_path(tmp, final) as gdal_tmp:
        for n, table in enumerate(_pieces_or_empty(parts, schema)):
            scope.check()
            pyogrio.write_dataframe(_frame(table), gdal_tmp, driver="GPKG", layer="samples", append=n > 0,
                                    geometry_type="Unknown")
            rows += table.num_rows
            peak = max(peak, table.num_rows)
    return rows, peak
