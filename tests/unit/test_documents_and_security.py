"""The profile document, ID token hashes, passwords, client credentials and settings."""

from __future__ import annotations

import asyncio
import base64
import threading
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError

from resonite_auth.config import Settings
from resonite_auth.domain.accounts import Account, ProfileDetails, SupporterEntry
from resonite_auth.errors import InvalidClient, InvalidRequest, ValidationFailed
from resonite_auth.oauth.id_token import left_half_hash
from resonite_auth.oauth.params import Params
from resonite_auth.oauth.profile import icon_http_url, profile_document, userinfo_claims
from resonite_auth.security.passwords import Passwords
from resonite_auth.services.clients import check_redirect_uri, read_credentials

NOW = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
ACCOUNT = Account(
    id="U-abc",
    username="Alice",
    normalized_username="alice",
    email="alice@example.com",
    email_verified=True,
    registration_date=NOW,
    is_verified=True,
    is_locked=False,
    supress_ban_evasion=False,
    two_factor_enabled=False,
    is_admin=True,
    tags=["early"],
    profile=ProfileDetails(icon_url="resdb:///abc123.webp", tagline="hi"),
    is_active_supporter=True,
    supporter_metadata=[SupporterEntry(True, 3, 1500, 500, 500, 500, NOW, NOW)],
)


def test_profile_document_fields_by_scope() -> None:
    base = profile_document(ACCOUNT, ["profile"])
    assert base["registrationDate"] == "2024-05-01T12:30:00.000Z"
    assert base["2fa_login"] is False and base["supressBanEvasion"] is False
    assert base["profile"]["iconUrl"] == "resdb:///abc123.webp"
    assert "email" not in base and "isActiveSupporter" not in base and "isAdmin" not in base
    full = profile_document(ACCOUNT, ["profile", "email", "patreon"])
    assert full["email"] == "alice@example.com"
    entry = full["supporterMetadata"][0]
    assert entry["$type"] == "patreon" and entry["totalSupportCents"] == 1500
    assert entry["firstSupportTimestamp"] == "2024-05-01T12:30:00.000Z"


def test_userinfo_and_icon_urls() -> None:
    claims = userinfo_claims(ACCOUNT, ["openid", "profile"], "https://assets.example/")
    assert claims == {
        "sub": "U-abc",
        "preferred_username": "Alice",
        "name": "Alice",
        "picture": "https://assets.example/abc123.webp",
    }
    assert userinfo_claims(ACCOUNT, ["openid"], "https://a")["sub"] == "U-abc"
    assert icon_http_url("https://elsewhere/x.png", "https://a") is None
    assert icon_http_url("resdb:///a/b.webp", "https://a") is None


def test_at_hash_matches_oidc_example() -> None:
    # OpenID Connect Core, Appendix A.3/A.4 example access token and its at_hash.
    assert (
        left_half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "RS256")
        == "77QmUPtjPfzWtF2AnpK9RQ"
    )


async def test_passwords_verify_and_dummy() -> None:
    passwords = Passwords()
    stored = await passwords.hash("s3cret password")
    assert stored.startswith("$argon2id$")
    assert await passwords.verify(stored, "s3cret password")
    assert not await passwords.verify(stored, "wrong")
    assert not await passwords.verify(None, "s3cret password")
    assert not await passwords.verify("not a hash", "x")


class OverlapCountingHasher(PasswordHasher):
    """A real (small) argon2id hasher that records how many hashes ran at once; two running
    hashes meet at a barrier, so the test proves two may run together."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8192, parallelism=1)
        self.pair = threading.Barrier(2, timeout=10)
        self.lock = threading.Lock()
        self.running = self.most = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.pair.wait()
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.running -= 1


async def test_password_hashes_run_at_most_the_configured_number_at_once() -> None:
    hasher = OverlapCountingHasher()
    passwords = Passwords(hasher, concurrency=2)
    stored = hasher.hash("s3cret password")
    results = await asyncio.gather(*(passwords.verify(stored, "s3cret password") for _ in range(6)))
    assert results == [True] * 6
    assert hasher.most == 2  # the sign-ins beyond two waited for a free slot


def test_password_hash_concurrency_must_allow_one() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Passwords(concurrency=0)
    with pytest.raises(ValidationError):
        Settings(password_hash_concurrency=0)
    assert Settings().password_hash_concurrency == 2


def basic(value: bytes) -> str:
    return "Basic " + base64.b64encode(value).decode()


def test_client_credentials_parsing() -> None:
    creds = read_credentials(Params([]), basic(b"my%20client:p%40ss"))
    assert (creds.client_id, creds.secret, creds.method) == (
        "my client",
        "p@ss",
        "client_secret_basic",
    )
    creds = read_credentials(Params([("client_id", "c"), ("client_secret", "s")]), None)
    assert creds.method == "client_secret_post"
    assert read_credentials(Params([("client_id", "c")]), None).method == "none"
    with pytest.raises(InvalidRequest):
        read_credentials(Params([("client_secret", "s")]), basic(b"c:s"))
    with pytest.raises(InvalidRequest):
        read_credentials(Params([("client_id", "other")]), basic(b"c:s"))
    with pytest.raises(InvalidClient):
        read_credentials(Params([]), None)
    with pytest.raises(InvalidClient):
        read_credentials(Params([]), "Basic %%%")


@pytest.mark.parametrize(
    "uri",
    [
        "ftp://x/cb",
        "/relative",
        "https://app.example/cb#frag",
        "https://*.example/cb",
        "http://app.example/cb",
    ],
)
def test_redirect_uri_rules(uri: str) -> None:
    with pytest.raises(ValidationFailed):
        check_redirect_uri(uri)


def test_redirect_uri_allowed() -> None:
    check_redirect_uri("https://app.example/cb")
    check_redirect_uri("http://127.0.0.1:8081/cb")
    check_redirect_uri("http://localhost/cb")


def test_settings_issuer_and_cookie_defaults() -> None:
    assert Settings(issuer="http://127.0.0.1:8080/").issuer == "http://127.0.0.1:8080"
    assert Settings(issuer="http://127.0.0.1:8080").secure_cookies is False
    assert Settings(issuer="https://auth.example").secure_cookies is True
    for bad in ("auth.example", "https://auth.example/?x=1", "ftp://auth.example"):
        with pytest.raises(ValidationError):
            Settings(issuer=bad)
