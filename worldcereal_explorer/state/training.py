"""The training-set steps run on the fetched samples, in the background, for the "Training set" panel.

:class:`TrainingService` takes a :class:`~worldcereal_explorer.state.RdmQueryState` and chains the steps of
:mod:`worldcereal_explorer.training` on ``state.samples`` (class mapping, season check, de-duplication, cap per
class, spatial split, dataset card) on a worker thread of its own :class:`~worldcereal_explorer.state.jobs.JobRunner`
whenever the samples or one of its inputs change; a newer run supersedes an older one. The results are traits
the panel observes; :meth:`TrainingService.export` writes the training set and its card. Like the state, it is
usable from plain Python::

    service = TrainingService(state, auto_run=False)
    service.season_start, service.season_end = 11, 3     # November to March
    service.run()                                        # synchronous; raises on bad input
    service.season_preview                               # what the window would remove, per class
    service.export("train.parquet")                      # data file + train_card.md / .json

The service does every file and network operation of the panel (metadata for the card, the uploaded mapping,
the export); the panel only sets inputs and shows outputs.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import weakref
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import traitlets
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Enum, Float, Int, List, Unicode, observe, validate

from ..errors import BadParameterError, QueryCancelledError, WorldCerealExplorerError
from .frame_traits import AnyFrame, DataFrameTrait
from .jobs import Job, JobRunner, failure_message

__all__ = ["DEFAULT_SCHEME", "MONTHS", "SHARED_SETTINGS", "TRAINING_INPUTS", "UNMAPPED_CHOICES", "TrainingExport",
           "TrainingService", "apply_training_settings", "check_training_settings", "picker_mapping",
           "service_of", "training_settings"]

log = logging.getLogger(__name__)

#: Month names, January first (the columns of :func:`~worldcereal_explorer.training.valid_time_histogram`).
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: The service's inputs: a change of one of them re-runs the steps (after ``debounce_s``) when ``auto_run``.
TRAINING_INPUTS = ("mapping_source", "uploaded_mapping", "scheme", "schemes_source", "unmapped", "other_label",
                   "season_start", "season_end",
                   "apply_season", "dedup", "tolerance_m", "keep_duplicates", "max_per_class", "min_per_class",
                   "shares", "block_h3_res", "seed")

#: The training settings a share link and a saved session carry (the cap per class and the split shares), so a
#: colleague opening them builds the same training set.
SHARED_SETTINGS = ("max_per_class", "shares")

#: Each query state's training service (the dashboard has one), and the settings a link or a session gave
#: before the service was made (the dashboard applies the link first, then builds its panels).
_SERVICES: weakref.WeakKeyDictionary[Any, TrainingService] = weakref.WeakKeyDictionary()
_PENDING: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()

_RUN = "training"
#: The scheme offered first (WorldCereal's default crop-type scheme).
DEFAULT_SCHEME = "CROPTYPE24"
#: Values of ``TrainingService.unmapped`` (``"auto"``: ``map_classes``' default for the mapping's kind).
UNMAPPED_CHOICES = ("auto", "other", "drop", "error")


@dataclass(frozen=True)
class TrainingExport:
    """The files :meth:`TrainingService.export` wrote.

    Attributes
    ----------
    data
        The training set (GeoParquet with the card embedded, or another format by its suffix).
    card_markdown, card_json
        The dataset card beside it.
    """

    data: Path
    card_markdown: Path
    card_json: Path

    @property
    def paths(self) -> tuple[Path, Path, Path]:
        """The three files, data first."""
        return self.data, self.card_markdown, self.card_json


class _MetadataCache:
    """The two client calls :meth:`DatasetCard.build` makes, remembered per collection (successes only)."""

    def __init__(self, client: Any):
        self._client = client
        self._metadata: dict[str, dict[str, str]] = {}
        self._collections: dict[str, Any] = {}

    def get_collection_metadata(self, ref_id: str) -> dict[str, str]:
        if ref_id not in self._metadata:
            self._metadata[ref_id] = dict(self._client.get_collection_metadata(ref_id))
        return self._metadata[ref_id]

    def get_collection(self, ref_id: str) -> Any:
        if ref_id not in self._collections:
            self._collections[ref_id] = self._client.get_collection(ref_id)
        return self._collections[ref_id]


def picker_mapping(samples: Any, grouping: Mapping[Any, str] | None, ewoc_codes: Any,
                   legend: Any = None) -> dict[int, str]:
    """The class mapping the crop picker describes: grouped codes → their group, other ticked codes → their label.

    Parameters
    ----------
    samples
        The fetched samples (``ewoc_code`` and, from the state, ``label``).
    grouping
        ``state.grouping`` ``{ewoc_code: new_label}``.
    ewoc_codes
        ``state.ewoc_codes`` (the picker's selection). When neither codes nor a grouping are given, every code
        of ``samples`` becomes a class of its own.
    legend
        A loaded :class:`~worldcereal_explorer.legend.Legend` for codes the samples do not label (a ticked parent
        class such as cereals); ``None``: such codes are named by their number.

    Returns
    -------
    dict
        ``{ewoc_code: class}`` for :func:`~worldcereal_explorer.training.map_classes` (a code also maps the codes
        below it in the legend).
    """
    groups = {int(k): str(v) for k, v in (grouping or {}).items()}
    codes = [int(c) for c in (ewoc_codes or [])]
    labels: dict[int, str] = {}
    if samples is not None and "ewoc_code" in samples.columns:
        if not codes and not groups:
            codes = sorted({int(c) for c in pd.unique(samples["ewoc_code"])})
        if "label" in samples.columns:
            pairs = samples[["ewoc_code", "label"]].drop_duplicates("ewoc_code")
            labels = {int(c): str(lab) for c, lab in zip(pairs["ewoc_code"], pairs["label"], strict=True)}
    mapping: dict[int, str] = {}
    for code in codes:
        name = groups.get(code) or labels.get(code)
        if name is None and legend is not None:
            try:
                name = legend.label(code)
            except WorldCerealExplorerError:
                name = None
        mapping[code] = name or str(code)
    mapping.update(groups)
    return mapping


class TrainingService(traitlets.HasTraits):
    """Training-set steps on ``state.samples``, run in the background; results as traits.

    Parameters
    ----------
    state
        The query state whose ``samples`` (and, for the picker mapping, ``grouping`` / ``ewoc_codes``) are used;
        its client fetches the collections' metadata for the card and its export service gives download links.
    **traits
        Initial values of any input below (``auto_run=False``, ``season_start=4`` ...).

    Notes
    -----
    Inputs: ``mapping_source`` (``"picker"``: :func:`picker_mapping` of the state's grouping and selection;
    ``"upload"``: ``uploaded_mapping``, set by :meth:`load_mapping_file`; ``"scheme"``: the WorldCereal class
    scheme named by ``scheme``, one of ``scheme_names``, looked up in ``schemes_source``: ``None`` for the
    packaged copy, ``"worldcereal"``, a path or a URL), ``unmapped`` (``"auto"``: dropped for a scheme, kept as
    ``other_label`` otherwise; ``"other"``, ``"drop"``, or ``"error"``: refuse them) and ``other_label``; ``season_start`` / ``season_end`` (months 1-12, the window may cross the year end) and
    ``apply_season`` (the preview is computed either way); ``dedup``, ``tolerance_m`` and ``keep_duplicates``
    (flag rather than drop); ``max_per_class`` and ``min_per_class`` (0: none); ``shares`` (train, validation,
    test), ``block_h3_res`` and ``seed``.

    Outputs: ``mapping`` (the mapping in force), ``mapped_summary`` (classes and their counts; ``ignored_samples``
    and ``ignored_codes`` left out by the class ``ignore``; ``unmapped_report``: every code without a class with
    its samples and label; ``scheme`` and ``scheme_source`` when a scheme is used), ``scheme_names`` (the schemes
    ``schemes_source`` offers), ``histogram`` (samples per class × month before the season filter), ``season_preview`` (per class:
    ``total``, ``kept``, ``removed``, ``removed_share`` of the window, before applying it), ``dedup_report``
    (:class:`~worldcereal_explorer.training.DedupReport` or ``None``), ``balance`` (class × collection counts of the
    training set), ``split_report`` (:class:`~worldcereal_explorer.training.SplitReport`), ``card``
    (:class:`~worldcereal_explorer.training.DatasetCard`), ``result`` (the training set), ``status`` (``"idle"``,
    ``"loading"``, ``"error"``), ``message`` and ``warnings`` (class-balance warnings).
    """

    # --- inputs -------------------------------------------------------------------------------------
    mapping_source = Enum(("picker", "upload", "scheme"), default_value="picker")
    uploaded_mapping = Dict(help="{ewoc_code: class} read from an uploaded CSV/JSON file")
    uploaded_name = Unicode("", help="the uploaded mapping file's name")
    scheme = Unicode(DEFAULT_SCHEME, help="the WorldCereal class scheme used when mapping_source is 'scheme'")
    schemes_source = Unicode(None, allow_none=True,
                             help="where the schemes come from: None (packaged), 'worldcereal', a path or a URL")
    unmapped = Enum(UNMAPPED_CHOICES, default_value="auto")
    other_label = Unicode("other")
    season_start = Int(1, min=1, max=12)
    season_end = Int(12, min=1, max=12)
    apply_season = Bool(False, help="remove the samples outside the season window")
    dedup = Bool(True, help="look for duplicates across collections")
    tolerance_m = Float(10.0, min=0.0)
    keep_duplicates = Bool(False, help="flag duplicates in duplicate_of instead of dropping them")
    max_per_class = Int(0, min=0, help="cap per class; 0 = no cap")
    min_per_class = Int(0, min=0, help="warn about classes under this many samples; 0 = no check")
    shares = traitlets.Tuple(Float(), Float(), Float(), default_value=(0.7, 0.15, 0.15))
    block_h3_res = Int(5, min=0, max=15)
    seed = Int(0)

    # --- outputs ------------------------------------------------------------------------------------
    mapping = Dict(help="the class mapping in force")
    scheme_names = List(Unicode(), help="the class schemes schemes_source offers")
    mapped_summary = Dict()
    histogram = DataFrameTrait(allow_none=True)
    season_preview = DataFrameTrait(allow_none=True)
    dedup_report = AnyTrait(None, allow_none=True)
    balance = DataFrameTrait(allow_none=True)
    split_report = AnyTrait(None, allow_none=True)
    card = AnyTrait(None, allow_none=True)
    result = AnyFrame(None, allow_none=True, help="the training set (GeoDataFrame)")
    status = Enum(("idle", "loading", "error"), default_value="idle")
    message = Unicode("")
    warnings = List(Unicode())

    # --- behaviour ----------------------------------------------------------------------------------
    debounce_s = Float(0.3, min=0.0)
    auto_run = Bool(True, help="re-run the steps when the samples or an input change")

    def __init__(self, state: Any, **traits: Any):  # an RdmQueryState: not imported, links/serialize import this module and query imports them
        self.state = state
        self._jobs = JobRunner(name="wce-training", on_settle=self._on_idle)
        self._metadata: _MetadataCache | None = None
        pending = {k: v for k, v in _PENDING.pop(state, {}).items() if k not in traits}
        super().__init__(**traits, **pending)
        _SERVICES[state] = self
        if not self.scheme_names:  # schemes_source left at its default: no change event filled the names
            self._on_schemes_source()
        state.observe(self._on_samples, names=["samples"])
        state.observe(self._on_picker, names=["grouping", "ewoc_codes"])
        if state.samples is not None and self.auto_run:
            self._submit(0.0)

    # --- validation -----------------------------------------------------------------------------------
    @validate("shares")
    def _valid_shares(self, proposal: dict) -> tuple[float, float, float]:
        from ..training import parse_shares

        return parse_shares(proposal["value"])

    @validate("uploaded_mapping")
    def _valid_mapping(self, proposal: dict) -> dict[int, str]:
        from ..training import load_mapping

        value = proposal["value"]
        return load_mapping(value) if value else {}

    @validate("scheme")
    def _valid_scheme(self, proposal: dict) -> str:
        from ..training import class_scheme

        return class_scheme(proposal["value"], self.schemes_source).name  # unknown names: allowed ones listed

    @observe("schemes_source")
    def _on_schemes_source(self, change: dict | None = None) -> None:
        from ..training import scheme_names

        names = scheme_names(self.schemes_source)
        with self.hold_trait_notifications():
            self.scheme_names = names
            if self.scheme not in names:
                self.scheme = DEFAULT_SCHEME if DEFAULT_SCHEME in names else names[0]

    @property
    def season(self) -> str:
        """The season window as ``"MM-MM"``."""
        return f"{self.season_start:02d}-{self.season_end:02d}"

    # --- triggers -------------------------------------------------------------------------------------
    @observe(*TRAINING_INPUTS)
    def _on_input(self, change: dict) -> None:
        if self.auto_run and self.state.samples is not None:
            self._submit(self.debounce_s)

    def _on_samples(self, change: dict) -> None:
        if self.auto_run:
            self._submit(0.0)

    def _on_picker(self, change: dict) -> None:
        if self.auto_run and self.mapping_source == "picker" and self.state.samples is not None:
            self._submit(self.debounce_s)

    # --- job plumbing ---------------------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        return {
            "samples": self.state.samples,
            "source": self.mapping_source,
            "uploaded": dict(self.uploaded_mapping),
            "scheme": self.scheme,
            "schemes_source": self.schemes_source,
            "grouping": dict(self.state.grouping),
            "ewoc_codes": list(self.state.ewoc_codes),
            "unmapped": self.unmapped,
            "other_label": self.other_label,
            "season": self.season,
            "apply_season": self.apply_season,
            "dedup": self.dedup,
            "tolerance_m": self.tolerance_m,
            "keep_duplicates": self.keep_duplicates,
            "max_per_class": self.max_per_class,
            "min_per_class": self.min_per_class,
            "shares": tuple(self.shares),
            "block_h3_res": self.block_h3_res,
            "seed": self.seed,
        }

    def _submit(self, delay: float | None) -> Job:
        with self._jobs.condition:
            job = self._jobs.submit(_RUN, self._work, delay=delay, on_result=self._apply, on_error=self._report,
                                    params=self._params())
            if not job.cancelled:
                self.status = "loading"
                self.message = "preparing the training set\u2026"
        return job

    def _on_idle(self) -> None:
        if self.status == "loading":
            self.status = "idle"

    def _report(self, job: Job, exc: BaseException) -> None:
        message = failure_message(exc, "the training steps", log)
        with self.hold_trait_notifications():
            self._clear()
            self.message = message
            self.status = "error"

    def _clear(self) -> None:
        self.mapping = {}
        self.mapped_summary = {}
        self.histogram = self.season_preview = self.balance = None
        self.dedup_report = self.split_report = self.card = self.result = None
        self.warnings = []

    def _apply(self, job: Job) -> None:
        out = job.result
        with self.hold_trait_notifications():
            if out is None:
                self._clear()
                self.message = "no samples yet: fetch samples first"
                return
            for name, value in out.items():
                setattr(self, name, value)
            n = len(out["result"])
            classes = len(out["mapped_summary"]["classes"])
            self.message = f"training set: {n:,} samples in {classes} classes"

    def _metadata_client(self) -> _MetadataCache:
        client = self.state.client
        if self._metadata is None or self._metadata._client is not client:
            self._metadata = _MetadataCache(client)
        return self._metadata

    def _work(self, job: Job) -> dict[str, Any] | None:
        from .. import training as tr

        p = job.context["params"]
        samples = p["samples"]
        if samples is None:
            return None

        def check() -> None:
            if job.cancelled:
                raise QueryCancelledError("training steps superseded")

        scheme = None
        if p["source"] == "upload":
            if not p["uploaded"]:
                raise BadParameterError("no mapping file uploaded; upload a CSV or JSON file, or map from the picker")
            mapping: Any = p["uploaded"]
        elif p["source"] == "scheme":
            scheme = tr.class_scheme(p["scheme"], p["schemes_source"])
            mapping = scheme
        else:
            mapping = picker_mapping(samples, p["grouping"], p["ewoc_codes"], self.state.legend)
        if not mapping:
            raise BadParameterError("no class mapping: tick or group crop types in the picker, or upload a file")
        # the report of unmapped codes goes into mapped_summary (the panel's table), not to stderr; a worker
        # thread cannot silence a warning (warnings.catch_warnings is process-wide), so none is raised
        mapped = tr.map_classes(samples, mapping, unmapped=None if p["unmapped"] == "auto" else p["unmapped"],
                                other_label=p["other_label"], legend=self.state.legend, warn=False)
        step = tr.steps_of(mapped)[-1]
        summary = {"classes": dict(step["classes"]), "unmapped_codes": list(step["unmapped_codes"]),
                   "unmapped_samples": int(step["unmapped_samples"]), "dropped": int(step["dropped"]),
                   "unmapped_report": [dict(r) for r in step["unmapped_report"]],
                   "ignored_samples": int(step["ignored_samples"]), "ignored_codes": list(step["ignored_codes"]),
                   "scheme": step.get("scheme"), "scheme_source": step.get("scheme_source"),
                   "n_samples": int(len(samples)), "unmapped": step["unmapped"], "other_label": p["other_label"]}
        check()
        histogram = tr.valid_time_histogram(mapped)
        preview = tr.season_filter_preview(mapped, p["season"])
        frame = tr.season_filter(mapped, p["season"]) if p["apply_season"] else mapped
        check()
        report = None
        if p["dedup"]:
            frame, report = tr.deduplicate(frame, p["tolerance_m"], keep_duplicates=p["keep_duplicates"])
        check()
        notes: list[str] = []
        if p["max_per_class"]:
            frame = tr.cap_per_class(frame, p["max_per_class"], min_per_class=p["min_per_class"] or None,
                                     seed=p["seed"], warn=False)
            step = tr.steps_of(frame)[-1]
            note = (tr.below_minimum_message(p["min_per_class"], step["before"]) if p["min_per_class"] else None)
            notes = [note] if note else []
        elif p["min_per_class"]:
            column = "downstream_class" if "downstream_class" in frame.columns else "ewoc_code"
            note = tr.below_minimum_message(p["min_per_class"],
                                         frame[column].astype(str).value_counts().sort_index().to_dict())
            notes = [note] if note else []
        check()
        if not len(frame):
            raise BadParameterError("no samples are left for the split: widen the season window or map more codes")
        frame = tr.spatial_split(frame, p["shares"], block_h3_res=p["block_h3_res"], seed=p["seed"])
        split = tr.split_report(frame, p["shares"])
        balance = tr.class_balance(frame)
        check()
        card = tr.DatasetCard.build(frame, client=self._metadata_client(), query=self._query())
        check()
        table = scheme.mapping if scheme is not None else mapping
        return {"mapping": {int(k): str(v) for k, v in table.items()}, "mapped_summary": summary,
                "histogram": histogram, "season_preview": preview, "dedup_report": report, "balance": balance,
                "split_report": split, "card": card, "result": frame, "warnings": notes}

    def _query(self) -> dict[str, Any]:
        try:
            query = self.state.to_dict()
        except Exception:  # an odd input must not cost the card; the steps are recorded anyway
            query = {}
        query.pop("version", None)
        return query

    # --- public API -----------------------------------------------------------------------------------
    def run(self, wait: bool = True) -> Any:
        """Run the steps on the current samples and inputs.

        Parameters
        ----------
        wait
            ``True``: in this thread, returning the training set (``None`` without samples) and raising on bad
            input. ``False``: on a worker thread; :meth:`wait` waits for it.
        """
        if not wait:
            self._submit(0.0)
            return None
        job = self._jobs.run(self._submit(None))
        if job.error is not None:
            raise job.error
        return self.result

    @property
    def busy(self) -> bool:
        """Whether a run is scheduled or running."""
        return self._jobs.busy

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until no run is scheduled or running; ``False`` on timeout."""
        return self._jobs.wait(timeout)

    def scheme_to_picker(self, name: str | None = None) -> dict[int, str]:
        """Seed the crop picker with a class scheme: select the codes of the collections found that the scheme
        classes (``ignore`` left out) and group them by the scheme's classes.

        Sets ``state.ewoc_codes`` and ``state.grouping`` (the picker follows them), on the calling thread.

        Parameters
        ----------
        name
            The scheme (default: ``scheme``); looked up in ``schemes_source``.

        Returns
        -------
        dict
            The grouping set, ``{ewoc_code: class}`` (:func:`~worldcereal_explorer.training.scheme_grouping`).

        Raises
        ------
        BadParameterError
            For an unknown scheme (the allowed ones are listed), or when no code of the collections found (or of
            the fetched samples) is classed by it.
        """
        from ..training import class_scheme, scheme_grouping

        scheme = class_scheme(name or self.scheme, self.schemes_source)
        codes: Any = self.state.counts_by_code(unfiltered=True)
        if not codes and self.state.samples is not None and "ewoc_code" in self.state.samples.columns:
            codes = pd.unique(self.state.samples["ewoc_code"])
        grouping = scheme_grouping(scheme.name, codes if len(codes) else None, source=self.schemes_source)
        if not grouping:
            raise BadParameterError(f"class scheme {scheme.name} classes none of the codes of the collections found; "
                                    "search a wider area or pick another scheme")
        labels: dict[Any, Any] = dict(grouping)  # int keys, as the picker writes them (the trait is untyped)
        with self.state.hold_trait_notifications():
            self.state.ewoc_codes = sorted(grouping)
            self.state.grouping = labels
        return grouping

    def load_mapping_file(self, name: str, content: bytes) -> dict[int, str]:
        """Read an uploaded class mapping (``.csv`` or ``.json`` bytes) and map by it from now on.

        Parameters
        ----------
        name
            The file's name (its suffix picks the format).
        content
            The file's bytes.

        Returns
        -------
        dict
            The mapping ``{ewoc_code: class}``.

        Raises
        ------
        BadParameterError
            When the suffix or the content is not a mapping (the message says what is allowed).
        """
        from ..training import load_mapping

        suffix = Path(name).suffix.lower()
        if suffix not in (".csv", ".json", ".txt", ".tsv"):
            raise BadParameterError(f"class mapping file {name!r} has suffix {suffix!r}; allowed: .csv, .json")
        with tempfile.TemporaryDirectory(prefix="wce-mapping-") as folder:
            path = Path(folder) / f"mapping{suffix}"
            path.write_bytes(bytes(content))
            try:
                mapping = load_mapping(path)
            except BadParameterError as exc:
                raise BadParameterError(str(exc).replace(str(path), name)) from None
        with self.hold_trait_notifications():
            self.uploaded_name = name
            self.uploaded_mapping = {str(k): v for k, v in mapping.items()}  # validated back to int keys
            self.mapping_source = "upload"
        return mapping

    def export(self, path: str | Path | None = None, card_prefix: str | Path | None = None) -> TrainingExport:
        """Write the training set with :func:`~worldcereal_explorer.training.export_training_set` and its card
        with :meth:`DatasetCard.write`.

        Parameters
        ----------
        path
            The data file (``.parquet`` embeds the card; ``.gpkg``, ``.geojson``, ``.csv`` too); default
            ``training_set_<time>.parquet`` in the state's download folder.
        card_prefix
            Where the card goes (``PREFIX.md``, ``PREFIX.json``); default ``<data file stem>_card`` beside it.

        Returns
        -------
        TrainingExport

        Raises
        ------
        BadParameterError
            When there is no training set (no samples, or the last run failed: its message is given).
        """
        from ..training import export_training_set

        self._jobs.wait(300.0)  # a run the user just asked for by changing an input
        with self._jobs.condition:
            result, card = self.result, self.card
            failure = self.message if self.status == "error" else ""
        if result is None or card is None:
            raise BadParameterError(f"no training set to export: {failure or 'fetch samples first'}")
        if path is None:
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            folder = self.state.exports.download_dir
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"training_set_{stamp}.parquet"
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = export_training_set(result, path, card)
        prefix = Path(card_prefix) if card_prefix is not None else path.with_name(f"{path.stem}_card")
        markdown, js = card.write(prefix)
        return TrainingExport(Path(data), markdown, js)

    def link(self, path: str | Path, max_bytes: int = 40_000_000) -> Any:
        """A download link description of ``path`` (see :meth:`ExportService.link`)."""
        return self.state.exports.link(path, max_bytes=max_bytes)

    def close(self, timeout: float = 5.0) -> bool:
        """Stop following the state, cancel pending runs and join the worker threads.

        Returns
        -------
        bool
            ``True`` when no worker thread is left alive.
        """
        for handler, names in ((self._on_samples, ["samples"]), (self._on_picker, ["grouping", "ewoc_codes"])):
            with suppress(ValueError):
                self.state.unobserve(handler, names=names)
        return self._jobs.close(timeout)

    def __repr__(self) -> str:
        n = 0 if self.result is None else len(self.result)
        return f"TrainingService(status={self.status!r}, samples={n}, message={self.message!r})"


def service_of(state: Any) -> TrainingService | None:
    """The (latest) :class:`TrainingService` made for ``state``, or ``None``."""
    return _SERVICES.get(state)


def check_training_settings(settings: Any) -> dict[str, Any]:
    """Validate shared training settings (:data:`SHARED_SETTINGS`): ``max_per_class`` a whole number >= 0,
    ``shares`` three numbers summing to 1.

    Raises
    ------
    BadParameterError
        Naming the bad setting, its value and what is allowed.
    """
    from ..training import parse_shares

    if not isinstance(settings, Mapping):
        raise BadParameterError(f"training settings {settings!r} are not an object "
                                f"{{{', '.join(SHARED_SETTINGS)}}}")
    unknown = sorted(set(settings) - set(SHARED_SETTINGS))
    if unknown:
        raise BadParameterError(f"unknown training setting {unknown[0]!r}; allowed: {', '.join(SHARED_SETTINGS)}")
    out: dict[str, Any] = {}
    if settings.get("max_per_class") is not None:
        cap = settings["max_per_class"]
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
            raise BadParameterError(f"max_per_class={cap!r} is not allowed; use a whole number >= 0 (0: no cap)")
        out["max_per_class"] = cap
    if settings.get("shares") is not None:
        out["shares"] = parse_shares(settings["shares"])
    return out


def training_settings(state: Any) -> dict[str, Any]:
    """The shared training settings of ``state``'s training service (every one of :data:`SHARED_SETTINGS`),
    else the ones a link or session gave for a service not made yet; ``{}`` when there are neither."""
    service = service_of(state)
    if service is not None:
        return {name: getattr(service, name) for name in SHARED_SETTINGS}
    return dict(_PENDING.get(state, {}))


def apply_training_settings(state: Any, settings: Mapping[str, Any]) -> None:
    """Set shared training settings (checked by :func:`check_training_settings`) on ``state``'s training
    service, or keep them for the service made for ``state`` next (the dashboard's training panel)."""
    values = check_training_settings(settings)
    service = service_of(state)
    if service is None:
        _PENDING.setdefault(state, {}).update(values)
        return
    with service.hold_trait_notifications():
        for name, value in values.items():
            setattr(service, name, value)
