"""The dataset card of a training set: where every sample came from, under which licence, what was done.

:meth:`DatasetCard.build` gathers the collections' licences, citations, DOIs and providers (from their RDM
metadata items, fetched through a client passed in, or given), the class counts per split and the records of
the steps applied (:mod:`worldcereal_explorer.training` steps leave them in ``frame.attrs``). The card renders as
Markdown (restrictive licences flagged at the top, a plain-text and a BibTeX bibliography at the end) and as
JSON, which :func:`~worldcereal_explorer.training.export.export_training_set` also embeds in GeoParquet files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._version import __version__
from ..errors import WorldCerealExplorerError
from ..files import atomic_write_text
from ._common import class_column, steps_of
from .licences import FLAG_TEXT, bibtex_entries, collection_entry, plain_citations

__all__ = ["DatasetCard"]

_STEP_SECTIONS = {"map_classes": "class_mapping", "season_filter": "season", "deduplicate": "deduplication",
                  "cap_per_class": "balance", "spatial_split": "split"}


def _jsonable(value: Any) -> Any:
    """``value`` with tuples, numpy scalars, timestamps and paths turned into JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class DatasetCard:
    """A training set's card. Build it with :meth:`build`; the content is the JSON-ready dict :attr:`data`.

    Parameters
    ----------
    data
        The card's content (as made by :meth:`build` or read back by :meth:`from_json`).
    """

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def __repr__(self) -> str:
        return (f"DatasetCard({self.data.get('n_samples', 0)} samples, {len(self.data.get('collections', []))} "
                f"collections, {len(self.data.get('restricted_licences', []))} restrictive licences)")

    # -- building ------------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        samples: Any,
        *,
        client: Any = None,
        collections: Mapping[str, Mapping[str, Any]] | Iterable[str] | None = None,
        query: Mapping[str, Any] | None = None,
        steps: Iterable[Mapping[str, Any]] | None = None,
        title: str = "WorldCereal training set",
        created: str | None = None,
    ) -> DatasetCard:
        """Describe ``samples``.

        Parameters
        ----------
        samples
            The training set (GeoDataFrame with ``ref_id``; ``downstream_class`` and ``split`` when present).
        client
            An :class:`~worldcereal_explorer.rdm.client.RdmClient`: each collection's metadata items are fetched
            with ``client.get_collection_metadata`` and its access type with ``client.get_collection``. A
            collection whose metadata cannot be fetched gets a ``metadata_error`` and the ``unknown`` flag.
        collections
            The collections to describe: ``{ref_id: metadata items}`` (used as given, nothing fetched), or ids
            (default: those of ``samples``).
        query
            The query the samples came from (extent, dates, codes, quality minimums ...), recorded as given.
        steps
            Step records (default: those in ``samples.attrs``, left by the training steps).
        title
            Heading of the card.
        created
            Creation time (ISO 8601; default: now, UTC).

        Returns
        -------
        DatasetCard
        """
        counts = (samples["ref_id"].astype(str).value_counts() if "ref_id" in samples.columns
                  else pd.Series(dtype="int64"))
        given = dict(collections) if isinstance(collections, Mapping) else None
        ids = list(given) if given is not None else (list(collections) if collections is not None
                                                       else sorted(counts.index))
        entries = []
        for ref_id in ids:
            meta, access, error = (given or {}).get(ref_id), None, None
            if given is None and client is not None:
                meta, access, error = _fetch(client, ref_id)
            elif given is None:
                error = "no client given: metadata not fetched"
            entries.append(collection_entry(ref_id, meta, samples=int(counts.get(ref_id, 0)), access_type=access,
                                            error=error))
        step_list = [_jsonable(dict(s)) for s in (steps if steps is not None else steps_of(samples))]
        data: dict[str, Any] = {
            "title": title,
            "created": created or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            "package": "worldcereal-explorer",
            "package_version": __version__,
            "query": _jsonable(dict(query or {})),
            "n_samples": int(len(samples)),
            "class_column": class_column(samples) if len(samples.columns) else None,
            "classes": _class_counts(samples),
            "collections": entries,
            "restricted_licences": [
                {"id": e["id"], "licence_type": e["licence_type"], "licence": e["licence"], "flags": e["licence_flags"]}
                for e in entries if e["licence_flags"]
            ],
            "quality_filters": _quality(samples, query or {}),
            "steps": step_list,
        }
        for step in step_list:
            section = _STEP_SECTIONS.get(str(step.get("step")))
            if section:
                data[section] = step
        data["bibliography"] = {"text": plain_citations(entries), "bibtex": bibtex_entries(entries)}
        return cls(data)

    # -- output --------------------------------------------------------------------------------------------

    def to_json(self, indent: int | None = 2) -> str:
        """The card as JSON text."""
        return json.dumps(self.data, indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> DatasetCard:
        """A card from :meth:`to_json` text (or the bytes embedded in a GeoParquet file)."""
        return cls(json.loads(text))

    def to_markdown(self) -> str:
        """The card as Markdown: licence warnings first, then query, classes, collections, steps, bibliography."""
        d = self.data
        lines = [f"# {d['title']}", ""]
        restricted = d.get("restricted_licences", [])
        if restricted:
            lines += [f"> **Licence restrictions: {len(restricted)} of {len(d['collections'])} collection(s) carry "
                      "licences that limit reuse. Check them before using or sharing this training set.**", ">"]
            for r in restricted:
                flags = "; ".join(FLAG_TEXT.get(f, f) for f in r["flags"])
                lines.append(f"> - `{r['id']}`: {r['licence'] or r['licence_type'] or 'no licence stated'} "
                             f"({flags})")
            lines.append("")
        lines += [f"- Samples: {d['n_samples']:,}", f"- Collections: {len(d['collections'])}",
                  f"- Created: {d['created']} with {d['package']} {d['package_version']}", ""]
        if d.get("query"):
            lines += ["## Query", "", *[f"- `{k}`: {json.dumps(v, ensure_ascii=False)}" for k, v in d["query"].items()],
                      ""]
        lines += self._classes_markdown()
        lines += ["## Collections", "", "| id | title | provider | licence | DOI | samples |", "|---|---|---|---|---|---:|"]
        for c in d["collections"]:
            licence = c["licence"] or c["licence_type"] or "not stated"
            doi = f"[{c['doi']}](https://doi.org/{c['doi']})" if c["doi"].startswith("10.") else c["doi"]
            lines.append(f"| `{c['id']}` | {_cell(c['title'])} | {_cell(c['provider'])} | {_cell(licence)} | {doi} "
                         f"| {c['samples']:,} |")
        lines += self._mapping_markdown()
        lines += ["", "## Processing", ""]
        q = d.get("quality_filters", {})
        lines.append(f"- Quality: minimum crop-type score {q.get('min_quality_ct', 0)}, land-cover score "
                     f"{q.get('min_quality_lc', 0)}; lowest in the set: {q.get('observed_min_quality_ct')} / "
                     f"{q.get('observed_min_quality_lc')}")
        lines += [f"- {_step_line(s)}" for s in d.get("steps", [])]
        lines += ["", "## Bibliography", ""]
        lines += [f"{i}. {_cell(t)}" for i, t in enumerate(d["bibliography"]["text"], 1)]
        lines += ["", "### BibTeX", "", "```bibtex", d["bibliography"]["bibtex"].rstrip(), "```", ""]
        return "\n".join(lines)

    def _classes_markdown(self) -> list[str]:
        classes = self.data.get("classes", {})
        if not classes:
            return []
        splits = [s for s in ("train", "validation", "test") if any(s in v for v in classes.values())]
        head = ["class", "total", *splits]
        lines = ["## Classes", "", "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
        for name, row in classes.items():
            lines.append("| " + " | ".join([_cell(name), f"{row['total']:,}", *[f"{row.get(s, 0):,}" for s in splits]])
                         + " |")
        return [*lines, ""]

    def _mapping_markdown(self) -> list[str]:
        """The class mapping: which scheme (source, SHA-256), what ``ignore`` left out, every unmapped code."""
        step = self.data.get("class_mapping")
        if not step:
            return []
        lines = ["", "## Class mapping", ""]
        if step.get("scheme"):
            lines.append(f"- Scheme: `{step['scheme']}` from {_cell(step.get('scheme_source'))} "
                         f"(SHA-256 `{step.get('scheme_sha256', '')}`), codes matched exactly")
        else:
            where = f" from `{_cell(step['mapping_file'])}`" if step.get("mapping_file") else ""
            lines.append(f"- Hand-written mapping{where}: {step.get('mapping_entries')} entries, codes matched "
                         + ("through their legend ancestors" if step.get("match") == "ancestors" else "exactly"))
        ignored = int(step.get("ignored_samples", 0))
        lines.append(f"- Left out as `ignore`: {ignored:,} samples of {len(step.get('ignored_codes', []))} code(s)")
        report = step.get("unmapped_report") or []
        action = ("dropped" if step.get("unmapped") == "drop" else f"kept as `{step.get('other_label')}`")
        lines.append(f"- Without a class: {int(step.get('unmapped_samples', 0)):,} samples of {len(report)} code(s), "
                     + action)
        if report:
            lines += ["", "| ewoc_code | label | samples | |", "|---|---|---:|---|"]
            lines += [f"| {r['ewoc_code']} | {_cell(r['label'])} | {int(r['samples']):,} | {action} |" for r in report]
        return lines

    def write(self, path_prefix: str | os.PathLike) -> tuple[Path, Path]:
        """Write ``PREFIX.md`` and ``PREFIX.json`` atomically (a ``.md``/``.json`` suffix on the prefix is dropped).

        Returns
        -------
        tuple of pathlib.Path
            The Markdown and the JSON file.
        """
        prefix = Path(path_prefix)
        if prefix.suffix.lower() in (".md", ".json"):
            prefix = prefix.with_suffix("")
        md = atomic_write_text(prefix.with_name(prefix.name + ".md"), self.to_markdown())
        js = atomic_write_text(prefix.with_name(prefix.name + ".json"), self.to_json() + "\n")
        return md, js


def _fetch(client: Any, ref_id: str) -> tuple[dict[str, Any] | None, str | None, str | None]:
    try:
        meta = client.get_collection_metadata(ref_id)
    except WorldCerealExplorerError as exc:
        return None, None, f"metadata could not be fetched: {exc}"
    try:
        access = client.get_collection(ref_id).access_type
    except WorldCerealExplorerError:
        access = None
    return meta, access, None


def _class_counts(samples: Any) -> dict[str, dict[str, int]]:
    if not len(samples.columns) or ("downstream_class" not in samples.columns and "ewoc_code" not in samples.columns):
        return {}
    column = class_column(samples)
    classes = samples[column].astype(str)
    out: dict[str, dict[str, int]] = {str(k): {"total": int(v)} for k, v in classes.value_counts().sort_index().items()}
    if "split" in samples.columns:
        table = pd.crosstab(classes, samples["split"].astype(str))
        for name, row in table.iterrows():
            out[str(name)].update({str(s): int(n) for s, n in row.items()})
    return out


def _quality(samples: Any, query: Mapping[str, Any]) -> dict[str, Any]:
    def lowest(column: str) -> int | None:
        if column not in samples.columns or not len(samples):
            return None
        value = pd.to_numeric(samples[column], errors="coerce").min()
        return None if pd.isna(value) else int(value)

    return {"min_quality_lc": int(query.get("min_quality_lc", 0) or 0),
            "min_quality_ct": int(query.get("min_quality_ct", 0) or 0),
            "observed_min_quality_lc": lowest("quality_score_lc"),
            "observed_min_quality_ct": lowest("quality_score_ct")}


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _step_line(step: Mapping[str, Any]) -> str:
    name = step.get("step")
    if name == "map_classes":
        source = (f"class scheme {step['scheme']} ({step.get('scheme_source')})" if step.get("scheme")
                  else f"{step.get('mapping_entries')} entries")
        ignored = step.get("ignored_samples", 0)
        return (f"Class mapping: {len(step.get('classes', {}))} classes from {source}"
                + (f", {step.get('match')} code match" if step.get("match") else "")
                + (f"; {ignored:,} samples of {len(step.get('ignored_codes', []))} code(s) classed 'ignore' left out"
                   if ignored else "")
                + f"; {step.get('unmapped_samples', 0):,} unmapped samples "
                + ("dropped" if step.get("unmapped") == "drop" else f"labelled {step.get('other_label')!r}"))
    if name == "season_filter":
        return f"Season {step.get('window')}: {step.get('removed_total', 0):,} samples outside the window removed"
    if name == "deduplicate":
        verb = "flagged in `duplicate_of`" if step.get("keep_duplicates") else "dropped"
        pairs = ", ".join(f"{p['duplicate_ref_id']} → {p['kept_ref_id']}: {p['count']}" for p in step.get("pairs", []))
        return (f"De-duplication across collections (points within {step.get('tolerance_m')} m, polygons overlapping "
                f"> {step.get('min_overlap')}): {step.get('n_duplicates', 0):,} duplicates {verb}"
                + (f" ({pairs})" if pairs else ""))
    if name == "cap_per_class":
        below = step.get("below_minimum") or []
        return (f"Balance: at most {step.get('max_per_class'):,} per class (seed {step.get('seed')}, spread over "
                f"collections and H3 r{step.get('h3_resolution')} cells)"
                + (f"; below min_per_class={step.get('min_per_class')}: {', '.join(below)}" if below else ""))
    if name == "spatial_split":
        shares = step.get("shares", {})
        achieved = step.get("classes", {}).get("all", {})
        got = ", ".join(f"{s} {achieved.get(f'{s}_share', 0):.3f}" for s in shares)
        blocks = (f"H3 r{step.get('block_h3_res')} blocks" if step.get("block_h3_res") is not None
                  else "user blocks")
        return (f"Spatial split over {step.get('n_blocks', 0):,} {blocks} (seed {step.get('seed')}): asked "
                + ", ".join(f"{s} {v:g}" for s, v in shares.items()) + f"; achieved {got}")
    return f"{name}: {json.dumps({k: v for k, v in step.items() if k != 'step'}, ensure_ascii=False)[:300]}"
