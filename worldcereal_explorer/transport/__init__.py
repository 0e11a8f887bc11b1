"""The one HTTP layer, below everything that talks to a server: sessions, retries, timeouts, deadlines,
cancellation, body caps and redaction.

It knows nothing of the RDM: the client (:mod:`worldcereal_explorer.rdm`), the legend loader
(:mod:`worldcereal_explorer.legend`), downloads, range reads, the identity provider's calls and Dask workers all
build their requests on :class:`~.http.HttpTransport`. Modules: :mod:`.http` (the transport and its
responses), :mod:`.http_policy` (its limits), :mod:`.http_scoped` (urllib3 answering to a call's scope),
:mod:`.scopes` (call scopes and the watcher that enforces them), :mod:`.redaction` (secrets out of text
and logs).

The layer used to live in :mod:`worldcereal_explorer.rdm` (``rdm/http.py`` and its siblings, which still
re-export it): it moved here because the legend downloads through it while the client imports the legend,
so imports now only point down.
"""
