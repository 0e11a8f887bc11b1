"""The drop-in crop-type picker's model: the legend restricted to the picker's classes, and the ticks.

No widgets and no I/O: :func:`build_picker_tree` turns a loaded
:class:`~worldcereal_explorer.legend.Legend` into a :class:`PickerTree` (the hierarchy restricted to some
codes, with sample counts), and :class:`CropTypeSelection` holds what the user ticked per selection mode,
as traits. :class:`~worldcereal_explorer.widgets.crop_picker.CropTypePicker` draws both.
:func:`croptypes_frame` builds the applied selection's tables and :func:`apply_croptypepicker_to_df`
labels a samples table with them (plain pandas).

The class edits of the picker (as the reference's rewritten picker offers them: move a code, combine,
split, rename, crop / non-crop, this class / everything else) are pure functions on a *class mapping*,
``{ewoc_code: class name}`` of the included codes: :func:`move_code`, :func:`combine_classes`,
:func:`split_class`, :func:`rename_class`, :func:`crop_noncrop_mapping`, :func:`one_vs_rest_mapping`;
:func:`classes_of` lists a mapping's classes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from traitlets import Dict, Enum, HasTraits, Int, List

from ..errors import BadParameterError
from ..legend import LegendNode, parent_code

__all__ = [
    "SELECTION_MODES",
    "CropTypeSelection",
    "PickerTree",
    "CROP_LC_CODES",
    "apply_croptypepicker_to_df",
    "build_picker_tree",
    "classes_of",
    "combine_classes",
    "crop_noncrop_mapping",
    "croptypes_frame",
    "empty_croptypes",
    "is_crop_code",
    "move_code",
    "one_vs_rest_mapping",
    "rename_class",
    "split_class",
]

#: Values of the pickers' selection mode.
SELECTION_MODES = ("Include", "Drop")


# --- the restricted hierarchy -------------------------------------------------------------------------
@dataclass
class PickerTree:
    """The legend hierarchy restricted to the picker's classes.

    Attributes
    ----------
    root : LegendNode
        Synthetic root (code 0) whose children are the top rows; only shown classes are in it.
    codes : dict[int, frozenset[int]]
        For every shown node, the picker's classes it stands for (itself when it is one, and every
        class below it, including classes hidden by the count threshold).
    counts : dict[int, int] or None
        Samples per shown node (its classes summed); ``None`` without a samples table.
    """

    root: LegendNode
    codes: dict[int, frozenset[int]]
    counts: dict[int, int] | None


def build_picker_tree(legend: Any, codes: Iterable[int] | None = None, counts: dict[int, int] | None = None,
                      count_threshold: int = 0) -> PickerTree:
    """The legend tree restricted to ``codes``, with single-child chains of other classes collapsed.

    Parameters
    ----------
    legend
        A :class:`~worldcereal_explorer.legend.Legend`.
    codes
        The classes to offer; every legend class when ``None``. Classes the legend lacks are shown under
        their nearest ancestor the legend has, labelled ``unknown (<code>)``.
    counts
        Samples per code; nodes whose classes sum to fewer than ``count_threshold`` are hidden with their
        whole branch.
    count_threshold
        See ``counts``; ignored without counts.

    Returns
    -------
    PickerTree
    """
    full = {int(n.code): n for n in legend.tree() if int(n.code) != 0}
    allowed = set(full) if codes is None else {int(c) for c in codes if int(c) != 0}
    # Parent of every node to show, in the full legend: classes the legend lacks hang under their nearest
    # ancestor that it has.
    parent: dict[int, int] = {}
    keep: set[int] = set()
    for code in allowed:
        node_code: int | None = code
        while node_code is not None and node_code not in keep:
            keep.add(node_code)
            if node_code in full:
                above = full[node_code].parent
                up = int(above.code) if above is not None and int(above.code) != 0 else None
            else:
                up = parent_code(node_code)
                while up is not None and up not in full:
                    up = parent_code(up)
            parent[node_code] = up or 0
            node_code = up
    children: dict[int, list[int]] = {}
    for code in sorted(keep):
        children.setdefault(parent[code], []).append(code)

    out_codes: dict[int, frozenset[int]] = {}
    out_counts: dict[int, int] = {}

    def label_of(code: int) -> str:
        return full[code].label if code in full else legend.label(code)

    def subtree(code: int) -> list[int]:
        stack, seen = [code], []
        while stack:
            current = stack.pop()
            seen.append(current)
            stack.extend(children.get(current, []))
        return seen

    def build(code: int) -> list[LegendNode]:
        kids = [n for child in children.get(code, []) for n in build(child)]
        # the classes of branches hidden by the threshold still belong to this node
        mine = frozenset(c for c in subtree(code) if c in allowed)
        if counts is not None:
            total = sum(int(counts.get(c, 0)) for c in mine)
            if total < count_threshold:
                return []
        if code not in allowed and len(kids) == 1:
            return kids  # a chain of one: show the class itself, not its empty heading
        if not kids and code not in allowed:
            return []
        node = LegendNode(code=code, label=label_of(code),
                          group_name=full[code].group_name if code in full else label_of(code))
        for kid in kids:
            kid.parent = node
        node.children = kids
        out_codes[code] = mine
        if counts is not None:
            out_counts[code] = sum(int(counts.get(c, 0)) for c in mine)
        return [node]

    root = LegendNode(code=0, label="all classes")
    root.children = [n for top in children.get(0, []) for n in build(top)]
    for node in root.children:
        node.parent = root
    for node in root:
        node.level = 0 if node is root else node.parent.level + 1  # type: ignore[union-attr]
    return PickerTree(root, out_codes, out_counts if counts is not None else None)


# --- the selection model ----------------------------------------------------------------------------------
class CropTypeSelection(HasTraits):
    """What the user ticked, per selection mode (no widgets, no I/O).

    Attributes
    ----------
    mode : str
        ``"Include"`` or ``"Drop"``: which list a tick goes to.
    include : list of int
        Codes of the nodes ticked to include (a ticked node stands for every class below it).
    drop : list of int
        Codes of the nodes ticked to drop.
    labels : dict
        ``{code: new_label}`` for included nodes the user renamed or grouped.
    """

    mode = Enum(SELECTION_MODES, default_value="Include")
    include = List(Int(), help="codes of the nodes ticked to include")
    drop = List(Int(), help="codes of the nodes ticked to drop")
    labels = Dict(help="{code: new_label} of renamed / grouped included nodes")

    def ticked(self, mode: str | None = None) -> list[int]:
        """The ticks of ``mode`` (default: the current mode)."""
        return list(self.drop if (mode or self.mode) == "Drop" else self.include)

    def set_ticked(self, codes: Iterable[int], mode: str | None = None) -> None:
        """Replace the ticks of ``mode`` (default: the current mode)."""
        codes = sorted({int(c) for c in codes})
        if (mode or self.mode) == "Drop":
            self.drop = codes
        else:
            with self.hold_trait_notifications():
                self.include = codes
                self.labels = {k: v for k, v in self.labels.items() if int(k) in codes}


# --- the applied selection as tables ----------------------------------------------------------------------
_COLUMNS = ["new_label", "original_label"]


def empty_croptypes() -> pd.DataFrame:
    """An empty ``croptypes`` table: index ``ewoc_code``, columns ``new_label`` and ``original_label``."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in _COLUMNS},
                        index=pd.Index([], dtype="int64", name="ewoc_code"))


def croptypes_frame(mapping: dict[int, str], legend: Any) -> pd.DataFrame:
    """``{code: new_label}`` as a ``croptypes`` table, sorted by code (``original_label`` from ``legend``)."""
    codes = sorted(mapping)
    if not codes:
        return empty_croptypes()
    return pd.DataFrame({"new_label": [mapping[c] for c in codes], "original_label": legend.labels(codes)},
                        index=pd.Index(codes, dtype="int64", name="ewoc_code"))


def apply_croptypepicker_to_df(df: pd.DataFrame, picker: Any, other_label: str = "other") -> pd.DataFrame:
    """Label samples for training with an applied crop-type picker.

    Parameters
    ----------
    df
        Samples with an ``ewoc_code`` column (left unchanged).
    picker
        An applied :class:`~worldcereal_explorer.widgets.croptype_picker.CropTypePicker`
        (``included_croptypes`` / ``dropped_croptypes``), or anything with a ``croptypes`` DataFrame (such as
        the dashboard's picker).
    other_label
        ``downstream_class`` of the samples neither included nor dropped.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` without the dropped classes' samples, with a ``downstream_class`` column:
        the included classes' ``new_label``, ``other_label`` for every other sample.

    Raises
    ------
    BadParameterError
        When ``df`` has no ``ewoc_code`` column, the picker was not applied (nothing included), or fewer
        than two classes remain (the message names them): a classifier needs at least two.
    """
    if "ewoc_code" not in getattr(df, "columns", ()):
        raise BadParameterError("df has no 'ewoc_code' column")
    included = getattr(picker, "included_croptypes", None)
    if included is None:
        included = getattr(picker, "croptypes", None)
    dropped = getattr(picker, "dropped_croptypes", None)
    if included is None or included.empty:
        raise BadParameterError("the crop type picker has no included classes: tick classes to include "
                                "and press Apply first")
    codes = pd.to_numeric(df["ewoc_code"]).astype("int64")
    keep = ~codes.isin([int(c) for c in dropped.index]) if dropped is not None and not dropped.empty \
        else pd.Series(True, index=df.index)
    out = df.loc[keep.to_numpy()].copy()
    mapping = {int(k): v for k, v in included["new_label"].items()}
    out["downstream_class"] = codes[keep.to_numpy()].map(mapping).fillna(other_label).astype(object).to_numpy()
    classes = out["downstream_class"].value_counts()
    if len(classes) < 2:
        found = ", ".join(f"{name!r} ({n} samples)" for name, n in classes.items()) or "none"
        raise BadParameterError(f"only {len(classes)} class{'es' if len(classes) != 1 else ''} left after "
                                f"applying the crop type picker: {found}; a classification needs at least two "
                                "(include more classes, or keep samples of other classes)")
    return out


# --- class edits on a {code: class} mapping -----------------------------------------------------------------
#: The legend's land-cover levels (``LC_code``) that are crops: temporary and permanent crops.
CROP_LC_CODES = (11, 12)


def classes_of(mapping: Mapping[int, str]) -> dict[str, list[int]]:
    """The classes of ``mapping`` (``{code: class}``): ``{class: sorted codes}``, in the order of their first code."""
    out: dict[str, list[int]] = {}
    for code in sorted(int(c) for c in mapping):
        out.setdefault(str(mapping[code]), []).append(code)
    return out


def _known_class(mapping: Mapping[int, str], name: Any) -> str:
    names = classes_of(mapping)
    if str(name) not in names:
        allowed = ", ".join(repr(n) for n in names) or "none yet"
        raise BadParameterError(f"unknown class {name!r}; the classes are: {allowed}")
    return str(name)


def _new_name(name: Any, what: str = "class name") -> str:
    text = str(name if name is not None else "").strip()
    if not text:
        raise BadParameterError(f"the {what} is empty")
    return text


def move_code(mapping: Mapping[int, str], code: int, to_class: str, *, codes: Iterable[int],
              create: bool = False) -> dict[int, str]:
    """``mapping`` with ``code`` in class ``to_class`` (out of the class it was in, if any).

    Parameters
    ----------
    mapping
        ``{code: class}`` of the included codes.
    code
        The code to move; it must be one of ``codes``.
    to_class
        An existing class of ``mapping``, or a new one with ``create=True``.
    codes
        The codes that can be classed (the picker's tree).
    create
        Allow ``to_class`` to be a new class.

    Raises
    ------
    BadParameterError
        For a code not in ``codes`` or an unknown class (both named).
    """
    code = int(code)
    if code not in {int(c) for c in codes}:
        raise BadParameterError(f"code {code} is not in the crop picker's tree")
    target = _new_name(to_class) if create else _known_class(mapping, to_class)
    out = {int(k): str(v) for k, v in mapping.items()}
    out[code] = target
    return out


def combine_classes(mapping: Mapping[int, str], names: Iterable[str], into: str | None = None) -> dict[int, str]:
    """``mapping`` with the classes ``names`` made one, named ``into`` (default: the first of ``names``).

    Raises
    ------
    BadParameterError
        For fewer than two classes, an unknown class, or ``into`` naming another existing class.
    """
    names = list(dict.fromkeys(str(n) for n in names))
    if len(names) < 2:
        raise BadParameterError(f"combining needs at least two classes, not {names!r}")
    for name in names:
        _known_class(mapping, name)
    target = names[0] if into is None or not str(into).strip() else str(into).strip()
    if target not in names and target in classes_of(mapping):
        raise BadParameterError(f"class {target!r} already exists; add it to the classes to combine instead")
    return {int(k): (target if str(v) in names else str(v)) for k, v in mapping.items()}


def split_class(mapping: Mapping[int, str], name: str, label_of: Callable[[int], str]) -> dict[int, str]:
    """``mapping`` with class ``name`` split back into its codes: each code a class of its own, named
    ``label_of(code)`` (``"<label> (<code>)"`` when that name is already another class's).

    Raises
    ------
    BadParameterError
        For an unknown class.
    """
    name = _known_class(mapping, name)
    out = {int(k): str(v) for k, v in mapping.items()}
    others = set(classes_of(mapping)) - {name}
    for code in classes_of(mapping)[name]:
        label = str(label_of(code))
        out[code] = label if label not in others else f"{label} ({code})"
    return out


def rename_class(mapping: Mapping[int, str], old: str, new: str) -> dict[int, str]:
    """``mapping`` with class ``old`` called ``new``.

    Raises
    ------
    BadParameterError
        For an unknown class, an empty new name, or a new name that is another existing class (combine them
        instead).
    """
    old = _known_class(mapping, old)
    new = _new_name(new, "new class name")
    if new != old and new in classes_of(mapping):
        raise BadParameterError(f"cannot rename {old!r} to {new!r}: class {new!r} already exists "
                                "(combine the two classes instead)")
    return {int(k): (new if str(v) == old else str(v)) for k, v in mapping.items()}


def is_crop_code(code: int, legend: Any = None) -> bool:
    """Whether ``code`` is a crop: its land-cover level (the legend's ``LC_code``) is temporary or permanent
    crops (:data:`CROP_LC_CODES`); for a code the legend lacks, its first two digits say the same."""
    code = int(code)
    frame = getattr(legend, "frame", None)
    if frame is not None and "LC_code" in frame.columns and code in frame.index:
        value = frame.at[code, "LC_code"]
        if not pd.isna(value):
            return int(value) in CROP_LC_CODES
    return code // 10**8 in CROP_LC_CODES


def crop_noncrop_mapping(codes: Iterable[int], legend: Any = None, crop: str = "crop",
                         non_crop: str = "non-crop") -> dict[int, str]:
    """Every code of ``codes`` classed ``crop`` or ``non_crop`` (:func:`is_crop_code`).

    Raises
    ------
    BadParameterError
        When the two names are the same or empty.
    """
    crop, non_crop = _new_name(crop, "crop class name"), _new_name(non_crop, "non-crop class name")
    if crop == non_crop:
        raise BadParameterError(f"the crop and non-crop classes need two names, not {crop!r} twice")
    return {int(c): (crop if is_crop_code(c, legend) else non_crop) for c in sorted({int(c) for c in codes})}


def one_vs_rest_mapping(mapping: Mapping[int, str], name: str, codes: Iterable[int],
                        other: str = "other") -> dict[int, str]:
    """Class ``name`` of ``mapping`` kept, every other code of ``codes`` classed ``other``.

    Raises
    ------
    BadParameterError
        For an unknown class, or ``other`` equal to ``name``.
    """
    name = _known_class(mapping, name)
    other = _new_name(other, "name of everything else")
    if other == name:
        raise BadParameterError(f"'everything else' needs a name other than {name!r}")
    mine = {int(k) for k, v in mapping.items() if str(v) == name}
    every = {int(c) for c in codes} | {int(c) for c in mapping}
    return {c: (name if c in mine else other) for c in sorted(every)}
