"""Clients: registration (CLI or developer portal) and authentication at the token endpoint."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.clients import Client, ClientStatus
from resonite_auth.errors import FormInvalid, InvalidClient, InvalidRequest
from resonite_auth.oauth.params import Params
from resonite_auth.oauth.scopes import canonical
from resonite_auth.security.tokens import digest, new_id, new_secret
from resonite_auth.services import application_form as form
from resonite_auth.services.application_form import check_redirect_uri
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.clients import ClientRepository

__all__ = [
    "NewClient",
    "RegisteredClient",
    "authenticate_client",
    "check_redirect_uri",
    "create_client",
    "read_credentials",
]


@dataclass(frozen=True, slots=True)
class NewClient:
    name: str
    redirect_uris: list[str]
    scopes: list[str]
    is_public: bool = False
    approve: bool = False
    owner_id: str | None = None
    # An application written in from the developer portal (owner_id set) also says who
    # asks and why; an operator registering one from the CLI need not.
    contact_name: str | None = None
    reason: str | None = None
    homepage_url: str | None = None
    logo_url: str | None = None


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    client: Client
    secret: str | None  # shown once, never stored


def new_client_errors(new: NewClient) -> dict[str, str]:
    """Every mistake in `new`, one message per form field."""
    errors = {
        "name": form.name_error(new.name),
        "redirect_uris": form.redirect_uris_error(new.redirect_uris),
        "scopes": form.scopes_error(new.scopes),
        "homepage_url": form.optional_url_error(new.homepage_url, "homepage"),
        "logo_url": form.optional_url_error(new.logo_url, "logo address"),
    }
    if new.owner_id is not None:
        errors["contact_name"] = form.text_error(
            new.contact_name,
            missing="Tell us your name.",
            label="your name",
            limit=form.MAX_CONTACT,
        )
        errors["reason"] = form.text_error(
            new.reason,
            missing="Tell us why your application needs access.",
            label="the reason",
            limit=form.MAX_REASON,
        )
    return form.only_errors(errors)


async def create_client(
    ctx: Context, new: NewClient, *, actor: str = "cli", ip: str | None = None
) -> RegisteredClient:
    """Register an application. A secret exists only once it is approved (see client_secrets)."""
    errors = new_client_errors(new)
    if errors:
        raise FormInvalid(errors)
    client_id = new_id(16)
    secret = None if new.is_public or not new.approve else new_secret()
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
                "contact_name": (new.contact_name or "").strip() or None,
                "reason": (new.reason or "").strip() or None,
                "homepage_url": new.homepage_url or None,
                "logo_url": new.logo_url or None,
                "created_at": now,
                "updated_at": now,
                "secret_issued_at": now if secret is not None else None,
            }
        )
        if secret is not None:
            await repository.add_secret(client_id, digest(secret), now)
        await record(
            connection,
            AuditEvent(
                "client.created",
                actor=actor,
                account_id=new.owner_id,
                client_id=client_id,
                ip=ip,
                detail={"status": status, "name": new.name.strip(), "public": new.is_public},
            ),
            now,
        )
        client = await repository.by_id(client_id)
    assert client is not None
    return RegisteredClient(client=client, secret=secret)


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
