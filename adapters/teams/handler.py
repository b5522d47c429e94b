"""The Teams listeners: activities in, core commands out; replies as Adaptive Cards."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any, ParamSpec, TypeVar

import aiohttp
from botbuilder.core import ActivityHandler, CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    ChannelAccount,
    ConversationReference,
)
from msrest.exceptions import ClientRequestError, DeserializationError, HttpOperationError

from adapters.agreed_actions import owned_rows
from adapters.storage_thread import StorageThread
from adapters.teams import cards, export, report
from adapters.teams.sender import PLATFORM, remember_tenant, save_reference
from bot.calendar import LONDON
from bot.commands import (
    ActionDone,
    AddNote,
    AnswerProposal,
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
from bot.messages import NOTE_FORMS, Message
from bot.notices import timeline_preview
from bot.people import Newcomer, Person, search
from bot.policy.text import describe_policy
from bot.storage import Storage
from bot.timeline import plan_timeline
from bot.wording import clip, when

log = logging.getLogger("escalation_bot.teams")
MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE)
LIST_PAGE = 50
P = ParamSpec("P")
T = TypeVar("T")

HELP = (
    "escalate: raise a professional difference (a form opens)\n"
    "escalate list: your escalations\n"
    "escalate show E-0001: the summary and history\n"
    "escalate export E-0001: the case record for the child's file\n"
    "escalate policy [id]: the stages, timescales and emergency numbers\n"
    "escalate report [policy] [from] [to]: partnership admins: the learning report, as a file\n"
    "escalate digests on|off, escalate monthly on|off: the overdue digests (admins; safeguarding leads "
    "for their agency) and the monthly report (admins)\n"
    "escalate help: this list\n"
    "In a channel, reply in the thread under a case card to add a note (mention me if your Teams "
    "admin has not let me read channel messages); in a chat, use Add note."
)
UNTRUSTED_TENANT = (
    "Your organisation's Microsoft 365 is not one this partnership's escalation bot is set up for, "
    "so I can't link you to its directory. Please ask the partnership's admin to add it."
)
NOT_IN_DIRECTORY = (
    "You're not in the bot's directory yet. Type 'escalate' to raise a difference: the form asks for "
    "your agency and role."
)


@dataclass
class TeamsContext:
    bot: EscalationBot
    default_policy: str
    on_queued: Callable[[], None]
    storage_thread: StorageThread
    trusted_tenants: frozenset[str] = frozenset()


class TeamsBot(ActivityHandler):
    """Translates Teams activities to core commands; every business rule stays in the core. The
    database is reached only through the storage thread (`run`), never from the event loop."""

    def __init__(self, ctx: TeamsContext) -> None:
        self.ctx = ctx

    @property
    def core(self) -> EscalationBot:
        return self.ctx.bot

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` in the storage thread: how a turn reads or writes."""
        return await self.ctx.storage_thread.run(fn, *args, **kwargs)

    # -- who is speaking ---------------------------------------------------------------------

    async def person(self, turn: TurnContext) -> Person | None:
        """The directory person behind the sender: by their Azure AD (or Teams) id within the tenant
        it belongs to; else, from a tenant the partnership trusts, by the email Teams reports,
        linking that person only if they are not linked to another account already."""
        sender = turn.activity.from_property or ChannelAccount()
        tenant = _tenant(turn)
        trusted = tenant in self.ctx.trusted_tenants
        ids = [i for i in (sender.aad_object_id, sender.id) if i]
        known, found = await self.run(_by_account, self.core.store, ids, tenant, trusted)
        if known or not trusted:
            return found  # an organisation outside the partnership is never matched to anyone
        try:
            member = await TeamsInfo.get_member(turn, sender.id)
        except Exception:  # the member look-up is a convenience; without it we ask the person
            return None
        email = getattr(member, "email", None) or getattr(member, "user_principal_name", None)
        if not email:
            return None
        account = sender.aad_object_id or sender.id
        linked, claimed = await self.run(_link_by_email, self.core.store, email, account, tenant)
        if claimed is not None:
            how = "by the email address on their Teams profile"
            await self.run(self.core.refuse_identity_claim, claimed, "Teams", how)
            self.ctx.on_queued()
        return linked

    async def _remember(self, turn: TurnContext, person: Person | None) -> None:
        reference = TurnContext.get_conversation_reference(turn.activity)
        conversation = turn.activity.conversation
        personal = bool(person and conversation and conversation.conversation_type in (None, "personal"))
        await self.run(_remember_reference, self.core, reference, person.id if person and personal else None)

    # -- activities --------------------------------------------------------------------------

    async def on_installation_update_add(self, turn: TurnContext) -> None:
        person = await self.person(turn)
        await self._remember(turn, person)
        await self._reply(turn, cards.greeting_card())

    async def on_members_added_activity(self, members_added, turn: TurnContext) -> None:
        bot_id = turn.activity.recipient.id if turn.activity.recipient else None
        if any(m.id == bot_id for m in members_added):
            person = await self.person(turn)
            await self._remember(turn, person)
            await self._reply(turn, cards.greeting_card())

    async def on_invoke_activity(self, turn: TurnContext) -> InvokeResponse:
        # The bot's cards submit as messages; the invokes it acts on are the people search and a
        # file consent answer. Any other is acknowledged and ignored, rather than botbuilder's 501.
        value = turn.activity.value if isinstance(turn.activity.value, dict) else None
        if turn.activity.name == "application/search" and value is not None:
            # The connector adapter serialises an invoke's body as a botbuilder model, not a dict.
            # Only the partnership may search its directory: someone it knows, or from its tenants.
            # The answer is the invoke's response, so the search (in the storage thread) precedes it.
            known = await self.person(turn) is not None or _tenant(turn) in self.ctx.trusted_tenants
            answer = await self.run(self._people_search, value) if known else cards.search_response([])
            body = AdaptiveCardInvokeResponse(type=answer["type"], value=answer["value"])
            return InvokeResponse(status=200, body=body)
        if turn.activity.name == "fileConsent/invoke" and value is not None:
            await self._file_consent(turn, value)
        return InvokeResponse(status=200)

    def _people_search(self, value: dict[str, Any]) -> dict[str, Any]:
        """Typeahead over the partnership's directory, for the bot's own people pickers (reads the
        database: in the storage thread)."""
        if value.get("dataset") != cards.PEOPLE_DATASET:
            return cards.search_response([])
        found = self.core.find_people(str(value.get("queryText") or ""), limit=cards.SEARCH_RESULTS)
        return cards.search_response([(search.choice_value(p), search.choice_label(p, 100)) for p in found])

    def _picked(self, value: dict[str, Any], key: str, *, agency: str, role: str, actor: str) -> Person:
        """Who a picker names: a directory person from the search, an account from an older
        card's Teams picker, or someone new by name and email. Refused says what to do instead.
        Reads and writes the database: in the storage thread."""
        raw = str(value.get(key) or "").strip()
        store = self.core.store
        if raw.startswith(search.CHOICE_PREFIX):
            chosen = search.chosen(store, raw)
            if chosen is None:
                raise Refused("That person is no longer in the directory: search again.")
        elif raw:
            chosen = store.person_by(teams_id=raw, active_only=False)
            if chosen is None:
                raise Refused("Search for them by name, or give their name and work email.")
        else:
            newcomer = Newcomer(
                name=str(value.get(f"{key}_name") or ""),
                agency=agency,
                role=role,
                email=str(value.get(f"{key}_email") or ""),
            )
            if not newcomer.given:
                raise Refused("Choose them in the picker, or give their name and work email.")
            try:
                chosen = self.core.add_newcomer(actor, newcomer)
            except InvalidInput as exc:
                raise Refused(" ".join(exc.errors.values())) from None
        if not chosen.active:
            raise Refused(f"{chosen.name} has left. Choose who now does their work.")
        return chosen

    async def _file_consent(self, turn: TurnContext, value: dict[str, Any]) -> None:
        """Accept: upload the file to the person's OneDrive and show it. Decline, or an upload
        that fails: the record as one formatted card."""
        person = await self.person(turn)
        context = value.get("context") if isinstance(value.get("context"), dict) else {}
        if report.is_report_consent(context):
            await report.answer_report_consent(self.core, self.run, turn, person, value, self._say)
            return
        escalation_id, fmt = str(context.get("escalation") or ""), str(context.get("format") or "")
        if person is None or fmt not in export.FORMATS:
            return
        try:
            markdown = await self.run(self.core.export, person.id, escalation_id)
        except Refused as exc:
            await self._say(turn, str(exc))
            return
        info = value.get("uploadInfo") if isinstance(value.get("uploadInfo"), dict) else {}
        url = str(info.get("uploadUrl") or "")
        if value.get("action") == "accept" and export.may_upload_to(url):
            try:
                await export.upload(url, export.record_file(escalation_id, markdown, fmt).content)
                await turn.send_activity(MessageFactory.attachment(export.file_info_attachment(info)))
                return
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("Teams: could not upload a record (%s)", type(exc).__name__)
        await self._reply(turn, export.record_card(markdown))

    async def on_message_activity(self, turn: TurnContext) -> None:
        person = await self.person(turn)
        await self._remember(turn, person)
        value = turn.activity.value
        if isinstance(value, dict) and value.get("action"):
            if not isinstance(value["action"], str) or any(isinstance(v, dict) for v in value.values()):
                # Only a file consent answer nests; a card of ours never submits this.
                await self._say(turn, "That form could not be read. Please open it again and resubmit.")
                return
            await self._on_submit(turn, person, value)
            return
        text = " ".join(MENTION.sub(" ", turn.activity.text or "").split())
        if await self._thread_reply(turn, person, text):
            return
        word, _, rest = text.partition(" ")
        if word.lower() != "escalate":
            await self._say(turn, "Type 'escalate' to raise a professional difference.\n\n" + HELP)
            return
        sub, _, arg = rest.partition(" ")
        await self._command(turn, person, sub.lower(), arg.strip())

    # -- text commands -----------------------------------------------------------------------

    async def _command(self, turn: TurnContext, person: Person | None, sub: str, arg: str) -> None:
        if not sub:
            library = self.core.policies
            policies = [library.policies[i] for i in library.ids()]
            await self._reply(turn, cards.risk_card(policies, self.ctx.default_policy))
            return
        if sub in {"help", "?"}:
            await self._say(turn, HELP)
            return
        if sub == "policy":
            try:
                policy = self.core.policies.get(arg.lower() or self.ctx.default_policy)
            except KeyError as exc:
                await self._say(turn, exc.args[0])
                return
            await self._say(turn, describe_policy(policy))
            return
        if sub == "report":
            await report.offer_report(
                self.core,
                self.run,
                turn,
                person,
                arg,
                default_policy=self.ctx.default_policy,
                personal=_personal(turn),
                say=self._say,
            )
            return
        if sub in {"digests", "monthly"} and person is not None:
            try:
                await self._say(turn, await self.run(self.core.choose, person.id, f"{sub} {arg}"))
            except Refused as exc:
                await self._say(turn, str(exc))
            return
        if sub not in {"list", "show", "export"}:
            await self._say(turn, f"I don't know '{clip(sub, 30)}'. Here is what I can do:\n{HELP}")
            return
        if person is None:
            await self._say(turn, NOT_IN_DIRECTORY)
            return
        if sub == "list":
            text = await self.run(
                self.core.list_text, person.id, arg, size=LIST_PAGE, command="escalate list", code="'"
            )
            await self._private(turn, person, [text])
            return
        if not arg:
            await self._say(turn, f"Which escalation? For example 'escalate {sub} E-0001'.")
            return
        try:
            text = await self.run(self.core.show if sub == "show" else self.core.export, person.id, arg)
        except Refused as exc:
            await self._say(turn, str(exc))
            return
        if sub == "export":
            await self._export(turn, person, arg.strip().upper()[:40], text)
            return
        await self._private(turn, person, cards.text_parts(text))

    async def _export(self, turn: TurnContext, person: Person, escalation_id: str, markdown: str) -> None:
        """Files to save in the 1:1 chat (never in a channel): offered with Teams' consent cards."""
        if _personal(turn):
            await turn.send_activity(
                Activity(type="message", attachments=export.consent_attachments(escalation_id, markdown))
            )
            return
        message = Message(
            to=person.id,
            text=f"The case record of {escalation_id}",
            escalation_id=escalation_id,
            data={"export": escalation_id},
        )
        if not await self.run(self._queue_to_chat, person.id, [message]):
            await self._say(turn, "Ask me that in our 1:1 chat: I don't show escalations in a channel.")
            return
        self.ctx.on_queued()
        await self._say(turn, "I've sent it to you in our 1:1 chat, as files to save.")

    async def _private(self, turn: TurnContext, person: Person, texts: list[str]) -> None:
        """Case content only ever goes to the person's own chat with the bot, never a channel."""
        if _personal(turn):
            for text in texts:
                await self._say(turn, text)
            return
        if not await self.run(self._queue_to_chat, person.id, [Message(to=person.id, text=t) for t in texts]):
            await self._say(turn, "Ask me that in our 1:1 chat: I don't show escalations in a channel.")
            return
        self.ctx.on_queued()
        await self._say(turn, "I've sent it to you in our 1:1 chat.")

    def _queue_to_chat(self, person_id: str, messages: list[Message]) -> bool:
        """Queue messages to the person's 1:1 chat with the bot; False if the bot has none (in the
        storage thread)."""
        if not self.core.store.address(person_id, PLATFORM, "dm"):
            return False
        self.core.store.enqueue(messages, now=self.core.clock.now())
        return True

    # -- card submissions --------------------------------------------------------------------

    def _owners(self, esc) -> list[tuple[str, str]]:
        """Who may own an agreed action: the people on the escalation now (in the storage thread)."""
        found = [(p, self.core.person(p)) for p in esc.current_people()]
        return [(p, person.name if person else p) for p, person in found]

    async def _on_submit(self, turn: TurnContext, person: Person | None, value: dict[str, Any]) -> None:
        action = value["action"]
        if action == "risk_answer":
            await self._raise_form(turn, person, value)
            return
        if action == "raise":
            await self._raise(turn, person, value)
            return
        if person is None:
            await self._say(turn, NOT_IN_DIRECTORY)
            return
        escalation_id = str(value.get("id") or "")
        if action == "name_manager":
            await self._name_manager(turn, person, value)
            return
        if action == "name_role_holder":
            await self._name_role_holder(turn, person, value)
            return
        try:
            esc = await self.run(self.core.visible, person.id, escalation_id)
        except Refused as exc:
            await self._say(turn, str(exc))
            return
        if action == "resolve":
            await self._reply(turn, cards.resolve_card(esc.id, owners=await self.run(self._owners, esc)))
            return
        forms = {
            "add_note": lambda: cards.note_card(esc.id),
            "reopen": lambda: cards.reopen_card(esc.id),
            "withdraw": lambda: cards.withdraw_card(esc.id),
            "not_agreed": lambda: cards.not_agreed_card(esc.id),
            "note_details": lambda: cards.note_details_card(esc.id, str(value.get("ref") or "")),
            "set_earlier_due": lambda: cards.due_card(esc.id, when(esc.stage.due)),
            "mark_urgent": lambda: cards.urgent_card(esc.id, esc.policy.urgent_when),
        }
        if action == "show":
            await self._private(turn, person, [await self.run(self.core.show, person.id, esc.id)])
        elif action in forms:
            await self._reply(turn, forms[action]())
        elif action == "escalate":
            if esc.at_final_stage:
                await self._say(turn, f"{esc.id} is at the final stage of the policy.")
                return
            following = esc.policy.stage(esc.stage.number + 1)
            needs_target = not following.timescale(urgent=esc.urgent).given
            suggested = self.core.suggested_target(self.core.clock.now()) if needs_target else None
            await self._reply(
                turn, cards.next_stage_card(esc.id, f"stage {following.number}: {following.title}", suggested)
            )
        elif action in SUBMISSIONS:
            build, rerender = SUBMISSIONS[action]
            try:
                await self._handle(build(person.id, esc.id, value))
            except InvalidInput as exc:
                if action == "resolve_submit":  # its owner choices come from the directory
                    owners = await self.run(self._owners, esc)
                    shown = cards.resolve_card(esc.id, exc.errors, owners=owners)
                else:
                    shown = rerender(esc, exc.errors)
                await self._replace_card(turn, shown)
                return
            except Refused as exc:
                await self._say(turn, str(exc))
                return
            await self._replace_card(turn, cards.card([cards.plain_text(f"Done: {esc.id} is updated.")]))

    async def _raise_form(self, turn: TurnContext, person: Person | None, value: dict[str, Any]) -> None:
        risk_now = value.get("risk_now") == "yes"
        policy_id = str(value.get("policy") or self.ctx.default_policy)
        if policy_id not in self.core.policies.policies:
            policy_id = self.ctx.default_policy
        if risk_now:
            await self._say(turn, self.core.emergency_guidance(policy_id))
        await self._reply(turn, self._raise_card(policy_id, risk_now, person is None))

    def _raise_card(
        self, policy_id: str, risk_now: bool, ask_about_me: bool, values=None, errors=None
    ) -> dict:
        policy = self.core.policies.get(policy_id)
        now = self.core.clock.now()
        stages = plan_timeline(policy, now, urgent=risk_now, calendar=self.core.calendar)
        return cards.raise_card(
            policy=policy,
            risk_now=risk_now,
            ask_about_me=ask_about_me,
            preview=timeline_preview(stages),
            suggested_target=self.core.suggested_target(now),
            values=values,
            errors=errors,
        )

    async def _raise(self, turn: TurnContext, person: Person | None, v: dict[str, Any]) -> None:
        policy_id = str(v.get("policy") or self.ctx.default_policy)
        # The form shown again with its errors needs a real policy, whatever was submitted.
        card_policy = policy_id if policy_id in self.core.policies.policies else self.ctx.default_policy
        risk_now = v.get("risk_now") == "yes"
        if person is None and _tenant(turn) not in self.ctx.trusted_tenants:
            await self._say(turn, UNTRUSTED_TENANT)  # nobody outside the partnership joins its directory
            return
        token = str(v.get("form") or "")
        problems: dict[str, str] = {}
        if person is None:
            for key, label in (("my_agency", "your agency"), ("my_role", "your role")):
                if not str(v.get(key) or "").strip():
                    problems[key] = f"Please give {label}."
        other_id = str(v.get("counterpart") or "").strip()
        newcomer = Newcomer(
            name=str(v.get("counterpart_name") or ""),
            agency=str(v.get("counterpart_agency") or ""),
            role=str(v.get("counterpart_role") or ""),
            email=str(v.get("counterpart_email") or ""),
        )
        if other_id.startswith(search.CHOICE_PREFIX):
            other = await self.run(search.chosen, self.core.store, other_id)
            if other is None:
                problems["counterpart"] = "That person is no longer in the directory: search again."
        else:
            # An older card's Teams people picker names an account; only someone already known.
            store = self.core.store
            other = (
                await self.run(store.person_by, teams_id=other_id, active_only=False) if other_id else None
            )
            if other_id and other is None:
                problems["counterpart"] = "Search for them by name, or give their details below."
            elif not other_id and not newcomer.given:
                problems["counterpart"] = "Choose the other professional, or give their details below."
        target = _when(v.get("target_date"), v.get("target_time"))
        shown = v if _personal(turn) else None  # never echo a concern back into a channel
        if problems:
            await self._replace_card(
                turn, self._raise_card(card_policy, risk_now, person is None, shown, problems)
            )
            return
        store = self.core.store
        tenant = _tenant(turn)
        if person is None:
            sender = turn.activity.from_property
            account = sender.aad_object_id or sender.id
            if await self.run(store.person_by, teams_id=account, active_only=False):
                # A leaver's account is never made into a new person.
                await self._say(
                    turn, "You no longer use the bot: your partnership's admin has marked you as left."
                )
                return
            person = Person(
                id=f"teams-{sender.aad_object_id or sender.id}",
                name=sender.name or "Teams user",
                agency=str(v["my_agency"]).strip()[:100],
                role=str(v["my_role"]).strip()[:100],
                teams_id=sender.aad_object_id or sender.id,
                teams_tenant=tenant,
            )
            await self.run(store.upsert_people, [person])
            await self._remember(turn, person)
        command = RaiseEscalation(
            actor=person.id,
            policy_id=policy_id,
            case_reference=str(v.get("case_reference") or ""),
            counterpart=other.id if other else "",
            newcomer=None if other else newcomer,
            category=str(v.get("category") or "other"),
            issue=str(v.get("issue") or ""),
            risk=str(v.get("risk") or ""),
            outcome_wanted=str(v.get("outcome_wanted") or ""),
            immediate_risk=risk_now,
            urgent=risk_now or str(v.get("urgent")).lower() == "true",
            target_due=target,
            disagreement_on=_date(v.get("disagreement_on")),
            platform=PLATFORM,
            submission=f"teams-form:{token}" if token else None,
        )
        try:
            messages = await self._handle(command)
        except InvalidInput as exc:
            errors = {("target_date" if k == "target_due" else k): m for k, m in exc.errors.items()}
            await self._replace_card(turn, self._raise_card(card_policy, risk_now, False, shown, errors))
            return
        escalation_id = next((m.escalation_id for m in messages if m.escalation_id), None)
        conversation = turn.activity.conversation
        taken = (
            await self.run(store.find_address, PLATFORM, conversation.id, "thread:") if conversation else None
        )
        if escalation_id and conversation and conversation.conversation_type == "channel" and taken:
            # One escalation per thread, so a note can never land on another child's case.
            await self._replace_card(
                turn,
                cards.card(
                    [
                        cards.plain_text(
                            f"{escalation_id} raised. This thread already holds the notes of "
                            f"{taken[1].removeprefix('thread:')}: add notes to {escalation_id} from "
                            "your chat with me, or raise it in a new thread."
                        )
                    ]
                ),
            )
            return
        if escalation_id and conversation and conversation.conversation_type == "channel":
            # Raised in a channel: replies in this thread become the case notes.
            await self.run(
                store.set_address, person.id, PLATFORM, conversation.id, kind=f"thread:{escalation_id}"
            )
            await self._replace_card(
                turn,
                cards.card(
                    [
                        cards.plain_text(
                            f"{escalation_id} raised. Reply in this thread to add notes to its record."
                        )
                    ]
                ),
            )
            return
        await self._replace_card(turn, cards.card([cards.plain_text("Raised. The case card follows.")]))

    async def _name_manager(self, turn: TurnContext, person: Person, value: dict[str, Any]) -> None:
        try:
            # Line managers are usually in the same agency; the directory can correct it later.
            manager = await self.run(
                self._picked, value, "manager", agency=person.agency, role="Line manager", actor=person.id
            )
            await self._handle(NameManager(actor=person.id, person=person.id, manager=manager.id))
        except (Refused, InvalidInput) as exc:
            await self._say(turn, str(exc))

    async def _name_role_holder(self, turn: TurnContext, person: Person, value: dict[str, Any]) -> None:
        """The answer to "who is the named lead for …?": from the search, or someone new by email."""
        question_id = int(value["question"]) if str(value.get("question") or "").isdigit() else 0
        try:
            # Before anyone is added to the directory.
            question = await self.run(self.core.role_question, person.id, question_id)
            agency = question.data.get("agency") or person.agency
            holder = await self.run(
                self._picked, value, "person", agency=agency, role="Professional", actor=person.id
            )
            await self._handle(NameRoleHolder(actor=person.id, question_id=question_id, person=holder.id))
        except (Refused, InvalidInput) as exc:
            await self._say(turn, str(exc))

    # -- channel threads ---------------------------------------------------------------------

    async def _thread_reply(self, turn: TurnContext, person: Person | None, text: str) -> bool:
        """A reply in a channel thread under a case card is a note; True if this was one."""
        conversation = turn.activity.conversation
        if not conversation or ";messageid=" not in (conversation.id or ""):
            return False
        found = await self.run(self.core.store.find_address, PLATFORM, conversation.id, "thread:")
        if found is None or text.lower().startswith("escalate"):
            return False
        escalation_id = found[1].removeprefix("thread:")
        try:
            if person is None:
                raise Refused(NOT_IN_DIRECTORY)
            await self._handle(
                AddNote(
                    actor=person.id,
                    escalation_id=escalation_id,
                    discussed=text,
                    form="Teams message in the case thread",
                    platform_ref=f"{conversation.id}:{turn.activity.id}",
                )
            )
        except Refused:
            await self._refuse_privately(turn, person)
        except InvalidInput as exc:
            await self._say(turn, f"Your reply was not recorded: {exc}")
        return True

    async def _refuse_privately(self, turn: TurnContext, person: Person | None) -> None:
        """Tell someone off-escalation, in their own chat where we can, that nothing was recorded."""
        text = (
            "Your reply in a channel thread was not recorded: only the people on that escalation can "
            "add to its record."
        )
        if person is not None and await self.run(
            self._queue_to_chat, person.id, [Message(to=person.id, text=text)]
        ):
            self.ctx.on_queued()
            return
        await self._say(turn, "Only the people on this escalation can add to its record.")

    # -- helpers -----------------------------------------------------------------------------

    async def _handle(self, command) -> list:
        messages = await self.run(self.core.handle, command)
        self.ctx.on_queued()
        return messages

    async def _say(self, turn: TurnContext, text: str) -> None:
        """Text as one card, or several in order when long: nothing is cut."""
        for part in cards.text_parts(text):
            await self._reply(turn, cards.card(cards.text_body(part)))

    async def _reply(self, turn: TurnContext, content: dict[str, Any]) -> None:
        await _answered(turn.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(content))))

    async def _replace_card(self, turn: TurnContext, content: dict[str, Any]) -> None:
        """Re-render the submitted card in place (Teams keeps its id as reply_to_id)."""
        card_id = turn.activity.reply_to_id
        if not card_id:
            await self._reply(turn, content)
            return
        update = Activity(
            id=card_id,
            type=ActivityTypes.message,
            attachments=[CardFactory.adaptive_card(content)],
        )
        await _answered(turn.update_activity(update))


def _by_account(
    store: Storage, accounts: list[str], tenant: str | None, trusted: bool
) -> tuple[bool, Person | None]:
    """(whether the sender's accounts settle who they are, the person they are): by an account
    within the tenant it belongs to; one with no tenant yet takes this one, if trusted."""
    for account in accounts:
        found = store.person_by(teams_id=account)
        if found is None:
            continue
        if found.teams_tenant and found.teams_tenant != tenant:
            return True, None  # the same id claimed from another tenant: not them
        if not found.teams_tenant:
            if not trusted:
                return True, None
            store.upsert_people([replace(found, teams_tenant=tenant)], with_roles=False)
        return True, found
    return False, None


def _link_by_email(
    store: Storage, email: str, account: str, tenant: str | None
) -> tuple[Person | None, str | None]:
    """(the person with this email, now linked to the account; the id of one linked to another
    account already, whose claim is refused)."""
    found = store.person_by(email=email)
    if found is None:
        return None, None
    if found.teams_id and found.teams_id != account:
        return None, found.id
    linked = replace(found, teams_id=account, teams_tenant=tenant)
    store.upsert_people([linked], with_roles=False)
    return linked, None


def _remember_reference(core: EscalationBot, reference: ConversationReference, person_id: str | None) -> None:
    """How the bot is reached in the sender's tenant, and (from a 1:1 chat) how to reach them."""
    remember_tenant(core, reference)
    if person_id:
        save_reference(core, person_id, reference)


# What the connector does when an answer cannot go: an outage, or a service that answers nonsense.
UNANSWERED = (
    HttpOperationError,
    ClientRequestError,
    DeserializationError,
    aiohttp.ClientError,
    OSError,
    TimeoutError,
)


async def _answered(sending) -> None:
    """Send an answer in the turn; if the connector cannot take it, say so in the log and go on.
    Anything the turn recorded is already stored and its messages queued in the outbox."""
    try:
        await sending
    except UNANSWERED as exc:
        log.warning("Teams: could not answer in the conversation (%s)", type(exc).__name__)


def _tenant(turn: TurnContext) -> str | None:
    """The Microsoft 365 tenant the activity comes from (its token vouches for it)."""
    activity = turn.activity
    tenant = activity.conversation.tenant_id if activity.conversation else None
    if not tenant and isinstance(activity.channel_data, dict):
        tenant = (activity.channel_data.get("tenant") or {}).get("id")
    return str(tenant).lower() if tenant else None


def _personal(turn: TurnContext) -> bool:
    conversation = turn.activity.conversation
    return not conversation or conversation.conversation_type in (None, "personal")


def _date(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _when(day: Any, clock: Any) -> datetime | None:
    found = _date(day)
    if found is None:
        return None
    try:
        at = time.fromisoformat(str(clock)) if clock else time(17, 0)
    except ValueError:
        at = time(17, 0)
    return datetime.combine(found, at, tzinfo=LONDON)


def _earlier(actor: str, escalation_id: str, v: dict[str, Any]) -> SetEarlierDue:
    due = _when(v.get("due_date"), v.get("due_time"))
    if due is None:
        raise InvalidInput({"due_date": "Choose the new due date and time."})
    return SetEarlierDue(actor=actor, escalation_id=escalation_id, due=due, reason=str(v.get("reason") or ""))


def _index(v: dict[str, Any]) -> int:
    ref = str(v.get("ref") or "")
    if not ref.isdigit():
        raise InvalidInput({"ref": "That button has expired."})
    return int(ref)


def _note_seq(v: dict[str, Any]) -> int:
    note = str(v.get("ref") or "")
    if not note.isdigit():
        raise InvalidInput({"note": "That button has expired: open the case and add a note instead."})
    return int(note)


SUBMISSIONS: dict[str, tuple[Callable[..., Any], Callable[..., dict]]] = {
    "note_submit": (
        lambda actor, esc, v: AddNote(
            actor=actor,
            escalation_id=esc,
            discussed=str(v.get("discussed") or ""),
            form=str(v.get("form") or "Other"),
            involved=str(v.get("involved") or ""),
            outcome=str(v.get("outcome") or ""),
        ),
        lambda esc, errors: cards.note_card(esc.id, errors),
    ),
    "resolve_submit": (
        lambda actor, esc, v: Resolve(
            actor=actor,
            escalation_id=esc,
            outcome=str(v.get("outcome") or ""),
            agreed_actions=tuple(str(v.get("agreed_actions") or "").splitlines()),
            owned=owned_rows(v, _date),
        ),
        lambda esc, errors: cards.resolve_card(esc.id, errors),
    ),
    "escalate_submit": (
        lambda actor, esc, v: EscalateStage(
            actor=actor,
            escalation_id=esc,
            reason=str(v.get("reason") or ""),
            target_due=_when(v.get("target_date"), v.get("target_time")),
        ),
        lambda esc, errors: cards.next_stage_card(
            esc.id,
            "the next stage",
            None,
            {("target_date" if k == "target_due" else k): m for k, m in errors.items()},
        ),
    ),
    **{
        cards.ACTION_KINDS[kind]: (
            lambda actor, esc, v, form=form: DetailNote(
                actor=actor, escalation_id=esc, note=_note_seq(v), form=form
            ),
            lambda esc, errors: cards.answer_failed_card(esc.id, errors),
        )
        for kind, form in NOTE_FORMS.items()
    },
    "note_details_submit": (
        lambda actor, esc, v: DetailNote(
            actor=actor,
            escalation_id=esc,
            note=_note_seq(v),
            involved=str(v.get("involved") or ""),
            outcome=str(v.get("outcome") or ""),
        ),
        lambda esc, errors: cards.answer_failed_card(esc.id, errors),
    ),
    "action_done": (
        lambda actor, esc, v: ActionDone(actor=actor, escalation_id=esc, index=_index(v)),
        lambda esc, errors: cards.answer_failed_card(esc.id, errors),
    ),
    "reopen_submit": (
        lambda actor, esc, v: Reopen(actor=actor, escalation_id=esc, reason=str(v.get("reason") or "")),
        lambda esc, errors: cards.reopen_card(esc.id, errors),
    ),
    "milestone_done": (
        lambda actor, esc, v: MilestoneDone(
            actor=actor, escalation_id=esc, milestone=str(v.get("ref") or "")
        ),
        lambda esc, errors: cards.answer_failed_card(esc.id, errors),
    ),
    "agree_resolved": (
        lambda actor, esc, v: AnswerProposal(actor=actor, escalation_id=esc, agree=True),
        lambda esc, errors: cards.answer_failed_card(esc.id, errors),
    ),
    "not_agreed_submit": (
        lambda actor, esc, v: AnswerProposal(
            actor=actor, escalation_id=esc, agree=False, reason=str(v.get("reason") or "")
        ),
        lambda esc, errors: cards.not_agreed_card(esc.id, errors),
    ),
    "withdraw_submit": (
        lambda actor, esc, v: Withdraw(actor=actor, escalation_id=esc, reason=str(v.get("reason") or "")),
        lambda esc, errors: cards.withdraw_card(esc.id, errors),
    ),
    "urgent_submit": (
        lambda actor, esc, v: MarkUrgent(actor=actor, escalation_id=esc, reason=str(v.get("reason") or "")),
        lambda esc, errors: cards.urgent_card(esc.id, esc.policy.urgent_when, errors),
    ),
    "due_submit": (
        _earlier,
        lambda esc, errors: cards.due_card(
            esc.id, when(esc.stage.due), {("due_date" if k == "due" else k): m for k, m in errors.items()}
        ),
    ),
}
