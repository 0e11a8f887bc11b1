"""Issue 24: how much of the paged layout's geometry a reader pruning on ``h3_l3_cell`` must fetch.

On ``bench_real_layout.py``'s paged file (one row group, submission order, a page index), for its small box:
the share of the geometry column's bytes on pages holding a *candidate* row (its ``h3_l3_cell`` among the
query's level-3 cells plus the one-ring margin, as the reader prunes), on pages holding a candidate without
any margin (which would lose samples), and on pages holding a *matching* row (the exact geometry test).
No reader that decides from ``h3_l3_cell`` can fetch fewer geometry bytes than the first share.

    python benchmarks/bench_page_share.py               # the issue's size: 1,100,000 parcels
    python benchmarks/bench_page_share.py --rows 200000
"""

from __future__ import annotations

import argparse

import bench_real_layout as real
import h3
import numpy as np
import pyarrow.parquet as pq
import shapely

from worldcereal_explorer.rdm.samples.bounded import query_cells
from worldcereal_explorer.rdm.samples.pages import column_index_locations, parse_offset_index
from worldcereal_explorer.rdm.samples.query import SampleQuery


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_100_000, help="parcels in the collection")
    args = parser.parse_args()
    root, centre = real.catalogue(args.rows, 1)
    box = real.boxes(centre)[0]
    path = next((root / "b-paged" / real.ids_of(1, "b-paged")[0]).glob("*.geoparquet"))
    data = path.read_bytes()
    footer_length = int.from_bytes(data[-8:-4], "little")
    locations = column_index_locations(data[-8 - footer_length:-8])
    metadata = pq.read_metadata(path)
    geometry_leaf = [metadata.schema.column(j).path for j in range(metadata.num_columns)].index("geometry")
    offset, length = locations[(0, geometry_leaf)]
    pages = parse_offset_index(data[offset:offset + length])
    table = pq.read_table(path, columns=["h3_l3_cell", "geometry"])
    cells = table.column("h3_l3_cell").to_numpy(zero_copy_only=False)
    rows = len(cells)
    firsts = [page.first_row for page in pages] + [rows]
    geometry_bytes = sum(page.size for page in pages)

    def share(mask: np.ndarray) -> float:
        held = sum(page.size for k, page in enumerate(pages) if mask[firsts[k]:firsts[k + 1]].any())
        return held / geometry_bytes

    with_margin = query_cells(SampleQuery.build(bbox=box)) or set()
    candidates = np.isin(cells, list(with_margin))
    west, south, east, north = box
    # the cells the box itself touches, sampled on a fine grid of its points (no margin)
    own = {h3.latlng_to_cell(y, x, 3) for x in np.linspace(west, east, 21) for y in np.linspace(south, north, 21)}
    own_values = [h3.str_to_int(c) for c in own] if np.issubdtype(cells.dtype, np.integer) else list(own)
    no_margin = np.isin(cells, own_values)
    matches = shapely.intersects(shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False)),
                                 shapely.box(*box))
    print(f"{rows:,} parcels, {len(pages)} geometry pages: {geometry_bytes / 2**20:.1f} MiB of the file's "
          f"{len(data) / 2**20:.1f} MiB; box {tuple(round(v, 3) for v in box)}, {int(matches.sum()):,} matches")
    print(f"  cells + one-ring margin: {len(with_margin):>3} cells, {candidates.mean():6.1%} of rows, "
          f"geometry bytes on their pages {share(candidates):6.1%}")
    print(f"  cells without margin:    {len(own):>3} cells, {no_margin.mean():6.1%} of rows, "
          f"geometry bytes on their pages {share(no_margin):6.1%} (keeps {int((matches & no_margin).sum()):,} "
          f"of the matches)")
    print(f"  matching rows:                      {matches.mean():6.2%} of rows, geometry bytes on their pages "
          f"{share(matches):6.1%}")


if __name__ == "__main__":
    main()
