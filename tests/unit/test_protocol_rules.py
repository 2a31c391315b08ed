"""Pure protocol rules: scopes, PKCE, parameters, request validation, redirects."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resonite_auth.domain.clients import Client, ClientStatus
from resonite_auth.errors import (
    InvalidRequest,
    InvalidScope,
    UnsupportedResponseType,
    UnverifiedRedirect,
)
from resonite_auth.oauth import pkce
from resonite_auth.oauth.authorization_request import redirect_with, require_redirect_uri, validate
from resonite_auth.oauth.params import Params
from resonite_auth.oauth.scopes import KNOWN_SCOPES, describe, parse_scope

CLIENT = Client(
    client_id="c1",
    name="App",
    status=ClientStatus.APPROVED,
    is_public=True,
    redirect_uris=["https://app.example/cb"],
    allowed_scopes=["openid", "profile"],
    owner_id=None,
    created_at=datetime.now(UTC),
)


def test_parse_scope_orders_and_deduplicates() -> None:
    assert parse_scope("profile openid profile") == ["openid", "profile"]
    for bad in (None, "", "  ", "openid  profile", "openid nope"):
        with pytest.raises(InvalidScope):
            parse_scope(bad)


def test_every_scope_reads_in_plain_words() -> None:
    for info in describe(list(KNOWN_SCOPES)):
        assert info.title and info.description and "_" not in info.title


@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
        min_size=43,
        max_size=128,
    )
)
def test_pkce_s256_round_trip(verifier: str) -> None:
    challenge = pkce.s256(verifier)
    assert pkce.is_valid_challenge(challenge)
    assert pkce.verify(verifier, challenge)
    assert not pkce.verify(verifier + "x" if len(verifier) < 128 else verifier[:-1], challenge)


def test_pkce_matches_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce.s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    expected = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    assert pkce.s256(verifier) == expected
    assert not pkce.verify("short", pkce.s256(verifier))


def test_params_refuse_repeats_and_treat_empty_as_absent() -> None:
    params = Params([("a", "1"), ("a", "2"), ("b", "")])
    with pytest.raises(InvalidRequest):
        params.get("a")
    assert params.get("b") is None
    with pytest.raises(InvalidRequest):
        params.require("b")


def request_params(**overrides: str) -> Params:
    values = {
        "response_type": "code",
        "client_id": "c1",
        "redirect_uri": "https://app.example/cb",
        "scope": "openid",
        "code_challenge": pkce.s256("a" * 43),
        "code_challenge_method": "S256",
    }
    values.update(overrides)
    return Params((k, v) for k, v in values.items() if v != "-")


def test_validate_accepts_a_good_request() -> None:
    request = validate(
        request_params(prompt="login consent", max_age="0", nonce="n"),
        CLIENT,
        "https://app.example/cb",
    )
    assert request.scopes == ["openid"]
    assert request.prompt == ["consent", "login"]
    assert request.max_age == 0


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, UnsupportedResponseType),
        ({"scope": "profile email"}, InvalidScope),
        ({"code_challenge": "-", "code_challenge_method": "-"}, InvalidRequest),
        ({"code_challenge_method": "plain"}, InvalidRequest),
        ({"max_age": "1e3"}, InvalidRequest),
        ({"prompt": "none consent"}, InvalidRequest),
    ],
)
def test_validate_rejects(overrides: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        validate(request_params(**overrides), CLIENT, "https://app.example/cb")


def test_redirect_uri_must_match_exactly() -> None:
    assert require_redirect_uri(request_params(), CLIENT) == "https://app.example/cb"
    for other in ("https://app.example/cb/", "https://APP.example/cb", "https://app.example/cb?x"):
        with pytest.raises(UnverifiedRedirect):
            require_redirect_uri(request_params(redirect_uri=other), CLIENT)


def test_redirect_with_keeps_existing_query_and_drops_none() -> None:
    url = redirect_with("https://app.example/cb?tenant=a", {"code": "c d", "state": None})
    assert url == "https://app.example/cb?tenant=a&code=c+d"
