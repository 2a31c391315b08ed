"""Mail to an application's owner when a reviewer decides about it."""

from __future__ import annotations

import logging
import smtplib

from resonite_auth.domain.clients import Client
from resonite_auth.services.context import Context
from resonite_auth.services.mailer import Mail
from resonite_auth.storage.repositories.accounts import AccountRepository

log = logging.getLogger("resonite_auth.notifications")

MESSAGES = {
    "approved": (
        "Your application {name} was approved",
        "Good news: {name} was approved.\n\nSign in to the developer portal to see its "
        "client id{secret_hint}:\n{url}\n",
    ),
    "rejected": (
        "Your application {name} was not approved",
        "We reviewed {name} and could not approve it.\n\nReason: {reason}\n\n"
        "Details in the developer portal:\n{url}\n",
    ),
    "suspended": (
        "Your application {name} was suspended",
        "{name} was suspended: it can no longer sign people in, and every access it held "
        "was revoked.\n\nReason: {reason}\n\nDetails in the developer portal:\n{url}\n",
    ),
    "reinstated": (
        "Your application {name} was reinstated",
        "{name} can sign people in again. People need to connect it again.\n\n{url}\n",
    ),
    "changes_approved": (
        "New redirect URIs of {name} were approved",
        "The redirect URIs you added to {name} were approved and work now.\n\n{url}\n",
    ),
    "changes_rejected": (
        "New redirect URIs of {name} were not approved",
        "The redirect URIs you added to {name} were not approved.\n\nReason: {reason}\n\n{url}\n",
    ),
}


async def notify_owner(ctx: Context, client: Client, decision: str) -> None:
    """Tell the owner; a mail failure is logged, never undoes the decision already made."""
    if client.owner_id is None:
        return
    async with ctx.db.read() as connection:
        owner = await AccountRepository(connection).by_id(client.owner_id)
    if owner is None:
        return
    subject, body = MESSAGES[decision]
    values = {
        "name": client.name,
        "reason": client.review_reason or "(none given)",
        "url": ctx.settings.url(f"/developers/applications/{client.client_id}"),
        "secret_hint": _secret_hint(client),
    }
    try:
        await ctx.mailer.send(Mail(owner.email, subject.format(**values), body.format(**values)))
    except (OSError, smtplib.SMTPException) as error:
        log.warning("could not mail %s about %s: %s", client.client_id, decision, error)


def _secret_hint(client: Client) -> str:
    if client.is_public:
        return ""
    if client.secret_issued_at is not None:
        return (
            "; its first secret was handed to the operator who approved it, and you can "
            "rotate it there to get one of your own"
        )
    return " and reveal its secret (shown once)"
