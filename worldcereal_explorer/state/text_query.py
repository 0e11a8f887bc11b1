"""One-line search: "maize Kenya 2021" read into a crop filter, an area and a date range.

Pure parsing, no widget, no I/O: :func:`parse_text_query` turns a line into a :class:`TextQuery`, which
:meth:`~worldcereal_explorer.state.RdmQueryState.apply_text` then writes to the state::

    from worldcereal_explorer.state.text_query import parse_text_query
    q = parse_text_query("winter wheat France 2018-2020", legend)
    q.describe()   # 'crop: winter wheat · area: France · dates: 2018-01-01…2020-12-31'

What a line may hold, in any order:

- **crops**: a legend label (``maize``, ``winter wheat``, ``sugar_beet``; a leading ``unspecified`` may be
  left out; plurals are understood) or a common synonym (:data:`CROP_SYNONYMS`: ``corn`` → maize,
  ``soybean`` → soy_soybeans, ``wheat`` → unspecified_wheat, whose sub-classes are winter and spring
  wheat). A crop stands for its whole subtree of the legend, as ticking it in the crop tree does.
- **countries**: a name or alias of the shipped outlines (:mod:`worldcereal_explorer.places`), several
  words long if need be (``South Africa``), or an ISO alpha-3 code typed in capitals (``KEN``).
- **dates**: a year (``2021``), a year range (``2018-2020``, ``2018 to 2020``, ``2018..2020``) or ISO
  dates (``2021-03-01..2021-06-30``).

Filler words (``in``, ``and``, ``of``, ``for`` ...) are skipped; every other word the parser does not
understand is listed in :attr:`TextQuery.unknown` (with a close match when there is one), never dropped
silently. Values that look like dates but are not valid (``2021-2018``, ``1492``) land in
:attr:`TextQuery.errors`, each message naming the bad value.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CROP_SYNONYMS", "FILLER_WORDS", "TextQuery", "parse_text_query"]

#: Common names → a legend label (as in ``label_full``, a leading ``unspecified_`` optional). Used only
#: when the legend has that label.
CROP_SYNONYMS: dict[str, str] = {
    "corn": "maize",
    "wheat": "wheat",
    "soy": "soy_soybeans",
    "soya": "soy_soybeans",
    "soybean": "soy_soybeans",
    "soybeans": "soy_soybeans",
    "rapeseed": "rapeseed_rape",
    "canola": "rapeseed_rape",
    "rape": "rapeseed_rape",
    "potato": "potatoes",
    "peanut": "groundnuts",
    "peanuts": "groundnuts",
    "groundnut": "groundnuts",
    "sugarbeet": "sugar_beet",
    "sugar beets": "sugar_beet",
    "sugarcane": "sugar_cane",
    "alfalfa": "alfalfa_lucerne",
    "lucerne": "alfalfa_lucerne",
    "grapes": "vineyards_wine_vine_rebland_grapes",
    "grape": "vineyards_wine_vine_rebland_grapes",
    "vineyard": "vineyards_wine_vine_rebland_grapes",
    "vineyards": "vineyards_wine_vine_rebland_grapes",
    "olives": "olive",
    "oil palm": "oil_palms",
    "cereals": "cereal",
    "pulses": "dry_pulses_legumes",
    "legumes": "dry_pulses_legumes",
    "chickpea": "chick_peas",
    "chickpeas": "chick_peas",
    "cowpea": "cow_peas",
    "cowpeas": "cow_peas",
    "grass": "grasslands",
    "cropland": "cropland_unspecified",
}

#: Words skipped between the parts of a line.
FILLER_WORDS = frozenset({"in", "and", "of", "for", "the", "from", "during", "with", "at", "on", "samples",
                          "sample", "collections", "collection", "&", "+", ",", "/"})

_MAX_WORDS = 5  # the longest name tried as one phrase ("united states of america")
_MIN_YEAR, _MAX_YEAR = 1900, 2100
_YEAR = r"\d{4}"
_DATE = r"\d{4}-\d{2}-\d{2}"
_RANGE_SEP = r"(?:\.\.|\u2026|-|\u2013|\u2014|/|to|until)"
_RANGE_WORDS = {"-", "\u2013", "\u2014", "to", "until", "..", "\u2026"}


@dataclass(frozen=True)
class TextQuery:
    """How one line was read.

    Attributes
    ----------
    text : str
        The line as typed.
    crops : tuple of str
        The legend labels of the crops named, in the order typed (empty: no crop named).
    ewoc_codes : tuple of int
        Every code of those crops' subtrees, sorted (what ``state.ewoc_codes`` becomes).
    countries : tuple of Country
        The countries named (their outlines together are the area).
    start_date, end_date : datetime.date or None
        The dates named (a year is its 1 January … 31 December).
    unknown : tuple of str
        Words that were not understood, as typed.
    suggestions : dict
        ``{unknown word: close known name}`` for the unknown words that resemble a crop or country.
    errors : tuple of str
        Values that look like dates or ranges but are not valid; each message names the bad value.
        A query with errors is not applied.
    legend_loaded : bool
        Whether a legend was given (without one, no crop name can be understood).
    """

    text: str
    crops: tuple[str, ...] = ()
    ewoc_codes: tuple[int, ...] = ()
    countries: tuple[Any, ...] = ()
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    unknown: tuple[str, ...] = ()
    suggestions: dict[str, str] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    legend_loaded: bool = True

    @property
    def ok(self) -> bool:
        """No errors (unknown words do not stop the rest from being applied; they are named)."""
        return not self.errors

    @property
    def empty(self) -> bool:
        """Nothing was understood (no crop, area or dates)."""
        return not (self.crops or self.countries or self.start_date)

    @property
    def area_name(self) -> str:
        """The countries' names joined with ``" + "`` (``""`` when no country was named)."""
        return " + ".join(c.name for c in self.countries)

    @property
    def geometry(self) -> Any:
        """The countries' outlines as one shapely geometry, or ``None``."""
        if not self.countries:
            return None
        if len(self.countries) == 1:
            return self.countries[0].geometry
        from shapely.ops import unary_union

        return unary_union([c.geometry for c in self.countries])

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        """``(west, south, east, north)`` of the area, or ``None``."""
        geometry = self.geometry
        return None if geometry is None else tuple(float(v) for v in geometry.bounds)  # type: ignore[return-value]

    def describe(self) -> str:
        """How the line was read, e.g. ``"crop: maize · area: Kenya · dates: 2021-01-01…2021-12-31"``;
        then what was not understood and any error."""
        parts = []
        if self.crops:
            parts.append(f"crop{'s' if len(self.crops) > 1 else ''}: "
                         + ", ".join(_pretty(c) for c in self.crops))
        if self.countries:
            parts.append(f"area: {self.area_name}")
        if self.start_date is not None and self.end_date is not None:
            parts.append(f"dates: {self.start_date.isoformat()}\u2026{self.end_date.isoformat()}")
        if self.unknown:
            words = [f"\u201c{u}\u201d" + (f" (did you mean {self.suggestions[u]}?)" if u in self.suggestions else "")
                     for u in self.unknown]
            parts.append("not understood: " + ", ".join(words)
                         + ("" if self.legend_loaded else " (the crop legend is not loaded yet)"))
        parts.extend(self.errors)
        return " \u00b7 ".join(parts) if parts else "nothing to search for"


def _pretty(label: str) -> str:
    text = label.replace("_", " ")
    return text[len("unspecified "):] if text.startswith("unspecified ") else text


def _key(text: str) -> str:
    return " ".join(str(text).replace("_", " ").replace("\u2019", "'").casefold().split())


def _singular(key: str) -> str:
    if key.endswith("ies") and len(key) > 4:
        return key[:-3] + "y"
    if key.endswith("oes") and len(key) > 4:
        return key[:-2]
    if key.endswith("s") and not key.endswith("ss") and len(key) > 3:
        return key[:-1]
    return key


def _crop_index(legend: Any) -> dict[str, Any]:
    """``{name key: LegendNode}``: every label, without a leading "unspecified", singular, and synonyms."""
    if legend is None:
        return {}
    index: dict[str, Any] = {}
    nodes = [n for n in legend.tree() if n.code != 0]

    def add(name: str, node: Any) -> None:
        for key in {_key(name), _singular(_key(name))}:
            if key:
                index.setdefault(key, node)

    for node in nodes:  # exact labels first: they win over stripped forms and synonyms
        add(node.label, node)
    for node in nodes:
        key = _key(node.label)
        if key.startswith("unspecified "):
            add(key[len("unspecified "):], node)
    for word, target in CROP_SYNONYMS.items():
        node = index.get(_key(target)) or index.get(_singular(_key(target)))
        if node is not None:
            add(word, node)
    return index


def _year(text: str) -> int | None:
    return int(text) if re.fullmatch(_YEAR, text) else None


def _check_year(year: int, shown: str, errors: list[str]) -> bool:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        errors.append(f"year {shown!r} is outside {_MIN_YEAR}\u2013{_MAX_YEAR}")
        return False
    return True


def _dates_from(tokens: Sequence[str], errors: list[str]) -> tuple[dt.date, dt.date] | None:
    """The date range the tokens spell, or ``None`` when they are not a date expression at all; a date
    expression with a bad value appends an error naming it (and returns ``None``)."""
    text = " ".join(tokens)
    if len(tokens) == 1 and (y := _year(text)) is not None:
        if not _check_year(y, text, errors):
            return None
        return dt.date(y, 1, 1), dt.date(y, 12, 31)
    match = (re.fullmatch(rf"({_YEAR}|{_DATE})\s*{_RANGE_SEP}\s*({_YEAR}|{_DATE})", text)
             if len(tokens) == 1 else None)
    if match is None and len(tokens) == 3 and tokens[1].casefold() in _RANGE_WORDS:
        match = re.fullmatch(rf"({_YEAR}|{_DATE}) \S+ ({_YEAR}|{_DATE})", text)
    if match is None:
        if len(tokens) == 1 and re.fullmatch(_DATE, text):
            match = re.fullmatch(rf"({_DATE})()", text)
        else:
            return None
    assert match is not None  # one date alone: the same pattern matched just above
    first, second = match.group(1), match.group(2) or match.group(1)
    bounds: list[dt.date] = []
    for i, value in enumerate((first, second)):
        if (y := _year(value)) is not None:
            if not _check_year(y, value, errors):
                return None
            bounds.append(dt.date(y, 1, 1) if i == 0 else dt.date(y, 12, 31))
            continue
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            errors.append(f"{value!r} is not a date (YYYY-MM-DD)")
            return None
        if not _check_year(day.year, value, errors):
            return None
        bounds.append(day)
    if bounds[1] < bounds[0]:
        errors.append(f"the range {text!r} ends before it starts")
        return None
    return bounds[0], bounds[1]


def _tokens(text: str) -> list[str]:
    # commas and semicolons separate; a dash between spaces stays a token (a range's "2018 - 2020")
    return re.findall(r"[^\s,;]+", text)


def _default_find_country(text: str, *, codes: bool = True) -> Any:
    from ..places import find_country

    return find_country(text, codes=codes)


def parse_text_query(text: str, legend: Any = None, places: Any = None) -> TextQuery:
    """Read a one-line search (``"maize Kenya 2021"``) into crops, countries and dates.

    Parameters
    ----------
    text
        The line typed. Parts may come in any order; see the module's documentation for what is understood.
    legend
        The crop legend (:class:`~worldcereal_explorer.legend.Legend`, ``state.legend``); ``None``: no crop
        name is understood (each is named as unknown, with a note that the legend is not loaded).
    places
        Where countries are looked up: an object or module with ``find_country(text, codes=...)`` and
        ``country_names()`` (default :mod:`worldcereal_explorer.places`).

    Returns
    -------
    TextQuery
        What was read; its ``errors`` name bad values and its ``unknown`` the words not understood.
    """
    find_country: Callable[..., Any] = getattr(places, "find_country", None) or _default_find_country
    crops = _crop_index(legend)
    tokens = _tokens(text or "")
    found_crops: list[Any] = []
    found_countries: list[Any] = []
    dates: tuple[dt.date, dt.date] | None = None
    unknown: list[str] = []
    errors: list[str] = []
    i = 0
    while i < len(tokens):
        matched = 0
        for n in range(min(_MAX_WORDS, len(tokens) - i), 0, -1):
            span = tokens[i:i + n]
            phrase = " ".join(span)
            before = len(errors)
            if n <= 3 and (got := _dates_from(span, errors)) is not None:
                if dates is not None:
                    errors.append(f"two date ranges: {_show_dates(dates)!r} and {phrase!r}; give one")
                dates = got
                matched = n
                break
            if len(errors) > before:  # a date expression with a bad value: it was read, and refused
                matched = n
                break
            node = crops.get(_key(phrase)) or crops.get(_singular(_key(phrase)))
            if node is not None:
                if node not in found_crops:
                    found_crops.append(node)
                matched = n
                break
            country = find_country(phrase, codes=False)
            if country is None and n == 1 and re.fullmatch(r"[A-Z]{3}", phrase):
                country = find_country(phrase, codes=True)
            if country is not None:
                if country not in found_countries:
                    found_countries.append(country)
                matched = n
                break
        if matched:
            i += matched
            continue
        word = tokens[i]
        if _key(word) not in FILLER_WORDS:
            unknown.append(word)
        i += 1
    suggestions = _suggest(unknown, crops, places)
    codes = sorted({c for node in found_crops for c in node.descendant_codes()})
    return TextQuery(text=text or "", crops=tuple(n.label for n in found_crops), ewoc_codes=tuple(codes),
                     countries=tuple(found_countries), start_date=dates[0] if dates else None,
                     end_date=dates[1] if dates else None, unknown=tuple(unknown), suggestions=suggestions,
                     errors=tuple(errors), legend_loaded=legend is not None)


def _show_dates(dates: tuple[dt.date, dt.date]) -> str:
    return f"{dates[0].isoformat()}\u2026{dates[1].isoformat()}"


def _suggest(unknown: list[str], crops: dict[str, Any], places: Any) -> dict[str, str]:
    if not unknown:
        return {}
    names_of: Callable[[], Iterable[str]] | None = getattr(places, "country_names", None)
    if names_of is None:
        from ..places import country_names

        names_of = country_names
    countries = {_key(n): n for n in names_of()}
    vocabulary = {**{k: _pretty(v.label) for k, v in crops.items()}, **countries}
    suggestions = {}
    for word in unknown:
        close = difflib.get_close_matches(_key(word), list(vocabulary), n=1, cutoff=0.75)
        if close:
            suggestions[word] = vocabulary[close[0]]
    return suggestions


def apply_text_query(state: Any, text: str, places: Any = None) -> TextQuery:
    """Parse ``text`` against ``state.legend`` and write what it names to ``state`` (one change, one search).

    Parameters
    ----------
    state
        An :class:`~worldcereal_explorer.state.RdmQueryState`.
    text
        The line typed.
    places
        As for :func:`parse_text_query`.

    Returns
    -------
    TextQuery
        What was read. With ``errors`` nothing is set; otherwise the crops named become
        ``state.ewoc_codes`` (their subtrees), the countries ``state.polygon`` (outline) and ``state.bbox``
        (its bounds), the dates ``state.start_date``/``state.end_date``; filters the line does not name
        stay as they were.
    """
    from shapely.geometry import mapping

    query = parse_text_query(text, getattr(state, "legend", None), places)
    if not query.ok or query.empty:
        return query
    with state.hold_trait_notifications():
        if query.crops:
            state.ewoc_codes = list(query.ewoc_codes)
        if query.countries:
            state.polygon = mapping(query.geometry)
            state.bbox = query.bbox
        if query.start_date is not None:
            state.start_date = query.start_date
            state.end_date = query.end_date
    return query
