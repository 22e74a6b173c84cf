"""Email to the rep: each assignment as a plain-text and an HTML message (``channels.email_message``), for teams
without Slack.

A batch goes over one SMTP connection (``SMTP_URL``, see ``sla_monitor.smtp_url``) within one total deadline.
Each message's ``Message-ID`` derives from its event id, so a message sent again after a lost answer is
recognisably the same. What the server answers decides each outcome:

- accepted: delivered;
- ``4xx``, no connection, a lost connection or the deadline: tried again with backoff;
- ``5xx`` refusing the recipient or the message: failed for good, with the SMTP code (never the address or the
  server's text, which usually quotes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import socket
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import aiosmtplib
from sqlalchemy import Row

from shared.clock import Clock
from shared.logging import get_logger
from sla_monitor.channels.base import Outcome
from sla_monitor.channels.email_message import MAX_SUBJECT, assignment_payload
from sla_monitor.smtp_url import SmtpServer

log = get_logger(__name__)

__all__ = ["MAX_SUBJECT", "EmailChannel", "assignment_payload", "message_id"]

#: Messages per SMTP connection.
MAX_BATCH = 50
_ENHANCED_STATUS = re.compile(r"\s*([245]\.\d{1,3}\.\d{1,3})\b")
_PLAIN_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def message_id(event_id: str, domain: str) -> str:
    """The same ``Message-ID`` every time an event's email is sent."""
    local = event_id if _PLAIN_ID.fullmatch(event_id) else hashlib.sha256(event_id.encode()).hexdigest()[:40]
    return f"<{local}@{domain}>"


def _code(exc: aiosmtplib.SMTPResponseException) -> str:
    """The SMTP code and, when the answer starts with one, its enhanced status code (``550 5.1.1``)."""
    enhanced = _ENHANCED_STATUS.match(exc.message or "")
    return f"{exc.code} {enhanced.group(1)}" if enhanced else str(exc.code)


def _refusal(exc: Exception) -> Outcome:
    """The outcome of one message the server answered with an error (or that could not be sent at all)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        exc = exc.recipients[0] if exc.recipients else aiosmtplib.SMTPResponseException(550, "")
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        what = "the recipient" if isinstance(exc, aiosmtplib.SMTPRecipientRefused) else "the message"
        return Outcome(False, exc.code, f"the SMTP server refused {what} ({_code(exc)})", permanent=exc.code >= 500)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):  # SMTP_FROM is not allowed: fixed in the configuration
        return Outcome(False, exc.code, f"the SMTP server refused the sender SMTP_FROM ({_code(exc)})")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Outcome(False, exc.code, f"the SMTP server answered {_code(exc)}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return Outcome(False, None, "the rep's address needs SMTPUTF8, which the SMTP server does not support",
                       permanent=True)
    if isinstance(exc, ValueError):  # aiosmtplib refuses an address it cannot send safely
        return Outcome(False, None, "the rep's address cannot be sent to over SMTP", permanent=True)
    return Outcome(False, None, f"sending failed ({type(exc).__name__})")


class EmailChannel:
    batch_size = MAX_BATCH
    latest_only = False  # a message to a person: each assignment's is sent, a reassignment's too

    def __init__(self, *, server: SmtpServer, sender: str, clock: Clock, timeout: float,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self._server = server
        self._sender = sender
        self._envelope_from = parseaddr(sender)[1]
        domain = self._envelope_from.rpartition("@")[2]
        self._domain = domain if _DOMAIN.fullmatch(domain) else "leadrouter.invalid"
        self._clock = clock
        self._tls_context = tls_context
        self._local_hostname: str | None = None
        self.deadline_seconds = timeout

    def _message(self, row: Row[Any]) -> tuple[str, EmailMessage]:
        payload = json.loads(row.payload)
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = payload["to"]
        message["Subject"] = payload["subject"]
        message["Date"] = format_datetime(self._clock.now())
        message["Message-ID"] = message_id(row.event_id, self._domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
        message.set_content(payload["text"])
        message.add_alternative(payload["html"], subtype="html")
        return payload["to"], message

    def _client(self) -> aiosmtplib.SMTP:
        server = self._server
        return aiosmtplib.SMTP(
            hostname=server.host, port=server.port, username=server.username, password=server.password,
            use_tls=server.security == "tls", start_tls=server.security == "starttls",
            tls_context=self._tls_context, timeout=self.deadline_seconds, local_hostname=self._local_hostname)

    async def send(self, deliveries: Sequence[Row[Any]], target: Row[Any]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(deliveries)
        messages: list[tuple[int, str, EmailMessage]] = []
        for index, row in enumerate(deliveries):
            try:
                messages.append((index, *self._message(row)))
            except (ValueError, KeyError, TypeError) as exc:  # a stored payload this version cannot read
                outcomes[index] = Outcome(False, None, f"the stored email could not be built ({type(exc).__name__})",
                                          permanent=True)
        unsent = await self._send_all(messages, outcomes) if messages else ""
        return [o or Outcome(False, None, unsent) for o in outcomes]

    async def _send_all(self, messages: list[tuple[int, str, EmailMessage]], outcomes: list[Outcome | None]) -> str:
        """Send over one connection within the deadline, filling in ``outcomes``; returns why the messages left
        without one were not sent."""
        smtp: aiosmtplib.SMTP | None = None
        try:
            async with asyncio.timeout(self.deadline_seconds):
                if self._local_hostname is None:  # what EHLO says; looked up once (it can take a while)
                    self._local_hostname = await asyncio.to_thread(socket.getfqdn)
                smtp = self._client()
                try:
                    await smtp.connect()
                except Exception as exc:
                    return self._unreachable(exc)
                unsent = await self._send_each(smtp, messages, outcomes)
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):  # the outcomes stand either way
                    if smtp.is_connected:
                        await smtp.quit()
                return unsent
        except TimeoutError:
            return f"not sent: no answer from the SMTP server within the {self.deadline_seconds:g}s deadline"
        finally:
            if smtp is not None and smtp.is_connected:
                smtp.close()

    async def _send_each(self, smtp: aiosmtplib.SMTP, messages: list[tuple[int, str, EmailMessage]],
                         outcomes: list[Outcome | None]) -> str:
        for index, to, message in messages:
            try:
                await smtp.send_message(message, sender=self._envelope_from, recipients=[to])
            except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
                return f"the SMTP connection was lost ({type(exc).__name__})"
            except Exception as exc:
                outcomes[index] = refusal = _refusal(exc)
                if refusal.status == 421:  # "closing the transmission channel"
                    return "not sent: the SMTP server is closing the connection (421)"
            else:
                outcomes[index] = Outcome(True, 250, None)
            if not smtp.is_connected:
                return "not sent: the SMTP server closed the connection"
        return ""

    def _unreachable(self, exc: Exception) -> str:
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            reason = f"the SMTP server refused the login ({exc.code})"
        elif isinstance(exc, aiosmtplib.SMTPResponseException):
            reason = f"the SMTP server refused the connection ({_code(exc)})"
        elif isinstance(exc, ssl.SSLError):
            reason = f"TLS with the SMTP server failed ({type(exc).__name__})"
        elif isinstance(exc, aiosmtplib.SMTPConnectError | OSError):
            reason = f"the SMTP server could not be reached ({type(exc).__name__})"
        else:
            reason = f"the SMTP server could not be used ({type(exc).__name__}: {exc})"[:300]
        log.warning("sla.smtp_unavailable", server=self._server.display_url, reason=reason)
        return reason
