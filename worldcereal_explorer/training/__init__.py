"""From reference data to a training set: class mapping, balance, season check, de-duplication, spatial split,
and a dataset card with every licence.

Every step takes a GeoDataFrame of samples (as :meth:`RdmClient.get_samples` returns them) and returns a new one,
so they chain::

    from worldcereal_explorer import training as tr

    gdf = client.get_samples(bbox=..., min_quality_ct=70)
    gdf = tr.map_classes(gdf, {1101010000: "wheat", 1101060000: "maize"}, unmapped="other")
    # or one of WorldCereal's own class schemes by name: tr.map_classes(gdf, "CROPTYPE24")
    gdf = tr.season_filter(gdf, "04-09")
    gdf, report = tr.deduplicate(gdf, tolerance_m=10)
    gdf = tr.cap_per_class(gdf, 5_000, min_per_class=200, seed=1)
    gdf = tr.spatial_split(gdf, (0.7, 0.15, 0.15), block_h3_res=5, seed=1)
    card = tr.DatasetCard.build(gdf, client=client, query={"bbox": [...], "min_quality_ct": 70})
    tr.export_training_set(gdf, "train.parquet", card)
    card.write("train_card")  # train_card.md, train_card.json

    # the same steps in one call (or from a query: build_training_set(query=RdmQuery(...), client=client, ...)):
    gdf = tr.build_training_set(samples, "CROPTYPE24", season="04-09", dedup=10, split=(0.7, 0.15, 0.15))

The functions are pure (no widgets; no I/O except the metadata a card fetches through the client it is given,
and the files :func:`export_training_set` and :meth:`DatasetCard.write` write atomically). Each step records
what it did in ``frame.attrs["training_steps"]``, which the card reads.

Modules: :mod:`.mapping`, :mod:`.schemes` (WorldCereal's class schemes), :mod:`.build`, :mod:`.balance`, :mod:`.season`, :mod:`.dedup`, :mod:`.split`, :mod:`.licences`,
:mod:`.card`, :mod:`.export`.
"""

from __future__ import annotations

from ._common import STEPS_ATTR, h3_cells, steps_of
from .balance import ClassBalanceWarning, below_minimum_message, cap_per_class, class_balance
from .build import QUERY_ATTR, build_training_set
from .card import DatasetCard
from .dedup import DedupReport, deduplicate, duplicate_pairs
from .export import CARD_METADATA_KEY, export_training_set, read_card
from .licences import licence_flags
from .mapping import UNMAPPED_MODES, UnmappedCodesWarning, load_mapping, map_classes, resolve_mapping
from .schemes import IGNORE, ClassScheme, class_scheme, class_schemes, scheme_grouping, scheme_names
from .season import parse_season, season_filter, season_filter_preview, season_months, valid_time_histogram
from .split import SPLITS, SplitReport, parse_shares, spatial_split, split_report

__all__ = [
    "CARD_METADATA_KEY",
    "IGNORE",
    "QUERY_ATTR",
    "UNMAPPED_MODES",
    "ClassBalanceWarning",
    "below_minimum_message",
    "ClassScheme",
    "DatasetCard",
    "DedupReport",
    "SPLITS",
    "STEPS_ATTR",
    "SplitReport",
    "UnmappedCodesWarning",
    "build_training_set",
    "cap_per_class",
    "class_balance",
    "class_scheme",
    "class_schemes",
    "deduplicate",
    "duplicate_pairs",
    "export_training_set",
    "h3_cells",
    "licence_flags",
    "load_mapping",
    "map_classes",
    "parse_season",
    "parse_shares",
    "read_card",
    "resolve_mapping",
    "scheme_grouping",
    "scheme_names",
    "season_filter",
    "season_filter_preview",
    "season_months",
    "spatial_split",
    "split_report",
    "steps_of",
    "valid_time_histogram",
]
