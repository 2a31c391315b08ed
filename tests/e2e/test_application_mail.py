"""Owners are mailed the review decisions, through a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import threading
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.live import LiveServer, free_port
from tests.support.portal import apply, person, signed_in_agent


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.port = free_port()
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        with self.arrived:
            self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(content)))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int) -> list[tuple[list[str], Message]]:
        """Messages once `count` arrived (delivery is synchronous with the request)."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=30)
            return list(self.messages)


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def server(
    database_url: str, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    live = LiveServer(
        database_url=database_url,
        workdir=Path(tmp_path_factory.mktemp("mailserver")),
        extra_env={"RESONITE_AUTH_SMTP_URL": f"smtp://127.0.0.1:{inbox.port}"},
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_owner_is_mailed_each_decision(server: LiveServer, inbox: Inbox) -> None:
    owner: dict[str, Any] = person(server, "Mailed")
    agent, _ = signed_in_agent(server, owner, "/developers/applications")
    address = f"{owner['username'].lower()}@example.com"
    first = apply(agent, server, name="Mail Approved")
    second = apply(agent, server, name="Mail Rejected")
    start = len(inbox.messages)

    server.cli_json("clients", "approve", first)
    server.cli("clients", "reject", second, "--reason", "Too many scopes for what it does.")
    server.cli("clients", "suspend", first, "--reason", "Reported for spam.")
    received = inbox.wait_for(start + 3)[start:]
    agent.close()

    by_subject = {message["Subject"]: (to, message) for to, message in received}
    approved = by_subject["Your application Mail Approved was approved"]
    rejected = by_subject["Your application Mail Rejected was not approved"]
    suspended = by_subject["Your application Mail Approved was suspended"]
    for to, message in (approved, rejected, suspended):
        assert to == [address] and message["To"] == address
    assert f"{server.url}/developers/applications/{first}" in body(approved[1])
    assert "Too many scopes for what it does." in body(rejected[1])
    assert "Reported for spam." in body(suspended[1])
    # The secret never travels by mail.
    assert "client_secret" not in "".join(body(message) for _, message in received)


def test_no_mail_for_applications_without_an_owner(server: LiveServer, inbox: Inbox) -> None:
    created = server.create_client(["https://ops.example/cb"], approve=False)
    count = len(inbox.messages)
    server.cli_json("clients", "approve", created["client_id"])
    marker = person(server, "Marker")  # then a mailed decision, to know the queue is drained
    agent, _ = signed_in_agent(server, marker, "/developers/applications")
    mailed = apply(agent, server, name="Marker App")
    server.cli("clients", "reject", mailed, "--reason", "Marker")
    agent.close()
    received = inbox.wait_for(count + 1)[count:]
    assert [message["Subject"] for _, message in received] == [
        "Your application Marker App was not approved"
    ]
