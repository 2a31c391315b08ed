"""The rules an application's registration must follow, as one message per form field.

Pure checks: the developer portal shows each message next to its field; the CLI prints them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from resonite_auth.errors import ValidationFailed
from resonite_auth.oauth.scopes import KNOWN_SCOPES

MAX_NAME = 100
MAX_CONTACT = 200
MAX_REASON = 2000
MAX_REDIRECT_URIS = 10
MAX_URL = 512
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_redirect_uri(uri: str) -> None:
    """Absolute, no fragment, no wildcard; https, or http on loopback only.

    RFC 6749 §3.1.2 (absolute, no fragment), RFC 9700 §2.1 (exact match, so no wildcards),
    RFC 8252 §7.3 (plain http only for loopback redirects of native apps).
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationFailed(f"Redirect URI {uri!r} must be an absolute http(s) URL.")
    if parts.fragment or "#" in uri:
        raise ValidationFailed(f"Redirect URI {uri!r} must not contain a fragment.")
    if "*" in uri:
        raise ValidationFailed(f"Redirect URI {uri!r} must not contain a wildcard.")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ValidationFailed(f"Redirect URI {uri!r} must use https (http only for loopback).")


def redirect_uris_error(uris: list[str]) -> str | None:
    if not uris:
        return "At least one redirect URI is required."
    if len(uris) > MAX_REDIRECT_URIS:
        return f"At most {MAX_REDIRECT_URIS} redirect URIs."
    for uri in uris:
        if len(uri) > MAX_URL:
            return f"Redirect URIs must be at most {MAX_URL} characters."
        try:
            check_redirect_uri(uri)
        except ValidationFailed as error:
            return str(error)
    return None


def scopes_error(scopes: list[str]) -> str | None:
    if not scopes:
        return "Choose at least one scope."
    unknown = [scope for scope in scopes if scope not in KNOWN_SCOPES]
    return f"Unknown scope: {' '.join(unknown)}." if unknown else None


def name_error(name: str) -> str | None:
    if not name.strip():
        return "The application needs a name."
    if len(name.strip()) > MAX_NAME:
        return f"Keep the application's name under {MAX_NAME} characters."
    return None


def text_error(value: str | None, *, missing: str, label: str, limit: int) -> str | None:
    """A required free-text field (the applicant's name, the reason for access)."""
    if value is None or not value.strip():
        return missing
    if len(value.strip()) > limit:
        return f"Keep {label} under {limit} characters."
    return None


def optional_url_error(value: str | None, label: str) -> str | None:
    """Homepage and logo: shown to people, so https only (no mixed content, no javascript:)."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or len(value) > MAX_URL:
        return f"The {label} must be an https:// address (at most {MAX_URL} characters)."
    return None


def split_lines(value: str | None) -> list[str]:
    """One redirect URI per line; blank lines ignored, repeats removed, order kept."""
    lines = (line.strip() for line in (value or "").splitlines())
    return list(dict.fromkeys(line for line in lines if line))


def only_errors(errors: dict[str, str | None]) -> dict[str, str]:
    return {name: message for name, message in errors.items() if message}
