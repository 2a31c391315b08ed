"""The schema, as SQLAlchemy Core tables. Migrations under migrations/ create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

from resonite_auth.storage.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

DIGEST = String(64)  # hex SHA-256

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("normalized_username", String(64), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    Column("normalized_email", String(320), nullable=False, unique=True),
    Column("email_verified", Boolean, nullable=False, default=False),
    Column("password_hash", String(255), nullable=False),
    Column("registration_date", UTCDateTime, nullable=False),
    Column("is_verified", Boolean, nullable=False, default=False),
    Column("is_locked", Boolean, nullable=False, default=False),
    Column("supress_ban_evasion", Boolean, nullable=False, default=False),
    Column("totp_secret", String(64)),
    Column("totp_enabled", Boolean, nullable=False, default=False),
    Column("totp_last_step", BigInteger),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("tags", JSON, nullable=False),
    Column("icon_url", String(512)),
    Column("tagline", String(512)),
    Column("description", Text),
    Column("pronouns", String(64)),
    Column("display_badges", JSON, nullable=False),
    Column("is_active_supporter", Boolean, nullable=False, default=False),
    Column("supporter_metadata", JSON, nullable=False),
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("is_public", Boolean, nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("allowed_scopes", JSON, nullable=False),
    Column("owner_id", String(40), ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("contact_name", String(200)),
    Column("reason", Text),
    Column("homepage_url", String(512)),
    Column("logo_url", String(512)),
    Column("review_reason", Text),
    Column("allow_device_grant", Boolean, nullable=False, default=False),
    Column("post_logout_redirect_uris", JSON),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # 0003 token lifecycle: per-client token options and the JWKS for private_key_jwt.
    Column("is_resource_server", Boolean, nullable=False, default=False, server_default=false()),
    Column(
        "access_token_format", String(16), nullable=False, default="opaque", server_default="opaque"
    ),
    Column(
        "id_token_signed_response_alg",
        String(16),
        nullable=False,
        default="RS256",
        server_default="RS256",
    ),
    Column("jwks", JSON),
    # 0004 applications: redirect URIs awaiting review, and when the first secret was issued.
    Column("pending_redirect_uris", JSON),
    Column("secret_issued_at", UTCDateTime),
)

client_assertion_jtis = Table(
    "client_assertion_jtis",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("jti_digest", DIGEST, primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

client_secrets = Table(
    "client_secrets",
    metadata,
    Column("digest", DIGEST, primary_key=True),
    Column(
        "client_id",
        String(64),
        ForeignKey("clients.client_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id_digest", DIGEST, primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("auth_time", UTCDateTime, nullable=False),
    Column("amr", JSON, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("user_agent", String(512)),
    Column("ip", String(64)),
    Index("ix_browser_sessions_account_id", "account_id"),
)

interactions = Table(
    "interactions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("binding_digest", DIGEST, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("params", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("login_completed_at", UTCDateTime),
)

grants = Table(
    "grants",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column(
        "client_id",
        String(64),
        ForeignKey("clients.client_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Index("ix_grants_account_id_client_id", "account_id", "client_id"),
)

authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("digest", DIGEST, primary_key=True),
    Column("grant_id", String(32), ForeignKey("grants.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("account_id", String(40), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("code_challenge", String(128)),
    Column("nonce", String(512)),
    Column("auth_time", UTCDateTime, nullable=False),
    Column("amr", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("redeemed_at", UTCDateTime),
)

tokens = Table(
    "tokens",
    metadata,
    Column("digest", DIGEST, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("grant_id", String(32), ForeignKey("grants.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("account_id", String(40), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("absolute_expires_at", UTCDateTime),
    Column("auth_time", UTCDateTime),
    Column("amr", JSON, nullable=False),
    Column("code_digest", DIGEST),
    Column("parent_digest", DIGEST),
    Column("rotated_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Index("ix_tokens_grant_id", "grant_id"),
    Index("ix_tokens_code_digest", "code_digest"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("alg", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("private_jwk", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("activated_at", UTCDateTime),
    Column("retired_at", UTCDateTime),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("event", String(64), nullable=False),
    Column("actor", String(64)),
    Column("account_id", String(40)),
    Column("client_id", String(64)),
    Column("ip", String(64)),
    Column("detail", JSON, nullable=False),
)

server_settings = Table(
    "server_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", UTCDateTime),
)

device_codes = Table(
    "device_codes",
    metadata,
    Column("device_digest", DIGEST, primary_key=True),
    Column("user_code_digest", DIGEST, nullable=False, unique=True),
    Column(
        "client_id",
        String(64),
        ForeignKey("clients.client_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("scopes", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("interval", Integer, nullable=False),
    Column("last_polled_at", UTCDateTime),
    Column("account_id", String(40), ForeignKey("accounts.id", ondelete="CASCADE")),
    Column("grant_id", String(32), ForeignKey("grants.id", ondelete="CASCADE")),
    Column("auth_time", UTCDateTime),
    Column("amr", JSON),
    Column("decided_at", UTCDateTime),
)

# One-time recovery codes for two-step sign-in; digests only, each used once.
recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("digest", DIGEST, primary_key=True),
    Column(
        "account_id",
        String(40),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
)

# Emailed single-use links (email verification, password reset); digests only.
account_links = Table(
    "account_links",
    metadata,
    Column("digest", DIGEST, primary_key=True),
    Column(
        "account_id",
        String(40),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("purpose", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
)
