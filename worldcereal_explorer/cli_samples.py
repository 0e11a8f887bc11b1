"""The ``worldcereal-explorer samples`` command: query samples across collections and save them.

Example::

    worldcereal-explorer samples --bbox 107.1 -8.06 111.95 -6.58 --subset --min-quality-ct 75 -o java.gpkg

Training-set options (the steps of :mod:`worldcereal_explorer.training`, applied in this order: class mapping,
season, de-duplication, per-class cap, spatial split; then the dataset card)::

    worldcereal-explorer samples --bbox -106 49.5 -97.5 53 --mapping classes.csv --season 04-09 --dedup 10 \
        --max-per-class 500 --split 0.7,0.15,0.15 --seed 1 --card train_card -o train.parquet
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

__all__ = ["add_samples_command", "run_samples_command"]

#: Options that turn on a training-set step.
_STEP_OPTIONS = ("mapping", "season", "dedup", "max_per_class", "split")


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
    training = parser.add_argument_group("training set", "turn the samples into a training set (in this order)")
    training.add_argument("--mapping", metavar="FILE",
                          help="CSV or JSON file ewoc_code -> class; adds downstream_class (a code also maps "
                               "through its legend ancestors); unmapped codes become 'other'")
    training.add_argument("--drop-unmapped", action="store_true", help="drop samples whose code --mapping lacks")
    training.add_argument("--season", metavar="MM-MM",
                          help="keep samples whose valid_time month is in this window, e.g. 04-09 or 11-03")
    training.add_argument("--dedup", metavar="METRES",
                          help="drop samples of another collection at the same place in the same year (points "
                               "within METRES, polygons overlapping more than half of the smaller one)")
    training.add_argument("--keep-duplicates", action="store_true",
                          help="with --dedup: keep duplicates, naming the kept sample in duplicate_of")
    training.add_argument("--max-per-class", metavar="N", help="keep at most N samples per class, spread over "
                                                                "collections and H3 cells")
    training.add_argument("--min-per-class", metavar="N", help="warn about classes with fewer than N samples")
    training.add_argument("--split", metavar="TRAIN,VAL,TEST",
                          help="spatial split shares, e.g. 0.7,0.15,0.15: adds split (train/validation/test), "
                               "whole H3 blocks to one split")
    training.add_argument("--block-h3-res", metavar="R", default="5", help="H3 resolution of the split blocks "
                                                                           "(0-15, default 5)")
    training.add_argument("--seed", metavar="S", default="0", help="seed of --max-per-class and --split (default 0)")
    training.add_argument("--card", metavar="PATH", type=Path,
                          help="write the dataset card to PATH.md and PATH.json (and into a GeoParquet output)")
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
    from .training import ClassBalanceWarning, DatasetCard, export_training_set

    try:
        fmt = format_from_path(args.output, args.format)
        options = _training_options(args)  # bad values fail before any request
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
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ClassBalanceWarning)
                gdf = _training_steps(gdf, options)
            for warning in caught:
                print(f"warning: {warning.message}", file=sys.stderr)
            card = None
            if args.card is not None:
                card = DatasetCard.build(gdf, client=client, query=_query_of(args))
        if card is not None or any(options[k] is not None for k in _STEP_OPTIONS):
            path = export_training_set(gdf, args.output, card, format=fmt)
        else:
            path = export_samples(gdf, args.output, fmt)
        if card is not None:
            card_paths = card.write(args.card)
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
    if "split" in gdf.columns:
        counts = gdf["split"].value_counts()
        print("split: " + ", ".join(f"{name} {int(counts.get(name, 0))}" for name in ("train", "validation", "test")))
    if card is not None:
        print(f"wrote the dataset card to {card_paths[0]} and {card_paths[1]}")
        for item in card.data["restricted_licences"]:
            print(f"licence note: {item['id']}: {item['licence'] or item['licence_type'] or 'no licence stated'} "
                  f"({', '.join(item['flags'])})", file=sys.stderr)
    return 0


def _whole(value: str | None, option: str, low: int, high: int | None = None) -> int | None:
    """``value`` as an int in ``low..high``, else a :class:`BadParameterError` naming the option and the range."""
    from .errors import BadParameterError

    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or number < low or (high is not None and number > high):
        allowed = f"a whole number {low}..{high}" if high is not None else f"a whole number >= {low}"
        raise BadParameterError(f"{option} {value!r} is not allowed; allowed: {allowed}")
    return number


def _query_of(args: argparse.Namespace) -> dict[str, Any]:
    """The sample query of ``args``, for the dataset card."""
    query: dict[str, Any] = {"endpoint": args.endpoint or "default"}
    for name in ("ref_ids", "bbox", "temporal_extent", "ewoc_codes", "subset", "min_quality_lc", "min_quality_ct",
                 "include_public", "include_private", "clip"):
        value = getattr(args, name, None)
        if value is not None:
            query[name] = list(value) if isinstance(value, (list, tuple)) else value
    if args.polygon:
        query["polygon"] = args.polygon if len(args.polygon) < 2000 else args.polygon[:2000] + "..."
    return query


def _named(option: str, parse: Any, value: Any) -> Any:
    """``parse(value)`` (``None`` for ``None``), its errors prefixed with the option's name."""
    from .errors import BadParameterError

    if value is None:
        return None
    try:
        return parse(value)
    except BadParameterError as exc:
        raise BadParameterError(f"{option}: {exc}") from None


def _training_options(args: argparse.Namespace) -> dict[str, Any]:
    """The training options, validated (every bad value raises naming the option, the value and what is allowed)."""
    from .errors import BadParameterError
    from .training import load_mapping, parse_season, parse_shares

    dedup = None
    if args.dedup is not None:
        try:
            dedup = float(args.dedup)
        except ValueError:
            dedup = float("nan")
        if not (dedup >= 0 and dedup != float("inf")):
            raise BadParameterError(f"--dedup {args.dedup!r} is not allowed; allowed: a distance in metres >= 0")
    if args.keep_duplicates and dedup is None:
        raise BadParameterError("--keep-duplicates needs --dedup METRES")
    if args.drop_unmapped and args.mapping is None:
        raise BadParameterError("--drop-unmapped needs --mapping FILE")
    options = {
        "mapping": _named("--mapping", load_mapping, args.mapping),
        "season": _named("--season", parse_season, args.season),
        "dedup": dedup,
        "max_per_class": _whole(args.max_per_class, "--max-per-class", 1),
        "min_per_class": _whole(args.min_per_class, "--min-per-class", 1),
        "split": _named("--split", parse_shares, args.split),
    }
    if options["min_per_class"] is not None and options["max_per_class"] is None:
        raise BadParameterError("--min-per-class needs --max-per-class N")
    options.update(
        drop_unmapped=bool(args.drop_unmapped),
        keep_duplicates=bool(args.keep_duplicates),
        block_h3_res=_whole(args.block_h3_res, "--block-h3-res", 0, 15),
        seed=_whole(args.seed, "--seed", 0),
    )
    return options


def _training_steps(gdf: Any, options: dict[str, Any]) -> Any:
    """Apply the chosen steps: mapping, season, de-duplication, cap, split."""
    from .training import cap_per_class, deduplicate, map_classes, season_filter, spatial_split

    if options["mapping"] is not None:
        gdf = map_classes(gdf, options["mapping"], unmapped="drop" if options["drop_unmapped"] else "other")
    if options["season"] is not None:
        gdf = season_filter(gdf, options["season"])
    if options["dedup"] is not None:
        gdf, _ = deduplicate(gdf, options["dedup"], keep_duplicates=options["keep_duplicates"])
    if options["max_per_class"] is not None:
        gdf = cap_per_class(gdf, options["max_per_class"], min_per_class=options["min_per_class"],
                            seed=options["seed"])
    if options["split"] is not None:
        gdf = spatial_split(gdf, options["split"], block_h3_res=options["block_h3_res"], seed=options["seed"])
    return gdf
