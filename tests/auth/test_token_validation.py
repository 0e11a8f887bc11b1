"""Bearer tokens the local RDM server must refuse: expired, tampered, wrong issuer, wrong audience,
``alg=none``, HS256 signed with the public key, unknown key, ID token. Each is checked against the
validator directly and over HTTP (401 from the RDM server, and the answer does not echo the token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
import requests

from tests.auth.helpers import assert_no_secret
from worldcereal_explorer.errors import AuthenticationError, BadParameterError
from worldcereal_explorer.server.access import Principal
from worldcereal_explorer.server.tokens import InvalidTokenError, JwtTokenValidator


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(idp, **overrides):
    now = int(time.time())
    claims = {
        "iss": idp.issuer, "sub": "demo-user", "aud": idp.client_id, "azp": idp.client_id,
        "iat": now, "exp": now + 300, "groups": [], "preferred_username": "demo-user", "typ": "Bearer",
    }
    claims.update(overrides)
    return claims


def _tampered(token: str, **changes) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return ".".join([header, _b64(json.dumps(claims).encode()), signature])


def _alg_none(idp) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(_claims(idp)).encode())}."


def _hs256_with_public_key(idp) -> str:
    # The classic confusion: HMAC-sign with the provider's *public* key as the shared secret.
    from joserfc.jwk import RSAKey

    jwk = idp.jwks()["keys"][0]
    public_pem = RSAKey.import_key(jwk).as_pem(private=False)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}).encode())
    payload = _b64(json.dumps(_claims(idp)).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


BAD_TOKENS = {
    "expired": (lambda idp: idp.issue_tokens("demo-user", access_token_lifetime_s=-3600)["access_token"], "expired"),
    "tampered": (lambda idp: _tampered(idp.issue_tokens("other-user")["access_token"], sub="demo-user"),
                 "signature"),
    "wrong issuer": (lambda idp: idp.sign(_claims(idp, iss="https://evil.example/realms/x")), "issuer"),
    "wrong audience": (lambda idp: idp.sign(_claims(idp, aud="other-client", azp="other-client")), "audience"),
    "alg=none": (_alg_none, "algorithm 'none' is not allowed"),
    "HS256 with public key": (_hs256_with_public_key, "algorithm 'HS256' is not allowed"),
    "unknown key id": (lambda idp: idp.sign(_claims(idp), header={"kid": "not-a-key"}), "unknown key id"),
    "ID token": (lambda idp: idp.issue_tokens("demo-user")["id_token"], "ID token"),
    "not a JWT": (lambda idp: "opaque-token-value", "not a JWT"),
    "no exp": (lambda idp: idp.sign({k: v for k, v in _claims(idp).items() if k != "exp"}), "claim 'exp'"),
}


def test_valid_token_gives_principal(idp, validator_for):
    token = idp.issue_tokens("partner-user", groups=["/worldcereal-consortium"], name="Partner")["access_token"]
    principal = validator_for(idp)(token)
    assert principal == Principal(sub="partner-user", groups=frozenset({"worldcereal-consortium"}),
                                  name="partner-user")


def test_audience_in_azp_only_is_accepted(idp, validator_for):
    # Keycloak access tokens often carry aud="account" and the client in azp.
    token = idp.sign(_claims(idp, aud="account"))
    assert validator_for(idp)(token).sub == "demo-user"


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_validator_rejects(case, idp, validator_for):
    make, expected = BAD_TOKENS[case]
    token = make(idp)
    with pytest.raises(InvalidTokenError, match=expected) as info:
        validator_for(idp)(token)
    assert isinstance(info.value, AuthenticationError) and info.value.status == 401
    assert_no_secret([token], str(info.value), repr(info.value), where="the rejection message")


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_rdm_server_answers_401(case, idp, rdm_for, demo_access):
    rdm = rdm_for(idp)
    make, expected = BAD_TOKENS[case]
    token = make(idp)
    response = requests.get(
        f"{rdm.url}/collections/{demo_access['private']}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 401
    assert "invalid_token" in response.headers.get("WWW-Authenticate", "")
    assert expected.lower() in response.text.lower()
    assert_no_secret([token], response.text, dict(response.headers), where="the RDM server's 401 answer")


def test_good_token_passes_the_same_server(idp, rdm_for, demo_access):
    rdm = rdm_for(idp)
    token = idp.issue_tokens(demo_access["private_owner"])["access_token"]
    response = requests.get(
        f"{rdm.url}/collections/{demo_access['private']}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200


def test_jwks_is_cached_and_refetched_for_new_key(idp, validator_for):
    validator = validator_for(idp)
    validator(idp.issue_tokens("a")["access_token"])
    validator(idp.issue_tokens("b")["access_token"])
    assert validator.jwks_fetches == 1  # cached
    idp.rotate_signing_key()
    assert validator(idp.issue_tokens("c")["access_token"]).sub == "c"
    assert validator.jwks_fetches == 2  # unknown kid -> refetched once


def test_unknown_kid_refetch_is_rate_limited(idp):
    validator = JwtTokenValidator(idp.issuer, idp.client_id, jwks_refetch_interval_s=3600)
    validator(idp.issue_tokens("a")["access_token"])
    for _ in range(5):
        with pytest.raises(InvalidTokenError, match="unknown key id"):
            validator(idp.sign(_claims(idp), header={"kid": "forged"}))
    assert validator.jwks_fetches == 1


def test_static_jwks(idp):
    validator = JwtTokenValidator(idp.issuer, idp.client_id, jwks=idp.jwks())
    assert validator(idp.issue_tokens("x")["access_token"]).sub == "x"
    assert validator.jwks_fetches == 0


def test_symmetric_algorithms_cannot_be_configured(idp):
    with pytest.raises(BadParameterError, match="HS256"):
        JwtTokenValidator(idp.issuer, idp.client_id, algorithms=["RS256", "HS256"])
    with pytest.raises(BadParameterError, match="audience"):
        JwtTokenValidator(idp.issuer, "")


def test_userinfo_endpoint(idp):
    token = idp.issue_tokens("demo-user", groups=["g"], name="Demo User")["access_token"]
    info = requests.get(f"{idp.issuer}/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert info.status_code == 200
    assert info.json() == {"sub": "demo-user", "name": "Demo User", "preferred_username": "demo-user",
                           "groups": ["g"]}
    bad = requests.get(f"{idp.issuer}/userinfo", headers={"Authorization": f"Bearer {_alg_none(idp)}"}, timeout=10)
    assert bad.status_code == 401
