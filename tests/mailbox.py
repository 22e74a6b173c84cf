"""A real SMTP server for tests (aiosmtpd, on its own thread) that keeps every message it accepts, and can refuse
a recipient, answer a message with an error, take its time, require STARTTLS or TLS and a login."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from devstack.broker import free_port


@dataclass
class Received:
    #: The client's (host, port): one per SMTP connection.
    peer: tuple[str, int]
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    port: int = field(default_factory=free_port)
    #: Recipient → the answer to its RCPT (e.g. ``"550 5.1.1 <x@example.com>: no such user"``).
    refuse: dict[str, str] = field(default_factory=dict)
    #: When set, every message is answered with this instead of being accepted (e.g. ``"451 4.3.0 later"``).
    data_reply: str | None = None
    #: Seconds to wait before answering a message.
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[tuple[str, int], str]] = field(default_factory=list)
    _controller: Controller | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802 (aiosmtpd's name)
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            self.refused.append((session.peer, address))
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_reply:
            return self.data_reply
        message = cast(EmailMessage, message_from_bytes(envelope.original_content, policy=policy.default))
        self.received.append(Received(session.peer, envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 Message accepted"

    async def start(self, **smtp_parameters: Any) -> None:
        """Listen on ``self.port`` (also after a ``stop``: the same server comes back)."""
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, server_hostname="mail.test",
                                      enable_SMTPUTF8=True, **smtp_parameters)
        await asyncio.to_thread(self._controller.start)

    async def stop(self) -> None:
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)
            self._controller = None


def self_signed(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A certificate for 127.0.0.1: the server's TLS context, and a client's that trusts it."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))


def login(user: str, password: str) -> Any:
    """An aiosmtpd authenticator accepting exactly this user name and password."""
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data == (user.encode(), password.encode())
        return AuthResult(success=ok, handled=False)

    return authenticate
