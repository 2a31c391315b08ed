"""Signing keys: generation and the public JWK set (RFC 7517)."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import ECKey, KeyParameters, OKPKey, RSAKey

from resonite_auth.security.tokens import new_id

SUPPORTED_ALGS = ("RS256", "ES256", "EdDSA")

AnyKey = RSAKey | ECKey | OKPKey


def generate_private_jwk(alg: str = "RS256") -> dict[str, Any]:
    """A new private key as a JWK dict, with `kid`, `alg` and `use` set."""
    kid = new_id(12)
    parameters: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    key: AnyKey
    if alg == "RS256":
        key = RSAKey.generate_key(2048, parameters=parameters, private=True)
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", parameters=parameters, private=True)
    elif alg == "EdDSA":
        key = OKPKey.generate_key("Ed25519", parameters=parameters, private=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    return dict(key.as_dict(private=True))


def import_private_jwk(jwk: dict[str, Any]) -> AnyKey:
    kty = jwk.get("kty")
    if kty == "RSA":
        return RSAKey.import_key(jwk)
    if kty == "EC":
        return ECKey.import_key(jwk)
    if kty == "OKP":
        return OKPKey.import_key(jwk)
    raise ValueError(f"unsupported key type {kty!r}")


def public_jwk(private_jwk: dict[str, Any], key: AnyKey | None = None) -> dict[str, Any]:
    """The public half, with only the members a verifier needs.

    `key` is `private_jwk` already imported, when the caller has it: importing an RSA key
    validates it, which costs about as much as signing a hundred tokens.
    """
    if key is None:
        key = import_private_jwk(private_jwk)
    public = dict(key.as_dict(private=False))
    for member in ("kid", "alg", "use"):
        if member in private_jwk:
            public[member] = private_jwk[member]
    return public
