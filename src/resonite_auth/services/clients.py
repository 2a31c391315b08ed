"""Clients: registration by the operator (CLI) and authentication at the token endpoint."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit

from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.clients import Client, ClientStatus
from resonite_auth.errors import InvalidClient, InvalidRequest, NotFound, ValidationFailed
from resonite_auth.oauth.params import Params
from resonite_auth.oauth.scopes import KNOWN_SCOPES, canonical
from resonite_auth.security.tokens import digest, new_id, new_secret
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.clients import ClientRepository


@dataclass(frozen=True, slots=True)
class NewClient:
    name: str
    redirect_uris: list[str]
    scopes: list[str]
    is_public: bool = False
    approve: bool = False
    owner_id: str | None = None
    post_logout_redirect_uris: list[str] | None = None


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    client: Client
    secret: str | None  # shown once, never stored


def check_redirect_uri(uri: str) -> None:
    """Absolute, no fragment, no wildcard; https, or http on loopback only (RFC 8252 §7.3)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationFailed(f"Redirect URI {uri!r} must be an absolute http(s) URL.")
    if parts.fragment or "#" in uri:
        raise ValidationFailed(f"Redirect URI {uri!r} must not contain a fragment.")
    if "*" in uri:
        raise ValidationFailed(f"Redirect URI {uri!r} must not contain a wildcard.")
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "http" and not loopback:
        raise ValidationFailed(f"Redirect URI {uri!r} must use https (http only for loopback).")


async def create_client(ctx: Context, new: NewClient, *, actor: str = "cli") -> RegisteredClient:
    if not new.name.strip():
        raise ValidationFailed("The application needs a name.")
    if not new.redirect_uris:
        raise ValidationFailed("At least one redirect URI is required.")
    for uri in [*new.redirect_uris, *(new.post_logout_redirect_uris or [])]:
        check_redirect_uri(uri)
    unknown = [s for s in new.scopes if s not in KNOWN_SCOPES]
    if unknown:
        raise ValidationFailed(f"Unknown scope: {' '.join(unknown)}.")
    client_id = new_id(16)
    secret = None if new.is_public else new_secret()
    status = ClientStatus.APPROVED if new.approve else ClientStatus.PENDING
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = ClientRepository(connection)
        await repository.add(
            {
                "client_id": client_id,
                "name": new.name.strip(),
                "status": status.value,
                "is_public": new.is_public,
                "redirect_uris": list(dict.fromkeys(new.redirect_uris)),
                "allowed_scopes": canonical(new.scopes),
                "owner_id": new.owner_id,
                "post_logout_redirect_uris": list(
                    dict.fromkeys(new.post_logout_redirect_uris or [])
                ),
                "created_at": now,
                "updated_at": now,
            }
        )
        if secret is not None:
            await repository.add_secret(client_id, digest(secret), now)
        await record(
            connection,
            AuditEvent(
                "client.created", actor=actor, client_id=client_id, detail={"status": status}
            ),
            now,
        )
        client = await repository.by_id(client_id)
    assert client is not None
    return RegisteredClient(client=client, secret=secret)


async def approve_client(ctx: Context, client_id: str, *, actor: str = "cli") -> Client:
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = ClientRepository(connection)
        if await repository.by_id(client_id) is None:
            raise NotFound(f"No application with client id {client_id!r}.")
        await repository.set_status(client_id, ClientStatus.APPROVED, now)
        await record(
            connection, AuditEvent("client.approved", actor=actor, client_id=client_id), now
        )
        client = await repository.by_id(client_id)
    assert client is not None
    return client


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    secret: str | None
    method: str  # client_secret_basic | client_secret_post | none


def read_credentials(params: Params, authorization: str | None) -> ClientCredentials:
    """RFC 6749 §2.3.1: HTTP Basic (form-urlencoded parts) or the body; never both."""
    form_id, form_secret = params.get("client_id"), params.get("client_secret")
    if authorization and authorization[:6].lower() == "basic ":
        if form_secret is not None:
            raise InvalidRequest("Use one client authentication method, not two.")
        basic_id, basic_secret = _parse_basic(authorization[6:].strip())
        if form_id is not None and form_id != basic_id:
            raise InvalidRequest("client_id in the body differs from the authenticated client.")
        return ClientCredentials(basic_id, basic_secret, "client_secret_basic")
    if form_id is None:
        raise InvalidClient("Client authentication is required.")
    if form_secret is not None:
        return ClientCredentials(form_id, form_secret, "client_secret_post")
    return ClientCredentials(form_id, None, "none")


def _parse_basic(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("Malformed HTTP Basic credentials.") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise InvalidClient("Malformed HTTP Basic credentials.")
    return unquote_plus(client_id), unquote_plus(secret)


async def authenticate_client(ctx: Context, credentials: ClientCredentials) -> Client:
    """The approved client these credentials prove, or InvalidClient (RFC 6749 §5.2)."""
    async with ctx.db.read() as connection:
        repository = ClientRepository(connection)
        client = await repository.by_id(credentials.client_id)
        valid_secret = credentials.secret is not None and await repository.secret_is_valid(
            credentials.client_id, digest(credentials.secret), ctx.clock()
        )
    if client is None:
        raise InvalidClient("Client authentication failed.", detail="unknown client")
    if client.is_public:
        if credentials.secret is not None:
            raise InvalidClient(
                "Client authentication failed.", detail="public client sent a secret"
            )
    elif not valid_secret:
        raise InvalidClient("Client authentication failed.", detail="bad or missing secret")
    if not client.is_active:
        raise InvalidClient(
            "This application is not approved.", detail=f"client status {client.status}"
        )
    return client
