"""The scopes this server knows, and how they read to a person (RFC 6749 §3.3)."""

from __future__ import annotations

from dataclasses import dataclass

from resonite_auth.errors import InvalidScope


@dataclass(frozen=True, slots=True)
class ScopeInfo:
    name: str
    title: str
    description: str


SCOPES: dict[str, ScopeInfo] = {
    info.name: info
    for info in (
        ScopeInfo("openid", "Confirm who you are", "Sign you in with your account ID."),
        ScopeInfo(
            "profile",
            "Your public profile",
            "Your username, profile picture, tagline, pronouns, badges and account status.",
        ),
        ScopeInfo("email", "Your email address", "The email address on your account."),
        ScopeInfo(
            "patreon",
            "Your supporter status",
            "Whether you support the platform on Patreon, and your support history.",
        ),
        ScopeInfo(
            "offline_access",
            "Stay connected",
            "Keep access when you are not using the application, until you revoke it.",
        ),
    )
}

KNOWN_SCOPES: tuple[str, ...] = tuple(SCOPES)


def parse_scope(value: str | None) -> list[str]:
    """Split a `scope` parameter into known scope names, in canonical order, without repeats."""
    if value is None or not value.strip():
        raise InvalidScope("The scope parameter is required.")
    requested = value.split(" ")
    if any(not part for part in requested):
        raise InvalidScope("Scopes are separated by single spaces.")
    unknown = sorted(set(requested) - set(SCOPES))
    if unknown:
        raise InvalidScope(f"Unknown scope: {' '.join(unknown)}.")
    return canonical(requested)


def canonical(scopes: list[str] | set[str]) -> list[str]:
    """Known scopes in the order of SCOPES, each once."""
    wanted = set(scopes)
    return [name for name in KNOWN_SCOPES if name in wanted]


def describe(scopes: list[str]) -> list[ScopeInfo]:
    return [SCOPES[name] for name in canonical(scopes)]
