"""The Python code that fetches, with this package, the samples an
:class:`~worldcereal_explorer.state.RdmQueryState` fetches: the dashboard's "code" tab, to paste into a
notebook or a script.

The query part is :meth:`RdmQuery.to_code <worldcereal_explorer.rdm.query.RdmQuery.to_code>`; this module adds
the client for the state's endpoint, the collections the fetch reads and the crop groups (the ``label`` and
``new_label`` columns of :meth:`RdmClient.label_samples <worldcereal_explorer.rdm.client_samples.SamplesMixin.label_samples>`).
"""

from __future__ import annotations

from typing import Any

from .serialize import shareable_query
from .services import fetch_ids

__all__ = ["state_to_code"]


def state_to_code(state: Any) -> str:
    """Python that fetches, with this package, the samples :meth:`RdmQueryState.fetch_samples` fetches.

    The code names the collections explicitly (the selected ones, else the ones the current search
    found: :func:`~worldcereal_explorer.state.services.fetch_ids`), so it reads the same collections even if
    the RDM gains new ones later. An input that is invalid (a half-typed bbox) is left out.

    Returns
    -------
    str
        A self-contained snippet ready to paste into a notebook or a script.
    """
    query, _invalid = shareable_query(state)
    query = query.replace(selected_ids=fetch_ids(query.selected_ids, list(state.collections)))
    endpoint = state.client_endpoint
    # to_code opens with its import line and a blank line; the client goes between them and the query
    imports, _, body = query.to_code("client").partition("\n\n")
    lines = ["from worldcereal_explorer import RdmClient", imports, "", f"client = RdmClient({endpoint!r})"]
    if query.include_private or query.include_restricted:
        lines.append("# private and restricted collections need a login: `worldcereal-explorer login` first")
    lines.append(body.rstrip("\n"))
    groups = {int(k): str(v) for k, v in state.grouping.items()}
    # the dashboard's label / new_label columns, made the same way: a class no group names keeps its own
    # label (mapping only the grouped codes left every other sample without a new_label)
    if groups:
        lines += ["", "# your crop groups: new_label per ewoc code; every other class keeps its own label",
                  f"grouping = {groups!r}",
                  "samples = client.label_samples(samples, grouping=grouping)"]
    else:
        lines += ["", "# label and new_label, as the dashboard shows them",
                  "samples = client.label_samples(samples)"]
    return "\n".join(lines) + "\n"
