"""The ``worldcereal-explorer samples`` command: query samples across collections and save them.

Example::

    worldcereal-explorer samples --bbox 107.1 -8.06 111.95 -6.58 --subset --min-quality-ct 75 -o java.gpkg

Training-set options (the steps of :mod:`worldcereal_explorer.training`, applied in this order: class mapping,
season, de-duplication, per-class cap, spatial split; then the dataset card)::

    worldcereal-explorer samples --bbox -106 49.5 -97.5 53 --mapping classes.csv --season 04-09 --dedup 10 \
        --max-per-class 500 --split 0.7,0.15,0.15 --seed 1 --card train_card -o train.parquet

``--mapping`` also takes one of WorldCereal's class schemes by name (``--mapping CROPTYPE24``): the scheme's
``ignore`` codes are left out, and codes it does not name are listed (codes, samples, labels) and dropped
(``--unmapped other`` keeps them as ``other``, ``--unmapped error`` refuses them).

Counts before fetching (``count_samples``: only the columns the counts need are read), printed with an
estimate of a full fetch, or written to a CSV file::

    worldcereal-explorer samples --bbox 0 40 20 55 --count-only --by ewoc_code,ref_id --h3-resolution 3
    worldcereal-explorer samples --bbox 0 40 20 55 --count-only -o counts.csv

How the samples are saved
-------------------------
* ``.parquet``/``.geoparquet``, ``.gpkg`` and ``.csv`` without training-set options are *streamed*
  (``download_samples``: one row group at a time, in bounded memory, resumable: an export that was killed
  or failed continues where it stopped when run again; ``--no-resume`` starts over). A progress line goes
  to stderr. Ctrl-C cancels cleanly: no file and no parts are left, exit code 130.
* ``.geojson``, and any output with training-set options (``--mapping``, ``--season``, ``--dedup``,
  ``--max-per-class``, ``--split``, ``--card``), need the samples in memory; a query larger than the
  memory budget (``--memory-budget``) is refused with exit code 2.

Exit codes: 0 done, 1 failed (network, server, files), 2 a bad option value or a query too large for memory,
130 cancelled with Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from .cli_samples_options import card_query, plan_run, query_filters

__all__ = ["add_samples_command", "run_samples_command"]

#: Exit code of a run cancelled with Ctrl-C (128 + SIGINT, as shells report it).
EXIT_CANCELLED = 130
#: What the in-memory paths suggest when a query does not fit the memory budget.
_TOO_LARGE_TRAINING = (
    "The training-set options (--mapping, --season, --dedup, --max-per-class, --split, --card) need the samples "
    "in memory. See what the query holds with --count-only (counts and the memory estimate, nothing fetched), "
    "then narrow it (--bbox/--polygon, --ref-ids, --ewoc-codes, --temporal-extent), raise --memory-budget, or "
    "drop the training-set options to stream the samples to .parquet/.gpkg/.csv in bounded memory."
)
_TOO_LARGE_GEOJSON = (
    "GeoJSON is written from memory. Stream the samples instead with -o FILE.parquet (or .gpkg, .csv), narrow "
    "the query (--count-only shows the counts and the memory estimate), or raise --memory-budget."
)


def add_samples_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``samples`` subcommand on ``subparsers`` (from ``ArgumentParser.add_subparsers``).

    The handler is stored as ``func`` (``args.func(args)`` returns the exit code).
    """
    parser = subparsers.add_parser(
        "samples",
        help="query individual samples across collections and save them (.parquet, .gpkg, .geojson, .csv), "
             "or count them first (--count-only)",
        description="Query individual samples across RDM collections (the filters of get_samples) and save "
        "them to a file whose suffix picks the format: .parquet/.geoparquet, .gpkg, .csv (streamed in bounded "
        "memory, resumable, Ctrl-C leaves nothing) or .geojson (in memory). --count-only counts them by group "
        "instead, with an estimate of a full fetch. Exit codes: 0 done, 1 failed, 2 bad option value or too "
        "large for memory, 130 cancelled.",
    )
    parser.add_argument("-o", "--output", type=Path,
                        help="output file: .parquet/.geoparquet, .gpkg, .csv (streamed) or .geojson; with "
                             "--count-only a .csv file for the counts (default: print them)")
    parser.add_argument("--format", choices=["parquet", "gpkg", "geojson", "csv"],
                        help="output format (default: from the output suffix)")
    parser.add_argument("--count-only", action="store_true",
                        help="count the matching samples by group (nothing else fetched) and print the counts "
                             "and an estimate of a full fetch (samples, MiB to read, memory)")
    parser.add_argument("--by", nargs="*", metavar="COLUMN",
                        help="with --count-only: columns to group by, space- or comma-separated (default "
                             "ewoc_code,ref_id; --by alone: one total)")
    parser.add_argument("--h3-resolution", metavar="R",
                        help="with --count-only: also group by the H3 cell (h3_cell) at resolution R (0-15)")
    parser.add_argument("--no-resume", dest="resume", action="store_false",
                        help="streamed export: discard the parts of an earlier interrupted export and start over")
    parser.add_argument("--memory-budget", metavar="MIB",
                        help="in-memory output (.geojson, training-set options): refuse a query estimated to "
                             "need more than MIB MiB (default 2048; 'none': no limit); with --count-only the "
                             "estimate line says whether the query fits it")
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
    training.add_argument("--mapping", metavar="FILE|SCHEME",
                          help="the classes (adds downstream_class): a WorldCereal class scheme by name "
                               "(LANDCOVER10, CROPTYPE28, CROPTYPE24, CROPTYPE20_EUROPE, CROPTYPE_INSEASON_FRANCE, "
                               "TEST_BINARY; its codes match exactly, class 'ignore' leaves samples out), or a CSV "
                               "or JSON file ewoc_code -> class (a code also maps through its legend ancestors)")
    training.add_argument("--unmapped", choices=["other", "drop", "error"],
                          help="samples whose code --mapping does not name: keep as 'other', drop, or fail "
                               "(default: drop for a scheme, other for a file); they are listed either way")
    training.add_argument("--drop-unmapped", action="store_true", help="the same as --unmapped drop")
    training.add_argument("--class-schemes", metavar="SOURCE",
                          help="where --mapping SCHEME is looked up: 'worldcereal' (an installed worldcereal "
                               "package), a class_mappings.json file or an http(s) URL (default: the copy shipped "
                               "with this package)")
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


def run_samples_command(args: argparse.Namespace) -> int:
    """Run ``samples`` for parsed ``args``; returns the exit code.

    0 ok, 2 bad input (or a query too large for memory), 1 other errors, 130 cancelled with Ctrl-C.
    """
    from .errors import FetchTooLargeError, InvalidInputError, QueryCancelledError, WorldCerealExplorerError

    mode = "count"
    plan: dict[str, Any] = {"training": False}
    try:
        plan = plan_run(args)  # every bad value fails here, before any request
        mode = plan["mode"]
        with _ctrl_c_cancels() as cancel:
            if mode == "count":
                return _run_count(args, plan, cancel)
            if mode == "stream":
                return _run_stream(args, plan, cancel)
            return _run_in_memory(args, plan, cancel)
    except FetchTooLargeError as exc:
        hint = _TOO_LARGE_TRAINING if plan["training"] else _TOO_LARGE_GEOJSON
        print(f"error: {exc}\n{hint}", file=sys.stderr)
        return 2
    except InvalidInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (QueryCancelledError, KeyboardInterrupt) as exc:
        _end_progress_line()
        if isinstance(exc, KeyboardInterrupt) and mode == "stream":
            left = "stopped at once; the parts written so far are kept: run the same command again to resume"
        elif mode == "stream":
            left = "no file and no parts were left"
        else:
            left = "nothing was written"
        print(f"cancelled (Ctrl-C): {left}", file=sys.stderr)
        return EXIT_CANCELLED
    except WorldCerealExplorerError as exc:
        _end_progress_line()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the output piped into a command that stopped reading (| head)
        _silence_stdout()
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again on the closed pipe."""
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextlib.contextmanager
def _warnings_to_stderr() -> Any:
    """Print the warnings raised inside (skipped collections, class balance) as ``warning: ...`` lines."""
    from .training import ClassBalanceWarning, UnmappedCodesWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ClassBalanceWarning)
        warnings.simplefilter("always", UnmappedCodesWarning)
        warnings.simplefilter("always", RuntimeWarning)
        try:
            yield
        finally:
            _end_progress_line()
            for warning in caught:
                print(f"warning: {warning.message}", file=sys.stderr)


@contextlib.contextmanager
def _ctrl_c_cancels() -> Any:
    """An event that Ctrl-C (SIGINT) sets, so the query stops cleanly; a second Ctrl-C stops at once.

    Only in the main thread (where signal handlers live); elsewhere the event is never set by Ctrl-C.
    """
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():  # the second Ctrl-C: no more waiting for a clean stop
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        cancel.set()  # no printing here: the handler may interrupt a write to stderr

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


def _check(cancel: threading.Event) -> None:
    from .errors import QueryCancelledError

    if cancel.is_set():
        raise QueryCancelledError("cancelled")


def _run_count(args: argparse.Namespace, plan: dict[str, Any], cancel: threading.Event) -> int:
    """``--count-only``: the counts table and the estimate line (or the counts to ``-o FILE.csv``)."""
    from .errors import BadParameterError
    from .files import atomic_path
    from .rdm.client import RdmClient

    with RdmClient(args.endpoint) as client, _warnings_to_stderr():
        try:
            counts = client.count_samples(**query_filters(args, plan["query"]), by=plan["by"],
                                          h3_resolution=plan["h3_resolution"],
                                          progress=None if args.progress else False, cancel_event=cancel)
        except BadParameterError as exc:
            raise _by_error(exc, plan["by"], args.columns) from None
        budget = client.memory_budget_bytes if plan["budget"] is ... else plan["budget"]
    _check(cancel)
    estimate = counts.attrs.get("estimate")
    if args.output is not None:
        with atomic_path(args.output) as tmp:
            counts.to_csv(tmp, index=False)
        print(f"wrote {len(counts)} group(s), {int(counts['count'].sum())} samples, to {args.output}")
    elif len(counts):
        print(counts.to_string(index=False))
    else:
        print("no matching samples")
    if estimate is not None:
        print(_estimate_line(estimate, budget))
    return 0


def _by_error(exc: Exception, by: tuple[str, ...], columns: list[str] | None) -> Exception:
    """``exc`` named as a ``--by`` error when it is about a grouping column the collection lacks."""
    from .errors import BadParameterError

    message = str(exc)
    listed = message[len("column(s) ["):message.find("]")] if message.startswith("column(s) [") else ""
    if any(repr(name) in listed and name not in (columns or ()) for name in by):
        return BadParameterError(f"--by {','.join(by)}: {message}")
    return exc


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _estimate_line(estimate: Any, budget: int | None) -> str:
    """One line: what a full fetch would return, read and hold in memory."""
    line = (f"estimate of a full fetch: {estimate.samples:,} samples from {estimate.collections} collection(s), "
            f"{_mib(estimate.bytes)} to read ({estimate.row_groups} row groups), "
            f"~{_mib(estimate.memory_bytes)} in memory")
    if budget is not None and estimate.memory_bytes > budget:
        line += (f" (over the {_mib(budget)} memory budget: stream it with -o FILE.parquet/.gpkg/.csv, "
                 "without training-set options)")
    return line


class _ProgressLine:
    """The streamed export's progress on stderr: rewritten in place on a terminal, else a line every second."""

    def __init__(self, show: bool):
        self.show = show
        self.tty = show and sys.stderr.isatty()
        self.last_time = 0.0
        self.last_phase = ""
        self.final: Any = None

    def __call__(self, event: Any) -> None:
        if event.done:
            self.final = event
        if not self.show:
            return
        now = time.monotonic()
        interval = 0.2 if self.tty else 1.0
        if event.phase == self.last_phase and not event.done and now - self.last_time < interval:
            return
        self.last_time, self.last_phase = now, event.phase
        total = f"{event.units_total:,}" if event.units_total else "?"
        resumed = f" ({event.units_resumed:,} resumed)" if event.units_resumed else ""
        text = (f"exporting: {event.phase}, {event.units_done:,}/{total} row groups{resumed}, "
                f"{event.rows_written:,} samples, {_mib(event.bytes_read)} read")
        if self.tty:
            _write_progress(f"\r{text}\x1b[K", open_line=not event.done)
            if event.done:
                _write_progress("\n", open_line=False)
        else:
            _write_progress(text + "\n", open_line=False)


_OPEN_LINE = [False]  # a progress line written with "\r" and not ended yet


def _write_progress(text: str, *, open_line: bool) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()
    _OPEN_LINE[0] = open_line


def _end_progress_line() -> None:
    if _OPEN_LINE[0]:
        _write_progress("\n", open_line=False)


def _run_stream(args: argparse.Namespace, plan: dict[str, Any], cancel: threading.Event) -> int:
    """``-o`` .parquet/.gpkg/.csv without training-set options: ``download_samples``, in bounded memory."""
    from .rdm.client import RdmClient

    progress = _ProgressLine(args.progress)
    with RdmClient(args.endpoint) as client, _warnings_to_stderr():
        path = client.download_samples(args.output, **query_filters(args, plan["query"]), format=plan["format"],
                                       resume=args.resume,
                                       progress=progress, cancel_event=cancel)
    rows = progress.final.rows_written if progress.final is not None else None
    resumed = progress.final.units_resumed if progress.final is not None else 0
    what = f"{rows} samples" if rows is not None else "the samples"
    print(f"wrote {what} to {path}" + (f" (resumed: {resumed} row groups from an earlier run)" if resumed else ""))
    return 0


def _run_in_memory(args: argparse.Namespace, plan: dict[str, Any], cancel: threading.Event) -> int:
    """GeoJSON or training-set options: the samples in memory (within the memory budget), then the steps."""
    from .rdm.client import RdmClient
    from .rdm.export import export_samples
    from .training import DatasetCard, export_training_set

    options = plan["options"]
    budget = {} if plan["budget"] is ... else {"memory_budget_bytes": plan["budget"]}
    card = None
    with RdmClient(args.endpoint) as client:
        with _warnings_to_stderr():
            gdf = client.get_samples(**query_filters(args, plan["query"]),
                                     progress=None if args.progress else False, cancel_event=cancel, **budget)
            _check(cancel)
            gdf = _training_steps(gdf, options, cancel, plan["query"])
        if args.card is not None:
            card = DatasetCard.build(gdf, client=client, query=card_query(args))
    _check(cancel)
    if plan["training"]:
        path = export_training_set(gdf, args.output, card, format=plan["format"])
    else:
        path = export_samples(gdf, args.output, plan["format"])
    if card is not None:
        card_paths = card.write(args.card)
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


def _training_steps(gdf: Any, options: dict[str, Any], cancel: threading.Event | None = None,
                    query: Any = None) -> Any:
    """Apply the chosen steps with :func:`build_training_set`: mapping, season, de-duplication, cap, split
    (Ctrl-C is honoured between steps); ``query`` (the samples' RdmQuery) is recorded with them."""
    from .errors import QueryCancelledError
    from .training import build_training_set

    try:
        return build_training_set(
            gdf, options["mapping"], unmapped=options["unmapped"], schemes_source=options["schemes_source"],
            season=options["season"], dedup=options["dedup"], keep_duplicates=options["keep_duplicates"],
            max_per_class=options["max_per_class"], min_per_class=options["min_per_class"], split=options["split"],
            block_h3_res=options["block_h3_res"], seed=options["seed"], cancel_event=cancel, query=query)
    except QueryCancelledError:
        raise QueryCancelledError("cancelled") from None
