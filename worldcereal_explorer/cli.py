"""``worldcereal-explorer``: run the demo dashboard, serve a catalogue, make the demo catalogue, query samples."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from .config import ENV_LEGEND_URL, ENV_OIDC_ISSUER, ENV_RDM_URL

logger = logging.getLogger("worldcereal_explorer")

REPO_APPS_DIR = Path(__file__).resolve().parent.parent / "apps"
DASHBOARD_NOTEBOOK = "rdm_explorer.ipynb"


def demo_catalog_dir() -> Path:
    """Where ``demo`` keeps the generated demo catalogue (the user cache dir)."""
    import platformdirs

    from ._version import __version__

    # Versioned by the package: a new release regenerates the catalogue rather than reusing a stale one.
    return Path(platformdirs.user_cache_dir("worldcereal-explorer")) / f"demo-catalog-{__version__}"


def ensure_demo_catalog(path: Path | None = None) -> Path:
    """Generate the demo catalogue into ``path`` (default: the user cache) unless it is already there."""
    from .demo import make_demo_catalog

    target = path or demo_catalog_dir()
    if (target / "catalog.json").is_file():
        return target
    # Generate beside the target and rename, so an interrupted run never leaves half a catalogue.
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    make_demo_catalog(staging / "catalog")
    try:
        os.replace(staging / "catalog", target)
    except OSError:  # another process won the race; use its catalogue
        pass
    finally:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return target


def dashboard_notebook() -> Path:
    """The Voilà notebook: ``apps/`` of a source checkout, else a copy written to the user cache."""
    notebook = REPO_APPS_DIR / DASHBOARD_NOTEBOOK
    if notebook.is_file():
        return notebook
    import platformdirs

    target = Path(platformdirs.user_cache_dir("worldcereal-explorer")) / "apps" / DASHBOARD_NOTEBOOK
    target.parent.mkdir(parents=True, exist_ok=True)
    cell: dict[str, Any] = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                            "source": "from worldcereal_explorer import RdmExplorer\n\nRdmExplorer()"}
    notebook_json = {"cells": [cell], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                     "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    from .files import atomic_path

    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(notebook_json, indent=1))
    return target


def _wait_http(url: str, proc: subprocess.Popen | None, timeout_s: float) -> None:
    """Wait until ``url`` answers; fail early if ``proc`` (the process meant to serve it) exits."""
    from .server.net import wait_until_answering

    try:
        wait_until_answering(url, timeout_s=timeout_s, alive=None if proc is None else (lambda: proc.poll() is None),
                             poll_s=0.2, what="the dashboard server")
    except RuntimeError:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with code {proc.returncode}") from None
        raise


def cmd_demo(args: argparse.Namespace) -> int:
    from .server import serve_in_thread
    from .server.faults import failure_play_kwargs
    from .server.idp import serve_idp_in_thread
    from .server.tokens import JwtTokenValidator

    catalog = ensure_demo_catalog(Path(args.catalog) if args.catalog else None)
    # A local identity provider stands in for CDSE, so the private demo collection can be logged into.
    # A fixed port keeps the issuer URL (and so the user's cached demo login) stable across runs.
    idp = serve_idp_in_thread(port=args.idp_port, poll_interval_s=1.0)
    issuer = idp.issuer
    if issuer is None:  # a started provider always has one
        idp.stop()
        raise RuntimeError("the local identity provider did not report its URL")
    try:
        server = serve_in_thread(catalog, port=args.port, token_validator=JwtTokenValidator(issuer, idp.client_id),
                                 latency_s=args.latency, **failure_play_kwargs(args))
    except BaseException:
        idp.stop()
        raise
    env = {**os.environ, ENV_RDM_URL: server.url, ENV_LEGEND_URL: f"{server.url}/legend.csv",
           ENV_OIDC_ISSUER: issuer}
    notebook = dashboard_notebook()
    # Voila with the dashboard's settings (IOPub timeout, kernels shut down when their page closes)
    cmd = [sys.executable, "-m", "worldcereal_explorer.voila_setup", str(notebook), "--no-browser",
           f"--port={args.voila_port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"]
    proc = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{args.voila_port}/"
    try:
        # a static file, not the page: GET / would start a kernel and run the whole dashboard for nobody
        _wait_http(f"{url}voila/static/voila.js", proc, timeout_s=120)
        from .config import data_banner

        print(data_banner(server.url).text)
        print(f"Local RDM server (synthetic demo catalogue {catalog}): {server.url}")
        print(f"Local identity provider (approve demo logins here): {idp.issuer}")
        print(f"Dashboard: {url}", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.is_set() and proc.poll() is None:
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        server.stop()
        idp.stop()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .errors import WorldCerealExplorerError
    from .server import run_server
    from .server.faults import failure_play_kwargs

    catalog = Path(args.catalog_dir)
    if not (catalog / "catalog.json").is_file() and not any(catalog.glob("*/collection.json")):
        print(f"error: {catalog} is not a catalogue folder (no catalog.json or */collection.json)", file=sys.stderr)
        return 2
    try:
        run_server(catalog, port=args.port, latency_s=args.latency, **failure_play_kwargs(args))
    except WorldCerealExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_make_demo_catalog(args: argparse.Namespace) -> int:
    from .demo import make_demo_catalog

    path = make_demo_catalog(Path(args.dir), seed=args.seed)
    print(f"Synthetic demo catalogue written to {path}")
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    from .rdm.auth import DeviceCodeAuth

    auth = DeviceCodeAuth(issuer=args.issuer, client_id=args.client_id)
    auth.login()
    print(f"Logged in as {auth.username or 'unknown user'}; the session is cached for the client.")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    from .rdm.auth import DeviceCodeAuth

    DeviceCodeAuth(issuer=args.issuer, client_id=args.client_id).logout()
    print("Logged out; cached tokens removed.")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print every setting in force and where it came from (argument > environment > config file > default)."""
    from .config import ENV_CONFIG_FILE, SETTING_ENV_VARS, SETTING_NAMES, config_path, settings
    from .errors import WorldCerealExplorerError

    arguments = {name: getattr(args, name, None) for name in SETTING_NAMES}
    path = config_path()
    try:
        resolved = settings(**arguments)
    except WorldCerealExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"config_file": str(path), "config_file_exists": path.is_file(),
                          "settings": {n: {"value": s.value, "source": s.source, "detail": s.detail}
                                       for n, s in resolved.items()}}, indent=2))
        return 0
    print(f"config file: {path} ({'found' if path.is_file() else 'not found'}; ${ENV_CONFIG_FILE} picks another)")
    width = max(len(n) for n in SETTING_NAMES)
    for name, setting in resolved.items():
        where = setting.source
        if setting.source == "environment":
            where = f"${setting.detail}"
        print(f"  {name:<{width}}  {setting.value}   [{where}; env ${SETTING_ENV_VARS[name]}]")
    print("precedence: argument > environment variable > config file > default")
    return 0


def _add_server_arguments(parser: argparse.ArgumentParser, *, port: int, port_help: str) -> None:
    """The options of every command that runs the local RDM server: its port, its latency, its failure play."""
    from .server.faults import add_failure_play_arguments

    parser.add_argument("--port", type=int, default=port, help=port_help)
    parser.add_argument("--latency", type=float, default=0.0, help="extra seconds of delay per RDM request")
    add_failure_play_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    """The ``worldcereal-explorer`` argument parser with all its subcommands."""
    parser = argparse.ArgumentParser(prog="worldcereal-explorer", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the dashboard on the embedded demo (local RDM server, no network)")
    _add_server_arguments(demo, port=0, port_help="local RDM server port (default: a free port)")
    demo.add_argument("--voila-port", type=int, default=8866, help="dashboard port (default 8866)")
    demo.add_argument("--idp-port", type=int, default=8867, help="local identity provider port (default 8867)")
    demo.add_argument("--catalog", help="catalogue folder (default: the demo catalogue in the user cache)")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="serve a catalogue folder with the local RDM-compatible server")
    serve.add_argument("catalog_dir")
    _add_server_arguments(serve, port=8000, port_help="server port (default 8000)")
    serve.set_defaults(func=cmd_serve)

    make = sub.add_parser("make-demo-catalog", help="write the synthetic demo catalogue into DIR")
    make.add_argument("dir")
    make.add_argument("--seed", type=int, default=2024)
    make.set_defaults(func=cmd_make_demo_catalog)

    for name, func, text in [("login", cmd_login, "log in to the RDM (OIDC device flow: prints a link and a code)"),
                             ("logout", cmd_logout, "log out and remove the cached tokens")]:
        command = sub.add_parser(name, help=text)
        command.add_argument("--issuer", help="OIDC issuer (default: $WORLDCEREAL_OIDC_ISSUER, else CDSE)")
        command.add_argument("--client-id", help="OIDC client id (default: $WORLDCEREAL_OIDC_CLIENT_ID)")
        command.set_defaults(func=func)

    config = sub.add_parser("config", help="show the settings in force and where each comes from")
    config.add_argument("--endpoint", help="RDM API base URL")
    config.add_argument("--legend-source", dest="legend_source", help="legend CSV URL or path")
    config.add_argument("--min-quality-lc", dest="min_quality_lc", type=int, help="default LC quality threshold")
    config.add_argument("--min-quality-ct", dest="min_quality_ct", type=int, help="default CT quality threshold")
    config.add_argument("--token-cache", dest="token_cache", help="token cache file")
    config.add_argument("--json", action="store_true", help="print JSON")
    config.set_defaults(func=cmd_config)

    try:
        from .cli_samples import add_samples_command
    except ImportError:  # the samples command lives in its own module
        pass
    else:
        add_samples_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``worldcereal-explorer`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
