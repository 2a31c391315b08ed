"""Settings from the environment (``RESONITE_AUTH_*``); every option is documented once, here."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESONITE_AUTH_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/resonite-auth.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://…",
    )
    issuer: str = Field(
        default="http://127.0.0.1:8080",
        description="Public base URL; the `iss` of every token and the base of every endpoint.",
    )
    redis_url: str | None = Field(
        default=None, description="Optional Redis URL for limits and caches shared by instances."
    )

    authorization_code_ttl: int = Field(default=60, description="Code lifetime, seconds.")
    access_token_ttl: int = Field(default=3600, description="Access token lifetime, seconds.")
    id_token_ttl: int = Field(default=3600, description="ID token lifetime, seconds.")
    refresh_token_ttl: int = Field(
        default=14 * 86400, description="Sliding refresh token lifetime, seconds (reset on use)."
    )
    refresh_token_absolute_ttl: int = Field(
        default=90 * 86400,
        description="Absolute refresh lifetime from the original grant, seconds.",
    )
    interaction_ttl: int = Field(
        default=600, description="How long a pending sign-in/consent interaction lives, seconds."
    )
    device_code_ttl: int = Field(
        default=600, description="Device code lifetime, seconds (RFC 8628)."
    )
    device_poll_interval: int = Field(
        default=5, description="Minimum seconds between device polls (RFC 8628 §3.2 interval)."
    )
    session_ttl: int = Field(default=14 * 86400, description="Browser session lifetime, seconds.")
    client_secret_grace_period: int = Field(
        default=7 * 86400,
        description="After a client secret is rotated, how long the old one keeps working, "
        "seconds (unless the owner revokes it at once).",
    )

    cookie_secure: bool | None = Field(
        default=None,
        description="Mark cookies Secure (default: unless the issuer is http on loopback).",
    )
    cookie_samesite: str = Field(default="lax", description="SameSite attribute of cookies.")

    smtp_url: str | None = Field(
        default=None,
        description="SMTP server for mail: smtp://[user:pass@]host:port (STARTTLS when offered), "
        "smtps://… for implicit TLS. Unset: mail goes to the log and the outbox table.",
    )
    mail_from: str = Field(
        default="Resonite Account <no-reply@resonite.invalid>", description="From: of our mail."
    )
    asset_base_url: str = Field(
        default="https://assets.resonite.com",
        description="Where `resdb:///<name>` profile icons can be viewed over https.",
    )
    keyring_cache_seconds: float = Field(
        default=10.0,
        description="How long an instance reuses its copy of the signing keys before re-reading "
        "them, seconds; a rotation made anywhere is seen everywhere within this time.",
    )
    password_hash_concurrency: int = Field(
        default=2,
        ge=1,
        description="Password hashes (argon2id, 64 MiB of memory each) that run at once: in the "
        "hashing process `serve` starts, for all its workers; further sign-ins wait their turn.",
    )
    password_hashing_socket: Path | None = Field(
        default=None,
        description="Unix socket of the password hashing process; `serve` starts that process and "
        "sets this for its workers. Unset: passwords are hashed in the process that needs them.",
    )
    gc_interval: int = Field(
        default=3600,
        description="Seconds between the server's housekeeping runs (expired codes, tokens, "
        "sessions); 0 turns the periodic run off (`resonite-auth gc` still works).",
    )
    audit_retention_days: int = Field(
        default=365, description="Audit events older than this many days are deleted by gc."
    )
    client_assertion_max_lifetime: int = Field(
        default=3600,
        description="Longest `exp - now` accepted for a private_key_jwt client assertion, seconds.",
    )
    redis_prefix: str = Field(
        default="resonite-auth:",
        description="Prefix of every Redis key, so several deployments can share one Redis.",
    )
    signup: bool = Field(default=True, description="Let people register accounts themselves.")
    signin_attempts_per_account: int = Field(
        default=10,
        description="Failed sign-in, two-step or recovery attempts allowed per account and window.",
    )
    signin_attempts_per_address: int = Field(
        default=50,
        description="Failed sign-in, two-step or recovery attempts allowed per client address "
        "and window.",
    )
    signin_window: int = Field(
        default=900, description="Window of the sign-in rate limits, seconds."
    )
    token_failures_per_address: int = Field(
        default=60,
        description="Refused token requests allowed per client address and token window.",
    )
    token_window: int = Field(default=60, description="Window of the token rate limit, seconds.")
    device_guesses_per_session: int = Field(
        default=5,
        description="Wrong device codes one signed-in session may type per window (RFC 8628 §5.1).",
    )
    device_guesses_per_address: int = Field(
        default=20, description="Wrong device codes one client address may type per window."
    )
    device_guess_window: int = Field(
        default=900, description="Window of the device code guessing limits, seconds."
    )
    email_link_ttl: int = Field(
        default=86400, description="Lifetime of an email verification link, seconds."
    )
    reset_link_ttl: int = Field(
        default=1800, description="Lifetime of a password reset link, seconds."
    )
    db_pool_size: int = Field(
        default=20,
        description="Database connections kept open per worker; half as many again may open "
        "for bursts. Keep workers x 1.5 x pool size below PostgreSQL's max_connections.",
    )
    db_pool_pre_ping: bool = Field(
        default=False,
        description="Test each pooled connection with a round trip before use (PostgreSQL). "
        "Off: a connection lost with a database restart fails one request, then the pool "
        "reconnects; on: no request fails, every request pays a round trip.",
    )
    db_pool_recycle: int = Field(
        default=1800,
        description="Replace pooled connections older than this, seconds (PostgreSQL), so that "
        "none outlives a proxy's or firewall's idle timeout.",
    )
    log_level: str = Field(default="info", description="Log level of the server.")

    @field_validator("issuer")
    @classmethod
    def _issuer_has_no_trailing_slash(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("issuer must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("issuer must not have a query or fragment (RFC 8414 §2)")
        return value.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        parts = urlsplit(self.issuer)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        return not (parts.scheme == "http" and loopback)

    def url(self, path: str) -> str:
        """An absolute URL of this server for `path` (which starts with '/')."""
        return f"{self.issuer}{path}"
