import json

import pytest

from worldcereal_explorer.errors import RdmResponseError
from worldcereal_explorer.rdm.models import Collection, CollectionId

EXAMPLES = [
    "collections_search_response_2024-09.json",
    "collections_list_all_public_2024-09.json",
    "collection_2021_deu_eurocropsls_poly_110_reconstructed_2025.json",
]


@pytest.mark.shared_data
@pytest.mark.parametrize("name", EXAMPLES)
def test_recorded_collections_parse_and_round_trip(shared_data, name):
    data = json.loads((shared_data / "api-examples" / name).read_text())
    records = data if isinstance(data, list) else [data]
    for record in records:
        collection = Collection.from_api(record)
        assert collection.id == record["collectionId"]
        assert collection.feature_count == record["featureCount"]
        assert collection.spatial_extent.as_tuple() == tuple(record["extent"]["spatial"]["bbox"][0])
        assert list(collection.temporal_extent) == record["extent"]["temporal"]["interval"][0]
        out = collection.to_api()
        # Same field names in the same order as the live API (bar 'trs' missing in the reconstruction).
        assert list(out) == list(record) or list(out) == [*record.keys()]
        for key in record:
            if key != "extent":
                assert out[key] == record[key], key


@pytest.mark.shared_data
def test_print_metadata_and_html(shared_data, capsys):
    record = json.loads(
        (shared_data / "api-examples" / "collection_2021_deu_eurocropsls_poly_110_reconstructed_2025.json").read_text()
    )
    collection = Collection.from_api(record)
    collection.print_metadata()
    printed = capsys.readouterr().out
    assert "ID: 2021_deu_eurocropsls_poly_110" in printed
    assert "Number of samples: 432889" in printed
    html = collection._repr_html_()
    assert "<table>" in html and "2021_deu_eurocropsls_poly_110" in html


def test_missing_required_fields():
    with pytest.raises(RdmResponseError, match="accessType"):
        Collection.from_api({"collectionId": "x"})


@pytest.mark.parametrize(
    "ref_id, parts",
    [
        ("2021_deu_eurocropsls_poly_110", (2021, "DEU", "eurocropsls", "Polygon", "110")),
        ("2021_ken_copernicusgeoglamlr_point_111", (2021, "KEN", "copernicusgeoglamlr", "Point", "111")),
        ("2023idnvitomanualpoint100", (2023, None, "idnvitomanual", "Point", "100")),
        ("2023_idn_vitomanualpoints_100", (2023, "IDN", "vitomanualpoints", None, "100")),
        ("2019_usausda2019cdls_point_110", (2019, None, "usausda2019cdls", "Point", "110")),
        ("not-a-convention", (None, None, None, None, None)),
    ],
)
def test_collection_id_decoding_is_tolerant(ref_id, parts):
    decoded = CollectionId.parse(ref_id)
    assert (decoded.year, decoded.region, decoded.identifier, decoded.geometry_type, decoded.information_content) == parts


@pytest.mark.shared_data
def test_all_recorded_2025_ids_decode(shared_data):
    ids = json.loads((shared_data / "api-examples" / "collection_ids_public_2025.json").read_text())
    decoded = [CollectionId.parse(i) for i in ids]
    assert len(decoded) == 137
    assert all(d.year is not None for d in decoded)
    assert sum(d.information_content is not None for d in decoded) >= 130
