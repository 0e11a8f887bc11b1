"""Continents and large regions, built from the shipped country outlines (:mod:`worldcereal_explorer.places`).

A region is the union of its countries' outlines, so it needs no data of its own and works offline::

    from worldcereal_explorer.regions import find_region
    africa = find_region("Sub-Saharan Africa")
    africa.bbox         # (west, south, east, north) of the union
    africa.geometry     # shapely (Multi)Polygon, usable as the query polygon

The continents are Natural Earth's ``continent`` attribute of each country. The other regions are listed
here by ISO 3166-1 alpha-3 code, after the UN M49 geographic sub-regions (``"Sub-Saharan Africa"``,
``"Southeast Asia"`` …) and the European Union's 27 members. Countries too small for the 1:110m outlines
(e.g. Malta, Singapore) are simply absent.

Where a country's outline runs far outside its region (Russia, whose Natural Earth continent is Europe and
which crosses the antimeridian; France with French Guiana; Fiji across the antimeridian) the region is clipped
to a box, so its bounding box and the map's zoom stay on the region: "Europe" ends at 60°E (about the Urals)
and "Asia" takes Russia east of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from .extents import geometry_bounds
from .places import Country, countries

__all__ = ["Region", "closest_place_names", "find_place", "find_region", "region_names", "regions"]

#: ``(west, south, east, north)`` clip boxes (see the module's notes).
_EUROPE_BOX = (-32.0, 27.0, 60.0, 82.0)
_ASIA_BOX = (25.0, -12.0, 180.0, 82.0)
_EAST_BOX = (100.0, -60.0, 180.0, 10.0)

_NORTH_AFRICA = ("DZA", "EGY", "LBY", "MAR", "SDN", "TUN", "ESH")
_CENTRAL_AMERICA = ("BLZ", "CRI", "SLV", "GTM", "HND", "MEX", "NIC", "PAN")
_CARIBBEAN = ("BHS", "CUB", "DOM", "HTI", "JAM", "PRI", "TTO")
_EU = ("AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN", "IRL", "ITA",
       "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP", "SWE")

#: ``(name, kind, continents, extra ISO codes, ISO codes left out, clip box)``: a region is the countries of
#: ``continents`` plus the extra codes, minus those left out, clipped to the box.
_SPECS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple | None], ...] = (
    ("Africa", "continent", ("Africa",), (), (), None),
    ("Asia", "continent", ("Asia",), ("RUS",), (), _ASIA_BOX),
    ("Europe", "continent", ("Europe",), (), (), _EUROPE_BOX),
    ("North America", "continent", ("North America",), (), (), None),
    ("South America", "continent", ("South America",), (), (), None),
    ("Oceania", "continent", ("Oceania",), (), (), _EAST_BOX),
    ("Sub-Saharan Africa", "region", ("Africa",), (), _NORTH_AFRICA, None),
    ("North Africa", "region", (), _NORTH_AFRICA, (), None),
    ("Middle East", "region", (), ("ARE", "BHR", "CYP", "IRN", "IRQ", "ISR", "JOR", "KWT", "LBN", "OMN", "PSE",
                                   "QAT", "SAU", "SYR", "TUR", "YEM"), (), None),
    ("Central Asia", "region", (), ("KAZ", "KGZ", "TJK", "TKM", "UZB"), (), None),
    ("South Asia", "region", (), ("AFG", "BGD", "BTN", "IND", "LKA", "NPL", "PAK"), (), None),
    ("Southeast Asia", "region", (), ("BRN", "IDN", "KHM", "LAO", "MMR", "MYS", "PHL", "THA", "TLS", "VNM"), (),
     None),
    ("East Asia", "region", (), ("CHN", "JPN", "KOR", "MNG", "PRK", "TWN"), (), None),
    ("Central America", "region", (), _CENTRAL_AMERICA, (), None),
    ("Caribbean", "region", (), _CARIBBEAN, (), None),
    ("Latin America", "region", ("South America",), _CENTRAL_AMERICA + _CARIBBEAN, (), None),
    ("European Union", "region", (), _EU, (), _EUROPE_BOX),
)

@dataclass(frozen=True)
class Region:
    """A continent or large region: the union of its countries' shipped outlines.

    Attributes
    ----------
    name : str
        E.g. ``"Europe"``, ``"Sub-Saharan Africa"``.
    kind : str
        ``"continent"`` or ``"region"``.
    members : tuple of Country
        Its countries, by name.
    clip : tuple of float or None
        ``(west, south, east, north)`` the union is cut to (see the module's notes).
    """

    name: str
    kind: str
    members: tuple[Country, ...] = field(repr=False)
    clip: tuple[float, float, float, float] | None = None
    aliases: tuple[str, ...] = ()

    @cached_property
    def geometry(self) -> Any:
        """The union of the members' outlines (clipped), a shapely (Multi)Polygon."""
        import shapely
        from shapely.geometry import box

        union = shapely.union_all([c.geometry for c in self.members])
        if self.clip is not None:
            union = union.intersection(box(*self.clip))
        # the union of touching outlines can leave slivers and lines: keep only the areas
        from .aoi import _polygonal

        return _polygonal(union)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of :attr:`geometry`."""
        return geometry_bounds(self.geometry)

    @property
    def iso_a3(self) -> str:
        """Regions have no ISO code (``""``), like the countries that have none."""
        return ""

    def names(self) -> tuple[str, ...]:
        """Every name the region is found by."""
        return (self.name, *self.aliases)


_ALIASES = {"European Union": ("EU",), "Middle East": ("Western Asia",), "North Africa": ("Northern Africa",),
            "Southeast Asia": ("South-East Asia", "South East Asia"), "Sub-Saharan Africa": ("Subsaharan Africa",
                                                                                             "Sub Saharan Africa")}


def regions() -> list[Region]:
    """The continents, then the large regions (built once, then cached; their outlines on first use)."""
    return list(_built_regions())


@cache
def _built_regions() -> tuple[Region, ...]:
    by_code = {c.iso_a3: c for c in countries() if c.iso_a3}
    built = []
    for name, kind, continents, extra, left_out, clip in _SPECS:
        members = [c for c in countries() if c.continent in continents and c.iso_a3 not in left_out]
        members += [by_code[code] for code in extra if code in by_code and by_code[code] not in members]
        built.append(Region(name, kind, tuple(sorted(members, key=lambda c: c.name)), clip,
                            _ALIASES.get(name, ())))
    return tuple(built)


def region_names() -> list[str]:
    """The regions' names, continents first (what a search box offers)."""
    return [r.name for r in regions()]


def _key(text: str) -> str:
    return " ".join(str(text or "").replace("\u2019", "'").replace("-", " ").casefold().split())


def find_region(text: str) -> Region | None:
    """The region named ``text`` (case, spacing and hyphens ignored, aliases such as ``"EU"`` too), or
    ``None``."""
    key = _key(text)
    if not key:
        return None
    for region in regions():
        if key in (_key(n) for n in region.names()):
            return region
    return None


def find_place(text: str, *, codes: bool = True) -> Country | Region | None:
    """The country (see :func:`~worldcereal_explorer.places.find_country`) or else the region named ``text``."""
    from .places import find_country

    return find_country(text, codes=codes) or find_region(text)


def closest_place_names(text: str, n: int = 3) -> list[str]:
    """The ``n`` country and region names most like ``text`` (by :mod:`difflib`'s similarity of their names and
    aliases, case ignored), best first: what to suggest when ``text`` names nothing."""
    import difflib

    key = _key(text)
    if not key:
        return []
    names: dict[str, str] = {}  # the key of each name or alias -> the name to show
    places: list[Country | Region] = [*countries(), *regions()]
    for place in places:
        for alias in (place.name, *place.aliases):
            names.setdefault(_key(alias), place.name)
    ranked = difflib.get_close_matches(key, list(names), n=len(names), cutoff=0.0)
    return list(dict.fromkeys(names[k] for k in ranked))[:n]
