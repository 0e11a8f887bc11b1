"""Access rules and URL signatures as pure functions (no server)."""

from __future__ import annotations

import pytest

from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.server.access import (
    AccessDecision,
    AccessPolicy,
    Principal,
    SignatureError,
    UrlSigner,
    decide_access,
    may_see,
)

OWNER = Principal("owner-1", frozenset(), "Owner")
MEMBER = Principal("member-2", frozenset({"worldcereal-consortium"}))
STRANGER = Principal("stranger-3", frozenset({"other-group"}))

PUBLIC = AccessPolicy("Public")
PRIVATE = AccessPolicy("Private", owner="owner-1")
RESTRICTED = AccessPolicy("Restricted", owner="owner-1", groups=frozenset({"worldcereal-consortium"}))


@pytest.mark.parametrize(
    ("policy", "principal", "expected"),
    [
        (PUBLIC, None, AccessDecision.ALLOW),
        (PUBLIC, STRANGER, AccessDecision.ALLOW),
        (PRIVATE, None, AccessDecision.UNAUTHENTICATED),
        (PRIVATE, OWNER, AccessDecision.ALLOW),
        (PRIVATE, MEMBER, AccessDecision.NOT_FOUND),  # group membership does not open a private collection
        (PRIVATE, STRANGER, AccessDecision.NOT_FOUND),
        (RESTRICTED, None, AccessDecision.UNAUTHENTICATED),
        (RESTRICTED, OWNER, AccessDecision.ALLOW),
        (RESTRICTED, MEMBER, AccessDecision.ALLOW),
        (RESTRICTED, STRANGER, AccessDecision.NOT_FOUND),
    ],
)
def test_decide_access(policy, principal, expected):
    assert decide_access(policy, principal) is expected
    assert may_see(policy, principal) is (expected is AccessDecision.ALLOW)


def test_private_without_owner_is_seen_by_nobody():
    orphan = AccessPolicy("Private")
    assert decide_access(orphan, OWNER) is AccessDecision.NOT_FOUND
    assert decide_access(orphan, None) is AccessDecision.UNAUTHENTICATED


def test_policy_from_access_json():
    policy = AccessPolicy.from_json("Restricted", {"owner": "partner-user", "groups": ["worldcereal-consortium"]})
    assert policy.owner == "partner-user" and policy.groups == frozenset({"worldcereal-consortium"})
    assert AccessPolicy.from_json("Public", None) == PUBLIC
    single = AccessPolicy.from_json("Restricted", {"owner": "x", "groups": "one-group"})
    assert single.groups == frozenset({"one-group"})


def test_bad_policy_and_principal_values_are_named():
    with pytest.raises(BadParameterError, match="'Secret'.*allowed: Public, Private, Restricted"):
        AccessPolicy("Secret")
    with pytest.raises(BadParameterError, match="principal sub ''"):
        Principal("")
    assert Principal("a", {"g"}).groups == frozenset({"g"})  # any iterable of groups is frozen


def test_signed_url_round_trip_and_rejections():
    signer = UrlSigner(b"k" * 32, lifetime_s=900)
    path = "/files/private/2023_nld_privatedemo_poly_110/X.geoparquet"
    params = signer.sign(path, now=1_000_000)
    assert params["expires"] == str(1_000_900)
    signer.verify(path, params["expires"], params["sig"], now=1_000_899)

    with pytest.raises(SignatureError, match="expired"):
        signer.verify(path, params["expires"], params["sig"], now=1_000_901)
    with pytest.raises(SignatureError, match="does not match"):
        signer.verify(path.replace("X", "Y"), params["expires"], params["sig"], now=1_000_000)
    with pytest.raises(SignatureError, match="does not match"):  # a longer life cannot be granted by hand
        signer.verify(path, str(2_000_000), params["sig"], now=1_000_000)
    with pytest.raises(SignatureError, match="needs the 'expires' and 'sig'"):
        signer.verify(path, None, None)
    with pytest.raises(SignatureError, match="not a unix time"):
        signer.verify(path, "tomorrow", params["sig"])
    with pytest.raises(SignatureError, match="does not match"):  # another key's signature
        UrlSigner(b"j" * 32).verify(path, params["expires"], params["sig"], now=1_000_000)


def test_signer_arguments():
    assert UrlSigner("text key").sign("/p")["sig"] != UrlSigner("other key").sign("/p")["sig"]
    with pytest.raises(BadParameterError, match="empty"):
        UrlSigner(b"")
    with pytest.raises(BadParameterError, match="lifetime 0"):
        UrlSigner(lifetime_s=0)
