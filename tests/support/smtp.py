"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for mail tests."""

from __future__ import annotations

import re
import threading
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.live import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._arrived:
            self.messages.append(message_from_bytes(envelope.content))
            self._arrived.notify_all()
        return "250 OK"

    def wait_for(self, to: str, subject: str, timeout: float = 10) -> Message:
        """The first message to `to` with `subject` (mail may be sent after the answer)."""

        def found() -> Message | None:
            return next(
                (m for m in self.messages if m["To"] == to and m["Subject"] == subject), None
            )

        with self._arrived:
            self._arrived.wait_for(lambda: found() is not None, timeout=timeout)
        message = found()
        assert message is not None, f"no mail {subject!r} to {to}"
        return message


def link_in(message: Message, path: str) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    match = re.search(rf"http://\S+{re.escape(path)}\?token=\S+", body.decode())
    assert match, body
    return match.group(0)


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
