"""Sending mail: SMTP when configured, otherwise the log and the outbox table."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

from sqlalchemy import insert

from resonite_auth.domain.time import utcnow
from resonite_auth.storage.database import Database
from resonite_auth.storage.tables import outbox

log = logging.getLogger("resonite_auth.mail")


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


class OutboxMailer:
    """No SMTP server: write the mail down where an operator can find it."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def send(self, mail: Mail) -> None:
        log.info("mail to %s: %s", mail.to, mail.subject)
        async with self._db.transaction() as connection:
            await connection.execute(
                insert(outbox).values(
                    created_at=utcnow(), recipient=mail.to, subject=mail.subject, body=mail.body
                )
            )


class SmtpMailer:
    def __init__(self, url: str, sender: str) -> None:
        self._url = urlsplit(url)
        if self._url.scheme not in ("smtp", "smtps") or not self._url.hostname:
            raise ValueError("RESONITE_AUTH_SMTP_URL must be smtp://host:port or smtps://host:port")
        self._sender = sender

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        await asyncio.to_thread(self._deliver, message)
        log.info("mail sent to %s: %s", mail.to, mail.subject)

    def _deliver(self, message: EmailMessage) -> None:
        url = self._url
        host = url.hostname or "localhost"
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if url.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(host, url.port or 465, timeout=15, context=context)
        else:
            smtp = smtplib.SMTP(host, url.port or 25, timeout=15)
        with smtp:
            if url.scheme == "smtp":
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)


def build_mailer(smtp_url: str | None, sender: str, db: Database) -> Mailer:
    return SmtpMailer(smtp_url, sender) if smtp_url else OutboxMailer(db)
