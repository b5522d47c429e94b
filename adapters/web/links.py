"""Personal links to the secure page: `{PUBLIC_URL}/p/<token>`, signed over one person, one
escalation and an expiry, so a link can be neither forged nor altered nor used for ever."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.settings import SettingsError

# Long enough to cover a standard stage (one working week) and its first week of overdue chases
# even across a bank holiday, so a busy GP can act on the email in the week they read it; short
# enough that an old or forwarded email stops working. Every new email carries a fresh link, and
# an expired one can ask for another (sent only to the person's directory address).
LINK_LIFETIME = timedelta(days=14)
MIN_SECRET_BYTES = 32
MAX_TOKEN = 600  # a genuine token is about 150 characters; anything far longer is not one
_LINK = b"page-link\x1f"
_CSRF = b"page-form\x1f"


class LinkRefused(Exception):
    """Not a link we signed (forged, altered, cut short): nothing about it can be trusted."""


class LinkExpired(Exception):
    """A link we did sign, past its expiry: it names whom a fresh one may be sent to."""

    def __init__(self, link: PageLink) -> None:
        super().__init__("this link has expired")
        self.link = link


@dataclass(frozen=True)
class PageLink:
    person_id: str
    escalation_id: str
    expires: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    """Signs and reads page links with HMAC-SHA256 under the page secret."""

    def __init__(self, secret: str, public_url: str) -> None:
        key = secret.encode("utf-8")
        if len(key) < MIN_SECRET_BYTES:
            raise SettingsError(
                f"PAGE_SECRET must be at least {MIN_SECRET_BYTES} bytes; make one with "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        self._key = key
        self.public_url = public_url.rstrip("/")

    def _mac(self, purpose: bytes, payload: bytes) -> bytes:
        return hmac.new(self._key, purpose + payload, hashlib.sha256).digest()

    def token(self, person_id: str, escalation_id: str, now: datetime) -> str:
        """A token naming one person and one escalation, valid for LINK_LIFETIME from `now`."""
        expires = int((now + LINK_LIFETIME).timestamp())
        payload = json.dumps([person_id, escalation_id, expires], separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(_LINK, payload))}"

    def issue(self, person_id: str, escalation_id: str, now: datetime) -> tuple[str, datetime]:
        """A personal page address, and when it stops working."""
        token = self.token(person_id, escalation_id, now)
        return f"{self.public_url}/p/{token}", self.read(token, now).expires

    def read(self, token: str, now: datetime) -> PageLink:
        """The link a token names; LinkRefused unless we signed it, LinkExpired once it has run out."""
        body, _, mac = token.partition(".")
        if not body or not mac or len(token) > MAX_TOKEN:
            raise LinkRefused("not a page link")
        try:
            payload, given = _unb64(body), _unb64(mac)
        except ValueError:
            raise LinkRefused("not a page link") from None
        # The signature first, in constant time: nothing in an unsigned payload is even parsed.
        if not hmac.compare_digest(given, self._mac(_LINK, payload)):
            raise LinkRefused("the signature does not match")
        person_id, escalation_id, expires = json.loads(payload)
        link = PageLink(person_id, escalation_id, datetime.fromtimestamp(expires, UTC))
        if now >= link.expires:
            raise LinkExpired(link)
        return link

    def form_token(self, token: str) -> str:
        """The CSRF token a page's forms carry: derived from the link, so no other site can know it."""
        return _b64(self._mac(_CSRF, token.encode("utf-8")))

    def form_token_ok(self, token: str, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8"), self.form_token(token).encode("utf-8"))
