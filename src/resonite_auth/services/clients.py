"""Clients: registration (CLI or developer portal) and authentication at the token endpoint."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.clients import Client, ClientStatus
from resonite_auth.errors import FormInvalid, InvalidClient, InvalidRequest, NotFound
from resonite_auth.oauth.params import Params
from resonite_auth.oauth.scopes import canonical
from resonite_auth.security.tokens import digest, new_id, new_secret
from resonite_auth.services import application_form as form
from resonite_auth.services.application_form import check_redirect_uri
from resonite_auth.services.audit import record
from resonite_auth.services.client_assertion import (
    ASSERTION_TYPE,
    unverified_subject,
    verify_assertion,
)
from resonite_auth.services.client_options import ClientOptions, check_options
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.clients import (
    ClientRepository,
    authenticating_client,
    client_by_id,
)

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
    options: ClientOptions = field(default_factory=ClientOptions)
    # An application written in from the developer portal (owner_id set) also says who
    # asks and why; an operator registering one from the CLI need not.
    contact_name: str | None = None
    reason: str | None = None
    homepage_url: str | None = None
    logo_url: str | None = None
    post_logout_redirect_uris: list[str] | None = None


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
    """Register an application. A secret exists only once it is approved (see client_secrets).

    A client that registered a JWKS authenticates with private_key_jwt: it never gets a secret.
    """
    errors = new_client_errors(new)
    if errors:
        raise FormInvalid(errors)
    for uri in new.post_logout_redirect_uris or []:
        check_redirect_uri(uri)
    check_options(new.options, is_public=new.is_public)
    client_id = new_id(16)
    secret = None if new.is_public or new.options.jwks or not new.approve else new_secret()
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
                "post_logout_redirect_uris": list(
                    dict.fromkeys(new.post_logout_redirect_uris or [])
                ),
                "created_at": now,
                "updated_at": now,
                **new.options.columns(),
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
    method: str  # client_secret_basic | client_secret_post | private_key_jwt | none
    assertion: str | None = None


def read_credentials(params: Params, authorization: str | None) -> ClientCredentials:
    """RFC 6749 §2.3.1: HTTP Basic (form-urlencoded parts) or the body; never both."""
    form_id, form_secret = params.get("client_id"), params.get("client_secret")
    assertion_type, assertion = params.get("client_assertion_type"), params.get("client_assertion")
    if assertion_type is not None or assertion is not None:
        return _assertion_credentials(
            form_id, form_secret, assertion_type, assertion, authorization
        )
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


def _assertion_credentials(
    form_id: str | None,
    form_secret: str | None,
    assertion_type: str | None,
    assertion: str | None,
    authorization: str | None,
) -> ClientCredentials:
    """RFC 7521 §4.2: client_assertion_type and client_assertion, client_id optional."""
    if form_secret is not None or (authorization and authorization[:6].lower() == "basic "):
        raise InvalidRequest("Use one client authentication method, not two.")
    if assertion_type is None or assertion is None:
        raise InvalidRequest("client_assertion_type and client_assertion go together.")
    if assertion_type != ASSERTION_TYPE:
        raise InvalidClient(f"Unsupported client_assertion_type; use {ASSERTION_TYPE}.")
    subject = unverified_subject(assertion)
    if form_id is not None and form_id != subject:
        raise InvalidClient("client_id differs from the client assertion's subject.")
    return ClientCredentials(subject, None, "private_key_jwt", assertion)


def _parse_basic(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("Malformed HTTP Basic credentials.") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise InvalidClient("Malformed HTTP Basic credentials.")
    return unquote_plus(client_id), unquote_plus(secret)


async def authenticate_client(
    ctx: Context, credentials: ClientCredentials, *, endpoint: str | None = None
) -> Client:
    """The approved client these credentials prove, or InvalidClient (RFC 6749 §5.2).

    `endpoint` is the URL being called: a client assertion may name it, the token endpoint or
    the issuer as its audience (RFC 7523 §3 item 3).
    """
    if credentials.assertion is not None:
        return await _authenticate_assertion(ctx, credentials, endpoint)
    secret_digest = digest(credentials.secret) if credentials.secret is not None else None
    found = await authenticating_client(ctx.db, credentials.client_id, secret_digest, ctx.clock())
    if found is None:
        raise InvalidClient("Client authentication failed.", detail="unknown client")
    client, valid_secret = found
    if client.is_public:
        if credentials.secret is not None:
            raise InvalidClient(
                "Client authentication failed.", detail="public client sent a secret"
            )
    elif not valid_secret:
        raise InvalidClient("Client authentication failed.", detail="bad or missing secret")
    return _active(client)


async def _authenticate_assertion(
    ctx: Context, credentials: ClientCredentials, endpoint: str | None
) -> Client:
    assert credentials.assertion is not None
    client = await client_by_id(ctx.db, credentials.client_id)
    if client is None:
        raise InvalidClient("Client authentication failed.", detail="unknown client")
    audiences = {ctx.settings.issuer, ctx.settings.url("/connect/token")}
    if endpoint is not None:
        audiences.add(endpoint)
    await verify_assertion(ctx, client, credentials.assertion, audiences)
    return _active(client)


def _active(client: Client) -> Client:
    if not client.is_active:
        raise InvalidClient(
            "This application is not approved.", detail=f"client status {client.status}"
        )
    return client


async def update_client_options(
    ctx: Context, client_id: str, changes: dict[str, Any], *, actor: str = "cli"
) -> Client:
    """Change token options of a registered client (CLI: `clients update`)."""
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = ClientRepository(connection)
        client = await repository.by_id(client_id)
        if client is None:
            raise NotFound(f"No application with client id {client_id!r}.")
        options = ClientOptions.of(client).replaced(changes)
        check_options(options, is_public=client.is_public)
        await repository.set_options(client_id, options.columns(), now)
        await record(
            connection,
            AuditEvent(
                "client.options_changed",
                actor=actor,
                client_id=client_id,
                detail={"changed": sorted(changes)},
            ),
            now,
        )
        updated = await repository.by_id(client_id)
    assert updated is not None
    return updated
