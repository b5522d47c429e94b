"""Wiring email and the secure page into `serve` when SMTP_URL is set."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from adapters.email.sender import EmailSender, SmtpServer, parse_smtp_url
from adapters.web.links import LinkSigner
from bot.people.directory import EMAIL
from bot.settings import Settings, SettingsError


@dataclass(frozen=True)
class EmailSettings:
    server: SmtpServer
    mail_from: str
    links: LinkSigner


def email_settings(settings: Settings) -> EmailSettings | None:
    """None when email is off; SettingsError naming the variable when it cannot work."""
    if not settings.smtp_url:
        return None
    server = parse_smtp_url(settings.smtp_url)
    if not settings.mail_from:
        raise SettingsError("MAIL_FROM is needed with SMTP_URL: the address emails come from")
    if not EMAIL.fullmatch(parseaddr(settings.mail_from)[1]):
        raise SettingsError("MAIL_FROM must be an email address, e.g. escalations@partnership.org.uk")
    if not settings.public_url:
        raise SettingsError("PUBLIC_URL is needed with SMTP_URL: emailed links point to {PUBLIC_URL}/p/…")
    if not settings.page_secret:
        raise SettingsError("PAGE_SECRET is needed with SMTP_URL: it signs the links to the secure page")
    return EmailSettings(server, settings.mail_from, LinkSigner(settings.page_secret, settings.public_url))


def build_email(services: Any, config: EmailSettings) -> None:
    """Email becomes a platform of Delivery, and the page's links can be read."""
    from adapters.runtime import EMAIL as PLATFORM

    sender = EmailSender(
        config.server,
        mail_from=config.mail_from,
        links=config.links,
        store=services.bot.store,
        storage_thread=services.storage_thread,
        clock=services.bot.clock,
    )
    services.links = config.links
    services.delivery.add_platform(PLATFORM, sender.send)
