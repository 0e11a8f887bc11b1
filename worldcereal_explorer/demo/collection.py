"""One collection folder of a catalogue: sample files, API record, access rules and metadata.

The folder layout is the one :mod:`worldcereal_explorer.server.catalog` reads: ``<NAME>.geoparquet`` (all
samples), ``sample_<NAME>.parquet`` (the ``extract > 0`` subset), ``collection.json``, ``access.json``
(non-public only), ``metadata_items.json``, ``metadata.xlsx`` and optionally ``harmonization.pdf``. The
record and the metadata are derived from the samples, so they always agree with the files.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import __version__
from ..extents import BBox
from ..geoparquet import write_geoparquet
from ..rdm.models import Collection
from .documents import write_json, write_pdf, write_xlsx

__all__ = ["CollectionInfo", "write_collection"]

#: Namespace of the collections' ``fid`` (uuid5 of seed and id), so ids repeat with the seed.
_NAMESPACE = uuid.UUID("6f1d3c52-8a9e-4c1b-9d7a-2f5e1c0b7a41")


@dataclass(frozen=True)
class CollectionInfo:
    """What a collection's record says about it beyond its samples."""

    collection_id: str
    original_name: str  # e.g. 2021_BEL_LPIS-DEMO_POLY_110: the file names' form
    title: str
    description: str
    country: str
    continent: str
    access: str = "Public"
    owner: str | None = None
    groups: tuple[str, ...] = ()
    confidence: tuple[int, int, int] = (80, 75, 0)  # confidenceLandCover, CropType, IrrigationType
    observation_method: str = "Unknown"


@dataclass(frozen=True)
class _Stats:
    """Code counts of a collection's samples, most frequent first."""

    lc: list[tuple[int, int]]
    ewoc: list[tuple[int, int]]
    irr: list[tuple[int, int]]


def _ranked(values: np.ndarray) -> list[tuple[int, int]]:
    codes, counts = np.unique(values, return_counts=True)
    pairs = [(int(c), int(n)) for c, n in zip(codes, counts, strict=True)]
    return sorted(pairs, key=lambda p: (-p[1], p[0]))


def _stamp(rng: np.random.Generator, year: int) -> str:
    day = dt.datetime(year, 1, 1) + dt.timedelta(seconds=int(rng.integers(0, 364 * 86400)))
    return day.strftime("%Y-%m-%dT%H:%M:%S") + f".{int(rng.integers(0, 1_000_000)):06d}"


def write_collection(
    root: Path,
    info: CollectionInfo,
    gdf: gpd.GeoDataFrame,
    *,
    rng: np.random.Generator,
    seed: int,
    lc_of: dict[int, int],
    row_group_size: int,
    harmonization_pdf: bool,
) -> dict[str, Any]:
    """Write the folder ``root / info.collection_id`` for the samples ``gdf``.

    Parameters
    ----------
    root
        The catalogue folder.
    info
        Id, names, access and confidences of the collection.
    gdf
        The collection's samples (:func:`~worldcereal_explorer.demo.samples.synthesize_samples`).
    rng
        The collection's random stream, continued after the samples (it draws the record's timestamps).
    seed
        The catalogue's seed, quoted in the metadata and part of the record's ``fid``.
    lc_of
        ``{ewoc_code: LC_code}`` from the legend, for the land cover counts; codes missing from it count
        under their first two digits.
    row_group_size
        Rows per Parquet row group.
    harmonization_pdf
        Also write ``harmonization.pdf`` and link it from the metadata.

    Returns
    -------
    dict
        The collection's API object (the content of ``collection.json``).
    """
    folder = root / info.collection_id
    folder.mkdir(parents=True, exist_ok=True)
    full_name = f"{info.original_name.upper()}.geoparquet"
    subset_name = f"sample_{info.original_name.upper()}.parquet"
    write_geoparquet(gdf, folder / full_name, row_group_size=row_group_size)
    write_geoparquet(gdf[gdf["extract"] > 0].reset_index(drop=True), folder / subset_name,
                     row_group_size=row_group_size)

    stats = _Stats(
        lc=_ranked(np.array([lc_of.get(int(c), int(str(c)[:2])) for c in gdf["ewoc_code"]])),
        ewoc=_ranked(gdf["ewoc_code"].to_numpy()),
        irr=_ranked(gdf["irrigation_status"].to_numpy()),
    )
    api = _record(info, gdf, stats, rng=rng, seed=seed).to_api()
    write_json(folder / "collection.json", api)
    if info.access != "Public":
        write_json(folder / "access.json", {"owner": info.owner, "groups": list(info.groups)})

    pairs = _metadata_pairs(info, gdf, stats, seed=seed, full_name=full_name, subset_name=subset_name,
                            harmonization_pdf=harmonization_pdf)
    items = [{"id": i, "name": name, "value": value, "type": "text"} for i, (name, value) in enumerate(pairs, 1)]
    write_json(folder / "metadata_items.json", items)
    write_xlsx(folder / "metadata.xlsx", info.title, items)
    if harmonization_pdf:
        write_pdf(folder / "harmonization.pdf", [
            f"Harmonization report: {info.collection_id}",
            "SYNTHETIC DEMO DATA generated by worldcereal-explorer.",
            "No real observations; labels follow the WorldCereal LC/CT legend codes.",
            f"Samples: {len(gdf)}; crop types: {len(stats.ewoc)}; seed {seed}.",
        ])
    return api


def _geometry_type(gdf: gpd.GeoDataFrame) -> str:
    return "Polygon" if gdf.geometry.iloc[0].geom_type == "Polygon" else "Point"


def _bounds(gdf: gpd.GeoDataFrame) -> list[float]:
    return [round(float(v), 7) for v in gdf.total_bounds]


def _record(info: CollectionInfo, gdf: gpd.GeoDataFrame, stats: _Stats, *, rng: np.random.Generator,
            seed: int) -> Collection:
    first = pd.Timestamp(gdf["valid_time"].min())
    last = pd.Timestamp(gdf["valid_time"].max())
    # Drawn in this order (created, then modified) since the first release: the order fixes the values.
    created = _stamp(rng, first.year + 1)
    modified = _stamp(rng, first.year + 2)
    return Collection(
        id=info.collection_id,
        access_type=info.access,
        title=info.title,
        feature_count=len(gdf),
        data_type=_geometry_type(gdf),
        observation_method=info.observation_method,
        confidence_lc=info.confidence[0],
        confidence_ct=info.confidence[1],
        confidence_irr=info.confidence[2],
        ewoc_codes=[c for c, _ in stats.ewoc],
        irr_codes=sorted(c for c, _ in stats.irr),
        bbox=BBox(*_bounds(gdf)),
        temporal_extent=(first.strftime("%Y-%m-%dT00:00:00"), last.strftime("%Y-%m-%dT00:00:00")),
        additional_data="",
        last_modified=modified,
        last_modified_by=None,
        creation_time=created,
        created_by=None,
        fid=str(uuid.uuid5(_NAMESPACE, f"{seed}/{info.collection_id}")),
    )


def _metadata_pairs(info: CollectionInfo, gdf: gpd.GeoDataFrame, stats: _Stats, *, seed: int, full_name: str,
                    subset_name: str, harmonization_pdf: bool) -> list[tuple[str, str]]:
    """The ``(name, value)`` metadata items of the live RDM, in its order, ending with ``codeStats``."""
    collection_id, title, description = info.collection_id, info.title, info.description
    country, continent, observation_method, confidence = (
        info.country, info.continent, info.observation_method, info.confidence)
    lc_stats, ewoc_stats, irr_stats = stats.lc, stats.ewoc, stats.irr
    geometry_type = _geometry_type(gdf)
    bounds = _bounds(gdf)
    first = pd.Timestamp(gdf["valid_time"].min())
    last = pd.Timestamp(gdf["valid_time"].max())
    pairs: list[tuple[str, str]] = [
        ("CuratedDataSet:ReferenceCuratedDataSet:NameCuratedDataSet:", collection_id),
        ("CuratedDataSet::TitleCuratedDataSet:", title),
        ("OriginalDataSet:Provider:Code:", "WorldCereal-Explorer-Demo"),
        ("OriginalDataSet:Provider:DescriptionCuratedDataSet:",
         "Synthetic demo data generated by worldcereal-explorer; no real provider, no real observations."),
        ("OriginalDataSet:Provider:URL:", ""),
        ("OriginalDataSet:Provider:Contact:", ""),
        ("OriginalDataSet:NameDataSet::", f"{title} (synthetic demo)"),
        ("OriginalDataSet:DOI::", ""),
        ("OriginalDataSet:License:TypeOfLicense:", "CC_BY"),
        ("OriginalDataSet:License:ReferenceToLicense:", "CC-BY-4.0"),
        ("OriginalDataSet:License:RequiredCitation:",
         f"Synthetic demo data, worldcereal-explorer {__version__}, seed {seed}."),
        ("OriginalDataSet:Objective::", "Demonstrate and test worldcereal-explorer without network access."),
        ("OriginalDataSet:Observation:ObservationMethod:TypeOfObservationMethod", observation_method),
        ("OriginalDataSet:Observation:ObservationMethod:SamplingDesign", "Unknown"),
        ("OriginalDataSet:Observation:ObservationMethod:InfoOnSamplingDesign", "Random positions around a few hubs"),
        ("OriginalDataSet:Observation:ObservationMethod:Validation", "No"),
        ("OriginalDataSet:Observation:ObservationMethod:InfoOnValidation", "Synthetic data is not validated"),
        ("OriginalDataSet:Observation::ClassificationAccuracy", "NotApplicable"),
        ("OriginalDataSet:Observation::SupportingMaterial", ""),
        ("OriginalDataSet:Observation:Geometry:TypeOfGeometry",
         "FieldRegisteredPolygon" if geometry_type == "Polygon" else "FieldRegisteredSinglePoint"),
        ("OriginalDataSet:Observation::GPSFieldMethod", "Unknown"),
        ("OriginalDataSet:Observation::CoordinateSystem", "EPSG:4326"),
        ("OriginalDataSet:DataFormat::", "geoparquet"),
        ("OriginalDataSet:Language::", "english"),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:PointOrPolygonOrRaster", geometry_type),
        ("CuratedDataSet:ObservationCuratedDataset::NoOfObservations", str(len(gdf))),
        ("CuratedDataSet::DescriptionCuratedDataSet:", f"Synthetic demo: {description}"),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:Accuracy", "10"),
        ("CuratedDataSet:ObservationCuratedDataset::ListOfLandCovers", ";".join(str(c) for c, _ in lc_stats)),
        ("CuratedDataSet:ObservationCuratedDataset::ListOfCropTypes", ";".join(str(c) for c, _ in ewoc_stats)),
        ("CuratedDataSet:ObservationCuratedDataset::ListOfIrrigationCodes",
         ";".join(str(c) for c in sorted(c for c, _ in irr_stats))),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:Country", country),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:Continent", continent),
        ("CuratedDataSet:ObservationCuratedDataset:ObservationTime:", "RealDate"),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:BoundingBoxLL", f"{bounds[0]};{bounds[1]}"),
        ("CuratedDataSet:ObservationCuratedDataset:Geometry:BoundingBoxUR", f"{bounds[2]};{bounds[3]}"),
        ("CuratedDataSet:ObservationCuratedDataset:Summary:FirstDateObservation",
         f"{first.day}/{first.month}/{first.year}"),
        ("CuratedDataSet:ObservationCuratedDataset::LastDateObservation", f"{last.day}/{last.month}/{last.year}"),
        ("CuratedDataSet:CurationByWordCereal::", "Synthetic; see the harmonization PDF" if harmonization_pdf
         else "Synthetic"),
        ("CuratedDataSet:ConfidenceCropType::", str(confidence[1])),
        ("CuratedDataSet:ConfidenceLandCover::", str(confidence[0])),
        ("CuratedDataSet:ConfidenceIrrigationRainfed::", str(confidence[2])),
        # File links hold the bare file name here; the server turns them into URLs to itself.
        ("GeoParquetDownloadUrl", full_name),
        ("SampleDownloadUrl", subset_name),
    ]
    if harmonization_pdf:
        pairs.append(("CuratedDataSet:Harmonization:Pdf", f"{info.original_name.upper()}.pdf"))
    code_stats = {
        "LcStats": [{"Code": c, "Count": n} for c, n in lc_stats],
        "EwocStats": [{"Code": c, "Count": n} for c, n in ewoc_stats],
        "IrrStats": [{"Code": c, "Count": n} for c, n in irr_stats],
    }
    pairs.append(("codeStats", json.dumps(code_stats, separators=(",", ":"))))
    return pairs
