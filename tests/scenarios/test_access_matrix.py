"""Who may see and act on a difference: an outsider, a manager before their stage, an admin of
another partnership, and a Teams user from an untrusted tenant, against every command, button,
form, thread reply, edit and App Home. Each is refused, learns nothing of the case, and the record
is unchanged."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.commands import (
    AddNote,
    CorrectNote,
    EscalateStage,
    MarkUrgent,
    NameRoleHolder,
    RaiseEscalation,
    Resolve,
    SetEarlierDue,
    Withdraw,
)
from bot.errors import InvalidInput, Refused
from fakes.bot_connector import card_text
from fakes.slack_requests import block_action, event, interaction, reply
from fakes.teams_activities import activity
from support import london

CONCERN = "Concern-4411 about the baby"
CASE = "CIN-77123"
# Eve: in the directory, on nothing. Jo: Alex's manager, not yet brought in (Camden stage 1 is the
# practitioners'). Dee: a partnership admin, but for Enfield only.
OUTSIDERS = ("eve", "jo", "dee")


def raise_camden(bot):
    bot.handle(
        RaiseEscalation(
            actor="alex",
            policy_id="camden",
            case_reference=CASE,
            counterpart="sam",
            category="threshold",
            issue=CONCERN,
            risk="A risk",
            outcome_wanted="An outcome",
        )
    )


def history(store) -> list[tuple]:
    return list(store.db.execute("SELECT id, kind, actor, data FROM events ORDER BY id"))


def commands(actor: str):
    return [
        AddNote(actor=actor, escalation_id="E-0001", discussed="I was there too"),
        CorrectNote(actor=actor, escalation_id="E-0001", platform_ref="x", text="changed"),
        Resolve(actor=actor, escalation_id="E-0001", outcome="Sorted"),
        EscalateStage(reason="No agreement", actor=actor, escalation_id="E-0001"),
        Withdraw(actor=actor, escalation_id="E-0001", reason="No"),
        SetEarlierDue(actor=actor, escalation_id="E-0001", due=london(2026, 12, 2, 12), reason=""),
        MarkUrgent(actor=actor, escalation_id="E-0001", reason="Urgent"),
    ]


@pytest.fixture
def limited_admin(store):
    store.upsert_people([replace(store.person("dee"), admin_policies=("enfield",))])


@pytest.mark.parametrize("actor", OUTSIDERS)
def test_no_command_from_someone_not_on_it_changes_anything(bot, store, inbox, limited_admin, actor):
    raise_camden(bot)
    inbox.collect()
    before = history(store)
    for command in commands(actor):
        with pytest.raises(Refused) as refused:
            bot.handle(command)
        assert CASE not in str(refused.value) and CONCERN not in str(refused.value)
    for query in (bot.show, bot.export):
        with pytest.raises(Refused):
            query(actor, "E-0001")
    assert all(row.id != "E-0001" for row in bot.list_for(actor).rows)
    assert history(store) == before
    assert not any(CONCERN in m.text or CASE in m.text for m in inbox.collect() if m.to == actor)


def test_a_role_question_can_be_answered_only_by_whom_it_was_put_to(bot, store, limited_admin):
    raise_camden(bot)
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    bot.handle(
        EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001")
    )  # stage 3: nobody's named lead known
    (question,) = store.open_questions(person_id="jo", kind="role")
    before = history(store)
    for actor in ("eve", "dee", "sam"):
        with pytest.raises((Refused, InvalidInput)):
            bot.handle(NameRoleHolder(actor=actor, question_id=question.id, person="ravi"))
    assert history(store) == before


# -- Slack: buttons, forms, thread replies, edits, App Home ---------------------------------------

SLACK_IDS = {"eve": "UEVE", "dee": "UDEE", "jo": "UJO"}


@pytest.mark.parametrize("actor", OUTSIDERS)
async def test_slack_refuses_an_outsider_everywhere(slack, actor):
    await slack.run(
        slack.services.bot.store.upsert_people,
        [replace(slack.services.bot.store.person("dee"), admin_policies=("enfield",))],
    )
    await slack.run(raise_camden, slack.services.bot)
    await slack.tick()
    store = slack.services.bot.store
    case = next(c for c in slack.fake.posts_to("UALEX") if "E-0001" in json.dumps(c.args))
    channel, thread = case.response["channel"], case.response["ts"]
    user = SLACK_IDS[actor]
    before = history(store)
    for kind in ("add_note", "resolve", "escalate", "withdraw", "set_earlier_due", "mark_urgent", "show"):
        await slack.send(block_action(user, f"esc:{kind}", value="E-0001", trigger_id=f"t-{kind}"))
    for callback in (
        "escalate_note",
        "escalate_resolve",
        "escalate_next",
        "escalate_withdraw",
        "escalate_urgent",
    ):
        view = {
            "id": f"V-{callback}",
            "type": "modal",
            "callback_id": callback,
            "private_metadata": json.dumps({"id": "E-0001"}),
            "blocks": [{"type": "input", "block_id": "reason"}],
            "state": {"values": {"reason": {"value": {"type": "plain_text_input", "value": "x"}}}},
        }
        await slack.send(interaction({"type": "view_submission", "user": {"id": user}, "view": view}))
    await slack.send(
        event(reply(user, channel, thread, f"Sneaky note {CONCERN}", "1700000001.000001"), f"Ev-r-{actor}")
    )
    edit = {"user": user, "text": "edited", "ts": "1700000000.000003", "thread_ts": thread}
    await slack.send(
        event(
            {"type": "message", "subtype": "message_changed", "channel": channel, "message": edit},
            f"Ev-e-{actor}",
        )
    )
    await slack.send(event({"type": "app_home_opened", "user": user, "tab": "home"}, f"Ev-h-{actor}"))
    for text in ("show E-0001", "export E-0001", "list"):
        shown = json.dumps(await slack.ask(user, text))
        assert CASE not in shown and CONCERN not in shown
    await slack.tick()
    assert history(store) == before
    opened = [c.args.get("trigger_id") for c in slack.fake.called("views.open")]
    assert not [t for t in opened if str(t).startswith("t-")]  # no form opened for them
    told = [
        c
        for c in slack.fake.calls
        if c.args.get("channel") in (user, f"D{user}") or c.args.get("user") == user
    ]
    assert not any(CONCERN in json.dumps(c.args) or CASE in json.dumps(c.args) for c in told)


# -- Teams: an outsider in the tenant, and a user from an untrusted tenant ------------------------


@pytest.mark.parametrize("who", ["eve", "mallory-from-elsewhere"])
async def test_teams_refuses_an_outsider_everywhere(teams, who):
    await teams.run(raise_camden, teams.services.bot)
    await teams.tick()
    store = teams.services.bot.store
    url = teams.connector.service_url
    user = "eve" if who == "eve" else "mallory"

    def act(**kwargs):
        body = activity(url, user, **kwargs)
        if who != "eve":
            body["conversation"]["tenantId"] = "another-tenant"
            body["channelData"] = {"tenant": {"id": "another-tenant"}}
        return body

    before = history(store)
    for action in ("add_note", "resolve", "escalate", "withdraw", "set_earlier_due", "mark_urgent", "show"):
        await teams.post(act(value={"action": action, "id": "E-0001"}))
    for action in ("note_submit", "resolve_submit", "escalate_submit", "withdraw_submit", "urgent_submit"):
        await teams.post(
            act(value={"action": action, "id": "E-0001", "discussed": "x", "outcome": "x", "reason": "x"})
        )
    for text in ("escalate show E-0001", "escalate export E-0001", "escalate list"):
        await teams.post(act(text=text))
    await teams.tick()
    assert history(store) == before
    shown = "\n".join(card_text(c) for c in teams.connector.cards_to(f"a:{user}"))
    assert CASE not in shown and CONCERN not in shown
