"""Writing a training set: GeoParquet with its dataset card embedded, or the other export formats."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import BadParameterError
from ..files import atomic_path
from ..rdm.export import export_samples, format_from_path
from .card import DatasetCard

__all__ = ["CARD_METADATA_KEY", "export_training_set", "read_card"]

#: Key of the card's JSON in the GeoParquet file's key-value metadata.
CARD_METADATA_KEY = b"worldcereal_explorer:dataset_card"


def export_training_set(samples: Any, path: str | os.PathLike, card: DatasetCard | None = None, *,
                        format: str | None = None) -> Path:
    """Write ``samples`` to ``path`` atomically; in GeoParquet files the card's JSON goes into the metadata.

    Parameters
    ----------
    samples
        The training set (GeoDataFrame).
    path
        Destination: ``.parquet``/``.geoparquet`` (GeoParquet 1.1 with a bbox covering column), ``.gpkg``,
        ``.geojson`` or ``.csv``.
    card
        Its :class:`DatasetCard`: embedded under :data:`CARD_METADATA_KEY` in GeoParquet files (other formats
        cannot hold it: write it beside with :meth:`DatasetCard.write`).
    format
        Format name instead of the suffix (``parquet``, ``gpkg``, ``geojson``, ``csv``).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    fmt = format_from_path(path, format)
    frame = samples.reset_index(drop=True)
    frame.attrs = {}
    if fmt != "parquet":
        return export_samples(frame, path, fmt)
    # geopandas' public writer makes the GeoParquet table (the "geo" metadata, WKB, the bbox covering) but
    # takes no extra file metadata; so it writes to memory, uncompressed, and the table read back gets the
    # card before the compressed file is written.
    sink = pa.BufferOutputStream()
    try:
        frame.to_parquet(sink, index=False, schema_version="1.1.0", write_covering_bbox=True, compression=None)
    except ValueError as exc:
        raise BadParameterError(f"cannot write the training set to {str(path)!r}: {exc}") from exc
    table = pq.read_table(pa.BufferReader(sink.getvalue()))
    if card is not None:
        metadata = dict(table.schema.metadata or {})
        metadata[CARD_METADATA_KEY] = card.to_json(indent=None).encode("utf-8")
        table = table.replace_schema_metadata(metadata)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=20_000)
    return Path(path)


def read_card(path: str | os.PathLike) -> DatasetCard | None:
    """The card embedded in a GeoParquet file written by :func:`export_training_set` (``None`` if it has none)."""
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(CARD_METADATA_KEY)
    return DatasetCard.from_json(raw) if raw else None
