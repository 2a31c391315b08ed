"""Per-client token options and their validation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from resonite_auth.domain.clients import Client
from resonite_auth.errors import ValidationFailed
from resonite_auth.oauth.access_token import FORMATS
from resonite_auth.security.keys import SUPPORTED_ALGS

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


@dataclass(frozen=True, slots=True)
class ClientOptions:
    is_resource_server: bool = False
    access_token_format: str = "opaque"
    id_token_signed_response_alg: str = "RS256"
    jwks: dict[str, Any] | None = None
    allow_device_grant: bool = False  # RFC 8628, granted at review

    @classmethod
    def of(cls, client: Client) -> ClientOptions:
        return cls(
            is_resource_server=client.is_resource_server,
            access_token_format=client.access_token_format,
            id_token_signed_response_alg=client.id_token_signed_response_alg,
            jwks=client.jwks,
            allow_device_grant=client.allow_device_grant,
        )

    def replaced(self, changes: dict[str, Any]) -> ClientOptions:
        unknown = set(changes) - set(self.columns())
        if unknown:
            raise ValidationFailed(f"Unknown client option: {', '.join(sorted(unknown))}.")
        return replace(self, **changes)

    def columns(self) -> dict[str, Any]:
        return {
            "is_resource_server": self.is_resource_server,
            "access_token_format": self.access_token_format,
            "id_token_signed_response_alg": self.id_token_signed_response_alg,
            "jwks": self.jwks,
            "allow_device_grant": self.allow_device_grant,
        }


def check_options(options: ClientOptions, *, is_public: bool) -> None:
    if options.access_token_format not in FORMATS:
        raise ValidationFailed(f"Access token format must be one of: {', '.join(FORMATS)}.")
    if options.id_token_signed_response_alg not in SUPPORTED_ALGS:
        raise ValidationFailed(f"ID token algorithm must be one of: {', '.join(SUPPORTED_ALGS)}.")
    if options.jwks is not None:
        if is_public:
            raise ValidationFailed("A public client cannot register keys (it has no secret).")
        check_public_jwks(options.jwks)
    if options.is_resource_server and is_public:
        raise ValidationFailed("A resource server must be a confidential client.")


def check_public_jwks(jwks: dict[str, Any]) -> None:
    """A JWK set (RFC 7517 §5) of public signing keys only."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValidationFailed('The JWKS must be an object with a non-empty "keys" list.')
    for key in keys:
        if not isinstance(key, dict) or any(member in key for member in PRIVATE_MEMBERS):
            raise ValidationFailed("The JWKS must hold public keys only (no private members).")
    try:
        KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ValidationFailed(f"The JWKS cannot be read: {exc}.") from exc
