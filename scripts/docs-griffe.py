"""A griffe extension for the API reference (mkdocs.yml, mkdocstrings ``extensions:``).

The package's docstrings are numpy style with Sphinx roles (:class:`~worldcereal_explorer.state.RdmQueryState`),
which Markdown would show verbatim. Each role becomes inline code naming the object (its last component for a
``~`` target, as Sphinx shows it), and a reST ``::`` that ends a paragraph before a literal block becomes ``:``.
The docstrings themselves are not changed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")
LITERAL_INTRO = re.compile(r"(?<=\S)::[ \t]*$", re.M)


def _role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    text = re.match(r"(.*?)\s*<(.+)>$", target)
    if text:
        return f"`{text.group(1)}`"
    target = target.lstrip(".")
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def convert(text: str) -> str:
    """The docstring text with Sphinx roles as inline code and literal-block ``::`` as ``:``."""
    return LITERAL_INTRO.sub(":", ROLE.sub(_role, text))


class SphinxRolesToMarkdown(griffe.Extension):
    """Rewrite each loaded object's docstring for Markdown (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:  # noqa: ARG002 (griffe's signature)
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
