"""The ``worldcereal-explorer samples`` command: query samples across collections and save them.

Example::

    worldcereal-explorer samples --bbox 107.1 -8.06 111.95 -6.58 --subset --min-quality-ct 75 -o java.gpkg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_samples_command", "run_samples_command"]


def add_samples_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``samples`` subcommand on ``subparsers`` (from ``ArgumentParser.add_subparsers``).

    The handler is stored as ``func`` (``args.func(args)`` returns the exit code).
    """
    parser = subparsers.add_parser(
        "samples",
        help="query individual samples across collections and save them (.parquet, .gpkg, .geojson, .csv)",
        description="Query individual samples across RDM collections (the filters of get_samples) and save "
        "them to a file whose suffix picks the format: .parquet/.geoparquet, .gpkg, .geojson, .csv.",
    )
    parser.add_argument("-o", "--output", required=True, type=Path,
                        help="output file: .parquet/.geoparquet, .gpkg, .geojson or .csv")
    parser.add_argument("--format", choices=["parquet", "gpkg", "geojson", "csv"],
                        help="output format (default: from the output suffix)")
    parser.add_argument("--endpoint", help="RDM API base URL (default: $WORLDCEREAL_RDM_URL or the public RDM)")
    parser.add_argument("--ref-ids", nargs="+", metavar="ID", help="collection ids (default: search by the filters)")
    spatial = parser.add_mutually_exclusive_group()
    spatial.add_argument("--bbox", nargs=4, type=float, metavar=("WEST", "SOUTH", "EAST", "NORTH"),
                         help="spatial extent in EPSG:4326 degrees")
    spatial.add_argument("--polygon", metavar="WKT_OR_FILE",
                         help="spatial extent as a WKT (Multi)Polygon, or a GeoJSON/vector file holding one")
    parser.add_argument("--temporal-extent", nargs=2, metavar=("START", "END"),
                        help="valid_time range, YYYY-MM-DD, both days included")
    parser.add_argument("--ewoc-codes", nargs="+", metavar="CODE", help="crop type codes (10 digits or dashed)")
    parser.add_argument("--subset", action="store_true", help="only samples selected for extraction (extract > 0)")
    parser.add_argument("--min-quality-lc", type=int, default=0, help="minimum land-cover quality score (0-100)")
    parser.add_argument("--min-quality-ct", type=int, default=0, help="minimum crop-type quality score (0-100)")
    parser.add_argument("--no-public", dest="include_public", action="store_false",
                        help="leave out public collections (search only)")
    parser.add_argument("--include-private", action="store_true",
                        help="include private collections you can access (search only; needs a token)")
    parser.add_argument("--columns", nargs="+", metavar="COLUMN", help="columns to keep (default: the RDM set)")
    parser.add_argument("--clip", action="store_true", help="cut geometries to the spatial extent")
    parser.add_argument("--on-error", choices=["raise", "skip"], default="raise",
                        help="what to do with a collection whose file cannot be read (default: raise)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bars")
    parser.set_defaults(func=run_samples_command)
    return parser


def _polygon(value: str) -> Any:
    """A shapely geometry from WKT text or from a vector file (its features' union)."""
    import shapely

    from .errors import BadExtentError

    path = Path(value)
    if path.is_file():
        import geopandas as gpd

        frame = gpd.read_file(path)
        if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
            frame = frame.to_crs(4326)
        return shapely.union_all(frame.geometry.array)
    try:
        return shapely.from_wkt(value)
    except shapely.errors.ShapelyError as exc:
        raise BadExtentError(
            f"--polygon {value[:80]!r} is neither an existing file nor WKT; allowed: 'POLYGON ((...))' or a file"
        ) from exc


def run_samples_command(args: argparse.Namespace) -> int:
    """Run ``samples`` for parsed ``args``; returns the exit code (0 ok, 2 bad input, 1 other errors)."""
    from .errors import InvalidInputError, WorldCerealExplorerError
    from .rdm.client import RdmClient
    from .rdm.export import export_samples, format_from_path

    try:
        fmt = format_from_path(args.output, args.format)
        spatial = _polygon(args.polygon) if args.polygon else (tuple(args.bbox) if args.bbox else None)
        with RdmClient(args.endpoint) as client:
            gdf = client.get_samples(
                ref_ids=args.ref_ids,
                columns=args.columns,
                subset=args.subset,
                spatial_extent=spatial,
                temporal_extent=tuple(args.temporal_extent) if args.temporal_extent else None,
                ewoc_codes=args.ewoc_codes,
                include_public=args.include_public,
                include_private=args.include_private,
                min_quality_lc=args.min_quality_lc,
                min_quality_ct=args.min_quality_ct,
                clip=args.clip,
                progress=None if args.progress else False,
                on_error=args.on_error,
            )
        path = export_samples(gdf, args.output, fmt)
    except InvalidInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except WorldCerealExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    collections = gdf["ref_id"].nunique() if "ref_id" in gdf and len(gdf) else 0
    skipped = gdf.attrs.get("skipped") or {}
    print(f"wrote {len(gdf)} samples from {collections} collection(s) to {path}")
    if skipped:
        print(f"skipped {len(skipped)} collection(s): {', '.join(sorted(skipped))}", file=sys.stderr)
    return 0
