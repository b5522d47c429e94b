"""In Slack, anyone in the partnership can be chosen: the people menus search the bot's directory
(served by its options handler over HTTP), and someone in no directory is named by their details."""

from __future__ import annotations

import json

from fakes.slack_requests import RAISE_ANSWERS, fill, interaction, slash, view_submission
from support import PEOPLE, escalations, eventually


def suggestion(user: str, action_id: str, typed: str, *, block_id: str | None = None):
    """What Slack sends as someone types into an external_select."""
    return interaction(
        {
            "type": "block_suggestion",
            "team": {"id": "T1"},
            "user": {"id": user},
            "api_app_id": "A1",
            "action_id": action_id,
            "block_id": block_id or action_id,
            "value": typed,
            "view": {"id": "V1", "type": "modal", "callback_id": "escalate_raise"},
        }
    )


async def open_form(slack, user="UALEX"):
    assert (await slack.send(slash(user, trigger_id="t-form")))[0] == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-form")
    return opened.args["view"]


def block(view, block_id):
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


async def test_the_other_professional_is_searched_in_the_partnerships_directory(slack):
    view = await open_form(slack)
    element = block(view, "counterpart")["element"]
    assert element["type"] == "external_select" and element["min_query_length"] == 2
    status, body = await slack.send(suggestion("UALEX", "counterpart", "whitt"))
    assert status == 200
    options = json.loads(body)["options"]
    assert [o["text"]["text"] for o in options] == [
        "Priya Nair, Health Visiting Team Lead, Whittington Health",
        "Sam Patel, Health Visitor, Whittington Health",
    ]
    assert [o["value"] for o in options] == ["dir:priya", "dir:sam"]


async def test_a_search_finds_people_with_no_slack_account_in_any_agency(slack):
    from bot.people import Person

    await slack.run(
        slack.services.bot.store.upsert_people,
        [Person("gp1", "Dr Ann Lowe", "Brecknock Surgery", "GP", email="ann.lowe@nhs.net")],
    )
    _, body = await slack.send(suggestion("UALEX", "counterpart", "brecknock"))
    assert [o["value"] for o in json.loads(body)["options"]] == ["dir:gp1"]
    _, body = await slack.send(suggestion("UALEX", "counterpart", "ann.lowe@"))
    assert [o["value"] for o in json.loads(body)["options"]] == ["dir:gp1"]


async def test_a_search_too_short_or_matching_nobody_offers_nothing(slack):
    for typed in ("s", "zzzz", "%_"):
        status, body = await slack.send(suggestion("UALEX", "counterpart", typed))
        assert (status, json.loads(body)["options"]) == (200, [])


async def test_a_raise_naming_someone_new_adds_them_unconfirmed_and_tells_the_admins(slack):
    view = await open_form(slack)
    answers = {
        **RAISE_ANSWERS,
        "counterpart": None,
        "counterpart_name": "Dr Ann Lowe",
        "counterpart_agency": "Brecknock Surgery",
        "counterpart_role": "GP",
        "counterpart_email": "ann.lowe@nhs.net",
    }
    status, body = await slack.send(view_submission("UALEX", fill(view, **answers)))
    assert status == 200 and "errors" not in (body or "")
    store = slack.services.bot.store
    ann = store.person_by(email="ann.lowe@nhs.net")
    assert (ann.name, ann.agency, ann.role, ann.confirmed) == (
        "Dr Ann Lowe",
        "Brecknock Surgery",
        "GP",
        False,
    )
    (esc,) = escalations(store)
    assert ann.id in esc.participants
    await slack.tick()
    (notice,) = slack.fake.called("chat.postMessage", channel="UDEE")
    assert "named someone not in the directory: Dr Ann Lowe (GP, Brecknock Surgery)" in json.dumps(
        notice.args
    )


async def test_new_details_are_checked_beside_their_fields_and_nothing_is_added(slack):
    view = await open_form(slack)
    answers = {**RAISE_ANSWERS, "counterpart": None, "counterpart_name": "Dr Ann Lowe"}
    _, body = await slack.send(view_submission("UALEX", fill(view, **answers)))
    errors = json.loads(body)["errors"]
    assert errors.keys() == {"counterpart_agency", "counterpart_role", "counterpart_email"}
    assert errors["counterpart_email"] == "Please give their work email: the bot reaches them by email."
    assert escalations(slack.services.bot.store) == []
    assert len(slack.services.bot.store.people()) == len(PEOPLE)


async def test_neither_a_choice_nor_details_asks_for_one(slack):
    view = await open_form(slack)
    _, body = await slack.send(view_submission("UALEX", fill(view, **{**RAISE_ANSWERS, "counterpart": None})))
    assert json.loads(body)["errors"] == {
        "counterpart": "Choose the other professional, or give their details below."
    }


async def test_a_line_manager_in_another_agency_is_chosen_by_search(slack):
    # Chris (a school's DSL) has no manager on record: the bot asks, with the directory search and,
    # beside it, this workspace's own people.
    from bot.commands import EscalateStage

    view = await open_form(slack)
    await slack.send(view_submission("UALEX", fill(view, **{**RAISE_ANSWERS, "counterpart": "dir:chris"})))
    await slack.run(
        slack.services.bot.handle, EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001")
    )
    question = None
    for _ in range(20):
        await slack.tick()
        asked = [
            c
            for c in slack.fake.called("chat.postMessage", channel="UCHRIS")
            if "external_select" in json.dumps(c.args)
        ]
        if asked:
            question = asked[0]
            break
    assert question is not None
    (actions,) = [b for b in question.args["blocks"] if b["type"] == "actions"]
    assert [e["type"] for e in actions["elements"]] == ["external_select", "users_select"]
    _, body = await slack.send(suggestion("UCHRIS", "esc:name_manager", "kim", block_id=actions["block_id"]))
    assert [o["value"] for o in json.loads(body)["options"]] == ["dir:kim"]
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "UCHRIS"},
        "api_app_id": "A1",
        "trigger_id": "t-pick",
        "channel": {"id": "DCHRIS"},
        "actions": [
            {
                "type": "external_select",
                "action_id": "esc:name_manager",
                "block_id": actions["block_id"],
                "selected_option": {"value": "dir:kim", "text": {"type": "plain_text", "text": "Kim Lee"}},
            }
        ],
    }
    assert (await slack.send(interaction(payload)))[0] == 200
    await eventually(lambda: slack.services.bot.store.person("chris").manager_id == "kim")
