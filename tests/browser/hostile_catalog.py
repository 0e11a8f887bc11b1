"""A hostile copy of the demo catalogue: stored text (titles, metadata values, sample ids, legend labels)
carrying HTML/JS payloads, for the browser test that the dashboard shows them as text.

Every payload that runs appends its kind to ``window.__xss``; the attribute breaker would render a
``b.xss-bold`` element. Files are rewritten before the local server starts (it reads the folder at start
and serves the parquet files from disk, sizes taken when answered), so the server serves them as any other.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def _hook(kind: str) -> str:
    return f"window.__xss=(window.__xss||[]).concat('{kind}')"


IMG = f'<img src=x onerror="{_hook("img")}">'
SVG = f'<svg onload="{_hook("svg")}">'
SCRIPT = f"<script>{_hook('script')}</script>"
BREAK = "\"'><b class=xss-bold>bold</b>"
PAYLOADS = (IMG, SVG, SCRIPT, BREAK)
#: What each payload looks like as text (a prefix any view shows, also when it shortens the text).
SHOWN = {IMG: "<img src=x", SVG: "<svg onload", SCRIPT: "<script>", BREAK: "\"'><b class=xss-bold>"}

#: The point collection in India (isolated on the map; its samples are drawn as circle markers), whose
#: title, metadata, sample ids and legend labels all carry payloads.
POINTS = "2021_ind_ricedemo_point_111"
#: A second collection (Australia) whose title carries the attribute breaker and a script tag.
SECOND = "2021_aus_wheatbeltdemo_poly_110"
#: A box around POINTS only (W, S, E, N).
POINTS_BBOX = (74.0, 25.0, 85.0, 31.0)

TITLE = f"{IMG} rice points {BREAK}"
SECOND_TITLE = f"{BREAK}{SCRIPT} wheat belt"
#: Metadata item name -> hostile value (the details panel shows these).
METADATA = {
    "CuratedDataSet::TitleCuratedDataSet:": TITLE,
    "CuratedDataSet::DescriptionCuratedDataSet:": f"Description {SVG} {BREAK}",
    "OriginalDataSet:Provider:DescriptionCuratedDataSet:": f"Provider {IMG}",
    "OriginalDataSet:Provider:Code:": f"code {SCRIPT}",
    "OriginalDataSet:Provider:URL:": f"https://example.org/{BREAK}",
    "OriginalDataSet:License:ReferenceToLicense:": f"licence {SVG}",
    "OriginalDataSet:License:RequiredCitation:": f"Cite {SCRIPT} {IMG}",
    "OriginalDataSet:DOI::": f"10.1234/{BREAK}{IMG}",
    "OriginalDataSet:Observation:ObservationMethod:TypeOfObservationMethod": f"method {BREAK}",
    "OriginalDataSet:NameDataSet::": f"name {IMG}",
}


def hostile_sample_id(i: int) -> str:
    return f"{PAYLOADS[i % len(PAYLOADS)]} #{i}"


def _rewrite_sample_ids(path: Path, new_ids: dict[str, str]) -> None:
    """Replace the ``sample_id`` column of one (Geo)Parquet file, keeping the schema (its ``geo`` and field
    metadata) and the row groups."""
    meta = pq.ParquetFile(path).metadata
    row_group = max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) if meta.num_row_groups else None
    table = pq.read_table(path)
    index = table.schema.get_field_index("sample_id")
    field = table.schema.field(index)
    ids = [new_ids[v] for v in table.column("sample_id").to_pylist()]
    table = table.set_column(index, field, pa.array(ids, type=field.type))
    assert table.schema.metadata and b"geo" in table.schema.metadata
    pq.write_table(table, path, row_group_size=row_group)


def make_hostile_catalog(source: Path, target: Path) -> dict[str, object]:
    """Copy the demo catalogue ``source`` to ``target`` and poison it; return what was poisoned
    (``labels``: ewoc code -> hostile label, ``sample_ids``)."""
    shutil.copytree(source, target)
    # titles and metadata values
    for cid, title in ((POINTS, TITLE), (SECOND, SECOND_TITLE)):
        folder = target / cid
        api = json.loads((folder / "collection.json").read_text(encoding="utf-8"))
        api["title"] = title
        (folder / "collection.json").write_text(json.dumps(api, indent=2), encoding="utf-8")
        items = json.loads((folder / "metadata_items.json").read_text(encoding="utf-8"))
        for item in items:
            if item.get("name") == "CuratedDataSet::TitleCuratedDataSet:":
                item["value"] = title
            elif cid == POINTS and item.get("name") in METADATA:
                item["value"] = METADATA[item["name"]]
        (folder / "metadata_items.json").write_text(json.dumps(items, indent=2), encoding="utf-8")
    # sample ids, the same in the full file and the subset
    folder = target / POINTS
    files = [p for p in folder.iterdir() if p.suffix in (".geoparquet", ".parquet")]
    full = next(p for p in files if not p.name.startswith("sample_"))
    old = pq.read_table(full, columns=["sample_id"]).column("sample_id").to_pylist()
    new_ids = {v: hostile_sample_id(i) for i, v in enumerate(old)}
    for path in files:
        _rewrite_sample_ids(path, new_ids)
    # legend labels of the codes POINTS uses
    codes = json.loads((folder / "collection.json").read_text(encoding="utf-8"))["ewocCodes"]
    legend_path = target / "legend.csv"
    legend = pd.read_csv(legend_path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    as_int = legend["ewoc_code"].str.replace("-", "", regex=False).astype("int64")
    labels: dict[int, str] = {}
    for k, code in enumerate(codes):
        rows = as_int == int(code)
        assert rows.sum() == 1, f"code {code} is not once in the legend"
        payload = PAYLOADS[k % len(PAYLOADS)]
        original = legend.loc[rows, "label_full"].iloc[0]
        labels[int(code)] = f"{payload} {original}"
        legend.loc[rows, "label_full"] = labels[int(code)]
        legend.loc[rows, "LC_label"] = f"{BREAK} lc"
        for level in ("level_1", "level_2", "level_3", "level_4", "level_5"):
            if legend.loc[rows, level].iloc[0]:
                legend.loc[rows, level] = f"{payload} {legend.loc[rows, level].iloc[0]}"
    legend.to_csv(legend_path, sep=";", index=False, encoding="utf-8-sig")
    return {"labels": labels, "sample_ids": list(new_ids.values())}
