"""Device authorization grant rules (RFC 8628): user codes people can read and type.

User codes use 20 consonants (no vowels, so no words; no look-alike digits), 8 characters,
shown as XXXX-XXXX: 20^8 ≈ 2^34.6 possibilities, with guessing rate limited (RFC 8628 §6.1).
"""

from __future__ import annotations

import secrets

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: the interval grows by 5 seconds on slow_down


def new_user_code() -> str:
    """A fresh user code in its display form, `XXXX-XXXX`."""
    raw = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return display(raw)


def normalize(typed: str) -> str | None:
    """The canonical 8 letters of what a person typed, or None when it cannot be a code.

    Case does not matter, and dashes and spaces are ignored (RFC 8628 §6.1).
    """
    letters = "".join(ch for ch in typed.upper() if ch not in "- ")
    if len(letters) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in letters):
        return None
    return letters


def display(normalized: str) -> str:
    half = USER_CODE_LENGTH // 2
    return f"{normalized[:half]}-{normalized[half:]}"
