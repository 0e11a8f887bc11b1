"""Derive ``worldcereal_explorer/data/countries.geojson`` from Natural Earth's low-resolution admin-0 countries.

Run once, by hand, when the file is to be rebuilt (the package never reads the source at run time)::

    python scripts/make_countries.py [SOURCE] [DESTINATION]

``SOURCE`` defaults to the copy of Natural Earth's 1:110m "admin 0 - countries" (``naturalearth_lowres``)
that ships as a test fixture inside the ``pyogrio`` wheel; Natural Earth is in the public domain. The script

1. reads the shapefile (EPSG:4326) and keeps ``name``, ``iso_a3`` and ``continent``;
2. repairs the ISO 3166-1 alpha-3 codes the source leaves as ``-99`` (France, Norway, Kosovo's user-assigned
   ``XKX``; none for Somaliland and Northern Cyprus);
3. adds common alternative names (``aliases``) for the source's abbreviated ones ("Dem. Rep. Congo" ...);
4. simplifies each outline with a 0.01 degree tolerance (topology kept per country) and rounds coordinates to
   3 decimals (about 100 m, far below the source's own accuracy at 1:110m);
5. writes a GeoJSON FeatureCollection sorted by name, one feature a line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parent.parent
DESTINATION = ROOT / "worldcereal_explorer" / "data" / "countries.geojson"

#: ISO 3166-1 alpha-3 codes the source lists as "-99".
ISO_FIXES = {"France": "FRA", "Norway": "NOR", "Kosovo": "XKX", "N. Cyprus": "", "Somaliland": ""}

#: Other names people type for the source's names.
ALIASES = {
    "United States of America": ["United States", "USA", "US"],
    "United Kingdom": ["UK", "Great Britain", "Britain"],
    "Dem. Rep. Congo": ["Democratic Republic of the Congo", "DR Congo", "DRC", "Congo-Kinshasa"],
    "Congo": ["Republic of the Congo", "Congo-Brazzaville"],
    "Central African Rep.": ["Central African Republic"],
    "S. Sudan": ["South Sudan"],
    "Bosnia and Herz.": ["Bosnia and Herzegovina"],
    "Dominican Rep.": ["Dominican Republic"],
    "Eq. Guinea": ["Equatorial Guinea"],
    "Solomon Is.": ["Solomon Islands"],
    "Falkland Is.": ["Falkland Islands", "Malvinas"],
    "Fr. S. Antarctic Lands": ["French Southern and Antarctic Lands"],
    "N. Cyprus": ["Northern Cyprus"],
    "W. Sahara": ["Western Sahara"],
    "eSwatini": ["Eswatini", "Swaziland"],
    "Côte d'Ivoire": ["Cote d'Ivoire", "Ivory Coast"],
    "Timor-Leste": ["East Timor"],
    "Czechia": ["Czech Republic"],
    "Macedonia": ["North Macedonia"],
    "Myanmar": ["Burma"],
    "Russia": ["Russian Federation"],
    "South Korea": ["Korea, Republic of", "Republic of Korea"],
    "North Korea": ["Korea, Democratic People's Republic of"],
    "Laos": ["Lao PDR"],
    "Vietnam": ["Viet Nam"],
    "Iran": ["Islamic Republic of Iran"],
    "Syria": ["Syrian Arab Republic"],
    "Tanzania": ["United Republic of Tanzania"],
    "Turkey": ["Türkiye", "Turkiye"],
    "Moldova": ["Republic of Moldova"],
    "Bolivia": ["Plurinational State of Bolivia"],
    "Venezuela": ["Bolivarian Republic of Venezuela"],
    "Gambia": ["The Gambia"],
    "Bahamas": ["The Bahamas"],
    "Netherlands": ["Holland", "The Netherlands"],
}

TOLERANCE_DEG = 0.01
DECIMALS = 3


def default_source() -> Path:
    """Natural Earth lowres inside the installed pyogrio wheel (its test fixture)."""
    import pyogrio

    return Path(pyogrio.__file__).parent / "tests" / "fixtures" / "naturalearth_lowres" / "naturalearth_lowres.shp"


def derive(source: Path, destination: Path) -> Path:
    """Read ``source``, derive the small country file and write it to ``destination``."""
    frame = gpd.read_file(source)
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    features = []
    for row in frame.sort_values("name").itertuples():
        name = str(row.name)
        iso = ISO_FIXES.get(name, str(row.iso_a3))
        iso = "" if iso == "-99" else iso
        geometry = shapely.make_valid(shapely.simplify(row.geometry, TOLERANCE_DEG, preserve_topology=True))
        geometry = shapely.set_precision(geometry, 10.0 ** -DECIMALS)
        if geometry.geom_type == "GeometryCollection":  # keep the polygons make_valid may wrap
            geometry = shapely.MultiPolygon([g for g in geometry.geoms if g.geom_type == "Polygon"])
        features.append({"type": "Feature",
                         "properties": {"name": name, "iso_a3": iso, "continent": str(row.continent),
                                        "aliases": ALIASES.get(name, [])},
                         "geometry": json.loads(shapely.to_geojson(geometry))})
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    text = ('{"type":"FeatureCollection","source":"Natural Earth 1:110m admin 0 countries (public domain), '
            'derived by scripts/make_countries.py","features":[\n' + lines + "\n]}\n")
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(text, encoding="utf-8")
    return destination


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else default_source()
    destination = Path(argv[2]) if len(argv) > 2 else DESTINATION
    path = derive(source, destination)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
