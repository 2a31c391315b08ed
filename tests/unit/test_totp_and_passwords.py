"""TOTP checks (RFC 6238) with replay refusal, recovery codes, and the password policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp

from resonite_auth.security.password_policy import password_problem
from resonite_auth.security.totp import (
    matching_step,
    new_recovery_codes,
    new_totp_secret,
    qr_data_uri,
    recovery_digest,
    time_step,
)

NOW = datetime(2026, 12, 4, 20, 0, 10, tzinfo=UTC)


def code_at(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def test_current_and_adjacent_steps_are_accepted_others_not() -> None:
    secret = new_totp_secret()
    step = time_step(NOW)
    assert matching_step(secret, code_at(secret, NOW), NOW, None) == step
    assert (
        matching_step(secret, code_at(secret, NOW - timedelta(seconds=30)), NOW, None) == step - 1
    )
    assert (
        matching_step(secret, code_at(secret, NOW + timedelta(seconds=30)), NOW, None) == step + 1
    )
    assert matching_step(secret, code_at(secret, NOW + timedelta(seconds=90)), NOW, None) is None
    assert matching_step(secret, "12345", NOW, None) is None
    assert matching_step(secret, "abcdef", NOW, None) is None


def test_a_code_of_a_used_step_or_earlier_is_a_replay() -> None:
    secret = new_totp_secret()
    step = time_step(NOW)
    code = code_at(secret, NOW)
    assert matching_step(secret, code, NOW, step) is None
    assert matching_step(secret, code, NOW, step - 1) == step
    earlier = code_at(secret, NOW - timedelta(seconds=30))
    assert matching_step(secret, earlier, NOW, step) is None


def test_recovery_codes_are_random_and_typed_loosely() -> None:
    codes = new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    code = codes[0]
    assert recovery_digest(code) == recovery_digest(code.upper().replace("-", " "))
    assert recovery_digest(code) != recovery_digest(codes[1])


def test_qr_code_is_an_inline_svg_image() -> None:
    assert qr_data_uri("otpauth://totp/Resonite:x?secret=ABC").startswith(
        "data:image/svg+xml;base64,"
    )


def test_password_policy() -> None:
    assert password_problem("short") is not None
    assert password_problem("password123") is not None
    assert password_problem("aaaaaaaaaaaa") is not None
    assert password_problem("MyNameIsAlice!!", username="alice") is not None
    assert password_problem("bob.smith-2026!", email="bob.smith@example.com") is not None
    assert password_problem("correct horse battery", username="Alice") is None
