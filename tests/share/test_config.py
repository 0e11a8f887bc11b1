"""Settings that last: argument > environment > config file > default; `worldcereal-explorer config`; banners."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import free_port
from worldcereal_explorer import config
from worldcereal_explorer.errors import BadParameterError

_ENV = ("WORLDCEREAL_RDM_URL", "WORLDCEREAL_LEGEND_URL", "WORLDCEREAL_MIN_QUALITY_LC", "WORLDCEREAL_MIN_QUALITY_CT",
        "WORLDCEREAL_TOKEN_CACHE", "WORLDCEREAL_DATA_NOTE")


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    """An empty environment and a config file of the test's own."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "config.toml"
    monkeypatch.setenv("WORLDCEREAL_CONFIG", str(path))
    return path


def test_defaults_without_a_file(cfg):
    assert config.config_path() == cfg
    got = config.settings()
    assert got["endpoint"].value == config.DEFAULT_RDM_URL and got["endpoint"].source == "default"
    assert got["min_quality_lc"].value == 0
    assert got["token_cache"].value.endswith("oidc-tokens.json")


def test_precedence_argument_env_file_default(cfg, monkeypatch, tmp_path):
    cfg.write_text('endpoint = "http://127.0.0.1:7000/"\nmin_quality_ct = 40\nlegend_source = "/data/legend.csv"\n'
                   'token_cache = "~/tokens.json"\n')
    assert config.resolve_rdm_url() == "http://127.0.0.1:7000"
    assert config.resolve_setting("endpoint").source == "config file"
    assert config.resolve_min_quality("ct") == 40
    assert config.resolve_legend_url() == "/data/legend.csv"
    assert not str(config.resolve_token_cache_path()).startswith("~")
    monkeypatch.setenv("WORLDCEREAL_RDM_URL", "http://127.0.0.1:7001")
    monkeypatch.setenv("WORLDCEREAL_MIN_QUALITY_CT", "55")
    assert config.resolve_rdm_url() == "http://127.0.0.1:7001"
    assert config.resolve_setting("endpoint").source == "environment"
    assert config.resolve_min_quality("ct") == 55
    assert config.resolve_rdm_url("http://127.0.0.1:7002") == "http://127.0.0.1:7002"
    assert config.resolve_min_quality("ct", 60) == 60
    assert config.resolve_token_cache_path(tmp_path / "t.json") == tmp_path / "t.json"


def test_the_client_uses_the_config_file(cfg):
    from worldcereal_explorer.rdm.client import RdmClient

    cfg.write_text('endpoint = "http://127.0.0.1:7003"\n')
    with RdmClient() as client:
        assert client.endpoint == "http://127.0.0.1:7003"


@pytest.mark.parametrize(("text", "match"), [
    ("endpoint = ", "not valid TOML"),
    ('endpoit = "http://x"\n', "unknown setting 'endpoit'"),
    ('endpoint = "ftp://x"\n', "endpoint in .* 'ftp://x' is not an http"),
    ("min_quality_lc = 200\n", "min_quality_lc in .* 200 is not a whole number"),
])
def test_bad_config_file_is_named(cfg, text, match):
    cfg.write_text(text)
    with pytest.raises(BadParameterError, match=match):
        config.settings()


def test_bad_env_value_is_named(cfg, monkeypatch):
    monkeypatch.setenv("WORLDCEREAL_MIN_QUALITY_LC", "high")
    with pytest.raises(BadParameterError, match=r"\$WORLDCEREAL_MIN_QUALITY_LC 'high'"):
        config.resolve_min_quality("lc")


def test_cli_config_shows_values_and_sources(cfg, monkeypatch, capsys):
    from worldcereal_explorer.cli import main

    cfg.write_text("min_quality_lc = 20\n")
    monkeypatch.setenv("WORLDCEREAL_LEGEND_URL", "http://127.0.0.1:7004/legend.csv")
    assert main(["config", "--endpoint", "http://127.0.0.1:7005", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = out["settings"]
    assert out["config_file"] == str(cfg) and out["config_file_exists"]
    assert (got["endpoint"]["value"], got["endpoint"]["source"]) == ("http://127.0.0.1:7005", "argument")
    assert got["legend_source"]["source"] == "environment"
    assert (got["min_quality_lc"]["value"], got["min_quality_lc"]["source"]) == (20, "config file")
    assert got["min_quality_ct"]["source"] == "default"
    assert main(["config"]) == 0
    text = capsys.readouterr().out
    assert str(cfg) in text and "$WORLDCEREAL_LEGEND_URL" in text and "precedence" in text
    cfg.write_text("nonsense = 1\n")
    assert main(["config"]) == 2
    assert "unknown setting 'nonsense'" in capsys.readouterr().err


def test_data_banner(monkeypatch):
    monkeypatch.delenv("WORLDCEREAL_DATA_NOTE", raising=False)
    assert config.data_banner(config.DEFAULT_RDM_URL + "/").kind == "live"
    demo = config.data_banner("http://127.0.0.1:8765")
    assert demo.kind == "demo" and "synthetic demo" in demo.text
    assert config.data_banner("https://rdm.example.org").kind == "other"
    monkeypatch.setenv("WORLDCEREAL_DATA_NOTE", "Because.")
    assert config.data_banner("http://localhost:1").text.endswith("Because.")


def test_probe_is_bounded(rdm_url):
    assert config.probe_rdm(rdm_url, timeout_s=5)
    start = time.monotonic()
    assert not config.probe_rdm(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    assert not config.probe_rdm("https://ewoc-rdm-api.invalid", timeout_s=2)
    assert time.monotonic() - start < 6
