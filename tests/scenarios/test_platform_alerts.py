"""When messages to one platform keep failing, the partnership's admins are told in chat: once,
after 15 minutes, by another platform they use; and once more when it recovers. Over real HTTP
against the fake Slack and Teams, on the bot's manual clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from test_across_agencies import TENANT_B, partnership, text_of

from adapters.server import build_services
from bot.messages import Message, MessageKind
from fakes.bot_connector import card_text
from fakes.slack_api import Failure
from fakes.teams_activities import install

SLACK_DOWN = [Failure(status=503)] * 200


def delivered(world, user: str) -> list:
    """What reached `user` in Slack (the fake records refused calls too)."""
    return [c for c in world.slack_to(user) if c.response.get("ok")]


def alerts_to_dee(world) -> list[str]:
    """What Dee, the partnership's admin, was told about platforms, in Teams and in Slack."""
    in_teams = [card_text(s) for s in world.teams_to("dee")]
    in_slack = [text_of(c) for c in delivered(world, "UDEE")]
    return [t for t in in_teams + in_slack if "getting through" in t]


async def test_admins_hear_once_when_slack_keeps_failing_and_once_when_it_recovers(tmp_path):
    async with partnership(tmp_path) as world:
        store = world.services.bot.store
        dee = store.person("dee")
        run = world.services.storage_thread.run
        await run(store.upsert_people, [replace(dee, teams_id="aad-dee", teams_tenant=TENANT_B)])
        assert await world.teams_activity(install(world.teams.service_url, "dee", tenant=TENANT_B)) in {
            200,
            201,
        }
        await world.teams.wait_until(lambda: bool(world.teams_to("dee")))

        world.slack.fail("chat.postMessage", *SLACK_DOWN)
        note = Message(to="alex", text="Your stage 1 is due tomorrow.", kind=MessageKind.NOTICE)
        await run(store.enqueue, [note], now=world.clock.now())
        await world.deliver()  # 10:00:01, the first failure
        assert delivered(world, "UALEX") == []

        world.clock.advance(timedelta(minutes=14))
        await world.deliver()
        assert alerts_to_dee(world) == []  # 14 minutes: not yet

        world.clock.advance(timedelta(minutes=1))
        await world.deliver()
        (alert,) = alerts_to_dee(world)  # in Teams, as Slack is what is failing
        assert alert in [card_text(s) for s in world.teams_to("dee")]
        assert "Messages to Slack have not been getting through since 10am Tue 1 Dec 2026" in alert
        assert "1 message is waiting" in alert and "nothing in the record is lost" in alert
        assert "Slack server error (503)" in alert and "SLACK_BOT_TOKEN" in alert

        for _ in range(3):  # still failing: no second alert
            world.clock.advance(timedelta(minutes=20))
            await world.deliver()
        assert len(alerts_to_dee(world)) == 1

        world.slack.failures["chat.postMessage"].clear()  # Slack is back
        world.clock.advance(timedelta(hours=1))
        await world.deliver()
        await world.deliver()
        (received,) = delivered(world, "UALEX")
        assert "due tomorrow" in text_of(received)
        first, recovered = alerts_to_dee(world)
        assert first == alert
        assert "Messages to Slack are getting through again (failing from 10am Tue 1 Dec 2026 to" in recovered

        # A restart remembers nothing is wrong: no alert repeats.
        await run(world.services.delivery.health.check)
        assert build_services(world.services.settings, clock=world.clock).delivery.health.troubles == {}
        world.clock.advance(timedelta(hours=1))
        await world.deliver()
        assert len(alerts_to_dee(world)) == 2


async def test_a_refusal_about_one_person_is_not_a_platform_failing(tmp_path):
    async with partnership(tmp_path) as world:
        store = world.services.bot.store
        world.slack.fail("chat.postMessage", *[Failure(error="user_not_found")] * 5)
        hello = Message(to="alex", text="Hello", kind=MessageKind.NOTICE)
        await world.services.storage_thread.run(store.enqueue, [hello], now=world.clock.now())
        await world.deliver()
        world.clock.advance(timedelta(hours=1))
        await world.deliver()
        assert world.services.delivery.health.troubles == {}
        assert alerts_to_dee(world) == []
