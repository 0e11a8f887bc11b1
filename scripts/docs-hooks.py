"""MkDocs hooks for the documentation site (mkdocs.yml ``hooks:``).

``<!-- cli-help -->`` in a page becomes the ``--help`` text of ``worldcereal-explorer`` and of each of its
subcommands, taken from the argument parser at build time, so the CLI reference never drifts from the code.
"""

from __future__ import annotations

import argparse
import os

MARKER = "<!-- cli-help -->"


def _help_text(parser: argparse.ArgumentParser) -> str:
    return parser.format_help().rstrip()


def cli_help_markdown() -> str:
    """Markdown with the main ``--help`` and one section per subcommand, in the parser's order."""
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal's width: the same width on every machine
    from worldcereal_explorer.cli import build_parser

    parser = build_parser()
    parts = ["```text", f"$ worldcereal-explorer --help\n{_help_text(parser)}", "```"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                parts += ["", f"### `worldcereal-explorer {name}`", "", "```text",
                          f"$ worldcereal-explorer {name} --help\n{_help_text(sub)}", "```"]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 (MkDocs' hook signature)
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, cli_help_markdown())
    return markdown
