"""Sends core messages by email over SMTP (`SMTP_URL`, `MAIL_FROM`), each with a personal link to
the secure page. Failures become `DeliveryFailed`, so the outbox delays a mail but never loses it."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import aiosmtplib
from aiosmtplib.errors import (
    SMTPException,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponseException,
)

from adapters.email.compose import compose
from adapters.recipient import known_recipient
from adapters.storage_thread import StorageThread
from adapters.web.links import LinkSigner
from bot.clock import Clock
from bot.messages import Message, MessageKind
from bot.outbox import DeliveryFailed
from bot.settings import SettingsError
from bot.storage import Storage

log = logging.getLogger("escalation_bot.email")
SMTP_TIMEOUT = 30  # seconds for connecting and each SMTP step; a slower server is retried later
DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    """Where and how mail is handed over: implicit TLS (smtps), STARTTLS, or plain on loopback."""

    host: str
    port: int
    use_tls: bool
    start_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_smtp_url(url: str) -> SmtpServer:
    """`smtp://user:pass@host:587` (STARTTLS), `smtps://…:465` (implicit TLS), `smtp://127.0.0.1:25`
    (plain, loopback only). Errors name the variable, never the URL, which may hold a password."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise SettingsError(
            "SMTP_URL is not a URL; use e.g. smtp://user:password@mail.example.org:587"
        ) from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise SettingsError("SMTP_URL must be smtp://user:password@host:587 (STARTTLS) or smtps://…:465")
    host = parts.hostname
    return SmtpServer(
        host=host,
        port=port or DEFAULT_PORTS[parts.scheme],
        use_tls=parts.scheme == "smtps",
        # Anywhere but this machine, smtp:// must upgrade to TLS: a password or a message about a
        # child never crosses a network in clear.
        start_tls=parts.scheme == "smtp" and not _loopback(host),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _failure(exc: Exception) -> DeliveryFailed:
    """5xx refusals of the recipient are permanent; outages and 4xx are retried."""
    if isinstance(exc, SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return DeliveryFailed(
            f"mail server refused the recipient ({', '.join(map(str, codes))})", permanent=permanent
        )
    if isinstance(exc, SMTPRecipientRefused):
        return DeliveryFailed(f"mail server refused the recipient ({exc.code})", permanent=exc.code >= 500)
    if isinstance(exc, SMTPResponseException):
        # A 5xx for the sender or the login is this server's setup, not the recipient: keep trying
        # (for up to two days) so an admin can put it right without losing the message.
        return DeliveryFailed(f"mail server answered {exc.code}")
    return DeliveryFailed(f"mail server unreachable: {type(exc).__name__}")


class EmailSender:
    """Delivers one core message to one person's directory email address."""

    def __init__(
        self,
        server: SmtpServer,
        *,
        mail_from: str,
        links: LinkSigner,
        store: Storage,
        storage_thread: StorageThread,
        clock: Clock,
        timeout: float = SMTP_TIMEOUT,
    ) -> None:
        self.server = server
        self.mail_from = mail_from
        self.links = links
        self.store = store
        self.storage_thread = storage_thread
        self.clock = clock
        self.timeout = timeout

    async def send(self, message: Message) -> None:
        if message.kind is MessageKind.REPLY and message.data.get("caused_by") == message.to:
            return  # the answer to what they just did on the page, which the page already showed
        person = known_recipient(message.to) or await self.storage_thread.run(self.store.person, message.to)
        if person is None:
            raise DeliveryFailed(f"{message.to} is not in the directory", permanent=True)
        if not person.email:
            raise DeliveryFailed("no email address for this person", unreachable=True)
        now = self.clock.now()
        link = expires = None
        if message.escalation_id:
            link, expires = self.links.issue(person.id, message.escalation_id, now)
        mail = compose(
            message,
            to=person.email,
            to_name=person.name,
            mail_from=self.mail_from,
            now=now,
            link=link,
            expires=expires,
        )
        await self.deliver(mail, person.email, person.id)

    async def deliver(self, mail, address: str, person_id: str) -> None:
        """Hand one composed mail to the SMTP server."""
        server = self.server
        try:
            await aiosmtplib.send(
                mail,
                recipients=[address],
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.use_tls,
                start_tls=server.start_tls,
                timeout=self.timeout,
            )
        except (SMTPException, OSError, TimeoutError) as exc:
            failure = _failure(exc)
            # The person's id, never their address, and never what the message says.
            log.warning("email to %s not sent: %s", person_id, failure)
            raise failure from None
