"""Countries by name, offline: the outlines shipped in ``data/countries.geojson`` (Natural Earth, public domain).

See ``data/PROVENANCE.md`` for where the file comes from and how it was derived. The file is read once, on
first use, from the installed package (no network)::

    from worldcereal_explorer.places import find_country
    kenya = find_country("Kenya")
    kenya.bbox          # (west, south, east, north)
    kenya.geometry      # shapely (Multi)Polygon, usable as the query polygon
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

from .extents import geometry_bounds

__all__ = ["Country", "countries", "country_names", "find_country", "match_countries"]

@dataclass(frozen=True)
class Country:
    """One country of the shipped outlines.

    Attributes
    ----------
    name : str
        Natural Earth's name (e.g. ``"Kenya"``, ``"Dem. Rep. Congo"``).
    iso_a3 : str
        ISO 3166-1 alpha-3 code (``""`` when it has none).
    continent : str
        Natural Earth's continent.
    aliases : tuple of str
        Other names it is found by.
    geojson : dict
        The outline as a GeoJSON geometry.
    """

    name: str
    iso_a3: str
    continent: str
    aliases: tuple[str, ...] = ()
    geojson: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def geometry(self) -> Any:
        """The outline as a shapely (Multi)Polygon."""
        from shapely.geometry import shape

        return shape(self.geojson)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of the outline."""
        return geometry_bounds(self.geometry)

    def names(self) -> tuple[str, ...]:
        """Every name the country is found by: its name, ISO code and aliases."""
        return tuple(n for n in (self.name, self.iso_a3, *self.aliases) if n)


def countries() -> list[Country]:
    """Every country of ``data/countries.geojson``, sorted by name (read once, then cached)."""
    return list(_shipped_countries())


@cache
def _shipped_countries() -> tuple[Country, ...]:
    text = (resources.files("worldcereal_explorer") / "data" / "countries.geojson").read_text("utf-8")
    return tuple(
        Country(name=f["properties"]["name"], iso_a3=f["properties"].get("iso_a3") or "",
                continent=f["properties"].get("continent") or "",
                aliases=tuple(f["properties"].get("aliases") or ()), geojson=f["geometry"])
        for f in json.loads(text)["features"]
    )


def country_names() -> list[str]:
    """The countries' names, sorted (what a search box offers)."""
    return [c.name for c in countries()]


def _key(text: str) -> str:
    return " ".join(str(text or "").replace("\u2019", "'").casefold().split())


def find_country(text: str, *, codes: bool = True) -> Country | None:
    """The country whose name or alias is ``text`` (case and spacing ignored), or whose ISO alpha-3 code it is.

    Parameters
    ----------
    text
        A name (``"Kenya"``, ``"kenya"``, ``"Ivory Coast"``) or, with ``codes``, an ISO code (``"KEN"``).
    codes
        Also accept ISO alpha-3 codes.
    """
    key = _key(text)
    if not key:
        return None
    for country in countries():
        if key in (_key(n) for n in (country.name, *country.aliases)):
            return country
    if codes:
        for country in countries():
            if country.iso_a3 and key == _key(country.iso_a3):
                return country
    return None


def match_countries(text: str, limit: int = 10) -> list[Country]:
    """Countries whose name, alias or ISO code starts with ``text`` (then those containing it), best first."""
    key = _key(text)
    if not key:
        return []
    starts, contains = [], []
    for country in countries():
        names = [_key(n) for n in country.names()]
        if any(n.startswith(key) for n in names):
            starts.append(country)
        elif any(key in n for n in names):
            contains.append(country)
    return (starts + contains)[:limit]
