"""A notebook that logs in (device flow, real kernel) must not show a token in any output.

The notebook logs at DEBUG level to its output, shows the auth object, its user info, a rejected-token
traceback and the login widget (with widget state stored); the saved notebook is then searched.
"""

from __future__ import annotations

import json
import os
import re

import nbformat
import pytest

from tests.auth.helpers import Approver
from tests.conftest import REPO_ROOT
from tests.notebook_support import execute_notebook

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

JWT_PATTERN = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}")

CELLS = [
    """\
import logging, os, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, force=True)
from worldcereal_explorer.rdm.auth import DeviceCodeAuth
auth = DeviceCodeAuth(os.environ["WORLDCEREAL_OIDC_ISSUER"], use_cache=True, cache_path="tokens.json")
token = auth.get_access_token(interactive=True)
auth""",
    "auth.user_info",
    "print(repr(auth)); auth.cache.load(auth.cache_key)",  # the session's tokens, as a user can show them
    """\
from worldcereal_explorer.server.tokens import JwtTokenValidator
JwtTokenValidator(auth.issuer, "another-client")(token)""",
    """\
from worldcereal_explorer.widgets.login import LoginWidget
LoginWidget(auth)""",
    "auth",
]


def test_notebook_outputs_carry_no_token(idp, monkeypatch, tmp_path):
    monkeypatch.setenv("WORLDCEREAL_OIDC_ISSUER", idp.issuer)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in CELLS])
    nb.cells[3].metadata["tags"] = ["raises-exception"]
    approver = Approver(idp, sub="demo-user")
    execute_notebook(nb, workdir=tmp_path, timeout=120, store_widget_state=True)
    approver.join()
    assert idp.stats.device.tokens_issued == 1
    refresh_tokens = [session.refresh_token for session in idp.sessions()]  # the session the kernel still holds
    assert refresh_tokens

    saved = json.dumps(nb)
    outputs = "\n".join(json.dumps(cell.get("outputs", [])) for cell in nb.cells)
    assert approver.user_code in outputs  # the instructions were printed
    assert "logged_in_as='demo-user'" in outputs and "demo-user" in outputs
    assert "audience" in outputs  # the rejection message is there, without the token
    assert "widget-view" in outputs
    assert not JWT_PATTERN.search(saved), "a JWT is in the notebook's outputs or widget state"
    assert not any(token in saved for token in refresh_tokens), "a refresh token is in the notebook"
