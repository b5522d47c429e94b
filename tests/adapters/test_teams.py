"""The Teams adapter's promises, each over real HTTP against the fake Bot Connector."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from fakes.bot_connector import Failure, card_text
from fakes.teams_activities import RAISE, activity, install
from fakes.teams_bot import running_teams_bot
from support import escalations


async def start(teams, *users: str) -> None:
    for user in users:
        await teams.post(install(teams.connector.service_url, user))
    await teams.connector.wait_until(lambda: all(teams.connector.cards_to(f"a:{user}") for user in users))


# -- the 401 rule ----------------------------------------------------------------------------


async def test_without_an_app_id_every_activity_is_refused(tmp_path):
    async with running_teams_bot(tmp_path, teams_allow_unauthenticated=False) as teams:
        status, _ = await teams.post(activity(teams.connector.service_url, "alex", text="escalate"))
        assert status == 401
        assert teams.connector.sent == []


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer garbage", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"],
    ids=["no token", "malformed token", "wrongly signed token"],
)
async def test_with_an_app_id_an_activity_without_a_valid_token_is_refused(tmp_path, authorization):
    async with running_teams_bot(
        tmp_path,
        teams_allow_unauthenticated=False,
        teams_app_id="00000000-0000-0000-0000-000000000001",
        teams_app_password="secret",
    ) as teams:
        headers = {"Authorization": authorization} if authorization else None
        status, _ = await teams.post(activity(teams.connector.service_url, "alex", text="escalate"), headers)
        assert status == 401
        assert teams.connector.sent == []


# -- the forms -------------------------------------------------------------------------------


async def test_yes_to_immediate_risk_shows_the_policys_emergency_guidance_first(teams):
    await start(teams, "alex")
    url = teams.connector.service_url
    await teams.post(
        activity(url, "alex", value={"action": "risk_answer", "risk_now": "yes", "policy": "enfield"})
    )
    await teams.connector.wait_until(lambda: len(teams.connector.cards_to("a:alex")) >= 3)
    guidance, form = (card_text(s) for s in teams.connector.cards_to("a:alex")[1:3])
    assert "call 999" in guidance and "0208 379 5555" in guidance and "020 8379 1000" in guidance
    assert "Recorded as urgent" in form


async def test_invalid_input_rerenders_the_card_with_the_message_beside_the_field(teams):
    await start(teams, "alex")
    url = teams.connector.service_url
    bad = {**RAISE, "case_reference": "", "issue": " "}
    await teams.post(activity(url, "alex", value=bad, reply_to_id="form-1"))
    await teams.connector.wait_until(lambda: any(s.verb == "update" for s in teams.connector.sent))
    (update,) = [s for s in teams.connector.sent if s.verb == "update"]
    assert update.activity_id == "form-1"
    body = update.body["attachments"][0]["content"]["body"]
    ids = [element.get("id") for element in body]
    after_reference = body[ids.index("case_reference") + 1]
    assert "case reference" in card_text_of(after_reference)
    after_issue = body[ids.index("issue") + 1]
    assert "what the disagreement is" in card_text_of(after_issue)
    assert escalations(teams.services.bot.store) == []


def card_text_of(element: dict) -> str:
    return " ".join(run.get("text", "") for run in element.get("inlines", []))


async def test_someone_new_gives_agency_and_role_and_is_remembered(teams):
    url = teams.connector.service_url
    await teams.post(install(url, "nia"))
    value = {**RAISE, "my_agency": "Hillside Academy", "my_role": "Teacher"}
    await teams.post(activity(url, "nia", value=value, reply_to_id="form-1"))
    person = teams.services.bot.store.person_by(teams_id="aad-nia")
    assert (person.agency, person.role) == ("Hillside Academy", "Teacher")
    assert [r.id for r in teams.services.bot.list_for(person.id).rows] == ["E-0001"]


async def test_user_text_in_cards_is_plain_text(teams):
    await start(teams, "alex", "sam")
    url = teams.connector.service_url
    await teams.post(activity(url, "alex", value={**RAISE, "issue": "[click](https://evil.example) **now**"}))
    await teams.connector.wait_until(lambda: len(teams.connector.cards_to("a:sam")) >= 2)
    content = teams.connector.cards_to("a:sam")[1].body["attachments"][0]["content"]
    runs = [run for block in content["body"] if block["type"] == "RichTextBlock" for run in block["inlines"]]
    assert all(run["type"] == "TextRun" for run in runs)
    assert not any(block["type"] == "TextBlock" for block in content["body"])


# -- permissions -----------------------------------------------------------------------------


async def test_someone_not_on_the_escalation_is_refused_privately(teams):
    await start(teams, "alex", "eve")
    url = teams.connector.service_url
    await teams.post(activity(url, "alex", value=RAISE))
    for action in (
        {"action": "show", "id": "E-0001"},
        {"action": "note_submit", "id": "E-0001", "discussed": "x"},
    ):
        await teams.post(activity(url, "eve", value=action))
    await teams.connector.wait_until(lambda: len(teams.connector.cards_to("a:eve")) >= 3)
    refusals = [card_text(s) for s in teams.connector.cards_to("a:eve")[1:]]
    assert all("no escalation E-0001 that you are on" in text for text in refusals)
    assert not any("Health visiting" in text for text in refusals)
    assert teams.services.bot.load("E-0001").notes == []


# -- delivery --------------------------------------------------------------------------------


async def test_a_single_connector_failure_is_retried_and_nobody_is_told_something_went_wrong(teams):
    await start(teams, "alex", "sam")
    teams.connector.fail(Failure(503))
    await teams.post(activity(teams.connector.service_url, "alex", value=RAISE, reply_to_id="form-1"))
    for _ in range(3):
        teams.clock.advance(timedelta(minutes=1))
        await teams.tick()
    assert teams.connector.failures == []
    assert any("You raised" in card_text(s) for s in teams.connector.cards_to("a:alex"))
    assert not any("something went wrong" in card_text(s) for s in teams.connector.sent)
    assert teams.services.bot.store.outbox_counts() == {"delivered": 2}


@pytest.mark.parametrize(
    "failure", [Failure(429, {"Retry-After": "2"}), Failure(500), Failure(503)], ids=["429", "500", "503"]
)
async def test_connector_failures_delay_a_message_but_never_lose_it(teams, failure):
    await start(teams, "alex", "sam")
    teams.connector.fail(failure, failure)
    # The form is replaced in place (an update), so the failures hit the outbox's proactive sends.
    await teams.post(activity(teams.connector.service_url, "alex", value=RAISE, reply_to_id="form-1"))
    for _ in range(5):
        teams.clock.advance(timedelta(minutes=1))
        await teams.tick()
    assert teams.connector.failures == []  # both failures were met, and retried past
    assert teams.services.bot.store.outbox_counts() == {"delivered": 2}
    assert any("You raised" in card_text(s) for s in teams.connector.cards_to("a:alex"))
    assert any("Alex Morgan" in card_text(s) for s in teams.connector.cards_to("a:sam")[1:])


async def test_a_slow_connector_is_a_retry_not_a_loss(teams):
    await start(teams, "alex", "sam")
    teams.services.teams_sender.timeout = 0.3
    teams.connector.fail(Failure(200, delay=1.0))
    await teams.post(activity(teams.connector.service_url, "alex", value=RAISE, reply_to_id="form-1"))
    for _ in range(3):
        teams.clock.advance(timedelta(minutes=1))
        await teams.tick()
    await asyncio.sleep(1.2)  # let the slow first send land too
    assert teams.connector.failures == []
    assert teams.services.bot.store.outbox_counts() == {"delivered": 2}
    # At least once, never lost: the slow send can land after the retry.
    assert 1 <= sum("You raised" in card_text(s) for s in teams.connector.cards_to("a:alex")) <= 2
    assert sum("Alex Morgan" in card_text(s) for s in teams.connector.cards_to("a:sam")) == 1


async def test_every_form_reports_bad_input_beside_its_field(teams):
    await start(teams, "alex", "sam")
    url = teams.connector.service_url
    await teams.post(activity(url, "alex", value=RAISE, reply_to_id="form-1"))
    cases = [
        (
            {
                "action": "note_submit",
                "id": "E-0001",
                "form": "Phone call",
                "involved": "x",
                "discussed": " ",
            },
            "discussed",
        ),
        ({"action": "withdraw_submit", "id": "E-0001", "reason": ""}, "reason"),
        ({"action": "resolve_submit", "id": "E-0001", "outcome": ""}, "outcome"),
        ({"action": "due_submit", "id": "E-0001", "due_date": "2026-12-20", "due_time": "12:00"}, "due_date"),
    ]
    for n, (value, field) in enumerate(cases):
        await teams.post(activity(url, "alex", value=value, reply_to_id=f"card-{n}"))
        await teams.connector.wait_until(
            lambda n=n: any(s.verb == "update" and s.activity_id == f"card-{n}" for s in teams.connector.sent)
        )
        (update,) = [s for s in teams.connector.sent if s.verb == "update" and s.activity_id == f"card-{n}"]
        body = update.body["attachments"][0]["content"]["body"]
        ids = [element.get("id") for element in body]
        after = body[ids.index(field) + 1]
        assert after["type"] == "RichTextBlock" and after["inlines"][0].get("color") == "attention", value
    esc = teams.services.bot.load("E-0001")
    assert esc.is_open and esc.notes == [] and esc.stage.due == esc.stage.policy_due


# -- commands and threads --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("escalate help", "escalate list"),
        ("escalate frobnicate", "I don't know 'frobnicate'"),
        ("<at>Escalation bot</at> escalate policy redbridge", "LSCB Business Manager"),
        ("escalate list", "You are not on any escalations."),
        ("escalate show E-0042", "no escalation E-0042 that you are on"),
        ("hello", "Type 'escalate'"),
    ],
)
async def test_text_commands(teams, text, expected):
    await start(teams, "alex")
    await teams.post(activity(teams.connector.service_url, "alex", text=text))
    await teams.connector.wait_until(lambda: len(teams.connector.cards_to("a:alex")) >= 2)
    assert expected in card_text(teams.connector.cards_to("a:alex")[1])


async def test_replies_in_a_channel_thread_under_the_case_become_notes(teams):
    await start(teams, "alex", "eve")
    url = teams.connector.service_url
    thread = "19:general@thread.tacv2;messageid=1700"
    await teams.post(
        activity(
            url, "alex", value=RAISE, conversation=thread, conversation_type="channel", reply_to_id="form-1"
        )
    )
    await teams.connector.wait_until(
        lambda: any("Reply in this thread" in card_text(s) for s in teams.connector.sent)
    )
    await teams.post(
        activity(
            url,
            "alex",
            text="<at>Escalation bot</at> Spoke to Sam at 3pm.",
            conversation=thread,
            conversation_type="channel",
        )
    )
    await teams.post(
        activity(url, "eve", text="I disagree too.", conversation=thread, conversation_type="channel")
    )
    notes = [n.discussed for n in teams.services.bot.load("E-0001").notes]
    assert notes == ["Spoke to Sam at 3pm."]
    await teams.connector.wait_until(
        lambda: any("was not recorded" in card_text(s) for s in teams.connector.sent)
    )


async def test_case_content_asked_for_in_a_channel_goes_to_the_persons_own_chat(teams):
    await start(teams, "alex")
    url = teams.connector.service_url
    await teams.post(activity(url, "alex", value=RAISE, reply_to_id="form-1"))
    channel = "19:general@thread.tacv2;messageid=99"
    for text in ("escalate show E-0001", "escalate export E-0001", "escalate list"):
        await teams.post(
            activity(
                url,
                "alex",
                text=f"<at>Escalation bot</at> {text}",
                conversation=channel,
                conversation_type="channel",
            )
        )
    await teams.connector.wait_until(lambda: len(teams.connector.cards_to(channel)) == 3)
    in_channel = [card_text(s) for s in teams.connector.cards_to(channel)]
    assert all("sent it to you in our 1:1 chat" in text for text in in_channel)
    await teams.tick()
    private = "\n".join(card_text(s) for s in teams.connector.cards_to("a:alex"))
    assert "Health visiting plans" in private  # what `show` says
    # The export comes as files to save, offered in the 1:1 chat.
    offered = [
        a["name"]
        for s in teams.connector.cards_to("a:alex")
        for a in s.body.get("attachments") or []
        if a["contentType"] == "application/vnd.microsoft.teams.card.file.consent"
    ]
    assert offered == ["E-0001 case record.docx", "E-0001 case record.md"]


async def test_a_double_tap_on_the_raise_form_raises_once(teams):
    await start(teams, "alex")
    url = teams.connector.service_url
    await teams.post(
        activity(url, "alex", value={"action": "risk_answer", "risk_now": "no", "policy": "camden"})
    )
    await teams.connector.wait_until(lambda: len(teams.connector.cards_to("a:alex")) >= 2)
    form = teams.connector.cards_to("a:alex")[1].body["attachments"][0]["content"]
    token = form["actions"][0]["data"]["form"]
    for _ in range(2):
        await teams.post(activity(url, "alex", value={**RAISE, "form": token}, reply_to_id="form-1"))
    assert [r.id for r in escalations(teams.services.bot.store)] == ["E-0001"]


async def test_a_named_lead_is_chosen_from_the_question_card(teams):
    # Camden stage 3: nobody is recorded as Whittington Health's named safeguarding lead, so Priya
    # is asked on a card with a people picker; her answer brings Kim in and is remembered.
    from bot.commands import EscalateStage, RaiseEscalation
    from bot.people import Role

    await start(teams, "priya", "kim")
    bot = teams.services.bot
    from dataclasses import replace

    await teams.run(bot.store.upsert_people, [replace(bot.store.person("kim"), agency="Whittington Health")])
    await teams.run(
        bot.handle,
        RaiseEscalation(
            actor="alex",
            policy_id="camden",
            case_reference="CIN-1",
            counterpart="sam",
            category="threshold",
            issue="x",
            risk="y",
            outcome_wanted="z",
        ),
    )
    await teams.run(bot.handle, EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    await teams.run(bot.handle, EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    await teams.tick()
    question = next(
        c for c in teams.connector.cards_to("a:priya") if "we don't know who that is yet" in card_text(c)
    )
    content = question.body["attachments"][0]["content"]
    (submit,) = content["actions"]
    assert submit["data"]["action"] == "name_role_holder" and submit["data"]["question"]
    assert any(e.get("id") == "person" and e.get("type") == "Input.ChoiceSet" for e in content["body"])
    before = len(teams.connector.cards_to("a:kim"))
    await teams.post(
        activity(teams.connector.service_url, "priya", value={**submit["data"], "person": "aad-kim"})
    )
    await teams.tick()
    await teams.connector.wait_until(lambda: len(teams.connector.cards_to("a:kim")) > before)
    welcome = card_text(teams.connector.cards_to("a:kim")[before])
    assert "as the named safeguarding lead for Whittington Health" in welcome
    assert [p.id for p in bot.store.role_holders(Role.NAMED_LEAD, "Whittington Health")] == ["kim"]


async def test_a_long_message_arrives_in_several_cards_each_once(teams):
    from bot.messages import Message, MessageKind

    await start(teams, "alex")
    text = "E-0001 · case CIN-1 · Camden policy\n" + "\n".join(
        f"Line {i}: " + "word " * 400 for i in range(20)
    )
    bot = teams.services.bot
    await teams.run(
        bot.store.enqueue, [Message(to="alex", text=text, kind=MessageKind.NOTICE)], now=teams.clock.now()
    )
    before = len(teams.connector.cards_to("a:alex"))
    await teams.tick()
    cards = teams.connector.cards_to("a:alex")[before:]
    assert len(cards) > 1
    shown = "\n".join(card_text(c) for c in cards)
    assert shown.split() == text.split()
    assert bot.store.outbox_counts() == {"delivered": 1}


async def test_naming_a_manager_the_directory_lacks_takes_their_name_and_email(teams):
    await start(teams, "chris")
    url = teams.connector.service_url
    await teams.post(activity(url, "chris", value={"action": "name_manager", "manager": "aad-newboss"}))
    await teams.connector.wait_until(lambda: len(teams.connector.cards_to("a:chris")) >= 2)
    assert "give their name and work email" in card_text(teams.connector.cards_to("a:chris")[1])
    await teams.post(activity(url, "chris", value={"action": "name_manager", "manager_name": "Bea Boss"}))
    await teams.connector.wait_until(lambda: len(teams.connector.cards_to("a:chris")) >= 3)
    assert "Please give their work email" in card_text(teams.connector.cards_to("a:chris")[2])
    await teams.post(
        activity(
            url,
            "chris",
            value={
                "action": "name_manager",
                "manager_name": "Bea Boss",
                "manager_email": "bea.boss@hillside.sch.uk",
            },
        )
    )
    boss = teams.services.bot.store.person(teams.services.bot.store.person("chris").manager_id)
    assert (boss.name, boss.agency, boss.email) == (
        "Bea Boss",
        "Hillside Primary School",
        "bea.boss@hillside.sch.uk",
    )
    assert boss.confirmed is False
