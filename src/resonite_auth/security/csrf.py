"""CSRF protection for HTML forms: a double-submit token.

A random value lives in an HttpOnly, SameSite cookie; every form carries it in a hidden field;
a POST is accepted only when both are present and equal (constant-time).
"""

from __future__ import annotations

from resonite_auth.security.tokens import new_secret, same


def new_csrf_token() -> str:
    return new_secret(24)


def csrf_matches(cookie_value: str | None, form_value: str | None) -> bool:
    if not cookie_value or not form_value:
        return False
    return same(cookie_value, form_value)
