"""Property-based conformance of the local RDM server to its own OpenAPI document (schemathesis).

Every operation of ``/openapi.json`` is called over real HTTP with bounded, derandomised examples, and
each answer must be no server error, have a documented status code, a documented content type and the
documented headers. This is what keeps the published API description honest.

The operations are driven with Hypothesis directly (``operation.as_strategy()``) rather than through
schemathesis' lazy pytest loader, which does not run under pytest 9 (``Function._nodeid``).
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402  (after the importorskip)
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance]
#: Examples per operation: enough to hit every documented answer, small enough for ~13 operations in < 60 s.
MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def rdm_openapi(rdm_server):
    """The schema as the server publishes it, loaded over HTTP from the session's server."""
    return schemathesis.openapi.from_url(f"{rdm_server.url}/openapi.json")


def test_every_operation_answers_as_documented(rdm_openapi, rdm_server):
    operations = [result.ok() for result in rdm_openapi.get_all_operations()]
    assert len(operations) >= 12, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(base_url=rdm_server.url, checks=CHECKS, timeout=30)

        try:
            check()
        except Exception as exc:
            raise AssertionError(f"{operation.label}: {exc}") from exc
