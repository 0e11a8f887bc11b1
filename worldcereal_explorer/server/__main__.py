"""``python -m worldcereal_explorer.server CATALOG [--port 8000]``: serve a catalogue folder."""

from __future__ import annotations

import argparse
import sys

from ..errors import WorldCerealExplorerError
from .app import run_server
from .faults import add_failure_play_arguments, failure_play_kwargs


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve until interrupted; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m worldcereal_explorer.server",
        description="Serve a catalogue folder with the WorldCereal RDM API on this machine.",
    )
    parser.add_argument("catalog", help="catalogue folder (make one with `worldcereal-explorer make-demo-catalog DIR`)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1, this machine only)")
    parser.add_argument("--latency", type=float, default=0.0, help="extra seconds of delay per request")
    parser.add_argument("--public-base-url", default=None,
                        help="base of the file URLs handed out (default: the URL each request was sent to)")
    add_failure_play_arguments(parser)
    args = parser.parse_args(argv)
    try:
        run_server(args.catalog, port=args.port, host=args.host, latency_s=args.latency,
                   public_base_url=args.public_base_url, **failure_play_kwargs(args))
    except WorldCerealExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
