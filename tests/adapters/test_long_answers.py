"""Nothing is cut: the longest policy and the longest case arrive whole in Slack and in Teams, over
real HTTP, and a capped list says how many more there are and how to see them."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import timedelta

from adapters.slack.blocks import home_view, message_payloads, reply_payloads
from bot.calendar import WorkingCalendar
from bot.commands import AddNote, RaiseEscalation
from bot.listing import Listing
from bot.messages import Message, MessageKind
from bot.policy.text import describe_policy
from bot.storage import EscalationRow
from bot.wording import MAX_TEXT
from fakes.bot_connector import card_text
from fakes.teams_activities import activity, install
from support import london

LINK = re.compile(r"<(?:tel|https?|mailto):[^|>]*\|([^>]*)>")


def words(text: str) -> list[str]:
    return text.split()


def slack_shown(answer: dict) -> str:
    """What a Slack message shows, as a reader sees it: links by their label, entities unescaped."""
    text = "\n".join(b["text"]["text"] for b in answer.get("blocks") or [] if b.get("type") == "section")
    return html.unescape(LINK.sub(r"\1", text))


def longest_policy(services):
    return max(services.bot.policies.policies.values(), key=lambda p: len(describe_policy(p)))


def long_case(bot) -> str:
    """A difference with every field at its limit and a long thread of long notes."""
    long = ("The health visitor says the threshold is not met, and we disagree because " * 60)[:MAX_TEXT]
    bot.handle(
        RaiseEscalation(
            actor="alex",
            policy_id="camden",
            case_reference="CIN-20931",
            counterpart="sam",
            category="threshold",
            issue=long,
            risk=long,
            outcome_wanted=long,
        )
    )
    for i in range(12):
        bot.handle(
            AddNote(
                actor="sam" if i % 2 else "alex", escalation_id="E-0001", discussed=f"Note {i}. {long[:2900]}"
            )
        )
    return bot.show("alex", "E-0001")


def raise_many(bot, count: int) -> None:
    for i in range(count):
        bot.handle(
            RaiseEscalation(
                actor="alex",
                policy_id="camden",
                case_reference=f"CIN-{i}",
                counterpart="sam",
                category="threshold",
                issue="x",
                risk="y",
                outcome_wanted="z",
            )
        )


# -- Slack -------------------------------------------------------------------------------------------


async def slack_answers(slack, text: str, parts: int = 1) -> list[dict]:
    """Alex's `/escalate <text>`: what they are shown, once `parts` private messages came."""
    answers = await slack.ask("UALEX", text, parts=parts)
    assert all(a["response_type"] == "ephemeral" for a in answers)
    return answers


async def test_the_longest_policy_arrives_whole_in_slack(slack) -> None:
    policy = longest_policy(slack.services)
    expected = describe_policy(policy)
    assert len(expected) > 10000  # what used to be cut at 3,900 characters
    parts = len(reply_payloads(expected))
    assert parts > 1  # the rest follows through the command's response URL
    answers = await slack_answers(slack, f"policy {policy.id}", parts)
    shown = "\n".join(slack_shown(a) for a in answers)
    assert words(shown) == words(expected)
    for line in expected.splitlines():
        assert " ".join(line.split()) in " ".join(shown.split()), line


async def test_the_longest_case_arrives_whole_in_slack(slack) -> None:
    expected = await slack.run(long_case, slack.services.bot)
    assert len(expected) > 10000
    parts = len(reply_payloads(expected))
    assert 1 < parts <= 5  # Slack takes five messages through a command's response URL
    answers = await slack_answers(slack, "show E-0001", parts)
    shown = "\n".join(slack_shown(a) for a in answers)
    assert words(shown.replace("*", "")) == words(expected)


def test_a_core_message_too_long_for_one_slack_message_goes_as_several() -> None:
    text = "E-0001 · case X · Camden policy\n" + "\n".join(f"Line {i}: " + "word " * 400 for i in range(40))
    payloads = message_payloads(
        Message(to="alex", text=text, kind=MessageKind.NOTICE, escalation_id="E-0001")
    )
    assert len(payloads) > 1
    assert all(len(p["blocks"]) <= 50 for p in payloads)
    assert all(len(b["text"]["text"]) <= 3000 for p in payloads for b in p["blocks"])
    assert words("\n".join(slack_shown(p) for p in payloads).replace("*", "")) == words(text)


def test_app_home_says_how_many_more_and_where_to_see_them() -> None:
    now = london(2026, 12, 10, 12)
    rows = [
        EscalationRow(
            f"E-{i:04d}", "camden", f"CIN-{i}", "open", 1, now - timedelta(days=1), now, now, ("alex",)
        )
        for i in range(1, 46)
    ]
    view = home_view(
        Listing(rows, 45, now), WorkingCalendar(), due_soon_before=now + timedelta(days=1), viewer="alex"
    )
    text = json.dumps(view, ensure_ascii=False)
    assert "*Overdue* (45)" in text
    assert "*overdue less than a working day* (was due 12pm Wed 9 Dec 2026)" in text
    assert "…and 20 more overdue: `/escalate list` shows them all." in text
    assert len(view["blocks"]) <= 100


async def test_a_long_list_is_paged_and_says_how_to_see_the_next_page(slack) -> None:
    bot = slack.services.bot
    store = bot.store
    await slack.run(store.upsert_people, [replace(store.person("dee"), admin=True)])
    await slack.run(raise_many, bot, 60)
    (first,) = await slack_answers(slack, "list")
    shown = slack_shown(first)
    assert shown.count("E-00") == 50
    assert "Showing 1 to 50 of 60. `/escalate list 2` shows the next 10." in shown
    second = slack_shown((await slack_answers(slack, "list 2"))[0])
    assert second.count("E-00") == 10 and "E-0001" in second and "Showing 51 to 60 of 60." in second


# -- Teams -------------------------------------------------------------------------------------------


async def teams_answer(teams, text: str) -> str:
    url = teams.connector.service_url
    await teams.post(install(url, "alex"))
    await teams.connector.wait_until(lambda: teams.connector.cards_to("a:alex"))
    # What was queued before (the raises' case cards) is delivered first, a batch at a time, by
    # the test's ticks or the server's own loop, and perhaps into a chat the bot opened itself.
    for _ in range(20):
        counts = await teams.run(teams.services.bot.store.outbox_counts)
        if not counts.get("pending") and not counts.get("sending"):
            break
        await teams.tick()
    else:
        raise AssertionError(f"the raises' messages were not all delivered: {counts}")
    before = len(teams.connector.cards_to("a:alex"))
    status, _ = await teams.post(activity(url, "alex", text=text))
    assert status in (200, 201)
    cards = teams.connector.cards_to("a:alex")[before:]
    # Each card's text: its RichTextBlocks, in order (card_text joins a card's paragraphs by lines).
    return "\n".join(card_text(c) for c in cards)


async def test_the_longest_policy_arrives_whole_in_teams(teams) -> None:
    policy = longest_policy(teams.services)
    expected = describe_policy(policy)
    shown = await teams_answer(teams, f"escalate policy {policy.id}")
    assert words(shown) == words(expected)


async def test_the_longest_case_arrives_whole_in_teams(teams) -> None:
    expected = await teams.run(long_case, teams.services.bot)
    shown = await teams_answer(teams, "escalate show E-0001")
    assert words(shown) == words(expected)


async def test_a_long_list_is_paged_in_teams_too(teams) -> None:
    bot = teams.services.bot
    await teams.run(raise_many, bot, 55)
    shown = await teams_answer(teams, "escalate list")
    assert shown.count("E-00") == 50
    assert "Showing 1 to 50 of 55. 'escalate list 2' shows the next 5." in shown


def test_a_category_too_long_for_a_slack_menu_is_given_in_full_beneath_it(policies) -> None:
    from adapters.slack.blocks import raise_modal

    enfield = policies.get("enfield")
    modal = raise_modal(
        policies=[enfield],
        policy=enfield,
        risk_now=False,
        emergency=None,
        ask_about_me=False,
        preview="",
        suggested_target=None,
    )
    (menu,) = [b for b in modal["blocks"] if b.get("block_id") == "category"]
    assert all(len(o["text"]["text"]) <= 75 for o in menu["element"]["options"])
    for category in enfield.categories:
        assert category.label in menu["hint"]["text"]
    assert len(menu["hint"]["text"]) <= 2000
