"""The Slack listeners: each translates a Slack payload to a core command or query, and back."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ParamSpec, TypeVar

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.acknowledgements import AcknowledgementsFirst
from adapters.agreed_actions import owned_rows
from adapters.inbox import Inbox
from adapters.slack import blocks, forms, payloads
from adapters.slack.identity import add_person, current_team, find_person
from adapters.slack.prompt_ack import answer_promptly
from adapters.slack.report import report_subcommand
from adapters.slack.sender import PLATFORM, sent_as, thread_kind
from adapters.slack.workspaces import Workspaces
from adapters.storage_thread import StorageThread
from bot.commands import (
    ActionDone,
    AddNote,
    AnswerProposal,
    CorrectNote,
    DetailNote,
    EscalateStage,
    MarkUrgent,
    MilestoneDone,
    NameManager,
    NameRoleHolder,
    RaiseEscalation,
    Reopen,
    Resolve,
    SetEarlierDue,
    Withdraw,
)
from bot.core import EscalationBot
from bot.errors import InvalidInput, Refused
from bot.escalation import Escalation
from bot.listing import Listing
from bot.messages import NOTE_FORMS, ActionKind, Message, MessageKind
from bot.notices import timeline_preview
from bot.people import Newcomer, Person, search
from bot.policy.text import describe_policy
from bot.storage import Storage
from bot.timeline import plan_timeline
from bot.wording import clip

log = logging.getLogger("escalation_bot.slack")
P = ParamSpec("P")
T = TypeVar("T")

HELP = (
    "*/escalate* — raise a professional difference (a form opens)\n"
    "*/escalate list* — your escalations\n"
    "*/escalate show E-0001* — the summary and history\n"
    "*/escalate export E-0001* — the case record for the child's file, sent to you\n"
    "*/escalate policy [id]* — the stages, timescales and emergency numbers\n"
    "*/escalate report [policy] [from] [to]* — partnership admins: the learning report, as a file\n"
    "*/escalate digests on|off*, */escalate monthly on|off* — the overdue digests (admins; safeguarding "
    "leads for their agency) and the monthly report (admins)\n"
    "*/escalate help* — this list\n"
    "Reply in the thread under a case message to add a note."
)
# Slack shows at most 100 options; a list longer than a phone screen helps nobody choose.
OPTIONS_SHOWN = 20
NOT_IN_DIRECTORY = (
    "You're not in the bot's directory yet. Type /escalate on its own to raise a difference: "
    "the form will ask for your agency and role."
)

NOT_INSTALLED = (
    "The escalation bot is not installed in this Slack workspace, so it cannot answer here yet. "
    "Please ask your IT admin to install it: they open /slack/install on the bot's server."
)


@dataclass
class SlackContext:
    """What the listeners share. The database is reached only through `storage_thread`: every
    listener's reads and writes run there, never on the event loop (tests/fakes/off_loop.py)."""

    bot: EscalationBot
    client: AsyncWebClient
    default_policy: str
    on_queued: Any  # called after a command queued messages, to deliver them promptly
    storage_thread: StorageThread
    # Requests still to be acknowledged, which the work after an acknowledgement lets go first.
    acks: AcknowledgementsFirst = field(default_factory=AcknowledgementsFirst)
    # The client for each workspace; without it, `client` serves every request (one workspace).
    workspaces: Workspaces | None = None
    inbox: Inbox = field(init=False)
    # The raise forms built this minute, by what they depend on: a burst of `/escalate` opens
    # fifty of the same form, and each took a millisecond of the event loop to build.
    _raise_views: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.inbox = Inbox(
            self.bot.store, self.bot.clock, PLATFORM, self._handle_kept, self.storage_thread, self.acks
        )

    async def _handle_kept(self, kept: dict[str, Any]) -> None:
        await handle_inbox_event(self, kept)

    @property
    def store(self):
        return self.bot.store

    async def web(self) -> AsyncWebClient:
        """The Web API client for the workspace of the request (or inbox event) being handled."""
        if self.workspaces is None:
            return self.client
        return await self.workspaces.client(current_team.get())

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` in the storage thread: how a listener reads or writes."""
        return await self.storage_thread.run(fn, *args, **kwargs)

    async def person(self, user_id: str) -> Person | None:
        return await find_person(
            self.store, self.storage_thread, await self.web(), user_id, refused=self.refuse_claim
        )

    async def add_person(self, user_id: str, *, agency: str, role: str) -> Person:
        return await add_person(
            self.store, self.storage_thread, await self.web(), user_id, agency=agency, role=role
        )

    async def refuse_claim(self, person_id: str) -> None:
        how = "by the email address on their Slack profile"
        await self.run(self.bot.refuse_identity_claim, person_id, "Slack", how)
        self.on_queued()

    async def handle(self, command) -> list[Message]:
        messages = await self.run(self.bot.handle, command)
        self.on_queued()
        return messages

    async def tell(self, user_id: str, text: str, channel: str | None = None) -> None:
        """A private message: ephemeral where there is a channel, else a DM."""
        client = await self.web()
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user_id, text=blocks.escape(text))
        else:
            await client.chat_postMessage(channel=user_id, text=blocks.escape(text))

    def raise_view(self, *, policy_id: str, risk_now: bool | None, ask_about_me: bool) -> dict[str, Any]:
        """The raise form, its timeline previewed from the start of this minute (the raise itself
        is timed when it is sent). Shared by everyone opening it this minute: not to be changed."""
        now = self.bot.clock.now().replace(second=0, microsecond=0)
        key = (policy_id, risk_now, ask_about_me, now)
        view = self._raise_views.get(key)
        if view is None:
            if any(k[-1] != now for k in self._raise_views):
                self._raise_views.clear()  # an earlier minute's
            view = self._raise_views[key] = self._build_raise_view(policy_id, risk_now, ask_about_me, now)
        return view

    def _build_raise_view(
        self, policy_id: str, risk_now: bool | None, ask_about_me: bool, now: datetime
    ) -> dict[str, Any]:
        library = self.bot.policies
        policy = library.policies.get(policy_id) or library.get(self.default_policy)
        stages = plan_timeline(policy, now, urgent=bool(risk_now), calendar=self.bot.calendar)
        return blocks.raise_modal(
            policies=[library.policies[i] for i in library.ids()],
            policy=policy,
            risk_now=risk_now,
            emergency=self.bot.emergency_guidance(policy.id) if risk_now else None,
            ask_about_me=ask_about_me,
            preview=timeline_preview(stages),
            suggested_target=self.bot.suggested_target(now),
        )


class BeforeListeners(AsyncMiddleware):
    """What every request passes before any listener: its workspace noted, a Socket Mode payload
    checked, a message that may be a note kept. One middleware, and a class: bolt works out a
    function middleware's arguments on every request, before its acknowledgement."""

    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        ctx, body = self.ctx, req.body
        # A Slack user id is bound to the workspace it belongs to.
        current_team.set(req.context.team_id)
        # Over HTTP the server checked the payload before bolt saw it; a Socket Mode envelope comes
        # straight here, so it is checked here, by the same schemas.
        problem = payloads.problem(body) if req.mode == "socket_mode" else None
        if problem:
            log.info("refused a malformed Slack payload (%s)", problem.split(":", 1)[0])
            return BoltResponse(status=400, body=problem)
        # A message may be a note: stored before Slack is answered (the one write an answer waits
        # for), handled from the inbox. A retry of one already kept or handled (X-Slack-Retry-Num)
        # is answered and ignored.
        event = body.get("event") if body.get("type") == "event_callback" else None
        if isinstance(event, dict) and event.get("type") == "message":
            await ctx.inbox.keep(_event_key(body), {"team_id": body.get("team_id"), "event": event})
            return BoltResponse(status=200, body="")
        return await next()


def build_app(ctx: SlackContext, *, authorize: AsyncAuthorize | None = None) -> AsyncApp:
    """A bolt AsyncApp with every listener registered; the caller serves it over HTTP or Socket Mode.
    `authorize` finds each workspace's token (many workspaces); without it, ctx.client's serves."""
    app = AsyncApp(
        client=ctx.client,
        authorize=authorize,
        user_facing_authorize_error_message=NOT_INSTALLED,
        # Over HTTP the server checks each request's signature before bolt sees it (and hands bolt
        # the body it decoded, not the raw bytes bolt would check again); in Socket Mode Slack's own
        # connection authenticates.
        signing_secret="",
        request_verification_enabled=False,
        process_before_response=False,
    )

    app.use(BeforeListeners(ctx))
    answer_promptly(app)

    @app.command(re.compile(r"^/escalate"))
    async def escalate_command(ack, body, client, respond) -> None:
        text = " ".join((body.get("text") or "").split())
        sub, _, rest = text.partition(" ")
        user_id = body["user_id"]
        if not sub:
            await ack()  # the trigger id lives 3 seconds: acknowledge before any other work
            await ctx.acks.turn()  # under a burst, every acknowledgement before any form opens
            person = await ctx.person(user_id)
            view = ctx.raise_view(policy_id=ctx.default_policy, risk_now=None, ask_about_me=person is None)
            await client.views_open(trigger_id=body["trigger_id"], view=view)
            return
        # A long answer goes as several private messages. One that needs no database (help, a
        # policy) is the acknowledgement itself; any other is acknowledged first, then sent
        # through the command's response URL. Nothing is cut.
        reply = offline_answer(ctx, sub.lower(), rest)
        if reply is None:
            await ack()
            await ctx.acks.turn()
            payloads = blocks.reply_payloads(await subcommand(ctx, user_id, sub.lower(), rest), mrkdwn=True)
        else:
            first, *payloads = blocks.reply_payloads(reply, mrkdwn=True)
            await ack(response_type="ephemeral", **first)
        for payload in payloads:
            try:
                await respond(response_type="ephemeral", **payload)
            except (aiohttp.ClientError, OSError, TimeoutError, SlackApiError, ValueError) as exc:
                # What went first is with the person; the rest waits for them in `/escalate` again.
                log.warning("could not send (the rest of) an answer (%s)", type(exc).__name__)
                break

    @app.action("risk_now")
    @app.action("policy")
    async def raise_form_changed(ack, body, client) -> None:
        await ack()
        await ctx.acks.turn()
        view = body["view"]
        current = forms.values(view)
        meta = forms.metadata(view)
        risk = current.get("risk_now")
        risk_now = None if risk is None else risk == "yes"
        policy_id = current.get("policy") or meta.get("policy") or ctx.default_policy
        ask_about_me = any(b.get("block_id") == "my_agency" for b in view.get("blocks", []))
        new_view = ctx.raise_view(policy_id=policy_id, risk_now=risk_now, ask_about_me=ask_about_me)
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)

    async def settle_form(ack, view: dict[str, Any], build) -> None:
        """Handle a submitted modal's command: errors beside their fields (a refusal beside the
        first field), else close the modal. `build` makes the command, and may refuse too.
        Before the acknowledgement, in the storage thread: the core checks the command against the
        escalation as recorded, and its errors can be shown beside their fields only in the
        answer to the submission; what it records is small."""
        first_block = next((b["block_id"] for b in view["blocks"] if b.get("type") == "input"), "")
        try:
            await ctx.handle(build())
        except InvalidInput as exc:
            await ack(response_action="errors", errors=forms.errors_for(view, exc.errors))
            return
        except Refused as exc:
            await ack(response_action="errors", errors={first_block: str(exc)[:150]})
            return
        await ack()

    @app.view("escalate_raise")
    async def raise_submitted(ack, body) -> None:
        # Answered before the raise: what can be checked is checked first (the errors show beside
        # their fields only in this answer), then the submission is kept in the inbox (the one
        # write that makes the answer a promise) and the form closes. The raise follows from the
        # inbox, and the practitioner's confirmation comes as a message, as ever.
        view = body["view"]
        user_id = body["user"]["id"]
        person = await ctx.person(user_id)
        kept = {"team_id": current_team.get(), "raise": {"user_id": user_id, "view": view}}

        def check_and_keep() -> dict[str, str]:
            problems = raise_form_problems(ctx, user_id, view, person)
            if not problems:
                ctx.inbox.write(f"view:{view['id']}", kept)
            return problems

        problems = await ctx.run(check_and_keep)
        if problems:
            await ack(response_action="errors", errors=problems)
            return
        await ack()
        ctx.inbox.poke()

    @app.action(
        re.compile(
            r"^esc:(add_note|resolve|agree_resolved|not_agreed|escalate|withdraw|set_earlier_due|mark_urgent|show)$"
        )
    )
    async def case_button(ack, body, client, action) -> None:
        await ack()
        await ctx.acks.turn()
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        escalation_id = action.get("value", "")
        person = await ctx.person(user_id)
        try:
            if person is None:
                raise Refused(NOT_IN_DIRECTORY)
            esc = await ctx.run(ctx.bot.visible, person.id, escalation_id)
        except Refused as exc:
            await ctx.tell(user_id, str(exc), channel)
            return
        kind = action["action_id"].split(":", 1)[1]
        if kind == "show":
            text = await ctx.run(ctx.bot.show, person.id, esc.id)
            shown = blocks.sections(text)
            if len(shown) > blocks.MODAL_BLOCKS:
                # Longer than a modal holds: send it to the person's chat with the bot instead.
                for payload in blocks.reply_payloads(text):
                    await client.chat_postMessage(channel=user_id, **payload)
                return
            view = {
                "type": "modal",
                "title": blocks.plain(esc.id, 24),
                "close": blocks.plain("Close", 24),
                "blocks": shown,
            }
        elif not esc.is_open and kind != "add_note":
            await ctx.tell(user_id, f"{esc.id} is already {esc.status}.", channel)
            return
        elif kind == "add_note":
            view = blocks.note_modal(esc.id)
        elif kind == "resolve":
            view = blocks.resolve_modal(esc.id, await ctx.run(_owners, ctx.bot, esc))
        elif kind == "escalate":
            if esc.at_final_stage:
                await ctx.tell(user_id, f"{esc.id} is at the final stage of the policy.", channel)
                return
            following = esc.policy.stage(esc.stage.number + 1)
            needs_target = not following.timescale(urgent=esc.urgent).given
            view = blocks.next_stage_modal(
                esc.id,
                next_title=f"Stage {following.number}: {following.title}",
                suggested_target=ctx.bot.suggested_target(ctx.bot.clock.now()) if needs_target else None,
            )
        elif kind == "agree_resolved":
            # One tap: agreeing needs nothing more than the proposal already says.
            try:
                await ctx.handle(AnswerProposal(actor=person.id, escalation_id=esc.id, agree=True))
            except (Refused, InvalidInput) as exc:
                await ctx.tell(user_id, str(exc), channel)
            return
        elif kind == "not_agreed":
            view = blocks.not_agreed_modal(esc.id)
        elif kind == "withdraw":
            view = blocks.withdraw_modal(esc.id)
        elif kind == "mark_urgent":
            view = blocks.urgent_modal(esc.id, esc.policy.urgent_when)
        else:
            view = blocks.due_modal(esc.id, esc.stage.due)
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(re.compile(r"^esc:note_(phone|meeting|email|message|details)$"))
    async def note_detail_button(ack, body, client, action) -> None:
        await ack()
        await ctx.acks.turn()
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        escalation_id, _, note = str(action.get("value") or "").partition("|")
        person = await ctx.person(user_id)
        if person is None or not note.isdigit():
            await ctx.tell(
                user_id, NOT_IN_DIRECTORY if person is None else "That button has expired.", channel
            )
            return
        kind = ActionKind(action["action_id"].removeprefix("esc:"))
        if kind is ActionKind.NOTE_DETAILS:
            await client.views_open(
                trigger_id=body["trigger_id"], view=blocks.note_details_modal(escalation_id, int(note))
            )
            return
        try:
            await ctx.handle(
                DetailNote(
                    actor=person.id, escalation_id=escalation_id, note=int(note), form=NOTE_FORMS[kind]
                )
            )
        except (Refused, InvalidInput) as exc:
            await ctx.tell(user_id, str(exc), channel)

    @app.view("escalate_note_details")
    async def note_details_submitted(ack, body) -> None:
        view = body["view"]
        meta = forms.metadata(view)
        person = await ctx.person(body["user"]["id"])
        if person is None or not isinstance(meta.get("note"), int):
            await ack(response_action="errors", errors={"involved": NOT_IN_DIRECTORY[:150]})
            return
        v = forms.values(view)
        await settle_form(
            ack,
            view,
            lambda: DetailNote(
                actor=person.id,
                escalation_id=str(meta.get("id") or ""),
                note=meta["note"],
                involved=v.get("involved") or "",
                outcome=v.get("outcome") or "",
            ),
        )

    def _done(escalation_id: str, ref: str, actor: str, kind: str):
        if kind == "action_done":
            if not ref.isdigit():
                raise Refused("That button has expired.")
            return ActionDone(actor=actor, escalation_id=escalation_id, index=int(ref))
        return MilestoneDone(actor=actor, escalation_id=escalation_id, milestone=ref)

    @app.action(re.compile(r"^esc:(action_done|milestone_done)$"))
    async def done_button(ack, body, action) -> None:
        # One tap: an agreed action or a policy's step is done. The value names the case and which.
        await ack()
        await ctx.acks.turn()
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        escalation_id, _, ref = str(action.get("value") or "").partition("|")
        person = await ctx.person(user_id)
        try:
            if person is None:
                raise Refused(NOT_IN_DIRECTORY)
            kind = action["action_id"].removeprefix("esc:")
            await ctx.handle(_done(escalation_id, ref, person.id, kind))
        except (Refused, InvalidInput) as exc:
            await ctx.tell(user_id, str(exc), channel)

    @app.action("esc:reopen")
    async def reopen_button(ack, body, client, action) -> None:
        await ack()
        await ctx.acks.turn()
        view = blocks.reopen_modal(str(action.get("value") or ""))
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    async def picked(action, *, agency: str, role: str) -> Person | None:
        """Who a message's picker names: a directory person from the search, or someone in this
        workspace (added to the directory with `agency` and `role` if new). A leaver is refused."""
        if action.get("type") == "external_select":
            value = (action.get("selected_option") or {}).get("value")
            chosen = await ctx.run(search.chosen, ctx.store, value)
        else:
            user = action.get("selected_user")
            chosen = await ctx.person(user) if user else None
            if user and chosen is None:
                chosen = await ctx.add_person(user, agency=agency, role=role)
        if chosen is not None and not chosen.active:
            raise Refused(f"{chosen.name} has left. Choose who now does their work.")
        return chosen

    @app.options(re.compile(r"^(counterpart|esc:name_manager|esc:name_role_holder)$"))
    async def people_options(ack, body) -> None:
        """The people menus' search: the partnership's directory, as the person types. The answer
        is the acknowledgement, so the search (in the storage thread) comes before it."""
        found = await ctx.run(ctx.bot.find_people, str(body.get("value") or ""), limit=OPTIONS_SHOWN)
        await ack(options=blocks.people_options(found))

    @app.action(re.compile(r"^esc:name_manager(:workspace)?$"))
    async def manager_named(ack, body, client, action) -> None:
        await ack()
        await ctx.acks.turn()
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        person = await ctx.person(user_id)
        if person is None:
            await ctx.tell(user_id, NOT_IN_DIRECTORY, channel)
            return
        try:
            # Line managers are usually in the same agency; the directory can correct it later.
            manager = await picked(action, agency=person.agency, role="Line manager")
        except Refused as exc:
            await ctx.tell(user_id, str(exc), channel)
            return
        if manager is None:
            await ctx.tell(user_id, "Choose your line manager in the picker.", channel)
            return
        try:
            await ctx.handle(NameManager(actor=person.id, person=person.id, manager=manager.id))
        except (Refused, InvalidInput) as exc:
            await ctx.tell(user_id, str(exc), channel)

    @app.action(re.compile(r"^esc:name_role_holder(:workspace)?$"))
    async def role_holder_named(ack, body, client, action) -> None:
        await ack()
        await ctx.acks.turn()
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        person = await ctx.person(user_id)
        block_id = action.get("block_id") or ""
        if person is None or not block_id.startswith("question:"):
            await ctx.tell(user_id, NOT_IN_DIRECTORY if person is None else "Choose someone.", channel)
            return
        question_id = int(block_id.removeprefix("question:"))
        try:
            # Before anyone is added to the directory.
            question = await ctx.run(ctx.bot.role_question, person.id, question_id)
            agency = question.data.get("agency") or person.agency
            holder = await picked(action, agency=agency, role="Professional")
            if holder is None:
                raise Refused("Choose someone in the picker.")
            await ctx.handle(NameRoleHolder(actor=person.id, question_id=question_id, person=holder.id))
        except (Refused, InvalidInput) as exc:
            await ctx.tell(user_id, str(exc), channel)

    def _submitted(callback_id: str, build):
        @app.view(callback_id)
        async def submitted(ack, body) -> None:
            view = body["view"]
            person = await ctx.person(body["user"]["id"])
            escalation_id = forms.metadata(view).get("id", "")
            if person is None:
                first_block = next(b["block_id"] for b in view["blocks"] if b.get("type") == "input")
                await ack(response_action="errors", errors={first_block: NOT_IN_DIRECTORY[:150]})
                return
            await settle_form(ack, view, lambda: build(person.id, escalation_id, forms.values(view)))

        return submitted

    _submitted(
        "escalate_note",
        lambda actor, esc, v: AddNote(
            actor=actor,
            escalation_id=esc,
            discussed=v.get("discussed") or "",
            form=v.get("form") or "Other",
            involved=v.get("involved") or "",
            outcome=v.get("outcome") or "",
        ),
    )
    _submitted(
        "escalate_resolve",
        lambda actor, esc, v: Resolve(
            actor=actor,
            escalation_id=esc,
            outcome=v.get("outcome") or "",
            agreed_actions=tuple((v.get("agreed_actions") or "").splitlines()),
            owned=owned_rows(v, lambda d: d if isinstance(d, date) else None),
        ),
    )
    _submitted(
        "escalate_reopen",
        lambda actor, esc, v: Reopen(actor=actor, escalation_id=esc, reason=v.get("reason") or ""),
    )
    _submitted(
        "escalate_not_agreed",
        lambda actor, esc, v: AnswerProposal(
            actor=actor, escalation_id=esc, agree=False, reason=v.get("reason") or ""
        ),
    )
    _submitted(
        "escalate_next",
        lambda actor, esc, v: EscalateStage(
            actor=actor, escalation_id=esc, reason=v.get("reason") or "", target_due=v.get("target_due")
        ),
    )
    _submitted(
        "escalate_withdraw",
        lambda actor, esc, v: Withdraw(actor=actor, escalation_id=esc, reason=v.get("reason") or ""),
    )
    _submitted(
        "escalate_urgent",
        lambda actor, esc, v: MarkUrgent(actor=actor, escalation_id=esc, reason=v.get("reason") or ""),
    )
    _submitted(
        "escalate_due",
        lambda actor, esc, v: _earlier_due(actor, esc, v),
    )

    @app.event("app_home_opened")
    async def home_opened(body, event, client) -> None:
        if event.get("tab") not in (None, "home"):
            return
        await ctx.acks.turn()
        # Once per event, checked after bolt has answered it: a retry (X-Slack-Retry-Num) of one
        # already seen is ignored.
        event_id = body.get("event_id")
        now = ctx.bot.clock.now()
        if event_id and not await ctx.run(ctx.store.first_sight, PLATFORM, event_id, now=now):
            return
        user_id = event["user"]
        person = await ctx.person(user_id)
        shown = (
            await ctx.run(ctx.bot.list_for, person.id, limit=HOME_SHOWN)
            if person
            else Listing([], 0, ctx.bot.clock.now())
        )
        soon = ctx.bot.calendar.working_days_after(shown.now, 1)
        view = blocks.home_view(
            shown, ctx.bot.calendar, due_soon_before=soon, viewer=person.id if person else ""
        )
        await client.views_publish(user_id=user_id, view=view)

    return app


def _owners(bot: EscalationBot, esc: Escalation) -> list[tuple[str, str]]:
    """Who may own an agreed action, by name: the people on the escalation now."""
    found = [(p, bot.store.person(p)) for p in esc.current_people()]
    return [(p, person.name if person else p) for p, person in found]


def _earlier_due(actor: str, escalation_id: str, v: dict[str, Any]) -> SetEarlierDue:
    due = v.get("due")
    if due is None:
        raise InvalidInput({"due": "Choose the new due date and time."})
    return SetEarlierDue(actor=actor, escalation_id=escalation_id, due=due, reason=v.get("reason") or "")


def _event_key(body: dict[str, Any]) -> str:
    """Slack's event id; failing that, what identifies the message itself."""
    if isinstance(body.get("event_id"), str) and body["event_id"]:
        return body["event_id"]
    event = body["event"]
    return ":".join(str(event.get(k) or "") for k in ("channel", "subtype", "ts", "event_ts"))


async def handle_inbox_event(ctx: SlackContext, kept: dict[str, Any]) -> None:
    """Handle a message event or a raise form from the inbox, as the person in the workspace it
    came from."""
    current_team.set(kept.get("team_id"))
    if "raise" in kept:
        await raise_kept(ctx, kept["raise"])
        return
    await on_message(ctx, kept["event"])


def _newcomer(v: dict[str, Any]) -> Newcomer:
    return Newcomer(
        name=v.get("counterpart_name") or "",
        agency=v.get("counterpart_agency") or "",
        role=v.get("counterpart_role") or "",
        email=v.get("counterpart_email") or "",
    )


def raise_command(
    ctx: SlackContext, actor: str, view: dict[str, Any], other: Person | None
) -> RaiseEscalation:
    """The raise a submitted form asks for, by `actor`, with `other` (or the newcomer it names)."""
    v = forms.values(view)
    return RaiseEscalation(
        actor=actor,
        policy_id=v.get("policy") or ctx.default_policy,
        case_reference=v.get("case_reference") or "",
        counterpart=other.id if other else "",
        newcomer=None if other else _newcomer(v),
        category=v.get("category") or "other",
        issue=v.get("issue") or "",
        risk=v.get("risk") or "",
        outcome_wanted=v.get("outcome_wanted") or "",
        immediate_risk=v.get("risk_now") == "yes",
        urgent=v.get("risk_now") == "yes" or "urgent" in (v.get("urgent") or []),
        target_due=v.get("target_due"),
        disagreement_on=v.get("disagreement_on"),
        platform=PLATFORM,
        submission=f"slack-view:{view['id']}",
    )


def raise_form_problems(
    ctx: SlackContext, user_id: str, view: dict[str, Any], person: Person | None
) -> dict[str, str]:
    """The raise form's errors by block, as the raise itself would find them, without recording
    anything (reads the database: in the storage thread)."""
    v = forms.values(view)
    problems: dict[str, str] = {}
    if person is None:
        if not (v.get("my_agency") or "").strip():
            problems["my_agency"] = "Please give your agency."
        if not (v.get("my_role") or "").strip():
            problems["my_role"] = "Please give your role."
    other = search.chosen(ctx.store, v.get("counterpart"))
    if v.get("counterpart") and other is None:
        problems["counterpart"] = "That person is no longer in the directory: search again."
    elif other is None and not _newcomer(v).given:
        problems["counterpart"] = "Choose the other professional, or give their details below."
    elif other is not None and person is not None and other.id == person.id:
        problems["counterpart"] = "Choose the other professional, not yourself."
    if problems:
        return problems
    # Someone new is added to the directory with the raise; a leaver stays who they were.
    known = person or ctx.store.person_by(slack_id=user_id, active_only=False)
    try:
        ctx.bot.check_raise(raise_command(ctx, known.id if known else "", view, other))
    except InvalidInput as exc:
        errors = {k: m for k, m in exc.errors.items() if known or k != "actor"}
        return forms.errors_for(view, errors)
    except Refused as exc:
        first_block = next((b["block_id"] for b in view["blocks"] if b.get("type") == "input"), "")
        return {first_block: str(exc)[:150]}
    return {}


async def raise_kept(ctx: SlackContext, kept: dict[str, Any]) -> None:
    """A raise form answered (and closed) before the raise: the raise, as the person who sent it."""
    user_id, view = kept["user_id"], kept["view"]
    v = forms.values(view)
    person = await ctx.person(user_id)
    if person is None:
        person = await ctx.add_person(user_id, agency=v.get("my_agency") or "", role=v.get("my_role") or "")
    actor = person.id

    def raise_it() -> list[Message]:
        other = search.chosen(ctx.store, v.get("counterpart"))
        return ctx.bot.handle(raise_command(ctx, actor, view, other))

    try:
        await ctx.run(raise_it)
        ctx.on_queued()
    except (InvalidInput, Refused) as exc:
        # The form was checked before it closed: only a change since then (the other
        # professional marked as left a moment ago, say) lands here.
        await ctx.tell(
            user_id, f"Your professional difference was not raised: {exc} Type /escalate to raise it again."
        )


async def on_message(ctx: SlackContext, event: dict[str, Any]) -> None:
    """Replies in a case thread become notes; edits and deletions become corrections."""
    subtype = event.get("subtype")
    if event.get("bot_id") or subtype == "bot_message":
        return
    channel = event.get("channel", "")
    if subtype == "message_changed":
        inner = event.get("message") or {}
        if inner.get("bot_id"):
            return
        await _correction(
            ctx, channel, inner.get("user"), inner.get("thread_ts"), inner.get("ts"), inner.get("text")
        )
        return
    if subtype == "message_deleted":
        previous = event.get("previous_message") or {}
        if previous.get("bot_id"):
            return
        await _correction(
            ctx, channel, previous.get("user"), previous.get("thread_ts"), event.get("deleted_ts"), None
        )
        return
    if subtype not in RECORDED_SUBTYPES:
        return
    thread_ts, ts, user_id = event.get("thread_ts"), event.get("ts"), event.get("user")
    if not thread_ts or thread_ts == ts or not user_id:
        return
    found = await _place_thread(ctx, channel, thread_ts)
    if found is None:
        if event.get("channel_type") == "im":
            # A thread the bot can't place (e.g. a duplicate case message after a timed-out send):
            # say so rather than drop what was said.
            await ctx.tell(
                user_id,
                "I couldn't tell which escalation this reply belongs to, so it was not recorded. "
                "Please reply under the latest case message, or use its Add note button.",
                channel,
            )
        return
    escalation_id = found[1].removeprefix("thread:")
    person = await ctx.person(user_id)
    try:
        if person is None:
            raise Refused(NOT_IN_DIRECTORY)
        await ctx.handle(
            AddNote(
                actor=person.id,
                escalation_id=escalation_id,
                discussed=_note_text(event),
                form="Slack message in the case thread",
                platform_ref=f"{channel}:{ts}",
            )
        )
    except Refused:
        await ctx.tell(
            user_id,
            "You're not on this escalation, so your reply was not recorded. "
            "Only the people on it can add to its record.",
            channel,
        )
    except InvalidInput as exc:
        await ctx.tell(user_id, f"Your reply was not recorded: {exc}", channel)


RECORDED_SUBTYPES = {None, "thread_broadcast", "file_share"}


def _note_text(event: dict[str, Any]) -> str:
    """A reply's text, noting any files attached (the files themselves stay in Slack)."""
    text = event.get("text") or ""
    names = [f.get("name") or f.get("title") or "a file" for f in event.get("files") or []]
    if names:
        text = f"{text}\n[Attached in Slack: {', '.join(names)}]".strip()
    return text


async def _place_thread(ctx: SlackContext, channel: str, thread_ts: str) -> tuple[str, str] | None:
    """Whose case thread this is, as (person id, "thread:E-0001"). A case message Slack posted
    whose answer was lost (a stop mid-send) is not yet known by its ts: then the thread's first
    message is read, and its metadata names the outbox message, hence the escalation."""
    known = await ctx.run(ctx.store.find_address, PLATFORM, f"{channel}:{thread_ts}", "thread:")
    if known is not None:
        return known
    client = await ctx.web()
    try:
        page = await client.conversations_replies(
            channel=channel, ts=thread_ts, limit=1, include_all_metadata=True
        )
    except SlackApiError as exc:
        if exc.response.status_code == 429 or exc.response.status_code >= 500:
            raise  # Slack is struggling: the inbox tries this event again later
        return None
    parent = next(iter(page.get("messages") or []), None)
    sent = sent_as(parent) if isinstance(parent, dict) and parent.get("ts") == thread_ts else None
    if sent is None or sent[1] != 0:
        return None
    return await ctx.run(_place_sent_thread, ctx.store, sent[0], f"{channel}:{thread_ts}")


def _place_sent_thread(store: Storage, outbox_id: int, where: str) -> tuple[str, str] | None:
    """The case thread started by outbox message `outbox_id`, at `where`, now remembered."""
    message = store.outbox_message(outbox_id)
    if message is None or message.kind is not MessageKind.CASE or not message.escalation_id:
        return None
    kind = thread_kind(message.escalation_id)
    if store.address(message.to, PLATFORM, kind) is None:
        # Not when a thread is known already: a second copy (sent after a timeout) is placed for
        # its replies, but notices keep going to the thread the person has been using.
        store.set_address(message.to, PLATFORM, where, kind=kind)
        store.outbox_part_sent(outbox_id, 0, where)
    return message.to, kind


async def _correction(ctx, channel, user_id, thread_ts, ts, text) -> None:
    if not (thread_ts and ts and user_id):
        return
    found = await _place_thread(ctx, channel, thread_ts)
    person = await ctx.person(user_id) if found else None
    if found is None or person is None:
        return
    try:
        await ctx.handle(
            CorrectNote(
                actor=person.id,
                escalation_id=found[1].removeprefix("thread:"),
                platform_ref=f"{channel}:{ts}",
                text=text,
            )
        )
    except Refused:
        # Never name the escalation: the person may not know it, and must learn nothing of it.
        await ctx.tell(
            user_id, "You're not on this escalation, so your edit was not recorded in its record.", channel
        )
    except InvalidInput as exc:
        await ctx.tell(user_id, str(exc), channel)


def offline_answer(ctx: SlackContext, sub: str, rest: str) -> str | None:
    """The answer to `/escalate help | policy [id]`, or to a word it does not know: none needs the
    database, so it can be the acknowledgement itself. None for any other."""
    if sub in {"help", "?"}:
        return HELP
    if sub == "policy":
        try:
            policy = ctx.bot.policies.get(rest.strip().lower() or ctx.default_policy)
        except KeyError as exc:
            return blocks.escape(clip(exc.args[0], 300))
        return blocks.escape(describe_policy(policy))
    if sub not in {"report", "digests", "monthly", "list", "show", "export"}:
        return f"I don't know `{blocks.escape(clip(sub, 30))}`. Here is what I can do:\n{HELP}"
    return None


async def subcommand(ctx: SlackContext, user_id: str, sub: str, rest: str) -> str:
    """`/escalate list | show | export | report | digests | monthly`: the reply text (sent
    privately, after the acknowledgement)."""
    if sub == "report":
        return await report_subcommand(ctx, user_id, rest)
    person = await ctx.person(user_id)
    if person is None:
        return NOT_IN_DIRECTORY
    if sub in {"digests", "monthly"}:
        try:
            return blocks.escape(await ctx.run(ctx.bot.choose, person.id, f"{sub} {rest}"))
        except Refused as exc:
            return blocks.escape(str(exc))
    if sub == "list":
        return blocks.escape(
            await ctx.run(
                ctx.bot.list_text, person.id, rest, size=LIST_PAGE, command="/escalate list", code="`"
            )
        )
    escalation_id = rest.strip().upper()
    if not escalation_id:
        return f"Which escalation? For example `/escalate {sub} E-0001`."
    try:
        if sub == "show":
            return blocks.escape(await ctx.run(ctx.bot.show, person.id, escalation_id))
        record = await ctx.run(ctx.bot.export, person.id, escalation_id)
    except Refused as exc:
        return blocks.escape(str(exc))
    message = Message(
        to=person.id,
        text=record,
        kind=MessageKind.NOTICE,
        escalation_id=escalation_id,
        data={"file": f"{escalation_id}-case-record.md", "caused_by": person.id},
    )
    await ctx.run(ctx.store.enqueue, [message], now=ctx.bot.clock.now())
    ctx.on_queued()
    return f"The case record of {escalation_id} is on its way to you as a file."


LIST_PAGE = 50
# App Home holds 100 blocks: three groups of 25 and their headings.
HOME_SHOWN = 75
