"""Discovery: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2. Only what works is advertised."""

from __future__ import annotations

from typing import Any

from resonite_auth.config import Settings
from resonite_auth.oauth.scopes import KNOWN_SCOPES
from resonite_auth.security.keys import SUPPORTED_ALGS

AUTHORIZE_PATH = "/connect/authorize"
TOKEN_PATH = "/connect/token"
USERINFO_PATH = "/connect/userinfo"
JWKS_PATH = "/.well-known/openid-configuration/jwks"
PROFILE_PATH = "/api/user/profiles"
DEVICE_AUTHORIZATION_PATH = "/connect/deviceauthorization"
REVOCATION_PATH = "/connect/revocation"
INTROSPECTION_PATH = "/connect/introspect"
END_SESSION_PATH = "/connect/endsession"

TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
# RFC 7662 §2.1: introspection needs a client that can authenticate, so `none` is not offered.
INTROSPECTION_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
# RFC 7523 client assertions are checked with these (services.client_assertion.ALGS).
ASSERTION_ALGS = ("RS256", "ES256", "EdDSA")
GRANT_TYPES = (
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
)


def discovery_document(settings: Settings) -> dict[str, Any]:
    return {
        "issuer": settings.issuer,
        "authorization_endpoint": settings.url(AUTHORIZE_PATH),
        "token_endpoint": settings.url(TOKEN_PATH),
        "userinfo_endpoint": settings.url(USERINFO_PATH),
        "jwks_uri": settings.url(JWKS_PATH),
        "device_authorization_endpoint": settings.url(DEVICE_AUTHORIZATION_PATH),
        "end_session_endpoint": settings.url(END_SESSION_PATH),
        "scopes_supported": list(KNOWN_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        # RS256 signs by default; a client may choose ES256 or EdDSA (OIDC Registration §2).
        "id_token_signing_alg_values_supported": list(SUPPORTED_ALGS),
        "token_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "revocation_endpoint": settings.url(REVOCATION_PATH),
        "revocation_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "introspection_endpoint": settings.url(INTROSPECTION_PATH),
        "introspection_endpoint_auth_methods_supported": list(INTROSPECTION_AUTH_METHODS),
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
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
