"""binder/start: the live RDM when it answers, else the bundled demo with a banner saying so (bounded time)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, free_port

START = REPO_ROOT / "binder" / "start"
REPORT = ("import json, os; print(json.dumps({k: os.environ.get(k) for k in ('WORLDCEREAL_RDM_URL', "
          "'WORLDCEREAL_LEGEND_URL', 'WORLDCEREAL_DATA_NOTE', 'WORLDCEREAL_DEMO_SERVER_PID')}))")


def _run(env_extra: dict[str, str], tmp_path: Path) -> tuple[dict, str, float]:
    env = {**os.environ, "HOME": str(tmp_path / "home"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
           **env_extra}
    env.pop("WORLDCEREAL_RDM_URL", None)
    start = time.monotonic()
    proc = subprocess.run(["bash", str(START), sys.executable, "-c", REPORT], env=env, capture_output=True,
                          text=True, timeout=120)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr, elapsed


@pytest.mark.slow
def test_unreachable_live_rdm_falls_back_to_the_demo(tmp_path, demo_catalog):
    port = free_port()
    got, stderr, elapsed = _run({"WORLDCEREAL_LIVE_RDM_URL": f"http://127.0.0.1:{free_port()}",
                                 "WORLDCEREAL_PROBE_TIMEOUT_S": "3", "WORLDCEREAL_BINDER_PORT": str(port),
                                 "WORLDCEREAL_BINDER_CATALOG": str(demo_catalog)}, tmp_path)
    pid = int(got["WORLDCEREAL_DEMO_SERVER_PID"])
    try:
        assert got["WORLDCEREAL_RDM_URL"] == f"http://127.0.0.1:{port}"
        assert got["WORLDCEREAL_LEGEND_URL"] == f"http://127.0.0.1:{port}/legend.csv"
        assert "did not answer within 3 s" in got["WORLDCEREAL_DATA_NOTE"]
        assert "Demo data: a local RDM server" in stderr and "did not answer" in stderr
        with urllib.request.urlopen(f"{got['WORLDCEREAL_RDM_URL']}/collections", timeout=10) as response:
            assert response.status == 200  # the demo server is up before the dashboard starts
        assert elapsed < 60
    finally:
        os.kill(pid, signal.SIGTERM)


@pytest.mark.slow
def test_real_live_url_probe_is_bounded(tmp_path, demo_catalog):
    """With the real live address: no internet here gives the demo; with internet the banner says live."""
    got, stderr, elapsed = _run({"WORLDCEREAL_PROBE_TIMEOUT_S": "4", "WORLDCEREAL_BINDER_PORT": str(free_port()),
                                 "WORLDCEREAL_BINDER_CATALOG": str(demo_catalog)}, tmp_path)
    pid = got["WORLDCEREAL_DEMO_SERVER_PID"]
    try:
        if pid is None:
            assert got["WORLDCEREAL_RDM_URL"] == "https://ewoc-rdm-api.iiasa.ac.at"
            assert "Live data" in stderr
        else:
            assert "Demo data" in stderr and "https://ewoc-rdm-api.iiasa.ac.at" in got["WORLDCEREAL_DATA_NOTE"]
        assert elapsed < 60
    finally:
        if pid is not None:
            os.kill(int(pid), signal.SIGTERM)


def test_voila_under_the_binder_server_waits_long_enough_for_the_app_cell(tmp_path):
    """The Jupyter server that Binder starts (and Voilà inside it) reads binder/jupyter-config: the
    executor's IOPub timeout is the 60 s the CLI passes, not Voilà's 4 s default."""
    check = ("from jupyter_server.serverapp import ServerApp; from voila.execute import VoilaExecutor; "
             "import nbformat; app = ServerApp(); app.load_config_file(); "
             "print(VoilaExecutor(nbformat.v4.new_notebook(), config=app.config).iopub_timeout)")
    env = {**os.environ, "HOME": str(tmp_path / "home"), "WORLDCEREAL_RDM_URL": "http://127.0.0.1:9",
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter")}
    env.pop("JUPYTER_CONFIG_PATH", None)
    proc = subprocess.run(["bash", str(START), sys.executable, "-c", check], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "60"
    # without binder/start the default holds, so the line above is what the config file does
    bare = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=120)
    assert bare.stdout.strip().splitlines()[-1] == "4"
