"""TOTP (RFC 6238) with replay protection, and one-time recovery codes.

A code is accepted for the current 30-second step and one step either side (clock drift,
RFC 6238 §5.2), and only for a step later than the last one accepted, so a code seen once
cannot be used again within its window.
"""

from __future__ import annotations

import base64
import hmac
import io
import secrets
from datetime import datetime

import pyotp
import segno

from resonite_auth.security.tokens import digest

STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)


def new_totp_secret() -> str:
    """160 random bits, base32 (RFC 4226 §4 recommends at least 128, 160 advised)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account_name: str, issuer_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer_name)


def qr_data_uri(uri: str) -> str:
    """The provisioning URI as an SVG QR code, inline (CSP allows only data: images)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer, kind="svg", scale=5, border=2, dark="#000", light="#fff"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step the code belongs to, when it is valid now and not a replay; else None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = time_step(at)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected, code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def new_recovery_codes() -> list[str]:
    """Ten codes of 16 random characters (~79 bits), shown once, stored as digests."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_digest(code: str) -> str:
    """Digest of a recovery code typed in any case, with or without dashes and spaces."""
    normalized = "".join(ch for ch in code.casefold() if ch.isalnum())
    return digest("recovery:" + normalized)
