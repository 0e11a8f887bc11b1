"""The table of demo collections: region, season, crop mix and access of each one.

Every collection of the demo catalogue is one :class:`CollectionSpec` in :func:`demo_specs`; their order
is part of the output (each collection's random stream is seeded with its position), so append new
collections at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .codes import (
    ALFALFA,
    BARE,
    BARLEY,
    BEANS,
    BEET,
    BUILT_UP,
    CASSAVA,
    CHICKPEAS,
    COFFEE,
    COTTON,
    COWPEAS,
    CROPLAND,
    GROUNDNUTS,
    HERBACEOUS,
    MAIZE,
    OLIVE,
    PASTURES,
    PEARL_MILLET,
    POTATOES,
    RAPESEED,
    RICE,
    SHRUBLAND,
    SILAGE_MAIZE,
    SORGHUM,
    SOYBEAN,
    SPRING_WHEAT,
    SUGAR_BEET,
    SUGARCANE,
    SUNFLOWER,
    TEMPORARY_MEADOWS,
    TREES,
    VINEYARDS,
    WATER,
    WHEAT,
    WINTER_BARLEY,
    WINTER_RAPESEED,
    WINTER_WHEAT,
)
from .collection import LicenceInfo
from .users import CONSORTIUM_GROUP, DEMO_USER_SUB, PARTNER_USER_SUB

__all__ = ["CollectionSpec", "SYNTHETIC_CROPS", "demo_collection_ids", "demo_specs"]


@dataclass(frozen=True)
class CollectionSpec:
    """How one demo collection looks: region, season, crop mix, access."""

    original_name: str  # e.g. 2021_BEL_LPIS-DEMO_POLY_110: the file names' form
    name: str  # human name of the (fictitious) data set
    description: str
    country: str
    continent: str
    bbox: tuple[float, float, float, float]
    geometry: str  # "Point" | "Polygon"
    season: tuple[str, str]  # first and last valid_time, ISO dates within one year
    n_samples: int
    crops: tuple[tuple[int, float], ...]
    irrigated_share: dict[int, float] | None = None  # code -> share irrigated (111 collections)
    access: str = "Public"
    owner: str | None = None
    groups: tuple[str, ...] = ()
    quality: tuple[int, int] = (85, 80)  # mean quality_score_lc, quality_score_ct
    confidence: tuple[int, int, int] = (80, 75, 0)  # confidenceLandCover, CropType, IrrigationType
    field_size_m: tuple[float, float] = (80, 300)
    clusters: int = 6
    observation_method: str = "Unknown"
    legacy_id: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    licence: LicenceInfo | None = None  # None: the synthetic demo's CC-BY-4.0 record
    copy_of: str | None = None  # original_name of an earlier collection this one copies part of
    copy_share: float = 0.4  # share of that collection's samples copied
    shift_m: float = 6.0  # metres each copied geometry is moved by

    @property
    def collection_id(self) -> str:
        """API id: the original name lower-cased without dashes (and, for old ids, without underscores)."""
        cid = self.original_name.lower().replace("-", "")
        return cid.replace("_", "") if self.legacy_id else cid

    @property
    def year(self) -> int:
        """Year of the season (the first ``valid_time``)."""
        return int(self.season[0][:4])

    @property
    def content(self) -> str:
        """Content code ending the name: ``100`` land cover, ``110`` + crop type, ``111`` + irrigation."""
        return self.original_name.rsplit("_", 1)[-1]


def demo_specs() -> list[CollectionSpec]:
    """The demo collections, in generation order (the order seeds each one's random stream)."""
    eu_lpis = "Parcels drawn like a land parcel identification system (LPIS) declaration; synthetic."
    return [
        CollectionSpec(
            "2021_BEL_LPIS-DEMO_POLY_110", "LPIS-like parcels, Belgium", eu_lpis, "BEL", "EU",
            (2.8, 50.3, 5.9, 51.3), "Polygon", ("2021-05-15", "2021-08-31"), 1500,
            ((WINTER_WHEAT, .28), (MAIZE, .14), (SILAGE_MAIZE, .14), (SUGAR_BEET, .10), (POTATOES, .12),
             (WINTER_BARLEY, .07), (TEMPORARY_MEADOWS, .10), (PASTURES, .05)),
            quality=(97, 95), confidence=(95, 92, 0), clusters=8),
        CollectionSpec(
            "2022_FRA_LPIS-DEMO_POLY_110", "LPIS-like parcels, France", eu_lpis, "FRA", "EU",
            (-1.5, 46.0, 4.5, 49.5), "Polygon", ("2022-04-01", "2022-08-31"), 1200,
            ((WINTER_WHEAT, .30), (WINTER_RAPESEED, .12), (SUNFLOWER, .08), (MAIZE, .14), (WINTER_BARLEY, .12),
             (BEET, .06), (VINEYARDS, .06), (TEMPORARY_MEADOWS, .12)),
            quality=(97, 94), confidence=(95, 90, 0), clusters=10),
        CollectionSpec(
            "2020_ESP_SIGPAC-DEMO_POLY_111", "Irrigated and rainfed parcels, Spain",
            "Parcels with crop type and irrigation method; synthetic.", "ESP", "EU",
            (-6.5, 37.0, -1.0, 42.0), "Polygon", ("2020-03-01", "2020-09-30"), 1000,
            ((WHEAT, .20), (BARLEY, .20), (OLIVE, .20), (VINEYARDS, .10), (MAIZE, .12), (SUNFLOWER, .10),
             (ALFALFA, .08)),
            irrigated_share={MAIZE: .9, ALFALFA: .85, OLIVE: .35, VINEYARDS: .3},
            quality=(92, 90), confidence=(90, 88, 80), clusters=8),
        CollectionSpec(
            "2021_UKR_FIELD-DEMO_POINT_110", "Roadside survey points, Ukraine",
            "Points observed along roads during a field campaign; synthetic.", "UKR", "EU",
            (24.0, 46.5, 36.0, 51.0), "Point", ("2021-05-01", "2021-08-31"), 1500,
            ((WINTER_WHEAT, .30), (SUNFLOWER, .25), (MAIZE, .20), (SOYBEAN, .10), (WINTER_RAPESEED, .08),
             (WINTER_BARLEY, .07)),
            quality=(88, 82), confidence=(85, 80, 0), observation_method="FieldObservationSurvey", clusters=12),
        CollectionSpec(
            "2019_KEN_HARVEST-DEMO_POINT_100", "Land cover points, Kenya",
            "Land cover points from photo interpretation; an old-style id without underscores; synthetic.",
            "KEN", "AF", (34.0, -1.5, 38.0, 1.5), "Point", ("2019-08-01", "2019-09-01"), 800,
            ((CROPLAND, .45), (HERBACEOUS, .20), (SHRUBLAND, .15), (TREES, .10), (BUILT_UP, .05), (WATER, .02),
             (BARE, .03)),
            quality=(80, 0), confidence=(75, 0, 0), legacy_id=True, clusters=6),
        CollectionSpec(
            "2021_KEN_COPERNICUS-DEMO_POINT_111", "Long rains crop survey, Kenya",
            "Crop type and irrigation points from a ground survey; synthetic.", "KEN", "AF",
            (34.5, -1.0, 37.5, 1.0), "Point", ("2021-03-15", "2021-07-31"), 1200,
            ((MAIZE, .45), (BEANS, .20), (SORGHUM, .08), (CASSAVA, .07), (SUGARCANE, .08), (COFFEE, .05),
             (CROPLAND, .07)),
            irrigated_share={SUGARCANE: .6, BEANS: .1, MAIZE: .05},
            quality=(90, 85), confidence=(88, 84, 70), observation_method="FieldObservationSurvey", clusters=7),
        CollectionSpec(
            "2020_MLI_SAHELCROPS-DEMO_POINT_110", "Sahel crops, Mali",
            "Field survey points in the Sahel; synthetic.", "MLI", "AF",
            (-8.5, 11.0, -4.0, 14.5), "Point", ("2020-07-01", "2020-10-31"), 1000,
            ((PEARL_MILLET, .30), (SORGHUM, .25), (MAIZE, .12), (GROUNDNUTS, .12), (COWPEAS, .08), (COTTON, .08),
             (RICE, .05)),
            quality=(85, 78), confidence=(80, 72, 0), observation_method="FieldObservationSurvey", clusters=6),
        CollectionSpec(
            "2022_TZA_SMALLHOLDER-DEMO_POLY_110", "Smallholder fields, Tanzania",
            "Small field polygons traced on very high resolution images; synthetic.", "TZA", "AF",
            (32.0, -9.0, 37.0, -3.5), "Polygon", ("2022-01-15", "2022-05-31"), 600,
            ((MAIZE, .40), (BEANS, .15), (CASSAVA, .12), (RICE, .10), (SUNFLOWER, .10), (SORGHUM, .05),
             (GROUNDNUTS, .08)),
            quality=(88, 80), confidence=(85, 78, 0), field_size_m=(30, 120), clusters=5),
        CollectionSpec(
            "2021_USA_CORNBELT-DEMO_POINT_110", "Corn belt fields, United States",
            "Points on fields of the US corn belt; synthetic.", "USA", "NA",
            (-96.0, 39.0, -85.0, 44.0), "Point", ("2021-06-01", "2021-09-30"), 2000,
            ((MAIZE, .42), (SOYBEAN, .38), (SPRING_WHEAT, .06), (ALFALFA, .06), (PASTURES, .08)),
            quality=(95, 93), confidence=(92, 90, 0), clusters=12),
        CollectionSpec(
            "2020_BRA_CERRADO-DEMO_POLY_110", "Cerrado farms, Brazil",
            "Large field polygons in the Cerrado; synthetic.", "BRA", "SA",
            (-56.0, -17.0, -46.0, -12.0), "Polygon", ("2020-01-10", "2020-04-30"), 1200,
            ((SOYBEAN, .45), (MAIZE, .15), (COTTON, .10), (SUGARCANE, .12), (PASTURES, .13), (COFFEE, .05)),
            quality=(90, 86), confidence=(88, 85, 0), field_size_m=(400, 1500), clusters=8),
        CollectionSpec(
            "2022_ARG_PAMPAS-DEMO_POINT_110", "Pampas crop survey, Argentina",
            "Points from a windshield survey in the Pampas; synthetic.", "ARG", "SA",
            (-63.5, -37.5, -58.0, -32.0), "Point", ("2022-01-10", "2022-11-30"), 1500,
            ((SOYBEAN, .38), (MAIZE, .25), (WHEAT, .17), (SUNFLOWER, .10), (BARLEY, .05), (PASTURES, .05)),
            quality=(90, 86), confidence=(86, 82, 0), observation_method="FieldObservationSurvey", clusters=10),
        CollectionSpec(
            "2021_IND_RICE-DEMO_POINT_111", "Kharif rice and irrigation, India",
            "Crop type and irrigation points in the Indo-Gangetic plain; synthetic.", "IND", "AS",
            (75.0, 26.0, 84.0, 30.5), "Point", ("2021-07-01", "2021-11-30"), 1500,
            ((RICE, .45), (WHEAT, .20), (SUGARCANE, .12), (COTTON, .08), (MAIZE, .08), (CHICKPEAS, .07)),
            irrigated_share={RICE: .75, WHEAT: .85, SUGARCANE: .9, COTTON: .5, MAIZE: .3},
            quality=(86, 80), confidence=(84, 78, 76), observation_method="FieldObservationSurvey", clusters=10),
        CollectionSpec(
            "2022_VNM_MEKONG-DEMO_POLY_111", "Mekong delta paddies, Viet Nam",
            "Paddy polygons with irrigation in the Mekong delta; synthetic.", "VNM", "AS",
            (104.8, 9.2, 106.6, 10.9), "Polygon", ("2022-02-01", "2022-11-30"), 800,
            ((RICE, .75), (MAIZE, .08), (SUGARCANE, .07), (CASSAVA, .05), (CROPLAND, .05)),
            irrigated_share={RICE: .95, SUGARCANE: .5},
            quality=(90, 88), confidence=(88, 86, 85), field_size_m=(40, 150), clusters=5),
        CollectionSpec(
            "2021_AUS_WHEATBELT-DEMO_POLY_110", "Wheatbelt paddocks, Australia",
            "Paddock polygons in the Western Australian wheatbelt; synthetic.", "AUS", "OC",
            (116.0, -33.5, 118.5, -30.0), "Polygon", ("2021-06-01", "2021-10-31"), 1200,
            ((WHEAT, .45), (BARLEY, .20), (RAPESEED, .15), (CHICKPEAS, .05), (PASTURES, .15)),
            quality=(93, 90), confidence=(90, 88, 0), field_size_m=(500, 1500), clusters=6),
        CollectionSpec(
            "2023_NLD_PRIVATE-DEMO_POLY_110", "Private farm parcels, Netherlands",
            "A private upload of the demo user (only they can see it); synthetic.", "NLD", "EU",
            (4.5, 51.8, 6.8, 53.2), "Polygon", ("2023-05-15", "2023-08-31"), 500,
            ((POTATOES, .20), (SUGAR_BEET, .12), (WINTER_WHEAT, .18), (SILAGE_MAIZE, .20),
             (TEMPORARY_MEADOWS, .30)),
            access="Private", owner=DEMO_USER_SUB, quality=(98, 96), confidence=(95, 95, 0), clusters=4),
        CollectionSpec(
            "2022_KHM_CONSORTIUM-DEMO_POINT_110", "Consortium rice survey, Cambodia",
            "A restricted data set shared with the WorldCereal consortium; synthetic.", "KHM", "AS",
            (102.5, 11.0, 106.0, 14.0), "Point", ("2022-08-01", "2022-12-15"), 500,
            ((RICE, .60), (CASSAVA, .20), (MAIZE, .10), (SUGARCANE, .05), (TREES, .05)),
            access="Restricted", owner=PARTNER_USER_SUB, groups=(CONSORTIUM_GROUP,),
            quality=(88, 84), confidence=(85, 82, 0), observation_method="FieldObservationSurvey", clusters=5),
        # Two Canadian prairie collections for building training sets: parcels observed the whole year round
        # (winter crops included) under a non-commercial licence, and a share-alike republication of part of
        # them (same parcels and dates, moved a few metres), so de-duplication has known pairs to find.
        CollectionSpec(
            "2021_CAN_PRAIRIE-DEMO_POLY_110", "LPIS-like parcels, Canadian prairies",
            "Parcels of a provincial crop inventory, observed through the whole year; synthetic.", "CAN", "NA",
            (-106.0, 49.5, -97.5, 53.0), "Polygon", ("2021-01-05", "2021-12-20"), 1200,
            ((SPRING_WHEAT, .26), (RAPESEED, .20), (WINTER_WHEAT, .10), (BARLEY, .12), (SOYBEAN, .08),
             (MAIZE, .06), (PASTURES, .10), (TEMPORARY_MEADOWS, .08)),
            quality=(95, 90), confidence=(92, 88, 0), field_size_m=(300, 800), clusters=6,
            licence=LicenceInfo(
                "CC_BY_NC", "CC-BY-NC-4.0",
                "Prairie Crop Inventory Demo (2022). Annual crop inventory parcels 2021, synthetic demo. "
                "https://doi.org/10.0000/wce-demo.can-prairie-2021",
                doi="10.0000/wce-demo.can-prairie-2021", provider_code="Prairie Crop Inventory Demo",
                provider_description="A fictitious provincial crop inventory; synthetic data by worldcereal-explorer.",
                provider_url="https://example.org/prairie-crop-inventory-demo")),
        CollectionSpec(
            "2021_CAN_CROPWATCH-DEMO_POLY_110", "Crop watch benchmark, Canadian prairies",
            "A benchmark republishing part of the prairie parcels with redrawn boundaries; synthetic.", "CAN", "NA",
            (-106.0, 49.5, -97.5, 53.0), "Polygon", ("2021-01-05", "2021-12-20"), 480,
            (), quality=(90, 88), confidence=(85, 80, 0), field_size_m=(300, 800), clusters=6,
            copy_of="2021_CAN_PRAIRIE-DEMO_POLY_110", copy_share=0.4, shift_m=6.0,
            licence=LicenceInfo(
                "CC_BY_SA", "CC-BY-SA-4.0",
                "CropWatch Demo Consortium (2023). CropWatch prairie benchmark v1, synthetic demo. doi:10.0000/"
                "wce-demo.cropwatch-v1",
                doi="doi.org/10.0000/wce-demo.cropwatch-v1", provider_code="CropWatch Demo Consortium",
                provider_description="A fictitious benchmark consortium; synthetic data by worldcereal-explorer.",
                provider_url="https://example.org/cropwatch-demo")),
    ]


def demo_collection_ids() -> list[str]:
    """Ids of the demo catalogue's collections, in generation order."""
    return [spec.collection_id for spec in demo_specs()]


#: Crops of the benchmark catalogue (a broad global mix).
SYNTHETIC_CROPS = ((MAIZE, .25), (WINTER_WHEAT, .15), (RICE, .15), (SOYBEAN, .12), (SORGHUM, .06),
                   (SUNFLOWER, .05), (POTATOES, .05), (COTTON, .04), (SUGARCANE, .04), (PASTURES, .06),
                   (CROPLAND, .03))
