"""In Teams, anyone in the partnership can be chosen: the bot's people pickers are typeaheads over
its own directory, answered by its application/search invoke over HTTP; someone in no directory is
named by their details."""

from __future__ import annotations

import json

from fakes.bot_connector import card_text
from fakes.teams_activities import RAISE, activity, install
from support import escalations


def search_invoke(teams, user: str, typed: str, dataset: str = "people") -> dict:
    body = activity(
        teams.connector.service_url,
        user,
        kind="invoke",
        value={"queryText": typed, "queryOptions": {"skip": 0, "top": 15}, "dataset": dataset},
    )
    body["name"] = "application/search"
    return body


async def search(teams, user: str, typed: str, dataset: str = "people") -> list[dict]:
    status, body = await teams.post(search_invoke(teams, user, typed, dataset))
    assert status == 200
    answer = json.loads(body)
    assert answer["type"] == "application/vnd.microsoft.search.searchResponse"
    return answer["value"]["results"]


async def test_the_raise_cards_picker_searches_the_partnerships_directory(teams):
    url = teams.connector.service_url
    await teams.post(install(url, "alex"))
    await teams.post(
        activity(url, "alex", value={"action": "risk_answer", "policy": "camden", "risk_now": "no"})
    )
    await teams.connector.wait_until(
        lambda: any("The other professional" in card_text(c) for c in teams.connector.cards_to("a:alex"))
    )
    form = next(c for c in teams.connector.sent if "The other professional" in card_text(c))
    picker = next(e for e in form.body["attachments"][0]["content"]["body"] if e.get("id") == "counterpart")
    assert picker["choices.data"] == {"type": "Data.Query", "dataset": "people", "count": 15}
    assert await search(teams, "alex", "whitt") == [
        {"value": "dir:priya", "title": "Priya Nair, Health Visiting Team Lead, Whittington Health"},
        {"value": "dir:sam", "title": "Sam Patel, Health Visitor, Whittington Health"},
    ]


async def test_a_search_for_another_dataset_or_too_short_finds_nobody(teams):
    assert await search(teams, "alex", "sam", dataset="graph.microsoft.com/users") == []
    assert await search(teams, "alex", "s") == []


async def test_a_raise_naming_someone_new_reaches_the_directory_unconfirmed(teams):
    url = teams.connector.service_url
    await teams.post(install(url, "alex"))
    value = {
        **RAISE,
        "counterpart": "",
        "counterpart_name": "Dr Ann Lowe",
        "counterpart_agency": "Brecknock Surgery",
        "counterpart_role": "GP",
        "counterpart_email": "ann.lowe@nhs.net",
    }
    await teams.post(activity(url, "alex", value=value, reply_to_id="form-1"))
    store = teams.services.bot.store
    await teams.connector.wait_until(lambda: bool(escalations(store)))
    ann = store.person_by(email="ann.lowe@nhs.net")
    assert (ann.name, ann.role, ann.confirmed) == ("Dr Ann Lowe", "GP", False)
    assert ann.id in escalations(store)[0].participants


async def test_bad_new_details_are_shown_beside_their_fields(teams):
    url = teams.connector.service_url
    await teams.post(install(url, "alex"))
    value = {**RAISE, "counterpart": "", "counterpart_name": "Dr Ann Lowe", "counterpart_email": "ann"}
    await teams.post(activity(url, "alex", value=value, reply_to_id="form-1"))
    await teams.connector.wait_until(
        lambda: any(s.verb == "update" and s.activity_id == "form-1" for s in teams.connector.sent)
    )
    (update,) = [s for s in teams.connector.sent if s.verb == "update" and s.activity_id == "form-1"]
    shown = card_text(update)
    assert "Please give their agency" in shown and "Please give their role" in shown
    assert "That is not an email address" in shown
    assert escalations(teams.services.bot.store) == []


async def test_nobody_outside_the_partnerships_tenants_can_search_its_directory(teams):
    invoke = search_invoke(teams, "mallory", "sam")
    invoke["conversation"]["tenantId"] = "tenant-elsewhere"
    invoke["channelData"] = {"tenant": {"id": "tenant-elsewhere"}}
    status, body = await teams.post(invoke)
    assert status == 200 and json.loads(body)["value"]["results"] == []
