"""The ``samples`` command's options, validated before any request: every bad value raises a
:class:`~worldcereal_explorer.errors.BadParameterError` naming the option, the value and what is allowed; and
the path a run takes (``count``, ``stream`` or ``memory``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .rdm.query import RdmQuery

__all__ = ["card_query", "mapping_option", "plan_run", "query_filters", "rdm_query", "training_options"]

#: Options that turn on a training-set step.
STEP_OPTIONS = ("mapping", "season", "dedup", "max_per_class", "split")
#: Default grouping of ``--count-only``.
DEFAULT_BY = ("ewoc_code", "ref_id")


def polygon_option(value: str) -> Any:
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


def plan_run(args: argparse.Namespace) -> dict[str, Any]:
    """Validate the options and choose the path: ``count``, ``stream`` or ``memory`` (``BadParameterError``)."""
    from .errors import BadParameterError
    from .rdm.export import format_from_path
    from .rdm.samples.stream import STREAM_FORMATS

    query = rdm_query(args)
    options = training_options(args)
    training = args.card is not None or any(options[k] is not None for k in STEP_OPTIONS)
    budget = memory_budget_option(args.memory_budget)
    plan: dict[str, Any] = {"query": query, "options": options, "training": training, "budget": budget}
    if args.count_only:
        given = [name for name, on in (
            ("--mapping", args.mapping is not None), ("--unmapped", getattr(args, "unmapped", None) is not None),
            ("--class-schemes", getattr(args, "class_schemes", None) is not None),
            ("--season", args.season is not None),
            ("--dedup", args.dedup is not None), ("--max-per-class", args.max_per_class is not None),
            ("--split", args.split is not None), ("--card", args.card is not None),
            ("--no-resume", not args.resume),
        ) if on]
        if given:
            raise BadParameterError(f"--count-only counts the query's samples; {', '.join(given)} cannot be used "
                                    "with it (allowed: the query options, --by, --h3-resolution, -o FILE.csv)")
        if args.format not in (None, "csv"):
            raise BadParameterError(f"--count-only writes the counts as CSV; --format {args.format!r} is not "
                                    "allowed (allowed: csv)")
        if args.output is not None and args.output.suffix.lower() != ".csv":
            raise BadParameterError(f"--count-only writes the counts as CSV; -o {str(args.output)!r} is not "
                                    "allowed (allowed: a .csv file, or no -o to print the counts)")
        plan.update(mode="count", by=by_option(args.by),
                    h3_resolution=whole_option(args.h3_resolution, "--h3-resolution", 0, 15))
        return plan
    for option, value in (("--by", args.by), ("--h3-resolution", args.h3_resolution)):
        if value is not None:
            raise BadParameterError(f"{option} groups the counts and needs --count-only")
    if args.output is None:
        raise BadParameterError("-o/--output FILE is required (allowed: a .parquet/.geoparquet, .gpkg, .csv or "
                                ".geojson file), unless --count-only")
    fmt = format_from_path(args.output, args.format)
    plan["format"] = fmt
    if fmt in STREAM_FORMATS and not training:
        if args.memory_budget is not None:
            raise BadParameterError(f"--memory-budget {args.memory_budget!r} only applies to in-memory output "
                                    "(.geojson or training-set options); a streamed export needs no budget")
        plan["mode"] = "stream"
        return plan
    if not args.resume:
        why = "training-set options" if training else f"{fmt} output"
        raise BadParameterError(f"--no-resume only applies to streamed exports (.parquet/.gpkg/.csv without "
                                f"training-set options); this export ({why}) is written from memory")
    plan["mode"] = "memory"
    return plan


def by_option(values: list[str] | None) -> tuple[str, ...]:
    """``--by`` as column names: space- and/or comma-separated; absent: the default; given empty: one total."""
    from .rdm.samples.preview import normalize_by

    if values is None:
        return DEFAULT_BY
    names = tuple(name.strip() for value in values for name in value.split(",") if name.strip())
    return named_option("--by", normalize_by, names)


def memory_budget_option(value: str | None) -> Any:
    """``--memory-budget`` in bytes (``...`` when not given: the client's default; ``None``: no limit)."""
    from .errors import BadParameterError

    if value is None:
        return ...
    if value.strip().lower() in ("none", "off", "unlimited"):
        return None
    try:
        mib = float(value)
    except ValueError:
        mib = float("nan")
    if not (0 < mib < float("inf")):
        raise BadParameterError(f"--memory-budget {value!r} is not allowed; allowed: a number of MiB > 0, or "
                                "'none' for no limit")
    return max(1, int(mib * 2**20))


def spatial_option(args: argparse.Namespace) -> Any:
    return polygon_option(args.polygon) if args.polygon else (tuple(args.bbox) if args.bbox else None)


#: The option that sets each field of the query (named in its errors).
_FIELD_OPTIONS = {"bbox": "--bbox", "polygon": "--polygon", "start_date": "--temporal-extent",
                  "end_date": "--temporal-extent", "ewoc_codes": "--ewoc-codes", "include_public": "--no-public",
                  "include_private": "--include-private", "include_restricted": "--include-private",
                  "min_quality_lc": "--min-quality-lc", "min_quality_ct": "--min-quality-ct", "subset": "--subset",
                  "selected_ids": "--ref-ids"}


def rdm_query(args: argparse.Namespace) -> RdmQuery:
    """The one :class:`~worldcereal_explorer.rdm.query.RdmQuery` of the options, validated before any request.

    ``--ref-ids`` become its ``selected_ids``; ``--include-private`` includes restricted collections, as the
    client's ``include_private`` does.

    Raises
    ------
    InvalidInputError
        A subclass whose message starts with the option (``"--min-quality-ct: ..."``).
    """
    from .errors import BadEwocCodeError, BadExtentError, BadTemporalExtentError, InvalidInputError
    from .rdm.query import RdmQuery

    spatial = spatial_option(args)
    try:
        query = RdmQuery.from_client_args(
            spatial, tuple(args.temporal_extent) if args.temporal_extent else None, args.ewoc_codes,
            include_public=args.include_public, include_private=args.include_private,
            min_quality_lc=args.min_quality_lc, min_quality_ct=args.min_quality_ct, subset=args.subset)
        return query.replace(selected_ids=args.ref_ids or ())
    except InvalidInputError as exc:
        option = _FIELD_OPTIONS.get(getattr(exc, "field", None) or "")
        if option is None:  # raised before the query's fields were set: the error's kind says which option
            option = {BadExtentError: "--polygon" if args.polygon else "--bbox",
                      BadTemporalExtentError: "--temporal-extent", BadEwocCodeError: "--ewoc-codes"}.get(
                type(exc), "query")
        raise type(exc)(f"{option}: {exc}") from None


def query_filters(args: argparse.Namespace, query: RdmQuery | None = None) -> dict[str, Any]:
    """The arguments shared by get_samples, count_samples and download_samples: the query (``query``, else the
    one of the options) and the output options."""
    return {
        "query": query if query is not None else rdm_query(args),
        "clip": args.clip,
        "columns": args.columns,
        "on_error": args.on_error,
    }


def whole_option(value: str | None, option: str, low: int, high: int | None = None) -> int | None:
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


def card_query(args: argparse.Namespace) -> dict[str, Any]:
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


def named_option(option: str, parse: Any, value: Any) -> Any:
    """``parse(value)`` (``None`` for ``None``), its errors prefixed with the option's name."""
    from .errors import BadParameterError

    if value is None:
        return None
    try:
        return parse(value)
    except BadParameterError as exc:
        raise BadParameterError(f"{option}: {exc}") from None


def mapping_option(value: str, schemes_source: str | None = None) -> Any:
    """``--mapping``: a WorldCereal class scheme by name (a :class:`ClassScheme`) or a CSV/JSON file (its path),
    read and checked now so a bad value fails before any request.

    Raises
    ------
    BadParameterError
        For a missing or bad file, or a name that is no scheme of ``schemes_source`` (the allowed names listed).
    """
    from .training import class_scheme, resolve_mapping

    _table, info = resolve_mapping(value, schemes_source=schemes_source)
    return class_scheme(info["scheme"], schemes_source) if info["kind"] == "scheme" else value


def training_options(args: argparse.Namespace) -> dict[str, Any]:
    """The training options, validated (every bad value raises naming the option, the value and what is allowed)."""
    from .errors import BadParameterError
    from .training import parse_season, parse_shares

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
    unmapped = getattr(args, "unmapped", None)
    if args.drop_unmapped and unmapped not in (None, "drop"):
        raise BadParameterError(f"--drop-unmapped contradicts --unmapped {unmapped}; give one of them")
    unmapped = "drop" if args.drop_unmapped else unmapped
    schemes_source = getattr(args, "class_schemes", None)
    for option, value in (("--drop-unmapped", args.drop_unmapped or None), ("--unmapped", unmapped),
                          ("--class-schemes", schemes_source)):
        if value is not None and args.mapping is None:
            raise BadParameterError(f"{option} needs --mapping FILE or --mapping SCHEME")
    options = {
        "mapping": named_option("--mapping", lambda v: mapping_option(v, schemes_source), args.mapping),
        "unmapped": unmapped,
        "schemes_source": schemes_source,
        "season": named_option("--season", parse_season, args.season),
        "dedup": dedup,
        "max_per_class": whole_option(args.max_per_class, "--max-per-class", 1),
        "min_per_class": whole_option(args.min_per_class, "--min-per-class", 1),
        "split": named_option("--split", parse_shares, args.split),
    }
    if options["min_per_class"] is not None and options["max_per_class"] is None:
        raise BadParameterError("--min-per-class needs --max-per-class N")
    options.update(
        drop_unmapped=bool(args.drop_unmapped),
        keep_duplicates=bool(args.keep_duplicates),
        block_h3_res=whole_option(args.block_h3_res, "--block-h3-res", 0, 15),
        seed=whole_option(args.seed, "--seed", 0),
    )
    return options
