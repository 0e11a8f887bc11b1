"""The reference RDM demo notebook, rebuilt cell by cell, to run on worldcereal-explorer in a real kernel.

Source: ``../shared/docs/rdm-demo-notebook.md`` (the WorldCereal RDM demo notebook of January 2025, every code
cell of sections 1-5, in order) with the three updates of the current reference notebook
(``../shared/docs/rdm-reference-2026.md``):

1. ``bbox=`` → ``spatial_extent=`` (``get_collections`` and ``get_samples``);
2. ``map.get_extent(projection="latlon")`` → ``map.get_bbox(projection="latlon")``;
3. ``CropTypePicker()`` → ``CropTypePicker(ewoc_codes=DEMO_CROPS)``.

The user's code is kept as written. The only other change is to import lines: every import of the reference
client (``worldcereal.*``, ``notebook_utils.*``) becomes ``from worldcereal_explorer import ...``
(:data:`IMPORT_REWRITES`). ``openeo_gfmap`` is a third-party dependency of the reference client, not part of
it: when our package exports ``BoundingBoxExtent``/``TemporalContext`` those lines import from us too;
otherwise they stay as written and the hidden setup cell installs a minimal stand-in ``openeo_gfmap`` module
(openeo_gfmap itself is not installed here), as ``tests/samples/test_demo_notebook_section5.py`` does.

Cells added around the user's cells, each clearly marked and tagged:

- ``setup`` (first, hidden): points the package at the local servers through environment variables;
- ``user-action``: what a person does by hand (tick crop types and click Apply; draw a rectangle), done
  through the widgets' public API. The login of section 3.4 is a device login: the person approves it in the
  browser; the test approves it on the local OIDC provider while the cell waits (nothing in the kernel);
- ``probe`` (hidden): prints one JSON line about the variables the user's cell just made, for the test to
  check (they never change a variable of the notebook).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import nbformat

#: Names the notebook imports from openeo_gfmap.
GFMAP_NAMES = ("BoundingBoxExtent", "TemporalContext")

#: The reference client's import lines → ours (exact lines; a line not listed is kept as written).
IMPORT_REWRITES: dict[str, str] = {
    "from worldcereal.rdm_api import RdmInteraction": "from worldcereal_explorer import RdmInteraction",
    "from worldcereal.utils.legend import translate_ewoc_codes": "from worldcereal_explorer import translate_ewoc_codes",
    "from worldcereal.rdm_api.rdm_collection import visualize_spatial_extents":
        "from worldcereal_explorer import visualize_spatial_extents",
    "from worldcereal.utils.map import visualize_rdm_geoparquet":
        "from worldcereal_explorer import visualize_rdm_geoparquet",
    "from notebook_utils.croptypepicker import CropTypePicker, DEMO_CROPS":
        "from worldcereal_explorer import CropTypePicker, DEMO_CROPS",
    "from worldcereal.utils.map import ui_map": "from worldcereal_explorer import ui_map",
}
#: Used instead of the openeo_gfmap lines when our package exports those names.
GFMAP_REWRITES: dict[str, str] = {
    f"from openeo_gfmap import {name}": f"from worldcereal_explorer import {name}" for name in GFMAP_NAMES
}

#: The current reference notebook's changes to the January 2025 cells: (old, new) text replacements.
UPDATES_2026: tuple[tuple[str, str], ...] = (
    ("rdm.get_collections(bbox=bbox)", "rdm.get_collections(spatial_extent=bbox)"),
    ("    bbox=bbox,\n", "    spatial_extent=bbox,\n"),
    ('map.get_extent(projection="latlon")', 'map.get_bbox(projection="latlon")'),
    ("croptypepicker = CropTypePicker()", "croptypepicker = CropTypePicker(ewoc_codes=DEMO_CROPS)"),
)

# --- the code cells of rdm-demo-notebook.md, sections 1 to 5, as published (January 2025) ----------------
# (name, source); names are ours, for the probes and the test's messages.
REFERENCE_CELLS_2025: tuple[tuple[str, str], ...] = (
    ("1-collections", """\
# We first initiate an interaction session with the RDM:
from worldcereal.rdm_api import RdmInteraction
rdm = RdmInteraction()

# Get a list of available collections
# (by default, the following method only returns public collections)
collections = rdm.get_collections()

# Extract the collection ID's
ids = [col.id for col in collections]
print(f'Number of collections found: {len(ids)}')
ids"""),
    ("1-metadata", """\
# We get the first collection
col = collections[0]

# We can now access the collection's metadata
col.print_metadata()"""),
    ("1-translate", """\
from worldcereal.utils.legend import translate_ewoc_codes

crop_types = translate_ewoc_codes(col.ewoc_codes)
crop_types"""),
    ("1-temporal", """\
print(f'Start date: {col.temporal_extent[0]}, End date: {col.temporal_extent[1]}')"""),
    ("1-extent-map", """\
from worldcereal.rdm_api.rdm_collection import visualize_spatial_extents
visualize_spatial_extents([col])"""),
    ("2.1-download", """\
dwnld_folder = './download'
# the following function will automatically create the download folder in case it does not exist
parquet_file = rdm.download_collection_geoparquet(col.id, dwnld_folder, subset=True)"""),
    ("2.1-visualize", """\
from worldcereal.utils.map import visualize_rdm_geoparquet

visualize_rdm_geoparquet(parquet_file)"""),
    ("2.2-metadata", """\
metadata_file = rdm.download_collection_metadata(col.id, dwnld_folder)

metadata = rdm.get_collection_metadata(col.id)
metadata"""),
    ("2.2-stats", """\
crop_counts = rdm.get_collection_stats(col.id)
crop_counts"""),
    ("2.3-harmonization", """\
# Note: this only works for public datasets!
harmonization_file = rdm.download_collection_harmonization_info(col.id, dwnld_folder)"""),
    ("3.1-picker", """\
from notebook_utils.croptypepicker import CropTypePicker, DEMO_CROPS

croptypepicker = CropTypePicker()
croptypepicker.display()"""),
    ("3.1-croptypes", """\
croptypes = croptypepicker.croptypes
croptypes"""),
    ("3.1-search", """\
# Get a list of public collections containing these crop types
ewoc_codes = list(croptypes.index.values)

collections = rdm.get_collections(ewoc_codes=ewoc_codes)
ids = [col.id for col in collections]
print(f'Number of collections found: {len(ids)}')
ids"""),
    ("3.2-map", """\
from worldcereal.utils.map import ui_map

map = ui_map()"""),
    ("3.2-search", """\
bbox = map.get_extent(projection="latlon")

collections = rdm.get_collections(bbox=bbox)

ids = [col.id for col in collections]
print(f'Number of collections found: {len(ids)}')
ids"""),
    ("3.2-manual-bbox", """\
from openeo_gfmap import BoundingBoxExtent

north = 34.79638823
east = -0.34539808
south = 34.45619011
west = -0.91010781

bbox = BoundingBoxExtent(north=north, east=east, south=south, west=west)"""),
    ("3.3-temporal", """\
from openeo_gfmap import TemporalContext

# We use the year 2020 as an example:
start_date = "2020-01-01"
end_date = "2020-12-31"

temporal_extent = TemporalContext(start_date=start_date, end_date=end_date)

# Access public collections for the specific temporal range
collections = rdm.get_collections(temporal_extent=temporal_extent)
ids = [col.id for col in collections]
print(f'Number of collections found: {len(ids)}')
ids"""),
    ("3.4-private", """\
private_collections = rdm.get_collections(include_public=False, include_private=True)
private_ids = [col.id for col in private_collections]
print(f'Number of private collections found: {len(private_ids)}')
private_ids"""),
    ("4-counts", """\
# Get total count of soybean and spring wheat samples across two collections in Canada:
collection_ids = ['2021_can_aafccropinventory_point_110', '2018_can_aafccropinventory_point_110']
crop_codes = [1106000020, 1101010002] # soybean + spring wheat

counts = rdm.get_crop_counts(ref_ids=collection_ids, ewoc_codes=crop_codes)
counts"""),
    ("4-counts-all", """\
ref_ids = ['2018_sen_jecamcirad_poly_111', '2019_mli_nhicropharvest_poly_110']

counts = rdm.get_crop_counts(ref_ids)
counts"""),
    ("5-samples", """\
# supply a bounding box (this one is located on Java, Indonesia)
bbox = BoundingBoxExtent(north=-6.577303, east=111.950684, south=-8.05923, west=107.116699)

# do not explicitly filter on collections
ref_ids = None

# Do not filter on date
temporal_extent = None

# Do not filter on crop type
ewoc_codes = None

# Include public collections only
include_public = True
include_private = False

# Limit sample download to a subset in case many samples available
subset = True

# Minimum quality score for samples
min_quality_ct = 75
min_quality_lc = 0

gdf = rdm.get_samples(
    ref_ids=ref_ids,
    subset=subset,
    bbox=bbox,
    temporal_extent=temporal_extent,
    ewoc_codes=ewoc_codes,
    include_public=include_public,
    include_private=include_private,
    min_quality_ct=min_quality_ct,
    min_quality_lc=min_quality_lc,
)

print(f"Total number of samples downloaded: {len(gdf)}")
gdf.head()"""),
    ("5-ref-ids", """\
gdf['ref_id'].unique()"""),
    ("5-save", """\
from pathlib import Path

# save as geoparquet file and visualize
parquet_file = str(Path(dwnld_folder) / 'samples.geoparquet')
gdf.to_parquet(parquet_file)

visualize_rdm_geoparquet(parquet_file)"""),
)

# --- what a person does by hand, done through the widgets' public API ------------------------------------
#: Crop types the "user" ticks in the picker (both are in DEMO_CROPS): root/tuber crops (with the classes
#: under it) and maize.
PICKED_CODES = (1107000000, 1101060000)
#: The rectangle the "user" draws (the processing extent printed in the reference notebook, in Canada).
DRAWN_BOX = (-100.005946, 49.060932, -97.104723, 49.633507)

USER_ACTIONS: dict[str, str] = {
    "3.1-picker": f"""\
# >>> WHAT THE USER DOES (by hand, in the picker above): tick crop types, then click "Apply".
croptypepicker.wait_ready(60)        # the legend loads in the background; a person waits for the tree
croptypepicker.tick({list(PICKED_CODES)!r})     # root/tuber crops (and the classes under it), maize
croptypepicker.apply_button.click()""",
    "3.2-map": f"""\
# >>> WHAT THE USER DOES (by hand, on the map above): draw a rectangle with the rectangle tool.
from shapely.geometry import box
map.set_shape(box{DRAWN_BOX!r})""",
}

#: Markdown shown before the section 3.4 cell: the login is a person's step too.
LOGIN_NOTE = ("**What the user does:** the next cell starts a device login and prints a link and a code; the "
              "person opens the link and logs in. (In the test, the local OIDC provider approves the code as "
              "the demo user while the cell waits.)")

# --- probes: one JSON line about what the user's cell just made ------------------------------------------
# (no builtins the notebook shadows: it assigns ``map``)
PROBES: dict[str, str] = {
    "1-collections": "{'ids': ids}",
    "1-metadata": "{'col_id': col.id, 'ewoc_codes': [int(c) for c in col.ewoc_codes]}",
    "1-translate": "{'index': [int(i) for i in crop_types.index], 'columns': list(crop_types.columns), "
                   "'labels': [str(v) for v in crop_types['label_full']]}",
    "2.1-download": "{'parquet_file': str(parquet_file)}",
    "2.2-metadata": "{'metadata_file': str(metadata_file), 'metadata_name': "
                    "metadata.get('CuratedDataSet:ReferenceCuratedDataSet:NameCuratedDataSet:')}",
    "2.2-stats": "{'index_name': crop_counts.index.name, 'columns': list(crop_counts.columns), "
                 "'counts': {str(k): int(v) for k, v in crop_counts['Count'].items()}}",
    "2.3-harmonization": "{'harmonization_file': str(harmonization_file)}",
    "3.1-croptypes": "{'index': [int(i) for i in croptypes.index], 'columns': list(croptypes.columns), "
                     "'new_labels': [str(v) for v in croptypes['new_label']]}",
    "3.1-search": "{'ewoc_codes': [int(c) for c in ewoc_codes], 'ids': ids}",
    "3.2-search": "{'bbox': [float(v) for v in (bbox.west, bbox.south, bbox.east, bbox.north)], 'ids': ids}",
    "3.3-temporal": "{'ids': ids}",
    "3.4-private": "{'private_ids': private_ids, 'access': [c.access_type for c in private_collections]}",
    "4-counts": "{'index_names': list(counts.index.names), 'columns': [str(c) for c in counts.columns], "
                "'cells': {f'{c}|{r}': int(counts.loc[r, c].iloc[0]) for r in counts.index.get_level_values(0) "
                "for c in counts.columns}, 'labels': [str(v) for v in counts.index.get_level_values(1)]}",
    "4-counts-all": "{'index_names': list(counts.index.names), 'columns': [str(c) for c in counts.columns], "
                    "'cells': {f'{c}|{r}': int(counts.loc[r, c].iloc[0]) for r in "
                    "counts.index.get_level_values(0) for c in counts.columns}}",
    "5-samples": "{'n': len(gdf), 'columns': list(gdf.columns), 'sample_ids': sorted(str(s) for s in gdf['sample_id']), "
                 "'ref_ids': sorted(str(r) for r in gdf['ref_id'].unique()), "
                 "'min_ct': int(gdf['quality_score_ct'].min()) if len(gdf) else None, "
                 "'min_extract': int(gdf['extract'].min()) if len(gdf) else None, 'crs': gdf.crs.to_epsg()}",
    "5-save": "{'parquet_file': str(parquet_file)}",
}
PROBE_PREFIX = "PROBE "


@dataclass(frozen=True)
class Environment:
    """What the hidden setup cell sets: the local servers, and private caches in the test's folder."""

    rdm_url: str
    oidc_issuer: str
    oidc_client_id: str
    cache_home: str
    config_home: str

    def variables(self) -> dict[str, str]:
        return {
            "WORLDCEREAL_RDM_URL": self.rdm_url,
            "WORLDCEREAL_LEGEND_URL": f"{self.rdm_url}/legend.csv",
            "WORLDCEREAL_IRRIGATION_LEGEND_URL": f"{self.rdm_url}/legend_irrigation.csv",
            "WORLDCEREAL_OIDC_ISSUER": self.oidc_issuer,
            "WORLDCEREAL_OIDC_CLIENT_ID": self.oidc_client_id,
            "XDG_CACHE_HOME": self.cache_home,
            "XDG_CONFIG_HOME": self.config_home,
        }


_GFMAP_STAND_IN = '''
# openeo_gfmap is a dependency of the reference client, not of worldcereal-explorer, and is not installed
# here: a minimal stand-in with the same names and fields.
import dataclasses, sys, types
_gfmap = types.ModuleType("openeo_gfmap")

@dataclasses.dataclass
class BoundingBoxExtent:
    west: float
    south: float
    east: float
    north: float
    epsg: int = 4326

@dataclasses.dataclass
class TemporalContext:
    start_date: str
    end_date: str

_gfmap.BoundingBoxExtent, _gfmap.TemporalContext = BoundingBoxExtent, TemporalContext
sys.modules["openeo_gfmap"] = _gfmap
del BoundingBoxExtent, TemporalContext, _gfmap
'''


def setup_source(env: Environment, *, gfmap_stand_in: bool) -> str:
    lines = [
        "# --- HIDDEN SETUP (not part of the reference notebook): point worldcereal-explorer at the local",
        "# RDM server, its legend files and the local OIDC provider; keep caches in the test's folder.",
        "import os",
        f"os.environ.update({json.dumps(env.variables(), indent=1)})",
        "for _name in ('WORLDCEREAL_RDM_TOKEN', 'WORLDCEREAL_RDM_REFRESH_TOKEN'):",
        "    os.environ.pop(_name, None)  # the login of section 3.4 is a real device login",
    ]
    source = "\n".join(lines)
    return source + ("\n" + _GFMAP_STAND_IN if gfmap_stand_in else "")


def user_source(cell_source: str, *, gfmap_from_ours: bool) -> str:
    """A reference cell as it runs on worldcereal-explorer: the 2026 updates, then the import lines."""
    source = cell_source
    for old, new in UPDATES_2026:
        source = source.replace(old, new)
    rewrites = {**IMPORT_REWRITES, **(GFMAP_REWRITES if gfmap_from_ours else {})}
    out = []
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("import ", "from ")):
            line = rewrites.get(stripped, line)
            if re.match(r"\s*(from|import)\s+(worldcereal|notebook_utils)\b", line):
                raise AssertionError(f"reference import line without a rewrite: {line!r}")
        out.append(line)
    return "\n".join(out)


def updated_cells(*, gfmap_from_ours: bool) -> list[tuple[str, str]]:
    """``(name, source)`` of the user's cells as they run on our package."""
    return [(name, user_source(src, gfmap_from_ours=gfmap_from_ours)) for name, src in REFERENCE_CELLS_2025]


def _probe(name: str, expression: str) -> str:
    return ("# --- PROBE (hidden, for the test): what the cell above made\n"
            f"import json as _json\nprint({PROBE_PREFIX!r} + _json.dumps({{'cell': {name!r}, **({expression})}}))")


def build_notebook(env: Environment, *, gfmap_from_ours: bool) -> nbformat.NotebookNode:
    """The notebook: hidden setup, then every user cell (each followed by its user action and probe)."""
    hidden = {"jupyter": {"source_hidden": True, "outputs_hidden": True}}
    cells = [nbformat.v4.new_code_cell(setup_source(env, gfmap_stand_in=not gfmap_from_ours),
                                       metadata={**hidden, "tags": ["setup", "hide-input"]})]
    for name, source in updated_cells(gfmap_from_ours=gfmap_from_ours):
        if name == "3.4-private":
            cells.append(nbformat.v4.new_markdown_cell(LOGIN_NOTE, metadata={"tags": ["user-action"]}))
        cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": ["reference"], "name": name}))
        if name in USER_ACTIONS:
            cells.append(nbformat.v4.new_code_cell(USER_ACTIONS[name], metadata={"tags": ["user-action"],
                                                                                  "name": f"{name}/user"}))
        if name in PROBES:
            cells.append(nbformat.v4.new_code_cell(_probe(name, PROBES[name]),
                                                   metadata={**hidden, "tags": ["probe", "hide-input"]}))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def probes(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """``{cell name: probe JSON}`` from an executed notebook."""
    found = {}
    for cell in nb.cells:
        if "probe" not in cell.metadata.get("tags", []):
            continue
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(PROBE_PREFIX):
                    data = json.loads(line[len(PROBE_PREFIX):])
                    found[data.pop("cell")] = data
    return found


def reference_outputs(nb: nbformat.NotebookNode) -> dict[str, list]:
    """``{cell name: outputs}`` of the user's (reference) cells."""
    return {cell.metadata["name"]: cell.get("outputs", []) for cell in nb.cells
            if "reference" in cell.metadata.get("tags", [])}
