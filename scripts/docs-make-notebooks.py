"""Write docs/notebooks/*.ipynb from the cell sources below (no outputs: mkdocs-jupyter executes them at build time).

Usage: python scripts/docs-make-notebooks.py   (run from the repository root after editing a cell here)
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

OUT = Path(__file__).resolve().parent.parent / "docs" / "notebooks"

def nb(cells):
    book = nbf.v4.new_notebook()
    book.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}}
    for kind, src in cells:
        src = src.strip("\n")
        book.cells.append(nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src))
    for i, cell in enumerate(book.cells):
        cell["id"] = f"cell-{i}"
    return book

ENDPOINT_NOTE = """
> **Where the data comes from.** This page was executed when the documentation was built, against the
> **local RDM-compatible server** on the **synthetic demo catalogue** (`worldcereal-explorer serve`;
> `$WORLDCEREAL_RDM_URL` points at it). In your own notebook, `RdmClient()` talks to the live RDM unless
> `$WORLDCEREAL_RDM_URL` says otherwise.
"""

client = nb([
("md", """
# The Python client: collections, counts, samples

`RdmClient` (also importable as `RdmInteraction`, the reference client's name) is one object with one
method per RDM endpoint. This notebook finds collections, counts crop types, reads individual samples and
writes them to a file.
""" + ENDPOINT_NOTE),
("code", """
from worldcereal_explorer import RdmClient, translate_ewoc_codes

rdm = RdmClient()
collections = rdm.get_collections()
len(collections), [c.id for c in collections][:5]
"""),
("md", """
## Filter collections

An area as `(west, south, east, north)` in degrees (or a dict, a shapely polygon, a `BoundingBoxExtent`),
dates as `(start, end)` (both days count entirely) and crop codes from the WorldCereal legend.
"""),
("code", """
PRAIRIES = (-106.0, 49.5, -97.5, 53.0)
collections = rdm.get_collections(spatial_extent=PRAIRIES, temporal_extent=("2021-01-01", "2021-12-31"),
                                  ewoc_codes=[1101010002, 1106000030])   # spring wheat, rapeseed
[c.id for c in collections]
"""),
("code", """
col = collections[0]
col.print_metadata()
"""),
("code", """
translate_ewoc_codes(col.ewoc_codes)
"""),
("md", """
## Count before you download

`get_crop_counts` gives one column per collection (index: `ewoc_code`, `Label`);
`get_collection_stats` the statistics of one collection; `count_samples` the exact number of samples a
query would bring, without reading a single geometry.
"""),
("code", """
counts = rdm.get_crop_counts([c.id for c in collections])
counts.head(10)
"""),
("code", """
rdm.get_collection_stats(col.id).head()
"""),
("code", """
preview = rdm.count_samples(spatial_extent=PRAIRIES, ewoc_codes=[1101010002, 1106000030], min_quality_ct=50)
preview
"""),
("md", """
## Individual samples across collections

`get_samples` reads each collection's GeoParquet with HTTP range requests: only the row groups that can
match, then only the matching rows. `progress=False` hides the progress bars.
"""),
("code", """
gdf = rdm.get_samples(spatial_extent=PRAIRIES, ewoc_codes=[1101010002, 1106000030], min_quality_ct=50,
                      progress=False)
print(len(gdf), "samples from", gdf["ref_id"].nunique(), "collections")
gdf[["sample_id", "ref_id", "ewoc_code", "valid_time", "quality_score_ct", "geometry"]].head()
"""),
("md", """
## Save them

`export_samples` writes GeoParquet 1.1, GeoPackage, GeoJSON or CSV (WKT), chosen by the file's suffix,
atomically (a file appears only complete). For queries too big for memory, `rdm.download_samples(path, ...)`
streams row group by row group straight to the file.
"""),
("code", """
import tempfile
from pathlib import Path
from worldcereal_explorer.rdm.export import export_samples

out = Path(tempfile.mkdtemp()) / "prairies.gpkg"
export_samples(gdf, out)
out.name, out.stat().st_size > 0
"""),
("code", """
path = rdm.download_collection_geoparquet(col.id, out.parent, subset=True)
path.name
"""),
])

widgets = nb([
("md", """
# Widgets in a notebook

Every widget in `worldcereal_explorer.widgets` binds to a `RdmQueryState`: one traitlets object holding
the query's inputs (area, dates, crop codes, access, quality, subset, selected collections) and its
results (collections, counts, samples). Widgets sharing a state stay in step; anything set on the state
from Python shows in the widgets, and the other way round.

The static page below shows the cells' text outputs; see [Notebook widgets](../../how-to/widgets/) for a
screenshot of each widget as it looks in JupyterLab or Voilà.
""" + ENDPOINT_NOTE),
("code", """
from worldcereal_explorer.state import RdmQueryState

state = RdmQueryState(auto_search=False, bbox=(-106.0, 49.5, -97.5, 53.0))
collections = state.refresh()          # the search, in this thread (the widgets run it in the background)
[c.id for c in collections]
"""),
("code", """
state.counts.head()
"""),
("md", """
## Compose widgets on one state

In a live notebook the last line of the cell below draws the widgets. A static page cannot run them, so the
output stays empty here; the pictures after the cell were taken in Voilà from the same widgets when this
page was built.
"""),
("code", """
import ipywidgets as w
from worldcereal_explorer.widgets import BBoxMap, CountsChart, CropTypePicker, DateRangePicker, ResultsTable

picker = CropTypePicker(state)
ui = w.VBox([w.HBox([DateRangePicker(state), picker]), BBoxMap(state, height="360px"),
             ResultsTable(state), CountsChart(state)])
ui
"""),
("md", """
![DateRangePicker](../../assets/screenshots/date_range.png)
![CropTypePicker](../../assets/screenshots/crop_picker.png)
![BBoxMap](../../assets/screenshots/bbox_map.png)
![ResultsTable](../../assets/screenshots/results_table.png)
![CountsChart](../../assets/screenshots/counts_chart.png)
"""),
("md", """
## Drive them from code

Setting a trait is what a click does. With `auto_search=True` (the default) a change starts a search in the
background after a short debounce; here we search explicitly.
"""),
("code", """
state.ewoc_codes = [1101010002]        # spring wheat
state.start_date, state.end_date = "2021-04-01", "2021-09-30"
state.refresh()
print(state.message)
"""),
("code", """
samples = state.fetch_samples()        # wait=False runs it in the background, as the dashboard does
len(samples), sorted(samples["ref_id"].unique())
"""),
("md", """
## Share and reproduce

The state writes the Python that fetches exactly the same samples, a link's query string for the Voilà
dashboard, and a small versioned JSON session.
"""),
("code", """
print(state.to_code())
"""),
("code", """
state.to_query_string()
"""),
("code", """
d = state.to_dict()
{k: d[k] for k in ("version", "bbox", "ewoc_codes", "start_date", "end_date")}
"""),
("code", """
RdmQueryState.from_dict(d, auto_search=False).ewoc_codes
"""),
("md", """
## The whole dashboard

`RdmExplorer()` is every widget composed on one state, the same app Voilà serves (screenshot taken in
Voilà when this page was built):

![The dashboard](../../assets/screenshots/dashboard.png)
"""),
("code", """
from worldcereal_explorer import RdmExplorer

explorer = RdmExplorer(search=False)
explorer.state.bbox = (-106.0, 49.5, -97.5, 53.0)
type(explorer).__name__, explorer.state.bbox
"""),
("code", """
explorer.close()
ui.close()
state.close()
"""),
])

training = nb([
("md", """
# From samples to a training set

`worldcereal_explorer.training` turns fetched samples into a training set: class mapping (your own, or one of
WorldCereal's class schemes by name), season check, de-duplication, per-class caps, a spatial split and a
dataset card listing every collection's licence. Every step takes a GeoDataFrame and returns a new one, so
they chain.
""" + ENDPOINT_NOTE),
("code", """
from worldcereal_explorer import RdmClient
from worldcereal_explorer import training as tr

client = RdmClient()
gdf = client.get_samples(spatial_extent=(-106.0, 49.5, -97.5, 53.0), min_quality_ct=50, progress=False)
len(gdf)
"""),
("code", """
gdf = tr.map_classes(gdf, {1101010000: "wheat", 1106000030: "rapeseed"}, unmapped="other")
gdf["downstream_class"].value_counts()
"""),
("code", """
tr.season_filter_preview(gdf, "04-09")
"""),
("code", """
gdf = tr.season_filter(gdf, "04-09")
gdf, report = tr.deduplicate(gdf, tolerance_m=10)
report.pairs
"""),
("code", """
gdf = tr.cap_per_class(gdf, 300, min_per_class=50, seed=1)
tr.class_balance(gdf)
"""),
("code", """
gdf = tr.spatial_split(gdf, (0.7, 0.15, 0.15), block_h3_res=5, seed=1)
tr.split_report(gdf, (0.7, 0.15, 0.15)).table
"""),
("code", """
import tempfile
from pathlib import Path

card = tr.DatasetCard.build(gdf, client=client, query={"min_quality_ct": 50})
out = Path(tempfile.mkdtemp())
tr.export_training_set(gdf, out / "train.parquet", card)
card.write(out / "train_card")
sorted(p.name for p in out.iterdir())
"""),
("code", """
print((out / "train_card.md").read_text()[:1500])
"""),
])

for name, book in {"python-client": client, "widgets": widgets, "training-set": training}.items():
    nbf.write(book, OUT / f"{name}.ipynb")
