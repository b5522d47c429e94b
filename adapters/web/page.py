"""The secure page: one escalation, shown to one person through their emailed link, where they can
add a note, agree or not with a proposed resolution, mark their agreed action done, and download
the record. Plain HTML forms, no script; every action goes through the core as that person.

Routes, all under `/p/<token>` (see adapters/web/links.py for the token):
GET the page; POST `note`, `agree`, `not-agreed`, `done`; GET `export`; POST `renew` (an expired
link asks for a fresh one, sent only to the directory email of the person it names).
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from adapters.web.links import LinkExpired, LinkRefused
from bot import notices
from bot.choices import Choices, choices
from bot.commands import ActionDone, AddNote, AnswerProposal, Command, Resolve
from bot.errors import InvalidInput, Refused
from bot.escalation import Escalation
from bot.messages import Message, MessageKind
from bot.people import Person
from bot.wording import MAX_SHORT, MAX_TEXT, name, when

log = logging.getLogger("escalation_bot.page")
MAX_FORM_BYTES = 16 * 1024  # the longest form (a note) is about 6,500 characters when full
FORMS = ("Phone call", "Meeting", "Email", "Message", "Letter", "Other")
FIELD_LIMITS = {
    "csrf": 100,
    "form": 40,
    "involved": MAX_SHORT,
    "discussed": MAX_TEXT,
    "outcome": MAX_TEXT,
    "reason": MAX_TEXT,
    "agreed": MAX_TEXT,
    "index": 4,
}
FIELD_NAMES = {
    "involved": "Who was involved",
    "discussed": "What was discussed",
    "outcome": "Outcome",
    "reason": "Why not",
    "agreed": "Agreed actions",
}
DONE = {
    "note": "Your note is recorded.",
    "agree": "Recorded: you agreed it is resolved. Both sides are told.",
    "not-agreed": "Recorded: you do not agree it is resolved. The other side is told why.",
    "done": "Recorded as done.",
    "resolve": "Recorded. Everyone on the difference is told.",
}
CSS = (
    "body{font-family:Arial,Helvetica,sans-serif;font-size:17px;line-height:1.45;color:#111;"
    "max-width:42em;margin:0 auto;padding:12px}"
    "h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.6em}"
    "section{border-top:1px solid #ccc;padding-top:4px}"
    ".text{white-space:pre-wrap}pre{white-space:pre-wrap;font-size:14px}"
    "label{display:block;margin-top:10px;font-weight:bold}"
    "input[type=text],textarea,select{width:100%;box-sizing:border-box;font-size:17px;padding:8px}"
    "textarea{min-height:6em}"
    "button{font-size:17px;padding:10px 18px;margin-top:10px}"
    ".notice{background:#e6f2e6;border-left:4px solid #2e7d32;padding:8px}"
    ".problem{background:#fdecea;border-left:4px solid #b71c1c;padding:8px}"
)
CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
SECURITY_HEADERS = {
    # No script at all; the one inline style sheet by its hash; forms post only back here.
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{CSS_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # The token is in the address: never sent on to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
CSRF_COOKIE = "csrf"


class PageRefusal(Exception):
    """A request the page refuses as a whole: a plain page with this status and text."""

    def __init__(self, status: int, title: str, text: str, *, renew: bool = False) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.text = text
        self.renew = renew


@dataclass
class Visit:
    """One request on a genuine, unexpired link, by a person still on the escalation."""

    token: str
    person: Person
    esc: Escalation
    values: dict[str, str] = field(default_factory=dict)


def esc_html(text: str) -> str:
    return html.escape(text, quote=True)


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc_html(title)}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def secured(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(SECURITY_HEADERS)
    return response


def add_page_routes(app: web.Application, services: Any) -> None:
    """The secure page's routes on `serve`'s application."""
    page = SecurePage(services)
    app.router.add_get("/p/{token}", page.show)
    app.router.add_get("/p/{token}/export", page.export)
    for action, handler in (
        ("note", page.note),
        ("agree", page.agree),
        ("not-agreed", page.not_agreed),
        ("done", page.done),
        ("resolve", page.resolve),
        ("renew", page.renew),
    ):
        app.router.add_post(f"/p/{{token}}/{action}", handler)


class SecurePage:
    """The page's handlers. Each reads its request on the event loop and does everything else (the
    link's checks, the command, the page it renders) in one step in the storage thread."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.run = services.storage_thread.run

    @property
    def bot(self):
        return self.services.bot

    # -- access ----------------------------------------------------------------------------

    def _visit(self, token: str) -> Visit:
        links = self.services.links
        if links is None:
            raise PageRefusal(404, "Not available", "This server does not serve personal pages.")
        try:
            link = links.read(token, self.bot.clock.now())
        except LinkRefused:
            log.info("page: refused a link without a valid signature")
            raise PageRefusal(
                403,
                "This link is not valid",
                "This link is not valid: it may have been changed or copied wrongly. Open the link "
                "from your email again, exactly as it was sent.",
            ) from None
        except LinkExpired:
            raise PageRefusal(
                410,
                "This link has expired",
                "This link has expired. We can send a new one to the email address your "
                "partnership has for you.",
                renew=True,
            ) from None
        return self._on_escalation(token, link.person_id, link.escalation_id)

    def _on_escalation(self, token: str, person_id: str, escalation_id: str) -> Visit:
        person = self.bot.person(person_id)
        if person is None or not person.active:
            raise PageRefusal(
                403, "No longer available", "This link no longer works: you no longer use the escalation bot."
            )
        try:
            esc = self.bot.visible(person.id, escalation_id)
        except Refused as exc:
            raise PageRefusal(403, "No longer available", str(exc)) from None
        return Visit(token, person, esc)

    async def _form(self, request: web.Request, token: str) -> dict[str, str]:
        """The posted fields, bounded, after the CSRF check: a hidden field derived from the link,
        matched by a SameSite=Strict cookie the page set."""
        if request.content_type != "application/x-www-form-urlencoded":
            raise PageRefusal(400, "Not a form", "Please use the forms on your page.")
        raw = await request.content.read(MAX_FORM_BYTES + 1)
        if len(raw) > MAX_FORM_BYTES:
            raise PageRefusal(413, "Too long", "That was too long to record. Please shorten it.")
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            raise PageRefusal(400, "Not a form", "Please use the forms on your page.") from None
        values = {k: v.replace("\r\n", "\n") for k, v in pairs if k in FIELD_LIMITS}
        links = self.services.links
        given, cookie = values.get("csrf", ""), request.cookies.get(CSRF_COOKIE, "")
        if not (links.form_token_ok(token, given) and links.form_token_ok(token, cookie)):
            log.info("page: refused a form without its CSRF token")
            raise PageRefusal(
                403,
                "Form refused",
                "This form did not come from your page, so nothing was recorded. Open the link from "
                "your email and try again.",
            )
        return values

    # -- pages -----------------------------------------------------------------------------

    async def show(self, request: web.Request) -> web.StreamResponse:
        return await self.run(
            self._show, request.match_info["token"], DONE.get(request.query.get("done", ""))
        )

    def _show(self, token: str, notice: str | None) -> web.StreamResponse:
        try:
            visit = self._visit(token)
        except PageRefusal as refusal:
            return self._refusal(token, refusal)
        return self._page(visit, notice=notice)

    async def export(self, request: web.Request) -> web.StreamResponse:
        return await self.run(self._export, request.match_info["token"])

    def _export(self, token: str) -> web.StreamResponse:
        try:
            visit = self._visit(token)
        except PageRefusal as refusal:
            return self._refusal(token, refusal)
        record = self.bot.export(visit.person.id, visit.esc.id)
        response = web.Response(
            body=record.encode("utf-8"),
            content_type="text/markdown",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{visit.esc.id}-case-record.md"'},
        )
        return secured(response)

    # -- actions ---------------------------------------------------------------------------

    async def note(self, request: web.Request) -> web.StreamResponse:
        def command(visit: Visit, values: dict[str, str]) -> Command:
            form = values.get("form", "")
            return AddNote(
                actor=visit.person.id,
                escalation_id=visit.esc.id,
                discussed=values.get("discussed", ""),
                form=form if form in FORMS else "Other",
                involved=values.get("involved", ""),
                outcome=values.get("outcome", ""),
            )

        return await self._act(request, "note", command)

    async def agree(self, request: web.Request) -> web.StreamResponse:
        return await self._act(
            request,
            "agree",
            lambda v, _: AnswerProposal(actor=v.person.id, escalation_id=v.esc.id, agree=True),
        )

    async def not_agreed(self, request: web.Request) -> web.StreamResponse:
        def command(visit: Visit, values: dict[str, str]) -> Command:
            return AnswerProposal(
                actor=visit.person.id,
                escalation_id=visit.esc.id,
                agree=False,
                reason=values.get("reason", ""),
            )

        return await self._act(request, "not-agreed", command)

    async def done(self, request: web.Request) -> web.StreamResponse:
        def command(visit: Visit, values: dict[str, str]) -> Command:
            index = values.get("index", "")
            if not index.isdigit():
                raise InvalidInput({"index": "Choose one of your agreed actions."})
            return ActionDone(actor=visit.person.id, escalation_id=visit.esc.id, index=int(index))

        return await self._act(request, "done", command)

    async def resolve(self, request: web.Request) -> web.StreamResponse:
        def command(visit: Visit, values: dict[str, str]) -> Command:
            agreed = tuple(line.strip() for line in values.get("agreed", "").splitlines() if line.strip())
            return Resolve(
                actor=visit.person.id,
                escalation_id=visit.esc.id,
                outcome=values.get("outcome", ""),
                agreed_actions=agreed,
            )

        return await self._act(request, "resolve", command)

    async def _act(
        self, request: web.Request, done: str, command: Callable[[Visit, dict[str, str]], Command]
    ) -> web.StreamResponse:
        token = request.match_info["token"]
        try:
            visit = await self.run(self._visit, token)
            values = await self._form(request, token)
        except PageRefusal as refusal:
            return self._refusal(token, refusal)
        visit.values = values
        too_long = [
            f"{FIELD_NAMES.get(k, k)}: please keep this under {FIELD_LIMITS[k]} characters."
            for k, v in values.items()
            if len(v) > FIELD_LIMITS[k]
        ]
        if too_long:
            return await self.run(self._page, visit, problem=" ".join(too_long), status=400)
        refused = await self.run(self._command, visit, command)
        if refused is not None:
            return refused
        self.services.loop.poke()
        # Post, redirect, get: a reload never records anything twice.
        raise web.HTTPSeeOther(f"/p/{token}?done={done}", headers=SECURITY_HEADERS)

    def _command(
        self, visit: Visit, command: Callable[[Visit, dict[str, str]], Command]
    ) -> web.StreamResponse | None:
        """Do what the form asks; the page again with the problem if it is refused, else None."""
        try:
            self.bot.handle(command(visit, visit.values))
        except Refused as exc:
            return self._page(visit, problem=str(exc), status=403)
        except InvalidInput as exc:
            return self._page(visit, problem=str(exc), status=400)
        return None

    async def renew(self, request: web.Request) -> web.StreamResponse:
        """An expired (but genuinely signed) link asks for a fresh one: sent once, by email, to the
        directory address of the person it names, whoever presses the button."""
        token = request.match_info["token"]
        links = self.services.links
        if links is None:
            return self._refusal(token, PageRefusal(404, "Not available", "This server serves no pages."))
        now = self.bot.clock.now()
        try:
            link = links.read(token, now)
        except LinkRefused:
            return self._refusal(token, PageRefusal(403, "This link is not valid", "This link is not valid."))
        except LinkExpired as expired:
            link = expired.link
        try:
            await self._form(request, token)
            visit = await self.run(self._on_escalation, token, link.person_id, link.escalation_id)
        except PageRefusal as refusal:
            return self._refusal(token, refusal)
        await self.run(self._send_new_link, token, visit, now)
        self.services.loop.poke()
        body = (
            "<h1>We've sent you a new link</h1><p>A new link is on its way to the email address your "
            "partnership has for you. It may take a few minutes.</p>"
        )
        return secured(web.Response(text=_document("New link sent", body), content_type="text/html"))

    def _send_new_link(self, token: str, visit: Visit, now: datetime) -> None:
        store = self.bot.store
        key = hashlib.sha256(token.encode()).hexdigest()
        with store.transaction():
            # One fresh link per expired one: pressing again, or a stranger holding the old email,
            # sends nothing more.
            if store.first_sight("page-link-renewal", key, now=now) and visit.person.email:
                text = (
                    f"Your new link to {visit.esc.id}\n{notices.heading(visit.esc)}\n"
                    f"Here is a new link to your page for {visit.esc.id}, as asked for on the page."
                )
                store.enqueue(
                    [
                        Message(
                            to=visit.person.id,
                            text=text,
                            kind=MessageKind.NOTICE,
                            escalation_id=visit.esc.id,
                            data={"via": "email"},
                        )
                    ],
                    now=now,
                )

    # -- rendering -------------------------------------------------------------------------

    def _refusal(self, token: str, refusal: PageRefusal) -> web.StreamResponse:
        body = f"<h1>{esc_html(refusal.title)}</h1><p>{esc_html(refusal.text)}</p>"
        response = web.Response(
            text="", content_type="text/html", status=refusal.status
        )  # the body is set below, once the form token is known
        if refusal.renew and self.services.links is not None:
            csrf = self.services.links.form_token(token)
            body += (
                f'<form method="post" action="/p/{esc_html(token)}/renew">'
                f'<input type="hidden" name="csrf" value="{esc_html(csrf)}">'
                '<button type="submit">Send me a new link</button></form>'
            )
            self._set_cookie(response, token, csrf)
        response.text = _document(refusal.title, body)
        return secured(response)

    def _set_cookie(self, response: web.Response, token: str, csrf: str) -> None:
        secure = str(self.services.settings.public_url or "").startswith("https://")
        response.set_cookie(
            CSRF_COOKIE, csrf, path=f"/p/{token}", httponly=True, samesite="Strict", secure=secure
        )

    def _page(
        self, visit: Visit, *, notice: str | None = None, problem: str | None = None, status: int = 200
    ) -> web.StreamResponse:
        esc, person, token = visit.esc, visit.person, visit.token
        csrf = self.services.links.form_token(token)
        allowed = choices(esc, person.id, self.bot.ledger)
        parts = [
            f"<h1>{esc_html(notices.heading(esc))}</h1>",
            f"<p>For {esc_html(person.describe())}. This page is for you alone: please don't forward its "
            "link. What you do here is recorded in your name.</p>",
        ]
        if notice:
            parts.append(f'<p class="notice" role="status">{esc_html(notice)}</p>')
        if problem:
            parts.append(f'<p class="problem" role="alert">{esc_html(problem)}</p>')
        if not esc.is_open:
            parts.append(f"<p><strong>This difference is {esc_html(esc.status)}.</strong></p>")
        parts += self._proposal(visit, allowed, csrf)
        parts += self._actions_to_do(visit, allowed, csrf)
        parts.append(self._note_form(visit, csrf))
        parts += self._resolve_form(visit, allowed, csrf)
        parts.append(
            f'<section><h2>The case</h2><div class="text">'
            f"{esc_html(self.bot.show(person.id, esc.id))}</div></section>"
        )
        parts.append(
            "<section><h2>The record</h2>"
            f'<p><a href="/p/{esc_html(token)}/export" download>Download the case record</a> '
            "(for the child's file).</p>"
            f"<details><summary>Show the record here</summary><pre>"
            f"{esc_html(self.bot.export(person.id, esc.id))}</pre></details></section>"
        )
        response = web.Response(
            text=_document(f"{esc.id}: escalation", "\n".join(parts)), content_type="text/html", status=status
        )
        self._set_cookie(response, token, csrf)
        return secured(response)

    def _hidden(self, csrf: str) -> str:
        return f'<input type="hidden" name="csrf" value="{esc_html(csrf)}">'

    def _proposal(self, visit: Visit, allowed: Choices, csrf: str) -> list[str]:
        proposal = allowed.proposal_to_answer
        if proposal is None:
            return []
        lookup = self.bot.person
        actions = "".join(f"<li>{esc_html(a)}</li>" for a in proposal.agreed_actions)
        reason = esc_html(visit.values.get("reason", ""))
        base = f"/p/{esc_html(visit.token)}"
        return [
            "<section><h2>Resolved? Your answer is needed</h2>",
            f"<p>{esc_html(name(proposal.by, lookup))} proposes that this difference is resolved.</p>",
            f'<p><strong>Outcome:</strong> <span class="text">{esc_html(proposal.outcome)}</span></p>',
            f"<p><strong>Agreed actions:</strong></p><ul>{actions}</ul>" if actions else "",
            f'<form method="post" action="{base}/agree">{self._hidden(csrf)}'
            '<button type="submit" name="answer" value="agree">Agree: it is resolved</button></form>',
            f'<form method="post" action="{base}/not-agreed">{self._hidden(csrf)}'
            '<label for="reason">Not agreed: why not? (the other side is told)</label>'
            f'<textarea id="reason" name="reason" maxlength="{MAX_TEXT}" required>{reason}</textarea>'
            '<button type="submit">Not agreed</button></form>',
            "</section>",
        ]

    def _actions_to_do(self, visit: Visit, allowed: Choices, csrf: str) -> list[str]:
        if not allowed.actions_to_do:
            return []
        items = []
        for action in allowed.actions_to_do:
            by = when(datetime.fromisoformat(action.by))
            items.append(
                f"<li>{esc_html(action.what)} (by {esc_html(by)})"
                f'<form method="post" action="/p/{esc_html(visit.token)}/done">{self._hidden(csrf)}'
                f'<input type="hidden" name="index" value="{action.index}">'
                '<button type="submit">Done</button></form></li>'
            )
        return ["<section><h2>Your agreed actions</h2><ul>", *items, "</ul></section>"]

    def _resolve_form(self, visit: Visit, allowed: Choices, csrf: str) -> list[str]:
        if not allowed.may_resolve:
            return []
        values = visit.values if "agreed" in visit.values else {}
        if allowed.resolve_closes:
            what = "Record what was agreed. This closes the difference and everyone on it is told."
        else:
            raiser = name(visit.esc.raiser, self.bot.person)
            what = (
                f"Say what was agreed. {raiser}'s side raised this difference, so they are asked to "
                "agree it is resolved; until then it stays open."
            )
        return [
            "<section><h2>Is it resolved?</h2>",
            f"<p>{esc_html(what)}</p>",
            f'<form method="post" action="/p/{esc_html(visit.token)}/resolve">{self._hidden(csrf)}'
            '<label for="resolve-outcome">What was agreed</label>'
            f'<textarea id="resolve-outcome" name="outcome" maxlength="{MAX_TEXT}" required>'
            f"{esc_html(values.get('outcome', ''))}</textarea>"
            '<label for="agreed">Agreed actions, one per line (optional)</label>'
            f'<textarea id="agreed" name="agreed" maxlength="{MAX_TEXT}">'
            f"{esc_html(values.get('agreed', ''))}</textarea>"
            '<button type="submit">It is resolved</button></form>',
            "</section>",
        ]

    def _note_form(self, visit: Visit, csrf: str) -> str:
        values = visit.values
        chosen = values.get("form", "")
        options = "".join(
            f"<option{' selected' if f == chosen else ''}>{esc_html(f)}</option>" for f in FORMS
        )

        def text(key: str) -> str:
            return esc_html(values.get(key, "")) if "discussed" in values else ""

        return (
            "<section><h2>Add a note</h2>"
            "<p>For the record: how you spoke, who was involved, what was discussed and the outcome.</p>"
            f'<form method="post" action="/p/{esc_html(visit.token)}/note">{self._hidden(csrf)}'
            f'<label for="form">How</label><select id="form" name="form">{options}</select>'
            f'<label for="involved">Who was involved</label>'
            f'<input type="text" id="involved" name="involved" maxlength="{MAX_SHORT}" '
            f'value="{text("involved")}">'
            f'<label for="discussed">What was discussed</label>'
            f'<textarea id="discussed" name="discussed" maxlength="{MAX_TEXT}" required>'
            f"{text('discussed')}</textarea>"
            f'<label for="outcome">Outcome</label>'
            f'<textarea id="outcome" name="outcome" maxlength="{MAX_TEXT}">{text("outcome")}</textarea>'
            '<button type="submit">Record the note</button></form></section>'
        )
