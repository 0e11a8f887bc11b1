"""WorldCereal's class schemes by name (CROPTYPE24, LANDCOVER10 ...) in map_classes, build_training_set, the dataset
card and the CLI, on real demo samples from the local RDM; expected classes computed from the JSON file with plain
``json`` and dict lookups, independently of the package's reader."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import sys
import threading
import warnings
from collections import Counter
from importlib import resources

import geopandas as gpd
import pytest

from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.legend import load_legend
from worldcereal_explorer.training import (
    DatasetCard,
    UnmappedCodesWarning,
    build_training_set,
    cap_per_class,
    class_scheme,
    class_schemes,
    map_classes,
    read_card,
    scheme_grouping,
    scheme_names,
    spatial_split,
    steps_of,
)

from .test_card_cli import run_cli

NAMES = ["LANDCOVER10", "CROPTYPE28", "CROPTYPE24", "CROPTYPE20_EUROPE", "CROPTYPE_INSEASON_FRANCE", "TEST_BINARY"]
#: The small scheme file the source tests write (not a copy of WorldCereal's).
OWN_SCHEMES = {"WHEAT_OR_NOT": {"1101010000": "wheat", "1101010001": "wheat", "1101060000": "other_cereal",
                                "2001020010": "ignore"}}


def packaged_json() -> dict[str, dict[str, str]]:
    """The packaged class_mappings.json, read with plain json (independent of the package's reader)."""
    return json.loads((resources.files("worldcereal_explorer") / "data" / "class_mappings.json").read_bytes())


@pytest.fixture(scope="module")
def legend(rdm_url):
    """The legend the local RDM serves (what the samples' codes are labelled with)."""
    return load_legend(f"{rdm_url}/legend.csv")


def mapped_quietly(samples, mapping, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmappedCodesWarning)
        return map_classes(samples, mapping, **kwargs)


def test_every_scheme_of_the_file_is_offered_by_name():
    raw = packaged_json()
    assert scheme_names() == list(raw) == NAMES
    schemes = class_schemes()
    for name, entries in raw.items():
        assert dict(schemes[name].mapping) == {int(k): v for k, v in entries.items()}
        assert schemes[name].classes == sorted(set(entries.values()) - {"ignore"})
    assert class_scheme("croptype24").name == "CROPTYPE24"  # case does not matter
    assert len(class_scheme("CROPTYPE28")) == 609 and class_scheme("CROPTYPE28").mapping[1101010000] == "wheat"


def test_unknown_scheme_names_the_bad_value_and_the_allowed_ones(public_samples):
    with pytest.raises(BadParameterError, match="'CROPTYPE42' is not known; allowed: " + ", ".join(NAMES)):
        class_scheme("CROPTYPE42")
    with pytest.raises(BadParameterError) as caught:
        map_classes(public_samples, "CROPTYPE42")
    assert "'CROPTYPE42'" in str(caught.value) and all(name in str(caught.value) for name in NAMES)
    with pytest.raises(BadParameterError, match="unmapped='keep' is not allowed; allowed: 'other', 'drop', 'error'"):
        map_classes(public_samples, "CROPTYPE24", unmapped="keep")


def test_the_package_ships_the_file_with_its_mit_notice():
    data = resources.files("worldcereal_explorer") / "data"
    notice = (data / "class_mappings.LICENSE").read_text()
    assert "MIT License" in notice and "Copyright (c) 2024 ESA WorldCereal" in notice
    provenance = (data / "PROVENANCE.md").read_text()
    digest = hashlib.sha256((data / "class_mappings.json").read_bytes()).hexdigest()
    assert digest in provenance and "ad3165eb3c4cbdc566a8e8ca7098de77dd2295c4" in provenance
    assert class_scheme("CROPTYPE24").sha256 == digest and class_scheme("CROPTYPE24").source == "packaged"


@pytest.mark.shared_data
def test_the_packaged_copy_is_the_shared_reference_file(shared_data):
    shared = shared_data / "class-mappings" / "class_mappings.json"
    packaged = (resources.files("worldcereal_explorer") / "data" / "class_mappings.json").read_bytes()
    assert hashlib.sha256(shared.read_bytes()).hexdigest() == hashlib.sha256(packaged).hexdigest()
    from_path = class_schemes(source=shared)
    assert {n: dict(s.mapping) for n, s in from_path.items()} == {n: dict(s.mapping) for n, s in class_schemes().items()}
    assert from_path["CROPTYPE24"].source == str(shared)


def test_croptype24_leaves_out_ignore_and_the_card_counts_them(public_samples, legend):
    scheme = {int(k): v for k, v in packaged_json()["CROPTYPE24"].items()}
    codes = [int(c) for c in public_samples["ewoc_code"]]
    assert all(c in scheme for c in codes)  # every demo code is named: nothing unmapped
    expected = Counter(scheme[c] for c in codes if scheme[c] != "ignore")
    ignored = sum(1 for c in codes if scheme[c] == "ignore")
    assert ignored > 0 and len(expected) > 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmappedCodesWarning)  # none may be raised: every code is named
        out = map_classes(public_samples, "CROPTYPE24", legend=legend)
    assert Counter(out["downstream_class"]) == expected and len(out) == len(public_samples) - ignored
    assert "ignore" not in set(out["downstream_class"])
    step = steps_of(out)[-1]
    assert step["scheme"] == "CROPTYPE24" and step["match"] == "exact" and step["unmapped"] == "drop"
    assert step["ignored_samples"] == ignored
    assert step["ignored_codes"] == sorted({c for c in codes if scheme[c] == "ignore"})
    card = DatasetCard.build(out, collections={}, created="2026-01-01T00:00:00+00:00")
    assert card.data["class_mapping"]["ignored_samples"] == ignored
    assert card.data["class_mapping"]["scheme_sha256"] == class_scheme("CROPTYPE24").sha256
    markdown = card.to_markdown()
    assert "## Class mapping" in markdown and "Scheme: `CROPTYPE24`" in markdown
    assert f"Left out as `ignore`: {ignored:,} samples" in markdown


def test_codes_a_scheme_does_not_name_are_reported_with_counts_and_labels(public_samples, legend):
    scheme = {int(k): v for k, v in packaged_json()["CROPTYPE28"].items()}
    counts = Counter(int(c) for c in public_samples["ewoc_code"])
    missing = {c: n for c, n in counts.items() if c not in scheme}
    assert len(missing) >= 3  # the demo holds codes CROPTYPE28 does not name
    with pytest.warns(UnmappedCodesWarning) as caught:
        dropped = map_classes(public_samples, "CROPTYPE28", legend=legend)
    message = str(caught[0].message)
    assert f"{len(missing)} code(s), {sum(missing.values()):,} sample(s), have no class in class scheme CROPTYPE28" \
        in message and message.endswith("; dropped")
    for code, n in missing.items():
        assert f"{code} {legend.label(code)} ({n:,})" in message
    assert len(dropped) == sum(n for c, n in counts.items() if c in scheme and scheme[c] != "ignore")
    step = steps_of(dropped)[-1]
    assert step["unmapped_report"] == [{"ewoc_code": c, "label": legend.label(c), "samples": missing[c]}
                                       for c in sorted(missing)]
    assert step["dropped"] == sum(missing.values())
    markdown = DatasetCard.build(dropped, collections={}).to_markdown()
    for code in missing:
        assert f"| {code} | {legend.label(code)} | {missing[code]:,} | dropped |" in markdown

    kept = mapped_quietly(public_samples, "CROPTYPE28", unmapped="other", legend=legend)
    assert int((kept["downstream_class"] == "other").sum()) == sum(missing.values()) and len(kept) == len(public_samples)

    with pytest.raises(BadParameterError) as refused:
        map_classes(public_samples, "CROPTYPE28", unmapped="error", legend=legend)
    assert all(str(code) in str(refused.value) for code in missing) and "unmapped='drop'" in str(refused.value)


def test_exact_matching_for_schemes_ancestors_for_hand_written_mappings(public_samples, legend):
    # 1101120040 (pearl millet) is not in CROPTYPE28; its ancestor 1101120000 (millet) is.
    scheme = class_scheme("CROPTYPE28")
    assert 1101120040 not in scheme.mapping and scheme.mapping[1101120000] == "millet"
    exact = mapped_quietly(public_samples, "CROPTYPE28", legend=legend)
    assert 1101120040 not in set(exact["ewoc_code"])
    through = mapped_quietly(public_samples, "CROPTYPE28", match="ancestors", legend=legend)
    assert set(through.loc[through["ewoc_code"] == 1101120040, "downstream_class"]) == {"millet"}
    # a hand-written mapping keeps its legend-ancestor lookup and its 'other' default, and 'ignore' works there too
    with pytest.warns(UnmappedCodesWarning, match="kept as 'other'"):
        own = map_classes(public_samples, {1101000000: "cereal", 1106000000: "ignore"}, legend=legend)
    assert not own["ewoc_code"].astype(str).str.startswith("1106").any()
    assert set(own["downstream_class"]) == {"cereal", "other"}
    assert steps_of(own)[-1]["ignored_samples"] == int(public_samples["ewoc_code"].astype(str).str.startswith("1106").sum())


def test_build_training_set_with_a_scheme_equals_the_steps_one_by_one(public_samples, legend):
    built = build_training_set(public_samples, "CROPTYPE24", legend=legend, max_per_class=400,
                               split=(0.7, 0.15, 0.15), seed=4)
    by_hand = spatial_split(cap_per_class(map_classes(public_samples, "CROPTYPE24", legend=legend), 400, seed=4),
                            (0.7, 0.15, 0.15), seed=4)
    assert built["sample_id"].tolist() == by_hand["sample_id"].tolist()
    assert built["downstream_class"].tolist() == by_hand["downstream_class"].tolist()
    assert built["split"].tolist() == by_hand["split"].tolist()
    assert [s["step"] for s in steps_of(built)] == ["map_classes", "cap_per_class", "spatial_split"]
    with pytest.raises(BadParameterError, match="'NOPE' is neither a class scheme"):
        build_training_set(public_samples, "NOPE")


def test_schemes_from_a_file_an_url_and_an_installed_worldcereal(tmp_path, monkeypatch, public_samples, legend):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "class_mappings.json").write_text(json.dumps(OWN_SCHEMES))
    assert scheme_names(folder / "class_mappings.json") == ["WHEAT_OR_NOT"]

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{httpd.server_port}/class_mappings.json"
            scheme = class_scheme("WHEAT_OR_NOT", source=url)
            out = mapped_quietly(public_samples, "WHEAT_OR_NOT", schemes_source=url, legend=legend)
            with pytest.raises(BadParameterError, match="answered HTTP 404"):
                class_schemes(source=url.replace("class_mappings", "missing"))
        finally:
            httpd.shutdown()
            thread.join(10)
    assert scheme.source == url and dict(scheme.mapping) == {int(k): v for k, v in OWN_SCHEMES["WHEAT_OR_NOT"].items()}
    codes = public_samples["ewoc_code"].astype(int)
    assert len(out) == int(codes.isin([1101010000, 1101010001, 1101060000]).sum())
    assert steps_of(out)[-1]["scheme_source"] == url

    with pytest.raises(BadParameterError, match="no installed worldcereal package"):
        class_schemes(source="worldcereal")
    # a real (tiny) worldcereal package on the path, as an installed one would be found
    package = tmp_path / "pkgs" / "worldcereal" / "data" / "croptype_mappings"
    package.mkdir(parents=True)
    for level in (package.parents[1], package.parent, package):
        (level / "__init__.py").write_text("")
    (package / "class_mappings.json").write_text(json.dumps(OWN_SCHEMES))
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    for name in [m for m in sys.modules if m == "worldcereal" or m.startswith("worldcereal.")]:
        monkeypatch.delitem(sys.modules, name)
    assert scheme_names("worldcereal") == ["WHEAT_OR_NOT"]
    assert class_scheme("WHEAT_OR_NOT", "worldcereal").source.startswith("worldcereal")
    assert scheme_names() == NAMES  # the packaged copy is still the default


def test_bad_scheme_sources_name_the_value_and_the_allowed_ones(tmp_path):
    with pytest.raises(BadParameterError, match="'/nonexistent/x.json' is neither an existing file nor an http"):
        class_schemes(source="/nonexistent/x.json")
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"1101010000": "wheat"}))
    with pytest.raises(BadParameterError, match="must hold an object of schemes"):
        class_schemes(source=flat)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"S": {"maize": "maize"}}))
    with pytest.raises(BadParameterError, match="scheme 'S' of .*'maize' is not an ewoc code"):
        class_schemes(source=bad)


def test_a_scheme_seeds_the_crop_picker_grouping(public_samples):
    from worldcereal_explorer.state.training import picker_mapping

    codes = sorted({int(c) for c in public_samples["ewoc_code"]})
    grouping = scheme_grouping("CROPTYPE24", codes)
    scheme = {int(k): v for k, v in packaged_json()["CROPTYPE24"].items()}
    assert grouping == {c: scheme[c] for c in codes if scheme[c] != "ignore"}
    # the grouping is the picker's input: ticking its codes and grouping them gives the scheme's classes
    assert picker_mapping(public_samples, grouping, sorted(grouping)) == grouping
    assert len(scheme_grouping("CROPTYPE24")) == sum(1 for v in scheme.values() if v != "ignore")


def test_cli_mapping_by_scheme_name(rdm_url, tmp_path):
    out, card = tmp_path / "train.parquet", tmp_path / "card"
    result = run_cli("--endpoint", rdm_url, "--mapping", "CROPTYPE28", "--card", str(card), "--no-progress",
                     "-o", str(out))
    assert result.returncode == 0, result.stderr
    gdf = gpd.read_parquet(out)
    scheme = {int(k): v for k, v in packaged_json()["CROPTYPE28"].items()}
    assert all(scheme[int(c)] == cls for c, cls in zip(gdf["ewoc_code"], gdf["downstream_class"], strict=True))
    data = read_card(out).data
    report = data["class_mapping"]["unmapped_report"]
    assert report and all(r["ewoc_code"] not in scheme for r in report)
    assert "warning: " in result.stderr and "have no class in class scheme CROPTYPE28" in result.stderr
    assert all(str(r["ewoc_code"]) in result.stderr for r in report)
    assert data == json.loads(card.with_suffix(".json").read_text())

    refused = run_cli("--endpoint", rdm_url, "--mapping", "CROPTYPE28", "--unmapped", "error", "--no-progress",
                      "-o", str(tmp_path / "refused.parquet"))
    assert refused.returncode == 2 and "have no class in class scheme CROPTYPE28" in refused.stderr
    assert not (tmp_path / "refused.parquet").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--mapping", "CROPTYPE42"], "--mapping: class mapping 'CROPTYPE42' is neither a class scheme (allowed: "
                                  + ", ".join(NAMES)),
    (["--mapping", "CROPTYPE24", "--unmapped", "keep"], "invalid choice: 'keep'"),
    (["--unmapped", "drop"], "--unmapped needs --mapping"),
    (["--mapping", "CROPTYPE24", "--unmapped", "other", "--drop-unmapped"], "--drop-unmapped contradicts --unmapped"),
    (["--mapping", "CROPTYPE24", "--class-schemes", "/nonexistent/s.json"], "'/nonexistent/s.json' is neither"),
])
def test_cli_refuses_bad_scheme_options_before_any_request(tmp_path, args, message):
    # an endpoint nobody listens on: a value checked too late would fail with a connection error instead
    result = run_cli("--endpoint", "http://127.0.0.1:9", "--no-progress", "-o", str(tmp_path / "x.parquet"), *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
