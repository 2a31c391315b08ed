"""Discovery: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2. Only what works is advertised."""

from __future__ import annotations

from typing import Any

from resonite_auth.config import Settings
from resonite_auth.oauth.scopes import KNOWN_SCOPES

AUTHORIZE_PATH = "/connect/authorize"
TOKEN_PATH = "/connect/token"
USERINFO_PATH = "/connect/userinfo"
JWKS_PATH = "/.well-known/openid-configuration/jwks"
PROFILE_PATH = "/api/user/profiles"
END_SESSION_PATH = "/connect/endsession"

TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
GRANT_TYPES = ("authorization_code", "refresh_token")


def discovery_document(settings: Settings) -> dict[str, Any]:
    return {
        "issuer": settings.issuer,
        "authorization_endpoint": settings.url(AUTHORIZE_PATH),
        "token_endpoint": settings.url(TOKEN_PATH),
        "userinfo_endpoint": settings.url(USERINFO_PATH),
        "jwks_uri": settings.url(JWKS_PATH),
        "end_session_endpoint": settings.url(END_SESSION_PATH),
        "scopes_supported": list(KNOWN_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "amr",
            "preferred_username",
            "picture",
            "email",
            "email_verified",
        ],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
    }
