"""MkDocs hooks for the documentation site (mkdocs.yml ``hooks:``).

``<!-- cli-help -->`` in a page becomes the ``--help`` text of ``worldcereal-explorer`` and of each of its
subcommands, taken from the argument parser at build time, so the CLI reference never drifts from the code;
``<!-- config-settings -->`` becomes a table of every config-file setting and its environment variable.
"""

from __future__ import annotations

import argparse
import os

MARKER = "<!-- cli-help -->"
SETTINGS_MARKER = "<!-- config-settings -->"


def _help_text(parser: argparse.ArgumentParser) -> str:
    return parser.format_help().rstrip()


def cli_help_markdown() -> str:
    """Markdown with the main ``--help`` and one section per subcommand, in the parser's order."""
    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal's width: the same width on every machine
    from worldcereal_explorer.cli import build_parser

    parser = build_parser()
    parts = ["```text", f"$ worldcereal-explorer --help\n{_help_text(parser)}", "```"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                parts += ["", f"### `worldcereal-explorer {name}`", "", "```text",
                          f"$ worldcereal-explorer {name} --help\n{_help_text(sub)}", "```"]
    return "\n".join(parts)


def settings_markdown() -> str:
    """A Markdown table: each setting of the config file and the environment variable that overrides it."""
    from worldcereal_explorer.config import SETTING_ENV_VARS, SETTING_NAMES

    rows = ["| config file key | environment variable |", "|---|---|"]
    rows += [f"| `{name}` | `{SETTING_ENV_VARS[name]}` |" for name in SETTING_NAMES]
    return "\n".join(rows)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 (MkDocs' hook signature)
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, cli_help_markdown())
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_markdown())
    return markdown
