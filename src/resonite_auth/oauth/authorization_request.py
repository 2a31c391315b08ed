"""Validation of an authorization request (RFC 6749 §4.1.1, RFC 7636, OIDC Core §3.1.2.1).

Order matters: the client and redirect URI are checked first, and until both are verified an
error is shown as a page, never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from resonite_auth.domain.clients import Client
from resonite_auth.errors import (
    InvalidRequest,
    InvalidScope,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnsupportedResponseType,
    UnverifiedRedirect,
)
from resonite_auth.oauth import pkce
from resonite_auth.oauth.params import Params
from resonite_auth.oauth.scopes import parse_scope

PROMPTS = frozenset({"none", "login", "consent"})
MAX_STATE = 2048
MAX_NONCE = 512


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    prompt: list[str] = field(default_factory=list)
    max_age: int | None = None
    login_hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuthorizationRequest:
        return cls(**data)


def require_client_id(params: Params) -> str:
    client_id = params.raw("client_id")
    if params.is_repeated("client_id") or not client_id:
        raise UnverifiedRedirect(
            "Unknown application", "The request does not say which application is asking."
        )
    return client_id


def require_redirect_uri(params: Params, client: Client) -> str:
    """RFC 9700 §4.1.3: exact string match against a registered URI; no defaults, no patterns."""
    redirect_uri = params.raw("redirect_uri")
    if params.is_repeated("redirect_uri") or not redirect_uri:
        raise UnverifiedRedirect(
            "Missing redirect address", "The request does not say where to return afterwards."
        )
    if redirect_uri not in client.redirect_uris:
        raise UnverifiedRedirect(
            "Unregistered redirect address",
            f"{client.name} asked to return to an address it has not registered. "
            "For your safety, you will not be sent there.",
        )
    return redirect_uri


def validate(params: Params, client: Client, redirect_uri: str) -> AuthorizationRequest:
    """Everything after the client and redirect URI; errors here are redirected to the client."""
    if params.get("request") is not None:
        raise RequestNotSupported("Request objects are not supported.")
    if params.get("request_uri") is not None:
        raise RequestUriNotSupported("request_uri is not supported.")
    response_type = params.get("response_type")
    if response_type is None:
        raise InvalidRequest("The response_type parameter is missing.")
    if response_type != "code":
        raise UnsupportedResponseType("Only response_type=code is supported.")
    response_mode = params.get("response_mode")
    if response_mode not in (None, "query"):
        raise InvalidRequest("Only response_mode=query is supported.")
    params.check_no_repeats()

    scopes = parse_scope(params.get("scope"))
    not_allowed = [scope for scope in scopes if scope not in client.allowed_scopes]
    if not_allowed:
        raise InvalidScope(f"This application may not ask for: {' '.join(not_allowed)}.")

    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=_bounded(params.get("state"), "state", MAX_STATE),
        nonce=_bounded(params.get("nonce"), "nonce", MAX_NONCE),
        code_challenge=_code_challenge(params, client),
        prompt=_prompt(params.get("prompt")),
        max_age=_max_age(params.get("max_age")),
        login_hint=_bounded(params.get("login_hint"), "login_hint", 256),
    )


def _bounded(value: str | None, name: str, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise InvalidRequest(f"The {name} parameter is longer than {limit} characters.")
    return value


def _code_challenge(params: Params, client: Client) -> str | None:
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method was sent without a code_challenge.")
        if client.is_public:
            # OAuth 2.1 §4.1.1 and RFC 9700 §2.1.1: public clients must use PKCE.
            raise InvalidRequest("This application must use PKCE (code_challenge with S256).")
        return None
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256; plain is not accepted.")
    if not pkce.is_valid_challenge(challenge):
        raise InvalidRequest("code_challenge is not a valid S256 challenge.")
    return challenge


def _prompt(value: str | None) -> list[str]:
    if value is None:
        return []
    prompts = value.split(" ")
    if any(p not in PROMPTS for p in prompts):
        raise InvalidRequest("prompt may only contain none, login and consent.")
    if "none" in prompts and len(prompts) > 1:
        # OIDC Core §3.1.2.1: none must not be combined with another value.
        raise InvalidRequest("prompt=none cannot be combined with other values.")
    return sorted(set(prompts))


def _max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        raise InvalidRequest("max_age must be a non-negative number of seconds.")
    return int(value)


def redirect_with(redirect_uri: str, values: dict[str, str | None]) -> str:
    """`redirect_uri` with `values` added to its query, keeping what it already has (§3.1.2)."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((key, value) for key, value in values.items() if value is not None)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def error_redirect(redirect_uri: str, error: OAuthError, *, state: str | None, issuer: str) -> str:
    return redirect_with(
        redirect_uri,
        {
            "error": error.error,
            "error_description": error.description,
            "state": state,
            "iss": issuer,  # RFC 9207 §2
        },
    )
