"""The overdue list and the leads' view in chat: Slack's /escalate list and App Home, Teams' list,
over real HTTP against the local fakes."""

from __future__ import annotations

import html
import json
from datetime import timedelta

from bot.people import Person, Role
from fakes.slack_requests import event
from fakes.teams_activities import activity, install
from support import raise_difference


async def slack_list(slack, user: str, text: str = "list") -> str:
    """The private answer to /escalate, as its reader sees it."""
    (answer,) = await slack.ask(user, text)
    text = "\n".join(b["text"]["text"] for b in answer["blocks"] if b["type"] == "section")
    return html.unescape(text).replace("*", "")  # the first line is shown in bold


async def test_slack_list_puts_the_overdue_first_saying_by_how_long(slack):
    bot = slack.services.bot
    await slack.run(raise_difference, bot)  # E-0001, due 5pm Tue 8 Dec
    slack.clock.advance(timedelta(days=2))
    await slack.run(raise_difference, bot, case_reference="CIN-2")  # E-0002, due 5pm Thu 10 Dec
    slack.clock.advance(timedelta(days=2))
    await slack.run(raise_difference, bot, case_reference="CIN-3")  # E-0003, newest, due 5pm Mon 14 Dec
    slack.clock.set(slack.clock.now().replace(day=11, hour=10))  # Fri 11 Dec, 10am
    shown = await slack_list(slack, "UALEX")
    first, second, third, *rest = shown.splitlines()
    assert first.startswith("E-0001 · overdue 2 working days · case CIN-20931")
    assert first.endswith("was due 5pm Tue 8 Dec 2026")
    assert second.startswith("E-0002 · overdue less than a working day · case CIN-2")
    assert third.startswith("E-0003 · case CIN-3") and third.endswith("due 5pm Mon 14 Dec 2026")
    assert rest == ["Only the overdue ones: `/escalate list overdue`"]
    overdue_only = await slack_list(slack, "UALEX", "list overdue")
    assert [line.split(" · ")[0] for line in overdue_only.splitlines()] == ["E-0001", "E-0002"]


async def test_a_lead_sees_their_agencys_escalations_read_only_on_app_home(slack):
    bot = slack.services.bot
    await slack.run(
        bot.store.upsert_people,
        [
            Person(
                "nora",
                "Nora Finch",
                "Whittington Health",
                "Named Nurse",
                slack_id="UNORA",
                roles=(Role.NAMED_LEAD,),
            )
        ],
    )
    slack.fake.users["UNORA"] = {**slack.fake.users["UNEW"], "id": "UNORA", "real_name": "Nora Finch"}
    await slack.run(raise_difference, bot)
    await slack.send(event({"type": "app_home_opened", "user": "UNORA", "tab": "home"}, "Ev-home"))
    (published,) = await slack.fake.wait_for("views.publish")
    home = json.dumps(published.args["view"])
    assert "E-0001" in home and "read only" in home
    shown = await slack_list(slack, "UNORA")
    assert shown.startswith("E-0001 · case CIN-20931") and shown.endswith("read only")


async def test_teams_list_says_how_many_more_and_what_is_overdue(teams):
    bot = teams.services.bot
    for n in range(3):
        await teams.run(raise_difference, bot, case_reference=f"CIN-{n}")
    teams.clock.advance(timedelta(days=10))
    url = teams.connector.service_url
    await teams.post(install(url, "alex"))
    await teams.connector.wait_until(lambda: teams.connector.cards_to("a:alex"))
    before = len(teams.connector.cards_to("a:alex"))
    await teams.post(activity(url, "alex", text="escalate list"))
    from fakes.bot_connector import card_text

    def answer() -> str | None:
        # The list is the card naming all three cases: reminders of the overdue ones may come too.
        shown = [card_text(c) for c in teams.connector.cards_to("a:alex")[before:]]
        return next((t for t in shown if t.count("· case CIN-") == 3), None)

    await teams.connector.wait_until(lambda: answer() is not None)
    assert answer().count("overdue 2 working days") == 3  # Wed and Thu have ended since 5pm Tue 8 Dec


def test_a_teams_reader_is_told_the_command_as_teams_takes_it():
    from adapters.teams.cards import message_cards

    (shown,) = message_cards("Still overdue: 2\nTo stop these digests: /escalate digests off.")
    text = json.dumps(shown)
    assert "To stop these digests: escalate digests off." in text and "/escalate" not in text
