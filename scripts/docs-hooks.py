"""MkDocs hooks for the documentation site (mkdocs.yml ``hooks:``).

``<!-- cli-help -->`` in a page becomes the ``--help`` text of ``worldcereal-explorer`` and of each of its
subcommands, taken from the argument parser at build time, so the CLI reference never drifts from the code;
``<!-- config-settings -->`` becomes a table of every config-file setting and its environment variable.
Pages that other work may add later (``OPTIONAL_PAGES``) join the navigation once their file exists, so the
strict build neither breaks on a nav entry without a file nor on a file without a nav entry.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

MARKER = "<!-- cli-help -->"
#: page -> (nav section, title, the entry it follows in that section)
OPTIONAL_PAGES = {
    "serving.md": ("How-to", "Serving the dashboard to several people", "how-to/dashboard.md"),
}
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


def _nav_files(nav) -> set[str]:
    files: set[str] = set()
    for item in nav or []:
        values = item.values() if isinstance(item, dict) else [item]
        for value in values:
            if isinstance(value, list):
                files |= _nav_files(value)
            elif isinstance(value, str):
                files.add(value)
    return files


def on_config(config):
    """Add each of ``OPTIONAL_PAGES`` whose file exists (and is not in the nav yet) to its nav section."""
    docs_dir = Path(config["docs_dir"])
    present = _nav_files(config["nav"])
    for page, (section, title, after) in OPTIONAL_PAGES.items():
        if page in present or not (docs_dir / page).is_file():
            continue
        for item in config["nav"]:
            if isinstance(item, dict) and isinstance(item.get(section), list):
                entries = item[section]
                index = next((i + 1 for i, e in enumerate(entries) if isinstance(e, dict) and after in e.values()),
                             len(entries))
                entries.insert(index, {title: page})
                break
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 (MkDocs' hook signature)
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, cli_help_markdown())
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_markdown())
    return markdown
