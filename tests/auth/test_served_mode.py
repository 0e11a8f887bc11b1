"""Served mode (a dashboard under Voila) never remembers a login; personal use keeps the token cache.

The kernels of one Voila server get the CGI-style variables Voila sets for each page
(``SERVER_SOFTWARE=voila/<version>``, ``VOILA_*``); the tests give this process the same variables, then
log in for real against the local OIDC provider and look at the files left in the config folder.
"""

from __future__ import annotations

import logging

import pytest

from worldcereal_explorer import config
from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.rdm.auth import DeviceCodeAuth, TokenCache, TokenSet, token_provider_from_env
from worldcereal_explorer.state.session import AuthSession
from worldcereal_explorer.voila_setup import configure

VOILA_PAGE_ENV = {"SERVER_SOFTWARE": "voila/0.5.13", "VOILA_REQUEST_URL": "http://127.0.0.1:8866/",
                  "VOILA_BASE_URL": "/", "QUERY_STRING": ""}
SETTINGS = (config.ENV_SERVED_MODE, config.ENV_SINGLE_PERSON_SERVER_REMEMBER_LOGIN, config.ENV_RDM_TOKEN,
            config.ENV_RDM_REFRESH_TOKEN, "SERVER_SOFTWARE", "VOILA_REQUEST_URL", "VOILA_BASE_URL",
            "VOILA_KERNEL_ID")


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch, tmp_path):
    """No setting of the developer's machine leaks in: an empty config file, none of the variables."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(config.ENV_CONFIG_FILE, str(tmp_path / "config.toml"))
    monkeypatch.setenv(config.ENV_TOKEN_CACHE, str(tmp_path / "config" / "oidc-tokens.json"))
    return tmp_path / "config" / "oidc-tokens.json"


@pytest.fixture
def under_voila(monkeypatch):
    for name, value in VOILA_PAGE_ENV.items():
        monkeypatch.setenv(name, value)


def _log_in(idp, approve_next, **kwargs) -> DeviceCodeAuth:
    auth = DeviceCodeAuth(idp.issuer, timeout=(5.0, 10.0), **kwargs)
    approver = approve_next(idp)
    auth.login()
    approver.join()
    assert auth.is_logged_in
    return auth


def test_a_voila_kernel_is_served_a_lab_kernel_is_not(monkeypatch):
    assert not config.running_under_voila() and not config.served_mode()
    monkeypatch.setenv("SERVER_SOFTWARE", "voila/0.5.13")
    assert config.running_under_voila() and config.served_mode()
    monkeypatch.delenv("SERVER_SOFTWARE")
    monkeypatch.setenv("VOILA_KERNEL_ID", "5f676349")  # Binder's Voila extension sets these too
    assert config.served_mode()
    monkeypatch.delenv("VOILA_KERNEL_ID")
    monkeypatch.setenv(config.ENV_SERVED_MODE, "always")  # another web server than Voila
    assert config.served_mode() and not config.running_under_voila()


def test_personal_use_keeps_the_token_cache(idp, approve_next, isolated_settings):
    auth = _log_in(idp, approve_next)
    assert auth.cache is not None and isolated_settings.exists()
    again = DeviceCodeAuth(idp.issuer)
    assert again.is_logged_in and again.username == "demo-user"


def test_served_mode_neither_reads_nor_writes_the_token_cache(idp, approve_next, isolated_settings, under_voila):
    # Someone logged in on this machine before (a notebook, the CLI): the served page must not see it.
    TokenCache(isolated_settings).store(f"{idp.issuer} {DeviceCodeAuth(idp.issuer).client_id}",
                                        TokenSet(access_token="a.b.c", expires_at=4e9, refresh_token="r"))
    before = isolated_settings.read_bytes()
    visitor = DeviceCodeAuth(idp.issuer)
    assert visitor.cache is None and not visitor.is_logged_in and visitor.get_access_token() is None

    visitor = _log_in(idp, approve_next)
    assert isolated_settings.read_bytes() == before, "served mode wrote the token cache"
    visitor.logout()
    assert isolated_settings.read_bytes() == before, "a served visitor's logout touched the token cache"


def test_two_served_sessions_in_one_process_share_nothing(idp, approve_next, under_voila):
    first = _log_in(idp, approve_next)
    second = DeviceCodeAuth(idp.issuer)
    assert not second.is_logged_in and second.get_access_token() is None
    first.logout()
    assert not first.is_logged_in


def test_the_single_person_setting_turns_the_cache_back_on_and_warns(idp, approve_next, isolated_settings,
                                                                    under_voila, tmp_path, caplog):
    (tmp_path / "config.toml").write_text("single_person_server_remember_login = true\n")
    with caplog.at_level(logging.WARNING):
        assert config.warn_if_served_with_remembered_login()
    assert "single_person_server_remember_login is on" in caplog.text
    _log_in(idp, approve_next)
    assert isolated_settings.exists()
    assert DeviceCodeAuth(idp.issuer).is_logged_in  # the next page view is logged in: what it is for


def test_no_warning_when_the_setting_is_off_or_the_use_personal(monkeypatch, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert not config.warn_if_served_with_remembered_login()
        (tmp_path / "config.toml").write_text("single_person_server_remember_login = true\n")
        assert not config.warn_if_served_with_remembered_login()  # personal use: nothing to warn of
    assert not caplog.records


def test_voila_setup_option_reaches_the_kernels_environment_and_warns(monkeypatch, caplog):
    from traitlets.config import Config

    with caplog.at_level(logging.WARNING):
        configure(Config())
        assert not caplog.records
        configure(Config(), single_person_server_remember_login=True)
    assert "single_person_server_remember_login is on" in caplog.text
    # Voila starts the kernels with its own environment: they read the setting from it.
    monkeypatch.setenv("SERVER_SOFTWARE", "voila/0.5.13")
    assert config.token_cache_allowed()
    configure(Config(), single_person_server_remember_login=False)
    assert not config.token_cache_allowed()


def test_served_mode_ignores_tokens_in_the_servers_environment(monkeypatch, under_voila, caplog):
    monkeypatch.setenv(config.ENV_RDM_TOKEN, "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl")
    with caplog.at_level(logging.WARNING):
        assert token_provider_from_env() is None
    assert "$WORLDCEREAL_RDM_TOKEN is set but not used" in caplog.text
    assert "eyJ" not in caplog.text  # the token itself is never logged
    monkeypatch.delenv("SERVER_SOFTWARE")
    monkeypatch.delenv("VOILA_REQUEST_URL")
    monkeypatch.delenv("VOILA_BASE_URL")
    assert token_provider_from_env() is not None  # personal use: a headless job's token works


def test_the_login_session_says_what_it_remembers(idp, under_voila):
    session = AuthSession(DeviceCodeAuth(idp.issuer))
    assert session.served and not session.remembered
    session.close()


def test_the_login_widget_tells_a_served_visitor_the_login_stays_in_the_page(idp, under_voila):
    from worldcereal_explorer.widgets.login import LoginWidget

    widget = LoginWidget(DeviceCodeAuth(idp.issuer))
    assert "stays in this page only" in widget.status_html.value
    widget.close()
    widget.session.close()


@pytest.mark.parametrize(("name", "value", "allowed"), [
    ("served_mode", "sometimes", "'auto', 'always'"),
    ("single_person_server_remember_login", "maybe", "true or false"),
    ("sample_cache_max_mb", "0", "megabytes >= 1"),
])
def test_bad_values_name_the_value_and_what_is_allowed(tmp_path, name, value, allowed):
    (tmp_path / "config.toml").write_text(f'{name} = "{value}"\n')
    with pytest.raises(BadParameterError) as error:
        config.resolve_setting(name)
    assert repr(value) in str(error.value) and allowed in str(error.value) and name in str(error.value)
