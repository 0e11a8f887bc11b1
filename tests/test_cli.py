"""The command line: make-demo-catalog, serve, and demo (local server + Voilà) as real processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port


def _read_until(proc: subprocess.Popen, pattern: str, timeout_s: float) -> re.Match:
    """Read the process's stdout line by line until ``pattern`` matches (or fail with its output)."""
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"{pattern!r} not printed; output so far:\n{''.join(seen)}")


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def test_make_demo_catalog_and_serve(tmp_path):
    catalog = tmp_path / "catalog"
    done = subprocess.run(
        [sys.executable, "-m", "worldcereal_explorer.cli", "make-demo-catalog", str(catalog)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    assert "synthetic" in done.stdout.lower()
    ids = sorted(p.parent.name for p in catalog.glob("*/collection.json"))
    assert len(ids) >= 10
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "worldcereal_explorer.cli", "serve", str(catalog), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/collections/search?Bbox=-180&Bbox=-90&Bbox=180&Bbox=90"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(url)
                break
            except OSError:
                assert proc.poll() is None, "serve exited early"
                assert time.monotonic() < deadline, "server did not answer in 60 s"
                time.sleep(0.2)
        assert status == 200
        found = {c["collectionId"] for c in json.loads(body)}
        public = {i for i in ids if json.loads((catalog / i / "collection.json").read_text())["accessType"] == "Public"}
        assert found == public
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_serve_rejects_a_folder_that_is_not_a_catalogue(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "worldcereal_explorer.cli", "serve", str(tmp_path)], capture_output=True, text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "is not a catalogue folder" in done.stderr


@pytest.mark.notebook
def test_demo_command_serves_dashboard_and_api(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    env.pop("WORLDCEREAL_RDM_URL", None)
    voila_port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "worldcereal_explorer.cli", "demo", "--voila-port", str(voila_port),
         "--idp-port", str(free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        server = _read_until(proc, r"Local RDM server .*: (http://127\.0\.0\.1:\d+)", 300).group(1)
        dashboard = _read_until(proc, r"Dashboard: (http://127\.0\.0\.1:\d+/)", 60).group(1)
        assert dashboard == f"http://127.0.0.1:{voila_port}/"
        status, body = _get(f"{server}/collections/search?Bbox=-180&Bbox=-90&Bbox=180&Bbox=90")
        assert status == 200 and len(json.loads(body)) >= 10
        status, page = _get(dashboard)
        assert status == 200 and b"<html" in page.lower()
        assert (Path(env["XDG_CACHE_HOME"]) / "worldcereal-explorer").is_dir()  # catalogue in the user cache
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()  # the pipe is the test's to close (an unclosed one is a ResourceWarning)


def test_login_and_logout_commands_with_local_provider(tmp_path):
    from worldcereal_explorer.server.idp import serve_idp_in_thread

    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "PYTHONUNBUFFERED": "1"}
    with serve_idp_in_thread(poll_interval_s=0.1) as idp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "worldcereal_explorer.cli", "login", "--issuer", idp.issuer],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        try:
            user_code = idp.wait_for_user_code(timeout_s=60)
            idp.approve(user_code, sub="demo-user", name="Demo User", preferred_username="demo")
            output, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()  # reads the rest and closes the pipe
        assert proc.returncode == 0, output
        assert user_code in output and f"{idp.issuer}/device" in output
        assert "Logged in as demo" in output
        cache_files = list((tmp_path / "config").rglob("*.json"))
        assert cache_files and oct(cache_files[0].stat().st_mode & 0o777) == "0o600"
        assert "access_token" in cache_files[0].read_text()
        done = subprocess.run(
            [sys.executable, "-m", "worldcereal_explorer.cli", "logout", "--issuer", idp.issuer],
            capture_output=True, text=True, env=env, timeout=60,
        )
        assert done.returncode == 0 and "Logged out" in done.stdout
        assert "access_token" not in "".join(p.read_text() for p in (tmp_path / "config").rglob("*.json"))


# --- samples: the options make one RdmQuery ------------------------------------------------------------------------

def _samples_args(*options: str):
    from worldcereal_explorer.cli import build_parser

    return build_parser().parse_args(["samples", *options])


def test_samples_options_make_one_query():
    from worldcereal_explorer.cli_samples_options import plan_run, query_filters, rdm_query
    from worldcereal_explorer.rdm.query import RdmQuery

    args = _samples_args("--bbox", "3", "50", "6", "52", "--temporal-extent", "2021-01-01", "2021-12-31",
                         "--ewoc-codes", "11-01-06-000-0", "1101010001", "--min-quality-ct", "70", "--subset",
                         "--include-private", "--ref-ids", "b", "a", "--clip", "-o", "x.parquet")
    expected = RdmQuery(bbox=(3, 50, 6, 52), start_date="2021-01-01", end_date="2021-12-31",
                        ewoc_codes=[1101060000, 1101010001], min_quality_ct=70, subset=True, include_private=True,
                        include_restricted=True, selected_ids=["b", "a"])
    assert rdm_query(args) == expected
    assert plan_run(args)["query"] == expected
    assert query_filters(args) == {"query": expected, "clip": True, "columns": None, "on_error": "raise"}
    polygon = "POLYGON ((3 50, 6 50, 4.5 52, 3 50))"
    assert rdm_query(_samples_args("--polygon", polygon, "--no-public", "--count-only")) == RdmQuery(
        polygon=polygon, include_public=False)


@pytest.mark.parametrize(("options", "says"), [
    (["--min-quality-ct", "150"], "--min-quality-ct: min_quality_ct=150 is not allowed"),
    (["--ewoc-codes", "42"], "--ewoc-codes: ewoc code '42'"),
    (["--bbox", "6", "50", "3", "52"], "--bbox: bbox west=6.0 is greater than east=3.0"),
    (["--temporal-extent", "2021-12-31", "2021-01-01"], "--temporal-extent: temporal extent start 2021-12-31 is after"),
    (["--temporal-extent", "2021-01-01", "soon"], "--temporal-extent: temporal extent end 'soon'"),
    (["--polygon", "LINESTRING (0 0, 1 1)"], "--polygon:"),
])
def test_samples_bad_query_option_is_named_before_any_request(options, says, capsys):
    from worldcereal_explorer.cli_samples import run_samples_command

    # the endpoint answers nothing: the error must come from the options, not from a request
    args = _samples_args("--endpoint", "http://127.0.0.1:9", *options, "--count-only")
    assert run_samples_command(args) == 2
    assert says in capsys.readouterr().err


def test_samples_count_only_runs_the_query(rdm_url, tmp_path):
    from worldcereal_explorer.rdm.client import RdmClient
    from worldcereal_explorer.rdm.query import RdmQuery

    out = tmp_path / "counts.csv"
    done = subprocess.run([sys.executable, "-m", "worldcereal_explorer.cli", "samples", "--endpoint", rdm_url,
                           "--bbox", "-10", "35", "30", "60", "--min-quality-lc", "20", "--count-only", "--by",
                           "ref_id", "--no-progress", "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    import pandas as pd

    written = pd.read_csv(out)
    with RdmClient(rdm_url) as client:
        expected = client.count_samples(query=RdmQuery(bbox=(-10, 35, 30, 60), min_quality_lc=20), by="ref_id",
                                        progress=False)
    assert int(written["count"].sum()) == int(expected["count"].sum()) > 0
    assert sorted(written["ref_id"]) == sorted(expected["ref_id"])
