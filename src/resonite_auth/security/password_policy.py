"""Password strength for new passwords (registration, change, reset).

NIST SP 800-63B §5.1.1.2: a minimum length, no composition rules forced on long passwords, and
a check against commonly used and context-specific words (username, email).
"""

from __future__ import annotations

MIN_LENGTH = 10
MAX_LENGTH = 256

# A short list of the passwords most often seen in breaches; longer lists belong in a file.
COMMON = frozenset(
    [
        "123456",
        "123456789",
        "12345678",
        "1234567890",
        "password",
        "password1",
        "password123",
        "qwerty",
        "qwerty123",
        "qwertyuiop",
        "1q2w3e4r5t",
        "111111",
        "000000",
        "abc123",
        "iloveyou",
        "admin",
        "admin123",
        "welcome",
        "letmein",
        "monkey",
        "dragon",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "passw0rd",
        "trustno1",
        "superman",
        "starwars",
        "resonite",
        "resonite123",
        "neosvr",
        "changeme",
        "secret123",
        "1qaz2wsx",
        "zaq12wsx",
        "asdfghjkl",
    ]
)


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    """Why the password is not acceptable, in words for a person; None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    folded = password.casefold()
    if folded in COMMON or folded.rstrip("0123456789!") in COMMON:
        return "That password is one of the most common ones; choose another."
    if len(set(folded)) < 4:
        return "That password repeats too few different characters."
    for word in (username.strip().casefold(), email.split("@")[0].strip().casefold()):
        if len(word) >= 3 and word in folded:
            return "The password must not contain your username or email address."
    return None
